//! The files shipper writes and reads for itself (the summary file, the
//! checkpoint and its lock, the config file) cannot be turned against the
//! machine: no device, FIFO or link target is replaced, truncated or read
//! without bound, no two outputs are one file, and a checkpoint that was
//! not saved is reported.

use std::ffi::OsStr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

/// A character device node of `major:minor` made in `dir` (1:3 behaves as
/// /dev/null, 1:7 as /dev/full), so the machine's own /dev is never at
/// stake. Only root may make one: the tests that do are ignored, and run
/// with `--ignored` as root.
fn device(dir: &Path, name: &str, major: u64, minor: u64) -> PathBuf {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let path = dir.join(name);
    mknod(
        &path,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(major, minor),
    )
    .expect("making a device node needs root");
    path
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_char_device())
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_fifo())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The summary a run printed last on stderr with `--summary json`,
/// checked for the invariant.
fn summary_on_stderr(stderr: &[u8]) -> Value {
    let stderr = String::from_utf8_lossy(stderr);
    let summary: Value = stderr
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("submitted").is_some())
        .unwrap_or_else(|| panic!("no summary on stderr: {stderr}"));
    assert_invariant(&summary);
    summary
}

/// shipper in `dir`, reading `input`, with a time limit: a read that
/// hangs fails the test instead of blocking it.
fn shipper_in(dir: &Path) -> assert_cmd::Command {
    let mut command = shipper();
    command.current_dir(dir).timeout(PATIENCE);
    command
}

/// shipper run in `dir` with `args`, refused with status 2 (`what` says
/// which case failed); returns what it said on stderr.
fn refused_in<A: AsRef<OsStr>>(
    dir: &Path,
    args: impl IntoIterator<Item = A>,
    what: &str,
) -> String {
    let output = shipper_in(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{what}{stderr}");
    stderr
}

/// shipper reading `app.log` once in `dir` with `--checkpoint state.json`
/// into `out.jsonl`, its summary at `summary`.
fn read_app_log(dir: &Path, summary: &Path) -> std::process::Output {
    shipper_in(dir)
        .args([
            "app.log",
            "--checkpoint",
            "state.json",
            "--sink",
            "file=out.jsonl",
        ])
        .arg("--summary-file")
        .arg(summary)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root: makes device nodes"]
fn a_device_as_summary_file_is_written_in_place_and_stays_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let null = device(dir.path(), "null", 1, 3);
    let full = device(dir.path(), "full", 1, 7);
    let output = shipper_in(dir.path())
        .args([
            "--sink",
            "file=out.jsonl",
            "--summary",
            "json",
            "--summary-file",
        ])
        .arg(&null)
        .write_stdin("one\ntwo\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(summary_on_stderr(&output.stderr)["processed"], 2);
    assert!(is_char_device(&null), "the device is still a device");

    let output = shipper_in(dir.path())
        .args([
            "--sink",
            "file=out.jsonl",
            "--summary",
            "json",
            "--summary-file",
        ])
        .arg(&full)
        .write_stdin("one\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not write the summary") && stderr.contains("No space left"),
        "{stderr}"
    );
    summary_on_stderr(&output.stderr);
    assert!(is_char_device(&full), "the device is still a device");
    let names = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(names, 3, "null, full and out.jsonl: nothing beside them");

    // A link of one's own to a device (as /dev/stdout is) is followed.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&null, &link).unwrap();
    let output = shipper_in(dir.path())
        .args([
            "--sink",
            "file=out.jsonl",
            "--summary",
            "json",
            "--summary-file",
        ])
        .arg(&link)
        .write_stdin("one\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    summary_on_stderr(&output.stderr);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(is_char_device(&null));
}

#[test]
fn a_fifo_as_summary_file_gets_the_summary_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, mut held) = stuck_fifo(dir.path());
    let output = shipper_in(dir.path())
        .args(["--sink", "file=out.jsonl", "--summary-file"])
        .arg(&fifo)
        .write_stdin("one\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(is_fifo(&fifo), "the FIFO is still a FIFO");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut held, &mut text).unwrap();
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert_invariant(&summary);
    assert_eq!(summary["processed"], 1);

    // Nobody reading: an error, not a hang.
    drop(held);
    let output = shipper_in(dir.path())
        .args([
            "--sink",
            "file=out.jsonl",
            "--summary",
            "json",
            "--summary-file",
        ])
        .arg(&fifo)
        .write_stdin("one\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("it is a FIFO that nobody reads"),
        "{stderr}"
    );
    summary_on_stderr(&output.stderr);
    assert!(is_fifo(&fifo));
}

/// The names shipper once used for its helper files, planted as links by
/// someone else: what they point to is never written.
#[test]
fn links_planted_at_the_old_temporary_names_are_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "one\ntwo\n").unwrap();
    // Inside the run's own directory, made before it starts.
    let victims = tempfile::tempdir().unwrap();
    for (name, victim) in [
        ("state.json.tmp", "checkpoint-victim"),
        ("summary.json.partial", "summary-victim"),
    ] {
        let victim = victims.path().join(victim);
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
    }
    let summary_path = dir.path().join("summary.json");
    std::fs::write(&summary_path, "").unwrap();
    std::fs::set_permissions(&summary_path, PermissionsExt::from_mode(0o644)).unwrap();
    let output = read_app_log(dir.path(), &summary_path);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read_summary(&summary_path)["processed"], 2);
    for victim in ["checkpoint-victim", "summary-victim"] {
        let text = std::fs::read_to_string(victims.path().join(victim)).unwrap();
        assert_eq!(text, "precious", "{victim}");
    }
    assert_eq!(mode(&dir.path().join("state.json")), 0o600, "checkpoint");
    assert_eq!(mode(&summary_path), 0o600, "summary file");
}

#[test]
fn a_link_planted_as_the_checkpoints_lock_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "one\n").unwrap();
    let victims = tempfile::tempdir().unwrap();
    let victim = victims.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("state.json.lock")).unwrap();
    let args = [
        "app.log",
        "--checkpoint",
        "state.json",
        "--sink",
        "file=out.jsonl",
    ];
    let stderr = refused_in(dir.path(), args, "");
    assert!(
        stderr.contains("the checkpoint's lock 'state.json.lock' is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!dir.path().join("out.jsonl").exists());
}

#[test]
fn a_link_as_summary_file_or_checkpoint_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "one\n").unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("link")).unwrap();
    for (flag, refused) in [
        ("--summary-file", "--summary-file 'link' is a symbolic link"),
        ("--checkpoint", "--checkpoint 'link' is a symbolic link"),
    ] {
        let args = ["app.log", "--sink", "file=out.jsonl", flag, "link"];
        let stderr = refused_in(dir.path(), args, &format!("{flag}: "));
        assert!(stderr.contains(refused), "{stderr}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dir.path().join("out.jsonl").exists());
    }
}

#[test]
fn a_fifo_as_checkpoint_is_refused_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path(), "fifo.json");
    assert_checkpoint_refused(dir.path(), &fifo, "a FIFO");
}

#[test]
#[ignore = "needs root: makes a device node"]
fn a_device_as_checkpoint_is_refused_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let null = device(dir.path(), "null.json", 1, 3);
    assert_checkpoint_refused(dir.path(), &null, "a character device");
}

/// `checkpoint`, which is `kind`, stops a run before anything is written,
/// and stays where and what it is.
fn assert_checkpoint_refused(dir: &Path, checkpoint: &Path, kind: &str) {
    std::fs::write(dir.join("app.log"), "one\n").unwrap();
    let args = ["app.log", "--sink", "file=out.jsonl", "--checkpoint"].map(OsStr::new);
    let args = args.into_iter().chain([checkpoint.as_os_str()]);
    let stderr = refused_in(dir, args, &format!("{kind}: "));
    assert!(
        stderr.contains(&format!("is {kind}; a checkpoint must be a regular file")),
        "{stderr}"
    );
    let still = std::fs::symlink_metadata(checkpoint).unwrap().file_type();
    assert!(
        still.is_fifo() || still.is_char_device(),
        "{kind} left in place"
    );
    let mut aside = checkpoint.as_os_str().to_owned();
    aside.push(".corrupt");
    assert!(!Path::new(&aside).exists());
    assert!(!dir.join("out.jsonl").exists());
}

#[test]
fn a_config_file_that_is_a_fifo_or_too_large_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path(), "fifo.toml");
    // TOML comments only: read whole, it would be a valid, empty config.
    let large = dir.path().join("large.toml");
    std::fs::write(&large, "#".repeat(5 << 20)).unwrap();
    assert_config_refused(dir.path(), &fifo, "it is a FIFO, not a regular file");
    assert_config_refused(dir.path(), &large, "it is larger than 4 MiB");
}

#[test]
#[ignore = "needs root: makes a device node"]
fn a_config_file_that_is_a_device_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let null = device(dir.path(), "null.toml", 1, 3);
    let why = "it is a character device, not a regular file";
    assert_config_refused(dir.path(), &null, why);
}

/// `config` stops a run for `why` before anything is read or written.
fn assert_config_refused(dir: &Path, config: &Path, why: &str) {
    let output = shipper_in(dir)
        .args(["--sink", "file=out.jsonl", "--config"])
        .arg(config)
        .write_stdin("one\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{why}: {stderr}");
    assert!(stderr.contains("could not read config file"), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(!dir.join("out.jsonl").exists());
}

#[test]
fn a_checkpoint_larger_than_any_checkpoint_is_refused_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "one\n").unwrap();
    let checkpoint = dir.path().join("state.json");
    let file = std::fs::File::create(&checkpoint).unwrap();
    file.set_len(65 << 20).unwrap();
    let summary_path = dir.path().join("summary.json");
    let output = read_app_log(dir.path(), &summary_path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("checkpoint 'state.json' is refused (it is larger than 64 MiB)"),
        "{stderr}"
    );
    assert_eq!(read_summary(&summary_path)["submitted"], 0);
    assert_eq!(std::fs::metadata(&checkpoint).unwrap().len(), 65 << 20);
    assert!(!dir.path().join("state.json.corrupt").exists());
}

#[test]
fn two_outputs_that_are_one_file_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path();
    std::fs::write(here.join("app.log"), "one\n").unwrap();
    std::os::unix::fs::symlink(".", here.join("link")).unwrap();
    std::fs::write(here.join("kept.jsonl"), "kept\n").unwrap();
    std::fs::hard_link(here.join("kept.jsonl"), here.join("hard.jsonl")).unwrap();
    let absolute = here.join("x").display().to_string();
    let cases: [&[&str]; 9] = [
        &["--sink", "file=x", "--summary-file", "x"],
        &["--sink", "file=x", "--checkpoint", "./x"],
        &["--sink", "file=x", "--sink", "file=./x"],
        &[
            "--sink",
            "file",
            "--file-path",
            "x",
            "--summary-file",
            &absolute,
        ],
        &["--sink", "file=link/x", "--summary-file", "x"],
        &["--sink", "file=kept.jsonl", "--summary-file", "hard.jsonl"],
        &["--summary-file", "x.lock", "--checkpoint", "x"],
        &["--checkpoint", "x", "--sink", "file=link/x.lock"],
        &[
            "--sink",
            "file=out.log",
            "--file-max-bytes",
            "1000",
            "--checkpoint",
            "out.log.2",
        ],
    ];
    for args in cases {
        let with_input = std::iter::once(&"app.log").chain(args.iter());
        let stderr = refused_in(here, with_input, &format!("{args:?}: "));
        assert!(stderr.contains("are the same file"), "{args:?}: {stderr}");
        assert!(!here.join("x").exists(), "{args:?}");
        assert!(!here.join("x.lock").exists(), "{args:?}");
        assert_eq!(
            std::fs::read_to_string(here.join("kept.jsonl")).unwrap(),
            "kept\n"
        );
    }
}

/// Follows `app.log` in `dir` with the checkpoint at `checkpoint`, once the
/// checkpoint is first saved (and so locked).
fn following(dir: tempfile::TempDir, checkpoint: &Path) -> Running {
    let checkpoint_arg = checkpoint.display().to_string();
    let (running, _stdin) = Running::start_in(
        dir,
        &[
            "--follow",
            "app.log",
            "--checkpoint",
            &checkpoint_arg,
            "--sink",
            "file=out.jsonl",
        ],
    );
    wait_until(PATIENCE, "the first checkpoint", || checkpoint.exists());
    running
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_run_refused_the_checkpoint_lock_opens_no_sink() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "one\n").unwrap();
    let checkpoint = dir.path().join("state.json");
    let running = following(dir, &checkpoint);
    let second = shipper_in(running.dir.path())
        .args(["app.log", "--checkpoint", "state.json"])
        .args([
            "--sink",
            "file=second.jsonl",
            "--summary-file",
            "second.json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in use by another shipper"), "{stderr}");
    assert_eq!(read_summary(&running.path("second.json"))["submitted"], 0);
    assert!(
        !running.path("second.jsonl").exists(),
        "the refused run opened its sink"
    );
    running.signal(Signal::SIGTERM);
    let (code, _, summary, _dir) = running.finish();
    assert_eq!(code, Some(143));
    assert_eq!(summary["checkpoint"]["saved"], true);
}

/// A tmpfs of 64 KiB holding the checkpoint, and a filler that takes
/// every byte left, so that no save can write.
fn full_disk() -> (Tmpfs, PathBuf, PathBuf) {
    let disk = Tmpfs::mount("64k");
    let checkpoint = disk.0.path().join("state.json");
    let filler = disk.0.path().join("filler");
    (disk, checkpoint, filler)
}

fn fill(filler: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(filler).unwrap();
    let block = [0u8; 4096];
    while file.write_all(&block).is_ok() {}
}

/// Follows `app.log` until a save of the checkpoint failed for want of
/// room, with two lines delivered that the checkpoint does not hold.
fn saves_failing(checkpoint: &Path, filler: &Path) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "").unwrap();
    let running = following(dir, checkpoint);
    fill(filler);
    append(&running.path("app.log"), "one\ntwo\n");
    wait_until(PATIENCE, "a save that failed", || {
        running
            .stderr_so_far()
            .contains("could not save checkpoint")
    });
    running
}

#[test]
#[ignore = "needs root: mounts a tmpfs"]
fn a_checkpoint_not_saved_at_the_end_fails_the_run_and_the_summary_says_so() {
    let (_disk, checkpoint, filler) = full_disk();
    let running = saves_failing(&checkpoint, &filler);
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(summary["processed"], 2);
    let saved = &summary["checkpoint"];
    assert_eq!(saved["saved"], false, "{saved}");
    assert!(
        saved["error"].as_str().unwrap().contains("No space left"),
        "{saved}"
    );
    assert!(saved["failed_saves"].as_u64().unwrap() >= 2, "{saved}");
    assert_eq!(saved["files"][0]["offset"], 0, "where a restart resumes");
    assert!(stderr.contains("checkpoint '"), "{stderr}");
    assert!(stderr.contains("NOT saved"), "{stderr}");
}

#[test]
#[ignore = "needs root: mounts a tmpfs"]
fn saves_that_failed_mid_run_are_counted_when_the_last_one_succeeds() {
    let (_disk, checkpoint, filler) = full_disk();
    let running = saves_failing(&checkpoint, &filler);
    std::fs::remove_file(&filler).unwrap();
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    let saved = &summary["checkpoint"];
    assert_eq!(saved["saved"], true, "{saved}");
    assert_eq!(saved["error"], Value::Null);
    assert!(saved["failed_saves"].as_u64().unwrap() >= 1, "{saved}");
    assert_eq!(saved["files"][0]["offset"], 8, "both lines");
    assert!(stderr.contains("saves failed during the run"), "{stderr}");
}

#[test]
fn a_corrupt_checkpoint_is_moved_to_a_free_name_never_over_anything() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("in.log"), "x\n").unwrap();
    std::fs::write(at("st.json.corrupt"), "earlier\n").unwrap();
    std::os::unix::fs::symlink("victim", at("st.json.corrupt.1")).unwrap();
    std::fs::write(at("victim"), "precious\n").unwrap();
    fifo(dir.path(), "st.json.corrupt.2");
    std::fs::write(at("st.json"), "garbage\n").unwrap();
    shipper_in(dir.path())
        .args([
            "in.log",
            "--sink",
            "file=out.jsonl",
            "--checkpoint",
            "st.json",
        ])
        .args(["--summary-file", "summary.json"])
        .assert()
        .code(0);
    assert_invariant(&read_summary(&at("summary.json")));
    assert_eq!(
        std::fs::read_to_string(at("st.json.corrupt")).unwrap(),
        "earlier\n"
    );
    assert_eq!(std::fs::read_to_string(at("victim")).unwrap(), "precious\n");
    assert!(
        std::fs::symlink_metadata(at("st.json.corrupt.1"))
            .unwrap()
            .is_symlink()
    );
    assert!(is_fifo(&at("st.json.corrupt.2")));
    assert_eq!(
        std::fs::read_to_string(at("st.json.corrupt.3")).unwrap(),
        "garbage\n"
    );
}

#[test]
fn a_sink_at_the_checkpoints_corrupt_name_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("in.log"), "x\n").unwrap();
    std::fs::write(at("st.json.corrupt"), "precious\n").unwrap();
    std::fs::write(at("st.json"), "garbage\n").unwrap();
    let output = shipper_in(dir.path())
        .args([
            "in.log",
            "--summary",
            "none",
            "--sink",
            "file=st.json.corrupt",
        ])
        .args(["--checkpoint", "st.json"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("are the same file"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(at("st.json.corrupt")).unwrap(),
        "precious\n"
    );
    assert_eq!(std::fs::read_to_string(at("st.json")).unwrap(), "garbage\n");
}

#[test]
fn a_hard_linked_lock_or_checkpoint_is_refused_and_left_as_it_is() {
    for (linked, role) in [
        (
            "st.json.lock",
            "the checkpoint's lock 'st.json.lock' has 2 hard links",
        ),
        ("st.json", "--checkpoint 'st.json' has 2 hard links"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        std::fs::write(at("in.log"), "x\n").unwrap();
        std::fs::write(at("p"), "precious\n").unwrap();
        std::fs::hard_link(at("p"), at(linked)).unwrap();
        let output = shipper_in(dir.path())
            .args(["in.log", "--summary", "none", "--sink", "file=o"])
            .args(["--checkpoint", "st.json"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(role), "{stderr}");
        assert_eq!(std::fs::read_to_string(at("p")).unwrap(), "precious\n");
        assert!(!at("o").exists(), "no sink opened");
    }
}

#[test]
#[ignore = "needs root: mounts a tmpfs"]
fn a_checkpoint_that_cannot_be_written_at_the_start_is_reported_in_the_summary() {
    // Without a lock file, writing its pid fails; with one, the first save.
    for lock_first in [false, true] {
        let (_disk, checkpoint, filler) = full_disk();
        if lock_first {
            std::fs::write(checkpoint.with_extension("json.lock"), "1\n").unwrap();
        }
        fill(&filler);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.log"), "x\n").unwrap();
        let output = shipper_in(dir.path())
            .args(["in.log", "--sink", "file=o", "--summary-file", "s.json"])
            .arg("--checkpoint")
            .arg(&checkpoint)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let summary = read_summary(&dir.path().join("s.json"));
        let saved = &summary["checkpoint"];
        assert_eq!(saved["saved"], false, "{summary}");
        assert_eq!(saved["path"], checkpoint.to_str().unwrap(), "{saved}");
        let error = saved["error"].as_str().unwrap_or_default();
        assert!(error.contains("No space left"), "{saved}");
    }
}

#[test]
#[ignore = "needs root: makes a device node"]
fn help_version_and_generated_files_to_a_full_device_exit_1_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let full = device(dir.path(), "full", 1, 7);
    let asks: [&[&str]; 4] = [
        &["--generate", "bash"],
        &["--generate", "man"],
        &["--help"],
        &["--version"],
    ];
    for args in asks {
        let stdout = std::fs::OpenOptions::new().write(true).open(&full).unwrap();
        let output = std::process::Command::new(bin())
            .args(args)
            .stdout(stdout)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("could not write the output: No space left"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(is_char_device(&full));
}
