//! Rekor entry bodies: the `canonicalizedBody` of a [`crate::bundle::TransparencyLogEntry`],
//! which is what the log actually stores and hashes into its tree.
//!
//! A body is `{"apiVersion": ..., "kind": ..., "spec": {...}}`. The `spec` is a Rekor v1 JSON
//! schema type (`hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2) or a Rekor v2 proto message
//! (`hashedrekord` 0.0.2, `dsse` 0.0.2). Any other kind or version is
//! [`FormatError::UnsupportedEntry`]: clients must fail rather than guess.
//!
//! Parsing only extracts fields; comparing them with the bundle is the verifier's job.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::dsse::MAX_DSSE_SIGNATURES;
use crate::error::{FormatError, snippet};
use crate::json::{self, index, join};

/// An entry body may be at most this big (4 MiB).
pub const MAX_REKOR_BODY_SIZE: usize = 4 << 20;

/// A parsed Rekor entry body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RekorBody {
    /// `hashedrekord` 0.0.1 (Rekor v1): a signature over a digest.
    HashedRekordV001 {
        /// `spec.data.hash.algorithm`, e.g. `sha256`.
        digest_algorithm: String,
        /// `spec.data.hash.value`: the artifact digest as hex, as written.
        digest_hex: String,
        /// `spec.signature.content`, decoded.
        signature: Vec<u8>,
        /// `spec.signature.publicKey.content`, decoded: a PEM certificate or PEM public key.
        public_key: Vec<u8>,
    },
    /// `hashedrekord` 0.0.2 (Rekor v2): a signature over a digest, with a DER verifier.
    HashedRekordV002 {
        /// `data.algorithm`, e.g. `SHA2_256`.
        digest_algorithm: String,
        /// `data.digest`, decoded.
        digest: Vec<u8>,
        /// `signature.content`, decoded.
        signature: Vec<u8>,
        /// `signature.verifier`: the certificate or key (its `keyDetails` are returned by
        /// [`RekorBody::parse_with_key_details`]).
        verifier: Verifier,
    },
    /// `dsse` 0.0.1 (Rekor v1): hashes of a DSSE envelope and its signatures.
    DsseV001 {
        /// `spec.payloadHash` as (algorithm, hex value).
        payload_hash: Option<(String, String)>,
        /// `spec.envelopeHash` as (algorithm, hex value).
        envelope_hash: Option<(String, String)>,
        /// `spec.signatures[]` as (signature, verifier PEM), both decoded.
        signatures: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `dsse` 0.0.2 (Rekor v2, deprecated in favour of hashedrekord over the DSSE PAE).
    DsseV002 {
        /// `payloadHash` as (algorithm name such as `SHA2_256`, digest bytes).
        payload_hash: (String, Vec<u8>),
        /// `signatures[]` as (signature, verifier).
        signatures: Vec<(Vec<u8>, Verifier)>,
    },
    /// `intoto` 0.0.2 (Rekor v1): an in-toto DSSE envelope without its payload.
    IntotoV002 {
        /// `spec.content.payloadHash` as (algorithm, hex value).
        payload_hash: Option<(String, String)>,
        /// `spec.content.hash` (of the whole envelope) as (algorithm, hex value).
        hash: Option<(String, String)>,
        /// `spec.content.envelope.payloadType`.
        envelope_payload_type: String,
        /// `spec.content.envelope.signatures[]` as (signature, public key PEM). Rekor stores
        /// `sig` as base64 of the base64 signature; both layers are decoded here, so the first
        /// element is the raw signature, comparable with the envelope's `sig` bytes. A `sig`
        /// whose inner layer is not base64 is rejected.
        signatures: Vec<(Vec<u8>, Vec<u8>)>,
    },
}

/// The key or certificate that verifies a Rekor v2 signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verifier {
    /// `x509Certificate.rawBytes`: a DER certificate.
    X509Certificate(Vec<u8>),
    /// `publicKey.rawBytes`: a DER SubjectPublicKeyInfo.
    PublicKey(Vec<u8>),
}

#[derive(Deserialize)]
struct WireEntry {
    kind: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    spec: Option<Value>,
}

#[derive(Deserialize)]
struct WireHexHash {
    algorithm: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordV001Spec {
    data: Option<HashedRekordV001Data>,
    signature: Option<HashedRekordV001Signature>,
}

#[derive(Deserialize)]
struct HashedRekordV001Data {
    hash: Option<WireHexHash>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordV001Signature {
    content: Option<String>,
    public_key: Option<ContentOnly>,
}

#[derive(Deserialize)]
struct ContentOnly {
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordV002Spec {
    #[serde(alias = "hashed_rekord_v002")]
    hashed_rekord_v002: Option<HashedRekordV002>,
}

#[derive(Deserialize)]
struct HashedRekordV002 {
    data: Option<WireDigest>,
    signature: Option<WireV2Signature>,
}

#[derive(Deserialize)]
struct WireDigest {
    algorithm: Option<String>,
    digest: Option<String>,
}

#[derive(Deserialize)]
struct WireV2Signature {
    content: Option<String>,
    verifier: Option<WireVerifier>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVerifier {
    #[serde(alias = "public_key")]
    public_key: Option<RawBytes>,
    #[serde(alias = "x509_certificate")]
    x509_certificate: Option<RawBytes>,
    #[serde(alias = "key_details")]
    key_details: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    #[serde(alias = "raw_bytes")]
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV001Spec {
    payload_hash: Option<WireHexHash>,
    envelope_hash: Option<WireHexHash>,
    signatures: Option<Vec<DsseV001Signature>>,
}

#[derive(Deserialize)]
struct DsseV001Signature {
    signature: Option<String>,
    verifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002Spec {
    #[serde(alias = "dsse_v002")]
    dsse_v002: Option<DsseV002>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002 {
    #[serde(alias = "payload_hash")]
    payload_hash: Option<WireDigest>,
    signatures: Option<Vec<WireV2Signature>>,
}

#[derive(Deserialize)]
struct IntotoV002Spec {
    content: Option<IntotoV002Content>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoV002Content {
    envelope: Option<IntotoV002Envelope>,
    hash: Option<WireHexHash>,
    payload_hash: Option<WireHexHash>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoV002Envelope {
    payload_type: Option<String>,
    signatures: Option<Vec<IntotoV002Signature>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoV002Signature {
    sig: Option<String>,
    public_key: Option<String>,
}

const WHAT: &str = "Rekor entry body";

impl RekorBody {
    /// Parses the bytes of a `canonicalizedBody`, dispatching on its `kind` and `apiVersion`.
    pub fn parse(body: &[u8]) -> Result<RekorBody, FormatError> {
        Self::parse_with_key_details(body).map(|(body, _)| body)
    }

    /// Like [`RekorBody::parse`], also returning the `keyDetails` of each Rekor v2 verifier
    /// (e.g. `PKIX_ECDSA_P256_SHA_256`; empty when absent) in signature order. Rekor v1 bodies
    /// have none.
    pub fn parse_with_key_details(body: &[u8]) -> Result<(RekorBody, Vec<String>), FormatError> {
        let entry: WireEntry = json::parse_document(body, WHAT, MAX_REKOR_BODY_SIZE)?;
        let kind = entry.kind.ok_or_else(|| json::missing("", "kind"))?;
        let version = entry
            .api_version
            .ok_or_else(|| json::missing("", "apiVersion"))?;
        let spec = entry.spec.ok_or_else(|| json::missing("", "spec"))?;
        let v1 = |body: Result<RekorBody, FormatError>| body.map(|b| (b, Vec::new()));
        match (kind.as_str(), version.as_str()) {
            ("hashedrekord", "0.0.1") => v1(hashed_rekord_v001(spec_as(spec)?)),
            ("hashedrekord", "0.0.2") => hashed_rekord_v002(spec_as(spec)?),
            ("dsse", "0.0.1") => v1(dsse_v001(spec_as(spec)?)),
            ("dsse", "0.0.2") => dsse_v002(spec_as(spec)?),
            ("intoto", "0.0.2") => v1(intoto_v002(spec_as(spec)?)),
            _ => Err(FormatError::UnsupportedEntry {
                kind: snippet(&kind),
                version: snippet(&version),
            }),
        }
    }

    /// The body's `kind` and `apiVersion`, e.g. `("hashedrekord", "0.0.1")`, to compare with
    /// the entry's `kindVersion`.
    pub fn kind_version(&self) -> (&'static str, &'static str) {
        (self.kind(), self.api_version())
    }

    /// The body's `kind`, e.g. `hashedrekord`.
    pub fn kind(&self) -> &'static str {
        match self {
            RekorBody::HashedRekordV001 { .. } | RekorBody::HashedRekordV002 { .. } => {
                "hashedrekord"
            }
            RekorBody::DsseV001 { .. } | RekorBody::DsseV002 { .. } => "dsse",
            RekorBody::IntotoV002 { .. } => "intoto",
        }
    }

    /// The body's `apiVersion`, e.g. `0.0.1`.
    pub fn api_version(&self) -> &'static str {
        match self {
            RekorBody::HashedRekordV001 { .. } | RekorBody::DsseV001 { .. } => "0.0.1",
            RekorBody::HashedRekordV002 { .. }
            | RekorBody::DsseV002 { .. }
            | RekorBody::IntotoV002 { .. } => "0.0.2",
        }
    }
}

fn spec_as<T: DeserializeOwned>(spec: Value) -> Result<T, FormatError> {
    json::from_value(spec, WHAT)
}

/// A present object, or a missing-field error.
fn present<'a, T>(v: &'a Option<T>, path: &str, name: &str) -> Result<&'a T, FormatError> {
    v.as_ref().ok_or_else(|| json::missing(path, name))
}

/// A present string, or a missing-field error.
fn text(v: &Option<String>, path: &str, name: &str) -> Result<String, FormatError> {
    v.clone().ok_or_else(|| json::missing(path, name))
}

/// An optional `{algorithm, value}`; when present both are required.
fn hex_hash(h: &Option<WireHexHash>, path: &str) -> Result<Option<(String, String)>, FormatError> {
    h.as_ref()
        .map(|h| {
            Ok((
                text(&h.algorithm, path, "algorithm")?,
                text(&h.value, path, "value")?,
            ))
        })
        .transpose()
}

fn signatures_of<'a, T>(list: &'a Option<Vec<T>>, path: &str) -> Result<&'a [T], FormatError> {
    let list = list.as_deref().unwrap_or_default();
    json::check_count(list.len(), MAX_DSSE_SIGNATURES, || path.to_owned())?;
    if list.is_empty() {
        return Err(FormatError::EmptyList {
            field: path.to_owned(),
        });
    }
    Ok(list)
}

fn hashed_rekord_v001(spec: HashedRekordV001Spec) -> Result<RekorBody, FormatError> {
    let data = present(&spec.data, "spec", "data")?;
    let hash = present(&data.hash, "spec.data", "hash")?;
    let signature = present(&spec.signature, "spec", "signature")?;
    let key = present(&signature.public_key, "spec.signature", "publicKey")?;
    Ok(RekorBody::HashedRekordV001 {
        digest_algorithm: text(&hash.algorithm, "spec.data.hash", "algorithm")?,
        digest_hex: text(&hash.value, "spec.data.hash", "value")?,
        signature: json::required_bytes(signature.content.as_deref(), "spec.signature", "content")?,
        public_key: json::required_bytes(
            key.content.as_deref(),
            "spec.signature.publicKey",
            "content",
        )?,
    })
}

/// A Rekor v2 `Signature`: its content, verifier and key details.
fn v2_signature(
    s: &WireV2Signature,
    path: &str,
) -> Result<(Vec<u8>, Verifier, String), FormatError> {
    let content = json::required_bytes(s.content.as_deref(), path, "content")?;
    let verifier_path = join(path, "verifier");
    let w = present(&s.verifier, path, "verifier")?;
    let verifier = match (&w.x509_certificate, &w.public_key) {
        (Some(cert), None) => Verifier::X509Certificate(json::required_bytes(
            cert.raw_bytes.as_deref(),
            &join(&verifier_path, "x509Certificate"),
            "rawBytes",
        )?),
        (None, Some(key)) => Verifier::PublicKey(json::required_bytes(
            key.raw_bytes.as_deref(),
            &join(&verifier_path, "publicKey"),
            "rawBytes",
        )?),
        (None, None) => {
            return Err(FormatError::NoVariant {
                field: verifier_path,
                expected: "x509Certificate or publicKey",
            });
        }
        (Some(_), Some(_)) => {
            return Err(FormatError::MultipleVariants {
                field: verifier_path,
                found: vec!["x509Certificate", "publicKey"],
            });
        }
    };
    Ok((content, verifier, w.key_details.clone().unwrap_or_default()))
}

fn hashed_rekord_v002(spec: HashedRekordV002Spec) -> Result<(RekorBody, Vec<String>), FormatError> {
    let path = "spec.hashedRekordV002";
    let entry = present(&spec.hashed_rekord_v002, "spec", "hashedRekordV002")?;
    let data_path = join(path, "data");
    let data = present(&entry.data, path, "data")?;
    let signature = present(&entry.signature, path, "signature")?;
    let (signature, verifier, key_details) = v2_signature(signature, &join(path, "signature"))?;
    let body = RekorBody::HashedRekordV002 {
        digest_algorithm: text(&data.algorithm, &data_path, "algorithm")?,
        digest: json::required_bytes(data.digest.as_deref(), &data_path, "digest")?,
        signature,
        verifier,
    };
    Ok((body, vec![key_details]))
}

fn dsse_v001(spec: DsseV001Spec) -> Result<RekorBody, FormatError> {
    let list_path = "spec.signatures";
    let signatures = signatures_of(&spec.signatures, list_path)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = index(list_path, i);
            Ok((
                json::required_bytes(s.signature.as_deref(), &p, "signature")?,
                json::required_bytes(s.verifier.as_deref(), &p, "verifier")?,
            ))
        })
        .collect::<Result<_, FormatError>>()?;
    Ok(RekorBody::DsseV001 {
        payload_hash: hex_hash(&spec.payload_hash, "spec.payloadHash")?,
        envelope_hash: hex_hash(&spec.envelope_hash, "spec.envelopeHash")?,
        signatures,
    })
}

fn dsse_v002(spec: DsseV002Spec) -> Result<(RekorBody, Vec<String>), FormatError> {
    let path = "spec.dsseV002";
    let entry = present(&spec.dsse_v002, "spec", "dsseV002")?;
    let hash_path = join(path, "payloadHash");
    let hash = present(&entry.payload_hash, path, "payloadHash")?;
    let payload_hash = (
        text(&hash.algorithm, &hash_path, "algorithm")?,
        json::required_bytes(hash.digest.as_deref(), &hash_path, "digest")?,
    );
    let list_path = join(path, "signatures");
    let wire_signatures = signatures_of(&entry.signatures, &list_path)?;
    let mut signatures = Vec::with_capacity(wire_signatures.len());
    let mut key_details = Vec::with_capacity(wire_signatures.len());
    for (i, s) in wire_signatures.iter().enumerate() {
        let (content, verifier, details) = v2_signature(s, &index(&list_path, i))?;
        signatures.push((content, verifier));
        key_details.push(details);
    }
    Ok((
        RekorBody::DsseV002 {
            payload_hash,
            signatures,
        },
        key_details,
    ))
}

fn intoto_v002(spec: IntotoV002Spec) -> Result<RekorBody, FormatError> {
    let content = present(&spec.content, "spec", "content")?;
    let envelope_path = "spec.content.envelope";
    let envelope = present(&content.envelope, "spec.content", "envelope")?;
    let list_path = join(envelope_path, "signatures");
    let signatures = signatures_of(&envelope.signatures, &list_path)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = index(&list_path, i);
            let sig_base64 = json::required_bytes(s.sig.as_deref(), &p, "sig")?;
            Ok((
                json::decode_base64(&sig_base64, || join(&p, "sig"))?,
                json::required_bytes(s.public_key.as_deref(), &p, "publicKey")?,
            ))
        })
        .collect::<Result<_, FormatError>>()?;
    Ok(RekorBody::IntotoV002 {
        payload_hash: hex_hash(&content.payload_hash, "spec.content.payloadHash")?,
        hash: hex_hash(&content.hash, "spec.content.hash")?,
        envelope_payload_type: text(&envelope.payload_type, envelope_path, "payloadType")?,
        signatures,
    })
}
