//! Cosign-compatible key files: encrypted private keys (scrypt + NaCl secretbox), PEM imports,
//! public keys.
//!
//! - [`SigningKey`] generates and holds ECDSA (P-256 by default, P-384, P-521), Ed25519 and RSA
//!   keys and signs as cosign does.
//! - [`encrypt_cosign_key`] / [`decrypt_cosign_key`] write and read `cosign.key`, the
//!   `ENCRYPTED SIGSTORE PRIVATE KEY` format (see [`cosign`] for the layout).
//! - [`import_pem`] reads whatever private key file a user has: cosign's, PKCS#8, SEC1
//!   (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`). [`load_public_key_pem`] reads `cosign.pub`.
//!
//! Reading a file, prompting for the password and choosing file names are left to the caller:
//! this crate does no I/O and reads no clock. It draws randomness from the system's generator
//! (aws-lc-rs) only to make new keys, salts and nonces and to sign. A malformed or wrongly
//! encrypted key file is an error, never a panic.
//!
//! ```
//! use signet_keys::{SigningKey, decrypt_cosign_key, encrypt_cosign_key, load_public_key_pem};
//! let key = SigningKey::generate().unwrap();
//! let cosign_key = encrypt_cosign_key(&key, b"hunter2").unwrap();
//! let cosign_pub = key.public_key_pem();
//!
//! let again = decrypt_cosign_key(&cosign_key, b"hunter2").unwrap();
//! let signature = again.sign(b"payload").unwrap();
//! load_public_key_pem(&cosign_pub).unwrap().verify(b"payload", &signature).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod cosign;
mod error;
mod pem;
mod signing;

pub use cosign::{ScryptParams, decrypt_cosign_key, encrypt_cosign_key, encrypt_cosign_key_with};
pub use error::KeyError;
pub use pem::MAX_PEM_LEN;
pub use signet_x509::{HashAlgorithm, KeyKind, PublicKey};
pub use signing::{KeyAlgorithm, SigningKey};

/// Reads a private key from PEM text: a cosign encrypted key (needs `password`), or an
/// unencrypted PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` (the
/// password is ignored). RSA keys must have 2048 to 8192 bits.
pub fn import_pem(pem: &str, password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
    let (label, body) = pem::decode_first(pem)?;
    match label.as_str() {
        cosign::SIGSTORE_PRIVATE_KEY_LABEL | cosign::COSIGN_PRIVATE_KEY_LABEL => {
            let password = password.ok_or(KeyError::PasswordRequired)?;
            cosign::decrypt_envelope(&body, password)
        }
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body),
        "EC PRIVATE KEY" => SigningKey::from_sec1_der(&body),
        "RSA PRIVATE KEY" => SigningKey::from_pkcs1_der(&body),
        _ => Err(KeyError::UnsupportedPemLabel(label)),
    }
}

/// Reads a PEM `PUBLIC KEY` (a `cosign.pub`).
pub fn load_public_key_pem(pem: &str) -> Result<PublicKey, KeyError> {
    let (label, body) = pem::decode_first(pem)?;
    if label != "PUBLIC KEY" {
        return Err(KeyError::UnsupportedPemLabel(label));
    }
    Ok(PublicKey::from_spki_der(&body)?)
}
