//! in-toto attestation statements (v0.1 and v1), the usual payload of a DSSE envelope in a
//! Sigstore bundle.
//!
//! ```
//! use signet_formats::intoto::Statement;
//! let s = Statement::from_json(br#"{"_type": "https://in-toto.io/Statement/v1",
//!     "subject": [{"name": "a.txt", "digest": {"sha256": "a0cf"}}],
//!     "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}"#).unwrap();
//! assert_eq!(s.subject[0].digest["sha256"], "a0cf");
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{FormatError, snippet};
use crate::json::{self, index, join};

/// `_type` of in-toto Statement v0.1.
pub const STATEMENT_TYPE_V0_1: &str = "https://in-toto.io/Statement/v0.1";
/// `_type` of in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";
/// The DSSE `payloadType` of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A statement may be at most this big (16 MiB).
pub const MAX_STATEMENT_SIZE: usize = 16 << 20;

/// An in-toto statement: what was attested (`subject`) and the claim (`predicate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `_type`: [`STATEMENT_TYPE_V0_1`] or [`STATEMENT_TYPE_V1`].
    pub type_: String,
    /// The artifacts the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate's type URI (empty when absent).
    pub predicate_type: String,
    /// The predicate, kept as JSON.
    pub predicate: Option<Value>,
}

/// An artifact named by a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The artifact's name (empty when absent).
    pub name: String,
    /// Digests by algorithm name (`sha256`, …), as lowercase hex as written. A repeated
    /// algorithm is rejected.
    pub digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    type_: Option<String>,
    subject: Option<Vec<WireSubject>>,
    #[serde(rename = "predicateType", alias = "predicate_type")]
    predicate_type: Option<String>,
    predicate: Option<Value>,
}

#[derive(Deserialize)]
struct WireSubject {
    name: Option<String>,
    digest: Option<Pairs>,
}

/// A JSON object of strings read as pairs in order, so that repeated keys can be reported
/// rather than silently overwritten.
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

impl Statement {
    /// Parses a statement (at most [`MAX_STATEMENT_SIZE`] bytes). `_type` must be in-toto
    /// Statement v0.1 or v1.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, FormatError> {
        let w: WireStatement =
            json::parse_document(bytes, "in-toto statement", MAX_STATEMENT_SIZE)?;
        let type_ = w.type_.ok_or_else(|| json::missing("", "_type"))?;
        if type_ != STATEMENT_TYPE_V0_1 && type_ != STATEMENT_TYPE_V1 {
            return Err(FormatError::UnsupportedStatementType(snippet(&type_)));
        }
        let subject = w
            .subject
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, s)| Subject::from_wire(s, &index("subject", i)))
            .collect::<Result<_, _>>()?;
        Ok(Statement {
            type_,
            subject,
            predicate_type: w.predicate_type.unwrap_or_default(),
            predicate: w.predicate,
        })
    }

    /// The statement as compact JSON.
    pub fn to_json(&self) -> String {
        let subject = self
            .subject
            .iter()
            .map(|s| {
                let digest: Map<String, Value> = s
                    .digest
                    .iter()
                    .map(|(k, v)| (k.clone(), json::string(v)))
                    .collect();
                json::object([
                    ("name", json::string(&s.name)),
                    ("digest", Value::Object(digest)),
                ])
            })
            .collect();
        let mut out = json::object([
            ("_type", json::string(&self.type_)),
            ("subject", Value::Array(subject)),
            ("predicateType", json::string(&self.predicate_type)),
        ]);
        json::insert_some(&mut out, "predicate", self.predicate.clone());
        json::render(&out, false)
    }
}

impl Subject {
    fn from_wire(w: WireSubject, path: &str) -> Result<Self, FormatError> {
        let mut digest = BTreeMap::new();
        for (algorithm, value) in w.digest.map(|p| p.0).unwrap_or_default() {
            if digest.contains_key(&algorithm) {
                return Err(FormatError::DuplicateKey {
                    field: join(path, "digest"),
                    key: snippet(&algorithm),
                });
            }
            digest.insert(algorithm, value);
        }
        Ok(Subject {
            name: w.name.unwrap_or_default(),
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rejects_unknown_type_and_repeated_digest() {
        let err =
            Statement::from_json(br#"{"_type":"https://in-toto.io/Statement/v2"}"#).unwrap_err();
        assert!(matches!(err, FormatError::UnsupportedStatementType(_)));
        let err = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"a","sha256":"b"}}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            FormatError::DuplicateKey {
                field: "subject[0].digest".into(),
                key: "sha256".into()
            }
        );
        let err = Statement::from_json(br#"{"subject":[]}"#).unwrap_err();
        assert!(matches!(err, FormatError::MissingField { .. }));
    }

    #[test]
    fn round_trips() {
        let s = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"x","digest":{"sha512":"00","sha256":"11"}}],"predicateType":"p","predicate":{"a":[1,{"b":null}]}}"#,
        )
        .unwrap();
        assert_eq!(Statement::from_json(s.to_json().as_bytes()).unwrap(), s);
    }
}
