//! Helpers shared by the OIDC integration tests.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

pub fn decode_part(part: &str) -> Map<String, Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A token signed with a fresh P-256 key that no issuer publishes.
pub fn es256_token_from_unpublished_key(header: &Value, claims: &Value) -> String {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let sig = key.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Claims a configured email issuer would accept at `now`.
pub fn good_claims(issuer: &str, now: i64) -> Value {
    json!({
        "iss": issuer, "sub": "alice@example.com", "aud": "sigstore",
        "iat": now, "nbf": now, "exp": now + 600,
        "email": "alice@example.com", "email_verified": true,
    })
}

/// A URL on loopback where nothing listens.
pub fn closed_loopback_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// npm `oauth2-mock-server` run through scripts/oauth2-mock-server.mjs; killed on drop.
pub struct MockProvider {
    child: Child,
    pub issuer: String,
}

impl MockProvider {
    /// Starts the provider, or returns `None` (after printing why) when
    /// `SIGNET_OAUTH2_MOCK_SERVER` is unset; panics instead when `SIGNET_REQUIRE_OIDC=1`.
    pub fn start(extra_args: &[&str]) -> Option<Self> {
        let Some(launcher) = std::env::var_os("SIGNET_OAUTH2_MOCK_SERVER") else {
            assert!(
                std::env::var("SIGNET_REQUIRE_OIDC").as_deref() != Ok("1"),
                "SIGNET_REQUIRE_OIDC=1 but SIGNET_OAUTH2_MOCK_SERVER is unset; run \
                 scripts/ensure-oauth2-mock-server"
            );
            eprintln!(
                "skipping: SIGNET_OAUTH2_MOCK_SERVER is unset (set it to the path \
                 scripts/ensure-oauth2-mock-server prints to run the real-provider tests)"
            );
            return None;
        };
        let mut child = Command::new("node")
            .arg(launcher)
            .args(["--port", "0", "--host", "127.0.0.1"])
            .args(extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node with the oauth2-mock-server launcher");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line.trim().to_owned();
        assert!(issuer.starts_with("http://"), "launcher printed {line:?}");
        Some(Self { child, issuer })
    }

    /// The listening origin (the issuer URL unless `--issuer` changed it).
    pub fn origin(&self) -> String {
        let url = url::Url::parse(&self.issuer).unwrap();
        url.origin().ascii_serialization()
    }

    /// An ID token from the password grant for `username`, with claim and header overrides.
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

impl Drop for MockProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
