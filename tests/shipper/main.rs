//! Binary-level tests: each runs the real `shipper` and checks what it
//! wrote, what it said and how it exited, and that its summary accounts for
//! every line.

mod basics;
mod cli;
mod collector;
mod common;
mod envelope;
mod follow;
mod http;
mod lifecycle;
mod live;
mod nats;
mod servers;
mod sinks;
mod stderr;
mod syslog;
mod torture;
