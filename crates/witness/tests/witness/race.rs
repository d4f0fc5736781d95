//! The rollback race of the spec: concurrent requests for one log, each from the size it saw,
//! must never move the witness's size back. Run on the file store (real fsyncs) and on the
//! memory store with a pause inside every replace to widen the window.

use crate::common::{Log, NOW, witness_over};
use signet_merkle::TreeSize;
use signet_witness::{AddError, CheckpointStore, FileStore, MemoryStore, StoreStep, Witness};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LEAVES: u64 = 200;
const THREADS: u64 = 8;
const ROUNDS: u64 = 12;

fn race(store: Box<dyn CheckpointStore>) {
    let log = Arc::new(Log::new("log.test/race", 3, LEAVES));
    let w: Arc<Witness> = Arc::new(witness_over(store, &[&log]));
    let successes = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));

    // A watcher: the size it reads never goes down.
    let watcher = {
        let (w, done) = (w.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            while !done.load(Ordering::SeqCst) {
                let size = w.latest("log.test/race").unwrap().map_or(0, |c| c.size.0);
                assert!(size >= last, "size went back from {last} to {size}");
                last = size;
            }
        })
    };

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (w, log, successes) = (w.clone(), log.clone(), successes.clone());
            std::thread::spawn(move || {
                let (mut cosigned, mut conflicts) = (0, 0);
                for round in 0..ROUNDS {
                    let seen = w.latest("log.test/race").unwrap().map_or(0, |c| c.size.0);
                    let new = (seen + 1 + (t + round) % 4).min(LEAVES);
                    match w.add_checkpoint_body(&log.body(seen, new), NOW) {
                        Ok(_) => {
                            successes.lock().unwrap().push(new);
                            cosigned += 1;
                        }
                        Err(AddError::OldSizeMismatch { latest, .. }) => {
                            assert!(latest.0 > seen, "409 with {} after seeing {seen}", latest.0);
                            conflicts += 1;
                        }
                        // Equal sizes at the end of the tree cosign again; nothing else fails.
                        Err(e) => panic!("{seen} -> {new}: {e}"),
                    }
                }
                (cosigned, conflicts)
            })
        })
        .collect();
    let mut conflicts = 0;
    for worker in workers {
        conflicts += worker.join().unwrap().1;
    }
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();

    let successes = successes.lock().unwrap();
    let max = *successes.iter().max().unwrap();
    // The last size stored is the largest cosigned: nothing smaller overwrote it.
    assert_eq!(
        w.latest("log.test/race").unwrap().unwrap().size,
        TreeSize(max)
    );
    // The threads did collide.
    assert!(conflicts > 0, "no request lost a race: {successes:?}");
}

#[test]
fn concurrent_requests_never_roll_back_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    race(Box::new(FileStore::open(dir.path()).unwrap()));
}

#[test]
fn concurrent_requests_never_roll_back_with_slow_writes() {
    race(Box::new(MemoryStore::with_faults(|step| {
        if step == StoreStep::BeforeReplace {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    })));
}
