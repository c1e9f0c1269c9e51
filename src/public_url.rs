//! URLs as shipper prints them: without the user, password, query and
//! fragment, where credentials and API keys hide. Every message that names
//! a sink's URL, or quotes one a user gave, goes through here.

/// `text`, meant as a URL, fit to print: a URL that parses loses its user,
/// password, query and fragment; text that does not parse loses anything
/// between `//` (or the sink kind's `=`) and its last `@`, and anything
/// from the first `?` or `#` on. The second rule errs on the side of
/// hiding: text that is not a URL may still hold a password.
pub(crate) fn public_url(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if !url.cannot_be_a_base() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        _ => scrubbed(text),
    }
}

/// Whether printing `url` would show a user, password, query or fragment.
pub(crate) fn has_secrets(url: &str) -> bool {
    reqwest::Url::parse(url).map_or(true, |url| {
        !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
    })
}

/// `message` with every URL in it (a word holding `://`) made public. A
/// word ends at white space or a quote only: a password may hold anything
/// else.
pub(crate) fn public_urls_in(message: &str) -> String {
    if !message.contains("://") {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |before| before + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "<>'\"".contains(c))
            .map_or(rest.len(), |after| at + after);
        out.push_str(&rest[..start]);
        out.push_str(&public_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The textual rule of `public_url`, for what does not parse.
fn scrubbed(text: &str) -> String {
    // After `//`, or after a sink's kind (`http=`), or from the start.
    let kind = text
        .split_once('=')
        .filter(|(kind, _)| kind.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|(kind, _)| kind.len() + 1);
    let split = text.find("//").map(|at| at + 2).or(kind).unwrap_or(0);
    let (head, rest) = text.split_at(split);
    let rest = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    format!("{head}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_user_password_query_and_fragment() {
        assert_eq!(
            public_url("https://user:pw@collector:8080/ingest?api_key=K3Y#frag"),
            "https://collector:8080/ingest"
        );
        assert_eq!(public_url("http://collector/in"), "http://collector/in");
        assert_eq!(public_url("tcp://u:pw@loghost:514"), "tcp://loghost:514");
        assert_eq!(
            public_url("nats://127.0.0.1:4222?token=T0K"),
            "nats://127.0.0.1:4222"
        );
        assert!(has_secrets("http://u@x/"));
        assert!(has_secrets("http://x/?k=v"));
        assert!(!has_secrets("http://x/in"));
    }

    #[test]
    fn text_that_does_not_parse_is_scrubbed_all_the_same() {
        for (text, shown) in [
            ("http://u:p/w@host/in?k=v", "http://host/in"),
            ("http://u:PW@[bad/in?apikey=KEY", "http://[bad/in"),
            (
                "htp=http://u:PW@127.0.0.1/in?k=v",
                "htp=http://127.0.0.1/in",
            ),
            ("htp=u:PW@host", "htp=host"),
            ("x:4222?token=T", "x:4222"),
            ("kafka", "kafka"),
            ("http://u:pa?ss@host/", "http://host/"),
        ] {
            assert_eq!(public_url(text), shown, "{text}");
        }
    }

    #[test]
    fn urls_inside_a_message_are_made_public() {
        assert_eq!(
            public_urls_in(
                "error sending request for url (http://127.0.0.1:1/in?apikey=S3C) refused"
            ),
            "error sending request for url (http://127.0.0.1:1/in refused"
        );
        assert_eq!(
            public_urls_in("to nats://u:pw@host:4222 and 'tcp://a:b@c:1'"),
            "to nats://host:4222 and 'tcp://c:1'"
        );
        assert_eq!(public_urls_in("no address here"), "no address here");
    }
}
