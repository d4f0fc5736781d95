//! TUF (The Update Framework, specification 1.0) for signet's trust distribution, on both
//! sides, with the maintained [`tough`] crate doing the TUF work: metadata types, canonical JSON
//! (OLPC, what python-tuf and go-tuf check), Ed25519 signing and the client's verification.
//!
//! - [`repo`]: signet's repository, whose targets are [`TRUSTED_ROOT_TARGET`] and
//!   [`SIGNING_CONFIG_TARGET`] with the layout of Sigstore's public repository (consistent
//!   snapshots: `N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`,
//!   `targets/<sha256>.<name>`). It keeps the role keys, publishes new targets, re-signs roles
//!   before they expire and hands out files by path; serving them is the caller's job.
//! - [`store`]: where the repository's files live ([`store::TufStore`]): a directory, or
//!   (feature `postgres`) a PostgreSQL schema shared by several servers.
//! - [`client`]: one instance's local state ([`client::InstanceStore`]): bootstrap from a root
//!   file, refresh through tough (rollback protection across runs in tough's datastore), and the
//!   last verified targets as an offline fallback when, and only when, the repository cannot be
//!   reached.
//!
//! What it must not do: verify TUF metadata itself (tough does every check), read the clock on
//! the repository side (time is passed in; the client relies on tough's own system-time expiry
//! check), draw its own randomness for keys, or fall back to cached targets after a
//! verification failure. Fetched files are untrusted: bounded in size and time, never a panic.
//!
//! ```no_run
//! # async fn example(now: i64) -> Result<(), signet_tuf::TufError> {
//! use signet_tuf::client::{InstanceStore, Transport};
//! use signet_tuf::repo::{Expiries, Repository, RoleKeys};
//! let keys = RoleKeys::load_or_create("data/tuf-keys".as_ref(), &aws_lc_rs::rand::SystemRandom::new())?;
//! let mut repo = Repository::open("data/tuf".as_ref(), keys, Expiries::default(), now).await?;
//! repo.publish(&[(signet_tuf::TRUSTED_ROOT_TARGET, b"{}")], now).await?;
//!
//! let store = InstanceStore::new("cache/instance".into());
//! store.bootstrap(repo.initial_root())?;
//! let targets = store
//!     .refresh("https://signet.example/tuf", Transport::new(reqwest::Client::new()))
//!     .await?;
//! assert!(!targets.offline);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod client;
mod error;
mod files;
pub mod repo;
pub mod store;

pub use error::TufError;

/// The target holding the instance's `trusted_root.json`.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// The target holding the instance's signing config (v0.2).
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// The Sigstore public-good TUF repository.
pub const PUBLIC_GOOD_TUF_URL: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The Sigstore staging TUF repository.
pub const STAGING_TUF_URL: &str = "https://tuf-repo-cdn.sigstage.dev";

/// The public-good repository's TUF root that signet trusts first (a copy of the one Sigstore
/// distributes; newer roots are reached from it through TUF).
pub const PUBLIC_GOOD_TUF_ROOT: &str = include_str!("../public-good-tuf-root.json");

/// The staging repository's TUF root that signet trusts first.
pub const STAGING_TUF_ROOT: &str = include_str!("../staging-tuf-root.json");
