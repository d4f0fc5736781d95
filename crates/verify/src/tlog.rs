//! Transparency-log entries: which log, what the entry says, and the proofs that it was logged.

use crate::{TrustMaterial, TrustedLog, VerifyError};
use signet_formats::TransparencyLogEntry;
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf, verify_inclusion};
use signet_note::{
    Checkpoint, Ed25519NoteVerifier, Note, NoteVerifiers, PkixNoteVerifier, open_note,
};
use signet_x509::KeyKind;

/// What checking one entry established.
pub(crate) struct CheckedEntry<'t> {
    /// The log that holds it.
    pub log: &'t TrustedLog,
    /// The integrated time, if a signed entry timestamp vouches for it.
    pub verified_time: Option<i64>,
}

/// Checks the log, the signed entry timestamp and the inclusion proof of entry `index`.
/// Whether the body matches the bundle is checked by the caller.
pub(crate) fn check_entry<'t>(
    index: usize,
    entry: &TransparencyLogEntry,
    trust: &'t TrustMaterial,
    now: i64,
    require_proof: bool,
) -> Result<CheckedEntry<'t>, VerifyError> {
    let log = trust
        .log(&entry.log_id)
        .ok_or_else(|| VerifyError::UnknownLog {
            entry: index,
            log_id: hex::encode(&entry.log_id),
        })?;
    if entry.log_index < 0 {
        return Err(VerifyError::Structure {
            reason: format!("tlog entry {index} has a negative log index"),
        });
    }
    if entry.integrated_time < 0 {
        return Err(VerifyError::Structure {
            reason: format!("tlog entry {index} has a negative integrated time"),
        });
    }
    if entry.integrated_time > now + crate::limits::MAX_CLOCK_SKEW {
        return Err(VerifyError::TimeInFuture {
            entry: index,
            time: entry.integrated_time,
            now,
        });
    }

    let mut verified_time = None;
    if let Some(set) = &entry.inclusion_promise {
        log.key
            .verify(signet_rekor::set_payload_of(entry).as_bytes(), set)
            .map_err(|_| VerifyError::BadSignedEntryTimestamp { entry: index })?;
        if !log.validity.contains(entry.integrated_time) {
            return Err(VerifyError::OutsideValidity {
                what: format!("log {}", log.base_url),
                time: entry.integrated_time,
            });
        }
        verified_time = Some(entry.integrated_time);
    }

    match &entry.inclusion_proof {
        Some(proof) => check_inclusion(index, entry, proof, log)?,
        None if require_proof => {
            return Err(VerifyError::Structure {
                reason: format!("tlog entry {index} has no inclusion proof"),
            });
        }
        None => {}
    }
    if entry.inclusion_proof.is_none() && entry.inclusion_promise.is_none() {
        return Err(VerifyError::Structure {
            reason: format!("tlog entry {index} has neither an inclusion proof nor a promise"),
        });
    }
    Ok(CheckedEntry { log, verified_time })
}

fn check_inclusion(
    index: usize,
    entry: &TransparencyLogEntry,
    proof: &signet_formats::InclusionProof,
    log: &TrustedLog,
) -> Result<(), VerifyError> {
    let bad_proof = |reason: String| VerifyError::BadInclusionProof {
        entry: index,
        reason,
    };
    let bad_cp = |reason: String| VerifyError::BadCheckpoint {
        entry: index,
        reason,
    };
    let leaf_index =
        u64::try_from(proof.log_index).map_err(|_| bad_proof("negative proof log index".into()))?;
    let tree_size =
        u64::try_from(proof.tree_size).map_err(|_| bad_proof("negative tree size".into()))?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_proof(e.to_string()))?;
    let root =
        Hash::from_slice(&proof.root_hash).map_err(|e| bad_proof(format!("root hash: {e}")))?;
    let leaf = hash_leaf(&entry.canonicalized_body);
    verify_inclusion(
        &leaf,
        LeafIndex(leaf_index),
        TreeSize(tree_size),
        &hashes,
        &root.0,
    )
    .map_err(|e| bad_proof(e.to_string()))?;

    // The checkpoint: signed by this log, for this tree size and root.
    if proof.checkpoint.is_empty() {
        return Err(bad_cp("missing".into()));
    }
    let note = Note::parse(proof.checkpoint.as_bytes()).map_err(|e| bad_cp(e.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| bad_cp(e.to_string()))?;
    let mut verifiers = NoteVerifiers::new();
    match log.key.kind() {
        KeyKind::Ed25519 => {
            let raw: [u8; 32] = log
                .key
                .raw_key()
                .try_into()
                .map_err(|_| bad_cp("log key is not Ed25519".into()))?;
            let v = Ed25519NoteVerifier::new(&checkpoint.origin, raw)
                .map_err(|e| bad_cp(e.to_string()))?;
            verifiers.push(Box::new(v));
        }
        _ => {
            // Rekor v1 names the key by its host; the key ID is the start of the log ID.
            let id = signet_note::pkix_key_id(log.key.spki_der());
            for sig in note.signatures().iter().filter(|s| s.key_id == id) {
                if let Ok(v) = PkixNoteVerifier::new(&sig.name, log.key.spki_der()) {
                    verifiers.push(Box::new(v));
                }
            }
        }
    }
    let opened =
        open_note(proof.checkpoint.as_bytes(), &verifiers).map_err(|e| bad_cp(e.to_string()))?;
    let log_key_id = log
        .log_id
        .get(..4)
        .ok_or_else(|| bad_cp("log ID shorter than 4 bytes".into()))?;
    if !opened
        .verified_signatures()
        .any(|s| s.key_id.to_be_bytes() == log_key_id)
    {
        return Err(bad_cp(
            "no signature whose key ID matches the log ID".into(),
        ));
    }
    if checkpoint.size.0 != tree_size {
        return Err(bad_cp(format!(
            "size {} differs from the proof's tree size {tree_size}",
            checkpoint.size.0
        )));
    }
    if checkpoint.root_hash != root {
        return Err(bad_cp(
            "root hash differs from the proof's root hash".into(),
        ));
    }
    Ok(())
}
