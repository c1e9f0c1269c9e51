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
use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::net::UdpSocket;

use super::interface::{NetworkSink, SinkError, WriteOutcome};
use super::retry::{self, Attempt, Delivery, Health};
use crate::batch::Batch;
use crate::config::retry::RetryPolicy;
use crate::config::syslog::{SyslogOptions, Target, Transport};
use crate::diagnostics;
pub(crate) use format::UDP_MAX_MESSAGE;
use format::{Formatter, Messages};
use tcp::Tcp;
use tls::Tls;

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
    /// What its failures have been told so far.
    health: Health,
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
        let host = crate::host::name();
        Ok(SyslogSink {
            health: Health::new(name.clone()),
            name,
            connection,
            formatter: Formatter::new(&options.app_name, &host, options.facility),
            max_message: options.max_message,
            retry: options.retry,
        })
    }

    /// Sends a batch, reconnecting and retrying as the policy allows (and
    /// telling `retrying` each time). The events written are those the
    /// kernel took whole.
    async fn deliver(&mut self, batch: &Batch, retrying: &(dyn Fn() + Sync)) -> WriteOutcome {
        let messages = self.messages(batch);
        let mut sending = Sending {
            connection: &mut self.connection,
            messages: &messages,
            sent: 0,
        };
        let error = retry::deliver(self.retry, &self.health, retrying, &mut sending).await;
        let written = if error.is_none() {
            batch.len()
        } else {
            sending.sent
        };
        WriteOutcome {
            written,
            error,
            ..WriteOutcome::default()
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
    async fn end(&mut self) -> io::Result<()> {
        match &mut self.connection {
            Connection::Tcp(tcp) => tcp.close().await,
            Connection::Udp { .. } => Ok(()),
        }
    }
}

impl NetworkSink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write<'a>(
        &'a mut self,
        batch: &'a Batch,
        retrying: &'a (dyn Fn() + Sync),
    ) -> BoxFuture<'a, WriteOutcome> {
        Box::pin(self.deliver(batch, retrying))
    }

    fn close(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.end())
    }
}

/// A batch's messages on their way: each attempt sends those the kernel
/// has not taken yet (over TCP, all of them again after a timeout).
struct Sending<'a> {
    connection: &'a mut Connection,
    messages: &'a Messages,
    /// Messages the kernel took whole.
    sent: usize,
}

impl Delivery for Sending<'_> {
    /// Every failure is worth another attempt, on a new connection.
    async fn attempt(&mut self) -> Attempt {
        let result = match &mut *self.connection {
            Connection::Tcp(tcp) => tcp.send(self.messages, &mut self.sent).await,
            Connection::Udp { socket, server } => {
                send_udp(socket, *server, self.messages, &mut self.sent).await
            }
        };
        match result {
            Ok(()) => Attempt::Delivered,
            Err(error) => Attempt::Retry { error, after: None },
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
