//! RFC 6962 certificate-transparency log for the CA: precertificate entries, SCTs and the CT
//! read API, on signet-log.
//!
//! - [`CtLog::add_pre_chain`] checks a precertificate (critical poison extension, issued by
//!   `chain[0]`), appends its RFC 6962 `MerkleTreeLeaf` through signet-log's batcher (so the
//!   tree is exactly RFC 6962's: leaf hash `SHA-256(0x00 || leaf)`), and returns the SCT once
//!   the entry is durable. The CA embeds [`encode_sct_list`] of the SCTs in the final
//!   certificate. A precertificate already logged is not appended again: it gets its first
//!   SCT back (recorded as an [`IssuedSct`]).
//! - Checkpoints carry the RFC 6962 tree-head signature as a static-ct-api
//!   `RFC6962NoteSignature`, so `get-sth` is served from the stored checkpoint.
//! - Each entry's `extra_data` (`PrecertChainEntry`) lives in an [`ExtraDataStore`] keyed by
//!   leaf hash, written durably before the leaf. [`RedbExtraDataStore`] group-commits it:
//!   concurrent submissions share one transaction and one fsync, and each SCT still waits
//!   for its own extra data and its own leaf to be durable.
//! - With feature `postgres` (default), [`CtLog::open_clustered`] opens the log in a
//!   PostgreSQL database ([`CtDatabase`]) shared by any number of processes: one sequences
//!   under a fenced lease, the others serve reads from the database and forward submissions to
//!   it (see [`cluster`]).
//! - [`CtLog::router`] serves `/ct/v1/get-sth`, `get-sth-consistency`, `get-proof-by-hash`,
//!   `get-entries`, `get-roots` and `add-pre-chain`; [`CtLog::read_router`] all but
//!   `add-pre-chain`, for a log whose only writer is a CA in the same process.
//!
//! SCTs and tree heads are signed by a [`signet_signer::Signer`] (ECDSA P-256, in memory or
//! in an HSM). A key that fails to sign fails the submission with a 503
//! ([`CtError::is_unavailable`]) and acknowledges nothing.
//!
//! The log reads time only from the [`signet_clock::Clock`] of its [`CtLogConfig`]; signature
//! nonces are its [`signet_signer::Signer`]'s business. Its only file I/O is
//! [`RedbExtraDataStore`] (one redb file at a path it is given); the log itself lives in the
//! [`signet_log::LogStore`] it is opened on. Where those live, and which CA writes to it, are
//! `signet-deploy`'s decisions. Submitted chains are untrusted: a bad one is an error, never a
//! panic.
//!
//! ```no_run
//! # use signet_clock::Clock;
//! # async fn example(precert: Vec<u8>, issuer: Vec<u8>, pkcs8: Vec<u8>, clock: Clock) -> Result<(), Box<dyn std::error::Error>> {
//! use signet_ct::{CtLog, CtLogConfig, MemoryExtraDataStore, encode_sct_list};
//! use signet_signer::MemorySigner;
//! use std::sync::Arc;
//! let signer = Arc::new(MemorySigner::from_pkcs8(&pkcs8)?); // ECDSA P-256
//! let config = CtLogConfig::new(
//!     "ct.example.com/2026",
//!     clock,
//!     Arc::new(MemoryExtraDataStore::new()),
//! );
//! let log = CtLog::open(Arc::new(signet_log::MemoryStore::new()), signer, config).await?;
//! let sct = log.add_pre_chain(&precert, &[issuer]).await?;
//! let extension_content = encode_sct_list(&[sct]); // wrap in an OCTET STRING
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "postgres")]
pub mod cluster;
mod entry;
mod error;
mod extra;
#[cfg(feature = "postgres")]
mod extra_pg;
mod http;
mod log;
mod sct;
mod sth;
mod tls;

#[cfg(feature = "postgres")]
pub use cluster::{CT_LEASE_SCOPE, CT_SCHEMA, ClusterConfig, CtDatabase, FORWARD_TIMEOUT};
pub use entry::{
    CheckedPrecert, MAX_CHAIN_LEN, MAX_TBS_SIZE, PrecertLeaf, VerifiedChains,
    check_precert_submission, decode_precert_chain_entry, decode_precert_leaf,
    encode_precert_chain_entry, encode_precert_leaf, sct_signed_data,
};
pub use error::CtError;
pub use extra::{ExtraDataStore, GroupCommit, IssuedSct, MemoryExtraDataStore, RedbExtraDataStore};
#[cfg(feature = "postgres")]
pub use extra_pg::PostgresExtraDataStore;
pub use http::MAX_BODY_SIZE;
pub use log::{CtLog, CtLogConfig, LogEntry, MAX_ENTRIES_PER_REQUEST};
pub use sct::{SignedCertificateTimestamp, TLS_HASH_SHA256, TLS_SIGNATURE_ECDSA, encode_sct_list};
pub use sth::{
    RFC6962_SIGNATURE_TYPE, Rfc6962NoteVerifier, SignedTreeHead, rfc6962_key_id,
    sth_from_checkpoint, tree_head_signed_data,
};
