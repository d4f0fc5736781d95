//! The CA with the real `OidcVerifier` and signet-oidc's development issuer. (The end-to-end
//! test through signet-ct's CT log and the log server to a verified bundle is in
//! `crates/deploy/tests/ca_e2e.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use signet_testkit::ca::*;
use std::sync::Arc;

/// An issuer that cannot be reached is our side's fault: 503 with gRPC UNAVAILABLE, not 4xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_issuer_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dev = signet_oidc::DevIssuer::load_or_create(
        dir.path(),
        closed,
        signet_clock::Clock::system(),
        signet_clock::Randomness::system(),
    )
    .unwrap();
    let verifier =
        signet_oidc::OidcVerifier::new(vec![dev.issuer_config()], reqwest::Client::new());
    let ca = start_ca(Arc::new(verifier)).await;
    let token = dev
        .mint("alice@example.test", "sigstore", now(), 600)
        .unwrap();
    let key = SubjectKey::new();
    let response = reqwest::Client::new()
        .post(ca.url("/api/v2/signingCert"))
        .bearer_auth(&token)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 14, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("could not be checked"),
        "{body}"
    );
    ca.stop();
}
