//! The reader and the monitor over a synthetic C2SP tlog-tiles log served from memory by a
//! plain HTTP server: entries across many bundles and tile levels, consistency proven from
//! tiles, single entries proven included, tampering and forks detected, and rounds that read
//! exactly the new entries (the speed is measured by `examples/bench_monitor.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use signet_audit::{AuditError, Event, Http, LogKind, LogReader, MonitorState, Watch, run_round};
use signet_merkle::{CompactRange, Hash};
use signet_note::NoteSigner;
use signet_testkit::tiles::{Files, TiledLog, serve_files};
use signet_tiles::EntryBundleId;
use signet_verify::{TrustMaterial, TrustedLog, Validity};
use signet_x509::PublicKey;
use std::sync::Arc;
use std::time::Instant;

const ORIGIN: &str = "audit.test";

/// The in-memory tiled log, with the trust material that names its key.
struct MemoryLog {
    log: TiledLog,
    files: Files,
}

impl MemoryLog {
    fn new(seed: u8) -> MemoryLog {
        let log = TiledLog::new(ORIGIN, seed);
        let files = log.files();
        MemoryLog { log, files }
    }

    fn trust(&self) -> TrustMaterial {
        let signer = self.log.signer();
        let mut spki = hex::decode("302a300506032b6570032100").unwrap();
        spki.extend_from_slice(&signer.public_key());
        let mut log_id = signer.key_id().to_be_bytes().to_vec();
        log_id.extend_from_slice(&[0; 28]);
        TrustMaterial {
            tlogs: vec![TrustedLog {
                log_id,
                key: PublicKey::from_spki_der(&spki).unwrap(),
                validity: Validity::ALWAYS,
                base_url: format!("https://{ORIGIN}"),
            }],
            ..TrustMaterial::default()
        }
    }

    fn append(&mut self, entries: impl IntoIterator<Item = Vec<u8>>) {
        self.log.append(entries);
    }
}

async fn serve(files: Files) -> String {
    serve_files(files).await
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

async fn reader(log: &MemoryLog, url: &str) -> LogReader {
    LogReader::open(Http::new().unwrap(), LogKind::RekorV2, url, log.trust())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_proves_and_gets_across_tiles() {
    let mut log = MemoryLog::new(1);
    log.append((0..300).map(entry));
    let url = serve(Arc::clone(&log.files)).await;
    let reader = reader(&log, &url).await;
    let first = reader.latest().await.unwrap();
    assert_eq!(first.size, 300);
    assert_eq!(first.origin, ORIGIN);

    // The first round reads every entry; none is a Rekor body, each still hashed.
    let mut range = CompactRange::new();
    let mut seen = Vec::new();
    reader
        .scan(&mut range, &first, |e| {
            assert!(e.decoded.is_err());
            seen.push(e.index);
        })
        .await
        .unwrap();
    assert_eq!(seen, (0..300).collect::<Vec<_>>());

    // Growth past a level-1 tile boundary: consistency from the tiles, then only new entries.
    log.append((300..70_000).map(entry));
    let second = reader.latest().await.unwrap();
    reader.prove_consistency(&first, &second).await.unwrap();
    let from_tiles = reader.compact_range(&first, &second).await.unwrap();
    assert_eq!(from_tiles, range);
    let mut count = 0u64;
    reader
        .scan(&mut range, &second, |e| {
            assert_eq!(e.index, 300 + count);
            count += 1;
        })
        .await
        .unwrap();
    assert_eq!(count, 69_700);

    // A single entry is proven included against the tiles (not a Rekor body: decoding fails
    // only after the proof verified).
    for index in [0, 255, 256, 65_535, 65_536, 69_999] {
        match reader.get(index, &second, 0).await {
            Err(AuditError::Malformed { reason, .. }) => {
                assert!(!reason.contains("inclusion"), "{reason}")
            }
            other => panic!("{index}: {other:?}"),
        }
    }
    assert!(reader.get(70_000, &second, 0).await.is_err());

    // Same size, another root: a fork; a smaller size: a shrunken log.
    let mut forked = second.clone();
    forked.root = Hash([7; 32]);
    assert!(matches!(
        reader.prove_consistency(&second, &forked).await,
        Err(AuditError::Fork { .. })
    ));
    assert!(matches!(
        reader.prove_consistency(&second, &first).await,
        Err(AuditError::Shrank { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_and_untrusted_keys_are_caught() {
    let mut log = MemoryLog::new(2);
    log.append((0..600).map(entry));
    let url = serve(Arc::clone(&log.files)).await;
    let reader = reader(&log, &url).await;
    let head = reader.latest().await.unwrap();

    // An entry changed in its bundle does not hash to the signed root.
    let path = EntryBundleId {
        index: 1,
        width: 256,
    }
    .path();
    let original = log.files.read().unwrap()[&path].clone();
    let mut bad = original.clone();
    bad[5] ^= 1;
    log.files.write().unwrap().insert(path.clone(), bad);
    let err = reader
        .scan(&mut CompactRange::new(), &head, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::EntriesMismatch { .. }), "{err}");
    assert!(err.is_alert());
    // A truncated bundle is refused as a bad tile.
    log.files
        .write()
        .unwrap()
        .insert(path.clone(), original[..original.len() - 1].to_vec());
    let err = reader
        .scan(&mut CompactRange::new(), &head, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::BadTile { .. }), "{err}");
    log.files.write().unwrap().insert(path, original);

    // A wrong hash tile makes inclusion proofs fail.
    let tile = "tile/0/001".to_owned();
    let original = log.files.read().unwrap()[&tile].clone();
    let mut bad = original.clone();
    bad[0] ^= 1;
    log.files.write().unwrap().insert(tile.clone(), bad);
    let fresh = LogReader::open(Http::new().unwrap(), LogKind::RekorV2, &url, log.trust())
        .await
        .unwrap();
    let err = fresh.get(300, &head, 0).await.unwrap_err();
    assert!(matches!(err, AuditError::NotIncluded { .. }), "{err}");
    log.files.write().unwrap().insert(tile, original);

    // A checkpoint signed by another key is not trusted.
    let other = MemoryLog::new(3);
    let err = LogReader::open(Http::new().unwrap(), LogKind::RekorV2, &url, other.trust())
        .await
        .unwrap()
        .latest()
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuditError::UntrustedCheckpoint { .. }),
        "{err}"
    );
    assert!(err.is_alert());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_rounds_save_state_and_alert_on_a_fork() {
    let mut log = MemoryLog::new(4);
    log.append((0..10).map(entry));
    let url = serve(Arc::clone(&log.files)).await;
    let reader = reader(&log, &url).await;
    let watch = Watch::default();
    let round = run_round(&reader, None, "state", &watch, |_| panic!("no match"))
        .await
        .unwrap();
    assert_eq!((round.entries_read, round.undecodable), (10, 10));
    let state = MonitorState::from_json(round.state.to_json().as_bytes(), "state").unwrap();
    assert_eq!(state, round.state);

    log.append((10..20).map(entry));
    let round = run_round(&reader, Some(&state), "state", &watch, |_| {})
        .await
        .unwrap();
    assert_eq!(round.entries_read, 10);
    // Without the compact range (a `signet log info` state), a tiled log's is read from tiles.
    let mut bare = state.clone();
    bare.peaks = None;
    let again = run_round(&reader, Some(&bare), "state", &watch, |_| {})
        .await
        .unwrap();
    assert_eq!(again.state, round.state);

    // The log is replaced by another history signed by the same key: an alert.
    let mut fork = MemoryLog::new(4);
    fork.append((0..25).map(|i| format!("other {i}").into_bytes()));
    let fork_url = serve(Arc::clone(&fork.files)).await;
    let fork_reader = LogReader::open(
        Http::new().unwrap(),
        LogKind::RekorV2,
        &fork_url,
        log.trust(),
    )
    .await
    .unwrap();
    let err = run_round(&fork_reader, Some(&round.state), "state", &watch, |_| {})
        .await
        .unwrap_err();
    let alert = Event::alert(&fork_url, LogKind::RekorV2, &err).expect("an alert");
    assert_eq!(alert.to_json()["alert"]["kind"], "inconsistent", "{err}");

    // A state file that is not one is refused, with its name.
    let err = MonitorState::from_json(b"{}", "my-state.json").unwrap_err();
    assert!(err.to_string().contains("my-state.json"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_reads_exactly_the_new_entries() {
    let mut log = MemoryLog::new(5);
    log.append((0..1000).map(entry));
    let url = serve(Arc::clone(&log.files)).await;
    let reader = reader(&log, &url).await;
    let first = run_round(&reader, None, "state", &Watch::default(), |_| {})
        .await
        .unwrap();
    log.append((1000..21_000).map(entry));
    let started = Instant::now();
    let round = run_round(
        &reader,
        Some(&first.state),
        "state",
        &Watch::default(),
        |_| {},
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(round.entries_read, 20_000);
    // Measured, not asserted: `cargo run --release -p signet-audit --example bench_monitor`.
    eprintln!("a monitor round over 20,000 new entries took {took:?}");
}

/// A real Rekor v2 entry (sigstore-python's staging test bundle): a hashedrekord 0.0.2 with a
/// Fulcio certificate.
fn real_v2_body() -> Vec<u8> {
    use base64::Engine;
    let path = signet_testdata::path("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json");
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let body = bundle["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_over_real_entries_finds_every_match() {
    let body = real_v2_body();
    let decoded = signet_audit::decode_rekor_body(0, &body, None).unwrap();
    assert_eq!(
        (decoded.kind.as_str(), decoded.version.as_str()),
        ("hashedrekord", "0.0.2")
    );
    let signer = decoded.signers[0].clone();
    let identity = signer.identity.clone().unwrap();
    assert!(signer.issuer.is_some() && signer.certificate_serial.is_some());

    let mut log = MemoryLog::new(6);
    log.append((0..2_000).map(|_| body.clone()));
    let url = serve(Arc::clone(&log.files)).await;
    let reader = reader(&log, &url).await;
    let watch = Watch {
        identities: vec![signet_verify::StringMatcher::Exact(identity.clone())],
        issuer: signer.issuer.clone(),
        key_fingerprints: Vec::new(),
    };
    let started = Instant::now();
    let mut matches = 0u64;
    let round = run_round(&reader, None, "state", &watch, |event| {
        let line = event.to_json();
        assert_eq!(line["match"]["identity"], identity.as_str());
        matches += 1;
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(
        (round.entries_read, round.matches, matches),
        (2_000, 2_000, 2_000)
    );
    eprintln!("a monitor round over 2,000 real Rekor v2 entries took {took:?}");
    // Another identity matches none of them.
    let other = Watch {
        identities: vec![signet_verify::StringMatcher::Exact(format!("x{identity}"))],
        ..Watch::default()
    };
    let round = run_round(&reader, None, "state", &other, |_| panic!("no match"))
        .await
        .unwrap();
    assert_eq!(round.matches, 0);
}
