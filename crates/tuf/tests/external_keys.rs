//! TUF role keys kept elsewhere (an HSM, here `Signer`s in memory standing in for one): the
//! roles sign through them, no key file is made for them, a key of the wrong kind is refused,
//! and a key that stops signing fails a publish without changing what is served.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use signet_signer::{MemorySigner, SharedSigner};
use signet_tuf::repo::{Expiries, Repository, RoleKeys, key_file_name};
use tough::schema::RoleType;

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test]
async fn online_roles_sign_with_external_keys() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let keys_dir = tempfile::tempdir().unwrap();
    let ed25519 = |seed: u8| MemorySigner::from_ed25519_seed(&[seed; 32]).unwrap();
    let timestamp =
        signet_testkit::UnreliableSigner::new(ed25519(1), "pkcs11:token=test;object=tuf");
    let external: Vec<(RoleType, SharedSigner)> = vec![
        (RoleType::Timestamp, timestamp.clone()),
        (RoleType::Snapshot, Arc::new(ed25519(2))),
        (RoleType::Targets, Arc::new(ed25519(3))),
    ];

    // A P-256 key for a role is refused, naming the role and the key.
    let p256 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let wrong: Vec<(RoleType, SharedSigner)> = vec![(
        RoleType::Snapshot,
        Arc::new(MemorySigner::from_pkcs8(p256.as_ref()).unwrap()),
    )];
    let message = RoleKeys::load_or_create_with(keys_dir.path(), &rng, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("snapshot") && message.contains("Ed25519"),
        "{message}"
    );

    let keys = RoleKeys::load_or_create_with(keys_dir.path(), &rng, &external).unwrap();
    for role in [RoleType::Timestamp, RoleType::Snapshot, RoleType::Targets] {
        assert!(
            !keys_dir.path().join(key_file_name(role)).exists(),
            "{role} key file"
        );
    }
    assert!(keys_dir.path().join(key_file_name(RoleType::Root)).exists());
    // A key file beside an external key is refused.
    let with_root: Vec<(RoleType, SharedSigner)> = vec![(RoleType::Root, Arc::new(ed25519(4)))];
    let message = RoleKeys::load_or_create_with(keys_dir.path(), &rng, &with_root)
        .unwrap_err()
        .to_string();
    assert!(message.contains("remove"), "{message}");
    // The same key gives the same TUF key ID as its key file would.
    let file_keys_dir = tempfile::tempdir().unwrap();
    let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&[1; 32])
        .unwrap()
        .to_pkcs8()
        .unwrap();
    let pem =
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, pkcs8.as_ref())
            .unwrap();
    std::fs::write(
        file_keys_dir
            .path()
            .join(key_file_name(RoleType::Timestamp)),
        pem,
    )
    .unwrap();
    let file_keys = RoleKeys::load_or_create(file_keys_dir.path(), &rng).unwrap();
    assert_eq!(
        file_keys.key_id(RoleType::Timestamp),
        keys.key_id(RoleType::Timestamp)
    );

    let repo_dir = tempfile::tempdir().unwrap();
    let now = now();
    let mut repo = Repository::open(repo_dir.path(), keys.clone(), Expiries::default(), now)
        .await
        .unwrap();
    let before = repo.versions();
    assert!(
        repo.publish(&[("trusted_root.json", b"{}")], now)
            .await
            .unwrap()
    );

    // The timestamp key stops signing: the publish fails, nothing served changes.
    timestamp.set_failing(true);
    let served = repo.versions();
    assert_ne!(format!("{served:?}"), format!("{before:?}"));
    assert!(
        repo.publish(&[("trusted_root.json", b"{\"a\":1}")], now)
            .await
            .is_err()
    );
    assert_eq!(format!("{:?}", repo.versions()), format!("{served:?}"));
}
