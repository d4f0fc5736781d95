//! Trusted roots (`dev.sigstore.trustroot.v1.TrustedRoot`): the transparency logs, certificate
//! authorities, CT logs and timestamp authorities a verifier trusts, with their validity
//! periods.
//!
//! ```
//! use signet_formats::trust::{TrustedRoot, PUBLIC_GOOD_TRUSTED_ROOT};
//! let root = TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes()).unwrap();
//! assert_eq!(root.tlogs[0].base_url, "https://rekor.sigstore.dev");
//! ```

use serde::Deserialize;
use serde_json::Value;

use crate::bundle::{WireCertificateChain, WireLogId, certificate_chain, certificate_chain_value};
use crate::common::HashAlgorithm;
use crate::error::{FormatError, snippet};
use crate::json::{self, index, join};
pub use crate::timestamp::Timestamp;

/// The Sigstore public-good production trusted root, embedded as the default for clients.
pub const PUBLIC_GOOD_TRUSTED_ROOT: &str = include_str!("../public-good-trusted_root.json");

/// A trusted root may be at most this big (4 MiB).
pub const MAX_TRUSTED_ROOT_SIZE: usize = 4 << 20;
/// Each list of a trusted root (tlogs, CAs, CT logs, TSAs) may hold at most this many entries.
pub const MAX_TRUST_ENTRIES: usize = 256;
/// A CA's or TSA's certificate chain may hold at most this many certificates.
pub const MAX_CHAIN_CERTIFICATES: usize = 32;

/// Media type of trusted root v0.1.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// Media type of trusted root v0.2.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.2";
/// The newer spelling of the v0.2 media type.
pub const MEDIA_TYPE_V0_2_ALT: &str = "application/vnd.dev.sigstore.trustedroot.v0.2+json";

/// The trust material a verifier starts from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustedRoot {
    /// One of the `MEDIA_TYPE_*` constants.
    pub media_type: String,
    /// Transparency logs (Rekor).
    pub tlogs: Vec<TransparencyLogInstance>,
    /// Certificate authorities (Fulcio).
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate Transparency logs.
    pub ctlogs: Vec<TransparencyLogInstance>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// A transparency or CT log and its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransparencyLogInstance {
    /// The log's base URL (empty when absent).
    pub base_url: String,
    /// The log's Merkle tree hash, if given.
    pub hash_algorithm: Option<HashAlgorithm>,
    /// The log's signing key and when it is valid.
    pub public_key: PublicKey,
    /// `logId.keyId`: the log's ID (for Rekor v1 and CT, SHA-256 of the SPKI).
    pub log_id: Vec<u8>,
    /// `checkpointKeyId.keyId`: the key ID used in checkpoint signatures, if different.
    pub checkpoint_key_id: Option<Vec<u8>>,
}

/// A public key with its algorithm and validity period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo (or PKCS#1 for `PKCS1_*` key details), if present.
    pub raw_bytes: Option<Vec<u8>>,
    /// The key's encoding and signature algorithm, e.g. `PKIX_ECDSA_P256_SHA_256` (empty when
    /// absent; unknown names are kept).
    pub key_details: String,
    /// When the key may be used.
    pub valid_for: Option<TimeRange>,
}

/// A certificate or timestamp authority.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateAuthority {
    /// The authority's name, if given.
    pub subject: Option<DistinguishedName>,
    /// Where the authority is reached (empty when absent).
    pub uri: String,
    /// `certChain.certificates[].rawBytes`: DER certificates, leaf (or intermediate) first,
    /// root last. Never empty.
    pub cert_chain: Vec<Vec<u8>>,
    /// When the authority may be trusted.
    pub valid_for: Option<TimeRange>,
}

/// A subject name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DistinguishedName {
    /// O=.
    pub organization: String,
    /// CN=.
    pub common_name: String,
}

/// A closed time interval `[start, end]`; a missing end is open-ended.
///
/// A missing `start` is kept as `None` here: the format marks it required, and verifiers must
/// reject such a range rather than treat it as unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeRange {
    /// First instant of validity.
    pub start: Option<Timestamp>,
    /// Last instant of validity, inclusive.
    pub end: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireTrustedRoot {
    #[serde(alias = "media_type")]
    media_type: Option<String>,
    tlogs: Option<Vec<WireLog>>,
    #[serde(alias = "certificate_authorities")]
    certificate_authorities: Option<Vec<WireAuthority>>,
    ctlogs: Option<Vec<WireLog>>,
    #[serde(alias = "timestamp_authorities")]
    timestamp_authorities: Option<Vec<WireAuthority>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLog {
    #[serde(alias = "base_url")]
    base_url: Option<String>,
    #[serde(alias = "hash_algorithm")]
    hash_algorithm: Option<String>,
    #[serde(alias = "public_key")]
    public_key: Option<WirePublicKey>,
    #[serde(alias = "log_id")]
    log_id: Option<WireLogId>,
    #[serde(alias = "checkpoint_key_id")]
    checkpoint_key_id: Option<WireLogId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePublicKey {
    #[serde(alias = "raw_bytes")]
    raw_bytes: Option<String>,
    #[serde(alias = "key_details")]
    key_details: Option<String>,
    #[serde(alias = "valid_for")]
    valid_for: Option<WireTimeRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireAuthority {
    subject: Option<WireName>,
    uri: Option<String>,
    #[serde(alias = "cert_chain")]
    cert_chain: Option<WireCertificateChain>,
    #[serde(alias = "valid_for")]
    valid_for: Option<WireTimeRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireName {
    organization: Option<String>,
    #[serde(alias = "common_name")]
    common_name: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireTimeRange {
    start: Option<String>,
    end: Option<String>,
}

/// Checks that a media type is one of `accepted`.
pub(crate) fn check_media_type(
    media_type: Option<&str>,
    path: &str,
    accepted: &[&str],
) -> Result<String, FormatError> {
    let media_type = media_type.ok_or_else(|| json::missing(path, "mediaType"))?;
    if accepted.contains(&media_type) {
        Ok(media_type.to_owned())
    } else {
        Err(FormatError::UnsupportedMediaType(snippet(media_type)))
    }
}

impl TrustedRoot {
    /// Parses a trusted root (at most [`MAX_TRUSTED_ROOT_SIZE`] bytes). The media type must be
    /// trusted root v0.1 or v0.2; certificate chains must not be empty.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, FormatError> {
        let wire: WireTrustedRoot =
            json::parse_document(bytes, "trusted root", MAX_TRUSTED_ROOT_SIZE)?;
        TrustedRoot::from_wire(&wire, "")
    }

    /// The trusted root as compact proto-JSON.
    pub fn to_json(&self) -> String {
        json::render(&self.to_value(), false)
    }

    /// Like [`TrustedRoot::to_json`], indented for people.
    pub fn to_json_pretty(&self) -> String {
        json::render(&self.to_value(), true)
    }

    pub(crate) fn from_wire(w: &WireTrustedRoot, path: &str) -> Result<Self, FormatError> {
        let media_type = check_media_type(
            w.media_type.as_deref(),
            path,
            &[MEDIA_TYPE_V0_1, MEDIA_TYPE_V0_2, MEDIA_TYPE_V0_2_ALT],
        )?;
        Ok(TrustedRoot {
            media_type,
            tlogs: list(
                w.tlogs.as_deref(),
                path,
                "tlogs",
                TransparencyLogInstance::from_wire,
            )?,
            certificate_authorities: list(
                w.certificate_authorities.as_deref(),
                path,
                "certificateAuthorities",
                CertificateAuthority::from_wire,
            )?,
            ctlogs: list(
                w.ctlogs.as_deref(),
                path,
                "ctlogs",
                TransparencyLogInstance::from_wire,
            )?,
            timestamp_authorities: list(
                w.timestamp_authorities.as_deref(),
                path,
                "timestampAuthorities",
                CertificateAuthority::from_wire,
            )?,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        let logs = |logs: &[TransparencyLogInstance]| {
            Value::Array(logs.iter().map(TransparencyLogInstance::to_value).collect())
        };
        let authorities = |cas: &[CertificateAuthority]| {
            Value::Array(cas.iter().map(CertificateAuthority::to_value).collect())
        };
        json::object([
            ("mediaType", json::string(&self.media_type)),
            ("tlogs", logs(&self.tlogs)),
            (
                "certificateAuthorities",
                authorities(&self.certificate_authorities),
            ),
            ("ctlogs", logs(&self.ctlogs)),
            (
                "timestampAuthorities",
                authorities(&self.timestamp_authorities),
            ),
        ])
    }
}

/// Converts a bounded list of wire items, naming each by its index.
fn list<W, T>(
    items: Option<&[W]>,
    path: &str,
    name: &str,
    convert: impl Fn(&W, &str) -> Result<T, FormatError>,
) -> Result<Vec<T>, FormatError> {
    let list_path = join(path, name);
    let items = items.unwrap_or_default();
    json::check_count(items.len(), MAX_TRUST_ENTRIES, || list_path.clone())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| convert(item, &index(&list_path, i)))
        .collect()
}

impl TransparencyLogInstance {
    fn from_wire(w: &WireLog, path: &str) -> Result<Self, FormatError> {
        let hash_algorithm = match &w.hash_algorithm {
            None => None,
            Some(name) => Some(HashAlgorithm::parse_field(name, path, "hashAlgorithm")?),
        };
        let key = w
            .public_key
            .as_ref()
            .ok_or_else(|| json::missing(path, "publicKey"))?;
        let key_path = join(path, "publicKey");
        let public_key = PublicKey {
            raw_bytes: match &key.raw_bytes {
                None => None,
                Some(b) => Some(json::decode_base64(b, || join(&key_path, "rawBytes"))?),
            },
            key_details: key.key_details.clone().unwrap_or_default(),
            valid_for: TimeRange::from_wire_opt(key.valid_for.as_ref(), &key_path)?,
        };
        let log_id = w
            .log_id
            .as_ref()
            .ok_or_else(|| json::missing(path, "logId"))?;
        let log_id = json::required_bytes(log_id.key_id.as_deref(), &join(path, "logId"), "keyId")?;
        let checkpoint_key_id = match &w.checkpoint_key_id {
            None => None,
            Some(id) => Some(json::required_bytes(
                id.key_id.as_deref(),
                &join(path, "checkpointKeyId"),
                "keyId",
            )?),
        };
        Ok(TransparencyLogInstance {
            base_url: w.base_url.clone().unwrap_or_default(),
            hash_algorithm,
            public_key,
            log_id,
            checkpoint_key_id,
        })
    }

    fn to_value(&self) -> Value {
        let mut key = json::object([("keyDetails", json::string(&self.public_key.key_details))]);
        json::insert_some(
            &mut key,
            "rawBytes",
            self.public_key.raw_bytes.as_deref().map(json::bytes_value),
        );
        json::insert_some(
            &mut key,
            "validFor",
            self.public_key.valid_for.map(TimeRange::to_value),
        );
        let mut out = json::object([
            ("baseUrl", json::string(&self.base_url)),
            ("publicKey", key),
            (
                "logId",
                json::object([("keyId", json::bytes_value(&self.log_id))]),
            ),
        ]);
        json::insert_some(
            &mut out,
            "hashAlgorithm",
            self.hash_algorithm.map(|h| json::string(h.name())),
        );
        json::insert_some(
            &mut out,
            "checkpointKeyId",
            self.checkpoint_key_id
                .as_deref()
                .map(|id| json::object([("keyId", json::bytes_value(id))])),
        );
        out
    }
}

impl CertificateAuthority {
    /// Parses a standalone certificate authority object (as found in sigstore-python's test
    /// assets), with the limits of a trusted root.
    pub fn from_json(bytes: &[u8]) -> Result<CertificateAuthority, FormatError> {
        let wire: WireAuthority =
            json::parse_document(bytes, "certificate authority", MAX_TRUSTED_ROOT_SIZE)?;
        CertificateAuthority::from_wire(&wire, "")
    }

    fn from_wire(w: &WireAuthority, path: &str) -> Result<Self, FormatError> {
        let chain_path = join(path, "certChain");
        let chain = w
            .cert_chain
            .as_ref()
            .ok_or_else(|| json::missing(path, "certChain"))?;
        let cert_chain = certificate_chain(chain, &chain_path, MAX_CHAIN_CERTIFICATES)?;
        if cert_chain.is_empty() {
            return Err(FormatError::EmptyList {
                field: join(&chain_path, "certificates"),
            });
        }
        Ok(CertificateAuthority {
            subject: w.subject.as_ref().map(|s| DistinguishedName {
                organization: s.organization.clone().unwrap_or_default(),
                common_name: s.common_name.clone().unwrap_or_default(),
            }),
            uri: w.uri.clone().unwrap_or_default(),
            cert_chain,
            valid_for: TimeRange::from_wire_opt(w.valid_for.as_ref(), path)?,
        })
    }

    fn to_value(&self) -> Value {
        let mut out = json::object([
            ("uri", json::string(&self.uri)),
            ("certChain", certificate_chain_value(&self.cert_chain)),
        ]);
        json::insert_some(
            &mut out,
            "subject",
            self.subject.as_ref().map(|s| {
                json::object([
                    ("organization", json::string(&s.organization)),
                    ("commonName", json::string(&s.common_name)),
                ])
            }),
        );
        json::insert_some(
            &mut out,
            "validFor",
            self.valid_for.map(TimeRange::to_value),
        );
        out
    }
}

impl TimeRange {
    /// `validFor` of the object at `path`, if present.
    pub(crate) fn from_wire_opt(
        w: Option<&WireTimeRange>,
        path: &str,
    ) -> Result<Option<Self>, FormatError> {
        let Some(w) = w else { return Ok(None) };
        let range_path = join(path, "validFor");
        let parse = |text: &Option<String>, name: &str| {
            text.as_deref()
                .map(|t| Timestamp::parse_field(t, &join(&range_path, name)))
                .transpose()
        };
        Ok(Some(TimeRange {
            start: parse(&w.start, "start")?,
            end: parse(&w.end, "end")?,
        }))
    }

    pub(crate) fn to_value(self) -> Value {
        let mut out = json::object([]);
        json::insert_some(
            &mut out,
            "start",
            self.start.map(|t| Value::String(t.to_string())),
        );
        json::insert_some(
            &mut out,
            "end",
            self.end.map(|t| Value::String(t.to_string())),
        );
        out
    }
}
