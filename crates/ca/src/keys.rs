//! The CA's key material: a self-signed root and an intermediate that issues the leaves, each
//! an ECDSA key (P-256 or P-384) with its certificate, stored as PEM (PKCS#8 keys).

use crate::profile::{CaCertParams, SERIAL_LEN, ca_certificate, parse_subject};
use crate::signing_key::{CaAlgorithm, SigningKey};
use crate::{CaError, KeyMaterialError};
use aws_lc_rs::rand::SecureRandom;
use signet_x509::Certificate;
use x509_cert::name::Name;

/// Lifetime of generated CA certificates: ten years.
pub const CA_VALIDITY_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// The subject of a generated root.
pub const DEFAULT_ROOT_SUBJECT: &str = "CN=signet root,O=signet";

/// The subject of a generated intermediate.
pub const DEFAULT_INTERMEDIATE_SUBJECT: &str = "CN=signet intermediate,O=signet";

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
            .field("algorithm", &self.intermediate_key.algorithm())
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_serial(rng: &dyn SecureRandom) -> Result<[u8; SERIAL_LEN], CaError> {
    let mut serial = [0u8; SERIAL_LEN];
    rng.fill(&mut serial)
        .map_err(|_| KeyMaterialError::Random)?;
    Ok(serial)
}

pub(crate) fn pem_cert(der: &[u8]) -> Result<String, CaError> {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| KeyMaterialError::PemEncoding(e).into())
}

/// The DER of the first `CERTIFICATE` block of `text`.
fn first_certificate(what: &'static str, text: &str) -> Result<Vec<u8>, KeyMaterialError> {
    let blocks = signet_x509::decode_pem(text, "CERTIFICATE")
        .map_err(|source| KeyMaterialError::Certificate { what, source })?;
    blocks
        .into_iter()
        .next()
        .ok_or(KeyMaterialError::NoCertificate { what })
}

pub(crate) fn pem_key(text: &str) -> Result<SigningKey, CaError> {
    let (label, der) =
        pem_rfc7468::decode_vec(text.trim().as_bytes()).map_err(KeyMaterialError::PrivateKeyPem)?;
    if label != "PRIVATE KEY" {
        return Err(KeyMaterialError::WrongPemLabel {
            label: label.to_owned(),
        }
        .into());
    }
    SigningKey::from_pkcs8(&der)
}

impl CaKeys {
    /// Generates a root and an intermediate (both `algorithm`), valid from `now` (Unix
    /// seconds) for [`CA_VALIDITY_SECONDS`]. The root's path length is 1, the
    /// intermediate's 0. Keys and serial numbers come from `rng`.
    pub fn generate(
        now: i64,
        algorithm: CaAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<Self, CaError> {
        let root_key = SigningKey::generate(algorithm, rng)?;
        let intermediate_key = SigningKey::generate(algorithm, rng)?;
        let not_after = now.saturating_add(CA_VALIDITY_SECONDS);
        let root_name = parse_subject(DEFAULT_ROOT_SUBJECT)?;
        let root_der = ca_certificate(&CaCertParams {
            subject: &root_name,
            subject_spki: &root_key.spki()?,
            serial: random_serial(rng)?,
            not_before: now,
            not_after,
            path_len: Some(1),
            issuer_name: &root_name,
            issuer_key: &root_key,
        })?;
        let intermediate_der = ca_certificate(&CaCertParams {
            subject: &parse_subject(DEFAULT_INTERMEDIATE_SUBJECT)?,
            subject_spki: &intermediate_key.spki()?,
            serial: random_serial(rng)?,
            not_before: now,
            not_after,
            path_len: Some(0),
            issuer_name: &root_name,
            issuer_key: &root_key,
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
        let parse = |what: &'static str, der: &[u8]| {
            Certificate::from_der(der)
                .map_err(|source| KeyMaterialError::Certificate { what, source })
        };
        let root = parse("root certificate", root_der)?;
        let intermediate = parse("intermediate certificate", intermediate_der)?;
        signet_x509::check_trusted_chain(&[intermediate.clone(), root.clone()])
            .map_err(KeyMaterialError::Chain)?;
        let intermediate_spki = intermediate_key.spki_der()?;
        if intermediate.public_key().spki_der() != intermediate_spki.as_slice() {
            return Err(KeyMaterialError::IntermediateKeyMismatch.into());
        }
        if let Some(key) = &root_key
            && root.public_key().spki_der() != key.spki_der()?.as_slice()
        {
            return Err(KeyMaterialError::RootKeyMismatch.into());
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
        let root_der = first_certificate("root certificate", &files.root_cert)?;
        let intermediate_der =
            first_certificate("intermediate certificate", &files.intermediate_cert)?;
        let root_key = files.root_key.as_deref().map(pem_key).transpose()?;
        let intermediate_key = pem_key(&files.intermediate_key)?;
        Self::assemble(&root_der, root_key, &intermediate_der, intermediate_key)
    }

    /// Loads a CA whose issuing (intermediate) key lives elsewhere (in an HSM): the root and
    /// intermediate certificates from their PEM texts, and `intermediate_key`. The checks are
    /// [`CaKeys::from_pem`]'s; no root key is kept.
    pub fn from_certificates_and_key(
        root_cert: &str,
        intermediate_cert: &str,
        intermediate_key: SigningKey,
    ) -> Result<Self, CaError> {
        let root_der = first_certificate("root certificate", root_cert)?;
        let intermediate_der = first_certificate("intermediate certificate", intermediate_cert)?;
        Self::assemble(&root_der, None, &intermediate_der, intermediate_key)
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
