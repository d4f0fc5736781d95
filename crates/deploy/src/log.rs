//! The transparency log server (Rekor v1 and v2, [`signet_server::LogServer`]) on a data
//! directory: what `signet serve log` runs and [`crate::Deployment`] embeds.
//!
//! Data directory layout (created if missing; private keys mode 0600, created on first start):
//!
//! | path | what |
//! |---|---|
//! | [`V1_KEY_FILE`], [`V1_TREE_ID_FILE`], [`V2_KEY_FILE`], [`CREATED_FILE`] | the logs' keys |
//! | [`V1_STORE_FILE`], [`V2_STORE_FILE`] | the logs (redb), unless they live in PostgreSQL |
//! | [`SEARCH_INDEX_FILE`] | the Rekor v1 search index (redb, derived data), likewise |
//! | [`TRUSTED_ROOT_FILE`] | the trusted root listing both logs, rewritten on every start |
//!
//! With [`LogServerConfig::database`] the logs and the search index live in PostgreSQL
//! ([`signet_server::PostgresStores`]); the keys stay in the data directory. Several servers
//! may share the database if their data directories hold the same key files (copied from the
//! first server's).

use crate::DeployError;
use crate::checkpoint_lock::CheckpointLock;
use crate::environment::Environment;
use crate::files::write_public;
use crate::keys::{KeyService, ServiceKeys};
use crate::log_keys::{V1_STORE_FILE, V2_STORE_FILE, load_or_create_log_keys_for};
use signet_log::{BatcherConfig, RedbStore};
use signet_server::{
    LogServer, LogServerParts, LogStores, PostgresStores, RedbStores, RetiredV1Key,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::log_keys::{CREATED_FILE, V1_KEY_FILE, V1_TREE_ID_FILE, V2_KEY_FILE};

/// The Rekor v1 search index's file name in the data directory (derived data: delete it to
/// rebuild it on the next start).
pub const SEARCH_INDEX_FILE: &str = "search-v1.redb";

/// The trusted root's file name in the data directory.
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";

/// How to run a log server on a data directory.
#[derive(Debug, Clone)]
pub struct LogServerConfig {
    /// Where the keys and `trusted_root.json` live (and, without `database`, the stores and the
    /// search index). Created if missing.
    pub data_dir: PathBuf,
    /// The URL clients reach the server at, e.g. `http://127.0.0.1:8080` (see
    /// [`LogServerParts::public_url`]). A data directory must keep its public URL: the stores
    /// refuse to open under another origin.
    pub public_url: String,
    /// How entries are batched.
    pub batch: BatcherConfig,
    /// A PostgreSQL URL (`postgres://user@host:port/db`) to keep both logs and the search
    /// index in, instead of redb files in `data_dir`. Several servers may share one database.
    pub database: Option<String>,
    /// With `database`: the URL other servers reach this one at directly (see
    /// [`LogServerParts::peer_url`]).
    pub peer_url: Option<String>,
    /// Bytes all the server's caches may hold together, redb's page caches included (see
    /// [`signet_server::CacheSizes`]). Default [`signet_server::DEFAULT_CACHE_BYTES`].
    pub cache_bytes: usize,
    /// With `database`, while another server sequences: how old this one's copy of a log's
    /// checkpoint may get before a read looks at the database's again (see
    /// [`signet_server::PostgresStores::follower_max_staleness`]). Default
    /// [`signet_server::FOLLOWER_MAX_STALENESS`].
    pub follower_max_staleness: std::time::Duration,
    /// The retired Rekor v1 keys ([`LogKeys::retired_v1`](signet_server::LogKeys::retired_v1)),
    /// which a [`crate::Deployment`] loads after a rotation. Default: none.
    pub retired_v1: Vec<RetiredV1Key>,
    /// What must accept the logs' checkpoints before they are published. Default: nothing.
    pub guards: LogGuardConfig,
}

/// What must accept the logs' checkpoints before they are published (see
/// [`signet_log::guard`]).
#[derive(Debug, Clone, Default)]
pub struct LogGuardConfig {
    /// A directory outside the data directory where each log keeps a copy of its latest
    /// checkpoint ([`crate::CheckpointLock`]: `rekor-v1.checkpoint`, `rekor-v2.checkpoint`);
    /// the server then refuses to start on a data directory (or database) behind it.
    pub checkpoint_lock: Option<PathBuf>,
    /// C2SP witnesses that must cosign the Rekor v2 log's checkpoints before they are
    /// published ([`signet_witness::WitnessGuard`]). Rekor v1 checkpoints are ECDSA-signed,
    /// which witnesses do not verify, so only the v2 log is witnessed.
    pub witnesses: Vec<signet_witness::WitnessSpec>,
    /// How many of `witnesses` must cosign; `None`: all of them.
    pub witness_quorum: Option<usize>,
}

impl LogServerConfig {
    /// A configuration with redb stores in `data_dir`, default batching and caches.
    pub fn new(data_dir: impl Into<PathBuf>, public_url: impl Into<String>) -> LogServerConfig {
        LogServerConfig {
            data_dir: data_dir.into(),
            public_url: public_url.into(),
            batch: BatcherConfig::default(),
            database: None,
            peer_url: None,
            cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
            follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
            retired_v1: Vec::new(),
            guards: LogGuardConfig::default(),
        }
    }
}

/// The Rekor v2 log's C2SP verifier key (`name+hash+base64`), in the data directory: what a
/// witness (`signet witness --log`) or `signet note verify --key` takes.
pub const V2_VKEY_FILE: &str = "rekor-v2.vkey";

/// The C2SP verifier key of `server`'s Rekor v2 log.
///
/// # Errors
/// [`DeployError::Component`] if the origin cannot name a key (the server refused such URLs
/// already).
pub fn rekor_v2_vkey(server: &LogServer) -> Result<String, DeployError> {
    signet_note::Ed25519NoteVerifier::new(server.v2_origin(), server.v2_public_key())
        .map(|v| v.vkey())
        .map_err(|e| DeployError::Component {
            what: "the Rekor v2 verifier key",
            reason: e.to_string(),
        })
}

/// The checkpoint lock files of a lock directory, per log.
pub const CHECKPOINT_LOCK_V1: &str = "rekor-v1.checkpoint";
/// See [`CHECKPOINT_LOCK_V1`].
pub const CHECKPOINT_LOCK_V2: &str = "rekor-v2.checkpoint";

/// The checkpoint guards `config` asks for.
fn log_guards(
    config: &LogServerConfig,
    v1_tree_id: u64,
) -> Result<signet_server::LogGuards, DeployError> {
    let mut guards = signet_server::LogGuards::default();
    let witnesses = &config.guards.witnesses;
    if !witnesses.is_empty() {
        let component = |reason: String| DeployError::Component {
            what: "the witnesses",
            reason,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(2))
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| component(e.to_string()))?;
        let clients = witnesses
            .iter()
            .map(|spec| signet_witness::WitnessClient::new(http.clone(), spec.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| component(e.to_string()))?;
        let quorum = config.guards.witness_quorum.unwrap_or(clients.len());
        let guard = signet_witness::WitnessGuard::new(clients, quorum)
            .map_err(|e| component(e.to_string()))?;
        // First, so that the checkpoint lock keeps the cosigned checkpoint.
        guards.v2.push(Arc::new(guard));
    }
    if let Some(dir) = &config.guards.checkpoint_lock {
        let (v1_origin, v2_origin) = signet_server::log_origins(&config.public_url, v1_tree_id)?;
        signet_durable::create_dir_all(dir).map_err(|source| DeployError::Io {
            path: dir.clone(),
            source,
        })?;
        refuse_inside(dir, &config.data_dir)?;
        guards.v1.push(Arc::new(CheckpointLock::new(
            dir.join(CHECKPOINT_LOCK_V1),
            &v1_origin,
        )));
        guards.v2.push(Arc::new(CheckpointLock::new(
            dir.join(CHECKPOINT_LOCK_V2),
            &v2_origin,
        )));
    }
    Ok(guards)
}

/// A checkpoint lock inside the data directory would be restored with it, and guard nothing.
pub(crate) fn refuse_inside(lock: &Path, data_dir: &Path) -> Result<(), DeployError> {
    let canonical = |p: &Path| {
        p.canonicalize().map_err(|source| DeployError::Io {
            path: p.to_owned(),
            source,
        })
    };
    if canonical(lock)?.starts_with(canonical(data_dir)?) {
        return Err(DeployError::Component {
            what: "the checkpoint lock",
            reason: format!(
                "{} is inside the data directory {}; keep it elsewhere (another disk or host), \
                 or a restored backup would restore the lock with it",
                lock.display(),
                data_dir.display()
            ),
        });
    }
    Ok(())
}

/// Where a data directory's trusted root is.
pub fn trusted_root_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TRUSTED_ROOT_FILE)
}

/// Opens (or creates) the log server's keys and stores in `config.data_dir` (or its database),
/// starts the server on the system clock and randomness, and writes `trusted_root.json`. Must
/// run inside a tokio runtime.
///
/// # Errors
/// See [`open_log_server_with`].
pub async fn open_log_server(config: LogServerConfig) -> Result<LogServer, DeployError> {
    open_log_server_with(config, Environment::system()).await
}

/// [`open_log_server`] with the clock and randomness of `env`.
///
/// # Errors
/// [`DeployError::MissingKey`] if a store exists without its key; [`DeployError::BadKeyFile`],
/// [`DeployError::Store`] and [`DeployError::SearchIndex`] if a file does not open;
/// [`DeployError::Server`] if the server refuses the stores (e.g. another origin, or a database
/// made with other keys); [`DeployError::Io`] otherwise.
pub async fn open_log_server_with(
    config: LogServerConfig,
    env: Environment,
) -> Result<LogServer, DeployError> {
    open_log_server_with_keys(config, env, &ServiceKeys::new()).await
}

/// [`open_log_server_with`], with the logs' keys of `keys` ([`KeyService::RekorV1`],
/// [`KeyService::RekorV2`]; in an HSM) instead of key files: for those no key file is read or
/// created. Other services' keys in `keys` are ignored.
///
/// # Errors
/// As [`open_log_server_with`]; [`DeployError::BadKeyFile`] when a key file is left for a
/// key in `keys`.
pub async fn open_log_server_with_keys(
    config: LogServerConfig,
    env: Environment,
    service_keys: &ServiceKeys,
) -> Result<LogServer, DeployError> {
    let dir = config.data_dir.as_path();
    let (v1_key, v2_key) = (
        service_keys.get(KeyService::RekorV1),
        service_keys.get(KeyService::RekorV2),
    );
    let mut keys = load_or_create_log_keys_for(
        dir,
        env.now_unix(),
        env.rng().as_ref(),
        v1_key.is_some(),
        v2_key.is_some(),
    )?;
    let signers = match (v1_key, v2_key) {
        (None, None) => None,
        (v1, v2) => {
            let from_files = signet_server::LogSigners {
                v1: match v1 {
                    Some(k) => Arc::clone(k),
                    None => signet_server::LogSigners::from_v1_pkcs8(&keys.v1_pkcs8)?,
                },
                v2: match v2 {
                    Some(k) => Arc::clone(k),
                    None => signet_server::LogSigners::from_v2_seed(&keys.v2_seed)?,
                },
            };
            Some(from_files)
        }
    };
    let guards = log_guards(&config, keys.v1_tree_id)?;
    keys.retired_v1 = config.retired_v1;
    let stores = match &config.database {
        None => {
            let sizes = signet_server::CacheSizes::for_redb(config.cache_bytes);
            let open_store = |file: &str| {
                let path = dir.join(file);
                RedbStore::open_with_cache(&path, sizes.redb_log)
                    .map(|store| (store, path.clone()))
                    .map_err(|e| DeployError::Store {
                        path,
                        source: signet_log::LogError::from(e),
                    })
            };
            let (v1, v1_path) = open_store(V1_STORE_FILE)?;
            let (v2, v2_path) = open_store(V2_STORE_FILE)?;
            let search_index_path = dir.join(SEARCH_INDEX_FILE);
            let search_index = redb::Database::builder()
                .set_cache_size(sizes.redb_search)
                .create(&search_index_path)
                .map_err(|e| DeployError::SearchIndex {
                    path: search_index_path.clone(),
                    source: Box::new(e.into()),
                })?;
            LogStores::Redb(RedbStores {
                v1,
                v1_path,
                v2,
                v2_path,
                search_index,
                search_index_path,
            })
        }
        Some(url) => LogStores::Postgres(
            PostgresStores::connect(url)
                .await?
                .follower_max_staleness(config.follower_max_staleness),
        ),
    };
    let parts = LogServerParts {
        public_url: config.public_url,
        keys,
        stores,
        batch: config.batch,
        peer_url: config.peer_url,
        clock: env.clock,
        randomness: env.randomness,
        search_results: signet_server::MAX_SEARCH_RESULTS,
        cache_bytes: config.cache_bytes,
        guards,
    };
    let server = match signers {
        Some(signers) => LogServer::with_signers(parts, signers).await?,
        None => LogServer::new(parts).await?,
    };
    let path = trusted_root_path(dir);
    write_public(&path, server.trusted_root().to_json_pretty().as_bytes())?;
    let vkey = rekor_v2_vkey(&server)?;
    write_public(&dir.join(V2_VKEY_FILE), format!("{vkey}\n").as_bytes())?;
    Ok(server)
}
