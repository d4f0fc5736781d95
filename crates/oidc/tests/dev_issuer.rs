//! The development issuer served over HTTP on loopback, checked by `OidcVerifier`; key
//! persistence; and the verifier's JWKS refresh rate limit, counted at the issuer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{good_claims, now};
use serde_json::{Value, json};
use signet_oidc::{DevIssuer, IssuerType, OidcError, OidcVerifier, VerifierOptions};

/// A development issuer on the system clock and randomness.
fn load_or_create(dir: &Path, issuer_url: String) -> Result<DevIssuer, OidcError> {
    DevIssuer::load_or_create(
        dir,
        issuer_url,
        signet_clock::Clock::system(),
        signet_clock::Randomness::system(),
    )
}

/// Serves `DevIssuer` under `/oidc` on a free loopback port; counts `/oidc/jwks` requests.
struct Served {
    issuer: Arc<DevIssuer>,
    base: String,
    jwks_hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(dir: &Path) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = Arc::new(load_or_create(dir, format!("{base}/oidc")).unwrap());
    let jwks_hits = Arc::new(AtomicUsize::new(0));
    let hits = jwks_hits.clone();
    let app = axum::Router::new()
        .nest("/oidc", issuer.clone().router())
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let hits = hits.clone();
                async move {
                    if req.uri().path() == "/oidc/jwks" {
                        hits.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(req).await
                }
            },
        ));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Served {
        issuer,
        base,
        jwks_hits,
        task,
    }
}

async fn post_token(served: &Served, content_type: &str, body: String) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oidc/token", served.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn token_from_post_token_verifies_through_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path()).await;
    let issuer_url = format!("{}/oidc", served.base);
    assert_eq!(served.issuer.issuer_url(), issuer_url);
    let config = served.issuer.issuer_config();
    assert_eq!(config.issuer_type, IssuerType::Email);
    assert_eq!(config.client_id, "sigstore");
    let verifier = OidcVerifier::new(vec![config.clone()], reqwest::Client::new());

    let (status, body) = post_token(
        &served,
        "application/json",
        json!({"subject": "dev@example.com", "ttl_seconds": 300}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let token = body["id_token"].as_str().unwrap();
    let t = now();
    let verified = verifier.verify(token, t).await.unwrap();
    assert_eq!(verified.subject, "dev@example.com");
    assert_eq!(verified.issuer, config);
    assert_eq!(verified.claims["email"], "dev@example.com");
    assert_eq!(verified.claims["email_verified"], true);
    assert_eq!(verified.claims["aud"], "sigstore");
    let exp = verified.claims["exp"].as_i64().unwrap();
    assert!(
        (t + 300 - 5..=t + 300 + 5).contains(&exp),
        "exp {exp}, now {t}"
    );
    assert!(
        verified.claims["jti"]
            .as_str()
            .is_some_and(|j| j.len() >= 16)
    );
    // Expired after its TTL (plus skew).
    let err = verifier.verify(token, exp + 61).await.unwrap_err();
    assert!(matches!(err, OidcError::Expired { .. }), "{err}");

    // The OAuth password-grant form works too; the TTL is capped at 24 h.
    let (status, body) = post_token(
        &served,
        "application/x-www-form-urlencoded",
        "grant_type=password&username=form%40example.com&password=x&ttl_seconds=999999".to_owned(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 86400);
    let verified = verifier
        .verify(body["id_token"].as_str().unwrap(), now())
        .await
        .unwrap();
    assert_eq!(verified.subject, "form@example.com");

    // Another audience is minted as asked, and an email verifier for `sigstore` refuses it.
    let (_, body) = post_token(
        &served,
        "application/json",
        json!({"subject": "dev@example.com", "audience": "other"}).to_string(),
    )
    .await;
    let err = verifier
        .verify(body["id_token"].as_str().unwrap(), now())
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::WrongAudience { .. }), "{err}");

    // A subject that is not an email gets no email claims: fine for a username-type issuer,
    // refused by an email issuer.
    let (_, body) = post_token(
        &served,
        "application/json",
        json!({"subject": "builder"}).to_string(),
    )
    .await;
    let err = verifier
        .verify(body["id_token"].as_str().unwrap(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::MissingClaim { claim: "email" }),
        "{err}"
    );
}

#[tokio::test]
async fn discovery_jwks_and_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path()).await;
    let client = reqwest::Client::new();
    let discovery: Value = client
        .get(format!(
            "{}/oidc/.well-known/openid-configuration",
            served.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], format!("{}/oidc", served.base));
    assert_eq!(discovery["jwks_uri"], format!("{}/oidc/jwks", served.base));
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/oidc/token", served.base)
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(discovery["signet_development_only"], true);
    let jwks: Value = client
        .get(format!("{}/oidc/jwks", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], served.issuer.key_id());
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert!(jwks["keys"][0].get("d").is_none(), "private key leaked");

    for (content_type, body) in [
        ("application/json", r#"{"subject": ""}"#.to_owned()),
        ("application/json", r#"{"audience": "sigstore"}"#.to_owned()),
        (
            "application/json",
            r#"{"subject": "a", "ttl_seconds": 0}"#.to_owned(),
        ),
        (
            "application/json",
            format!(r#"{{"subject": "{}"}}"#, "a".repeat(300)),
        ),
        ("application/json", "not json".to_owned()),
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials".to_owned(),
        ),
        (
            "application/x-www-form-urlencoded",
            "grant_type=password".to_owned(),
        ),
    ] {
        let (status, answer) = post_token(&served, content_type, body.clone()).await;
        assert_eq!(status, 400, "{body:.60}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let (status, _) = post_token(
        &served,
        "application/json",
        format!(r#"{{"subject": "a", "pad": "{}"}}"#, "x".repeat(64 * 1024)),
    )
    .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn key_persists_across_reload() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("state");
    let first = load_or_create(&sub, "http://127.0.0.1:1/oidc".to_owned()).unwrap();
    let key_file = sub.join("dev-oidc.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let bytes = std::fs::read(&key_file).unwrap();
    let second = load_or_create(&sub, "http://127.0.0.1:1/oidc".to_owned()).unwrap();
    assert_eq!(first.key_id(), second.key_id());
    assert_eq!(first.jwks(), second.jwks());
    assert_eq!(std::fs::read(&key_file).unwrap(), bytes);

    // A token minted before the restart verifies against the JWKS served after it.
    let served = serve(&sub).await;
    assert_eq!(served.issuer.key_id(), first.key_id());
    let reissued = load_or_create(&sub, served.issuer.issuer_url().to_owned()).unwrap();
    let t = now();
    let token = reissued.mint("dev@example.com", "sigstore", t, 60).unwrap();
    drop(reissued);
    let verifier = OidcVerifier::new(vec![served.issuer.issuer_config()], reqwest::Client::new());
    assert_eq!(
        verifier.verify(&token, t).await.unwrap().subject,
        "dev@example.com"
    );

    // Another directory means another key.
    let other = load_or_create(&dir.path().join("other"), "http://x.example/o".to_owned()).unwrap();
    assert_ne!(other.key_id(), first.key_id());

    // A damaged key file is reported, not replaced.
    std::fs::write(&key_file, b"garbage").unwrap();
    let err = load_or_create(&sub, "http://127.0.0.1:1/oidc".to_owned()).unwrap_err();
    assert!(matches!(err, OidcError::InvalidKeyFile { .. }), "{err}");
    assert_eq!(std::fs::read(&key_file).unwrap(), b"garbage");
    assert!(load_or_create(&sub, "ftp://nope".to_owned()).is_err());
}

#[tokio::test]
async fn unknown_kid_refreshes_jwks_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path()).await;
    let options = VerifierOptions {
        min_refresh_interval_secs: 60,
        max_key_age_secs: 3600,
        ..VerifierOptions::default()
    };
    let verifier = OidcVerifier::with_options(
        vec![served.issuer.issuer_config()],
        reqwest::Client::new(),
        options,
    );
    let t = now();
    let unknown = |at: i64| {
        common::es256_token_from_unpublished_key(
            &json!({"alg": "ES256", "kid": "unknown"}),
            &good_claims(served.issuer.issuer_url(), at),
        )
    };
    let hits = || served.jwks_hits.load(Ordering::SeqCst);

    // First use fetches once; the unknown kid does not fetch again right away.
    let err = verifier.verify(&unknown(t), t).await.unwrap_err();
    assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
    assert_eq!(hits(), 1);
    for dt in [1, 10, 59] {
        let err = verifier.verify(&unknown(t), t + dt).await.unwrap_err();
        assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
    }
    assert_eq!(hits(), 1);
    // After the interval, one refresh.
    let err = verifier.verify(&unknown(t), t + 60).await.unwrap_err();
    assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
    assert_eq!(hits(), 2);
    // Known keys never refresh while fresh.
    let good = served
        .issuer
        .mint("dev@example.com", "sigstore", t + 61, 600)
        .unwrap();
    verifier.verify(&good, t + 61).await.unwrap();
    verifier.verify(&good, t + 62).await.unwrap();
    assert_eq!(hits(), 2);
    // Stale keys are refreshed before use.
    let later = served
        .issuer
        .mint("dev@example.com", "sigstore", t + 4000, 600)
        .unwrap();
    verifier.verify(&later, t + 4000).await.unwrap();
    assert_eq!(hits(), 3);
}

/// A token whose header and claims are exactly the JSON texts given (so members can repeat),
/// signed with the development issuer's own key from `dir`.
fn sign_raw(dir: &Path, header: &str, claims: &str) -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let pkcs8 = std::fs::read(dir.join(signet_oidc::dev::DEV_KEY_FILE)).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = key
        .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// serde_json keeps the last of two equal members; a token that repeats one (two `sub`, two
/// `iss`, two `aud` …) is refused whatever the order, although its signature is good.
#[tokio::test]
async fn tokens_that_repeat_a_member_are_refused_though_signed() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path()).await;
    let verifier = OidcVerifier::new(vec![served.issuer.issuer_config()], reqwest::Client::new());
    let iss = served.issuer.issuer_url().to_owned();
    let t = now();
    let header = format!(
        r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#,
        served.issuer.key_id()
    );
    let times = format!(r#""iat":{t},"nbf":{t},"exp":{}"#, t + 300);
    let email = r#""email":"alice@example.com","email_verified":true"#;
    let claims = |members: &str| format!("{{{times},{email},{members}}}");

    // The control: the same token with each member once verifies.
    let good = claims(&format!(
        r#""iss":"{iss}","sub":"alice@example.com","aud":"sigstore""#
    ));
    let verified = verifier
        .verify(&sign_raw(dir.path(), &header, &good), t)
        .await
        .unwrap();
    assert_eq!(verified.subject, "alice@example.com");

    let other = "https://other.example.com";
    for (members, name) in [
        (
            format!(r#""iss":"{iss}","sub":"alice@example.com","sub":"mallory","aud":"sigstore""#),
            "sub",
        ),
        (
            format!(r#""sub":"mallory","iss":"{iss}","aud":"sigstore","sub":"alice@example.com""#),
            "sub",
        ),
        (
            format!(r#""iss":"{other}","iss":"{iss}","sub":"alice@example.com","aud":"sigstore""#),
            "iss",
        ),
        (
            format!(r#""iss":"{iss}","iss":"{other}","sub":"alice@example.com","aud":"sigstore""#),
            "iss",
        ),
        (
            format!(r#""iss":"{iss}","sub":"alice@example.com","aud":"other","aud":"sigstore""#),
            "aud",
        ),
        (
            format!(r#""iss":"{iss}","sub":"alice@example.com","aud":"sigstore","aud":"other""#),
            "aud",
        ),
        (
            format!(
                r#""iss":"{iss}","sub":"alice@example.com","aud":"sigstore","email":"mallory@example.com""#
            ),
            "email",
        ),
    ] {
        let token = sign_raw(dir.path(), &header, &claims(&members));
        let err = verifier.verify(&token, t).await.unwrap_err();
        assert!(
            matches!(&err, OidcError::DuplicateMember { part: "claims", name: n } if n == name),
            "{members}: {err}"
        );
        assert!(err.is_client_fault());
    }

    // A repeated header member (here `kid`) too.
    let header = format!(
        r#"{{"alg":"ES256","kid":"unknown","kid":"{}"}}"#,
        served.issuer.key_id()
    );
    let err = verifier
        .verify(&sign_raw(dir.path(), &header, &good), t)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::DuplicateMember { part: "header", name } if name == "kid"),
        "{err}"
    );
}
