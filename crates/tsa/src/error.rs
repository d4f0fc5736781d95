//! The crate's error type.

use std::path::PathBuf;

/// What went wrong while making or loading the TSA's keys, or building a token.
///
/// Requests from clients never produce this type: [`crate::TimestampAuthority::respond`]
/// answers them with a rejection `TimeStampResp` instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// The crypto library could not generate a key (a broken RNG or library).
    #[error("cannot generate {what}")]
    KeyGeneration {
        /// Which key.
        what: &'static str,
    },
    /// A private key file is not a PKCS#8 ECDSA P-256 or P-384 key.
    #[error("the TSA signing key is not a PKCS#8 ECDSA P-256 or P-384 key: {reason}")]
    BadSigningKey {
        /// Why it was refused.
        reason: &'static str,
    },
    /// A key or certificate could not be written as PEM (should not happen: the labels are
    /// constants).
    #[error("cannot encode {what} as PEM: {source}")]
    PemEncoding {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's complaint.
        source: pem_rfc7468::Error,
    },
    /// The certificate chain does not parse, or does not suit the key.
    #[error("bad TSA certificate chain: {reason}")]
    BadChain {
        /// What is wrong with it.
        reason: String,
    },
    /// A structure could not be DER-encoded (a value out of range, such as a time before 1970).
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's complaint.
        source: der::Error,
    },
    /// Signing failed in the crypto library.
    #[error("signing {what} failed")]
    Sign {
        /// What was being signed.
        what: &'static str,
    },
    /// The signing key could not sign: the HSM holding it is unavailable. The HTTP API
    /// answers 503.
    #[error("{0}")]
    SignerUnavailable(#[source] signet_signer::SignError),
    /// A signing key kept elsewhere (an HSM) of an algorithm the TSA does not sign with.
    #[error("TSA key {key} is {algorithm}; the TSA signs with ECDSA P-256 or P-384")]
    UnsupportedSigner {
        /// Where the key lives.
        key: String,
        /// Its algorithm.
        algorithm: &'static str,
    },
    /// Only one of the key file and the chain file exists in the data directory; refusing to
    /// replace the other and so change the TSA's identity.
    #[error("{present} exists but {missing} does not; restore it or remove both to make new keys")]
    HalfKeyPair {
        /// The file found.
        present: PathBuf,
        /// The file missing.
        missing: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl TsaError {
    pub(crate) fn encode(what: &'static str) -> impl FnOnce(der::Error) -> TsaError {
        move |source| TsaError::Encode { what, source }
    }
}
