//! Names from outside (paths, sinks) reach a terminal with their control
//! characters escaped.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    Running, command_in, read_events, read_summary, run_with_env, wait_for, wait_until,
};

/// Control characters a terminal acts on: ESC, BEL and CSI (U+009B).
fn assert_no_terminal_controls(stderr: &str, what: &str) {
    for control in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !stderr.contains(control),
            "{control:?} raw in {what}: {stderr:?}"
        );
    }
}

#[test]
fn names_from_outside_reach_the_terminal_escaped() {
    // Followed files whose names would retitle the window, clear the
    // screen, or start a control sequence.
    let logs = tempfile::tempdir().unwrap();
    let names = ["x\u{1b}]0;TITLE\u{7}\u{1b}[2J.log", "y\u{9b}2J.log"];
    for name in names {
        std::fs::write(logs.path().join(name), "a line\n").unwrap();
    }
    let pattern = format!("{}/*.log", logs.path().display());
    let (running, stdin) = Running::start(&["-F", &pattern, "--sink", "file=out.log", "-v"]);
    let out = running.path("out.log");
    wait_until(Duration::from_secs(30), "both files shipped", || {
        out.exists() && read_events(&out).len() == 2
    });
    running.signal(Signal::SIGTERM);
    drop(stdin);
    let (code, stderr, _summary, _dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains(r"\u001b]0;TITLE\u0007"), "{stderr}");
    assert!(stderr.contains(r"y\u009b2J.log"), "{stderr}");
    assert_no_terminal_controls(&stderr, "following");

    // A file read once that is not there, and a sink that cannot open.
    let missing = format!("missing{}.log", names[0]);
    let no_dir = format!("file=no\u{9b}dir{}/out.log", names[0]);
    for args in [vec![missing.as_str()], vec!["--sink", &no_dir]] {
        let run = run_with_env(&args, &[], "a line\n");
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("could not open"), "{}", run.stderr);
        assert!(run.stderr.contains(r"\x1b]0;TITLE\x07"), "{}", run.stderr);
        assert_no_terminal_controls(&run.stderr, &format!("{args:?}"));
    }

    // A sink's name on the status line, drawn while shipper runs.
    let sink = format!("file=o{}.log", names[1]);
    let stderr = stderr_while_running(&["--sink", &sink, "--progress", "always"], "written");
    assert!(stderr.contains(r"file:oy\u{9b}2J.log"), "{stderr:?}");
    assert!(!stderr.contains('\u{9b}'), "{stderr:?}");
}

/// Runs shipper on one line, keeping its input open until its stderr
/// shows `seen` (the status line, which ends in no newline); then lets it
/// finish and returns its stderr.
fn stderr_while_running(args: &[&str], seen: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let summary_path = dir.path().join("summary.json");
    let mut child = command_in(dir.path(), args)
        .stdin(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a line\n").unwrap();
    let stderr = || String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap()).into_owned();
    wait_until(Duration::from_secs(30), seen, || stderr().contains(seen));
    drop(stdin);
    let code = wait_for(&mut child, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{}", stderr());
    read_summary(&summary_path);
    stderr()
}
