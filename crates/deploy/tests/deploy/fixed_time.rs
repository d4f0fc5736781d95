//! The whole deployment on a fixed clock: every service reads the environment's clock, none
//! the system's. The CA's certificate starts at the fixed time and the TSA's token carries it
//! as its genTime; so do the development issuer's token, the CT log's SCT and the keys of
//! every log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SubjectKey, chain_of, pop_request};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use signet_clock::{Clock, Randomness};
use signet_deploy::{Deployment, DeploymentConfig, Environment};
use signet_formats::trust::TrustedRoot;
use signet_verify::TrustMaterial;

/// The fixed time, 2025-06-15T15:06:40.250Z: long past, so it cannot be the system's now.
const FIXED_MS: u64 = 1_750_000_000_250;
/// The same in whole seconds, as certificates and timestamp tokens carry it.
const FIXED: i64 = 1_750_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_and_tsa_run_at_a_fixed_time() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env = Environment {
        clock: Clock::fixed(FIXED_MS),
        randomness: Randomness::system(),
    };
    let config = DeploymentConfig {
        data_dir: dir.path().to_owned(),
        public_url: base.clone(),
        database: None,
        dev_oidc: true,
        oidc_issuers: Vec::new(),
        batch: Default::default(),
        ct_public_add: false,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
        rotate: Vec::new(),
        tuf_expiries: Default::default(),
        log_guards: Default::default(),
        ca_chain: None,
        peer_url: None,
    };
    let deployment = Deployment::open_with(config, env).await.unwrap();
    let router = deployment.router();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();

    // Keys made on first start are stamped with the fixed time: the logs', the CT log's and
    // the CA's (the TSA's certificate is backdated a minute for clock skew).
    let root = TrustedRoot::from_json(deployment.trust_files().trusted_root.as_bytes()).unwrap();
    let start = |range: Option<signet_formats::trust::TimeRange>| range.unwrap().start.unwrap();
    for tlog in &root.tlogs {
        assert_eq!(start(tlog.public_key.valid_for).seconds, FIXED);
    }
    assert_eq!(start(root.ctlogs[0].public_key.valid_for).seconds, FIXED);
    assert_eq!(
        start(root.certificate_authorities[0].valid_for).seconds,
        FIXED
    );
    assert_eq!(
        start(root.timestamp_authorities[0].valid_for).seconds,
        FIXED - 60
    );

    // The development issuer's token is issued at the fixed time.
    let email = "alice@example.test";
    let answer: Value = http
        .post(format!("{base}/oidc/token"))
        .json(&json!({ "subject": email }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["id_token"].as_str().unwrap();
    let claims = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let claims: Value = serde_json::from_slice(&claims).unwrap();
    assert_eq!(claims["iat"], json!(FIXED));

    // The CA checks the token and issues at the fixed time; the CT log's SCT is stamped then.
    let key = SubjectKey::new();
    let response = http
        .post(format!("{base}/api/v2/signingCert"))
        .json(&pop_request(token, &key.pem(), &key.sign(email.as_bytes())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let chain = chain_of(&response.json().await.unwrap());
    assert_eq!(chain[0].not_before(), FIXED, "the leaf's notBefore");
    assert_eq!(chain[1].not_before(), FIXED, "the intermediate's notBefore");
    let ct_key = root.ctlogs[0].public_key.raw_bytes.as_deref().unwrap();
    let ct_log =
        signet_x509::CtLog::from_key(signet_x509::PublicKey::from_spki_der(ct_key).unwrap());
    let scts = signet_x509::verify_embedded_scts(&chain[0], &chain[1], &[ct_log]).unwrap();
    // Strictly increasing from the fixed time: the log's first tree head took it.
    assert!(
        (FIXED_MS..FIXED_MS + 1000).contains(&scts[0].timestamp_ms),
        "SCT at {}",
        scts[0].timestamp_ms
    );

    // The TSA's token carries the fixed time as its genTime, and verifies against the trusted
    // root at it.
    let data = b"stamped at a fixed time";
    let request = json!({
        "artifactHash": STANDARD.encode(digest(&SHA256, data)),
        "hashAlgorithm": "sha256",
        "certificates": true,
    });
    let reply = http
        .post(format!("{base}/api/v1/timestamp"))
        .json(&request)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let parsed = signet_timestamp::parse_timestamp_token(&reply).unwrap();
    assert_eq!(parsed.gen_time, FIXED, "genTime");
    let trust = TrustMaterial::from_trusted_root(&root).unwrap();
    let verified =
        signet_timestamp::verify_timestamp(&reply, data, &trust.timestamp_authorities).unwrap();
    assert_eq!(verified.time, FIXED);

    task.abort();
    let _ = task.await;
    deployment.shutdown().await;
}
