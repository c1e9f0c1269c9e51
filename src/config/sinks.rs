//! The sinks named on the command line, each checked, and the names they
//! go by.

use std::collections::HashSet;
use std::path::PathBuf;

use super::{http, nats, syslog};
use crate::diagnostics::escape;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SinkSpec {
    Stdout,
    File(PathBuf),
    /// An `http://` or `https://` URL, checked.
    Http(String),
    /// JetStream servers and a subject.
    Nats(nats::Target),
    /// A syslog server over TCP or UDP.
    Syslog(syslog::Target),
    /// A collector's own API over HTTP: its kind and URL, checked.
    Collector(Collector, String),
}

/// The collectors whose own APIs shipper speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Collector {
    /// `POST /INDEX/_bulk`.
    Elasticsearch,
    /// The same bulk API, named as the user named it.
    OpenSearch,
    /// OTLP/HTTP logs.
    Otlp,
    /// Loki's push API.
    Loki,
    /// Splunk's HTTP Event Collector.
    Splunk,
}

impl Collector {
    /// The kind as `--sink` names it.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Collector::Elasticsearch => "elasticsearch",
            Collector::OpenSearch => "opensearch",
            Collector::Otlp => "otlp",
            Collector::Loki => "loki",
            Collector::Splunk => "splunk",
        }
    }

    fn of(kind: &str) -> Option<Collector> {
        [
            Collector::Elasticsearch,
            Collector::OpenSearch,
            Collector::Otlp,
            Collector::Loki,
            Collector::Splunk,
        ]
        .into_iter()
        .find(|collector| collector.kind() == kind)
    }

    /// `url` checked as this collector's: a bulk API needs an index.
    fn check(self, url: &str) -> Result<String, String> {
        let url = http::check_url(url)?;
        let parsed = reqwest::Url::parse(&url).map_err(|err| err.to_string())?;
        if matches!(self, Collector::Elasticsearch | Collector::OpenSearch) {
            let index = parsed.path().trim_matches('/');
            if index.is_empty() || index.contains('/') {
                return Err(format!(
                    "'{}': an {} sink needs the index in its URL, as in \
                     http://HOST:9200/INDEX",
                    crate::public_url::public_url(&url),
                    self.kind()
                ));
            }
        }
        // As its name shows it, so that the name is the same sink.
        Ok(parsed.into())
    }
}

/// `stdout`, `file`, `file=PATH`; no sink at all means `stdout`.
pub(super) fn parse(
    specs: &[String],
    default_file: &std::path::Path,
) -> Result<Vec<SinkSpec>, String> {
    if specs.is_empty() {
        return Ok(vec![SinkSpec::Stdout]);
    }
    let mut sinks = Vec::with_capacity(specs.len());
    for spec in specs {
        let sink = match spec.split_once('=') {
            None if spec == "stdout" => SinkSpec::Stdout,
            None if spec == "file" => SinkSpec::File(default_file.to_path_buf()),
            Some(("file", path)) if !path.is_empty() => SinkSpec::File(PathBuf::from(path)),
            Some((kind, url)) if url.ends_with(http::HIDDEN) && over_http(kind) => {
                return Err(format!(
                    "'{}' is the name of an HTTP sink whose credentials were hidden: give its \
                     URL in full",
                    escape(spec)
                ));
            }
            Some(("http", url)) => SinkSpec::Http(http::check_url(url)?),
            Some((kind, url)) if Collector::of(kind).is_some() => {
                let collector = Collector::of(kind).expect("a collector");
                SinkSpec::Collector(collector, collector.check(url)?)
            }
            Some(("nats", url)) => SinkSpec::Nats(nats::Target::parse(url)?),
            Some(("syslog", url)) => SinkSpec::Syslog(syslog::Target::parse(url)?),
            _ => return Err(unknown_sink(spec)),
        };
        sinks.push(sink);
    }
    let mut seen = HashSet::new();
    for sink in &sinks {
        if !seen.insert(sink) {
            return Err(format!(
                "sink '{}' is given twice; each sink may appear once",
                sink_label(sink)
            ));
        }
    }
    Ok(sinks)
}

/// Whether a sink of `kind` posts over HTTP.
fn over_http(kind: &str) -> bool {
    kind == "http" || Collector::of(kind).is_some()
}

/// Why `spec` is no sink, quoting only a kind that is a plain word: any
/// other text may be a piece of a URL's password or query.
fn unknown_sink(spec: &str) -> String {
    let expected = "`stdout`, `file`, `file=PATH`, `http=URL`, \
                    `nats=nats://HOST:PORT/SUBJECT`, `syslog=tcp://HOST:PORT`, \
                    `elasticsearch=URL/INDEX`, `opensearch=URL/INDEX`, `otlp=URL`, \
                    `loki=URL` or `splunk=URL`";
    let kind = spec.split_once('=').map_or(spec, |(kind, _)| kind);
    let is_word = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if is_word {
        format!("unknown sink '{kind}' (expected {expected})")
    } else {
        format!("a sink is not one of {expected}")
    }
}

/// The name a sink goes by in diagnostics, the summary, the stats lines
/// and `/metrics`: written as `--sink` takes it (`file=out.log`,
/// `http=URL`, `nats=nats://HOST:PORT/SUBJECT`, `syslog=tcp://HOST:PORT`),
/// so that a script can give it back to `--sink` for the same sink. An
/// HTTP sink whose URL holds credentials is the exception: they are
/// hidden, and its name says so.
pub(crate) fn sink_label(sink: &SinkSpec) -> String {
    match sink {
        SinkSpec::Stdout => "stdout".to_owned(),
        SinkSpec::File(path) => format!("file={}", path.display()),
        SinkSpec::Http(url) => format!("http={}", http::label(url)),
        SinkSpec::Nats(target) => format!("nats={}", target.label()),
        SinkSpec::Syslog(target) => format!("syslog={}", target.label()),
        SinkSpec::Collector(collector, url) => {
            format!("{}={}", collector.kind(), http::label(url))
        }
    }
}

/// The URLs of the HTTP sinks, whose credentials `--http-*` flags must not
/// contradict.
pub(super) fn http_urls(sinks: &[SinkSpec]) -> Vec<&str> {
    sinks
        .iter()
        .filter_map(|sink| match sink {
            SinkSpec::Http(url) | SinkSpec::Collector(_, url) => Some(url.as_str()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(specs: &[&str]) -> Result<Vec<SinkSpec>, String> {
        let specs: Vec<String> = specs.iter().map(|spec| spec.to_string()).collect();
        parse(&specs, std::path::Path::new("default.log"))
    }

    /// A sink's name, given back to `--sink`, is the same sink.
    #[test]
    fn every_sink_name_is_read_back_as_the_same_sink() {
        let sinks = parsed(&[
            "stdout",
            "file",
            "file=logs/out.jsonl",
            "http=http://collector:8080",
            "nats=nats://nats-1,nats-2:4223/logs.app",
            "nats=tls://nats.example/logs.app",
            "syslog=tcp://loghost:514",
            "syslog=udp://loghost:514",
            "syslog=tls://loghost:6514",
            "elasticsearch=http://es:9200/logs",
            "opensearch=https://os:9200/logs",
            "otlp=http://otel:4318/v1/logs",
            "loki=http://loki:3100",
            "splunk=https://splunk:8088",
        ])
        .unwrap();
        let names: Vec<String> = sinks.iter().map(sink_label).collect();
        assert_eq!(
            names,
            [
                "stdout",
                "file=default.log",
                "file=logs/out.jsonl",
                "http=http://collector:8080/",
                "nats=nats://nats-1:4222,nats-2:4223/logs.app",
                "nats=tls://nats.example:4222/logs.app",
                "syslog=tcp://loghost:514",
                "syslog=udp://loghost:514",
                "syslog=tls://loghost:6514",
                "elasticsearch=http://es:9200/logs",
                "opensearch=https://os:9200/logs",
                "otlp=http://otel:4318/v1/logs",
                "loki=http://loki:3100/",
                "splunk=https://splunk:8088/",
            ]
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let again = parsed(&names).unwrap();
        assert_eq!(again.iter().map(sink_label).collect::<Vec<_>>(), names);
        assert_eq!(again[..3], sinks[..3]);
        assert_eq!(again[4..], sinks[4..], "the same targets");
        assert!(
            parsed(&["elasticsearch=http://es:9200"]).is_err(),
            "no index"
        );
        assert!(
            parsed(&["opensearch=http://es:9200/a/b"]).is_err(),
            "no index"
        );
        let hidden = parsed(&["splunk=https://splunk:8088/?t=T0KEN"]).unwrap();
        assert!(parsed(&[&sink_label(&hidden[0])]).is_err());
        // The URL as printed: the one the requests go to.
        assert_eq!(again[3], SinkSpec::Http("http://collector:8080/".into()));
    }

    /// A hidden credential cannot come back: the name is refused rather
    /// than read as a URL that would post elsewhere.
    #[test]
    fn the_name_of_a_sink_with_hidden_credentials_is_refused() {
        let sinks = parsed(&["http=https://user:pw@collector/ingest?key=K"]).unwrap();
        let name = sink_label(&sinks[0]);
        assert_eq!(name, "http=https://collector/ingest (credentials hidden)");
        let refused = parsed(&[&name]).unwrap_err();
        assert!(refused.contains("credentials were hidden"), "{refused}");
        assert!(
            !refused.contains("pw") && !refused.contains("K"),
            "{refused}"
        );
    }
}
