//! A syslog sink's TCP connection: checked for a close by the server
//! before each batch, made again when it is gone, and judged for a moment
//! after it is made, since a server that refuses a connection (at its
//! `max-connections`) accepts it and closes it at once. A server that
//! stops taking data (hung, stopped) is given up after `--syslog-timeout`,
//! and the batch sent again on a new connection.
//!
//! TCP syslog has no acknowledgement: what the kernel took counts as
//! written. When a connection turns out closed after events were written
//! on it, a warning says how many may be lost.
//!
//! With TLS (RFC 5425) the same holds of the records TLS makes of the
//! messages; each write is flushed through TLS before it counts.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::format::Messages;
use super::tls::Tls;
use crate::diagnostics;
use crate::sink::interface::SinkError;

/// Shortest and longest time a new connection is watched for a close
/// before anything is written on it.
const PROBATION: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(1));
/// How long a look at what a TLS server sent may wait for TLS to read it.
const TLS_LOOK: Duration = Duration::from_millis(50);

/// The connection to one server, made again as needed.
pub(super) struct Tcp {
    /// The sink's name, for diagnostics.
    name: String,
    /// `host:port`, resolved again at each connection.
    address: String,
    /// TLS over the connection, if asked for.
    tls: Option<Tls>,
    /// `None` while the connection is down, until the next attempt.
    link: Option<Link>,
    /// Longest a connection may take to open, or a write to make progress.
    timeout: Duration,
    /// Connections the server closed with events unconfirmed on them, and
    /// those events, over the run: told in each warning.
    losses: (u64, u64),
}

/// A connection, in the clear or through TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.tcp().as_fd()
    }

    /// Writes some of `bytes`, through TLS to the kernel.
    async fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(bytes).await,
            Stream::Tls(tls) => {
                let n = tls.write(bytes).await?;
                tls.flush().await?;
                Ok(n)
            }
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.shutdown().await,
            Stream::Tls(tls) => tls.shutdown().await,
        }
    }
}

/// One connection and what is known of it.
struct Link {
    stream: Stream,
    /// Until then, a close by the server means it refused the connection.
    probation: Instant,
    /// Messages the kernel took on it since it was last seen open.
    unconfirmed: usize,
    /// Whether anything was ever written on it.
    used: bool,
}

impl Tcp {
    /// Connects: a server that cannot be reached stops the run.
    pub(super) async fn open(
        address: &str,
        tls: Option<Tls>,
        name: &str,
        timeout: Duration,
    ) -> Result<Tcp, SinkError> {
        Ok(Tcp {
            name: name.to_owned(),
            address: address.to_owned(),
            link: Some(Link::connect(address, tls.as_ref(), timeout).await?),
            tls,
            timeout,
            losses: (0, 0),
        })
    }

    /// Writes the messages from number `sent` on, over the connection if
    /// the server kept it open, else over a new one; `sent` counts the
    /// messages the kernel took whole.
    pub(super) async fn send(
        &mut self,
        messages: &Messages,
        sent: &mut usize,
    ) -> Result<(), SinkError> {
        let timeout = self.timeout;
        let link = self.ready().await?;
        let error = match link.write(messages, sent, timeout).await {
            Ok(()) => return Ok(()),
            Err(Stalled::Failed(error)) => error,
            Err(Stalled::TimedOut) => {
                // What the kernel took may reach the server if it wakes,
                // or never: the whole batch goes again.
                *sent = 0;
                self.report_timeout();
                SinkError {
                    kind: "Timeout".to_owned(),
                    message: format!(
                        "the server took no data for {}",
                        humantime::format_duration(timeout)
                    ),
                    status: None,
                }
            }
        };
        let link = self.link.take().expect("written on");
        self.report_lost(
            link.unconfirmed,
            &format!("a write failed ({})", error.message),
        );
        Err(error)
    }

    /// Ends the connection cleanly, after what was written: over TLS that
    /// is a write too, given `--syslog-timeout` like any other.
    pub(super) async fn close(&mut self) -> io::Result<()> {
        let Some(link) = &mut self.link else {
            return Ok(());
        };
        match tokio::time::timeout(self.timeout, link.stream.shutdown()).await {
            Ok(closed) => closed,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server took no data while the connection was closed",
            )),
        }
    }

    /// The connection to write on: the one in use if the server has not
    /// closed it, else a new one that the server kept open through its
    /// probation. A connection closed before anything was written on it
    /// was refused: the attempt fails.
    async fn ready(&mut self) -> Result<&mut Link, SinkError> {
        if let Some(link) = &mut self.link {
            link.serve_probation().await;
            if link.closed_by_peer().await {
                let link = self.link.take().expect("checked");
                if !link.used {
                    return Err(refused());
                }
                self.report_lost(link.unconfirmed, "the server closed the connection");
            } else {
                link.unconfirmed = 0;
            }
        }
        if self.link.is_none() {
            let mut link = Link::connect(&self.address, self.tls.as_ref(), self.timeout).await?;
            link.serve_probation().await;
            if link.closed_by_peer().await {
                return Err(refused());
            }
            self.link = Some(link);
        }
        Ok(self.link.as_mut().expect("connected"))
    }

    /// Warns that the server stopped taking data, and what follows.
    fn report_timeout(&self) {
        let (name, timeout) = (&self.name, self.timeout);
        diagnostics::warn("sink", &format!("timeout:{name}"), || {
            (
                format!(
                    "{name}: the server took no data for {} (--syslog-timeout); the \
                     connection is dropped and the batch sent again on a new one, as the \
                     --retry-* flags allow (what it had taken may arrive twice)",
                    humantime::format_duration(timeout)
                ),
                json!({"sink": name, "timeout_ms": timeout.as_millis() as u64}),
            )
        });
    }

    /// Warns that a connection ended with `events` written on it since it
    /// was last seen open, which the server may never have read.
    fn report_lost(&mut self, events: usize, what: &str) {
        if events == 0 {
            return;
        }
        self.losses.0 += 1;
        self.losses.1 += events as u64;
        let (name, (connections, total)) = (&self.name, self.losses);
        diagnostics::warn("sink", &format!("lost:{name}"), || {
            (
                format!(
                    "{name}: {what}; the {events} events written on the connection \
                     since it was last seen open may be lost (TCP syslog has no acknowledgement)"
                ),
                json!({
                    "sink": name,
                    "events_at_risk": events,
                    "connections_lost": connections,
                    "events_at_risk_total": total,
                }),
            )
        });
    }
}

impl Link {
    /// Connects, and shakes hands over TLS if asked to, within `timeout`.
    async fn connect(
        address: &str,
        tls: Option<&Tls>,
        timeout: Duration,
    ) -> Result<Link, SinkError> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, connect(address, tls)).await {
            Ok(Ok(stream)) => {
                // A refusal comes back about one round trip after the
                // connection is made, on a busy server a little later.
                let watch = started.elapsed().saturating_mul(4);
                Ok(Link {
                    stream,
                    probation: Instant::now() + watch.clamp(PROBATION.0, PROBATION.1),
                    unconfirmed: 0,
                    used: false,
                })
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(SinkError {
                kind: "Timeout".to_owned(),
                message: format!(
                    "could not connect within {}",
                    humantime::format_duration(timeout)
                ),
                status: None,
            }),
        }
    }

    /// Waits out what is left of the probation, or until the server closes
    /// the connection.
    async fn serve_probation(&self) {
        let left = self.probation.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            let _ = tokio::time::timeout(left, self.stream.tcp().readable()).await;
        }
    }

    /// A syslog server never speaks: a connection that has something to
    /// read was closed (or reset) by the server, and a write to it would
    /// vanish. Over TLS the server does speak TLS itself (session tickets
    /// after the handshake): what there is to read is read, and only an
    /// end of stream or an error means closed.
    async fn closed_by_peer(&mut self) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        // End of stream shows as readable; an error or a hang-up always shows.
        let mut fds = [PollFd::new(self.stream.fd(), PollFlags::POLLIN)];
        if matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0)) {
            return false;
        }
        let Stream::Tls(tls) = &mut self.stream else {
            return true;
        };
        let mut buffer = [0; 512];
        // Records that carry no data leave the read waiting: still open.
        match tokio::time::timeout(TLS_LOOK, tls.read(&mut buffer)).await {
            // The end of the stream (a close_notify or not), or a broken one.
            Ok(Ok(0) | Err(_)) => true,
            // Data (a server that speaks), or records without any.
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    /// Writes the messages from number `sent` on, each write given
    /// `timeout` to make progress.
    async fn write(
        &mut self,
        messages: &Messages,
        sent: &mut usize,
        timeout: Duration,
    ) -> Result<(), Stalled> {
        let mut at = messages.start_of(*sent);
        while at < messages.bytes.len() {
            let write = self.stream.write(&messages.bytes[at..]);
            let n = match tokio::time::timeout(timeout, write).await {
                Ok(written) => written.map_err(|error| Stalled::Failed(error.into()))?,
                Err(_) => return Err(Stalled::TimedOut),
            };
            if n == 0 {
                let error = io::Error::from(io::ErrorKind::WriteZero);
                return Err(Stalled::Failed(error.into()));
            }
            self.used = true;
            at += n;
            let whole = messages.ends.partition_point(|&end| end <= at);
            self.unconfirmed += whole - *sent;
            *sent = whole;
        }
        Ok(())
    }
}

/// Connects to `address`, and shakes hands over TLS if asked to.
async fn connect(address: &str, tls: Option<&Tls>) -> Result<Stream, SinkError> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|error| SinkError {
            kind: "Connect".to_owned(),
            message: format!("could not connect: {error}"),
            status: None,
        })?;
    let Some(tls) = tls else {
        return Ok(Stream::Plain(tcp));
    };
    match tls.connector.connect(tls.server.clone(), tcp).await {
        Ok(stream) => Ok(Stream::Tls(Box::new(stream))),
        Err(error) => Err(SinkError {
            kind: "Tls".to_owned(),
            message: format!("TLS handshake failed: {error}"),
            status: None,
        }),
    }
}

/// Why a write stopped.
enum Stalled {
    Failed(SinkError),
    /// No progress within the timeout.
    TimedOut,
}

fn refused() -> SinkError {
    SinkError {
        kind: "Refused".to_owned(),
        message: "the server closed the connection before anything was written on it \
                  (at its connection limit?)"
            .to_owned(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    fn messages(count: usize) -> Messages {
        let mut messages = Messages::default();
        for i in 0..count {
            messages
                .bytes
                .extend_from_slice(format!("2 m{i}").as_bytes());
            messages.ends.push(messages.bytes.len());
        }
        messages
    }

    async fn listener() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, address)
    }

    /// A rustls server sends session tickets right after the handshake:
    /// there is something to read on a connection that is not closed.
    #[tokio::test]
    async fn tls_session_tickets_are_not_taken_for_a_close() {
        use std::sync::Arc;
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, ServerName};

        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let (listener, address) = listener().await;
        let received = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = acceptor.accept(stream).await.unwrap();
            let mut all = Vec::new();
            let _ = stream.read_to_end(&mut all).await;
            all
        });
        let config =
            crate::sink::tls::client_config(Some(&dir.path().join("ca.pem")), "x").unwrap();
        let tls = Tls {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server: ServerName::try_from("localhost").unwrap(),
        };
        let mut tcp = Tcp::open(&address, Some(tls), "syslog:test", Duration::from_secs(5))
            .await
            .unwrap();
        let mut sent = 0;
        tcp.send(&messages(3), &mut sent).await.unwrap();
        assert_eq!(sent, 3);
        tcp.close().await.unwrap();
        let received = tokio::time::timeout(Duration::from_secs(10), received)
            .await
            .expect("the server read to the end of the closed connection");
        assert_eq!(received.unwrap(), b"2 m02 m12 m2");
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_first_write_is_refused() {
        let (listener, address) = listener().await;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let mut tcp = Tcp::open(&address, None, "syslog:test", Duration::from_secs(5))
            .await
            .unwrap();
        let mut sent = 0;
        let error = tcp.send(&messages(3), &mut sent).await.unwrap_err();
        assert_eq!(error.kind, "Refused");
        assert_eq!(sent, 0);
        let again = tcp.send(&messages(3), &mut sent).await.unwrap_err();
        assert_eq!(again.kind, "Refused", "a new connection is refused too");
        assert_eq!(tcp.losses, (0, 0), "nothing was written, nothing lost");
    }

    #[tokio::test]
    async fn a_connection_closed_after_a_batch_is_made_again_and_the_batch_counted_at_risk() {
        let (listener, address) = listener().await;
        tokio::spawn(async move {
            // Reads one batch from the first connection and closes it; keeps
            // the second.
            let (mut first, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 12];
            first.read_exact(&mut buffer).await.unwrap();
            drop(first);
            let (mut second, _) = listener.accept().await.unwrap();
            let mut rest = Vec::new();
            let _ = second.read_to_end(&mut rest).await;
        });
        let mut tcp = Tcp::open(&address, None, "syslog:test", Duration::from_secs(5))
            .await
            .unwrap();
        let mut sent = 0;
        tcp.send(&messages(3), &mut sent).await.unwrap();
        assert_eq!(sent, 3);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut sent = 0;
        tcp.send(&messages(2), &mut sent).await.unwrap();
        assert_eq!(sent, 2);
        assert_eq!(tcp.losses, (1, 3), "the first batch may be lost");
        tcp.close().await.unwrap();
    }
}
