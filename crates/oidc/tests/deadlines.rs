//! The verifier's discovery and JWKS fetches end at `fetch_timeout` in total (connect, headers
//! and body), against an issuer that answers a byte at a time forever: a read timeout alone
//! would never fire, since every byte resets it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::{good_claims, now};
use serde_json::json;
use signet_oidc::{IssuerConfig, OidcError, OidcVerifier, VerifierOptions};
use signet_testdata::slow::{Answer, SlowServer, Stall};

const DEADLINE: Duration = Duration::from_secs(1);

/// Verifies a token for `issuer` with a 1 s fetch deadline; returns the error and how long it
/// took.
async fn verify_against(issuer: &str) -> (OidcError, Duration) {
    let verifier = OidcVerifier::with_options(
        vec![IssuerConfig::email(issuer.to_owned())],
        reqwest::Client::new(),
        VerifierOptions {
            fetch_timeout: DEADLINE,
            ..VerifierOptions::default()
        },
    );
    let t = now();
    let token = common::es256_token_from_unpublished_key(
        &json!({"alg": "ES256", "kid": "k"}),
        &good_claims(issuer, t),
    );
    let start = Instant::now();
    let err = verifier.verify(&token, t).await.unwrap_err();
    (err, start.elapsed())
}

#[track_caller]
fn assert_gave_up(err: &OidcError, took: Duration, what: &str) {
    assert!(
        matches!(err, OidcError::IssuerUnavailable { what: w, .. } if *w == what),
        "{err}"
    );
    assert!(!err.is_client_fault());
    assert!(took >= DEADLINE - Duration::from_millis(100), "{took:?}");
    assert!(took < DEADLINE + Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn discovery_that_never_finishes_its_headers_ends_at_the_deadline() {
    let server = SlowServer::start(Stall::Headers);
    let (err, took) = verify_against(&server.url()).await;
    assert_gave_up(&err, took, "discovery document");
}

#[tokio::test]
async fn discovery_that_never_finishes_its_body_ends_at_the_deadline() {
    let server = SlowServer::start(Stall::Body);
    let (err, took) = verify_against(&server.url()).await;
    assert_gave_up(&err, took, "discovery document");
}

#[tokio::test]
async fn a_jwks_that_never_finishes_ends_at_the_deadline() {
    let issuer: std::sync::Arc<std::sync::OnceLock<String>> = std::sync::Arc::default();
    let named = issuer.clone();
    let server = SlowServer::start_with(Stall::Body, move |_, path| {
        let issuer = named.get()?;
        (path == "/.well-known/openid-configuration").then(|| {
            Answer::json(
                200,
                json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}).to_string(),
            )
        })
    });
    issuer.set(server.url()).unwrap();
    let (err, took) = verify_against(&server.url()).await;
    assert_gave_up(&err, took, "JWKS");
    assert_eq!(server.connections(), 2, "discovery, then the stalled JWKS");
}
