//! `GET /metrics` and `GET /readyz`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Signer, artifact, hashedrekord_v1, hashedrekord_v2, start};
use serde_json::Value;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_appends_errors_and_tree_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), None).await;
    let client = reqwest::Client::new();

    let ready = client.get(running.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true);

    let signer = Signer::new();
    let v2_url = running.url("/api/v2/log/entries");
    let v1_url = running.url("/api/v1/log/entries");
    let repeated = hashedrekord_v2(&signer, &artifact());
    for body in [
        hashedrekord_v2(&signer, &artifact()),
        hashedrekord_v2(&signer, &artifact()),
        repeated.clone(),
        repeated,
    ] {
        let r = client.post(&v2_url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let v1_body = hashedrekord_v1(&signer, &artifact());
    for expected in [201, 409] {
        let r = client.post(&v1_url).json(&v1_body).send().await.unwrap();
        assert_eq!(r.status(), expected);
    }
    // Two invalid v2 requests (not JSON) and a 404.
    for _ in 0..2 {
        let r = client.post(&v2_url).body("nope").send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = client.get(running.url("/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // The v1 entry read twice: the first answer is made and kept, the second one is kept.
    for _ in 0..2 {
        let r = client
            .get(running.url("/api/v1/log/entries?logIndex=0"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    let response = client.get(running.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
    assert_eq!(get(r#"signet_appends_total{api="v2",outcome="new"}"#), 3.0);
    assert_eq!(
        get(r#"signet_appends_total{api="v2",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        get(r#"signet_appends_total{api="v2",outcome="rejected"}"#),
        2.0
    );
    assert_eq!(get(r#"signet_appends_total{api="v1",outcome="new"}"#), 1.0);
    assert_eq!(
        get(r#"signet_appends_total{api="v1",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"signet_appends_total{api="v1",outcome="rejected"}"#
        ),
        None
    );
    let rejected: f64 = text
        .lines()
        .filter(|l| l.starts_with(r#"signet_rejected_entries_total{api="v2""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(rejected, 2.0);
    assert_eq!(get(r#"signet_tree_size{api="v2"}"#), 3.0);
    assert_eq!(get(r#"signet_tree_size{api="v1"}"#), 1.0);
    assert_eq!(
        get(r#"signet_append_duration_seconds_count{api="v2"}"#),
        4.0
    );
    assert_eq!(
        get(r#"signet_append_duration_seconds_count{api="v1"}"#),
        2.0
    );
    // Three new v2 entries, sent one after another: three batches of one (the duplicate writes
    // nothing), and four checkpoints (the first one signed when the empty log opened).
    assert_eq!(get(r#"signet_batch_entries_count{api="v2"}"#), 3.0);
    assert_eq!(get(r#"signet_batch_entries_sum{api="v2"}"#), 3.0);
    assert_eq!(
        get(r#"signet_store_commit_seconds_count{api="v2",op="stage_batch"}"#),
        3.0
    );
    assert_eq!(
        get(r#"signet_store_commit_seconds_count{api="v2",op="publish_checkpoint"}"#),
        4.0
    );
    assert_eq!(
        get(r#"signet_store_commit_seconds_count{api="v1",op="stage_batch"}"#),
        1.0
    );
    assert!(get(r#"signet_store_commit_seconds_sum{api="v2",op="stage_batch"}"#) > 0.0);
    assert_eq!(get("signet_sequencer"), 1.0);
    assert_eq!(get(r#"signet_http_errors_total{status="400"}"#), 2.0);
    assert_eq!(get(r#"signet_http_errors_total{status="409"}"#), 1.0);
    assert_eq!(get(r#"signet_http_errors_total{status="404"}"#), 1.0);
    assert!(
        text.contains("# TYPE signet_appends_total counter"),
        "{text}"
    );
    // Every cache reports its bound, and the tile and proof caches their use; together the
    // bounds stay within the server's budget.
    let sizes = signet_server::CacheSizes::for_redb(signet_server::DEFAULT_CACHE_BYTES);
    assert_eq!(
        get(r#"signet_cache_capacity_bytes{cache="tiles",api="v2"}"#),
        sizes.tiles as f64
    );
    assert_eq!(
        get(r#"signet_cache_capacity_bytes{cache="redb_log",api="v1"}"#),
        sizes.redb_log as f64
    );
    assert!(get(r#"signet_cache_bytes{cache="tiles",api="v2"}"#) > 0.0);
    assert!(get(r#"signet_cache_bytes{cache="tiles",api="v2"}"#) <= sizes.tiles as f64);
    assert!(get(r#"signet_cache_hits_total{cache="tiles",api="v2"}"#) >= 0.0);
    assert!(get(r#"signet_cache_misses_total{cache="proofs",api="v1"}"#) >= 0.0);
    assert_eq!(
        get(r#"signet_cache_capacity_bytes{cache="entries",api="v1"}"#),
        sizes.entries as f64
    );
    assert!(get(r#"signet_cache_bytes{cache="entries",api="v1"}"#) > 0.0);
    assert_eq!(
        get(r#"signet_cache_entries{cache="entries",api="v1"}"#),
        1.0
    );
    assert!(get(r#"signet_cache_hits_total{cache="entries",api="v1"}"#) >= 1.0);
    assert!(get(r#"signet_cache_misses_total{cache="entries",api="v1"}"#) >= 1.0);
    let bounds: f64 = text
        .lines()
        .filter(|l| l.starts_with("signet_cache_capacity_bytes{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        bounds <= signet_server::DEFAULT_CACHE_BYTES as f64,
        "{bounds}"
    );

    running.stop().await;
}
