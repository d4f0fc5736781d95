//! Private key files for signing: cosign's encrypted `cosign.key` (password from
//! `COSIGN_PASSWORD`, `SIGNET_PASSWORD` or a terminal prompt) or an unencrypted PEM key.

use crate::Failure;
use signet_keys::{KeyError, KeyKind};
use signet_sign::{KeyAlgorithm, SignError};
use std::path::Path;

/// Largest key file read (an encrypted RSA-8192 key is under 8 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The environment variables a key password is read from, in order.
pub const PASSWORD_VARS: [&str; 2] = ["COSIGN_PASSWORD", "SIGNET_PASSWORD"];

/// A user's key (from `signet_keys`) as a `signet_sign` signing key.
struct FileKey {
    key: signet_keys::SigningKey,
    algorithm: KeyAlgorithm,
}

impl signet_sign::SigningKey for FileKey {
    fn public_key_spki_der(&self) -> &[u8] {
        self.key.public_key_spki_der()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(message)
            .map_err(|e| signet_sign::SigningKeyError::signer(e).into())
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }
}

/// Reads a key file's text, bounded in size; it must be a regular file.
pub fn read_key_text(path: &Path) -> Result<String, Failure> {
    let data = crate::common::read_limited(path, "key", MAX_KEY_FILE)?;
    String::from_utf8(data)
        .map_err(|_| Failure::Usage(format!("key {} is not PEM text", path.display())))
}

/// The password from the environment, if set.
pub fn password_from_env() -> Option<Vec<u8>> {
    PASSWORD_VARS
        .iter()
        .find_map(std::env::var_os)
        .map(|v| v.into_encoded_bytes())
}

/// The password from the environment or, failing that, a prompt on the terminal.
pub fn password(prompt: &str) -> Result<Vec<u8>, Failure> {
    if let Some(p) = password_from_env() {
        return Ok(p);
    }
    rpassword::prompt_password(prompt)
        .map(String::into_bytes)
        .map_err(|e| {
            Failure::Usage(format!(
                "cannot read a password ({e}); set COSIGN_PASSWORD or SIGNET_PASSWORD"
            ))
        })
}

/// Reads any private key file `signet_keys::import_pem` understands, asking for a password
/// only when the key is encrypted.
pub fn load_keys_key(path: &Path) -> Result<signet_keys::SigningKey, Failure> {
    let text = read_key_text(path)?;
    let bad = |e: KeyError| Failure::Usage(format!("key {}: {e}", path.display()));
    match signet_keys::import_pem(&text, None) {
        Ok(key) => Ok(key),
        Err(KeyError::PasswordRequired) => {
            let pw = password(&format!("Password for {}: ", path.display()))?;
            signet_keys::import_pem(&text, Some(&pw)).map_err(bad)
        }
        Err(e) => Err(bad(e)),
    }
}

/// Loads a private key to sign with: a cosign encrypted key (password from `COSIGN_PASSWORD`
/// or `SIGNET_PASSWORD`, else a prompt) or an unencrypted PEM key. Only ECDSA P-256 and P-384
/// keys sign for now.
pub fn load_signing_key(path: &Path) -> Result<Box<dyn signet_sign::SigningKey>, Failure> {
    let key = load_keys_key(path)?;
    let algorithm = match key.kind() {
        KeyKind::EcdsaP256 => KeyAlgorithm::EcdsaP256Sha256,
        KeyKind::EcdsaP384 => KeyAlgorithm::EcdsaP384Sha384,
        other => {
            return Err(Failure::Usage(format!(
                "key {}: {other:?} keys are not supported for signing yet (use ECDSA P-256 or P-384)",
                path.display()
            )));
        }
    };
    Ok(Box::new(FileKey { key, algorithm }))
}
