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

/// Flags a config file cannot set.
const NOT_IN_FILE: [&str; 4] = ["config", "check-config", "generate", "help"];

/// The command line with the config file's settings put before it.
pub(crate) fn with_config_file(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(path) = config_path(&argv) else {
        return Ok(argv);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("could not read config file '{shown}': {err}"))?;
    let table: toml::Table = text.parse().map_err(|err| format!("{shown}: {err}"))?;
    let command = Args::command();
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let at = format!("{shown}:{}", position(&text, key));
        let arg = command
            .get_arguments()
            .find(|arg| {
                arg.get_long() == Some(key.as_str()) && !NOT_IN_FILE.contains(&key.as_str())
            })
            .ok_or_else(|| {
                format!("{at}: unknown key '{key}' (keys are the long flags, like batch-size)")
            })?;
        if is_set_elsewhere(arg, key, &argv) {
            continue;
        }
        let pieces = arguments(key, value).map_err(|why| format!("{at}: {why}"))?;
        check(&pieces).map_err(|why| format!("{at}: {why}"))?;
        from_file.extend(pieces.into_iter().map(OsString::from));
    }
    let mut argv = argv.into_iter();
    let program = argv.next().unwrap_or_else(|| "shipper".into());
    Ok(std::iter::once(program)
        .chain(from_file)
        .chain(argv)
        .collect())
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
/// `false`, `--key value` for a value, once per element of an array.
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
            .map(|item| Ok(vec![flag.clone(), scalar(item)?]))
            .collect::<Result<Vec<_>, String>>()
            .map(|pairs| pairs.concat()),
        other => Ok(vec![flag, scalar(other)?]),
    }
}

/// Parses the arguments on their own, so a bad value is pinned to its key.
fn check(pieces: &[String]) -> Result<(), String> {
    let argv = std::iter::once("shipper").chain(pieces.iter().map(String::as_str));
    Args::command()
        .try_get_matches_from(argv)
        .map(drop)
        .map_err(|err| {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_owned()
        })
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

    #[test]
    fn values_become_arguments() {
        let table: toml::Table = "a = true\nb = false\nc = 5\nd = [\"x\", \"y\"]\ne = \"t\""
            .parse()
            .unwrap();
        assert_eq!(arguments("a", &table["a"]).unwrap(), ["--a"]);
        assert!(arguments("b", &table["b"]).unwrap().is_empty());
        assert_eq!(arguments("c", &table["c"]).unwrap(), ["--c", "5"]);
        assert_eq!(
            arguments("d", &table["d"]).unwrap(),
            ["--d", "x", "--d", "y"]
        );
        assert_eq!(arguments("e", &table["e"]).unwrap(), ["--e", "t"]);
        let nested: toml::Table = "f = { g = 1 }".parse().unwrap();
        assert!(arguments("f", &nested["f"]).is_err());
    }
}
