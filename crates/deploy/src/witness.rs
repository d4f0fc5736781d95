//! `signet witness`: a C2SP tlog-witness ([`signet_witness`]) on a data directory.
//!
//! Data directory layout:
//!
//! | path | what |
//! |---|---|
//! | `checkpoints/` | the latest cosigned checkpoint of each log, one file per origin ([`signet_witness::FileStore`]), and the `lock` that keeps a second witness process out |
//! | `witness.key` | the witness's Ed25519 seed, 32 raw bytes (mode 0600), made on first start |
//! | `witness.vkey` | its `cosignature/v1` verifier key line, to hand to logs and verifiers |
//!
//! The lock is taken first, before any key is read or made, so two processes started at
//! once on one directory cannot both make a key or both accept checkpoints. The witness's
//! name is part of its identity (it is in the verifier key): it is chosen on first start
//! (`--name`, else [`DEFAULT_WITNESS_NAME`]) and read back from `witness.vkey` afterwards; a
//! start that asks for another name, or whose key does not match `witness.vkey`, is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use signet_witness::{FileStore, StoreError, Witness};

use crate::DeployError;
use crate::environment::Environment;
use crate::files::{read_optional, write_public, write_secret};

/// The directory of the witness's state ([`signet_witness::FileStore`]).
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The witness's Ed25519 seed (32 raw bytes, mode 0600).
pub const WITNESS_KEY_FILE: &str = "witness.key";
/// The witness's `cosignature/v1` verifier key, one line.
pub const WITNESS_VKEY_FILE: &str = "witness.vkey";
/// The witness's key name when none is given on first start.
pub const DEFAULT_WITNESS_NAME: &str = "signet-witness";

/// What a witness is opened with.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// The witness's key name. `None`: the one in `witness.vkey`, or
    /// [`DEFAULT_WITNESS_NAME`] on first start.
    pub name: Option<String>,
    /// The logs to witness: Ed25519 verifier keys `origin+hash+base64`, the key name being
    /// the log's checkpoint origin. At least one.
    pub log_vkeys: Vec<String>,
}

/// A witness opened on its data directory, holding the directory's lock until dropped.
#[derive(Debug)]
pub struct WitnessDeployment {
    witness: Arc<Witness>,
    env: Environment,
    vkey_path: PathBuf,
}

fn bad(path: &Path, reason: impl Into<String>) -> DeployError {
    DeployError::BadKeyFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

impl WitnessDeployment {
    /// Opens the witness in `config.data_dir` on the system clock and randomness.
    ///
    /// # Errors
    /// See [`WitnessDeployment::open_with`].
    pub fn open(config: WitnessConfig) -> Result<WitnessDeployment, DeployError> {
        Self::open_with(config, &Environment::system())
    }

    /// Opens the witness in `config.data_dir`: takes the directory's lock, loads the key (on
    /// first start makes it from `env`'s randomness and writes `witness.key` and
    /// `witness.vkey`, durably), and opens the state. Cosignatures are timestamped by `env`'s
    /// clock.
    ///
    /// # Errors
    /// [`DeployError::Component`] when another process holds the directory or a log key is
    /// not usable; [`DeployError::BadKeyFile`] when `witness.key` or `witness.vkey` does not
    /// hold what it should, or `--name` differs from the name in `witness.vkey`;
    /// [`DeployError::KeyGeneration`]; [`DeployError::Io`].
    pub fn open_with(
        config: WitnessConfig,
        env: &Environment,
    ) -> Result<WitnessDeployment, DeployError> {
        let dir = &config.data_dir;
        signet_durable::create_dir_all(dir).map_err(DeployError::io(dir))?;
        // 1. The lock, before anything else is read or written.
        let store = FileStore::open(&dir.join(CHECKPOINTS_DIR)).map_err(|e| match e {
            StoreError::Io { path, source } => DeployError::Io { path, source },
            other => DeployError::component("the witness", other),
        })?;

        // 2. The name: the one the witness was created with.
        let vkey_path = dir.join(WITNESS_VKEY_FILE);
        let stored_vkey = read_optional(&vkey_path)?
            .map(|data| {
                String::from_utf8(data)
                    .map(|s| s.trim().to_owned())
                    .map_err(|_| bad(&vkey_path, "not a verifier key line"))
            })
            .transpose()?;
        let stored_name = stored_vkey
            .as_deref()
            .map(|vkey| {
                vkey.split_once('+')
                    .map(|(name, _)| name.to_owned())
                    .ok_or_else(|| bad(&vkey_path, "not a verifier key line"))
            })
            .transpose()?;
        let name = match (&config.name, stored_name) {
            (Some(asked), Some(stored)) if *asked != stored => {
                return Err(bad(
                    &vkey_path,
                    format!(
                        "this witness is named {stored:?}, not {asked:?}: its name is part of \
                         its identity; start it as {stored:?}, or use a new data directory for \
                         a new witness"
                    ),
                ));
            }
            (_, Some(stored)) => stored,
            (Some(asked), None) => asked.clone(),
            (None, None) => DEFAULT_WITNESS_NAME.to_owned(),
        };

        // 3. The key: made once, then only read.
        let key_path = dir.join(WITNESS_KEY_FILE);
        let seed: [u8; 32] = match read_optional(&key_path)? {
            Some(data) => data
                .as_slice()
                .try_into()
                .map_err(|_| bad(&key_path, "not a 32-byte Ed25519 seed"))?,
            None if stored_vkey.is_some() => {
                return Err(bad(
                    &key_path,
                    format!(
                        "missing, but {} names an existing witness: restore the key, or use a \
                         new data directory for a new witness",
                        vkey_path.display()
                    ),
                ));
            }
            None => {
                let mut seed = [0u8; 32];
                env.randomness
                    .fill(&mut seed)
                    .map_err(|_| DeployError::KeyGeneration {
                        what: "the witness key",
                    })?;
                write_secret(&key_path, &seed)?;
                seed
            }
        };

        // 4. The witness, and its verifier key on disk.
        let witness = Witness::new(
            &name,
            &seed,
            config.log_vkeys.iter().map(String::as_str),
            Box::new(store),
        )
        .map_err(|e| DeployError::component("the witness", e))?;
        match stored_vkey {
            Some(stored) if stored != witness.verifier_key() => {
                return Err(bad(
                    &vkey_path,
                    format!(
                        "holds {stored}, but {} gives {}: restore the key that belongs to it",
                        key_path.display(),
                        witness.verifier_key()
                    ),
                ));
            }
            Some(_) => {}
            None => write_public(
                &vkey_path,
                format!("{}\n", witness.verifier_key()).as_bytes(),
            )?,
        }
        Ok(WitnessDeployment {
            witness: Arc::new(witness),
            env: env.clone(),
            vkey_path,
        })
    }

    /// The witness's `cosignature/v1` verifier key.
    pub fn verifier_key(&self) -> &str {
        self.witness.verifier_key()
    }

    /// The file holding the verifier key.
    pub fn vkey_path(&self) -> &Path {
        &self.vkey_path
    }

    /// The witness.
    pub fn witness(&self) -> &Arc<Witness> {
        &self.witness
    }

    /// Its routes (`POST /add-checkpoint`, see [`signet_witness::router`]) on the
    /// environment's clock.
    pub fn router(&self) -> Router {
        signet_witness::router(self.witness.clone(), self.env.clock.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn log_vkey() -> String {
        // A fixed Ed25519 log key (the C2SP signed-note example key).
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k".to_owned()
    }

    fn config(dir: &Path, name: Option<&str>) -> WitnessConfig {
        WitnessConfig {
            data_dir: dir.to_owned(),
            name: name.map(str::to_owned),
            log_vkeys: vec![log_vkey()],
        }
    }

    #[test]
    fn first_start_makes_the_key_and_later_starts_keep_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        let first = WitnessDeployment::open(config(&dir, None)).unwrap();
        let vkey = first.verifier_key().to_owned();
        assert!(vkey.starts_with("signet-witness+"), "{vkey}");
        assert_eq!(
            std::fs::read_to_string(dir.join(WITNESS_VKEY_FILE)).unwrap(),
            format!("{vkey}\n")
        );
        assert_eq!(std::fs::read(dir.join(WITNESS_KEY_FILE)).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(WITNESS_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The directory is locked while it is open.
        let e = WitnessDeployment::open(config(&dir, None)).unwrap_err();
        assert!(e.to_string().contains("another witness process"), "{e}");
        drop(first);
        // Same key and name afterwards, whether or not the name is given again.
        let again = WitnessDeployment::open(config(&dir, None)).unwrap();
        assert_eq!(again.verifier_key(), vkey);
        drop(again);
        let again = WitnessDeployment::open(config(&dir, Some("signet-witness"))).unwrap();
        assert_eq!(again.verifier_key(), vkey);
    }

    #[test]
    fn a_name_is_chosen_once() {
        let tmp = tempfile::tempdir().unwrap();
        let w = WitnessDeployment::open(config(tmp.path(), Some("w.example/1"))).unwrap();
        assert!(w.verifier_key().starts_with("w.example/1+"));
        drop(w);
        let e = WitnessDeployment::open(config(tmp.path(), Some("other"))).unwrap_err();
        assert!(matches!(e, DeployError::BadKeyFile { .. }), "{e}");
        assert!(e.to_string().contains("\"w.example/1\""), "{e}");
    }

    #[test]
    fn a_lost_or_replaced_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        drop(WitnessDeployment::open(config(tmp.path(), None)).unwrap());
        let key = tmp.path().join(WITNESS_KEY_FILE);
        std::fs::write(&key, [9u8; 32]).unwrap();
        let e = WitnessDeployment::open(config(tmp.path(), None)).unwrap_err();
        assert!(matches!(e, DeployError::BadKeyFile { .. }), "{e}");
        std::fs::write(&key, [9u8; 31]).unwrap();
        let e = WitnessDeployment::open(config(tmp.path(), None)).unwrap_err();
        assert!(e.to_string().contains("32-byte"), "{e}");
        std::fs::remove_file(&key).unwrap();
        let e = WitnessDeployment::open(config(tmp.path(), None)).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        assert!(!key.exists());
    }

    #[test]
    fn bad_log_keys_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = config(tmp.path(), None);
        c.log_vkeys = vec!["nonsense".into()];
        let e = WitnessDeployment::open(c).unwrap_err();
        assert!(e.to_string().contains("nonsense"), "{e}");
        let mut c = config(tmp.path(), None);
        c.log_vkeys.clear();
        let e = WitnessDeployment::open(c).unwrap_err();
        assert!(e.to_string().contains("no log key"), "{e}");
    }
}
