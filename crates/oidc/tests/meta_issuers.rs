//! Meta issuers (Fulcio's `MetaIssuers`) in `OidcVerifier`: a token from a real OpenID provider
//! (npm `oauth2-mock-server` on loopback, issuer `http://127.0.0.1:PORT`) verified through the
//! pattern `http://127.0.0.1:*`; exact issuers winning; issuers the pattern does not match as a
//! whole refused before anything is fetched; the bounded LRU of matched issuers. The tests that
//! need the provider are skipped with a note when `SIGNET_OAUTH2_MOCK_SERVER` is unset; failing
//! when `SIGNET_REQUIRE_OIDC=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{closed_loopback_url, es256_token_from_unpublished_key, good_claims, now};
use serde_json::json;
use signet_oidc::{
    IssuerConfig, IssuerType, OidcError, OidcVerifier, VerifierOptions, parse_fulcio_config,
};
use signet_testkit::oidc::MockProvider;

const LOOPBACK_ANY_PORT: &str = "http://127.0.0.1:*";

/// A verifier from a Fulcio configuration whose only issuer is the meta issuer
/// `http://127.0.0.1:*` of type email with client ID `client_id`.
fn meta_verifier(client_id: &str, options: VerifierOptions) -> OidcVerifier {
    let json = json!({
        "MetaIssuers": {
            LOOPBACK_ANY_PORT: {"ClientID": client_id, "Type": "email"}
        }
    });
    let issuers = parse_fulcio_config(json.to_string().as_bytes()).unwrap();
    assert!(issuers.iter().all(IssuerConfig::is_meta));
    OidcVerifier::with_options(issuers, reqwest::Client::new(), options)
}

#[tokio::test]
async fn token_from_a_matching_issuer_is_verified_with_the_meta_settings() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    assert!(
        mock.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        mock.issuer
    );
    let verifier = meta_verifier("sigstore", VerifierOptions::default());
    let token = mock.id_token("alice@example.com", None, None).await;
    let verified = verifier.verify(&token, now()).await.unwrap();
    assert_eq!(verified.subject, "alice@example.com");
    // The concrete issuer, with the meta issuer's type and client ID.
    let mut expected = IssuerConfig::email(mock.issuer.clone());
    expected.client_id = "sigstore".to_owned();
    assert_eq!(verified.issuer, expected);
    assert!(!verified.issuer.is_meta());
    assert_eq!(verifier.cached_meta_issuers(), vec![mock.issuer.clone()]);
    // The listed configuration keeps the pattern.
    let listed: Vec<&str> = verifier.issuers().map(|i| i.issuer_url.as_str()).collect();
    assert_eq!(listed, [LOOPBACK_ANY_PORT]);

    // Keys cached: a second token verifies; the checks of exact issuers still apply.
    let token = mock.id_token("bob@example.com", None, None).await;
    assert_eq!(
        verifier.verify(&token, now()).await.unwrap().subject,
        "bob@example.com"
    );
    let expired = mock
        .id_token("alice@example.com", Some(json!({"exp": 1_000})), None)
        .await;
    assert!(matches!(
        verifier.verify(&expired, now()).await,
        Err(OidcError::Expired { .. })
    ));
    let unverified = mock
        .id_token(
            "alice@example.com",
            Some(json!({"email_verified": false})),
            None,
        )
        .await;
    assert!(matches!(
        verifier.verify(&unverified, now()).await,
        Err(OidcError::EmailNotVerified)
    ));
    let forged = es256_token_from_unpublished_key(
        &json!({"alg": "ES256", "typ": "JWT", "kid": "forged"}),
        &good_claims(&mock.issuer, now()),
    );
    assert!(matches!(
        verifier.verify(&forged, now()).await,
        Err(OidcError::UnknownKeyId { .. })
    ));

    // The meta issuer's client ID is the audience required.
    let other = meta_verifier("someone-else", VerifierOptions::default());
    let err = other.verify(&token, now()).await.unwrap_err();
    assert!(
        matches!(&err, OidcError::WrongAudience { expected, .. } if expected == "someone-else"),
        "{err}"
    );
}

#[tokio::test]
async fn an_exact_issuer_wins_over_a_matching_pattern() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let mut meta = IssuerConfig::email(LOOPBACK_ANY_PORT.to_owned());
    meta.client_id = "someone-else".to_owned();
    meta.issuer_type = IssuerType::Kubernetes;
    // Whatever the order given.
    for issuers in [
        vec![meta.clone(), IssuerConfig::email(mock.issuer.clone())],
        vec![IssuerConfig::email(mock.issuer.clone()), meta.clone()],
    ] {
        let verifier = OidcVerifier::new(issuers, reqwest::Client::new());
        let token = mock.id_token("alice@example.com", None, None).await;
        let verified = verifier.verify(&token, now()).await.unwrap();
        assert_eq!(verified.issuer, IssuerConfig::email(mock.issuer.clone()));
        assert!(verifier.cached_meta_issuers().is_empty());
    }
}

/// A loopback listener that counts and drops every connection: any fetch from it fails, and
/// the count says whether one was tried.
async fn tripwire() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("127.0.0.1:{port}"), hits)
}

#[tokio::test]
async fn issuers_the_pattern_does_not_match_whole_are_refused_without_a_fetch() {
    let (authority, hits) = tripwire().await;
    let verifier = meta_verifier("sigstore", VerifierOptions::default());
    let t = now();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "k"});
    for iss in [
        // A suffix: path, query, credentials, another host.
        format!("http://{authority}/x"),
        format!("http://{authority}/.well-known/openid-configuration"),
        format!("http://{authority}?x"),
        format!("http://{authority}@evil.example"),
        // A prefix: the unanchored pattern matched this one.
        format!("http://evil.example/?http://{authority}"),
        format!("https://{authority}"),
        format!(
            "http://127.0.0.10:{}",
            authority.rsplit(':').next().unwrap()
        ),
        // Matches the pattern but is not a URL (a port of letters): the token's fault too.
        "http://127.0.0.1:abc".to_owned(),
    ] {
        let token = es256_token_from_unpublished_key(&header, &good_claims(&iss, t));
        let err = verifier.verify(&token, t).await.unwrap_err();
        assert!(
            matches!(&err, OidcError::IssuerNotConfigured { issuer } if issuer == &iss),
            "{iss}: {err}"
        );
        assert!(err.is_client_fault());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "something was fetched");
    assert!(verifier.cached_meta_issuers().is_empty());

    // Control: the issuer the pattern does match is fetched (and the tripwire sees it).
    let iss = format!("http://{authority}");
    let token = es256_token_from_unpublished_key(&header, &good_claims(&iss, t));
    let err = verifier.verify(&token, t).await.unwrap_err();
    assert!(matches!(err, OidcError::IssuerUnavailable { .. }), "{err}");
    assert!(!err.is_client_fault());
    assert!(hits.load(Ordering::SeqCst) >= 1);
    assert_eq!(verifier.cached_meta_issuers(), [iss]);
}

#[tokio::test]
async fn matched_issuers_are_kept_in_a_bounded_lru() {
    let verifier = meta_verifier(
        "sigstore",
        VerifierOptions {
            max_meta_issuers: 3,
            ..VerifierOptions::default()
        },
    );
    let t = now();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "k"});
    let mut seen = Vec::new();
    for _ in 0..10 {
        let iss = closed_loopback_url();
        let token = es256_token_from_unpublished_key(&header, &good_claims(&iss, t));
        let err = verifier.verify(&token, t).await.unwrap_err();
        assert!(matches!(err, OidcError::IssuerUnavailable { .. }), "{err}");
        seen.push(iss);
        assert!(verifier.cached_meta_issuers().len() <= 3);
    }
    let newest: Vec<String> = seen.iter().rev().take(3).cloned().collect();
    assert_eq!(verifier.cached_meta_issuers(), newest);

    // With real providers: the one evicted still verifies (its keys fetched again).
    let (Some(a), Some(b)) = (MockProvider::start(&[]), MockProvider::start(&[])) else {
        return;
    };
    let verifier = meta_verifier(
        "sigstore",
        VerifierOptions {
            max_meta_issuers: 1,
            ..VerifierOptions::default()
        },
    );
    let token_a = a.id_token("alice@example.com", None, None).await;
    let token_b = b.id_token("bob@example.com", None, None).await;
    verifier.verify(&token_a, now()).await.unwrap();
    assert_eq!(verifier.cached_meta_issuers(), vec![a.issuer.clone()]);
    verifier.verify(&token_b, now()).await.unwrap();
    assert_eq!(verifier.cached_meta_issuers(), vec![b.issuer.clone()]);
    assert_eq!(
        verifier
            .verify(&token_a, now())
            .await
            .unwrap()
            .issuer
            .issuer_url,
        a.issuer
    );
    assert_eq!(verifier.cached_meta_issuers(), vec![a.issuer.clone()]);
}

#[tokio::test]
async fn a_meta_issuer_with_an_invalid_pattern_accepts_nothing() {
    // Built directly, not through `parse_fulcio_config` (which would reject it): the host is
    // all wildcard, so the verifier ignores the entry rather than fetch from any host.
    let (authority, hits) = tripwire().await;
    let port = authority.rsplit(':').next().unwrap();
    let verifier = OidcVerifier::new(
        vec![IssuerConfig::email("http://*:*".to_owned())],
        reqwest::Client::new(),
    );
    let t = now();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "k"});
    for iss in [format!("http://localhost:{port}"), "http://*:*".to_owned()] {
        let token = es256_token_from_unpublished_key(&header, &good_claims(&iss, t));
        let err = verifier.verify(&token, t).await.unwrap_err();
        assert!(
            matches!(err, OidcError::IssuerNotConfigured { .. }),
            "{iss}: {err}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // It is still listed, as configured.
    assert!(verifier.issuers().any(|i| i.issuer_url == "http://*:*"));
}
