//! Binary-level tests: each runs the real `shipper` and checks what it
//! wrote, what it said and how it exited, and that its summary accounts for
//! every line.

mod basics;
mod cli;
mod collector;
mod common;
mod edges;
mod envelope;
mod exposure;
mod files;
mod follow;
mod http;
mod json_edges;
mod lifecycle;
mod live;
mod nats;
mod servers;
mod sinks;
mod stderr;
mod syslog;
mod torture;
mod unreadable;
