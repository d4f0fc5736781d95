//! The witness itself: which logs it trusts, the checks of `add-checkpoint` in the spec's
//! order, the compare-and-swap that makes check and persist one step, and the cosignature.
//! Time comes in as an argument; state goes through a [`CheckpointStore`].

use crate::keys::{ED25519_TYPE, vkey_name, vkey_type};
use crate::protocol::{AddCheckpointRequest, RequestError};
use crate::store::{CheckpointStore, StoreError};
use signet_merkle::{EMPTY_ROOT, Hash, TreeSize};
use signet_note::{
    Checkpoint, CheckpointError, CosignatureV1Signer, KeyError, Note, NoteError, NoteSignature,
    NoteSigner as _, NoteVerifiers, SignError,
};
use std::collections::BTreeMap;

/// How often a request re-runs its checks after losing the compare-and-swap to a concurrent
/// one before it gives up (each loss means another checkpoint of the same log was stored).
const MAX_ATTEMPTS: usize = 16;

/// Why the witness could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The witness's own name or key is not usable.
    #[error("witness key: {0}")]
    WitnessKey(KeyError),
    /// A log verifier key does not parse.
    #[error("log key {vkey:?}: {source}")]
    LogKey {
        /// The key as given.
        vkey: String,
        /// Why.
        source: KeyError,
    },
    /// A log verifier key is not an Ed25519 (type `0x01`) key: only those sign checkpoints.
    #[error("log key {vkey:?} has signature type {alg:#04x}; a log key must be Ed25519 (0x01)")]
    LogKeyType {
        /// The key as given.
        vkey: String,
        /// Its type byte.
        alg: u8,
    },
    /// No log key was given: the witness would refuse everything.
    #[error("no log key given: the witness needs at least one log to witness")]
    NoLogs,
}

/// Why `add-checkpoint` was refused or failed. [`AddError::status`] is the HTTP status the
/// spec asks for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The request body is malformed (`400`, or `413` when too large).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The checkpoint is not a well-formed signed note (`400`).
    #[error("the checkpoint is not a signed note: {0}")]
    Note(NoteError),
    /// The note's text is not a checkpoint (`400`).
    #[error("the note is not a checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// The witness is not configured for this log (`404`).
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin {
        /// The checkpoint's origin.
        origin: String,
    },
    /// No signature verifies with a key the witness trusts for the origin, or one by a trusted
    /// key does not verify (`403`).
    #[error("checkpoint of {origin:?} is not signed by a trusted key: {source}")]
    Unverified {
        /// The checkpoint's origin.
        origin: String,
        /// What the note verifier said.
        source: NoteError,
    },
    /// The old size is larger than the checkpoint's size (`400`).
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldSizeTooLarge {
        /// The old size sent.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size the witness last cosigned for this log (`409`, with the
    /// witness's size as the body): the log's view of the witness is stale.
    #[error("old size {old} is not the size {latest} this witness last cosigned")]
    OldSizeMismatch {
        /// The old size sent.
        old: u64,
        /// The size of the latest cosigned checkpoint (0 for none).
        latest: TreeSize,
    },
    /// The checkpoint has the size the witness last cosigned but another root hash: the log
    /// forked (`409`, no body).
    #[error("a checkpoint of size {size} with another root hash was already cosigned")]
    RootMismatch {
        /// The tree size.
        size: u64,
    },
    /// The consistency proof does not verify (`422`).
    #[error("consistency proof from size {old} to {size} does not verify: {source}")]
    InvalidProof {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// What the verifier said.
        source: signet_merkle::Error,
    },
    /// The store failed (`500`).
    #[error("checkpoint store: {0}")]
    Store(StoreError),
    /// The stored checkpoint of a log does not parse or names another origin (`500`): the
    /// state file was damaged or replaced.
    #[error("the stored checkpoint of {origin:?} is unusable: {reason}")]
    StoredCheckpoint {
        /// The log origin.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Concurrent requests for the same log kept winning the compare-and-swap (`503`).
    #[error("too many concurrent checkpoints of {origin:?}; try again")]
    Contention {
        /// The log origin.
        origin: String,
    },
    /// Signing failed (`500`).
    #[error("cosigning: {0}")]
    Sign(SignError),
    /// The witness's key could not be loaded to sign (`500`; it was checked at setup).
    #[error("the witness key: {0}")]
    WitnessKey(KeyError),
}

impl AddError {
    /// The HTTP status for this error: 4xx for the client's faults, 5xx for the witness's.
    pub fn status(&self) -> u16 {
        match self {
            AddError::Request(RequestError::TooLarge { .. }) => 413,
            AddError::Request(_)
            | AddError::Note(_)
            | AddError::Checkpoint(_)
            | AddError::OldSizeTooLarge { .. } => 400,
            AddError::Unverified { .. } => 403,
            AddError::UnknownOrigin { .. } => 404,
            AddError::OldSizeMismatch { .. } | AddError::RootMismatch { .. } => 409,
            AddError::InvalidProof { .. } => 422,
            AddError::Contention { .. } => 503,
            AddError::Store(_)
            | AddError::StoredCheckpoint { .. }
            | AddError::Sign(_)
            | AddError::WitnessKey(_) => 500,
        }
    }

    /// Whether the client is at fault (a 4xx status).
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status())
    }
}

/// A C2SP tlog-witness: it cosigns a log's checkpoint only after checking the log's signature
/// and the checkpoint's consistency with the last one it cosigned for that log, which it keeps
/// durably in its [`CheckpointStore`].
pub struct Witness {
    name: String,
    seed: [u8; 32],
    verifier_key: String,
    /// Trusted keys per origin (the key name is the origin).
    logs: BTreeMap<String, NoteVerifiers>,
    store: Box<dyn CheckpointStore>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        f.debug_struct("Witness")
            .field("verifier_key", &self.verifier_key)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness named `name` (its key name) signing with the Ed25519 `seed`, trusting the
    /// Ed25519 verifier keys `log_vkeys` (C2SP `name+hash+base64`; each key's name is the
    /// origin of the log it signs; several keys may share an origin), keeping its state in
    /// `store`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key that is not usable.
    pub fn new<'a>(
        name: &str,
        seed: &[u8; 32],
        log_vkeys: impl IntoIterator<Item = &'a str>,
        store: Box<dyn CheckpointStore>,
    ) -> Result<Witness, ConfigError> {
        let signer =
            CosignatureV1Signer::from_seed(name, seed, 0).map_err(ConfigError::WitnessKey)?;
        let mut logs: BTreeMap<String, NoteVerifiers> = BTreeMap::new();
        for vkey in log_vkeys {
            let vkey = vkey.trim();
            let log_key = |source| ConfigError::LogKey {
                vkey: vkey.to_owned(),
                source,
            };
            let verifier = signet_note::parse_vkey(vkey).map_err(log_key)?;
            let alg = vkey_type(vkey).unwrap_or_default();
            if alg != ED25519_TYPE {
                return Err(ConfigError::LogKeyType {
                    vkey: vkey.to_owned(),
                    alg,
                });
            }
            let origin = vkey_name(vkey).unwrap_or_default().to_owned();
            logs.entry(origin).or_default().push(verifier);
        }
        if logs.is_empty() {
            return Err(ConfigError::NoLogs);
        }
        Ok(Witness {
            name: name.to_owned(),
            seed: *seed,
            verifier_key: signer.verifier_key(),
            logs,
            store,
        })
    }

    /// The witness's `cosignature/v1` verifier key (`name+hash+base64(0x04 || key)`), which
    /// logs and their clients use to check its cosignatures.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The origins of the logs it witnesses, sorted.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    ///
    /// # Errors
    /// [`AddError::Store`] or [`AddError::StoredCheckpoint`].
    pub fn latest(&self, origin: &str) -> Result<Option<Checkpoint>, AddError> {
        Ok(self.load(origin)?.map(|(_, checkpoint)| checkpoint))
    }

    /// Parses an `add-checkpoint` request body and handles it as [`Witness::add_checkpoint`].
    ///
    /// # Errors
    /// See [`Witness::add_checkpoint`]; [`AddError::Request`] for a malformed body.
    pub fn add_checkpoint_body(
        &self,
        body: &[u8],
        now_unix: u64,
    ) -> Result<Vec<NoteSignature>, AddError> {
        self.add_checkpoint(&AddCheckpointRequest::parse(body)?, now_unix)
    }

    /// Handles `add-checkpoint`: on success the checkpoint is durably the latest of its log and
    /// the answer is the witness's `cosignature/v1` signature line over it, timestamped
    /// `now_unix` (seconds since the Unix epoch).
    ///
    /// Blocks on the store's I/O.
    ///
    /// # Errors
    /// An [`AddError`] whose [`status`](AddError::status) is the answer the spec asks for.
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpointRequest,
        now_unix: u64,
    ) -> Result<Vec<NoteSignature>, AddError> {
        // 1. The checkpoint: a signed note whose text is a checkpoint.
        let note = Note::parse(&request.checkpoint).map_err(AddError::Note)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(AddError::Checkpoint)?;
        let origin = checkpoint.origin.as_str();
        // 2. A log this witness knows (404), signed by a key it trusts for it (403); signatures
        //    by unknown keys are ignored.
        let verifiers = self
            .logs
            .get(origin)
            .ok_or_else(|| AddError::UnknownOrigin {
                origin: origin.to_owned(),
            })?;
        signet_note::open_note(&request.checkpoint, verifiers).map_err(|source| {
            AddError::Unverified {
                origin: origin.to_owned(),
                source,
            }
        })?;
        // 3. The old size cannot be past the checkpoint (400).
        let (old, size) = (request.old_size.0, checkpoint.size.0);
        if old > size {
            return Err(AddError::OldSizeTooLarge { old, size });
        }
        if old == 0 && !request.proof.is_empty() {
            return Err(RequestError::ProofFromEmptyTree {
                lines: request.proof.len(),
            }
            .into());
        }
        // 4. Against the latest cosigned checkpoint, then stored by compare-and-swap: a request
        //    that lost the swap to a concurrent one checks again against what that one stored,
        //    so the size never goes back.
        for _ in 0..MAX_ATTEMPTS {
            let stored = self.load(origin)?;
            let (latest_size, latest_root) = match &stored {
                Some((_, latest)) => (latest.size.0, latest.root_hash),
                None => (0, EMPTY_ROOT),
            };
            // 4a. The log must know what the witness last cosigned (409 with that size).
            if old != latest_size {
                return Err(AddError::OldSizeMismatch {
                    old,
                    latest: TreeSize(latest_size),
                });
            }
            // 4b. Same size: the same tree, cosigned again; nothing new to store.
            if size == old {
                check_same_tree(size, &latest_root, &checkpoint.root_hash, &request.proof)?;
                return self.cosign(note.text(), now_unix);
            }
            // 4c. A larger tree: consistent with the stored one (none for a first checkpoint).
            if old > 0 {
                signet_merkle::verify_consistency(
                    TreeSize(old),
                    TreeSize(size),
                    &latest_root.0,
                    &checkpoint.root_hash.0,
                    &request.proof,
                )
                .map_err(|source| AddError::InvalidProof { old, size, source })?;
            }
            // 4d. Persist before answering. A crash after this leaves the witness at the new
            //     size without having answered: the log gets 409 with that size next time and
            //     resubmits with it as the old size, which is cosigned again (4b).
            let expected = stored.as_ref().map(|(bytes, _)| bytes.as_slice());
            match self.store.replace(origin, expected, &request.checkpoint) {
                Ok(()) => return self.cosign(note.text(), now_unix),
                Err(StoreError::Changed { .. }) => continue,
                Err(e) => return Err(AddError::Store(e)),
            }
        }
        Err(AddError::Contention {
            origin: origin.to_owned(),
        })
    }

    /// The stored note of `origin` and its checkpoint.
    fn load(&self, origin: &str) -> Result<Option<(Vec<u8>, Checkpoint)>, AddError> {
        let Some(bytes) = self.store.load(origin).map_err(AddError::Store)? else {
            return Ok(None);
        };
        let unusable = |reason: String| AddError::StoredCheckpoint {
            origin: origin.to_owned(),
            reason,
        };
        let note = Note::parse(&bytes).map_err(|e| unusable(e.to_string()))?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(|e| unusable(e.to_string()))?;
        if checkpoint.origin != origin {
            return Err(unusable(format!(
                "it is a checkpoint of {:?}",
                checkpoint.origin
            )));
        }
        Ok(Some((bytes, checkpoint)))
    }

    /// The witness's `cosignature/v1` line over `text` at `now_unix`.
    fn cosign(&self, text: &str, now_unix: u64) -> Result<Vec<NoteSignature>, AddError> {
        let signer = CosignatureV1Signer::from_seed(&self.name, &self.seed, now_unix)
            .map_err(AddError::WitnessKey)?;
        let signature = signer.sign(text).map_err(AddError::Sign)?;
        Ok(vec![NoteSignature {
            name: self.name.clone(),
            key_id: signer.key_id(),
            signature,
        }])
    }
}

/// A checkpoint of the size last cosigned must have its root (409 otherwise) and an empty
/// proof (422 otherwise: a proof between equal sizes is empty).
fn check_same_tree(size: u64, latest: &Hash, root: &Hash, proof: &[Hash]) -> Result<(), AddError> {
    if root != latest {
        return Err(AddError::RootMismatch { size });
    }
    if !proof.is_empty() {
        return Err(AddError::InvalidProof {
            old: size,
            size,
            source: signet_merkle::Error::ProofLength {
                got: proof.len(),
                want: 0,
            },
        });
    }
    Ok(())
}
