//! This machine's name.

/// This machine's name, part of every stream's identity and of syslog
/// messages' HOSTNAME.
pub(crate) fn name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
