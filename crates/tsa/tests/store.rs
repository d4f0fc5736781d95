//! Keys kept in a data directory: created once with a 0600 key file, then reloaded as is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::rand::SystemRandom;
use signet_tsa::{CHAIN_FILE, SIGNING_KEY_FILE, SigningAlgorithm, TsaError, load_or_create};

const NOW: i64 = 1_780_000_000;

#[test]
fn creates_then_reloads_the_same_identity() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = load_or_create(
        &data,
        NOW,
        SigningAlgorithm::EcdsaP384Sha384,
        &SystemRandom::new(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(SIGNING_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let chain_pem = std::fs::read_to_string(data.join(CHAIN_FILE)).unwrap();
    assert_eq!(chain_pem, first.chain_pem());
    // Reloaded later (the algorithm argument only matters on creation).
    let second = load_or_create(
        &data,
        NOW + 1000,
        SigningAlgorithm::EcdsaP256Sha256,
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(second.chain(), first.chain());
    assert_eq!(second.algorithm(), SigningAlgorithm::EcdsaP384Sha384);
    assert_eq!(second.signing_key_pem(), first.signing_key_pem());
    // Debug never shows the key.
    let debug = format!("{second:?}");
    assert!(!debug.contains("PRIVATE"));
    assert!(!debug.contains(&second.signing_key_pem()[30..60]));
}

#[test]
fn a_missing_half_is_an_error_not_a_new_identity() {
    let dir = tempfile::tempdir().unwrap();
    load_or_create(
        dir.path(),
        NOW,
        SigningAlgorithm::EcdsaP256Sha256,
        &SystemRandom::new(),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join(CHAIN_FILE)).unwrap();
    assert!(matches!(
        load_or_create(
            dir.path(),
            NOW,
            SigningAlgorithm::EcdsaP256Sha256,
            &SystemRandom::new()
        ),
        Err(TsaError::HalfKeyPair { .. })
    ));
}

#[test]
fn a_chain_for_another_key_is_refused() {
    let a =
        signet_tsa::TsaKeys::generate(NOW, SigningAlgorithm::EcdsaP256Sha256, &SystemRandom::new())
            .unwrap();
    let b =
        signet_tsa::TsaKeys::generate(NOW, SigningAlgorithm::EcdsaP256Sha256, &SystemRandom::new())
            .unwrap();
    assert!(matches!(
        signet_tsa::TsaKeys::from_pem(&a.signing_key_pem(), &b.chain_pem()),
        Err(TsaError::BadChain { .. })
    ));
    // The root alone (no timeStamping EKU) is refused too.
    let root_only: String = b
        .chain_pem()
        .split_inclusive("-----END CERTIFICATE-----\n")
        .skip(1)
        .collect();
    assert!(signet_tsa::TsaKeys::from_pem(&b.signing_key_pem(), &root_only).is_err());
    assert!(matches!(
        signet_tsa::TsaKeys::from_pem("not pem", &a.chain_pem()),
        Err(TsaError::BadSigningKey { .. })
    ));
    signet_tsa::TsaKeys::from_pem(&a.signing_key_pem(), &a.chain_pem()).unwrap();
}

#[test]
fn generated_certificates_have_the_tsa_profile() {
    let keys =
        signet_tsa::TsaKeys::generate(NOW, SigningAlgorithm::EcdsaP256Sha256, &SystemRandom::new())
            .unwrap();
    let chain = keys.chain();
    let (leaf, root) = (&chain[0], &chain[1]);
    assert_eq!(leaf.not_before(), NOW - 60);
    assert_eq!(
        leaf.not_after() - leaf.not_before(),
        signet_tsa::CERTIFICATE_LIFETIME.as_secs() as i64
    );
    root.verify_issued_by(root).unwrap();
    leaf.verify_issued_by(root).unwrap();
    let ku = const_oid::db::rfc5280::ID_CE_KEY_USAGE;
    assert_eq!(
        leaf.extension(&ku).map(|(critical, _)| critical),
        Some(true)
    );
    assert!(
        leaf.has_key_usage(x509_cert::ext::pkix::KeyUsages::DigitalSignature)
            .unwrap()
    );
    for oid in ["2.5.29.14", "2.5.29.35"] {
        let oid = const_oid::ObjectIdentifier::new_unwrap(oid);
        assert!(leaf.extension(&oid).is_some(), "{oid}");
    }
    signet_x509::verify_chain(
        leaf,
        &chain[1..],
        NOW,
        signet_x509::ChainPurpose::TimeStamping,
    )
    .unwrap();
}
