//! The stdout sink when standard output is closed, or non-blocking and
//! full.

use std::fs::File;
use std::process::Command;

use serde_json::Value;

use crate::common::{bin, numbered_lines, read_summary};

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
    let summary = read_summary(&summary);
    assert_eq!(summary["submitted"], 200_000, "every line is accounted for");
    assert!(summary["dropped_by_reason"]["sink_error"].as_u64().unwrap() > 0);
    let reports = stderr.matches("\"component\":\"sink\"").count();
    assert_eq!(reports, 1, "the broken pipe is reported once: {stderr}");
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
