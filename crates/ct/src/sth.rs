//! RFC 6962 signed tree heads carried in C2SP checkpoints, as the static-ct-api
//! `RFC6962NoteSignature` (signature type `0x05`): the checkpoint the log stores is its STH, so
//! `get-sth` is served from the stored checkpoint without the private key.

use crate::CtError;
use crate::sct::digitally_signed;
use crate::tls::Reader;
use signet_clock::Clock;
use signet_merkle::TreeSize;
use signet_note::{Checkpoint, KeyId, Note, NoteSigner, NoteVerifier, SignError, key_id};
use signet_signer::SharedSigner;
use signet_x509::{HashAlgorithm, KeyKind, PublicKey};
use std::sync::{Arc, Mutex};

/// The signed-note signature type of an `RFC6962NoteSignature`.
pub const RFC6962_SIGNATURE_TYPE: u8 = 0x05;

/// An RFC 6962 signed tree head (§3.5), as `get-sth` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// Number of entries.
    pub tree_size: u64,
    /// When it was signed, ms since the epoch.
    pub timestamp_ms: u64,
    /// The Merkle tree hash.
    pub root_hash: [u8; 32],
    /// The TLS `DigitallySigned` over [`tree_head_signed_data`].
    pub signature: Vec<u8>,
}

/// The RFC 6962 §3.5 `TreeHeadSignature` input: version v1 (0), signature_type tree_hash (1),
/// timestamp, tree_size, sha256_root_hash.
pub fn tree_head_signed_data(timestamp_ms: u64, tree_size: u64, root_hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.push(0);
    out.push(1);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(root_hash);
    out
}

/// The note key ID of an `RFC6962NoteSignature`: the first four bytes of
/// `SHA-256(name || 0x0A || 0x05 || log ID)`.
pub fn rfc6962_key_id(name: &str, log_id: &[u8; 32]) -> KeyId {
    key_id(name, RFC6962_SIGNATURE_TYPE, log_id)
}

/// Hands out strictly increasing timestamps (ms): the clock, but always after the last one
/// handed out. SCTs and tree heads draw from the same source, so every tree head is later
/// than every entry it covers, and no two entries share a timestamp.
pub(crate) struct Timestamps {
    clock: Clock,
    last: Mutex<u64>,
}

impl Timestamps {
    pub(crate) fn new(clock: Clock, last: u64) -> Self {
        Timestamps {
            clock,
            last: Mutex::new(last),
        }
    }

    /// Makes every later timestamp follow `last` (one handed out by an earlier sequencer).
    pub(crate) fn raise_to(&self, last: u64) {
        let mut current = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *current = (*current).max(last);
    }

    pub(crate) fn next(&self) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_ms().max(last.saturating_add(1));
        *last = now;
        now
    }
}

/// Signs checkpoints with an `RFC6962NoteSignature`: `timestamp (u64) || DigitallySigned`
/// over the `TreeHeadSignature` of the checkpoint's size and root, with the log's ECDSA
/// P-256 [`signet_signer::Signer`] (checked by [`crate::CtLog::open`]).
pub(crate) struct Rfc6962NoteSigner {
    name: String,
    key_id: KeyId,
    signer: SharedSigner,
    timestamps: Arc<Timestamps>,
}

impl Rfc6962NoteSigner {
    pub(crate) fn new(
        name: &str,
        log_id: &[u8; 32],
        signer: SharedSigner,
        timestamps: Arc<Timestamps>,
    ) -> Self {
        Rfc6962NoteSigner {
            name: name.to_owned(),
            key_id: rfc6962_key_id(name, log_id),
            signer,
            timestamps,
        }
    }
}

impl NoteSigner for Rfc6962NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError> {
        let failed = || SignError::Crypto {
            name: self.name.clone(),
        };
        // The format forbids extension lines: only origin, size and root are authenticated.
        let checkpoint = Checkpoint::parse(text).map_err(|_| failed())?;
        if !checkpoint.extensions.is_empty() {
            return Err(failed());
        }
        let timestamp = self.timestamps.next();
        let data = tree_head_signed_data(timestamp, checkpoint.size.0, &checkpoint.root_hash.0);
        // A key that fails (an HSM gone) fails the batch: nothing is published, nothing
        // acknowledged.
        let sig = self.signer.sign(&data).map_err(|_| failed())?;
        let mut out = timestamp.to_be_bytes().to_vec();
        out.extend_from_slice(&digitally_signed(&sig).ok_or_else(failed)?);
        Ok(out)
    }
}

/// Verifies `RFC6962NoteSignature`s of one CT log on checkpoints (static-ct-api), e.g. for
/// [`signet_log::check_log`] or a client that reads `get-sth` as a checkpoint.
#[derive(Debug, Clone)]
pub struct Rfc6962NoteVerifier {
    name: String,
    key_id: KeyId,
    key: PublicKey,
}

impl Rfc6962NoteVerifier {
    /// A verifier for the log named `name` (its checkpoint origin) with the ECDSA P-256 key
    /// `spki_der`.
    pub fn new(name: &str, spki_der: &[u8]) -> Result<Self, CtError> {
        let key = PublicKey::from_spki_der(spki_der).map_err(|_| CtError::BadSigningKey)?;
        if key.kind() != KeyKind::EcdsaP256 {
            return Err(CtError::BadSigningKey);
        }
        let log_id: [u8; 32] = HashAlgorithm::Sha256
            .digest(spki_der)
            .try_into()
            .map_err(|_| CtError::BadSigningKey)?;
        Ok(Rfc6962NoteVerifier {
            name: name.to_owned(),
            key_id: rfc6962_key_id(name, &log_id),
            key,
        })
    }
}

impl NoteVerifier for Rfc6962NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(checkpoint) = Checkpoint::parse(text) else {
            return false;
        };
        if !checkpoint.extensions.is_empty() {
            return false;
        }
        let mut r = Reader::new(signature);
        let (Some(timestamp), Some(hash), Some(alg), Some(sig)) =
            (r.u64(), r.u8(), r.u8(), r.vec(2))
        else {
            return false;
        };
        if !r.is_empty() || hash != crate::TLS_HASH_SHA256 || alg != crate::TLS_SIGNATURE_ECDSA {
            return false;
        }
        let data = tree_head_signed_data(timestamp, checkpoint.size.0, &checkpoint.root_hash.0);
        self.key
            .verify_with_hash(&data, sig, HashAlgorithm::Sha256)
            .is_ok()
    }
}

/// Reads the STH out of a stored checkpoint note: its size and root from the text, the
/// timestamp and `DigitallySigned` from the `RFC6962NoteSignature` by `name` with `key_id`.
/// The signature is not verified here (the note was signed by this log).
pub fn sth_from_checkpoint(
    note: &[u8],
    name: &str,
    key_id: KeyId,
) -> Result<SignedTreeHead, CtError> {
    let corrupt = |detail: &str| CtError::Corrupt {
        what: "checkpoint",
        detail: detail.to_owned(),
    };
    let note = Note::parse(note).map_err(|e| corrupt(&e.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| corrupt(&e.to_string()))?;
    let sig = note
        .signatures()
        .iter()
        .find(|s| s.name == name && s.key_id == key_id)
        .ok_or_else(|| corrupt("no RFC 6962 signature by this log"))?;
    let mut r = Reader::new(&sig.signature);
    let timestamp_ms = r.u64().ok_or_else(|| corrupt("short signature"))?;
    let signature = sig.signature.get(8..).unwrap_or_default().to_vec();
    let TreeSize(tree_size) = checkpoint.size;
    Ok(SignedTreeHead {
        tree_size,
        timestamp_ms,
        root_hash: checkpoint.root_hash.0,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase() {
        let t = Timestamps::new(Clock::fixed(100), 0);
        assert_eq!(t.next(), 100);
        assert_eq!(t.next(), 101);
        let t = Timestamps::new(Clock::fixed(5), 500);
        assert_eq!(t.next(), 501);
    }

    #[test]
    fn note_signatures_verify_and_tampering_fails() {
        #![allow(clippy::unwrap_used)]
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        use signet_merkle::Hash;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
        let key: SharedSigner =
            Arc::new(signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap());
        let log_id: [u8; 32] = HashAlgorithm::Sha256.digest(&spki).try_into().unwrap();
        let timestamps = Arc::new(Timestamps::new(Clock::fixed(1000), 0));
        let signer = Rfc6962NoteSigner::new("ct.example/x", &log_id, key, timestamps);
        let verifier = Rfc6962NoteVerifier::new("ct.example/x", &spki).unwrap();
        assert_eq!(signer.key_id(), verifier.key_id());
        let text = Checkpoint::new("ct.example/x", TreeSize(5), Hash([7; 32])).to_text();
        let sig = signer.sign(&text).unwrap();
        assert_eq!(&sig[..8], &1000u64.to_be_bytes());
        assert!(verifier.verify(&text, &sig));
        let other = Checkpoint::new("ct.example/x", TreeSize(6), Hash([7; 32])).to_text();
        assert!(!verifier.verify(&other, &sig));
        let mut later = sig.clone();
        later[7] ^= 1;
        assert!(!verifier.verify(&text, &later));
        assert!(!verifier.verify(&text, &sig[..sig.len() - 1]));
        let mut with_ext = Checkpoint::new("ct.example/x", TreeSize(5), Hash([7; 32]));
        with_ext.extensions.push("x".into());
        assert!(signer.sign(&with_ext.to_text()).is_err());
        let note = signet_note::sign_note(&text, &[&signer]).unwrap();
        let sth = sth_from_checkpoint(note.as_bytes(), "ct.example/x", signer.key_id()).unwrap();
        assert_eq!(
            (sth.tree_size, sth.timestamp_ms, sth.root_hash),
            (5, 1001, [7; 32])
        );
    }

    #[test]
    fn tree_head_layout() {
        let data = tree_head_signed_data(1, 2, &[3; 32]);
        assert_eq!(data.len(), 50);
        assert_eq!(&data[..2], &[0, 1]);
        assert_eq!(&data[2..10], &1u64.to_be_bytes());
        assert_eq!(&data[10..18], &2u64.to_be_bytes());
    }
}
