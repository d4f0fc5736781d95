//! Issuance through signet-ct's real CT log ([`signet_deploy::CtPrecertLogger`]): the
//! precertificate is appended durably, the SCT in the certificate verifies with the log's key,
//! and the log holds the entry. (Moved here from signet-ca, which no longer knows signet-ct.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use common::*;
use serde_json::json;
use signet_ca::identity::identity_from_token;
use signet_ca::request::check_subject_key;
use signet_ca::{CaAlgorithm, CaKeys, CertificateAuthority};
use signet_deploy::CtPrecertLogger;
use signet_oidc::{IssuerType, VerifiedToken};
use signet_x509::{Certificate, ChainPurpose, verify_chain, verify_embedded_scts};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_carry_scts_from_the_real_ct_log() {
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
    let ct_key = signet_x509::PublicKey::from_spki_der(log.public_key_spki_der()).unwrap();
    let ca = CertificateAuthority::new(keys, Arc::new(CtPrecertLogger(log.clone()))).unwrap();

    let claims =
        json!({"iss": ISSUER, "sub": "s", "email": "carol@example.test", "email_verified": true});
    let token = VerifiedToken {
        issuer: issuer_config(ISSUER, IssuerType::Email),
        subject: "s".into(),
        claims: claims.as_object().unwrap().clone(),
    };
    let identity = identity_from_token(&token).unwrap();
    for i in 0..3u8 {
        let key = check_subject_key(&SubjectKey::new().spki()).unwrap();
        let issued = ca.issue(&identity, &key, now(), [i + 1; 20]).await.unwrap();
        let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
        verify_chain(&leaf, &ca.keys().chain(), now(), ChainPurpose::CodeSigning).unwrap();
        let scts = verify_embedded_scts(
            &leaf,
            ca.keys().intermediate(),
            &[signet_x509::CtLog::from_key(ct_key.clone())],
        )
        .unwrap();
        assert_eq!(scts[0].log_id, log.log_id().to_vec());
    }
    // The log holds the three precertificates.
    let entries = log.entries(0, 2).await.unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(log.latest_sth().unwrap().tree_size, 3);
    log.shutdown().await;
}

/// A CT key that stops signing (an HSM gone) fails issuance with 503 and nothing issued; so
/// does a CT log that is shut down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_ct_log_is_503_for_the_ca() {
    let keys = CaKeys::generate(now() - 60, CaAlgorithm::EcdsaP256, &SystemRandom::new()).unwrap();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let signer = signet_testkit::UnreliableSigner::new(
        signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap(),
        "pkcs11:token=test;object=ct",
    );
    let mut config = signet_ct::CtLogConfig::new(
        "ct.signet.test/2026",
        signet_clock::Clock::system(),
        Arc::new(signet_ct::MemoryExtraDataStore::new()),
    );
    config.roots = vec![keys.root().der().to_vec()];
    let log = Arc::new(
        signet_ct::CtLog::open(
            Arc::new(signet_log::MemoryStore::new()),
            signer.clone(),
            config,
        )
        .await
        .unwrap(),
    );
    let ca = CertificateAuthority::new(keys, Arc::new(CtPrecertLogger(log.clone()))).unwrap();
    let claims =
        json!({"iss": ISSUER, "sub": "s", "email": "carol@example.test", "email_verified": true});
    let token = VerifiedToken {
        issuer: issuer_config(ISSUER, IssuerType::Email),
        subject: "s".into(),
        claims: claims.as_object().unwrap().clone(),
    };
    let identity = identity_from_token(&token).unwrap();
    signer.set_failing(true);
    let key = check_subject_key(&SubjectKey::new().spki()).unwrap();
    let e = ca.issue(&identity, &key, now(), [1; 20]).await.unwrap_err();
    assert_eq!(e.http_status(), 503, "{e:?}");
    assert_eq!(log.latest_sth().unwrap().tree_size, 0);
    signer.set_failing(false);
    log.shutdown().await;
    let e = ca.issue(&identity, &key, now(), [2; 20]).await.unwrap_err();
    assert_eq!(e.http_status(), 503, "{e:?}");
}
