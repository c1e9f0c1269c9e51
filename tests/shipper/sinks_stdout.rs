//! The stdout sink when standard output is closed, or non-blocking and
//! full. A reader of standard output that goes away (`| head -1`) ends
//! the run when stdout is the only sink: shipper stops reading, counts
//! what it read and could not write, and says one line at most.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{
    PATIENCE, bin, command_in, numbered_lines, read_events, read_summary, wait_for,
};

#[test]
fn a_closed_stdout_is_a_counted_sink_failure() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let script = format!(
        "seq 1 200000 | '{}' --sink stdout --summary-file '{}' | head -1; echo ${{PIPESTATUS[1]}}",
        bin().display(),
        summary.display()
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = stdout.lines();
    let first: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(first["message"], "1");
    assert_eq!(lines.next(), Some("3"), "shipper exits 3: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Every line read is accounted for (the invariant); reading stopped
    // once nothing could be written, so not every line may have been read.
    let summary = read_summary(&summary);
    assert!(summary["submitted"].as_u64().unwrap() <= 200_000);
    assert!(summary["dropped_by_reason"]["sink_error"].as_u64().unwrap() > 0);
    let reports = stderr.matches("\"component\":\"sink\"").count();
    assert_eq!(reports, 0, "stdout alone: no error report: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line at most: {stderr}");
}

/// Reads shipper's first event from its standard output, then closes it.
fn read_one_then_close(child: &mut Child) -> Value {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    serde_json::from_str(&first).unwrap()
}

fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// Checks a run ended by its closed standard output: exit 3, quietly,
/// everything read and not written counted `sink_error`.
fn assert_ended_quietly(code: Option<i32>, stderr: &str, summary: &Value) {
    assert_eq!(code, Some(3), "events read were dropped: {stderr}");
    assert_eq!(summary["exit_code"], 3);
    assert!(stderr.lines().count() <= 1, "one line at most: {stderr}");
    assert!(!stderr.contains("ERROR"), "{stderr}");
    assert!(stderr.contains("standard output was closed"), "{stderr}");
    assert!(summary["processed"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(summary["stopped_by"], Value::Null);
    assert_eq!(
        summary["dropped"], summary["dropped_by_reason"]["sink_error"],
        "{summary}"
    );
}

#[test]
fn a_closed_stdout_ends_a_run_whose_input_never_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command_in(dir.path(), &["--sink", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `yes`: writes until shipper is gone.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let block = "y\n".repeat(4096);
        while stdin.write_all(block.as_bytes()).is_ok() {}
    });

    let first = read_one_then_close(&mut child);
    let code = wait_for(&mut child, PATIENCE);
    feeder.join().unwrap();

    assert_eq!(first["message"], "y");
    let stderr = stderr_of(&mut child);
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_ended_quietly(code, &stderr, &summary);
}

#[test]
fn a_closed_stdout_stops_the_reading_of_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines = 300_000;
    std::fs::write(dir.path().join("big.log"), numbered_lines(lines)).unwrap();
    let args = ["big.log", "--sink", "stdout", "--queue-capacity", "100"];
    let mut child = command_in(dir.path(), &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let first = read_one_then_close(&mut child);
    let code = wait_for(&mut child, PATIENCE);

    assert_eq!(first["message"], "line 0");
    let stderr = stderr_of(&mut child);
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_ended_quietly(code, &stderr, &summary);
    let read = summary["lines_read"].as_u64().unwrap();
    assert!(read < lines as u64, "reading stopped early: {summary}");
}

#[test]
fn a_closed_stdout_beside_a_file_sink_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lines = 20_000;
    std::fs::write(dir.path().join("app.log"), numbered_lines(lines)).unwrap();
    let args = ["app.log", "--sink", "stdout", "--sink", "file=out.log"];
    let mut child = command_in(dir.path(), &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    read_one_then_close(&mut child);
    let code = wait_for(&mut child, PATIENCE);

    let stderr = stderr_of(&mut child);
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["lines_read"], lines, "the file sink still writes");
    assert_eq!(read_events(&dir.path().join("out.log")).len(), lines);
    assert!(stderr.contains("sink stdout failed"), "{stderr}");
}

#[test]
fn a_non_blocking_stdout_is_waited_for_not_failed() {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_NONBLOCK).unwrap();
    fcntl(&read_end, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = Command::new(bin())
        .args(["--sink", "stdout", "--summary-file"])
        .arg(&summary)
        .stdin(std::process::Stdio::piped())
        .stdout(File::from(write_end))
        .spawn()
        .unwrap();
    let count = 20_000;
    let feeder = crate::common::feed(child.stdin.take().unwrap(), numbered_lines(count));
    // Let the pipe fill while nobody reads: shipper's writes find it full.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reader = std::thread::spawn(move || {
        let mut written = Vec::new();
        std::io::Read::read_to_end(&mut File::from(read_end), &mut written).unwrap();
        written
    });
    let code = crate::common::wait_for(&mut child, std::time::Duration::from_secs(60));
    feeder.join().unwrap();
    let written = reader.join().unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(crate::common::parse_events(&written).len(), count);
    assert_eq!(read_summary(&summary)["processed"], count);
}

/// Standard output closed before shipper starts (`>&-`) is a closed
/// stdout, not the /dev/null the runtime puts in its place: nothing is
/// counted delivered. A shell's own `>/dev/null` still delivers.
#[test]
fn a_stdout_closed_before_the_start_delivers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (redirect, delivered) in [(">&-", false), (">/dev/null", true)] {
        let summary_file = dir.path().join("run.json");
        let script = format!(
            "printf 'one\\ntwo\\n' | exec \"$0\" --summary none --summary-file \"$1\" {redirect}"
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .arg(bin())
            .arg(&summary_file)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let summary = read_summary(&summary_file);
        let (code, processed, failed) = if delivered { (0, 2, 0) } else { (3, 0, 2) };
        assert_eq!(status.code(), Some(code), "{redirect}: {summary}");
        assert_eq!(summary["processed"], processed, "{redirect}: {summary}");
        assert_eq!(
            summary["dropped_by_reason"]["sink_error"], failed,
            "{redirect}"
        );
        assert_eq!(summary["submitted"], 2, "{redirect}: {summary}");
    }
}
