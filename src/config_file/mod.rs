//! `--config FILE`: the flags' settings in TOML, one key per long flag
//! (`batch-size = 512`, `sink = ["file=a.log", "stdout"]`,
//! `drop-on-full = true`). The file stands below the environment, which
//! stands below the command line: a key is used only when neither sets it.
//!
//! The file's entries become arguments ahead of the command line's, each
//! checked on its own first, so that a bad key or value is reported with the
//! file's name, line and column.

mod keys;
mod print;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::ops::Range;
use std::path::PathBuf;

use clap::{Arg, CommandFactory};
use toml::Spanned;

use crate::cli::Args;

pub(crate) use print::print;

/// Largest config file read: settings take a few kilobytes.
const MAX_BYTES: u64 = 4 << 20;

/// A setting of the file: its key as the flag is spelled, where its value
/// is (`FILE:LINE:COLUMN`), and the arguments it stands for.
type Given = (String, String, Vec<String>);

/// The file's keys and values, each with where it is in the text.
type SpannedTable = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// The command line with the config file's settings put before it, and
/// where each of those came from.
pub(crate) struct Merged {
    /// The program, the file's arguments, then the command line's.
    pub argv: Vec<OsString>,
    /// The settings the file gave that nothing else overrode.
    from_file: Vec<FileSetting>,
    /// The file's secret values, kept out of messages.
    secrets: Secrets,
}

/// A setting the config file gave.
struct FileSetting {
    /// Its key, as the flag is spelled.
    key: String,
    /// Where its value is written: `FILE:LINE:COLUMN`.
    at: String,
    /// Its arguments' place in `Merged::argv`.
    pieces: Range<usize>,
}

/// The config file's setting that causes an error.
pub(crate) struct Culprit<'m> {
    /// Where its value is written: `FILE:LINE:COLUMN`.
    pub at: &'m str,
    /// Its key, as the flag is spelled.
    pub key: &'m str,
}

impl Merged {
    /// The file's setting that causes `error`, which the settings put
    /// together gave: the first one without which `attempt` no longer
    /// fails so. `None` when no setting of the file alone causes it.
    pub(crate) fn culprit<T>(
        &self,
        error: &str,
        attempt: impl Fn(Vec<OsString>) -> Result<T, String>,
    ) -> Option<Culprit<'_>> {
        let culprit = self.from_file.iter().find(|setting| {
            let without = self
                .argv
                .iter()
                .enumerate()
                .filter(|(at, _)| !setting.pieces.contains(at))
                .map(|(_, arg)| arg.clone())
                .collect();
            attempt(without).err().as_deref() != Some(error)
        })?;
        Some(Culprit {
            at: &culprit.at,
            key: &culprit.key,
        })
    }

    /// `message` without the file's secret values.
    pub(crate) fn hide(&self, message: &str) -> String {
        self.secrets.hide(message)
    }

    /// `message`, about the flag it starts with, led by the environment
    /// variable that set that flag, if one did.
    pub(crate) fn naming_variable(&self, message: &str) -> String {
        let command = Args::command();
        let Ok(matches) = command.clone().try_get_matches_from(&self.argv) else {
            return message.to_owned();
        };
        let named = message
            .strip_prefix("--")
            .map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')))
            .and_then(|mut words| words.next());
        let variable = named
            .and_then(|long| keys::settable(&command).find(|arg| arg.get_long() == Some(long)))
            .filter(|arg| {
                matches.value_source(arg.get_id().as_str())
                    == Some(clap::parser::ValueSource::EnvVariable)
            })
            .and_then(Arg::get_env);
        match variable {
            Some(name) => format!("{}: {message}", name.to_string_lossy()),
            None => message.to_owned(),
        }
    }

    /// Whether `long` (a flag's long name) was set by the file.
    pub(crate) fn set_in_file(&self, long: &str) -> bool {
        self.from_file.iter().any(|setting| setting.key == long)
    }
}

/// The command line with the config file's settings put before it.
pub(crate) fn with_config_file(argv: Vec<OsString>) -> Result<Merged, String> {
    let Some(path) = config_path(&argv) else {
        return Ok(Merged {
            argv,
            from_file: Vec::new(),
            secrets: Secrets(Vec::new()),
        });
    };
    let shown = crate::diagnostics::shown(&path);
    let text = read(&path).map_err(|why| format!("could not read config file '{shown}': {why}"))?;
    let (settings, secrets) = settings(&shown, &text, &argv)?;
    let mut argv = argv.into_iter();
    let mut merged = vec![argv.next().unwrap_or_else(|| "shipper".into())];
    let mut from_file = Vec::new();
    for (key, at, pieces) in settings {
        let start = merged.len();
        merged.extend(pieces.into_iter().map(OsString::from));
        from_file.push(FileSetting {
            key,
            at,
            pieces: start..merged.len(),
        });
    }
    merged.extend(argv);
    Ok(Merged {
        argv: merged,
        from_file,
        secrets,
    })
}

/// The file's text: a regular file of at most `MAX_BYTES` (a FIFO or a
/// device is refused before it is read, so neither can hang or fill memory).
fn read(path: &std::path::Path) -> Result<String, String> {
    let bytes = crate::files::read_bounded(path, MAX_BYTES, true).map_err(|why| why.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

/// The arguments each of the file's settings stands for, with where its
/// value is, less those the command line or the environment set; and the
/// file's secrets. No error shows the value of a secret key.
fn settings(shown: &str, text: &str, argv: &[OsString]) -> Result<(Vec<Given>, Secrets), String> {
    let command = Args::command();
    let mut secrets = Secrets::of(&command, text);
    let table: SpannedTable =
        toml::from_str(text).map_err(|err| secrets.hide(&parse_error(shown, text, &err)))?;
    secrets.add_from(&command, &table);
    let mut spellings = keys::Spellings::new();
    let mut from_file = Vec::new();
    let mut in_file_order: Vec<_> = table.iter().collect();
    in_file_order.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in in_file_order {
        let at = format!("{shown}:{}", position(text, value.span().start));
        let arg = keys::flag_of(&command, key.as_ref())
            .ok_or_else(|| format!("{at}: {}", keys::unknown(&command, key.as_ref())))?;
        let long = arg.get_long().unwrap_or_default();
        spellings.add(long, key.as_ref()).map_err(|earlier| {
            format!(
                "{at}: '{earlier}' and '{}' both set {long}; give one of them",
                key.as_ref()
            )
        })?;
        if is_set_elsewhere(arg, long, argv) {
            continue;
        }
        let takes_value = arg.get_action().takes_values();
        let pieces =
            arguments(long, takes_value, value.as_ref()).map_err(|why| format!("{at}: {why}"))?;
        check(&pieces).map_err(|why| secrets.hide(&format!("{at}: {why}")))?;
        from_file.push((long.to_owned(), at, pieces));
    }
    Ok((from_file, secrets))
}

/// Where and why the file is not TOML, without the line itself (toml
/// quotes it), which may hold a secret.
fn parse_error(shown: &str, text: &str, err: &toml::de::Error) -> String {
    let Some(span) = err.span() else {
        return format!("{shown}: TOML parse error: {}", err.message());
    };
    let (line, column) = line_column(text, span.start);
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
            let key = key.trim().trim_matches(['"', '\'']).replace('_', "-");
            if !keys.contains(&key.as_str()) {
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
    fn add_from(&mut self, command: &clap::Command, table: &SpannedTable) {
        let keys = secret_keys(command);
        for (key, value) in table {
            if !keys.contains(&key.as_ref().replace('_', "-").as_str()) {
                continue;
            }
            match value.as_ref() {
                toml::Value::String(value) => self.0.push(value.clone()),
                toml::Value::Array(items) => self.0.extend(
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

/// The arguments a key stands for: for a switch (`takes_value` false),
/// `--key` for `true` and nothing for `false`; otherwise `--key=value`
/// (so that one starting with `-` is still a value), once per element of
/// an array.
fn arguments(key: &str, takes_value: bool, value: &toml::Value) -> Result<Vec<String>, String> {
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
        toml::Value::Boolean(true) if !takes_value => Ok(vec![flag]),
        toml::Value::Boolean(false) if !takes_value => Ok(Vec::new()),
        other if !takes_value => Err(format!(
            "'{key}' is true or false, not {}",
            other.type_str()
        )),
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

/// `LINE:COLUMN` of the byte at `offset`.
fn position(text: &str, offset: usize) -> String {
    let (line, column) = line_column(text, offset);
    format!("{line}:{column}")
}

/// The line and column (in characters), from 1, of the byte at `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_of(text: &str) -> Result<Vec<String>, String> {
        settings("shipper.toml", text, &["shipper".into()])
            .map(|(settings, _)| settings.into_iter().flat_map(|(_, _, args)| args).collect())
    }

    #[test]
    fn positions_point_at_the_value() {
        let text = "sink = [\"stdout\"]\n  batch-size =  0\n";
        let (settings, _) = settings("f.toml", text, &["shipper".into()]).unwrap();
        let places: Vec<&str> = settings.iter().map(|(_, at, _)| at.as_str()).collect();
        assert_eq!(places, ["f.toml:1:8", "f.toml:2:17"]);
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
        assert_eq!(args, ["--http-token=-t0ken", "--field=-k=v"]);
    }

    #[test]
    fn values_become_arguments() {
        let table: toml::Table = "a = true\nb = false\nc = 5\nd = [\"x\", \"y\"]\ne = \"t\""
            .parse()
            .unwrap();
        assert_eq!(arguments("a", false, &table["a"]).unwrap(), ["--a"]);
        assert!(arguments("b", false, &table["b"]).unwrap().is_empty());
        assert_eq!(arguments("c", true, &table["c"]).unwrap(), ["--c=5"]);
        assert_eq!(
            arguments("d", true, &table["d"]).unwrap(),
            ["--d=x", "--d=y"]
        );
        assert_eq!(arguments("e", true, &table["e"]).unwrap(), ["--e=t"]);
        let nested: toml::Table = "f = { g = 1 }".parse().unwrap();
        assert!(arguments("f", true, &nested["f"]).is_err());
        assert_eq!(
            arguments("c", false, &table["c"]).unwrap_err(),
            "'c' is true or false, not integer"
        );
        assert_eq!(
            arguments("a", true, &table["a"]).unwrap_err(),
            "'a' takes a string or a number, not boolean"
        );
    }
}
