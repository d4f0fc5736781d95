//! Load generator for `scripts/bench-log`: durable appends and reads over HTTP, one client
//! (reqwest, keep-alive) for every target so the numbers compare.
//!
//! ```text
//! bench_log write URL --clients 1,64,256 --entries 2000 [--v1-entries 300 --v1-clients 64]
//! bench_log read URL --clients 64 --secs 3 [--index-below N] [--server-pid PID] LABEL=PATH...
//! ```
//!
//! `write` pre-signs every hashedrekord v2 request, then for each client count sends its share
//! of requests from that many concurrent tasks; a 200 means the entry and a checkpoint covering
//! it are durable. It prints a markdown row per count: appends/s and ack latency p50/p99.
//! `--v1-entries` also appends that many v1 entries (at each of `--v1-clients`, default 64) so
//! v1 proofs have a tree.
//! `read` GETs each path from that many tasks for the given time and prints requests/s; a
//! `{K}` in a path is a random index below `--index-below` on each request. With `--server-pid`
//! it also prints the CPU time that process spent per request (user + system, from
//! `/proc/PID/stat`), which counts what the server costs apart from the load generator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Sends `bodies` to `url` from `clients` tasks; (elapsed, sorted latencies).
async fn post_all(
    http: &reqwest::Client,
    url: &str,
    bodies: Vec<Vec<u8>>,
    clients: usize,
    ok: u16,
) -> (Duration, Vec<Duration>) {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (bodies, next, http, url) = (
                Arc::clone(&bodies),
                Arc::clone(&next),
                http.clone(),
                url.to_owned(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let response = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    let _ = response.bytes().await.unwrap();
                    assert_eq!(status, ok, "POST {url}");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    (elapsed, all)
}

async fn write(
    url: &str,
    clients: &[usize],
    entries: usize,
    v1_clients: &[usize],
    v1_entries: usize,
) {
    let http = client();
    let signer = common::Signer::new();
    let v2 = format!("{url}/api/v2/log/entries");
    println!("| v2 appends | clients | entries | durable appends/s | ack p50 ms | ack p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for &c in clients {
        if entries == 0 {
            break;
        }
        let bodies: Vec<Vec<u8>> = (0..entries)
            .map(|_| {
                common::hashedrekord_v2(&signer, &common::artifact())
                    .to_string()
                    .into_bytes()
            })
            .collect();
        let (elapsed, lat) = post_all(&http, &v2, bodies, c, 200).await;
        println!(
            "| v2 | {c} | {entries} | {:.0} | {} | {} |",
            lat.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
    for &c in v1_clients {
        if v1_entries == 0 {
            break;
        }
        let bodies: Vec<Vec<u8>> = (0..v1_entries)
            .map(|_| {
                common::hashedrekord_v1(&signer, &common::artifact())
                    .to_string()
                    .into_bytes()
            })
            .collect();
        let (elapsed, lat) =
            post_all(&http, &format!("{url}/api/v1/log/entries"), bodies, c, 201).await;
        println!(
            "| v1 | {c} | {v1_entries} | {:.0} | {} | {} |",
            lat.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
}

/// `path` with every `{K}` replaced by `k`.
fn with_index(path: &str, k: u64) -> String {
    path.replace("{K}", &k.to_string())
}

/// User + system CPU time of a process so far, in seconds (`/proc/PID/stat` fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces; the fields after it are counted from ')'.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // In clock ticks of USER_HZ, which Linux fixes at 100 in its user ABI.
    ticks as f64 / 100.0
}

async fn read(
    url: &str,
    clients: usize,
    secs: u64,
    index_below: u64,
    server_pid: Option<u32>,
    targets: &[String],
) {
    let http = client();
    for target in targets {
        let (label, path) = target.split_once('=').unwrap_or((target, target));
        let full = format!("{url}{path}");
        let probe = http.get(with_index(&full, 0)).send().await.unwrap();
        assert_eq!(probe.status().as_u16(), 200, "GET {full}");
        let size = probe.bytes().await.unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let cpu_before = server_pid.map(cpu_seconds);
        let tasks: Vec<_> = (0..clients)
            .map(|task| {
                let (http, full) = (http.clone(), full.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    // xorshift64, seeded per task: `{K}` in the path is a random index.
                    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ (task as u64 + 1);
                    while Instant::now() < deadline {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let target = with_index(&full, state % index_below.max(1));
                        let t = Instant::now();
                        let response = http.get(&target).send().await.unwrap();
                        assert_eq!(response.status().as_u16(), 200);
                        let _ = response.bytes().await.unwrap();
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed();
        let cpu = match (server_pid, cpu_before) {
            (Some(pid), Some(before)) if !lat.is_empty() => format!(
                "{:.0}",
                (cpu_seconds(pid) - before) * 1e6 / lat.len() as f64
            ),
            _ => "—".to_string(),
        };
        lat.sort();
        println!(
            "| {label} | {url} | {size} | {clients} | {:.0} | {} | {} | {cpu} |",
            lat.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(url)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench_log write|read URL [options]");
        std::process::exit(2);
    };
    let url = url.trim_end_matches('/');
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match mode.as_str() {
        "write" => {
            let clients: Vec<usize> = flag(&args, "--clients")
                .unwrap_or("1,64,256")
                .split(',')
                .map(|c| c.parse().unwrap())
                .collect();
            let entries = flag(&args, "--entries").map_or(2000, |e| e.parse().unwrap());
            let v1 = flag(&args, "--v1-entries").map_or(0, |e| e.parse().unwrap());
            let v1_clients: Vec<usize> = flag(&args, "--v1-clients")
                .unwrap_or("64")
                .split(',')
                .map(|c| c.parse().unwrap())
                .collect();
            rt.block_on(write(url, &clients, entries, &v1_clients, v1));
        }
        "read" => {
            let clients = flag(&args, "--clients").map_or(64, |e| e.parse().unwrap());
            let secs = flag(&args, "--secs").map_or(3, |e| e.parse().unwrap());
            let below = flag(&args, "--index-below").map_or(1, |e| e.parse().unwrap());
            let server_pid = flag(&args, "--server-pid").map(|p| p.parse().unwrap());
            let mut targets = Vec::new();
            let mut i = 2;
            while i < args.len() {
                if args[i].starts_with("--") {
                    i += 2;
                } else {
                    targets.push(args[i].clone());
                    i += 1;
                }
            }
            rt.block_on(read(url, clients, secs, below, server_pid, &targets));
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
