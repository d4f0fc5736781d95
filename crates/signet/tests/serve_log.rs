//! Starts the real `signet serve log` binary on a free loopback port, waits for `/healthz`,
//! appends an entry, checks the printed trusted root, and stops it by PID.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
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

/// Starts `signet serve log` on a free port and waits for `/healthz`. Returns the child, its
/// port and the first two lines it printed.
fn spawn(dir: &std::path::Path, extra: &[&str]) -> (Child, u16, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "serve",
            "log",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = http(port, "GET", "/healthz", "") {
            assert_eq!(body.trim(), "ok");
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("signet serve log (pid {pid}) exited early: {status}");
        }
        assert!(Instant::now() < deadline, "no /healthz within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = String::new();
    for _ in 0..2 {
        stdout.read_line(&mut lines).unwrap();
    }
    (child, port, lines)
}

#[test]
fn serve_log_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, lines) = spawn(dir.path(), &[]);
    assert!(
        lines.contains(&format!("http://127.0.0.1:{port}")),
        "{lines}"
    );
    let trusted_root = dir.path().join("trusted_root.json");
    assert!(
        lines.contains(&trusted_root.display().to_string()),
        "{lines}"
    );
    let root =
        signet_formats::trust::TrustedRoot::from_json(&std::fs::read(&trusted_root).unwrap())
            .unwrap();
    assert_eq!(root.tlogs.len(), 2);
    assert_eq!(root.tlogs[0].base_url, format!("http://127.0.0.1:{port}"));

    let (status, body) = http(port, "GET", "/api/v1/log", "").unwrap();
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["treeSize"], 0);
    let (status, body) = http(port, "POST", "/api/v1/log/entries", "{").unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, checkpoint) = http(port, "GET", "/api/v2/checkpoint", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        checkpoint.starts_with(&format!("127.0.0.1:{port}\n0\n")),
        "{checkpoint}"
    );

    child.kill().unwrap();
    child.wait().unwrap();
}

/// SIGTERM stops the server cleanly; a restart on another port with the same public URL serves
/// the same logs under the same keys.
#[cfg(unix)]
#[test]
fn serve_log_sigterm_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let public = ["--public-url", "http://signet.test:8080"];
    let (mut child, port, lines) = spawn(dir.path(), &public);
    assert!(lines.contains("http://signet.test:8080"), "{lines}");
    let trusted_root = std::fs::read(dir.path().join("trusted_root.json")).unwrap();
    let (_, checkpoint) = http(port, "GET", "/api/v2/checkpoint", "").unwrap();
    assert!(
        checkpoint.starts_with("signet.test:8080\n0\n"),
        "{checkpoint}"
    );

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");

    let (mut child, port, _) = spawn(dir.path(), &public);
    assert_eq!(
        std::fs::read(dir.path().join("trusted_root.json")).unwrap(),
        trusted_root
    );
    let (status, again) = http(port, "GET", "/api/v2/checkpoint", "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(again, checkpoint);
    child.kill().unwrap();
    child.wait().unwrap();
}
