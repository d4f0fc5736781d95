//! Connection limits of the real servers (issue 14, "Connections"), through `signet up` on free
//! loopback ports with short timeouts: idle, half-sent-header and slow-body connections are
//! closed within their timeouts, and so is one that stops reading its answers; a request that
//! outlives its deadline gets 503; `/healthz` keeps answering while 300 idle connections are
//! open, even when started with a soft limit of 256 open files; under a hard limit of 256,
//! extra connections are refused and idle ones expire; a connection over the cap gets
//! `503 {"message":"too many connections"}`; stalled bodies cannot hold more memory than the
//! body buffer; SIGTERM ends the server although idle connections are open.
//!
//! Every loop is bounded by a count and a deadline. Timing bounds are generous (seconds) so
//! that a busy machine does not fail them; each is far below "never".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::SIGNET;
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};

/// A running `signet up`, killed on drop, its stdout in a file.
struct Up {
    process: SignetProcess,
    port: u16,
}

impl Up {
    /// `signet up` on a free loopback port with `extra` flags, started by `sh -c '<prefix>
    /// exec signet …'` (for `ulimit`). Returns once its banner is complete.
    fn start_with(shell_prefix: &str, extra: &[&str]) -> Up {
        let process = SignetProcess::start(
            SIGNET,
            Launch {
                extra,
                shell_prefix: Some(shell_prefix),
                ready: &[Ready::Stdout("signet: connections:")],
                stdout: Stdout::File,
                timeout: Duration::from_secs(60),
                ..Launch::new(&["up"])
            },
        );
        Up {
            port: process.port,
            process,
        }
    }

    fn start(extra: &[&str]) -> Up {
        Up::start_with("", extra)
    }

    fn banner(&self) -> String {
        self.process.stdout_text()
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// `GET /healthz` on a new connection: the status line and body, or why not.
    fn healthz(&self) -> Result<String, String> {
        let mut stream =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to end.
    fn terminate(mut self, within: Duration) -> Duration {
        let (_, took) = self
            .process
            .terminate(within)
            .unwrap_or_else(|| panic!("signet up still running {within:?} after SIGTERM"));
        took
    }
}

/// What a connection does until `within` has passed: the bytes it received and, if the
/// server closed it, after how long. Calls `tick` every 200 ms (to trickle bytes); a failed
/// write counts as closed.
fn watch(
    stream: &mut TcpStream,
    within: Duration,
    mut tick: impl FnMut(&mut TcpStream) -> std::io::Result<()>,
) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        if start.elapsed() >= within {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => return (received, Some(start.elapsed())),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if tick(stream).is_err() {
                    return (received, Some(start.elapsed()));
                }
            }
            Err(_) => return (received, Some(start.elapsed())),
        }
    }
    (received, None)
}

fn nothing(_: &mut TcpStream) -> std::io::Result<()> {
    Ok(())
}

/// Reads one whole answer (head and `content-length` body) from a kept-alive connection.
fn read_answer(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..1000 {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before a whole answer: {text}");
        received.extend_from_slice(&buf[..n]);
    }
    panic!("no whole answer");
}

const ENTRY_HEAD: &str = "POST /api/v1/log/entries HTTP/1.1\r\nHost: x\r\n\
                          Content-Type: application/json\r\n";

#[test]
fn idle_half_sent_and_slow_connections_are_closed_within_their_timeouts() {
    let idle = Duration::from_secs(4);
    let up = Up::start(&[
        "--http-idle-timeout",
        "4",
        "--http-header-timeout",
        "1",
        "--http-body-timeout",
        "1",
        "--http-request-timeout",
        "30",
    ]);
    let banner = up.banner();
    assert!(
        banner.contains("timeouts: idle 4 s, headers 1 s, body 1 s, request 30 s"),
        "{banner}"
    );
    let slack = Duration::from_secs(3);
    let mut measured = Vec::new();

    // A connection that never sends anything: closed after the idle timeout.
    let mut silent = up.connect();
    // A kept-alive connection after one answer: closed after the idle timeout.
    let mut kept = up.connect();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_answer(&mut kept).starts_with("HTTP/1.1 200"));
    // Half a header, then a byte every 200 ms (slowloris): closed after the header timeout,
    // well before the idle one.
    let mut trickling = up.connect();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (_, closed) = watch(&mut trickling, idle + slack, |s| s.write_all(b"X"));
    let closed = closed.expect("a trickled header was never closed");
    measured.push(("trickled header", closed));
    assert!(closed < idle, "trickled header closed after {closed:?}");

    // A body that trickles: 408 with a JSON message after the body timeout, then closed.
    let mut slow = up.connect();
    slow.write_all(format!("{ENTRY_HEAD}Content-Length: 1000\r\n\r\n{{").as_bytes())
        .unwrap();
    let (answer, closed) = watch(&mut slow, idle + slack, |s| s.write_all(b" "));
    let closed = closed.expect("a slow body was never closed");
    measured.push(("slow body", closed));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        answer.contains(r#"{"message":"request body timed out"}"#),
        "{answer}"
    );
    assert!(closed < idle, "slow body closed after {closed:?}");

    let (_, closed) = watch(&mut silent, idle + slack, nothing);
    let since_start = closed.expect("a silent connection was never closed");
    measured.push(("silent (after the other checks)", since_start));
    let (_, closed) = watch(&mut kept, idle + slack, nothing);
    measured.push((
        "kept alive (after the other checks)",
        closed.expect("a kept-alive connection was never closed"),
    ));

    // A fresh idle connection, timed on its own.
    let mut fresh = up.connect();
    let (_, closed) = watch(&mut fresh, idle + slack, nothing);
    let closed = closed.expect("an idle connection was never closed");
    measured.push(("idle", closed));
    assert!(
        closed + Duration::from_millis(100) >= idle,
        "idle connection closed early, after {closed:?}"
    );
    eprintln!("closed after: {measured:?}");
    // The server still answers.
    assert!(up.healthz().unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn a_client_that_stops_reading_its_answers_is_closed_after_the_idle_timeout() {
    let up = Up::start(&["--http-idle-timeout", "2"]);
    // One answer's size.
    let mut probe = up.connect();
    probe
        .write_all(b"GET /trusted_root.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let one = read_answer(&mut probe).len();
    drop(probe);
    // Enough pipelined requests that their answers overflow every socket buffer between the
    // server and this client, which then reads nothing.
    let count = (64 << 20) / one + 1;
    let mut stalled = up.connect();
    let requests = "GET /trusted_root.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(count);
    let writer = {
        let mut stream = stalled.try_clone().unwrap();
        std::thread::spawn(move || {
            // The server stops reading requests while its answers are stuck: this may fail.
            let _ = stream.write_all(requests.as_bytes());
        })
    };
    std::thread::sleep(Duration::from_secs(5));
    // Read what was sent before the server gave up: the connection ends well short of every
    // answer.
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let start = Instant::now();
    let ended = loop {
        assert!(start.elapsed() < Duration::from_secs(60), "still reading");
        match stalled.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => received += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(_) => break true,
        }
    };
    eprintln!(
        "a client that stopped reading got {received} of {} bytes",
        one * count
    );
    assert!(ended, "the connection was still open");
    assert!(received < one * count, "every answer arrived");
    writer.join().unwrap();
}

#[test]
fn a_request_past_its_deadline_gets_503() {
    let up = Up::start(&["--http-request-timeout", "1", "--http-body-timeout", "60"]);
    let mut slow = up.connect();
    slow.write_all(format!("{ENTRY_HEAD}Content-Length: 1000\r\n\r\n{{").as_bytes())
        .unwrap();
    let (answer, closed) = watch(&mut slow, Duration::from_secs(10), |s| s.write_all(b" "));
    let closed = closed.expect("a request past its deadline was never closed");
    eprintln!("request deadline: closed after {closed:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(
        answer.contains(r#"{"message":"request timed out"}"#),
        "{answer}"
    );
    assert!(closed < Duration::from_secs(5), "{closed:?}");
}

/// The hard limit on open files of processes started from here, when `sh` can tell.
fn hard_open_files_limit() -> Option<u64> {
    let out = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim() {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

#[test]
fn healthz_answers_while_300_idle_connections_are_open() {
    // Started with a soft limit of 256 open files, as many systems still default to; signet
    // raises it to the hard limit. Where the hard limit itself is low, there is nothing to
    // raise to: start without lowering it.
    let hard = hard_open_files_limit().unwrap_or(0);
    if hard < 1024 {
        eprintln!("skipped: a hard open-file limit of {hard} cannot hold 300 connections");
        return;
    }
    let prefix = if hard >= 2048 {
        "ulimit -Sn 256 &&"
    } else {
        eprintln!("hard open-file limit {hard}: not lowering the soft limit");
        ""
    };
    let up = Up::start_with(prefix, &["--http-idle-timeout", "60"]);
    let banner = up.banner();
    if hard >= 2048 {
        // Raised: 256 would have allowed 128.
        assert!(banner.contains("connections: at most 1024;"), "{banner}");
    }

    let mut idle: Vec<TcpStream> = (0..300).map(|_| up.connect()).collect();
    // Half of them start a request and stop half-way through the headers.
    for stream in idle.iter_mut().step_by(2) {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    }
    let start = Instant::now();
    let answer = up
        .healthz()
        .expect("/healthz with 300 idle connections open");
    eprintln!("/healthz with 300 idle connections: {:?}", start.elapsed());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    // None of the 300 was refused or closed.
    for stream in &mut idle {
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("an idle connection got {other:?}"),
        }
    }
}

#[test]
fn under_a_hard_limit_of_256_files_extra_connections_are_refused_and_idle_ones_expire() {
    // Nothing to raise to: connections get half the descriptors, the rest are refused.
    let up = Up::start_with("ulimit -n 256 &&", &["--http-idle-timeout", "2"]);
    let banner = up.banner();
    assert!(
        banner.contains("connections: at most 128 (not 1024: the open-file limit is 256)"),
        "{banner}"
    );
    let mut streams: Vec<TcpStream> = (0..300).map(|_| up.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let (mut held, mut refused, mut closed) = (0, 0, 0);
    for stream in &mut streams {
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 256];
        match stream.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => held += 1,
            Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 503 ") => refused += 1,
            _ => closed += 1,
        }
    }
    eprintln!(
        "300 connections at a limit of 256 files: {held} held, {refused} refused with 503, {closed} closed"
    );
    assert!(held <= 128, "{held} held");
    assert!(refused >= 1, "none refused with 503");
    // The held ones are idle: closed after 2 s, and the server answers again.
    let start = Instant::now();
    let mut last = String::new();
    for _ in 0..100 {
        last = up.healthz().unwrap_or_else(|e| e);
        if last.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{last}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(last.starts_with("HTTP/1.1 200"), "{last}");
    eprintln!("/healthz answered again after {:?}", start.elapsed());
    drop(streams);
}

#[test]
fn a_connection_over_the_cap_is_refused_with_503_and_the_server_stops_on_sigterm() {
    let up = Up::start(&["--http-max-connections", "20", "--http-idle-timeout", "60"]);
    assert!(
        up.banner().contains("connections: at most 20;"),
        "{}",
        up.banner()
    );
    let mut held: Vec<TcpStream> = (0..20).map(|_| up.connect()).collect();
    // Connections are accepted in order: the 21st is over the cap.
    let mut over = up.connect();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (answer, closed) = watch(&mut over, Duration::from_secs(10), nothing);
    let answer = String::from_utf8_lossy(&answer);
    assert!(closed.is_some(), "the refused connection stayed open");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        answer.ends_with(r#"{"message":"too many connections"}"#),
        "{answer}"
    );

    // The 20 are served.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_answer(&mut held[0]).starts_with("HTTP/1.1 200"));

    // One closes: a new connection gets in.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    for _ in 0..100 {
        last = up.healthz().unwrap_or_else(|e| e);
        if last.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room after a connection closed: {last}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(last.starts_with("HTTP/1.1 200"), "{last}");

    // SIGTERM ends the server although 19 connections are open and idle.
    let took = up.terminate(Duration::from_secs(15));
    eprintln!("SIGTERM with 19 idle connections: ended after {took:?}");
    drop(held);
}

#[test]
fn stalled_bodies_hold_at_most_the_body_buffer() {
    // A 1 MiB buffer, and a first request that fills all of it but 586 bytes and stalls.
    let up = Up::start(&[
        "--http-body-buffer",
        "1048576",
        "--http-body-timeout",
        "4",
        "--http-idle-timeout",
        "60",
    ]);
    let sent = 1_047_990usize;
    let mut hog = up.connect();
    hog.write_all(format!("{ENTRY_HEAD}Content-Length: 1048000\r\n\r\n").as_bytes())
        .unwrap();
    hog.write_all(&vec![b' '; sent]).unwrap();
    // Let the server read it all; the second request then has its whole body timeout to wait
    // through the rest of the first one's.
    std::thread::sleep(Duration::from_secs(2));

    // A second request's 1000 bytes do not fit: it waits until the first times out.
    let start = Instant::now();
    let mut second = up.connect();
    second
        .write_all(
            format!(
                "{ENTRY_HEAD}Content-Length: 1000\r\n\r\n{}",
                " ".repeat(1000)
            )
            .as_bytes(),
        )
        .unwrap();
    let answer = read_answer(&mut second);
    let waited = start.elapsed();
    eprintln!("second body waited {waited:?} for room");
    // It is answered as usual (blank JSON is a bad entry), not timed out.
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        waited >= Duration::from_secs(1),
        "answered after {waited:?}: not held back"
    );

    let (answer, closed) = watch(&mut hog, Duration::from_secs(10), nothing);
    assert!(closed.is_some());
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");

    // Once freed, small requests go through at once.
    let start = Instant::now();
    let mut third = up.connect();
    third
        .write_all(format!("{ENTRY_HEAD}Content-Length: 2\r\n\r\n{{}}").as_bytes())
        .unwrap();
    assert!(read_answer(&mut third).starts_with("HTTP/1.1 400 "));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
