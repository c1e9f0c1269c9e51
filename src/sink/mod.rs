//! Sinks: where batches go. Two small traits, one for sinks that block on
//! system calls and one for sinks that wait on the network, and one module
//! per kind. The pipeline drives them (`pipeline::delivery`).
//!
//! A sink's failure is contained: it says how many of a batch's events it
//! wrote and why it stopped; the pipeline counts the rest against it and
//! names it in a diagnostic, and the next batch is tried as usual.

pub(crate) mod elasticsearch;
pub(crate) mod file;
pub(crate) mod http;
mod interface;
pub(crate) mod known_secrets;
pub(crate) mod loki;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod nats;
pub(crate) mod otlp;
pub(crate) mod output;
pub(crate) mod protocol;
pub(crate) mod retry;
pub(crate) mod splunk;
pub(crate) mod stdout;
pub(crate) mod syslog;
pub(crate) mod tls;

pub(crate) use interface::{BlockingSink, NetworkSink, Sink, SinkError, WriteOutcome};

use anyhow::Context;
use serde_json::json;

use crate::config::http::HttpOptions;
use crate::config::sinks::Collector;
use crate::config::{Config, SinkSpec, sink_label};
use crate::diagnostics;

/// Opens every sink in command-line order; the first that cannot open
/// stops the run before anything is read.
pub(crate) async fn open_all(config: &Config) -> anyhow::Result<Vec<Sink>> {
    let mut sinks = Vec::with_capacity(config.sinks.len());
    for spec in &config.sinks {
        let label = sink_label(spec);
        // As an error may show it on a terminal.
        let shown = diagnostics::escape(&label).into_owned();
        let sink = match spec {
            SinkSpec::Stdout => {
                Sink::Blocking(Box::new(stdout::StdoutSink::open(config.sinks.len() == 1)))
            }
            SinkSpec::File(path) => Sink::Blocking(Box::new(
                file::FileSink::open(path, label.clone(), config.file)
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
            SinkSpec::Http(url) => Sink::Network(Box::new(
                http::HttpSink::open(url, label.clone(), &config.http)
                    .with_context(|| format!("could not set up sink '{shown}'"))?,
            )),
            SinkSpec::Nats(target) => Sink::Network(Box::new(
                nats::NatsSink::open(target, label.clone(), &config.nats)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
            SinkSpec::Collector(collector, url) => Sink::Network(Box::new(
                open_collector(*collector, url, label.clone(), &config.http)
                    .with_context(|| format!("could not set up sink '{shown}'"))?,
            )),
            SinkSpec::Syslog(target) => Sink::Network(Box::new(
                syslog::SyslogSink::open(target, label.clone(), &config.syslog)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
        };
        diagnostics::info(
            "sink",
            format!("opened sink {label}"),
            json!({"sink": label}),
        );
        sinks.push(sink);
    }
    Ok(sinks)
}

/// The HTTP sink that speaks `collector`'s API to `url`.
fn open_collector(
    collector: Collector,
    url: &str,
    name: String,
    options: &HttpOptions,
) -> anyhow::Result<http::HttpSink> {
    match collector {
        Collector::Elasticsearch | Collector::OpenSearch => elasticsearch::open(url, name, options),
        Collector::Otlp => otlp::open(url, name, options),
        Collector::Loki => loki::open(url, name, options),
        Collector::Splunk => splunk::open(url, name, options),
    }
}
