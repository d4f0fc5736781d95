//! The HTTP API over a real loopback socket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use signet_tsa::SigningAlgorithm;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

struct Server {
    base: String,
    /// The server's fixed clock, in Unix seconds.
    now: u64,
    tsa: Arc<signet_tsa::TimestampAuthority>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tsa = Arc::new(authority(SigningAlgorithm::EcdsaP256Sha256, now));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A fixed clock, part way into the second: genTime is whole seconds.
    let clock = signet_clock::Clock::fixed(now * 1000 + 999);
    let app = signet_tsa::router(tsa.clone(), clock, signet_clock::Randomness::system());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        now,
        tsa,
        task,
    }
}

const DATA: &[u8] = b"signature over loopback";

#[tokio::test]
async fn timestamp_query_gets_a_verifiable_reply() {
    let server = start().await;
    let client = reqwest::Client::new();
    let mut req = Req::over(SHA256, DATA);
    req.nonce = Some(vec![0x42; 8]);
    let resp = client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/timestamp-query")
        .body(req.der())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/timestamp-reply"
    );
    let body = resp.bytes().await.unwrap();
    let verified = signet_timestamp::verify_timestamp(&body, DATA, &trust(&server.tsa)).unwrap();
    // The token's time is the injected clock's, not the system's.
    assert_eq!(verified.time, i64::try_from(server.now).unwrap());
    let token = signet_timestamp::parse_timestamp_token(&body).unwrap();
    assert_eq!(token.nonce, Some(vec![0x42; 8]));

    // Two requests get distinct serials (randomness drawn per request).
    let again = client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/timestamp-query")
        .body(req.der())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let token2 = signet_timestamp::parse_timestamp_token(&again).unwrap();
    assert_ne!(token.serial, token2.serial);
}

#[tokio::test]
async fn bad_requests_get_a_rejection_reply_not_an_http_error() {
    let server = start().await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/timestamp-query")
        .body(&b"garbage"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_rejected(&resp.bytes().await.unwrap(), 2);

    // Any content type but JSON is read as DER: a missing or wrong one still works.
    let resp = client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/octet-stream")
        .body(Req::over(SHA512, DATA).der())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    signet_timestamp::verify_timestamp(&body, DATA, &trust(&server.tsa)).unwrap();

    // JSON requests, as Sigstore's TSA takes them.
    use base64::Engine;
    let hash = base64::engine::general_purpose::STANDARD.encode(digest(SHA384, DATA));
    let resp = client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"artifactHash":"{hash}","hashAlgorithm":"sha384","certificates":true,"nonce":987654321}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    signet_timestamp::verify_timestamp(&body, DATA, &trust(&server.tsa)).unwrap();
    let token = signet_timestamp::parse_timestamp_token(&body).unwrap();
    assert_eq!(token.nonce, Some(987654321u32.to_be_bytes().to_vec()));
    assert_eq!(token.embedded_certificates.len(), 2);
    let sha256 = base64::engine::general_purpose::STANDARD.encode(digest(SHA256, DATA));
    for (json, bit) in [
        ("{".to_owned(), 2),
        (
            r#"{"artifactHash":"AAAA","hashAlgorithm":"sha1"}"#.to_owned(),
            0,
        ),
        (
            r#"{"artifactHash":"AAAA","hashAlgorithm":"sha256"}"#.to_owned(),
            5,
        ),
        (
            format!(
                r#"{{"artifactHash":"{sha256}","hashAlgorithm":"sha256","tsaPolicyOID":"1.2.3.4.1"}}"#
            ),
            15,
        ),
    ] {
        let resp = client
            .post(format!("{}/api/v1/timestamp", server.base))
            .header("content-type", "application/json; charset=utf-8")
            .body(json)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_rejected(&resp.bytes().await.unwrap(), bit);
    }
}

/// One nonce rule for the DER and the JSON request: a non-negative INTEGER of at most 64 bits.
/// Anything else is a `TimeStampResp` rejection with `badDataFormat`.
#[tokio::test]
async fn nonces_follow_one_rule_in_der_and_json_requests() {
    use base64::Engine;
    let server = start().await;
    let client = reqwest::Client::new();
    let post = |content_type: &'static str, body: Vec<u8>| {
        client
            .post(format!("{}/api/v1/timestamp", server.base))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // DER: 9,000 bytes, negative, 65 bits.
    for nonce in [
        vec![0x12; 9000],
        vec![0x80, 0x01],
        [&[0x01][..], &[0; 8]].concat(),
    ] {
        let mut req = Req::over(SHA256, DATA);
        req.nonce = Some(nonce);
        let resp = post("application/timestamp-query", req.der())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_rejected(&resp.bytes().await.unwrap(), 5);
    }
    // JSON: negative, and one past 64 bits.
    let hash = base64::engine::general_purpose::STANDARD.encode(digest(SHA256, DATA));
    let json = |nonce: &str| {
        format!(r#"{{"artifactHash":"{hash}","hashAlgorithm":"sha256","nonce":{nonce}}}"#)
            .into_bytes()
    };
    for nonce in ["-1", "-9223372036854775808", "18446744073709551616"] {
        let resp = post("application/json", json(nonce)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_rejected(&resp.bytes().await.unwrap(), 5);
    }
    // The largest nonce is granted and echoed on both paths.
    let mut req = Req::over(SHA256, DATA);
    let max = [&[0x00][..], &[0xff; 8]].concat();
    req.nonce = Some(max.clone());
    for (content_type, body) in [
        ("application/timestamp-query", req.der()),
        ("application/json", json("18446744073709551615")),
    ] {
        let resp = post(content_type, body).await.unwrap();
        let body = resp.bytes().await.unwrap();
        signet_timestamp::verify_timestamp(&body, DATA, &trust(&server.tsa)).unwrap();
        let token = signet_timestamp::parse_timestamp_token(&body).unwrap();
        assert_eq!(token.nonce, Some(max.clone()), "{content_type}");
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = start().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", "application/timestamp-query")
        .body(vec![0x30; signet_tsa::MAX_REQUEST_SIZE + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Exactly at the limit is read (and rejected as a TimeStampReq, in a 200).
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/timestamp", server.base))
        .body(vec![0x30; signet_tsa::MAX_REQUEST_SIZE])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_rejected(&resp.bytes().await.unwrap(), 2);
}

#[tokio::test]
async fn certchain_is_the_pem_chain_leaf_first() {
    let server = start().await;
    let resp = reqwest::get(format!("{}/api/v1/timestamp/certchain", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let pem = resp.text().await.unwrap();
    let chain = signet_x509::Certificate::chain_from_pem(&pem).unwrap();
    assert_eq!(chain, server.tsa.keys().chain());
    assert_eq!(chain.len(), 2);
    assert!(!chain[0].is_ca());
    assert!(chain[1].is_ca());
    let (critical, ekus) = chain[0].extended_key_usage().unwrap();
    assert!(critical);
    assert_eq!(ekus, vec!["1.3.6.1.5.5.7.3.8".to_owned()]);
    // A chain fetched from the endpoint is enough to verify tokens.
    signet_x509::verify_chain(
        &chain[0],
        &chain[1..],
        chain[0].not_before() + 120,
        signet_x509::ChainPurpose::TimeStamping,
    )
    .unwrap();
}

#[tokio::test]
async fn wrong_method_and_path() {
    let server = start().await;
    let resp = reqwest::get(format!("{}/api/v1/timestamp", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = reqwest::get(format!("{}/api/v1/nothing", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// A clock that reads the epoch itself (the system clock set before 1970) gets no token: the
/// authority answers 503 rather than vouching for 1970.
#[tokio::test]
async fn a_clock_at_the_epoch_gets_no_token() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tsa = Arc::new(authority(SigningAlgorithm::EcdsaP256Sha256, now));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = signet_tsa::router(
        tsa,
        signet_clock::Clock::fixed(0),
        signet_clock::Randomness::system(),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/timestamp"))
        .header("content-type", "application/timestamp-query")
        .body(Req::over(SHA256, DATA).der())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    task.abort();
}

/// A TSA whose key lives elsewhere (a `Signer`, as an HSM key) issues verifiable tokens
/// while the key signs, and answers 503, not a token or a 200 rejection, once it fails.
#[tokio::test]
async fn a_signing_key_that_fails_gets_503() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let signer = signet_testkit::UnreliableSigner::new(
        signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap(),
        "pkcs11:token=test;object=tsa",
    );
    signer.fail_after(1);
    let dir = tempfile::tempdir().unwrap();
    let keys = signet_tsa::load_or_create_for_signer(
        dir.path(),
        i64::try_from(now).unwrap(),
        signer.clone(),
        &rng,
    )
    .unwrap();
    assert_eq!(keys.algorithm(), SigningAlgorithm::EcdsaP384Sha384);
    assert!(!dir.path().join(signet_tsa::SIGNING_KEY_FILE).exists());
    // A restart reads the chain back for the same key.
    let again = signet_tsa::load_or_create_for_signer(dir.path(), 0, signer.clone(), &rng).unwrap();
    assert_eq!(again.chain_pem(), keys.chain_pem());
    let tsa =
        Arc::new(signet_tsa::TimestampAuthority::new(keys, signet_tsa::SIGSTORE_POLICY).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = signet_tsa::router(
        tsa.clone(),
        signet_clock::Clock::fixed(now * 1000),
        signet_clock::Randomness::system(),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let post = || {
        reqwest::Client::new()
            .post(format!("http://{addr}/api/v1/timestamp"))
            .header("content-type", "application/timestamp-query")
            .body(Req::over(SHA256, DATA).der())
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 200);
    let body = first.bytes().await.unwrap();
    signet_timestamp::verify_timestamp(&body, DATA, &trust(&tsa)).unwrap();
    assert_eq!(post().await.unwrap().status(), 503);
    task.abort();
}
