//! `--print-config`: the settings in effect (config file, environment and
//! command line merged) as a config file that `--config` reads back, each
//! value as the flag takes it (`batch-timeout = "250ms"`), secrets hidden.

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, CommandFactory};

use super::{Merged, keys};
use crate::cli::Args;

/// What stands for a secret's value.
const HIDDEN: &str = "(hidden)";

/// The settings `merged` gives, one `key = value` line each, in the order
/// of `--help`, with where each came from as a comment. Settings without a
/// value (no default, not given) are left out.
pub(crate) fn print(merged: &Merged) -> Result<String, String> {
    let command = Args::command();
    let matches = command
        .clone()
        .try_get_matches_from(&merged.argv)
        .map_err(|err| err.to_string())?;
    let args = Args::try_parse_argv(merged.argv.clone()).map_err(|err| err.to_string())?;
    let mut out = String::from(
        "# shipper's settings: defaults, then the config file, the environment\n\
         # and the command line, each over the one before.\n",
    );
    for arg in keys::settable(&command) {
        let long = arg.get_long().unwrap_or_default();
        let value = match long {
            "sink" => Some(sinks(&args.sinks)),
            _ => value(arg, &matches),
        };
        if let Some(value) = value {
            let from = origin(arg, &matches, merged);
            out.push_str(&format!("{long} = {value}  # {from}\n"));
        }
    }
    if !args.files.is_empty() {
        // Files to read are named on the command line only: said, but as
        // a comment, so that what is printed still reads back.
        let files: Vec<String> = args
            .files
            .iter()
            .map(|file| toml::Value::String(file.to_string_lossy().into_owned()).to_string())
            .collect();
        out.push_str(&format!(
            "# and the files to read, from the command line: {}\n",
            files.join(" ")
        ));
    }
    Ok(out)
}

/// `arg`'s value as TOML: a boolean for a switch, an array for a flag that
/// may be repeated, an integer for a plain number, otherwise the text as
/// given (a duration or size keeps its unit).
fn value(arg: &Arg, matches: &clap::ArgMatches) -> Option<toml::Value> {
    let raw: Vec<String> = matches
        .get_raw(arg.get_id().as_str())?
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    if !arg.get_action().takes_values() {
        return Some(toml::Value::Boolean(
            raw.iter().any(|value| value == "true"),
        ));
    }
    let secret = arg.is_hide_env_values_set();
    let mut items = raw.iter().map(|value| match secret {
        true => toml::Value::String(hidden(arg, value)),
        false => scalar(value),
    });
    match arg.get_action() {
        ArgAction::Append => Some(toml::Value::Array(items.collect())),
        _ => items.next(),
    }
}

/// A number as an integer when writing it so changes nothing (`007`
/// stays text), anything else as a string.
fn scalar(text: &str) -> toml::Value {
    match text.parse::<i64>() {
        Ok(number) if number.to_string() == text => toml::Value::Integer(number),
        _ => toml::Value::String(text.to_owned()),
    }
}

/// A secret flag's value hidden: a header keeps its name.
fn hidden(arg: &Arg, value: &str) -> String {
    match (arg.get_long(), value.split_once(':')) {
        (Some("http-header"), Some((name, _))) => format!("{}: {HIDDEN}", name.trim()),
        _ => HIDDEN.to_owned(),
    }
}

/// The sinks, `stdout` when none is given, their URLs' user, password,
/// query and fragment hidden.
fn sinks(given: &[String]) -> toml::Value {
    let shown = match given.is_empty() {
        true => vec![toml::Value::String("stdout".into())],
        false => given
            .iter()
            .map(|sink| toml::Value::String(hide_in_sink(sink)))
            .collect(),
    };
    toml::Value::Array(shown)
}

/// The sinks whose URL may hold credentials.
const HIDING_KINDS: [&str; 8] = [
    "http",
    "nats",
    "syslog",
    "elasticsearch",
    "opensearch",
    "otlp",
    "loki",
    "splunk",
];

/// `http=http://user:pw@host/in?key=k` as `http=http://(hidden)@host/in?(hidden)`:
/// what is between `//` and the last `@`, and from the first `?` or `#`
/// on, where credentials and API keys hide.
fn hide_in_sink(sink: &str) -> String {
    let Some((kind, url)) = sink
        .split_once('=')
        .filter(|(kind, _)| HIDING_KINDS.contains(kind))
    else {
        return sink.to_owned();
    };
    let (scheme, rest) = url.split_once("//").unwrap_or(("", url));
    let rest = match rest.rfind('@') {
        Some(at) => format!("{HIDDEN}{}", &rest[at..]),
        None => rest.to_owned(),
    };
    let rest = match rest.find(['?', '#']) {
        Some(at) => format!("{}{}{HIDDEN}", &rest[..at], &rest[at..=at]),
        None => rest,
    };
    match url.contains("//") {
        true => format!("{kind}={scheme}//{rest}"),
        false => format!("{kind}={rest}"),
    }
}

/// Where `arg`'s value came from.
fn origin(arg: &Arg, matches: &clap::ArgMatches, merged: &Merged) -> String {
    let long = arg.get_long().unwrap_or_default();
    match matches.value_source(arg.get_id().as_str()) {
        Some(ValueSource::EnvVariable) => match arg.get_env() {
            Some(name) => format!("from {}", name.to_string_lossy()),
            None => "from the environment".into(),
        },
        Some(ValueSource::CommandLine) if merged.set_in_file(long) => "from the config file".into(),
        Some(ValueSource::CommandLine) => "from the command line".into(),
        _ => "default".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_queries_in_sinks_are_hidden() {
        for (sink, shown) in [
            ("stdout", "stdout"),
            ("file=/tmp/a?b@c", "file=/tmp/a?b@c"),
            ("http=http://host/in", "http=http://host/in"),
            (
                "opensearch=http://u:p@h/i",
                "opensearch=http://(hidden)@h/i",
            ),
            (
                "http=https://us3r:p@ss@host:8080/in?api_key=K#f",
                "http=https://(hidden)@host:8080/in?(hidden)",
            ),
            (
                "nats=nats://me:pw@a:4222,b:4222/logs",
                "nats=nats://(hidden)@a:4222,b:4222/logs",
            ),
            ("syslog=tcp://h:514#x", "syslog=tcp://h:514#(hidden)"),
            ("http=not a url?k", "http=not a url?(hidden)"),
        ] {
            assert_eq!(hide_in_sink(sink), shown, "{sink}");
        }
    }

    #[test]
    fn numbers_stay_as_written() {
        assert_eq!(scalar("256"), toml::Value::Integer(256));
        assert_eq!(scalar("007"), toml::Value::String("007".into()));
        assert_eq!(scalar("1MiB"), toml::Value::String("1MiB".into()));
    }
}
