//! The syslog sink: each event becomes one RFC 5424 message, sent over TCP
//! or TLS (RFC 5425) with octet-counting framing (RFC 6587) and cut to
//! `--syslog-max-message`, or as one UDP datagram (RFC 5426) of at most
//! `UDP_MAX_MESSAGE` bytes.
//!
//! TCP has no application acknowledgement: a batch counts as written once
//! the kernel took it (see `tcp` for what is checked, and what is said
//! when events may be lost). UDP cannot know about loss at all.

mod format;
mod tcp;
mod tls;

use std::io;
use std::net::SocketAddr;

use anyhow::Context;
use serde_json::json;
use tokio::net::UdpSocket;

use super::retry::Attempts;
use super::{SinkError, WriteOutcome};
use crate::config::{RetryPolicy, SyslogOptions};
use crate::diagnostics;
use crate::pipeline::batch::Batch;
use crate::public_url::public_url;
use format::Formatter;
pub(crate) use format::{MAX_APP_NAME, MIN_MESSAGE, UDP_MAX_MESSAGE, facility};
use tcp::Tcp;
use tls::Tls;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    Tcp,
    Tls,
    Udp,
}

/// Where a syslog sink sends: `tcp://HOST:PORT`, `tls://HOST:PORT` or
/// `udp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    transport: Transport,
    /// `host:port`.
    address: String,
}

impl Target {
    /// Reads the part after `syslog=`.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let schemes = [
            ("tcp://", Transport::Tcp),
            ("tls://", Transport::Tls),
            ("udp://", Transport::Udp),
        ];
        let Some((transport, address)) = schemes.into_iter().find_map(|(scheme, transport)| {
            url.strip_prefix(scheme).map(|address| (transport, address))
        }) else {
            // Not quoted: without a scheme, the text may be any piece of a URL.
            return Err(
                "a syslog sink is written syslog=tcp://HOST:PORT, tls://HOST:PORT \
                 or udp://HOST:PORT"
                    .to_owned(),
            );
        };
        let fits = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            && !address.contains(['/', '@', ' ']);
        if !fits {
            return Err(format!(
                "'{}': the syslog server must be HOST:PORT",
                public_url(url)
            ));
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
            Transport::Tls => "tls",
            Transport::Udp => "udp",
        };
        format!("syslog:{scheme}://{}", self.address)
    }
}

enum Connection {
    Tcp(Tcp),
    /// Not connected: a connected UDP socket reports the ICMP "port
    /// unreachable" of an earlier datagram as the failure of a later send,
    /// which says nothing about that send and cannot be helped by a retry.
    Udp {
        socket: UdpSocket,
        server: SocketAddr,
    },
}

pub(crate) struct SyslogSink {
    name: String,
    connection: Connection,
    formatter: Formatter,
    /// Longest message over TCP (`--syslog-max-message`).
    max_message: usize,
    retry: RetryPolicy,
}

impl SyslogSink {
    /// Connects (TCP), or binds a socket of the server's address family
    /// (UDP): a TCP server that cannot be reached at the start stops the
    /// run.
    pub(crate) async fn open(
        target: &Target,
        name: String,
        options: &SyslogOptions,
    ) -> anyhow::Result<SyslogSink> {
        let connection = match target.transport {
            Transport::Tcp | Transport::Tls => {
                let tls = match target.transport {
                    Transport::Tls => Some(Tls::new(&target.address, options.ca_file.as_deref())?),
                    _ => None,
                };
                Connection::Tcp(
                    Tcp::open(&target.address, tls, &name, options.timeout)
                        .await
                        .map_err(|error| {
                            anyhow::anyhow!(
                                "could not connect to {}: {}",
                                target.address,
                                error.message
                            )
                        })?,
                )
            }
            Transport::Udp => {
                let (socket, server) = aim(&target.address)
                    .await
                    .with_context(|| format!("could not aim at {}", target.address))?;
                Connection::Udp { socket, server }
            }
        };
        let host = crate::source::host();
        Ok(SyslogSink {
            name,
            connection,
            formatter: Formatter::new(&options.app_name, &host, options.facility),
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
                Connection::Tcp(tcp) => tcp.send(&messages, &mut sent).await,
                Connection::Udp { socket, server } => {
                    send_udp(socket, *server, &messages, &mut sent).await
                }
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
                Connection::Udp { .. } => self.formatter.datagram(line, &mut messages.bytes),
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
            Connection::Udp { .. } => UDP_MAX_MESSAGE,
        }
    }

    /// Ends the TCP connection cleanly, after what was written.
    pub(crate) async fn close(&mut self) -> io::Result<()> {
        match &mut self.connection {
            Connection::Tcp(tcp) => tcp.close().await,
            Connection::Udp { .. } => Ok(()),
        }
    }
}

/// A batch's messages back to back, and where each ends.
#[derive(Default)]
pub(super) struct Messages {
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

/// The server's address, and an unconnected UDP socket of its family.
async fn aim(address: &str) -> io::Result<(UdpSocket, SocketAddr)> {
    let server = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address found"))?;
    let local = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    Ok((UdpSocket::bind(local).await?, server))
}

/// Sends one datagram per message from number `sent` on.
async fn send_udp(
    socket: &UdpSocket,
    server: SocketAddr,
    messages: &Messages,
    sent: &mut usize,
) -> Result<(), SinkError> {
    while *sent < messages.ends.len() {
        let message = &messages.bytes[messages.start_of(*sent)..messages.ends[*sent]];
        socket.send_to(message, server).await?;
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
    fn targets_are_tcp_tls_or_udp_host_and_port() {
        let tcp = Target::parse("tcp://127.0.0.1:6514").unwrap();
        assert_eq!(tcp.label(), "syslog:tcp://127.0.0.1:6514");
        let udp = Target::parse("udp://logs.example:514").unwrap();
        assert_eq!(udp.label(), "syslog:udp://logs.example:514");
        let tls = Target::parse("tls://logs.example:6514").unwrap();
        assert_eq!(tls.label(), "syslog:tls://logs.example:6514");
        for bad in [
            "127.0.0.1:514",
            "https://h:514",
            "tcp://h",
            "tcp://:514",
            "udp://h:99999",
            "tcp://u@h:514",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
