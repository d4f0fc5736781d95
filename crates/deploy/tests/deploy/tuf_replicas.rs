//! `signet up`'s TUF repository with several servers on one PostgreSQL database (a throwaway
//! PostgreSQL 15; skipped without `SIGNET_PG_BIN` unless `SIGNET_REQUIRE_POSTGRES=1`): one
//! repository and one `tuf-root.json` for all, a server with other keys refused, a client
//! bootstrapped from one server's root refreshing from another, and a re-signing after expiry
//! done once and seen by every server, whose served timestamp never goes back.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use signet_clock::{Clock, Randomness};
use signet_deploy::tuf::{SYNC_INTERVAL, TUF_ROOT_FILE, TufService};
use signet_deploy::{DeployError, Environment};
use signet_testkit::pg::PgServer;
use signet_tuf::TufError;
use signet_tuf::client::{InstanceStore, Transport};
use signet_tuf::repo::Expiries;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

async fn open(
    dir: &Path,
    url: &str,
    trusted_root: &[u8],
    env: &Environment,
) -> Result<TufService, DeployError> {
    TufService::open(
        dir,
        Some(url),
        trusted_root,
        b"{\"config\": 1}\n",
        Expiries::default(),
        env,
    )
    .await
}

/// Serves `tuf`'s routes on a free loopback port: the repository URL.
async fn serve(tuf: &TufService) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = tuf.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://127.0.0.1:{port}/tuf"), task)
}

async fn timestamp_version(url: &str) -> u64 {
    let body = reqwest::get(format!("{url}/timestamp.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["signed"]["version"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_serve_one_tuf_repository() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let wall_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let clock_ms = Arc::new(AtomicU64::new(wall_ms));
    let env = Environment {
        clock: Clock::from_fn({
            let c = clock_ms.clone();
            move || c.load(Ordering::SeqCst)
        }),
        randomness: Randomness::system(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b, dir_c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );

    // 1. A makes the repository; B, with A's TUF keys copied, opens the same one.
    let root_1 = b"{\"trusted\": 1}\n";
    let a = open(&dir_a, &url, root_1, &env).await.unwrap();
    copy_dir(&dir_a.join("tuf/keys"), &dir_b.join("tuf/keys"));
    let b = open(&dir_b, &url, root_1, &env).await.unwrap();
    let root_file = std::fs::read(dir_a.join(TUF_ROOT_FILE)).unwrap();
    assert_eq!(std::fs::read(dir_b.join(TUF_ROOT_FILE)).unwrap(), root_file);
    let versions = a.repository().read().await.versions();
    assert_eq!(
        versions.targets, 2,
        "one publish of the trust files, not two"
    );
    assert_eq!(b.repository().read().await.versions(), versions);
    // Nothing of the repository went to the data directories.
    for dir in [&dir_a, &dir_b] {
        assert!(!dir.join("tuf/repository/timestamp.json").exists());
    }

    // 2. A server with keys of its own is refused, with the reason.
    let Err(err) = open(&dir_c, &url, root_1, &env).await else {
        panic!("a server with other TUF keys opened the shared repository");
    };
    assert!(
        matches!(
            err,
            DeployError::Tuf {
                source: TufError::KeyMismatch { .. },
                ..
            }
        ),
        "{err:?}"
    );

    // 3. A client bootstrapped from A's tuf-root.json refreshes from A, then from B.
    let (url_a, task_a) = serve(&a).await;
    let (url_b, task_b) = serve(&b).await;
    let client_dir = tempfile::tempdir().unwrap();
    let client = InstanceStore::new(client_dir.path().join("instance"));
    client.bootstrap(&root_file).unwrap();
    let transport = || Transport::new(reqwest::Client::new());
    for url in [&url_a, &url_b] {
        let got = client.refresh(url, transport()).await.unwrap();
        assert_eq!(got.trusted_root, root_1, "{url}");
    }

    // 4. A restarts with new trust files (a rotation): B serves them within a sync.
    a.shutdown().await;
    task_a.abort();
    let root_2 = b"{\"trusted\": 2}\n";
    let a = open(&dir_a, &url, root_2, &env).await.unwrap();
    let (url_a, task_a) = serve(&a).await;
    // What A just published is served by B by name at once (from the database, when B has
    // not looked yet), never a 404.
    let (name, expected) = {
        let repo = a.repository();
        let repo = repo.read().await;
        let name = format!("{}.snapshot.json", repo.versions().snapshot);
        let bytes = repo.file(&name).unwrap();
        (name, bytes)
    };
    let answer = reqwest::get(format!("{url_b}/{name}")).await.unwrap();
    assert_eq!(answer.status(), 200, "{name}");
    assert_eq!(answer.bytes().await.unwrap(), expected);
    let deadline = tokio::time::Instant::now() + 10 * SYNC_INTERVAL;
    loop {
        let got = client.refresh(&url_b, transport()).await.unwrap();
        if got.trusted_root == root_2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never served A's publish"
        );
        tokio::time::sleep(SYNC_INTERVAL / 4).await;
    }

    // 5. Thirteen hours on, the timestamp is due: one server re-signs it, both serve it, and
    //    the timestamp B serves never goes back.
    let before = timestamp_version(&url_b).await;
    assert_eq!(timestamp_version(&url_a).await, before);
    clock_ms.fetch_add(13 * 3600 * 1000, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut last_b = before;
    loop {
        let (va, vb) = (
            timestamp_version(&url_a).await,
            timestamp_version(&url_b).await,
        );
        assert!(vb >= last_b, "B went back from timestamp {last_b} to {vb}");
        last_b = vb;
        if va == before + 1 && vb == before + 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not re-signed on both: A {va}, B {vb}, before {before}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // No second re-signing by the other server.
    tokio::time::sleep(3 * SYNC_INTERVAL).await;
    assert_eq!(timestamp_version(&url_a).await, before + 1);
    assert_eq!(timestamp_version(&url_b).await, before + 1);
    let got = client.refresh(&url_a, transport()).await.unwrap();
    assert_eq!(got.trusted_root, root_2);

    task_a.abort();
    task_b.abort();
    a.shutdown().await;
    b.shutdown().await;
}
