//! cosign's encrypted private-key format.
//!
//! A `cosign.key` file is one PEM block labelled `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign
//! before 2.0 wrote `ENCRYPTED COSIGN PRIVATE KEY`; both are read). Its body is the JSON
//! document of the `encrypted` package of go-securesystemslib:
//!
//! ```json
//! {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "<base64>"},
//!  "cipher": {"name": "nacl/secretbox", "nonce": "<base64>"},
//!  "ciphertext": "<base64>"}
//! ```
//!
//! Byte strings are standard base64 with padding (Go's encoding of `[]byte`). The salt is 32
//! random bytes and the nonce 24. The 32-byte secretbox key is scrypt(password, salt, N, r, p);
//! the ciphertext is NaCl `secretbox` (XSalsa20-Poly1305, the 16-byte tag first) of the PKCS#8
//! DER private key. The writer uses N = 32768, r = 8, p = 1, the parameters cosign writes and
//! the first of the three sets go-securesystemslib accepts when reading.

use crate::{KeyError, SigningKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};

/// The PEM label cosign 2 and later write.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label cosign 1 wrote; still read.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const KDF_SCRYPT: &str = "scrypt";
const CIPHER_SECRETBOX: &str = "nacl/secretbox";
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// The largest ciphertext read: an RSA-8192 PKCS#8 key is about 4.8 KiB.
const MAX_CIPHERTEXT_LEN: usize = 16 * 1024;
const MAX_SALT_LEN: usize = 1024;

/// scrypt cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScryptParams {
    /// CPU/memory cost N, a power of two.
    #[serde(rename = "N")]
    pub n: u64,
    /// Block size r.
    pub r: u64,
    /// Parallelism p.
    pub p: u64,
}

impl ScryptParams {
    /// N = 32768, r = 8, p = 1: what cosign writes.
    pub const COSIGN: ScryptParams = ScryptParams {
        n: 32768,
        r: 8,
        p: 1,
    };

    /// Largest N read (2^18: twice go-securesystemslib's strongest preset).
    pub const MAX_N: u64 = 1 << 18;
    /// Largest r read.
    pub const MAX_R: u64 = 32;
    /// Largest p read.
    pub const MAX_P: u64 = 16;
    /// Largest scrypt memory (128 · N · r bytes) allowed: 256 MiB.
    pub const MAX_MEMORY: u64 = 256 * 1024 * 1024;
    /// Largest total work N · r · p allowed (16 times cosign's default).
    pub const MAX_WORK: u64 = 1 << 22;

    /// Checks the bounds above and converts to the scrypt crate's parameters.
    fn to_scrypt(self) -> Result<scrypt::Params, KeyError> {
        let bad = KeyError::ScryptParamsOutOfBounds {
            n: self.n,
            r: self.r,
            p: self.p,
        };
        let ScryptParams { n, r, p } = self;
        let in_range = n >= 2
            && n.is_power_of_two()
            && n <= Self::MAX_N
            && (1..=Self::MAX_R).contains(&r)
            && (1..=Self::MAX_P).contains(&p)
            && n.saturating_mul(r).saturating_mul(128) <= Self::MAX_MEMORY
            && n.saturating_mul(r).saturating_mul(p) <= Self::MAX_WORK;
        if !in_range {
            return Err(bad);
        }
        let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| bad_params(self))?;
        let r = u32::try_from(r).map_err(|_| bad_params(self))?;
        let p = u32::try_from(p).map_err(|_| bad_params(self))?;
        scrypt::Params::new(log_n, r, p, KEY_LEN).map_err(|_| bad)
    }
}

fn bad_params(p: ScryptParams) -> KeyError {
    KeyError::ScryptParamsOutOfBounds {
        n: p.n,
        r: p.r,
        p: p.p,
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Encrypts `key` under `password` in cosign's format (fresh random salt and nonce, cosign's
/// scrypt parameters) and returns the `ENCRYPTED SIGSTORE PRIVATE KEY` PEM text.
pub fn encrypt_cosign_key(key: &SigningKey, password: &[u8]) -> Result<String, KeyError> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut salt)
        .and_then(|()| rng.fill(&mut nonce))
        .map_err(|_| KeyError::Crypto("random salt and nonce"))?;
    encrypt_cosign_key_with(key, password, &salt, &nonce, ScryptParams::COSIGN)
}

/// [`encrypt_cosign_key`] with the salt, nonce and scrypt parameters given (for tests and
/// reproducible output; never reuse a salt and nonce pair).
pub fn encrypt_cosign_key_with(
    key: &SigningKey,
    password: &[u8],
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
    params: ScryptParams,
) -> Result<String, KeyError> {
    let box_key = derive_key(password, salt, params)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(&box_key));
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(nonce), key.to_pkcs8_der())
        .map_err(|_| KeyError::Crypto("secretbox seal"))?;
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_SCRYPT.into(),
            params,
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_SECRETBOX.into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    let json = serde_json::to_vec(&envelope).map_err(|_| KeyError::Crypto("JSON encoding"))?;
    crate::pem::encode(SIGSTORE_PRIVATE_KEY_LABEL, &json)
}

/// Reads a cosign encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY` or the older
/// `ENCRYPTED COSIGN PRIVATE KEY`) and decrypts it with `password`.
///
/// A wrong password gives [`KeyError::WrongPassword`]; scrypt parameters beyond
/// [`ScryptParams`]'s bounds are refused before any work is done.
pub fn decrypt_cosign_key(pem: &str, password: &[u8]) -> Result<SigningKey, KeyError> {
    let (label, body) = crate::pem::decode_first(pem)?;
    if label != SIGSTORE_PRIVATE_KEY_LABEL && label != COSIGN_PRIVATE_KEY_LABEL {
        return Err(KeyError::UnsupportedPemLabel(label));
    }
    decrypt_envelope(&body, password)
}

/// Decrypts the JSON body of a cosign key (the PEM block's contents).
pub(crate) fn decrypt_envelope(json: &[u8], password: &[u8]) -> Result<SigningKey, KeyError> {
    let envelope: Envelope =
        serde_json::from_slice(json).map_err(|e| KeyError::EncryptedKeyJson(e.to_string()))?;
    if envelope.kdf.name != KDF_SCRYPT {
        return Err(KeyError::UnsupportedKdf(envelope.kdf.name));
    }
    if envelope.cipher.name != CIPHER_SECRETBOX {
        return Err(KeyError::UnsupportedCipher(envelope.cipher.name));
    }
    // Check everything cheap before the expensive key derivation.
    let params = envelope.kdf.params;
    params.to_scrypt()?;
    let salt = decode_field("kdf.salt", &envelope.kdf.salt, MAX_SALT_LEN)?;
    if salt.is_empty() {
        return Err(KeyError::BadLength {
            field: "kdf.salt",
            expected: SALT_LEN,
            got: 0,
        });
    }
    let nonce = decode_field("cipher.nonce", &envelope.cipher.nonce, NONCE_LEN)?;
    if nonce.len() != NONCE_LEN {
        return Err(KeyError::BadLength {
            field: "cipher.nonce",
            expected: NONCE_LEN,
            got: nonce.len(),
        });
    }
    let ciphertext = decode_field("ciphertext", &envelope.ciphertext, MAX_CIPHERTEXT_LEN)?;
    let box_key = derive_key(password, &salt, params)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(&box_key));
    let pkcs8 = cipher
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassword)?;
    SigningKey::from_pkcs8_der(&pkcs8)
}

fn decode_field(field: &'static str, value: &str, max: usize) -> Result<Vec<u8>, KeyError> {
    // Base64 is 4/3 the size of its bytes; refuse before decoding.
    if value.len() > max.saturating_mul(4) / 3 + 4 {
        return Err(KeyError::TooLarge {
            what: field,
            size: value.len(),
            max,
        });
    }
    let bytes = STANDARD
        .decode(value)
        .map_err(|_| KeyError::BadBase64 { field })?;
    if bytes.len() > max {
        return Err(KeyError::TooLarge {
            what: field,
            size: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

fn derive_key(
    password: &[u8],
    salt: &[u8],
    params: ScryptParams,
) -> Result<[u8; KEY_LEN], KeyError> {
    let scrypt_params = params.to_scrypt()?;
    let mut out = [0u8; KEY_LEN];
    scrypt::scrypt(password, salt, &scrypt_params, &mut out)
        .map_err(|_| KeyError::Crypto("scrypt"))?;
    Ok(out)
}
