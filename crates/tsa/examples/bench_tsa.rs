//! Load generator for the TSA over HTTP loopback: starts the router in-process on 127.0.0.1
//! (or targets `--url`), then for each client count sends timestamp requests from that many
//! concurrent tasks (reqwest, keep-alive) and prints timestamps/s and latency p50/p99.
//!
//! ```text
//! cargo run --release -p signet-tsa --example bench_tsa -- [--clients 1,16,64] [--requests 4000] [--url URL]
//! ```
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss
)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use signet_tsa::SigningAlgorithm;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let mut clients = vec![1usize, 16, 64];
    let mut requests = 4000usize;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clients" => {
                clients = args
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|n| n.parse().unwrap())
                    .collect();
            }
            "--requests" => requests = args.next().unwrap().parse().unwrap(),
            "--url" => url = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    let url = match url {
        Some(url) => url,
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let tsa = Arc::new(authority(SigningAlgorithm::EcdsaP256Sha256, now));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (clock, randomness) = (
                    signet_clock::Clock::system(),
                    signet_clock::Randomness::system(),
                );
                axum::serve(listener, signet_tsa::router(tsa, clock, randomness))
                    .await
                    .unwrap();
            });
            format!("http://{addr}")
        }
    };
    let endpoint = format!("{url}/api/v1/timestamp");
    let mut req = Req::over(SHA256, b"signature bytes");
    req.nonce = Some(vec![0x5a; 8]);
    let body = req.der();
    let client = reqwest::Client::new();

    println!("| clients | requests | timestamps/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for &n in &clients {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (client, endpoint, body, next) =
                    (client.clone(), endpoint.clone(), body.clone(), next.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < requests {
                        let t = Instant::now();
                        let resp = client
                            .post(&endpoint)
                            .header("content-type", "application/timestamp-query")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(resp.status(), 200);
                        let reply = resp.bytes().await.unwrap();
                        assert_eq!(status(&reply).0, 0, "not granted");
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::with_capacity(requests);
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        let elapsed = start.elapsed();
        all.sort();
        println!(
            "| {n} | {} | {:.0} | {} | {} |",
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&all, 0.50)),
            ms(percentile(&all, 0.99)),
        );
    }
}
