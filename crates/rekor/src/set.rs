//! Signed entry timestamps (SETs, `inclusionPromise`): Rekor v1's signature over an entry's
//! body, integration time, log ID and index, made when the entry is accepted.
//!
//! ```
//! use aws_lc_rs::rand::SystemRandom;
//! use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
//! use signet_rekor::{EcdsaP256EntrySigner, EntrySigner, set_payload, verify_signed_entry_timestamp};
//!
//! let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
//! let signer = EcdsaP256EntrySigner::from_pkcs8(pkcs8.as_ref(), Box::new(SystemRandom::new())).unwrap();
//! let payload = set_payload(b"{}", 1700000000, &signer.log_id(), 7);
//! assert_eq!(payload, format!(
//!     r#"{{"body":"e30=","integratedTime":1700000000,"logID":"{}","logIndex":7}}"#,
//!     hex::encode(signer.log_id())));
//! let set = signer.sign(payload.as_bytes()).unwrap();
//! let key = signet_x509::PublicKey::from_spki_der(signer.spki_der()).unwrap();
//! verify_signed_entry_timestamp(&key, &set, b"{}", 1700000000, &signer.log_id(), 7).unwrap();
//! ```

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use signet_formats::TransparencyLogEntry;
use signet_x509::PublicKey;

use crate::RekorError;

/// The bytes a SET signs: the RFC 8785 JSON of
/// `{"body": b64, "integratedTime": n, "logID": hex, "logIndex": n}`.
///
/// This is the payload `signet-verify` checks (`tlog::set_payload`), and what Rekor signs.
pub fn set_payload(body: &[u8], integrated_time: i64, log_id: &[u8], log_index: i64) -> String {
    // The members are already in JCS order, and base64 and hex need no escaping.
    let mut out = String::with_capacity(body.len() * 4 / 3 + log_id.len() * 2 + 80);
    out.push_str("{\"body\":\"");
    base64::Engine::encode_string(&base64::engine::general_purpose::STANDARD, body, &mut out);
    out.push_str("\",\"integratedTime\":");
    crate::jcs::write_integer(&mut out, integrated_time);
    out.push_str(",\"logID\":\"");
    out.push_str(&hex::encode(log_id));
    out.push_str("\",\"logIndex\":");
    crate::jcs::write_integer(&mut out, log_index);
    out.push('}');
    out
}

/// [`set_payload`] of a bundle's transparency-log entry.
pub fn set_payload_of(entry: &TransparencyLogEntry) -> String {
    set_payload(
        &entry.canonicalized_body,
        entry.integrated_time,
        &entry.log_id,
        entry.log_index,
    )
}

/// A Rekor v1 log ID: the SHA-256 of the log's public key as DER `SubjectPublicKeyInfo`.
pub fn log_id(spki_der: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, spki_der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A log's public key (DER `SubjectPublicKeyInfo`) as PEM the way Rekor (Go) writes it: what
/// `GET /api/v1/log/publicKey` serves.
pub fn public_key_pem(spki_der: &[u8]) -> String {
    crate::key::go_pem("PUBLIC KEY", spki_der)
}

/// Something that signs SETs with the log's key. Implement it for a key kept elsewhere (an
/// HSM, a KMS); [`EcdsaP256EntrySigner`] is the in-memory one.
pub trait EntrySigner: Send + Sync {
    /// The log's ID ([`log_id`] of its public key).
    fn log_id(&self) -> [u8; 32];
    /// Signs `message` (a [`set_payload`]), returning the signature as clients verify it
    /// (ASN.1 DER for ECDSA).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, RekorError>;
}

/// An ECDSA P-256 SHA-256 SET signer, as Rekor v1 uses.
pub struct EcdsaP256EntrySigner {
    key_pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
    rng: Box<dyn SecureRandom + Send + Sync>,
}

impl std::fmt::Debug for EcdsaP256EntrySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdsaP256EntrySigner({})", hex::encode(self.log_id))
    }
}

impl EcdsaP256EntrySigner {
    /// A signer from a PKCS#8 DER private key; `rng` supplies the signing nonces.
    pub fn from_pkcs8(
        pkcs8_der: &[u8],
        rng: Box<dyn SecureRandom + Send + Sync>,
    ) -> Result<Self, RekorError> {
        let bad = |reason: &str| RekorError::Sign {
            reason: reason.to_owned(),
        };
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8_der)
            .map_err(|_| bad("not an ECDSA P-256 PKCS#8 key"))?;
        let spki_der = key_pair
            .public_key()
            .as_der()
            .map_err(|_| bad("cannot encode the public key"))?
            .as_ref()
            .to_vec();
        Ok(EcdsaP256EntrySigner {
            log_id: log_id(&spki_der),
            key_pair,
            spki_der,
            rng,
        })
    }

    /// The public key as DER `SubjectPublicKeyInfo` (what `GET /api/v1/log/publicKey` serves
    /// as PEM, and what trusted roots list).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key as Go writes PEM.
    pub fn public_key_pem(&self) -> String {
        crate::key::go_pem("PUBLIC KEY", &self.spki_der)
    }
}

impl EntrySigner for EcdsaP256EntrySigner {
    fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, RekorError> {
        self.key_pair
            .sign(self.rng.as_ref(), message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| RekorError::Sign {
                reason: "ECDSA signing failed".into(),
            })
    }
}

/// Signs the SET of an entry with the signer's log ID.
pub fn sign_entry_timestamp(
    signer: &dyn EntrySigner,
    body: &[u8],
    integrated_time: i64,
    log_index: i64,
) -> Result<Vec<u8>, RekorError> {
    signer.sign(set_payload(body, integrated_time, &signer.log_id(), log_index).as_bytes())
}

/// Checks a SET with the log's public key (ECDSA with the key's default hash).
pub fn verify_signed_entry_timestamp(
    key: &PublicKey,
    set: &[u8],
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8],
    log_index: i64,
) -> Result<(), RekorError> {
    key.verify(
        set_payload(body, integrated_time, log_id, log_index).as_bytes(),
        set,
    )
    .map_err(|_| RekorError::BadSignature {
        field: "verification.signedEntryTimestamp".into(),
    })
}
