//! How fast a monitor round reads a Rekor v2 log, and how much memory it takes.
//!
//! Builds a tlog-tiles log of `--entries` (default 100,000) real Rekor v2 entries (a
//! hashedrekord 0.0.2 with a Fulcio certificate, from the shared test data), writes it to a
//! temporary directory, serves that directory over loopback HTTP from disk (nothing held in
//! memory), then runs a first round and a round over `--entries` more entries. Every entry is
//! decoded (certificate and all) and compared with a watched identity that none of them has:
//! a round keeps its matches until it has verified, so memory grows with the matches, not with
//! the entries, and this measures the entries. Prints each round's time, entries per second,
//! and how far the resident set grew during the round.
//!
//! `cargo run --release -p signet-audit --example bench_monitor [-- --entries N]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine;
use signet_audit::{Http, LogKind, LogReader, Watch, run_round};
use signet_note::NoteSigner;
use signet_testkit::tiles::{TiledLog, serve_dir};
use signet_verify::{StringMatcher, TrustMaterial, TrustedLog, Validity};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ORIGIN: &str = "bench.audit.test";

/// The resident set size, bytes (Linux).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn real_v2_body() -> Vec<u8> {
    let path = signet_testdata::path("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json");
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let body = bundle["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn trust(log: &TiledLog) -> TrustMaterial {
    let signer = log.signer();
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&signer.public_key());
    let mut log_id = signer.key_id().to_be_bytes().to_vec();
    log_id.extend_from_slice(&[0; 28]);
    TrustMaterial {
        tlogs: vec![TrustedLog {
            log_id,
            key: signet_x509::PublicKey::from_spki_der(&spki).unwrap(),
            validity: Validity::ALWAYS,
            base_url: format!("https://{ORIGIN}"),
        }],
        ..TrustMaterial::default()
    }
}

/// Runs `round` while sampling the resident set; returns its result, time and peak growth.
async fn measured<T>(round: impl std::future::Future<Output = T>) -> (T, Duration, u64) {
    let base = rss();
    let peak = Arc::new(AtomicU64::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let started = Instant::now();
    let out = round.await;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (out, took, peak.load(Ordering::Relaxed).saturating_sub(base))
}

#[tokio::main]
async fn main() {
    let mut entries = 100_000u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--entries" {
            entries = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--entries N");
        }
    }
    let body = real_v2_body();
    let decoded = signet_audit::decode_rekor_body(0, &body, None).unwrap();
    let identity = decoded.signers[0].identity.clone().unwrap();
    let watch = Watch {
        identities: vec![StringMatcher::Exact(format!("not-{identity}"))],
        ..Watch::default()
    };

    let dir = tempfile::tempdir().unwrap();
    let mut log = TiledLog::new(ORIGIN, 3);
    log.append((0..entries).map(|_| body.clone()));
    log.write_to(dir.path());
    let trust = trust(&log);
    let url = serve_dir(dir.path().to_owned()).await;
    let reader = LogReader::open(Http::new().unwrap(), LogKind::RekorV2, &url, trust.clone())
        .await
        .unwrap();

    let mut matches = 0u64;
    let (first, took, grew) =
        measured(run_round(&reader, None, "state", &watch, |_| matches += 1)).await;
    let first = first.unwrap();
    report("first round", first.entries_read, matches, took, grew);

    log.append((0..entries).map(|_| body.clone()));
    log.write_to(dir.path());
    drop(log);
    let mut matches = 0u64;
    let (next, took, grew) = measured(run_round(
        &reader,
        Some(&first.state),
        "state",
        &watch,
        |_| matches += 1,
    ))
    .await;
    let next = next.unwrap();
    report("next round", next.entries_read, matches, took, grew);
}

fn report(what: &str, read: u64, matches: u64, took: Duration, grew: u64) {
    println!(
        "{what}: {read} Rekor v2 entries read, decoded and compared ({matches} matches) in {:.2} s: \
         {:.0} entries/s; resident set grew by {:.1} MiB during the round",
        took.as_secs_f64(),
        read as f64 / took.as_secs_f64(),
        grew as f64 / (1024.0 * 1024.0)
    );
}
