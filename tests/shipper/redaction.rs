//! Redaction, on by default: secrets in every shape a line may hold them
//! reach no sink, no stderr, no summary and no `/metrics`, and the text
//! around them stays.

use std::io::Write;
use std::time::Duration;

use crate::common::{Running, parse_events, run, wait_until};
use crate::live::{sample, scrape};

/// Each secret, and a line (or lines) holding it, in its shapes.
const SECRETS: &[&str] = &[
    "hunter2pass",
    "s3cr3tTokValue",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "glpat-abcdefghij0123456789",
    "xoxb-123456789012-abcdefghij",
    "sk_live_0123456789abcdefABCD",
    "AIzaSyA0123456789abcdefghijklmnopqrstuv",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "pa55w0rdInUrl",
    "bEaReRt0k3n.abc",
    "sessionCookieVal",
    "apiKeyValue99",
];

/// Lines holding every secret above, in JSON members (nested, in
/// arrays, in a headers object, inside a message holding JSON) and in free
/// text, each with words around it that must stay.
fn corpus() -> String {
    [
        r#"{"message":"login before-1 password=hunter2pass after-1","user":"alice"}"#,
        r#"{"message":"call","data":{"auth":{"token":"s3cr3tTokValue"}},"context":{"aws":{"aws_secret_access_key":"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}}}"#,
        r#"{"message":"keys","list":["before-2 AKIAIOSFODNN7EXAMPLE after-2",{"api_key":"apiKeyValue99"}]}"#,
        r#"{"message":"request","http":{"headers":{"Authorization":"Bearer bEaReRt0k3n.abc","Cookie":"sid=sessionCookieVal; theme=dark"}}}"#,
        r#"{"message":"body {\"password\":\"hunter2pass\",\"keep\":\"before-3\"}"}"#,
        "plain before-4 ghp_0123456789abcdefghijABCDEFGHIJ012345 after-4",
        "deploy glpat-abcdefghij0123456789 and xoxb-123456789012-abcdefghij before-5",
        "charge with sk_live_0123456789abcdefABCD, maps AIzaSyA0123456789abcdefghijklmnopqrstuv after-6",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU before-7",
        r#"{"message":"key","pem":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"}"#,
        "db postgres://app:pa55w0rdInUrl@db.internal:5432/orders after-8",
        "GET /x Authorization: Bearer bEaReRt0k3n.abc after-9",
        "user login user=alice password=hunter2pass token=s3cr3tTokValue",
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} reached {what}: {text}");
    }
}

#[test]
fn no_secret_reaches_a_sink_stderr_or_the_summary_and_the_text_around_stays() {
    let run = run(&["--sink", "file=out.log", "--sink", "stdout"], corpus());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let written = std::fs::read_to_string(run.path("out.log")).unwrap();
    assert_no_secret("the file sink", &written);
    assert_no_secret("stdout", &String::from_utf8_lossy(&run.stdout));
    assert_no_secret("stderr", &run.stderr);
    assert_no_secret("the summary", &run.summary.to_string());
    for around in [
        "before-1",
        "after-1",
        "before-2",
        "after-2",
        "before-3",
        "before-4",
        "after-4",
        "before-5",
        "after-6",
        "before-7",
        "after-8",
        "after-9",
        "alice",
        "db.internal:5432/orders",
        "-----END PRIVATE KEY-----",
    ] {
        assert!(written.contains(around), "{around} was lost: {written}");
    }
    let events = parse_events(written.as_bytes());
    assert_eq!(events.len(), 13, "every line is still an event of JSON");
    assert_eq!(
        events[1]["data"]["auth"]["token"], "[REDACTED]",
        "a nested member keeps its place: {}",
        events[1]
    );
    assert_eq!(
        events[3]["data"]["http"]["headers"]["Authorization"],
        "Bearer [REDACTED]"
    );
    assert!(
        run.summary["redacted"].as_u64().unwrap() >= 17,
        "{}",
        run.summary
    );
    assert!(
        run.summary["redacted_by_rule"]["secret_key"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(run.stderr.contains("values redacted"), "{}", run.stderr);
}

#[test]
fn raw_lines_are_redacted_too() {
    let run = run(&["--sink", "stdout", "--raw"], corpus());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_no_secret("--raw output", &out);
    assert!(out.contains("user login user=alice password=[REDACTED] token=[REDACTED]\n"));
}

#[test]
fn a_line_quoted_on_stderr_is_redacted() {
    let input = concat!(
        "{\"level\":\"password=hunter2pass\",\"message\":\"x\"}\n",
        "{\"timestamp\":\"token=s3cr3tTokValue\",\"message\":\"x\"}\n",
    );
    let run = run(&["--sink", "stdout", "--strict-envelope"], input);
    assert_eq!(run.code, Some(3));
    assert!(run.stderr.contains("[REDACTED]"), "{}", run.stderr);
    assert_no_secret("stderr", &run.stderr);
}

#[test]
fn prose_order_numbers_and_uuids_are_kept() {
    let input = concat!(
        "the token expired, ask for a new token\n",
        "order 4111111111111112 shipped\n",
        "request 123e4567-e89b-12d3-a456-426614174000 done\n",
    );
    let run = run(&["--sink", "stdout", "--redact", "credentials,pii"], input);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(!out.contains("[REDACTED]"), "{out}");
    assert_eq!(run.summary["redacted"], 0);
    for kept in [
        "a new token",
        "4111111111111112",
        "123e4567-e89b-12d3-a456-426614174000",
    ] {
        assert!(out.contains(kept), "{kept}: {out}");
    }
}

#[test]
fn pii_is_hidden_when_asked() {
    let input =
        "mail bob@example.com card 4111-1111-1111-1111 iban GB82 WEST 1234 5698 7654 32 end\n";
    let run = run(&["--sink", "stdout", "--redact", "pii"], input);
    let events = parse_events(&run.stdout);
    assert_eq!(
        events[0]["message"],
        "mail [REDACTED] card [REDACTED] iban [REDACTED] end"
    );
    let rules = &run.summary["redacted_by_rule"];
    assert_eq!(
        (
            rules["email"].as_u64(),
            rules["card_number"].as_u64(),
            rules["iban"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let default = crate::common::run(&["--sink", "stdout"], input);
    assert!(
        String::from_utf8_lossy(&default.stdout).contains("bob@example.com"),
        "pii is not in the default"
    );
}

#[test]
fn none_turns_redaction_off() {
    let run = run(
        &["--sink", "stdout", "--redact", "none"],
        "password=hunter2pass\n",
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("hunter2pass"));
    assert_eq!(run.summary["redacted"], 0);
    assert_eq!(run.summary["redacted_by_rule"], serde_json::json!({}));
}

#[test]
fn keys_patterns_and_hashes_of_ones_own() {
    let input = "ssn=123-45-6789 id=u-1 ref=order-0042 ssn=123-45-6789\n";
    let run = run(
        &[
            "--sink",
            "stdout",
            "--raw",
            "--redact-key",
            "ssn",
            "--redact-pattern",
            r"order-(\d+)",
            "--redact-hash",
            "k3y",
        ],
        input,
    );
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        !out.contains("123-45-6789") && !out.contains("0042"),
        "{out}"
    );
    let words: Vec<&str> = out.trim_end().split(' ').collect();
    assert!(words[0].starts_with("ssn=[HMAC:"), "{out}");
    assert_eq!(words[0], words[3], "equal values hash alike");
    assert_eq!(words[1], "id=u-1");
    assert!(words[2].starts_with("ref=order-[HMAC:"), "{out}");
    assert_eq!(run.summary["redacted_by_rule"]["key"], 2);
    assert_eq!(run.summary["redacted_by_rule"]["pattern_1"], 1);
    assert!(!run.summary.to_string().contains("k3y"));
}

#[test]
fn a_cut_line_never_leaks_half_a_secret() {
    let line = format!("sent {}\n", &SECRETS[4][..20]);
    let full = format!("sent {} tail\n", SECRETS[4]);
    let run = run(&["--sink", "stdout", "--max-line-bytes", "25"], full);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(!out.contains("ghp_0123"), "{out}");
    assert!(out.contains("sent [REDACTED]"), "{out} ({line})");
    assert_eq!(run.summary["redacted_by_rule"]["cut_word"], 1);
}

#[test]
fn bad_redaction_flags_are_usage_errors() {
    for args in [
        &["--redact-pattern", "(unclosed"][..],
        &["--redact", "none,pii"],
        &["--redact", "everything"],
        &["--redact-key", ""],
    ] {
        let output = crate::common::shipper()
            .args(args)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn metrics_count_redactions_and_show_no_value() {
    let port = crate::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let (running, mut stdin) = Running::start(&[
        "--sink",
        "file=out.log",
        "--metrics-addr",
        &addr,
        "--batch-timeout",
        "10ms",
    ]);
    stdin.write_all(corpus().as_bytes()).unwrap();
    let jwt = r#"shipper_redacted_total{rule="jwt"}"#;
    wait_until(
        Duration::from_secs(30),
        "the jwt counted on /metrics",
        || scrape(port).and_then(|body| sample(&body, jwt)) == Some(1),
    );
    assert_no_secret("/metrics", &scrape(port).unwrap());
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(summary["redacted_by_rule"]["jwt"], 1);
    assert_eq!(code, Some(0));
    assert_no_secret("stderr", &stderr);
}

/// Secrets whose keys an attacker would spell otherwise, and the text that
/// must stay around them.
const SPELLED: &[&str] = &[
    "escPw0rdVal",
    "escApiK3yVal",
    "harPw0rdVal",
    "harBearerT0k",
    "harApiK3yVal",
    "spacedPw0rd",
    "spacedJs0nPw",
    "upperApiK3y",
    "dottedS3cret",
    "formPw0rdVal",
    "xmlPw0rdVal",
    "flagPw0rdVal",
    "rubyPw0rdVal",
];

/// Lines holding each of `SPELLED`, with words around them that stay.
fn spelled_corpus() -> String {
    [
        r#"{"message":"escaped keys keep-1","pass\u0077ord":"escPw0rdVal","data":{"api\u005fkey":"escApiK3yVal"}}"#,
        r#"{"message":"k8s env keep-2","env":[{"name":"DB_PASSWORD","value":"harPw0rdVal"},{"name":"HOME","value":"/keep-3"}]}"#,
        r#"{"message":"har keep-4","headers":[{"key":"Authorization","value":"Bearer harBearerT0k"},{"name":"X-Api-Key","value":"harApiK3yVal"}]}"#,
        "config password = spacedPw0rd keep-5",
        r#"{"message":"spaced keep-6","password" : "spacedJs0nPw"}"#,
        "curl -H 'X-API-KEY: upperApiK3y' keep-7",
        "loaded client.secret=dottedS3cret keep-8",
        "POST /login user%5Bpassword%5D=formPw0rdVal&keep-9=1",
        "soap <auth><password>xmlPw0rdVal</password></auth> keep-10",
        "exec mysql --password flagPw0rdVal --host keep-11",
        r#"params {"user"=>"keep-12", "password"=>"rubyPw0rdVal"}"#,
        "kept: the token expired; max_tokens=5; sshd[811]: keep-13",
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect()
}

fn assert_none_of(secrets: &[&str], what: &str, text: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} reached {what}: {text}");
    }
}

fn assert_kept_around(text: &str) {
    for n in 1..=13 {
        let around = format!("keep-{n}");
        assert!(text.contains(&around), "{around} was lost: {text}");
    }
    assert!(text.contains("max_tokens=5"), "{text}");
}

#[test]
fn keys_spelled_otherwise_and_named_by_a_neighbour_are_hidden() {
    let run = run(
        &["--sink", "file=out.log", "--sink", "stdout"],
        spelled_corpus(),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let written = std::fs::read_to_string(run.path("out.log")).unwrap();
    assert_none_of(SPELLED, "the file sink", &written);
    assert_none_of(SPELLED, "stdout", &String::from_utf8_lossy(&run.stdout));
    assert_none_of(SPELLED, "stderr", &run.stderr);
    assert_none_of(SPELLED, "the summary", &run.summary.to_string());
    assert_kept_around(&written);
    let events = parse_events(written.as_bytes());
    assert_eq!(events.len(), 12, "every line is still an event of JSON");
    assert_eq!(events[1]["data"]["env"][0]["value"], "[REDACTED]");
    assert_eq!(events[1]["data"]["env"][1]["value"], "/keep-3");
    assert_eq!(
        events[2]["data"]["headers"][0]["value"], "Bearer [REDACTED]",
        "the scheme stays: {}",
        events[2]
    );
    assert_eq!(run.summary["redacted_by_rule"]["secret_key"], 13);
}

#[test]
fn keys_spelled_otherwise_are_hidden_in_raw_lines() {
    let run = run(&["--sink", "stdout", "--raw"], spelled_corpus());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_none_of(SPELLED, "--raw output", &out);
    assert_kept_around(&out);
    assert!(
        out.contains("config password = [REDACTED] keep-5\n"),
        "{out}"
    );
}

#[test]
fn keys_spelled_otherwise_are_hidden_in_a_followed_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), spelled_corpus()).unwrap();
    let port = crate::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let (running, stdin) = Running::start_in(
        dir,
        &[
            "--sink",
            "file=out.log",
            "--follow",
            "app.log",
            "--metrics-addr",
            &addr,
            "--batch-timeout",
            "10ms",
        ],
    );
    drop(stdin);
    let out = running.path("out.log");
    wait_until(Duration::from_secs(60), "every line delivered", || {
        std::fs::read_to_string(&out).is_ok_and(|text| text.lines().count() == 12)
    });
    assert_none_of(SPELLED, "/metrics", &scrape(port).unwrap());
    running.signal(nix::sys::signal::Signal::SIGTERM);
    let written = std::fs::read_to_string(&out).unwrap();
    let (_, stderr, summary, _dir) = running.finish();
    assert_none_of(SPELLED, "the file sink", &written);
    assert_none_of(SPELLED, "stderr", &stderr);
    assert_none_of(SPELLED, "the summary", &summary.to_string());
    assert_kept_around(&written);
    assert_eq!(summary["redacted_by_rule"]["secret_key"], 13);
}
