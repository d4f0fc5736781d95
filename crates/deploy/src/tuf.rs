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
//! `signet_tuf::repo`'s; this module opens it on the data directory, runs the re-signing task
//! and routes the reads.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use signet_tuf::repo::{Expiries, Repository, RoleKeys};
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

/// A running TUF repository.
pub struct TufService {
    repo: Arc<RwLock<Repository>>,
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
    /// Opens (on first start, creates) the repository under `data_dir`, publishes
    /// `trusted_root` and `signing_config` as its targets, writes `tuf-root.json` when it is
    /// missing, and starts re-signing in the background. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`DeployError::Tuf`] when the keys or the repository cannot be opened or signed;
    /// [`DeployError::TrustChanged`] when `tuf-root.json` differs from the repository's
    /// first root; [`DeployError::Io`].
    pub async fn open(
        data_dir: &Path,
        trusted_root: &[u8],
        signing_config: &[u8],
        expiries: Expiries,
        env: &Environment,
    ) -> Result<TufService, DeployError> {
        let dir = data_dir.join(TUF_DIR);
        let rng = env.rng();
        let keys = RoleKeys::load_or_create(&dir.join("keys"), rng.as_ref())
            .map_err(tuf_error("TUF role keys"))?;
        let now = env.now_unix();
        let mut repo = Repository::open(&dir.join("repository"), keys, expiries, now)
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
        let refresher = tokio::spawn(refresh_forever(repo.clone(), env.clone(), stopped));
        Ok(TufService {
            repo,
            refresher: Some(refresher),
            stop,
        })
    }

    /// `GET /tuf/{path}`: the repository's files.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/tuf/{*path}", get(serve_file))
            .with_state(self.repo.clone())
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

async fn serve_file(
    State(repo): State<Arc<RwLock<Repository>>>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let file = repo.read().await.file(&path);
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
/// says true). A failure is reported and retried at the next look; the metadata served stays
/// the last signed. A re-signing that has begun runs to its end.
async fn refresh_forever(
    repo: Arc<RwLock<Repository>>,
    env: Environment,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let next = repo.read().await.next_refresh();
        let wait = u64::try_from(next.saturating_sub(env.now_unix())).unwrap_or(0);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(wait).clamp(MIN_WAIT, MAX_WAIT)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let now = env.now_unix();
        if let Err(e) = repo.write().await.refresh(now).await {
            eprintln!("signet: re-signing the TUF metadata failed: {e}; retrying later");
        }
    }
}
