//! End to end: a token from signet-oidc's development issuer (served over HTTP, checked by the
//! real `OidcVerifier` with discovery and JWKS) → a certificate from signet-ca over HTTP, its
//! precertificate logged in signet-ct's CT log → a signature with the ephemeral key → a Rekor
//! v1 entry in the log server `open_log_server` starts → a v0.3 bundle that signet-verify
//! accepts with a trusted root listing the CA, the key of its CT log and the Rekor log. (Moved
//! here from signet-ca, which no longer knows signet-ct or the log server.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use signet_ca::{CaAlgorithm, CaKeys, CertificateAuthority};
use signet_deploy::CtPrecertLogger;
use signet_formats::bundle::{
    Bundle, BundleContent, HashAlgorithm, HashOutput, MEDIA_TYPE_V0_3, MessageSignature,
    VerificationMaterial, VerificationMaterialContent,
};
use signet_formats::trust::TrustedRoot;
use signet_verify::{
    Artifact, IdentityPolicy, Policy, StringMatcher, TrustMaterial, verify_bundle,
};
use std::sync::Arc;
use std::time::Duration;

/// A CA whose precertificates go to signet-ct's log (in memory), and that log.
async fn new_ca_with_ct_log() -> (Arc<CertificateAuthority>, Arc<signet_ct::CtLog>) {
    let keys = CaKeys::generate(now() - 60, CaAlgorithm::EcdsaP256, &SystemRandom::new()).unwrap();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let mut config = signet_ct::CtLogConfig::new(
        "ct.signet.test/2026",
        signet_clock::Clock::system(),
        Arc::new(signet_ct::MemoryExtraDataStore::new()),
    );
    config.roots = vec![keys.root().der().to_vec()];
    let log = Arc::new(
        signet_ct::CtLog::open(
            Arc::new(signet_log::MemoryStore::new()),
            Arc::new(signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap()),
            config,
        )
        .await
        .unwrap(),
    );
    let logger = Arc::new(CtPrecertLogger(log.clone()));
    (
        Arc::new(CertificateAuthority::new(keys, logger).unwrap()),
        log,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_signs_a_bundle_that_verifies() {
    let dir = tempfile::tempdir().unwrap();

    // The development OIDC issuer on its own port, and the real verifier pointed at it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", listener.local_addr().unwrap());
    let dev = Arc::new(
        signet_oidc::DevIssuer::load_or_create(
            &dir.path().join("oidc"),
            issuer_url.clone(),
            signet_clock::Clock::system(),
            signet_clock::Randomness::system(),
        )
        .unwrap(),
    );
    let dev_router = dev.clone().router();
    let dev_task = tokio::spawn(async move {
        axum::serve(listener, dev_router).await.unwrap();
    });
    let verifier =
        signet_oidc::OidcVerifier::new(vec![dev.issuer_config()], reqwest::Client::new());
    // The CA logs its precertificates in signet-ct's CT log.
    let (ca, ct_log) = new_ca_with_ct_log().await;
    let ca = start_ca_with(
        ca,
        ct_log.public_key_spki_der().to_vec(),
        Arc::new(verifier),
    )
    .await;

    // Keyless signing: token → certificate (form b) → signature.
    let email = "alice@example.test";
    let token = dev.mint(email, "sigstore", now(), 600).unwrap();
    let key = SubjectKey::new();
    let response = reqwest::Client::new()
        .post(ca.url("/api/v2/signingCert"))
        .json(&pop_request(
            &token,
            &key.pem(),
            &key.sign(email.as_bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let chain = chain_of(&answer);
    let leaf_pem = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let artifact = b"an artifact signed by a signet CA certificate\n".to_vec();
    let signature = key.sign(&artifact);

    // The same token again with a tampered signature is refused by the real verifier (401).
    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let response = reqwest::Client::new()
        .post(ca.url("/api/v2/signingCert"))
        .bearer_auth(&forged)
        .json(&csr_request(&key.csr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Log it in signet-server's Rekor v1 log.
    let log_dir = dir.path().join("log");
    let (log_base, log_task, server) = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = signet_deploy::open_log_server(signet_deploy::LogServerConfig {
            data_dir: log_dir.clone(),
            public_url: base.clone(),
            batch: signet_log::BatcherConfig {
                max_wait: Duration::from_millis(5),
                ..signet_log::BatcherConfig::default()
            },
            database: None,
            peer_url: Some(base.clone()),
            cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
            follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
            retired_v1: Vec::new(),
            guards: Default::default(),
        })
        .await
        .unwrap();
        let router = server.router();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        (base, task, server)
    };
    let entry = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest(&SHA256, &artifact))}},
        "signature": {"content": STANDARD.encode(&signature),
                      "publicKey": {"content": STANDARD.encode(&leaf_pem)}},
    }});
    let response = reqwest::Client::new()
        .post(format!("{log_base}/api/v1/log/entries"))
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let log_entry = signet_rekor::LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
    let (_, anon) = log_entry.single().unwrap();
    let tle = anon.to_transparency_log_entry().unwrap();

    // The bundle.
    let bundle = Bundle {
        media_type: MEDIA_TYPE_V0_3.into(),
        verification_material: VerificationMaterial {
            content: VerificationMaterialContent::Certificate(chain[0].der().to_vec()),
            tlog_entries: vec![tle],
            timestamp_verification_data: None,
        },
        content: BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: digest(&SHA256, &artifact).as_ref().to_vec(),
            }),
            signature: signature.clone(),
        }),
    };

    // The trusted root: the log server's, plus this CA (from its trustBundle) and its CT key.
    let mut root: Value =
        serde_json::from_slice(&std::fs::read(signet_deploy::trusted_root_path(&log_dir)).unwrap())
            .unwrap();
    let trust_bundle: Value = reqwest::get(ca.url("/api/v2/trustBundle"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = ca.ca.trusted_root_entry(&ca.base);
    // The entry's chain is the one the trustBundle endpoint serves.
    let served: Vec<String> = trust_bundle["chains"][0]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let der = signet_x509::Certificate::from_pem(p.as_str().unwrap()).unwrap();
            STANDARD.encode(der.der())
        })
        .collect();
    let listed: Vec<String> = entry["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rawBytes"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(served, listed);
    root["certificateAuthorities"] = json!([entry]);
    let log_id = digest(&SHA256, &ca.sct_spki);
    root["ctlogs"] = json!([{
        "baseUrl": "http://ct.invalid",
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": STANDARD.encode(&ca.sct_spki),
                      "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "validFor": {"start": "2020-01-01T00:00:00Z"}},
        "logId": {"keyId": STANDARD.encode(log_id.as_ref())},
    }]);
    let trusted = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
    let trust = TrustMaterial::from_trusted_root(&trusted).unwrap();
    let policy = |san: &str| {
        Policy::Identity(IdentityPolicy {
            san: StringMatcher::Exact(san.into()),
            issuer: StringMatcher::Exact(issuer_url.clone()),
            extensions: Vec::new(),
        })
    };
    let verified = verify_bundle(
        &bundle,
        &Artifact::Bytes(artifact.clone()),
        &trust,
        &policy(email),
        now(),
    )
    .unwrap();
    println!("verified: {verified:?}");

    // Another identity, another artifact, or a trust root without the CT log: refused.
    assert!(
        verify_bundle(
            &bundle,
            &Artifact::Bytes(artifact.clone()),
            &trust,
            &policy("bob@example.test"),
            now()
        )
        .is_err()
    );
    assert!(
        verify_bundle(
            &bundle,
            &Artifact::Bytes(b"other".to_vec()),
            &trust,
            &policy(email),
            now()
        )
        .is_err()
    );
    root["ctlogs"] = json!([]);
    let no_ct = TrustMaterial::from_trusted_root(
        &TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        verify_bundle(
            &bundle,
            &Artifact::Bytes(artifact),
            &no_ct,
            &policy(email),
            now()
        )
        .is_err()
    );

    // The CT log holds the precertificate.
    assert_eq!(ct_log.latest_sth().unwrap().tree_size, 1);
    ca.stop();
    ct_log.shutdown().await;
    dev_task.abort();
    log_task.abort();
    let _ = log_task.await;
    server.shutdown().await;
}
