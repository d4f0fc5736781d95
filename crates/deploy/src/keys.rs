//! Service keys kept outside the data directory (in an HSM, through PKCS#11): which service
//! signs with which key, opened once at start and checked for the algorithm the service signs
//! with. A service given such a key never creates or reads a key file for it.
//!
//! The flags (`--pkcs11-module PATH --pkcs11-token LABEL --pkcs11-pin-env NAME |
//! --pkcs11-pin-file PATH --pkcs11-key SERVICE=LABEL|SERVICE=pkcs11:URI`) are the binary's;
//! [`Pkcs11Keys`] is what they say, and [`Pkcs11Keys::open`] makes the [`ServiceKeys`] the
//! deployment functions take ([`crate::Deployment::open_with_keys`],
//! [`crate::CaDeployment::open_with_keys`], [`crate::open_log_server_with_keys`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the user PIN is read from (an environment variable or a file, never a flag value).
pub use signet_pkcs11::PinSource;
use signet_pkcs11::{KeyRef, Pkcs11Key};
use signet_signer::{SharedSigner, SignerAlgorithm};

use crate::DeployError;

/// A service that signs with one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeyService {
    /// The CA's issuing (intermediate) key: ECDSA P-256 or P-384.
    Ca,
    /// The CA's CT log: ECDSA P-256.
    Ct,
    /// The Rekor v1 log (checkpoints and SETs): ECDSA P-256.
    RekorV1,
    /// The Rekor v2 log (checkpoints): Ed25519.
    RekorV2,
    /// The timestamp authority: ECDSA P-256 or P-384.
    Tsa,
    /// The TUF repository's root role: Ed25519.
    TufRoot,
    /// The TUF timestamp role: Ed25519.
    TufTimestamp,
    /// The TUF snapshot role: Ed25519.
    TufSnapshot,
    /// The TUF targets role: Ed25519.
    TufTargets,
    /// An offline root CA (`signet ca init-root`, `signet ca sign-intermediate`): ECDSA P-256
    /// or P-384.
    Root,
}

impl KeyService {
    /// Every service, in flag order, the offline root last.
    pub const ALL: [KeyService; 10] = [
        KeyService::Ca,
        KeyService::Ct,
        KeyService::RekorV1,
        KeyService::RekorV2,
        KeyService::Tsa,
        KeyService::TufRoot,
        KeyService::TufTimestamp,
        KeyService::TufSnapshot,
        KeyService::TufTargets,
        KeyService::Root,
    ];

    /// The services `signet up` runs: every one but the offline root, which [`Self::ALL`]
    /// lists last.
    pub const UP: &[KeyService] = Self::ALL.as_slice().split_at(Self::ALL.len() - 1).0;

    /// The name `--pkcs11-key` uses: `ca`, `ct`, `rekor-v1`, `rekor-v2`, `tsa`, `tuf-root`,
    /// `tuf-timestamp`, `tuf-snapshot`, `tuf-targets`, `root`.
    pub fn name(self) -> &'static str {
        match self {
            KeyService::Ca => "ca",
            KeyService::Ct => "ct",
            KeyService::RekorV1 => "rekor-v1",
            KeyService::RekorV2 => "rekor-v2",
            KeyService::Tsa => "tsa",
            KeyService::TufRoot => "tuf-root",
            KeyService::TufTimestamp => "tuf-timestamp",
            KeyService::TufSnapshot => "tuf-snapshot",
            KeyService::TufTargets => "tuf-targets",
            KeyService::Root => "root",
        }
    }

    /// The service of a [`KeyService::name`].
    pub fn from_name(name: &str) -> Option<KeyService> {
        KeyService::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The algorithms the service signs with.
    pub fn algorithms(self) -> &'static [SignerAlgorithm] {
        const EC: &[SignerAlgorithm] = &[
            SignerAlgorithm::EcdsaP256Sha256,
            SignerAlgorithm::EcdsaP384Sha384,
        ];
        const P256: &[SignerAlgorithm] = &[SignerAlgorithm::EcdsaP256Sha256];
        const ED25519: &[SignerAlgorithm] = &[SignerAlgorithm::Ed25519];
        match self {
            KeyService::Ca | KeyService::Tsa | KeyService::Root => EC,
            KeyService::Ct | KeyService::RekorV1 => P256,
            KeyService::RekorV2
            | KeyService::TufRoot
            | KeyService::TufTimestamp
            | KeyService::TufSnapshot
            | KeyService::TufTargets => ED25519,
        }
    }
}

impl std::fmt::Display for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The keys kept outside the data directory, per service; a service not listed keeps its
/// key file. Its `Debug` lists where each key lives, never key material.
#[derive(Clone, Default)]
pub struct ServiceKeys {
    keys: BTreeMap<KeyService, SharedSigner>,
}

impl std::fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.keys.iter().map(|(s, k)| (s.name(), k.location())))
            .finish()
    }
}

impl ServiceKeys {
    /// No keys: every service keeps its key file.
    pub fn new() -> ServiceKeys {
        ServiceKeys::default()
    }

    /// Makes `signer` `service`'s key.
    ///
    /// # Errors
    /// [`DeployError::ServiceKey`] when the key is not of an algorithm the service signs
    /// with (an Ed25519 key for the CA, a P-384 key for Rekor v1, ...), or the service has a
    /// key already.
    pub fn insert(&mut self, service: KeyService, signer: SharedSigner) -> Result<(), DeployError> {
        let algorithm = signer.algorithm();
        if !service.algorithms().contains(&algorithm) {
            let want: Vec<&str> = service.algorithms().iter().map(|a| a.name()).collect();
            return Err(DeployError::ServiceKey {
                service: service.name(),
                reason: format!(
                    "{} is {algorithm}; the {service} key must be {}",
                    signer.location(),
                    want.join(" or ")
                ),
            });
        }
        if self.keys.contains_key(&service) {
            return Err(DeployError::ServiceKey {
                service: service.name(),
                reason: "given twice".into(),
            });
        }
        self.keys.insert(service, signer);
        Ok(())
    }

    /// `service`'s key, when it has one here.
    pub fn get(&self, service: KeyService) -> Option<&SharedSigner> {
        self.keys.get(&service)
    }

    /// Whether no service has a key here.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The services with a key here.
    pub fn services(&self) -> impl Iterator<Item = KeyService> + '_ {
        self.keys.keys().copied()
    }

    /// The TUF roles' keys, as [`signet_tuf::repo::RoleKeys::load_or_create_with`] takes them.
    pub(crate) fn tuf_roles(&self) -> Vec<(tough::schema::RoleType, SharedSigner)> {
        use tough::schema::RoleType;
        [
            (KeyService::TufRoot, RoleType::Root),
            (KeyService::TufTimestamp, RoleType::Timestamp),
            (KeyService::TufSnapshot, RoleType::Snapshot),
            (KeyService::TufTargets, RoleType::Targets),
        ]
        .into_iter()
        .filter_map(|(service, role)| self.get(service).map(|k| (role, Arc::clone(k))))
        .collect()
    }

    /// Refuses keys of services other than `allowed` (a key given to a command that has no
    /// such service would otherwise be silently ignored).
    ///
    /// # Errors
    /// [`DeployError::ServiceKey`] naming the first such service.
    pub fn only(&self, allowed: &[KeyService]) -> Result<(), DeployError> {
        match self.services().find(|s| !allowed.contains(s)) {
            Some(service) => {
                let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
                Err(DeployError::ServiceKey {
                    service: service.name(),
                    reason: format!(
                        "this command has no such key; it takes {}",
                        names.join(", ")
                    ),
                })
            }
            None => Ok(()),
        }
    }
}

/// What the PKCS#11 flags say: the module, the token, the PIN's source and, per service, the
/// key's label or `pkcs11:` URI.
#[derive(Clone, Debug, Default)]
pub struct Pkcs11Keys {
    /// `--pkcs11-module`: the PKCS#11 module (shared library); a URI's `module-path` wins.
    pub module: Option<PathBuf>,
    /// `--pkcs11-token`: the token's label, for keys given by label.
    pub token: Option<String>,
    /// `--pkcs11-pin-env` / `--pkcs11-pin-file`: where the user PIN is; a URI's `pin-source`
    /// wins.
    pub pin: Option<PinSource>,
    /// `--pkcs11-key SERVICE=LABEL` or `SERVICE=pkcs11:URI`, in order.
    pub keys: Vec<(KeyService, String)>,
}

/// Parses a `--pkcs11-key` value: `SERVICE=LABEL` or `SERVICE=pkcs11:URI`.
///
/// # Errors
/// A message naming the unknown service or the missing `=`.
pub fn parse_pkcs11_key_flag(value: &str) -> Result<(KeyService, String), String> {
    let (service, key) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?}: expected SERVICE=LABEL or SERVICE=pkcs11:URI"))?;
    let names: Vec<&str> = KeyService::ALL.iter().map(|s| s.name()).collect();
    let service = KeyService::from_name(service)
        .ok_or_else(|| format!("unknown service {service:?}: one of {}", names.join(", ")))?;
    if key.is_empty() {
        return Err(format!("{service}: the key label or pkcs11: URI is empty"));
    }
    Ok((service, key.to_owned()))
}

impl Pkcs11Keys {
    /// Whether any key is asked for.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Opens every key (logging in to its token, checking the pair with a probe signature)
    /// and checks each one's algorithm against its service.
    ///
    /// # Errors
    /// [`DeployError::ServiceKey`] naming the service and what failed: a bad URI, no module
    /// or token given, a missing token, a refused PIN, a missing key, a key of the wrong
    /// type.
    pub fn open(&self) -> Result<ServiceKeys, DeployError> {
        let mut keys = ServiceKeys::new();
        for (service, key) in &self.keys {
            let fail = |reason: String| DeployError::ServiceKey {
                service: service.name(),
                reason,
            };
            let key_ref = self.key_ref(*service, key)?;
            let opened = Pkcs11Key::open(&key_ref, self.pin.as_ref()).map_err(|e| {
                fail(match e {
                    signet_pkcs11::Pkcs11Error::NoPinSource => NO_PIN.to_owned(),
                    other => other.to_string(),
                })
            })?;
            keys.insert(*service, Arc::new(opened))?;
        }
        Ok(keys)
    }

    /// Makes every key asked for in its token (`signet hsm generate-key`), each of its
    /// service's first algorithm ([`KeyService::algorithms`]: ECDSA P-256 for `ca`, `ct`,
    /// `rekor-v1`, `tsa` and `root`, Ed25519 for `rekor-v2` and the TUF roles) unless
    /// `algorithm` says otherwise, and returns them opened, in flag order. A label the token
    /// already uses is refused before anything is made.
    ///
    /// # Errors
    /// [`DeployError::ServiceKey`] naming the service: an algorithm the service does not sign
    /// with, a label in use, a token that cannot make the key, and the errors of
    /// [`Pkcs11Keys::open`].
    pub fn generate(
        &self,
        algorithm: Option<SignerAlgorithm>,
    ) -> Result<Vec<(KeyService, SharedSigner)>, DeployError> {
        let mut made = Vec::new();
        for (service, key) in &self.keys {
            let fail = |reason: String| DeployError::ServiceKey {
                service: service.name(),
                reason,
            };
            let algorithm = match algorithm {
                Some(a) if service.algorithms().contains(&a) => a,
                Some(a) => {
                    return Err(fail(format!(
                        "{service} does not sign with {a} (it takes {})",
                        service
                            .algorithms()
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )));
                }
                None => *service
                    .algorithms()
                    .first()
                    .ok_or_else(|| fail("no algorithm".into()))?,
            };
            let pkcs11_algorithm = match algorithm {
                SignerAlgorithm::EcdsaP256Sha256 => signet_pkcs11::KeyAlgorithm::EcdsaP256Sha256,
                SignerAlgorithm::EcdsaP384Sha384 => signet_pkcs11::KeyAlgorithm::EcdsaP384Sha384,
                SignerAlgorithm::Ed25519 => signet_pkcs11::KeyAlgorithm::Ed25519,
                other => return Err(fail(format!("{other} keys cannot be made in an HSM"))),
            };
            let key_ref = self.key_ref(*service, key)?;
            let key = Pkcs11Key::generate(&key_ref, self.pin.as_ref(), pkcs11_algorithm).map_err(
                |e| {
                    fail(match e {
                        signet_pkcs11::Pkcs11Error::NoPinSource => NO_PIN.to_owned(),
                        other => other.to_string(),
                    })
                },
            )?;
            made.push((*service, Arc::new(key) as SharedSigner));
        }
        Ok(made)
    }

    /// The key reference of one `--pkcs11-key` value: a `pkcs11:` URI, or a label on
    /// `--pkcs11-token` of `--pkcs11-module`.
    fn key_ref(&self, service: KeyService, key: &str) -> Result<KeyRef, DeployError> {
        let fail = |reason: String| DeployError::ServiceKey {
            service: service.name(),
            reason,
        };
        if key.starts_with("pkcs11:") {
            return KeyRef::parse_uri(key, self.module.as_deref()).map_err(|e| fail(e.to_string()));
        }
        let module = self.module.as_deref().ok_or_else(|| {
            fail(format!(
                "key {key:?} is a label: give --pkcs11-module PATH and --pkcs11-token LABEL, \
                 or a pkcs11: URI"
            ))
        })?;
        let token = self.token.as_deref().ok_or_else(|| {
            fail(format!(
                "key {key:?} is a label: give --pkcs11-token LABEL, or a pkcs11: URI"
            ))
        })?;
        KeyRef::from_flags(module, token, key).map_err(|e| fail(e.to_string()))
    }
}

const NO_PIN: &str = "no PIN source: give --pkcs11-pin-env NAME or --pkcs11-pin-file PATH \
                      (or pin-source= in the pkcs11: URI)";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use signet_signer::MemorySigner;

    #[test]
    fn up_is_every_service_but_the_offline_root() {
        let mut expected = KeyService::ALL.to_vec();
        expected.retain(|s| *s != KeyService::Root);
        assert_eq!(KeyService::UP, expected.as_slice());
    }

    #[test]
    fn flag_values_parse() {
        assert_eq!(
            parse_pkcs11_key_flag("rekor-v1=log-key").unwrap(),
            (KeyService::RekorV1, "log-key".to_owned())
        );
        assert_eq!(
            parse_pkcs11_key_flag("tsa=pkcs11:token=t;object=tsa").unwrap(),
            (KeyService::Tsa, "pkcs11:token=t;object=tsa".to_owned())
        );
        assert!(
            parse_pkcs11_key_flag("rekor=x")
                .unwrap_err()
                .contains("rekor-v1")
        );
        assert!(parse_pkcs11_key_flag("ca").is_err());
        assert!(parse_pkcs11_key_flag("ca=").is_err());
        for service in KeyService::ALL {
            assert_eq!(KeyService::from_name(service.name()), Some(service));
        }
    }

    #[test]
    fn keys_of_the_wrong_type_are_refused() {
        let ed25519: SharedSigner = Arc::new(MemorySigner::from_ed25519_seed(&[1; 32]).unwrap());
        let mut keys = ServiceKeys::new();
        let message = keys
            .insert(KeyService::Ca, Arc::clone(&ed25519))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("ca") && message.contains("ed25519"),
            "{message}"
        );
        keys.insert(KeyService::RekorV2, Arc::clone(&ed25519))
            .unwrap();
        assert!(keys.insert(KeyService::RekorV2, ed25519).is_err());
        assert!(keys.only(&[KeyService::Ca]).is_err());
        assert!(keys.only(&[KeyService::RekorV2]).is_ok());
        assert!(!format!("{keys:?}").contains("0x"));
    }

    #[test]
    fn labels_need_a_module_and_a_token() {
        let config = Pkcs11Keys {
            module: None,
            token: Some("t".into()),
            pin: None,
            keys: vec![(KeyService::Tsa, "tsa".into())],
        };
        let message = config.open().unwrap_err().to_string();
        assert!(message.contains("--pkcs11-module"), "{message}");
        let config = Pkcs11Keys {
            module: Some("/nonexistent/module.so".into()),
            token: Some("t".into()),
            pin: Some(PinSource::env("SIGNET_TEST_NO_SUCH_PIN").unwrap()),
            keys: vec![(KeyService::Tsa, "tsa".into())],
        };
        let message = config.open().unwrap_err().to_string();
        assert!(message.contains("tsa"), "{message}");
    }
}
