//! Usage: help, bad flags, environment variables.

use predicates::prelude::PredicateBooleanExt;

use crate::common::{parse_events, run, shipper};

#[test]
fn help_shows_worked_examples() {
    shipper()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("Examples:"))
        .stdout(predicates::str::contains("--drop-on-full"))
        .stdout(predicates::str::contains("[env: SHIPPER_SINK="));
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    for (args, message) in [
        (&["--sink", "kafka"][..], "unknown sink 'kafka'"),
        (
            &["--batch-size", "0"][..],
            "--batch-size must be greater than 0",
        ),
        (&["--max-line-bytes", "12 parsecs"][..], "unknown size unit"),
        (&["--batch-timeout", "soon"][..], "try `250ms`"),
        (&["--raw", "--strict-envelope"][..], "cannot be used with"),
        (
            &["--raw", "--field", "env=prod"][..],
            "'--raw' cannot be used with '--field <KEY=VALUE>'",
        ),
        (
            &["--drop-on-full", "--protect-level", "loud"][..],
            "invalid value 'loud' for '--protect-level <LEVEL>': unknown level",
        ),
    ] {
        shipper()
            .args(args)
            .write_stdin("never read\n")
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

#[test]
fn every_flag_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let output = shipper()
        .env("SHIPPER_SINK", "stdout")
        .env("SHIPPER_FIELD", "env=ci")
        .env("SHIPPER_SUMMARY", "none")
        .env("SHIPPER_SUMMARY_FILE", &summary)
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(parse_events(&output.stdout)[0]["data"]["env"], "ci");
    assert_eq!(crate::common::read_summary(&summary)["processed"], 1);
}

/// The committed completions and man page, and what makes each.
const GENERATED: [(&str, &str); 6] = [
    ("man", "man/shipper.1"),
    ("bash", "completions/shipper.bash"),
    ("zsh", "completions/_shipper"),
    ("fish", "completions/shipper.fish"),
    ("elvish", "completions/shipper.elv"),
    ("powershell", "completions/_shipper.ps1"),
];

#[test]
fn committed_completions_and_man_page_are_up_to_date() {
    for (what, path) in GENERATED {
        let output = shipper().args(["--generate", what]).output().unwrap();
        assert!(output.status.success());
        let committed =
            std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        assert!(
            output.stdout == committed,
            "{path} is stale: run `cargo run -- --generate {what} > {path}`"
        );
    }
}

/// Writes a config file in a fresh directory and returns both.
fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipper.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Batches formed for 100 lines: tells which batch size won.
fn batches_with(config: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> u64 {
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--batch-timeout",
        "1h",
    ];
    all.extend(args);
    let run = crate::common::run_with_env(&all, env, crate::common::numbered_lines(100));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.summary["batches"].as_u64().unwrap()
}

#[test]
fn a_config_file_stands_below_the_environment_and_the_flags() {
    let (_dir, path) =
        config_file("batch-size = 10\nsink = [\"stdout\"]\nfield = [\"env=prod\"]\n");
    assert_eq!(batches_with(&path, &[], &[]), 10, "the file's batch size");
    assert_eq!(
        batches_with(&path, &[("SHIPPER_BATCH_SIZE", "20")], &[]),
        5,
        "env over file"
    );
    let flag = batches_with(
        &path,
        &[("SHIPPER_BATCH_SIZE", "20")],
        &["--batch-size", "50"],
    );
    assert_eq!(flag, 2, "flag over env");
    let run = crate::common::run(&["--config", path.to_str().unwrap()], "x\n");
    assert_eq!(
        parse_events(&run.stdout)[0]["data"]["env"],
        "prod",
        "arrays repeat a flag"
    );
}

#[test]
fn a_bad_key_or_value_names_the_file_line_and_column() {
    let (_dir, path) = config_file("sink = [\"stdout\"]\nbach-size = 10\n");
    let shown = path.display().to_string();
    shipper()
        .args(["--config", &shown, "--check-config"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{shown}:2:13: unknown key 'bach-size'"
        )));
    let (_dir, path) = config_file("batch-size = \"lots\"\n");
    let shown = path.display().to_string();
    shipper()
        .args(["--config", &shown])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{shown}:1:14: invalid value 'lots'"
        )));
    let (_dir, path) = config_file("batch-size = = 3\n");
    shipper()
        .args(["--config", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("line 1, column"));
}

#[test]
fn a_config_file_never_shows_a_secret_and_takes_values_that_start_with_a_dash() {
    let (_dir, path) = config_file("batch-size = 10\nnats-password = s3cretpw\n");
    let shown = path.display().to_string();
    let unquoted = shipper()
        .args(["--config", &shown, "--check-config"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&unquoted.get_output().stderr).into_owned();
    assert!(!stderr.contains("s3cretpw"), "{stderr}");
    assert!(
        stderr.contains(&format!("{shown}: TOML parse error at line 2, column 17")),
        "{stderr}"
    );

    let (_dir, path) = config_file("http-header = \"s3cretpw\"\n");
    let refused = shipper()
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(!stderr.contains("s3cretpw"), "{stderr}");
    assert!(
        stderr.contains("invalid value for '--http-header"),
        "{stderr}"
    );

    let (_dir, path) = config_file("nats-user = \"me\"\nnats-password = \"-s3cret-pw\"\n");
    shipper()
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .assert()
        .code(0)
        .stderr(predicates::str::contains("the settings are valid"))
        .stderr(predicates::str::contains("s3cret").not());
}

#[test]
fn check_config_validates_without_running() {
    let (dir, path) = config_file("batch-size = 64\nsink = [\"file=x.jsonl\"]\n");
    shipper()
        .current_dir(dir.path())
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .write_stdin("never read\n")
        .assert()
        .code(0)
        .stderr(predicates::str::contains("the settings are valid"));
    let (_dir, path) = config_file("batch-size = 0\n");
    shipper()
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--batch-size must be greater than 0",
        ));
}

fn help_text(flag: &str) -> String {
    let output = shipper().arg(flag).output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn short_help_is_the_main_flags_and_long_help_everything() {
    let short = help_text("-h");
    assert!(short.lines().count() < 80, "{short}");
    for shown in [
        "--sink",
        "--follow",
        "--checkpoint",
        "--summary-file",
        "-q, --quiet",
        "--help",
    ] {
        assert!(short.contains(shown), "{shown} in {short}");
    }
    for left in [
        "--syslog-timeout",
        "--retry-max",
        "--http-gzip",
        "Exit status:",
    ] {
        assert!(!short.contains(left), "{left} in {short}");
    }
    let long = help_text("--help");
    for shown in [
        "--syslog-timeout",
        "--retry-max",
        "--log-format",
        "Exit status:",
        "143",
        "SIGHUP",
        "--reset-checkpoint /var/log/app/old.log",
    ] {
        assert!(long.contains(shown), "{shown} in --help");
    }
}

fn generated(what: &str) -> String {
    let output = shipper().args(["--generate", what]).output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_man_page_tells_the_environment_and_the_exit_statuses() {
    let page = generated("man");
    let section = |name: &str| {
        let start = page
            .find(&format!(".SH {name}\n"))
            .unwrap_or_else(|| panic!("no {name} in {page}"));
        let rest = &page[start + 4..];
        rest[..rest.find(".SH ").unwrap_or(rest.len())].to_owned()
    };
    let synopsis = section("SYNOPSIS");
    assert!(
        synopsis.contains("\\fB\\-\\-follow\\fR \\fIPATTERN\\fR"),
        "{synopsis}"
    );
    let environment = section("ENVIRONMENT");
    for variable in [
        "SHIPPER_SINK",
        "SHIPPER_HTTP_TOKEN",
        "SHIPPER_QUIET",
        "SHIPPER_CONFIG",
    ] {
        assert!(
            environment.contains(&format!("\\fB{variable}\\fR")),
            "{variable}"
        );
    }
    let exit = section("\"EXIT STATUS\"");
    for code in ["0", "1", "2", "3", "130", "143"] {
        assert!(
            exit.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "{code} in {exit}"
        );
    }
    // An example is one unfilled line, not reflowed at a comma or a dash.
    assert!(page.contains(
        ".nf\nSHIPPER_HTTP_TOKEN=secret app | shipper \\-\\-sink http=https://collector:8080/ingest\n"
    ));
}

#[test]
fn completions_offer_the_values_of_sinks_levels_and_facilities() {
    let bash = generated("bash");
    for (flag, values) in [
        (
            "--sink",
            "stdout file file= http= nats= syslog= elasticsearch= opensearch= otlp= loki= splunk=",
        ),
        ("--protect-level", "debug info warning error critical"),
        ("--log-format", "auto text json"),
    ] {
        let offered = format!("{flag})\n                    COMPREPLY=($(compgen -W \"{values}\"");
        assert!(bash.contains(&offered), "{flag} in bash");
    }
    assert!(bash.contains("local0 local1"), "facilities in bash");
    let fish = generated("fish");
    assert!(
        fish.contains("-l sink") && fish.contains("nats="),
        "sinks in fish"
    );
    assert!(fish.contains("-l syslog-facility") && fish.contains("local7"));
    let zsh = generated("zsh");
    assert!(
        zsh.contains("--protect-level=[") && zsh.contains("(debug info warning error critical)")
    );
}

/// Two events, one with a level shipper does not know, so that it warns.
const WARNED: &str = "{\"level\":\"loud\",\"message\":\"a\"}\nplain\n";

#[test]
fn quiet_leaves_warnings_and_the_summary_file_only() {
    let quiet = run(&["-q"], WARNED);
    assert_eq!(quiet.code, Some(0), "{}", quiet.stderr);
    assert_eq!(quiet.summary["processed"], 2);
    let lines: Vec<&str> = quiet.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", quiet.stderr);
    let warning: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(warning["level"], "WARN");
    assert_eq!(parse_events(&quiet.stdout).len(), 2);

    // A JSON summary asked for is still printed.
    let json = run(&["--quiet", "--summary", "json"], "a\n");
    let printed: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(printed["processed"], 1);

    // Without it, the text summary is there.
    let loud = run(&[], "a\n");
    assert!(loud.stderr.contains("processed"), "{}", loud.stderr);
}

#[test]
fn warnings_are_text_or_json_as_asked() {
    let text = run(&["--log-format", "text", "--summary", "none"], WARNED);
    assert_eq!(text.code, Some(0));
    assert!(
        text.stderr.starts_with("shipper: warning: ") && text.stderr.contains("'loud'"),
        "{}",
        text.stderr
    );
    assert!(!text.stderr.contains('{'), "{}", text.stderr);
    // Not a terminal: JSON lines by default.
    let default = run(&["--summary", "none"], WARNED);
    let warning: serde_json::Value = serde_json::from_str(default.stderr.trim()).unwrap();
    assert_eq!(warning["component"], "envelope");
    let json = run(&["--log-format", "json", "--summary", "none"], WARNED);
    assert_eq!(json.stderr, default.stderr);
}
