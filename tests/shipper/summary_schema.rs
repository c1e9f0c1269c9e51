//! The summary and `--show-checkpoint=json` as scripts read them: every
//! field docs/summary.md documents is in a real run's output and nothing
//! else is, in the documented order; and the sinks' names can be given
//! back to `--sink`.

use std::fmt;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use crate::common::{read_summary, run, shipper};

/// The documented fields of one section of docs/summary.md: the first
/// cell of each table row, without its backticks.
fn documented(section: &str) -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/summary.md")).unwrap();
    let heading = format!("\n## {section}\n");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("no '{section}'"))
        + heading.len();
    let end = doc[start..]
        .find("\n## ")
        .map_or(doc.len(), |end| start + end);
    doc[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .map(|row| row.split('`').next().unwrap().to_owned())
        .collect()
}

/// Every key path of a JSON text, nested ones included (`inputs.stdin`,
/// `sinks[].name`), in the order they first appear.
fn key_paths(json: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut reader = serde_json::Deserializer::from_str(json);
    Collect {
        prefix: String::new(),
        paths: &mut paths,
    }
    .deserialize(&mut reader)
    .unwrap();
    paths
}

/// Gathers the key paths below `prefix`.
struct Collect<'a> {
    prefix: String,
    paths: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let path = match self.prefix.as_str() {
                "" => key,
                prefix => format!("{prefix}.{key}"),
            };
            if !self.paths.contains(&path) {
                self.paths.push(path.clone());
            }
            map.next_value_seed(Collect {
                prefix: path,
                paths: &mut *self.paths,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let prefix = format!("{}[]", self.prefix);
        while seq
            .next_element_seed(Collect {
                prefix: prefix.clone(),
                paths: &mut *self.paths,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_rfc3339_millis(text: &str) -> bool {
    let shape = "0000-00-00T00:00:00.000Z";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| match s {
            '0' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// `app.log` (three lines and a blank) read once with a checkpoint, in a
/// fresh directory: the summary file's text, and the directory.
fn run_with_checkpoint() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "a\n\nb\nc\n").unwrap();
    let summary = dir.path().join("summary.json");
    shipper()
        .current_dir(dir.path())
        .args(["app.log", "--checkpoint", "state.json"])
        .args(["--sink", "file=out.jsonl", "--summary-file"])
        .arg(&summary)
        .assert()
        .code(0);
    read_summary(&summary);
    (std::fs::read_to_string(&summary).unwrap(), dir)
}

/// The doc cannot go stale: its fields are exactly a real summary's,
/// nested ones included, in the summary's order.
#[test]
fn the_documented_summary_fields_are_exactly_those_a_run_writes() {
    let (text, _dir) = run_with_checkpoint();
    let documented = documented("Fields");
    assert_eq!(key_paths(&text), documented);
    assert_eq!(documented[0], "schema_version");
}

#[test]
fn the_summary_says_its_version_when_it_ran_and_what_it_read() {
    let (text, dir) = run_with_checkpoint();
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(summary["schema_version"], 1);
    let (started, ended) = (
        summary["started_at"].as_str().unwrap(),
        summary["ended_at"].as_str().unwrap(),
    );
    assert!(is_rfc3339_millis(started), "{started}");
    assert!(is_rfc3339_millis(ended), "{ended}");
    assert!(started <= ended, "{started} after {ended}");
    assert_eq!(
        summary["inputs"],
        json!({"stdin": false, "files": ["app.log"], "patterns": []})
    );
    assert_eq!(summary["lines_read"], 4);
    assert_eq!(summary["blank"], 1);
    assert_eq!(summary["processed"], 3);
    let real = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        summary["checkpoint"]["files"],
        json!([{"path": real.join("app.log"), "offset": 7}])
    );

    let from_stdin = run(&["--sink", "file=out.jsonl"], "x\n");
    assert_eq!(from_stdin.code, Some(0), "{}", from_stdin.stderr);
    assert_eq!(
        from_stdin.summary["inputs"],
        json!({"stdin": true, "files": [], "patterns": []})
    );
    assert_eq!(from_stdin.summary["processed"], 1);
}

/// A stats line is the summary so far: the same fields in the same order,
/// less what only the end can tell.
#[test]
fn a_stats_line_has_the_summarys_fields_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = std::process::Command::new(crate::common::bin())
        .current_dir(dir.path())
        .args(["--sink", "file=out.jsonl", "--stats-interval", "100ms"])
        .arg("--summary-file")
        .arg(&summary)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"one\n").unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(r#""type":"stats""#) {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0);
    }
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let summary = read_summary(&summary);
    assert_eq!(summary["processed"], 1);
    let end_only = ["ended_at", "drain_seconds", "stopped_by", "exit_code"];
    let mut expected: Vec<String> = documented("Fields")
        .into_iter()
        .filter(|field| !end_only.contains(&field.as_str()) && !field.starts_with("checkpoint."))
        .collect();
    expected.insert(0, "type".into());
    assert_eq!(key_paths(line.trim()), expected);
}

/// `shipper --checkpoint PATH --show-checkpoint=json [FILE...]` from `dir`.
fn show_json(dir: &Path, checkpoint: &str, files: &[&str]) -> String {
    let output = shipper()
        .current_dir(dir)
        .args(["--checkpoint", checkpoint, "--show-checkpoint=json"])
        .args(files)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn show_checkpoint_json_holds_the_documented_fields_and_the_positions() {
    let (_, dir) = run_with_checkpoint();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let shown = show_json(&elsewhere, "../state.json", &[]);
    assert_eq!(key_paths(&shown), documented("The checkpoint"));
    let app_log = std::fs::canonicalize(dir.path()).unwrap().join("app.log");
    let expected = json!({
        "checkpoint": "../state.json",
        "files": [{"path": app_log, "offset": 7, "size_now": 7, "state": "ok"}],
    });
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), expected);
    // A file named from here, however spelled, or one not saved.
    let named = show_json(&elsewhere, "../state.json", &["../app.log"]);
    assert_eq!(serde_json::from_str::<Value>(&named).unwrap(), expected);
    let other = show_json(&elsewhere, "../state.json", &["other.log"]);
    assert_eq!(
        serde_json::from_str::<Value>(&other).unwrap(),
        json!({"checkpoint": "../state.json", "files": []})
    );
    // Without a value, the table, and a FILE after the flag is a FILE.
    let output = shipper()
        .current_dir(dir.path())
        .args(["--checkpoint", "state.json", "--show-checkpoint", "app.log"])
        .output()
        .unwrap();
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.starts_with("        OFFSET"), "{table}");
    assert!(
        table.contains(&format!("ok        {}", app_log.display())),
        "{table}"
    );
}

/// The names of a run's sinks, from its summary.
fn sink_names(summary: &Value) -> Vec<String> {
    summary["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sink| sink["name"].as_str().unwrap().to_owned())
        .collect()
}

/// What the summary calls a sink is what `--sink` takes for the same
/// sink, the one with hidden credentials aside, which `--sink` refuses.
/// The NATS server refuses the connection, so the run stops before
/// reading, with a summary that names every sink all the same.
#[test]
fn sink_names_from_a_summary_are_taken_back_by_sink() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let given = [
        "file=out.jsonl".to_owned(),
        "stdout".to_owned(),
        format!("http=http://user:pw@127.0.0.1:{port}/ingest?key=K3Y"),
        format!("http=http://127.0.0.1:{port}/ingest"),
        format!("syslog=udp://127.0.0.1:{port}"),
        format!("nats=nats://127.0.0.1:{port}/logs.app"),
    ];
    let args = |sinks: &[String]| -> Vec<String> {
        sinks
            .iter()
            .flat_map(|sink| ["--sink".to_owned(), sink.clone()])
            .collect()
    };
    let first_args = args(&given);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let first = run(&first_args, "x\n");
    assert_eq!(first.code, Some(1), "{}", first.stderr);
    assert_eq!(first.summary["lines_read"], 0);
    let hidden = format!("http=http://127.0.0.1:{port}/ingest (credentials hidden)");
    let names = sink_names(&first.summary);
    assert_eq!(
        names,
        [&given[..2], std::slice::from_ref(&hidden), &given[3..]].concat(),
        "the names as given, the credentials hidden"
    );

    let again: Vec<String> = names
        .iter()
        .filter(|&name| *name != hidden)
        .cloned()
        .collect();
    let second_args = args(&again);
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let second = run(&second_args, "x\n");
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert_eq!(sink_names(&second.summary), again, "the same sinks");
    for name in &again {
        shipper()
            .args(["--check-config", "--sink", name])
            .assert()
            .code(0);
    }
    let refused = shipper()
        .args(["--check-config", "--sink", &hidden])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("credentials were hidden"), "{stderr}");
}
