//! Fault injection around any [`LogStore`], for crash-safety tests.

use crate::{
    FailPoint, LogState, LogStore, StagedBatch, StoreError, StoreOp, StoredCheckpoint, StoredEntry,
};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Wraps a store and makes chosen calls fail, either [`FailPoint::Before`] the operation (it
/// does nothing) or [`FailPoint::After`] it (it takes effect, durably, and an error is returned
/// anyway). This models a crash or a lost connection at each storage step, as sunlight's
/// `MemoryBackend` does with its failure callbacks.
///
/// ```
/// # use signet_log::{FaultyStore, MemoryStore, StoreOp, FailPoint};
/// let store = FaultyStore::new(MemoryStore::new());
/// // The second `stage_batch` from now persists its batch, then reports failure.
/// store.fail_nth(StoreOp::StageBatch, 2, FailPoint::After);
/// ```
#[derive(Debug, Default)]
pub struct FaultyStore<S> {
    inner: S,
    state: Mutex<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    /// Armed faults: (operation, calls left before it fires, point).
    armed: Vec<(StoreOp, u64, FailPoint)>,
    /// Calls seen, per operation.
    calls: HashMap<StoreOp, u64>,
    /// Faults that fired.
    fired: Vec<(StoreOp, FailPoint)>,
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`, with no faults armed.
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner,
            state: Mutex::new(Faults::default()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the `nth` call (counting from 1) of `op` from now on fail at `point`. `nth == 0`
    /// is treated as 1. Several faults may be armed at once; each fires once.
    pub fn fail_nth(&self, op: StoreOp, nth: u64, point: FailPoint) {
        self.lock().armed.push((op, nth.max(1), point));
    }

    /// Disarms every fault that has not fired.
    pub fn clear(&self) {
        self.lock().armed.clear();
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: StoreOp) -> u64 {
        self.lock().calls.get(&op).copied().unwrap_or(0)
    }

    /// The faults that fired, in order.
    pub fn fired(&self) -> Vec<(StoreOp, FailPoint)> {
        self.lock().fired.clone()
    }

    /// Counts a call of `op` and returns the point at which it must fail, if any.
    fn next_fault(&self, op: StoreOp) -> Option<FailPoint> {
        let mut faults = self.lock();
        *faults.calls.entry(op).or_insert(0) += 1;
        let mut hit = None;
        let mut i = 0;
        while i < faults.armed.len() {
            let Some(fault) = faults.armed.get_mut(i) else {
                break;
            };
            if fault.0 == op {
                fault.1 = fault.1.saturating_sub(1);
                if fault.1 == 0 {
                    if hit.is_none() {
                        hit = Some(fault.2);
                        faults.armed.remove(i);
                        continue;
                    }
                    // Another fault fires on this call; this one fires on the next.
                    fault.1 = 1;
                }
            }
            i += 1;
        }
        if let Some(point) = hit {
            faults.fired.push((op, point));
        }
        hit
    }

    async fn run<T>(
        &self,
        op: StoreOp,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self.next_fault(op) {
            Some(FailPoint::Before) => Err(StoreError::Injected {
                op,
                point: FailPoint::Before,
            }),
            Some(FailPoint::After) => {
                call.await?;
                Err(StoreError::Injected {
                    op,
                    point: FailPoint::After,
                })
            }
            None => call.await,
        }
    }
}

impl<S: LogStore> LogStore for FaultyStore<S> {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        self.run(StoreOp::StageBatch, self.inner.stage_batch(batch))
            .await
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        self.run(
            StoreOp::PublishCheckpoint,
            self.inner.publish_checkpoint(expected_previous, checkpoint),
        )
        .await
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        self.run(StoreOp::State, self.inner.state()).await
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.run(StoreOp::ReadTiles, self.inner.read_tiles(tiles))
            .await
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(
            StoreOp::ReadEntryBundle,
            self.inner.read_entry_bundle(bundle),
        )
        .await
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        self.run(StoreOp::ReadEntry, self.inner.read_entry(index))
            .await
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        self.run(StoreOp::FindLeaves, self.inner.find_leaves(leaf_hashes))
            .await
    }
}
