//! Keys that sign: the ephemeral key of keyless signing, or a user's key.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
};

use crate::{SignError, SigningKeyError};

/// The signature algorithms this client signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256 (ASN.1 DER signatures). The default.
    EcdsaP256Sha256,
    /// ECDSA P-384 with SHA-384.
    EcdsaP384Sha384,
}

impl KeyAlgorithm {
    /// The `PublicKeyDetails` name Rekor v2 expects in `keyDetails`.
    pub fn key_details(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            KeyAlgorithm::EcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
        }
    }

    /// The hash signed over (and logged as the artifact digest).
    pub fn hash(self) -> signet_x509::HashAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => signet_x509::HashAlgorithm::Sha256,
            KeyAlgorithm::EcdsaP384Sha384 => signet_x509::HashAlgorithm::Sha384,
        }
    }
}

/// A private key that signs artifacts. Implemented by [`EphemeralKey`] and, in the binary, by
/// cosign-format key files.
pub trait SigningKey: Send + Sync {
    /// The public key as DER `SubjectPublicKeyInfo`.
    fn public_key_spki_der(&self) -> &[u8];
    /// Signs `message` (the hash is taken inside, per [`SigningKey::algorithm`]).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The signature algorithm.
    fn algorithm(&self) -> KeyAlgorithm;
}

/// A fresh in-memory ECDSA key for one keyless signature, dropped (and so forgotten) when the
/// signing is done. Never written anywhere.
pub struct EphemeralKey {
    pair: EcdsaKeyPair,
    spki: Vec<u8>,
    algorithm: KeyAlgorithm,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl EphemeralKey {
    /// A new key of the given algorithm.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<EphemeralKey, SignError> {
        let alg = match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            KeyAlgorithm::EcdsaP384Sha384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
        };
        let pair = EcdsaKeyPair::generate(alg).map_err(|_| SigningKeyError::Generate)?;
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| SigningKeyError::EncodePublicKey)?
            .as_ref()
            .to_vec();
        Ok(EphemeralKey {
            pair,
            spki,
            algorithm,
        })
    }
}

impl SigningKey for EphemeralKey {
    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(|_| SigningKeyError::Signing)?;
        Ok(sig.as_ref().to_vec())
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }
}
