//! A real HTTP server on 127.0.0.1:0 for the HTTP sink's tests: it answers
//! from a script, records every request, and can accept a connection and
//! never answer.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Fast retries, so that the tests spend their time on behaviour.
pub const QUICK_RETRIES: [&str; 4] = ["--retry-initial", "5ms", "--retry-max-delay", "20ms"];

/// How the collector answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra headers, and a body.
    Status(u16, Vec<(&'static str, String)>, &'static str),
    /// Read the request, then say nothing, ever.
    Silent,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(200, Vec::new(), "")
    }

    pub fn status(code: u16) -> Reply {
        Reply::Status(code, Vec::new(), "")
    }
}

/// One request as the collector saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as sent (still compressed, if it was).
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status it was answered with; `None` if it never was.
    pub answered: Option<u16>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The events in the body, gunzipped if need be, from NDJSON or an array.
    pub fn events(&self) -> Vec<Value> {
        let mut body = self.body.clone();
        if self.header("content-encoding") == Some("gzip") {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .unwrap();
            body = plain;
        }
        if body.first() == Some(&b'[') {
            let array: Vec<Value> = serde_json::from_slice(&body).unwrap();
            return array;
        }
        crate::common::parse_events(&body)
    }
}

pub struct Collector {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Collector {
    /// Answers with `script` in order, then with `then` forever.
    pub fn start(script: Vec<Reply>, then: Reply) -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (recorded, script, then) =
                    (Arc::clone(&recorded), Arc::clone(&script), then.clone());
                std::thread::spawn(move || serve(stream, &recorded, &script, &then));
            }
        });
        Collector { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}/ingest", self.addr)
    }

    /// The `--sink` value that ships to it.
    pub fn sink(&self) -> String {
        format!("http={}", self.url())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Every event of every request answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|request| {
                request
                    .answered
                    .is_some_and(|status| (200..300).contains(&status))
            })
            .flat_map(Request::events)
            .collect()
    }
}

/// Serves requests on one connection until the client closes it.
fn serve(
    stream: TcpStream,
    recorded: &Mutex<Vec<Request>>,
    script: &Mutex<VecDeque<Reply>>,
    then: &Reply,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(mut request) = read_request(&mut reader) {
        let reply = script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| then.clone());
        let Reply::Status(code, headers, body) = reply else {
            recorded.lock().unwrap().push(request);
            // Hold the connection open and never answer.
            std::thread::sleep(Duration::from_secs(3600));
            return;
        };
        request.answered = Some(code);
        recorded.lock().unwrap().push(request);
        if answer(&mut writer, code, &headers, body.as_bytes()).is_err() {
            return;
        }
    }
}

/// Writes one whole answer: the status, `headers` and `body`.
pub fn answer(
    writer: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)
}

pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        path,
        headers,
        body,
        at: Instant::now(),
        answered: None,
    })
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/ingest")
}
