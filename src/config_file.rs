//! `--config FILE`: the flags' settings in TOML, one key per long flag
//! (`batch-size = 512`, `sink = ["file=a.log", "stdout"]`,
//! `drop-on-full = true`). The file stands below the environment, which
//! stands below the command line: a key is used only when neither sets it.
//!
//! The file's entries become arguments ahead of the command line's, each
//! checked on its own first, so that a bad key or value is reported with the
//! file's name, line and column.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, CommandFactory};

use crate::cli::Args;

/// Largest config file read: settings take a few kilobytes.
const MAX_BYTES: u64 = 4 << 20;

/// Flags a config file cannot set.
const NOT_IN_FILE: [&str; 4] = ["config", "check-config", "generate", "help"];

/// The command line with the config file's settings put before it.
pub(crate) fn with_config_file(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(path) = config_path(&argv) else {
        return Ok(argv);
    };
    let shown = crate::diagnostics::shown(&path);
    let text = read(&path).map_err(|why| format!("could not read config file '{shown}': {why}"))?;
    let from_file = settings(&shown, &text, &argv)?;
    let mut argv = argv.into_iter();
    let program = argv.next().unwrap_or_else(|| "shipper".into());
    Ok(std::iter::once(program)
        .chain(from_file)
        .chain(argv)
        .collect())
}

/// The file's text: a regular file of at most `MAX_BYTES` (a FIFO or a
/// device is refused before it is read, so neither can hang or fill memory).
fn read(path: &std::path::Path) -> Result<String, String> {
    let bytes = crate::files::read_bounded(path, MAX_BYTES, true).map_err(|why| why.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

/// The arguments the file's text stands for, less those the command line
/// or the environment set. No error shows the value of a secret key.
fn settings(shown: &str, text: &str, argv: &[OsString]) -> Result<Vec<OsString>, String> {
    let command = Args::command();
    let mut secrets = Secrets::of(&command, text);
    let table: toml::Table = text
        .parse()
        .map_err(|err| secrets.hide(&parse_error(shown, text, &err)))?;
    secrets.add_from(&command, &table);
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let at = format!("{shown}:{}", position(text, key));
        let arg = command
            .get_arguments()
            .find(|arg| {
                arg.get_long() == Some(key.as_str()) && !NOT_IN_FILE.contains(&key.as_str())
            })
            .ok_or_else(|| {
                format!("{at}: unknown key '{key}' (keys are the long flags, like batch-size)")
            })?;
        if is_set_elsewhere(arg, key, argv) {
            continue;
        }
        let pieces = arguments(key, value).map_err(|why| format!("{at}: {why}"))?;
        check(&pieces).map_err(|why| secrets.hide(&format!("{at}: {why}")))?;
        from_file.extend(pieces.into_iter().map(OsString::from));
    }
    Ok(from_file)
}

/// Where and why the file is not TOML, without the line itself (toml
/// quotes it), which may hold a secret.
fn parse_error(shown: &str, text: &str, err: &toml::de::Error) -> String {
    let Some(span) = err.span() else {
        return format!("{shown}: TOML parse error: {}", err.message());
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    format!(
        "{shown}: TOML parse error at line {line}, column {column}: {}",
        err.message().trim_end()
    )
}

/// The values of the file's secret keys (the flags whose environment
/// values `--help` hides: passwords, tokens, headers), to keep out of
/// error messages.
struct Secrets(Vec<String>);

impl Secrets {
    /// Read from the raw text, so that they are known even when the file
    /// is not valid TOML: the rest of each line that sets a secret key, as
    /// written and unquoted.
    fn of(command: &clap::Command, text: &str) -> Secrets {
        let keys = secret_keys(command);
        let mut values = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim().trim_matches(['"', '\'']);
            if !keys.contains(&key) {
                continue;
            }
            let value = value.trim();
            let inner = value.trim_matches(['[', ']', ' ']);
            values.push(value.to_owned());
            values.extend(
                inner
                    .split(',')
                    .map(|item| item.trim().trim_matches(['"', '\'']).to_owned()),
            );
        }
        let mut secrets = Secrets(values);
        secrets.sort();
        secrets
    }

    /// Adds the values the parsed file gives the secret keys (those of an
    /// array spread over several lines among them).
    fn add_from(&mut self, command: &clap::Command, table: &toml::Table) {
        for key in secret_keys(command) {
            match table.get(key) {
                Some(toml::Value::String(value)) => self.0.push(value.clone()),
                Some(toml::Value::Array(items)) => self.0.extend(
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned)),
                ),
                _ => {}
            }
        }
        self.sort();
    }

    /// The longest first, so that no part of one is left showing.
    fn sort(&mut self) {
        self.0.retain(|value| !value.is_empty());
        self.0.sort_by_key(|value| std::cmp::Reverse(value.len()));
        self.0.dedup();
    }

    fn hide(&self, message: &str) -> String {
        self.0.iter().fold(message.to_owned(), |message, secret| {
            message.replace(secret.as_str(), "(hidden)")
        })
    }
}

/// The long names of the flags whose environment values `--help` hides.
fn secret_keys(command: &clap::Command) -> Vec<&str> {
    command
        .get_arguments()
        .filter(|arg| arg.is_hide_env_values_set())
        .filter_map(Arg::get_long)
        .collect()
}

/// `--config FILE`, `--config=FILE`, or SHIPPER_CONFIG.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("SHIPPER_CONFIG").map(PathBuf::from)
}

/// The command line or the environment sets this flag already.
fn is_set_elsewhere(arg: &Arg, key: &str, argv: &[OsString]) -> bool {
    let long = format!("--{key}");
    let short = arg.get_short().map(|short| format!("-{short}"));
    let on_command_line = argv.iter().skip(1).any(|given| {
        let given = given.to_string_lossy();
        given == long || given.starts_with(&format!("{long}=")) || short.as_deref() == Some(&*given)
    });
    let in_environment = arg
        .get_env()
        .is_some_and(|name| std::env::var_os(name).is_some());
    on_command_line || in_environment
}

/// The arguments a key stands for: `--key` for `true`, nothing for
/// `false`, `--key=value` for a value (so that one starting with `-` is
/// still a value), once per element of an array.
fn arguments(key: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let flag = format!("--{key}");
    let scalar = |value: &toml::Value| match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        other => Err(format!(
            "'{key}' takes a string or a number, not {}",
            other.type_str()
        )),
    };
    match value {
        toml::Value::Boolean(true) => Ok(vec![flag]),
        toml::Value::Boolean(false) => Ok(Vec::new()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| Ok(format!("{flag}={}", scalar(item)?)))
            .collect(),
        other => Ok(vec![format!("{flag}={}", scalar(other)?)]),
    }
}

/// Parses the arguments on their own, so a bad value is pinned to its key.
/// A flag that needs another (`nats-password` needs `nats-user`) is
/// checked with the others, once they are all put together.
fn check(pieces: &[String]) -> Result<(), String> {
    let argv = std::iter::once("shipper").chain(pieces.iter().map(String::as_str));
    match Args::command().try_get_matches_from(argv) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == clap::error::ErrorKind::MissingRequiredArgument => Ok(()),
        Err(err) => {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_owned())
        }
    }
}

/// `LINE:COLUMN` of the value of `key` (of the key when the line is odd).
fn position(text: &str, key: &str) -> String {
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        if let Some(after_equals) = rest.trim_start().strip_prefix('=') {
            let value_at = line.len() - after_equals.trim_start().len() + 1;
            return format!("{}:{}", index + 1, value_at);
        }
    }
    "1:1".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_the_value() {
        let text = "sink = [\"stdout\"]\n  batch-size =  12\n";
        assert_eq!(position(text, "sink"), "1:8");
        assert_eq!(position(text, "batch-size"), "2:17");
    }

    fn settings_of(text: &str) -> Result<Vec<String>, String> {
        settings("shipper.toml", text, &["shipper".into()]).map(|args| {
            args.into_iter()
                .map(|arg| arg.into_string().unwrap())
                .collect()
        })
    }

    #[test]
    fn a_secret_is_never_shown_in_an_error() {
        for (text, at) in [
            // Not TOML: toml quotes the line.
            (
                "batch-size = 10\nnats-password = s3cretpw\n",
                "line 2, column 17",
            ),
            ("http-token = 's3cretpw' 'more'\n", "line 1, column"),
            // A value clap refuses, quoted in its message.
            (
                "http-header = \"s3cretpw\"\n",
                "shipper.toml:1:15: invalid value",
            ),
            ("http-header = [\"a: b\", \"s3cretpw\"]\n", "invalid value"),
            (
                "\"nats-token\" = [\"s3cretpw\", \"s3cretpw2\"]\n",
                "cannot be used multiple times",
            ),
            ("http-header = [\n  \"s3cretpw\",\n]\n", "invalid value"),
        ] {
            let error = settings_of(text).unwrap_err();
            assert!(!error.contains("s3cret"), "{text}: {error}");
            assert!(error.contains(at), "{text}: {error}");
        }
        let other = settings_of("batch-size = lots\n").unwrap_err();
        assert!(other.contains("line 1, column 14"), "{other}");
    }

    #[test]
    fn flags_that_need_each_other_are_checked_together() {
        let args = settings_of("nats-password = \"pw\"\nnats-user = \"me\"\n").unwrap();
        assert_eq!(args, ["--nats-password=pw", "--nats-user=me"]);
    }

    #[test]
    fn a_value_may_start_with_a_dash() {
        let args = settings_of("http-token = \"-t0ken\"\nfield = [\"-k=v\"]\n").unwrap();
        assert_eq!(args, ["--field=-k=v", "--http-token=-t0ken"]);
    }

    #[test]
    fn values_become_arguments() {
        let table: toml::Table = "a = true\nb = false\nc = 5\nd = [\"x\", \"y\"]\ne = \"t\""
            .parse()
            .unwrap();
        assert_eq!(arguments("a", &table["a"]).unwrap(), ["--a"]);
        assert!(arguments("b", &table["b"]).unwrap().is_empty());
        assert_eq!(arguments("c", &table["c"]).unwrap(), ["--c=5"]);
        assert_eq!(arguments("d", &table["d"]).unwrap(), ["--d=x", "--d=y"]);
        assert_eq!(arguments("e", &table["e"]).unwrap(), ["--e=t"]);
        let nested: toml::Table = "f = { g = 1 }".parse().unwrap();
        assert!(arguments("f", &nested["f"]).is_err());
    }
}
