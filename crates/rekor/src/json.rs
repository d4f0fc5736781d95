//! Reading untrusted JSON: bounded parsing, typed field access that names the field on error,
//! and the two base64 dialects (Go's strict standard encoding for Rekor v1, protojson's
//! lenient one for Rekor v2).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::RekorError;
use crate::error::{index, join};

/// Parses `bytes` as one JSON document of at most `limit` bytes. serde_json limits nesting to
/// 128 levels, so deep input fails cleanly rather than exhausting the stack.
pub(crate) fn parse(bytes: &[u8], what: &'static str, limit: usize) -> Result<Value, RekorError> {
    if bytes.len() > limit {
        return Err(RekorError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| RekorError::Json {
        what,
        message: crate::error::snippet_long(&e.to_string()),
    })
}

/// A JSON object with the path it was found at.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
}

/// `value` as an object, or a wrong-type error naming `path`.
pub(crate) fn object<'a>(value: &'a Value, path: &'a str) -> Result<Obj<'a>, RekorError> {
    match value {
        Value::Object(map) => Ok(Obj { map, path }),
        _ => Err(wrong_type(path, "an object")),
    }
}

pub(crate) fn wrong_type(field: &str, expected: &'static str) -> RekorError {
    RekorError::WrongType {
        field: if field.is_empty() {
            "(document)".to_owned()
        } else {
            field.to_owned()
        },
        expected,
    }
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> RekorError {
    RekorError::InvalidValue {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

impl<'a> Obj<'a> {
    /// The path of member `name`.
    pub(crate) fn field(&self, name: &str) -> String {
        join(self.path, name)
    }

    /// Member `name` unless absent or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether member `name` is present and not `null`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first present member among `names` (a proto field's JSON and original names),
    /// with the name it was found under.
    pub(crate) fn get_any(&self, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        names
            .iter()
            .find_map(|&name| self.get(name).map(|v| (name, v)))
    }

    /// Member `name`, which must be present.
    pub(crate) fn required(&self, name: &str) -> Result<&'a Value, RekorError> {
        self.get(name).ok_or_else(|| RekorError::MissingField {
            field: self.field(name),
        })
    }

    /// Member `name` as a string, which must be present.
    pub(crate) fn str(&self, name: &str) -> Result<&'a str, RekorError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| wrong_type(&self.field(name), "a string"))
    }

    /// Member `name` as a string, if present.
    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, RekorError> {
        self.get(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| wrong_type(&self.field(name), "a string"))
            })
            .transpose()
    }

    /// Member `name` as an array, which must be present.
    pub(crate) fn array(&self, name: &str) -> Result<&'a [Value], RekorError> {
        self.required(name)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| wrong_type(&self.field(name), "an array"))
    }
}

/// Checks that a list has between 1 and `limit` elements.
pub(crate) fn check_count(field: &str, count: usize, limit: usize) -> Result<(), RekorError> {
    if count == 0 {
        return Err(invalid(field, "must not be empty"));
    }
    if count > limit {
        return Err(RekorError::TooMany {
            field: field.to_owned(),
            count,
            limit,
        });
    }
    Ok(())
}

/// A list element that is an object, with its path.
pub(crate) type Element<'a> = (String, &'a Map<String, Value>);

/// Each element of `items` as an object, with its path.
pub(crate) fn objects<'a>(
    items: &'a [Value],
    list_path: &str,
) -> Result<Vec<Element<'a>>, RekorError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = index(list_path, i);
            match item {
                Value::Object(map) => Ok((path, map)),
                _ => Err(wrong_type(&path, "an object")),
            }
        })
        .collect()
}

/// Go `strfmt.Base64` / `encoding/base64.StdEncoding`: standard alphabet, padded. The only
/// form Rekor v1 accepts, and the only one it writes.
pub(crate) fn decode_std_base64(text: &str, field: &str) -> Result<Vec<u8>, RekorError> {
    STANDARD
        .decode(text)
        .map_err(|e| invalid(field, format!("not standard padded base64: {e}")))
}

/// protojson `bytes`: standard or URL-safe alphabet, padded or not.
pub(crate) fn decode_proto_base64(text: &str, field: &str) -> Result<Vec<u8>, RekorError> {
    let url = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine
        .decode(text)
        .map_err(|e| invalid(field, format!("not base64: {e}")))
}

/// Standard padded base64, as Go and protojson write `bytes`.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A JSON object from `(name, value)` pairs.
pub(crate) fn obj<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// A JSON string.
pub(crate) fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn proto_base64_accepts_all_four_dialects() {
        for text in ["+/8=", "+/8", "-_8=", "-_8"] {
            assert_eq!(
                decode_proto_base64(text, "f").unwrap(),
                [0xfb, 0xff],
                "{text}"
            );
        }
        assert!(decode_std_base64("+/8", "f").is_err());
        assert!(decode_std_base64("-_8=", "f").is_err());
    }

    #[test]
    fn parse_is_bounded() {
        assert!(matches!(
            parse(b"{}", "x", 1),
            Err(RekorError::TooLarge { size: 2, .. })
        ));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse(deep.as_bytes(), "x", 1 << 20),
            Err(RekorError::Json { .. })
        ));
    }
}
