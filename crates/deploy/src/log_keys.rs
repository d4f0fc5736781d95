//! The log server's keys in its data directory: signing keys, the v1 tree ID and when they
//! were made. Created once (mode 0600, written durably by [`signet_durable::write`]), then
//! only read. The retired Rekor v1 keys of a deployment are loaded by
//! [`crate::rotation`], not here.

use crate::DeployError;
use crate::files::{read_optional, write_secret};
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use signet_server::LogKeys;
use std::path::{Path, PathBuf};

/// The Rekor v1 key: PKCS#8 DER ECDSA P-256 (checkpoints and SETs).
pub const V1_KEY_FILE: &str = "rekor-v1.key";
/// The Rekor v1 tree ID, decimal text.
pub const V1_TREE_ID_FILE: &str = "rekor-v1.treeid";
/// The Rekor v2 key: a raw 32-byte Ed25519 seed (checkpoints).
pub const V2_KEY_FILE: &str = "rekor-v2.key";
/// When the keys were made, Unix seconds as decimal text: the trusted root's `validFor.start`.
pub const CREATED_FILE: &str = "keys.created";
/// The Rekor v1 store.
pub const V1_STORE_FILE: &str = "log-v1.redb";
/// The Rekor v2 store.
pub const V2_STORE_FILE: &str = "log-v2.redb";

fn bad(path: &Path, reason: impl Into<String>) -> DeployError {
    DeployError::BadKeyFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn parse_number<T: std::str::FromStr>(path: &Path, data: &[u8]) -> Result<T, DeployError> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad(path, "not a decimal number"))
}

/// A new Rekor v1 key (PKCS#8 DER ECDSA P-256).
pub(crate) fn generate_v1_key(rng: &dyn SecureRandom) -> Result<Vec<u8>, DeployError> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| DeployError::KeyGeneration {
            what: "the Rekor v1 key",
        })
}

/// A new Rekor v2 key (an Ed25519 seed).
pub(crate) fn generate_v2_seed(rng: &dyn SecureRandom) -> Result<[u8; 32], DeployError> {
    let mut seed = [0u8; 32];
    rng.fill(&mut seed)
        .map_err(|_| DeployError::KeyGeneration {
            what: "the Rekor v2 key",
        })?;
    Ok(seed)
}

/// Loads the log keys from `dir`, creating whatever is missing (new keys made at `now`, Unix
/// seconds, with randomness from `rng`), unless a store already exists whose key is missing
/// ([`DeployError::MissingKey`]).
///
/// # Errors
/// [`DeployError::MissingKey`], [`DeployError::BadKeyFile`] for a file that does not hold
/// what it should, [`DeployError::KeyGeneration`], and [`DeployError::Io`].
pub fn load_or_create_log_keys(
    dir: &Path,
    now: i64,
    rng: &dyn SecureRandom,
) -> Result<LogKeys, DeployError> {
    load_or_create_log_keys_for(dir, now, rng, false, false)
}

/// [`load_or_create_log_keys`], where the Rekor v1 key (`external_v1`) and the Rekor v2 key
/// (`external_v2`) may live elsewhere (an HSM): their key files are then neither read nor
/// created, and the returned [`LogKeys`] holds an empty PKCS#8 / a zero seed for them (what
/// [`signet_server::LogServer::with_signers`] expects). A key file left in `dir` for such a
/// key is refused, so the log never signs with a file key it was told not to use.
pub(crate) fn load_or_create_log_keys_for(
    dir: &Path,
    now: i64,
    rng: &dyn SecureRandom,
    external_v1: bool,
    external_v2: bool,
) -> Result<LogKeys, DeployError> {
    signet_durable::create_dir_all(dir).map_err(DeployError::io(dir))?;
    let path = |name: &str| dir.join(name);
    let v1_store = path(V1_STORE_FILE);
    let v2_store = path(V2_STORE_FILE);
    // Refuse before creating anything.
    let guards: [(&PathBuf, &str); 4] = [
        (&v1_store, V1_KEY_FILE),
        (&v1_store, V1_TREE_ID_FILE),
        (&v1_store, CREATED_FILE),
        (&v2_store, V2_KEY_FILE),
    ];
    for (external, key) in [(external_v1, V1_KEY_FILE), (external_v2, V2_KEY_FILE)] {
        if external && path(key).exists() {
            return Err(DeployError::BadKeyFile {
                path: path(key),
                reason: "present, but this log's key is in an HSM (--pkcs11-key): remove the key \
                         file (a key kept in an HSM leaves no private key in the data directory)"
                    .into(),
            });
        }
    }
    for (store, key) in guards {
        let external = (key == V1_KEY_FILE && external_v1) || (key == V2_KEY_FILE && external_v2);
        if store.exists() && !external && !path(key).exists() {
            return Err(DeployError::MissingKey {
                store: store.clone(),
                missing: path(key),
            });
        }
    }
    if v2_store.exists() && !path(CREATED_FILE).exists() {
        return Err(DeployError::MissingKey {
            store: v2_store,
            missing: path(CREATED_FILE),
        });
    }

    let created_path = path(CREATED_FILE);
    let created = match read_optional(&created_path)? {
        Some(data) => parse_number::<i64>(&created_path, &data)?,
        None => {
            write_secret(&created_path, now.to_string().as_bytes())?;
            now
        }
    };

    let v1_path = path(V1_KEY_FILE);
    let v1_pkcs8 = match read_optional(&v1_path)? {
        _ if external_v1 => Vec::new(),
        Some(data) => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &data)
                .map_err(|_| bad(&v1_path, "not a PKCS#8 ECDSA P-256 key"))?;
            data
        }
        None => {
            let data = generate_v1_key(rng)?;
            write_secret(&v1_path, &data)?;
            data
        }
    };

    let tree_path = path(V1_TREE_ID_FILE);
    let v1_tree_id = match read_optional(&tree_path)? {
        Some(data) => {
            let id: u64 = parse_number(&tree_path, &data)?;
            if id == 0 || id > i64::MAX as u64 {
                return Err(bad(&tree_path, "tree ID must be 1 to 2^63-1"));
            }
            id
        }
        None => {
            let mut bytes = [0u8; 8];
            rng.fill(&mut bytes)
                .map_err(|_| DeployError::KeyGeneration {
                    what: "the Rekor v1 tree ID",
                })?;
            // Positive and non-zero, as Trillian tree IDs are.
            let id = (u64::from_be_bytes(bytes) >> 1).max(1);
            write_secret(&tree_path, id.to_string().as_bytes())?;
            id
        }
    };

    let v2_path = path(V2_KEY_FILE);
    let v2_seed = match read_optional(&v2_path)? {
        _ if external_v2 => [0; 32],
        Some(data) => <[u8; 32]>::try_from(data.as_slice())
            .map_err(|_| bad(&v2_path, "not a 32-byte Ed25519 seed"))?,
        None => {
            let seed = generate_v2_seed(rng)?;
            write_secret(&v2_path, &seed)?;
            seed
        }
    };

    Ok(LogKeys {
        v1_pkcs8,
        v1_tree_id,
        v2_seed,
        created,
        retired_v1: Vec::new(),
    })
}
