//! A real crash: a child process appends to a redb log with concurrent submitters and reports
//! every acknowledgement and checkpoint on stdout; it is killed with SIGKILL at a random moment,
//! the log is reopened, and every promise is checked. Repeated on the same file.
//!
//! The child is this test binary itself, run with `SIGNET_LOG_CRASH_CHILD` set to the database
//! path; the `crash_child` test is the writer and does nothing otherwise.

use signet_log::{Batcher, BatcherConfig, RedbStore, StoredCheckpoint};
use signet_merkle::TreeSize;
use signet_testkit::log::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SIGNET_LOG_CRASH_CHILD";
const SUBMITTERS: u64 = 32;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The writer. Entry numbers start at `SIGNET_LOG_CRASH_FIRST` so each run appends new entries
/// (and resubmits a few old ones, which must come back as duplicates).
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let first: u64 = std::env::var("SIGNET_LOG_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = Arc::new(RedbStore::open(&path).unwrap());
        let seq = open(&store, &TestClock::now()).await.unwrap();
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let report_checkpoint = |out: &Mutex<std::io::Stdout>, cp: &StoredCheckpoint| {
            let mut out = out.lock().unwrap();
            writeln!(out, "C {} {} {}", cp.size.0, cp.timestamp_ms, hex(&cp.note)).unwrap();
            out.flush().unwrap();
        };
        report_checkpoint(&out, &seq.checkpoint().unwrap());
        let log = Batcher::spawn(seq, BatcherConfig::default()).unwrap();
        let mut tasks = Vec::new();
        for s in 0..SUBMITTERS {
            let log = log.clone();
            let out = Arc::clone(&out);
            tasks.push(tokio::spawn(async move {
                let mut n = first + s;
                #[allow(clippy::infinite_loop)]
                loop {
                    // Every tenth submission repeats an older entry.
                    let number = if n % 10 == 3 && n > 100 { n - 100 } else { n };
                    let r = log.submit(entry(number)).await.unwrap();
                    report_checkpoint(&out, &r.checkpoint);
                    let mut o = out.lock().unwrap();
                    writeln!(o, "A {} {}", r.index.0, number).unwrap();
                    o.flush().unwrap();
                    drop(o);
                    n += SUBMITTERS;
                }
            }));
        }
        // The submitters never stop; the parent kills this process.
        for t in tasks {
            let never: Result<std::convert::Infallible, _> = t.await;
            never.unwrap();
        }
    });
}

#[test]
fn sigkill_while_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.redb");
    let exe = std::env::current_exe().unwrap();
    let mut obs = Observer::default();
    let mut first = 0u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let rounds = std::env::var("SIGNET_LOG_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for round in 0..rounds {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let run_for = Duration::from_millis(100 + rng % 400);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, &path)
            .env("SIGNET_LOG_CRASH_FIRST", first.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        std::thread::sleep(run_for);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();

        let mut acked = 0;
        let mut highest = first;
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["A", index, number] => {
                    let number: u64 = number.parse().unwrap();
                    let index: u64 = index.parse().unwrap();
                    if let Some(previous) = obs.acked.insert(index, entry(number)) {
                        assert_eq!(previous, entry(number), "index {index} reused");
                    }
                    highest = highest.max(number + 1);
                    acked += 1;
                }
                ["C", size, ts, note] => obs.observe(&StoredCheckpoint {
                    size: TreeSize(size.parse().unwrap()),
                    timestamp_ms: ts.parse().unwrap(),
                    note: unhex(note),
                }),
                // The output may end in the middle of a line; the kill cut it.
                _ => {}
            }
        }
        // The child's output interleaves submitters, so checkpoints are sorted by size (the
        // order they were published in) before the monotonicity checks.
        obs.checkpoints.sort_by_key(|c| (c.size, c.timestamp_ms));
        obs.checkpoints.dedup();

        let reopened = Instant::now();
        let store = Arc::new(RedbStore::open(&path).unwrap());
        rt.block_on(async {
            let seq = open(&store, &TestClock::now()).await.unwrap();
            let opened = reopened.elapsed();
            obs.observe(&seq.checkpoint().unwrap());
            let check = obs.verify(store.as_ref()).await;
            println!(
                "round {round}: killed after {run_for:?}, {acked} acknowledged, log size {}, \
                 reopen and recovery {opened:?}",
                check.staged_size.0
            );
        });
        drop(store);
        first = highest + SUBMITTERS;
    }
    assert!(
        !obs.acked.is_empty(),
        "the child never acknowledged anything"
    );
}
