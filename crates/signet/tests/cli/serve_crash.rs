//! SIGKILLs the real `signet serve log` binary while 16 writers append entries (12 to Rekor v2,
//! 4 to Rekor v1), then checks what the data directory holds and restarts the server on it,
//! several rounds.
//!
//! After each kill, for both logs (with the stores opened directly, as the next start will):
//! - the log passes `signet_log::check_log` with the server's checkpoint key (Ed25519 for v2,
//!   ECDSA P-256 for v1, both from the trusted root);
//! - every acknowledged (200) entry is at its index, byte-identical, and its inclusion proof
//!   verifies against the newest checkpoint;
//! - every checkpoint seen so far (in responses and from `/api/v2/checkpoint`) is consistent
//!   with the newest, and tree sizes never went backwards.
//!
//! After each restart, the served v2 checkpoint verifies with the trusted root's key and is no
//! smaller than any seen before. `SIGNET_CRASH_ROUNDS` sets the rounds (default 3).
//!
//! The same runs with the logs in a real PostgreSQL (`--database`, a throwaway server from
//! `signet_testkit::pg`; skipped without `SIGNET_PG_BIN` unless
//! `SIGNET_REQUIRE_POSTGRES=1`) and two servers sharing the database: writers go to both, each
//! round SIGKILLs the server that sequences, checks that the other takes over (entries are
//! acknowledged after the kill), checks the database as above, and restarts the killed one.
//!
//! And a stalled sequencer: two servers on PostgreSQL, writers on both, the sequencer stopped
//! with SIGSTOP. Writes through the other server are acknowledged again within the takeover
//! bound (`LEASE_TIMEOUT` + `LEASE_INTERVAL` + recovery; measured and printed). Then SIGCONT:
//! the resumed server becomes a follower (or exits cleanly), every acknowledged entry (also
//! those it acknowledged after resuming) is in the log, read back through the read API and
//! checked in the database as above, and every checkpoint served by either server, before
//! and after, is consistent with the others (v1: consistency proofs between successive
//! trees from the API; v2: one root per size, and each consistent with the final one).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SIGNET, free_port};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_testkit::process::wait_for;
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stderr};
use signet_testkit::{ChildGuard, Signer, pg};

use signet_log::{
    LogStore, PostgresStore, RedbStore, check_log, consistency_proof, inclusion_proof,
};
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf, verify_consistency, verify_inclusion};
use signet_note::{Checkpoint, Ed25519NoteVerifier, NoteVerifiers, PkixNoteVerifier, open_note};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WRITERS: usize = 16;

/// How long a writer waits for an answer (a client's timeout): longer than a stall lasts.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP/1.1 request with `Connection: close`; the status and the body.
async fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

fn spawn(dir: &Path, port: u16) -> ChildGuard {
    spawn_with(dir, port, &[])
}

fn spawn_with(dir: &Path, port: u16, extra: &[&str]) -> ChildGuard {
    spawn_logged(dir, port, extra, Stderr::Null)
}

/// `signet serve log` on `dir` and `port`, its stderr going to `stderr`; returns once
/// `/readyz` answers 200.
fn spawn_logged(dir: &Path, port: u16, extra: &[&str], stderr: Stderr) -> ChildGuard {
    SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(dir),
            port: Some(port),
            extra,
            ready: &[Ready::Http("/readyz")],
            stderr,
            ..Launch::new(&["serve", "log"])
        },
    )
    .into_child()
}

/// One acknowledged create.
struct Ack {
    /// The server it was sent to.
    port: u16,
    /// When it was sent.
    started: Instant,
    /// When it was answered.
    done: Instant,
}

/// What the writers and the checker have seen.
#[derive(Default)]
struct Observed {
    /// Acknowledged entries: index -> canonicalized body.
    acked: BTreeMap<u64, Vec<u8>>,
    /// Every acknowledgement, in order.
    acks: Vec<Ack>,
    /// Checkpoints seen: size -> root.
    checkpoints: BTreeMap<u64, Hash>,
}

impl Observed {
    fn checkpoint(&mut self, verifiers: &NoteVerifiers, envelope: &[u8]) -> u64 {
        let opened = open_note(envelope, verifiers).unwrap();
        let cp = Checkpoint::parse(opened.note().text()).unwrap();
        if let Some(previous) = self.checkpoints.insert(cp.size.0, cp.root_hash) {
            assert_eq!(previous, cp.root_hash, "two roots for size {}", cp.size.0);
        }
        cp.size.0
    }
}

/// Makes the writers' requests, signed by the test signer.
struct Writer(Signer);

impl Writer {
    /// A hashedrekord 0.0.1 proposed entry (Rekor v1).
    fn v1_request(&self, n: u64) -> Vec<u8> {
        let artifact = format!("crash test v1 artifact {n} {:?}\n", Instant::now());
        let sig = self.0.sign(artifact.as_bytes());
        let hex: String = digest(&SHA256, artifact.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex}},
            "signature": {"content": STANDARD.encode(&sig),
                          "publicKey": {"content": STANDARD.encode(self.0.pem())}},
        }})
        .to_string()
        .into_bytes()
    }

    /// A hashedRekordRequestV002 (Rekor v2).
    fn request(&self, n: u64) -> Vec<u8> {
        let artifact = format!("crash test artifact {n} {:?}\n", Instant::now());
        let sig = self.0.sign(artifact.as_bytes());
        json!({"hashedRekordRequestV002": {
            "digest": STANDARD.encode(digest(&SHA256, artifact.as_bytes())),
            "signature": {"content": STANDARD.encode(&sig), "verifier": {
                "publicKey": {"rawBytes": STANDARD.encode(self.0.spki())},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            }},
        }})
        .to_string()
        .into_bytes()
    }
}

async fn write_forever(
    ports: Vec<u16>,
    writer: Arc<Writer>,
    first: u64,
    observed: Arc<Mutex<Observed>>,
    verifiers: Arc<NoteVerifiers>,
    v1: bool,
) {
    let mut n = first;
    let mut at = usize::try_from(first).unwrap_or(0) % ports.len();
    loop {
        n += WRITERS as u64;
        let port = ports[at % ports.len()];
        let (path, request, ok) = if v1 {
            ("/api/v1/log/entries", writer.v1_request(n), 201)
        } else {
            ("/api/v2/log/entries", writer.request(n), 200)
        };
        let started = Instant::now();
        let answer =
            tokio::time::timeout(REQUEST_TIMEOUT, http(port, "POST", path, &request)).await;
        let Ok(Ok((status, body))) = answer else {
            // A killed server: try the next one after a moment.
            at += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if status != ok {
            // 503 while no server sequences (a takeover in progress).
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let response: Value = serde_json::from_slice(&body).unwrap();
        let (index, entry, envelope) = if v1 {
            let (_, e) = response.as_object().unwrap().iter().next().unwrap();
            (
                e["logIndex"].as_u64().unwrap(),
                STANDARD.decode(e["body"].as_str().unwrap()).unwrap(),
                e["verification"]["inclusionProof"]["checkpoint"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        } else {
            (
                response["logIndex"].as_str().unwrap().parse().unwrap(),
                STANDARD
                    .decode(response["canonicalizedBody"].as_str().unwrap())
                    .unwrap(),
                response["inclusionProof"]["checkpoint"]["envelope"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        };
        let mut o = observed.lock().unwrap();
        o.acks.push(Ack {
            port,
            started,
            done: Instant::now(),
        });
        if let Some(previous) = o.acked.insert(index, entry.clone()) {
            assert_eq!(
                previous, entry,
                "index {index} acknowledged for two entries"
            );
        }
        o.checkpoint(&verifiers, envelope.as_bytes());
    }
}

/// Opens the killed server's store and checks everything observed against it.
async fn check_store(path: &Path, verifiers: &NoteVerifiers, observed: &Observed) -> (u64, u64) {
    let store = RedbStore::open(path).unwrap();
    check_any_store(&store, verifiers, observed).await
}

/// Checks everything observed against `store`: the whole log, every acknowledged entry at its
/// index with an inclusion proof to the newest checkpoint, every seen checkpoint consistent.
async fn check_any_store<S: LogStore>(
    store: &S,
    verifiers: &NoteVerifiers,
    observed: &Observed,
) -> (u64, u64) {
    let check = check_log(store, verifiers).await.unwrap();
    let size = check.checkpoint.size;
    let root = check.checkpoint.root_hash;
    let newest_seen = observed
        .checkpoints
        .keys()
        .next_back()
        .copied()
        .unwrap_or(0);
    assert!(
        size.0 >= newest_seen,
        "the log shrank: checkpoint size {} after seeing {newest_seen}",
        size.0
    );
    for (&index, body) in &observed.acked {
        assert!(
            index < size.0,
            "acknowledged index {index} beyond the checkpoint {}",
            size.0
        );
        let stored = store.read_entry(LeafIndex(index)).await.unwrap().unwrap();
        assert_eq!(&stored.data, body, "entry {index} changed");
        let proof = inclusion_proof(store, LeafIndex(index), size)
            .await
            .unwrap();
        verify_inclusion(&hash_leaf(body), LeafIndex(index), size, &proof, &root.0).unwrap();
    }
    // The empty tree is consistent with every tree.
    for (&old, old_root) in observed.checkpoints.range(1..) {
        let proof = consistency_proof(store, TreeSize(old), size).await.unwrap();
        verify_consistency(TreeSize(old), size, &old_root.0, &root.0, &proof).unwrap();
    }
    (size.0, check.staged_size.0)
}

#[test]
fn sigkill_serve_log_under_concurrent_writers() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rounds: u32 = std::env::var("SIGNET_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let writer = Arc::new(Writer(Signer::new()));
    let observed_v1 = Arc::new(Mutex::new(Observed::default()));
    let observed_v2 = Arc::new(Mutex::new(Observed::default()));
    let mut keys: Option<(Arc<NoteVerifiers>, Arc<NoteVerifiers>)> = None;
    let mut rng = u64::from(std::process::id()) | 1;
    let mut first = 0u64;

    for round in 0..rounds {
        let mut child = spawn(dir.path(), port);
        let (v1_verifiers, v2_verifiers) = keys
            .get_or_insert_with(|| {
                // The checkpoint keys from the trusted root the server wrote.
                let root: Value = serde_json::from_slice(
                    &std::fs::read(dir.path().join(signet_deploy::TRUSTED_ROOT_FILE)).unwrap(),
                )
                .unwrap();
                let tlog = |details: &str| {
                    let tlog = root["tlogs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|t| t["publicKey"]["keyDetails"] == details)
                        .unwrap();
                    STANDARD
                        .decode(tlog["publicKey"]["rawBytes"].as_str().unwrap())
                        .unwrap()
                };
                let host = format!("127.0.0.1:{port}");
                let spki = tlog("PKIX_ED25519");
                let key: [u8; 32] = spki[spki.len() - 32..].try_into().unwrap();
                let mut v2 = NoteVerifiers::new();
                v2.push(Box::new(Ed25519NoteVerifier::new(&host, key).unwrap()));
                let mut v1 = NoteVerifiers::new();
                v1.push(Box::new(
                    PkixNoteVerifier::new(&host, &tlog("PKIX_ECDSA_P256_SHA_256")).unwrap(),
                ));
                (Arc::new(v1), Arc::new(v2))
            })
            .clone();

        // The served checkpoint verifies and has not gone backwards.
        let (status, envelope) = rt
            .block_on(http(port, "GET", "/api/v2/checkpoint", b""))
            .unwrap();
        assert_eq!(status, 200);
        {
            let mut o = observed_v2.lock().unwrap();
            let newest = o.checkpoints.keys().next_back().copied().unwrap_or(0);
            let size = o.checkpoint(&v2_verifiers, &envelope);
            assert!(size >= newest, "served size {size} after seeing {newest}");
        }

        let acked_before = (
            observed_v1.lock().unwrap().acked.len(),
            observed_v2.lock().unwrap().acked.len(),
        );
        let tasks: Vec<_> = (0..WRITERS as u64)
            .map(|w| {
                let v1 = w % 4 == 0;
                let (observed, verifiers) = if v1 {
                    (&observed_v1, &v1_verifiers)
                } else {
                    (&observed_v2, &v2_verifiers)
                };
                rt.spawn(write_forever(
                    vec![port],
                    Arc::clone(&writer),
                    first + w,
                    Arc::clone(observed),
                    Arc::clone(verifiers),
                    v1,
                ))
            })
            .collect();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let run_for = Duration::from_millis(300 + rng % 1200);
        std::thread::sleep(run_for);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in &tasks {
            t.abort();
        }
        rt.block_on(async {
            for t in tasks {
                let _ = t.await;
            }
        });
        first += 1_000_000;

        for (name, file, observed, verifiers, before) in [
            (
                "v1",
                signet_deploy::V1_STORE_FILE,
                &observed_v1,
                &v1_verifiers,
                acked_before.0,
            ),
            (
                "v2",
                signet_deploy::V2_STORE_FILE,
                &observed_v2,
                &v2_verifiers,
                acked_before.1,
            ),
        ] {
            let o = observed.lock().unwrap();
            let (size, staged) = rt.block_on(check_store(&dir.path().join(file), verifiers, &o));
            println!(
                "round {round} {name}: killed after {run_for:?}; {} acknowledged this round, {} \
                 in all; checkpoint size {size}, staged {staged}; {} checkpoints consistent",
                o.acked.len() - before,
                o.acked.len(),
                o.checkpoints.len()
            );
        }
    }
    assert!(
        !observed_v1.lock().unwrap().acked.is_empty(),
        "no v1 entry acknowledged"
    );
    assert!(
        !observed_v2.lock().unwrap().acked.is_empty(),
        "no v2 entry acknowledged"
    );
    println!("{rounds} rounds in {:?}", started.elapsed());
}

/// The v1 and v2 checkpoint verifiers from the trusted root in `dir`, for origin host `host`.
fn verifiers_from(dir: &Path, host: &str) -> (Arc<NoteVerifiers>, Arc<NoteVerifiers>) {
    let root: Value =
        serde_json::from_slice(&std::fs::read(dir.join(signet_deploy::TRUSTED_ROOT_FILE)).unwrap())
            .unwrap();
    let tlog = |details: &str| {
        let tlog = root["tlogs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["publicKey"]["keyDetails"] == details)
            .unwrap();
        STANDARD
            .decode(tlog["publicKey"]["rawBytes"].as_str().unwrap())
            .unwrap()
    };
    let spki = tlog("PKIX_ED25519");
    let key: [u8; 32] = spki[spki.len() - 32..].try_into().unwrap();
    let mut v2 = NoteVerifiers::new();
    v2.push(Box::new(Ed25519NoteVerifier::new(host, key).unwrap()));
    let mut v1 = NoteVerifiers::new();
    v1.push(Box::new(
        PkixNoteVerifier::new(host, &tlog("PKIX_ECDSA_P256_SHA_256")).unwrap(),
    ));
    (Arc::new(v1), Arc::new(v2))
}

/// Server processes, SIGKILLed when dropped (also when the test fails), after a SIGCONT so
/// that none is left stopped.
struct Children([Option<ChildGuard>; 2]);

impl Children {
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.0[i].take() {
            child.kill_now();
        }
    }
}

/// Whether the server on `port` says it sequences.
async fn sequencing(port: u16) -> Option<bool> {
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(5), http(port, "GET", "/readyz", b""))
            .await
            .ok()?
            .ok()?;
    if status != 200 {
        return None;
    }
    let v: Value = serde_json::from_slice(&body).ok()?;
    v["sequencing"].as_bool()
}

#[test]
fn sigkill_serve_log_on_postgres_with_two_servers() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let started = Instant::now();
    let rounds: u32 = std::env::var("SIGNET_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let public_url = "http://signet.test";
    let host = "signet.test";
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [free_port(), free_port()];
    let extra = ["--public-url", public_url, "--database", url.as_str()];
    let mut children = Children([None, None]);
    children.0[0] = Some(spawn_with(dirs[0].path(), ports[0], &extra));
    // The second server shares the first one's keys (copied, as an operator would).
    for file in [
        signet_deploy::V1_KEY_FILE,
        signet_deploy::V1_TREE_ID_FILE,
        signet_deploy::V2_KEY_FILE,
        signet_deploy::CREATED_FILE,
    ] {
        std::fs::copy(dirs[0].path().join(file), dirs[1].path().join(file)).unwrap();
    }
    children.0[1] = Some(spawn_with(dirs[1].path(), ports[1], &extra));
    let (v1_verifiers, v2_verifiers) = verifiers_from(dirs[0].path(), host);
    let schema_url = |schema: &str| format!("{url}?options=-c%20search_path%3D{schema}");

    let writer = Arc::new(Writer(Signer::new()));
    let observed_v1 = Arc::new(Mutex::new(Observed::default()));
    let observed_v2 = Arc::new(Mutex::new(Observed::default()));
    let mut rng = u64::from(std::process::id()) | 1;
    let mut first = 0u64;

    for round in 0..rounds {
        // Both servers serve the same verified checkpoint, never smaller than any seen.
        for port in ports {
            let (status, envelope) = rt
                .block_on(http(port, "GET", "/api/v2/checkpoint", b""))
                .unwrap();
            assert_eq!(status, 200);
            let mut o = observed_v2.lock().unwrap();
            let newest = o.checkpoints.keys().next_back().copied().unwrap_or(0);
            let size = o.checkpoint(&v2_verifiers, &envelope);
            assert!(size >= newest, "served size {size} after seeing {newest}");
        }
        let acked_before = (
            observed_v1.lock().unwrap().acked.len(),
            observed_v2.lock().unwrap().acked.len(),
        );
        let tasks: Vec<_> = (0..WRITERS as u64)
            .map(|w| {
                let v1 = w % 4 == 0;
                let (observed, verifiers) = if v1 {
                    (&observed_v1, &v1_verifiers)
                } else {
                    (&observed_v2, &v2_verifiers)
                };
                rt.spawn(write_forever(
                    ports.to_vec(),
                    Arc::clone(&writer),
                    first + w,
                    Arc::clone(observed),
                    Arc::clone(verifiers),
                    v1,
                ))
            })
            .collect();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let run_for = Duration::from_millis(300 + rng % 1200);
        std::thread::sleep(run_for);
        // SIGKILL the server that sequences.
        let victim = (0..2)
            .find(|&i| rt.block_on(sequencing(ports[i])) == Some(true))
            .expect("no server sequences");
        children.kill(victim);
        let acked_at_kill = observed_v2.lock().unwrap().acked.len();
        let killed_at = Instant::now();
        // The other takes over: writes are acknowledged again (through it) after the kill.
        let deadline = Instant::now() + Duration::from_secs(20);
        while observed_v2.lock().unwrap().acked.len() < acked_at_kill + 50 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no takeover after killing server {victim}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let took_over = killed_at.elapsed();
        assert_eq!(rt.block_on(sequencing(ports[1 - victim])), Some(true));
        for t in &tasks {
            t.abort();
        }
        rt.block_on(async {
            for t in tasks {
                let _ = t.await;
            }
        });
        first += 1_000_000;
        // The new sequencer may still be writing entries its aborted callers queued: SIGKILL
        // it too, mid-write, and check the database at rest.
        children.kill(1 - victim);

        for (name, schema, observed, verifiers, before) in [
            (
                "v1",
                signet_server::V1_SCHEMA,
                &observed_v1,
                &v1_verifiers,
                acked_before.0,
            ),
            (
                "v2",
                signet_server::V2_SCHEMA,
                &observed_v2,
                &v2_verifiers,
                acked_before.1,
            ),
        ] {
            let o = observed.lock().unwrap();
            let (size, staged) = rt.block_on(async {
                let store = PostgresStore::connect(&schema_url(schema)).await.unwrap();
                let result = check_any_store(&store, verifiers, &o).await;
                store.pool().close().await;
                result
            });
            println!(
                "round {round} {name}: killed server {victim} (the sequencer) after {run_for:?}, \
                 the other took over (50 more v2 acks {took_over:?} after the kill); {} acknowledged this round, \
                 {} in all; checkpoint size {size}, staged {staged}; {} checkpoints consistent",
                o.acked.len() - before,
                o.acked.len(),
                o.checkpoints.len()
            );
        }
        // Restart both, the survivor first: it takes the lease and recovers the logs, so the
        // next round kills the other server.
        for i in [1 - victim, victim] {
            children.0[i] = Some(spawn_with(dirs[i].path(), ports[i], &extra));
        }
        assert_eq!(rt.block_on(sequencing(ports[1 - victim])), Some(true));
        assert_eq!(rt.block_on(sequencing(ports[victim])), Some(false));
    }
    drop(children);
    assert!(
        !observed_v1.lock().unwrap().acked.is_empty(),
        "no v1 entry acknowledged"
    );
    println!("{rounds} rounds in {:?}", started.elapsed());
}

/// GET `path` from the server on `port`, waiting at most 10 s: the status and body.
async fn get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    tokio::time::timeout(Duration::from_secs(10), http(port, "GET", path, b""))
        .await
        .ok()?
        .ok()
}

/// Reads the v2 and v1 checkpoints the server on `port` serves, every 100 ms, into the
/// observations (which check that no size gets two roots).
async fn poll_checkpoints(
    port: u16,
    observed_v1: Arc<Mutex<Observed>>,
    v1_verifiers: Arc<NoteVerifiers>,
    observed_v2: Arc<Mutex<Observed>>,
    v2_verifiers: Arc<NoteVerifiers>,
) {
    loop {
        if let Some((200, note)) = get(port, "/api/v2/checkpoint").await {
            observed_v2.lock().unwrap().checkpoint(&v2_verifiers, &note);
        }
        if let Some((200, body)) = get(port, "/api/v1/log").await {
            let info: Value = serde_json::from_slice(&body).unwrap();
            let note = info["signedTreeHead"].as_str().unwrap();
            observed_v1
                .lock()
                .unwrap()
                .checkpoint(&v1_verifiers, note.as_bytes());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops `tasks`, failing the test if one of them panicked (a failed check).
async fn stop_tasks(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        if let Err(e) = t.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// Every acknowledged entry read back through the read API of the server on `port`: v1 by
/// index, v2 from the entry bundles of the served checkpoint. Every pair of successive v1
/// trees seen has a consistency proof from `/api/v1/log/proof` that verifies.
async fn check_through_api(
    port: u16,
    v2_verifiers: &NoteVerifiers,
    observed_v1: &Observed,
    observed_v2: &mut Observed,
) {
    for (&index, body) in &observed_v1.acked {
        let (status, answer) = get(port, &format!("/api/v1/log/entries?logIndex={index}"))
            .await
            .unwrap();
        assert_eq!(status, 200, "v1 entry {index}");
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let (_, entry) = answer.as_object().unwrap().iter().next().unwrap();
        let stored = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
        assert_eq!(&stored, body, "v1 entry {index}");
    }
    let sizes: Vec<(u64, Hash)> = observed_v1
        .checkpoints
        .range(1..)
        .map(|(&s, &r)| (s, r))
        .collect();
    for pair in sizes.windows(2) {
        let ((first, first_root), (last, last_root)) = (pair[0], pair[1]);
        let (status, proof) = get(
            port,
            &format!("/api/v1/log/proof?firstSize={first}&lastSize={last}"),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "v1 proof {first} -> {last}");
        let proof: Value = serde_json::from_slice(&proof).unwrap();
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_slice(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
            .collect();
        verify_consistency(
            TreeSize(first),
            TreeSize(last),
            &first_root.0,
            &last_root.0,
            &hashes,
        )
        .unwrap_or_else(|e| panic!("v1 trees {first} -> {last} inconsistent: {e:?}"));
    }

    let (status, note) = get(port, "/api/v2/checkpoint").await.unwrap();
    assert_eq!(status, 200);
    let size = observed_v2.checkpoint(v2_verifiers, &note);
    let last = observed_v2.acked.keys().next_back().copied().unwrap_or(0);
    assert!(
        last < size,
        "acknowledged v2 index {last} beyond the checkpoint {size}"
    );
    let mut bundle_entries: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for bundle in 0..=last / 256 {
        assert!(bundle < 1000, "the test reads only the first 1000 bundles");
        let width = (size - bundle * 256).min(256);
        let path = if width == 256 {
            format!("/api/v2/tile/entries/{bundle:03}")
        } else {
            format!("/api/v2/tile/entries/{bundle:03}.p/{width}")
        };
        let (status, data) = get(port, &path).await.unwrap();
        assert_eq!(status, 200, "{path}");
        // C2SP entry bundle: each entry as a big-endian u16 length and its bytes.
        let mut rest = data.as_slice();
        let mut index = bundle * 256;
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            bundle_entries.insert(index, rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
            index += 1;
        }
        assert_eq!(index, bundle * 256 + width, "{path}");
    }
    for (index, body) in &observed_v2.acked {
        assert_eq!(bundle_entries.get(index), Some(body), "v2 entry {index}");
    }
}

/// Every pair of successive checkpoints seen has a consistency proof, computed from `store`,
/// that verifies.
async fn check_successive<S: LogStore>(store: &S, name: &str, observed: &Observed) {
    let sizes: Vec<(u64, Hash)> = observed
        .checkpoints
        .range(1..)
        .map(|(&s, &r)| (s, r))
        .collect();
    for pair in sizes.windows(2) {
        let ((first, first_root), (last, last_root)) = (pair[0], pair[1]);
        let proof = consistency_proof(store, TreeSize(first), TreeSize(last))
            .await
            .unwrap();
        verify_consistency(
            TreeSize(first),
            TreeSize(last),
            &first_root.0,
            &last_root.0,
            &proof,
        )
        .unwrap_or_else(|e| panic!("{name} checkpoints {first} -> {last} inconsistent: {e:?}"));
    }
}

#[test]
fn sigstop_sequencer_on_postgres_is_fenced() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let public_url = "http://signet.test";
    let host = "signet.test";
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let logs = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let extra = ["--public-url", public_url, "--database", url.as_str()];
    let stderr_of = |i: usize| logs.path().join(format!("server-{i}.stderr"));
    let mut children = Children([None, None]);
    for i in 0..2 {
        if i == 1 {
            for file in [
                signet_deploy::V1_KEY_FILE,
                signet_deploy::V1_TREE_ID_FILE,
                signet_deploy::V2_KEY_FILE,
                signet_deploy::CREATED_FILE,
            ] {
                std::fs::copy(dirs[0].path().join(file), dirs[1].path().join(file)).unwrap();
            }
        }
        children.0[i] = Some(spawn_logged(
            dirs[i].path(),
            ports[i],
            &extra,
            Stderr::File(stderr_of(i)),
        ));
    }
    let (v1_verifiers, v2_verifiers) = verifiers_from(dirs[0].path(), host);
    let writer = Arc::new(Writer(Signer::new()));
    let observed_v1 = Arc::new(Mutex::new(Observed::default()));
    let observed_v2 = Arc::new(Mutex::new(Observed::default()));
    let acks_via = |port: u16, after: Instant| {
        let count = |o: &Observed| {
            o.acks
                .iter()
                .filter(|a| a.port == port && a.started > after)
                .count()
        };
        count(&observed_v1.lock().unwrap()) + count(&observed_v2.lock().unwrap())
    };

    let s = (0..2)
        .find(|&i| rt.block_on(sequencing(ports[i])) == Some(true))
        .expect("no server sequences");
    let f = 1 - s;
    // Eight writers, four on each server (one of them to Rekor v1), and a checkpoint reader
    // on each.
    let mut tasks: Vec<_> = (0..8u64)
        .map(|w| {
            let v1 = w < 2;
            let (observed, verifiers) = if v1 {
                (&observed_v1, &v1_verifiers)
            } else {
                (&observed_v2, &v2_verifiers)
            };
            rt.spawn(write_forever(
                vec![ports[usize::try_from(w % 2).unwrap()]],
                Arc::clone(&writer),
                w,
                Arc::clone(observed),
                Arc::clone(verifiers),
                v1,
            ))
        })
        .collect();
    for port in ports {
        tasks.push(rt.spawn(poll_checkpoints(
            port,
            Arc::clone(&observed_v1),
            Arc::clone(&v1_verifiers),
            Arc::clone(&observed_v2),
            Arc::clone(&v2_verifiers),
        )));
    }
    let begun = Instant::now();
    wait_for(
        "entries acknowledged through both servers",
        Duration::from_secs(30),
        || acks_via(ports[s], begun) >= 20 && acks_via(ports[f], begun) >= 20,
    );

    // Stop the sequencer. Writes through the other server are acknowledged again once it has
    // taken over; the stopped one's writers wait.
    let child_s = children.0[s].as_ref().unwrap();
    assert!(child_s.signal("STOP"));
    let stopped_at = Instant::now();
    wait_for(
        "a write through the other server after the stop",
        Duration::from_secs(30),
        || acks_via(ports[f], stopped_at) > 0,
    );
    let first_ack = {
        let first = |o: &Observed| {
            o.acks
                .iter()
                .filter(|a| a.port == ports[f] && a.started > stopped_at)
                .map(|a| a.done)
                .min()
        };
        let v1 = first(&observed_v1.lock().unwrap());
        let v2 = first(&observed_v2.lock().unwrap());
        v1.into_iter().chain(v2).min().unwrap()
    };
    let takeover = first_ack - stopped_at;
    println!(
        "sequencer (server {s}) stopped; writes through server {f} acknowledged again after \
         {takeover:?} (bound: lease timeout {:?} + lease interval {:?} + recovery)",
        signet_server::LEASE_TIMEOUT,
        signet_server::LEASE_INTERVAL
    );
    assert!(
        takeover < signet_server::FORWARD_TIMEOUT,
        "writes resumed only {takeover:?} after the sequencer stopped"
    );
    assert_eq!(rt.block_on(sequencing(ports[f])), Some(true));
    wait_for(
        "50 more writes through the new sequencer",
        Duration::from_secs(30),
        || acks_via(ports[f], first_ack) >= 50,
    );
    let stalled_for = stopped_at.elapsed();

    // Resume it: it finds itself fenced and follows (or exits cleanly); writes through it
    // are forwarded to the new sequencer.
    assert!(child_s.signal("CONT"));
    let resumed_at = Instant::now();
    let mut exited = None;
    wait_for(
        "the resumed server follows or exits",
        Duration::from_secs(20),
        || {
            if let Some(status) = children.0[s].as_mut().unwrap().try_wait().unwrap() {
                exited = Some(status);
                return true;
            }
            rt.block_on(sequencing(ports[s])) == Some(false)
        },
    );
    match exited {
        Some(status) => {
            assert!(status.success(), "the resumed server exited with {status}");
            children.0[s] = None;
            println!("the resumed server exited cleanly");
        }
        None => {
            let followed = resumed_at.elapsed();
            wait_for(
                "writes through the resumed server",
                Duration::from_secs(30),
                || acks_via(ports[s], resumed_at) >= 20,
            );
            println!(
                "stalled for {stalled_for:?}; the resumed server follows {followed:?} after \
                 SIGCONT and forwards writes"
            );
        }
    }
    assert_eq!(rt.block_on(sequencing(ports[f])), Some(true));
    let late = {
        let o = observed_v2.lock().unwrap();
        o.acks
            .iter()
            .filter(|a| a.port == ports[s] && a.started < stopped_at && a.done > stopped_at)
            .count()
    };
    println!("{late} v2 writes sent to the stopped server were answered after it resumed");
    rt.block_on(stop_tasks(tasks));

    // Every acknowledged entry is in the log, as the read API serves it.
    {
        let o1 = observed_v1.lock().unwrap();
        let mut o2 = observed_v2.lock().unwrap();
        rt.block_on(check_through_api(ports[f], &v2_verifiers, &o1, &mut o2));
    }
    // And in the database at rest: the whole log checks out, every acknowledged entry has an
    // inclusion proof, and every checkpoint served is consistent with the next.
    children.kill(s);
    children.kill(f);
    let schema_url = |schema: &str| format!("{url}?options=-c%20search_path%3D{schema}");
    for (name, schema, observed, verifiers) in [
        ("v1", signet_server::V1_SCHEMA, &observed_v1, &v1_verifiers),
        ("v2", signet_server::V2_SCHEMA, &observed_v2, &v2_verifiers),
    ] {
        let o = observed.lock().unwrap();
        let (size, staged) = rt.block_on(async {
            let store = PostgresStore::connect(&schema_url(schema)).await.unwrap();
            let result = check_any_store(&store, verifiers, &o).await;
            check_successive(&store, name, &o).await;
            store.pool().close().await;
            result
        });
        println!(
            "{name}: {} acknowledged, checkpoint size {size}, staged {staged}; {} checkpoints \
             seen, each consistent with the next",
            o.acked.len(),
            o.checkpoints.len()
        );
    }
    let log = std::fs::read_to_string(stderr_of(s)).unwrap();
    println!("the stopped server said:\n{log}");
    println!("in {:?}", started.elapsed());
}
