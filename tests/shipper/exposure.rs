//! What shipper lets in from outside and shows: a collector's answer is
//! read only in part, a URL's user, password and query are never printed,
//! settings that would silently override each other or fail every request
//! are refused at start, and names from outside (paths, sinks) reach a
//! terminal with their control characters escaped.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::collector::{Collector, QUICK_RETRIES, Reply, closed_port_url, read_request};
use crate::common::{
    Run, Running, command_in, feed, numbered_lines, read_events, read_summary, run_with_env,
    shipper, wait_for, wait_until,
};

/// The secrets the tests put in URLs, none of which may ever be printed.
const SECRETS: [&str; 3] = ["us3r", "PW0RD", "K3YVALUE"];

/// The start of every endless answer: a terminal escape, to be shown
/// escaped.
const ANSWER_START: &str = "overloaded \u{1b}[2J try later ";

/// A server that answers every request with `status` and a body that
/// never ends: chunked, or under a Content-Length it never reaches. Each
/// connection is written to until shipper lets it go, a minute at most.
fn endless_server(status: u16, chunked: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || answer_endlessly(stream, status, chunked));
        }
    });
    addr
}

fn answer_endlessly(stream: TcpStream, status: u16, chunked: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    if read_request(&mut reader).is_none() {
        return;
    }
    let length = if chunked {
        "Transfer-Encoding: chunked"
    } else {
        "Content-Length: 1000000000000"
    };
    let filler = vec![b'x'; 64 << 10];
    let mut pieces = vec![ANSWER_START.as_bytes().to_vec()];
    pieces.push(filler);
    let head = format!("HTTP/1.1 {status} Endless\r\n{length}\r\n\r\n");
    if writer.write_all(head.as_bytes()).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut index = 0;
    while Instant::now() < deadline {
        let piece = &pieces[index.min(1)];
        index += 1;
        let written = if chunked {
            write!(writer, "{:x}\r\n", piece.len())
                .and_then(|()| writer.write_all(piece))
                .and_then(|()| writer.write_all(b"\r\n"))
        } else {
            writer.write_all(piece)
        };
        if written.is_err() {
            return;
        }
    }
}

/// One run of shipper to its end, with the most memory it ever held.
struct Measured {
    code: Option<i32>,
    stderr: String,
    summary: Value,
    /// Peak resident set size, in KiB (the kernel's own count).
    peak_rss_kib: i64,
}

/// Runs shipper on `input` and waits for it, reading its peak RSS
/// (VmHWM, a high-water mark, not a sample) as it runs.
#[allow(clippy::zombie_processes, reason = "wait4 reaps it")]
fn run_measured(args: &[&str], input: Vec<u8>) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let stderr_path = dir.path().join("stderr");
    let mut child = command_in(dir.path(), args)
        .stdin(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    feed(child.stdin.take().unwrap(), input);
    let (code, peak_rss_kib) = wait_with_usage(child.id(), Duration::from_secs(60));
    let summary = read_summary(&summary_path);
    assert_eq!(summary["exit_code"].as_i64().map(|c| c as i32), code);
    Measured {
        code,
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
        summary,
        peak_rss_kib,
    }
}

/// Reaps the child `pid` (killing it past `limit`): its exit code and its
/// peak RSS in KiB.
fn wait_with_usage(pid: u32, limit: Duration) -> (Option<i32>, i64) {
    use nix::libc;
    let pid = pid as libc::pid_t;
    let deadline = Instant::now() + limit;
    let mut status = 0;
    let mut peak = 0;
    loop {
        peak = peak.max(high_water_kib(pid));
        // SAFETY: the pointer points at a live local of the right type.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, std::ptr::null_mut()) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            panic!("shipper did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, peak)
}

/// The process's peak resident memory so far (VmHWM), 0 once it is gone.
/// Read while it runs: the `ru_maxrss` that `wait4` hands back also counts
/// the memory of the test process it was forked from, before its exec.
fn high_water_kib(pid: i32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The diagnostics of sinks that failed a batch.
fn sink_failures(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "sink" && d["error_kind"].is_string())
        .collect()
}

#[test]
fn an_endless_answer_is_read_only_in_part() {
    let failing = format!("http=http://{}/in", endless_server(500, true));
    let mut args = vec![
        "--sink",
        &failing,
        "--retry-max",
        "2",
        "--http-timeout",
        "2s",
        "--batch-size",
        "20",
    ];
    args.extend(QUICK_RETRIES);
    let run = run_measured(&args, numbered_lines(20));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 20);
    assert_eq!(run.summary["retried"], 1);
    assert!(
        run.peak_rss_kib < 200 << 10,
        "peak RSS {} KiB against an endless 500",
        run.peak_rss_kib
    );
    let failure = &sink_failures(&run.stderr)[0];
    let error = failure["error"].as_str().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(error.contains(r"overloaded \x1b[2J try later"), "{error}");
    assert!(error.len() < 400, "only the start is quoted: {error}");
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);

    let accepting = format!("http=http://{}/in", endless_server(200, false));
    let args = ["--sink", &accepting, "--http-timeout", "2s"];
    let run = run_measured(&args, numbered_lines(20));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 20);
    assert!(
        run.peak_rss_kib < 200 << 10,
        "peak RSS {} KiB against an endless 200",
        run.peak_rss_kib
    );
}

/// Where a test gives shipper its `--sink`.
#[derive(Debug, Clone, Copy)]
enum Source {
    Flag,
    Environment,
    ConfigFile,
}

const SOURCES: [Source; 3] = [Source::Flag, Source::Environment, Source::ConfigFile];

/// The arguments and environment that give `sink` from `from`; the
/// config file, if any, lives in `dir`.
fn sink_from(from: Source, sink: &str, dir: &Path) -> (Vec<String>, Vec<(String, String)>) {
    match from {
        Source::Flag => (vec!["--sink".into(), sink.into()], Vec::new()),
        Source::Environment => (Vec::new(), vec![("SHIPPER_SINK".into(), sink.into())]),
        Source::ConfigFile => {
            let path = dir.join("shipper.toml");
            std::fs::write(&path, format!("sink = [{:?}]\n", sink)).unwrap();
            let config = path.to_str().unwrap().to_owned();
            (vec!["--config".into(), config], Vec::new())
        }
    }
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in {what}: {text}");
    }
}

/// Runs shipper with `sink` (from `from`) and `extra` arguments on a few
/// lines, and checks that neither stderr nor the summary shows a secret.
fn run_with_sink(from: Source, sink: &str, extra: &[&str]) -> Run {
    let config_dir = tempfile::tempdir().unwrap();
    let (mut args, env) = sink_from(from, sink, config_dir.path());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = run_with_env(&args, &env, numbered_lines(3));
    assert_no_secret(&run.stderr, &format!("stderr ({from:?})"));
    assert_no_secret(&run.summary.to_string(), &format!("the summary ({from:?})"));
    run
}

#[test]
fn url_secrets_never_show_in_usage_errors() {
    for sink in [
        "http=http://us3r:PW0RD@[bad/in?apikey=K3YVALUE",
        "http=ftp://us3r:PW0RD@host/in?apikey=K3YVALUE",
        "htp=http://us3r:PW0RD@127.0.0.1:9/in?apikey=K3YVALUE",
        "syslog=tcp://us3r:PW0RD@127.0.0.1:514?apikey=K3YVALUE",
        "syslog=udp://127.0.0.1?apikey=K3YVALUE",
        "nats=nats://127.0.0.1:4222?apikey=K3YVALUE",
        "nats=nats://127.0.0.1:4222/logs?apikey=K3YVALUE",
        "nats=nats://us3r:PW0RD@127.0.0.1:4222?apikey=K3YVALUE",
    ] {
        for from in SOURCES {
            let dir = tempfile::tempdir().unwrap();
            let (args, env) = sink_from(from, sink, dir.path());
            let output = shipper()
                .current_dir(dir.path())
                .args(&args)
                .args(["--summary-file", "summary.json"])
                .envs(env)
                .write_stdin("a line\n")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{sink} {from:?}: {stderr}");
            assert_no_secret(&stderr, &format!("stderr ({sink}, {from:?})"));
            assert!(
                !dir.path().join("summary.json").exists(),
                "a usage error leaves no summary"
            );
        }
    }
}

#[test]
fn url_secrets_never_show_when_a_sink_fails() {
    let with_secrets = |url: String| {
        format!(
            "http={}?apikey=K3YVALUE",
            url.replace("http://", "http://us3r:PW0RD@")
        )
    };
    let silent = Collector::start(Vec::new(), Reply::Silent);
    let refusing = Collector::start(Vec::new(), Reply::status(401));
    let cases = [
        ("Connect", with_secrets(closed_port_url())),
        ("Timeout", with_secrets(silent.url())),
        ("HttpStatus", with_secrets(refusing.url())),
    ];
    for (kind, sink) in &cases {
        for from in SOURCES {
            let mut extra = vec!["--retry-max", "2", "--http-timeout", "300ms", "-v"];
            extra.extend(QUICK_RETRIES);
            let run = run_with_sink(from, sink, &extra);
            assert_eq!(run.code, Some(3), "{kind} {from:?}: {}", run.stderr);
            let failure = &sink_failures(&run.stderr)[0];
            assert_eq!(failure["error_kind"], *kind, "{failure}");
            assert!(
                failure["sink"].as_str().unwrap().contains("127.0.0.1"),
                "the sink is still named: {failure}"
            );
        }
    }
}

/// Runs shipper with `args` and `env` to a usage error, which runs
/// nothing and so leaves no summary, and returns its stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = shipper()
        .current_dir(dir.path())
        .args(args)
        .envs(env.iter().copied())
        .args(["--check-config", "--summary-file", "summary.json"])
        .write_stdin("")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!dir.path().join("summary.json").exists(), "{args:?}");
    stderr
}

#[test]
fn an_authorization_from_two_places_is_refused_naming_both() {
    let with_user = "http=http://us3r:PW0RD@127.0.0.1:9/in";
    let token = [("SHIPPER_HTTP_TOKEN", "T0KENVALUE")];
    let header = "Authorization: Basic H3ADERVALUE";
    for (args, env, names) in [
        (
            vec!["--sink", with_user],
            &token[..],
            ["--http-token", "the user and password"],
        ),
        (
            vec!["--sink", with_user, "--http-token", "T0KENVALUE"],
            &[][..],
            ["--http-token", "the user and password"],
        ),
        (
            vec![
                "--sink",
                "http=http://127.0.0.1:9/in",
                "--http-header",
                header,
            ],
            &token[..],
            ["--http-token", "--http-header"],
        ),
        (
            vec!["--sink", with_user, "--http-header", header],
            &[][..],
            ["--http-header", "the user and password"],
        ),
    ] {
        let stderr = refused(&args, env);
        for name in names {
            assert!(stderr.contains(name), "{name} in {stderr}");
        }
        for secret in ["T0KENVALUE", "H3ADERVALUE", "PW0RD"] {
            assert!(!stderr.contains(secret), "{secret} in {stderr}");
        }
    }
}

#[test]
fn a_header_that_is_not_one_is_refused_without_quoting_it() {
    let bad = "Authorization Bearer H3ADERVALUE";
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("shipper.toml");
    std::fs::write(&file, format!("http-header = {bad:?}\n")).unwrap();
    for (args, env) in [
        (vec!["--http-header", bad], &[][..]),
        (Vec::new(), &[("SHIPPER_HTTP_HEADER", bad)][..]),
        (vec!["--config", file.to_str().unwrap()], &[][..]),
    ] {
        let stderr = refused(&args, env);
        assert!(stderr.contains("--http-header"), "{stderr}");
        assert!(!stderr.contains("H3ADERVALUE"), "{stderr}");
    }
}

#[test]
fn timeouts_that_would_fail_every_request_are_refused() {
    for flag in ["--http-timeout", "--nats-timeout", "--syslog-timeout"] {
        let stderr = refused(&[flag, "0s"], &[]);
        assert!(
            stderr.contains(&format!("{flag} must be longer than 0")),
            "{stderr}"
        );
    }
}

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

/// Runs `shipper --check-config` with `args` and `env` in a fresh
/// directory, and returns its exit status and stderr.
fn checked(args: &[String], env: &[(String, String)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = shipper()
        .current_dir(dir.path())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .arg("--check-config")
        .write_stdin("")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn a_comma_in_a_url_keeps_the_sink_whole() {
    let sinks = [
        "http=http://127.0.0.1:1/x?tags=a,b&token=SECRETTOK",
        "http=http://user:SECRET1,SECRET2@127.0.0.1:1/x",
        "nats=nats://127.0.0.1:4222,127.0.0.1:4223/logs",
    ];
    for sink in sinks {
        for from in SOURCES {
            let dir = tempfile::tempdir().unwrap();
            let (args, env) = sink_from(from, sink, dir.path());
            let (code, stderr) = checked(&args, &env);
            assert_eq!(code, Some(0), "{sink} {from:?}: {stderr}");
            assert!(stderr.contains("the settings are valid"), "{stderr}");
        }
    }
    // A list in SHIPPER_SINK splits where a sink kind starts, and only there.
    let list = "stdout,http=http://127.0.0.1:1/x?tags=a,b&token=SECRETTOK,file=a,b.log";
    let (code, stderr) = checked(&[], &[("SHIPPER_SINK".into(), list.into())]);
    assert_eq!(code, Some(0), "{stderr}");
    let run = run_with_env(&[], &[("SHIPPER_SINK", list)], numbered_lines(3));
    assert_eq!(read_events(&run.path("a,b.log")).len(), 3, "{}", run.stderr);
}

#[test]
fn a_sink_split_in_a_url_never_shows_a_piece_of_it() {
    let env = |value: &str| vec![("SHIPPER_SINK".to_owned(), value.to_owned())];
    let flag = |value: &str| vec!["--sink".to_owned(), value.to_owned()];
    for (args, env, secret) in [
        (
            Vec::new(),
            env("http=http://127.0.0.1:1/x?a=1,http=QSECRET"),
            "QSECRET",
        ),
        (
            Vec::new(),
            env("http=http://127.0.0.1:1/x?a=1,syslog=QSECRET"),
            "QSECRET",
        ),
        (flag("b&token=SECRETTOK"), Vec::new(), "SECRETTOK"),
        (flag("SECRET2@127.0.0.1:1/x"), Vec::new(), "SECRET2"),
    ] {
        let (code, stderr) = checked(&args, &env);
        assert_eq!(code, Some(2), "{args:?} {env:?}: {stderr}");
        assert!(!stderr.contains(secret), "{secret} in {stderr}");
        assert!(!stderr.contains("b&token"), "{stderr}");
    }
    let (code, stderr) = checked(&flag("bogus=x"), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unknown sink 'bogus'"), "{stderr}");
}

/// Answers that echo what shipper sent: the query with the Basic
/// credentials of the URL's user, or with the bearer token and a header's
/// value.
const ECHO_BASIC: &str = "unauthorized for /x?k=QSECRETVAL&n=2 auth=Basic dXNlcjpTRUNSRVRQVw==";
const ECHO_BEARER: &str = "unauthorized for /x?k=QSECRETVAL&n=2 bearer=T0KENVALUE key=H3ADERVALUE";

#[test]
fn an_answer_that_echoes_the_request_shows_no_secret() {
    let basic = Collector::start(Vec::new(), Reply::Status(401, Vec::new(), ECHO_BASIC));
    let bearer = Collector::start(Vec::new(), Reply::Status(401, Vec::new(), ECHO_BEARER));
    let with_user = format!(
        "http={}?k=QSECRETVAL&n=2",
        basic.url().replace("http://", "http://user:SECRETPW@")
    );
    let with_token = format!("http={}?k=QSECRETVAL&n=2", bearer.url());
    let header = "X-Api-Key: H3ADERVALUE";
    for (args, env) in [
        (vec!["--sink", with_user.as_str()], Vec::new()),
        (
            vec!["--sink", with_token.as_str(), "--http-header", header],
            vec![("SHIPPER_HTTP_TOKEN", "T0KENVALUE")],
        ),
    ] {
        let mut args = args;
        args.extend(["--retry-max", "1", "-v"]);
        let run = run_with_env(&args, &env, numbered_lines(3));
        assert_eq!(run.code, Some(3), "{}", run.stderr);
        assert!(run.stderr.contains("unauthorized for"), "{}", run.stderr);
        assert!(run.stderr.contains("(hidden)"), "{}", run.stderr);
        for secret in [
            "QSECRETVAL",
            "dXNlcjpTRUNSRVRQVw",
            "SECRETPW",
            "T0KENVALUE",
            "H3ADERVALUE",
        ] {
            assert!(!run.stderr.contains(secret), "{secret} in {}", run.stderr);
            assert!(
                !run.summary.to_string().contains(secret),
                "{secret} in the summary"
            );
        }
    }
}

#[test]
fn ca_and_creds_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("z");
    let fifo = dir.path().join("f");
    let big = dir.path().join("big.pem");
    let ok = dir.path().join("ok.pem");
    let link = dir.path().join("link.pem");
    let made = std::process::Command::new("mknod")
        .arg(&zero)
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(made.success(), "mknod (the tests run as root)");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::write(&big, vec![b'a'; (1 << 20) + 1]).unwrap();
    std::fs::write(&ok, "not a certificate, but small and regular\n").unwrap();
    std::os::unix::fs::symlink(&ok, &link).unwrap();
    for flag in [
        "--http-ca-file",
        "--nats-ca-file",
        "--syslog-ca-file",
        "--nats-creds",
    ] {
        for (path, why) in [
            (&zero, "character device"),
            (&fifo, "FIFO"),
            (&big, "larger than 1 MiB"),
            (&dir.path().join("missing"), "does not exist"),
        ] {
            let args = [flag.to_owned(), path.to_str().unwrap().to_owned()];
            let started = Instant::now();
            let (code, stderr) = checked(&args, &[]);
            assert!(started.elapsed() < Duration::from_secs(10), "{flag} {why}");
            assert_eq!(code, Some(2), "{flag} {why}: {stderr}");
            assert!(stderr.contains(flag), "{stderr}");
            assert!(
                stderr.to_lowercase().contains(&why.to_lowercase()),
                "{why}: {stderr}"
            );
        }
        let args = [flag.to_owned(), link.to_str().unwrap().to_owned()];
        let (code, stderr) = checked(&args, &[]);
        assert_eq!(code, Some(0), "{flag} a link to a regular file: {stderr}");
    }
}

#[test]
fn headers_the_run_would_refuse_are_refused_at_start() {
    for (args, env, flag) in [
        (
            vec!["--http-header", "X Api: v"],
            Vec::new(),
            "--http-header",
        ),
        (
            vec!["--http-header", "X-Api: a\u{7f}S3CRETVALUE"],
            Vec::new(),
            "--http-header",
        ),
        (
            vec!["--http-token", "a\u{7f}S3CRETVALUE"],
            Vec::new(),
            "--http-token",
        ),
        (
            Vec::new(),
            vec![("SHIPPER_HTTP_TOKEN", "a\u{7f}S3CRETVALUE")],
            "--http-token",
        ),
    ] {
        let stderr = refused(&args, &env);
        assert!(stderr.contains(flag), "{flag} in {stderr}");
        assert!(!stderr.contains("S3CRETVALUE"), "{stderr}");
    }
}
