//! Where a NATS sink publishes, read from its `nats=` spec, and the
//! credentials, stream and retry settings every NATS sink shares.

use std::path::PathBuf;
use std::time::Duration;

use super::envelope::EnvelopeConfig;
use super::retry::RetryPolicy;
use crate::cli::Args;
use crate::public_url::public_url;

/// The port of a server given without one.
const DEFAULT_PORT: u16 = 4222;

/// Where a NATS sink publishes: `nats://HOST:PORT[,HOST:PORT...]/SUBJECT`,
/// or `tls://...` for connections that must be TLS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    /// `host:port` of each server given; the client finds the rest of a
    /// cluster by itself.
    pub servers: Vec<String>,
    pub subject: String,
    /// Refuse to connect without TLS (`tls://`).
    pub tls: bool,
}

impl Target {
    /// Reads the part after `nats=`. Credentials are refused here: they
    /// belong in flags or the environment, never in a sink's name.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        const SHAPE: &str = "nats://HOST:PORT[,HOST:PORT...]/SUBJECT";
        let (rest, tls) = match (url.strip_prefix("nats://"), url.strip_prefix("tls://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => return Err(format!("a NATS sink is written nats={SHAPE} (or tls://)")),
        };
        if rest
            .split('/')
            .next()
            .is_some_and(|hosts| hosts.contains('@'))
        {
            // Not quoted: the address holds a password.
            return Err("credentials do not go in a NATS sink's address: use \
                 --nats-user/--nats-password, --nats-token or --nats-creds \
                 (or their SHIPPER_NATS_* variables)"
                .to_owned());
        }
        if rest.contains(['?', '#']) {
            // Not quoted either: a query is where API keys hide.
            return Err(format!(
                "a NATS sink's address takes no query or fragment (nats={SHAPE})"
            ));
        }
        let (hosts, subject) = rest
            .split_once('/')
            .ok_or_else(|| format!("'{}' names no subject (nats={SHAPE})", public_url(url)))?;
        let servers = hosts
            .split(',')
            .map(server)
            .collect::<Result<Vec<_>, _>>()?;
        check_subject(subject)?;
        Ok(Target {
            servers,
            subject: subject.to_owned(),
            tls,
        })
    }

    /// The sink as `nats=` takes it: what its name shows after `nats=`.
    pub(crate) fn label(&self) -> String {
        let scheme = if self.tls { "tls" } else { "nats" };
        format!("{scheme}://{}/{}", self.servers.join(","), self.subject)
    }
}

/// `host:port`, the port defaulting to 4222.
fn server(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("'{text}': the port is not a number"))?;
            (host, port)
        }
        _ => (text, DEFAULT_PORT),
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(format!("'{text}' is not HOST:PORT"));
    }
    Ok(format!("{host}:{port}"))
}

/// A subject events can be published on: dot-separated tokens, none
/// empty, no wildcard, no white space.
fn check_subject(subject: &str) -> Result<(), String> {
    let fits = !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty()
                && token != "*"
                && token != ">"
                && !token.contains(char::is_whitespace)
        });
    if fits {
        Ok(())
    } else {
        Err(format!(
            "'{subject}' is not a subject to publish on (tokens like `logs.app`, no wildcards)"
        ))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct NatsOptions {
    /// A stream to create for the subject when no stream captures it.
    pub stream: Option<String>,
    pub auth: NatsAuth,
    /// Longest wait for a connection, an answer or a publish ack.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// The longest line kept whole, and the most bytes an event can take
    /// (`EnvelopeConfig::max_event_bytes`), to compare with the server's
    /// `max_payload`.
    pub max_line_bytes: usize,
    pub max_event_bytes: usize,
    /// A private CA trusted for TLS, besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// How a NATS sink proves who it is.
#[derive(Clone)]
pub(crate) enum NatsAuth {
    None,
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
    /// A `.creds` file: a user JWT and its NKey seed.
    CredsFile(PathBuf),
}

/// Never shows a password or a token, whoever prints the settings.
impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NatsAuth::None => f.write_str("None"),
            NatsAuth::UserPassword { user, .. } => write!(f, "UserPassword({user}, hidden)"),
            NatsAuth::Token(_) => f.write_str("Token(hidden)"),
            NatsAuth::CredsFile(path) => write!(f, "CredsFile({})", path.display()),
        }
    }
}

/// The `--nats-*` flags. At most one kind of credentials is given; clap
/// has refused the others.
pub(crate) fn options(
    args: &Args,
    retry: RetryPolicy,
    envelope: &EnvelopeConfig,
) -> Result<NatsOptions, String> {
    super::checks::longer_than_zero("--nats-timeout", args.nats_timeout)?;
    super::checks::small_file("--nats-ca-file", &args.nats_ca_file)?;
    super::checks::small_file("--nats-creds", &args.nats_creds)?;
    let auth = match (&args.nats_user, &args.nats_password, &args.nats_token) {
        (Some(user), Some(password), _) => NatsAuth::UserPassword {
            user: user.clone(),
            password: password.clone(),
        },
        (_, _, Some(token)) => NatsAuth::Token(token.clone()),
        _ => match &args.nats_creds {
            Some(path) => NatsAuth::CredsFile(path.clone()),
            None => NatsAuth::None,
        },
    };
    Ok(NatsOptions {
        stream: args.nats_stream.clone(),
        auth,
        timeout: args.nats_timeout,
        retry,
        max_line_bytes: envelope.max_line_bytes,
        max_event_bytes: envelope.max_event_bytes(),
        ca_file: args.nats_ca_file.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_servers_and_a_subject() {
        let target = Target::parse("nats://127.0.0.1:4222,nats-2/logs.app").unwrap();
        assert_eq!(target.servers, ["127.0.0.1:4222", "nats-2:4222"]);
        assert_eq!(target.subject, "logs.app");
        assert_eq!(target.label(), "nats://127.0.0.1:4222,nats-2:4222/logs.app");
        assert!(!target.tls);
        let target = Target::parse("tls://nats.example/logs.app").unwrap();
        assert!(target.tls);
        assert_eq!(target.label(), "tls://nats.example:4222/logs.app");
    }

    #[test]
    fn bad_targets_are_refused_without_echoing_credentials() {
        for (url, why) in [
            ("http://x/logs", "nats://"),
            ("nats://x:4222", "no subject"),
            ("nats://x:4222/", "not a subject"),
            ("nats://x:4222/logs.*", "no wildcards"),
            ("nats://x:4222/logs..app", "not a subject"),
            ("nats://x:port/logs", "not a number"),
            ("nats://,x/logs", "not HOST:PORT"),
        ] {
            let error = Target::parse(url).unwrap_err();
            assert!(error.contains(why), "{url}: {error}");
        }
        for url in [
            "nats://me:s3cret@x:4222/logs",
            "nats://me:s3cret@x:4222",
            "nats://x:4222?token=s3cret",
            "nats://x:4222/logs?token=s3cret",
        ] {
            let error = Target::parse(url).unwrap_err();
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
