//! A collector that accepts every request and keeps nothing, for
//! `bench/collectors`: it answers each API's success as that API does
//! (`/_bulk` `{"errors":false}`, `/v1/logs` an empty export answer, Loki's
//! push 204, Splunk HEC `{"text":"Success","code":0}`, anything else 200),
//! so that a benchmark measures shipper, not the collector.
//!
//!     cargo run --release --example discard_collector -- PORT

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "0".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind");
    println!("{}", listener.local_addr().expect("address").port());
    for stream in listener.incoming().map_while(Result::ok) {
        std::thread::spawn(move || serve(stream));
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::with_capacity(1 << 20, stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut body = vec![0u8; 1 << 20];
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        while length > 0 {
            let chunk = length.min(body.len());
            if reader.read_exact(&mut body[..chunk]).is_err() {
                return;
            }
            length -= chunk;
        }
        if writer.write_all(answer(&path)).is_err() {
            return;
        }
    }
}

/// The success answer of the API at `path`.
fn answer(path: &str) -> &'static [u8] {
    if path.contains("/_bulk") {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"errors\":false}"
    } else if path.starts_with("/v1/logs") {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
    } else if path.starts_with("/loki/") {
        b"HTTP/1.1 204 No Content\r\n\r\n"
    } else if path.starts_with("/services/collector") {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"text\":\"Success\",\"code\":0}"
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    }
}
