//! Sigstore bundles (`dev.sigstore.bundle.v1.Bundle`), versions 0.1 to 0.3: the signature or
//! DSSE envelope together with the certificate or key hint, transparency-log entries and
//! RFC 3161 timestamps needed to verify it offline.
//!
//! [`Bundle::from_json`] checks structure only: sizes, counts, required fields, that exactly one
//! alternative of each `oneof` is present, and that log indices and times are not negative. It
//! checks no signature, proof or certificate.

use serde::Deserialize;
use serde_json::Value;

use crate::common::WireHashOutput;
pub use crate::common::{HashAlgorithm, HashOutput};
pub use crate::dsse::Envelope;
use crate::dsse::WireEnvelope;
use crate::error::{FormatError, snippet};
use crate::json::{self, RawInt, index, join};

/// A bundle may be at most this big (16 MiB).
pub const MAX_BUNDLE_SIZE: usize = 16 << 20;
/// An `x509CertificateChain` may hold at most this many certificates.
pub const MAX_CERTIFICATES: usize = 32;
/// A bundle may hold at most this many transparency-log entries.
pub const MAX_TLOG_ENTRIES: usize = 32;
/// A bundle may hold at most this many RFC 3161 timestamps.
pub const MAX_RFC3161_TIMESTAMPS: usize = 32;
/// An inclusion proof may hold at most this many hashes (enough for a tree of 2^64 leaves).
pub const MAX_INCLUSION_PROOF_HASHES: usize = 64;

/// Media type of bundle v0.1.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// Media type of bundle v0.2.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// Media type of bundle v0.3, in the form current clients write.
pub const MEDIA_TYPE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The older spelling of the v0.3 media type, still accepted.
pub const MEDIA_TYPE_V0_3_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";

/// A Sigstore bundle.
///
/// ```
/// # let json = std::fs::read(signet_testdata::path(
/// #     "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
/// use signet_formats::bundle::{Bundle, BundleContent, BundleVersion};
/// let bundle = Bundle::from_json(&json).unwrap();
/// assert_eq!(bundle.version(), BundleVersion::V0_3);
/// assert!(matches!(bundle.content, BundleContent::MessageSignature(_)));
/// assert_eq!(Bundle::from_json(bundle.to_json().as_bytes()).unwrap(), bundle);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bundle {
    /// The media type, one of the `MEDIA_TYPE_*` constants.
    pub media_type: String,
    /// What is needed to verify the content.
    pub verification_material: VerificationMaterial,
    /// What was signed.
    pub content: BundleContent,
}

/// The version of a bundle, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BundleVersion {
    /// v0.1: inclusion promises required, inclusion proofs optional.
    V0_1,
    /// v0.2: inclusion proofs (with checkpoints) required.
    V0_2,
    /// v0.3: a single leaf certificate instead of a chain.
    V0_3,
}

impl BundleVersion {
    /// The version named by a bundle media type. Only the exact spellings Sigstore clients
    /// write are accepted.
    pub fn from_media_type(media_type: &str) -> Result<BundleVersion, FormatError> {
        match media_type {
            MEDIA_TYPE_V0_1 => Ok(BundleVersion::V0_1),
            MEDIA_TYPE_V0_2 => Ok(BundleVersion::V0_2),
            MEDIA_TYPE_V0_3 | MEDIA_TYPE_V0_3_ALT => Ok(BundleVersion::V0_3),
            other => Err(FormatError::UnsupportedMediaType(snippet(other))),
        }
    }

    /// The media type to write for this version.
    pub fn media_type(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => MEDIA_TYPE_V0_1,
            BundleVersion::V0_2 => MEDIA_TYPE_V0_2,
            BundleVersion::V0_3 => MEDIA_TYPE_V0_3,
        }
    }
}

/// Verification material: the signer's identity, log entries and timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerificationMaterial {
    /// The signer's certificate(s) or a hint naming their key.
    pub content: VerificationMaterialContent,
    /// Transparency-log entries for the signature (possibly none).
    pub tlog_entries: Vec<TransparencyLogEntry>,
    /// RFC 3161 timestamps over the signature, if any.
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

/// How the signer is identified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerificationMaterialContent {
    /// `x509CertificateChain`: DER certificates, leaf first (bundles v0.1 and v0.2). Never
    /// empty.
    X509CertificateChain {
        /// DER certificates, leaf first.
        certificates: Vec<Vec<u8>>,
    },
    /// `certificate`: the DER leaf certificate alone (bundle v0.3).
    Certificate(Vec<u8>),
    /// `publicKey`: a hint naming a key the verifier already has.
    PublicKey {
        /// Unauthenticated key hint; may be empty.
        hint: String,
    },
}

/// RFC 3161 timestamps over the signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimestampVerificationData {
    /// DER-encoded RFC 3161 `TimeStampResponse`s or tokens, as `signedTimestamp`.
    pub rfc3161_timestamps: Vec<Vec<u8>>,
}

/// A transparency-log entry (`dev.sigstore.rekor.v1.TransparencyLogEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransparencyLogEntry {
    /// The entry's global index (0 when absent). Never negative.
    pub log_index: i64,
    /// The log's ID, `logId.keyId` (for Rekor, SHA-256 of its public key).
    pub log_id: Vec<u8>,
    /// The entry's kind and version, e.g. `hashedrekord` / `0.0.1`.
    pub kind_version: KindVersion,
    /// When the log integrated the entry, in Unix seconds (0 when absent, as in Rekor v2).
    /// Never negative.
    pub integrated_time: i64,
    /// `inclusionPromise.signedEntryTimestamp`: the log's signed promise (SET), if present.
    pub inclusion_promise: Option<Vec<u8>>,
    /// The inclusion proof, if present.
    pub inclusion_proof: Option<InclusionProof>,
    /// The entry body as stored in the log (parse with [`crate::rekor::RekorBody::parse`]);
    /// empty when absent.
    pub canonicalized_body: Vec<u8>,
}

/// The kind and version of a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KindVersion {
    /// e.g. `hashedrekord`, `dsse`, `intoto`.
    pub kind: String,
    /// e.g. `0.0.1`.
    pub version: String,
}

/// An inclusion proof with the checkpoint it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InclusionProof {
    /// Index of the entry in the tree the proof is for (may differ from the global index).
    /// Never negative.
    pub log_index: i64,
    /// The tree's root hash.
    pub root_hash: Vec<u8>,
    /// The tree's size. Never negative.
    pub tree_size: i64,
    /// Proof hashes from leaf to root (at most [`MAX_INCLUSION_PROOF_HASHES`]).
    pub hashes: Vec<Vec<u8>>,
    /// `checkpoint.envelope`: the signed note text. Required (non-empty) from bundle v0.2 on;
    /// empty for a v0.1 bundle whose proof has no checkpoint.
    pub checkpoint: String,
}

/// What a bundle signs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BundleContent {
    /// `messageSignature`: a signature over an artifact (or its digest).
    MessageSignature(MessageSignature),
    /// `dsseEnvelope`: a DSSE envelope, e.g. an in-toto attestation.
    DsseEnvelope(Envelope),
}

/// A signature over an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageSignature {
    /// The artifact's digest: an unauthenticated hint.
    pub message_digest: Option<HashOutput>,
    /// The signature bytes (ASN.1 DER for ECDSA). Empty when absent.
    pub signature: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireBundle {
    #[serde(alias = "media_type")]
    media_type: Option<String>,
    #[serde(alias = "verification_material")]
    verification_material: Option<WireVerificationMaterial>,
    #[serde(alias = "message_signature")]
    message_signature: Option<WireMessageSignature>,
    #[serde(alias = "dsse_envelope")]
    dsse_envelope: Option<WireEnvelope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireVerificationMaterial {
    #[serde(alias = "public_key")]
    public_key: Option<WirePublicKeyIdentifier>,
    #[serde(alias = "x509_certificate_chain")]
    x509_certificate_chain: Option<WireCertificateChain>,
    certificate: Option<WireCertificate>,
    #[serde(alias = "tlog_entries")]
    tlog_entries: Option<Vec<WireTransparencyLogEntry>>,
    #[serde(alias = "timestamp_verification_data")]
    timestamp_verification_data: Option<WireTimestampVerificationData>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePublicKeyIdentifier {
    hint: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireCertificateChain {
    pub(crate) certificates: Option<Vec<WireCertificate>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCertificate {
    #[serde(alias = "raw_bytes")]
    pub(crate) raw_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireTimestampVerificationData {
    #[serde(alias = "rfc3161_timestamps")]
    rfc3161_timestamps: Option<Vec<WireRfc3161Timestamp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireRfc3161Timestamp {
    #[serde(alias = "signed_timestamp")]
    signed_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireTransparencyLogEntry {
    #[serde(alias = "log_index")]
    log_index: Option<RawInt>,
    #[serde(alias = "log_id")]
    log_id: Option<WireLogId>,
    #[serde(alias = "kind_version")]
    kind_version: Option<WireKindVersion>,
    #[serde(alias = "integrated_time")]
    integrated_time: Option<RawInt>,
    #[serde(alias = "inclusion_promise")]
    inclusion_promise: Option<WireInclusionPromise>,
    #[serde(alias = "inclusion_proof")]
    inclusion_proof: Option<WireInclusionProof>,
    #[serde(alias = "canonicalized_body")]
    canonicalized_body: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireLogId {
    #[serde(alias = "key_id")]
    pub(crate) key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireKindVersion {
    kind: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireInclusionPromise {
    #[serde(alias = "signed_entry_timestamp")]
    signed_entry_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireInclusionProof {
    #[serde(alias = "log_index")]
    log_index: Option<RawInt>,
    #[serde(alias = "root_hash")]
    root_hash: Option<String>,
    #[serde(alias = "tree_size")]
    tree_size: Option<RawInt>,
    hashes: Option<Vec<String>>,
    checkpoint: Option<WireCheckpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCheckpoint {
    envelope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct WireMessageSignature {
    #[serde(alias = "message_digest")]
    message_digest: Option<WireHashOutput>,
    signature: Option<String>,
}

impl Bundle {
    /// Parses a bundle from its JSON form (at most [`MAX_BUNDLE_SIZE`] bytes, nested at most
    /// [`crate::MAX_JSON_DEPTH`] deep).
    ///
    /// Rejects unknown media types, a missing or ambiguous content or verification material,
    /// an empty certificate chain, negative log indices, tree sizes or times, lists longer than
    /// the `MAX_*` limits, an inclusion proof without a checkpoint (bundle v0.2 and later), and
    /// malformed base64 or integers. Unknown fields are rejected, as sigstore-python and
    /// sigstore-go (strict protojson) do: a bundle is a signed artifact's evidence, not a
    /// document to be extended.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, FormatError> {
        let wire: WireBundle = json::parse_document(bytes, "bundle", MAX_BUNDLE_SIZE)?;
        Bundle::from_wire(wire)
    }

    /// The bundle as compact proto-JSON. Zero values are written out (`"logIndex": "0"`,
    /// `"hashes": []`); absent optional messages are left out.
    pub fn to_json(&self) -> String {
        json::render(&self.to_value(), false)
    }

    /// Like [`Bundle::to_json`], indented for people.
    pub fn to_json_pretty(&self) -> String {
        json::render(&self.to_value(), true)
    }

    /// The version named by the media type.
    ///
    /// Bundles from [`Bundle::from_json`] always have a known media type. For a bundle built
    /// by hand with an unknown one, this returns [`BundleVersion::V0_3`], the version with the
    /// strictest requirements; use [`BundleVersion::from_media_type`] to detect that case.
    pub fn version(&self) -> BundleVersion {
        BundleVersion::from_media_type(&self.media_type).unwrap_or(BundleVersion::V0_3)
    }

    fn from_wire(w: WireBundle) -> Result<Bundle, FormatError> {
        let media_type = w.media_type.ok_or_else(|| json::missing("", "mediaType"))?;
        let version = BundleVersion::from_media_type(&media_type)?;
        let material = w
            .verification_material
            .as_ref()
            .ok_or_else(|| json::missing("", "verificationMaterial"))?;
        let verification_material =
            VerificationMaterial::from_wire(material, version, "verificationMaterial")?;
        let content = match (&w.message_signature, &w.dsse_envelope) {
            (Some(m), None) => {
                BundleContent::MessageSignature(MessageSignature::from_wire(m, "messageSignature")?)
            }
            (None, Some(e)) => BundleContent::DsseEnvelope(Envelope::from_wire(e, "dsseEnvelope")?),
            (None, None) => {
                return Err(FormatError::NoVariant {
                    field: "bundle".into(),
                    expected: "messageSignature or dsseEnvelope",
                });
            }
            (Some(_), Some(_)) => {
                return Err(FormatError::MultipleVariants {
                    field: "bundle".into(),
                    found: vec!["messageSignature", "dsseEnvelope"],
                });
            }
        };
        Ok(Bundle {
            media_type,
            verification_material,
            content,
        })
    }

    fn to_value(&self) -> Value {
        let content = match &self.content {
            BundleContent::MessageSignature(m) => ("messageSignature", m.to_value()),
            BundleContent::DsseEnvelope(e) => ("dsseEnvelope", e.to_value()),
        };
        json::object([
            ("mediaType", json::string(&self.media_type)),
            (
                "verificationMaterial",
                self.verification_material.to_value(),
            ),
            content,
        ])
    }
}

impl VerificationMaterial {
    fn from_wire(
        w: &WireVerificationMaterial,
        version: BundleVersion,
        path: &str,
    ) -> Result<Self, FormatError> {
        let mut found = Vec::new();
        if w.public_key.is_some() {
            found.push("publicKey");
        }
        if w.x509_certificate_chain.is_some() {
            found.push("x509CertificateChain");
        }
        if w.certificate.is_some() {
            found.push("certificate");
        }
        if found.len() > 1 {
            return Err(FormatError::MultipleVariants {
                field: path.into(),
                found,
            });
        }
        let content = if let Some(key) = &w.public_key {
            VerificationMaterialContent::PublicKey {
                hint: key.hint.clone().unwrap_or_default(),
            }
        } else if let Some(chain) = &w.x509_certificate_chain {
            let chain_path = join(path, "x509CertificateChain");
            let certificates = certificate_chain(chain, &chain_path, MAX_CERTIFICATES)?;
            if certificates.is_empty() {
                return Err(FormatError::EmptyList {
                    field: join(&chain_path, "certificates"),
                });
            }
            VerificationMaterialContent::X509CertificateChain { certificates }
        } else if let Some(cert) = &w.certificate {
            let p = join(path, "certificate");
            VerificationMaterialContent::Certificate(json::required_bytes(
                cert.raw_bytes.as_deref(),
                &p,
                "rawBytes",
            )?)
        } else {
            return Err(FormatError::NoVariant {
                field: path.into(),
                expected: "publicKey, x509CertificateChain or certificate",
            });
        };

        let entries_path = join(path, "tlogEntries");
        let wire_entries = w.tlog_entries.as_deref().unwrap_or_default();
        json::check_count(wire_entries.len(), MAX_TLOG_ENTRIES, || {
            entries_path.clone()
        })?;
        let tlog_entries = wire_entries
            .iter()
            .enumerate()
            .map(|(i, e)| TransparencyLogEntry::from_wire(e, version, &index(&entries_path, i)))
            .collect::<Result<_, _>>()?;

        let timestamp_verification_data = match &w.timestamp_verification_data {
            None => None,
            Some(tvd) => {
                let list_path = join(
                    &join(path, "timestampVerificationData"),
                    "rfc3161Timestamps",
                );
                let wire_ts = tvd.rfc3161_timestamps.as_deref().unwrap_or_default();
                json::check_count(wire_ts.len(), MAX_RFC3161_TIMESTAMPS, || list_path.clone())?;
                let rfc3161_timestamps = wire_ts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        json::required_bytes(
                            t.signed_timestamp.as_deref(),
                            &index(&list_path, i),
                            "signedTimestamp",
                        )
                    })
                    .collect::<Result<_, _>>()?;
                Some(TimestampVerificationData { rfc3161_timestamps })
            }
        };

        Ok(VerificationMaterial {
            content,
            tlog_entries,
            timestamp_verification_data,
        })
    }

    fn to_value(&self) -> Value {
        let content = match &self.content {
            VerificationMaterialContent::X509CertificateChain { certificates } => (
                "x509CertificateChain",
                certificate_chain_value(certificates),
            ),
            VerificationMaterialContent::Certificate(der) => {
                ("certificate", certificate_value(der))
            }
            VerificationMaterialContent::PublicKey { hint } => {
                ("publicKey", json::object([("hint", json::string(hint))]))
            }
        };
        let mut out = json::object([
            content,
            (
                "tlogEntries",
                Value::Array(self.tlog_entries.iter().map(|e| e.to_value()).collect()),
            ),
        ]);
        json::insert_some(
            &mut out,
            "timestampVerificationData",
            self.timestamp_verification_data.as_ref().map(|t| {
                json::object([(
                    "rfc3161Timestamps",
                    Value::Array(
                        t.rfc3161_timestamps
                            .iter()
                            .map(|ts| json::object([("signedTimestamp", json::bytes_value(ts))]))
                            .collect(),
                    ),
                )])
            }),
        );
        out
    }
}

/// The DER certificates of a `{certificates: [{rawBytes}]}` chain (possibly none).
pub(crate) fn certificate_chain(
    chain: &WireCertificateChain,
    path: &str,
    limit: usize,
) -> Result<Vec<Vec<u8>>, FormatError> {
    let list_path = join(path, "certificates");
    let certs = chain.certificates.as_deref().unwrap_or_default();
    json::check_count(certs.len(), limit, || list_path.clone())?;
    certs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json::required_bytes(c.raw_bytes.as_deref(), &index(&list_path, i), "rawBytes")
        })
        .collect()
}

/// `{"rawBytes": b64}`.
pub(crate) fn certificate_value(der: &[u8]) -> Value {
    json::object([("rawBytes", json::bytes_value(der))])
}

/// `{"certificates": [{"rawBytes": b64}, ...]}`.
pub(crate) fn certificate_chain_value(certificates: &[Vec<u8>]) -> Value {
    json::object([(
        "certificates",
        Value::Array(certificates.iter().map(|c| certificate_value(c)).collect()),
    )])
}

impl TransparencyLogEntry {
    /// A standalone `TransparencyLogEntry` in proto JSON, as a Rekor v2 create request answers.
    /// Checked as inside a bundle v0.3: the inclusion proof, if any, must carry a checkpoint.
    /// Unknown fields are rejected.
    pub fn from_json(bytes: &[u8]) -> Result<TransparencyLogEntry, FormatError> {
        let wire: WireTransparencyLogEntry =
            json::parse_document(bytes, "transparency log entry", MAX_BUNDLE_SIZE)?;
        TransparencyLogEntry::from_wire(&wire, BundleVersion::V0_3, "")
    }

    fn from_wire(
        w: &WireTransparencyLogEntry,
        version: BundleVersion,
        path: &str,
    ) -> Result<Self, FormatError> {
        let log_index = json::non_negative_int64(w.log_index.as_ref(), path, "logIndex")?;
        let log_id_path = join(path, "logId");
        let log_id = w
            .log_id
            .as_ref()
            .ok_or_else(|| json::missing(path, "logId"))?;
        let log_id = json::required_bytes(log_id.key_id.as_deref(), &log_id_path, "keyId")?;
        let kind_version = w
            .kind_version
            .as_ref()
            .ok_or_else(|| json::missing(path, "kindVersion"))?;
        let kind_version = KindVersion {
            kind: kind_version.kind.clone().unwrap_or_default(),
            version: kind_version.version.clone().unwrap_or_default(),
        };
        let integrated_time =
            json::non_negative_int64(w.integrated_time.as_ref(), path, "integratedTime")?;
        let inclusion_promise = match &w.inclusion_promise {
            None => None,
            Some(p) => Some(json::required_bytes(
                p.signed_entry_timestamp.as_deref(),
                &join(path, "inclusionPromise"),
                "signedEntryTimestamp",
            )?),
        };
        let inclusion_proof = match &w.inclusion_proof {
            None => None,
            Some(p) => Some(InclusionProof::from_wire(
                p,
                version,
                &join(path, "inclusionProof"),
            )?),
        };
        let canonicalized_body =
            json::bytes_or_empty(w.canonicalized_body.as_deref(), path, "canonicalizedBody")?;
        Ok(TransparencyLogEntry {
            log_index,
            log_id,
            kind_version,
            integrated_time,
            inclusion_promise,
            inclusion_proof,
            canonicalized_body,
        })
    }

    fn to_value(&self) -> Value {
        let mut out = json::object([
            ("logIndex", json::int64_value(self.log_index)),
            (
                "logId",
                json::object([("keyId", json::bytes_value(&self.log_id))]),
            ),
            (
                "kindVersion",
                json::object([
                    ("kind", json::string(&self.kind_version.kind)),
                    ("version", json::string(&self.kind_version.version)),
                ]),
            ),
            ("integratedTime", json::int64_value(self.integrated_time)),
            (
                "canonicalizedBody",
                json::bytes_value(&self.canonicalized_body),
            ),
        ]);
        json::insert_some(
            &mut out,
            "inclusionPromise",
            self.inclusion_promise
                .as_ref()
                .map(|set| json::object([("signedEntryTimestamp", json::bytes_value(set))])),
        );
        json::insert_some(
            &mut out,
            "inclusionProof",
            self.inclusion_proof.as_ref().map(InclusionProof::to_value),
        );
        out
    }
}

impl InclusionProof {
    fn from_wire(
        w: &WireInclusionProof,
        version: BundleVersion,
        path: &str,
    ) -> Result<Self, FormatError> {
        let log_index = json::non_negative_int64(w.log_index.as_ref(), path, "logIndex")?;
        let root_hash = json::bytes_or_empty(w.root_hash.as_deref(), path, "rootHash")?;
        let tree_size = json::non_negative_int64(w.tree_size.as_ref(), path, "treeSize")?;
        let hashes_path = join(path, "hashes");
        let wire_hashes = w.hashes.as_deref().unwrap_or_default();
        json::check_count(wire_hashes.len(), MAX_INCLUSION_PROOF_HASHES, || {
            hashes_path.clone()
        })?;
        let hashes = wire_hashes
            .iter()
            .enumerate()
            .map(|(i, h)| json::decode_base64(h, || index(&hashes_path, i)))
            .collect::<Result<_, _>>()?;
        // v0.1 bundles predate checkpoints in proofs; from v0.2 on a proof without one is
        // unusable offline, so (as sigstore-python and sigstore-go do) it is rejected here.
        let checkpoint = match &w.checkpoint {
            Some(c) => c.envelope.clone().unwrap_or_default(),
            None => String::new(),
        };
        if checkpoint.is_empty() && version != BundleVersion::V0_1 {
            return Err(match &w.checkpoint {
                None => json::missing(path, "checkpoint"),
                Some(_) => json::missing(&join(path, "checkpoint"), "envelope"),
            });
        }
        Ok(InclusionProof {
            log_index,
            root_hash,
            tree_size,
            hashes,
            checkpoint,
        })
    }

    fn to_value(&self) -> Value {
        json::object([
            ("logIndex", json::int64_value(self.log_index)),
            ("rootHash", json::bytes_value(&self.root_hash)),
            ("treeSize", json::int64_value(self.tree_size)),
            (
                "hashes",
                Value::Array(self.hashes.iter().map(|h| json::bytes_value(h)).collect()),
            ),
            (
                "checkpoint",
                json::object([("envelope", json::string(&self.checkpoint))]),
            ),
        ])
    }
}

impl MessageSignature {
    fn from_wire(w: &WireMessageSignature, path: &str) -> Result<Self, FormatError> {
        let message_digest = match &w.message_digest {
            None => None,
            Some(d) => Some(HashOutput::from_wire(d, &join(path, "messageDigest"))?),
        };
        Ok(MessageSignature {
            message_digest,
            signature: json::bytes_or_empty(w.signature.as_deref(), path, "signature")?,
        })
    }

    fn to_value(&self) -> Value {
        let mut out = json::object([("signature", json::bytes_value(&self.signature))]);
        json::insert_some(
            &mut out,
            "messageDigest",
            self.message_digest.as_ref().map(HashOutput::to_value),
        );
        out
    }
}
