//! Real servers for the NATS and syslog sinks' tests: nats-server (with
//! JetStream, unless a test wants it without) and syslog-ng, each started
//! by the test on a free loopback port outside the ephemeral range, with a
//! store or configuration of its own in a temporary directory, stopped by
//! its process id when the guard is dropped, and killed by the kernel if
//! the test dies first.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::common::{Running, program};

/// The `retried` count of the latest stats line (`--stats-interval`) a
/// running shipper wrote, or 0.
pub fn retried_so_far(running: &Running) -> u64 {
    running
        .stderr_so_far()
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["type"] == "stats")
        .and_then(|line| line["retried"].as_u64())
        .unwrap_or(0)
}

/// A TCP port on 127.0.0.1, free now, that nothing takes behind a test's
/// back (see `unused_port`): a server killed and restarted finds it free.
pub fn free_port() -> u16 {
    unused_port(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
}

/// A UDP port on 127.0.0.1, free now (see `unused_port`).
pub fn free_udp_port() -> u16 {
    unused_port(|port| UdpSocket::bind(("127.0.0.1", port)).is_ok())
}

/// A port that `is_free` finds free, below the kernel's ephemeral range,
/// where the ports of outgoing connections come from (binding port 0
/// takes one from there too, and a connection could take it again the
/// moment it is let go). Each call tries the next port of this process's
/// own sequence, which starts at an offset from its process id, so that
/// two test runs at once rarely meet.
fn unused_port(is_free: impl Fn(u16) -> bool) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOWEST: u32 = 10_000;
    let span = u32::from(ephemeral_start())
        .saturating_sub(LOWEST)
        .max(1_000);
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let next = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOWEST + (start + next) % span;
        let port = u16::try_from(port).expect("a port");
        if is_free(port) {
            return port;
        }
    }
    panic!("no free port from {LOWEST} up");
}

/// The first port the kernel hands out on its own.
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// Waits until something accepts connections on the port; `Err` with the
/// exit status if the server ended first (its port was taken).
fn wait_for_listener(port: u16, what: &str, child: &mut Child) -> Result<(), ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(status);
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Starts a server, killed (SIGKILL) when the thread that started it
/// ends, so that a test process that dies (a panic while panicking, an
/// abort, a kill) leaves no server behind. (The signal follows the
/// thread, not the process: a server lives as long as its test's thread,
/// which its guard never outlives anyway.)
fn spawn(command: &mut Command, what: &str) -> Child {
    let parent = nix::unistd::getpid();
    // SAFETY: between fork and exec the closure only makes two system
    // calls; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The parent may have ended before the call above.
            if nix::unistd::getppid() != parent {
                return Err(nix::errno::Errno::ESRCH.into());
            }
            Ok(())
        });
    }
    command
        .spawn()
        .unwrap_or_else(|err| panic!("{what} runs ({err}; .ci/run installs it)"))
}

/// Writes into `dir` a private CA (`ca.pem`), and a certificate and key
/// it signed for `localhost` and 127.0.0.1; returns their paths.
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Starts a server by `start` until it listens on its port: up to five
/// times, since another program may take the port between the check that
/// found it free (or the kill that freed it) and the server's bind.
fn start_listening(what: &str, port: u16, mut start: impl FnMut() -> Child) -> Child {
    let mut last = None;
    for _ in 0..5 {
        let mut child = start();
        match wait_for_listener(port, what, &mut child) {
            Ok(()) => return child,
            Err(status) => last = Some(status),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} could not listen on {port}: {last:?}");
}

/// Signals a child by its process id and waits for it to end.
fn stop(child: &mut Child, signal: Signal) {
    let _ = kill(Pid::from_raw(child.id() as i32), signal);
    let _ = child.wait();
}

/// A nats-server with JetStream, its store in a temporary directory.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    /// Holds the JetStream store (and the server's log).
    dir: TempDir,
    /// Extra arguments (credentials), kept for a restart.
    args: Vec<String>,
    /// Whether JetStream is enabled (`-js`).
    jetstream: bool,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(&[])
    }

    /// Starts it with extra arguments (`--user`, `--pass`, `--auth`).
    pub fn start_with(args: &[&str]) -> NatsServer {
        NatsServer::launch(args, true)
    }

    /// A plain NATS server: no JetStream, so nothing can store an event.
    pub fn start_without_jetstream() -> NatsServer {
        NatsServer::launch(&[], false)
    }

    /// A server that requires TLS, with a certificate for 127.0.0.1 from a
    /// private CA at `ca_path()`.
    pub fn start_tls() -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make_certificates(dir.path());
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let mut server = NatsServer {
            child: None,
            port: free_port(),
            args: ["--tls", "--tlscert", &cert, "--tlskey", &key]
                .map(str::to_owned)
                .to_vec(),
            dir,
            jetstream: true,
        };
        server.run();
        server
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A client of its own, over TLS when the server requires it.
    async fn client(&self) -> Option<async_nats::Client> {
        let mut options = async_nats::ConnectOptions::new();
        if self.ca_path().exists() {
            options = options
                .require_tls(true)
                .add_root_certificates(self.ca_path());
        }
        options.connect(self.address()).await.ok()
    }

    fn launch(args: &[&str], jetstream: bool) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            jetstream,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let child = start_listening("nats-server", self.port, || {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join("server.log"))
                .unwrap();
            let mut command = Command::new(program("nats-server"));
            command
                .args(self.jetstream.then_some("-js"))
                .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
                .arg(self.dir.path().join("store"))
                .args(&self.args)
                .stdout(Stdio::null())
                .stderr(log);
            spawn(&mut command, "nats-server (Debian package nats-server)")
        });
        self.child = Some(child);
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, Signal::SIGKILL);
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }

    /// `nats=nats://127.0.0.1:PORT/SUBJECT`, the `--sink` argument.
    pub fn sink(&self, subject: &str) -> String {
        format!("nats=nats://127.0.0.1:{}/{subject}", self.port)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates a stream capturing `subjects`.
    pub fn create_stream(&self, name: &str, subjects: &[&str]) {
        let config = jetstream::stream::Config {
            name: name.to_owned(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        block_on(async {
            let client = self.client().await.unwrap();
            jetstream::new(client).create_stream(config).await.unwrap();
        });
    }

    /// The stream's configured subjects and how many messages it holds.
    pub fn stream_state(&self, name: &str) -> Option<(Vec<String>, u64)> {
        block_on(async {
            let client = self.client().await?;
            let mut stream = jetstream::new(client).get_stream(name).await.ok()?;
            let info = stream.info().await.ok()?;
            Some((info.config.subjects.clone(), info.state.messages))
        })
    }

    /// Every message in the stream, in stream order: its `Nats-Msg-Id`
    /// and its payload.
    pub fn read_stream(&self, name: &str) -> Vec<(String, Vec<u8>)> {
        self.read_stream_with(name, "Nats-Msg-Id")
            .into_iter()
            .map(|(id, payload)| (id.unwrap_or_default(), payload))
            .collect()
    }

    /// Every message in the stream, in stream order: the value of one
    /// header, and the payload.
    pub fn read_stream_with(&self, name: &str, header: &str) -> Vec<(Option<String>, Vec<u8>)> {
        let (_, count) = self.stream_state(name).expect("the stream exists");
        block_on(async {
            let client = self.client().await.unwrap();
            let stream = jetstream::new(client).get_stream(name).await.unwrap();
            let consumer = stream
                .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
                .await
                .unwrap();
            let mut messages = consumer.messages().await.unwrap();
            let mut read = Vec::with_capacity(count as usize);
            while read.len() < count as usize {
                let message = messages.next().await.unwrap().unwrap();
                let value = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(header))
                    .map(|value| value.to_string());
                read.push((value, message.payload.to_vec()));
            }
            read
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three nats-servers with JetStream routed to each other as one cluster,
/// each with its own store and a monitoring port, so that a test can see
/// which of them a client is connected to.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    /// Each node's monitoring (HTTP) port, `-m`.
    monitors: Vec<u16>,
}

impl NatsCluster {
    /// Starts three nodes; a stream can be created once `create_stream`
    /// finds the cluster formed.
    pub fn start() -> NatsCluster {
        const SIZE: usize = 3;
        let clients: Vec<u16> = (0..SIZE).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..SIZE).map(|_| free_port()).collect();
        let monitors: Vec<u16> = (0..SIZE).map(|_| free_port()).collect();
        let nodes = (0..SIZE)
            .map(|node| {
                let others: Vec<String> = (0..SIZE)
                    .filter(|&other| other != node)
                    .map(|other| format!("nats://127.0.0.1:{}", routes[other]))
                    .collect();
                let args = [
                    "--server_name".to_owned(),
                    format!("node-{node}"),
                    "--cluster_name".to_owned(),
                    "shipper-test".to_owned(),
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{}", routes[node]),
                    "--routes".to_owned(),
                    others.join(","),
                    "-m".to_owned(),
                    monitors[node].to_string(),
                ];
                let mut server = NatsServer {
                    child: None,
                    port: clients[node],
                    dir: tempfile::tempdir().unwrap(),
                    args: args.to_vec(),
                    jetstream: true,
                };
                server.run();
                server
            })
            .collect();
        NatsCluster { nodes, monitors }
    }

    /// `nats=nats://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/SUBJECT`.
    pub fn sink(&self, subject: &str) -> String {
        let servers: Vec<String> = self.nodes.iter().map(NatsServer::address).collect();
        format!("nats=nats://{}/{subject}", servers.join(","))
    }

    /// Creates a stream capturing `subjects`, stored on every node, once
    /// the cluster has formed (until then JetStream refuses it), and waits
    /// until the stream has a leader and every replica is current.
    pub fn create_stream(&self, name: &str, subjects: &[&str]) {
        self.wait_for_meta_leader();
        let config = jetstream::stream::Config {
            name: name.to_owned(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            num_replicas: self.nodes.len(),
            ..Default::default()
        };
        let created = || {
            block_on(async {
                let client = self.nodes[0].client().await?;
                let context = jetstream::ContextBuilder::new()
                    .timeout(Duration::from_secs(2))
                    .build(client);
                context.get_or_create_stream(config.clone()).await.ok()?;
                let mut stream = context.get_stream(name).await.ok()?;
                let info = stream.info().await.ok()?;
                let cluster = info.cluster.as_ref()?;
                let replicas_current = cluster.replicas.len() == self.nodes.len() - 1
                    && cluster.replicas.iter().all(|peer| peer.current);
                (cluster.leader.is_some() && replicas_current).then_some(())
            })
        };
        poll(&format!("stream {name} stored on every node"), created);
    }

    /// Every message in the stream, in stream order, with its
    /// `Nats-Msg-Id` (empty if it has none), from a node still running. Read message by message
    /// from the stream's leader, so that it needs no meta leader (a
    /// consumer would, and the nodes left may still be electing one).
    pub fn read_stream(&self, name: &str) -> Vec<(String, Vec<u8>)> {
        let read = || {
            block_on(async {
                let client = self.running_node().client().await?;
                let mut stream = jetstream::new(client).get_stream(name).await.ok()?;
                let state = stream.info().await.ok()?.state.clone();
                let stream = &stream;
                futures_util::stream::iter(state.first_sequence..=state.last_sequence)
                    .map(|sequence| async move {
                        let message = stream.get_raw_message(sequence).await.ok()?;
                        let id = message.headers.get("Nats-Msg-Id");
                        let id = id.map(ToString::to_string).unwrap_or_default();
                        Some((id, message.payload.to_vec()))
                    })
                    .buffered(64)
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
            })
        };
        poll(&format!("stream {name} read"), read)
    }

    /// Waits until every running node knows the whole cluster and names
    /// the same meta leader, itself running (`/jsz`): until then JetStream
    /// can neither create a stream nor a consumer.
    fn wait_for_meta_leader(&self) {
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|&node| self.nodes[node].child.is_some())
            .collect();
        let names: Vec<String> = running.iter().map(|node| format!("node-{node}")).collect();
        let leader = |node: usize| {
            let jsz = monitoring(self.monitors[node], "/jsz")?;
            let meta = &jsz["meta_cluster"];
            let leader = meta["leader"].as_str()?.to_owned();
            (meta["cluster_size"] == self.nodes.len()).then_some(leader)
        };
        poll("a meta leader", || {
            let leaders: Vec<Option<String>> = running.iter().map(|&node| leader(node)).collect();
            let first = leaders[0].clone()?;
            let agreed = leaders.iter().all(|leader| leader.as_ref() == Some(&first));
            (agreed && names.contains(&first)).then_some(())
        });
    }

    /// The node a client whose name starts with `name` is connected to,
    /// by each running node's monitoring endpoint (`/connz`).
    pub fn node_serving(&self, name: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&node| {
            self.nodes[node].child.is_some()
                && monitoring(self.monitors[node], "/connz")
                    .and_then(|connz| connz["connections"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .any(|connection| {
                        connection["name"]
                            .as_str()
                            .is_some_and(|named| named.starts_with(name))
                    })
        })
    }

    /// A node still running, to ask about streams.
    pub fn running_node(&self) -> &NatsServer {
        self.nodes
            .iter()
            .find(|node| node.child.is_some())
            .expect("a node still runs")
    }
}

/// Polls `attempt` until it gives a value, failing after half a minute.
fn poll<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a node's monitoring endpoint answers at `path`, as JSON; `None`
/// while it does not answer.
fn monitoring(port: u16, path: &str) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let body = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    serde_json::from_slice(&answer[body..]).ok()
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), future)
                .await
                .expect("the NATS server answered within a minute")
        })
}

/// One message as syslog-ng wrote it to its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub facility: u8,
    pub severity: u8,
    pub host: String,
    pub program: String,
    /// The structured data, as syslog-ng renders it.
    pub sdata: String,
    /// PROCID and MSGID, empty for `-`.
    pub pid: String,
    pub msgid: String,
    /// The message's own time, in seconds since the epoch.
    pub unix_time: i64,
    pub message: String,
}

/// A syslog-ng listening for RFC 5424 messages on TCP and UDP, writing
/// each one to a file as tab-separated fields.
pub struct SyslogNg {
    child: Option<Child>,
    pub tcp_port: u16,
    pub udp_port: u16,
    dir: TempDir,
}

impl SyslogNg {
    pub fn start() -> SyslogNg {
        SyslogNg::start_with("")
    }

    /// Starts it with options for its TCP source (`max-connections(1)`).
    pub fn start_with(tcp_options: &str) -> SyslogNg {
        SyslogNg::start_listening(tcp_options, "tcp")
    }

    /// Starts it with TLS (RFC 5425) on its TCP port, with a certificate
    /// for `localhost` from a private CA at `ca_path()`.
    pub fn start_tls() -> SyslogNg {
        SyslogNg::start_listening("", "tls")
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_listening(tcp_options: &str, transport: &str) -> SyslogNg {
        let mut server = SyslogNg {
            child: None,
            tcp_port: free_port(),
            udp_port: free_udp_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        let tcp_options = match transport {
            "tls" => {
                let (cert, key) = make_certificates(server.dir.path());
                format!(
                    r#"tls(cert-file("{}") key-file("{}") peer-verify(optional-untrusted)) {tcp_options}"#,
                    cert.display(),
                    key.display()
                )
            }
            _ => tcp_options.to_owned(),
        };
        let config = format!(
            r#"@version: 3.38
options {{ stats_freq(0); keep_hostname(yes); chain_hostnames(no); use_dns(no); use_fqdn(no); dns_cache(no); }};
source s_net {{
    syslog(ip("127.0.0.1") port({tcp}) transport("{transport}") {tcp_options});
    syslog(ip("127.0.0.1") port({udp}) transport("udp") so_rcvbuf(4194304));
}};
destination d_file {{
    file("{out}" template("${{FACILITY_NUM}}\t${{LEVEL_NUM}}\t${{HOST}}\t${{PROGRAM}}\t${{SDATA}}\t${{PID}}\t${{MSGID}}\t${{S_UNIXTIME}}\t${{MSG}}\n") flush_lines(1));
}};
log {{ source(s_net); destination(d_file); }};
"#,
            tcp = server.tcp_port,
            udp = server.udp_port,
            out = server.received_path().display(),
        );
        std::fs::write(server.dir.path().join("syslog-ng.conf"), config).unwrap();
        server.run();
        server
    }

    fn run(&mut self) {
        let dir = self.dir.path();
        let child = start_listening("syslog-ng", self.tcp_port, || {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("syslog-ng.log"))
                .unwrap();
            let mut command = Command::new(program("syslog-ng"));
            command
                .args(["-F", "--no-caps", "-f"])
                .arg(dir.join("syslog-ng.conf"))
                .arg("-R")
                .arg(dir.join("persist"))
                .arg("-p")
                .arg(dir.join("pid"))
                .arg("-c")
                .arg(dir.join("ctl"))
                .stdout(Stdio::null())
                .stderr(log);
            spawn(&mut command, "syslog-ng (Debian package syslog-ng-core)")
        });
        self.child = Some(child);
    }

    /// Stops it as a service manager would (SIGTERM), and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, Signal::SIGTERM);
        }
    }

    /// Stops it in its tracks (SIGSTOP): it keeps its connections and the
    /// kernel keeps taking data for it, until the buffers fill.
    pub fn pause(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// Lets it run again after `pause` (SIGCONT).
    pub fn resume(&self) {
        self.signal(Signal::SIGCONT);
    }

    fn signal(&self, signal: Signal) {
        let child = self.child.as_ref().expect("running");
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    }

    /// Starts it again on the same ports.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.run();
    }

    pub fn received_path(&self) -> PathBuf {
        self.dir.path().join("received.log")
    }

    /// What it has written so far.
    pub fn received(&self) -> Vec<Received> {
        read_received(&self.received_path())
    }

    /// Waits until it has written at least `count` messages, and returns them.
    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "syslog-ng wrote {} of {count} messages",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SyslogNg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, Signal::SIGKILL);
        }
    }
}

fn read_received(path: &Path) -> Vec<Received> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    // A last line without its newline is still being written.
    text.split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
        .map(|line| {
            let fields: Vec<&str> = line.splitn(9, '\t').collect();
            assert_eq!(fields.len(), 9, "{line}");
            Received {
                facility: fields[0].parse().unwrap(),
                severity: fields[1].parse().unwrap(),
                host: fields[2].to_owned(),
                program: fields[3].to_owned(),
                sdata: fields[4].to_owned(),
                pid: fields[5].to_owned(),
                msgid: fields[6].to_owned(),
                unix_time: fields[7].parse().unwrap(),
                message: fields[8].to_owned(),
            }
        })
        .collect()
}

/// How a `Reactive` server answers one request.
pub enum Reaction {
    /// A status, extra headers and a body.
    Answer(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// A status and a body that never ends (chunked), until shipper lets
    /// the connection go or a minute passes.
    Endless(u16),
}

impl Reaction {
    pub fn json(status: u16, body: &serde_json::Value) -> Reaction {
        let headers = vec![("Content-Type", "application/json".to_owned())];
        Reaction::Answer(status, headers, body.to_string().into_bytes())
    }
}

/// An HTTP server on 127.0.0.1:0 that answers each request as a function
/// of it and of how many came before (from 0), as a collector's API
/// answers what it was sent; it records every request.
pub struct Reactive {
    pub addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<crate::collector::Request>>>,
}

type React = dyn Fn(&crate::collector::Request, usize) -> Reaction + Send + Sync;

impl Reactive {
    pub fn start(
        react: impl Fn(&crate::collector::Request, usize) -> Reaction + Send + Sync + 'static,
    ) -> Reactive {
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let react: Arc<React> = Arc::new(react);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (recorded, react) = (Arc::clone(&recorded), Arc::clone(&react));
                std::thread::spawn(move || react_on(stream, &recorded, &*react));
            }
        });
        Reactive { addr, requests }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<crate::collector::Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn react_on(
    stream: std::net::TcpStream,
    recorded: &std::sync::Mutex<Vec<crate::collector::Request>>,
    react: &React,
) {
    use std::io::Write;
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(mut request) = crate::collector::read_request(&mut reader) {
        let reaction = {
            let mut recorded = recorded.lock().unwrap();
            let reaction = react(&request, recorded.len());
            let (Reaction::Answer(status, ..) | Reaction::Endless(status)) = &reaction;
            request.answered = Some(*status);
            recorded.push(request);
            reaction
        };
        let (status, headers, body) = match reaction {
            Reaction::Answer(status, headers, body) => (status, headers, body),
            Reaction::Endless(status) => {
                let head =
                    format!("HTTP/1.1 {status} Endless\r\nTransfer-Encoding: chunked\r\n\r\n");
                let deadline = Instant::now() + Duration::from_secs(60);
                let piece = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
                let mut written = writer.write_all(head.as_bytes());
                while written.is_ok() && Instant::now() < deadline {
                    written = writer.write_all(piece.as_bytes());
                }
                return;
            }
        };
        if crate::collector::answer(&mut writer, status, &headers, &body).is_err() {
            return;
        }
    }
}
