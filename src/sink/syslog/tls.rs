//! Syslog over TLS (RFC 5425): the server's certificate is checked against
//! the system's roots and, with `--syslog-ca-file`, a private CA's, and
//! against the host name in the sink's address.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// What a TLS connection to one server needs: the client settings and the
/// name its certificate must carry.
#[derive(Clone)]
pub(super) struct Tls {
    pub connector: TlsConnector,
    pub server: ServerName<'static>,
}

impl Tls {
    /// For the server at `address` (`HOST:PORT`), trusting the system's
    /// roots and those in `ca_file`.
    pub(super) fn new(address: &str, ca_file: Option<&Path>) -> anyhow::Result<Tls> {
        let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server = ServerName::try_from(host.to_owned())
            .with_context(|| format!("'{host}' is not a host name or address TLS can check"))?;
        let config = crate::sink::tls::client_config(ca_file, "--syslog-ca-file")?;
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
            server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_what_the_certificate_must_name() {
        let tls = Tls::new("logs.example:6514", None).unwrap();
        assert_eq!(tls.server.to_str(), "logs.example");
        let tls = Tls::new("[::1]:6514", None).unwrap();
        assert_eq!(tls.server.to_str(), "::1");
    }
}
