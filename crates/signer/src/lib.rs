//! A service's signing key, wherever it lives.
//!
//! Every service signer (the CA's issuing key, the CT log, the Rekor v1 and v2 logs, the
//! timestamp authority, the TUF online roles) signs through a [`Signer`]: an in-memory key
//! ([`MemorySigner`], aws-lc-rs) or a key that never leaves an HSM (`signet-pkcs11`). The
//! services see only the trait, so which kind of key a deployment uses is decided by the
//! composition alone.
//!
//! Signatures are what Sigstore's services put on the wire: ECDSA over the SHA-256 (P-256) or
//! SHA-384 (P-384) digest of the message as ASN.1 DER, Ed25519 over the message itself as 64
//! bytes.
//!
//! # Failures
//!
//! An in-memory key does not fail to sign. A remote key can (the HSM went away): `sign` then
//! returns a [`SignError`], which a server answers with 503 Service Unavailable, and which
//! must never lead to an acknowledgement of something left unsigned.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, UnparsedPublicKey,
};
use std::fmt;
use std::sync::Arc;

/// The kinds of service key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignerAlgorithm {
    /// ECDSA on P-256 with SHA-256; signatures are ASN.1 DER.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384; signatures are ASN.1 DER.
    EcdsaP384Sha384,
    /// Ed25519 (pure); signatures are the raw 64 bytes.
    Ed25519,
}

impl SignerAlgorithm {
    /// A short name for messages: `ecdsa-p256-sha256`, `ecdsa-p384-sha384`, `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            SignerAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SignerAlgorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            SignerAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// Whether `signature` over `message` verifies under the DER SubjectPublicKeyInfo
    /// `spki_der` with this algorithm.
    pub fn verify(self, spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Some(point) = public_point(self, spki_der) else {
            return false;
        };
        let alg: &dyn signature::VerificationAlgorithm = match self {
            SignerAlgorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            SignerAlgorithm::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            SignerAlgorithm::Ed25519 => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, point)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Display for SignerAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SPKI prefixes (everything before the public point) of the supported keys.
const SPKI_P256: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const SPKI_P384: &[u8] = &[
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
];
const SPKI_ED25519: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The SPKI prefix and public point length of `alg`.
fn spki_shape(alg: SignerAlgorithm) -> (&'static [u8], usize) {
    match alg {
        SignerAlgorithm::EcdsaP256Sha256 => (SPKI_P256, 65),
        SignerAlgorithm::EcdsaP384Sha384 => (SPKI_P384, 97),
        SignerAlgorithm::Ed25519 => (SPKI_ED25519, 32),
    }
}

/// The public point of an SPKI of `alg`'s exact shape.
fn public_point(alg: SignerAlgorithm, spki_der: &[u8]) -> Option<&[u8]> {
    let (prefix, len) = spki_shape(alg);
    spki_der.strip_prefix(prefix).filter(|p| p.len() == len)
}

impl SignerAlgorithm {
    /// The DER SubjectPublicKeyInfo of a public point of this algorithm (uncompressed SEC1
    /// for ECDSA, 32 bytes for Ed25519); `None` for a point of the wrong length.
    pub fn spki(self, point: &[u8]) -> Option<Vec<u8>> {
        let (prefix, len) = spki_shape(self);
        (point.len() == len).then(|| [prefix, point].concat())
    }
}

/// The algorithm of a DER SubjectPublicKeyInfo, if it is one of the supported keys.
pub fn spki_algorithm(spki_der: &[u8]) -> Option<SignerAlgorithm> {
    [
        SignerAlgorithm::EcdsaP256Sha256,
        SignerAlgorithm::EcdsaP384Sha384,
        SignerAlgorithm::Ed25519,
    ]
    .into_iter()
    .find(|&alg| public_point(alg, spki_der).is_some())
}

/// A signing key failed to sign: the HSM behind it is unavailable. Servers answer 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing key {key} is unavailable: {reason}")]
pub struct SignError {
    /// Which key (never a secret): [`Signer::location`].
    pub key: String,
    /// What went wrong.
    pub reason: String,
}

/// A key that is not one this crate can use.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub &'static str);

/// A private key that signs, in memory or elsewhere. `Debug` must not print secrets.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The key's algorithm.
    fn algorithm(&self) -> SignerAlgorithm;

    /// The public key as a DER SubjectPublicKeyInfo.
    fn public_key_spki_der(&self) -> &[u8];

    /// Signs `message` (see the crate documentation for the signature forms).
    ///
    /// # Errors
    /// [`SignError`] when the key is unavailable (an HSM that failed); never for an in-memory
    /// key.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;

    /// Where the key lives, for logs and errors: `memory`, or a description of the HSM key
    /// (module, token, label or id; never the PIN).
    fn location(&self) -> String;
}

/// A shared signer, as services hold it.
pub type SharedSigner = Arc<dyn Signer>;

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key in memory (aws-lc-rs): ECDSA P-256, ECDSA P-384 or Ed25519.
pub struct MemorySigner {
    pair: Pair,
    algorithm: SignerAlgorithm,
    spki_der: Vec<u8>,
}

impl fmt::Debug for MemorySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemorySigner({}, private)", self.algorithm)
    }
}

const ECDSA: [(&EcdsaSigningAlgorithm, SignerAlgorithm); 2] = [
    (
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        SignerAlgorithm::EcdsaP256Sha256,
    ),
    (
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        SignerAlgorithm::EcdsaP384Sha384,
    ),
];

impl MemorySigner {
    /// Reads a PKCS#8 `PrivateKeyInfo` (DER) holding an ECDSA P-256, ECDSA P-384 or Ed25519
    /// key.
    ///
    /// # Errors
    /// [`KeyError`] for anything else, or a malformed key.
    pub fn from_pkcs8(der: &[u8]) -> Result<MemorySigner, KeyError> {
        for (alg, algorithm) in ECDSA {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg, der) {
                return Self::ecdsa(pair, algorithm);
            }
        }
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(Self::ed25519(pair));
        }
        Err(KeyError(
            "not a PKCS#8 ECDSA P-256, ECDSA P-384 or Ed25519 private key, or malformed",
        ))
    }

    /// Reads a PKCS#8 key that must be of `algorithm`.
    ///
    /// # Errors
    /// [`KeyError`] for a malformed key or one of another kind.
    pub fn from_pkcs8_of(der: &[u8], algorithm: SignerAlgorithm) -> Result<MemorySigner, KeyError> {
        let key = Self::from_pkcs8(der)?;
        if key.algorithm == algorithm {
            Ok(key)
        } else {
            Err(KeyError(
                "the key is not of the algorithm this service signs with",
            ))
        }
    }

    /// An Ed25519 key from its 32-byte seed.
    ///
    /// # Errors
    /// [`KeyError`] if aws-lc-rs refuses the seed.
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> Result<MemorySigner, KeyError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(Self::ed25519)
            .map_err(|_| KeyError("Ed25519 seed refused"))
    }

    fn ecdsa(pair: EcdsaKeyPair, algorithm: SignerAlgorithm) -> Result<MemorySigner, KeyError> {
        let spki_der = pair
            .public_key()
            .as_der()
            .map_err(|_| KeyError("cannot encode the public key"))?
            .as_ref()
            .to_vec();
        Ok(MemorySigner {
            pair: Pair::Ecdsa(pair),
            algorithm,
            spki_der,
        })
    }

    fn ed25519(pair: Ed25519KeyPair) -> MemorySigner {
        let spki_der = [SPKI_ED25519, pair.public_key().as_ref()].concat();
        MemorySigner {
            pair: Pair::Ed25519(pair),
            algorithm: SignerAlgorithm::Ed25519,
            spki_der,
        }
    }
}

impl Signer for MemorySigner {
    fn algorithm(&self) -> SignerAlgorithm {
        self.algorithm
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError {
                    key: self.location(),
                    reason: "aws-lc-rs refused to sign".into(),
                }),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    fn location(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::Ed25519KeyPair;

    fn pkcs8(alg: SignerAlgorithm) -> Vec<u8> {
        let rng = SystemRandom::new();
        match alg {
            SignerAlgorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
            SignerAlgorithm::EcdsaP384Sha384 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, &rng)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
            SignerAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng)
                .unwrap()
                .as_ref()
                .to_vec(),
        }
    }

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in [
            SignerAlgorithm::EcdsaP256Sha256,
            SignerAlgorithm::EcdsaP384Sha384,
            SignerAlgorithm::Ed25519,
        ] {
            let key = MemorySigner::from_pkcs8(&pkcs8(alg)).unwrap();
            assert_eq!(key.algorithm(), alg);
            assert_eq!(spki_algorithm(key.public_key_spki_der()), Some(alg));
            let point = public_point(alg, key.public_key_spki_der()).unwrap();
            assert_eq!(alg.spki(point).unwrap(), key.public_key_spki_der());
            assert_eq!(alg.spki(&point[1..]), None);
            let sig = key.sign(b"message").unwrap();
            assert!(
                alg.verify(key.public_key_spki_der(), b"message", &sig),
                "{alg}"
            );
            assert!(
                !alg.verify(key.public_key_spki_der(), b"other", &sig),
                "{alg}"
            );
            assert!(
                !format!("{key:?}").contains("0x"),
                "Debug prints no key bytes"
            );
        }
    }

    #[test]
    fn seed_and_pkcs8_forms_agree() {
        let seed = [7u8; 32];
        let a = MemorySigner::from_ed25519_seed(&seed).unwrap();
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(
            a.public_key_spki_der().get(12..),
            Some(pair.public_key().as_ref())
        );
        assert_eq!(a.sign(b"m").unwrap(), pair.sign(b"m").as_ref());
    }

    #[test]
    fn wrong_kind_and_garbage_are_refused() {
        let p256 = pkcs8(SignerAlgorithm::EcdsaP256Sha256);
        assert!(MemorySigner::from_pkcs8_of(&p256, SignerAlgorithm::Ed25519).is_err());
        assert!(MemorySigner::from_pkcs8_of(&p256, SignerAlgorithm::EcdsaP256Sha256).is_ok());
        assert!(MemorySigner::from_pkcs8(b"not a key").is_err());
        assert!(MemorySigner::from_pkcs8(&[]).is_err());
        assert_eq!(spki_algorithm(b"\x30\x00"), None);
        assert!(!SignerAlgorithm::Ed25519.verify(b"", b"m", &[0; 64]));
    }
}
