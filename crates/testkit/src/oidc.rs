//! A real OpenID provider on loopback: npm `oauth2-mock-server` run through
//! `scripts/oauth2-mock-server.mjs` (discovery, a JWKS, ID tokens from the password grant).
//!
//! The launcher comes from `SIGNET_OAUTH2_MOCK_SERVER` (`scripts/ensure-oauth2-mock-server`
//! prints it); without it [`MockProvider::start`] returns `None` and the test is skipped with a
//! note, unless `SIGNET_REQUIRE_OIDC=1`.

use crate::process::ChildGuard;
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

/// A running `oauth2-mock-server`; killed on drop.
#[derive(Debug)]
pub struct MockProvider {
    _child: ChildGuard,
    /// The issuer URL it printed (its origin, unless `--issuer` changed it).
    pub issuer: String,
}

impl MockProvider {
    /// Starts the provider on a free loopback port with the launcher's `extra_args` (e.g.
    /// `["--alg", "ES256"]`), or returns `None` (after a note) when `SIGNET_OAUTH2_MOCK_SERVER`
    /// is unset and `SIGNET_REQUIRE_OIDC` is not `1`.
    pub fn start(extra_args: &[&str]) -> Option<MockProvider> {
        let launcher = match std::env::var_os("SIGNET_OAUTH2_MOCK_SERVER") {
            Some(p) if !p.is_empty() => p,
            _ => {
                assert!(
                    !crate::required("SIGNET_REQUIRE_OIDC"),
                    "SIGNET_REQUIRE_OIDC=1 but SIGNET_OAUTH2_MOCK_SERVER is unset; run \
                     scripts/ensure-oauth2-mock-server"
                );
                eprintln!(
                    "skipping: SIGNET_OAUTH2_MOCK_SERVER is unset (export \
                     SIGNET_OAUTH2_MOCK_SERVER=$(./scripts/ensure-oauth2-mock-server) to run it)"
                );
                return None;
            }
        };
        let mut child = ChildGuard::new(
            Command::new("node")
                .arg(launcher)
                .args(["--port", "0", "--host", "127.0.0.1"])
                .args(extra_args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start node with the oauth2-mock-server launcher"),
        );
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line.trim().to_owned();
        assert!(issuer.starts_with("http://"), "launcher printed {line:?}");
        Some(MockProvider {
            _child: child,
            issuer,
        })
    }

    /// The listening origin (the issuer URL unless `--issuer` changed it).
    pub fn origin(&self) -> String {
        let url = url::Url::parse(&self.issuer).unwrap();
        url.origin().ascii_serialization()
    }

    /// An ID token from the password grant for `username` (`aud` is `sigstore`; a username
    /// with `@` is also the verified email), with claim and header overrides merged in (a
    /// `null` claim removes it).
    pub async fn id_token(
        &self,
        username: &str,
        claims: Option<Value>,
        header: Option<Value>,
    ) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "password")
            .append_pair("username", username)
            .append_pair("password", "unused")
            .append_pair("client_id", "sigstore");
        if let Some(c) = claims {
            form.append_pair("signet_claims", &c.to_string());
        }
        if let Some(h) = header {
            form.append_pair("signet_header", &h.to_string());
        }
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.origin()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.unwrap();
        body["id_token"].as_str().unwrap().to_owned()
    }
}
