//! Where a syslog sink sends, read from its `syslog=` spec, the settings
//! every syslog sink shares, and the limits of RFC 5424 they are checked
//! against.

use crate::cli::SYSLOG_FACILITIES;
use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;
use crate::cli::Args;
use crate::public_url::public_url;

/// Longest APP-NAME (RFC 5424, section 6).
pub(crate) const MAX_APP_NAME: usize = 48;
/// Smallest limit a message may be cut to: room for the longest header
/// (host 255 and app name 48 bytes) and the flag that says it was cut.
pub(crate) const MIN_MESSAGE: usize = 512;
/// The code of a facility named as syslog servers name them.
pub(crate) fn facility(name: &str) -> Result<u8, String> {
    SYSLOG_FACILITIES
        .iter()
        .position(|known| known.eq_ignore_ascii_case(name))
        .map(|code| code as u8)
        .ok_or_else(|| {
            format!(
                "'{name}' is not a syslog facility: {} (user is the default)",
                SYSLOG_FACILITIES.join(", ")
            )
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    Tcp,
    Tls,
    Udp,
}

/// Where a syslog sink sends: `tcp://HOST:PORT`, `tls://HOST:PORT` or
/// `udp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub transport: Transport,
    /// `host:port`.
    pub address: String,
}

impl Target {
    /// Reads the part after `syslog=`.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let schemes = [
            ("tcp://", Transport::Tcp),
            ("tls://", Transport::Tls),
            ("udp://", Transport::Udp),
        ];
        let Some((transport, address)) = schemes.into_iter().find_map(|(scheme, transport)| {
            url.strip_prefix(scheme).map(|address| (transport, address))
        }) else {
            // Not quoted: without a scheme, the text may be any piece of a URL.
            return Err(
                "a syslog sink is written syslog=tcp://HOST:PORT, tls://HOST:PORT \
                 or udp://HOST:PORT"
                    .to_owned(),
            );
        };
        let fits = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            && !address.contains(['/', '@', ' ']);
        if !fits {
            return Err(format!(
                "'{}': the syslog server must be HOST:PORT",
                public_url(url)
            ));
        }
        Ok(Target {
            transport,
            address: address.to_owned(),
        })
    }

    /// The sink as `syslog=` takes it: what its name shows after `syslog=`.
    pub(crate) fn label(&self) -> String {
        let scheme = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Udp => "udp",
        };
        format!("{scheme}://{}", self.address)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SyslogOptions {
    /// APP-NAME of every message.
    pub app_name: String,
    /// Longest message over TCP, in bytes; longer ones are cut and flagged.
    pub max_message: usize,
    /// Longest a TCP connection may take to open, or a write to make
    /// progress.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// A private CA trusted for `tls://` servers, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// The facility of every message (RFC 5424 §6.2.1).
    pub facility: u8,
}

/// The `--syslog-*` flags.
pub(crate) fn options(args: &Args, retry: RetryPolicy) -> Result<SyslogOptions, String> {
    super::checks::small_file("--syslog-ca-file", &args.syslog_ca_file)?;
    let name = &args.syslog_app_name;
    let fits = (1..=MAX_APP_NAME).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_graphic());
    if !fits {
        return Err(format!(
            "--syslog-app-name '{name}' must be 1 to {} printable ASCII characters without spaces",
            MAX_APP_NAME
        ));
    }
    if args.syslog_timeout.is_zero() {
        return Err("--syslog-timeout must be longer than 0".into());
    }
    let max_message = args.syslog_max_message;
    if !(MIN_MESSAGE as u64..=super::checks::MAX_LINE_LIMIT).contains(&max_message) {
        return Err(format!(
            "--syslog-max-message must be from {} bytes to 1GiB",
            MIN_MESSAGE
        ));
    }
    Ok(SyslogOptions {
        app_name: name.clone(),
        max_message: max_message as usize,
        timeout: args.syslog_timeout,
        retry,
        ca_file: args.syslog_ca_file.clone(),
        facility: facility(&args.syslog_facility)
            .map_err(|why| format!("--syslog-facility: {why}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facility_is_named_as_servers_name_it() {
        assert_eq!(facility("user"), Ok(1));
        assert_eq!(facility("LOCAL0"), Ok(16));
        assert_eq!(facility("local7"), Ok(23));
        assert_eq!(facility("authpriv"), Ok(10));
        assert!(facility("local8").unwrap_err().contains("local7"));
    }

    #[test]
    fn targets_are_tcp_tls_or_udp_host_and_port() {
        let tcp = Target::parse("tcp://127.0.0.1:6514").unwrap();
        assert_eq!(tcp.label(), "tcp://127.0.0.1:6514");
        let udp = Target::parse("udp://logs.example:514").unwrap();
        assert_eq!(udp.label(), "udp://logs.example:514");
        let tls = Target::parse("tls://logs.example:6514").unwrap();
        assert_eq!(tls.label(), "tls://logs.example:6514");
        for bad in [
            "127.0.0.1:514",
            "https://h:514",
            "tcp://h",
            "tcp://:514",
            "udp://h:99999",
            "tcp://u@h:514",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
