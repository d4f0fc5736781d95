//! The one error type of this crate.

/// A Sigstore document could not be parsed: it is too big or too deep, is not JSON, has the
/// wrong media type, or a field holds a value that the format does not allow.
///
/// Field paths use the JSON names, e.g. `verificationMaterial.tlogEntries[0].logId.keyId`.
/// Values copied from the input are cut to a few dozen characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The input is bigger than the limit for its kind of document: probably not a Sigstore
    /// document, or a resource-exhaustion attempt.
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The kind of document, e.g. `"bundle"`.
        what: &'static str,
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Arrays and objects are nested more deeply than the limit; no Sigstore document needs
    /// that, so the input is rejected before it is parsed.
    #[error("{what} nests JSON arrays and objects more than {limit} deep")]
    NestingTooDeep {
        /// The kind of document.
        what: &'static str,
        /// The depth limit.
        limit: usize,
    },
    /// The input is not JSON, is truncated, or a field has the wrong JSON type (for example a
    /// number where a string is expected) or appears twice.
    #[error("malformed {what} JSON at line {line} column {column}: {message}")]
    Json {
        /// The kind of document.
        what: &'static str,
        /// 1-based line of the error (0 when the parser did not know it).
        line: usize,
        /// 1-based column of the error (0 when the parser did not know it).
        column: usize,
        /// serde_json's description, cut to a few hundred characters.
        message: String,
    },
    /// The `mediaType` names a document type or version this crate does not know.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// An in-toto statement's `_type` is not `https://in-toto.io/Statement/v0.1` or `/v1`.
    #[error("unsupported in-toto statement type {0:?}")]
    UnsupportedStatementType(String),
    /// A Rekor entry body has a `kind` and `apiVersion` this crate cannot parse. Clients must
    /// fail gracefully on these rather than guess.
    #[error("unsupported Rekor entry kind {kind:?} version {version:?}")]
    UnsupportedEntry {
        /// The entry's `kind`.
        kind: String,
        /// The entry's `apiVersion`.
        version: String,
    },
    /// A field that the format requires is absent (or `null`).
    #[error("required field `{field}` is missing")]
    MissingField {
        /// Path of the missing field.
        field: String,
    },
    /// None of the alternatives of a `oneof` is present, e.g. a bundle with neither
    /// `messageSignature` nor `dsseEnvelope`.
    #[error("`{field}` must have one of {expected}, but has none")]
    NoVariant {
        /// Path of the object that lacks the alternative.
        field: String,
        /// The alternatives, as JSON names.
        expected: &'static str,
    },
    /// More than one alternative of a `oneof` is present, so the document is ambiguous.
    #[error("`{field}` must have exactly one of {found:?}")]
    MultipleVariants {
        /// Path of the object.
        field: String,
        /// The alternatives that are present.
        found: Vec<&'static str>,
    },
    /// A `bytes` field is not base64 (standard or URL-safe alphabet, padded or not).
    #[error("field `{field}` is not valid base64: {reason}")]
    InvalidBase64 {
        /// Path of the field.
        field: String,
        /// What the decoder found.
        reason: base64::DecodeError,
    },
    /// An integer field is not an integer in range (64-bit fields are JSON strings or numbers;
    /// 32-bit fields are numbers or strings).
    #[error("field `{field}` is not a valid integer: {value:?}")]
    InvalidInteger {
        /// Path of the field.
        field: String,
        /// The value found.
        value: String,
    },
    /// A log index, tree size or timestamp is negative, which no log produces.
    #[error("field `{field}` must not be negative, got {value}")]
    NegativeValue {
        /// Path of the field.
        field: String,
        /// The value found.
        value: i64,
    },
    /// A list has more elements than this crate accepts.
    #[error("`{field}` has {count} elements, more than the limit of {limit}")]
    TooMany {
        /// Path of the list.
        field: String,
        /// Number of elements found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A list that must have at least one element is empty, e.g. a certificate chain.
    #[error("`{field}` must not be empty")]
    EmptyList {
        /// Path of the list.
        field: String,
    },
    /// A string that must say something is empty, e.g. an in-toto statement's `predicateType`.
    #[error("field `{field}` must be a non-empty string, got \"\"")]
    EmptyString {
        /// Path of the field.
        field: String,
    },
    /// An enum field holds a name the format does not define (or the unspecified zero value).
    #[error("field `{field}` has unknown value {value:?}")]
    UnknownEnumValue {
        /// Path of the field.
        field: String,
        /// The value found.
        value: String,
    },
    /// A timestamp is not RFC 3339 (`2021-03-07T03:20:29.000Z`), or is out of range.
    #[error("field `{field}` is not an RFC 3339 timestamp ({reason}): {value:?}")]
    InvalidTimestamp {
        /// Path of the field (`"timestamp"` for a standalone parse).
        field: String,
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A hex field (e.g. a legacy Rekor bundle's `logID`) is not hex.
    #[error("field `{field}` is not hex: {value:?}")]
    InvalidHex {
        /// Path of the field.
        field: String,
        /// The value found.
        value: String,
    },
    /// The same key appears twice in a map, so the value is ambiguous (e.g. two `sha256`
    /// entries in an in-toto subject digest).
    #[error("`{field}` has key {key:?} more than once")]
    DuplicateKey {
        /// Path of the map.
        field: String,
        /// The repeated key.
        key: String,
    },
}

/// At most this many characters of an input value are copied into an error.
const SNIPPET_CHARS: usize = 64;

/// `value`, cut to [`SNIPPET_CHARS`] characters so that errors stay small.
pub(crate) fn snippet(value: &str) -> String {
    cut(value, SNIPPET_CHARS)
}

/// `value`, cut to `max` characters (marked with `…` when cut).
pub(crate) fn cut(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", value.get(..end).unwrap_or_default()),
        None => value.to_owned(),
    }
}
