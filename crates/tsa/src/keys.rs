//! The TSA's signing key and its certificate chain: generated in memory, or loaded from PEM.

use crate::TsaError;
use crate::oid;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair,
};
use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use der::{Decode, Encode};
use signet_signer::{MemorySigner, SharedSigner, SignerAlgorithm};
use signet_x509::Certificate;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// How long generated certificates are valid: ten years.
pub const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// How far before "now" generated certificates start, to allow for clock skew.
const BACKDATE: u64 = 60;

/// Subject of the generated root.
const ROOT_SUBJECT: &str = "CN=signet timestamp root,O=signet";
/// Subject of the generated TSA certificate.
const TSA_SUBJECT: &str = "CN=signet timestamp authority,O=signet";

/// The ECDSA curve (and with it the hash) the TSA signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256.
    EcdsaP256Sha256,
    /// ECDSA P-384 with SHA-384.
    EcdsaP384Sha384,
}

impl SigningAlgorithm {
    fn aws(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            SigningAlgorithm::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            SigningAlgorithm::EcdsaP384Sha384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    /// `ecdsa-with-SHA256` or `ecdsa-with-SHA384`, without parameters.
    pub(crate) fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            SigningAlgorithm::EcdsaP256Sha256 => oid::ECDSA_WITH_SHA256,
            SigningAlgorithm::EcdsaP384Sha384 => oid::ECDSA_WITH_SHA384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// The digest the signature uses, as the CMS `digestAlgorithm` (parameters absent).
    pub(crate) fn digest_algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            SigningAlgorithm::EcdsaP256Sha256 => oid::SHA256,
            SigningAlgorithm::EcdsaP384Sha384 => oid::SHA384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            SigningAlgorithm::EcdsaP256Sha256 => &digest::SHA256,
            SigningAlgorithm::EcdsaP384Sha384 => &digest::SHA384,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// The TSA's signing key with its certificate chain (TSA certificate first, root last).
///
/// The key is never printed: `Debug` shows the algorithm and the certificate subject only.
pub struct TsaKeys {
    key: SharedSigner,
    algorithm: SigningAlgorithm,
    chain: Vec<Certificate>,
    /// The chain, and the key as PKCS#8, in PEM: made once, where an error can be returned.
    /// `key_pem` is empty for a key kept elsewhere (an HSM).
    chain_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for TsaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaKeys")
            .field("algorithm", &self.algorithm)
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl TsaKeys {
    /// Generates a self-signed root CA and a TSA certificate issued by it, each with a new key,
    /// valid from a minute before `now_unix` for [`CERTIFICATE_LIFETIME`].
    ///
    /// The root's key signs the TSA certificate and is then dropped: nothing more is ever
    /// issued under this root. The TSA certificate has a critical extended key usage of
    /// `id-kp-timeStamping` only, a critical key usage of `digitalSignature`, and subject and
    /// authority key identifiers. Keys and serial numbers come from `rng`.
    pub fn generate(
        now_unix: i64,
        algorithm: SigningAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<TsaKeys, TsaError> {
        let (key, pkcs8) = new_key(algorithm, rng, "the TSA signing key")?;
        let chain = Self::generate_chain(now_unix, &key, algorithm, rng)?;
        TsaKeys::new(memory_signer(&pkcs8)?, Some(pkcs8), algorithm, chain)
    }

    /// [`TsaKeys::generate`] for a signing key kept elsewhere (an HSM, ECDSA P-256 or P-384):
    /// a new root, dropped after it issued the TSA certificate for `signer`'s public key.
    ///
    /// # Errors
    /// [`TsaError::UnsupportedSigner`] for a key of another algorithm.
    pub fn generate_for_signer(
        now_unix: i64,
        signer: SharedSigner,
        rng: &dyn SecureRandom,
    ) -> Result<TsaKeys, TsaError> {
        let algorithm = signer_algorithm(signer.as_ref())?;
        let chain =
            Self::generate_chain_for_spki(now_unix, signer.public_key_spki_der(), algorithm, rng)?;
        TsaKeys::new(signer, None, algorithm, chain)
    }

    /// Uses `signer` (kept in an HSM) with its certificate chain (PEM, TSA certificate
    /// first), with [`TsaKeys::from_pem`]'s checks.
    pub fn from_signer_and_chain_pem(
        signer: SharedSigner,
        chain_pem: &str,
    ) -> Result<TsaKeys, TsaError> {
        let algorithm = signer_algorithm(signer.as_ref())?;
        let chain = Certificate::chain_from_pem(chain_pem).map_err(|e| TsaError::BadChain {
            reason: e.to_string(),
        })?;
        TsaKeys::new(signer, None, algorithm, chain)
    }

    fn generate_chain(
        now_unix: i64,
        key: &EcdsaKeyPair,
        algorithm: SigningAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<Vec<Certificate>, TsaError> {
        Self::generate_chain_for_spki(now_unix, &spki_der(key)?, algorithm, rng)
    }

    fn generate_chain_for_spki(
        now_unix: i64,
        tsa_spki: &[u8],
        algorithm: SigningAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<Vec<Certificate>, TsaError> {
        let (root_key, _) = new_key(algorithm, rng, "the TSA root key")?;
        let not_before = u64::try_from(now_unix)
            .ok()
            .and_then(|now| now.checked_sub(BACKDATE))
            .ok_or(TsaError::BadChain {
                reason: format!("cannot issue certificates at time {now_unix}"),
            })?;
        let validity = validity(not_before)?;
        let root_name = name(ROOT_SUBJECT)?;
        let root_spki = spki_der(&root_key)?;
        let root_der = issue(
            &IssueParams {
                issuer_key: &root_key,
                algorithm,
                issuer: &root_name,
                issuer_spki: &root_spki,
                subject: &root_name,
                subject_spki: &root_spki,
                validity,
                ca: true,
            },
            rng,
        )?;
        let tsa_der = issue(
            &IssueParams {
                issuer_key: &root_key,
                algorithm,
                issuer: &root_name,
                issuer_spki: &root_spki,
                subject: &name(TSA_SUBJECT)?,
                subject_spki: tsa_spki,
                validity,
                ca: false,
            },
            rng,
        )?;
        Ok(vec![parse_cert(&tsa_der)?, parse_cert(&root_der)?])
    }

    /// Loads a PKCS#8 ECDSA P-256 or P-384 private key (PEM `PRIVATE KEY`) and its certificate
    /// chain (PEM, TSA certificate first, then its issuers).
    ///
    /// The first certificate must hold the key's public key and have `id-kp-timeStamping` as
    /// a critical extended key usage, as verifiers require.
    pub fn from_pem(signing_key_pem: &str, chain_pem: &str) -> Result<TsaKeys, TsaError> {
        let (label, pkcs8) = pem_rfc7468::decode_vec(signing_key_pem.trim().as_bytes())
            .map_err(|_| TsaError::BadSigningKey { reason: "not PEM" })?;
        if label != "PRIVATE KEY" {
            return Err(TsaError::BadSigningKey {
                reason: "PEM label is not PRIVATE KEY",
            });
        }
        let algorithm = [
            SigningAlgorithm::EcdsaP256Sha256,
            SigningAlgorithm::EcdsaP384Sha384,
        ]
        .into_iter()
        .find(|alg| EcdsaKeyPair::from_pkcs8(alg.aws(), &pkcs8).is_ok())
        .ok_or(TsaError::BadSigningKey {
            reason: "not a PKCS#8 ECDSA P-256 or P-384 key",
        })?;
        let chain = Certificate::chain_from_pem(chain_pem).map_err(|e| TsaError::BadChain {
            reason: e.to_string(),
        })?;
        TsaKeys::new(memory_signer(&pkcs8)?, Some(pkcs8), algorithm, chain)
    }

    fn new(
        key: SharedSigner,
        pkcs8: Option<Vec<u8>>,
        algorithm: SigningAlgorithm,
        chain: Vec<Certificate>,
    ) -> Result<TsaKeys, TsaError> {
        let bad = |reason: &str| TsaError::BadChain {
            reason: reason.to_owned(),
        };
        let leaf = chain.first().ok_or_else(|| bad("no certificates"))?;
        if leaf.public_key().spki_der() != key.public_key_spki_der() {
            return Err(bad("the first certificate is not for the signing key"));
        }
        let (critical, ekus) = leaf.extended_key_usage().map_err(|e| bad(&e.to_string()))?;
        if !critical || !ekus.contains(&signet_x509::oid::EKU_TIME_STAMPING.to_string()) {
            return Err(bad(
                "the TSA certificate lacks a critical timeStamping extended key usage",
            ));
        }
        let chain_pem = chain
            .iter()
            .map(|cert| pem("CERTIFICATE", cert.der(), "the certificate chain"))
            .collect::<Result<String, _>>()?;
        let key_pem = match &pkcs8 {
            Some(pkcs8) => pem("PRIVATE KEY", pkcs8, "the signing key")?,
            None => String::new(),
        };
        Ok(TsaKeys {
            key,
            algorithm,
            chain,
            chain_pem,
            key_pem,
        })
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The chain: the TSA certificate first, root last.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The chain as PEM, TSA certificate first (what `GET /api/v1/timestamp/certchain` serves
    /// and what a trusted root's `timestampAuthorities[].certChain` lists).
    pub fn chain_pem(&self) -> String {
        self.chain_pem.clone()
    }

    /// The private key as PEM PKCS#8. Secret: write it only to a file of mode 0600. Empty
    /// for a key kept elsewhere ([`TsaKeys::generate_for_signer`],
    /// [`TsaKeys::from_signer_and_chain_pem`]), which has no PKCS#8 form.
    pub fn signing_key_pem(&self) -> String {
        self.key_pem.clone()
    }

    /// Where the signing key lives: `memory` or a `pkcs11:` URI.
    pub fn key_location(&self) -> String {
        self.key.location()
    }

    /// Signs `message` with the TSA key (ASN.1 DER ECDSA signature over its hash).
    ///
    /// # Errors
    /// [`TsaError::SignerUnavailable`] when the key cannot sign (an HSM that failed).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TsaError> {
        self.key.sign(message).map_err(TsaError::SignerUnavailable)
    }
}

/// The in-memory signer of a PKCS#8 key already checked to be ECDSA P-256 or P-384.
fn memory_signer(pkcs8: &[u8]) -> Result<SharedSigner, TsaError> {
    MemorySigner::from_pkcs8(pkcs8)
        .map(|k| Arc::new(k) as SharedSigner)
        .map_err(|_| TsaError::BadSigningKey {
            reason: "not a PKCS#8 ECDSA P-256 or P-384 key",
        })
}

/// The TSA algorithm of a signer kept elsewhere: ECDSA P-256 or P-384 only.
fn signer_algorithm(signer: &dyn signet_signer::Signer) -> Result<SigningAlgorithm, TsaError> {
    match signer.algorithm() {
        SignerAlgorithm::EcdsaP256Sha256 => Ok(SigningAlgorithm::EcdsaP256Sha256),
        SignerAlgorithm::EcdsaP384Sha384 => Ok(SigningAlgorithm::EcdsaP384Sha384),
        other => Err(TsaError::UnsupportedSigner {
            key: signer.location(),
            algorithm: other.name(),
        }),
    }
}

/// PEM of `der`; an error (never an empty file) if it cannot be encoded.
fn pem(label: &str, der: &[u8], what: &'static str) -> Result<String, TsaError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|source| TsaError::PemEncoding { what, source })
}

fn new_key(
    algorithm: SigningAlgorithm,
    rng: &dyn SecureRandom,
    what: &'static str,
) -> Result<(EcdsaKeyPair, Vec<u8>), TsaError> {
    let doc = EcdsaKeyPair::generate_pkcs8(algorithm.aws(), rng)
        .map_err(|_| TsaError::KeyGeneration { what })?;
    let key = EcdsaKeyPair::from_pkcs8(algorithm.aws(), doc.as_ref())
        .map_err(|_| TsaError::KeyGeneration { what })?;
    Ok((key, doc.as_ref().to_vec()))
}

fn spki_der(key: &EcdsaKeyPair) -> Result<Vec<u8>, TsaError> {
    key.public_key()
        .as_der()
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| TsaError::KeyGeneration {
            what: "the public key encoding",
        })
}

fn name(text: &str) -> Result<Name, TsaError> {
    Name::from_str(text).map_err(TsaError::encode("a certificate name"))
}

fn parse_cert(der: &[u8]) -> Result<Certificate, TsaError> {
    Certificate::from_der(der).map_err(|e| TsaError::BadChain {
        reason: e.to_string(),
    })
}

/// A time as X.509 wants it: UTCTime through 2049, GeneralizedTime after.
pub(crate) fn x509_time(unix: u64) -> Result<Time, TsaError> {
    let since_epoch = Duration::from_secs(unix);
    if let Ok(utc) = UtcTime::from_unix_duration(since_epoch) {
        return Ok(Time::UtcTime(utc));
    }
    GeneralizedTime::from_unix_duration(since_epoch)
        .map(Time::GeneralTime)
        .map_err(TsaError::encode("a certificate time"))
}

fn validity(not_before: u64) -> Result<Validity, TsaError> {
    let not_after = not_before.saturating_add(CERTIFICATE_LIFETIME.as_secs());
    Ok(Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    })
}

/// A key identifier: the first 20 bytes of the SHA-256 of the subjectPublicKey bits (RFC 7093
/// method 1).
fn key_identifier(spki_der: &[u8]) -> Result<OctetString, TsaError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(TsaError::encode("a key identifier"))?;
    let hash = digest::digest(&digest::SHA256, spki.subject_public_key.raw_bytes());
    let id: Vec<u8> = hash.as_ref().iter().take(20).copied().collect();
    OctetString::new(id).map_err(TsaError::encode("a key identifier"))
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, TsaError> {
    let der = value.to_der().map_err(TsaError::encode("an extension"))?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(TsaError::encode("an extension"))?,
    })
}

struct IssueParams<'a> {
    issuer_key: &'a EcdsaKeyPair,
    algorithm: SigningAlgorithm,
    issuer: &'a Name,
    issuer_spki: &'a [u8],
    subject: &'a Name,
    subject_spki: &'a [u8],
    validity: Validity,
    /// A root CA (true) or the TSA certificate (false).
    ca: bool,
}

/// Issues a certificate and returns its DER.
fn issue(params: &IssueParams<'_>, rng: &dyn SecureRandom) -> Result<Vec<u8>, TsaError> {
    use const_oid::db::rfc5280 as ext;
    let mut serial = [0u8; 16];
    rng.fill(&mut serial).map_err(|_| TsaError::KeyGeneration {
        what: "a certificate serial number",
    })?;
    // Positive and 16 bytes long in DER.
    if let Some(first) = serial.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    let mut extensions = Vec::new();
    if params.ca {
        extensions.push(extension(
            ext::ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?);
        extensions.push(extension(
            ext::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?);
    } else {
        extensions.push(extension(
            ext::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?);
        extensions.push(extension(
            ext::ID_CE_EXT_KEY_USAGE,
            true,
            &ExtendedKeyUsage(vec![signet_x509::oid::EKU_TIME_STAMPING]),
        )?);
    }
    extensions.push(extension(
        ext::ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(key_identifier(params.subject_spki)?),
    )?);
    if !params.ca {
        extensions.push(extension(
            ext::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_identifier(params.issuer_spki)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(TsaError::encode("a serial number"))?,
        signature: params.algorithm.signature_algorithm(),
        issuer: params.issuer.clone(),
        validity: params.validity,
        subject: params.subject.clone(),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(params.subject_spki)
            .map_err(TsaError::encode("a public key"))?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(TsaError::encode("a certificate"))?;
    let signature = params
        .issuer_key
        .sign(rng, &tbs_der)
        .map_err(|_| TsaError::Sign {
            what: "a certificate",
        })?;
    x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: params.algorithm.signature_algorithm(),
        signature: BitString::from_bytes(signature.as_ref())
            .map_err(TsaError::encode("a certificate signature"))?,
    }
    .to_der()
    .map_err(TsaError::encode("a certificate"))
}
