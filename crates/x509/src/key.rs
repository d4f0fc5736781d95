//! Public keys from `SubjectPublicKeyInfo`, and signature checks with them.

use crate::X509Error;
use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;

/// The kinds of key Sigstore signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521.
    EcdsaP521,
    /// RSA with a modulus of at least 2048 bits.
    Rsa,
    /// Ed25519.
    Ed25519,
}

/// Message digests used with signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    fn aws(self) -> &'static digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.aws(), data).as_ref().to_vec()
    }
}

/// A parsed public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    spki_der: Vec<u8>,
    /// The key bits (an EC point, a PKCS#1 RSA key or a raw Ed25519 key).
    raw: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({:?})", self.kind)
    }
}

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, X509Error> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| X509Error::UnsupportedKey(format!("bad SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&spki)
    }

    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, X509Error> {
        let oid = spki.algorithm.oid.to_string();
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| X509Error::UnsupportedKey("key bits are not byte-aligned".into()))?
            .to_vec();
        let kind = match oid.as_str() {
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| X509Error::UnsupportedKey("EC key without a named curve".into()))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => KeyKind::EcdsaP256,
                    OID_P384 => KeyKind::EcdsaP384,
                    OID_P521 => KeyKind::EcdsaP521,
                    other => return Err(X509Error::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            OID_RSA => KeyKind::Rsa,
            OID_ED25519 => {
                if raw.len() != 32 {
                    return Err(X509Error::UnsupportedKey(
                        "Ed25519 key is not 32 bytes".into(),
                    ));
                }
                KeyKind::Ed25519
            }
            other => return Err(X509Error::UnsupportedKey(format!("algorithm {other}"))),
        };
        let spki_der = spki
            .to_der()
            .map_err(|e| X509Error::UnsupportedKey(e.to_string()))?;
        Ok(PublicKey {
            kind,
            spki_der,
            raw,
        })
    }

    /// Parses a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem: &str) -> Result<Self, X509Error> {
        let blocks = crate::decode_pem(pem, "PUBLIC KEY")?;
        let der = blocks.first().ok_or(X509Error::Pem {
            expected: "PUBLIC KEY",
            reason: "no block".into(),
        })?;
        Self::from_spki_der(der)
    }

    /// The key type.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key bits inside the `SubjectPublicKeyInfo`: an EC point, a PKCS#1 RSA key, or the
    /// raw 32-byte Ed25519 key.
    pub fn raw_key(&self) -> &[u8] {
        &self.raw
    }

    /// The hash Sigstore pairs with this key for artifact signatures: SHA-256 for P-256, RSA
    /// and (unused) Ed25519, SHA-384 for P-384, SHA-512 for P-521.
    pub fn default_hash(&self) -> HashAlgorithm {
        match self.kind {
            KeyKind::EcdsaP384 => HashAlgorithm::Sha384,
            KeyKind::EcdsaP521 => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Sha256,
        }
    }

    fn algorithm(&self, hash: HashAlgorithm) -> &'static dyn VerificationAlgorithm {
        use HashAlgorithm::*;
        match (self.kind, hash) {
            (KeyKind::EcdsaP256, Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (KeyKind::EcdsaP256, Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (KeyKind::EcdsaP256, Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
            (KeyKind::EcdsaP384, Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (KeyKind::EcdsaP384, Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
            (KeyKind::EcdsaP384, Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
            (KeyKind::EcdsaP521, Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
            (KeyKind::EcdsaP521, Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
            (KeyKind::EcdsaP521, Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
            (KeyKind::Rsa, Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
            (KeyKind::Rsa, Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (KeyKind::Rsa, Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
            (KeyKind::Ed25519, _) => &signature::ED25519,
        }
    }

    fn key_bytes(&self) -> &[u8] {
        match self.kind {
            KeyKind::Ed25519 => &self.raw,
            _ => &self.spki_der,
        }
    }

    /// Checks `signature` over `message` with the key's default hash ([`Self::default_hash`]);
    /// ECDSA signatures are ASN.1 DER, RSA is PKCS#1 v1.5, Ed25519 is pure.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), X509Error> {
        self.verify_with_hash(message, signature, self.default_hash())
    }

    /// Checks `signature` over `message` hashed with `hash` (ignored for Ed25519).
    pub fn verify_with_hash(
        &self,
        message: &[u8],
        signature: &[u8],
        hash: HashAlgorithm,
    ) -> Result<(), X509Error> {
        UnparsedPublicKey::new(self.algorithm(hash), self.key_bytes())
            .verify(message, signature)
            .map_err(|_| X509Error::BadSignature)
    }

    /// Checks `signature` over a message known only by its `digest` (ECDSA and RSA only).
    pub fn verify_prehashed(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<(), X509Error> {
        if self.kind == KeyKind::Ed25519 {
            return Err(X509Error::UnsupportedKey(
                "Ed25519 cannot verify a pre-hashed message".into(),
            ));
        }
        let digest = digest::Digest::import_less_safe(digest, hash.aws())
            .map_err(|_| X509Error::BadSignature)?;
        UnparsedPublicKey::new(self.algorithm(hash), self.key_bytes())
            .verify_digest(&digest, signature)
            .map_err(|_| X509Error::BadSignature)
    }

    /// Checks an X.509 signature (certificate, CRL, CMS signer info) made with the algorithm
    /// `algorithm_oid`.
    pub fn verify_x509_signature(
        &self,
        algorithm_oid: &str,
        tbs: &[u8],
        signature: &[u8],
    ) -> Result<(), X509Error> {
        let hash = match (algorithm_oid, self.kind) {
            (
                "1.2.840.10045.4.3.2",
                KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521,
            ) => HashAlgorithm::Sha256,
            (
                "1.2.840.10045.4.3.3",
                KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521,
            ) => HashAlgorithm::Sha384,
            (
                "1.2.840.10045.4.3.4",
                KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521,
            ) => HashAlgorithm::Sha512,
            ("1.2.840.113549.1.1.11", KeyKind::Rsa) => HashAlgorithm::Sha256,
            ("1.2.840.113549.1.1.12", KeyKind::Rsa) => HashAlgorithm::Sha384,
            ("1.2.840.113549.1.1.13", KeyKind::Rsa) => HashAlgorithm::Sha512,
            ("1.3.101.112", KeyKind::Ed25519) => HashAlgorithm::Sha512,
            (other, kind) => {
                return Err(X509Error::UnsupportedSignatureAlgorithm(format!(
                    "{other} with a {kind:?} key"
                )));
            }
        };
        self.verify_with_hash(tbs, signature, hash)
    }
}
