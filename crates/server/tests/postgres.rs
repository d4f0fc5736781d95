//! Servers with their logs in a real PostgreSQL 15 (a throwaway server per test, see
//! `crates/log/tests/common/pg.rs`): the API on one server, and several servers sharing one
//! database: one sequences, the others serve reads from the database and forward writes;
//! when the sequencing server stops, another takes over and the logs stay consistent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "../../log/tests/common/pg.rs"]
mod pg;

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
    let note = client()
        .get(s.url("/api/v2/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opened = open_note(note.as_bytes(), verifiers).unwrap();
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
        let bundle = client()
            .get(s.url("/api/v2/tile/entries/000.p/60"))
            .send()
            .await
            .unwrap();
        assert_eq!(bundle.status(), StatusCode::OK);
        let data = bundle.bytes().await.unwrap();
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
        let hits: Value = client()
            .post(s.url("/api/v1/index/retrieve"))
            .json(&serde_json::json!({"publicKey": {"format": "x509",
                "content": STANDARD.encode(signer.pem())}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    let metrics_a = client()
        .get(a.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics_a.contains("signet_sequencer 0"), "{metrics_a}");
    assert!(
        metrics_a.contains("signet_forwarded_total{api=\"v2\",outcome=\"ok\"} 5"),
        "{metrics_a}"
    );
    let metrics_b = client()
        .get(b.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics_b.contains("signet_sequencer 1"), "{metrics_b}");
    assert!(metrics_b.contains("signet_batch_entries"), "{metrics_b}");
    assert!(
        metrics_b.contains("signet_store_commit_seconds"),
        "{metrics_b}"
    );
    a.stop().await;
    b.stop().await;
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
