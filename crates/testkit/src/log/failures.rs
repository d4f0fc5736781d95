//! The failure-injection suite: every store operation fails in turn (a [`FaultyStore`] around
//! the store under test), before or after it takes effect, in the middle of an append; then the
//! log is recovered (a fresh sequencer, or the same one) and every promise is checked: no
//! acknowledged entry lost or moved, every checkpoint ever visible consistent with the newest,
//! sizes never shrink, timestamps strictly increase, the recovered log publishes a checkpoint
//! covering everything staged.

use super::*;
use signet_log::{FailPoint, FaultyStore, LogError, LogStore, Sequencer, StoreError, StoreOp};
use std::sync::Arc;

/// Opens a sequencer, retrying while injected faults fire during recovery.
pub async fn open_retrying<S: LogStore>(
    store: &Arc<FaultyStore<S>>,
    clock: &TestClock,
    obs: &mut Observer,
) -> Sequencer<FaultyStore<S>> {
    for _ in 0..10 {
        match open(store, clock).await {
            Ok(seq) => return seq,
            Err(LogError::Store(StoreError::Injected { .. })) => {
                obs.observe_store(store.inner()).await;
            }
            Err(e) => panic!("open failed: {e:?}"),
        }
    }
    panic!("open kept failing");
}

/// How the log recovers after the fault.
#[derive(Debug, Clone, Copy)]
pub enum Recovery {
    /// Drop the sequencer and open a new one on the same store (a process restart).
    Reopen,
    /// Keep the sequencer: it re-reads the store itself before its next batch.
    SameSequencer,
}

/// One row of the table: `op` fails at `point` on its `nth` call from the start of the batch.
pub async fn scenario<S: LogStore>(
    inner: S,
    op: StoreOp,
    nth: u64,
    point: FailPoint,
    recovery: Recovery,
) {
    let store = Arc::new(FaultyStore::new(inner));
    let clock = TestClock::default();
    let mut obs = Observer::default();
    let mut seq = open(&store, &clock).await.unwrap();
    obs.observe(&seq.checkpoint().unwrap());

    // Leave partial tiles and a partial bundle for the failing batch to widen.
    for batch in [entries(0..3), entries(3..303)] {
        clock.advance(10);
        let r = seq.append_batch(batch.clone()).await.unwrap();
        obs.record(&batch, &r);
    }

    // The failing batch: new entries, one stored duplicate, one in-batch duplicate.
    store.fail_nth(op, nth, point);
    clock.advance(10);
    let mut batch = entries(303..313);
    batch.push(entry(0));
    batch.push(entry(305));
    match seq.append_batch(batch.clone()).await {
        Ok(r) => obs.record(&batch, &r),
        Err(LogError::Store(StoreError::Injected { .. })) => {}
        Err(e) => panic!("{op} {point:?}: unexpected error {e:?}"),
    }
    obs.observe_store(store.inner()).await;

    if let Recovery::Reopen = recovery {
        drop(seq);
        seq = open_retrying(&store, &clock, &mut obs).await;
        // Right after opening, everything staged is covered by a published checkpoint.
        let state = store.inner().state().await.unwrap();
        assert_eq!(state.checkpoint.unwrap().size, state.staged_size);
        obs.observe(&seq.checkpoint().unwrap());
    }

    // Resubmit the batch with more: everything is acknowledged now, each entry exactly once.
    let mut retry = batch.clone();
    retry.extend(entries(313..320));
    let mut done = None;
    for _ in 0..10 {
        clock.advance(10);
        match seq.append_batch(retry.clone()).await {
            Ok(r) => {
                done = Some(r);
                break;
            }
            Err(LogError::Store(StoreError::Injected { .. })) => {
                obs.observe_store(store.inner()).await;
            }
            Err(e) => panic!("{op} {point:?}: unexpected error on retry {e:?}"),
        }
    }
    let r = done.expect("retry kept failing");
    obs.record(&retry, &r);
    let indices: std::collections::BTreeSet<u64> = r.iter().map(|r| r.index.0).collect();
    assert_eq!(indices.len(), 320 - 303 + 1, "{op} {point:?}: {indices:?}");
    assert!(indices.iter().all(|&i| i == 0 || (303..320).contains(&i)));

    store.clear();
    let check = obs.verify(store.inner()).await;
    assert_eq!(check.staged_size.0, 320);
    assert!(
        !store.fired().is_empty()
            || matches!((op, recovery), (StoreOp::State, Recovery::SameSequencer)),
        "{op} {nth} {point:?} {recovery:?}: the fault never fired"
    );
}

/// The table: every operation × before/after × first/second call × both recoveries.
pub async fn table<S: LogStore>(make: impl AsyncFn() -> S) {
    for op in StoreOp::ALL {
        for point in [FailPoint::Before, FailPoint::After] {
            for nth in [1, 2] {
                if op == StoreOp::State && nth == 2 {
                    // `state` is called once per open, never during an append.
                    continue;
                }
                for recovery in [Recovery::Reopen, Recovery::SameSequencer] {
                    scenario(make().await, op, nth, point, recovery).await;
                }
            }
        }
    }
}

/// Two faults in a row: the batch is staged but its error reported, then the recovery's own
/// checkpoint publication fails too.
pub async fn fault_during_recovery<S: LogStore>(make: impl AsyncFn() -> S) {
    for (first, second) in [
        (FailPoint::After, FailPoint::Before),
        (FailPoint::After, FailPoint::After),
        (FailPoint::Before, FailPoint::After),
    ] {
        let store = Arc::new(FaultyStore::new(make().await));
        let clock = TestClock::default();
        let mut obs = Observer::default();
        let mut seq = open(&store, &clock).await.unwrap();
        let batch = entries(0..5);
        let r = seq.append_batch(batch.clone()).await.unwrap();
        obs.record(&batch, &r);

        store.fail_nth(StoreOp::StageBatch, 1, first);
        store.fail_nth(StoreOp::PublishCheckpoint, 1, second);
        clock.advance(1);
        assert!(seq.append_batch(entries(5..9)).await.is_err());
        obs.observe_store(store.inner()).await;
        // The next batch recovers first; that recovery's publication may fail too.
        let mut result = seq.append_batch(entries(5..12)).await;
        obs.observe_store(store.inner()).await;
        if result.is_err() {
            result = seq.append_batch(entries(5..12)).await;
        }
        let r = result.unwrap();
        obs.record(&entries(5..12), &r);
        let check = obs.verify(store.inner()).await;
        assert_eq!(check.staged_size.0, 12);
    }
}

/// A seeded random walk: batches with duplicates, random faults, random restarts.
pub async fn random_faults<S: LogStore>(inner: S) {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_u64 = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let store = Arc::new(FaultyStore::new(inner));
    let clock = TestClock::default();
    let mut obs = Observer::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut fresh = 0u64;
    for round in 0..300 {
        if next_u64() % 3 == 0 {
            let op = StoreOp::ALL[(next_u64() % StoreOp::ALL.len() as u64) as usize];
            let point = if next_u64() % 2 == 0 {
                FailPoint::Before
            } else {
                FailPoint::After
            };
            store.fail_nth(op, 1 + next_u64() % 3, point);
        }
        let mut batch = Vec::new();
        for _ in 0..(1 + next_u64() % 40) {
            if fresh > 0 && next_u64() % 4 == 0 {
                batch.push(entry(next_u64() % fresh));
            } else {
                batch.push(entry(fresh));
                fresh += 1;
            }
        }
        clock.advance(next_u64() % 3);
        match seq.append_batch(batch.clone()).await {
            Ok(r) => obs.record(&batch, &r),
            Err(LogError::Store(StoreError::Injected { .. })) => {}
            Err(e) => panic!("round {round}: {e:?}"),
        }
        obs.observe_store(store.inner()).await;
        if next_u64() % 10 == 0 {
            drop(seq);
            seq = open_retrying(&store, &clock, &mut obs).await;
        }
        if round % 50 == 49 {
            let armed = store.fired().len();
            store.clear();
            seq.recover().await.unwrap();
            obs.verify(store.inner()).await;
            assert!(armed > 0);
        }
    }
    store.clear();
    seq.recover().await.unwrap();
    obs.verify(store.inner()).await;
}
