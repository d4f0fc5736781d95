//! Who sequences: one log's handle ([`LogHandle`]), and, on PostgreSQL, the lease loop that
//! decides which of several servers sharing a database sequences both logs ([`Cluster`]).
//!
//! On redb the server always sequences. On PostgreSQL every server tries the database's
//! single-sequencer lease ([`SequencerLease`], see [`crate::postgres`]): the holder runs a
//! sequencer and a batcher per log, each writing through a store fenced by the lease's epoch,
//! and records its peer URL in `signet_server.sequencer`; the others are followers: they serve
//! every read from the database (the checkpoint is read from the database on each request, so
//! they never serve a stale tree) and forward create requests over HTTP to the recorded holder.
//!
//! Every [`LEASE_INTERVAL`] a holder proves it is alive by a query on its lease connection (and
//! checks that its sequencers still run), and a follower tries to take the lease. A holder that
//! stops doing so, whether dead, stopped (SIGSTOP) or hung, loses the lease within
//! [`LEASE_TIMEOUT`]: the database ends its lease session. A follower then takes it within
//! [`LEASE_INTERVAL`], raises the epoch, recovers the logs from the database (as a restart
//! does) and sequences. A holder that notices it lost the lease stops sequencing; one that
//! does not notice (it was stopped and resumes) cannot commit: the database refuses writes
//! under an old epoch. So two sequencers never both move a log.
//!
//! A forwarded create gets the holder's answer within [`FORWARD_TIMEOUT`], else a 503. If the
//! lease moves on while a request waits for the old holder, the request is handled again by
//! the new one (possibly this server): the old holder can no longer commit it.

use crate::metrics::{Api, Metrics};
use crate::postgres::{Database, LEASE_TIMEOUT, LeaseView, SequencerLease, V1_SCHEMA, V2_SCHEMA};
use crate::store::{AnyStore, Backend};
use crate::{ApiError, ServerError};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use signet_clock::Clock;
use signet_log::{
    Batcher, BatcherConfig, CheckpointGuard, LogError, LogStore, Sequencer, SequencerConfig,
    StoredCheckpoint,
};
use signet_note::NoteSigner;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

pub use signet_log::lease::LEASE_INTERVAL;

use signet_log::lease::FORWARD_CONNECT_TIMEOUT;
pub use signet_log::lease::FORWARD_TIMEOUT;

/// The header marking a create request forwarded by another server (never forwarded twice).
pub(crate) const FORWARDED: &str = signet_log::lease::FORWARDED_HEADER;

/// Makes a fresh signer for a (re)started sequencer.
pub(crate) type SignerFactory = Box<dyn Fn() -> Option<Box<dyn NoteSigner>> + Send + Sync>;

/// One log: its store, its batcher while this server sequences, and the newest checkpoint known.
pub(crate) struct LogHandle {
    pub(crate) api: Api,
    /// The store every read goes through.
    pub(crate) store: Arc<AnyStore>,
    batcher: RwLock<Option<Batcher>>,
    /// The store the running sequencer writes through (on PostgreSQL, fenced by the lease's
    /// epoch), closed when it stops.
    writer: Mutex<Option<Arc<AnyStore>>>,
    latest: watch::Sender<Arc<StoredCheckpoint>>,
    signer: SignerFactory,
    config: SequencerConfig,
    batch: BatcherConfig,
    clock: Clock,
    /// What must accept each checkpoint before the sequencer publishes it.
    guards: Vec<Arc<dyn CheckpointGuard>>,
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
        guards: Vec<Arc<dyn CheckpointGuard>>,
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
            writer: Mutex::new(None),
            latest,
            signer,
            config,
            batch,
            clock,
            guards,
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

    /// Whether the sequencing task still runs (false once it has ended, e.g. by a panic,
    /// while this server still counts as sequencing).
    pub(crate) fn sequencer_runs(&self) -> bool {
        // The task owns the sending side of the checkpoint channel.
        self.batcher()
            .is_none_or(|b| b.subscribe().has_changed().is_ok())
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

    /// Opens a sequencer over `writer` (verifying the log and finishing any half-done append)
    /// and starts a batcher. The caller must hold the lease (or be the only server); `writer`
    /// is the log's store, on PostgreSQL one fenced by the lease's epoch.
    pub(crate) async fn start_sequencing(&self, writer: Arc<AnyStore>) -> Result<(), LogError> {
        let signer = (self.signer)().ok_or(LogError::Internal {
            what: "the signing key no longer loads",
        })?;
        let clock = self.clock.clone();
        let opened = Sequencer::open_guarded(
            Arc::clone(&writer),
            signer,
            self.config.clone(),
            move || clock.now_ms(),
            self.guards.clone(),
        )
        .await;
        let sequencer = match opened {
            Ok(s) => s,
            Err(e) => {
                if !Arc::ptr_eq(&writer, &self.store) {
                    close_writer(&writer).await;
                }
                return Err(e);
            }
        };
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
        *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
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
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer
            && !Arc::ptr_eq(&w, &self.store)
        {
            close_writer(&w).await;
        }
    }
}

/// Closes a sequencer's own PostgreSQL connections (a redb store is closed when dropped).
async fn close_writer(writer: &AnyStore) {
    if let Backend::Postgres(store) = writer.backend() {
        let _ = tokio::time::timeout(LEASE_TIMEOUT, store.pool().close()).await;
    }
}

/// Several servers on one PostgreSQL database: the lease, the holder's address, forwarding.
pub(crate) struct Cluster {
    /// The database (its pool has no `search_path`; names are schema-qualified).
    pub(crate) db: Database,
    /// Where other servers reach this one.
    pub(crate) peer_url: String,
    client: reqwest::Client,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// The newest [`LeaseView`] this server has read or made: forwarded requests wait on it.
    view: watch::Sender<LeaseView>,
}

/// How a forwarding attempt ended.
pub(crate) enum Forwarded {
    /// With this answer for the client (the holder's, or a 503).
    Answer(Result<Response, ApiError>),
    /// Not handled; look again (this server may sequence now). Either the lease moved on while
    /// the request waited for its holder, which can then no longer commit it, so it may be
    /// handled (or forwarded) again; or no server sequenced yet.
    Retry,
}

impl Cluster {
    pub(crate) fn new(
        db: Database,
        peer_url: String,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<Cluster, ServerError> {
        let client = reqwest::Client::builder()
            .connect_timeout(FORWARD_CONNECT_TIMEOUT)
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|e| ServerError::Database {
                what: "building the forwarding HTTP client",
                source: Box::new(e),
            })?;
        let (view, _) = watch::channel(LeaseView::default());
        Ok(Cluster {
            db,
            peer_url,
            client,
            clock,
            metrics,
            view,
        })
    }

    /// Raises the known view of the lease to `seen` if it is newer.
    fn observe(&self, seen: LeaseView) {
        self.view.send_if_modified(|current| {
            let newer = seen.is_newer_than(current);
            if newer {
                *current = seen;
            }
            newer
        });
    }

    /// Reads the lease from the database into the known view; returns what was read.
    async fn refresh_view(&self) -> Result<LeaseView, sqlx::Error> {
        let seen = self.db.lease_view().await?;
        self.observe(seen.clone());
        Ok(seen)
    }

    /// Forwards a create request to the sequencing server and relays its answer, unless the
    /// lease moves on first. Gives up (503) at `deadline`.
    ///
    /// The request goes to the holder of the current epoch. If that epoch has no holder that
    /// sequences yet (a takeover in progress), it waits (up to a lease interval) for the lease
    /// to move and asks for a retry. If the lease moves to a later
    /// epoch while the holder has not answered (it may be stopped), it stops waiting: the old
    /// holder's commits are refused from then on (see [`crate::postgres`]), so the request can
    /// be handled again without being logged twice (an entry the old holder did commit first
    /// is a duplicate the next time).
    pub(crate) async fn forward(
        &self,
        api: Api,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
        deadline: Instant,
    ) -> Forwarded {
        let unavailable = |message: &str| {
            Forwarded::Answer(Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: message.to_owned(),
            }))
        };
        if headers.contains_key(FORWARDED) {
            // The sender thought we sequence; we no longer (or not yet) do.
            return unavailable("this server does not sequence the log right now; retry");
        }
        if Instant::now() >= deadline {
            return unavailable("no server sequences the log right now; retry");
        }
        let mut views = self.view.subscribe();
        let used = match tokio::time::timeout_at(deadline, self.refresh_view()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                return Forwarded::Answer(Err(ApiError::internal(
                    "read the sequencer's address",
                    &e,
                )));
            }
            Err(_) => return unavailable("the database did not answer in time; retry"),
        };
        let Some(holder) = used.holder.clone().filter(|url| *url != self.peer_url) else {
            // Nobody sequences at this epoch yet (a takeover in progress), or the holder is
            // this server, which has just started or stopped sequencing: look again when the
            // lease moves, or after a lease interval.
            let until = deadline.min(Instant::now() + LEASE_INTERVAL);
            let _ =
                tokio::time::timeout_at(until, views.wait_for(|seen| seen.is_newer_than(&used)))
                    .await;
            return Forwarded::Retry;
        };
        let url = format!("{}{path}", holder.trim_end_matches('/'));
        let exchange = async {
            let answer = self
                .client
                .post(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(FORWARDED, "1")
                .body(body)
                .send()
                .await?;
            let status = answer.status();
            let mut relayed = HeaderMap::new();
            for name in [header::CONTENT_TYPE, header::LOCATION, header::ETAG] {
                if let Some(v) = answer.headers().get(&name) {
                    relayed.insert(name, v.clone());
                }
            }
            let bytes = answer.bytes().await?;
            Ok::<_, reqwest::Error>((status, relayed, bytes))
        };
        let result = tokio::select! {
            r = tokio::time::timeout_at(deadline, exchange) => r,
            Ok(_) = views.wait_for(|seen| seen.epoch > used.epoch) => {
                self.metrics.forwarded(api, false);
                eprintln!("signet-server: the lease moved on while forwarding to {url}; retrying");
                return Forwarded::Retry;
            }
        };
        let (status, relayed, bytes) = match result {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.metrics.forwarded(api, false);
                eprintln!("signet-server: forwarding to {url}: {e}");
                return unavailable("the sequencing server cannot be reached; retry");
            }
            Err(_) => {
                self.metrics.forwarded(api, false);
                eprintln!("signet-server: forwarding to {url}: no answer in time");
                return unavailable("the sequencing server did not answer in time; retry");
            }
        };
        self.metrics.forwarded(api, true);
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
        Forwarded::Answer(Ok(response))
    }
}

/// The schema a log lives in.
fn schema_of(api: Api) -> &'static str {
    match api {
        Api::V1 => V1_SCHEMA,
        Api::V2 => V2_SCHEMA,
    }
}

/// Tries the lease once: on success starts sequencing both logs, each through a store fenced
/// by the lease's epoch, and records this server as the holder.
async fn try_take(cluster: &Cluster, logs: &[Arc<LogHandle>]) -> Option<SequencerLease> {
    // The statement timeout on the lease connection bounds this too; this covers connecting.
    let lease = match tokio::time::timeout(LEASE_TIMEOUT * 3, cluster.db.try_lease()).await {
        Ok(Ok(Some(l))) => l,
        Ok(Ok(None)) => return None,
        Ok(Err(e)) => {
            eprintln!("signet-server: trying the sequencer lease: {e}");
            return None;
        }
        Err(_) => {
            eprintln!("signet-server: trying the sequencer lease: no answer in time");
            return None;
        }
    };
    let epoch = lease.epoch();
    for log in logs {
        let started = match cluster.db.sequencer_store(schema_of(log.api), epoch).await {
            Ok(store) => {
                // Shares the log's metrics and tile cache.
                let writer = log.store.sibling(Backend::Postgres(store));
                log.start_sequencing(Arc::new(writer)).await
            }
            Err(e) => Err(LogError::Store(e)),
        };
        if let Err(e) = started {
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
    let since = i64::try_from(cluster.clock.now_ms()).unwrap_or(i64::MAX);
    if let Err(e) = cluster
        .db
        .record_holder(&cluster.peer_url, epoch, since)
        .await
    {
        eprintln!("signet-server: recording this server as the sequencer: {e}");
    }
    // Requests waiting to be forwarded see that this server now sequences.
    cluster.observe(LeaseView {
        epoch,
        holder: Some(cluster.peer_url.clone()),
    });
    Some(lease)
}

/// Takes the lease if it is free right now, else waits (up to `timeout`) until the holder has
/// published a checkpoint in every log so that this server can serve reads. Returns the lease
/// if taken.
pub(crate) async fn first_round(
    cluster: &Cluster,
    logs: &[Arc<LogHandle>],
    timeout: Duration,
) -> Result<Option<SequencerLease>, ServerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(lease) = try_take(cluster, logs).await {
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

/// Checks a held lease: the lease connection answers in time with this lease's epoch (which
/// also proves this server alive to the database), and both sequencers still run.
async fn check_held(held: &mut SequencerLease, logs: &[Arc<LogHandle>]) -> Result<(), String> {
    match tokio::time::timeout(LEASE_TIMEOUT, held.check()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("the lease check got no answer in time".into()),
    }
    match logs.iter().find(|log| !log.sequencer_runs()) {
        Some(log) => Err(format!("the {} log's sequencer stopped", log.api.label())),
        None => Ok(()),
    }
}

/// The lease loop: runs until `stop` turns true, then stops sequencing and releases the lease.
pub(crate) async fn run_lease(
    cluster: Arc<Cluster>,
    logs: Vec<Arc<LogHandle>>,
    mut lease: Option<SequencerLease>,
    mut stop: watch::Receiver<bool>,
) {
    let metrics = Arc::clone(&cluster.metrics);
    metrics.sequencer(lease.is_some());
    loop {
        tokio::select! {
            () = tokio::time::sleep(LEASE_INTERVAL) => {}
            _ = stop.wait_for(|&s| s) => break,
        }
        match lease.take() {
            Some(mut held) => match check_held(&mut held, &logs).await {
                Ok(()) => lease = Some(held),
                Err(why) => {
                    eprintln!("signet-server: lost the sequencer lease ({why}); following");
                    for log in &logs {
                        log.stop_sequencing().await;
                    }
                    // Releases the lock if the connection still works; dropping it closes it.
                    let _ = tokio::time::timeout(LEASE_TIMEOUT, held.release()).await;
                    metrics.sequencer(false);
                }
            },
            None => {
                lease = try_take(&cluster, &logs).await;
                if lease.is_some() {
                    eprintln!("signet-server: took the sequencer lease");
                    metrics.sequencer(true);
                } else {
                    let _ = cluster.refresh_view().await;
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
        let _ = tokio::time::timeout(LEASE_TIMEOUT, held.release()).await;
    }
}
