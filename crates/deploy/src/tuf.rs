//! `signet up`'s TUF repository: the deployment's `trusted_root.json` and signing config
//! published as the TUF targets `trusted_root.json` and `signing_config.v0.2.json` (the names
//! and layout of Sigstore's public repository), served under `<public URL>/tuf/`.
//!
//! Data directory layout:
//!
//! | path | what |
//! |---|---|
//! | `tuf/keys/` | the root, targets, snapshot and timestamp keys (mode 0600) |
//! | `tuf/repository/` | the signed metadata and the targets, as served |
//! | `tuf-root.json` | version 1 of the root: the one file an operator hands out |
//!
//! On every start the current trust files are published (a new targets version only when
//! they changed, e.g. after a key rotation). A background task re-signs the timestamp, the
//! snapshot, the targets and the root before they expire. The metadata work is
//! `signet_tuf::repo`'s; this module opens it on its store, runs the re-signing task and
//! routes the reads.
//!
//! **With `--database`** the repository lives in the database (schema `signet_tuf`, see
//! `signet_tuf::store::PostgresStore`), not in `tuf/repository/`, and every server sharing the
//! database serves the same one. The first server to start creates it with its keys (or
//! copies its existing `tuf/repository/` there, so that its `tuf-root.json` stays valid); the
//! others must have the same TUF keys (copied from its `tuf/keys/`, like the log keys), else
//! they refuse to start (`TufError::KeyMismatch`), and write the same `tuf-root.json`.
//! Publishing and re-signing take the database's lock and compare-and-swap the timestamp, so
//! the servers make one new version per change between them. Each server serves from memory
//! what it last read, and looks at the database every [`SYNC_INTERVAL`]: the `timestamp.json`
//! it serves is at most that much (plus one query) behind the database's, and never older
//! than one it served before. A versioned file (`N.root.json`, `N.snapshot.json`,
//! `N.targets.json`, `targets/…`) it does not hold is read from the database at once, so a
//! client that got a newer timestamp from another server is never sent a 404 for what it
//! names. The memory holds one repository state (the roots, two snapshot and targets
//! versions and their targets), nothing more.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use signet_tuf::repo::{Expiries, Repository, RoleKeys};
use signet_tuf::store::{FileStore, PostgresStore, TIMESTAMP, TufStore};
use tokio::sync::RwLock;

use crate::DeployError;
use crate::environment::Environment;
use crate::files::{read_optional, write_public};

/// The TUF directory in the data directory.
pub const TUF_DIR: &str = "tuf";
/// The initial TUF root, handed out to clients.
pub const TUF_ROOT_FILE: &str = "tuf-root.json";

/// The shortest and longest waits of the re-signing task between two looks.
const MIN_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// With a database, how often a server looks for what the others published.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the routes read: the repository, and the database for what it does not hold.
#[derive(Clone)]
struct Served {
    repo: Arc<RwLock<Repository>>,
    shared: Option<Arc<dyn TufStore>>,
}

/// A running TUF repository.
pub struct TufService {
    repo: Arc<RwLock<Repository>>,
    /// The database, when the repository is shared.
    shared: Option<Arc<dyn TufStore>>,
    refresher: Option<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for TufService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TufService").finish_non_exhaustive()
    }
}

fn tuf_error(what: &'static str) -> impl Fn(signet_tuf::TufError) -> DeployError {
    move |source| DeployError::Tuf { what, source }
}

impl TufService {
    /// Opens (on first start, creates) the repository under `data_dir`, or in the database
    /// at `database` (see the module docs), publishes `trusted_root` and `signing_config` as
    /// its targets, writes `tuf-root.json` when it is missing, and starts re-signing in the
    /// background. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`DeployError::Tuf`] when the keys or the repository cannot be opened or signed (with
    /// a database: also when it cannot be reached, or its repository was made with other
    /// keys); [`DeployError::TrustChanged`] when `tuf-root.json` differs from the
    /// repository's first root; [`DeployError::Io`].
    pub async fn open(
        data_dir: &Path,
        database: Option<&str>,
        trusted_root: &[u8],
        signing_config: &[u8],
        expiries: Expiries,
        env: &Environment,
    ) -> Result<TufService, DeployError> {
        Self::open_with_keys(
            data_dir,
            database,
            trusted_root,
            signing_config,
            expiries,
            env,
            &[],
        )
        .await
    }

    /// [`TufService::open`], with the roles of `role_keys` signing with keys kept elsewhere
    /// (an HSM; Ed25519): no key file is read or made for them.
    ///
    /// # Errors
    /// As [`TufService::open`].
    pub async fn open_with_keys(
        data_dir: &Path,
        database: Option<&str>,
        trusted_root: &[u8],
        signing_config: &[u8],
        expiries: Expiries,
        env: &Environment,
        role_keys: &[(tough::schema::RoleType, signet_signer::SharedSigner)],
    ) -> Result<TufService, DeployError> {
        let dir = data_dir.join(TUF_DIR);
        let rng = env.rng();
        let keys = RoleKeys::load_or_create_with(&dir.join("keys"), rng.as_ref(), role_keys)
            .map_err(tuf_error("TUF role keys"))?;
        let now = env.now_unix();
        let files =
            FileStore::open(&dir.join("repository")).map_err(tuf_error("TUF repository"))?;
        let (store, shared): (Arc<dyn TufStore>, _) = match database {
            None => (Arc::new(files), None),
            Some(url) => {
                let db: Arc<dyn TufStore> = Arc::new(
                    PostgresStore::connect(url)
                        .await
                        .map_err(tuf_error("TUF repository database"))?,
                );
                signet_tuf::store::copy_if_empty(&files, db.as_ref())
                    .await
                    .map_err(tuf_error("copying the TUF repository to the database"))?;
                (db.clone(), Some(db))
            }
        };
        let mut repo = Repository::open_store(store, keys, expiries, now)
            .await
            .map_err(tuf_error("TUF repository"))?;
        repo.publish(
            &[
                (signet_tuf::TRUSTED_ROOT_TARGET, trusted_root),
                (signet_tuf::SIGNING_CONFIG_TARGET, signing_config),
            ],
            now,
        )
        .await
        .map_err(tuf_error("TUF targets"))?;
        repo.refresh(now)
            .await
            .map_err(tuf_error("TUF re-signing"))?;

        let root_path = data_dir.join(TUF_ROOT_FILE);
        match read_optional(&root_path)? {
            Some(existing) if existing != repo.initial_root() => {
                return Err(DeployError::TrustChanged { path: root_path });
            }
            Some(_) => {}
            None => write_public(&root_path, repo.initial_root())?,
        }

        let repo = Arc::new(RwLock::new(repo));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let refresher = tokio::spawn(refresh_forever(
            repo.clone(),
            shared.clone(),
            env.clone(),
            stopped,
        ));
        Ok(TufService {
            repo,
            shared,
            refresher: Some(refresher),
            stop,
        })
    }

    /// `GET /tuf/{path}`: the repository's files.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/tuf/{*path}", get(serve_file))
            .with_state(Served {
                repo: self.repo.clone(),
                shared: self.shared.clone(),
            })
    }

    /// The repository this service serves (to look at its versions and files).
    pub fn repository(&self) -> Arc<RwLock<Repository>> {
        self.repo.clone()
    }

    /// Stops re-signing, after a re-signing in progress has finished writing (so that the
    /// data directory can be opened again at once).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(refresher) = self.refresher.take() {
            let _ = refresher.await;
        }
    }
}

impl Drop for TufService {
    /// Without [`TufService::shutdown`]: stops re-signing at its next await.
    fn drop(&mut self) {
        if let Some(refresher) = &self.refresher {
            refresher.abort();
        }
    }
}

/// How many versions past the one this server holds a root, snapshot or targets file may be
/// asked for from the database: other servers publish one version per change, and this one
/// catches up every [`SYNC_INTERVAL`].
const MAX_VERSIONS_AHEAD: u64 = 16;

/// Whether `path` may name a file another server published since this one last synced: a
/// root, snapshot or targets version just past the one held, or a consistent-snapshot
/// target (`targets/<sha256 hex>.<name>`). Anything else cannot exist unless it is already
/// in memory, so no request makes a database query for it.
fn may_be_newer(path: &str, held: &signet_tuf::repo::Versions) -> bool {
    if let Some(rest) = path.strip_prefix("targets/") {
        return rest.split_once('.').is_some_and(|(hash, name)| {
            hash.len() == 64
                && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                && !name.is_empty()
                && name.len() <= 200
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    }
    let Some((version, role)) = path.split_once('.') else {
        return false;
    };
    if version.is_empty() || version.len() > 19 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(version) = version.parse::<u64>() else {
        return false;
    };
    let current = match role {
        "root.json" => held.root,
        "snapshot.json" => held.snapshot,
        "targets.json" => held.targets,
        _ => return false,
    };
    version > current && version <= current.saturating_add(MAX_VERSIONS_AHEAD)
}

async fn serve_file(State(served): State<Served>, UrlPath(path): UrlPath<String>) -> Response {
    let (mut file, held) = {
        let repo = served.repo.read().await;
        (repo.file(&path), repo.versions())
    };
    // A versioned name another server published since the last look (never the timestamp:
    // that one only moves forward, with the whole state, in `sync`).
    if file.is_none()
        && may_be_newer(&path, &held)
        && let Some(store) = &served.shared
    {
        match store.read(&path).await {
            Ok(found) => file = found,
            Err(e) => {
                eprintln!("signet: reading TUF file {path:?} from the database failed: {e}");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"code":503,"message":"the TUF repository is unavailable"}"#,
                )
                    .into_response();
            }
        }
    }
    match file {
        // Every name but timestamp.json carries a version or a hash, so its content never
        // changes; timestamp.json does, and must not be cached.
        Some(body) => {
            let cache = if path == "timestamp.json" {
                "no-cache"
            } else {
                "public, max-age=31536000, immutable"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, cache),
                ],
                body,
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":404,"message":"no such TUF file"}"#,
        )
            .into_response(),
    }
}

/// Re-signs whatever is about to expire, for as long as the deployment runs (until `stop`
/// says true), and with a shared store takes what other servers published every
/// [`SYNC_INTERVAL`]. A failure is reported and retried at the next look; the metadata served
/// stays the last signed. A re-signing that has begun runs to its end.
async fn refresh_forever(
    repo: Arc<RwLock<Repository>>,
    shared: Option<Arc<dyn TufStore>>,
    env: Environment,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let next = repo.read().await.next_refresh();
        let wait = u64::try_from(next.saturating_sub(env.now_unix())).unwrap_or(0);
        let mut wait = Duration::from_secs(wait).clamp(MIN_WAIT, MAX_WAIT);
        if shared.is_some() {
            wait = wait.min(SYNC_INTERVAL);
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Some(store) = &shared
            && let Err(e) = sync(&repo, store.as_ref()).await
        {
            eprintln!("signet: reading the TUF repository from the database failed: {e}");
        }
        let now = env.now_unix();
        if repo.read().await.next_refresh() > now {
            continue;
        }
        // On a copy: waiting for the store's lock (another server publishing) must not hold
        // up the reads. This task is the only writer, so nothing changes the served state
        // meanwhile.
        let mut work = repo.read().await.clone();
        let resigned = work.refresh(now).await;
        if let Err(e) = &resigned {
            eprintln!("signet: re-signing the TUF metadata failed: {e}; retrying later");
        }
        // It may also have taken a newer state from the store (another server's re-signing).
        let mut served = repo.write().await;
        if matches!(resigned, Ok(true)) || work.versions().timestamp > served.versions().timestamp {
            *served = work;
        }
    }
}

/// Takes what other servers committed to `store` since this one last looked: one query when
/// nothing changed, the whole (small) repository when the timestamp did. The write lock is
/// held only to swap the new state in.
async fn sync(repo: &RwLock<Repository>, store: &dyn TufStore) -> Result<(), signet_tuf::TufError> {
    let stored = store.read(TIMESTAMP).await?;
    if stored.is_none() || stored == repo.read().await.file(TIMESTAMP) {
        return Ok(());
    }
    let files = store.load().await?;
    repo.write().await.install(&files)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use signet_tuf::repo::Versions;

    #[test]
    fn only_names_that_may_exist_reach_the_database() {
        let held = Versions {
            root: 2,
            targets: 5,
            snapshot: 7,
            timestamp: 9,
        };
        for yes in [
            "3.root.json",
            "18.root.json",
            "6.targets.json",
            "8.snapshot.json",
            "targets/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.trusted_root.json",
        ] {
            assert!(may_be_newer(yes, &held), "{yes}");
        }
        for no in [
            "timestamp.json",
            "2.root.json",
            "1.root.json",
            "19.root.json",
            "99999999999999999999.root.json",
            "+3.root.json",
            "03x.root.json",
            "3.mirrors.json",
            "root.json",
            "",
            "targets/abc.trusted_root.json",
            "targets/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.x",
            "targets/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.",
            "targets/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.a/b",
            "../1.root.json",
        ] {
            assert!(!may_be_newer(no, &held), "{no}");
        }
    }
}
