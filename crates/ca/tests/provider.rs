//! The CA with a real OpenID provider: npm `oauth2-mock-server` on loopback (discovery, RS256
//! JWKS, password-grant ID tokens, run through scripts/oauth2-mock-server.mjs), checked by the
//! real `OidcVerifier`. Skipped with a note when `SIGNET_OAUTH2_MOCK_SERVER` is unset; failing
//! when `SIGNET_REQUIRE_OIDC=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{Value, json};
use signet_oidc::IssuerConfig;
use signet_x509::{ChainPurpose, SubjectAlternativeName, verify_chain, verify_embedded_scts};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider() -> Option<Provider> {
    let Some(launcher) = std::env::var_os("SIGNET_OAUTH2_MOCK_SERVER") else {
        assert!(
            std::env::var("SIGNET_REQUIRE_OIDC").as_deref() != Ok("1"),
            "SIGNET_REQUIRE_OIDC=1 but SIGNET_OAUTH2_MOCK_SERVER is unset"
        );
        eprintln!(
            "skipping: SIGNET_OAUTH2_MOCK_SERVER is unset (scripts/ensure-oauth2-mock-server prints it)"
        );
        return None;
    };
    let mut child = Command::new("node")
        .arg(launcher)
        .args(["--port", "0", "--host", "127.0.0.1"])
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
    Some(Provider { child, issuer })
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Provider {
    async fn id_token(&self, username: &str, claims: Option<Value>) -> String {
        let claims = claims.map(|c| c.to_string());
        let mut pairs = vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", "unused"),
            ("client_id", "sigstore"),
        ];
        if let Some(c) = &claims {
            pairs.push(("signet_claims", c));
        }
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.issuer.trim_end_matches('/')))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&pairs))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.unwrap();
        body["id_token"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_a_real_provider() {
    let Some(provider) = start_provider() else {
        return;
    };
    let verifier = signet_oidc::OidcVerifier::new(
        vec![IssuerConfig::email(provider.issuer.clone())],
        reqwest::Client::new(),
    );
    let ca = start_ca(Arc::new(verifier)).await;
    let url = ca.url("/api/v2/signingCert");
    let client = reqwest::Client::new();
    let email = "alice@example.com";
    let key = SubjectKey::new();

    // Form (a), as sigstore-python: CSR + Authorization: Bearer.
    let token = provider.id_token(email, None).await;
    let response = client
        .post(&url)
        .bearer_auth(&token)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let chain = chain_of(&response.json().await.unwrap());
    assert_eq!(
        chain[0].subject_alt_names().unwrap(),
        vec![SubjectAlternativeName::Email(email.into())]
    );
    assert_eq!(
        chain[0].fulcio_identity().unwrap().issuer.as_deref(),
        Some(provider.issuer.as_str())
    );
    verify_chain(&chain[0], &chain[1..], now(), ChainPurpose::CodeSigning).unwrap();
    verify_embedded_scts(&chain[0], &chain[1], &ca.ct_logs()).unwrap();

    // Form (b), as cosign and sigstore-js: public key + proof of possession.
    let response = client
        .post(&url)
        .json(&pop_request(
            &token,
            &key.pem(),
            &key.sign(email.as_bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Refused tokens: 401 with the reason.
    let cases = [
        (json!({"exp": 1}), "exp"),
        (json!({"aud": "other"}), "aud"),
        (json!({"email_verified": false}), "email"),
        (json!({"iss": "https://not-configured.test"}), "issuer"),
    ];
    for (claims, needle) in cases {
        let bad = provider.id_token(email, Some(claims.clone())).await;
        let response = client
            .post(&url)
            .bearer_auth(&bad)
            .json(&csr_request(&key.csr()))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 401, "{claims}: {body}");
        assert_eq!(body["code"], 16);
        let message = body["message"].as_str().unwrap().to_ascii_lowercase();
        assert!(message.contains(needle), "{claims}: {message}");
    }
    // A tampered token.
    let mut forged = token.clone();
    forged.truncate(forged.len() - 6);
    forged.push_str("AAAAAA");
    let response = client
        .post(&url)
        .bearer_auth(&forged)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    ca.stop();
}
