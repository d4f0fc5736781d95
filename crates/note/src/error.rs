//! Error types of this crate, one per kind of input.

/// A note was malformed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is bigger than [`crate::MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not UTF-8.
    #[error("note is not valid UTF-8 (byte offset {offset})")]
    NotUtf8 {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// A control character other than newline appears.
    #[error("note contains control character U+{code:04X} at byte offset {offset}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Where it is.
        offset: usize,
    },
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureBlock,
    /// The text before the blank line is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The signature block does not end with a newline.
    #[error("note signature block does not end with a newline")]
    UnterminatedSignature,
    /// A line of the signature block is not `— <name> <base64>`.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number within the signature block.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`crate::MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// The text of a note to be signed is not a valid note text.
    #[error("note text must end with a newline")]
    InvalidText,
    /// A known key's signature does not verify: the note was tampered with or forged.
    #[error("signature by key {name} (id {key_id:08x}) does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature is by a key the verifier knows.
    #[error("note has no signature by a known key (signed by: {names})")]
    NoKnownSignature {
        /// The names that did sign, comma-separated.
        names: String,
    },
}

/// A verifier or signer key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key string is not `name+hex8+base64`.
    #[error("key {key:?} is not of the form name+hash+base64")]
    Format {
        /// The key as given (public keys only; never a private key).
        key: String,
    },
    /// The key name is empty or has spaces or `+`.
    #[error("key name {name:?} is not valid")]
    Name {
        /// The name.
        name: String,
    },
    /// The key's hash field does not match its name and key.
    #[error("key {name} has id {got:08x} but its name and key hash to {want:08x}")]
    IdMismatch {
        /// The key name.
        name: String,
        /// The ID written in the key.
        got: u32,
        /// The ID computed.
        want: u32,
    },
    /// The algorithm byte is not one this crate supports.
    #[error("key {name} has unsupported signature type 0x{alg:02x}")]
    UnsupportedType {
        /// The key name.
        name: String,
        /// The type byte.
        alg: u8,
    },
    /// The public or private key has the wrong length or encoding for its type.
    #[error("key {name} is not a valid {kind} key")]
    Material {
        /// The key name.
        name: String,
        /// What kind of key was expected.
        kind: &'static str,
    },
    /// A PKIX (SubjectPublicKeyInfo) public key could not be parsed or uses an unsupported
    /// algorithm.
    #[error("public key is not a supported SubjectPublicKeyInfo: {reason}")]
    Pkix {
        /// Why.
        reason: String,
    },
}

/// Signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The text cannot be signed as a note.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The crypto library refused to sign.
    #[error("signing with key {name} failed")]
    Crypto {
        /// The key name.
        name: String,
    },
    /// The key is kept elsewhere (an HSM) and could not sign now: the service is unavailable
    /// (servers answer 503), and nothing signed with it may be acknowledged.
    #[error("signing with key {name}: {source}")]
    Unavailable {
        /// The key name.
        name: String,
        /// The signer's error (where the key lives, what failed).
        source: signet_signer::SignError,
    },
}

/// A note text is not a valid checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Fewer than three lines, or not newline-terminated.
    #[error("checkpoint has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is empty.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// The size line is not a canonical decimal `u64`.
    #[error("checkpoint tree size {0:?} is not a decimal number without leading zeros")]
    Size(String),
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root hash {0:?} is not base64 of 32 bytes")]
    RootHash(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    /// The origin is not `<hostname> - <tree id>` (Rekor v1 form).
    #[error("origin {0:?} is not of the form '<host> - <tree id>'")]
    RekorV1Origin(String),
}
