//! `OidcVerifier` against a real OpenID provider: npm `oauth2-mock-server` on loopback, serving
//! discovery, an RS256 JWKS and password-grant ID tokens (scripts/oauth2-mock-server.mjs).
//! Skipped with a note when `SIGNET_OAUTH2_MOCK_SERVER` is unset; failing when
//! `SIGNET_REQUIRE_OIDC=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{b64_json, decode_part, good_claims, now};
use serde_json::{Value, json};
use signet_oidc::{IssuerConfig, IssuerType, OidcError, OidcVerifier};
use signet_testkit::oidc::MockProvider;

fn verifier_for(issuer: &str) -> OidcVerifier {
    OidcVerifier::new(
        vec![IssuerConfig::email(issuer.to_owned())],
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn valid_token_is_accepted_with_its_claims() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let verifier = verifier_for(&mock.issuer);
    let token = mock.id_token("alice@example.com", None, None).await;
    let t = now();
    let verified = verifier.verify(&token, t).await.unwrap();
    assert_eq!(verified.subject, "alice@example.com");
    assert_eq!(verified.issuer, IssuerConfig::email(mock.issuer.clone()));
    assert_eq!(verified.claims["email"], "alice@example.com");
    assert_eq!(verified.claims["email_verified"], true);
    assert_eq!(verified.claims["iss"], mock.issuer.as_str());
    assert_eq!(
        decode_part(token.split('.').next().unwrap())["alg"],
        "RS256"
    );
    // Cached keys: a second token verifies too, and `aud` as an array containing the client ID
    // is accepted.
    let token = mock
        .id_token(
            "bob@example.com",
            Some(json!({"aud": ["other", "sigstore"]})),
            None,
        )
        .await;
    assert_eq!(
        verifier.verify(&token, t).await.unwrap().subject,
        "bob@example.com"
    );
}

#[tokio::test]
async fn expired_token() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let t = now();
    let token = mock
        .id_token(
            "alice@example.com",
            Some(json!({"iat": t - 7200, "nbf": t - 7200, "exp": t - 3600})),
            None,
        )
        .await;
    let err = verifier_for(&mock.issuer)
        .verify(&token, t)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::Expired { exp, now } if exp == t - 3600 && now == t),
        "{err}"
    );
    assert!(err.is_client_fault());
    // A token that is fine now is expired an hour and two minutes later.
    let token = mock.id_token("alice@example.com", None, None).await;
    let err = verifier_for(&mock.issuer)
        .verify(&token, t + 3600 + 120)
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::Expired { .. }), "{err}");
}

#[tokio::test]
async fn wrong_audience() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let token = mock
        .id_token(
            "alice@example.com",
            Some(json!({"aud": "someone-else"})),
            None,
        )
        .await;
    let err = verifier_for(&mock.issuer)
        .verify(&token, now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::WrongAudience { expected, found }
            if expected == "sigstore" && found == &["someone-else".to_owned()]),
        "{err}"
    );
    assert!(err.is_client_fault());
    // The same token passes a verifier whose client ID is that audience.
    let mut config = IssuerConfig::email(mock.issuer.clone());
    config.client_id = "someone-else".to_owned();
    let verifier = OidcVerifier::new(vec![config], reqwest::Client::new());
    assert!(verifier.verify(&token, now()).await.is_ok());
}

#[tokio::test]
async fn token_from_an_issuer_not_in_the_config() {
    let (Some(trusted), Some(other)) = (MockProvider::start(&[]), MockProvider::start(&[])) else {
        return;
    };
    let token = other.id_token("alice@example.com", None, None).await;
    let err = verifier_for(&trusted.issuer)
        .verify(&token, now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::IssuerNotConfigured { issuer } if issuer == &other.issuer),
        "{err}"
    );
    assert!(err.is_client_fault());
    // Matching is exact: a trailing slash is a different issuer.
    let verifier = verifier_for(&format!("{}/", other.issuer));
    let err = verifier.verify(&token, now()).await.unwrap_err();
    assert!(
        matches!(err, OidcError::IssuerNotConfigured { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn tampered_payload_fails_the_signature() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let token = mock.id_token("alice@example.com", None, None).await;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = decode_part(parts[1]);
    claims.insert("sub".to_owned(), json!("mallory@example.com"));
    claims.insert("email".to_owned(), json!("mallory@example.com"));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64_json(&Value::Object(claims)),
        parts[2]
    );
    let verifier = verifier_for(&mock.issuer);
    let err = verifier.verify(&forged, now()).await.unwrap_err();
    assert!(matches!(err, OidcError::BadSignature), "{err}");
    assert!(err.is_client_fault());
    // The untouched token still verifies with the same verifier.
    assert!(verifier.verify(&token, now()).await.is_ok());
}

#[tokio::test]
async fn alg_none_and_hmac_are_refused() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let token = mock.id_token("alice@example.com", None, None).await;
    let parts: Vec<&str> = token.split('.').collect();
    let kid = decode_part(parts[0])["kid"].clone();
    let verifier = verifier_for(&mock.issuer);
    for (alg, signature) in [("none", ""), ("HS256", parts[2]), ("PS256", parts[2])] {
        let header = b64_json(&json!({"alg": alg, "typ": "JWT", "kid": kid}));
        let forged = format!("{header}.{}.{signature}", parts[1]);
        let err = verifier.verify(&forged, now()).await.unwrap_err();
        assert!(
            matches!(&err, OidcError::UnsupportedAlgorithm { alg: a } if a == alg),
            "{alg}: {err}"
        );
        assert!(err.is_client_fault());
    }
}

#[tokio::test]
async fn unknown_key_id() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let verifier = verifier_for(&mock.issuer);
    let t = now();
    // Signed by a key the provider never published.
    let forged = common::es256_token_from_unpublished_key(
        &json!({"alg": "ES256", "typ": "JWT", "kid": "not-in-jwks"}),
        &good_claims(&mock.issuer, t),
    );
    let err = verifier.verify(&forged, t).await.unwrap_err();
    assert!(
        matches!(&err, OidcError::UnknownKeyId { kid: Some(k), issuer } if k == "not-in-jwks" && issuer == &mock.issuer),
        "{err}"
    );
    assert!(err.is_client_fault());
    assert!(err.to_string().contains("unknown key id"));
    // Signed by the provider's real key but naming another kid.
    let token = mock
        .id_token(
            "alice@example.com",
            None,
            Some(json!({"kid": "rotated-away"})),
        )
        .await;
    let err = verifier.verify(&token, t).await.unwrap_err();
    assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
    // The provider's kid on an ES256 token: no published key of that kid fits ES256.
    let real = mock.id_token("alice@example.com", None, None).await;
    let kid = decode_part(real.split('.').next().unwrap())["kid"].clone();
    let forged = common::es256_token_from_unpublished_key(
        &json!({"alg": "ES256", "kid": kid}),
        &good_claims(&mock.issuer, t),
    );
    let err = verifier.verify(&forged, t).await.unwrap_err();
    assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
}

#[tokio::test]
async fn unverified_or_missing_email() {
    let Some(mock) = MockProvider::start(&[]) else {
        return;
    };
    let verifier = verifier_for(&mock.issuer);
    let token = mock
        .id_token(
            "alice@example.com",
            Some(json!({"email_verified": false})),
            None,
        )
        .await;
    let err = verifier.verify(&token, now()).await.unwrap_err();
    assert!(matches!(err, OidcError::EmailNotVerified), "{err}");
    assert!(err.is_client_fault());

    let token = mock
        .id_token(
            "alice@example.com",
            Some(json!({"email_verified": null})),
            None,
        )
        .await;
    let err = verifier.verify(&token, now()).await.unwrap_err();
    assert!(matches!(err, OidcError::EmailNotVerified), "{err}");

    // Fulcio decodes email_verified as a boolean; the string "true" is refused there and here.
    let token = mock
        .id_token(
            "alice@example.com",
            Some(json!({"email_verified": "true"})),
            None,
        )
        .await;
    let err = verifier.verify(&token, now()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::InvalidClaim {
                claim: "email_verified",
                ..
            }
        ),
        "{err}"
    );

    let token = mock.id_token("alice", None, None).await;
    let err = verifier.verify(&token, now()).await.unwrap_err();
    assert!(
        matches!(err, OidcError::MissingClaim { claim: "email" }),
        "{err}"
    );
    // A non-email issuer type does not need the email claims.
    let mut config = IssuerConfig::email(mock.issuer.clone());
    config.issuer_type = IssuerType::Kubernetes;
    let verifier = OidcVerifier::new(vec![config], reqwest::Client::new());
    assert_eq!(
        verifier.verify(&token, now()).await.unwrap().subject,
        "alice"
    );
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let Some(mock) = MockProvider::start(&["--issuer", "{origin}/elsewhere"]) else {
        return;
    };
    let origin = mock.origin();
    assert_eq!(mock.issuer, format!("{origin}/elsewhere"));
    // The token claims the configured issuer (the origin), whose discovery document names
    // `<origin>/elsewhere`.
    let token = mock
        .id_token("alice@example.com", Some(json!({"iss": origin})), None)
        .await;
    let err = verifier_for(&origin)
        .verify(&token, now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::DiscoveryIssuerMismatch { configured, discovered }
            if configured == &origin && discovered == &mock.issuer),
        "{err}"
    );
    assert!(!err.is_client_fault());
}

#[tokio::test]
async fn unreachable_issuer_is_not_the_clients_fault() {
    let issuer = common::closed_loopback_url();
    let t = now();
    let token = common::es256_token_from_unpublished_key(
        &json!({"alg": "ES256", "kid": "k"}),
        &good_claims(&issuer, t),
    );
    let verifier = verifier_for(&issuer);
    let err = verifier.verify(&token, t).await.unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::IssuerUnavailable {
                what: "discovery document",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_client_fault());
    // A second try within the refresh interval does not hammer the issuer; still a 5xx.
    let err = verifier.verify(&token, t + 1).await.unwrap_err();
    assert!(matches!(err, OidcError::IssuerUnavailable { .. }), "{err}");
    assert!(!err.is_client_fault());
}

#[tokio::test]
async fn every_accepted_algorithm_verifies() {
    for alg in ["RS384", "RS512", "ES256", "ES384"] {
        let Some(mock) = MockProvider::start(&["--alg", alg]) else {
            return;
        };
        let token = mock.id_token("alice@example.com", None, None).await;
        assert_eq!(decode_part(token.split('.').next().unwrap())["alg"], alg);
        let verified = verifier_for(&mock.issuer).verify(&token, now()).await;
        assert_eq!(verified.unwrap().subject, "alice@example.com", "{alg}");
    }
    // EdDSA and PS256 keys are the provider's to offer and ours to refuse.
    for alg in ["PS256", "EdDSA"] {
        let Some(mock) = MockProvider::start(&["--alg", alg]) else {
            return;
        };
        let token = mock.id_token("alice@example.com", None, None).await;
        let err = verifier_for(&mock.issuer)
            .verify(&token, now())
            .await
            .unwrap_err();
        assert!(
            matches!(err, OidcError::UnsupportedAlgorithm { .. }),
            "{alg}: {err}"
        );
    }
}
