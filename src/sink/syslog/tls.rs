//! Syslog over TLS (RFC 5425): the server's certificate is checked against
//! the system's roots and, with `--syslog-ca-file`, a private CA's, and
//! against the host name in the sink's address.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

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
        let mut roots = RootCertStore::empty();
        // Certificates of the system's store that cannot be used are left
        // out, as every TLS client does.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(path) = ca_file {
            let added = private_roots(path)
                .with_context(|| format!("could not read --syslog-ca-file '{}'", path.display()))?;
            roots.add_parsable_certificates(added);
        }
        if roots.is_empty() {
            bail!("no certificate to trust: the system has none; give --syslog-ca-file");
        }
        let provider = Arc::new(crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS could not be set up")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
            server,
        })
    }
}

/// The certificates of a PEM file; at least one.
fn private_roots(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|err| anyhow::anyhow!("{err}"))?
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
    fn the_host_is_what_the_certificate_must_name() {
        let tls = Tls::new("logs.example:6514", None).unwrap();
        assert_eq!(tls.server.to_str(), "logs.example");
        let tls = Tls::new("[::1]:6514", None).unwrap();
        assert_eq!(tls.server.to_str(), "::1");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = Tls::new("h:6514", Some(&path)).err().unwrap();
        assert!(
            format!("{error:#}").contains("holds no PEM certificate"),
            "{error:#}"
        );
        let missing = Tls::new("h:6514", Some(&dir.path().join("missing.pem")));
        assert!(format!("{:#}", missing.err().unwrap()).contains("could not read"));
    }
}
