//! Usage: help, bad flags, environment variables.

use crate::common::{parse_events, shipper};

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
    let output = shipper()
        .env("SHIPPER_SINK", "stdout")
        .env("SHIPPER_FIELD", "env=ci")
        .env("SHIPPER_SUMMARY", "none")
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(parse_events(&output.stdout)[0]["data"]["env"], "ci");
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
