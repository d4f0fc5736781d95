//! Servers with their logs in a real PostgreSQL 15 (a throwaway server per test, see
//! `signet_testkit::pg`): the API on one server, and several servers sharing one
//! database: one sequences, the others serve reads from the database and forward writes;
//! when the sequencing server stops, another takes over and the logs stay consistent; a
//! writer without the current lease epoch is refused by the database; a forward to a
//! sequencer that never answers ends within the deadline, or as soon as the lease moves.
//! (`crates/signet/tests/cli/serve_crash.rs` stops a real sequencer with SIGSTOP.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use signet_testkit::pg;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf, verify_consistency, verify_inclusion};
use signet_note::{Checkpoint, Ed25519NoteVerifier, NoteVerifiers, open_note};
use signet_server::ServerError;
use std::collections::BTreeMap;
use std::time::Duration;

const PUBLIC_URL: &str = "http://signet.test";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(url: &str, body: &Value) -> reqwest::Response {
    client().post(url).json(body).send().await.unwrap()
}

async fn get_json(url: &str) -> Value {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

/// The JSON answer to a POST of `body` to `url`.
async fn post_json(url: &str, body: &Value) -> Value {
    post(url, body).await.json().await.unwrap()
}

/// The body of a 200 answer to a GET of `url`.
async fn get_bytes(url: &str) -> Vec<u8> {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.bytes().await.unwrap().to_vec()
}

/// A server's `/metrics` text.
async fn metrics_of(s: &Running) -> String {
    String::from_utf8(get_bytes(&s.url("/metrics")).await).unwrap()
}

/// The value of the sample `sample` (name and labels) in Prometheus text.
fn sample(text: &str, sample: &str) -> f64 {
    let prefix = format!("{sample} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{sample} missing from:\n{text}"))
        .parse()
        .unwrap()
}

/// Checks a v2 create answer: inclusion proof of the canonical body to a checkpoint signed by
/// the log's key. Returns (index, body, checkpoint size, root).
fn check_v2(tle: &Value, verifiers: &NoteVerifiers) -> (u64, Vec<u8>, u64, Vec<u8>) {
    let body = STANDARD
        .decode(tle["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    let index: u64 = tle["logIndex"].as_str().unwrap().parse().unwrap();
    let proof = &tle["inclusionProof"];
    let size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
    let root = STANDARD
        .decode(proof["rootHash"].as_str().unwrap())
        .unwrap();
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_slice(&STANDARD.decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    verify_inclusion(
        &hash_leaf(&body),
        LeafIndex(index),
        TreeSize(size),
        &hashes,
        &root,
    )
    .unwrap();
    let envelope = proof["checkpoint"]["envelope"].as_str().unwrap();
    let opened = open_note(envelope.as_bytes(), verifiers).unwrap();
    let checkpoint = Checkpoint::parse(opened.note().text()).unwrap();
    assert_eq!(
        (checkpoint.size.0, checkpoint.root_hash.0.to_vec()),
        (size, root.clone())
    );
    (index, body, size, root)
}

/// The v2 checkpoint a server serves, verified: (size, root).
async fn served_checkpoint(s: &Running, verifiers: &NoteVerifiers) -> (u64, Vec<u8>) {
    let note = get_bytes(&s.url("/api/v2/checkpoint")).await;
    let opened = open_note(&note, verifiers).unwrap();
    let cp = Checkpoint::parse(opened.note().text()).unwrap();
    (cp.size.0, cp.root_hash.0.to_vec())
}

/// The v1 tree (size, root) a server serves.
async fn v1_tree(s: &Running) -> (u64, Vec<u8>) {
    let info = get_json(&s.url("/api/v1/log")).await;
    (
        info["treeSize"].as_u64().unwrap(),
        hex::decode(info["rootHash"].as_str().unwrap()).unwrap(),
    )
}

/// Appends `n` v2 entries through `s`, concurrently; checks and returns each answer.
async fn append_v2(
    s: &Running,
    n: usize,
    verifiers: &NoteVerifiers,
) -> Vec<(u64, Vec<u8>, u64, Vec<u8>)> {
    let signer = std::sync::Arc::new(Signer::new());
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = s.url("/api/v2/log/entries");
        let signer = signer.clone();
        tasks.push(tokio::spawn(async move {
            let response = post(&url, &hashedrekord_v2(&signer, &artifact())).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{text}");
            serde_json::from_str::<Value>(&text).unwrap()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(check_v2(&t.await.unwrap(), verifiers));
    }
    out
}

async fn consistency_v1(s: &Running, first: (u64, Vec<u8>), last: (u64, Vec<u8>)) {
    if first.0 == 0 || first.0 == last.0 {
        assert_eq!(first.0 == last.0, first.1 == last.1);
        return;
    }
    let proof = get_json(&s.url(&format!(
        "/api/v1/log/proof?firstSize={}&lastSize={}",
        first.0, last.0
    )))
    .await;
    assert_eq!(
        hex::decode(proof["rootHash"].as_str().unwrap()).unwrap(),
        last.1
    );
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_slice(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    verify_consistency(
        TreeSize(first.0),
        TreeSize(last.0),
        &first.1,
        &last.1,
        &hashes,
    )
    .unwrap();
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    assert!(a.server.is_sequencing());
    // A server with keys of its own is refused: the database holds A's logs.
    let stranger = tempfile::tempdir().unwrap();
    let refused = open(
        stranger.path(),
        PUBLIC_URL,
        Some(&url),
        None,
        Default::default(),
    )
    .await;
    assert!(
        matches!(refused, Err(ServerError::IdentityMismatch { .. })),
        "{refused:?}"
    );
    share_keys(dir_a.path(), dir_b.path());
    let b = start_on(dir_b.path(), Some(PUBLIC_URL), Some(&url)).await;
    assert!(!b.server.is_sequencing());
    assert_eq!(a.server.trusted_root(), b.server.trusted_root());

    let origin = a.server.v2_origin().to_owned();
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(
        Ed25519NoteVerifier::new(&origin, a.server.v2_public_key()).unwrap(),
    ));

    // v2 writes to both (B forwards to A), concurrently: all acknowledged, distinct indexes.
    let (from_a, from_b) =
        tokio::join!(append_v2(&a, 30, &verifiers), append_v2(&b, 30, &verifiers));
    let mut bodies = BTreeMap::new();
    for (index, body, _, _) in from_a.iter().chain(&from_b) {
        assert!(
            bodies.insert(*index, body.clone()).is_none(),
            "index {index} twice"
        );
    }
    assert_eq!(bodies.len(), 60);
    assert_eq!(*bodies.keys().last().unwrap(), 59);
    // Both serve the same, newest checkpoint, and every entry's bundle from either server.
    let cp_a = served_checkpoint(&a, &verifiers).await;
    let cp_b = served_checkpoint(&b, &verifiers).await;
    assert_eq!(cp_a, cp_b);
    assert_eq!(cp_a.0, 60);
    for s in [&a, &b] {
        let data = get_bytes(&s.url("/api/v2/tile/entries/000.p/60")).await;
        let entries = signet_tiles::decode_entry_bundle(&data, 60).unwrap();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(*e, bodies[&(i as u64)].as_slice());
        }
    }

    // v1: created through B (forwarded, 201 with Location), read back from A and B; the
    // duplicate is a 409 through either; search works from both (the index is shared).
    let signer = Signer::new();
    let art = artifact();
    let proposed = hashedrekord_v1(&signer, &art);
    let created = post(&b.url("/api/v1/log/entries"), &proposed).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let entry: Value = created.json().await.unwrap();
    let (uuid, value) = entry.as_object().unwrap().iter().next().unwrap();
    let index = value["logIndex"].as_u64().unwrap();
    for s in [&a, &b] {
        let again = post(&s.url("/api/v1/log/entries"), &proposed).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert_eq!(again.headers()["location"].to_str().unwrap(), location);
        let by_index = get_json(&s.url(&format!("/api/v1/log/entries?logIndex={index}"))).await;
        assert_eq!(by_index[uuid]["body"], value["body"]);
        let by_uuid = get_json(&s.url(&location)).await;
        assert_eq!(by_uuid[uuid]["logIndex"], index);
        let hits = post_json(
            &s.url("/api/v1/index/retrieve"),
            &serde_json::json!({"publicKey": {"format": "x509",
                "content": STANDARD.encode(signer.pem())}}),
        )
        .await;
        assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    }
    let v1_before = v1_tree(&b).await;
    assert_eq!(v1_before, v1_tree(&a).await);

    // A stops (releasing the lease): B takes over and keeps appending where A left off.
    a.stop().await;
    wait_until("B sequences", || b.server.is_sequencing()).await;
    let more = append_v2(&b, 20, &verifiers).await;
    let mut indexes: Vec<u64> = more.iter().map(|m| m.0).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (60..80).collect::<Vec<_>>());
    let cp_after = served_checkpoint(&b, &verifiers).await;
    assert_eq!(cp_after.0, 80);
    let created = post(
        &b.url("/api/v1/log/entries"),
        &hashedrekord_v1(&signer, &artifact()),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let v1_after = v1_tree(&b).await;
    assert_eq!(v1_after.0, v1_before.0 + 1);
    consistency_v1(&b, v1_before.clone(), v1_after.clone()).await;

    // A comes back as a follower and forwards to B; both agree.
    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    assert!(!a.server.is_sequencing());
    let last = append_v2(&a, 5, &verifiers).await;
    assert!(last.iter().all(|m| m.0 >= 80 && m.0 < 85));
    assert_eq!(
        served_checkpoint(&a, &verifiers).await,
        served_checkpoint(&b, &verifiers).await
    );
    consistency_v1(&a, v1_before, v1_tree(&a).await).await;
    // The metrics say who sequences and count forwarded writes.
    let metrics_a = metrics_of(&a).await;
    assert!(metrics_a.contains("signet_sequencer 0"), "{metrics_a}");
    assert!(
        metrics_a.contains("signet_forwarded_total{api=\"v2\",outcome=\"ok\"} 5"),
        "{metrics_a}"
    );
    let metrics_b = metrics_of(&b).await;
    assert!(metrics_b.contains("signet_sequencer 1"), "{metrics_b}");
    assert!(metrics_b.contains("signet_batch_entries"), "{metrics_b}");
    assert!(
        metrics_b.contains("signet_store_commit_seconds"),
        "{metrics_b}"
    );
    a.stop().await;
    b.stop().await;
}

/// `signet_follower_checkpoint_total` of a server: (answers from its copy, database reads).
async fn follower_checkpoint_counts(s: &Running, api: &str) -> (u64, u64) {
    let text = metrics_of(s).await;
    let count = |source: &str| {
        let name = format!("signet_follower_checkpoint_total{{api=\"{api}\",source=\"{source}\"}}");
        sample(&text, &name) as u64
    };
    (count("copy"), count("database"))
}

/// A follower answers from its copy of the checkpoint and reads the database's only when it
/// may have moved, yet: it reads at once what another server acknowledged (entries by index
/// and UUID, proofs, entry bundles past its copy), and what was written through it; it never
/// serves a tree older than one it served; it catches up with the sequencer's checkpoint. With
/// a maximum staleness of zero it reads the database's checkpoint for every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_reads_the_checkpoint_only_when_it_may_have_moved() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (dir_a, dir_b, dir_c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    assert!(a.server.is_sequencing());
    share_keys(dir_a.path(), dir_b.path());
    share_keys(dir_a.path(), dir_c.path());
    // B's copy may get an hour old: only notifications, forwarded writes, reads past it and
    // its lease rounds refresh it.
    let b = start_follower(dir_b.path(), PUBLIC_URL, &url, Duration::from_secs(3600)).await;
    let c = start_follower(dir_c.path(), PUBLIC_URL, &url, Duration::ZERO).await;
    assert!(!b.server.is_sequencing() && !c.server.is_sequencing());
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(
        Ed25519NoteVerifier::new(a.server.v2_origin(), a.server.v2_public_key()).unwrap(),
    ));
    append_v2(&a, 3, &verifiers).await;
    let _ = served_checkpoint(&b, &verifiers).await;

    // What A acknowledged, B serves at once.
    let signer = Signer::new();
    for _ in 0..3 {
        let created = post(
            &a.url("/api/v1/log/entries"),
            &hashedrekord_v1(&signer, &artifact()),
        )
        .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let entry: Value = created.json().await.unwrap();
        let (uuid, value) = entry.as_object().unwrap().iter().next().unwrap();
        let index = value["logIndex"].as_u64().unwrap();
        let by_index = get_json(&b.url(&format!("/api/v1/log/entries?logIndex={index}"))).await;
        assert_eq!(by_index[uuid]["body"], value["body"]);
        let by_uuid = get_json(&b.url(&location)).await;
        assert_eq!(by_uuid[uuid]["logIndex"], index);
        let retrieved = post_json(
            &b.url("/api/v1/log/entries/retrieve"),
            &serde_json::json!({"logIndexes": [index]}),
        )
        .await;
        assert_eq!(retrieved.as_array().unwrap().len(), 1, "{retrieved}");
        get_json(&b.url(&format!(
            "/api/v1/log/proof?firstSize=1&lastSize={}",
            index + 1
        )))
        .await;

        let (v2_index, ..) = append_v2(&a, 1, &verifiers).await[0].clone();
        get_bytes(&b.url(&format!("/api/v2/tile/entries/000.p/{}", v2_index + 1))).await;
    }

    // Entry bundles never change at their path: on PostgreSQL a cache bounded in bytes answers
    // the second read.
    let bundle_path = b.url("/api/v2/tile/entries/000.p/5");
    let first = get_bytes(&bundle_path).await;
    let second = get_bytes(&bundle_path).await;
    assert_eq!(first, second);
    assert_eq!(
        signet_tiles::decode_entry_bundle(&first, 5).unwrap().len(),
        5
    );
    let metrics = metrics_of(&b).await;
    let value = |name: &str| sample(&metrics, &format!("{name}{{cache=\"bundles\",api=\"v2\"}}"));
    assert!(value("signet_cache_hits_total") >= 1.0);
    assert!(value("signet_cache_bytes") > 0.0);
    assert!(value("signet_cache_bytes") <= value("signet_cache_capacity_bytes"));

    // Written through B (forwarded to A): B's next checkpoint covers it.
    for _ in 0..3 {
        let (index, ..) = append_v2(&b, 1, &verifiers).await[0].clone();
        assert!(served_checkpoint(&b, &verifiers).await.0 > index);
    }

    // B never serves a tree older than one it served, and catches up with A.
    let writer = {
        let url = a.url("/api/v2/log/entries");
        tokio::spawn(async move {
            let signer = Signer::new();
            for _ in 0..20 {
                let response = post(&url, &hashedrekord_v2(&signer, &artifact())).await;
                assert_eq!(response.status(), StatusCode::OK);
            }
        })
    };
    let mut served = Vec::new();
    while !writer.is_finished() {
        served.push(served_checkpoint(&b, &verifiers).await.0);
    }
    writer.await.unwrap();
    assert!(served.windows(2).all(|w| w[0] <= w[1]), "{served:?}");
    let newest = served_checkpoint(&a, &verifiers).await;
    let mut caught_up = false;
    for _ in 0..400 {
        if served_checkpoint(&b, &verifiers).await == newest {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "B never served A's checkpoint {newest:?}");

    // With nothing written, B answers from its copy; C (maximum staleness zero) reads the
    // database's checkpoint for each request.
    let (copy_b, database_b) = follower_checkpoint_counts(&b, "v2").await;
    let (copy_c, database_c) = follower_checkpoint_counts(&c, "v2").await;
    for _ in 0..300 {
        served_checkpoint(&b, &verifiers).await;
        served_checkpoint(&c, &verifiers).await;
    }
    let (copy_b2, database_b2) = follower_checkpoint_counts(&b, "v2").await;
    let (copy_c2, database_c2) = follower_checkpoint_counts(&c, "v2").await;
    // B's database reads are its lease rounds (two a second) and /metrics itself.
    assert!(copy_b2 - copy_b >= 200, "{copy_b} → {copy_b2}");
    assert!(
        database_b2 - database_b < 100,
        "{database_b} → {database_b2}"
    );
    assert_eq!(copy_c2, copy_c);
    assert!(
        database_c2 - database_c >= 300,
        "{database_c} → {database_c2}"
    );

    for s in [a, b, c] {
        s.stop().await;
    }
}

/// A forwarded request that reaches a server which does not sequence is refused with 503, not
/// forwarded again (no loops).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_requests_are_not_forwarded_again() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    share_keys(dir_a.path(), dir_b.path());
    let b = start_on(dir_b.path(), Some(PUBLIC_URL), Some(&url)).await;
    let signer = Signer::new();
    let response = client()
        .post(b.url("/api/v2/log/entries"))
        .header("x-signet-forwarded", "1")
        .json(&hashedrekord_v2(&signer, &artifact()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Invalid requests are refused by the follower itself.
    let response = post(&b.url("/api/v2/log/entries"), &serde_json::json!({"x": 1})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    a.stop().await;
    b.stop().await;
}

/// The lease's current epoch.
async fn lease_epoch(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let epoch = sqlx::query_scalar("SELECT epoch FROM signet_server.lease WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    epoch
}

/// A store on the v2 log with `extra` startup settings, as a sequencer's store connects.
async fn v2_store(url: &str, extra: &str) -> signet_log::PostgresStore {
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let mut settings = vec![("search_path", signet_server::V2_SCHEMA.to_owned())];
    if !extra.is_empty() {
        settings.push(("signet.lease_epoch", extra.to_owned()));
    }
    signet_log::PostgresStore::connect_with(options.options(settings))
        .await
        .unwrap()
}

/// A commit that changes nothing (stages no entries at the staged size), so that a writer
/// that is let through does not disturb the sequencer.
async fn no_op_stage(store: &signet_log::PostgresStore) -> Result<(), signet_log::StoreError> {
    use signet_log::LogStore;
    let state = store.state().await.unwrap();
    store
        .stage_batch(signet_log::StagedBatch {
            expected_size: state.staged_size,
            entries: Vec::new(),
            tiles: Vec::new(),
            bundles: Vec::new(),
        })
        .await
}

/// Only a writer with the current lease epoch may commit to a log: a store without one, or
/// with an earlier one (a sequencer that lost the lease without noticing), is refused, and the
/// log and its sequencer are unaffected. After a takeover the old epoch is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_without_the_current_lease_epoch_are_refused() {
    use signet_log::LogStore;
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    share_keys(dir_a.path(), dir_b.path());
    let b = start_on(dir_b.path(), Some(PUBLIC_URL), Some(&url)).await;
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(
        Ed25519NoteVerifier::new(a.server.v2_origin(), a.server.v2_public_key()).unwrap(),
    ));
    append_v2(&b, 3, &verifiers).await;
    let held = lease_epoch(&url).await;
    assert!(held >= 1, "epoch {held}");

    let none = v2_store(&url, "").await;
    let stale = v2_store(&url, &(held - 1).to_string()).await;
    let current = v2_store(&url, &held.to_string()).await;
    for (store, what) in [(&none, "no epoch"), (&stale, "an earlier epoch")] {
        let refused = no_op_stage(store).await;
        assert!(refused.is_err(), "a writer with {what} was let through");
        let state = store.state().await.unwrap();
        let checkpoint = state.checkpoint.clone().unwrap();
        let refused = store
            .publish_checkpoint(Some(checkpoint.size), checkpoint)
            .await;
        assert!(refused.is_err(), "a writer with {what} published");
    }
    no_op_stage(&current).await.unwrap();
    // The sequencer did not notice.
    let more = append_v2(&b, 3, &verifiers).await;
    assert!(more.iter().all(|m| (3..6).contains(&m.0)), "{more:?}");

    // A stops and B takes over: the epoch A held is now an earlier one.
    a.stop().await;
    wait_until("B sequences", || b.server.is_sequencing()).await;
    assert_eq!(lease_epoch(&url).await, held + 1);
    assert!(no_op_stage(&current).await.is_err());
    append_v2(&b, 2, &verifiers).await;
    for store in [none, stale, current] {
        store.pool().close().await;
    }
    b.stop().await;
}

/// Points the recorded sequencer address at `url` (keeping the epoch), as if the sequencer
/// at that address had stalled.
async fn record_holder(database: &str, url: &str) {
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    sqlx::query("UPDATE signet_server.sequencer SET peer_url = $1 WHERE id = 1")
        .bind(url)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// A create forwarded to a sequencer that accepts the connection but never answers (as a
/// stopped process does) gets a 503 within the forwarding deadline; and when the lease moves
/// while such a request waits, the request is handled by the new sequencer at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_silent_sequencer_end_by_the_deadline_or_the_takeover() {
    // The kernel completes connections to it; nobody ever reads them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    forwards_to(&silent_url).await;
    drop(silent);
}

/// A create forwarded to a sequencer that cannot be reached (it died: nothing listens at its
/// address) waits for the lease to move and is handled by the next sequencer, rather than
/// answered 503 at once; if nobody takes over, it gets a 503 by the forwarding deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_an_unreachable_sequencer_go_to_the_next_one() {
    // Connections to it are refused: a privileged port nothing listens on, outside the range
    // the servers' own ports come from (a port freed here could be given to one of them).
    forwards_to("http://127.0.0.1:1").await;
}

/// Two servers, A sequencing; B forwards creates to `holder_url`, recorded as the sequencer,
/// which never answers. A create gets a 503 by the forwarding deadline; one sent before A
/// stops is answered by B, which takes over, well before the deadline.
async fn forwards_to(holder_url: &str) {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_on(dir_a.path(), Some(PUBLIC_URL), Some(&url)).await;
    share_keys(dir_a.path(), dir_b.path());
    let b = start_on(dir_b.path(), Some(PUBLIC_URL), Some(&url)).await;
    assert!(a.server.is_sequencing() && !b.server.is_sequencing());
    let signer = Signer::new();
    let deadline = signet_server::FORWARD_TIMEOUT;
    let send = |body: Value| {
        let url = b.url("/api/v2/log/entries");
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let response = client()
                .post(url)
                .json(&body)
                .timeout(deadline * 3)
                .send()
                .await
                .unwrap();
            (response.status(), started.elapsed())
        })
    };

    record_holder(&url, holder_url).await;
    let (status, took) = send(hashedrekord_v2(&signer, &artifact())).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        took >= deadline - Duration::from_secs(1) && took < deadline * 2,
        "503 after {took:?}"
    );

    // Again, but the sequencer stops while the request waits: B takes over and answers it.
    let request = send(hashedrekord_v2(&signer, &artifact()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!request.is_finished(), "answered before the takeover");
    let stopped = std::time::Instant::now();
    a.stop().await;
    let (status, took) = request.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(b.server.is_sequencing());
    assert!(
        took < deadline - Duration::from_secs(2),
        "answered {took:?} after it was sent, {:?} after the sequencer stopped",
        stopped.elapsed()
    );
    b.stop().await;
}

/// The search suite of `api.rs` on PostgreSQL: keys combined before the limit, newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_combines_keys_then_lists_the_newest() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let dir = tempfile::tempdir().unwrap();
    let s = start_with_search_results(dir.path(), None, Some(&url), 4).await;
    search_suite(&s).await;
    s.stop().await;
}
