//! Secrets never shown: a URL's user, password and query, tokens and
//! credentials stay out of usage errors, sink failures, URLs cut at a
//! comma and answers that echo the request.

use std::path::Path;

use crate::collector::{Collector, QUICK_RETRIES, Reply, closed_port_url};
use crate::common::{Run, numbered_lines, run, run_with_env, shipper};
use crate::sinks_http::sink_failures;

#[test]
fn credentials_in_the_url_are_never_printed() {
    let collector = Collector::start(Vec::new(), Reply::status(400));
    let secret_url = collector.url().replace("http://", "http://user:p4ssw0rd@") + "?api_key=K3Y";
    let sink = format!("http={secret_url}");
    let run = run(&["--sink", &sink, "-v"], numbered_lines(3));
    assert_eq!(run.code, Some(3));
    let summary = run.summary.to_string();
    for secret in ["p4ssw0rd", "K3Y", "user:"] {
        assert!(!run.stderr.contains(secret), "{secret} in {}", run.stderr);
        assert!(!summary.contains(secret), "{secret} in {summary}");
    }
    let request = &collector.requests()[0];
    assert_eq!(
        request.path, "/ingest?api_key=K3Y",
        "the request itself keeps them"
    );
    assert!(
        request
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
}

/// The secrets the tests put in URLs, none of which may ever be printed.
const SECRETS: [&str; 3] = ["us3r", "PW0RD", "K3YVALUE"];

/// Where a test gives shipper its `--sink`.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Flag,
    Environment,
    ConfigFile,
}

pub const SOURCES: [Source; 3] = [Source::Flag, Source::Environment, Source::ConfigFile];

/// The arguments and environment that give `sink` from `from`; the
/// config file, if any, lives in `dir`.
pub fn sink_from(from: Source, sink: &str, dir: &Path) -> (Vec<String>, Vec<(String, String)>) {
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
pub fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
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

/// Runs `shipper --check-config` with `args` and `env` in a fresh
/// directory, and returns its exit status and stderr.
pub fn checked(args: &[String], env: &[(String, String)]) -> (Option<i32>, String) {
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
