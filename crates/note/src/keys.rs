//! Key identifiers: how a signature line names the key that made it.

use sha2::{Digest, Sha256};

/// The 4-byte key ID at the start of every signature, as a big-endian `u32`.
pub type KeyId = u32;

/// Signature type bytes of C2SP `signed-note` verifier keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureType {
    /// Ed25519 over the note text (`0x01`).
    Ed25519,
    /// Ed25519 over a `cosignature/v1` message with a timestamp (`0x04`, C2SP `tlog-cosignature`).
    CosignatureV1,
}

impl SignatureType {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    /// The type for a byte, if supported.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// Key ID of a `signed-note` key: the first four bytes of
/// `SHA-256(name || "\n" || type || public key)`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> KeyId {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public_key);
    first_four(&h.finalize())
}

/// Key ID of a key named by its PKIX encoding, as Rekor v1 and RFC 6962 logs use: the first
/// four bytes of `SHA-256(SubjectPublicKeyInfo DER)` (the start of the log ID).
pub fn pkix_key_id(spki_der: &[u8]) -> KeyId {
    first_four(&Sha256::digest(spki_der))
}

fn first_four(digest: &[u8]) -> KeyId {
    let mut b = [0u8; 4];
    for (d, s) in b.iter_mut().zip(digest) {
        *d = *s;
    }
    u32::from_be_bytes(b)
}
