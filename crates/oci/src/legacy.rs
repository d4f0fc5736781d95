//! cosign's legacy `sha256-<hex>.sig` / `.att` layers, as Sigstore verification material.
//!
//! Before Sigstore bundles, cosign stored a signature as an image layer whose annotations carry
//! the verification material; this module is the codec between those annotations and the
//! types of `signet-formats`:
//!
//! - [`LegacyMaterial`]: the signing certificate (`dev.sigstore.cosign/certificate`, PEM), the
//!   Rekor bundle (`dev.sigstore.cosign/bundle`: a Rekor v1 entry and its signed entry
//!   timestamp, no inclusion proof) and an RFC 3161 timestamp
//!   (`dev.sigstore.cosign/rfc3161timestamp`, `{"SignedRFC3161Timestamp": base64}`). It is taken
//!   from a freshly signed bundle, written to and read from annotations, and turned back into a
//!   v0.1 bundle with [`signet_formats::cosign::legacy_v0_1_bundle`].
//! - [`LegacySignature`]: a `.sig` layer, a message signature over a [`SimpleSigning`] payload.
//!   [`LegacySignature::to_bundle`] refuses a payload naming another image.
//! - [`LegacyAttestation`]: an `.att` layer, a DSSE envelope (its JSON is
//!   [`Envelope::to_json`] / [`Envelope::from_json`]).
//!
//! Pure: no I/O, no clock. Reading and writing the layers is [`crate::RegistryClient`]'s
//! (`read_legacy_signatures`, `write_legacy_signature`, …); verifying the bundles is the
//! caller's. Untrusted annotations give a [`LegacyError`], never a panic.
//!
//! ```
//! use signet_formats::cosign::RekorBundle;
//! use signet_oci::legacy::LegacyMaterial;
//! let material = LegacyMaterial {
//!     certificate: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
//!     rekor_bundle: RekorBundle {
//!         signed_entry_timestamp: vec![1, 2, 3],
//!         body: b"{}".to_vec(),
//!         integrated_time: 1_700_000_000,
//!         log_index: 7,
//!         log_id: vec![0xab; 32],
//!     },
//!     rfc3161_timestamp: None,
//! };
//! let annotations = material.to_annotations()?;
//! assert!(annotations["dev.sigstore.cosign/certificate"].starts_with("-----BEGIN CERTIFICATE-----\n"));
//! assert_eq!(LegacyMaterial::from_annotations(&annotations)?, material);
//! # Ok::<(), signet_oci::legacy::LegacyError>(())
//! ```

use crate::manifest::{
    ANNOTATION_COSIGN_BUNDLE, ANNOTATION_COSIGN_CERTIFICATE, ANNOTATION_COSIGN_CHAIN,
    ANNOTATION_COSIGN_RFC3161, ANNOTATION_COSIGN_SIGNATURE,
};
use crate::{Digest, OciError, SimpleSigning};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pem_rfc7468::LineEnding;
use serde::{Deserialize, Serialize};
use signet_formats::cosign::{RekorBundle, legacy_v0_1_bundle};
use signet_formats::{
    Bundle, BundleContent, Envelope, FormatError, HashAlgorithm, HashOutput, MessageSignature,
    VerificationMaterialContent,
};
use std::collections::BTreeMap;

/// The `.att` layer annotation naming the in-toto predicate type (unsigned: a hint for
/// choosing candidates, the signed statement decides).
pub const ANNOTATION_LEGACY_PREDICATE_TYPE: &str = "predicateType";

/// The PEM label of the certificate annotation.
const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// Why cosign's legacy layer could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyError {
    /// The signed bundle has no transparency log entry with a signed entry timestamp, which
    /// the legacy layout needs: the signing config named no Rekor v1 log.
    #[error(
        "the bundle has no log entry with a signed entry timestamp (the legacy layout needs a Rekor v1 log)"
    )]
    NoSignedEntryTimestamp,
    /// A `.sig` layer was asked of a bundle that is not a message signature (a DSSE bundle).
    #[error("the bundle holds a DSSE envelope, not a message signature")]
    NotMessageSignature,
    /// An `.att` layer was asked of a bundle that is not a DSSE envelope.
    #[error("the bundle holds no DSSE envelope")]
    NotDsseEnvelope,
    /// A required annotation is absent (cosign always writes the Rekor bundle).
    #[error("no {annotation} annotation")]
    MissingAnnotation {
        /// The annotation key.
        annotation: &'static str,
    },
    /// The certificate annotation is not one RFC 7468 PEM block (as cosign writes it), or the
    /// certificate could not be encoded as one.
    #[error("certificate annotation: {source}")]
    CertificatePem {
        /// The PEM codec's complaint.
        #[source]
        source: pem_rfc7468::Error,
    },
    /// The certificate annotation is a PEM block of another type.
    #[error("certificate annotation is a PEM {label:?} block, not CERTIFICATE")]
    CertificateLabel {
        /// The label found.
        label: String,
    },
    /// The Rekor bundle annotation is not cosign's Rekor bundle JSON.
    #[error("Rekor bundle annotation: {0}")]
    RekorBundle(#[source] FormatError),
    /// The RFC 3161 timestamp annotation is not `{"SignedRFC3161Timestamp": base64}`.
    #[error("RFC 3161 timestamp annotation: {0}")]
    Rfc3161Json(#[source] serde_json::Error),
    /// A base64 value (the `.sig` signature, the RFC 3161 timestamp) does not decode.
    #[error("{field} is not base64: {source}")]
    Base64 {
        /// Which value.
        field: &'static str,
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },
    /// The `.sig` payload is not a simple-signing payload.
    #[error("payload: {0}")]
    Payload(#[source] OciError),
    /// The `.sig` payload signs another image: a signature copied from elsewhere.
    #[error("payload names {named}, not {expected}")]
    WrongSubject {
        /// The digest the signed payload names.
        named: Digest,
        /// The image digest being verified.
        expected: Digest,
    },
    /// The `.att` layer is not a DSSE envelope.
    #[error("DSSE envelope: {0}")]
    Envelope(#[source] FormatError),
    /// The material does not make a v0.1 bundle (e.g. the Rekor entry body is unreadable).
    #[error("{0}")]
    Bundle(#[source] FormatError),
}

/// The verification material cosign keeps in a legacy layer's annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyMaterial {
    /// The signing certificate (DER); absent for key signatures.
    pub certificate: Option<Vec<u8>>,
    /// The Rekor v1 entry with its signed entry timestamp.
    pub rekor_bundle: RekorBundle,
    /// One RFC 3161 timestamp token (DER).
    pub rfc3161_timestamp: Option<Vec<u8>>,
}

/// `dev.sigstore.cosign/rfc3161timestamp`.
#[derive(Serialize, Deserialize)]
struct WireRfc3161 {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed_rfc3161_timestamp: String,
}

impl LegacyMaterial {
    /// The material of a signed bundle: its leaf certificate, its first log entry that has a
    /// signed entry timestamp, and its first RFC 3161 timestamp.
    pub fn from_bundle(bundle: &Bundle) -> Result<LegacyMaterial, LegacyError> {
        let material = &bundle.verification_material;
        let certificate = match &material.content {
            VerificationMaterialContent::Certificate(der) => Some(der.clone()),
            VerificationMaterialContent::X509CertificateChain { certificates } => {
                certificates.first().cloned()
            }
            _ => None,
        };
        let rekor_bundle = material
            .tlog_entries
            .iter()
            .find_map(RekorBundle::from_tlog_entry)
            .ok_or(LegacyError::NoSignedEntryTimestamp)?;
        let rfc3161_timestamp = material
            .timestamp_verification_data
            .as_ref()
            .and_then(|t| t.rfc3161_timestamps.first())
            .cloned();
        Ok(LegacyMaterial {
            certificate,
            rekor_bundle,
            rfc3161_timestamp,
        })
    }

    /// The layer annotations cosign writes for this material (certificate, Rekor bundle,
    /// RFC 3161 timestamp; the absent ones are left out).
    pub fn to_annotations(&self) -> Result<BTreeMap<String, String>, LegacyError> {
        let mut annotations = BTreeMap::new();
        if let Some(der) = &self.certificate {
            let pem = pem_rfc7468::encode_string(CERTIFICATE_LABEL, LineEnding::LF, der)
                .map_err(|source| LegacyError::CertificatePem { source })?;
            annotations.insert(ANNOTATION_COSIGN_CERTIFICATE.to_owned(), pem);
        }
        annotations.insert(
            ANNOTATION_COSIGN_BUNDLE.to_owned(),
            self.rekor_bundle.to_json_value().to_string(),
        );
        if let Some(token) = &self.rfc3161_timestamp {
            let wire = WireRfc3161 {
                signed_rfc3161_timestamp: STANDARD.encode(token),
            };
            annotations.insert(
                ANNOTATION_COSIGN_RFC3161.to_owned(),
                serde_json::to_string(&wire).map_err(LegacyError::Rfc3161Json)?,
            );
        }
        Ok(annotations)
    }

    /// Reads the material from a layer's annotations (other annotations are ignored). The
    /// Rekor bundle is required; the certificate and the timestamp are optional.
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
    ) -> Result<LegacyMaterial, LegacyError> {
        let certificate = annotations
            .get(ANNOTATION_COSIGN_CERTIFICATE)
            .map(|pem| decode_certificate(pem))
            .transpose()?;
        let rekor_json =
            annotations
                .get(ANNOTATION_COSIGN_BUNDLE)
                .ok_or(LegacyError::MissingAnnotation {
                    annotation: ANNOTATION_COSIGN_BUNDLE,
                })?;
        let rekor_bundle =
            RekorBundle::from_json(rekor_json.as_bytes()).map_err(LegacyError::RekorBundle)?;
        let rfc3161_timestamp = annotations
            .get(ANNOTATION_COSIGN_RFC3161)
            .map(|json| {
                let wire: WireRfc3161 =
                    serde_json::from_str(json).map_err(LegacyError::Rfc3161Json)?;
                STANDARD
                    .decode(wire.signed_rfc3161_timestamp)
                    .map_err(|source| LegacyError::Base64 {
                        field: "SignedRFC3161Timestamp",
                        source,
                    })
            })
            .transpose()?;
        Ok(LegacyMaterial {
            certificate,
            rekor_bundle,
            rfc3161_timestamp,
        })
    }

    /// A bundle v0.1 around `content` with this material: the verifier's view of a legacy
    /// layer. Its log entry has only its promise, so the verifier must be told to accept that.
    pub fn to_bundle(&self, content: BundleContent) -> Result<Bundle, LegacyError> {
        legacy_v0_1_bundle(
            content,
            self.certificate.clone(),
            std::slice::from_ref(&self.rekor_bundle),
            self.rfc3161_timestamp.iter().cloned().collect(),
        )
        .map_err(LegacyError::Bundle)
    }
}

/// The DER of the one PEM `CERTIFICATE` block of a certificate annotation. Whitespace around
/// the block is ignored; anything else around it, or a second block, is an error.
fn decode_certificate(pem: &str) -> Result<Vec<u8>, LegacyError> {
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|source| LegacyError::CertificatePem { source })?;
    if label != CERTIFICATE_LABEL {
        return Err(LegacyError::CertificateLabel {
            label: label.to_owned(),
        });
    }
    Ok(der)
}

/// One signature in a legacy `sha256-<hex>.sig` manifest: a layer holding the payload, with
/// the signature and its material as annotations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegacySignature {
    /// The simple-signing payload (see [`SimpleSigning`]).
    pub payload: Vec<u8>,
    /// The base64 signature over the payload (`dev.cosignproject.cosign/signature`).
    pub signature: String,
    /// PEM signing certificate (`dev.sigstore.cosign/certificate`), for keyless signatures.
    pub certificate: Option<String>,
    /// PEM chain (`dev.sigstore.cosign/chain`).
    pub chain: Option<String>,
    /// Rekor bundle JSON (`dev.sigstore.cosign/bundle`).
    pub rekor_bundle: Option<String>,
    /// RFC 3161 timestamp JSON (`dev.sigstore.cosign/rfc3161timestamp`).
    pub rfc3161_timestamp: Option<String>,
}

impl LegacySignature {
    /// The `.sig` layer for `payload` (a [`SimpleSigning`] payload) signed into `bundle`, a
    /// message-signature bundle with a Rekor v1 entry.
    pub fn from_signed(payload: Vec<u8>, bundle: &Bundle) -> Result<LegacySignature, LegacyError> {
        let BundleContent::MessageSignature(message) = &bundle.content else {
            return Err(LegacyError::NotMessageSignature);
        };
        let mut annotations = LegacyMaterial::from_bundle(bundle)?.to_annotations()?;
        annotations.insert(
            ANNOTATION_COSIGN_SIGNATURE.to_owned(),
            STANDARD.encode(&message.signature),
        );
        Ok(LegacySignature::from_layer(payload, &annotations))
    }

    /// The signature of a layer read from a `.sig` manifest: its content and annotations. A
    /// missing signature annotation reads as empty, which [`LegacySignature::to_bundle`]
    /// refuses.
    pub fn from_layer(payload: Vec<u8>, annotations: &BTreeMap<String, String>) -> Self {
        let get = |key: &str| annotations.get(key).cloned();
        LegacySignature {
            payload,
            signature: get(ANNOTATION_COSIGN_SIGNATURE).unwrap_or_default(),
            certificate: get(ANNOTATION_COSIGN_CERTIFICATE),
            chain: get(ANNOTATION_COSIGN_CHAIN),
            rekor_bundle: get(ANNOTATION_COSIGN_BUNDLE),
            rfc3161_timestamp: get(ANNOTATION_COSIGN_RFC3161),
        }
    }

    /// The layer annotations cosign writes for this signature.
    pub fn layer_annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            ANNOTATION_COSIGN_SIGNATURE.to_owned(),
            self.signature.clone(),
        );
        let optional = [
            (ANNOTATION_COSIGN_CERTIFICATE, &self.certificate),
            (ANNOTATION_COSIGN_CHAIN, &self.chain),
            (ANNOTATION_COSIGN_BUNDLE, &self.rekor_bundle),
            (ANNOTATION_COSIGN_RFC3161, &self.rfc3161_timestamp),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                annotations.insert(key.to_owned(), v.clone());
            }
        }
        annotations
    }

    /// The bundle v0.1 to verify this signature with, over its payload as the artifact. The
    /// payload must be a simple-signing payload naming `subject`, the image being verified.
    pub fn to_bundle(&self, subject: &Digest) -> Result<Bundle, LegacyError> {
        let payload = SimpleSigning::parse(&self.payload).map_err(LegacyError::Payload)?;
        let named = payload.digest().map_err(LegacyError::Payload)?;
        if named != *subject {
            return Err(LegacyError::WrongSubject {
                named,
                expected: subject.clone(),
            });
        }
        if self.signature.trim().is_empty() {
            return Err(LegacyError::MissingAnnotation {
                annotation: ANNOTATION_COSIGN_SIGNATURE,
            });
        }
        let signature =
            STANDARD
                .decode(self.signature.trim())
                .map_err(|source| LegacyError::Base64 {
                    field: "signature",
                    source,
                })?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.payload);
        let content = BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: digest.as_ref().to_vec(),
            }),
            signature,
        });
        LegacyMaterial::from_annotations(&self.layer_annotations())?.to_bundle(content)
    }
}

/// One attestation in a legacy `sha256-<hex>.att` manifest: a layer holding a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAttestation {
    /// The DSSE envelope JSON.
    pub envelope: Vec<u8>,
    /// The layer's annotations (cosign writes `predicateType`, and the certificate, chain and
    /// Rekor bundle annotations of [`LegacySignature`]).
    pub annotations: BTreeMap<String, String>,
}

impl LegacyAttestation {
    /// The `.att` layer for `bundle`, a DSSE bundle with a Rekor v1 entry, attesting
    /// `predicate_type`.
    pub fn from_signed(
        bundle: &Bundle,
        predicate_type: &str,
    ) -> Result<LegacyAttestation, LegacyError> {
        let BundleContent::DsseEnvelope(envelope) = &bundle.content else {
            return Err(LegacyError::NotDsseEnvelope);
        };
        let mut annotations = LegacyMaterial::from_bundle(bundle)?.to_annotations()?;
        annotations.insert(
            ANNOTATION_LEGACY_PREDICATE_TYPE.to_owned(),
            predicate_type.to_owned(),
        );
        Ok(LegacyAttestation {
            envelope: envelope.to_json().into_bytes(),
            annotations,
        })
    }

    /// The `predicateType` annotation: unsigned, only a hint for choosing candidates.
    pub fn predicate_type(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_LEGACY_PREDICATE_TYPE)
            .map(String::as_str)
    }

    /// The bundle v0.1 to verify this attestation with.
    pub fn to_bundle(&self) -> Result<Bundle, LegacyError> {
        let envelope = Envelope::from_json(&self.envelope).map_err(LegacyError::Envelope)?;
        LegacyMaterial::from_annotations(&self.annotations)?
            .to_bundle(BundleContent::DsseEnvelope(envelope))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    /// A Rekor v1 `hashedrekord` body: what a v0.1 bundle's entry needs to name its kind.
    const BODY: &[u8] = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}},"signature":{"content":"AA==","publicKey":{"content":"AA=="}}}}"#;

    fn rekor_bundle() -> RekorBundle {
        RekorBundle {
            signed_entry_timestamp: vec![1, 2, 3],
            body: BODY.to_vec(),
            integrated_time: 1_700_000_000,
            log_index: 42,
            log_id: vec![0xab; 32],
        }
    }

    fn material() -> LegacyMaterial {
        LegacyMaterial {
            certificate: Some((0..=255).collect()),
            rekor_bundle: rekor_bundle(),
            rfc3161_timestamp: Some(vec![0x30, 0x00]),
        }
    }

    fn digest(byte: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", hex::encode([byte; 32]))).unwrap()
    }

    fn simple_signing(subject: &Digest) -> Vec<u8> {
        SimpleSigning::new("registry.test/app", subject, BTreeMap::new())
            .to_json()
            .unwrap()
    }

    fn message_signature() -> BundleContent {
        BundleContent::MessageSignature(MessageSignature {
            message_digest: None,
            signature: vec![0x30, 0x45],
        })
    }

    fn dsse() -> Envelope {
        Envelope {
            payload: b"hi".to_vec(),
            payload_type: "t".into(),
            signatures: vec![signet_formats::DsseSignature {
                sig: vec![1, 2],
                keyid: String::new(),
            }],
        }
    }

    #[test]
    fn certificate_annotation_is_pem_in_64_column_lines() {
        let annotations = material().to_annotations().unwrap();
        let pem = &annotations[ANNOTATION_COSIGN_CERTIFICATE];
        let b64 = STANDARD.encode((0..=255).collect::<Vec<u8>>());
        let mut expected = "-----BEGIN CERTIFICATE-----\n".to_owned();
        for line in b64.as_bytes().chunks(64) {
            expected.push_str(std::str::from_utf8(line).unwrap());
            expected.push('\n');
        }
        expected.push_str("-----END CERTIFICATE-----\n");
        assert_eq!(*pem, expected);
    }

    #[test]
    fn annotations_are_cosigns_json() {
        let annotations = material().to_annotations().unwrap();
        assert_eq!(
            annotations[ANNOTATION_COSIGN_RFC3161],
            r#"{"SignedRFC3161Timestamp":"MAA="}"#
        );
        assert_eq!(
            annotations[ANNOTATION_COSIGN_BUNDLE],
            rekor_bundle().to_json_value().to_string()
        );
        assert_eq!(annotations.len(), 3);
        let bare = LegacyMaterial {
            certificate: None,
            rfc3161_timestamp: None,
            ..material()
        };
        let annotations = bare.to_annotations().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            [ANNOTATION_COSIGN_BUNDLE]
        );
        assert_eq!(
            LegacyMaterial::from_annotations(&annotations).unwrap(),
            bare
        );
    }

    #[test]
    fn certificate_annotation_tolerates_whitespace_and_crlf() {
        let pem = material().to_annotations().unwrap()[ANNOTATION_COSIGN_CERTIFICATE].clone();
        for text in [
            format!("\n  {pem}\n\n"),
            pem.trim_end().to_owned(),
            pem.replace('\n', "\r\n"),
        ] {
            let mut annotations = material().to_annotations().unwrap();
            annotations.insert(ANNOTATION_COSIGN_CERTIFICATE.into(), text);
            assert_eq!(
                LegacyMaterial::from_annotations(&annotations).unwrap(),
                material()
            );
        }
    }

    #[test]
    fn bad_annotations_say_which() {
        let with = |key: &str, value: &str| {
            let mut annotations = material().to_annotations().unwrap();
            annotations.insert(key.to_owned(), value.to_owned());
            LegacyMaterial::from_annotations(&annotations).unwrap_err()
        };
        let mut no_rekor = material().to_annotations().unwrap();
        no_rekor.remove(ANNOTATION_COSIGN_BUNDLE);
        assert!(matches!(
            LegacyMaterial::from_annotations(&no_rekor).unwrap_err(),
            LegacyError::MissingAnnotation {
                annotation: ANNOTATION_COSIGN_BUNDLE
            }
        ));
        assert!(matches!(
            with(ANNOTATION_COSIGN_BUNDLE, "{}"),
            LegacyError::RekorBundle(_)
        ));
        assert!(matches!(
            with(ANNOTATION_COSIGN_CERTIFICATE, "not pem"),
            LegacyError::CertificatePem { .. }
        ));
        // Two blocks (a chain) in the one-certificate annotation.
        let pem = material().to_annotations().unwrap()[ANNOTATION_COSIGN_CERTIFICATE].clone();
        assert!(matches!(
            with(ANNOTATION_COSIGN_CERTIFICATE, &format!("{pem}{pem}")),
            LegacyError::CertificatePem { .. }
        ));
        let key = pem.replace("CERTIFICATE", "PRIVATE KEY");
        match with(ANNOTATION_COSIGN_CERTIFICATE, &key) {
            LegacyError::CertificateLabel { label } => assert_eq!(label, "PRIVATE KEY"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            with(ANNOTATION_COSIGN_RFC3161, "MAA="),
            LegacyError::Rfc3161Json(_)
        ));
        assert!(matches!(
            with(ANNOTATION_COSIGN_RFC3161, r#"{"other":"MAA="}"#),
            LegacyError::Rfc3161Json(_)
        ));
        assert!(matches!(
            with(
                ANNOTATION_COSIGN_RFC3161,
                r#"{"SignedRFC3161Timestamp":"M!A="}"#
            ),
            LegacyError::Base64 {
                field: "SignedRFC3161Timestamp",
                ..
            }
        ));
    }

    #[test]
    fn material_comes_from_a_signed_bundle() {
        let bundle = material().to_bundle(message_signature()).unwrap();
        assert_eq!(LegacyMaterial::from_bundle(&bundle).unwrap(), material());
        // Without a signed entry timestamp (a Rekor v2 entry has none) there is no layout.
        let mut no_set = bundle.clone();
        for entry in &mut no_set.verification_material.tlog_entries {
            entry.inclusion_promise = None;
        }
        assert!(matches!(
            LegacyMaterial::from_bundle(&no_set),
            Err(LegacyError::NoSignedEntryTimestamp)
        ));
        assert!(matches!(
            LegacySignature::from_signed(Vec::new(), &no_set),
            Err(LegacyError::NoSignedEntryTimestamp)
        ));
        // A key signature: the bundle names a key, and the layer has no certificate.
        let keyed = LegacyMaterial {
            certificate: None,
            ..material()
        };
        let bundle = keyed.to_bundle(message_signature()).unwrap();
        assert_eq!(LegacyMaterial::from_bundle(&bundle).unwrap(), keyed);
    }

    /// A `.sig` layer without its signature annotation used to become a bundle with an empty
    /// signature (refused later as a bad signature); it is refused as what it is.
    #[test]
    fn a_signature_layer_needs_its_signature_annotation() {
        let subject = digest(0x11);
        let payload = simple_signing(&subject);
        let signed = material().to_bundle(message_signature()).unwrap();
        let mut annotations = LegacySignature::from_signed(payload.clone(), &signed)
            .unwrap()
            .layer_annotations();
        annotations.remove(ANNOTATION_COSIGN_SIGNATURE);
        let unsigned = LegacySignature::from_layer(payload, &annotations);
        assert!(matches!(
            unsigned.to_bundle(&subject),
            Err(LegacyError::MissingAnnotation {
                annotation: ANNOTATION_COSIGN_SIGNATURE
            })
        ));
    }

    #[test]
    fn signature_layer_round_trips_and_checks_the_subject() {
        let subject = digest(0x11);
        let payload = simple_signing(&subject);
        let signed = material().to_bundle(message_signature()).unwrap();
        let sig = LegacySignature::from_signed(payload.clone(), &signed).unwrap();
        assert_eq!(sig.signature, "MEU=");
        assert_eq!(sig.chain, None);
        assert_eq!(
            LegacySignature::from_layer(payload.clone(), &sig.layer_annotations()),
            sig
        );
        let bundle = sig.to_bundle(&subject).unwrap();
        assert_eq!(LegacyMaterial::from_bundle(&bundle).unwrap(), material());
        let BundleContent::MessageSignature(message) = &bundle.content else {
            panic!("{:?}", bundle.content);
        };
        assert_eq!(message.signature, [0x30, 0x45]);
        let sha = message.message_digest.as_ref().unwrap();
        assert_eq!(sha.algorithm, HashAlgorithm::Sha2_256);
        assert_eq!(
            sha.digest,
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &payload).as_ref()
        );
        // Copied next to another image: refused before anything else is read.
        match sig.to_bundle(&digest(0x22)).unwrap_err() {
            LegacyError::WrongSubject { named, expected } => {
                assert_eq!((named, expected), (subject.clone(), digest(0x22)));
            }
            other => panic!("{other:?}"),
        }
        let bad = LegacySignature {
            signature: "not base64!".into(),
            ..sig.clone()
        };
        assert!(matches!(
            bad.to_bundle(&subject).unwrap_err(),
            LegacyError::Base64 {
                field: "signature",
                ..
            }
        ));
        let not_simple = LegacySignature {
            payload: b"{}".to_vec(),
            ..sig
        };
        assert!(matches!(
            not_simple.to_bundle(&subject).unwrap_err(),
            LegacyError::Payload(_)
        ));
        let dsse_bundle = material()
            .to_bundle(BundleContent::DsseEnvelope(dsse()))
            .unwrap();
        assert!(matches!(
            LegacySignature::from_signed(payload, &dsse_bundle),
            Err(LegacyError::NotMessageSignature)
        ));
    }

    #[test]
    fn attestation_layer_round_trips() {
        let signed = material()
            .to_bundle(BundleContent::DsseEnvelope(dsse()))
            .unwrap();
        let att =
            LegacyAttestation::from_signed(&signed, "https://slsa.dev/provenance/v1").unwrap();
        // The envelope JSON cosign writes: sorted keys, standard base64 with padding.
        assert_eq!(
            std::str::from_utf8(&att.envelope).unwrap(),
            r#"{"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"","sig":"AQI="}]}"#
        );
        assert_eq!(att.predicate_type(), Some("https://slsa.dev/provenance/v1"));
        assert_eq!(att.annotations.len(), 4);
        let bundle = att.to_bundle().unwrap();
        assert_eq!(bundle.content, BundleContent::DsseEnvelope(dsse()));
        assert_eq!(LegacyMaterial::from_bundle(&bundle).unwrap(), material());
        let garbage = LegacyAttestation {
            envelope: b"[]".to_vec(),
            ..att
        };
        assert!(matches!(
            garbage.to_bundle().unwrap_err(),
            LegacyError::Envelope(_)
        ));
        assert!(matches!(
            LegacyAttestation::from_signed(
                &material().to_bundle(message_signature()).unwrap(),
                "t"
            ),
            Err(LegacyError::NotDsseEnvelope)
        ));
    }

    #[test]
    fn a_bad_rekor_body_is_a_bundle_error() {
        let material = LegacyMaterial {
            rekor_bundle: RekorBundle {
                body: b"{}".to_vec(),
                ..rekor_bundle()
            },
            ..material()
        };
        assert!(matches!(
            material.to_bundle(message_signature()),
            Err(LegacyError::Bundle(_))
        ));
    }

    #[test]
    fn fuzz_entry_accepts_real_layers_and_garbage() {
        crate::fuzz::legacy_layers(&real_layer_input());
        crate::fuzz::legacy_layers(b"");
        crate::fuzz::legacy_layers(b"\xff\xff\xff\xff\xff");
        crate::fuzz::legacy_layers(b"-----BEGIN CERTIFICATE-----\n\xff{");
    }

    fn any_material() -> impl Strategy<Value = LegacyMaterial> {
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 1..1500)),
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(any::<u8>(), 0..600),
            0..=i64::MAX,
            0..=i64::MAX,
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..600)),
        )
            .prop_map(
                |(certificate, set, body, integrated_time, log_index, log_id, rfc3161)| {
                    LegacyMaterial {
                        certificate,
                        rekor_bundle: RekorBundle {
                            signed_entry_timestamp: set,
                            body,
                            integrated_time,
                            log_index,
                            log_id,
                        },
                        rfc3161_timestamp: rfc3161,
                    }
                },
            )
    }

    /// A fuzz input holding a real layer: the three annotations and an envelope.
    fn real_layer_input() -> Vec<u8> {
        let annotations = material().to_annotations().unwrap();
        let mut input = Vec::new();
        for key in [
            ANNOTATION_COSIGN_CERTIFICATE,
            ANNOTATION_COSIGN_BUNDLE,
            ANNOTATION_COSIGN_RFC3161,
        ] {
            input.extend_from_slice(annotations[key].as_bytes());
            input.push(0xff);
        }
        input.extend_from_slice(dsse().to_json().as_bytes());
        input
    }

    proptest! {
        /// Without cargo-fuzz at hand: the fuzz entry over a real layer with bytes changed.
        #[test]
        fn fuzz_entry_survives_mutations(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut input = real_layer_input();
            for (at, byte) in edits {
                let i = at.index(input.len());
                input[i] = byte;
            }
            crate::fuzz::legacy_layers(&input);
        }

        #[test]
        fn material_annotations_material(material in any_material()) {
            let annotations = material.to_annotations().unwrap();
            prop_assert_eq!(LegacyMaterial::from_annotations(&annotations).unwrap(), material);
        }

        #[test]
        fn signature_layer_annotations_round_trip(
            payload in proptest::collection::vec(any::<u8>(), 0..100),
            annotations in proptest::collection::btree_map(
                prop_oneof![
                    Just(ANNOTATION_COSIGN_SIGNATURE.to_owned()),
                    Just(ANNOTATION_COSIGN_CERTIFICATE.to_owned()),
                    Just(ANNOTATION_COSIGN_CHAIN.to_owned()),
                    Just(ANNOTATION_COSIGN_BUNDLE.to_owned()),
                    Just(ANNOTATION_COSIGN_RFC3161.to_owned()),
                ],
                ".*",
                0..5,
            ),
        ) {
            let sig = LegacySignature::from_layer(payload.clone(), &annotations);
            let mut expected = annotations;
            expected.entry(ANNOTATION_COSIGN_SIGNATURE.to_owned()).or_default();
            prop_assert_eq!(&sig.layer_annotations(), &expected);
            prop_assert_eq!(LegacySignature::from_layer(payload, &expected), sig);
        }
    }
}
