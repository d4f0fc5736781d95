//! A whole private Sigstore in one process (`signet up`): the Rekor v1 and v2 logs, the
//! Fulcio-compatible CA with its CT log, the RFC 3161 TSA and, when asked, the development
//! OIDC issuer, all on one base URL (their API paths do not collide), plus the trust files
//! clients need.
//!
//! Data directory layout (every private key mode 0600, created on first start):
//!
//! | path | what |
//! |---|---|
//! | `log/` | the transparency logs ([`crate::LogServer`]'s data directory) |
//! | `ca/` | CA root and intermediate keys and certificates |
//! | `ct/` | the CT log's key (`ct-signing.key`), creation time, redb stores |
//! | `tsa/` | the TSA's key and certificate chain |
//! | `oidc/` | the development issuer's key |
//! | `trusted_root.json`, `signing_config.json`, `trust_config.json` | the trust files |
//!
//! The trust files are recomputed from the keys on every start. When they differ from the
//! ones already on disk (a key was replaced or lost and regenerated, or the public URL
//! changed), the deployment refuses to start rather than sign with an identity clients do not
//! trust. They are also served at `/trusted_root.json`, `/signing_config.json` and
//! `/trust_config.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
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
    CertificateAuthority as TrustedCa, DistinguishedName, PublicKey, TimeRange,
    TransparencyLogInstance, TrustedRoot,
};
use signet_formats::{HashAlgorithm, Timestamp};
use signet_log::{BatcherConfig, RedbStore};

use crate::keys::{io, read_optional, write_secret};
use crate::{LogServer, LogServerConfig, ServerError};

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
    /// Keep the transparency logs in this PostgreSQL database instead of redb. (The CT log
    /// stays in the data directory.)
    pub database: Option<String>,
    /// Run the development OIDC issuer at `<public_url>/oidc` and trust it.
    pub dev_oidc: bool,
    /// Further OIDC issuers the CA accepts tokens from.
    pub oidc_issuers: Vec<signet_oidc::IssuerConfig>,
    /// How log entries are batched.
    pub batch: BatcherConfig,
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
    ct: Arc<signet_ct::CtLog>,
    ca_server: Arc<signet_ca::CaServer>,
    tsa: Arc<signet_tsa::TimestampAuthority>,
    dev: Option<Arc<signet_oidc::DevIssuer>>,
    files: Arc<TrustFiles>,
    data_dir: PathBuf,
    public_url: String,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn fail(what: &'static str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Component {
        what,
        reason: e.to_string(),
    }
}

fn since(seconds: i64) -> Option<TimeRange> {
    Some(TimeRange {
        start: Some(Timestamp::from_unix_seconds(seconds)),
        end: None,
    })
}

/// The CT log's signing key and creation time, created on first start. A CT store without
/// its key refuses to start.
fn ct_identity(dir: &Path, now: i64) -> Result<(Vec<u8>, i64), ServerError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let key_path = dir.join("ct-signing.key");
    let created_path = dir.join("created");
    let store = dir.join("ct-log.redb");
    for needed in [&key_path, &created_path] {
        if store.exists() && !needed.exists() {
            return Err(ServerError::MissingKey {
                store: store.clone(),
                missing: needed.clone(),
            });
        }
    }
    let key = match read_optional(&key_path)? {
        Some(data) => data,
        None => {
            let doc =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                    .map_err(|_| ServerError::KeyGeneration {
                        what: "the CT log key",
                    })?;
            write_secret(&key_path, doc.as_ref())?;
            doc.as_ref().to_vec()
        }
    };
    let created = match read_optional(&created_path)? {
        Some(data) => std::str::from_utf8(&data)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| ServerError::BadKeyFile {
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

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

impl Deployment {
    /// Opens (or, on first start, creates) every service of the deployment.
    pub async fn open(config: DeploymentConfig) -> Result<Deployment, ServerError> {
        let now = now_unix();
        let base = config.public_url.trim_end_matches('/').to_owned();
        let dir = config.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;

        // Transparency logs.
        let mut log_config = LogServerConfig::new(dir.join("log"), base.clone());
        log_config.database = config.database.clone();
        log_config.batch = config.batch;
        let log = LogServer::open(log_config).await?;

        // CA keys first: the CT log only accepts precertificates from this CA.
        let ca_keys = signet_ca::store::load_or_create(
            &dir.join("ca"),
            now,
            signet_ca::CaAlgorithm::EcdsaP256,
        )
        .map_err(|e| fail("the CA keys", e))?;
        let ca_chain: Vec<Vec<u8>> = ca_keys.chain().iter().map(|c| c.der().to_vec()).collect();
        let ca_start = ca_keys.intermediate().not_before();

        // CT log.
        let ct_dir = dir.join("ct");
        let (ct_key, ct_created) = ct_identity(&ct_dir, now)?;
        let ct_store = Arc::new(
            RedbStore::open(ct_dir.join("ct-log.redb")).map_err(|e| fail("the CT log store", e))?,
        );
        let extra = Arc::new(
            signet_ct::RedbExtraDataStore::open(ct_dir.join("ct-extra.redb"))
                .map_err(|e| fail("the CT log extra-data store", e))?,
        );
        let mut ct_config = signet_ct::CtLogConfig::new(
            format!("{}/ct", host_of(&base)),
            Arc::new(signet_ct::system_clock_ms),
            extra,
        );
        ct_config.batch = config.batch;
        ct_config.roots = ca_chain.last().cloned().into_iter().collect();
        let ct = Arc::new(
            signet_ct::CtLog::open(ct_store, &ct_key, ct_config)
                .await
                .map_err(|e| fail("the CT log", e))?,
        );

        // CA.
        let logger: Arc<dyn signet_ca::PrecertLogger> = ct.clone();
        let ca = Arc::new(
            signet_ca::CertificateAuthority::new(ca_keys, logger).map_err(|e| fail("the CA", e))?,
        );

        // TSA.
        let tsa_keys = signet_tsa::load_or_create(
            &dir.join("tsa"),
            now,
            signet_tsa::SigningAlgorithm::EcdsaP256Sha256,
        )
        .map_err(|e| fail("the TSA keys", e))?;
        let tsa = Arc::new(
            signet_tsa::TimestampAuthority::new(tsa_keys, signet_tsa::SIGSTORE_POLICY)
                .map_err(|e| fail("the TSA", e))?,
        );

        // OIDC.
        let dev = if config.dev_oidc {
            Some(Arc::new(
                signet_oidc::DevIssuer::load_or_create(&dir.join("oidc"), format!("{base}/oidc"))
                    .map_err(|e| fail("the development OIDC issuer", e))?,
            ))
        } else {
            None
        };
        let mut issuers: Vec<signet_oidc::IssuerConfig> =
            dev.iter().map(|d| d.issuer_config()).collect();
        issuers.extend(config.oidc_issuers.iter().cloned());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| fail("the HTTP client", e))?;
        let verifier = Arc::new(signet_oidc::OidcVerifier::new(issuers.clone(), http));
        let ca_server = Arc::new(signet_ca::CaServer::new(ca, verifier));

        // Trust files.
        let mut root: TrustedRoot = log.trusted_root().clone();
        root.certificate_authorities = vec![TrustedCa {
            subject: Some(DistinguishedName {
                organization: "signet".into(),
                common_name: "signet CA".into(),
            }),
            uri: base.clone(),
            cert_chain: ca_chain.clone(),
            valid_for: since(ca_start),
        }];
        root.ctlogs = vec![TransparencyLogInstance {
            base_url: format!("{base}/ct"),
            hash_algorithm: Some(HashAlgorithm::Sha2_256),
            public_key: PublicKey {
                raw_bytes: Some(ct.public_key_spki_der().to_vec()),
                key_details: "PKIX_ECDSA_P256_SHA_256".into(),
                valid_for: since(ct_created),
            },
            log_id: ct.log_id().to_vec(),
            checkpoint_key_id: None,
        }];
        let tsa_chain: Vec<Vec<u8>> = tsa
            .keys()
            .chain()
            .iter()
            .map(|c| c.der().to_vec())
            .collect();
        let tsa_start = tsa.keys().chain().first().map_or(now, |c| c.not_before());
        root.timestamp_authorities = vec![TrustedCa {
            subject: Some(DistinguishedName {
                organization: "signet".into(),
                common_name: "signet TSA".into(),
            }),
            uri: format!("{base}/api/v1/timestamp"),
            cert_chain: tsa_chain,
            valid_for: since(tsa_start),
        }];
        let log_start = root
            .tlogs
            .iter()
            .filter_map(|t| t.public_key.valid_for.and_then(|v| v.start))
            .map(|t| t.seconds)
            .min()
            .unwrap_or(now);
        let operator = host_of(&base);
        let service = |url: String, version: u32, start: i64| Service {
            url,
            major_api_version: version,
            valid_for: since(start),
            operator: operator.clone(),
        };
        let oidc_urls: Vec<Service> = issuers
            .first()
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
        for (name, content) in [
            (TRUSTED_ROOT_JSON, &files.trusted_root),
            (SIGNING_CONFIG_JSON, &files.signing_config),
            (TRUST_CONFIG_JSON, &files.trust_config),
        ] {
            let path = dir.join(name);
            match read_optional(&path)? {
                Some(existing) if existing != content.as_bytes() => {
                    return Err(ServerError::TrustChanged { path });
                }
                Some(_) => {}
                None => write_public(&path, content.as_bytes())?,
            }
        }
        Ok(Deployment {
            log,
            ct,
            ca_server,
            tsa,
            dev,
            files: Arc::new(files),
            data_dir: dir,
            public_url: base,
        })
    }

    /// Every API of the deployment on one router.
    pub fn router(&self) -> Router {
        let files = self.files.clone();
        let f1 = files.clone();
        let f2 = files.clone();
        let json = |body: String| ([(header::CONTENT_TYPE, "application/json")], body);
        let mut router = Router::new()
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
            .merge(signet_ca::router(self.ca_server.clone()))
            .merge(self.ct.clone().router())
            .merge(signet_tsa::router(self.tsa.clone()));
        if let Some(dev) = &self.dev {
            router = router.nest("/oidc", dev.clone().router());
        }
        router.merge(self.log.router())
    }

    /// The trust files.
    pub fn trust_files(&self) -> &TrustFiles {
        &self.files
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
        self.dev.as_ref().map(|d| d.issuer_url().to_owned())
    }

    /// Stops the logs' batchers after the last answer.
    pub async fn shutdown(self) {
        self.ct.shutdown().await;
        self.log.shutdown().await;
    }
}

/// Writes a public file (mode 0644) durably: temporary file, fsync, rename.
fn write_public(path: &Path, data: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(data).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))
}
