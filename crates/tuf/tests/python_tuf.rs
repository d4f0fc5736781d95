//! Interop with python-tuf 7 (the `tuf` package in the sigstore-python venv, which
//! sigstore-python's `--instance` uses): its ngclient refreshes against a signet repository
//! served over HTTP and downloads both targets byte for byte, also after new versions; and a
//! repository python-tuf builds (with a root key rotation) is read by signet's client.
//!
//! Uses `SIGNET_SIGSTORE_PYTHON` (the venv python from `scripts/ensure-sigstore-python`); skipped
//! with a note without it, unless `SIGNET_REQUIRE_DIFFERENTIAL=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{DAY, Served, now};
use signet_tuf::client::{InstanceStore, Transport};

/// The venv's python (the variable may name the venv's `sigstore` script instead).
fn python() -> Option<PathBuf> {
    let p = signet_testkit::tools::sigstore_python()?;
    if p.file_name().is_some_and(|n| n == "sigstore") {
        return Some(p.with_file_name("python"));
    }
    Some(p)
}

/// Runs `script` with `args` under `python`, failing the test with its output if it fails.
async fn run(python: &Path, script: &str, args: Vec<String>) {
    let python = python.to_path_buf();
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const NGCLIENT: &str = r#"
import os, sys
from tuf.ngclient import Updater
metadata_dir, target_dir, url, root = sys.argv[1:5]
os.makedirs(metadata_dir, exist_ok=True)
os.makedirs(target_dir, exist_ok=True)
bootstrap = open(root, "rb").read() if root != "-" else None
updater = Updater(
    metadata_dir=metadata_dir,
    metadata_base_url=url,
    target_dir=target_dir,
    target_base_url=url + "/targets/",
    bootstrap=bootstrap,
)
updater.refresh()
for name in ["trusted_root.json", "signing_config.v0.2.json"]:
    info = updater.get_targetinfo(name)
    assert info is not None, name
    updater.download_target(info, os.path.join(target_dir, name))
"#;

fn version(dir: &Path, file: &str) -> u64 {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    v["signed"]["version"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn python_tuf_ngclient_reads_a_signet_repository() {
    let Some(python) = python() else { return };
    let served = Served::start(now()).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tuf-root.json");
    std::fs::write(&root, served.repo.read().await.initial_root()).unwrap();
    let metadata = tmp.path().join("metadata");
    let targets = tmp.path().join("targets");
    let args = |root: &str| {
        vec![
            metadata.display().to_string(),
            targets.display().to_string(),
            served.url.clone(),
            root.to_owned(),
        ]
    };
    run(&python, NGCLIENT, args(&root.display().to_string())).await;
    assert_eq!(
        std::fs::read(targets.join("trusted_root.json")).unwrap(),
        b"{\"trusted\": 1}\n"
    );
    assert_eq!(
        std::fs::read(targets.join("signing_config.v0.2.json")).unwrap(),
        b"{\"config\": 1}\n"
    );
    assert_eq!(version(&metadata, "timestamp.json"), 2);
    assert_eq!(version(&metadata, "targets.json"), 2);

    // New targets, then the periodic re-signing a day on (new timestamp) and half a year on
    // (a new root, targets and snapshot too): python-tuf follows, from its stored state.
    {
        let mut repo = served.repo.write().await;
        assert!(
            repo.publish(
                &[
                    (signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 2}\n"),
                    (signet_tuf::SIGNING_CONFIG_TARGET, b"{\"config\": 2}\n"),
                ],
                now(),
            )
            .await
            .unwrap()
        );
        assert!(repo.refresh(now() + DAY).await.unwrap());
        assert!(repo.refresh(now() + 183 * DAY).await.unwrap());
        assert_eq!(repo.versions().root, 2);
    }
    let expected = served.repo.read().await.versions();
    run(&python, NGCLIENT, args("-")).await;
    assert_eq!(
        std::fs::read(targets.join("trusted_root.json")).unwrap(),
        b"{\"trusted\": 2}\n"
    );
    assert_eq!(
        std::fs::read(targets.join("signing_config.v0.2.json")).unwrap(),
        b"{\"config\": 2}\n"
    );
    assert_eq!(version(&metadata, "root.json"), expected.root);
    assert_eq!(version(&metadata, "timestamp.json"), expected.timestamp);
    assert_eq!(version(&metadata, "snapshot.json"), expected.snapshot);
    assert_eq!(version(&metadata, "targets.json"), expected.targets);
}

/// Builds a consistent-snapshot repository with python-tuf: Ed25519 keys, one target
/// `trusted_root.json`, and a root rotated to a new root key in `2.root.json`.
const BUILD_REPO: &str = r#"
import hashlib, os, sys
from datetime import datetime, timedelta, timezone
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

out, target_path = sys.argv[1:3]
content = open(target_path, "rb").read()
os.makedirs(os.path.join(out, "targets"), exist_ok=True)
expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
signers = {r: CryptoSigner.generate_ed25519() for r in ["root", "targets", "snapshot", "timestamp"]}
ser = JSONSerializer(compact=False)

def write(name, md):
    data = md.to_bytes(ser)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return data

def meta(data, version):
    return MetaFile(version=version, length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()})

root = Root(expires=expires, consistent_snapshot=True)
for role, signer in signers.items():
    root.add_key(signer.public_key, role)
md = Metadata(root)
md.sign(signers["root"])
write("1.root.json", md)

# Root key rotation: version 2 lists a new root key, signed by the old and the new.
new_root = CryptoSigner.generate_ed25519()
root.version = 2
root.revoke_key(signers["root"].public_key.keyid, "root")
root.add_key(new_root.public_key, "root")
md = Metadata(root)
md.sign(signers["root"], append=True)
md.sign(new_root, append=True)
write("2.root.json", md)

target = TargetFile.from_data("trusted_root.json", content, ["sha256"])
with open(os.path.join(out, "targets", target.hashes["sha256"] + ".trusted_root.json"), "wb") as f:
    f.write(content)
targets = Targets(expires=expires)
targets.targets[target.path] = target
md = Metadata(targets)
md.sign(signers["targets"])
targets_data = write("1.targets.json", md)

snapshot = Snapshot(expires=expires)
snapshot.meta["targets.json"] = meta(targets_data, 1)
md = Metadata(snapshot)
md.sign(signers["snapshot"])
snapshot_data = write("1.snapshot.json", md)

timestamp = Timestamp(expires=expires)
timestamp.snapshot_meta = meta(snapshot_data, 1)
md = Metadata(timestamp)
md.sign(signers["timestamp"])
write("timestamp.json", md)
"#;

#[tokio::test(flavor = "multi_thread")]
async fn signet_client_reads_a_python_tuf_repository() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let content = tmp.path().join("content.json");
    let bytes = b"{\"mediaType\": \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}\n";
    std::fs::write(&content, bytes).unwrap();
    run(
        &python,
        BUILD_REPO,
        vec![repo.display().to_string(), content.display().to_string()],
    )
    .await;

    let store = InstanceStore::new(tmp.path().join("client"));
    store
        .bootstrap(&std::fs::read(repo.join("1.root.json")).unwrap())
        .unwrap();
    let url = url::Url::from_directory_path(&repo).unwrap();
    let got = store
        .refresh(url.as_str(), Transport::new(reqwest::Client::new()))
        .await
        .unwrap();
    assert_eq!(got.trusted_root, bytes);
    assert_eq!(got.signing_config, None);
    assert!(!got.offline);
    // The rotated root was followed and is now the trusted one.
    assert_eq!(version(store.dir(), "root.json"), 2);

    // Also over HTTP, from a fresh store (served by a throwaway static server).
    let served = serve_dir(repo.clone()).await;
    let store = InstanceStore::new(tmp.path().join("client-http"));
    store
        .bootstrap(&std::fs::read(repo.join("1.root.json")).unwrap())
        .unwrap();
    let got = store
        .refresh(&served, Transport::new(reqwest::Client::new()))
        .await
        .unwrap();
    assert_eq!(got.trusted_root, bytes);
}

/// Serves the files under `dir` at `/tuf/…` on a loopback port; the base URL.
async fn serve_dir(dir: PathBuf) -> String {
    use axum::extract::Path as UrlPath;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/tuf/{*path}",
        axum::routing::get(move |UrlPath(path): UrlPath<String>| {
            let dir = dir.clone();
            async move {
                if path.split('/').any(|s| s == ".." || s.is_empty()) {
                    return StatusCode::NOT_FOUND.into_response();
                }
                match std::fs::read(dir.join(path)) {
                    Ok(b) => b.into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://127.0.0.1:{port}/tuf")
}

/// Every file named `name` under `dir`.
fn find(dir: &Path, name: &str, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            find(&path, name, found);
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_trust_instance_accepts_a_signet_repository() {
    let Some(python) = python() else { return };
    let sigstore = python.with_file_name("sigstore");
    let served = Served::start(now()).await;
    let trusted_root =
        std::fs::read(signet_testdata::path("trust/public-good-trusted_root.json")).unwrap();
    let signing_config = std::fs::read(signet_testdata::path(
        "trust/public-good-signing_config.v0.2.json",
    ))
    .unwrap();
    served
        .repo
        .write()
        .await
        .publish(
            &[
                (signet_tuf::TRUSTED_ROOT_TARGET, &trusted_root),
                (signet_tuf::SIGNING_CONFIG_TARGET, &signing_config),
            ],
            now(),
        )
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tuf-root.json");
    std::fs::write(&root, served.repo.read().await.initial_root()).unwrap();
    let home = tmp.path().join("home");
    let url = served.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(sigstore)
            .args(["--instance", &url, "trust-instance"])
            .arg(&root)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "sigstore trust-instance failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its verified copies are byte-identical to what signet published.
    let mut found = Vec::new();
    find(
        tmp.path().join("home").as_path(),
        "trusted_root.json",
        &mut found,
    );
    assert!(
        !found.is_empty(),
        "no trusted_root.json cached by sigstore-python"
    );
    for path in found {
        assert_eq!(
            std::fs::read(&path).unwrap(),
            trusted_root,
            "{}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn python_tuf_refuses_what_signet_refuses() {
    let Some(python) = python() else { return };
    let served = Served::start(now()).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tuf-root.json");
    std::fs::write(&root, served.repo.read().await.initial_root()).unwrap();
    let metadata = tmp.path().join("metadata");
    let args = |root: &str, targets: &str| {
        vec![
            metadata.display().to_string(),
            tmp.path().join(targets).display().to_string(),
            served.url.clone(),
            root.to_owned(),
        ]
    };
    let old_timestamp = served.file("timestamp.json").await;
    served
        .repo
        .write()
        .await
        .publish(
            &[
                (signet_tuf::TRUSTED_ROOT_TARGET, b"new"),
                (signet_tuf::SIGNING_CONFIG_TARGET, b"cfg"),
            ],
            now(),
        )
        .await
        .unwrap();
    run(&python, NGCLIENT, args(&root.display().to_string(), "t1")).await;

    // A modified target.
    let path = format!("targets/{}.trusted_root.json", common::sha256_hex(b"new"));
    served.set(&path, common::Override::Bytes(b"old".to_vec()));
    let stderr = run_failing(&python, NGCLIENT, args("-", "t2")).await;
    assert!(stderr.contains("LengthOrHashMismatch"), "{stderr}");
    served.clear();

    // An older timestamp after a newer one.
    served.set("timestamp.json", common::Override::Bytes(old_timestamp));
    let stderr = run_failing(&python, NGCLIENT, args("-", "t3")).await;
    assert!(stderr.contains("BadVersionNumber"), "{stderr}");
}

/// Runs `script` expecting it to fail; its stderr.
async fn run_failing(python: &Path, script: &str, args: Vec<String>) -> String {
    let python = python.to_path_buf();
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !out.status.success(),
        "python accepted what it should refuse"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Two servers on one PostgreSQL database (a throwaway PostgreSQL 15; skipped without
/// `SIGNET_PG_BIN` unless `SIGNET_REQUIRE_POSTGRES=1`): python-tuf's ngclient, bootstrapped
/// from A's root and refreshed from A, refreshes from B after A published new targets and a
/// new root (as a client behind a load balancer would).
#[tokio::test(flavor = "multi_thread")]
async fn python_tuf_bootstrapped_from_one_replica_refreshes_from_another() {
    use signet_tuf::repo::{Expiries, Repository, RoleKeys};
    use signet_tuf::store::PostgresStore;
    use std::sync::Arc;

    let Some(python) = python() else { return };
    let Some(pg) = signet_testkit::pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let tmp = tempfile::tempdir().unwrap();
    let keys = || {
        RoleKeys::load_or_create(
            &tmp.path().join("keys"),
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap()
    };
    let replica = async || {
        let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
        Repository::open_store(store, keys(), Expiries::default(), now())
            .await
            .unwrap()
    };
    let mut a = replica().await;
    let mut b = replica().await;
    let v1: &[(&str, &[u8])] = &[
        (signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 1}\n"),
        (signet_tuf::SIGNING_CONFIG_TARGET, b"{\"config\": 1}\n"),
    ];
    assert!(a.publish(v1, now()).await.unwrap());
    assert!(!b.publish(v1, now()).await.unwrap(), "published twice");
    let root = tmp.path().join("tuf-root.json");
    std::fs::write(&root, a.initial_root()).unwrap();
    let served_a = Served::serve(a, tempfile::tempdir().unwrap()).await;
    let served_b = Served::serve(b, tempfile::tempdir().unwrap()).await;

    let metadata = tmp.path().join("metadata");
    let targets = tmp.path().join("targets");
    let args = |url: &str, root: &str| {
        vec![
            metadata.display().to_string(),
            targets.display().to_string(),
            url.to_owned(),
            root.to_owned(),
        ]
    };
    run(
        &python,
        NGCLIENT,
        args(&served_a.url, &root.display().to_string()),
    )
    .await;
    assert_eq!(
        std::fs::read(targets.join("trusted_root.json")).unwrap(),
        b"{\"trusted\": 1}\n"
    );

    {
        let mut a = served_a.repo.write().await;
        assert!(
            a.publish(
                &[
                    (signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 2}\n"),
                    (signet_tuf::SIGNING_CONFIG_TARGET, b"{\"config\": 2}\n"),
                ],
                now(),
            )
            .await
            .unwrap()
        );
        assert!(a.refresh(now() + 183 * DAY).await.unwrap());
        assert_eq!(a.versions().root, 2);
    }
    {
        let mut b = served_b.repo.write().await;
        let stored = b.store().load().await.unwrap();
        assert!(b.install(&stored).unwrap());
        assert_eq!(b.versions().root, 2);
    }
    run(&python, NGCLIENT, args(&served_b.url, "-")).await;
    assert_eq!(
        std::fs::read(targets.join("trusted_root.json")).unwrap(),
        b"{\"trusted\": 2}\n"
    );
    assert_eq!(version(&metadata, "root.json"), 2);
    served_a.stop().await;
    served_b.stop().await;
}
