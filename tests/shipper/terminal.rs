//! Names from outside (paths, sinks) reach a terminal with their control
//! characters escaped; the status line stays off the events, within the
//! terminal's width, and leaves nothing behind.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    PATIENCE, Running, bin, command_in, numbered_lines, read_events, read_summary, run_with_env,
    shipper_variables, wait_for, wait_until,
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
    assert!(stderr.contains(r"file=oy\u{9b}2J.log"), "{stderr:?}");
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

/// What clears the status line before each frame.
const CLEAR_LINE: &str = "\r\u{1b}[2K";

/// How a run on a terminal ends.
enum Ending {
    /// The input ends, and shipper with it.
    OnItsOwn,
    /// Ctrl-C typed on the terminal (which echoes `^C` and sends shipper
    /// SIGINT) once it shows this.
    CtrlCOnceShown(&'static str),
    /// The window made this narrow once the terminal shows `.0`, and
    /// Ctrl-C a few frames later.
    NarrowedThenCtrlC(&'static str, u16),
}

/// Runs shipper in `dir` on a pseudo-terminal of `columns` (stdin, stdout
/// and stderr, as in an interactive shell; util-linux's `script` makes
/// it), its summary in `dir/summary.json`. Returns its exit status and
/// everything the terminal was sent.
fn on_a_terminal(dir: &Path, columns: u16, args: &[&str], ending: Ending) -> (Option<i32>, String) {
    let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
    let shell = format!(
        "stty rows 24 cols {columns}; tty > tty; exec '{}' {} --summary-file summary.json",
        bin().display(),
        quoted.join(" ")
    );
    let shown_path = dir.join("terminal");
    let mut script = Command::new(crate::common::program("script"));
    for key in shipper_variables() {
        script.env_remove(key);
    }
    let mut child = script
        .args(["-qfec", &shell, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&shown_path).unwrap())
        .spawn()
        .expect("util-linux's script, to give shipper a terminal");
    let shown = || String::from_utf8_lossy(&std::fs::read(&shown_path).unwrap()).into_owned();
    // What is typed: nothing, or Ctrl-C.
    let mut keys = child.stdin.take().unwrap();
    match ending {
        Ending::OnItsOwn => {}
        Ending::CtrlCOnceShown(seen) => {
            wait_until(PATIENCE, seen, || shown().contains(seen));
            keys.write_all(b"\x03").unwrap();
        }
        Ending::NarrowedThenCtrlC(seen, columns) => {
            wait_until(PATIENCE, seen, || shown().contains(seen));
            let tty = std::fs::read_to_string(dir.join("tty")).unwrap();
            let narrowed = Command::new("stty")
                .args(["-F", tty.trim(), "cols", &columns.to_string()])
                .status()
                .unwrap();
            assert!(narrowed.success());
            let clearings = || shown().matches(CLEAR_LINE).count();
            let then = clearings();
            wait_until(PATIENCE, "three frames more", || clearings() >= then + 3);
            keys.write_all(b"\x03").unwrap();
        }
    }
    let code = wait_for(&mut child, Duration::from_secs(60));
    drop(keys);
    (code, shown())
}

/// What the terminal showed, piece by piece: split at each carriage
/// return, newline and line clearing, control sequences left out.
fn pieces(shown: &str) -> Vec<String> {
    shown
        .split(['\r', '\n'])
        .flat_map(|piece| piece.split("\u{1b}[2K"))
        .map(|piece| console::strip_ansi_codes(piece).into_owned())
        .collect()
}

/// The status line's frames, in order: the first is drawn on a clean
/// line, each later one after the line is cleared.
fn frames(shown: &str) -> Vec<String> {
    shown
        .split(CLEAR_LINE)
        .map(|frame| console::strip_ansi_codes(frame).trim().to_owned())
        .filter(|frame| !frame.is_empty())
        .collect()
}

#[test]
fn the_status_line_is_not_drawn_on_the_terminal_the_events_go_to() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.log"), numbered_lines(50_000)).unwrap();
    let (code, shown) = on_a_terminal(dir.path(), 80, &["in.log"], Ending::OnItsOwn);
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains('\u{1b}'), "a control sequence: {shown}");
    let frame = shown.replace("\r\n", "\n");
    assert!(!frame.contains('\r'), "a carriage return: {frame}");
    let events = shown.lines().filter(|line| line.starts_with('{')).count();
    assert_eq!(events, 50_000);
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_eq!(summary["processed"], 50_000);

    // Asked for, it is drawn there all the same, and cleared at the end.
    let (code, shown) = on_a_terminal(
        dir.path(),
        80,
        &["in.log", "--progress", "always"],
        Ending::OnItsOwn,
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("\r\u{1b}[2K"), "{shown}");
    assert!(
        frames(&shown).iter().any(|frame| frame.contains("queue")),
        "{shown}"
    );
    read_summary(&dir.path().join("summary.json"));
}

#[test]
fn every_frame_fits_a_narrow_terminal_and_ctrl_c_clears_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.log"), numbered_lines(200_000)).unwrap();
    let args = [
        "-F",
        "in.log",
        "--sink",
        "file=out.jsonl",
        "--summary",
        "none",
    ];
    let (code, shown) = on_a_terminal(dir.path(), 40, &args, Ending::CtrlCOnceShown("lines/s"));
    assert_eq!(code, Some(130), "{shown}");
    // The echoed `^C` lands on the status line's row, within the window.
    assert!(shown.contains("^C"), "{shown:?}");
    for piece in pieces(&shown) {
        let width = console::measure_text_width(&piece);
        assert!(width <= 40, "{width} columns: {piece:?} in {shown:?}");
    }
    assert!(frames(&shown).len() >= 2, "{shown:?}");
    // Nothing is left on the line after the last clearing.
    let last = shown.rsplit("\u{1b}[2K").next().unwrap();
    assert!(last.trim().is_empty(), "left on the terminal: {last:?}");
    let summary = read_summary(&dir.path().join("summary.json"));
    let written = read_events(&dir.path().join("out.jsonl")).len();
    assert_eq!(summary["processed"], written as u64);
}

#[test]
fn the_first_frame_shows_no_rate_and_the_first_rate_is_a_real_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.log"), numbered_lines(200_000)).unwrap();
    let args = [
        "-F",
        "in.log",
        "--sink",
        "file=out.jsonl",
        "--summary",
        "none",
    ];
    let (code, shown) = on_a_terminal(dir.path(), 200, &args, Ending::CtrlCOnceShown("lines/s"));
    assert_eq!(code, Some(130), "{shown}");
    let frames = frames(&shown);
    assert!(frames[0].contains("queue"), "{frames:?}");
    assert!(!frames[0].contains("lines/s"), "{frames:?}");
    // Measured over half a second at least: no more than twice the lines
    // there are.
    let rated = frames
        .iter()
        .find(|frame| frame.contains("lines/s"))
        .unwrap();
    let rate: String = rated
        .split(" lines/s")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .replace(',', "");
    assert!(rate.parse::<u64>().unwrap() <= 400_000, "{rated}");
    read_summary(&dir.path().join("summary.json"));
}

#[test]
fn a_window_made_narrower_is_kept_to_from_the_next_frame() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.log"), numbered_lines(1_000)).unwrap();
    let args = [
        "-F",
        "in.log",
        "--sink",
        "file=out.jsonl",
        "--summary",
        "none",
    ];
    let ending = Ending::NarrowedThenCtrlC("lines/s", 30);
    let (code, shown) = on_a_terminal(dir.path(), 80, &args, ending);
    assert_eq!(code, Some(130), "{shown}");
    let before = pieces(&shown);
    assert!(
        before.iter().any(|piece| piece.contains("| queue")),
        "{shown:?}"
    );
    for piece in &before {
        assert!(console::measure_text_width(piece) <= 80, "{piece:?}");
    }
    // The last frames, `^C` included, keep to the narrower window.
    let frames: Vec<&str> = shown.split(CLEAR_LINE).collect();
    for frame in &frames[frames.len() - 3..frames.len() - 1] {
        let width = console::measure_text_width(&console::strip_ansi_codes(frame));
        assert!(width <= 30, "{width} columns: {frame:?} in {shown:?}");
    }
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_eq!(summary["processed"], 1_000);
}

#[test]
fn quiet_on_a_terminal_draws_nothing_and_warns_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = br#"{"level":"loud","message":"a"}"#.to_vec();
    input.push(b'\n');
    input.extend(numbered_lines(50_000));
    std::fs::write(dir.path().join("in.log"), &input).unwrap();
    let args = [
        "in.log",
        "--sink",
        "file=out.jsonl",
        "-q",
        "--progress",
        "always",
    ];
    let (code, shown) = on_a_terminal(dir.path(), 80, &args, Ending::OnItsOwn);
    assert_eq!(code, Some(0), "{shown}");
    // One warning, in words; no status line, no summary.
    let shown = shown.replace("\r\n", "\n");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 1, "{shown:?}");
    assert!(
        lines[0].starts_with("shipper: warning: ") && lines[0].contains("'loud'"),
        "{shown:?}"
    );
    assert!(
        !shown.contains('\r') && !shown.contains('\u{1b}'),
        "{shown:?}"
    );
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_eq!(summary["processed"], 50_001);

    // Asked for, the warning is a JSON line on the terminal too.
    let args = [
        "in.log",
        "--sink",
        "file=out.jsonl",
        "-q",
        "--log-format",
        "json",
    ];
    let (code, shown) = on_a_terminal(dir.path(), 80, &args, Ending::OnItsOwn);
    assert_eq!(code, Some(0), "{shown}");
    let warning: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(warning["level"], "WARN");
    read_summary(&dir.path().join("summary.json"));
}
