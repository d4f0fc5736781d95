//! When the development OIDC issuer runs (issue 14, "Safe defaults"), through the real
//! `signet up` and `signet serve ca` on free loopback ports: by default only when the listen
//! address and the public URL are loopback and no real issuer is configured, otherwise only
//! with `--dev-oidc`; next to a real issuer it is never the signing config's identity
//! provider; the banner says plainly when it is on.
//!
//! The real issuers are URLs under `example.internal` that are never contacted: the CA fetches
//! an issuer's keys only when a token from it comes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::{SIGNET, free_port};
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};

const REAL: &str = "https://accounts.example.internal";
const PROXIED: &str = "https://sigstore.example.internal";

/// A running `signet up` or `signet serve ca`, killed on drop, its stdout in a file.
struct Server {
    process: SignetProcess,
    port: u16,
}

impl Server {
    /// Starts `signet <command> --listen 127.0.0.1:<free> --data <tmp>/data <extra>` and waits
    /// until its banner is complete (the connection-limits line is printed last).
    fn start(command: &[&str], extra: &[&str]) -> Server {
        let process = SignetProcess::start(
            SIGNET,
            Launch {
                extra,
                ready: &[Ready::Stdout("signet: connections:")],
                stdout: Stdout::File,
                timeout: Duration::from_secs(60),
                ..Launch::new(command)
            },
        );
        Server {
            port: process.port,
            process,
        }
    }

    fn up(extra: &[&str]) -> Server {
        Server::start(&["up"], extra)
    }

    fn banner(&self) -> String {
        self.process.stdout_text()
    }

    fn data(&self) -> PathBuf {
        self.process.data().to_owned()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The status of `GET path`, over one plain HTTP/1.1 connection.
    fn status(&self, path: &str) -> u16 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
    }

    /// The URLs of `signing_config.json`'s `oidcUrls`, in order.
    fn oidc_urls(&self) -> Vec<String> {
        let config: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.data().join("signing_config.json")).unwrap(),
        )
        .unwrap();
        config["oidcUrls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["url"].as_str().unwrap().to_owned())
            .collect()
    }
}

const DISCOVERY: &str = "/oidc/.well-known/openid-configuration";

fn assert_dev_issuer_off(server: &Server) {
    assert_eq!(server.status(DISCOVERY), 404, "{}", server.banner());
    assert_eq!(server.status("/healthz"), 200);
    let banner = server.banner();
    assert!(banner.contains("development OIDC issuer: off"), "{banner}");
    assert!(
        !banner.contains("DEVELOPMENT OIDC issuer is ON"),
        "{banner}"
    );
    assert!(!banner.contains("--dev-subject"), "{banner}");
}

fn assert_dev_issuer_on(server: &Server, issuer: &str) {
    assert_eq!(server.status(DISCOVERY), 200, "{}", server.banner());
    let banner = server.banner();
    assert!(
        banner.contains(&format!(
            "WARNING: the DEVELOPMENT OIDC issuer is ON at {issuer}"
        )),
        "{banner}"
    );
    assert!(banner.contains("token for ANY identity"), "{banner}");
}

#[test]
fn on_loopback_with_no_other_issuer_the_dev_issuer_runs() {
    let server = Server::up(&[]);
    let issuer = format!("{}/oidc", server.base());
    assert_dev_issuer_on(&server, &issuer);
    assert!(server.banner().contains("--no-dev-oidc turns it off"));
    assert_eq!(server.oidc_urls(), [issuer]);

    // A public URL named `localhost` is loopback too.
    let port = free_port();
    let server = Server::up(&["--public-url", &format!("http://localhost:{port}")]);
    assert_eq!(server.status(DISCOVERY), 200, "{}", server.banner());
    assert_eq!(
        server.oidc_urls(),
        [format!("http://localhost:{port}/oidc")]
    );
}

#[test]
fn behind_a_proxy_the_dev_issuer_is_off() {
    // Listening on loopback behind a TLS proxy on the same host.
    let server = Server::up(&["--public-url", PROXIED]);
    assert_dev_issuer_off(&server);
    let banner = server.banner();
    assert!(
        banner.contains("the public URL is not loopback"),
        "{banner}"
    );
    assert!(banner.contains("WARNING: no OIDC issuer"), "{banner}");
    assert!(server.oidc_urls().is_empty());
}

#[test]
fn with_a_real_issuer_the_dev_issuer_is_off() {
    let server = Server::up(&["--public-url", PROXIED, "--oidc-issuer", REAL]);
    assert_dev_issuer_off(&server);
    assert!(server.banner().contains("a real issuer is configured"));
    assert!(
        server
            .banner()
            .contains(&format!("accepting tokens from {REAL}"))
    );
    assert_eq!(server.oidc_urls(), [REAL]);

    // Even when everything else is loopback.
    let server = Server::up(&["--oidc-issuer", REAL]);
    assert_dev_issuer_off(&server);
    assert_eq!(server.oidc_urls(), [REAL]);
}

#[test]
fn with_an_oidc_config_the_dev_issuer_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fulcio-config.json");
    let actions = "https://token.actions.example.internal";
    std::fs::write(
        &config,
        serde_json::json!({"OIDCIssuers": {actions: {
            "IssuerURL": actions, "ClientID": "sigstore", "Type": "github-workflow"}}})
        .to_string(),
    )
    .unwrap();
    let server = Server::up(&["--oidc-config", config.to_str().unwrap()]);
    assert_dev_issuer_off(&server);
    assert_eq!(server.oidc_urls(), [actions]);
}

#[test]
fn with_dev_oidc_next_to_a_real_issuer_the_real_one_comes_first() {
    let server = Server::up(&["--oidc-issuer", REAL, "--dev-oidc"]);
    let issuer = format!("{}/oidc", server.base());
    assert_dev_issuer_on(&server, &issuer);
    assert!(server.banner().contains("(--dev-oidc)"));
    // The signing config names the real issuer only: clients never log in with the
    // development one by accident.
    assert_eq!(server.oidc_urls(), [REAL]);
    // The CA accepts both.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/v2/configuration HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains(REAL) && answer.contains(&issuer),
        "{answer}"
    );

    // Forced on behind a proxy, it is named after the public URL.
    let server = Server::up(&["--public-url", PROXIED, "--dev-oidc"]);
    assert_dev_issuer_on(&server, &format!("{PROXIED}/oidc"));
    assert_eq!(server.oidc_urls(), [format!("{PROXIED}/oidc")]);
}

#[test]
fn no_dev_oidc_turns_it_off_on_loopback() {
    let server = Server::up(&["--no-dev-oidc"]);
    assert_dev_issuer_off(&server);
    assert!(server.banner().contains("(--no-dev-oidc)"));
    assert!(server.oidc_urls().is_empty());
}

#[test]
fn serve_ca_lists_a_real_issuer_before_the_dev_issuer() {
    let server = Server::start(&["serve", "ca"], &["--oidc-issuer", REAL, "--dev-oidc"]);
    let issuer = format!("{}/oidc", server.base());
    assert_eq!(server.status(DISCOVERY), 200);
    let banner = server.banner();
    let accepted: Vec<&str> = banner
        .lines()
        .filter_map(|l| l.strip_prefix("signet: accepting tokens from "))
        .collect();
    assert_eq!(accepted, [REAL, issuer.as_str()], "{banner}");
    assert!(
        banner.contains(&format!(
            "WARNING: the DEVELOPMENT OIDC issuer is ON at {issuer}"
        )),
        "{banner}"
    );

    // Without --dev-oidc, only the real one.
    let server = Server::start(&["serve", "ca"], &["--oidc-issuer", REAL]);
    assert_eq!(server.status(DISCOVERY), 404);
    assert!(!server.banner().contains("DEVELOPMENT"));
}
