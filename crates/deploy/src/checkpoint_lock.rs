//! The checkpoint lock: a copy of a log's latest checkpoint kept outside its data directory
//! (`--checkpoint-lock DIR`), so that a data directory restored from an old backup is refused
//! instead of signing a tree that diverges from checkpoints the log already handed out.
//!
//! Every checkpoint is written to the lock (durably, through `signet-durable`) after its
//! entries are staged and before it is published, so the lock is never behind what clients
//! have seen. On every open the store must contain the lock's tree: at least its size, and
//! the same root at that size. Any other store is refused with an error naming both sizes;
//! the operator decides (restore a newer backup, or remove the lock knowingly).

use signet_log::guard::BoxFuture;
use signet_log::{CheckpointGuard, GuardError, TreeView};
use signet_merkle::TreeSize;
use signet_note::{Checkpoint, Note};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest lock file read: a checkpoint with its signatures is far smaller.
const MAX_LOCK_BYTES: u64 = 64 * 1024;

/// One log's checkpoint lock file.
#[derive(Debug, Clone)]
pub struct CheckpointLock {
    path: PathBuf,
    origin: String,
    name: String,
}

impl CheckpointLock {
    /// The lock at `path` for the log whose checkpoints have origin `origin`.
    pub fn new(path: impl Into<PathBuf>, origin: &str) -> CheckpointLock {
        let path = path.into();
        let name = format!("checkpoint lock {}", path.display());
        CheckpointLock {
            path,
            origin: origin.to_owned(),
            name,
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn diverged(&self, reason: String) -> GuardError {
        GuardError::Diverged {
            guard: self.name.clone(),
            reason,
        }
    }

    /// The locked checkpoint, if the file exists.
    fn read(&self) -> Result<Option<Checkpoint>, GuardError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.diverged(format!("cannot read it: {e}"))),
        };
        let mut data = Vec::new();
        file.take(MAX_LOCK_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| self.diverged(format!("cannot read it: {e}")))?;
        if data.len() as u64 > MAX_LOCK_BYTES {
            return Err(self.diverged(format!("larger than {MAX_LOCK_BYTES} bytes")));
        }
        let note = Note::parse(&data)
            .map_err(|e| self.diverged(format!("not a signed checkpoint: {e}")))?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|e| self.diverged(format!("not a checkpoint: {e}")))?;
        if checkpoint.origin != self.origin {
            return Err(self.diverged(format!(
                "it locks log {:?}, not this log {:?}",
                checkpoint.origin, self.origin
            )));
        }
        Ok(Some(checkpoint))
    }
}

impl CheckpointGuard for CheckpointLock {
    fn name(&self) -> &str {
        &self.name
    }

    fn check_open<'a>(&'a self, tree: &'a dyn TreeView) -> BoxFuture<'a, Result<(), GuardError>> {
        Box::pin(async move {
            let Some(locked) = self.read()? else {
                return Ok(());
            };
            let staged = tree.staged_size();
            if locked.size > staged {
                return Err(self.diverged(format!(
                    "this log published a tree of {} entries but its store holds {}: the data \
                     is older than what was published (restored from a backup?); refusing to \
                     sign a tree that would diverge from it",
                    locked.size.0, staged.0
                )));
            }
            let root = tree.root(locked.size).await.map_err(|e| GuardError::Log {
                guard: self.name.clone(),
                source: Box::new(e),
            })?;
            if root != locked.root_hash {
                return Err(self.diverged(format!(
                    "the store's tree of {} entries has root {root}, the published one {}: \
                     the log has forked; refusing to sign",
                    locked.size.0, locked.root_hash
                )));
            }
            Ok(())
        })
    }

    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        _size: TreeSize,
        _tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>> {
        Box::pin(async move {
            let path = self.path.clone();
            let written = tokio::task::spawn_blocking(move || {
                signet_durable::write(&path, &note, signet_durable::Mode::Public).map(|()| note)
            })
            .await;
            match written {
                Ok(Ok(note)) => Ok(note),
                Ok(Err(e)) => Err(GuardError::Unavailable {
                    guard: self.name.clone(),
                    reason: format!("cannot write it: {e}"),
                }),
                Err(e) => Err(GuardError::Unavailable {
                    guard: self.name.clone(),
                    reason: format!("the write task failed: {e}"),
                }),
            }
        })
    }
}
