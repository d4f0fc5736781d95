//! Checkpoint guards: what must accept a checkpoint before the sequencer publishes it.
//!
//! A log that is restored from an old backup still verifies against its own store: its tiles
//! reproduce its checkpoint. What it cannot see on its own is that it already published a
//! larger tree that the restored copy does not contain. A guard is that outside memory:
//!
//! - a checkpoint lock (a copy of the latest checkpoint kept outside the data directory) that
//!   refuses to open a store behind it;
//! - witnesses (C2SP `tlog-witness`), which refuse to cosign a tree that does not extend the one
//!   they last cosigned, so a restored log cannot publish.
//!
//! The sequencer calls [`CheckpointGuard::check_open`] each time it opens or re-verifies the
//! store, and [`CheckpointGuard::endorse`] with every checkpoint it signs, after the entries are
//! staged and before the checkpoint is published. A guard's error stops the publication: no
//! caller is answered, and the staged entries wait for the next attempt (as after a crash
//! between the two durable steps).

use crate::LogError;
use signet_merkle::{Hash, TreeSize};
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: guards are trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The staged tree as the store holds it, for guards: roots and consistency proofs read from
/// the stored tiles. Everything staged is final (staged entries are never rolled back), so a
/// guard may rely on it even before the checkpoint that covers it is published.
pub trait TreeView: Send + Sync {
    /// The staged size: every size up to it can be asked about.
    fn staged_size(&self) -> TreeSize;
    /// The root of the tree of `size` leaves.
    fn root(&self, size: TreeSize) -> BoxFuture<'_, Result<Hash, LogError>>;
    /// The RFC 6962 consistency proof from `old` to `new` leaves.
    fn consistency(
        &self,
        old: TreeSize,
        new: TreeSize,
    ) -> BoxFuture<'_, Result<Vec<Hash>, LogError>>;
}

/// Something that must accept every checkpoint before it is published.
pub trait CheckpointGuard: Send + Sync {
    /// What to call this guard in errors and logs.
    fn name(&self) -> &str;

    /// Called whenever the sequencer opens or re-verifies the store, after the store verified
    /// against its own checkpoint. Refuses a store that is behind, or diverges from, what the
    /// guard knows was published. The default accepts.
    fn check_open<'a>(&'a self, tree: &'a dyn TreeView) -> BoxFuture<'a, Result<(), GuardError>> {
        let _ = tree;
        Box::pin(async { Ok(()) })
    }

    /// Called with a checkpoint the log signed (`note`, for `size` leaves, all staged) before
    /// it is published. Returns the note to publish, e.g. with cosignatures appended; an error
    /// means the checkpoint must not be published.
    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        size: TreeSize,
        tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>>;
}

/// Why a guard refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The log's tree is behind or diverges from what the guard holds: the log must not sign
    /// or publish until an operator looks (a restored backup, a fork).
    #[error("{guard}: {reason}")]
    Diverged {
        /// The guard.
        guard: String,
        /// What differs.
        reason: String,
    },
    /// The guard could not endorse now (a witness is down, a quorum was not reached, a file
    /// could not be written); a later attempt may succeed.
    #[error("{guard}: {reason}")]
    Unavailable {
        /// The guard.
        guard: String,
        /// What failed.
        reason: String,
    },
    /// The guard could not read the tree it was shown.
    #[error("{guard}: reading the log: {source}")]
    Log {
        /// The guard.
        guard: String,
        /// The log's error.
        source: Box<LogError>,
    },
}

/// A [`TreeView`] over a store, up to its staged size.
pub(crate) struct StoreTree<'a, S> {
    pub(crate) store: &'a S,
    pub(crate) staged: TreeSize,
}

impl<S: crate::LogStore> TreeView for StoreTree<'_, S> {
    fn staged_size(&self) -> TreeSize {
        self.staged
    }

    fn root(&self, size: TreeSize) -> BoxFuture<'_, Result<Hash, LogError>> {
        Box::pin(async move {
            if size > self.staged {
                return Err(LogError::PastStaged {
                    size: size.0,
                    staged: self.staged.0,
                });
            }
            crate::proof::tree_root(self.store, size).await
        })
    }

    fn consistency(
        &self,
        old: TreeSize,
        new: TreeSize,
    ) -> BoxFuture<'_, Result<Vec<Hash>, LogError>> {
        Box::pin(async move {
            if new > self.staged {
                return Err(LogError::PastStaged {
                    size: new.0,
                    staged: self.staged.0,
                });
            }
            crate::proof::consistency_proof(self.store, old, new).await
        })
    }
}
