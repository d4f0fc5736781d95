//! The requests this client sends and the bundle it assembles. Pure: no I/O, no clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{BitString, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use serde_json::{Value, json};
use signet_formats::bundle::{
    Bundle, BundleContent, HashAlgorithm as BundleHash, HashOutput, MEDIA_TYPE_V0_3,
    MessageSignature, TimestampVerificationData, TransparencyLogEntry, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::dsse::{DsseSignature, Envelope};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::key::{KeyAlgorithm, SigningKey};
use crate::{SignError, SigningKeyError};

/// `ecdsa-with-SHA256`.
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384`.
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// `id-sha256`.
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

fn key_err(what: &'static str) -> impl Fn(der::Error) -> SignError {
    move |source| SigningKeyError::Encoding { what, source }.into()
}

/// PEM-encodes DER under `label` (64-column lines, `\n` endings).
pub fn pem(label: &str, der: &[u8]) -> Result<String, SignError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| SigningKeyError::Pem(e).into())
}

/// A PKCS#10 certificate signing request for `key`, with an empty subject, signed by the key
/// (which is the CA's proof that the requester holds it). DER.
pub fn certificate_signing_request(key: &dyn SigningKey) -> Result<Vec<u8>, SignError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(key.public_key_spki_der())
        .map_err(key_err("public key"))?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: Name::default(),
        public_key,
        attributes: SetOfVec::new(),
    };
    let tbs = info.to_der().map_err(key_err("CSR encoding"))?;
    let signature = key.sign(&tbs)?;
    let oid = match key.algorithm() {
        KeyAlgorithm::EcdsaP256Sha256 => ECDSA_SHA256,
        KeyAlgorithm::EcdsaP384Sha384 => ECDSA_SHA384,
    };
    let request = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).map_err(key_err("CSR signature"))?,
    };
    request.to_der().map_err(key_err("CSR encoding"))
}

/// The Fulcio v2 `signingCert` request in its CSR form (the token goes in the
/// `Authorization` header).
pub fn signing_cert_request(csr_der: &[u8]) -> Result<String, SignError> {
    let csr_pem = pem("CERTIFICATE REQUEST", csr_der)?;
    Ok(json!({ "certificateSigningRequest": STANDARD.encode(csr_pem) }).to_string())
}

/// What identifies the signer to a log: a certificate or a bare public key.
#[derive(Debug, Clone, Copy)]
pub enum Verifier<'a> {
    /// The signing certificate (DER).
    Certificate(&'a [u8]),
    /// The public key (DER SubjectPublicKeyInfo).
    PublicKey(&'a [u8]),
}

impl Verifier<'_> {
    fn pem(&self) -> Result<String, SignError> {
        match self {
            Verifier::Certificate(der) => pem("CERTIFICATE", der),
            Verifier::PublicKey(der) => pem("PUBLIC KEY", der),
        }
    }

    fn v2_value(&self, algorithm: KeyAlgorithm) -> Value {
        match self {
            Verifier::Certificate(der) => json!({
                "x509Certificate": { "rawBytes": STANDARD.encode(der) },
                "keyDetails": algorithm.key_details(),
            }),
            Verifier::PublicKey(der) => json!({
                "publicKey": { "rawBytes": STANDARD.encode(der) },
                "keyDetails": algorithm.key_details(),
            }),
        }
    }
}

/// A Rekor v1 `hashedrekord` 0.0.1 proposed entry.
pub fn rekor_v1_hashedrekord(
    digest: &[u8],
    algorithm: KeyAlgorithm,
    signature: &[u8],
    verifier: Verifier<'_>,
) -> Result<String, SignError> {
    let hash_name = match algorithm.hash() {
        signet_x509::HashAlgorithm::Sha384 => "sha384",
        signet_x509::HashAlgorithm::Sha512 => "sha512",
        _ => "sha256",
    };
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": hash_name, "value": hex::encode(digest) } },
            "signature": {
                "content": STANDARD.encode(signature),
                "publicKey": { "content": STANDARD.encode(verifier.pem()?) },
            },
        },
    })
    .to_string())
}

/// A Rekor v1 `dsse` 0.0.1 proposed entry.
pub fn rekor_v1_dsse(envelope: &Envelope, verifier: Verifier<'_>) -> Result<String, SignError> {
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope.to_json(),
                "verifiers": [STANDARD.encode(verifier.pem()?)],
            },
        },
    })
    .to_string())
}

/// A Rekor v2 `CreateEntryRequest` with a `hashedRekordRequestV002`.
pub fn rekor_v2_hashedrekord(
    digest: &[u8],
    algorithm: KeyAlgorithm,
    signature: &[u8],
    verifier: Verifier<'_>,
) -> String {
    json!({
        "hashedRekordRequestV002": {
            "digest": STANDARD.encode(digest),
            "signature": {
                "content": STANDARD.encode(signature),
                "verifier": verifier.v2_value(algorithm),
            },
        },
    })
    .to_string()
}

/// A Rekor v2 `CreateEntryRequest` for a DSSE envelope, as the Rekor v2 specification
/// (§6.1.4) wants it since the `dsse` entry type was removed: a `hashedRekordRequestV002` whose
/// digest is `Hash(PAE(payloadType, payload))`, with the hash that goes with the key (P-256 →
/// SHA-256, P-384 → SHA-384), and whose signature is the envelope's one signature.
pub fn rekor_v2_dsse_as_hashedrekord(
    envelope: &Envelope,
    algorithm: KeyAlgorithm,
    verifier: Verifier<'_>,
) -> Result<String, SignError> {
    let [signature] = envelope.signatures.as_slice() else {
        return Err(SigningKeyError::DsseSignatureCount(envelope.signatures.len()).into());
    };
    let digest = pae_digest(envelope, algorithm);
    Ok(rekor_v2_hashedrekord(
        &digest,
        algorithm,
        &signature.sig,
        verifier,
    ))
}

/// `Hash(PAE(payloadType, payload))` with the hash of `algorithm`.
pub fn pae_digest(envelope: &Envelope, algorithm: KeyAlgorithm) -> Vec<u8> {
    algorithm.hash().digest(&signet_formats::pae(
        &envelope.payload_type,
        &envelope.payload,
    ))
}

/// A Rekor v2 `CreateEntryRequest` with a `dsseRequestV002`: the form the Rekor v2
/// specification removed. signet no longer sends it; kept to test that the log server still
/// accepts it from older clients.
pub fn rekor_v2_dsse(
    envelope: &Envelope,
    algorithm: KeyAlgorithm,
    verifier: Verifier<'_>,
) -> String {
    let signatures: Vec<Value> = envelope
        .signatures
        .iter()
        .map(|s| json!({ "sig": STANDARD.encode(&s.sig), "keyid": s.keyid }))
        .collect();
    json!({
        "dsseRequestV002": {
            "envelope": {
                "payload": STANDARD.encode(&envelope.payload),
                "payloadType": envelope.payload_type,
                "signatures": signatures,
            },
            "verifiers": [verifier.v2_value(algorithm)],
        },
    })
    .to_string()
}

/// An RFC 3161 `TimeStampReq` (DER) for the SHA-256 of `data`, asking for the TSA's
/// certificates, with `nonce`.
pub fn timestamp_request(data: &[u8], nonce: u64) -> Result<Vec<u8>, SignError> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    // Minimal two's-complement big-endian bytes of a non-negative integer, as DER wants.
    let be = nonce.to_be_bytes();
    let start = be.iter().position(|b| *b != 0).unwrap_or(be.len() - 1);
    let (_, minimal) = be.split_at(start.min(be.len() - 1));
    let mut nonce_bytes = minimal.to_vec();
    if nonce_bytes.first().is_some_and(|b| *b >= 0x80) {
        nonce_bytes.insert(0, 0);
    }
    let request = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier::<Any> {
                oid: SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest.as_ref())
                .map_err(key_err("timestamp request"))?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce_bytes).map_err(key_err("timestamp nonce"))?),
        cert_req: true,
        extensions: None,
    };
    request.to_der().map_err(key_err("timestamp request"))
}

/// A DSSE envelope over `payload` signed by `key`.
pub fn sign_dsse(
    key: &dyn SigningKey,
    payload_type: &str,
    payload: Vec<u8>,
) -> Result<Envelope, SignError> {
    let pae = signet_formats::pae(payload_type, &payload);
    let sig = key.sign(&pae)?;
    Ok(Envelope {
        payload,
        payload_type: payload_type.to_owned(),
        signatures: vec![DsseSignature {
            sig,
            keyid: String::new(),
        }],
    })
}

/// What was signed, for the bundle.
#[derive(Debug, Clone)]
pub enum SignedContent {
    /// A signature over an artifact with this digest.
    Message {
        /// The hash algorithm of `digest`.
        algorithm: BundleHash,
        /// The artifact's digest.
        digest: Vec<u8>,
        /// The signature.
        signature: Vec<u8>,
    },
    /// A DSSE envelope.
    Dsse(Envelope),
}

/// Assembles a bundle v0.3.
pub fn assemble_bundle(
    content: SignedContent,
    signer: VerificationMaterialContent,
    tlog_entries: Vec<TransparencyLogEntry>,
    rfc3161_timestamps: Vec<Vec<u8>>,
) -> Bundle {
    let content = match content {
        SignedContent::Message {
            algorithm,
            digest,
            signature,
        } => BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput { algorithm, digest }),
            signature,
        }),
        SignedContent::Dsse(envelope) => BundleContent::DsseEnvelope(envelope),
    };
    Bundle {
        media_type: MEDIA_TYPE_V0_3.to_owned(),
        verification_material: VerificationMaterial {
            content: signer,
            tlog_entries,
            timestamp_verification_data: if rfc3161_timestamps.is_empty() {
                None
            } else {
                Some(TimestampVerificationData { rfc3161_timestamps })
            },
        },
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::EphemeralKey;

    #[test]
    fn csr_is_self_signed() {
        let key = EphemeralKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let der = certificate_signing_request(&key).unwrap();
        let csr = CertReq::from_der(&der).unwrap();
        let tbs = csr.info.to_der().unwrap();
        let public = signet_x509::PublicKey::from_spki_der(key.public_key_spki_der()).unwrap();
        public
            .verify(&tbs, csr.signature.as_bytes().unwrap())
            .unwrap();
        assert_eq!(csr.algorithm.oid, ECDSA_SHA256);
    }

    #[test]
    fn rekor_requests_are_accepted_by_the_log_canonicalizer() {
        let key = EphemeralKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let artifact = b"hello";
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact);
        let sig = key.sign(artifact).unwrap();
        let v = Verifier::PublicKey(key.public_key_spki_der());
        let v1 = rekor_v1_hashedrekord(digest.as_ref(), key.algorithm(), &sig, v).unwrap();
        signet_rekor::canonicalize_proposed_entry(v1.as_bytes()).unwrap();
        let v2 = rekor_v2_hashedrekord(digest.as_ref(), key.algorithm(), &sig, v);
        signet_rekor::canonicalize_create_entry_request(v2.as_bytes()).unwrap();
        let envelope = sign_dsse(&key, "application/vnd.in-toto+json", b"{}".to_vec()).unwrap();
        let d1 = rekor_v1_dsse(&envelope, v).unwrap();
        signet_rekor::canonicalize_proposed_entry(d1.as_bytes()).unwrap();
        let d2 = rekor_v2_dsse(&envelope, key.algorithm(), v);
        signet_rekor::canonicalize_create_entry_request(d2.as_bytes()).unwrap();
        // The DSSE envelope as a hashedrekord over its PAE, for P-256 and P-384 keys.
        for algorithm in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            let key = EphemeralKey::generate(algorithm).unwrap();
            let v = Verifier::PublicKey(key.public_key_spki_der());
            let envelope = sign_dsse(&key, "application/vnd.in-toto+json", b"{}".to_vec()).unwrap();
            let h = rekor_v2_dsse_as_hashedrekord(&envelope, algorithm, v).unwrap();
            let entry = signet_rekor::canonicalize_create_entry_request(h.as_bytes()).unwrap();
            assert_eq!((entry.kind, entry.api_version), ("hashedrekord", "0.0.2"));
            let want_len = if algorithm == KeyAlgorithm::EcdsaP384Sha384 {
                48
            } else {
                32
            };
            assert_eq!(pae_digest(&envelope, algorithm).len(), want_len);
            // Two signatures cannot be one hashedrekord.
            let mut two = envelope.clone();
            two.signatures.push(two.signatures[0].clone());
            assert!(rekor_v2_dsse_as_hashedrekord(&two, algorithm, v).is_err());
        }
        // A signature over something else is refused by the log.
        let bad = rekor_v2_hashedrekord(&[0; 32], key.algorithm(), &sig, v);
        assert!(signet_rekor::canonicalize_create_entry_request(bad.as_bytes()).is_err());
    }

    #[test]
    fn timestamp_request_parses() {
        for nonce in [0, 42, 0x80, 0x7fff_ffff_ffff_ffff, u64::MAX] {
            let der = timestamp_request(b"sig", nonce).unwrap();
            x509_tsp::TimeStampReq::from_der(&der).unwrap();
        }
        let der = timestamp_request(b"sig", 42).unwrap();
        let req = x509_tsp::TimeStampReq::from_der(&der).unwrap();
        assert!(req.cert_req);
        assert_eq!(req.message_imprint.hash_algorithm.oid, SHA256);
        assert_eq!(req.message_imprint.hashed_message.as_bytes().len(), 32);
    }
}
