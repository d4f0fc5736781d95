//! `POST /api/v2/signingCert` requests: the two JSON forms Fulcio accepts, the subject key
//! checks, the CSR self-signature and the proof of possession.

use crate::{CaError, CsrError, RequestError, SubjectKeyError};
use base64::Engine;
use der::{Decode, Reader};
use serde::Deserialize;
use signet_x509::{HashAlgorithm, KeyKind, PublicKey};

/// Smallest RSA modulus certified, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus certified, in bits.
pub const MAX_RSA_BITS: usize = 4096;

/// The body of `POST /api/v2/signingCert` (Fulcio's `CreateSigningCertificateRequest` in proto
/// JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertRequest {
    /// The token, when sent in the body.
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// Form (b): a public key and a proof of possession.
    #[serde(default)]
    pub public_key_request: Option<PublicKeyRequest>,
    /// Form (a): base64 of a PEM (or DER) PKCS#10 CSR.
    #[serde(default)]
    pub certificate_signing_request: Option<String>,
}

/// `credentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The OIDC ID token.
    #[serde(default)]
    pub oidc_identity_token: Option<String>,
}

/// `publicKeyRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyRequest {
    /// The key.
    pub public_key: PublicKeyField,
    /// Base64 signature over the token's subject with the key.
    pub proof_of_possession: String,
}

/// `publicKeyRequest.publicKey`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyField {
    /// `ECDSA`, `ED25519`, `RSA_PSS` or unspecified.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// PEM `PUBLIC KEY` (DER base64 also accepted).
    pub content: String,
}

/// A subject key that passed the checks: the parsed key and its `SubjectPublicKeyInfo`.
#[derive(Debug, Clone)]
pub struct SubjectKey {
    /// The key.
    pub key: PublicKey,
    /// As x509-cert's type, for the certificate.
    pub spki: x509_cert::spki::SubjectPublicKeyInfoOwned,
}

fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize, CaError> {
    let bad = |e: der::Error| CaError::from(SubjectKeyError::RsaKey(e));
    let mut reader = der::SliceReader::new(pkcs1).map_err(bad)?;
    let modulus = reader
        .sequence(|r| {
            let n = der::asn1::UintRef::decode(r)?;
            let _e = der::asn1::UintRef::decode(r)?;
            Ok(n)
        })
        .map_err(bad)?;
    let bytes = modulus.as_bytes();
    let Some(first) = bytes.first() else {
        return Err(SubjectKeyError::RsaModulusZero.into());
    };
    // At most 8: widening, not truncating.
    let leading = first.leading_zeros() as usize;
    Ok(bytes.len().saturating_mul(8).saturating_sub(leading))
}

/// Checks that `spki_der` is a key the CA certifies: ECDSA P-256/P-384/P-521, RSA of 2048 to
/// 4096 bits, or Ed25519.
pub fn check_subject_key(spki_der: &[u8]) -> Result<SubjectKey, CaError> {
    let key = PublicKey::from_spki_der(spki_der).map_err(SubjectKeyError::Unsupported)?;
    if key.kind() == KeyKind::Rsa {
        let bits = rsa_modulus_bits(key.raw_key())?;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(SubjectKeyError::RsaSize { bits }.into());
        }
    }
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(key.spki_der())
        .map_err(SubjectKeyError::Spki)?;
    Ok(SubjectKey { key, spki })
}

/// Decodes base64 (standard, with or without padding; URL-safe accepted too).
pub(crate) fn base64_decode(field: &'static str, text: &str) -> Result<Vec<u8>, CaError> {
    let text: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(&text).ok())
        .ok_or(RequestError::NotBase64 { field }.into())
}

/// Parses a PKCS#10 CSR (PEM or DER), checks its self-signature and its key, and returns
/// the key.
pub fn check_csr(csr: &[u8]) -> Result<SubjectKey, CaError> {
    let der = if csr.trim_ascii_start().starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(csr).map_err(CsrError::PemNotUtf8)?;
        let (label, der) =
            pem_rfc7468::decode_vec(text.trim().as_bytes()).map_err(CsrError::Pem)?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(CsrError::WrongPemLabel {
                label: label.to_owned(),
            }
            .into());
        }
        der
    } else {
        csr.to_vec()
    };
    let req = x509_cert::request::CertReq::from_der(&der).map_err(CsrError::Pkcs10)?;
    let spki_der = der::Encode::to_der(&req.info.public_key).map_err(CsrError::PublicKey)?;
    let subject = check_subject_key(&spki_der)?;
    let info = signet_x509::split_signed(&der).map_err(CsrError::Structure)?;
    let signature = req
        .signature
        .as_bytes()
        .ok_or(CsrError::UnalignedSignature)?;
    subject
        .key
        .verify_x509_signature(&req.algorithm.oid.to_string(), info, signature)
        .map_err(|e| match e {
            signet_x509::X509Error::UnsupportedSignatureAlgorithm(algorithm) => {
                CsrError::UnsupportedSignatureAlgorithm { algorithm }.into()
            }
            _ => CaError::CsrSignature,
        })?;
    Ok(subject)
}

/// Parses the `publicKey` of form (b) and checks it.
pub fn check_public_key(field: &PublicKeyField) -> Result<SubjectKey, CaError> {
    let content = field.content.trim();
    let der = if content.starts_with("-----BEGIN") {
        let (label, der) =
            pem_rfc7468::decode_vec(content.as_bytes()).map_err(RequestError::PublicKeyPem)?;
        if label != "PUBLIC KEY" {
            return Err(SubjectKeyError::WrongPemLabel {
                label: label.to_owned(),
            }
            .into());
        }
        der
    } else {
        base64_decode("publicKey.content", content)?
    };
    let subject = check_subject_key(&der)?;
    let kind = subject.key.kind();
    let algorithm = match field.algorithm.as_deref() {
        None | Some("") | Some("PUBLIC_KEY_ALGORITHM_UNSPECIFIED") => return Ok(subject),
        Some(algorithm) => algorithm,
    };
    let matches = match algorithm {
        "ECDSA" => matches!(
            kind,
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
        ),
        "ED25519" => kind == KeyKind::Ed25519,
        "RSA_PSS" => kind == KeyKind::Rsa,
        other => return Err(RequestError::UnknownAlgorithm(other.to_owned()).into()),
    };
    if !matches {
        return Err(SubjectKeyError::AlgorithmMismatch {
            algorithm: algorithm.to_owned(),
            kind,
        }
        .into());
    }
    Ok(subject)
}

/// Checks a proof of possession: `signature` (base64) by `key` over `challenge`. ECDSA and RSA
/// (PKCS#1 v1.5) signatures are over SHA-256 of the challenge, or over the key's default hash
/// (SHA-384 for P-384, SHA-512 for P-521); Ed25519 is pure.
pub fn check_proof_of_possession(
    key: &PublicKey,
    challenge: &str,
    signature_b64: &str,
) -> Result<(), CaError> {
    let refused = || CaError::ProofOfPossession {
        challenge: challenge.to_owned(),
    };
    let signature = base64_decode("proofOfPossession", signature_b64)?;
    if key
        .verify_with_hash(challenge.as_bytes(), &signature, HashAlgorithm::Sha256)
        .is_ok()
    {
        return Ok(());
    }
    if key.default_hash() != HashAlgorithm::Sha256 {
        return key
            .verify(challenge.as_bytes(), &signature)
            .map_err(|_| refused());
    }
    Err(refused())
}
