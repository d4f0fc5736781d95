//! The Fulcio-compatible CA with its CT log and, when asked, the development OIDC issuer:
//! what `signet serve ca` runs on its own and [`crate::Deployment`] embeds. The CA and the CT
//! log do not know each other; [`CtPrecertLogger`] connects them here.
//!
//! Data directory layout (every private key mode 0600, created on first start):
//!
//! | path | what |
//! |---|---|
//! | `ca/` | CA root and intermediate keys and certificates; with the root kept offline, no root key (see [`CaDeploymentConfig::ca_chain`]), and the next intermediate's key and request in `ca/pending/` until `signet up --ca-chain NEW.pem --rotate ca` (see [`crate::rotation`]) |
//! | `ct/` | the CT log's key (`ct-signing.key`), creation time, redb stores (none with [`CaDeploymentConfig::database`]: the CT log is then in PostgreSQL) |
//! | `oidc/` | the development issuer's key |
//!
//! The TSA of a deployment is opened by [`open_tsa`] (its own `tsa/` directory).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use axum::Router;
use signet_formats::trust::{
    CertificateAuthority as TrustedCa, DistinguishedName, MEDIA_TYPE_V0_1, PublicKey, TimeRange,
    TransparencyLogInstance, TrustedRoot,
};
use signet_formats::{HashAlgorithm, Timestamp};
use signet_log::{BatcherConfig, RedbStore};

use crate::DeployError;
use crate::ct::CtPrecertLogger;
use crate::environment::Environment;
use crate::files::{read_optional, write_public, write_secret};
use crate::keys::{KeyService, ServiceKeys};

/// How to run a [`CaDeployment`].
#[derive(Debug, Clone)]
pub struct CaDeploymentConfig {
    /// The data directory (see the module docs).
    pub data_dir: PathBuf,
    /// The base URL clients use, e.g. `http://127.0.0.1:3000`. The CT log is at
    /// `<public_url>/ct` and the development issuer at `<public_url>/oidc`.
    pub public_url: String,
    /// OIDC issuers the CA accepts tokens from (besides the development issuer).
    pub oidc_issuers: Vec<signet_oidc::IssuerConfig>,
    /// Run the development OIDC issuer at `<public_url>/oidc` and trust it, after the
    /// issuers of `oidc_issuers`.
    pub dev_oidc: bool,
    /// How CT log entries are batched.
    pub batch: BatcherConfig,
    /// Serve the CT log's `POST /ct/v1/add-pre-chain` to anyone. Off by default: the CA logs
    /// its precertificates in process, so nobody else needs to write (the log takes only this
    /// CA's precertificates anyway, and a replay gets its first SCT back). With it off the
    /// route is not served (404); every read is.
    pub ct_public_add: bool,
    /// A directory outside the data directory where the CT log keeps a copy of its latest tree
    /// head ([`crate::CheckpointLock`], `ct.checkpoint`); the CA then refuses to start on a CT
    /// log behind it. Default: none.
    pub checkpoint_lock: Option<PathBuf>,
    /// The CA chain (intermediate, then root, PEM) signed by a root kept offline for the
    /// intermediate key `signet ca init-intermediate` made in `ca/`: installed there at start
    /// ([`signet_ca::store::install_chain`]; the same chain again is accepted, another one
    /// refused). Default: none (the CA's own material, generated with a root on first start).
    pub ca_chain: Option<PathBuf>,
    /// Keep the CT log in this PostgreSQL database (schema `signet_ct`) instead of redb files
    /// in `ct/`, shared with any number of other CAs ([`signet_ct::cluster`]): one sequences,
    /// the others forward their precertificates to it. Every CA must hold the same CT key and
    /// creation time (`ct/ct-signing.key`, `ct/created`) and the same CA keys. Default: none.
    pub database: Option<String>,
    /// With `database`: the URL the other CAs reach this one at directly, to forward
    /// precertificates to it when it sequences. Default: the public URL.
    pub peer_url: Option<String>,
}

/// With a database: how long a CA that does not get the CT lease at start waits for the one
/// that did to publish the CT log's first tree head.
const CT_FIRST_TREE_HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The CT log's checkpoint lock file in a lock directory.
pub const CHECKPOINT_LOCK_CT: &str = "ct.checkpoint";

/// A running CA: keys, CT log, token verifier and (optionally) the development issuer.
pub struct CaDeployment {
    ct: Arc<signet_ct::CtLog>,
    ct_public_add: bool,
    ca_server: Arc<signet_ca::CaServer>,
    dev: Option<Arc<signet_oidc::DevIssuer>>,
    issuers: Vec<signet_oidc::IssuerConfig>,
    authority: TrustedCa,
    ctlog: TransparencyLogInstance,
    ca_start: i64,
    public_url: String,
    data_dir: PathBuf,
}

impl std::fmt::Debug for CaDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaDeployment")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

pub(crate) fn since(seconds: i64) -> Option<TimeRange> {
    Some(TimeRange {
        start: Some(Timestamp::from_unix_seconds(seconds)),
        end: None,
    })
}

pub(crate) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// The CT log's signing key file in `ct/`: PKCS#8 DER ECDSA P-256, mode 0600.
pub(crate) const CT_KEY_FILE: &str = "ct-signing.key";

/// A new CT log key (PKCS#8 DER ECDSA P-256).
pub(crate) fn generate_ct_key(rng: &dyn SecureRandom) -> Result<Vec<u8>, DeployError> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| DeployError::KeyGeneration {
            what: "the CT log key",
        })
}

/// The CT log's signing key and creation time, created on first start. A CT store without
/// its key refuses to start.
/// With `external` (the key is in an HSM) no key file is read or made (the key returned is
/// empty), and one left in `dir` is refused.
fn ct_identity(
    dir: &Path,
    now: i64,
    rng: &dyn SecureRandom,
    external: bool,
) -> Result<(Vec<u8>, i64), DeployError> {
    signet_durable::create_dir_all(dir).map_err(DeployError::io(dir))?;
    let key_path = dir.join(CT_KEY_FILE);
    let created_path = dir.join("created");
    let store = dir.join("ct-log.redb");
    if external && key_path.exists() {
        return Err(DeployError::BadKeyFile {
            path: key_path,
            reason: "present, but the CT log's key is in an HSM (--pkcs11-key ct=...): remove \
                     the key file"
                .into(),
        });
    }
    let needed: &[&PathBuf] = if external {
        &[&created_path]
    } else {
        &[&key_path, &created_path]
    };
    for &needed in needed {
        if store.exists() && !needed.exists() {
            return Err(DeployError::MissingKey {
                store: store.clone(),
                missing: needed.clone(),
            });
        }
    }
    let key = match read_optional(&key_path)? {
        _ if external => Vec::new(),
        Some(data) => data,
        None => {
            let key = generate_ct_key(rng)?;
            write_secret(&key_path, &key)?;
            key
        }
    };
    let created = match read_optional(&created_path)? {
        Some(data) => std::str::from_utf8(&data)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| DeployError::BadKeyFile {
                path: created_path.clone(),
                reason: "not a Unix time".into(),
            })?,
        None => {
            write_secret(&created_path, now.to_string().as_bytes())?;
            now
        }
    };
    Ok((key, created))
}

/// Installs the CA chain signed by an offline root, when given, into `data_dir/ca`
/// ([`signet_ca::store::install_chain`]), and fails early when the CA's intermediate key still
/// awaits one. Idempotent: [`crate::Deployment`] calls it before opening the logs, so a
/// wrong chain leaves nothing opened, and the CA's opening calls it again.
///
/// With `key` (the intermediate key in an HSM) the chain is checked against it
/// ([`signet_ca::store::install_chain_with_key`]) and no key file is looked for.
pub(crate) fn install_ca_chain_for(
    data_dir: &Path,
    chain: Option<&Path>,
    key: Option<&signet_signer::SharedSigner>,
) -> Result<(), DeployError> {
    let dir = data_dir.join("ca");
    match (chain, key) {
        (Some(chain), None) => signet_ca::store::install_chain(&dir, chain)
            .map_err(|e| DeployError::component("the CA chain", e))?,
        (Some(chain), Some(key)) => {
            signet_durable::create_dir_all(&dir).map_err(DeployError::io(&dir))?;
            signet_ca::store::install_chain_with_key(&dir, chain, &ca_signing_key(key)?)
                .map_err(|e| DeployError::component("the CA chain", e))?;
        }
        (None, Some(key)) => {
            let cert = dir.join(signet_ca::store::INTERMEDIATE_CERT_FILE);
            if !cert.exists() {
                return Err(DeployError::ServiceKey {
                    service: "ca",
                    reason: format!(
                        "{} has no certificate yet ({} is missing): make its request with \
                         `signet ca init-intermediate --pkcs11-key ca=...`, sign it with the \
                         offline root (`signet ca sign-intermediate`) and start with --ca-chain \
                         CHAIN.pem",
                        key.location(),
                        cert.display()
                    ),
                });
            }
        }
        (None, None) => {}
    }
    signet_ca::store::check_not_awaiting_chain(&dir)
        .map_err(|e| DeployError::component("the CA keys", e))
}

/// The CA's signing key over an HSM key (ECDSA P-256 or P-384).
pub(crate) fn ca_signing_key(
    key: &signet_signer::SharedSigner,
) -> Result<signet_ca::SigningKey, DeployError> {
    signet_ca::SigningKey::from_signer(Arc::clone(key)).map_err(|e| DeployError::ServiceKey {
        service: "ca",
        reason: e.to_string(),
    })
}

/// Opens (or, on first start, creates) the TSA keys in `dir` (ECDSA P-256, the Sigstore
/// policy OID): a new certificate starts at `env`'s time, its keys and serial numbers come
/// from `env`'s randomness. Serve it with [`tsa_router`].
///
/// # Errors
/// [`DeployError::Component`] when the key files cannot be read, written or used.
pub fn open_tsa(
    dir: &Path,
    env: &Environment,
) -> Result<signet_tsa::TimestampAuthority, DeployError> {
    open_tsa_with_key(dir, env, None)
}

/// [`open_tsa`]; with `key` (kept in an HSM, ECDSA P-256 or P-384) the TSA signs with it and
/// `dir` holds only its certificate chain ([`signet_tsa::load_or_create_for_signer`]).
///
/// # Errors
/// As [`open_tsa`].
pub fn open_tsa_with_key(
    dir: &Path,
    env: &Environment,
    key: Option<&signet_signer::SharedSigner>,
) -> Result<signet_tsa::TimestampAuthority, DeployError> {
    let keys = match key {
        Some(key) => signet_tsa::load_or_create_for_signer(
            dir,
            env.now_unix(),
            Arc::clone(key),
            env.rng().as_ref(),
        ),
        None => signet_tsa::load_or_create(
            dir,
            env.now_unix(),
            signet_tsa::SigningAlgorithm::EcdsaP256Sha256,
            env.rng().as_ref(),
        ),
    }
    .map_err(|e| DeployError::component("the TSA keys", e))?;
    signet_tsa::TimestampAuthority::new(keys, signet_tsa::SIGSTORE_POLICY)
        .map_err(|e| DeployError::component("the TSA", e))
}

/// The TSA's routes ([`signet_tsa::router`]) on `env`'s clock and randomness.
pub fn tsa_router(tsa: Arc<signet_tsa::TimestampAuthority>, env: &Environment) -> Router {
    signet_tsa::router(tsa, env.clock.clone(), env.randomness.clone())
}

impl CaDeployment {
    /// Opens (or, on first start, creates) the CA keys, the CT log and, if asked, the
    /// development issuer, on the system clock and randomness. Must run inside a tokio runtime
    /// (the CT log sequences in a task).
    ///
    /// # Errors
    /// See [`CaDeployment::open_with`].
    pub async fn open(config: CaDeploymentConfig) -> Result<CaDeployment, DeployError> {
        CaDeployment::open_with(config, Environment::system()).await
    }

    /// [`CaDeployment::open`] with the clock and randomness of `env`.
    ///
    /// # Errors
    /// [`DeployError::MissingKey`] if the CT store exists without its key;
    /// [`DeployError::Component`] if a service does not start; key-file and I/O errors
    /// otherwise.
    pub async fn open_with(
        config: CaDeploymentConfig,
        env: Environment,
    ) -> Result<CaDeployment, DeployError> {
        CaDeployment::open_rotated(config, env, false, &ServiceKeys::new()).await
    }

    /// [`CaDeployment::open_with`], with the keys of `keys` ([`KeyService::Ca`]: the
    /// intermediate, served with the chain of an offline root, see
    /// [`CaDeploymentConfig::ca_chain`]; [`KeyService::Ct`]) in an HSM instead of key files.
    /// Other services' keys in `keys` are ignored.
    ///
    /// # Errors
    /// As [`CaDeployment::open_with`]; [`DeployError::Component`] when the CA's HSM key has
    /// no certificate installed yet.
    pub async fn open_with_keys(
        config: CaDeploymentConfig,
        env: Environment,
        keys: &ServiceKeys,
    ) -> Result<CaDeployment, DeployError> {
        CaDeployment::open_rotated(config, env, false, keys).await
    }

    /// [`CaDeployment::open_with`]; `ct_key_rotated`: the CT log's key was just replaced
    /// (`signet up --rotate ct`), so its log opens over the tree signed by the earlier key
    /// ([`signet_ct::CtLogConfig::key_rotated`]). Otherwise a CT key that does not match the
    /// log refuses to start.
    pub(crate) async fn open_rotated(
        config: CaDeploymentConfig,
        env: Environment,
        ct_key_rotated: bool,
        keys: &ServiceKeys,
    ) -> Result<CaDeployment, DeployError> {
        let now = env.now_unix();
        let base = config.public_url.trim_end_matches('/').to_owned();
        let dir = config.data_dir;
        signet_durable::create_dir_all(&dir).map_err(DeployError::io(&dir))?;

        // CA keys first: the CT log only accepts precertificates from this CA.
        let ca_key = keys.get(KeyService::Ca);
        install_ca_chain_for(&dir, config.ca_chain.as_deref(), ca_key)?;
        let ca_keys = match ca_key {
            Some(key) => {
                signet_ca::store::load_with_intermediate_key(&dir.join("ca"), ca_signing_key(key)?)
            }
            None => signet_ca::store::load_or_create(
                &dir.join("ca"),
                now,
                signet_ca::CaAlgorithm::EcdsaP256,
                env.rng().as_ref(),
            ),
        }
        .map_err(|e| DeployError::component("the CA keys", e))?;
        let ca_chain: Vec<Vec<u8>> = ca_keys.chain().iter().map(|c| c.der().to_vec()).collect();
        let ca_start = ca_keys.intermediate().not_before();

        // CT log.
        let ct_dir = dir.join("ct");
        let ct_hsm_key = keys.get(KeyService::Ct);
        let (ct_key, ct_created) =
            ct_identity(&ct_dir, now, env.rng().as_ref(), ct_hsm_key.is_some())?;
        // A CT log already kept in ct/ must not start over, empty, in the database: the same
        // key would sign two different trees (a fork of the log).
        let ct_redb = ct_dir.join("ct-log.redb");
        if config.database.is_some() && ct_redb.exists() {
            return Err(DeployError::Component {
                what: "the CT log",
                reason: format!(
                    "{} holds this CT log, and --database would start it over, empty, in \
                     PostgreSQL under the same key (a fork of the log); keep serving it without \
                     --database, or start a new deployment",
                    ct_redb.display()
                ),
            });
        }
        let ct_db = match &config.database {
            Some(url) => Some(
                signet_ct::CtDatabase::connect(url)
                    .await
                    .map_err(|e| DeployError::component("the CT log database", e))?,
            ),
            None => None,
        };
        let extra: Arc<dyn signet_ct::ExtraDataStore> = match &ct_db {
            Some(db) => db.extra_data(),
            None => Arc::new(
                signet_ct::RedbExtraDataStore::open(ct_dir.join("ct-extra.redb"))
                    .map_err(|e| DeployError::component("the CT log extra-data store", e))?,
            ),
        };
        let mut ct_config =
            signet_ct::CtLogConfig::new(format!("{}/ct", host_of(&base)), env.clock.clone(), extra);
        ct_config.batch = config.batch;
        ct_config.key_rotated = ct_key_rotated;
        ct_config.roots = ca_chain.last().cloned().into_iter().collect();
        if let Some(lock) = &config.checkpoint_lock {
            signet_durable::create_dir_all(lock).map_err(|source| DeployError::Io {
                path: lock.clone(),
                source,
            })?;
            crate::log::refuse_inside(lock, &dir)?;
            ct_config.guards.push(Arc::new(crate::CheckpointLock::new(
                lock.join(CHECKPOINT_LOCK_CT),
                &ct_config.origin,
            )));
        }
        let ct_signer: signet_signer::SharedSigner =
            match ct_hsm_key {
                Some(key) => Arc::clone(key),
                None => Arc::new(signet_signer::MemorySigner::from_pkcs8(&ct_key).map_err(
                    |e| DeployError::BadKeyFile {
                        path: ct_dir.join(CT_KEY_FILE),
                        reason: e.to_string(),
                    },
                )?),
            };
        let ct = match ct_db {
            Some(db) => {
                let cluster = signet_ct::ClusterConfig {
                    peer_url: config.peer_url.clone().unwrap_or_else(|| base.clone()),
                    first_tree_head_timeout: CT_FIRST_TREE_HEAD_TIMEOUT,
                };
                signet_ct::CtLog::open_clustered(db, ct_signer, ct_config, cluster)
                    .await
                    .map_err(|e| DeployError::component("the CT log", e))?
            }
            None => {
                let ct_store = Arc::new(
                    RedbStore::open(ct_dir.join("ct-log.redb"))
                        .map_err(|e| DeployError::component("the CT log store", e))?,
                );
                Arc::new(
                    signet_ct::CtLog::open(ct_store, ct_signer, ct_config)
                        .await
                        .map_err(|e| DeployError::component("the CT log", e))?,
                )
            }
        };

        // CA.
        let logger: Arc<dyn signet_ca::PrecertLogger> = Arc::new(CtPrecertLogger(ct.clone()));
        let ca = Arc::new(
            signet_ca::CertificateAuthority::new(ca_keys, logger)
                .map_err(|e| DeployError::component("the CA", e))?,
        );

        // OIDC.
        let dev = if config.dev_oidc {
            Some(Arc::new(
                signet_oidc::DevIssuer::load_or_create(
                    &dir.join("oidc"),
                    format!("{base}/oidc"),
                    env.clock.clone(),
                    env.randomness.clone(),
                )
                .map_err(|e| DeployError::component("the development OIDC issuer", e))?,
            ))
        } else {
            None
        };
        // Real issuers first: the first is the one a signing config names, and the
        // development issuer must never be mistaken for the deployment's identity provider.
        let mut issuers = config.oidc_issuers;
        issuers.extend(dev.iter().map(|d| d.issuer_config()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeployError::component("the HTTP client", e))?;
        let verifier = Arc::new(signet_oidc::OidcVerifier::new(issuers.clone(), http));
        let ca_server = Arc::new(signet_ca::CaServer::new(
            ca,
            verifier,
            env.clock.clone(),
            env.randomness.clone(),
        ));

        let authority = TrustedCa {
            subject: Some(DistinguishedName {
                organization: "signet".into(),
                common_name: "signet CA".into(),
            }),
            uri: base.clone(),
            cert_chain: ca_chain,
            valid_for: since(ca_start),
        };
        let ctlog = TransparencyLogInstance {
            base_url: format!("{base}/ct"),
            hash_algorithm: Some(HashAlgorithm::Sha2_256),
            public_key: PublicKey {
                raw_bytes: Some(ct.public_key_spki_der().to_vec()),
                key_details: "PKIX_ECDSA_P256_SHA_256".into(),
                valid_for: since(ct_created),
            },
            log_id: ct.log_id().to_vec(),
            checkpoint_key_id: None,
        };
        Ok(CaDeployment {
            ct,
            ct_public_add: config.ct_public_add,
            ca_server,
            dev,
            issuers,
            authority,
            ctlog,
            ca_start,
            public_url: base,
            data_dir: dir,
        })
    }

    /// The CA API (`/api/v2/signingCert`, `/api/v2/trustBundle`, `/api/v2/configuration`),
    /// the CT log (`/ct/v1/...`, `add-pre-chain` only with
    /// [`CaDeploymentConfig::ct_public_add`]) and, when it runs, the development issuer
    /// (`/oidc/...`).
    pub fn router(&self) -> Router {
        let ct = if self.ct_public_add {
            self.ct.clone().router()
        } else {
            self.ct.clone().read_router()
        };
        let router = Router::new()
            .merge(signet_ca::router(self.ca_server.clone()))
            .merge(ct);
        match &self.dev {
            Some(dev) => router.nest("/oidc", dev.clone().router()),
            None => router,
        }
    }

    /// The CA as a trusted root lists it (`certificateAuthorities`).
    pub fn certificate_authority(&self) -> &TrustedCa {
        &self.authority
    }

    /// The CT log as a trusted root lists it (`ctlogs`).
    pub fn ctlog(&self) -> &TransparencyLogInstance {
        &self.ctlog
    }

    /// A trusted root listing only this CA and its CT log.
    pub fn trusted_root(&self) -> TrustedRoot {
        TrustedRoot {
            media_type: MEDIA_TYPE_V0_1.to_owned(),
            tlogs: Vec::new(),
            certificate_authorities: vec![self.authority.clone()],
            ctlogs: vec![self.ctlog.clone()],
            timestamp_authorities: Vec::new(),
        }
    }

    /// Writes [`CaDeployment::trusted_root`] to `trusted_root.json` in the data directory (what
    /// `signet serve ca` publishes; a whole [`crate::Deployment`] writes its own) and returns
    /// where.
    ///
    /// # Errors
    /// [`DeployError::Io`] naming the file.
    pub fn write_trusted_root(&self) -> Result<PathBuf, DeployError> {
        let path = self.data_dir.join(crate::TRUSTED_ROOT_JSON);
        write_public(
            &path,
            (self.trusted_root().to_json_pretty() + "\n").as_bytes(),
        )?;
        Ok(path)
    }

    /// The issuers the CA accepts tokens from, in configuration order, the development issuer
    /// (when it runs) last.
    pub fn issuers(&self) -> &[signet_oidc::IssuerConfig] {
        &self.issuers
    }

    /// When the CA's intermediate certificate starts being valid (Unix seconds).
    pub fn ca_start(&self) -> i64 {
        self.ca_start
    }

    /// The base URL (without a trailing `/`).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The development issuer's URL, when it runs.
    pub fn dev_issuer_url(&self) -> Option<String> {
        self.dev.as_ref().map(|d| d.issuer_url().to_owned())
    }

    /// Stops the CT log's batcher after the last answer.
    pub async fn shutdown(self) {
        self.ct.shutdown().await;
    }
}
