//! The CA's key material on disk: four PEM files in a directory, keys with mode 0600.

use crate::keys::{CaKeys, CaPemFiles};
use crate::signing_key::CaAlgorithm;
use crate::{CaError, KeyMaterialError};
use aws_lc_rs::rand::SecureRandom;
use std::path::Path;

/// Root certificate file name.
pub const ROOT_CERT_FILE: &str = "ca-root.pem";
/// Root key file name (PKCS#8 PEM, mode 0600).
pub const ROOT_KEY_FILE: &str = "ca-root-key.pem";
/// Intermediate certificate file name.
pub const INTERMEDIATE_CERT_FILE: &str = "ca-intermediate.pem";
/// Intermediate key file name (PKCS#8 PEM, mode 0600).
pub const INTERMEDIATE_KEY_FILE: &str = "ca-intermediate-key.pem";

fn io(path: &Path, e: std::io::Error) -> CaError {
    KeyMaterialError::Io {
        path: path.to_owned(),
        source: e,
    }
    .into()
}

fn write_file(path: &Path, text: &str, private: bool) -> Result<(), CaError> {
    let mode = if private {
        signet_durable::Mode::Secret
    } else {
        signet_durable::Mode::Public
    };
    signet_durable::write(path, text.as_bytes(), mode).map_err(|e| io(path, e))
}

/// Loads the CA key material from `dir`, or, when `dir` holds none of its files, generates it
/// (valid from `now`, keys of `algorithm`, randomness from `rng`) and writes it there.
/// Half-present material is an error rather than overwritten.
pub fn load_or_create(
    dir: &Path,
    now: i64,
    algorithm: CaAlgorithm,
    rng: &dyn SecureRandom,
) -> Result<CaKeys, CaError> {
    let path = |name: &str| dir.join(name);
    let names = [
        ROOT_CERT_FILE,
        ROOT_KEY_FILE,
        INTERMEDIATE_CERT_FILE,
        INTERMEDIATE_KEY_FILE,
    ];
    let present: Vec<bool> = names.iter().map(|n| path(n).exists()).collect();
    if present.iter().all(|p| !p) {
        signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let keys = CaKeys::generate(now, algorithm, rng)?;
        let pem = keys.to_pem()?;
        if let Some(root_key) = &pem.root_key {
            write_file(&path(ROOT_KEY_FILE), root_key, true)?;
        }
        write_file(&path(INTERMEDIATE_KEY_FILE), &pem.intermediate_key, true)?;
        write_file(&path(ROOT_CERT_FILE), &pem.root_cert, false)?;
        write_file(&path(INTERMEDIATE_CERT_FILE), &pem.intermediate_cert, false)?;
        return Ok(keys);
    }
    let read = |name: &str| {
        let p = path(name);
        std::fs::read_to_string(&p).map_err(|e| io(&p, e))
    };
    let root_key = if path(ROOT_KEY_FILE).exists() {
        Some(read(ROOT_KEY_FILE)?)
    } else {
        None
    };
    CaKeys::from_pem(&CaPemFiles {
        root_cert: read(ROOT_CERT_FILE)?,
        root_key,
        intermediate_cert: read(INTERMEDIATE_CERT_FILE)?,
        intermediate_key: read(INTERMEDIATE_KEY_FILE)?,
    })
}
