use super::*;

const NOW: i64 = 1_780_000_000;
const DAY_S: i64 = 86_400;

fn keys(dir: &Path) -> RoleKeys {
    RoleKeys::load_or_create(&dir.join("keys"), &SystemRandom::new()).unwrap()
}

async fn open(dir: &Path, now: i64) -> Repository {
    Repository::open(&dir.join("repo"), keys(dir), Expiries::default(), now)
        .await
        .unwrap()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn first_open_writes_version_one_of_every_role() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = open(tmp.path(), NOW).await;
    assert_eq!(
        repo.versions(),
        Versions {
            root: 1,
            targets: 1,
            snapshot: 1,
            timestamp: 1
        }
    );
    let root = json(repo.initial_root());
    assert_eq!(root["signed"]["_type"], "root");
    assert_eq!(root["signed"]["consistent_snapshot"], true);
    assert_eq!(root["signed"]["spec_version"], SPEC_VERSION);
    // Whole seconds: python-tuf parses `%Y-%m-%dT%H:%M:%SZ`.
    let expires = root["signed"]["expires"].as_str().unwrap();
    assert_eq!(expires.len(), "2027-05-28T20:26:40Z".len(), "{expires}");
    assert!(expires.ends_with('Z'));
    assert_eq!(repo.file("1.root.json").unwrap(), repo.initial_root());
    for name in ["timestamp.json", "1.snapshot.json", "1.targets.json"] {
        let on_disk = std::fs::read(tmp.path().join("repo").join(name)).unwrap();
        assert_eq!(repo.file(name).unwrap(), on_disk, "{name}");
    }
    let targets = json(&repo.file("1.targets.json").unwrap());
    assert_eq!(targets["signed"]["targets"], serde_json::json!({}));
    assert!(targets["signed"].get("delegations").is_none());
    // Key files are private.
    use std::os::unix::fs::PermissionsExt as _;
    for role in ROLES {
        let meta = std::fs::metadata(tmp.path().join("keys").join(key_file_name(role))).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{role}");
    }
}

#[tokio::test]
async fn publish_bumps_versions_and_unchanged_publish_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    let a: &[(&str, &[u8])] = &[
        (crate::TRUSTED_ROOT_TARGET, b"root-a"),
        (crate::SIGNING_CONFIG_TARGET, b"config-a"),
    ];
    assert!(repo.publish(a, NOW + 10).await.unwrap());
    assert_eq!(
        repo.versions(),
        Versions {
            root: 1,
            targets: 2,
            snapshot: 2,
            timestamp: 2
        }
    );
    let hex_a = hex::encode(digest(&SHA256, b"root-a"));
    assert_eq!(
        repo.file(&format!("targets/{hex_a}.trusted_root.json"))
            .unwrap(),
        &b"root-a"[..]
    );
    let timestamp_before = repo.file("timestamp.json").unwrap();
    // Same targets, in another order: nothing happens.
    let a_reordered: &[(&str, &[u8])] = &[
        (crate::SIGNING_CONFIG_TARGET, b"config-a"),
        (crate::TRUSTED_ROOT_TARGET, b"root-a"),
    ];
    assert!(!repo.publish(a_reordered, NOW + 20).await.unwrap());
    assert_eq!(repo.file("timestamp.json").unwrap(), timestamp_before);
    assert_eq!(repo.versions().targets, 2);

    let b: &[(&str, &[u8])] = &[
        (crate::TRUSTED_ROOT_TARGET, b"root-b"),
        (crate::SIGNING_CONFIG_TARGET, b"config-a"),
    ];
    assert!(repo.publish(b, NOW + 30).await.unwrap());
    assert_eq!(repo.versions().targets, 3);
    let snapshot = json(&repo.file("3.snapshot.json").unwrap());
    assert_eq!(snapshot["signed"]["meta"]["targets.json"]["version"], 3);
    let timestamp = json(&repo.file("timestamp.json").unwrap());
    assert_eq!(timestamp["signed"]["meta"]["snapshot.json"]["version"], 3);
    // The previous version stays served; older ones are pruned.
    assert!(repo.file("2.targets.json").is_some());
    assert!(repo.file("1.targets.json").is_none());
    assert!(!tmp.path().join("repo/1.targets.json").exists());
    assert!(
        repo.file(&format!("targets/{hex_a}.trusted_root.json"))
            .is_some()
    );
    let c: &[(&str, &[u8])] = &[(crate::TRUSTED_ROOT_TARGET, b"root-c")];
    assert!(repo.publish(c, NOW + 40).await.unwrap());
    assert!(
        repo.file(&format!("targets/{hex_a}.trusted_root.json"))
            .is_none()
    );
}

#[tokio::test]
async fn publish_refuses_bad_names_and_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    for name in ["", "../x", "a/b", ".hidden", "sp ace"] {
        let r = repo.publish(&[(name, b"x")], NOW).await;
        assert!(
            matches!(r, Err(TufError::BadTargetName(_))),
            "{name}: {r:?}"
        );
    }
    let r = repo
        .publish(&[("a.json", b"x"), ("a.json", b"y")], NOW)
        .await;
    assert!(matches!(r, Err(TufError::BadTargetName(_))), "{r:?}");
    let big = vec![0u8; MAX_TARGET_SIZE + 1];
    let r = repo.publish(&[("big.json", &big)], NOW).await;
    assert!(matches!(r, Err(TufError::TooLarge { .. })), "{r:?}");
    assert_eq!(repo.versions().targets, 1);
}

#[tokio::test]
async fn refresh_resigns_only_what_is_due() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    let e = Expiries::default();
    assert_eq!(
        repo.next_refresh(),
        NOW + i64::try_from(e.timestamp.as_secs() / 2).unwrap()
    );
    assert!(!repo.refresh(NOW + 60).await.unwrap());
    assert_eq!(repo.versions().timestamp, 1);

    // Half a day later: the timestamp only.
    assert!(repo.refresh(NOW + DAY_S / 2).await.unwrap());
    assert_eq!(
        repo.versions(),
        Versions {
            root: 1,
            targets: 1,
            snapshot: 1,
            timestamp: 2
        }
    );
    // 4 days: the snapshot and a timestamp.
    assert!(repo.refresh(NOW + 4 * DAY_S).await.unwrap());
    assert_eq!(
        repo.versions(),
        Versions {
            root: 1,
            targets: 1,
            snapshot: 2,
            timestamp: 3
        }
    );
    // 46 days: targets, snapshot, timestamp.
    assert!(repo.refresh(NOW + 46 * DAY_S).await.unwrap());
    assert_eq!(
        repo.versions(),
        Versions {
            root: 1,
            targets: 2,
            snapshot: 3,
            timestamp: 4
        }
    );
    // 183 days: a new root too.
    assert!(repo.refresh(NOW + 183 * DAY_S).await.unwrap());
    assert_eq!(repo.versions().root, 2);
    let root2 = json(&repo.file("2.root.json").unwrap());
    assert_eq!(root2["signed"]["version"], 2);
    assert_eq!(
        root2["signed"]["keys"],
        json(repo.initial_root())["signed"]["keys"]
    );
    assert!(repo.next_refresh() > NOW + 183 * DAY_S);
}

#[tokio::test]
async fn reopen_keeps_state_and_refuses_other_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    repo.publish(&[(crate::TRUSTED_ROOT_TARGET, b"root-a")], NOW)
        .await
        .unwrap();
    repo.publish(&[(crate::TRUSTED_ROOT_TARGET, b"root-b")], NOW)
        .await
        .unwrap();
    repo.refresh(NOW + 183 * DAY_S).await.unwrap();
    let versions = repo.versions();
    let next = repo.next_refresh();
    let timestamp = repo.file("timestamp.json").unwrap();
    let initial = repo.initial_root().to_vec();
    drop(repo);

    let mut again = open(tmp.path(), NOW + 183 * DAY_S).await;
    assert_eq!(again.versions(), versions);
    assert_eq!(again.next_refresh(), next);
    assert_eq!(again.file("timestamp.json").unwrap(), timestamp);
    assert_eq!(again.initial_root(), &initial[..]);
    assert!(again.file("2.root.json").is_some());
    assert!(
        again
            .file(&format!("{}.targets.json", versions.targets - 1))
            .is_some()
    );
    assert!(
        !again
            .publish(
                &[(crate::TRUSTED_ROOT_TARGET, b"root-b")],
                NOW + 183 * DAY_S
            )
            .await
            .unwrap()
    );

    // Other keys: refused, not silently re-rooted.
    let other = RoleKeys::load_or_create(&tmp.path().join("other"), &SystemRandom::new()).unwrap();
    let r = Repository::open(&tmp.path().join("repo"), other, Expiries::default(), NOW).await;
    assert!(matches!(r, Err(TufError::KeyMismatch { .. })), "{r:?}");

    // A target file altered on disk: refused.
    let name = again
        .files
        .keys()
        .find(|k| k.starts_with("targets/") && k.ends_with("trusted_root.json"))
        .unwrap()
        .clone();
    std::fs::write(tmp.path().join("repo").join(&name), b"tampered").unwrap();
    let r = Repository::open(
        &tmp.path().join("repo"),
        keys(tmp.path()),
        Expiries::default(),
        NOW,
    )
    .await;
    assert!(
        matches!(r, Err(TufError::BadRepositoryState { .. })),
        "{r:?}"
    );
}

#[tokio::test]
async fn crash_after_root_before_timestamp_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = open(tmp.path(), NOW).await;
    let initial = repo.initial_root().to_vec();
    drop(repo);
    for name in ["timestamp.json", "1.snapshot.json", "1.targets.json"] {
        std::fs::remove_file(tmp.path().join("repo").join(name)).unwrap();
    }
    let again = open(tmp.path(), NOW).await;
    assert_eq!(again.initial_root(), &initial[..]);
    assert_eq!(again.versions().timestamp, 1);
    assert!(again.file("timestamp.json").is_some());
}

#[tokio::test]
async fn file_serves_known_paths_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    repo.publish(&[(crate::TRUSTED_ROOT_TARGET, b"root-a")], NOW)
        .await
        .unwrap();
    let hex_a = hex::encode(digest(&SHA256, b"root-a"));
    for ok in [
        "1.root.json".to_owned(),
        "timestamp.json".to_owned(),
        "2.snapshot.json".to_owned(),
        "2.targets.json".to_owned(),
        format!("targets/{hex_a}.trusted_root.json"),
    ] {
        assert!(repo.file(&ok).is_some(), "{ok}");
    }
    for bad in [
        "",
        "/1.root.json",
        "../repo/1.root.json",
        "targets/../1.root.json",
        "./timestamp.json",
        "targets//x",
        "2.root.json",
        "root.json",
        "snapshot.json",
        "targets/trusted_root.json",
        "tuf-root.key.pem",
        "../keys/tuf-root.key.pem",
        "targets\\x",
    ] {
        assert!(repo.file(bad).is_none(), "{bad}");
    }
}

#[test]
fn key_files_are_reused_and_bad_ones_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = keys(tmp.path());
    let b = keys(tmp.path());
    for role in ROLES {
        assert_eq!(a.key_id(role), b.key_id(role));
    }
    assert_ne!(a.key_id(RoleType::Root), a.key_id(RoleType::Targets));
    let path = tmp
        .path()
        .join("keys")
        .join(key_file_name(RoleType::Snapshot));
    std::fs::write(
        &path,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let r = RoleKeys::load_or_create(&tmp.path().join("keys"), &SystemRandom::new());
    assert!(matches!(r, Err(TufError::BadKeyFile { .. })), "{r:?}");
    std::fs::write(&path, "garbage").unwrap();
    let r = RoleKeys::load_or_create(&tmp.path().join("keys"), &SystemRandom::new());
    assert!(matches!(r, Err(TufError::BadKeyFile { .. })), "{r:?}");
}

/// A missing timestamp.json after later versions were published is a damaged repository, not
/// a first start: making version 1 again would look like a rollback to every client.
#[tokio::test]
async fn a_lost_timestamp_after_publishing_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = open(tmp.path(), NOW).await;
    assert!(
        repo.publish(&[("trusted_root.json", b"{}")], NOW)
            .await
            .unwrap()
    );
    drop(repo);
    std::fs::remove_file(tmp.path().join("repo").join("timestamp.json")).unwrap();
    let Err(err) = Repository::open(
        &tmp.path().join("repo"),
        keys(tmp.path()),
        Expiries::default(),
        NOW,
    )
    .await
    else {
        panic!("a repository without its timestamp opened");
    };
    assert!(
        matches!(err, TufError::BadRepositoryState { .. }),
        "{err:?}"
    );
}

/// Two repositories with the same keys that never shared a store each made a version 1: taking
/// the other's state is refused (a fork), never served.
#[tokio::test]
async fn a_forked_timestamp_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ours = open(tmp.path(), NOW).await;
    let theirs = Repository::open(
        &tmp.path().join("other"),
        keys(tmp.path()),
        Expiries::default(),
        NOW + 1,
    )
    .await
    .unwrap();
    assert_eq!(ours.versions(), theirs.versions());
    let stored = theirs.store().load().await.unwrap();
    let r = ours.install(&stored);
    assert!(matches!(r, Err(TufError::Conflict { .. })), "{r:?}");
    assert_ne!(ours.file("timestamp.json"), theirs.file("timestamp.json"));
}
