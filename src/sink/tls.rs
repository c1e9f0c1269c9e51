//! TLS client settings shared by the NATS and syslog sinks: rustls with the
//! aws-lc-rs provider (the one reqwest and async-nats use), trusting the
//! system's roots and a private CA given by a flag.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

/// Client settings trusting the system's roots and, when given, the
/// certificates in `ca_file` (named by `flag` in errors).
pub(crate) fn client_config(ca_file: Option<&Path>, flag: &str) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS could not be set up")?
        .with_root_certificates(roots(ca_file, flag)?)
        .with_no_client_auth())
}

/// The system's roots, and the certificates in `ca_file`.
fn roots(ca_file: Option<&Path>, flag: &str) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    // Certificates of the system's store that cannot be used are left out,
    // as every TLS client does.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let added = private_roots(path).with_context(|| {
            format!(
                "could not read {flag} '{}'",
                crate::diagnostics::shown(path)
            )
        })?;
        roots.add_parsable_certificates(added);
    }
    if roots.is_empty() {
        bail!("no certificate to trust: the system has none; give {flag}");
    }
    Ok(roots)
}

/// The certificates of a PEM file; at least one.
fn private_roots(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = crate::files::read_bounded(path, crate::config::MAX_KEY_FILE, true)
        .map_err(|why| anyhow::anyhow!("{why}"))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    if certificates.is_empty() {
        bail!("it holds no PEM certificate");
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_ca_is_trusted_besides_the_systems_roots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
        let system = roots(None, "--x-ca-file").unwrap().len();
        assert!(system > 0, "this machine has a CA store");
        assert_eq!(roots(Some(&path), "--x-ca-file").unwrap().len(), system + 1);
        assert!(client_config(Some(&path), "--x-ca-file").is_ok());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = client_config(Some(&path), "--x-ca-file").err().unwrap();
        assert!(
            format!("{error:#}").contains("could not read --x-ca-file")
                && format!("{error:#}").contains("holds no PEM certificate"),
            "{error:#}"
        );
        let missing = client_config(Some(&dir.path().join("missing.pem")), "--x-ca-file");
        assert!(format!("{:#}", missing.err().unwrap()).contains("could not read"));
    }
}
