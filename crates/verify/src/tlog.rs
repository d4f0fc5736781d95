//! Transparency-log entries: which log, what the entry says, and the proofs that it was logged.

use crate::{InclusionProofError, LogCheckpointError, TrustMaterial, TrustedLog, VerifyError};
use signet_formats::{InclusionProof, TransparencyLogEntry};
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf, verify_inclusion};
use signet_note::{
    Checkpoint, Ed25519NoteVerifier, KeyId, Note, NoteVerifiers, PkixNoteVerifier, RekorV1Origin,
    open_note,
};
use signet_x509::KeyKind;

/// What checking one entry established.
pub(crate) struct CheckedEntry<'t> {
    /// The log that holds it.
    pub log: &'t TrustedLog,
    /// The integrated time, if a signed entry timestamp vouches for it.
    pub verified_time: Option<i64>,
}

/// Whether an entry is a Rekor v2 entry: Rekor v2 logs `hashedrekord` and `dsse` 0.0.2, and
/// Rekor v1 never does (its `intoto` 0.0.2 is a v1 kind). The body is checked against the
/// kind and version separately, so an entry cannot pass for the other API by relabelling.
fn is_rekor_v2(entry: &TransparencyLogEntry) -> bool {
    let kv = &entry.kind_version;
    kv.version == "0.0.2" && (kv.kind == "hashedrekord" || kv.kind == "dsse")
}

/// What a bundle states twice about an entry's position must agree, whether or not anything
/// signed covers it (nothing signs a Rekor v2 entry's `logIndex`).
///
/// - Rekor v2 logs are not sharded: the entry's `logIndex` is its index in the tree the proof
///   is for, so it must equal `inclusionProof.logIndex`.
/// - Rekor v1 logs are sharded: `logIndex` is the global index across every shard, while
///   `inclusionProof.logIndex` is the index in the shard's own tree (protobuf-specs: "the
///   global index of the entry" vs "the index of the entry in the tree it was written to";
///   public-good entries differ by the sizes of the frozen shards). The global index is the
///   shard's start plus the shard index, so it can never be smaller.
fn check_log_index(
    index: usize,
    entry: &TransparencyLogEntry,
    proof: &InclusionProof,
) -> Result<(), VerifyError> {
    let inconsistent = |reason: String| VerifyError::Inconsistent {
        entry: index,
        reason,
    };
    if is_rekor_v2(entry) {
        if proof.log_index != entry.log_index {
            return Err(inconsistent(format!(
                "logIndex is {} but inclusionProof.logIndex is {} (a Rekor v2 entry has one index)",
                entry.log_index, proof.log_index
            )));
        }
    } else if proof.log_index > entry.log_index {
        return Err(inconsistent(format!(
            "inclusionProof.logIndex {} is greater than the global logIndex {} (a shard's index cannot exceed the global index)",
            proof.log_index, entry.log_index
        )));
    }
    Ok(())
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
    let first = trust
        .log(&entry.log_id)
        .ok_or_else(|| VerifyError::UnknownLog {
            entry: index,
            log_id: hex::encode(&entry.log_id),
        })?;
    // One ID may be listed more than once with the same key (the trusted root refuses other
    // keys) and other validity windows: a signed entry timestamp is judged by the window that
    // holds its integrated time.
    let log = if entry.inclusion_promise.is_some() {
        trust
            .tlogs
            .iter()
            .filter(|l| l.log_id == entry.log_id)
            .find(|l| l.validity.contains(entry.integrated_time))
            .unwrap_or(first)
    } else {
        first
    };
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

    if let Some(proof) = &entry.inclusion_proof {
        check_log_index(index, entry, proof)?;
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
    proof: &InclusionProof,
    log: &TrustedLog,
) -> Result<(), VerifyError> {
    let bad_proof = |source: InclusionProofError| VerifyError::BadInclusionProof {
        entry: index,
        source,
    };
    let bad_cp = |source: LogCheckpointError| VerifyError::BadCheckpoint {
        entry: index,
        source,
    };
    let leaf_index = u64::try_from(proof.log_index)
        .map_err(|_| bad_proof(InclusionProofError::NegativeLogIndex(proof.log_index)))?;
    let tree_size = u64::try_from(proof.tree_size)
        .map_err(|_| bad_proof(InclusionProofError::NegativeTreeSize(proof.tree_size)))?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_proof(InclusionProofError::Hash(e)))?;
    let root = Hash::from_slice(&proof.root_hash)
        .map_err(|e| bad_proof(InclusionProofError::RootHash(e)))?;

    // The checkpoint states the tree size and root again: both must agree with the proof's,
    // checked before any signature so the error names the disagreement.
    if proof.checkpoint.is_empty() {
        return Err(bad_cp(LogCheckpointError::Missing));
    }
    let note = Note::parse(proof.checkpoint.as_bytes())
        .map_err(|e| bad_cp(LogCheckpointError::Note(e)))?;
    let checkpoint =
        Checkpoint::parse(note.text()).map_err(|e| bad_cp(LogCheckpointError::Checkpoint(e)))?;
    if checkpoint.size.0 != tree_size {
        return Err(bad_cp(LogCheckpointError::SizeMismatch {
            checkpoint: checkpoint.size.0,
            proof: tree_size,
        }));
    }
    if checkpoint.root_hash != root {
        return Err(bad_cp(LogCheckpointError::RootMismatch {
            checkpoint: checkpoint.root_hash,
            proof: root,
        }));
    }

    let leaf = hash_leaf(&entry.canonicalized_body);
    verify_inclusion(
        &leaf,
        LeafIndex(leaf_index),
        TreeSize(tree_size),
        &hashes,
        &root.0,
    )
    .map_err(|e| bad_proof(InclusionProofError::Proof(e)))?;

    check_checkpoint_signature(&note, &checkpoint, proof.checkpoint.as_bytes(), log).map_err(bad_cp)
}

/// The checkpoint of entry `index`'s inclusion proof (already verified against the log) carries
/// the cosignatures `policy` requires.
pub(crate) fn check_witnesses(
    index: usize,
    entry: &TransparencyLogEntry,
    policy: &crate::WitnessPolicy,
) -> Result<(), VerifyError> {
    let checkpoint = entry
        .inclusion_proof
        .as_ref()
        .map(|p| p.checkpoint.as_bytes())
        .filter(|c| !c.is_empty());
    let cosigners = match checkpoint.map(Note::parse) {
        Some(Ok(note)) => policy.cosigners(&note).len(),
        _ => 0,
    };
    if cosigners < policy.quorum() {
        return Err(VerifyError::WitnessQuorum {
            entry: index,
            got: cosigners,
            need: policy.quorum(),
        });
    }
    Ok(())
}

/// Checks one transparency-log entry on its own, as a bundle's entry is checked: its log is
/// trusted, its signed entry timestamp (if any) verifies, and its inclusion proof verifies up
/// to a checkpoint signed by that log. Whether the body is what the caller expects is the
/// caller's to check. Returns the log that holds it.
pub fn verify_log_entry<'t>(
    entry: &TransparencyLogEntry,
    trust: &'t TrustMaterial,
    now: i64,
) -> Result<&'t TrustedLog, VerifyError> {
    check_entry(0, entry, trust, now, true).map(|checked| checked.log)
}

/// Parses a log's signed checkpoint (a C2SP signed note) and checks that `log` signed it, as
/// the checkpoint of an inclusion proof is checked (key name, key ID and signature; see
/// `check_checkpoint_signature`). Returns the checkpoint.
pub fn verify_log_checkpoint(
    envelope: &[u8],
    log: &TrustedLog,
) -> Result<Checkpoint, LogCheckpointError> {
    let note = Note::parse(envelope).map_err(LogCheckpointError::Note)?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(LogCheckpointError::Checkpoint)?;
    check_checkpoint_signature(&note, &checkpoint, envelope, log)?;
    Ok(checkpoint)
}

/// The checkpoint is signed by `log`: a signature line whose key name and key ID are both the
/// log's, as C2SP signed-note matches them (and Go's `note` package does), verifies. Lines by
/// other keys (witness cosignatures) are ignored; so is a line that carries the log's key ID
/// under another name, which is not a signature by that log.
///
/// The log's key name:
/// - Ed25519 (Rekor v2, C2SP): the host of the log's `baseUrl` in the trusted root, as
///   sigstore-go derives it, with or without its port (signet's logs include it). The
///   checkpoint's origin must be that name too (the tlog-checkpoint convention rekor-tiles and
///   sigstore-go enforce), and the key ID is SHA-256(name || 0x0A || 0x01 || key)[:4].
/// - Other keys (Rekor v1): Rekor v1 signs as its configured hostname and writes the origin
///   `<hostname> - <tree id>`, so the name is the origin's hostname (the origin itself if it
///   is not in that form). The trusted root cannot give it: private deployments sign with a
///   hostname other than their `baseUrl`'s. The key ID is SHA-256(SubjectPublicKeyInfo)[:4].
///
/// Either way the key ID must also be the first four bytes of the trusted log ID.
fn check_checkpoint_signature(
    note: &Note,
    checkpoint: &Checkpoint,
    envelope: &[u8],
    log: &TrustedLog,
) -> Result<(), LogCheckpointError> {
    let mut verifiers = NoteVerifiers::new();
    let (name, key_id): (String, KeyId) = match log.key.kind() {
        KeyKind::Ed25519 => {
            let raw: [u8; 32] = log
                .key
                .raw_key()
                .try_into()
                .map_err(|_| LogCheckpointError::NotEd25519)?;
            let names = key_names_of_base_url(&log.base_url);
            let Some(name) = names.iter().find(|n| **n == checkpoint.origin) else {
                return Err(match names.first() {
                    Some(want) => LogCheckpointError::OriginNotLogName {
                        origin: checkpoint.origin.clone(),
                        name: want.clone(),
                        base_url: log.base_url.clone(),
                    },
                    None => LogCheckpointError::NoBaseUrl {
                        log_id: hex::encode(&log.log_id),
                    },
                });
            };
            let v = Ed25519NoteVerifier::new(name, raw).map_err(LogCheckpointError::Key)?;
            let id = signet_note::NoteVerifier::key_id(&v);
            verifiers.push(Box::new(v));
            (name.clone(), id)
        }
        _ => {
            let name = RekorV1Origin::parse(&checkpoint.origin)
                .map(|o| o.hostname)
                .unwrap_or_else(|_| checkpoint.origin.clone());
            let v = PkixNoteVerifier::new(&name, log.key.spki_der())
                .map_err(LogCheckpointError::Key)?;
            let id = signet_note::NoteVerifier::key_id(&v);
            verifiers.push(Box::new(v));
            (name, id)
        }
    };
    let log_key_id = log.log_id.get(..4).ok_or(LogCheckpointError::ShortLogId)?;
    if key_id.to_be_bytes() != log_key_id {
        return Err(LogCheckpointError::KeyIdMismatch {
            name,
            key_id,
            log_id: hex::encode(&log.log_id),
        });
    }
    if !note
        .signatures()
        .iter()
        .any(|s| s.name == name && s.key_id == key_id)
    {
        return Err(LogCheckpointError::NoLogSignature {
            name,
            key_id,
            signatures: note
                .signatures()
                .iter()
                .map(|s| (s.name.clone(), s.key_id))
                .collect(),
        });
    }
    open_note(envelope, &verifiers).map_err(LogCheckpointError::Signature)?;
    Ok(())
}

/// The key names a log's `baseUrl` gives it: the URL's host with its port, if it has one, and
/// without. Empty when there is no usable host.
fn key_names_of_base_url(base_url: &str) -> Vec<String> {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if !signet_note::is_valid_key_name(authority) {
        return Vec::new();
    }
    let mut names = vec![authority.to_owned()];
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        // An IPv6 literal: `[addr]` or `[addr]:port`.
        bracketed.split_once(']').map(|(addr, _)| addr)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => Some(host),
            _ => None,
        }
    };
    if let Some(host) = host.filter(|h| signet_note::is_valid_key_name(h) && *h != authority) {
        names.push(host.to_owned());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::key_names_of_base_url;

    #[test]
    fn key_names_from_base_urls() {
        for (url, want) in [
            (
                "https://log2025-1.rekor.sigstore.dev",
                &["log2025-1.rekor.sigstore.dev"][..],
            ),
            ("https://rekor.sigstore.dev/", &["rekor.sigstore.dev"]),
            ("http://rekor-local", &["rekor-local"]),
            ("http://127.0.0.1:3000", &["127.0.0.1:3000", "127.0.0.1"]),
            ("http://[::1]:3000/api", &["[::1]:3000", "::1"]),
            ("https://user@log.example/x?y", &["log.example"]),
            ("log.example", &["log.example"]),
            ("", &[]),
            ("https://", &[]),
        ] {
            assert_eq!(key_names_of_base_url(url), want, "{url}");
        }
    }
}
