//! Starts the real `signet serve log` binary on a free loopback port, waits for `/healthz`,
//! appends an entry, checks the printed trusted root, and stops it by PID.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::SIGNET;
use signet_testkit::process::http;
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};
use std::time::Duration;

/// Starts `signet serve log` on a free port and waits for `/healthz`. Returns the process, its
/// port and the first two lines it printed.
fn spawn(dir: &std::path::Path, extra: &[&str]) -> (SignetProcess, u16, String) {
    let mut server = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(dir),
            extra,
            ready: &[Ready::Http("/healthz")],
            stdout: Stdout::Piped,
            ..Launch::new(&["serve", "log"])
        },
    );
    let port = server.port;
    let (_, body) = http(port, "GET", "/healthz", "").unwrap();
    assert_eq!(body.trim(), "ok");
    let mut lines = server.line();
    lines.push_str(&server.line());
    (server, port, lines)
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

    child.child().kill().unwrap();
    child.child().wait().unwrap();
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

    let (status, _) = child
        .terminate(Duration::from_secs(20))
        .expect("no exit within 20 s of SIGTERM");
    assert!(status.success(), "{status}");

    let (mut child, port, _) = spawn(dir.path(), &public);
    assert_eq!(
        std::fs::read(dir.path().join("trusted_root.json")).unwrap(),
        trusted_root
    );
    let (status, again) = http(port, "GET", "/api/v2/checkpoint", "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(again, checkpoint);
    child.child().kill().unwrap();
    child.child().wait().unwrap();
}
