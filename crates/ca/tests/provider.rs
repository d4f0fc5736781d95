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

use serde_json::{Value, json};
use signet_oidc::IssuerConfig;
use signet_testkit::ca::*;
use signet_testkit::oidc::MockProvider;
use signet_x509::{ChainPurpose, SubjectAlternativeName, verify_chain, verify_embedded_scts};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_a_real_provider() {
    let Some(provider) = MockProvider::start(&[]) else {
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
    let token = provider.id_token(email, None, None).await;
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
        let bad = provider.id_token(email, Some(claims.clone()), None).await;
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

/// A Kubernetes meta issuer (as for EKS clusters, `https://oidc.eks.*.amazonaws.com/id/*`),
/// here `http://127.0.0.1:*` so that it matches the provider on loopback: the certificate
/// carries the identity of the meta issuer's type and the concrete issuer, and the
/// configuration lists the pattern as `wildcardIssuerUrl`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meta_issuer_maps_tokens_by_its_type() {
    let Some(provider) = MockProvider::start(&[]) else {
        return;
    };
    let config = json!({
        "MetaIssuers": {
            "http://127.0.0.1:*": {"ClientID": "sigstore", "Type": "kubernetes"}
        }
    });
    let issuers = signet_oidc::parse_fulcio_config(config.to_string().as_bytes()).unwrap();
    let verifier = signet_oidc::OidcVerifier::new(issuers, reqwest::Client::new());
    let ca = start_ca(Arc::new(verifier)).await;
    let client = reqwest::Client::new();
    let key = SubjectKey::new();

    let claims = json!({"kubernetes.io": {
        "namespace": "payments",
        "serviceaccount": {"name": "builder", "uid": "0f6e"}
    }});
    let sub = "system:serviceaccount:payments:builder";
    let token = provider.id_token(sub, Some(claims), None).await;
    let response = client
        .post(ca.url("/api/v2/signingCert"))
        .bearer_auth(&token)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let chain = chain_of(&response.json().await.unwrap());
    let identity = chain[0].fulcio_identity().unwrap();
    assert_eq!(
        identity.sans,
        vec![SubjectAlternativeName::Uri(
            "https://kubernetes.io/namespaces/payments/serviceaccounts/builder".into()
        )]
    );
    assert_eq!(identity.issuer.as_deref(), Some(provider.issuer.as_str()));
    verify_chain(&chain[0], &chain[1..], now(), ChainPurpose::CodeSigning).unwrap();

    // Form (b): the challenge of a kubernetes issuer is `sub`, as for an exact one.
    let response = client
        .post(ca.url("/api/v2/signingCert"))
        .json(&pop_request(&token, &key.pem(), &key.sign(sub.as_bytes())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // An issuer the pattern does not match whole is refused (401), as any unknown issuer.
    let other = provider
        .id_token(
            sub,
            Some(json!({"iss": format!("{}/elsewhere", provider.issuer)})),
            None,
        )
        .await;
    let response = client
        .post(ca.url("/api/v2/signingCert"))
        .bearer_auth(&other)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let configuration: Value = client
        .get(ca.url("/api/v2/configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        configuration,
        json!({"issuers": [
            {"wildcardIssuerUrl": "http://127.0.0.1:*", "audience": "sigstore", "challengeClaim": "sub"}
        ]})
    );
    ca.stop();
}
