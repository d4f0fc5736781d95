//! C2SP `tlog-witness`: a witness that cosigns transparency-log checkpoints it has checked,
//! and the client a log uses to ask one.
//!
//! - [`protocol`]: the `add-checkpoint` wire format (request body, signature lines, the tree
//!   size of a `409`). Pure.
//! - [`Witness`]: the checks of the spec, in its order, over a [`CheckpointStore`]: a known
//!   origin (else 404), a signature by a trusted log key (else 403; signatures by unknown keys
//!   are ignored), an old size not past the checkpoint (else 400) and equal to the size last
//!   cosigned for the log (else 409 with that size), the same root at the same size (else
//!   409), an RFC 6962 consistency proof from the stored checkpoint (else 422). The checkpoint
//!   is stored by compare-and-swap before the `cosignature/v1` line is returned, so two
//!   concurrent requests never move a log's size back. Time is an argument.
//! - [`FileStore`]: the state on disk, one file per origin (named by the hex SHA-256 of the
//!   origin) holding the latest cosigned checkpoint note, written through `signet-durable`,
//!   under an exclusive lock on the directory. [`MemoryStore`] is for tests.
//! - [`router`]: `POST /add-checkpoint` over axum, on an injected clock.
//! - [`WitnessClient`]: posts a checkpoint to a witness named by a [`WitnessSpec`]
//!   (`KEY@URL`) and verifies the cosignature it answers with.
//!
//! What it leaves to others: the witness's key and data directory are `signet-deploy`'s
//! (`signet witness`); serving HTTP with connection limits is `signet-deploy::http_server`'s;
//! collecting cosignatures for a log's checkpoints is the log's.
//!
//! ```
//! use signet_merkle::{Hash, TreeSize};
//! use signet_note::{Checkpoint, Ed25519NoteSigner, NoteVerifiers, sign_note};
//! use signet_witness::{AddCheckpointRequest, MemoryStore, Witness};
//!
//! let log = Ed25519NoteSigner::from_seed("log.example/1", &[1; 32]).unwrap();
//! let witness = Witness::new(
//!     "witness.example/w1",
//!     &[2; 32],
//!     [log.verifier_key().as_str()],
//!     Box::new(MemoryStore::new()),
//! )
//! .unwrap();
//!
//! let checkpoint = Checkpoint::new("log.example/1", TreeSize(5), Hash([7; 32]));
//! let note = sign_note(&checkpoint.to_text(), &[&log]).unwrap();
//! let request = AddCheckpointRequest {
//!     old_size: TreeSize(0),
//!     proof: Vec::new(),
//!     checkpoint: note.into_bytes(),
//! };
//! let cosignatures = witness.add_checkpoint(&request, 1_780_000_000).unwrap();
//!
//! let verifiers = NoteVerifiers::from_vkeys([witness.verifier_key()]).unwrap();
//! let witnessed = format!("{}\n{}\n", checkpoint.to_text(), cosignatures[0].to_line());
//! signet_note::open_note(witnessed.as_bytes(), &verifiers).unwrap();
//! ```
#![forbid(unsafe_code)]

mod client;
mod http;
mod keys;
mod log_guard;
pub mod protocol;
mod store;
mod witness;

pub use client::{
    AddOutcome, DEFAULT_TIMEOUT, WitnessClient, WitnessClientError, WitnessSpec, WitnessSpecError,
};
pub use http::router;
pub use log_guard::{WitnessGuard, WitnessGuardError};
pub use protocol::{AddCheckpointRequest, RequestError, ResponseError};
pub use store::{
    CheckpointStore, FileStore, LOCK_FILE, MemoryStore, StoreError, StoreStep, state_file_name,
};
pub use witness::{AddError, ConfigError, Witness};
