//! The syslog sink: each event becomes one RFC 5424 message, sent over TCP
//! with octet-counting framing (RFC 6587) and cut to `--syslog-max-message`,
//! or as one UDP datagram (RFC 5426) of at most `UDP_MAX_MESSAGE` bytes.
//!
//! TCP has no application acknowledgement: a batch counts as written once
//! the kernel took it. Before each batch the connection is checked for a
//! close by the server, so a server that restarted between batches costs
//! nothing; what sat in the socket buffers when a server died is lost. UDP
//! cannot know about loss at all.

mod format;

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use super::retry::Attempts;
use super::{SinkError, WriteOutcome};
use crate::config::{RetryPolicy, SyslogOptions};
use crate::diagnostics;
use crate::pipeline::batch::Batch;
use format::Formatter;
pub(crate) use format::{MAX_APP_NAME, MIN_MESSAGE, UDP_MAX_MESSAGE};

/// Longest a TCP connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

/// Where a syslog sink sends: `tcp://HOST:PORT` or `udp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    transport: Transport,
    /// `host:port`.
    address: String,
}

impl Target {
    /// Reads the part after `syslog=`.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let (transport, address) = if let Some(address) = url.strip_prefix("tcp://") {
            (Transport::Tcp, address)
        } else if let Some(address) = url.strip_prefix("udp://") {
            (Transport::Udp, address)
        } else {
            return Err(format!(
                "'{url}': a syslog sink is written syslog=tcp://HOST:PORT or syslog=udp://HOST:PORT"
            ));
        };
        let fits = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            && !address.contains(['/', '@', ' ']);
        if !fits {
            return Err(format!("'{url}': the syslog server must be HOST:PORT"));
        }
        Ok(Target {
            transport,
            address: address.to_owned(),
        })
    }

    /// How diagnostics and the summary name the sink.
    pub(crate) fn label(&self) -> String {
        let scheme = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        };
        format!("syslog:{scheme}://{}", self.address)
    }
}

enum Connection {
    /// `None` while the connection is down, until the next attempt.
    Tcp(Option<TcpStream>),
    Udp(UdpSocket),
}

pub(crate) struct SyslogSink {
    name: String,
    /// `host:port`, resolved again at each reconnection.
    address: String,
    connection: Connection,
    formatter: Formatter,
    /// Longest message over TCP (`--syslog-max-message`).
    max_message: usize,
    retry: RetryPolicy,
}

impl SyslogSink {
    /// Connects (TCP) or binds a socket aimed at the server (UDP): a server
    /// that cannot be reached at the start stops the run.
    pub(crate) async fn open(
        target: &Target,
        name: String,
        options: &SyslogOptions,
    ) -> anyhow::Result<SyslogSink> {
        let connection = match target.transport {
            Transport::Tcp => {
                Connection::Tcp(Some(connect(&target.address).await.map_err(|error| {
                    anyhow::anyhow!("could not connect to {}: {}", target.address, error.message)
                })?))
            }
            Transport::Udp => Connection::Udp(
                aim(&target.address)
                    .await
                    .with_context(|| format!("could not aim at {}", target.address))?,
            ),
        };
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Ok(SyslogSink {
            name,
            address: target.address.clone(),
            connection,
            formatter: Formatter::new(&options.app_name, &host),
            max_message: options.max_message,
            retry: options.retry,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Sends a batch, reconnecting and retrying as the policy allows (and
    /// telling `retrying` each time). The events written are those the
    /// kernel took whole.
    pub(crate) async fn write(
        &mut self,
        batch: &Batch,
        retrying: &(dyn Fn() + Sync),
    ) -> WriteOutcome {
        let messages = self.messages(batch);
        let mut sent = 0;
        let mut attempts = Attempts::new(self.retry, retrying);
        loop {
            let result = match &mut self.connection {
                Connection::Tcp(stream) => {
                    send_tcp(stream, &self.address, &messages, &mut sent).await
                }
                Connection::Udp(socket) => send_udp(socket, &messages, &mut sent).await,
            };
            let Err(error) = result else {
                return WriteOutcome {
                    written: batch.len(),
                    error: None,
                };
            };
            if let Err(error) = attempts.after_failure(error, None).await {
                return WriteOutcome {
                    written: sent,
                    error: Some(error),
                };
            }
        }
    }

    /// The batch as messages, framed for TCP or each a datagram, cut to
    /// fit where they must be.
    fn messages(&self, batch: &Batch) -> Messages {
        let mut messages = Messages::default();
        let mut truncated = 0;
        for line in batch.lines() {
            let cut = match self.connection {
                Connection::Tcp(_) => {
                    self.formatter
                        .framed(line, self.max_message, &mut messages.bytes)
                }
                Connection::Udp(_) => self.formatter.datagram(line, &mut messages.bytes),
            };
            truncated += usize::from(cut);
            messages.ends.push(messages.bytes.len());
        }
        if truncated > 0 {
            report_truncated(&self.name, truncated, self.limit());
        }
        messages
    }

    /// The longest message this sink sends.
    fn limit(&self) -> usize {
        match self.connection {
            Connection::Tcp(_) => self.max_message,
            Connection::Udp(_) => UDP_MAX_MESSAGE,
        }
    }

    /// Ends the TCP connection cleanly, after what was written.
    pub(crate) async fn close(&mut self) -> io::Result<()> {
        match &mut self.connection {
            Connection::Tcp(Some(stream)) => stream.shutdown().await,
            Connection::Tcp(None) | Connection::Udp(_) => Ok(()),
        }
    }
}

/// A batch's messages back to back, and where each ends.
#[derive(Default)]
struct Messages {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Messages {
    fn start_of(&self, message: usize) -> usize {
        match message {
            0 => 0,
            n => self.ends[n - 1],
        }
    }
}

/// Writes the messages from number `sent` on, over the connection as it
/// is, or a new one if it is down or the server closed it; `sent` counts
/// the messages the kernel took whole.
async fn send_tcp(
    stream: &mut Option<TcpStream>,
    address: &str,
    messages: &Messages,
    sent: &mut usize,
) -> Result<(), SinkError> {
    if stream.as_ref().is_some_and(closed_by_peer) {
        *stream = None;
    }
    let connection = match stream {
        Some(connection) => connection,
        None => stream.insert(connect(address).await?),
    };
    let mut at = messages.start_of(*sent);
    while at < messages.bytes.len() {
        match connection.write(&messages.bytes[at..]).await {
            Ok(0) => {
                *stream = None;
                return Err(io::Error::from(io::ErrorKind::WriteZero).into());
            }
            Ok(n) => at += n,
            Err(error) => {
                *stream = None;
                return Err(error.into());
            }
        }
        *sent = messages.ends.partition_point(|&end| end <= at);
    }
    Ok(())
}

/// A syslog server never speaks: a connection that has something to read
/// was closed (or reset) by the server, and a write to it would vanish.
fn closed_by_peer(stream: &TcpStream) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    // End of stream shows as readable; an error or a hang-up always shows.
    let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
    !matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0))
}

/// A UDP socket connected to the server, of the server's address family.
async fn aim(address: &str) -> io::Result<UdpSocket> {
    let server = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address found"))?;
    let local = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    Ok(socket)
}

async fn connect(address: &str) -> Result<TcpStream, SinkError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(SinkError {
            kind: "Connect".to_owned(),
            message: format!("could not connect: {error}"),
            status: None,
        }),
        Err(_) => Err(SinkError {
            kind: "Timeout".to_owned(),
            message: format!(
                "could not connect within {}",
                humantime::format_duration(CONNECT_TIMEOUT)
            ),
            status: None,
        }),
    }
}

/// Sends one datagram per message from number `sent` on.
async fn send_udp(
    socket: &UdpSocket,
    messages: &Messages,
    sent: &mut usize,
) -> Result<(), SinkError> {
    while *sent < messages.ends.len() {
        let message = &messages.bytes[messages.start_of(*sent)..messages.ends[*sent]];
        socket.send(message).await?;
        *sent += 1;
    }
    Ok(())
}

fn report_truncated(name: &str, count: usize, limit: usize) {
    diagnostics::warn("sink", &format!("truncated:{name}"), || {
        (
            format!(
                "{name}: {count} messages cut to {limit} bytes, the longest this sink sends \
                 (flagged in their structured data)"
            ),
            json!({"sink": name, "truncated": count, "limit": limit}),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_tcp_or_udp_host_and_port() {
        let tcp = Target::parse("tcp://127.0.0.1:6514").unwrap();
        assert_eq!(tcp.label(), "syslog:tcp://127.0.0.1:6514");
        let udp = Target::parse("udp://logs.example:514").unwrap();
        assert_eq!(udp.label(), "syslog:udp://logs.example:514");
        for bad in [
            "127.0.0.1:514",
            "tls://h:514",
            "tcp://h",
            "tcp://:514",
            "udp://h:99999",
            "tcp://u@h:514",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
