//! Log responses: the Rekor v1 `LogEntry` (serde types to write it and to parse it, and its
//! conversion into a bundle's `TransparencyLogEntry`) and the Rekor v2 `TransparencyLogEntry`
//! proto JSON.
//!
//! A v1 `LogEntry` is a map from entry ID to entry:
//!
//! ```json
//! {"<entry id>": {"body": "<b64>", "integratedTime": 1700000000, "logID": "<hex>",
//!   "logIndex": 12, "verification": {"inclusionProof": {"checkpoint": "...",
//!   "hashes": ["<hex>"], "logIndex": 12, "rootHash": "<hex>", "treeSize": 13},
//!   "signedEntryTimestamp": "<b64>"}}}
//! ```
//!
//! Integers are JSON numbers, hashes and the log ID are lowercase hex, bytes are standard
//! base64, and zero values are written out (sigstore-python needs `"hashes": []`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use signet_formats::bundle::MAX_INCLUSION_PROOF_HASHES;
use signet_formats::{InclusionProof, KindVersion, TransparencyLogEntry};

use crate::search::kind_version_of_body;
use crate::{CanonicalEntry, EntryId, EntrySigner, RekorError, sign_entry_timestamp};

/// A `LogEntry` response may be at most this big (8 MiB).
pub const MAX_LOG_ENTRY_RESPONSE_SIZE: usize = 8 << 20;

/// A `LogEntry` map, or a list of them, may hold at most this many entries (Rekor's limit for
/// `POST /api/v1/log/entries/retrieve`).
pub const MAX_LOG_ENTRIES: usize = 10;

const WHAT: &str = "LogEntry";

/// A Rekor v1 `LogEntry`: entries by entry ID (one, in a create or get response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogEntry(pub BTreeMap<String, LogEntryAnon>);

/// One entry of a [`LogEntry`] (Rekor's `LogEntryAnon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryAnon {
    /// The canonical body (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
    /// When the log integrated the entry, in Unix seconds.
    pub integrated_time: i64,
    /// The log ID: SHA-256 of the log's public key (hex in JSON).
    #[serde(rename = "logID", with = "hex_bytes")]
    pub log_id: Vec<u8>,
    /// The entry's global index.
    pub log_index: i64,
    /// The inclusion proof and SET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<LogEntryVerification>,
}

/// The `verification` member of a [`LogEntryAnon`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryVerification {
    /// The inclusion proof, with its checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<V1InclusionProof>,
    /// The signed entry timestamp (base64 in JSON).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_base64_bytes"
    )]
    pub signed_entry_timestamp: Option<Vec<u8>>,
}

/// A Rekor v1 inclusion proof: hex hashes, JSON-number sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1InclusionProof {
    /// The signed checkpoint (note text) the proof leads to.
    pub checkpoint: String,
    /// Proof hashes from leaf to root (hex in JSON).
    #[serde(with = "hex_list")]
    pub hashes: Vec<Vec<u8>>,
    /// The entry's index in the tree (shard) the proof is for.
    pub log_index: i64,
    /// The tree's root hash (hex in JSON).
    #[serde(with = "hex_bytes")]
    pub root_hash: Vec<u8>,
    /// The tree's size.
    pub tree_size: i64,
}

fn malformed(field: impl Into<String>, reason: impl Into<String>) -> RekorError {
    RekorError::InvalidValue {
        field: field.into(),
        reason: reason.into(),
    }
}

impl LogEntry {
    /// A `LogEntry` holding one entry.
    pub fn new(id: EntryId, entry: LogEntryAnon) -> LogEntry {
        LogEntry(BTreeMap::from([(id.to_string(), entry)]))
    }

    /// Parses a `LogEntry` response (bounded in size and entry count, every field checked).
    pub fn from_json(bytes: &[u8]) -> Result<LogEntry, RekorError> {
        let entry: LogEntry = parse_bounded(bytes)?;
        entry.validate()?;
        Ok(entry)
    }

    /// Parses a list of `LogEntry`s (`POST /api/v1/log/entries/retrieve`).
    pub fn list_from_json(bytes: &[u8]) -> Result<Vec<LogEntry>, RekorError> {
        let list: Vec<LogEntry> = parse_bounded(bytes)?;
        crate::json::check_count("(list)", list.len().max(1), MAX_LOG_ENTRIES)?;
        for entry in &list {
            entry.validate()?;
        }
        Ok(list)
    }

    /// The response JSON. An error is a bug (every field serializes); it is returned rather
    /// than answered as an empty body.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The one entry of a create or get response, with its parsed ID.
    pub fn single(&self) -> Result<(EntryId, &LogEntryAnon), RekorError> {
        let mut entries = self.0.iter();
        match (entries.next(), entries.next()) {
            (Some((id, entry)), None) => Ok((EntryId::parse(id)?, entry)),
            _ => Err(malformed(
                "(document)",
                format!("holds {} entries, expected one", self.0.len()),
            )),
        }
    }

    fn validate(&self) -> Result<(), RekorError> {
        crate::json::check_count("(document)", self.0.len(), MAX_LOG_ENTRIES)?;
        for (id, entry) in &self.0 {
            EntryId::parse(id)?;
            entry.validate(id)?;
        }
        Ok(())
    }
}

fn parse_bounded<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RekorError> {
    if bytes.len() > MAX_LOG_ENTRY_RESPONSE_SIZE {
        return Err(RekorError::TooLarge {
            what: WHAT,
            size: bytes.len(),
            limit: MAX_LOG_ENTRY_RESPONSE_SIZE,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| RekorError::Json {
        what: WHAT,
        message: crate::error::snippet_long(&e.to_string()),
    })
}

impl LogEntryAnon {
    /// A new entry with its SET signed by `signer` (whose log ID it records).
    pub fn signed(
        body: &[u8],
        integrated_time: i64,
        log_index: i64,
        signer: &dyn EntrySigner,
        inclusion_proof: Option<V1InclusionProof>,
    ) -> Result<LogEntryAnon, RekorError> {
        let set = sign_entry_timestamp(signer, body, integrated_time, log_index)?;
        Ok(LogEntryAnon {
            body: body.to_vec(),
            integrated_time,
            log_id: signer.log_id().to_vec(),
            log_index,
            verification: Some(LogEntryVerification {
                inclusion_proof,
                signed_entry_timestamp: Some(set),
            }),
        })
    }

    fn validate(&self, id: &str) -> Result<(), RekorError> {
        let field = |name: &str| format!("{}.{name}", crate::error::snippet(id));
        if self.log_index < 0 {
            return Err(malformed(field("logIndex"), "is negative"));
        }
        if self.integrated_time < 0 {
            return Err(malformed(field("integratedTime"), "is negative"));
        }
        if self.log_id.len() != 32 {
            return Err(malformed(field("logID"), "must be 32 bytes"));
        }
        if self.body.len() > crate::MAX_CANONICAL_BODY_SIZE {
            return Err(RekorError::TooLarge {
                what: "entry body",
                size: self.body.len(),
                limit: crate::MAX_CANONICAL_BODY_SIZE,
            });
        }
        if let Some(proof) = self
            .verification
            .as_ref()
            .and_then(|v| v.inclusion_proof.as_ref())
        {
            let field = |name: &str| field(&format!("verification.inclusionProof.{name}"));
            if proof.log_index < 0 || proof.tree_size < 0 || proof.log_index >= proof.tree_size {
                return Err(malformed(
                    field("logIndex"),
                    format!(
                        "index {} is not inside a tree of size {}",
                        proof.log_index, proof.tree_size
                    ),
                ));
            }
            if proof.hashes.len() > MAX_INCLUSION_PROOF_HASHES {
                return Err(RekorError::TooMany {
                    field: field("hashes"),
                    count: proof.hashes.len(),
                    limit: MAX_INCLUSION_PROOF_HASHES,
                });
            }
            if proof.root_hash.len() != 32 || proof.hashes.iter().any(|h| h.len() != 32) {
                return Err(malformed(field("hashes"), "hashes must be 32 bytes"));
            }
        }
        Ok(())
    }

    /// The entry as a bundle's `TransparencyLogEntry`: kind and version read from the body,
    /// SET as `inclusionPromise`, hex hashes decoded. An entry with neither an inclusion proof
    /// nor a SET proves nothing and is refused: a bundle entry needs one of them.
    pub fn to_transparency_log_entry(&self) -> Result<TransparencyLogEntry, RekorError> {
        let (kind, version) = kind_version_of_body(&self.body)?;
        let missing = |field: &str| RekorError::MissingField {
            field: field.to_owned(),
        };
        let verification = self
            .verification
            .clone()
            .ok_or_else(|| missing("verification"))?;
        if verification.inclusion_proof.is_none() && verification.signed_entry_timestamp.is_none() {
            return Err(missing("verification.inclusionProof"));
        }
        Ok(TransparencyLogEntry {
            log_index: self.log_index,
            log_id: self.log_id.clone(),
            kind_version: KindVersion { kind, version },
            integrated_time: self.integrated_time,
            inclusion_promise: verification.signed_entry_timestamp,
            inclusion_proof: verification.inclusion_proof.map(|p| InclusionProof {
                log_index: p.log_index,
                root_hash: p.root_hash,
                tree_size: p.tree_size,
                hashes: p.hashes,
                checkpoint: p.checkpoint,
            }),
            canonicalized_body: self.body.clone(),
        })
    }

    /// The v1 form of a bundle's `TransparencyLogEntry` (the inverse of
    /// [`LogEntryAnon::to_transparency_log_entry`]).
    pub fn from_transparency_log_entry(entry: &TransparencyLogEntry) -> LogEntryAnon {
        LogEntryAnon {
            body: entry.canonicalized_body.clone(),
            integrated_time: entry.integrated_time,
            log_id: entry.log_id.clone(),
            log_index: entry.log_index,
            verification: Some(LogEntryVerification {
                inclusion_proof: entry.inclusion_proof.as_ref().map(|p| V1InclusionProof {
                    checkpoint: p.checkpoint.clone(),
                    hashes: p.hashes.clone(),
                    log_index: p.log_index,
                    root_hash: p.root_hash.clone(),
                    tree_size: p.tree_size,
                }),
                signed_entry_timestamp: entry.inclusion_promise.clone(),
            }),
        }
    }
}

/// The Rekor v2 response to a create request: a `TransparencyLogEntry` with no integration
/// time and no SET (Rekor v2 has neither), whose `logId.keyId` is the log's checkpoint key ID.
pub fn v2_transparency_log_entry(
    entry: &CanonicalEntry,
    log_index: i64,
    checkpoint_key_id: &[u8],
    inclusion_proof: InclusionProof,
) -> TransparencyLogEntry {
    TransparencyLogEntry {
        log_index,
        log_id: checkpoint_key_id.to_vec(),
        kind_version: entry.kind_version(),
        integrated_time: 0,
        inclusion_promise: None,
        inclusion_proof: Some(inclusion_proof),
        canonicalized_body: entry.body.clone(),
    }
}

/// A `TransparencyLogEntry` as proto JSON, the Rekor v2 create response: 64-bit integers as
/// strings, bytes as standard base64, every field written (zero values too) except an absent
/// `inclusionPromise` or `inclusionProof`.
pub fn transparency_log_entry_json(entry: &TransparencyLogEntry) -> String {
    // Written directly (a create answer is made for every append), members in the order
    // serde_json writes a `Value` map: sorted by name.
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use std::fmt::Write;
    let proof_len = entry.inclusion_proof.as_ref().map_or(0, |p| {
        p.checkpoint.len() * 2 + (p.hashes.len() + 1) * 48 + 120
    });
    let mut out = String::with_capacity(entry.canonicalized_body.len() * 4 / 3 + proof_len + 200);
    let b64 = |out: &mut String, bytes: &[u8]| {
        out.push('"');
        STANDARD.encode_string(bytes, out);
        out.push('"');
    };
    let int = |out: &mut String, n: i64| {
        let _ = write!(out, "\"{n}\"");
    };
    out.push_str("{\"canonicalizedBody\":");
    b64(&mut out, &entry.canonicalized_body);
    if let Some(set) = &entry.inclusion_promise {
        out.push_str(",\"inclusionPromise\":{\"signedEntryTimestamp\":");
        b64(&mut out, set);
        out.push('}');
    }
    if let Some(p) = &entry.inclusion_proof {
        out.push_str(",\"inclusionProof\":{\"checkpoint\":{\"envelope\":");
        crate::jcs::write_string(&mut out, &p.checkpoint);
        out.push_str("},\"hashes\":[");
        for (i, h) in p.hashes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            b64(&mut out, h);
        }
        out.push_str("],\"logIndex\":");
        int(&mut out, p.log_index);
        out.push_str(",\"rootHash\":");
        b64(&mut out, &p.root_hash);
        out.push_str(",\"treeSize\":");
        int(&mut out, p.tree_size);
        out.push('}');
    }
    out.push_str(",\"integratedTime\":");
    int(&mut out, entry.integrated_time);
    out.push_str(",\"kindVersion\":{\"kind\":");
    crate::jcs::write_string(&mut out, &entry.kind_version.kind);
    out.push_str(",\"version\":");
    crate::jcs::write_string(&mut out, &entry.kind_version.version);
    out.push_str("},\"logId\":{\"keyId\":");
    b64(&mut out, &entry.log_id);
    out.push_str("},\"logIndex\":");
    int(&mut out, entry.log_index);
    out.push('}');
    out
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text)
            .map_err(|e| D::Error::custom(format!("invalid base64: {e}")))
    }
}

mod optional_base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::base64_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapper(#[serde(with = "super::base64_bytes")] Vec<u8>);
        Ok(Option::<Wrapper>::deserialize(d)?.map(|w| w.0))
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// The longest hex string accepted (a SHA-512 digest).
    const MAX_HEX: usize = 128;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn decode<E: Error>(text: &str) -> Result<Vec<u8>, E> {
        if text.len() > MAX_HEX {
            return Err(E::custom("hex string too long"));
        }
        hex::decode(text).map_err(|e| E::custom(format!("invalid hex: {e}")))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        decode(&String::deserialize(d)?)
    }
}

mod hex_list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&hex::encode(bytes))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| super::hex_bytes::decode(h))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::json::{encode_base64, obj, s};
    use serde_json::Value;

    /// The written answer is byte for byte what a `serde_json::Value` of it writes, with and
    /// without a SET and a proof, with a checkpoint that needs escaping.
    #[test]
    fn transparency_log_entry_json_matches_value_form() {
        let proof = InclusionProof {
            log_index: 7,
            root_hash: vec![9; 32],
            tree_size: 1 << 40,
            hashes: vec![vec![1; 32], vec![2; 32], vec![0xff; 32]],
            checkpoint: "origin \"q\" \\ \u{1}\t\n42\nroot\n\n\u{2014} key sig\n".into(),
        };
        for (promise, proof) in [
            (None, None),
            (Some(vec![3u8; 70]), None),
            (None, Some(proof.clone())),
            (
                Some(vec![4u8; 71]),
                Some(InclusionProof {
                    hashes: Vec::new(),
                    ..proof
                }),
            ),
        ] {
            let entry = TransparencyLogEntry {
                log_index: i64::MAX,
                log_id: vec![5; 32],
                kind_version: KindVersion {
                    kind: "hashedrekord".into(),
                    version: "0.0.2".into(),
                },
                integrated_time: -1,
                inclusion_promise: promise,
                inclusion_proof: proof,
                canonicalized_body: b"{\"apiVersion\":\"0.0.2\"}".to_vec(),
            };
            assert_eq!(
                transparency_log_entry_json(&entry),
                transparency_log_entry_json_value(&entry)
            );
        }
    }

    /// The answer as a `serde_json::Value` writes it (the way it was first written).
    fn transparency_log_entry_json_value(entry: &TransparencyLogEntry) -> String {
        let int = |n: i64| s(n.to_string());
        let mut out = obj([
            ("logIndex", int(entry.log_index)),
            ("logId", obj([("keyId", s(encode_base64(&entry.log_id)))])),
            (
                "kindVersion",
                obj([
                    ("kind", s(entry.kind_version.kind.as_str())),
                    ("version", s(entry.kind_version.version.as_str())),
                ]),
            ),
            ("integratedTime", int(entry.integrated_time)),
            (
                "canonicalizedBody",
                s(encode_base64(&entry.canonicalized_body)),
            ),
        ]);
        if let Value::Object(map) = &mut out {
            if let Some(set) = &entry.inclusion_promise {
                map.insert(
                    "inclusionPromise".into(),
                    obj([("signedEntryTimestamp", s(encode_base64(set)))]),
                );
            }
            if let Some(p) = &entry.inclusion_proof {
                map.insert(
                    "inclusionProof".into(),
                    obj([
                        ("logIndex", int(p.log_index)),
                        ("rootHash", s(encode_base64(&p.root_hash))),
                        ("treeSize", int(p.tree_size)),
                        (
                            "hashes",
                            Value::Array(p.hashes.iter().map(|h| s(encode_base64(h))).collect()),
                        ),
                        ("checkpoint", obj([("envelope", s(p.checkpoint.as_str()))])),
                    ]),
                );
            }
        }
        // A `Value` always serializes.
        out.to_string()
    }

    #[test]
    fn zero_values_are_written() {
        let anon = LogEntryAnon {
            body: b"{}".to_vec(),
            integrated_time: 0,
            log_id: vec![0; 32],
            log_index: 0,
            verification: Some(LogEntryVerification {
                inclusion_proof: Some(V1InclusionProof {
                    checkpoint: String::new(),
                    hashes: vec![],
                    log_index: 0,
                    root_hash: vec![0; 32],
                    tree_size: 1,
                }),
                signed_entry_timestamp: Some(vec![]),
            }),
        };
        let json = LogEntry::new(EntryId::parse(&"0".repeat(80)).unwrap(), anon)
            .to_json()
            .unwrap();
        for needle in [
            r#""hashes":[]"#,
            r#""logIndex":0"#,
            r#""integratedTime":0"#,
            r#""signedEntryTimestamp":"""#,
            r#""checkpoint":"""#,
        ] {
            assert!(json.contains(needle), "{needle} not in {json}");
        }
        assert!(LogEntry::from_json(json.as_bytes()).is_ok());
    }

    /// An entry with neither an inclusion proof nor a SET used to become a bundle entry that
    /// proves nothing; it is refused, naming what is missing.
    #[test]
    fn a_bundle_entry_needs_a_proof_or_a_promise() {
        let with = |verification| LogEntryAnon {
            body: br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#.to_vec(),
            integrated_time: 1,
            log_id: vec![0; 32],
            log_index: 0,
            verification,
        };
        let missing = |field: &str| RekorError::MissingField {
            field: field.to_owned(),
        };
        assert_eq!(
            with(None).to_transparency_log_entry(),
            Err(missing("verification"))
        );
        assert_eq!(
            with(Some(LogEntryVerification::default())).to_transparency_log_entry(),
            Err(missing("verification.inclusionProof"))
        );
        let promised = with(Some(LogEntryVerification {
            inclusion_proof: None,
            signed_entry_timestamp: Some(vec![1]),
        }))
        .to_transparency_log_entry()
        .unwrap();
        assert_eq!(promised.inclusion_promise, Some(vec![1]));
        assert_eq!(promised.inclusion_proof, None);
    }
}
