//! Settings checked at the start: what would fail every request, or is
//! not what it claims to be, is refused before anything is read.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{fifo, numbered_lines, read_events, run_with_env};
use crate::secrets::{SOURCES, checked, refused, sink_from};

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

/// A sink refused from SHIPPER_SINK says it came from there; the same
/// sink given as a flag does not blame the variable.
#[test]
fn a_bad_sink_from_the_environment_names_the_variable() {
    for bad in [
        "nats=nats://127.0.0.1:4222",
        "bogus",
        "stdout,syslog=tcp://h",
    ] {
        let (code, stderr) = checked(&[], &[("SHIPPER_SINK".into(), bad.into())]);
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("SHIPPER_SINK: "), "{bad}: {stderr}");
        let (code, stderr) = checked(&["--sink".into(), bad.into()], &[]);
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(!stderr.contains("SHIPPER_SINK"), "{bad}: {stderr}");
    }
}

/// Flags naming a CA or credentials file.
const KEY_FILE_FLAGS: [&str; 4] = [
    "--http-ca-file",
    "--nats-ca-file",
    "--syslog-ca-file",
    "--nats-creds",
];

/// Every key file flag refuses `path` at once, saying `why`.
fn assert_key_file_refused(path: &Path, why: &str) {
    for flag in KEY_FILE_FLAGS {
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
}

#[test]
fn ca_and_creds_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pem");
    let ok = dir.path().join("ok.pem");
    let link = dir.path().join("link.pem");
    std::fs::write(&big, vec![b'a'; (1 << 20) + 1]).unwrap();
    std::fs::write(&ok, "not a certificate, but small and regular\n").unwrap();
    std::os::unix::fs::symlink(&ok, &link).unwrap();
    assert_key_file_refused(&fifo(dir.path(), "f"), "FIFO");
    assert_key_file_refused(&big, "larger than 1 MiB");
    assert_key_file_refused(&dir.path().join("missing"), "does not exist");
    for flag in KEY_FILE_FLAGS {
        let args = [flag.to_owned(), link.to_str().unwrap().to_owned()];
        let (code, stderr) = checked(&args, &[]);
        assert_eq!(code, Some(0), "{flag} a link to a regular file: {stderr}");
    }
}

#[test]
#[ignore = "needs root: makes a device node"]
fn a_device_as_ca_or_creds_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("z");
    let made = std::process::Command::new("mknod")
        .arg(&zero)
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(made.success(), "making a device node needs root");
    assert_key_file_refused(&zero, "character device");
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
