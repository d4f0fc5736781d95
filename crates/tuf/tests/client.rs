//! signet's TUF client against a signet repository served over HTTP on 127.0.0.1 (and from
//! disk): byte-identical targets, new publishes seen, root updates followed, and every attack
//! a hostile mirror can make refused with its reason, never answered from the cache.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
mod stores;

use std::collections::HashMap;
use std::num::NonZeroU64;

use common::{DAY, Override, Served, now, sha256_hex};
use signet_tuf::TufError;
use signet_tuf::client::{InstanceStore, Transport, TrustTargets};
use tough::schema::{Hashes, Metafile, RoleType, Root, Snapshot, Targets, Timestamp};

fn transport() -> Transport {
    Transport::new(reqwest::Client::new())
}

/// A bootstrapped client store for `served`.
async fn client(served: &Served) -> (tempfile::TempDir, InstanceStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = InstanceStore::new(InstanceStore::dir_for(dir.path(), &served.url));
    store
        .bootstrap(served.repo.read().await.initial_root())
        .unwrap();
    assert!(store.is_bootstrapped());
    (dir, store)
}

fn expected(trusted: &[u8], config: &[u8]) -> TrustTargets {
    TrustTargets {
        trusted_root: trusted.to_vec(),
        signing_config: Some(config.to_vec()),
        offline: false,
    }
}

fn jiff_at(unix: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(unix).unwrap()
}

fn metafile(bytes: Option<&[u8]>, version: u64) -> Metafile {
    Metafile {
        length: bytes.map(|b| b.len() as u64),
        hashes: bytes.map(|b| Hashes {
            sha256: hex::decode(sha256_hex(b)).unwrap().into(),
            _extra: HashMap::new(),
        }),
        version: NonZeroU64::new(version).unwrap(),
        _extra: HashMap::new(),
    }
}

/// Serves a new snapshot (signed with the real snapshot key) listing `targets_meta`, and a new
/// timestamp (real key) listing it.
async fn serve_snapshot(served: &Served, root: &Root, version: u64, targets_meta: Metafile) {
    let mut snapshot = Snapshot::new(
        "1.0.31".to_owned(),
        NonZeroU64::new(version).unwrap(),
        jiff_at(now() + DAY),
    );
    snapshot
        .meta
        .insert("targets.json".to_owned(), targets_meta);
    let snapshot_bytes = common::sign(
        snapshot,
        root,
        common::der_key(&served.key_path(RoleType::Snapshot)),
    )
    .await;
    let mut timestamp = Timestamp::new(
        "1.0.31".to_owned(),
        NonZeroU64::new(version).unwrap(),
        jiff_at(now() + DAY),
    );
    timestamp.meta.insert(
        "snapshot.json".to_owned(),
        metafile(Some(&snapshot_bytes), version),
    );
    let timestamp_bytes = common::sign(
        timestamp,
        root,
        common::der_key(&served.key_path(RoleType::Timestamp)),
    )
    .await;
    served.set(
        &format!("{version}.snapshot.json"),
        Override::Bytes(snapshot_bytes),
    );
    served.set("timestamp.json", Override::Bytes(timestamp_bytes));
}

#[tokio::test(flavor = "multi_thread")]
async fn fetches_byte_identical_targets_and_sees_new_publishes() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    let got = store.refresh(&served.url, transport()).await.unwrap();
    assert_eq!(got, expected(b"{\"trusted\": 1}\n", b"{\"config\": 1}\n"));
    assert_eq!(store.cached().unwrap().trusted_root, got.trusted_root);
    assert!(store.cached().unwrap().offline);

    assert!(
        served
            .repo
            .write()
            .await
            .publish(
                &[
                    (signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 2}\n"),
                    (signet_tuf::SIGNING_CONFIG_TARGET, b"{\"config\": 2}\n"),
                ],
                now(),
            )
            .await
            .unwrap()
    );
    // A trailing slash on the URL changes nothing.
    let got = store
        .refresh(&format!("{}/", served.url), transport())
        .await
        .unwrap();
    assert_eq!(got, expected(b"{\"trusted\": 2}\n", b"{\"config\": 2}\n"));

    // Without a signing config target: None.
    served
        .repo
        .write()
        .await
        .publish(
            &[(signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 3}\n")],
            now(),
        )
        .await
        .unwrap();
    let got = store.refresh(&served.url, transport()).await.unwrap();
    assert_eq!(got.trusted_root, b"{\"trusted\": 3}\n");
    assert_eq!(got.signing_config, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_a_new_root_and_stores_it() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    // Half a year on (the metadata is signed as if then; still valid now).
    assert!(
        served
            .repo
            .write()
            .await
            .refresh(now() + 183 * DAY)
            .await
            .unwrap()
    );
    assert_eq!(served.repo.read().await.versions().root, 2);
    store.refresh(&served.url, transport()).await.unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.dir().join("root.json")).unwrap()).unwrap();
    assert_eq!(stored["signed"]["version"], 2);
    // The stored (re-serialised) root is a valid trust anchor for the next run.
    store.refresh(&served.url, transport()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_a_repository_from_a_file_url() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    let url = url::Url::from_directory_path(served.repo_dir()).unwrap();
    let got = store.refresh(url.as_str(), transport()).await.unwrap();
    assert_eq!(got, expected(b"{\"trusted\": 1}\n", b"{\"config\": 1}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_modified_target_is_refused_without_fallback() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    let original = b"{\"trusted\": 1}\n";
    let path = format!("targets/{}.trusted_root.json", sha256_hex(original));
    // Same length, other bytes.
    served.set(&path, Override::Bytes(b"{\"trusted\": 9}\n".to_vec()));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    assert!(matches!(err, TufError::HashMismatch { .. }), "{err:?}");
    // Longer than listed.
    served.set(&path, Override::Bytes(b"{\"trusted\": 1}\n  ".to_vec()));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    assert!(matches!(err, TufError::LengthMismatch { .. }), "{err:?}");
    // Missing.
    served.set(&path, Override::NotFound);
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    assert!(matches!(err, TufError::Transport { .. }), "{err:?}");
    assert!(!err.is_unreachable());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_timestamp_after_a_newer_one_is_a_rollback() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    let old_timestamp = served.file("timestamp.json").await;
    served
        .repo
        .write()
        .await
        .publish(&[(signet_tuf::TRUSTED_ROOT_TARGET, b"new")], now())
        .await
        .unwrap();
    store.refresh(&served.url, transport()).await.unwrap();
    served.set("timestamp.json", Override::Bytes(old_timestamp));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    match err {
        TufError::Rollback {
            ref role,
            trusted,
            offered,
            ..
        } => {
            assert_eq!((role.as_str(), trusted, offered), ("timestamp", 3, 2));
        }
        other => panic!("{other:?}"),
    }
    // Also across runs (tough's datastore): a fresh store object on the same directory.
    let again = InstanceStore::new(store.dir().to_path_buf());
    let err = again.refresh(&served.url, transport()).await.unwrap_err();
    assert!(matches!(err, TufError::Rollback { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_timestamp_is_refused() {
    // Built two days ago: the one-day timestamp has expired, nothing else has.
    let served = Served::start(now() - 2 * DAY).await;
    let (_tmp, store) = client(&served).await;
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    match &err {
        TufError::Expired { role, .. } => assert_eq!(role, "timestamp"),
        other => panic!("{other:?}"),
    }
    // The repository re-signs it; then it is accepted.
    assert!(served.repo.write().await.refresh(now()).await.unwrap());
    store.refresh(&served.url, transport()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_listing_another_targets_version_is_refused() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    let root: Root = served.signed::<Root>("1.root.json").await.signed;
    // Snapshot 3 says targets version 3 (no hash); 3.targets.json is really version 2.
    serve_snapshot(&served, &root, 3, metafile(None, 3)).await;
    served.set(
        "3.targets.json",
        Override::Bytes(served.file("2.targets.json").await),
    );
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    match err {
        TufError::VersionMismatch {
            ref role,
            fetched,
            expected,
            ..
        } => assert_eq!((role.as_str(), fetched, expected), ("targets", 2, 3)),
        other => panic!("{other:?}"),
    }
    // With the hash listed, the swapped file fails its hash first.
    served.clear();
    let listed = served.file("2.targets.json").await;
    serve_snapshot(&served, &root, 3, metafile(Some(&listed), 3)).await;
    served.set("3.targets.json", Override::Bytes(b"{}".to_vec()));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    assert!(matches!(err, TufError::HashMismatch { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_signed_by_another_key_are_refused() {
    let served = Served::start(now()).await;
    let (tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    let root: Root = served.signed::<Root>("1.root.json").await.signed;
    let (evil, evil_key) = common::new_key(tmp.path(), "evil");
    let mut targets: Targets = served.signed::<Targets>("2.targets.json").await.signed;
    targets.version = NonZeroU64::new(3).unwrap();
    let targets_bytes = common::sign(
        targets,
        &common::root_with_key(&root, RoleType::Targets, &evil_key),
        evil,
    )
    .await;
    serve_snapshot(&served, &root, 3, metafile(Some(&targets_bytes), 3)).await;
    served.set("3.targets.json", Override::Bytes(targets_bytes));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    match err {
        TufError::ThresholdNotMet {
            ref role,
            threshold,
            valid,
            ..
        } => assert_eq!((role.as_str(), threshold, valid), ("targets", 1, 0)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_signed_by_another_key_is_refused() {
    let served = Served::start(now()).await;
    let (tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    let root: Root = served.signed::<Root>("1.root.json").await.signed;
    let (evil, evil_key) = common::new_key(tmp.path(), "evil-root");
    let mut evil_root = common::root_with_key(&root, RoleType::Root, &evil_key);
    evil_root.version = NonZeroU64::new(2).unwrap();
    let bytes = common::sign(evil_root.clone(), &evil_root, evil).await;
    served.set("2.root.json", Override::Bytes(bytes));
    let err = store.refresh(&served.url, transport()).await.unwrap_err();
    match err {
        TufError::ThresholdNotMet { ref role, .. } => assert_eq!(role, "root"),
        other => panic!("{other:?}"),
    }
    // A root refused by its own keys is refused at bootstrap too.
    let self_signed_by_other = {
        let (evil2, _) = common::new_key(tmp.path(), "evil2");
        common::sign(root.clone(), &root_with_signer(&root, &evil2), evil2).await
    };
    let other = InstanceStore::new(tmp.path().join("other"));
    let err = other.bootstrap(&self_signed_by_other).unwrap_err();
    assert!(matches!(err, TufError::ThresholdNotMet { .. }), "{err:?}");
    assert!(!other.is_bootstrapped());
}

/// `root` plus `signer`'s key listed as a root key (so tough signs with it), for a root whose
/// signature its real root keys will not accept.
fn root_with_signer(root: &Root, signer: &tough::key_source::LocalKeySource) -> Root {
    use tough::sign::Sign as _;
    let der = std::fs::read(&signer.path).unwrap();
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&der).unwrap();
    common::root_with_key(root, RoleType::Root, &pair.tuf_key())
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_fallback_only_when_unreachable() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    let url = served.url.clone();
    // No cache yet and nothing listening: the unreachable error itself.
    let (_tmp2, empty) = client(&served).await;
    let empty = InstanceStore::new(empty.dir().join("never-refreshed"));
    empty
        .bootstrap(served.repo.read().await.initial_root())
        .unwrap();

    let online = store.refresh(&url, transport()).await.unwrap();
    let _dir = served.stop().await;
    let offline = store.refresh(&url, transport()).await.unwrap();
    assert!(offline.offline);
    assert_eq!(offline.trusted_root, online.trusted_root);
    assert_eq!(offline.signing_config, online.signing_config);

    let err = empty.refresh(&url, transport()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");

    // A name that does not resolve is unreachable too.
    let offline = store
        .refresh("http://signet-tuf-test.invalid/tuf", transport())
        .await
        .unwrap();
    assert!(offline.offline);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_hits_the_deadline() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    store.refresh(&served.url, transport()).await.unwrap();
    // Accepts connections, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let got = store
        .refresh(
            &format!("http://127.0.0.1:{port}/tuf"),
            transport().with_deadline(std::time::Duration::from_millis(500)),
        )
        .await
        .unwrap();
    assert!(got.offline);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    drop(listener);
}

#[test]
fn sigstore_public_tuf_roots_bootstrap() {
    // The roots `signet trust update` embeds: tough parses them (ECDSA keys, key IDs over keys
    // with extra fields) and they are signed by their own threshold.
    for name in ["public-good-tuf-root.json", "staging-tuf-root.json"] {
        let root = std::fs::read(signet_testdata::path(&format!("trust/{name}"))).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(tmp.path().join("s"));
        store
            .bootstrap(&root)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(store.is_bootstrapped());
    }
}

/// Trusting another root (another instance at the same URL, or a re-keyed one) drops what was
/// verified under the old one: with the repository gone, nothing old comes back as an offline
/// fallback. Bootstrapping the same root again keeps it.
#[tokio::test]
async fn another_root_forgets_what_the_old_one_verified() {
    let served = Served::start(now()).await;
    let (_tmp, store) = client(&served).await;
    let url = served.url.clone();
    store.refresh(&url, transport()).await.unwrap();
    let same = served.repo.read().await.initial_root().to_vec();
    store.bootstrap(&same).unwrap();
    assert!(
        store.cached().is_ok(),
        "the same root keeps its verified targets"
    );

    let other = Served::start(now()).await;
    let other_root = other.repo.read().await.initial_root().to_vec();
    assert_ne!(other_root, same);
    store.bootstrap(&other_root).unwrap();
    assert!(matches!(
        store.cached(),
        Err(signet_tuf::TufError::NoCachedTargets(_))
    ));
    let _dir = served.stop().await;
    let _other = other.stop().await;
    let err = store.refresh(&url, transport()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}
