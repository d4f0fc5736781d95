//! A whole private Sigstore in one process (`signet up`): the Rekor v1 and v2 logs, the
//! Fulcio-compatible CA with its CT log, the RFC 3161 TSA and, when asked, the development
//! OIDC issuer, all on one base URL (their API paths do not collide), plus the trust files
//! clients need.
//!
//! Data directory layout (every private key mode 0600, created on first start):
//!
//! | path | what |
//! |---|---|
//! | `log/` | the transparency logs (see [`crate::log`]) |
//! | `ca/` | CA root and intermediate keys and certificates; with the root kept offline, no root key (see [`DeploymentConfig::ca_chain`]), and the next intermediate in `ca/pending/` until it rotates in |
//! | `ct/` | the CT log's key (`ct-signing.key`), creation time, redb stores |
//! | `tsa/` | the TSA's key and certificate chain |
//! | `oidc/` | the development issuer's key |
//! | `trusted_root.json`, `signing_config.json`, `trust_config.json` | the trust files |
//! | `retired_trust.json` | the trusted-root entries of rotated keys (see [`crate::rotation`]) |
//! | `log/retired/`, `ct/retired/`, `tsa/retired/`, `ca/retired/` | rotated key files, one `<unix-seconds>/` directory per rotation |
//!
//! The trust files are recomputed from the keys (and the retired entries) on every start.
//! When they differ from the ones already on disk (a key was replaced or lost and regenerated,
//! or the public URL changed), the deployment refuses to start rather than sign with an
//! identity clients do not trust. The one accepted change is a rotation asked for with
//! [`DeploymentConfig::rotate`]: the rotated services' old entries end, new ones start, and
//! nothing else may differ. The trust files are also served at `/trusted_root.json`,
//! `/signing_config.json` and `/trust_config.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use signet_formats::client_trust_config::{
    ClientTrustConfig, MEDIA_TYPE_V0_1 as TRUST_CONFIG_V0_1,
};
use signet_formats::signing_config::{
    MEDIA_TYPE_V0_2 as SIGNING_CONFIG_V0_2, Selector, Service, ServiceConfiguration, SigningConfig,
};
use signet_formats::trust::{
    CertificateAuthority as TrustedCa, DistinguishedName, TimeRange, TrustedRoot,
};
use signet_log::BatcherConfig;

use crate::DeployError;
use crate::ca::{CaDeployment, CaDeploymentConfig, host_of, since};
use crate::environment::Environment;
use crate::files::{read_optional, write_public};
use crate::keys::{KeyService, ServiceKeys};
use crate::log::{LogServerConfig, open_log_server_with_keys};
use crate::rotation::{RotateService, Rotation};
use signet_server::LogServer;

/// The trusted root's file name.
pub const TRUSTED_ROOT_JSON: &str = "trusted_root.json";
/// The signing config's file name.
pub const SIGNING_CONFIG_JSON: &str = "signing_config.json";
/// The client trust config's file name.
pub const TRUST_CONFIG_JSON: &str = "trust_config.json";

/// How to run a [`Deployment`].
#[derive(Debug, Clone)]
pub struct DeploymentConfig {
    /// The data directory (see the module docs).
    pub data_dir: PathBuf,
    /// The base URL clients use, e.g. `http://127.0.0.1:3000`.
    pub public_url: String,
    /// Keep the transparency logs and the CA's CT log in this PostgreSQL database instead of
    /// redb. Any number of replicas may share it (see [`crate::log`] and
    /// [`signet_ct::cluster`]): their data directories must hold the same keys.
    pub database: Option<String>,
    /// With `database`: the URL the other replicas reach this one at directly (not a load
    /// balancer), to forward log entries and precertificates to it when it sequences.
    /// Default: the public URL, which suits a single server.
    pub peer_url: Option<String>,
    /// Run the development OIDC issuer at `<public_url>/oidc` and trust it (after every issuer
    /// of `oidc_issuers`). [`DevOidcDefault`] says when `signet up` turns it on by itself.
    pub dev_oidc: bool,
    /// Further OIDC issuers the CA accepts tokens from. The first one is the signing config's
    /// identity provider.
    pub oidc_issuers: Vec<signet_oidc::IssuerConfig>,
    /// How log entries are batched.
    pub batch: BatcherConfig,
    /// Serve the CT log's `POST /ct/v1/add-pre-chain` to anyone (see
    /// [`CaDeploymentConfig::ct_public_add`]; off by default, the CA logs in process).
    pub ct_public_add: bool,
    /// Bytes the transparency logs' caches may hold together (see
    /// [`LogServerConfig::cache_bytes`]); normally [`signet_server::DEFAULT_CACHE_BYTES`].
    pub cache_bytes: usize,
    /// With `database`: how old a replica's copy of a log's checkpoint may get while another
    /// sequences (see [`LogServerConfig::follower_max_staleness`]); normally
    /// [`signet_server::FOLLOWER_MAX_STALENESS`].
    pub follower_max_staleness: std::time::Duration,
    /// Replace these services' signing keys at this start (`signet up --rotate`; see
    /// [`crate::rotation`]). Empty: keys as they are.
    pub rotate: Vec<RotateService>,
    /// How long the TUF metadata served under `/tuf/` is valid once signed (see
    /// [`crate::tuf`]).
    pub tuf_expiries: signet_tuf::repo::Expiries,
    /// What must accept the transparency logs' checkpoints before they are published
    /// (witnesses, a checkpoint lock). Default: nothing.
    pub log_guards: crate::log::LogGuardConfig,
    /// The CA chain signed by an offline root, installed at start (see
    /// [`CaDeploymentConfig::ca_chain`]); with [`RotateService::Ca`] in `rotate`, the next
    /// intermediate's chain (see [`crate::rotation`]). Default: none.
    pub ca_chain: Option<PathBuf>,
}

/// Whether the development OIDC issuer runs when neither `--dev-oidc` nor `--no-dev-oidc` is
/// given, and why. It hands a token for any identity to anyone who reaches it, so it runs by
/// itself only where nobody else can reach it and nothing real is at stake: the listen address
/// and the public URL are both loopback, and no real issuer is configured. Behind a proxy on
/// the same host the listen address is loopback but the public URL is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevOidcDefault {
    /// On: loopback listen address and public URL, no other issuer.
    On,
    /// Off: a real issuer is configured.
    OffRealIssuer,
    /// Off: the listen address is not loopback.
    OffListenAddress,
    /// Off: the public URL's host is not loopback (or the URL does not parse).
    OffPublicUrl,
}

impl DevOidcDefault {
    /// The choice for a server listening on `listen`, reached at `public_url`, with
    /// `real_issuers` other issuers configured.
    #[must_use]
    pub fn decide(listen: std::net::IpAddr, public_url: &str, real_issuers: usize) -> Self {
        if real_issuers > 0 {
            DevOidcDefault::OffRealIssuer
        } else if !listen.is_loopback() {
            DevOidcDefault::OffListenAddress
        } else if !is_loopback_url(public_url) {
            DevOidcDefault::OffPublicUrl
        } else {
            DevOidcDefault::On
        }
    }

    /// Whether the issuer runs.
    #[must_use]
    pub fn is_on(self) -> bool {
        self == DevOidcDefault::On
    }
}

/// Whether `url`'s host is a loopback address or `localhost`. A URL that does not parse is
/// not loopback.
#[must_use]
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The trust files of a deployment, as written and served.
#[derive(Debug, Clone)]
pub struct TrustFiles {
    /// `trusted_root.json`.
    pub trusted_root: String,
    /// `signing_config.json`.
    pub signing_config: String,
    /// `trust_config.json`.
    pub trust_config: String,
}

/// A running private Sigstore. See the module docs.
pub struct Deployment {
    log: LogServer,
    ca: CaDeployment,
    tsa: Arc<signet_tsa::TimestampAuthority>,
    tuf: crate::tuf::TufService,
    /// The clock and randomness the TSA's routes are served on.
    env: Environment,
    files: Arc<TrustFiles>,
    data_dir: PathBuf,
    public_url: String,
    rotations: Vec<Rotation>,
    /// Other origins whose logs the explorer's pages may read ([`Deployment::explorer_connect`]).
    explorer_connect: Vec<String>,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// Opens (or, on first start, creates) every service of the deployment, on the system
    /// clock and randomness. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// See [`Deployment::open_with`].
    pub async fn open(config: DeploymentConfig) -> Result<Deployment, DeployError> {
        Deployment::open_with(config, Environment::system()).await
    }

    /// [`Deployment::open`] with the clock and randomness of `env`, which every service gets.
    ///
    /// # Errors
    /// [`DeployError::TrustChanged`] if a trust file on disk differs from the computed one
    /// (other than by the rotations asked for); the rotation errors of
    /// [`crate::rotation`] ([`DeployError::RotationInterrupted`] and others); whatever
    /// opening the log server ([`crate::open_log_server`]), the CA ([`CaDeployment::open`]) or
    /// the TSA ([`crate::open_tsa`]) returns.
    pub async fn open_with(
        config: DeploymentConfig,
        env: Environment,
    ) -> Result<Deployment, DeployError> {
        Deployment::open_with_keys(config, env, ServiceKeys::new()).await
    }

    /// [`Deployment::open_with`], with the services' keys of `keys` kept outside the data
    /// directory (in an HSM; see [`crate::keys`]): for those no key file is read or created.
    /// A CA key there serves with the chain of an offline root
    /// ([`DeploymentConfig::ca_chain`]).
    ///
    /// # Errors
    /// As [`Deployment::open_with`]; [`DeployError::RotationUnsupported`] for `--rotate` of a
    /// service whose key is in `keys` (an HSM key is replaced in the HSM, not here; the CA's
    /// key there, with [`DeploymentConfig::ca_chain`], is the next intermediate's);
    /// [`DeployError::ServiceKey`] for a key of a service `signet up` does not run.
    pub async fn open_with_keys(
        config: DeploymentConfig,
        env: Environment,
        keys: ServiceKeys,
    ) -> Result<Deployment, DeployError> {
        keys.only(KeyService::UP)?;
        for service in &config.rotate {
            let key = match service {
                RotateService::RekorV1 => KeyService::RekorV1,
                RotateService::RekorV2 => KeyService::RekorV2,
                RotateService::Ct => KeyService::Ct,
                RotateService::Tsa => KeyService::Tsa,
                RotateService::Ca => KeyService::Ca,
            };
            // The CA's next intermediate may be an HSM key: it comes with its chain.
            let new_intermediate = *service == RotateService::Ca && config.ca_chain.is_some();
            if keys.get(key).is_some() && !new_intermediate {
                return Err(DeployError::RotationUnsupported {
                    service: *service,
                    reason: "its key is in an HSM (--pkcs11-key); rotation makes key files",
                });
            }
        }
        let now = env.now_unix();
        let base = config.public_url.trim_end_matches('/').to_owned();
        let dir = config.data_dir.clone();
        signet_durable::create_dir_all(&dir).map_err(DeployError::io(&dir))?;

        // With --rotate ca, a chain is the next intermediate's, under the same offline root
        // (its key pending in `ca/pending/`, or in the HSM as `ca`).
        let new_intermediate = match &config.ca_chain {
            Some(chain) if config.rotate.contains(&RotateService::Ca) => {
                Some(crate::rotation::NewIntermediate {
                    chain,
                    key: keys
                        .get(KeyService::Ca)
                        .map(crate::ca::ca_signing_key)
                        .transpose()?,
                })
            }
            _ => None,
        };
        // Rotations (steps 1–3 of `crate::rotation`) before any service opens its keys.
        let retired = crate::rotation::prepare(
            &dir,
            &base,
            &config.rotate,
            now,
            config.database.is_some(),
            env.rng().as_ref(),
            new_intermediate.as_ref(),
        )?;

        // The CA chain of an offline root, before anything opens.
        crate::ca::install_ca_chain_for(
            &dir,
            config.ca_chain.as_deref(),
            keys.get(KeyService::Ca),
        )?;

        // Transparency logs.
        let mut log_config = LogServerConfig::new(dir.join("log"), base.clone());
        log_config.database = config.database.clone();
        log_config.peer_url = config.peer_url.clone();
        log_config.batch = config.batch;
        log_config.cache_bytes = config.cache_bytes;
        log_config.follower_max_staleness = config.follower_max_staleness;
        log_config.retired_v1 = crate::rotation::retired_v1_keys(&dir, &retired)?;
        if let Some(lock) = &config.log_guards.checkpoint_lock {
            signet_durable::create_dir_all(lock).map_err(|source| DeployError::Io {
                path: lock.clone(),
                source,
            })?;
            crate::log::refuse_inside(lock, &dir)?;
        }
        log_config.guards = config.log_guards.clone();
        let log = open_log_server_with_keys(log_config, env.clone(), &keys).await?;

        // CA, its CT log and the development issuer.
        let ca = CaDeployment::open_rotated(
            CaDeploymentConfig {
                data_dir: dir.clone(),
                public_url: base.clone(),
                oidc_issuers: config.oidc_issuers.clone(),
                dev_oidc: config.dev_oidc,
                batch: config.batch,
                ct_public_add: config.ct_public_add,
                checkpoint_lock: config.log_guards.checkpoint_lock.clone(),
                ca_chain: config.ca_chain.clone(),
                database: config.database.clone(),
                peer_url: config.peer_url.clone(),
            },
            env.clone(),
            retired
                .rotations
                .iter()
                .any(|r| r.service == RotateService::Ct),
            &keys,
        )
        .await;
        let ca = match ca {
            Ok(ca) => ca,
            Err(e) => {
                log.shutdown().await;
                return Err(e);
            }
        };
        // The rest opens nothing that needs stopping; on an error the logs stop before it is
        // returned, so that the data directory can be opened again at once.
        let finished = (|| {
            let tsa_key = keys.get(KeyService::Tsa);
            let (tsa, files) = Deployment::finish_trust_files(
                &dir, &base, now, &env, &log, &ca, &retired, tsa_key,
            )?;
            if retired.rotations.is_empty() {
                check_trust_files(&dir, &files.files)?;
            } else {
                rewrite_rotated_trust_files(&dir, &files.files, &files.root, &retired.rotations)?;
            }
            Ok((tsa, files.files))
        })();
        let (tsa, files) = match finished {
            Ok(done) => done,
            Err(e) => {
                ca.shutdown().await;
                log.shutdown().await;
                return Err(e);
            }
        };
        // The TUF repository publishes the trust files just written (a new targets version
        // when they changed, as after a rotation).
        let tuf = crate::tuf::TufService::open_with_keys(
            &dir,
            config.database.as_deref(),
            files.trusted_root.as_bytes(),
            files.signing_config.as_bytes(),
            config.tuf_expiries,
            &env,
            &keys.tuf_roles(),
        )
        .await;
        let tuf = match tuf {
            Ok(tuf) => tuf,
            Err(e) => {
                ca.shutdown().await;
                log.shutdown().await;
                return Err(e);
            }
        };
        Ok(Deployment {
            log,
            ca,
            tsa,
            tuf,
            env,
            files: Arc::new(files),
            data_dir: dir,
            public_url: base,
            rotations: retired.rotations,
            explorer_connect: Vec::new(),
        })
    }

    /// Opens the TSA (with its HSM key `tsa_key`, when given) and computes the trust files of
    /// the opened services (the retired entries included).
    #[allow(clippy::too_many_arguments)] // One caller, which holds them all.
    fn finish_trust_files(
        dir: &Path,
        base: &str,
        now: i64,
        env: &Environment,
        log: &LogServer,
        ca: &CaDeployment,
        retired: &crate::rotation::Retired,
        tsa_key: Option<&signet_signer::SharedSigner>,
    ) -> Result<(Arc<signet_tsa::TimestampAuthority>, ComputedTrust), DeployError> {
        let base = base.to_owned();
        let ca_start = ca.ca_start();
        let issuers = ca.issuers();

        // TSA.
        let tsa = Arc::new(crate::ca::open_tsa_with_key(
            &dir.join("tsa"),
            env,
            tsa_key,
        )?);

        // Trust files.
        let mut current: TrustedRoot = log.trusted_root().clone();
        current.certificate_authorities = vec![ca.certificate_authority().clone()];
        current.ctlogs = vec![ca.ctlog().clone()];
        let tsa_chain: Vec<Vec<u8>> = tsa
            .keys()
            .chain()
            .iter()
            .map(|c| c.der().to_vec())
            .collect();
        let tsa_start = tsa.keys().chain().first().map_or(now, |c| c.not_before());
        current.timestamp_authorities = vec![TrustedCa {
            subject: Some(DistinguishedName {
                organization: "signet".into(),
                common_name: "signet TSA".into(),
            }),
            uri: format!("{base}/api/v1/timestamp"),
            cert_chain: tsa_chain,
            valid_for: since(tsa_start),
        }];
        let root = crate::rotation::with_retired(&current, retired);
        // A service is valid from its first key on: a rotation changes keys, not services.
        let first_start = |ranges: &mut dyn Iterator<Item = Option<TimeRange>>, or: i64| {
            ranges
                .filter_map(|v| v.and_then(|v| v.start))
                .map(|t| t.seconds)
                .min()
                .unwrap_or(or)
        };
        let log_start = first_start(&mut root.tlogs.iter().map(|t| t.public_key.valid_for), now);
        let ca_start = first_start(
            &mut root.certificate_authorities.iter().map(|c| c.valid_for),
            ca_start,
        );
        let tsa_start = first_start(
            &mut root.timestamp_authorities.iter().map(|c| c.valid_for),
            tsa_start,
        );
        let operator = host_of(&base);
        let service = |url: String, version: u32, start: i64| Service {
            url,
            major_api_version: version,
            valid_for: since(start),
            operator: operator.clone(),
        };
        // The CA lists the development issuer last: with a real issuer, the real one is the
        // identity provider clients log in with. A meta issuer (a URL pattern) is not a URL a
        // client can log in at, so it is never offered.
        let oidc_urls: Vec<Service> = issuers
            .iter()
            .find(|i| !i.is_meta())
            .map(|i| service(i.issuer_url.clone(), 1, ca_start))
            .into_iter()
            .collect();
        let signing = SigningConfig {
            media_type: SIGNING_CONFIG_V0_2.into(),
            ca_urls: vec![service(base.clone(), 1, ca_start)],
            oidc_urls,
            // Same operator: clients that speak Rekor v2 pick it, older ones fall back to v1.
            rekor_tlog_urls: vec![
                service(base.clone(), 2, log_start),
                service(base.clone(), 1, log_start),
            ],
            tsa_urls: vec![service(format!("{base}/api/v1/timestamp"), 1, tsa_start)],
            rekor_tlog_config: Some(ServiceConfiguration {
                selector: Selector::Any,
                count: 0,
            }),
            tsa_config: Some(ServiceConfiguration {
                selector: Selector::Any,
                count: 0,
            }),
        };
        let trust_config = ClientTrustConfig {
            media_type: TRUST_CONFIG_V0_1.into(),
            trusted_root: root.clone(),
            signing_config: signing.clone(),
        };
        let files = TrustFiles {
            trusted_root: root.to_json_pretty() + "\n",
            signing_config: signing.to_json_pretty() + "\n",
            trust_config: trust_config.to_json_pretty() + "\n",
        };
        Ok((tsa, ComputedTrust { files, root }))
    }

    /// Every API of the deployment on one router.
    pub fn router(&self) -> Router {
        let files = self.files.clone();
        let f1 = files.clone();
        let f2 = files.clone();
        let json = |body: String| ([(header::CONTENT_TYPE, "application/json")], body);
        let router = Router::new()
            .route(
                "/trusted_root.json",
                get(move || {
                    let body = f1.trusted_root.clone();
                    async move { json(body) }
                }),
            )
            .route(
                "/signing_config.json",
                get(move || {
                    let body = f2.signing_config.clone();
                    async move { json(body) }
                }),
            )
            .route(
                "/trust_config.json",
                get(move || {
                    let body = files.trust_config.clone();
                    async move { json(body) }
                }),
            )
            // Public files: pages of other origins (an explorer elsewhere) may read them.
            .layer(axum::middleware::from_fn(signet_server::cors))
            .merge(self.ca.router())
            .merge(crate::ca::tsa_router(self.tsa.clone(), &self.env))
            .merge(self.tuf.router())
            .merge(crate::explorer::up_router(
                &self.ca,
                &self.public_url,
                &self.explorer_connect,
            ));
        router.merge(self.log.router())
    }

    /// The trust files.
    pub fn trust_files(&self) -> &TrustFiles {
        &self.files
    }

    /// The keys replaced at this start ([`DeploymentConfig::rotate`]), in the order of
    /// [`RotateService::ALL`].
    pub fn rotations(&self) -> &[Rotation] {
        &self.rotations
    }

    /// Where the trust files are.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The development issuer's URL, when it runs.
    pub fn dev_issuer_url(&self) -> Option<String> {
        self.ca.dev_issuer_url()
    }

    /// Lets the explorer's pages read the logs of these other origins (`?log=`), e.g.
    /// `https://rekor.example.org`: they join the pages' Content-Security-Policy `connect-src`.
    /// Origins that are not bare `http(s)://host[:port]` are dropped.
    #[must_use]
    pub fn explorer_connect(mut self, origins: Vec<String>) -> Self {
        self.explorer_connect = origins;
        self
    }

    /// The Rekor v2 log's C2SP verifier key (also in `log/rekor-v2.vkey`): what its witnesses
    /// are configured with.
    pub fn rekor_v2_vkey(&self) -> Result<String, DeployError> {
        crate::log::rekor_v2_vkey(&self.log)
    }

    /// The TUF repository's base URL: `<public URL>/tuf`.
    pub fn tuf_url(&self) -> String {
        format!("{}/tuf", self.public_url)
    }

    /// Stops the logs' batchers after the last answer.
    pub async fn shutdown(self) {
        self.tuf.shutdown().await;
        self.ca.shutdown().await;
        self.log.shutdown().await;
    }
}

/// The trust files computed at a start, and the trusted root they hold.
struct ComputedTrust {
    files: TrustFiles,
    root: TrustedRoot,
}

/// The trust files in the order they are written: the trusted root last, so that until it is
/// written a rotation counts as unfinished (see [`crate::rotation`]).
fn in_write_order(files: &TrustFiles) -> [(&'static str, &String); 3] {
    [
        (TRUST_CONFIG_JSON, &files.trust_config),
        (SIGNING_CONFIG_JSON, &files.signing_config),
        (TRUSTED_ROOT_JSON, &files.trusted_root),
    ]
}

/// Without a rotation: writes the trust files that are missing, and refuses if one on disk
/// differs.
fn check_trust_files(dir: &Path, files: &TrustFiles) -> Result<(), DeployError> {
    // Checked in the reverse order: a change is reported on the trusted root first.
    for (name, content) in in_write_order(files).into_iter().rev() {
        let path = dir.join(name);
        if read_optional(&path)?.is_some_and(|existing| existing != content.as_bytes()) {
            return Err(DeployError::TrustChanged { path });
        }
    }
    for (name, content) in in_write_order(files) {
        let path = dir.join(name);
        if read_optional(&path)?.is_none() {
            write_public(&path, content.as_bytes())?;
        }
    }
    Ok(())
}

/// After a rotation (step 4 of [`crate::rotation`]): checks that the trusted root differs from
/// the one on disk by the rotations only and that the signing config is the same, then
/// rewrites the trust files.
fn rewrite_rotated_trust_files(
    dir: &Path,
    files: &TrustFiles,
    root: &TrustedRoot,
    rotations: &[Rotation],
) -> Result<(), DeployError> {
    let root_path = dir.join(TRUSTED_ROOT_JSON);
    let old = read_optional(&root_path)?
        .map(|data| TrustedRoot::from_json(&data))
        .transpose()
        .map_err(|e| DeployError::BadTrustFile {
            path: root_path.clone(),
            reason: e.to_string(),
        })?;
    if !old.is_some_and(|old| crate::rotation::only_rotated(&old, root, rotations)) {
        return Err(DeployError::TrustChanged { path: root_path });
    }
    let signing_path = dir.join(SIGNING_CONFIG_JSON);
    if read_optional(&signing_path)?
        .is_some_and(|existing| existing != files.signing_config.as_bytes())
    {
        return Err(DeployError::TrustChanged { path: signing_path });
    }
    for (name, content) in in_write_order(files) {
        write_public(&dir.join(name), content.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn loopback_urls() {
        for url in [
            "http://127.0.0.1:3000",
            "http://127.0.0.2/",
            "http://[::1]:3000",
            "http://localhost:3000",
            "https://LOCALHOST",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://sigstore.example.internal",
            "http://10.0.0.1:3000",
            "http://0.0.0.0:3000",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "127.0.0.1:3000",
            "not a url",
            "",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn the_dev_issuer_runs_by_default_only_when_nobody_else_can_reach_it() {
        use DevOidcDefault::*;
        let local = "http://127.0.0.1:3000";
        assert_eq!(DevOidcDefault::decide(LOOPBACK, local, 0), On);
        assert_eq!(
            DevOidcDefault::decide(IpAddr::V6(Ipv6Addr::LOCALHOST), "http://[::1]:1", 0),
            On
        );
        // Behind a proxy on the same host: loopback listen, public URL elsewhere.
        assert_eq!(
            DevOidcDefault::decide(LOOPBACK, "https://sigstore.example.internal", 0),
            OffPublicUrl
        );
        assert_eq!(
            DevOidcDefault::decide(IpAddr::V4(Ipv4Addr::UNSPECIFIED), local, 0),
            OffListenAddress
        );
        assert_eq!(DevOidcDefault::decide(LOOPBACK, local, 1), OffRealIssuer);
        assert!(On.is_on());
        for off in [OffRealIssuer, OffListenAddress, OffPublicUrl] {
            assert!(!off.is_on());
        }
    }
}
