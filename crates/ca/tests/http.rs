//! The Fulcio v2 HTTP API on a loopback port: both request forms, the trust bundle, the
//! configuration, and bad requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_oidc::IssuerType;
use signet_testkit::ca::*;
use signet_x509::{ChainPurpose, SubjectAlternativeName, verify_chain, verify_embedded_scts};
use std::sync::Arc;

async fn setup() -> (RunningCa, TestIssuer) {
    let issuer = TestIssuer::new();
    let mut spiffe = issuer_config("https://spiffe.test", IssuerType::Spiffe);
    spiffe.spiffe_trust_domain = Some("example.org".into());
    let verifier = TestVerifier::new(&issuer, vec![email_issuer(), spiffe]);
    (start_ca(Arc::new(verifier)).await, issuer)
}

async fn post(url: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn check_issued(ca: &RunningCa, answer: &Value, email: &str) {
    let chain = chain_of(answer);
    assert_eq!(chain.len(), 3);
    let leaf = &chain[0];
    assert_eq!(chain[1], *ca.ca.keys().intermediate());
    assert_eq!(chain[2], *ca.ca.keys().root());
    assert_eq!(
        leaf.subject_alt_names().unwrap(),
        vec![SubjectAlternativeName::Email(email.into())]
    );
    verify_chain(leaf, &chain[1..], now(), ChainPurpose::CodeSigning).unwrap();
    verify_embedded_scts(leaf, &chain[1], &ca.ct_logs()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_request_forms_issue() {
    let (ca, issuer) = setup().await;
    let url = ca.url("/api/v2/signingCert");
    let token = issuer.email_token("alice@example.test");
    let key = SubjectKey::new();

    // (a) CSR + Authorization: Bearer.
    let (status, answer) = post(&url, &csr_request(&key.csr()), Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    check_issued(&ca, &answer, "alice@example.test");
    assert_eq!(
        chain_of(&answer)[0].public_key().spki_der(),
        key.spki().as_slice()
    );

    // (a) with the token in the body, as sigstore-python also sends it.
    let mut body = csr_request(&key.csr());
    body["credentials"] = json!({"oidcIdentityToken": token});
    let (status, answer) = post(&url, &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // (b) public key + proof of possession over the email.
    let pop = key.sign(b"alice@example.test");
    let (status, answer) = post(&url, &pop_request(&token, &key.pem(), &pop), None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    check_issued(&ca, &answer, "alice@example.test");

    // (b) with an Ed25519 key.
    let (spki, pair) = ed25519();
    let mut body = pop_request(
        &token,
        &pem("PUBLIC KEY", &spki),
        pair.sign(b"alice@example.test").as_ref(),
    );
    body["publicKeyRequest"]["publicKey"]["algorithm"] = json!("ED25519");
    let (status, answer) = post(&url, &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // (b) for a SPIFFE issuer: the proof signs `sub`.
    let spiffe_token =
        issuer.mint(json!({"iss": "https://spiffe.test", "sub": "spiffe://example.org/w"}));
    let pop = key.sign(b"spiffe://example.org/w");
    let (status, answer) = post(&url, &pop_request(&spiffe_token, &key.pem(), &pop), None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(
        chain_of(&answer)[0].subject_alt_names().unwrap(),
        vec![SubjectAlternativeName::Uri("spiffe://example.org/w".into())]
    );

    // Each certificate gets its own serial.
    let (_, a) = post(&url, &csr_request(&key.csr()), Some(&token)).await;
    let (_, b) = post(&url, &csr_request(&key.csr()), Some(&token)).await;
    assert_ne!(
        chain_of(&a)[0].inner().tbs_certificate.serial_number,
        chain_of(&b)[0].inner().tbs_certificate.serial_number
    );

    // The clock is injected: notBefore follows it.
    ca.clock
        .store(now() - 100, std::sync::atomic::Ordering::SeqCst);
    let (_, answer) = post(&url, &csr_request(&key.csr()), Some(&token)).await;
    let leaf = &chain_of(&answer)[0];
    assert!((leaf.not_before() - (now() - 100)).abs() <= 2);
    ca.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_bundle_and_configuration() {
    let (ca, _issuer) = setup().await;
    let bundle: Value = reqwest::get(ca.url("/api/v2/trustBundle"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let certs = bundle["chains"][0]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    let parsed: Vec<_> = certs
        .iter()
        .map(|c| signet_x509::Certificate::from_pem(c.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(parsed, ca.ca.keys().chain());

    let config: Value = reqwest::get(ca.url("/api/v2/configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        json!({"issuers": [
            {"issuerUrl": ISSUER, "audience": "sigstore", "challengeClaim": "email"},
            {"issuerUrl": "https://spiffe.test", "audience": "sigstore", "challengeClaim": "sub",
             "spiffeTrustDomain": "example.org"},
        ]})
    );
    ca.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_lists_meta_issuers_by_their_pattern() {
    let issuer = TestIssuer::new();
    let eks = issuer_config(
        "https://oidc.eks.*.amazonaws.com/id/*",
        IssuerType::Kubernetes,
    );
    let verifier = TestVerifier::new(&issuer, vec![email_issuer(), eks]);
    let ca = start_ca(Arc::new(verifier)).await;
    let config: Value = reqwest::get(ca.url("/api/v2/configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        json!({"issuers": [
            {"issuerUrl": ISSUER, "audience": "sigstore", "challengeClaim": "email"},
            {"wildcardIssuerUrl": "https://oidc.eks.*.amazonaws.com/id/*", "audience": "sigstore",
             "challengeClaim": "sub"},
        ]})
    );
    ca.stop();
}

async fn expect_error(resp: reqwest::Response, status: StatusCode, grpc: u64, needle: &str) {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], grpc, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_4xx() {
    let (ca, issuer) = setup().await;
    let url = ca.url("/api/v2/signingCert");
    let client = reqwest::Client::new();
    let token = issuer.email_token("alice@example.test");
    let key = SubjectKey::new();
    let send = |body: Value, token: Option<&str>| {
        let mut req = client.post(&url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    // CSR signed by another key.
    let other = SubjectKey::new();
    let bad_csr = csr_with(&key.spki(), "1.2.840.10045.4.3.2", |m| other.sign(m));
    expect_error(
        send(csr_request(&bad_csr), Some(&token)).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "signature does not verify",
    )
    .await;
    // CSR that does not parse.
    expect_error(send(json!({"certificateSigningRequest": STANDARD.encode("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")}), Some(&token)).await.unwrap(), StatusCode::BAD_REQUEST, 3, "certificate signing request").await;
    // RSA 1024 and secp256k1, in both forms.
    for (spki, needle) in [
        (rsa_spki(1024), "1024 bits"),
        (secp256k1_spki(), "EC curve 1.3.132.0.10"),
    ] {
        let csr = csr_with(&spki, "1.2.840.113549.1.1.11", |_| vec![1; 128]);
        expect_error(
            send(csr_request(&csr), Some(&token)).await.unwrap(),
            StatusCode::BAD_REQUEST,
            3,
            needle,
        )
        .await;
        let mut body = pop_request(&token, &pem("PUBLIC KEY", &spki), b"sig");
        body["publicKeyRequest"]["publicKey"]["algorithm"] = json!(null);
        expect_error(
            send(body, None).await.unwrap(),
            StatusCode::BAD_REQUEST,
            3,
            needle,
        )
        .await;
    }
    // Proof of possession over the wrong string, and by another key.
    let wrong = pop_request(&token, &key.pem(), &key.sign(b"bob@example.test"));
    expect_error(
        send(wrong, None).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "proof of possession does not verify",
    )
    .await;
    let wrong = pop_request(&token, &key.pem(), &other.sign(b"alice@example.test"));
    expect_error(
        send(wrong, None).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "alice@example.test",
    )
    .await;
    // Algorithm that does not match the key.
    let mut body = pop_request(&token, &key.pem(), &key.sign(b"alice@example.test"));
    body["publicKeyRequest"]["publicKey"]["algorithm"] = json!("ED25519");
    expect_error(
        send(body, None).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "does not match",
    )
    .await;
    // Missing token.
    expect_error(
        send(csr_request(&key.csr()), None).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        16,
        "no OIDC identity token",
    )
    .await;
    // Token refused by the verifier: bad signature, unknown issuer, expired.
    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    expect_error(
        send(csr_request(&key.csr()), Some(&forged)).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        16,
        "signature",
    )
    .await;
    let stranger = issuer.mint(
        json!({"iss": "https://other.test", "sub": "x", "email": "a@b", "email_verified": true}),
    );
    expect_error(
        send(csr_request(&key.csr()), Some(&stranger))
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        16,
        "not configured",
    )
    .await;
    let expired = issuer.mint(json!({"iss": ISSUER, "sub": "x", "email": "a@b", "email_verified": true, "exp": now() - 10}));
    expect_error(
        send(csr_request(&key.csr()), Some(&expired)).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        16,
        "expired",
    )
    .await;
    // Unverified email: 403.
    let unverified = issuer
        .mint(json!({"iss": ISSUER, "sub": "x", "email": "a@b.test", "email_verified": false}));
    expect_error(
        send(csr_request(&key.csr()), Some(&unverified))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        7,
        "not verified",
    )
    .await;
    // Neither or both key forms.
    expect_error(
        send(json!({}), Some(&token)).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "missing certificateSigningRequest",
    )
    .await;
    let mut both = pop_request(&token, &key.pem(), &key.sign(b"alice@example.test"));
    both["certificateSigningRequest"] =
        csr_request(&key.csr())["certificateSigningRequest"].clone();
    expect_error(
        send(both, None).await.unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "not both",
    )
    .await;
    // Bad base64.
    expect_error(
        send(json!({"certificateSigningRequest": "!!!"}), Some(&token))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        3,
        "not base64",
    )
    .await;
    // Malformed JSON.
    let resp = client
        .post(&url)
        .header("content-type", "application/json")
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, 3, "not the expected JSON").await;
    // Wrong content type.
    let resp = client
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_error(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        3,
        "application/json",
    )
    .await;
    // Oversized body, declared and streamed.
    let big = format!(
        "{{\"certificateSigningRequest\": \"{}\"}}",
        "A".repeat(70_000)
    );
    let resp = client
        .post(&url)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE, 3, "larger than 65536").await;
    let (status, body) = post_chunked(&ca.base, big.as_bytes()).await;
    assert!(status.contains("413"), "{status}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("larger than 65536"),
        "{body}"
    );
    ca.stop();
}

/// Sends `body` chunked (no Content-Length) over a raw connection; returns the status line
/// and the response body.
async fn post_chunked(base: &str, body: &[u8]) -> (String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST /api/v2/signingCert HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(8192) {
        req.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        req.extend(chunk);
        req.extend(b"\r\n");
    }
    req.extend(b"0\r\n\r\n");
    // The server may answer and close before reading everything.
    let _ = conn.write_all(&req).await;
    let mut out = Vec::new();
    let _ = conn.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap().to_owned();
    let json_start = text.find('{').unwrap();
    let json_end = text.rfind('}').unwrap();
    (
        status,
        serde_json::from_str(&text[json_start..=json_end]).unwrap(),
    )
}

/// A CA whose intermediate key lives elsewhere (a `Signer`, as an HSM key; the offline-root
/// flow certifies it) issues while the key signs, and answers 503 once it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuing_key_that_fails_gets_503() {
    use aws_lc_rs::rand::SystemRandom;
    use signet_ca::{CaAlgorithm, CaKeys, CertificateAuthority, SigningKey, UnloggedSctSigner};
    let rng = SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    // Signatures allowed: the request, then one certificate's precertificate and final.
    let signer = signet_testkit::UnreliableSigner::new(
        signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap(),
        "pkcs11:token=test;object=ca",
    );
    signer.fail_after(3);
    let key = SigningKey::from_signer(signer).unwrap();
    let root =
        signet_ca::offline::generate_root(now() - 60, CaAlgorithm::EcdsaP384, "CN=test root", &rng)
            .unwrap();
    let csr = signet_ca::offline::intermediate_csr(&key, "CN=test intermediate").unwrap();
    let intermediate =
        signet_ca::offline::issue_intermediate(&root, csr.as_bytes(), now() - 60, 86_400, &rng)
            .unwrap();
    let keys = CaKeys::from_certificates_and_key(
        &root.certificate_pem().unwrap(),
        &signet_ca::offline::chain_pem(&intermediate, root.certificate()).unwrap(),
        key,
    )
    .unwrap();
    assert!(keys.to_pem().is_err(), "an HSM key has no PEM form");
    let sct = UnloggedSctSigner::generate(|| 1_000).unwrap();
    let sct_spki = sct.public_key_spki_der().to_vec();
    let ca = Arc::new(CertificateAuthority::new(keys, Arc::new(sct)).unwrap());
    let issuer = TestIssuer::new();
    let verifier = TestVerifier::new(&issuer, vec![email_issuer()]);
    let ca = start_ca_with(ca, sct_spki, Arc::new(verifier)).await;
    let url = ca.url("/api/v2/signingCert");
    let token = issuer.email_token("alice@example.test");
    let (status, answer) = post(&url, &csr_request(&SubjectKey::new().csr()), Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    check_issued(&ca, &answer, "alice@example.test");
    let (status, answer) = post(&url, &csr_request(&SubjectKey::new().csr()), Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["code"], 14, "{answer}");
    assert!(
        !answer.to_string().contains("HSM"),
        "no detail of the key reaches the client: {answer}"
    );
    ca.stop();
}

/// The CT log's key failing (the log says it is unavailable) is 503 too; another log error
/// is 500.
#[test]
fn a_ct_log_key_that_fails_is_503() {
    let error = signet_ca::CaError::CtLog(signet_ca::CtLogError::unavailable(
        signet_signer::SignError {
            key: "pkcs11:token=test;object=ct".into(),
            reason: "test".into(),
        },
    ));
    assert_eq!(error.http_status(), 503);
    let other = signet_ca::CaError::CtLog(signet_ca::CtLogError::log(std::io::Error::other("x")));
    assert_eq!(other.http_status(), 500);
}
