//! Helpers shared by every test: running shipper, reading its summary and
//! checking the invariant.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use tempfile::TempDir;

/// How long a test waits for what it expects (shipper following, a line
/// arriving, a save): long enough for a slow machine, short enough to fail
/// fast, a read that hangs on a FIFO included.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("shipper")
}

/// A program a test needs besides shipper, found on PATH or in /usr/sbin
/// and /sbin (where Debian installs servers, and a plain user's PATH may
/// not look). A test without it fails with one line naming the Debian
/// package to install.
pub fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            let package = match name {
                "syslog-ng" => "syslog-ng-core",
                "script" => "bsdutils",
                "node" => "nodejs",
                "java" | "javac" => "default-jdk-headless",
                other => other,
            };
            panic!(
                "{name} is not installed: this test runs a real one; install the Debian \
                 package {package} (`.ci/run` installs it when it is missing)"
            )
        })
}

pub fn shipper() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(bin());
    for key in shipper_variables() {
        command.env_remove(key);
    }
    command.timeout(Duration::from_secs(120));
    command
}

/// shipper as a plain process, in `dir`, with `args` and its summary
/// written to `dir/summary.json`; stdout is discarded, the rest is the
/// caller's to set.
pub fn command_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(bin());
    for key in shipper_variables() {
        command.env_remove(key);
    }
    command
        .current_dir(dir)
        .args(args)
        .arg("--summary-file")
        .arg(dir.join("summary.json"))
        .stdout(Stdio::null());
    command
}

/// `path` opened for appending, created if missing, as a program that logs
/// opens its file.
pub fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// `SHIPPER_*` variables of the test's own environment: removed so that
/// only what a test sets reaches shipper. The rest stays (a coverage run
/// tells the binary where to write its profile through the environment).
pub fn shipper_variables() -> Vec<String> {
    std::env::vars()
        .map(|(key, _)| key)
        .filter(|key| key.starts_with("SHIPPER_"))
        .collect()
}

/// What one finished run left behind.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub summary: Value,
    /// Holds the files the run wrote.
    pub dir: TempDir,
}

impl Run {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Lines of a file the run wrote, each parsed as JSON.
    pub fn events(&self, name: &str) -> Vec<Value> {
        read_events(&self.path(name))
    }
}

/// Runs shipper on `input` in a fresh directory (where relative sink paths
/// land), with `--summary-file`, and checks the summary's invariant.
pub fn run(args: &[&str], input: impl Into<Vec<u8>>) -> Run {
    run_with_env(args, &[], input)
}

/// `run`, with environment variables set for shipper.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)], input: impl Into<Vec<u8>>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let output = shipper()
        .current_dir(dir.path())
        .envs(env.iter().copied())
        .args(args)
        .arg("--summary-file")
        .arg(&summary_path)
        .write_stdin(input)
        .output()
        .unwrap();
    let summary = read_summary(&summary_path);
    assert_eq!(
        summary["exit_code"].as_i64().map(|c| c as i32),
        output.status.code()
    );
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        summary,
        dir,
    }
}

pub fn read_summary(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("no summary at {}: {err}", path.display()));
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert_invariant(&summary);
    summary
}

/// `submitted == processed + dropped + filtered`, `dropped` and
/// `filtered` are each the sum of their reasons, the high-water mark is
/// within the capacity, no more dead letters than sink failures, and every line read is an event, blank, or joined
/// into an event before it.
pub fn assert_invariant(summary: &Value) {
    let n = |key: &str| {
        summary[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {summary}"))
    };
    assert_eq!(
        n("submitted"),
        n("processed") + n("dropped") + n("filtered"),
        "{summary}"
    );
    let sum = |key: &str| -> u64 {
        summary[key]
            .as_object()
            .unwrap_or_else(|| panic!("{key} in {summary}"))
            .values()
            .map(|count| count.as_u64().unwrap())
            .sum()
    };
    assert_eq!(n("dropped"), sum("dropped_by_reason"), "{summary}");
    assert_eq!(n("filtered"), sum("filtered_by_reason"), "{summary}");
    assert_eq!(n("redacted"), sum("redacted_by_rule"), "{summary}");
    assert!(
        n("queue_high_watermark") <= n("queue_capacity"),
        "{summary}"
    );
    // A letter is kept for a sink that failed the event: never more
    // letters than failures.
    let failed: u64 = summary["sinks"]
        .as_array()
        .unwrap_or_else(|| panic!("sinks in {summary}"))
        .iter()
        .map(|sink| sink["failed"].as_u64().unwrap())
        .sum();
    assert!(n("dead_lettered") <= failed, "{summary}");
    assert_eq!(
        n("lines_read"),
        n("submitted") + n("blank") + n("joined"),
        "{summary}"
    );
}

pub fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    parse_events(&text)
}

pub fn parse_events(bytes: &[u8]) -> Vec<Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line)
                .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(line)))
        })
        .collect()
}

/// The events in the whole lines of a file shipper may still be writing:
/// a line not yet ended is left for a later look.
pub fn events_so_far(path: &Path) -> Vec<Value> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let whole = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |end| &bytes[..=end]);
    parse_events(whole)
}

/// `count` lines `line 0`, `line 1`, ... each ending in a newline.
pub fn numbered_lines(count: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(count * 12);
    for i in 0..count {
        writeln!(text, "line {i}").unwrap();
    }
    text
}

/// A shipper process whose standard input a test feeds from a thread.
pub struct Running {
    pub child: Child,
    pub dir: TempDir,
    pub summary_path: PathBuf,
    /// Everything shipper has written to stderr so far.
    stderr: Arc<Mutex<String>>,
    stderr_reader: JoinHandle<()>,
    /// Kills shipper if the test ends (a failed assertion) before it does.
    pub reaper: Reaper,
}

/// Kills a process when dropped, unless disarmed: a test that fails must
/// not leave a shipper that follows files running forever.
pub struct Reaper {
    pid: u32,
    pub armed: bool,
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.armed {
            let pid = nix::unistd::Pid::from_raw(self.pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Running {
    /// Starts shipper with piped stdin, stderr captured, in a fresh directory.
    pub fn start(args: &[&str]) -> (Running, ChildStdin) {
        let dir = tempfile::tempdir().unwrap();
        Running::start_in(dir, args)
    }

    pub fn start_in(dir: TempDir, args: &[&str]) -> (Running, ChildStdin) {
        let summary_path = dir.path().join("summary.json");
        let mut child = command_in(dir.path(), args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let pid = child.id();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = {
            let stderr = Arc::clone(&stderr);
            let pipe = BufReader::new(child.stderr.take().unwrap());
            std::thread::spawn(move || {
                for line in pipe.lines().map_while(Result::ok) {
                    let mut stderr = stderr.lock().unwrap();
                    stderr.push_str(&line);
                    stderr.push('\n');
                }
            })
        };
        (
            Running {
                child,
                dir,
                summary_path,
                stderr,
                stderr_reader,
                reaper: Reaper { pid, armed: true },
            },
            stdin,
        )
    }

    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Kills shipper with SIGKILL, waits for it, and returns what it said:
    /// a killed run writes no summary.
    pub fn kill(mut self) -> String {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        wait_for(&mut self.child, Duration::from_secs(60));
        self.reaper.armed = false;
        self.stderr_reader.join().unwrap();
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for exit (at most a minute) and returns the status code,
    /// stderr and the checked summary.
    pub fn finish(mut self) -> (Option<i32>, String, Value, TempDir) {
        let status = wait_for(&mut self.child, Duration::from_secs(60));
        self.reaper.armed = false;
        let stderr = {
            self.stderr_reader.join().unwrap();
            self.stderr.lock().unwrap().clone()
        };
        let summary = read_summary(&self.summary_path);
        assert_eq!(summary["exit_code"].as_i64().map(|c| c as i32), status);
        (status, stderr, summary, self.dir)
    }
}

/// Waits for a child, killing it (and failing) if it outlives `limit`.
pub fn wait_for(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("shipper did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `input` to a child's stdin from a thread; a closed pipe ends it.
pub fn feed(mut stdin: ChildStdin, input: Vec<u8>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    })
}

/// Like `feed`, and counts the bytes shipper has taken so far.
pub fn feed_counting(mut stdin: ChildStdin, input: Vec<u8>) -> Arc<AtomicUsize> {
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    std::thread::spawn(move || {
        for piece in input.chunks(8192) {
            if stdin.write_all(piece).is_err() {
                return;
            }
            counter.fetch_add(piece.len(), Ordering::SeqCst);
        }
    });
    taken
}

/// Polls `condition` until it holds, failing after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Makes a FIFO and opens its read end without blocking; the caller holds it
/// (so shipper's writes succeed until the pipe buffer fills) and never reads
/// from it.
pub fn stuck_fifo(dir: &Path) -> (std::path::PathBuf, File) {
    let path = fifo(dir, "sink.fifo");
    let held = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    (path, held)
}

/// A fresh directory with a stuck FIFO in it: the directory, the FIFO's
/// path, its held read end, and the `--sink file=...` argument for it.
pub fn stuck_fifo_sink() -> (TempDir, PathBuf, File, String) {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
    (dir, fifo, held, sink)
}

/// Reads the FIFO to its end (shipper closing it) on a fresh handle,
/// opened without waiting for a writer, since shipper may already have
/// written its last and closed it (what it wrote waits in the pipe). Its
/// end is a hang-up after a writer came, never the lack of a writer yet:
/// on a busy machine shipper may open the FIFO after the read began.
pub fn drain_fifo(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        let mut bytes = Vec::new();
        let mut buffer = vec![0; 64 << 10];
        loop {
            // Linux reports a hang-up on a FIFO only once a writer that
            // came has gone; before any writer, it waits.
            let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => continue,
                result => result.unwrap(),
            };
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            match reader.read(&mut buffer) {
                Ok(0) if revents.contains(PollFlags::POLLHUP) => return bytes,
                Ok(read) => bytes.extend_from_slice(&buffer[..read]),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(err) => panic!("reading the FIFO: {err}"),
            }
        }
    })
}

/// A tmpfs of `size` mounted for the test and unmounted after. Only root
/// may mount one: the tests that do are ignored, and run with `--ignored`
/// as root.
pub struct Tmpfs(pub TempDir);

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "shipper-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|status| status.success());
        assert!(mounted, "mounting a tmpfs needs root");
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// A shipper started with the standard input and limits a test chooses,
/// its stderr in a file beside its summary.
pub struct Started {
    pub child: std::process::Child,
    pub summary: PathBuf,
    pub stderr: PathBuf,
    /// Set once the process was waited for; until then dropping kills it.
    pub reaped: bool,
}

impl Started {
    pub fn new(dir: &Path, args: &[&str], stdin: Stdio, files: Option<(u64, u64)>) -> Started {
        let summary = dir.join("summary.json");
        let stderr = dir.join("stderr.log");
        let mut command = command_in(dir, args);
        command.stdin(stdin).stderr(File::create(&stderr).unwrap());
        if let Some((soft, hard)) = files {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs
            // between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(
                        nix::sys::resource::Resource::RLIMIT_NOFILE,
                        soft,
                        hard,
                    )
                    .map_err(std::io::Error::from)
                });
            }
        }
        Started {
            child: command.spawn().unwrap(),
            summary,
            stderr,
            reaped: false,
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn signal(&self, signal: Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits (within `PATIENCE`) for the exit: the status, stderr and the
    /// checked summary.
    pub fn finish(mut self) -> (Option<i32>, String, Value) {
        let code = wait_for(&mut self.child, PATIENCE);
        self.reaped = true;
        let summary = read_summary(&self.summary);
        assert_eq!(summary["exit_code"].as_i64().map(|c| c as i32), code);
        (code, self.stderr(), summary)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A FIFO made in `dir`.
pub fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    path
}
