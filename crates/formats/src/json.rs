//! Proto-JSON plumbing shared by every document type: size and depth guards, base64 and
//! 64-bit integer fields, enum names, and building output objects.
//!
//! Parsing goes through private "wire" structs that mirror the JSON loosely (every field
//! optional, `null` treated as absent, unknown fields ignored). A second step turns them into the
//! public types and reports missing or malformed fields by their JSON path.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};

use crate::error::{FormatError, cut, snippet};

/// Arrays and objects may nest at most this deep in any document this crate parses.
pub const MAX_JSON_DEPTH: usize = 64;

/// Checks the size and nesting depth of `bytes`, then deserializes them.
pub(crate) fn parse_document<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    limit: usize,
) -> Result<T, FormatError> {
    if bytes.len() > limit {
        return Err(FormatError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    check_depth(bytes, what)?;
    serde_json::from_slice(bytes).map_err(|e| json_error(what, &e))
}

/// Deserializes an already-parsed JSON value (after its document was size- and depth-checked).
pub(crate) fn from_value<T: DeserializeOwned>(
    value: Value,
    what: &'static str,
) -> Result<T, FormatError> {
    serde_json::from_value(value).map_err(|e| json_error(what, &e))
}

/// serde_json's error, without its position suffix (kept as numbers) and cut short: its text
/// can quote a whole string value from the input.
fn json_error(what: &'static str, e: &serde_json::Error) -> FormatError {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&position).unwrap_or(&full);
    FormatError::Json {
        what,
        line: e.line(),
        column: e.column(),
        message: cut(message, 200),
    }
}

/// Rejects input whose arrays and objects nest deeper than [`MAX_JSON_DEPTH`]. This scans bytes
/// without parsing, so it also bounds the recursion of the real parser that runs next.
fn check_depth(bytes: &[u8], what: &'static str) -> Result<(), FormatError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(FormatError::NestingTooDeep {
                        what,
                        limit: MAX_JSON_DEPTH,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// `path.name`, or `name` at the top level.
pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// `path[index]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a proto-JSON `bytes` value: standard or URL-safe alphabet (not mixed), padded or not.
pub(crate) fn decode_base64(
    text: impl AsRef<[u8]>,
    field: impl FnOnce() -> String,
) -> Result<Vec<u8>, FormatError> {
    let text = text.as_ref();
    let engine = if text.iter().any(|&b| b == b'-' || b == b'_') {
        &URL_SAFE_ANY_PADDING
    } else {
        &STANDARD_ANY_PADDING
    };
    engine
        .decode(text)
        .map_err(|reason| FormatError::InvalidBase64 {
            field: field(),
            reason,
        })
}

/// A `bytes` field that defaults to empty when absent.
pub(crate) fn bytes_or_empty(
    text: Option<&str>,
    path: &str,
    name: &str,
) -> Result<Vec<u8>, FormatError> {
    match text {
        Some(t) => decode_base64(t, || join(path, name)),
        None => Ok(Vec::new()),
    }
}

/// A `bytes` field that must be present.
pub(crate) fn required_bytes(
    text: Option<&str>,
    path: &str,
    name: &str,
) -> Result<Vec<u8>, FormatError> {
    match text {
        Some(t) => decode_base64(t, || join(path, name)),
        None => Err(missing(path, name)),
    }
}

/// Encodes bytes for output: standard alphabet with padding.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The error for an absent required field.
pub(crate) fn missing(path: &str, name: &str) -> FormatError {
    FormatError::MissingField {
        field: join(path, name),
    }
}

/// Fails if a list is longer than `limit`.
pub(crate) fn check_count(
    count: usize,
    limit: usize,
    field: impl FnOnce() -> String,
) -> Result<(), FormatError> {
    if count > limit {
        return Err(FormatError::TooMany {
            field: field(),
            count,
            limit,
        });
    }
    Ok(())
}

/// A proto-JSON integer as written: a string (the canonical form for 64-bit fields) or a
/// number. It is converted, with its field path, when the public type is built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawInt {
    Text(String),
    Number(serde_json::Number),
}

impl<'de> Deserialize<'de> for RawInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawIntVisitor;
        impl Visitor<'_> for RawIntVisitor {
            type Value = RawInt;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer as a JSON string or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawInt, E> {
                Ok(RawInt::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawInt, E> {
                Ok(RawInt::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawInt, E> {
                Ok(RawInt::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawInt, E> {
                serde_json::Number::from_f64(v)
                    .map(RawInt::Number)
                    .ok_or_else(|| E::custom("non-finite number"))
            }
        }
        deserializer.deserialize_any(RawIntVisitor)
    }
}

impl RawInt {
    fn as_text(&self) -> String {
        match self {
            RawInt::Text(t) => snippet(t),
            RawInt::Number(n) => n.to_string(),
        }
    }

    /// The value as an `i64`. Strings must be an optional `-` and decimal digits only.
    fn to_i64(&self) -> Option<i64> {
        match self {
            RawInt::Text(t) => {
                let digits = t.strip_prefix('-').unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                t.parse().ok()
            }
            RawInt::Number(n) => n.as_i64(),
        }
    }
}

/// An `int64` field; absent means 0, as in proto3.
pub(crate) fn int64(raw: Option<&RawInt>, path: &str, name: &str) -> Result<i64, FormatError> {
    let Some(raw) = raw else { return Ok(0) };
    raw.to_i64().ok_or_else(|| FormatError::InvalidInteger {
        field: join(path, name),
        value: raw.as_text(),
    })
}

/// An `int64` field that must not be negative (log indices, tree sizes, log times).
pub(crate) fn non_negative_int64(
    raw: Option<&RawInt>,
    path: &str,
    name: &str,
) -> Result<i64, FormatError> {
    let value = int64(raw, path, name)?;
    if value < 0 {
        return Err(FormatError::NegativeValue {
            field: join(path, name),
            value,
        });
    }
    Ok(value)
}

/// A `uint32` field; absent means 0.
pub(crate) fn uint32(raw: Option<&RawInt>, path: &str, name: &str) -> Result<u32, FormatError> {
    let Some(raw) = raw else { return Ok(0) };
    raw.to_i64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| FormatError::InvalidInteger {
            field: join(path, name),
            value: raw.as_text(),
        })
}

/// Builds an output JSON object from `(name, value)` pairs.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (name, value) in fields {
        map.insert(name.to_owned(), value);
    }
    Value::Object(map)
}

/// Adds `name: value` to an output object when `value` is `Some`.
pub(crate) fn insert_some(object: &mut Value, name: &str, value: Option<Value>) {
    if let (Value::Object(map), Some(value)) = (object, value) {
        map.insert(name.to_owned(), value);
    }
}

/// A string output value.
pub(crate) fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// A 64-bit integer output value: a JSON string, as proto-JSON requires.
pub(crate) fn int64_value(v: i64) -> Value {
    Value::String(v.to_string())
}

/// A `bytes` output value.
pub(crate) fn bytes_value(b: &[u8]) -> Value {
    Value::String(encode_base64(b))
}

/// Output JSON: compact, or indented with two spaces when `pretty`.
pub(crate) fn render(value: &Value, pretty: bool) -> String {
    if pretty {
        format!("{value:#}")
    } else {
        value.to_string()
    }
}

/// Why [`parse_unique_json`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UniqueJsonError {
    /// Not one JSON value (or nested deeper than serde_json's recursion limit).
    #[error("not one JSON value")]
    Malformed,
    /// An object names this member twice (names compared after unescaping): serde_json would
    /// keep the last, while another reader of the same text may take the first.
    #[error("an object names the member {0:?} twice")]
    Duplicate(String),
}

/// Parses JSON into a [`Value`], refusing any object (at any depth) that repeats a member
/// name. For security-relevant JSON that several parties read, such as JWT headers and
/// claims, where "the last duplicate wins" would let two readers see different values.
///
/// ```
/// use signet_formats::{UniqueJsonError, parse_unique_json};
/// assert!(parse_unique_json(br#"{"sub":"a","x":{"sub":"b"}}"#).is_ok());
/// assert_eq!(
///     parse_unique_json(br#"{"sub":"a","sub":"b"}"#),
///     Err(UniqueJsonError::Duplicate("sub".into()))
/// );
/// ```
pub fn parse_unique_json(bytes: &[u8]) -> Result<Value, UniqueJsonError> {
    use serde::de::DeserializeSeed as _;
    let duplicate = std::cell::RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueMembers(&duplicate)
        .deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v));
    match (value, duplicate.into_inner()) {
        (_, Some(name)) => Err(UniqueJsonError::Duplicate(name)),
        (Ok(value), None) => Ok(value),
        (Err(_), None) => Err(UniqueJsonError::Malformed),
    }
}

/// A serde visitor building a [`Value`] that stops at the first repeated member name, which it
/// records in the cell. (serde_json bounds the nesting depth it recurses through.)
#[derive(Clone, Copy)]
struct UniqueMembers<'a>(&'a std::cell::RefCell<Option<String>>);

impl<'de> serde::de::DeserializeSeed<'de> for UniqueMembers<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueMembers<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                *self.0.borrow_mut() = Some(name);
                return Err(serde::de::Error::custom("repeated member name"));
            }
            let value = map.next_value_seed(self)?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn base64_accepts_both_alphabets_and_optional_padding() {
        let f = || "f".to_owned();
        assert_eq!(decode_base64("+/8=", f).unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("+/8", f).unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("-_8=", f).unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("-_8", f).unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("", f).unwrap(), Vec::<u8>::new());
        assert!(decode_base64("+_8=", f).is_err(), "mixed alphabets");
        assert!(decode_base64("a", f).is_err());
        assert!(decode_base64("ab c", f).is_err());
        assert!(decode_base64("/w==\n", f).is_err());
    }

    #[test]
    fn integers_from_strings_and_numbers() {
        let t = |s: &str| RawInt::Text(s.to_owned());
        assert_eq!(int64(Some(&t("0")), "", "x").unwrap(), 0);
        assert_eq!(int64(Some(&t("-5")), "", "x").unwrap(), -5);
        assert_eq!(
            int64(Some(&t("9223372036854775807")), "", "x").unwrap(),
            i64::MAX
        );
        assert_eq!(int64(None, "", "x").unwrap(), 0);
        assert_eq!(int64(Some(&RawInt::Number(7.into())), "", "x").unwrap(), 7);
        for bad in ["", "+1", "1.0", " 1", "0x10", "9223372036854775808", "-"] {
            assert!(int64(Some(&t(bad)), "", "x").is_err(), "{bad:?}");
        }
        let float = RawInt::Number(serde_json::Number::from_f64(1.5).unwrap());
        assert!(int64(Some(&float), "", "x").is_err());
        assert_eq!(
            non_negative_int64(Some(&t("-1")), "a", "b").unwrap_err(),
            FormatError::NegativeValue {
                field: "a.b".into(),
                value: -1
            }
        );
        assert!(uint32(Some(&t("4294967296")), "", "x").is_err());
        assert_eq!(uint32(Some(&RawInt::Number(2.into())), "", "x").unwrap(), 2);
    }

    #[test]
    fn depth_is_bounded_and_strings_are_skipped() {
        let ok = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(check_depth(ok.as_bytes(), "t").is_ok());
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert!(check_depth(deep.as_bytes(), "t").is_err());
        let in_string = format!("\"{}\\\"{}\"", "[".repeat(1000), "{".repeat(1000));
        assert!(check_depth(in_string.as_bytes(), "t").is_ok());
    }

    #[test]
    fn unique_json_reads_every_value_kind() {
        let text = r#"{"n":null,"t":true,"i":-3,"u":18446744073709551615,"f":1.5,"s":"\u00e9","a":[1,[2]],"o":{}}"#;
        assert_eq!(
            parse_unique_json(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(
            parse_unique_json(b"{\"a\":1,\"a\":1}"),
            Err(UniqueJsonError::Duplicate("a".into()))
        );
        assert_eq!(parse_unique_json(b"{"), Err(UniqueJsonError::Malformed));
        assert_eq!(parse_unique_json(b""), Err(UniqueJsonError::Malformed));
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(
            parse_unique_json(deep.as_bytes()),
            Err(UniqueJsonError::Malformed)
        );
    }
}
