//! The config file as an operator uses it: keys in either spelling, errors
//! that point into the file, `--check-config` refusing what the run would
//! refuse, and `--print-config` writing back a file `--config` reads.

use std::net::TcpListener;
use std::path::Path;

use crate::common::shipper;

/// shipper in `dir`, with `text` as its `shipper.toml`.
fn with_config(dir: &Path, text: &str) -> assert_cmd::Command {
    std::fs::write(dir.join("shipper.toml"), text).unwrap();
    let mut command = shipper();
    command.current_dir(dir).args(["--config", "shipper.toml"]);
    command
}

/// The exit status and stderr of `command`, fed a line it must not read.
fn outcome(command: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let output = command.write_stdin("never read\n").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code(), stderr)
}

/// The stdout of `--print-config`, which must succeed without a word on
/// stderr.
fn printed(command: &mut assert_cmd::Command) -> String {
    let output = command
        .arg("--print-config")
        .write_stdin("never read\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    String::from_utf8(output.stdout).unwrap()
}

/// The line of `printed` that sets `key`.
fn line<'p>(printed: &'p str, key: &str) -> &'p str {
    let start = format!("{key} = ");
    printed
        .lines()
        .find(|line| line.starts_with(&start))
        .unwrap_or_else(|| panic!("no {key} in {printed}"))
}

#[test]
fn snake_case_keys_set_the_flag_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = "batch_size = 10\nmax_line_bytes = \"2KiB\"\ndrop_on_full = true\n";
    let shown = printed(&mut with_config(dir.path(), text));
    assert_eq!(
        line(&shown, "batch-size"),
        "batch-size = 10  # from the config file"
    );
    assert_eq!(
        line(&shown, "max-line-bytes"),
        "max-line-bytes = \"2KiB\"  # from the config file"
    );
    assert_eq!(
        line(&shown, "drop-on-full"),
        "drop-on-full = true  # from the config file"
    );
}

#[test]
fn one_setting_under_both_spellings_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let text = "batch_size = 10\nsink = [\"stdout\"]\nbatch-size = 20\n";
    let (code, stderr) = outcome(with_config(dir.path(), text).arg("--check-config"));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "shipper: shipper.toml:3:14: 'batch_size' and 'batch-size' both set batch-size; \
         give one of them\n"
    );
}

#[test]
fn an_unknown_key_is_told_the_nearest_known_one() {
    let dir = tempfile::tempdir().unwrap();
    for (text, said) in [
        (
            "sinks = [\"stdout\"]\n",
            "shipper.toml:1:9: unknown key 'sinks'; did you mean 'sink'?",
        ),
        (
            "batch = 5\nbach_sise = 10\n",
            "shipper.toml:1:9: unknown key 'batch'; did you mean 'batch-size'?",
        ),
        (
            "zzz = 1\n",
            "shipper.toml:1:7: unknown key 'zzz' (keys are the long flags, like batch-size)",
        ),
    ] {
        let (code, stderr) = outcome(with_config(dir.path(), text).arg("--check-config"));
        assert_eq!(code, Some(2), "{text}");
        assert_eq!(stderr, format!("shipper: {said}\n"), "{text}");
    }
}

#[test]
fn a_bad_value_in_the_file_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (text, said) in [
        (
            "batch-size = 10\nsink = [\"stdout\", \"kafka\"]\n",
            "shipper.toml:2:8: unknown sink 'kafka' (expected `stdout`, `file`, `file=PATH`, \
             `http=URL`, `nats=nats://HOST:PORT/SUBJECT`, `syslog=tcp://HOST:PORT`, \
             `elasticsearch=URL/INDEX`, `opensearch=URL/INDEX`, `otlp=URL`, `loki=URL` or \
             `splunk=URL`)",
        ),
        (
            "# the queue\n  queue-capacity =  0\n",
            "shipper.toml:2:21: --queue-capacity must be greater than 0",
        ),
        (
            "max-line-bytes = \"12 parsecs\"\n",
            "shipper.toml:1:18: invalid value '12 parsecs' for '--max-line-bytes <SIZE>': \
             unknown size unit 'parsecs' (use KiB, MiB or GiB)",
        ),
        (
            "drop-on-full = false\nprotect-level = \"warn\"\n",
            "shipper.toml:2:17: protect-level needs --drop-on-full",
        ),
        (
            "batch-size = true\n",
            "shipper.toml:1:14: 'batch-size' takes a string or a number, not boolean",
        ),
        (
            "raw = \"yes\"\n",
            "shipper.toml:1:7: 'raw' is true or false, not string",
        ),
        (
            "http-format = \"json\"\nraw = true\n",
            "shipper.toml:1:15: --http-format json needs JSON events; it cannot be used with --raw",
        ),
        (
            "follow = [\"a[\"]\n",
            "shipper.toml:1:10: --follow 'a[' is not a glob: invalid range pattern",
        ),
    ] {
        let (code, stderr) = outcome(with_config(dir.path(), text).arg("--check-config"));
        assert_eq!(code, Some(2), "{text}");
        assert_eq!(stderr, format!("shipper: {said}\n"), "{text}");
    }
}

#[test]
fn a_setting_from_the_command_line_keeps_clap_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = outcome(with_config(dir.path(), "batch-size = 10\n").args([
        "--check-config",
        "--queue-capacity",
        "0",
    ]));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "error: --queue-capacity must be greater than 0\n\n\
         Usage: shipper [OPTIONS] [FILE]...\n\n\
         For more information, try '--help'.\n"
    );
    let (code, stderr) = outcome(with_config(dir.path(), "batch-size = 10\n").args([
        "--check-config",
        "--protect-level",
        "warn",
    ]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(
            "error: the following required arguments were not provided:\n  --drop-on-full\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_setting_from_the_environment_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = outcome(
        with_config(dir.path(), "batch-size = 10\n")
            .env("SHIPPER_QUEUE_CAPACITY", "0")
            .arg("--check-config"),
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(
            "error: SHIPPER_QUEUE_CAPACITY: --queue-capacity must be greater than 0\n"
        ),
        "{stderr}"
    );
}

/// What is in `dir`, each entry with its length and contents.
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap_or_default())
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn check_config_refuses_what_the_run_would_refuse_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    for (text, said) in [
        (
            "sink = [\"file=/no/such/dir/x.jsonl\"]\n",
            "could not open sink 'file=/no/such/dir/x.jsonl': its directory '/no/such/dir': \
             No such file or directory (os error 2)",
        ),
        (
            "sink = [\"stdout\", \"file=a-directory\"]\n",
            "could not open sink 'file=a-directory': Is a directory (os error 21)",
        ),
        (
            "sink = [\"file=shipper.toml/x\"]\n",
            "could not open sink 'file=shipper.toml/x': Not a directory (os error 20)",
        ),
        (
            "summary-file = \"/no/such/dir/summary.json\"\n",
            "could not write the summary to '/no/such/dir/summary.json': its directory \
             '/no/such/dir': No such file or directory (os error 2)",
        ),
        (
            "follow = [\"*.log\"]\ncheckpoint = \"gone/state.json\"\n",
            "could not use the checkpoint 'gone/state.json': its directory 'gone': \
             No such file or directory (os error 2)",
        ),
    ] {
        std::fs::write(dir.path().join("shipper.toml"), text).unwrap();
        let before = listing(dir.path());
        let (code, stderr) = outcome(with_config(dir.path(), text).arg("--check-config"));
        assert_eq!(code, Some(1), "{text}");
        assert_eq!(stderr, format!("shipper: {said}\n"), "{text}");
        assert_eq!(
            listing(dir.path()),
            before,
            "{text}: nothing made or changed"
        );
        // The run refuses the same, with the same words and status.
        let (code, stderr) = outcome(&mut with_config(dir.path(), text));
        assert_eq!(code, Some(1), "{text}");
        assert!(
            stderr.starts_with(&format!("shipper: {said}\n")),
            "{text}: {stderr}"
        );
    }
}

#[test]
fn check_config_creates_changes_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.jsonl"), "{\"kept\":1}\n").unwrap();
    std::fs::write(dir.path().join("summary.json"), "{\"stale\":true}").unwrap();
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    collector.set_nonblocking(true).unwrap();
    let text = format!(
        "sink = [\"file=old.jsonl\", \"file=new.jsonl\", \"http=http://{}/in\"]\n\
         summary-file = \"summary.json\"\nfollow = [\"*.log\"]\ncheckpoint = \"state.json\"\n",
        collector.local_addr().unwrap()
    );
    std::fs::write(dir.path().join("shipper.toml"), &text).unwrap();
    let before = listing(dir.path());
    let (code, stderr) = outcome(with_config(dir.path(), &text).arg("--check-config"));
    assert_eq!(
        (code, stderr.as_str()),
        (Some(0), "shipper: the settings are valid\n")
    );
    assert_eq!(listing(dir.path()), before);
    let connected = collector.accept();
    assert_eq!(
        connected.map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "no connection to the HTTP sink"
    );
}

#[test]
fn print_config_prints_defaults_file_environment_and_flags_merged() {
    let dir = tempfile::tempdir().unwrap();
    let text = "batch-size = 10\nqueue-capacity = 500\nbatch-timeout = \"200ms\"\n\
                sink = [\"file=out.jsonl\"]\nfield = [\"env=prod\"]\n";
    let shown = printed(
        with_config(dir.path(), text)
            .env("SHIPPER_QUEUE_CAPACITY", "600")
            .args(["--batch-size", "20", "--quiet"]),
    );
    for expected in [
        "batch-size = 20  # from the command line",
        "queue-capacity = 600  # from SHIPPER_QUEUE_CAPACITY",
        "batch-timeout = \"200ms\"  # from the config file",
        "sink = [\"file=out.jsonl\"]  # from the config file",
        "field = [\"env=prod\"]  # from the config file",
        "max-line-bytes = \"1MiB\"  # default",
        "queue-max-bytes = \"16MiB\"  # default",
        "shutdown-timeout = \"10s\"  # default",
        "quiet = true  # from the command line",
        "drop-on-full = false  # default",
        "file-max-files = 5  # default",
    ] {
        let key = expected.split(" = ").next().unwrap();
        assert_eq!(line(&shown, key), expected);
    }
    assert!(!shown.contains("summary-file"), "unset: left out\n{shown}");
    assert!(!shown.contains("files to read"), "none named\n{shown}");
    let with_files = printed(
        crate::common::shipper()
            .current_dir(dir.path())
            .args(["a.log", "with space.log"]),
    );
    assert!(
        with_files.ends_with(
            "# and the files to read, from the command line: \"a.log\" \"with space.log\"\n"
        ),
        "{with_files}"
    );
    assert!(!shown.contains("check-config"), "{shown}");
    assert!(!dir.path().join("out.jsonl").exists(), "nothing opened");
}

/// `printed` without the comments that say where each value came from.
fn values(printed: &str) -> Vec<&str> {
    printed
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split("  # ").next().unwrap())
        .collect()
}

#[test]
fn what_print_config_prints_reads_back_as_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let text = "batch_size = 10\nbatch-timeout = \"1m30s\"\nfile-max-bytes = \"100MiB\"\n\
                sink = [\"file=out.jsonl\", \"stdout\"]\nfield = [\"env=prod\", \"team=core\"]\n\
                drop-on-full = true\nprotect-level = \"warning\"\nhttp-header = [\"X-Team: core\"]\n\
                follow = [\"logs/*.log\"]\nexclude-file = [\"*.bak\"]\nsyslog-app-name = \"007\"\n";
    let first = printed(
        with_config(dir.path(), text)
            .env("SHIPPER_RETRY_MAX", "3")
            .args(["--http-timeout", "2s"]),
    );
    std::fs::write(dir.path().join("printed.toml"), &first).unwrap();
    let again = printed(
        shipper()
            .current_dir(dir.path())
            .args(["--config", "printed.toml"]),
    );
    assert_eq!(values(&again), values(&first));
    assert!(
        again.contains("retry-max = 3  # from the config file"),
        "{again}"
    );
    assert_eq!(
        line(&again, "syslog-app-name"),
        "syslog-app-name = \"007\"  # from the config file"
    );
    let (code, stderr) = outcome(shipper().current_dir(dir.path()).args([
        "--config",
        "printed.toml",
        "--check-config",
    ]));
    assert_eq!(
        (code, stderr.as_str()),
        (Some(0), "shipper: the settings are valid\n")
    );
}

#[test]
fn print_config_hides_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let text = "sink = [\"http=https://us3r:PW0RD@collector:8443/in?api_key=K3YVALUE\"]\n\
                http-header = [\"X-Api-Key: H3ADERVALUE\"]\n";
    let shown = printed(
        with_config(dir.path(), text)
            .env("SHIPPER_NATS_TOKEN", "T0KENVALUE")
            .args(["--nats-stream", "logs"]),
    );
    assert_eq!(
        line(&shown, "sink"),
        "sink = [\"http=https://(hidden)@collector:8443/in?(hidden)\"]  # from the config file"
    );
    assert_eq!(
        line(&shown, "http-header"),
        "http-header = [\"X-Api-Key: (hidden)\"]  # from the config file"
    );
    assert_eq!(
        line(&shown, "nats-token"),
        "nats-token = \"(hidden)\"  # from SHIPPER_NATS_TOKEN"
    );
    assert_eq!(
        line(&shown, "nats-stream"),
        "nats-stream = \"logs\"  # from the command line"
    );
    for secret in ["us3r", "PW0RD", "K3YVALUE", "H3ADERVALUE", "T0KENVALUE"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}
