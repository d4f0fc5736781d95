//! Child processes that never outlive their test, and waiting for them to be ready.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// A child process, killed (after a `SIGCONT`, so none is left stopped) and reaped when
/// dropped, also when the test panics. Derefs to the [`Child`].
#[derive(Debug)]
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard(child)
    }

    /// Sends the signal `name` (`TERM`, `STOP`, `CONT`, …) by PID with `kill`; whether `kill`
    /// succeeded.
    pub fn signal(&self, name: &str) -> bool {
        std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.0.id().to_string())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Sends `SIGTERM` and waits at most `within` for the process to end: its exit status and
    /// how long it took, or `None` if it still runs (it is killed on drop).
    pub fn terminate(&mut self, within: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {}", self.0.id());
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some((status, start.elapsed()));
            }
            if start.elapsed() > within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills (`SIGKILL`) the process now and reaps it.
    pub fn kill_now(&mut self) {
        self.signal("CONT");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.kill_now();
        }
    }
}

/// Waits (up to `limit`) until `done` holds, checking every 20 ms; panics with `what` if it
/// never does.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to 30 s) until `port` on 127.0.0.1 accepts connections while `child` runs, and
/// checks 100 ms later that `child` still runs (so that it, not another process, holds the
/// port). `false` if the child exited: a port picked free may be taken before the child binds
/// it, so the caller tries another.
pub fn wait_for_port(child: &mut Child, port: u16, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(100));
            return child.try_wait().unwrap().is_none();
        }
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1 with `Connection: close` and a JSON `body` (10 s
/// timeouts): the status and the body (not de-chunked), or the I/O error.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// [`http`] `GET` without a body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http(port, "GET", path, "")
}
