//! The errors of this crate: [`StoreError`] from storage, [`LogError`] from the sequencer,
//! the batcher and the proof readers, and [`CheckError`] from the whole-log checker.

use crate::store::StoreOp;
use signet_merkle::Hash;
use signet_tiles::{BundleError, EntryBundleId, TileId};
use std::sync::Arc;

/// Where an injected fault fires, relative to the write it interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailPoint {
    /// The operation fails without doing anything.
    Before,
    /// The operation is carried out (and is durable), then an error is returned anyway, as when
    /// a connection drops after the commit.
    After,
}

/// A storage operation failed. Nothing in a store retries: every error reaches the caller.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `stage_batch` expected another staged size: a second sequencer is writing, or this one
    /// lost track of the store. Nothing was written.
    #[error("staging at size {expected}, but the store holds {found} staged entries")]
    StagedConflict {
        /// The size the caller expected.
        expected: u64,
        /// The staged size found.
        found: u64,
    },
    /// `publish_checkpoint` expected another current checkpoint (`None`: no checkpoint). Nothing
    /// was written.
    #[error("publishing over checkpoint size {expected:?}, but the store has {found:?}")]
    CheckpointConflict {
        /// The previous checkpoint size the caller expected.
        expected: Option<u64>,
        /// The checkpoint size found.
        found: Option<u64>,
    },
    /// A checkpoint was to cover entries that are not staged: a sequencer bug. Nothing was
    /// written.
    #[error("checkpoint of size {size} covers more than the {staged} staged entries")]
    CheckpointBeyondStaged {
        /// The checkpoint's size.
        size: u64,
        /// The staged size.
        staged: u64,
    },
    /// A checkpoint was smaller than the current one: a sequencer bug. Nothing was written.
    #[error("checkpoint of size {size} is smaller than the current one of size {previous}")]
    CheckpointShrinks {
        /// The checkpoint's size.
        size: u64,
        /// The current checkpoint's size.
        previous: u64,
    },
    /// The storage backend failed (I/O, a full disk, a lost connection). Whether the write
    /// happened is unknown.
    #[error("{op}: storage backend failed: {source}")]
    Backend {
        /// The operation.
        op: StoreOp,
        /// The backend's error.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value does not decode: the data was damaged or written by another program.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which value, e.g. `"staged size"`.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The store was written by a newer or unknown format version.
    #[error("store format version {found} is not supported (want {want})")]
    FormatVersion {
        /// The version found.
        found: u64,
        /// The version this code writes.
        want: u64,
    },
    /// A fault injected by [`crate::FaultyStore`] (tests only).
    #[error("{op}: injected fault ({point:?})")]
    Injected {
        /// The operation.
        op: StoreOp,
        /// Whether the operation was carried out first.
        point: FailPoint,
    },
}

impl StoreError {
    /// Whether this error means another writer changed the log under the caller (a broken
    /// single-sequencer guarantee) rather than a failed write.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::StagedConflict { .. } | StoreError::CheckpointConflict { .. }
        )
    }
}

/// Why the log could not append, open, or answer a read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A store operation failed. The sequencer re-reads the store before its next batch.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A commit conflicted: something else wrote to the log. The sequencer stops for good; make
    /// sure only one runs, then open a new one.
    #[error("the log was changed by another writer; this sequencer has stopped: {0}")]
    Fenced(StoreError),
    /// A checkpoint guard (a checkpoint lock, witnesses) refused: the log neither opens nor
    /// publishes. See [`crate::guard`].
    #[error("checkpoint guard: {0}")]
    Guard(#[from] crate::guard::GuardError),
    /// A size past the staged tree was asked about.
    #[error("tree size {size} is past the {staged} staged entries")]
    PastStaged {
        /// The size asked for.
        size: u64,
        /// The staged size.
        staged: u64,
    },
    /// An entry is larger than an entry bundle can carry.
    #[error("entry {index} of the batch is {size} bytes, more than {max}")]
    EntryTooLarge {
        /// Position in the batch.
        index: usize,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The stored tiles do not reproduce the root of the stored checkpoint: the store is
    /// damaged. The sequencer refuses to sign anything.
    #[error("stored tiles give root {computed} at size {size}, checkpoint says {checkpoint}")]
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
        /// The root in the checkpoint.
        checkpoint: Hash,
        /// The root recomputed from tiles.
        computed: Hash,
    },
    /// A stored entry does not hash to the leaf hash in the stored level-0 tile.
    #[error("stored entry {index} does not match its leaf hash in the tiles")]
    EntryMismatch {
        /// The entry's index.
        index: u64,
    },
    /// The stored checkpoint is for another log.
    #[error("stored checkpoint has origin {stored:?}, this log is {configured:?}")]
    OriginMismatch {
        /// Origin in the store.
        stored: String,
        /// Origin configured.
        configured: String,
    },
    /// The stored checkpoint's note says another size than the store records for it.
    #[error("stored checkpoint note has size {in_note}, the store records {recorded}")]
    CheckpointSizeMismatch {
        /// Size in the store's state.
        recorded: u64,
        /// Size in the note text.
        in_note: u64,
    },
    /// The store holds fewer staged entries than its checkpoint covers.
    #[error("store has {staged} staged entries but a checkpoint of size {checkpoint}")]
    StagedBehindCheckpoint {
        /// The staged size.
        staged: u64,
        /// The checkpoint size.
        checkpoint: u64,
    },
    /// The stored checkpoint is not a well-formed signed note.
    #[error("stored checkpoint note: {0}")]
    StoredNote(signet_note::NoteError),
    /// The stored checkpoint note's text is not a checkpoint.
    #[error("stored checkpoint text: {0}")]
    StoredCheckpoint(signet_note::CheckpointError),
    /// Signing the checkpoint failed.
    #[error("signing checkpoint: {0}")]
    Sign(#[from] signet_note::SignError),
    /// The sizes or indexes asked for are not valid (a proof past the tree), or the tree would
    /// grow past `u64::MAX` leaves.
    #[error(transparent)]
    Merkle(#[from] signet_merkle::Error),
    /// A tile the tree size calls for is not stored: the size is past the staged tree, or the
    /// store lost data.
    #[error("tile {} is not stored", .tile.path())]
    MissingTile {
        /// The tile.
        tile: TileId,
    },
    /// A stored tile has the wrong length.
    #[error("stored tile {} is {got} bytes, want {want}", .tile.path())]
    BadTile {
        /// The tile.
        tile: TileId,
        /// Its length.
        got: usize,
        /// The length its width calls for.
        want: usize,
    },
    /// An entry bundle the tree size calls for is not stored.
    #[error("entry bundle {} is not stored", .bundle.path())]
    MissingBundle {
        /// The bundle.
        bundle: EntryBundleId,
    },
    /// A stored entry bundle does not decode, or an entry bundle could not be built.
    #[error("entry bundle {}: {source}", .bundle.path())]
    BadBundle {
        /// The bundle.
        bundle: EntryBundleId,
        /// What is wrong.
        source: BundleError,
    },
    /// A stored entry the log needs is missing.
    #[error("entry {index} is not stored")]
    MissingEntry {
        /// Its index.
        index: u64,
    },
    /// The batcher has stopped; no more entries are accepted.
    #[error("the log's batcher has stopped")]
    Closed,
    /// A state this code believes impossible; the operation failed closed.
    #[error("internal error: {what}")]
    Internal {
        /// What went wrong.
        what: &'static str,
    },
}

/// What the whole-log checker ([`crate::check_log`]) found wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store has no checkpoint.
    #[error("the store has no checkpoint")]
    NoCheckpoint,
    /// The checkpoint does not open with the given verifiers.
    #[error("checkpoint note: {0}")]
    Note(signet_note::NoteError),
    /// The checkpoint text is not a checkpoint.
    #[error("checkpoint text: {0}")]
    Checkpoint(signet_note::CheckpointError),
    /// The checkpoint's note and its recorded size differ, or it covers more than is staged.
    #[error("checkpoint of size {checkpoint} (note says {in_note}) with {staged} staged entries")]
    CheckpointSize {
        /// The recorded size.
        checkpoint: u64,
        /// The size in the note.
        in_note: u64,
        /// The staged size.
        staged: u64,
    },
    /// An entry below the staged size is missing.
    #[error("entry {index} is missing")]
    MissingEntry {
        /// Its index.
        index: u64,
    },
    /// An entry exists at or past the staged size.
    #[error("entry {index} exists past the staged size")]
    ExtraEntry {
        /// Its index.
        index: u64,
    },
    /// The tree rebuilt from the entries lacks a node of the checkpoint's tree (a bug in the
    /// checker: every entry below the checkpoint was read).
    #[error("the tree rebuilt from the entries lacks node {} at level {} for size {size}", .node.index, .node.level)]
    TreeNode {
        /// The checkpoint's size.
        size: u64,
        /// The node missing.
        node: signet_merkle::NodeId,
    },
    /// The root recomputed from the entries differs from the checkpoint's.
    #[error("entries give root {computed} at size {size}, checkpoint says {checkpoint}")]
    RootMismatch {
        /// The size.
        size: u64,
        /// The checkpoint's root.
        checkpoint: Hash,
        /// The recomputed root.
        computed: Hash,
    },
    /// A stored tile (at some width) differs from the one recomputed from the entries, or is
    /// missing.
    #[error("tile {} differs from the one recomputed from the entries", .tile.path())]
    TileMismatch {
        /// The tile, at the width read.
        tile: TileId,
    },
    /// A stored entry bundle (at some width) differs from the entries, or is missing.
    #[error("entry bundle {} differs from the entries", .bundle.path())]
    BundleMismatch {
        /// The bundle, at the width read.
        bundle: EntryBundleId,
    },
    /// Something is readable past the staged tree.
    #[error("{what} is readable past the staged size")]
    PastStaged {
        /// What.
        what: String,
    },
    /// The leaf-hash index gives another index than the entry's (or none).
    #[error("leaf index maps entry {index} to {found:?}")]
    LeafIndex {
        /// The entry's index.
        index: u64,
        /// What the index returned.
        found: Option<u64>,
    },
    /// The same entry is in the log twice.
    #[error("entries {first} and {second} are identical")]
    Duplicate {
        /// The earlier index.
        first: u64,
        /// The later index.
        second: u64,
    },
    /// Entry timestamps go backwards, or an entry is newer than the checkpoint covering it.
    #[error("entry {index} has timestamp {timestamp_ms}, out of order")]
    EntryTimestamp {
        /// The entry.
        index: u64,
        /// Its timestamp.
        timestamp_ms: u64,
    },
}
