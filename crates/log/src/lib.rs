//! The durable, append-only core of a transparency log: what the Rekor v1, Rekor v2 (tlog-tiles)
//! and CT servers sit on. No HTTP here.
//!
//! - [`LogStore`]: the storage trait and its contract (durable when `Ok`, one writer,
//!   compare-and-swap commits, no internal retries). [`RedbStore`] is the embedded default;
//!   `PostgresStore` (feature `postgres`, on by default) keeps the log in PostgreSQL for
//!   deployments that outgrow one machine, with a single-sequencer lease;
//!   [`MemoryStore`] is for tests, and [`FaultyStore`] wraps any store to fail an operation
//!   before or after it takes effect.
//! - [`Sequencer`]: the single writer. It deduplicates (by leaf hash, and by the aliases a
//!   [`NewEntry`] names: other entries that mean the same), integrates a batch into tiles, stages
//!   entries + tiles + bundles (step 1), signs and publishes a checkpoint (step 2), and only
//!   then answers. On open it recomputes the root from stored tiles, refuses to sign if it
//!   differs from the stored checkpoint, and finishes an append that a crash cut between the
//!   two steps.
//! - [`Batcher`]: the tokio front that turns many concurrent [`Batcher::submit`] calls into
//!   batches, so one fsync covers many entries.
//! - [`inclusion_proof`], [`consistency_proof`], [`tree_root`]: proofs from stored tiles.
//! - [`TileCache`], [`CachedStore`], [`ByteLru`], [`SharedLru`]: caches bounded in bytes, so
//!   that a server's memory does not grow with its log.
//! - [`check_log`]: a whole-log consistency checker.
//! - [`Freshness`]: when a process that does not sequence may answer from its copy of the
//!   checkpoint; on PostgreSQL each checkpoint commit notifies [`CHECKPOINT_CHANNEL`], which
//!   `watch_checkpoints` follows.
//!
//! Keys, the clock and the store come in from the caller: the sequencer reads time only from
//! the clock it is given (the batcher's wait uses tokio's monotonic timer), and this crate makes
//! no random numbers (a checkpoint signer that needs them brings its own). Its only I/O is the
//! stores' own: [`RedbStore`] on one database file, `PostgresStore` over its connections. It
//! does no HTTP and never panics on stored data: a damaged log is an error. The design and its
//! crash analysis are in `docs/design/log-durability.md`.
//!
//! ```
//! use signet_log::{Batcher, BatcherConfig, MemoryStore, Sequencer, SequencerConfig, CheckpointFormat};
//! use signet_note::Ed25519NoteSigner;
//! use std::sync::Arc;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let signer = Ed25519NoteSigner::from_seed("example.com/log", &[7; 32]).unwrap();
//! let config = SequencerConfig { origin: "example.com/log".into(), format: CheckpointFormat::C2sp };
//! let store = Arc::new(MemoryStore::new());
//! let sequencer = Sequencer::open(store.clone(), Box::new(signer), config, || 1_700_000_000_000)
//!     .await
//!     .unwrap();
//! let log = Batcher::spawn(sequencer, BatcherConfig::default()).unwrap();
//! let appended = log.submit(b"hello".to_vec()).await.unwrap();
//! assert_eq!(appended.index.0, 0);
//! assert_eq!(appended.checkpoint.size.0, 1);
//! let proof = signet_log::inclusion_proof(store.as_ref(), appended.index, appended.checkpoint.size)
//!     .await
//!     .unwrap();
//! assert!(proof.is_empty());
//! # });
//! ```
#![forbid(unsafe_code)]

mod batcher;
mod cache;
mod check;
mod error;
mod faulty;
mod freshness;
pub mod guard;
#[cfg(feature = "postgres")]
pub mod lease;
mod memory;
#[cfg(feature = "postgres")]
mod postgres_store;
mod proof;
mod redb_store;
mod sequencer;
mod store;

pub use batcher::{Batcher, BatcherConfig, raise_checkpoint};
pub use cache::{ByteLru, CacheStats, CachedStore, ENTRY_OVERHEAD, SharedLru, TileCache};
pub use check::{LogCheck, check_log};
pub use error::{CheckError, FailPoint, LogError, StoreError};
pub use faulty::FaultyStore;
pub use freshness::{Freshness, ReadTicket};
pub use guard::{CheckpointGuard, GuardError, TreeView};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres_store::{CHECKPOINT_CHANNEL, PostgresStore, SequencerLease, watch_checkpoints};
pub use proof::{consistency_proof, inclusion_proof, tree_root};
pub use redb_store::RedbStore;
pub use sequencer::{AppendResult, CheckpointFormat, NewEntry, Sequencer, SequencerConfig};
pub use store::{
    LogState, LogStore, StagedBatch, StagedEntry, StoreOp, StoredCheckpoint, StoredEntry,
};
