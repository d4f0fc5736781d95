//! Composition: opens every signet service on its data directory and wires them together. It
//! is the one place that knows how the services fit: it opens the stores, loads or creates the
//! keys, writes the trust files, connects the CA to its CT log, puts the logs, the CA, the CT
//! log, the TSA and the development OIDC issuer on one router, and decides the clock and the
//! randomness every service gets ([`Environment`]).
//!
//! - [`open_log_server`]: the Rekor v1 + v2 log server ([`signet_server::LogServer`]) on a data
//!   directory (`signet serve log`), see [`log`].
//! - [`CaDeployment`]: the CA with its CT log and the development issuer (`signet serve ca`).
//! - [`open_tsa`] and [`tsa_router`]: the timestamp authority (`signet serve tsa`).
//! - [`Deployment`]: all of them on one base URL with `trusted_root.json`,
//!   `signing_config.json` and `trust_config.json` (`signet up`); [`rotation`] replaces a
//!   service's key at start (`signet up --rotate`), keeping the old one trusted for what it
//!   signed.
//! - [`CtPrecertLogger`]: the CA's precertificates logged in signet-ct's log.
//! - [`http_server::serve`]: serves any of their routers with bounded connections (timeouts, a
//!   connection cap, a budget for request bodies in memory).
//!
//! What it leaves to others: the protocols and their handlers live in the service crates
//! (`signet-server`, `signet-ca`, `signet-ct`, `signet-tsa`, `signet-oidc`), which never see a
//! data directory of this crate's; flags, messages and exit codes are the `signet` binary's.
//! This crate does file I/O and is the one place that picks the system clock and randomness
//! ([`Environment::system`], over `signet-clock`); the services only get them. Every file
//! it writes goes through [`signet_durable`]. It never panics: every failure is a
//! [`DeployError`] naming the file or service.
//!
//! ```no_run
//! # async fn example() -> Result<(), signet_deploy::DeployError> {
//! use signet_deploy::{Deployment, DeploymentConfig};
//! let deployment = Deployment::open(DeploymentConfig {
//!     data_dir: "signet-data".into(),
//!     public_url: "http://127.0.0.1:3000".into(),
//!     database: None,
//!     dev_oidc: true,
//!     oidc_issuers: Vec::new(),
//!     batch: Default::default(),
//!     ct_public_add: false,
//!     cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
//!     follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
//!     rotate: Vec::new(),
//!     tuf_expiries: Default::default(),
//!     log_guards: Default::default(),
//!     ca_chain: None,
//!     peer_url: None,
//! })
//! .await?;
//! let app: axum::Router = deployment.router();
//! // Serve `app`; clients use `deployment.trust_files().trust_config`. Then:
//! deployment.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod ca;
mod checkpoint_lock;
mod ct;
mod environment;
mod error;
pub mod explorer;
mod files;
pub mod http_server;
pub mod keys;
pub mod log;
mod log_keys;
pub mod rotation;
pub mod tuf;
mod up;
pub mod witness;

pub use ca::{
    CHECKPOINT_LOCK_CT, CaDeployment, CaDeploymentConfig, open_tsa, open_tsa_with_key, tsa_router,
};
pub use checkpoint_lock::CheckpointLock;
pub use ct::CtPrecertLogger;
pub use environment::Environment;
pub use error::DeployError;
pub use log::{
    CHECKPOINT_LOCK_V1, CHECKPOINT_LOCK_V2, CREATED_FILE, LogGuardConfig, LogServerConfig,
    SEARCH_INDEX_FILE, TRUSTED_ROOT_FILE, V1_KEY_FILE, V1_TREE_ID_FILE, V2_KEY_FILE, V2_VKEY_FILE,
    open_log_server, open_log_server_with, open_log_server_with_keys, rekor_v2_vkey,
    trusted_root_path,
};
pub use log_keys::{V1_STORE_FILE, V2_STORE_FILE, load_or_create_log_keys};
pub use rotation::{RETIRED_DIR, RETIRED_TRUST_JSON, RotateService, Rotation};
/// A witness a log asks to cosign (`--witness VKEY@URL`), see [`LogGuardConfig::witnesses`].
pub use signet_witness::WitnessSpec;
pub use up::{
    Deployment, DeploymentConfig, DevOidcDefault, SIGNING_CONFIG_JSON, TRUST_CONFIG_JSON,
    TRUSTED_ROOT_JSON, TrustFiles, is_loopback_url,
};
