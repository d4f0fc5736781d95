//! Keeping the TSA's key and chain in a data directory (the only module that touches files).

use crate::{SigningAlgorithm, TsaError, TsaKeys};
use aws_lc_rs::rand::SecureRandom;
use std::path::Path;

/// The signing key file in the data directory: PEM PKCS#8, mode 0600.
pub const SIGNING_KEY_FILE: &str = "tsa-signing-key.pem";
/// The certificate chain file in the data directory: PEM, TSA certificate first, root last.
pub const CHAIN_FILE: &str = "tsa-chain.pem";

/// Loads the TSA keys from `dir`, or on first start generates them
/// ([`TsaKeys::generate`] at `now_unix` with `algorithm` and `rng`) and writes them there.
///
/// `dir` is created if missing. The key is written with mode 0600, each file through a
/// temporary file, fsync and rename, the key first. If only one of the two files exists (a
/// crash between the renames, or a file deleted by hand) this fails with
/// [`TsaError::HalfKeyPair`] rather than replace the TSA's identity.
pub fn load_or_create(
    dir: &Path,
    now_unix: i64,
    algorithm: SigningAlgorithm,
    rng: &dyn SecureRandom,
) -> Result<TsaKeys, TsaError> {
    let key_path = dir.join(SIGNING_KEY_FILE);
    let chain_path = dir.join(CHAIN_FILE);
    match (read_optional(&key_path)?, read_optional(&chain_path)?) {
        (Some(key), Some(chain)) => TsaKeys::from_pem(&key, &chain),
        (None, None) => {
            signet_durable::create_dir_all(dir).map_err(io(dir))?;
            let keys = TsaKeys::generate(now_unix, algorithm, rng)?;
            write_file(&key_path, keys.signing_key_pem().as_bytes(), true)?;
            write_file(&chain_path, keys.chain_pem().as_bytes(), false)?;
            Ok(keys)
        }
        (Some(_), None) => Err(TsaError::HalfKeyPair {
            present: key_path,
            missing: chain_path,
        }),
        (None, Some(_)) => Err(TsaError::HalfKeyPair {
            present: chain_path,
            missing: key_path,
        }),
    }
}

/// [`load_or_create`] for a signing key kept elsewhere (an HSM): only the chain lives in
/// `dir` ([`CHAIN_FILE`]); on first start it is generated for `signer`
/// ([`TsaKeys::generate_for_signer`]). A key file in `dir` is refused rather than read: a TSA
/// with its key in an HSM keeps no private key in its data directory.
pub fn load_or_create_for_signer(
    dir: &Path,
    now_unix: i64,
    signer: signet_signer::SharedSigner,
    rng: &dyn SecureRandom,
) -> Result<TsaKeys, TsaError> {
    let key_path = dir.join(SIGNING_KEY_FILE);
    let chain_path = dir.join(CHAIN_FILE);
    if key_path.exists() {
        return Err(TsaError::Io {
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "present, but the TSA's key is {}: remove the key file and its chain ({}) \
                     to issue a new certificate for the HSM key",
                    signer.location(),
                    chain_path.display()
                ),
            ),
            path: key_path,
        });
    }
    match read_optional(&chain_path)? {
        Some(chain) => {
            TsaKeys::from_signer_and_chain_pem(signer, &chain).map_err(|e| in_file(&chain_path, e))
        }
        None => {
            signet_durable::create_dir_all(dir).map_err(io(dir))?;
            let keys = TsaKeys::generate_for_signer(now_unix, signer, rng)?;
            write_file(&chain_path, keys.chain_pem().as_bytes(), false)?;
            Ok(keys)
        }
    }
}

/// A chain that does not suit the key, naming the file.
fn in_file(path: &Path, e: TsaError) -> TsaError {
    match e {
        TsaError::BadChain { reason } => TsaError::BadChain {
            reason: format!("{}: {reason}", path.display()),
        },
        other => other,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TsaError + '_ {
    move |source| TsaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, TsaError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<(), TsaError> {
    let mode = if secret {
        signet_durable::Mode::Secret
    } else {
        signet_durable::Mode::Public
    };
    signet_durable::write(path, data, mode).map_err(io(path))
}
