//! The signing client's HTTP client still verifies TLS servers although it loads the platform
//! roots lazily: a server with a self-signed certificate (`openssl s_server` on loopback) is
//! refused, and nothing is sent to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use signet_testkit::ChildGuard;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn a_self_signed_server_is_refused() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: no openssl");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let port = signet_testkit::free_port();
    let _server = ChildGuard::new(
        Command::new("openssl")
            .args(["s_server", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = signet_sign::SigningClient::default_http().unwrap();
    let err = http
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await
        .expect_err("a self-signed certificate must not be trusted");
    let chain = {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
}
