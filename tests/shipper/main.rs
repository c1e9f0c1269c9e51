//! Binary-level tests: each runs the real `shipper` and checks what it
//! wrote, what it said and how it exited, and that its summary accounts for
//! every line.

mod backpressure;
mod checkpoints;
mod cli;
mod collector;
mod collectors;
mod common;
mod config_file;
mod dead_letters;
mod delivery;
mod encoding;
mod envelope;
mod exit_status;
mod filters;
mod following;
mod following_told;
mod hangup;
mod live;
mod multiline;
mod own_files;
mod reading;
mod real_logs;
mod redaction;
mod rotation;
mod secrets;
mod servers;
mod settings;
mod shutdown;
mod sinks_file;
mod sinks_http;
mod sinks_nats;
mod sinks_stdout;
mod sinks_syslog;
mod stderr;
mod summary_schema;
mod terminal;
mod torture;
mod unreadable;
