//! The certificate-transparency step of issuance: a [`PrecertLogger`] logs a precertificate and
//! answers with a TLS-encoded `SignedCertificateTimestampList` (RFC 6962 §3.3) that the final
//! certificate embeds.

use crate::{CaError, CtLogError, IssuanceError, KeyMaterialError};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use der::{Decode, Encode};
use std::future::Future;
use std::pin::Pin;

/// A boxed future, as the traits of this crate return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Logs precertificates in a CT log.
///
/// `add_pre_chain` logs `precert_der` (a precertificate with the critical poison extension,
/// signed by `chain[0]`) and returns the TLS `SignedCertificateTimestampList` holding the
/// log's SCT for it. It may be called concurrently. An error is the log's fault (the CA answers
/// 500): the CA only sends precertificates it made.
pub trait PrecertLogger: Send + Sync {
    /// Logs a precertificate; see the trait documentation.
    fn add_pre_chain<'a>(
        &'a self,
        precert_der: &'a [u8],
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<Vec<u8>, CaError>>;
}

/// Encodes a TLS `SignedCertificateTimestampList` from serialized SCTs (each a TLS
/// `SignedCertificateTimestamp`).
pub fn encode_sct_list(scts: &[Vec<u8>]) -> Result<Vec<u8>, CaError> {
    let too_long = || IssuanceError::SctListTooLong;
    let mut body = Vec::new();
    for sct in scts {
        let len = u16::try_from(sct.len()).map_err(|_| too_long())?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(sct);
    }
    let len = u16::try_from(body.len()).map_err(|_| too_long())?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

/// The `TBSCertificate` a precertificate SCT signs: the precertificate's TBS without the poison
/// extension, re-encoded (RFC 6962 §3.2).
pub fn precert_tbs_without_poison(precert_der: &[u8]) -> Result<Vec<u8>, CaError> {
    let bad = CtLogError::Precertificate;
    let cert = x509_cert::Certificate::from_der(precert_der).map_err(bad)?;
    let mut tbs = cert.tbs_certificate;
    let exts = tbs.extensions.get_or_insert_with(Vec::new);
    let before = exts.len();
    exts.retain(|e| e.extn_id != crate::profile::OID_PRECERT_POISON);
    if exts.len() + 1 != before {
        return Err(CtLogError::MissingPoison.into());
    }
    Ok(tbs.to_der().map_err(bad)?)
}

/// Signs SCTs for precertificates with a P-256 key **without logging them anywhere**. This is
/// not a CT log: it stands in for one in tests and benchmarks, and its SCTs verify like a
/// log's (RFC 6962 §3.2, SHA-256 with ECDSA). The SCT timestamp comes from the clock given.
pub struct UnloggedSctSigner {
    pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
    clock_ms: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for UnloggedSctSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnloggedSctSigner(log id {:02x?})", self.log_id)
    }
}

impl UnloggedSctSigner {
    /// A signer with a fresh P-256 key, stamping SCTs with `clock_ms()` (milliseconds since
    /// the epoch).
    pub fn generate(clock_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Result<Self, CaError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| KeyMaterialError::KeyGeneration)?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref())
                .map_err(|_| KeyMaterialError::KeyGeneration)?;
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned {
            algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
                oid: const_oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
                parameters: Some(
                    der::asn1::Any::encode_from(&const_oid::ObjectIdentifier::new_unwrap(
                        "1.2.840.10045.3.1.7",
                    ))
                    .map_err(KeyMaterialError::Encoding)?,
                ),
            },
            subject_public_key: der::asn1::BitString::from_bytes(pair.public_key().as_ref())
                .map_err(KeyMaterialError::Encoding)?,
        };
        let spki_der = spki.to_der().map_err(KeyMaterialError::Encoding)?;
        let mut log_id = [0u8; 32];
        log_id.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki_der).as_ref(),
        );
        Ok(UnloggedSctSigner {
            pair,
            spki_der,
            log_id,
            clock_ms: Box::new(clock_ms),
        })
    }

    /// The DER `SubjectPublicKeyInfo` of the SCT key.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The log ID: SHA-256 of the key's `SubjectPublicKeyInfo`.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// Signs an SCT for `precert_der` issued by `issuer_spki_der`; returns the serialized SCT.
    pub fn sign_sct(&self, precert_der: &[u8], issuer_spki_der: &[u8]) -> Result<Vec<u8>, CaError> {
        let tbs = precert_tbs_without_poison(precert_der)?;
        let timestamp = (self.clock_ms)();
        let issuer_key_hash =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issuer_spki_der);
        let tbs_len = u32::try_from(tbs.len())
            .ok()
            .filter(|l| *l < (1 << 24))
            .ok_or(CtLogError::TbsTooLong)?;
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(issuer_key_hash.as_ref());
        let [_, tbs_len @ ..] = tbs_len.to_be_bytes(); // uint24
        signed.extend_from_slice(&tbs_len);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let sig = self
            .pair
            .sign(&SystemRandom::new(), &signed)
            .map_err(|_| CtLogError::Signing)?;
        let sig = sig.as_ref();
        let sig_len = u16::try_from(sig.len()).map_err(|_| CtLogError::SignatureTooLong)?;
        let mut sct = vec![0u8];
        sct.extend_from_slice(&self.log_id);
        sct.extend_from_slice(&timestamp.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]); // sha256, ecdsa
        sct.extend_from_slice(&sig_len.to_be_bytes());
        sct.extend_from_slice(sig);
        Ok(sct)
    }
}

impl PrecertLogger for UnloggedSctSigner {
    fn add_pre_chain<'a>(
        &'a self,
        precert_der: &'a [u8],
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<Vec<u8>, CaError>> {
        Box::pin(async move {
            let issuer = chain.first().ok_or(CtLogError::EmptyChain)?;
            let issuer =
                x509_cert::Certificate::from_der(issuer).map_err(CtLogError::IssuerCertificate)?;
            let issuer_spki = issuer
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(CtLogError::IssuerKey)?;
            let sct = self.sign_sct(precert_der, &issuer_spki)?;
            encode_sct_list(&[sct])
        })
    }
}
