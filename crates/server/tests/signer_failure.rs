//! A log key that stops signing (an HSM that went away) mid-run: appends fail with 503 and
//! are not acknowledged, and the logs carry on once the key signs again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Signer, artifact, hashedrekord_v1, hashedrekord_v2};
use reqwest::StatusCode;
use serde_json::Value;
use signet_log::{BatcherConfig, RedbStore};
use signet_server::{LogServer, LogServerParts, LogSigners, LogStores, RedbStores};
use signet_signer::MemorySigner;
use signet_testkit::UnreliableSigner;
use std::sync::Arc;
use std::time::Duration;

fn switchable(inner: MemorySigner) -> Arc<UnreliableSigner> {
    UnreliableSigner::new(inner, "pkcs11:token=test;object=log")
}

async fn tree_size(base: &str, path: &str) -> u64 {
    let info: Value = reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["treeSize"]
        .as_u64()
        .or_else(|| info["treeSize"].as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_fails_gets_503_and_acknowledges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = common::keys_for(dir.path());
    let from_keys = LogSigners::from_keys(&keys).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let v1_pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let v1 = switchable(MemorySigner::from_pkcs8(v1_pkcs8.as_ref()).unwrap());
    let v2 = switchable(MemorySigner::from_ed25519_seed(&[5; 32]).unwrap());

    // A key of the wrong algorithm is refused at start, naming the log.
    let open = |signers: LogSigners| {
        let dir = dir.path().to_owned();
        let keys = keys.clone();
        async move {
            let (v1_path, v2_path) = (dir.join("log-v1.redb"), dir.join("log-v2.redb"));
            let search_index_path = dir.join("search-v1.redb");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let server = LogServer::with_signers(
                LogServerParts {
                    public_url: base.clone(),
                    keys,
                    stores: LogStores::Redb(RedbStores {
                        v1: RedbStore::open(&v1_path).unwrap(),
                        v1_path,
                        v2: RedbStore::open(&v2_path).unwrap(),
                        v2_path,
                        search_index: redb::Database::create(&search_index_path).unwrap(),
                        search_index_path,
                    }),
                    batch: BatcherConfig {
                        max_wait: Duration::from_millis(5),
                        ..BatcherConfig::default()
                    },
                    peer_url: None,
                    clock: signet_clock::Clock::system(),
                    randomness: signet_clock::Randomness::system(),
                    search_results: signet_server::MAX_SEARCH_RESULTS,
                    cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
                    guards: Default::default(),
                },
                signers,
            )
            .await;
            (server, listener, base)
        }
    };
    let (wrong, _, _) = open(LogSigners {
        v1: from_keys.v2.clone(),
        v2: from_keys.v1.clone(),
    })
    .await;
    let message = wrong.unwrap_err().to_string();
    assert!(message.contains("Rekor v1"), "{message}");

    let (server, listener, base) = open(LogSigners {
        v1: v1.clone(),
        v2: v2.clone(),
    })
    .await;
    let server = server.unwrap();
    let router = server.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let client = reqwest::Client::new();
    let post = |path: &'static str, body: Value| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let signer = Signer::new();
    let v1_entries = "/api/v1/log/entries";
    let v2_entries = "/api/v2/log/entries";

    let ok = post(v1_entries, hashedrekord_v1(&signer, &artifact())).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let ok = post(v2_entries, hashedrekord_v2(&signer, &artifact())).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let v1_size = tree_size(&base, "/api/v1/log").await;

    // The HSM goes away: appends fail with 503, and the published checkpoint does not move.
    v1.set_failing(true);
    v2.set_failing(true);
    let failed = post(v1_entries, hashedrekord_v1(&signer, &artifact())).await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let failed = post(v2_entries, hashedrekord_v2(&signer, &artifact())).await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = failed.text().await.unwrap();
    assert!(!body.contains("HSM"), "no key detail for clients: {body}");
    assert_eq!(tree_size(&base, "/api/v1/log").await, v1_size);

    // It comes back: appends succeed and are covered by a signed checkpoint.
    v1.set_failing(false);
    v2.set_failing(false);
    let ok = post(v1_entries, hashedrekord_v1(&signer, &artifact())).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let ok = post(v2_entries, hashedrekord_v2(&signer, &artifact())).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(tree_size(&base, "/api/v1/log").await > v1_size);
    task.abort();
    let _ = task.await;
    server.shutdown().await;
}
