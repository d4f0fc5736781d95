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
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
/// Most subjects a statement may name. A verifier compares every subject with the artifact,
/// so more is refused rather than checked slowly.
pub const MAX_SUBJECTS: usize = 1024;
/// Most digest algorithms one subject may list.
pub const MAX_SUBJECT_DIGESTS: usize = 32;

/// An in-toto statement: what was attested (`subject`) and the claim (`predicate`).
///
/// Parsing enforces what makes it a statement: `_type` is [`STATEMENT_TYPE_V0_1`] or
/// [`STATEMENT_TYPE_V1`]; `subject` has 1 to [`MAX_SUBJECTS`] entries, each with 1 to
/// [`MAX_SUBJECT_DIGESTS`] digests; `predicateType` is a non-empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `_type`: [`STATEMENT_TYPE_V0_1`] or [`STATEMENT_TYPE_V1`].
    pub type_: String,
    /// The artifacts the statement is about (never empty).
    pub subject: Vec<Subject>,
    /// The predicate's type URI (never empty).
    pub predicate_type: String,
    /// The predicate, kept as JSON.
    pub predicate: Option<Value>,
}

/// An artifact named by a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The artifact's name (empty when absent).
    pub name: String,
    /// Digests by algorithm name (`sha256`, …), as lowercase hex as written. Never empty; a
    /// repeated algorithm is rejected.
    pub digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    type_: Option<String>,
    subject: Option<Bounded<WireSubject, MAX_SUBJECTS>>,
    #[serde(rename = "predicateType", alias = "predicate_type")]
    predicate_type: Option<String>,
    predicate: Option<Value>,
}

#[derive(Deserialize)]
struct WireSubject {
    name: Option<String>,
    digest: Option<Pairs>,
}

/// A JSON array read into at most `LIMIT` elements. Elements past the limit are skipped
/// without being built (only counted), so an oversized list costs a scan, not memory.
struct Bounded<T, const LIMIT: usize> {
    items: Vec<T>,
    /// How many elements the array has, kept ones and skipped ones.
    count: usize,
}

impl<'de, T: Deserialize<'de>, const LIMIT: usize> Deserialize<'de> for Bounded<T, LIMIT> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, const LIMIT: usize>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const LIMIT: usize> Visitor<'de> for BoundedVisitor<T, LIMIT> {
            type Value = Bounded<T, LIMIT>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                let mut count = 0usize;
                while count < LIMIT {
                    match seq.next_element::<T>()? {
                        Some(item) => items.push(item),
                        None => return Ok(Bounded { items, count }),
                    }
                    count += 1;
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count = count.saturating_add(1);
                }
                Ok(Bounded { items, count })
            }
        }
        deserializer.deserialize_seq(BoundedVisitor(std::marker::PhantomData))
    }
}

/// A JSON object of strings read as pairs in order, so that repeated keys can be reported
/// rather than silently overwritten. At most [`MAX_SUBJECT_DIGESTS`] pairs are kept; the rest
/// are only counted.
struct Pairs {
    pairs: Vec<(String, String)>,
    /// How many members the object has, kept ones and skipped ones.
    count: usize,
}

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
                let mut count = 0usize;
                while count < MAX_SUBJECT_DIGESTS {
                    match map.next_entry::<String, String>()? {
                        Some(entry) => pairs.push(entry),
                        None => return Ok(Pairs { pairs, count }),
                    }
                    count += 1;
                }
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    count = count.saturating_add(1);
                }
                Ok(Pairs { pairs, count })
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

impl Statement {
    /// Parses a statement (at most [`MAX_STATEMENT_SIZE`] bytes). `_type` must be in-toto
    /// Statement v0.1 or v1, `subject` must list 1 to [`MAX_SUBJECTS`] subjects, each with 1
    /// to [`MAX_SUBJECT_DIGESTS`] digests, and `predicateType` must be a non-empty string.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, FormatError> {
        let w: WireStatement =
            json::parse_document(bytes, "in-toto statement", MAX_STATEMENT_SIZE)?;
        let type_ = w.type_.ok_or_else(|| json::missing("", "_type"))?;
        if type_ != STATEMENT_TYPE_V0_1 && type_ != STATEMENT_TYPE_V1 {
            return Err(FormatError::UnsupportedStatementType(snippet(&type_)));
        }
        let subjects = w.subject.ok_or_else(|| json::missing("", "subject"))?;
        json::check_count(subjects.count, MAX_SUBJECTS, || "subject".to_owned())?;
        if subjects.items.is_empty() {
            return Err(FormatError::EmptyList {
                field: "subject".into(),
            });
        }
        let subject = subjects
            .items
            .into_iter()
            .enumerate()
            .map(|(i, s)| Subject::from_wire(s, &index("subject", i)))
            .collect::<Result<_, _>>()?;
        let predicate_type = w
            .predicate_type
            .ok_or_else(|| json::missing("", "predicateType"))?;
        if predicate_type.is_empty() {
            return Err(FormatError::EmptyString {
                field: "predicateType".into(),
            });
        }
        Ok(Statement {
            type_,
            subject,
            predicate_type,
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
        let field = || join(path, "digest");
        let pairs = w.digest.ok_or_else(|| json::missing(path, "digest"))?;
        json::check_count(pairs.count, MAX_SUBJECT_DIGESTS, field)?;
        if pairs.pairs.is_empty() {
            return Err(FormatError::EmptyList { field: field() });
        }
        let mut digest = BTreeMap::new();
        for (algorithm, value) in pairs.pairs {
            if digest.contains_key(&algorithm) {
                return Err(FormatError::DuplicateKey {
                    field: field(),
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

    /// A statement with `subjects` subjects of `digests` digests each, the given `_type` and
    /// `predicateType` (omitted when `None`).
    fn statement(
        type_: &str,
        subjects: usize,
        digests: usize,
        predicate_type: Option<&str>,
    ) -> Vec<u8> {
        let digest: Map<String, Value> = (0..digests)
            .map(|d| (format!("alg{d}"), Value::String(format!("{d:02x}"))))
            .collect();
        let subject: Vec<Value> = (0..subjects)
            .map(|i| {
                serde_json::json!({"name": format!("s{i}"), "digest": Value::Object(digest.clone())})
            })
            .collect();
        let mut v = serde_json::json!({"_type": type_, "subject": subject, "predicate": {}});
        if let Some(p) = predicate_type {
            v["predicateType"] = Value::String(p.into());
        }
        serde_json::to_vec(&v).unwrap()
    }

    const P: Option<&str> = Some("https://slsa.dev/provenance/v1");

    #[test]
    fn statement_type_must_be_in_toto() {
        for ok in [STATEMENT_TYPE_V0_1, STATEMENT_TYPE_V1] {
            Statement::from_json(&statement(ok, 1, 1, P)).unwrap();
        }
        for bad in [
            "https://in-toto.io/Statement/v0.2",
            "https://in-toto.io/statement/v1",
            "",
        ] {
            assert_eq!(
                Statement::from_json(&statement(bad, 1, 1, P)),
                Err(FormatError::UnsupportedStatementType(bad.into()))
            );
        }
    }

    #[test]
    fn subject_must_be_present_and_non_empty() {
        Statement::from_json(&statement(STATEMENT_TYPE_V1, 1, 1, P)).unwrap();
        let err = Statement::from_json(&statement(STATEMENT_TYPE_V1, 0, 1, P)).unwrap_err();
        assert_eq!(
            err,
            FormatError::EmptyList {
                field: "subject".into()
            }
        );
        assert_eq!(err.to_string(), "`subject` must not be empty");
        let err = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            FormatError::MissingField {
                field: "subject".into()
            }
        );
    }

    #[test]
    fn at_most_1024_subjects() {
        let s = Statement::from_json(&statement(STATEMENT_TYPE_V1, MAX_SUBJECTS, 1, P)).unwrap();
        assert_eq!(s.subject.len(), 1024);
        let err = Statement::from_json(&statement(STATEMENT_TYPE_V1, MAX_SUBJECTS + 1, 1, P))
            .unwrap_err();
        assert_eq!(
            err,
            FormatError::TooMany {
                field: "subject".into(),
                count: 1025,
                limit: 1024
            }
        );
        assert_eq!(
            err.to_string(),
            "`subject` has 1025 elements, more than the limit of 1024"
        );
        // Far over the limit (about 15 MiB): counted, not built, and still an error.
        let one = r#"{"digest":{"sha256":"00"}},"#;
        let count = 600_000;
        let mut huge = String::from(r#"{"_type":"https://in-toto.io/Statement/v1","subject":["#);
        huge.push_str(&one.repeat(count));
        huge.pop();
        huge.push_str(r#"],"predicateType":"p"}"#);
        assert!(huge.len() < MAX_STATEMENT_SIZE);
        assert_eq!(
            Statement::from_json(huge.as_bytes()),
            Err(FormatError::TooMany {
                field: "subject".into(),
                count,
                limit: MAX_SUBJECTS
            })
        );
    }

    #[test]
    fn digests_non_empty_and_at_most_32() {
        let s =
            Statement::from_json(&statement(STATEMENT_TYPE_V1, 2, MAX_SUBJECT_DIGESTS, P)).unwrap();
        assert_eq!(s.subject[1].digest.len(), 32);
        let err =
            Statement::from_json(&statement(STATEMENT_TYPE_V1, 2, MAX_SUBJECT_DIGESTS + 1, P))
                .unwrap_err();
        assert_eq!(
            err,
            FormatError::TooMany {
                field: "subject[0].digest".into(),
                count: 33,
                limit: 32
            }
        );
        let err = Statement::from_json(&statement(STATEMENT_TYPE_V1, 2, 0, P)).unwrap_err();
        assert_eq!(
            err,
            FormatError::EmptyList {
                field: "subject[0].digest".into()
            }
        );
        let err = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"p"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            FormatError::MissingField {
                field: "subject[0].digest".into()
            }
        );
    }

    #[test]
    fn predicate_type_is_a_non_empty_string() {
        Statement::from_json(&statement(STATEMENT_TYPE_V1, 1, 1, Some("x"))).unwrap();
        let err = Statement::from_json(&statement(STATEMENT_TYPE_V1, 1, 1, Some(""))).unwrap_err();
        assert_eq!(
            err,
            FormatError::EmptyString {
                field: "predicateType".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "field `predicateType` must be a non-empty string, got \"\""
        );
        let err = Statement::from_json(&statement(STATEMENT_TYPE_V1, 1, 1, None)).unwrap_err();
        assert_eq!(
            err,
            FormatError::MissingField {
                field: "predicateType".into()
            }
        );
        let err = Statement::from_json(
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}],"predicateType":7}"#,
        )
        .unwrap_err();
        assert!(matches!(err, FormatError::Json { .. }), "{err}");
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
