//! A root kept offline: the root is made on a machine that never serves, the server makes
//! only the intermediate's key and a PKCS#10 request for it, the offline machine signs the
//! request with the root, and the server installs the chain it gets back (see
//! [`crate::store::install_chain`]). The root's private key never reaches the server.
//!
//! Pure: time, randomness and keys are arguments; the files are [`crate::store`]'s.
//!
//! ```
//! # fn main() -> Result<(), signet_ca::OfflineCaError> {
//! use signet_ca::{CaAlgorithm, offline};
//! let rng = aws_lc_rs::rand::SystemRandom::new();
//! let now = 1_800_000_000;
//! // Offline machine:
//! let root = offline::generate_root(now, CaAlgorithm::EcdsaP384, "CN=Example Root,O=Example", &rng)?;
//! // Server: keeps `key`, sends `csr` to the offline machine.
//! let (key, csr) =
//!     offline::generate_intermediate_key_and_csr(CaAlgorithm::EcdsaP256, "CN=Example CA", &rng)?;
//! // Offline machine: five years.
//! let intermediate = offline::issue_intermediate(&root, csr.as_bytes(), now, 5 * 365 * 86_400, &rng)?;
//! let chain = offline::chain_pem(&intermediate, root.certificate())?;
//! // Server: checks the chain against its key.
//! offline::check_chain_for_key(&chain, &key)?;
//! # Ok(()) }
//! ```

use crate::keys::{pem_cert, pem_key, random_serial};
use crate::profile::{CaCertParams, ca_certificate, parse_subject};
use crate::request::check_csr;
use crate::signing_key::{CaAlgorithm, SigningKey};
use crate::{CaError, CsrError, IssuanceError, KeyMaterialError};
use aws_lc_rs::rand::SecureRandom;
use der::asn1::BitString;
use der::{Decode, Encode};
use signet_x509::{Certificate, KeyKind};
use std::path::PathBuf;
use x509_cert::request::{CertReq, CertReqInfo, Version as RequestVersion};

pub use crate::keys::{DEFAULT_INTERMEDIATE_SUBJECT, DEFAULT_ROOT_SUBJECT};

/// Why an offline-root step failed. The variants that know a file name it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineCaError {
    /// The key material, a certificate or the request is unusable, or a file cannot be read
    /// or written (the [`CaError`] names the file).
    #[error(transparent)]
    Ca(#[from] CaError),
    /// What is wrong with a file named on the command line or in the data directory.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<OfflineCaError>,
    },
    /// A file to be created exists: key material is never overwritten.
    #[error("{} exists; refusing to overwrite it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// `signet ca init-intermediate` on a data directory whose CA already has key material
    /// (made by an earlier start or an earlier init).
    #[error(
        "{} exists: this CA already has key material; an intermediate is made for an empty CA \
         directory, or (the next one, kept pending) for a CA serving under an offline root",
        path.display()
    )]
    KeyMaterialPresent {
        /// The file found.
        path: PathBuf,
    },
    /// A chain given to a CA without an intermediate key: `signet ca init-intermediate` was
    /// not run on this data directory.
    #[error(
        "{} is missing: create the intermediate key and its request with `signet ca \
         init-intermediate` first",
        path.display()
    )]
    NoIntermediateKey {
        /// The key file expected.
        path: PathBuf,
    },
    /// A chain file that is not the intermediate followed by the root.
    #[error("expected 2 certificates (the intermediate, then the root), found {found}")]
    ChainLength {
        /// How many certificates the file holds.
        found: usize,
    },
    /// The chain's intermediate certificate is for another key than this CA's: the chain was
    /// signed for another data directory's request.
    #[error(
        "the intermediate certificate is not for this CA's intermediate key ({}): sign this data \
         directory's ca-intermediate.csr",
        key.display()
    )]
    ChainKeyMismatch {
        /// The CA's intermediate key file.
        key: PathBuf,
    },
    /// A chain differing from the one already installed.
    #[error(
        "differs from the CA chain already installed ({}); a new intermediate goes through \
         `signet up --rotate ca`",
        installed.display()
    )]
    ChainDiffers {
        /// The installed certificate that differs.
        installed: PathBuf,
    },
    /// `signet ca init-intermediate` on a CA that serves while a new intermediate already
    /// awaits its chain.
    #[error(
        "{} exists: a new intermediate already awaits its chain; sign its request with the \
         offline root and start with `signet up --ca-chain CHAIN.pem --rotate ca`, or delete \
         the pending files to make another",
        path.display()
    )]
    PendingIntermediate {
        /// The pending file found.
        path: PathBuf,
    },
    /// The chain of the pending intermediate given without `--rotate ca`.
    #[error(
        "is the chain of the next intermediate, pending in {}: install it with `signet up \
         --ca-chain CHAIN.pem --rotate ca`",
        pending.display()
    )]
    ChainIsPending {
        /// The pending key file.
        pending: PathBuf,
    },
    /// `--rotate ca` with a chain, but no new intermediate key to install: neither a pending
    /// key file ([`crate::store::PENDING_DIR`]) nor a key in an HSM.
    #[error(
        "no new intermediate key ({} is missing): make one with `signet ca init-intermediate` \
         (or, for a key in an HSM, start with its --pkcs11-key ca=LABEL), sign its request \
         with the offline root and give that chain",
        path.display()
    )]
    NoPendingIntermediate {
        /// The pending key file expected.
        path: PathBuf,
    },
    /// `--rotate ca` with the chain the CA already serves (the same chain given twice).
    #[error(
        "is the chain this CA already serves ({}): a rotation needs a new intermediate; make \
         one with `signet ca init-intermediate` and sign its request",
        installed.display()
    )]
    ChainAlreadyServed {
        /// The installed intermediate certificate.
        installed: PathBuf,
    },
    /// A new intermediate that is not valid now (the offline machine's clock is ahead, or
    /// the chain is old): it would issue certificates that do not verify.
    #[error(
        "its intermediate is valid from {not_before} to {not_after} (Unix seconds), not now \
         ({now}); check the offline machine's clock, or sign the request again"
    )]
    NotValidNow {
        /// The intermediate's start.
        not_before: i64,
        /// The intermediate's end.
        not_after: i64,
        /// Now.
        now: i64,
    },
    /// A new intermediate's chain ends in another root than the one the CA serves under.
    #[error(
        "its root is not this CA's root ({}): a new intermediate must be signed by the same \
         offline root",
        installed.display()
    )]
    OtherRoot {
        /// The CA's root certificate file.
        installed: PathBuf,
    },
    /// `--rotate ca` with a chain on a CA whose root key is in the data directory (no
    /// offline root to sign an intermediate).
    #[error(
        "{} exists: this CA's root is not offline, so it has no intermediate to rotate under \
         it; rotate without --ca-chain (a new root and intermediate)",
        path.display()
    )]
    RootNotOffline {
        /// The root key file.
        path: PathBuf,
    },
    /// A key file where the new intermediate's key is in an HSM.
    #[error(
        "{} exists, but the new intermediate's key is in an HSM ({location}): remove the file",
        path.display()
    )]
    UnexpectedKeyFile {
        /// The key file.
        path: PathBuf,
        /// The HSM key.
        location: String,
    },
    /// A rotation step found different files under a file's old and new names: the data
    /// directory was changed by hand during an interrupted rotation.
    #[error(
        "{} and {} both exist and differ: the CA directory changed during an interrupted \
         rotation; keep the one the trusted root names and remove the other",
        from.display(),
        to.display()
    )]
    MoveConflict {
        /// The file to move.
        from: PathBuf,
        /// Where it was to go.
        to: PathBuf,
    },
    /// A request for a key the CA cannot sign leaves with.
    #[error("the request's key is {kind:?}; the intermediate's key must be ECDSA P-256 or P-384")]
    UnsupportedIntermediateKey {
        /// The key's kind.
        kind: KeyKind,
    },
    /// The intermediate's validity would not lie inside the root's.
    #[error(
        "the intermediate would be valid from {not_before} to {not_after} (Unix seconds), \
         outside the root's validity {root_not_before} to {root_not_after}; give a shorter \
         validity"
    )]
    OutsideRootValidity {
        /// The intermediate's start.
        not_before: i64,
        /// The intermediate's end.
        not_after: i64,
        /// The root's start.
        root_not_before: i64,
        /// The root's end.
        root_not_after: i64,
    },
    /// A validity that is not a positive number of seconds.
    #[error("validity of {seconds} seconds: must be positive")]
    Validity {
        /// The validity asked for.
        seconds: i64,
    },
}

impl OfflineCaError {
    /// `self`, naming the file it is about.
    #[must_use]
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        OfflineCaError::InFile {
            path: path.into(),
            source: Box::new(self),
        }
    }
}

macro_rules! via_ca_error {
    ($($error:ty),*) => {$(
        impl From<$error> for OfflineCaError {
            fn from(error: $error) -> Self {
                OfflineCaError::Ca(error.into())
            }
        }
    )*};
}
via_ca_error!(KeyMaterialError, CsrError, IssuanceError);

/// A root CA: its certificate and its private key. Only the offline machine has one.
pub struct RootCa {
    certificate: Certificate,
    key: SigningKey,
}

impl std::fmt::Debug for RootCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCa")
            .field("subject", &self.certificate.subject())
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// Loads a root from its certificate and key PEM texts, checking that the certificate is
    /// a self-signed CA certificate and the key is its key.
    pub fn from_pem(certificate: &str, key: &str) -> Result<RootCa, CaError> {
        let certificate = parse_root_certificate(certificate)?;
        let key = pem_key(key)?;
        if certificate.public_key().spki_der() != key.spki_der()?.as_slice() {
            return Err(KeyMaterialError::RootKeyMismatch.into());
        }
        Ok(RootCa { certificate, key })
    }

    /// A root from its certificate's PEM text and a key kept elsewhere (in an HSM), with
    /// [`RootCa::from_pem`]'s checks.
    pub fn from_certificate_and_key(certificate: &str, key: SigningKey) -> Result<RootCa, CaError> {
        let certificate = parse_root_certificate(certificate)?;
        if certificate.public_key().spki_der() != key.spki_der()?.as_slice() {
            return Err(KeyMaterialError::RootKeyMismatch.into());
        }
        Ok(RootCa { certificate, key })
    }

    /// The root certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String, CaError> {
        pem_cert(self.certificate.der())
    }

    /// The private key as PKCS#8 PEM.
    pub fn key_pem(&self) -> Result<String, CaError> {
        self.key.to_pkcs8_pem()
    }
}

/// The root certificate of a PEM text: the first `CERTIFICATE` block, a self-signed CA.
fn parse_root_certificate(text: &str) -> Result<Certificate, CaError> {
    let what = "root certificate";
    let der = signet_x509::decode_pem(text, "CERTIFICATE")
        .map_err(|source| KeyMaterialError::Certificate { what, source })?
        .into_iter()
        .next()
        .ok_or(KeyMaterialError::NoCertificate { what })?;
    let certificate = Certificate::from_der(&der)
        .map_err(|source| KeyMaterialError::Certificate { what, source })?;
    signet_x509::check_trusted_chain(std::slice::from_ref(&certificate))
        .map_err(KeyMaterialError::Chain)?;
    Ok(certificate)
}

/// Generates a self-signed root (`algorithm`, subject `subject` in RFC 4514 form) as
/// [`crate::CaKeys::generate`] makes one: path length 1, valid from `now` for
/// [`crate::CA_VALIDITY_SECONDS`]. Key and serial come from `rng`.
pub fn generate_root(
    now: i64,
    algorithm: CaAlgorithm,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<RootCa, CaError> {
    generate_root_with_key(now, SigningKey::generate(algorithm, rng)?, subject, rng)
}

/// [`generate_root`] with a key made elsewhere (kept in an HSM, say).
pub fn generate_root_with_key(
    now: i64,
    key: SigningKey,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<RootCa, CaError> {
    let name = parse_subject(subject)?;
    let der = ca_certificate(&CaCertParams {
        subject: &name,
        subject_spki: &key.spki()?,
        serial: random_serial(rng)?,
        not_before: now,
        not_after: now.saturating_add(crate::CA_VALIDITY_SECONDS),
        path_len: Some(1),
        issuer_name: &name,
        issuer_key: &key,
    })?;
    let certificate =
        Certificate::from_der(&der).map_err(|source| KeyMaterialError::Certificate {
            what: "generated root",
            source,
        })?;
    Ok(RootCa { certificate, key })
}

/// Generates the intermediate's key (`algorithm`, from `rng`) and a PKCS#10 request for it
/// (PEM `CERTIFICATE REQUEST`, subject `subject` in RFC 4514 form, no attributes), signed by
/// that key as proof of possession.
pub fn generate_intermediate_key_and_csr(
    algorithm: CaAlgorithm,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<(SigningKey, String), CaError> {
    let key = SigningKey::generate(algorithm, rng)?;
    let pem = intermediate_csr(&key, subject)?;
    Ok((key, pem))
}

/// A PKCS#10 request (PEM `CERTIFICATE REQUEST`, subject `subject` in RFC 4514 form, no
/// attributes) for the intermediate key `key` (one kept in an HSM, say), signed by it as
/// proof of possession.
pub fn intermediate_csr(key: &SigningKey, subject: &str) -> Result<String, CaError> {
    let enc = |what: &'static str| move |source| IssuanceError::Encoding { what, source };
    let info = CertReqInfo {
        version: RequestVersion::V1,
        subject: parse_subject(subject)?,
        public_key: key.spki()?,
        attributes: Default::default(),
    };
    let signature = key.sign(&info.to_der().map_err(enc("CertificationRequestInfo"))?)?;
    let request = CertReq {
        info,
        algorithm: key.signature_algorithm(),
        signature: BitString::from_bytes(&signature).map_err(enc("signature"))?,
    };
    let der = request.to_der().map_err(enc("CertificationRequest"))?;
    let pem = pem_rfc7468::encode_string("CERTIFICATE REQUEST", pem_rfc7468::LineEnding::LF, &der)
        .map_err(IssuanceError::Pem)?;
    Ok(pem)
}

/// Issues the intermediate certificate for the request `csr` (PEM or DER) with `root`: after
/// checking the request's self-signature, a CA certificate for the request's subject and key
/// with path length 0 and key usage keyCertSign + cRLSign, valid from `now` for
/// `validity_seconds`, which must end within the root's validity, with a random serial from
/// `rng`. The request's attributes and extensions are ignored.
pub fn issue_intermediate(
    root: &RootCa,
    csr: &[u8],
    now: i64,
    validity_seconds: i64,
    rng: &dyn SecureRandom,
) -> Result<Certificate, OfflineCaError> {
    // The self-signature and the key's checks.
    let subject_key = check_csr(csr)?;
    if !matches!(
        subject_key.key.kind(),
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384
    ) {
        return Err(OfflineCaError::UnsupportedIntermediateKey {
            kind: subject_key.key.kind(),
        });
    }
    let der = csr_der(csr)?;
    let request = CertReq::from_der(&der).map_err(CsrError::Pkcs10)?;
    if validity_seconds <= 0 {
        return Err(OfflineCaError::Validity {
            seconds: validity_seconds,
        });
    }
    let not_after = now
        .checked_add(validity_seconds)
        .ok_or(IssuanceError::TimeOverflow(now))?;
    let root_cert = &root.certificate;
    if now < root_cert.not_before() || not_after > root_cert.not_after() {
        return Err(OfflineCaError::OutsideRootValidity {
            not_before: now,
            not_after,
            root_not_before: root_cert.not_before(),
            root_not_after: root_cert.not_after(),
        });
    }
    let der = ca_certificate(&CaCertParams {
        subject: &request.info.subject,
        subject_spki: &subject_key.spki,
        serial: random_serial(rng)?,
        not_before: now,
        not_after,
        path_len: Some(0),
        issuer_name: &root_cert.inner().tbs_certificate.subject,
        issuer_key: &root.key,
    })?;
    let what = "issued intermediate";
    let certificate = Certificate::from_der(&der)
        .map_err(|source| KeyMaterialError::Certificate { what, source })?;
    signet_x509::check_trusted_chain(&[certificate.clone(), root_cert.clone()])
        .map_err(KeyMaterialError::Chain)?;
    Ok(certificate)
}

/// The DER of a request given as PEM or DER (already checked by [`check_csr`]).
fn csr_der(csr: &[u8]) -> Result<Vec<u8>, CaError> {
    if !csr.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(csr.to_vec());
    }
    let text = std::str::from_utf8(csr).map_err(CsrError::PemNotUtf8)?;
    let (_, der) = pem_rfc7468::decode_vec(text.trim().as_bytes()).map_err(CsrError::Pem)?;
    Ok(der)
}

/// The chain file's text: the intermediate, then the root, as PEM.
pub fn chain_pem(intermediate: &Certificate, root: &Certificate) -> Result<String, CaError> {
    Ok(pem_cert(intermediate.der())? + &pem_cert(root.der())?)
}

/// Parses a chain file (`CERTIFICATE` blocks: the intermediate, then the root) and checks it
/// for `key`: the intermediate is issued by the root, both are CA certificates allowed to
/// issue leaves below the intermediate, the root is self-signed, and the intermediate's
/// public key is `key`'s. Returns `[intermediate, root]`.
pub fn check_chain_for_key(
    chain: &str,
    key: &SigningKey,
) -> Result<[Certificate; 2], OfflineCaError> {
    let certificates = parse_chain(chain)?;
    let [intermediate, _] = &certificates;
    if intermediate.public_key().spki_der() != key.spki_der()?.as_slice() {
        return Err(OfflineCaError::ChainKeyMismatch {
            key: PathBuf::from(crate::store::INTERMEDIATE_KEY_FILE),
        });
    }
    Ok(certificates)
}

/// Parses a chain file (`CERTIFICATE` blocks: the intermediate, then the root) and checks
/// it as [`check_chain_for_key`] does, the key aside. Returns `[intermediate, root]`.
pub fn parse_chain(chain: &str) -> Result<[Certificate; 2], OfflineCaError> {
    let what = "CA chain";
    let blocks = signet_x509::decode_pem(chain, "CERTIFICATE")
        .map_err(|source| KeyMaterialError::Certificate { what, source })?;
    let [intermediate, root] =
        <[Vec<u8>; 2]>::try_from(blocks).map_err(|blocks| OfflineCaError::ChainLength {
            found: blocks.len(),
        })?;
    let parse = |what: &'static str, der: &[u8]| {
        Certificate::from_der(der).map_err(|source| KeyMaterialError::Certificate { what, source })
    };
    let certificates = [
        parse("intermediate certificate", &intermediate)?,
        parse("root certificate", &root)?,
    ];
    signet_x509::check_trusted_chain(&certificates).map_err(KeyMaterialError::Chain)?;
    Ok(certificates)
}
