//! RFC 3161 timestamp authority: signed timestamp responses and their HTTP API.
//!
//! - [`TsaKeys`]: the TSA's ECDSA signing key and certificate chain, generated (a root CA and a
//!   TSA certificate with a critical `id-kp-timeStamping` extended key usage) or loaded from PEM;
//!   [`load_or_create`] keeps them in a data directory.
//! - [`TimestampAuthority`]: the pure core. [`TimestampAuthority::respond`] turns a DER
//!   `TimeStampReq` into a DER `TimeStampResp`, always: a token (CMS `SignedData` over a
//!   `TSTInfo`, with ESSCertIDv2 per RFC 5816) or a rejection with a `PKIFailureInfo`. Time and
//!   the token's serial number are arguments.
//! - [`router`]: the HTTP API Sigstore clients use (`POST /api/v1/timestamp` with a DER or a
//!   JSON request, `GET /api/v1/timestamp/certchain`), drawing time and randomness per request
//!   from the [`signet_clock::Clock`] and [`signet_clock::Randomness`] it is given; it never
//!   reads the system clock.
//!
//! Imprints may be SHA-256, SHA-384 or SHA-512; SHA-1 is refused (`badAlg`). A nonce, in a
//! DER or a JSON request alike, is a non-negative INTEGER of at most [`MAX_NONCE_BITS`] bits
//! (else `badDataFormat`). `genTime` is whole seconds with an accuracy of one second. Tokens
//! are checked in the tests by `signet-timestamp`, by `openssl ts -verify` and by
//! sigstore-python's `rfc3161-client`.
//!
//! Verifying tokens is `signet-timestamp`'s job. Its only file I/O is [`load_or_create`] (the
//! key and chain, written through `signet-durable`); nothing panics on a request: a bad one
//! gets a rejection, a request too large 413, and a failing random generator 503.
//!
//! ```
//! use signet_tsa::{SigningAlgorithm, TimestampAuthority, TsaKeys, TsaTime};
//! let now = TsaTime { unix_seconds: 1_780_000_000, nanos: 0 };
//! let rng = aws_lc_rs::rand::SystemRandom::new();
//! let keys = TsaKeys::generate(now.unix_seconds as i64, SigningAlgorithm::EcdsaP256Sha256, &rng).unwrap();
//! let tsa = TimestampAuthority::new(keys, signet_tsa::SIGSTORE_POLICY).unwrap();
//! // Not a TimeStampReq: a rejection (status 2), not an error.
//! let reply = tsa.respond(b"hello", now, [7; 16]);
//! assert_eq!(&reply[..7], &[0x30, reply[1], 0x30, reply[3], 0x02, 0x01, 0x02]);
//! ```
#![forbid(unsafe_code)]

mod authority;
mod error;
mod http;
mod json;
mod keys;
mod store;

pub use authority::{FailureInfo, MAX_NONCE_BITS, TimestampAuthority, TsaTime, rejection_response};
pub use error::TsaError;
pub use http::{CERTCHAIN_PATH, TIMESTAMP_PATH, router};
pub use json::timestamp_req_from_json;
pub use keys::{CERTIFICATE_LIFETIME, SigningAlgorithm, TsaKeys};
pub use store::{CHAIN_FILE, SIGNING_KEY_FILE, load_or_create, load_or_create_for_signer};

/// Largest `TimeStampReq` accepted, in bytes (real ones are under 200). Larger HTTP bodies get
/// 413; larger requests given to [`TimestampAuthority::respond`] are rejected with `badRequest`.
pub const MAX_REQUEST_SIZE: usize = 10 * 1024;

/// The policy OID Sigstore's timestamp authorities use, `1.3.6.1.4.1.57264.2`.
pub const SIGSTORE_POLICY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// Object identifiers this crate writes.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// CMS `id-signedData`.
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// `id-ct-TSTInfo`.
    pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// CMS content-type attribute.
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// CMS message-digest attribute.
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    /// CMS signing-time attribute.
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    /// ESS signing-certificate-v2 attribute (RFC 5035).
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    /// SHA-1 (only to name it in JSON requests; refused).
    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    /// SHA-256.
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// SHA-384.
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// SHA-512.
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// `ecdsa-with-SHA256`.
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// `ecdsa-with-SHA384`.
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
}
