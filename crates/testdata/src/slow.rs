//! A loopback HTTP server that never finishes its answer, to test that clients give up at a
//! total deadline (connect + headers + body) rather than waiting on a read timeout that each
//! trickled byte resets.
//!
//! ```
//! use signet_testdata::slow::{SlowServer, Stall};
//! let server = SlowServer::start(Stall::Body);
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a stalling connection sends its next byte: often enough that any read timeout
/// longer than this never fires.
pub const TRICKLE_INTERVAL: Duration = Duration::from_millis(100);

/// Where a [`SlowServer`] stalls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Sends `HTTP/1.1 200 OK` and then one header line a byte at a time, never ending it.
    Headers,
    /// Sends a whole head (`200`, JSON, chunked, no length to refuse early) and then the body
    /// a byte (one chunk) at a time, never finishing it.
    Body,
}

/// A complete answer the server gives at once instead of stalling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header lines besides `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// The same answer with one more header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Route = dyn Fn(&str, &str) -> Option<Answer> + Send + Sync;

/// A server on 127.0.0.1 that stalls every request (or every request its route does not
/// answer). Stopped, with its connections, when dropped.
pub struct SlowServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl SlowServer {
    /// A server that stalls every request as `stall` says.
    pub fn start(stall: Stall) -> SlowServer {
        Self::start_with(stall, |_, _| None)
    }

    /// A server that answers a request at once when `route(method, path_and_query)` gives an
    /// answer, and stalls it as `stall` says otherwise.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub fn start_with(
        stall: Stall,
        route: impl Fn(&str, &str) -> Option<Answer> + Send + Sync + 'static,
    ) -> SlowServer {
        #[allow(clippy::expect_used)] // a test helper: no port means no test
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        #[allow(clippy::expect_used)]
        let addr = listener.local_addr().expect("the bound address");
        #[allow(clippy::expect_used)]
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let route: Arc<Route> = Arc::new(route);
        let accept = {
            let (stop, connections, threads) = (stop.clone(), connections.clone(), threads.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            connections.fetch_add(1, Ordering::SeqCst);
                            let (stop, route) = (stop.clone(), route.clone());
                            let handle =
                                std::thread::spawn(move || serve(stream, stall, &*route, &stop));
                            if let Ok(mut threads) = threads.lock() {
                                threads.push(handle);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        SlowServer {
            addr,
            stop,
            connections,
            threads,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for SlowServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let handles = match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(_) => Vec::new(),
        };
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// Reads one request head (and a `Content-Length` body), then answers or stalls until the
/// peer goes away or the server stops.
fn serve(mut stream: TcpStream, stall: Stall, route: &Route, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(TRICKLE_INTERVAL));
    let Some((method, target, body_len)) = read_head(&mut stream, stop) else {
        return;
    };
    skip_body(&mut stream, body_len, stop);
    if let Some(answer) = route(&method, &target) {
        let mut text = format!("HTTP/1.1 {} X\r\n", answer.status);
        for (name, value) in &answer.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            answer.body.len(),
            answer.body
        ));
        let _ = stream.write_all(text.as_bytes());
        return;
    }
    let (head, byte): (&[u8], &[u8]) = match stall {
        Stall::Headers => (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a"),
        Stall::Body => (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n1\r\n[\r\n",
            b"1\r\n \r\n",
        ),
    };
    if stream.write_all(head).is_err() {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(TRICKLE_INTERVAL);
        if stream
            .write_all(byte)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

/// The method, target and `Content-Length` of the request head; `None` if the peer left or
/// the server stopped first.
fn read_head(stream: &mut TcpStream, stop: &AtomicBool) -> Option<(String, String, usize)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stop.load(Ordering::SeqCst) || head.len() > 64 * 1024 {
            return None;
        }
        match stream.read(&mut byte) {
            Ok(0) => return None,
            Ok(_) => head.extend_from_slice(&byte),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let body_len = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    Some((method, target, body_len))
}

fn skip_body(stream: &mut TcpStream, mut left: usize, stop: &AtomicBool) {
    let mut buf = [0u8; 4096];
    while left > 0 && !stop.load(Ordering::SeqCst) {
        let want = left.min(buf.len());
        let Some(chunk) = buf.get_mut(..want) else {
            return;
        };
        match stream.read(chunk) {
            Ok(0) => return,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}
