//! An ECDSA signing key of the CA (P-256 or P-384): generation, PKCS#8, its public key and
//! key identifier, and signing. Knows nothing of certificates (that is `profile`).
//!
//! The key signs through a [`SharedSigner`]: a key generated here or read from a PKCS#8 file
//! is an in-memory [`MemorySigner`] (and can be written back out), any other signer (a key in
//! an HSM) is used as it is and never leaves where it lives.

use crate::{CaError, KeyMaterialError};
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm};
use const_oid::ObjectIdentifier as Oid;
use der::Decode;
use signet_signer::{MemorySigner, SharedSigner, SignerAlgorithm};
use std::sync::Arc;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const OID_ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");

/// The algorithm of a CA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaAlgorithm {
    /// ECDSA on P-256, signing with SHA-256.
    EcdsaP256,
    /// ECDSA on P-384, signing with SHA-384.
    EcdsaP384,
}

impl CaAlgorithm {
    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            CaAlgorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            CaAlgorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }
}

/// An ECDSA signing key. Its `Debug` shows only the algorithm and where the key lives.
pub struct SigningKey {
    algorithm: CaAlgorithm,
    signer: SharedSigner,
    /// The PKCS#8 encoding, for a key that lives in memory (generated or read from a file).
    pkcs8: Option<Vec<u8>>,
    spki: SubjectPublicKeyInfoOwned,
    key_id: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({:?}, {}, private)",
            self.algorithm,
            self.signer.location()
        )
    }
}

impl SigningKey {
    /// Generates a new key.
    pub fn generate(algorithm: CaAlgorithm, rng: &dyn SecureRandom) -> Result<Self, CaError> {
        let doc = EcdsaKeyPair::generate_pkcs8(algorithm.signing(), rng)
            .map_err(|_| KeyMaterialError::KeyGeneration)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Loads a PKCS#8 DER key (P-256 or P-384).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CaError> {
        for algorithm in [CaAlgorithm::EcdsaP256, CaAlgorithm::EcdsaP384] {
            if EcdsaKeyPair::from_pkcs8(algorithm.signing(), der).is_ok() {
                let signer = MemorySigner::from_pkcs8(der)
                    .map_err(|_| KeyMaterialError::UnsupportedPrivateKey)?;
                let mut key = Self::from_signer(Arc::new(signer))?;
                key.pkcs8 = Some(der.to_vec());
                return Ok(key);
            }
        }
        Err(KeyMaterialError::UnsupportedPrivateKey.into())
    }

    /// Uses `signer` (an ECDSA P-256 or P-384 key wherever it lives, e.g. in an HSM) as a CA
    /// key. Such a key has no PKCS#8 form: [`SigningKey::to_pkcs8_pem`] refuses it.
    ///
    /// # Errors
    /// [`KeyMaterialError::UnsupportedSigner`] for a key of another algorithm.
    pub fn from_signer(signer: SharedSigner) -> Result<Self, CaError> {
        let algorithm = match signer.algorithm() {
            SignerAlgorithm::EcdsaP256Sha256 => CaAlgorithm::EcdsaP256,
            SignerAlgorithm::EcdsaP384Sha384 => CaAlgorithm::EcdsaP384,
            other => {
                return Err(KeyMaterialError::UnsupportedSigner {
                    key: signer.location(),
                    algorithm: other.name(),
                }
                .into());
            }
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(signer.public_key_spki_der())
            .map_err(KeyMaterialError::PublicKey)?;
        let key_id = key_identifier(&spki);
        Ok(SigningKey {
            algorithm,
            signer,
            pkcs8: None,
            spki,
            key_id,
        })
    }

    /// The signer this key signs through.
    pub fn signer(&self) -> &SharedSigner {
        &self.signer
    }

    /// The algorithm.
    pub fn algorithm(&self) -> CaAlgorithm {
        self.algorithm
    }

    /// The PKCS#8 encoding as a PEM `PRIVATE KEY` block.
    ///
    /// # Errors
    /// [`KeyMaterialError::NotExportable`] for a key made by [`SigningKey::from_signer`].
    pub fn to_pkcs8_pem(&self) -> Result<String, CaError> {
        let pkcs8 = self
            .pkcs8
            .as_deref()
            .ok_or_else(|| KeyMaterialError::NotExportable {
                key: self.signer.location(),
            })?;
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, pkcs8)
            .map_err(|e| KeyMaterialError::PemEncoding(e).into())
    }

    /// The public key as a `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, CaError> {
        Ok(self.spki.clone())
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> Result<Vec<u8>, CaError> {
        Ok(self.signer.public_key_spki_der().to_vec())
    }

    /// The key identifier (SHA-1 of the public key bits), as SKI/AKI carry it.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The X.509 signature algorithm this key signs with.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: match self.algorithm {
                CaAlgorithm::EcdsaP256 => OID_ECDSA_SHA256,
                CaAlgorithm::EcdsaP384 => OID_ECDSA_SHA384,
            },
            parameters: None,
        }
    }

    /// Signs `message` (ASN.1 DER ECDSA signature).
    ///
    /// # Errors
    /// [`CaError::SignerUnavailable`] when the key cannot sign (an HSM that failed).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError> {
        self.signer
            .sign(message)
            .map_err(CaError::SignerUnavailable)
    }
}

/// SHA-1 of the subject public key bits (RFC 5280 §4.2.1.2, method 1).
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    )
    .as_ref()
    .to_vec()
}
