use proptest::prelude::*;

use super::*;

fn redactor(presets: &[Preset]) -> Redactor {
    Redactor::new(&RedactConfig {
        presets: presets.to_vec(),
        ..RedactConfig::default()
    })
    .unwrap()
}

fn redacted(redactor: &mut Redactor, line: &str) -> String {
    String::from_utf8(redactor.redact(line.as_bytes(), false).into_owned()).unwrap()
}

fn count_of(redactor: &mut Redactor, rule: &str) -> u64 {
    let names: Vec<String> = redactor.names().map(str::to_owned).collect();
    let counts = redactor.take_counts();
    names
        .iter()
        .zip(counts)
        .find(|(name, _)| *name == rule)
        .map_or(0, |(_, count)| count)
}

#[test]
fn credentials_are_hidden_and_the_text_around_them_stays() {
    let mut redactor = redactor(&[Preset::Credentials]);
    let cases = [
        (
            "user login user=alice password=hunter2 token=abc123",
            "user login user=alice password=[REDACTED] token=[REDACTED]",
        ),
        (
            r#"{"msg":"login","password":"hunter2","n":1}"#,
            r#"{"msg":"login","password":"[REDACTED]","n":1}"#,
        ),
        (
            r#"{"req":{"headers":{"Authorization":"Bearer abc.def.ghi","Cookie":"sid=1; t=2"}}}"#,
            r#"{"req":{"headers":{"Authorization":"Bearer [REDACTED]","Cookie":"[REDACTED]"}}}"#,
        ),
        (
            r#"{"items":[{"api_key":"k1"},{"pin":1,"secret":{"a":"b"}}]}"#,
            r#"{"items":[{"api_key":"[REDACTED]"},{"pin":1,"secret":"[REDACTED]"}]}"#,
        ),
        (
            r#"{"message":"body {\"token\":\"s3cr3t\",\"ok\":true}"}"#,
            r#"{"message":"body {\"token\":\"[REDACTED]\",\"ok\":true}"}"#,
        ),
        (
            "GET /x Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig done",
            "GET /x Authorization: Bearer [REDACTED] done",
        ),
        ("key AKIAIOSFODNN7EXAMPLE in use", "key [REDACTED] in use"),
        (
            "connect postgres://app:pa55word@db:5432/x",
            "connect postgres://app:[REDACTED]@db:5432/x",
        ),
        (
            r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"}"#,
            r#"{"k":"-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----"}"#,
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(redacted(&mut redactor, line), expected, "{line}");
    }
}

#[test]
fn shapes_by_their_documented_forms() {
    let mut redactor = redactor(&[Preset::Credentials]);
    for secret in [
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "glpat-abcdefghij0123456789",
        "xoxb-123456789012-abcdefghij",
        "sk_live_0123456789abcdefABCD",
        "AIzaSyA0123456789abcdefghijklmnopqrstuv",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    ] {
        let out = redacted(&mut redactor, &format!("seen {secret} here"));
        assert_eq!(out, "seen [REDACTED] here", "{secret}");
    }
}

#[test]
fn prose_uuids_and_ordinary_numbers_are_kept() {
    let mut redactor = redactor(&[Preset::Credentials, Preset::Pii]);
    for line in [
        "the token expired, ask for a new token",
        "order 1234567812345678 shipped",
        "request 123e4567-e89b-12d3-a456-426614174000 done",
        r#"{"message":"token refreshed","max_tokens":5,"password":null}"#,
        "basic understanding of the system",
    ] {
        assert_eq!(redacted(&mut redactor, line), line);
    }
}

#[test]
fn pii_hides_emails_valid_cards_and_ibans() {
    let mut redactor = redactor(&[Preset::Pii]);
    assert_eq!(
        redacted(
            &mut redactor,
            "mail bob@example.com card 4111 1111 1111 1111 iban GB82WEST12345698765432."
        ),
        "mail [REDACTED] card [REDACTED] iban [REDACTED]."
    );
    assert_eq!(count_of(&mut redactor, "card_number"), 1);
}

#[test]
fn each_rule_counts_what_it_hid_and_hashes_correlate() {
    let mut redactor = Redactor::new(&RedactConfig {
        presets: vec![Preset::Credentials],
        keys: vec!["ssn".to_owned()],
        patterns: vec![Regex::new(r"order-(\d+)").unwrap()],
        hash_key: Some(b"k".to_vec()),
    })
    .unwrap();
    let first = redacted(&mut redactor, "ssn=1 pwd=x pwd=x order-77 cssn=2");
    let parts: Vec<&str> = first.split(' ').collect();
    assert!(parts[0].starts_with("ssn=[HMAC:"), "{first}");
    assert_eq!(parts[1], parts[2], "equal values, equal hashes");
    assert!(parts[3].starts_with("order-[HMAC:"), "{first}");
    assert_eq!(parts[4], "cssn=2", "a key of --redact-key is a whole key");
    let names: Vec<String> = redactor.names().map(str::to_owned).collect();
    let counts = redactor.take_counts();
    let count = |name: &str| counts[names.iter().position(|n| n == name).unwrap()];
    assert_eq!(
        (count("secret_key"), count("key"), count("pattern_1")),
        (2, 1, 1)
    );
    assert!(!first.contains("77"));
}

#[test]
fn a_cut_line_loses_its_last_word() {
    let mut redactor = redactor(&[Preset::Credentials]);
    let out = redactor.redact(b"sent ghp_0123456789ab", true);
    assert_eq!(&*out, b"sent [REDACTED]");
    assert_eq!(count_of(&mut redactor, CUT_WORD), 1);
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let mut redactor = redactor(&[Preset::Credentials]);
    let once = redacted(&mut redactor, r#"{"password":"x","token":7}"#);
    assert_eq!(once, r#"{"password":"[REDACTED]","token":"[REDACTED]"}"#);
    redactor.take_counts();
    assert_eq!(redacted(&mut redactor, &once), once);
    assert_eq!(count_of(&mut redactor, "secret_key"), 0);
}

/// Any JSON value with secrets sprinkled in.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("password".to_owned()),
        Just("Authorization".to_owned()),
        Just("token".to_owned()),
        Just("session_id".to_owned()),
        "[a-z_]{1,8}",
    ];
    let text = prop_oneof![
        Just("Bearer abc.def".to_owned()),
        Just("password=x\"y token: z".to_owned()),
        Just("postgres://u:p@h/".to_owned()),
        Just("-----BEGIN PRIVATE KEY-----\nabc".to_owned()),
        ".{0,20}",
    ];
    let leaf = prop_oneof![
        text.prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn redaction_never_panics_and_json_stays_json(value in json_value(), cut in any::<bool>()) {
        let mut redactor = redactor(&[Preset::Credentials, Preset::Pii]);
        let line = serde_json::to_vec(&value).unwrap();
        let out = redactor.redact(&line, cut);
        if !cut {
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out);
            prop_assert!(parsed.is_ok(), "{} became {}", String::from_utf8_lossy(&line), String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn redaction_never_panics_on_any_bytes(line in prop::collection::vec(any::<u8>(), 0..200), cut in any::<bool>()) {
        let mut redactor = redactor(&[Preset::Credentials, Preset::Pii]);
        let _ = redactor.redact(&line, cut);
    }
}

#[test]
fn the_default_rules_look_only_at_marks_and_mixed_case_keys_are_found() {
    let mut redactor = redactor(&[Preset::Credentials]);
    assert!(redactor.marks, "every rule would run on every line");
    assert_eq!(redactor.always, 0);
    for line in [
        "dbPassword=x",
        "API_KEY=x",
        "X-Api-Key: x",
        "SESSION=x",
        "pAsSwOrD=x",
    ] {
        assert!(
            redacted(&mut redactor, line).ends_with("[REDACTED]"),
            "{line}"
        );
    }
}

#[test]
fn keys_spelled_or_escaped_otherwise_are_found() {
    let mut redactor = redactor(&[Preset::Credentials]);
    for (line, expected) in [
        (
            r#"{"pass\u0077ord":"x1"}"#,
            r#"{"pass\u0077ord":"[REDACTED]"}"#,
        ),
        (
            r#"{"api\u005fkey":"x1"}"#,
            r#"{"api\u005fkey":"[REDACTED]"}"#,
        ),
        (
            r#"{"passwor\u0064":7}"#,
            r#"{"passwor\u0064":"[REDACTED]"}"#,
        ),
        (
            r#"{"m":"{\"pass\\u0077ord\":\"x1\"}"}"#,
            r#"{"m":"{\"pass\\u0077ord\":\"[REDACTED]\"}"}"#,
        ),
        ("password = hunter2 next", "password = [REDACTED] next"),
        (r#"{"password" : "x1"}"#, r#"{"password" : "[REDACTED]"}"#),
        ("X-API-KEY: k1 next", "X-API-KEY: [REDACTED] next"),
        ("client.secret=s1 next", "client.secret=[REDACTED] next"),
        ("Api Key: k1 next", "Api Key: [REDACTED] next"),
        ("pass_word=p1 next", "pass_word=[REDACTED] next"),
        (
            r#"{"password"=>"p1", "a"=>1}"#,
            r#"{"password"=>"[REDACTED]", "a"=>1}"#,
        ),
        ("password := p1 next", "password := [REDACTED] next"),
        (
            "POST /login?user%5Bpassword%5D=p1&x=1",
            "POST /login?user%5Bpassword%5D=[REDACTED]&x=1",
        ),
        ("user[password]=p1&x=1", "user[password]=[REDACTED]&x=1"),
        ("q?pass%77ord=p1&x=1", "q?pass%77ord=[REDACTED]&x=1"),
        (
            "<user><password>p1</password></user>",
            "<user><password>[REDACTED]</password></user>",
        ),
        (
            "run mysql --password p1 --host db",
            "run mysql --password [REDACTED] --host db",
        ),
        ("sshd[811]: ok", "sshd[811]: ok"),
    ] {
        assert_eq!(redacted(&mut redactor, line), expected, "{line}");
    }
}

#[test]
fn the_value_beside_a_member_naming_a_secret_is_hidden() {
    let mut redactor = redactor(&[Preset::Credentials]);
    for (line, expected) in [
        (
            r#"{"env":[{"name":"DB_PASSWORD","value":"p1"},{"name":"HOME","value":"/root"}]}"#,
            r#"{"env":[{"name":"DB_PASSWORD","value":"[REDACTED]"},{"name":"HOME","value":"/root"}]}"#,
        ),
        (
            r#"{"headers":[{"name":"X-Api-Key","value":"k1"}]}"#,
            r#"{"headers":[{"name":"X-Api-Key","value":"[REDACTED]"}]}"#,
        ),
        (
            r#"[{"key":"Authorization","value":"Bearer abcdefgh1"}]"#,
            r#"[{"key":"Authorization","value":"Bearer [REDACTED]"}]"#,
        ),
        (
            r#"{"value":"p1", "Name" : "password"}"#,
            r#"{"value":"[REDACTED]", "Name" : "password"}"#,
        ),
        (
            r#"{"value":{"a":"}"},"name":"token"}"#,
            r#"{"value":"[REDACTED]","name":"token"}"#,
        ),
        (
            r#"{"m":"{\"name\":\"password\",\"value\":\"p1\"}"}"#,
            r#"{"m":"{\"name\":\"password\",\"value\":\"[REDACTED]\"}"}"#,
        ),
        (
            r#"{"name":"pass\u0077ord","value":"p1"}"#,
            r#"{"name":"pass\u0077ord","value":"[REDACTED]"}"#,
        ),
        (
            r#"{"name":"max_tokens","value":"5"}"#,
            r#"{"name":"max_tokens","value":"5"}"#,
        ),
    ] {
        assert_eq!(redacted(&mut redactor, line), expected, "{line}");
    }
}
