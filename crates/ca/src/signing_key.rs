//! An ECDSA signing key of the CA (P-256 or P-384): generation, PKCS#8, its public key and
//! key identifier, and signing. Knows nothing of certificates (that is `profile`).

use crate::{CaError, IssuanceError, KeyMaterialError};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair};
use const_oid::ObjectIdentifier as Oid;
use der::Encode;
use der::asn1::{Any, BitString};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const OID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
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

    fn curve(self) -> Oid {
        match self {
            CaAlgorithm::EcdsaP256 => OID_P256,
            CaAlgorithm::EcdsaP384 => OID_P384,
        }
    }
}

/// An ECDSA signing key. Its `Debug` shows only the algorithm.
pub struct SigningKey {
    algorithm: CaAlgorithm,
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    key_id: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, private)", self.algorithm)
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
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(algorithm.signing(), der) {
                let mut key = SigningKey {
                    algorithm,
                    pair,
                    pkcs8: der.to_vec(),
                    key_id: Vec::new(),
                };
                key.key_id = key_identifier(&key.spki()?);
                return Ok(key);
            }
        }
        Err(KeyMaterialError::UnsupportedPrivateKey.into())
    }

    /// The algorithm.
    pub fn algorithm(&self) -> CaAlgorithm {
        self.algorithm
    }

    /// The PKCS#8 encoding as a PEM `PRIVATE KEY` block.
    pub fn to_pkcs8_pem(&self) -> Result<String, CaError> {
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &self.pkcs8)
            .map_err(|e| KeyMaterialError::PemEncoding(e).into())
    }

    /// The public key as a `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, CaError> {
        let bad = KeyMaterialError::PublicKey;
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: OID_EC_PUBLIC_KEY,
                parameters: Some(Any::encode_from(&self.algorithm.curve()).map_err(bad)?),
            },
            subject_public_key: BitString::from_bytes(self.pair.public_key().as_ref())
                .map_err(bad)?,
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> Result<Vec<u8>, CaError> {
        self.spki()?
            .to_der()
            .map_err(|e| KeyMaterialError::PublicKey(e).into())
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
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| IssuanceError::Signing.into())
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
