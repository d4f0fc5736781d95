//! The crate's one error type.

use std::path::PathBuf;

/// Why a PKCS#11 key could not be referenced, opened or used.
///
/// No variant ever carries the PIN: PIN errors name the environment variable or the file that
/// was to hold it. Errors from [`crate::Pkcs11Key::sign`] are [`Pkcs11Error::Sign`]; a server
/// maps them to 503 (the HSM is unavailable), every other variant is a configuration error met
/// at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The key reference is not an RFC 7512 `pkcs11:` URI.
    #[error("not a pkcs11: URI (it must start with \"pkcs11:\")")]
    NotPkcs11Uri,
    /// A `pkcs11:` URI attribute is malformed: bad percent-encoding, not UTF-8 where text is
    /// needed, repeated, or an unsupported value.
    #[error("pkcs11: URI attribute {attribute:?}: {reason}")]
    InvalidUriAttribute {
        /// The attribute's name.
        attribute: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `pkcs11:` URI attribute this crate does not implement (RFC 7512 has more, such as
    /// `slot-id` or `serial`); it is refused rather than ignored, so a key is never picked on
    /// fewer conditions than the URI states.
    #[error(
        "pkcs11: URI attribute {attribute:?} is not supported (path: token, object, id, \
         type=private; query: module-path, pin-source)"
    )]
    UnsupportedUriAttribute {
        /// The attribute's name, truncated to 64 characters.
        attribute: String,
    },
    /// The URI carries `pin-value`: a PIN written into a key reference ends up in shell
    /// history, process listings and logs.
    #[error("pkcs11: URI pin-value is refused; use pin-source=file:PATH or pin-source=env:NAME")]
    PinValueInUri,
    /// A field of the key reference is longer than this crate accepts.
    #[error("{field} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A field of the key reference is empty.
    #[error("{field} is empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// No module path: neither the URI's `module-path` nor `--pkcs11-module` gave one.
    #[error("no PKCS#11 module: give --pkcs11-module PATH or module-path= in the pkcs11: URI")]
    MissingModulePath,
    /// No token: the URI has no `token=` attribute.
    #[error("no token: the pkcs11: URI needs token=LABEL")]
    MissingToken,
    /// Neither a key label (`object=`) nor an id (`id=`) selects the key.
    #[error("no key selector: the pkcs11: URI needs object=LABEL or id=ID")]
    MissingKeySelector,
    /// No PIN source: neither the URI's `pin-source` nor the caller gave one.
    #[error("no PIN source: give the PIN's environment variable or file")]
    NoPinSource,
    /// The PIN's environment variable name is not ASCII letters, digits and `_`.
    #[error("PIN environment variable name {name:?} is not ASCII letters, digits and '_'")]
    InvalidPinEnvName {
        /// The name, truncated to 64 characters.
        name: String,
    },
    /// The PIN's environment variable is not set or not valid UTF-8.
    #[error("PIN environment variable {var} is not set or not UTF-8")]
    PinEnvUnset {
        /// The variable's name.
        var: String,
    },
    /// The PIN file could not be read.
    #[error("PIN file {}: {reason}", path.display())]
    PinFile {
        /// The file.
        path: PathBuf,
        /// The I/O error (never the file's content).
        reason: String,
    },
    /// The PIN file is larger than a PIN file should be (probably the wrong file).
    #[error("PIN file {} is larger than {max} bytes", path.display())]
    PinFileTooLarge {
        /// The file.
        path: PathBuf,
        /// The bound.
        max: u64,
    },
    /// The PIN (from the named source) is empty or not UTF-8.
    #[error("the PIN from {source_name} is empty or not UTF-8")]
    PinUnusable {
        /// `env NAME` or `file PATH`.
        source_name: String,
    },
    /// The module could not be loaded (missing file, not a shared library, no
    /// `C_GetFunctionList`).
    #[error("PKCS#11 module {}: cannot load: {reason}", path.display())]
    ModuleLoad {
        /// The module path.
        path: PathBuf,
        /// The loader's error.
        reason: String,
    },
    /// A PKCS#11 call failed while opening the key (`C_Initialize`, `C_GetSlotList`,
    /// `C_OpenSession`, `C_FindObjects`, ...).
    #[error("PKCS#11 module {}: {call} failed: {reason}", path.display())]
    Module {
        /// The module path.
        path: PathBuf,
        /// The failing call.
        call: &'static str,
        /// The module's error.
        reason: String,
    },
    /// No slot holds a token with this label.
    #[error("PKCS#11 token {token:?} not found (tokens present: {available:?})")]
    TokenNotFound {
        /// The label asked for.
        token: String,
        /// The labels of the tokens present.
        available: Vec<String>,
    },
    /// More than one slot holds a token with this label.
    #[error("PKCS#11 token label {token:?} is on {count} slots; labels must be unique")]
    TokenAmbiguous {
        /// The label.
        token: String,
        /// How many tokens carry it.
        count: usize,
    },
    /// The token refused the PIN (`CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, ...).
    #[error("PKCS#11 token {token:?}: login refused: {reason}")]
    Login {
        /// The token label.
        token: String,
        /// The module's error code, e.g. `CKR_PIN_INCORRECT`.
        reason: String,
    },
    /// No private key on the token matches the label / id.
    #[error("PKCS#11 token {token:?}: no private key {key}")]
    KeyNotFound {
        /// The token label.
        token: String,
        /// The key selector (label and/or id).
        key: String,
    },
    /// Several private keys match the label / id.
    #[error("PKCS#11 token {token:?}: {count} private keys match {key}; add id= to pick one")]
    KeyAmbiguous {
        /// The token label.
        token: String,
        /// The key selector.
        key: String,
        /// How many matched.
        count: usize,
    },
    /// The private key has no public key object with the same label / id.
    #[error("PKCS#11 token {token:?}: no public key object for {key}")]
    PublicKeyNotFound {
        /// The token label.
        token: String,
        /// The key selector.
        key: String,
    },
    /// The key is not ECDSA P-256, ECDSA P-384 or Ed25519.
    #[error(
        "PKCS#11 key {key}: unsupported key type {key_type} (want EC P-256, EC P-384 or Ed25519)"
    )]
    UnsupportedKeyType {
        /// The key selector.
        key: String,
        /// The key type or curve found (`CKK_RSA`, `EC params 06052b81040023`, ...).
        key_type: String,
    },
    /// A key attribute is missing or malformed (`CKA_EC_POINT` of the wrong length, ...).
    #[error("PKCS#11 key {key}: attribute {attribute}: {reason}")]
    BadKeyAttribute {
        /// The key selector.
        key: String,
        /// The attribute.
        attribute: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The key pair failed its self-test at open: the public key does not verify a
    /// signature of the private key (mismatched objects under one label).
    #[error("PKCS#11 key {key}: the public key does not verify the private key's signature")]
    KeyPairMismatch {
        /// The key selector.
        key: String,
    },
    /// Key generation was asked for a label the token already holds a key under.
    #[error("PKCS#11 token {token:?} already holds a key {key}; pick another label")]
    KeyExists {
        /// The token's label.
        token: String,
        /// The key selector.
        key: String,
    },
    /// Key generation needs the new key's label (`object=`).
    #[error("a new PKCS#11 key needs a label (object=LABEL)")]
    MissingLabel,
    /// Signing failed: the HSM is unreachable, removed, or returned a malformed signature.
    /// Servers answer 503.
    #[error("PKCS#11 key {key}: signing failed: {reason}")]
    Sign {
        /// The key selector.
        key: String,
        /// The module's error.
        reason: String,
    },
}
