//! HTTP/1.1 load clients for reload tests, written on plain sockets so that nothing retries
//! behind the test's back: a request counts as failed if its connection is refused, reset or
//! closed before a whole response arrives. A client either opens a new connection per request
//! (as Python's urllib does) or keeps its connection alive until the server answers with
//! `Connection: close` (as http.client or a browser does).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::helpers::ADMIN_KEY;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// A new connection per request (`Connection: close`).
    New,
    /// One connection reused until the server closes it.
    KeepAlive,
}

/// What one client thread saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ok: usize,
    pub failures: Vec<String>,
    /// The `jobs[0].id` of every successful `POST /api/tools`.
    pub jobs: Vec<String>,
}

pub struct Client {
    pub port: u16,
    pub connection: Connection,
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    /// Pauses between requests, used in turn (a kept-alive connection sits idle meanwhile).
    pub think: Vec<Duration>,
    /// Sends the head and half the body, waits this long, then sends the rest: the server
    /// holds a half-read request meanwhile.
    pub slow_body: Option<Duration>,
}

struct Response {
    status: u16,
    close: bool,
    body: Vec<u8>,
}

impl Client {
    fn request(&self, close: bool) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-api-key: {ADMIN_KEY}\r\n",
            self.method, self.path, self.port
        );
        if close {
            head.push_str("Connection: close\r\n");
        }
        let body = self.body.as_deref().unwrap_or("");
        if self.body.is_some() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body);
        head.into_bytes()
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, String> {
        let s =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(BufReader::new(s))
    }

    /// Runs until `stop`; then returns what it saw.
    pub fn spawn(self, stop: Arc<AtomicBool>) -> JoinHandle<Outcome> {
        std::thread::spawn(move || {
            let mut out = Outcome::default();
            let mut conn: Option<BufReader<TcpStream>> = None;
            let (close_req, keep_req) = (self.request(true), self.request(false));
            let mut turn = 0;
            while !stop.load(Ordering::SeqCst) {
                let reused = conn.is_some();
                let result = match conn.take() {
                    Some(c) => Ok(c),
                    None => self.connect(),
                }
                .and_then(|mut c| {
                    let req = match self.connection {
                        Connection::New => &close_req,
                        Connection::KeepAlive => &keep_req,
                    };
                    let r = exchange(&mut c, req, self.split(req))?;
                    if self.connection == Connection::KeepAlive && !r.close {
                        conn = Some(c);
                    }
                    Ok(r)
                });
                match result {
                    Ok(r) if r.status == 200 => {
                        out.ok += 1;
                        if self.method == "POST" {
                            match job_id(&r.body) {
                                Some(id) => out.jobs.push(id),
                                None => out.failures.push(format!(
                                    "200 without a job: {}",
                                    String::from_utf8_lossy(&r.body)
                                )),
                            }
                        }
                    }
                    Ok(r) => out.failures.push(format!(
                        "{} {}: {} {}",
                        self.method,
                        self.path,
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    )),
                    Err(e) => out.failures.push(format!(
                        "{} {} ({} connection): {e}",
                        self.method,
                        self.path,
                        if reused { "kept-alive" } else { "new" }
                    )),
                }
                if !self.think.is_empty() {
                    std::thread::sleep(self.think[turn % self.think.len()]);
                    turn += 1;
                }
            }
            out
        })
    }
}

impl Client {
    /// Where to pause in `req`, and for how long.
    fn split(&self, req: &[u8]) -> Option<(usize, Duration)> {
        let pause = self.slow_body?;
        let body = self.body.as_ref()?;
        Some((req.len() - body.len() / 2, pause))
    }
}

fn job_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["jobs"][0]["id"].as_str().map(str::to_string)
}

/// Sends one request and reads one whole response (`Content-Length` or read to the end).
fn exchange(
    c: &mut BufReader<TcpStream>,
    req: &[u8],
    split: Option<(usize, Duration)>,
) -> Result<Response, String> {
    let (at, pause) = split.unwrap_or((req.len(), Duration::ZERO));
    c.get_mut()
        .write_all(&req[..at])
        .map_err(|e| format!("sending: {e}"))?;
    if at < req.len() {
        std::thread::sleep(pause);
        c.get_mut()
            .write_all(&req[at..])
            .map_err(|e| format!("sending the rest of the body: {e}"))?;
    }
    let mut line = String::new();
    let n = c
        .read_line(&mut line)
        .map_err(|e| format!("reading the status line: {e}"))?;
    if n == 0 {
        return Err("closed without a response".into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut close) = (None, false);
    loop {
        line.clear();
        let n = c
            .read_line(&mut line)
            .map_err(|e| format!("reading headers: {e}"))?;
        if n == 0 {
            return Err("closed within the headers".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "transfer-encoding" => return Err(format!("unexpected transfer-encoding {value}")),
            _ => {}
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            c.read_exact(&mut body)
                .map_err(|e| format!("reading a {n}-byte body: {e}"))?;
        }
        None => {
            c.read_to_end(&mut body)
                .map_err(|e| format!("reading the body: {e}"))?;
            close = true;
        }
    }
    Ok(Response {
        status,
        close,
        body,
    })
}
