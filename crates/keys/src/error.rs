//! The one error type of this crate.

/// Why a key could not be made, read, decrypted or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a well-formed PEM block (bad armour, bad base64, missing END line).
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The PEM block is of a kind this crate does not read (e.g. a password-protected PKCS#8
    /// `ENCRYPTED PRIVATE KEY`, or a certificate where a key was expected).
    #[error("unsupported PEM type {0:?}")]
    UnsupportedPemLabel(String),
    /// An input is larger than this crate accepts; probably not a key file.
    #[error("{what} is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The body of an encrypted key is not the JSON document cosign writes.
    #[error("encrypted key is not valid JSON: {0}")]
    EncryptedKeyJson(String),
    /// The encrypted key names a key-derivation function other than scrypt.
    #[error("unsupported key derivation function {0:?} (only scrypt)")]
    UnsupportedKdf(String),
    /// The encrypted key names a cipher other than NaCl secretbox.
    #[error("unsupported cipher {0:?} (only nacl/secretbox)")]
    UnsupportedCipher(String),
    /// The scrypt parameters are invalid or so large that deriving the key would take
    /// unreasonable memory or time (a crafted file, or one from a tool with other defaults).
    #[error("scrypt parameters N={n} r={r} p={p} are invalid or beyond the accepted bounds")]
    ScryptParamsOutOfBounds {
        /// The cost parameter N.
        n: u64,
        /// The block size r.
        r: u64,
        /// The parallelism p.
        p: u64,
    },
    /// A base64 field of the encrypted key does not decode.
    #[error("field {field} of the encrypted key is not valid base64")]
    BadBase64 {
        /// The JSON field.
        field: &'static str,
    },
    /// A field of the encrypted key has the wrong length.
    #[error("field {field} of the encrypted key is {got} bytes, expected {expected}")]
    BadLength {
        /// The JSON field.
        field: &'static str,
        /// The expected length (or the lower bound).
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// The secretbox did not open: the password is wrong, or the file was altered.
    #[error("incorrect password (or the encrypted key was modified)")]
    WrongPassword,
    /// The key file is encrypted and no password was given.
    #[error("the private key is encrypted; a password is required")]
    PasswordRequired,
    /// The DER is not a private key of a supported kind (ECDSA P-256/P-384/P-521, Ed25519,
    /// RSA), or is inconsistent.
    #[error("not a supported private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// The RSA key is shorter than 2048 bits (or longer than 8192).
    #[error("RSA key size is outside the accepted 2048..=8192 bits")]
    RsaKeySize,
    /// The public key could not be read.
    #[error("public key: {0}")]
    PublicKey(#[from] signet_x509::X509Error),
    /// The message digest has the wrong length for the hash, or the key cannot sign a digest
    /// (Ed25519).
    #[error("cannot sign a {got}-byte digest with this key and hash")]
    BadDigest {
        /// The digest length given.
        got: usize,
    },
    /// The cryptographic library failed to generate, serialize or sign (should not happen).
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    /// A key could not be written as PEM (should not happen: the labels are constants).
    #[error("PEM encoding: {0}")]
    PemEncoding(#[source] pem_rfc7468::Error),
}
