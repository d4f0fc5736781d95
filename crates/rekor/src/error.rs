//! The one error type of this crate.

/// Why an entry, a request or a log response was rejected.
///
/// Field paths use the JSON names, e.g. `spec.signature.publicKey.content`. Values copied from
/// the input are cut to a few dozen characters. Every variant but [`RekorError::Sign`] is the
/// client's fault: see [`RekorError::is_client_error`] and [`RekorError::kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RekorError {
    /// The input (or something built from it) is bigger than its limit: not a Rekor entry, or
    /// a resource-exhaustion attempt.
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was too big, e.g. `"proposed entry"`.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is not JSON (or not UTF-8), is truncated, or nests too deeply.
    #[error("malformed {what} JSON: {message}")]
    Json {
        /// What was being parsed, e.g. `"proposed entry"`.
        what: &'static str,
        /// serde_json's description with line and column.
        message: String,
    },
    /// A required field is absent or `null`.
    #[error("required field `{field}` is missing")]
    MissingField {
        /// Path of the field.
        field: String,
    },
    /// A field has the wrong JSON type, e.g. a number where a string belongs.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// Path of the field.
        field: String,
        /// The JSON type expected, e.g. `"a string"`.
        expected: &'static str,
    },
    /// A field's value is not allowed: bad base64 or hex, a digest of the wrong length, an
    /// empty signature, fields that must not be sent, and so on.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidValue {
        /// Path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The entry's `kind` and `apiVersion` (or the v2 request type) are not accepted by this
    /// log. Rekor v1 accepts `hashedrekord` 0.0.1, `dsse` 0.0.1 and `intoto` 0.0.2; Rekor v2
    /// accepts `hashedRekordRequestV002` and `dsseRequestV002`.
    #[error("unsupported entry kind {kind:?} version {version:?}")]
    UnsupportedKind {
        /// The `kind` sent.
        kind: String,
        /// The `apiVersion` sent.
        version: String,
    },
    /// A list has more elements than allowed.
    #[error("field `{field}` has {count} elements, more than the limit of {limit}")]
    TooMany {
        /// Path of the list.
        field: String,
        /// How many elements it has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A public key or certificate cannot be parsed: not PEM, PEM of another kind, several
    /// blocks, bad DER, an unknown key type.
    #[error("field `{field}` is not a usable public key or certificate: {reason}")]
    MalformedKey {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// The key, hash or signature algorithm is one this log does not accept (Ed25519ph, RSA-PSS,
    /// a `keyDetails` value outside the supported set, ...).
    #[error("field `{field}`: unsupported algorithm: {reason}")]
    UnsupportedAlgorithm {
        /// Path of the field naming or implying the algorithm.
        field: String,
        /// Which algorithm and why.
        reason: String,
    },
    /// A Rekor v2 verifier's `keyDetails` does not describe its key.
    #[error("field `{field}` is {key_details} but the key is {key}")]
    KeyDetailsMismatch {
        /// Path of the `keyDetails` field.
        field: String,
        /// The `keyDetails` sent.
        key_details: String,
        /// The kind of key found.
        key: String,
    },
    /// A `hashedrekord` digest is not of the algorithm its key signs with (P-256 signs SHA-256,
    /// P-384 SHA-384, P-521 SHA-512, RSA SHA-256). A mismatch is either a client bug or a replay:
    /// a P-256 signature over a SHA-256 digest `D` also verifies over a "SHA-384 digest"
    /// `D || anything`.
    #[error("field `{field}` is {algorithm}, but {key} keys sign {expected} digests")]
    DigestAlgorithmMismatch {
        /// Path of the digest algorithm (or digest) field.
        field: String,
        /// The digest algorithm sent (or implied by the digest's length).
        algorithm: String,
        /// The kind of key, e.g. `ECDSA P-256`.
        key: String,
        /// The digest algorithm that key signs with.
        expected: &'static str,
    },
    /// A signature does not verify with its key: wrong key, wrong digest, corrupted signature.
    #[error("signature `{field}` does not verify")]
    BadSignature {
        /// Path of the signature.
        field: String,
    },
    /// A DSSE signature is not verified by any of the verifiers sent.
    #[error("DSSE signature `{field}` is not verified by any verifier")]
    UnverifiedSignature {
        /// Path of the signature.
        field: String,
    },
    /// A DSSE verifier verifies none of the envelope's signatures (Rekor rejects these too).
    #[error("verifier `{field}` verifies none of the envelope's signatures")]
    UnusedVerifier {
        /// Path of the verifier.
        field: String,
    },
    /// An entry ID or UUID is not 64 or 80 hex digits.
    #[error("invalid entry ID {value:?}: {reason}")]
    InvalidEntryId {
        /// The text given, cut short.
        value: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// The log's signer failed to sign a signed entry timestamp. The only server-side error.
    #[error("signing the signed entry timestamp failed: {reason}")]
    Sign {
        /// What the signer reported.
        reason: String,
    },
}

impl RekorError {
    /// Whether the request was at fault (HTTP 4xx) rather than the log (HTTP 5xx). Only
    /// [`RekorError::Sign`] is the log's fault.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, RekorError::Sign { .. })
    }

    /// A stable, low-cardinality name for the variant, for metrics labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RekorError::TooLarge { .. } => "too_large",
            RekorError::Json { .. } => "json",
            RekorError::MissingField { .. } => "missing_field",
            RekorError::WrongType { .. } => "wrong_type",
            RekorError::InvalidValue { .. } => "invalid_value",
            RekorError::UnsupportedKind { .. } => "unsupported_kind",
            RekorError::TooMany { .. } => "too_many",
            RekorError::MalformedKey { .. } => "malformed_key",
            RekorError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            RekorError::KeyDetailsMismatch { .. } => "key_details_mismatch",
            RekorError::DigestAlgorithmMismatch { .. } => "digest_algorithm_mismatch",
            RekorError::BadSignature { .. } => "bad_signature",
            RekorError::UnverifiedSignature { .. } => "unverified_signature",
            RekorError::UnusedVerifier { .. } => "unused_verifier",
            RekorError::InvalidEntryId { .. } => "invalid_entry_id",
            RekorError::Sign { .. } => "sign",
        }
    }
}

/// At most this many characters of an input value are copied into an error.
const SNIPPET_CHARS: usize = 48;

/// `text` cut to a few dozen characters, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    let mut out: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A parser message cut to a few hundred characters.
pub(crate) fn snippet_long(text: &str) -> String {
    text.chars().take(SNIPPET_CHARS * 6).collect()
}

/// `parent.name`, or `name` at the top level.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// `list[i]`.
pub(crate) fn index(list: &str, i: usize) -> String {
    format!("{list}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signing_failures_are_server_errors() {
        assert!(!RekorError::Sign { reason: "x".into() }.is_client_error());
        assert!(
            RekorError::BadSignature {
                field: "spec.signature.content".into()
            }
            .is_client_error()
        );
    }

    #[test]
    fn snippets_are_short() {
        let long = "é".repeat(100);
        assert_eq!(snippet(&long).chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(snippet("abc"), "abc");
    }
}
