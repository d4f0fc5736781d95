//! Who sequences: one log's handle ([`LogHandle`]), and, on PostgreSQL, the lease loop that
//! decides which of several servers sharing a database sequences both logs ([`Cluster`]).
//!
//! On redb the server always sequences. On PostgreSQL every server tries the database's
//! single-sequencer lease ([`PostgresStore::try_lease`]): the holder runs a sequencer and a
//! batcher per log and records its peer URL in `signet_server.sequencer`; the others are
//! followers: they serve every read from the database (the checkpoint is read from the database
//! on each request, so they never serve a stale tree) and forward create requests over HTTP to
//! the recorded holder. Every server checks its lease (holder) or tries to take it (follower)
//! every [`LEASE_INTERVAL`]; a holder that loses its lease connection stops sequencing, and a
//! follower that gets the lease recovers the logs from the database (as a restart does) before
//! it sequences. Two sequencers can never both commit: the store's compare-and-swap fences the
//! old one.

use crate::metrics::{Api, Metrics};
use crate::store::AnyStore;
use crate::{ApiError, Clock, ServerError};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use signet_log::{
    Batcher, BatcherConfig, LogError, LogStore, PostgresStore, Sequencer, SequencerConfig,
    SequencerLease, StoredCheckpoint,
};
use signet_note::NoteSigner;
use sqlx::postgres::PgPool;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// How often a holder checks its lease and a follower tries to take it.
pub const LEASE_INTERVAL: Duration = Duration::from_millis(500);

/// The header marking a create request forwarded by another server (never forwarded twice).
pub(crate) const FORWARDED: &str = "x-signet-forwarded";

/// Makes a fresh signer for a (re)started sequencer.
pub(crate) type SignerFactory = Box<dyn Fn() -> Option<Box<dyn NoteSigner>> + Send + Sync>;

/// One log: its store, its batcher while this server sequences, and the newest checkpoint known.
pub(crate) struct LogHandle {
    pub(crate) api: Api,
    pub(crate) store: Arc<AnyStore>,
    batcher: RwLock<Option<Batcher>>,
    latest: watch::Sender<Arc<StoredCheckpoint>>,
    signer: SignerFactory,
    config: SequencerConfig,
    batch: BatcherConfig,
    clock: Clock,
}

impl LogHandle {
    /// A handle that does not sequence yet. Its checkpoint is an empty placeholder until
    /// [`LogHandle::start_sequencing`] or a store read gives it one; [`crate::LogServer::new`]
    /// returns only once it has.
    pub(crate) fn new(
        api: Api,
        store: Arc<AnyStore>,
        signer: SignerFactory,
        config: SequencerConfig,
        batch: BatcherConfig,
        clock: Clock,
    ) -> LogHandle {
        let placeholder = StoredCheckpoint {
            size: signet_merkle::TreeSize(0),
            timestamp_ms: 0,
            note: Vec::new(),
        };
        let (latest, _) = watch::channel(Arc::new(placeholder));
        LogHandle {
            api,
            store,
            batcher: RwLock::new(None),
            latest,
            signer,
            config,
            batch,
            clock,
        }
    }

    /// The batcher, while this server sequences.
    pub(crate) fn batcher(&self) -> Option<Batcher> {
        self.batcher
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether this server sequences the log.
    pub(crate) fn is_sequencing(&self) -> bool {
        self.batcher
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Raises the known checkpoint to `cp` if it is newer.
    fn offer(&self, cp: Arc<StoredCheckpoint>) {
        self.latest.send_if_modified(|current| {
            let newer = cp.size > current.size || cp.timestamp_ms > current.timestamp_ms;
            if newer {
                *current = cp;
            }
            newer
        });
    }

    /// The newest checkpoint known without a store read (for `/metrics`, `/readyz`).
    pub(crate) fn latest(&self) -> Arc<StoredCheckpoint> {
        Arc::clone(&self.latest.borrow())
    }

    /// Sees each newer checkpoint (the search indexer follows it).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<StoredCheckpoint>> {
        self.latest.subscribe()
    }

    /// The checkpoint to answer a read with: the batcher's while sequencing, else the
    /// database's current one.
    pub(crate) async fn checkpoint(&self) -> Result<Arc<StoredCheckpoint>, ApiError> {
        if let Some(b) = self.batcher() {
            return Ok(b.latest_checkpoint());
        }
        self.refresh().await?;
        Ok(self.latest())
    }

    /// Reads the store's checkpoint into the known one.
    pub(crate) async fn refresh(&self) -> Result<(), ApiError> {
        let state = self
            .store
            .state()
            .await
            .map_err(|e| ApiError::internal("read log state", &e))?;
        if let Some(cp) = state.checkpoint {
            self.offer(Arc::new(cp));
        }
        Ok(())
    }

    /// Opens a sequencer over the store (verifying it and finishing any half-done append) and
    /// starts a batcher. The caller must hold the lease (or be the only server).
    pub(crate) async fn start_sequencing(&self) -> Result<(), LogError> {
        let signer = (self.signer)().ok_or(LogError::Internal {
            what: "the signing key no longer loads",
        })?;
        let clock = Arc::clone(&self.clock);
        let sequencer = Sequencer::open(
            Arc::clone(&self.store),
            signer,
            self.config.clone(),
            move || clock(),
        )
        .await?;
        let batcher = Batcher::spawn(sequencer, self.batch)?;
        self.offer(batcher.latest_checkpoint());
        let mut rx = batcher.subscribe();
        let latest = self.latest.clone();
        // Follows the batcher's checkpoints until it stops.
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let cp = Arc::clone(&rx.borrow_and_update());
                latest.send_if_modified(|current| {
                    let newer = cp.size > current.size || cp.timestamp_ms > current.timestamp_ms;
                    if newer {
                        *current = cp;
                    }
                    newer
                });
            }
        });
        *self.batcher.write().unwrap_or_else(|e| e.into_inner()) = Some(batcher);
        Ok(())
    }

    /// Stops sequencing after the batches already queued.
    pub(crate) async fn stop_sequencing(&self) {
        let batcher = self
            .batcher
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(b) = batcher {
            b.shutdown().await;
        }
    }
}

/// Several servers on one PostgreSQL database: the lease, the holder's address, forwarding.
pub(crate) struct Cluster {
    /// A pool on the database (no `search_path`; names are schema-qualified).
    pub(crate) pool: PgPool,
    /// Where other servers reach this one.
    pub(crate) peer_url: String,
    client: reqwest::Client,
    clock: Clock,
}

impl Cluster {
    pub(crate) fn new(
        pool: PgPool,
        peer_url: String,
        clock: Clock,
    ) -> Result<Cluster, ServerError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ServerError::Database {
                what: "building the forwarding HTTP client",
                source: Box::new(e),
            })?;
        Ok(Cluster {
            pool,
            peer_url,
            client,
            clock,
        })
    }

    /// Records this server as the sequencer (after taking the lease).
    async fn record_holder(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO signet_server.sequencer (id, peer_url, since_ms) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET peer_url = EXCLUDED.peer_url, \
             since_ms = EXCLUDED.since_ms",
        )
        .bind(&self.peer_url)
        .bind(i64::try_from((self.clock)()).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The peer URL of the recorded sequencer.
    async fn holder(&self) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT peer_url FROM signet_server.sequencer WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
    }

    /// Forwards a create request to the sequencing server and relays its answer.
    pub(crate) async fn forward(
        &self,
        metrics: &Metrics,
        api: Api,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response, ApiError> {
        let unavailable = |message: String| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
        };
        if headers.contains_key(FORWARDED) {
            // The sender thought we sequence; we no longer (or not yet) do.
            return Err(unavailable(
                "this server does not sequence the log right now; retry".into(),
            ));
        }
        let holder = self
            .holder()
            .await
            .map_err(|e| ApiError::internal("read the sequencer's address", &e))?
            .filter(|url| *url != self.peer_url)
            .ok_or_else(|| unavailable("no server sequences the log right now; retry".into()))?;
        let url = format!("{}{path}", holder.trim_end_matches('/'));
        let result = self
            .client
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(FORWARDED, "1")
            .body(body)
            .send()
            .await;
        let answer = match result {
            Ok(r) => r,
            Err(e) => {
                metrics.forwarded(api, false);
                eprintln!("signet-server: forwarding to {url}: {e}");
                return Err(unavailable(
                    "the sequencing server cannot be reached; retry".into(),
                ));
            }
        };
        let status = answer.status();
        let mut relayed = HeaderMap::new();
        for name in [header::CONTENT_TYPE, header::LOCATION, header::ETAG] {
            if let Some(v) = answer.headers().get(&name) {
                relayed.insert(name, v.clone());
            }
        }
        let bytes = match answer.bytes().await {
            Ok(b) => b,
            Err(e) => {
                metrics.forwarded(api, false);
                eprintln!("signet-server: forwarding to {url}: {e}");
                return Err(unavailable(
                    "the sequencing server's answer was cut off; retry".into(),
                ));
            }
        };
        metrics.forwarded(api, true);
        let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut response = (status, bytes).into_response();
        for (name, value) in &relayed {
            response.headers_mut().insert(name, value.clone());
        }
        if !response.headers().contains_key(header::CONTENT_TYPE) {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        Ok(response)
    }
}

/// Tries the lease once: on success starts sequencing both logs and records this server.
async fn try_take(
    lease_store: &PostgresStore,
    cluster: &Cluster,
    logs: &[Arc<LogHandle>],
) -> Option<SequencerLease> {
    let lease = match lease_store.try_lease().await {
        Ok(Some(l)) => l,
        Ok(None) => return None,
        Err(e) => {
            eprintln!("signet-server: trying the sequencer lease: {e}");
            return None;
        }
    };
    for log in logs {
        if let Err(e) = log.start_sequencing().await {
            eprintln!(
                "signet-server: {} log: cannot sequence: {e}",
                log.api.label()
            );
            for log in logs {
                log.stop_sequencing().await;
            }
            let _ = lease.release().await;
            return None;
        }
    }
    if let Err(e) = cluster.record_holder().await {
        eprintln!("signet-server: recording this server as the sequencer: {e}");
    }
    Some(lease)
}

/// Takes the lease if it is free right now, else waits (up to `timeout`) until the holder has
/// published a checkpoint in every log so that this server can serve reads. Returns the lease
/// if taken.
pub(crate) async fn first_round(
    lease_store: &PostgresStore,
    cluster: &Cluster,
    logs: &[Arc<LogHandle>],
    timeout: Duration,
) -> Result<Option<SequencerLease>, ServerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(lease) = try_take(lease_store, cluster, logs).await {
            return Ok(Some(lease));
        }
        let mut ready = true;
        for log in logs {
            let state = log.store.state().await.map_err(|e| ServerError::Database {
                what: "reading the log state",
                source: Box::new(e),
            })?;
            match state.checkpoint {
                Some(cp) => log.offer(Arc::new(cp)),
                None => ready = false,
            }
        }
        if ready {
            return Ok(None);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServerError::NoSequencer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The lease loop: runs until `stop` turns true, then stops sequencing and releases the lease.
pub(crate) async fn run_lease(
    lease_store: PostgresStore,
    cluster: Arc<Cluster>,
    logs: Vec<Arc<LogHandle>>,
    metrics: Arc<Metrics>,
    mut lease: Option<SequencerLease>,
    mut stop: watch::Receiver<bool>,
) {
    metrics.sequencer(lease.is_some());
    loop {
        tokio::select! {
            () = tokio::time::sleep(LEASE_INTERVAL) => {}
            _ = stop.wait_for(|&s| s) => break,
        }
        match lease.as_mut() {
            Some(held) => {
                if let Err(e) = held.check().await {
                    eprintln!("signet-server: lost the sequencer lease ({e}); following");
                    for log in &logs {
                        log.stop_sequencing().await;
                    }
                    lease = None;
                    metrics.sequencer(false);
                }
            }
            None => {
                lease = try_take(&lease_store, &cluster, &logs).await;
                if lease.is_some() {
                    eprintln!("signet-server: took the sequencer lease");
                    metrics.sequencer(true);
                } else {
                    for log in &logs {
                        let _ = log.refresh().await;
                    }
                }
            }
        }
    }
    for log in &logs {
        log.stop_sequencing().await;
    }
    if let Some(held) = lease {
        let _ = held.release().await;
    }
}
