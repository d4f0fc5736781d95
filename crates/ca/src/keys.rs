//! The CA's key material: a self-signed root and an intermediate that issues the leaves, each
//! an ECDSA key (P-256 or P-384) with its certificate, stored as PEM (PKCS#8 keys).

use crate::CaError;
use crate::profile::{CaCertParams, SERIAL_LEN, ca_certificate};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair};
use const_oid::ObjectIdentifier as Oid;
use der::Encode;
use der::asn1::{Any, BitString};
use signet_x509::Certificate;
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// Lifetime of generated CA certificates: ten years.
pub const CA_VALIDITY_SECONDS: i64 = 10 * 365 * 24 * 3600;

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
    pub fn generate(algorithm: CaAlgorithm) -> Result<Self, CaError> {
        let doc = EcdsaKeyPair::generate_pkcs8(algorithm.signing(), &SystemRandom::new())
            .map_err(|_| CaError::KeyMaterial("key generation failed".into()))?;
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
                key.key_id = crate::profile::key_identifier(&key.spki()?);
                return Ok(key);
            }
        }
        Err(CaError::KeyMaterial(
            "private key is not a PKCS#8 ECDSA P-256 or P-384 key".into(),
        ))
    }

    /// The algorithm.
    pub fn algorithm(&self) -> CaAlgorithm {
        self.algorithm
    }

    /// The PKCS#8 encoding as a PEM `PRIVATE KEY` block.
    pub fn to_pkcs8_pem(&self) -> Result<String, CaError> {
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &self.pkcs8)
            .map_err(|e| CaError::KeyMaterial(format!("PEM encoding: {e}")))
    }

    /// The public key as a `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, CaError> {
        let bad = |e: der::Error| CaError::KeyMaterial(format!("public key: {e}"));
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
            .map_err(|e| CaError::KeyMaterial(format!("public key: {e}")))
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
            .map_err(|_| CaError::Issuance("signing failed".into()))
    }
}

/// The PEM texts of a CA's key material, as stored on disk.
#[derive(Clone, PartialEq, Eq)]
pub struct CaPemFiles {
    /// The root certificate (`CERTIFICATE`).
    pub root_cert: String,
    /// The root key (PKCS#8 `PRIVATE KEY`), if kept.
    pub root_key: Option<String>,
    /// The intermediate certificate (`CERTIFICATE`).
    pub intermediate_cert: String,
    /// The intermediate key (PKCS#8 `PRIVATE KEY`).
    pub intermediate_key: String,
}

impl std::fmt::Debug for CaPemFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaPemFiles(private)")
    }
}

/// A root and an intermediate CA, with the intermediate's key (which signs leaves).
pub struct CaKeys {
    root: Certificate,
    root_key: Option<SigningKey>,
    intermediate: Certificate,
    intermediate_key: SigningKey,
    intermediate_name: Name,
    intermediate_spki: Vec<u8>,
}

impl std::fmt::Debug for CaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaKeys")
            .field("root", &self.root.subject())
            .field("intermediate", &self.intermediate.subject())
            .field("algorithm", &self.intermediate_key.algorithm)
            .finish_non_exhaustive()
    }
}

fn random_serial() -> Result<[u8; SERIAL_LEN], CaError> {
    let mut serial = [0u8; SERIAL_LEN];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| CaError::KeyMaterial("random number generator failed".into()))?;
    Ok(serial)
}

fn pem_cert(der: &[u8]) -> Result<String, CaError> {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| CaError::KeyMaterial(format!("PEM encoding: {e}")))
}

fn pem_key(text: &str) -> Result<SigningKey, CaError> {
    let (label, der) = pem_rfc7468::decode_vec(text.trim().as_bytes())
        .map_err(|e| CaError::KeyMaterial(format!("private key PEM: {e}")))?;
    if label != "PRIVATE KEY" {
        return Err(CaError::KeyMaterial(format!(
            "expected a PRIVATE KEY (PKCS#8) block, found {label}"
        )));
    }
    SigningKey::from_pkcs8(&der)
}

impl CaKeys {
    /// Generates a root and an intermediate (both `algorithm`), valid from `now` (Unix
    /// seconds) for [`CA_VALIDITY_SECONDS`]. The root's path length is 1, the
    /// intermediate's 0.
    pub fn generate(now: i64, algorithm: CaAlgorithm) -> Result<Self, CaError> {
        let root_key = SigningKey::generate(algorithm)?;
        let intermediate_key = SigningKey::generate(algorithm)?;
        let not_after = now.saturating_add(CA_VALIDITY_SECONDS);
        let root_der = ca_certificate(&CaCertParams {
            subject: "CN=signet root,O=signet",
            serial: random_serial()?,
            not_before: now,
            not_after,
            path_len: Some(1),
            subject_key: &root_key,
            issuer: None,
        })?;
        let root = Certificate::from_der(&root_der)
            .map_err(|e| CaError::KeyMaterial(format!("generated root: {e}")))?;
        let root_name = root.inner().tbs_certificate.subject.clone();
        let intermediate_der = ca_certificate(&CaCertParams {
            subject: "CN=signet intermediate,O=signet",
            serial: random_serial()?,
            not_before: now,
            not_after,
            path_len: Some(0),
            subject_key: &intermediate_key,
            issuer: Some((&root_name, &root_key)),
        })?;
        Self::assemble(
            &root_der,
            Some(root_key),
            &intermediate_der,
            intermediate_key,
        )
    }

    fn assemble(
        root_der: &[u8],
        root_key: Option<SigningKey>,
        intermediate_der: &[u8],
        intermediate_key: SigningKey,
    ) -> Result<Self, CaError> {
        let parse = |what: &str, der: &[u8]| {
            Certificate::from_der(der).map_err(|e| CaError::KeyMaterial(format!("{what}: {e}")))
        };
        let root = parse("root certificate", root_der)?;
        let intermediate = parse("intermediate certificate", intermediate_der)?;
        signet_x509::check_trusted_chain(&[intermediate.clone(), root.clone()])
            .map_err(|e| CaError::KeyMaterial(format!("CA chain: {e}")))?;
        let intermediate_spki = intermediate_key.spki_der()?;
        if intermediate.public_key().spki_der() != intermediate_spki.as_slice() {
            return Err(CaError::KeyMaterial(
                "intermediate key does not match the intermediate certificate".into(),
            ));
        }
        if let Some(key) = &root_key
            && root.public_key().spki_der() != key.spki_der()?.as_slice()
        {
            return Err(CaError::KeyMaterial(
                "root key does not match the root certificate".into(),
            ));
        }
        let intermediate_name = intermediate.inner().tbs_certificate.subject.clone();
        Ok(CaKeys {
            root,
            root_key,
            intermediate,
            intermediate_key,
            intermediate_name,
            intermediate_spki,
        })
    }

    /// Loads key material from its PEM texts, checking that the intermediate is issued by
    /// the root, both are CAs, and each key matches its certificate.
    pub fn from_pem(files: &CaPemFiles) -> Result<Self, CaError> {
        let cert = |what: &str, text: &str| -> Result<Vec<u8>, CaError> {
            let blocks = signet_x509::decode_pem(text, "CERTIFICATE")
                .map_err(|e| CaError::KeyMaterial(format!("{what}: {e}")))?;
            blocks
                .into_iter()
                .next()
                .ok_or_else(|| CaError::KeyMaterial(format!("{what}: no CERTIFICATE block")))
        };
        let root_der = cert("root certificate", &files.root_cert)?;
        let intermediate_der = cert("intermediate certificate", &files.intermediate_cert)?;
        let root_key = files.root_key.as_deref().map(pem_key).transpose()?;
        let intermediate_key = pem_key(&files.intermediate_key)?;
        Self::assemble(&root_der, root_key, &intermediate_der, intermediate_key)
    }

    /// The key material as PEM texts.
    pub fn to_pem(&self) -> Result<CaPemFiles, CaError> {
        Ok(CaPemFiles {
            root_cert: pem_cert(self.root.der())?,
            root_key: self
                .root_key
                .as_ref()
                .map(SigningKey::to_pkcs8_pem)
                .transpose()?,
            intermediate_cert: pem_cert(self.intermediate.der())?,
            intermediate_key: self.intermediate_key.to_pkcs8_pem()?,
        })
    }

    /// The root certificate.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The intermediate certificate, which issues the leaves.
    pub fn intermediate(&self) -> &Certificate {
        &self.intermediate
    }

    /// The chain above a leaf, issuer first: `[intermediate, root]`.
    pub fn chain(&self) -> Vec<Certificate> {
        vec![self.intermediate.clone(), self.root.clone()]
    }

    /// The chain as PEM texts, issuer first.
    pub fn chain_pem(&self) -> Result<Vec<String>, CaError> {
        [&self.intermediate, &self.root]
            .iter()
            .map(|c| pem_cert(c.der()))
            .collect()
    }

    pub(crate) fn issuer_key(&self) -> &SigningKey {
        &self.intermediate_key
    }

    pub(crate) fn issuer_name(&self) -> &Name {
        &self.intermediate_name
    }

    /// The DER `SubjectPublicKeyInfo` of the issuing (intermediate) key.
    pub fn issuer_spki_der(&self) -> &[u8] {
        &self.intermediate_spki
    }
}
