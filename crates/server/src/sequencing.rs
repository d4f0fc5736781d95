//! Who sequences: one log's handle ([`LogHandle`]), and, on PostgreSQL, the lease loop that
//! decides which of several servers sharing a database sequences both logs ([`Cluster`]).
//!
//! On redb the server always sequences. On PostgreSQL every server tries the database's
//! single-sequencer lease ([`SequencerLease`], see [`crate::postgres`]): the holder runs a
//! sequencer and a batcher per log, each writing through a store fenced by the lease's epoch,
//! and records its peer URL in `signet_server.sequencer`; the others are followers: they serve
//! every read from the database and forward create requests over HTTP to the recorded holder.
//!
//! **A follower's checkpoint.** A follower answers reads against the newest checkpoint it has
//! read from the database, and reads it again only when that copy may be stale
//! ([`signet_log::Freshness`]): a notification of a checkpoint commit arrived
//! ([`signet_log::watch_checkpoints`]; the sequencer's commit sends it), a write it forwarded was
//! answered, its listener (re)connected, or the copy is older than the follower's maximum
//! staleness ([`crate::FOLLOWER_MAX_STALENESS`] by default; zero reads on every request). A
//! request for an entry or a tree size past the copy reads the database first. So a follower
//! never serves a tree older than one it served before, never one older than its maximum
//! staleness, normally one only as old as a notification's delivery, and a client that wrote
//! through it reads its entry back at once. Requests waiting for a read share it.
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
//! A forwarded create gets the holder's answer within [`FORWARD_TIMEOUT`], else a 503; a
//! create forwarded to this server is never forwarded again (503 if it does not sequence). If
//! the lease moves on while a request waits for the old holder, or after the old holder could
//! not be reached (it died), the request is handled again by the new one (possibly this
//! server): the old holder can no longer commit it. A holder that cannot be reached and is
//! not replaced by the deadline gets the request a 503 then.
//!
//! The lease loop and the forwarding protocol are [`signet_log::lease::LeaseMember`]'s,
//! shared with the CA's CT log; this module says what sequencing means for the Rekor logs
//! (a [`signet_log::lease::LeaseHolder`]) and sends forwarded requests over HTTP.

use crate::metrics::{Api, Metrics};
use crate::postgres::{Database, LEASE_TIMEOUT, SequencerLease, V1_SCHEMA, V2_SCHEMA};
use crate::store::{AnyStore, Backend};
use crate::{ApiError, ServerError};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use signet_clock::Clock;
use signet_log::lease::{self, LeaseDb, LeaseHolder, LeaseMember, Unavailable};
use signet_log::{
    Batcher, BatcherConfig, CheckpointGuard, Freshness, LogError, LogStore, Sequencer,
    SequencerConfig, StoredCheckpoint, raise_checkpoint,
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
    /// While not sequencing: whether `latest` may answer a read without reading the store.
    pub(crate) freshness: Freshness,
    /// One read of the store's checkpoint at a time; requests waiting share the next one.
    reading: tokio::sync::Mutex<()>,
    /// When the last failed read of the store's checkpoint started, and its error: requests
    /// that arrived before it get the same answer instead of trying again one after another.
    failed_read: Mutex<Option<(std::time::Instant, ApiError)>>,
}

/// Longest a read of the store's checkpoint may take before the request gets a 503.
const CHECKPOINT_READ_TIMEOUT: Duration = LEASE_TIMEOUT;

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
            freshness: Freshness::new(Duration::ZERO),
            reading: tokio::sync::Mutex::new(()),
            failed_read: Mutex::new(None),
        }
    }

    /// While not sequencing, answers from the copy of the checkpoint up to `max` old (see the
    /// module docs); without this, every answer reads the store's checkpoint.
    pub(crate) fn follower_max_staleness(mut self, max: Duration) -> LogHandle {
        self.freshness = Freshness::new(max);
        self
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
        raise_checkpoint(&self.latest, cp);
    }

    /// The newest checkpoint known without a store read (for `/metrics`, `/readyz`).
    pub(crate) fn latest(&self) -> Arc<StoredCheckpoint> {
        Arc::clone(&self.latest.borrow())
    }

    /// Sees each newer checkpoint (the search indexer follows it).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<StoredCheckpoint>> {
        self.latest.subscribe()
    }

    /// The checkpoint to answer a read with: the batcher's while sequencing, else the newest
    /// one known if it is fresh (see [`Freshness`]: no checkpoint was committed since it was
    /// read, as far as notifications and forwarded writes tell, and it was read less than the
    /// follower's maximum staleness ago), else the store's, read now.
    pub(crate) async fn checkpoint(&self) -> Result<Arc<StoredCheckpoint>, ApiError> {
        self.checkpoint_at(std::time::Instant::now()).await
    }

    /// [`LogHandle::checkpoint`] for a request that arrived at `arrived`.
    async fn checkpoint_at(
        &self,
        arrived: std::time::Instant,
    ) -> Result<Arc<StoredCheckpoint>, ApiError> {
        if let Some(b) = self.batcher() {
            return Ok(b.latest_checkpoint());
        }
        if self.freshness.use_copy(arrived) {
            return Ok(self.latest());
        }
        self.read_checkpoint(arrived).await
    }

    /// [`LogHandle::checkpoint`], read from the store if the one known is smaller than `size`:
    /// a request for an entry or a tree that the database may have and the copy lacks does not
    /// get a 404 just because the notification has not arrived yet.
    pub(crate) async fn checkpoint_covering(
        &self,
        size: u64,
    ) -> Result<Arc<StoredCheckpoint>, ApiError> {
        let arrived = std::time::Instant::now();
        let cp = self.checkpoint_at(arrived).await?;
        if cp.size.0 >= size || self.is_sequencing() {
            return Ok(cp);
        }
        // Reads again only if the checkpoint above came from the copy.
        self.read_checkpoint(arrived).await
    }

    /// The store's checkpoint as of `arrived` or later: one read at a time, and a request that
    /// arrived before a read started shares its answer, or its failure. A read that takes longer
    /// than [`CHECKPOINT_READ_TIMEOUT`] is a 503.
    async fn read_checkpoint(
        &self,
        arrived: std::time::Instant,
    ) -> Result<Arc<StoredCheckpoint>, ApiError> {
        let _one = self.reading.lock().await;
        if self.freshness.read_since(arrived) {
            return Ok(self.latest());
        }
        let failed = self
            .failed_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((started, e)) = failed
            && started >= arrived
        {
            return Err(e);
        }
        let started = std::time::Instant::now();
        let read = match tokio::time::timeout(CHECKPOINT_READ_TIMEOUT, self.refresh()).await {
            Ok(read) => read,
            Err(_) => Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "the database did not answer in time".into(),
            }),
        };
        match read {
            Ok(()) => Ok(self.latest()),
            Err(e) => {
                *self.failed_read.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((started, e.clone()));
                Err(e)
            }
        }
    }

    /// Reads the store's checkpoint into the known one.
    pub(crate) async fn refresh(&self) -> Result<(), ApiError> {
        let ticket = self.freshness.read_started(std::time::Instant::now());
        let state = self
            .store
            .state()
            .await
            .map_err(|e| ApiError::internal("read log state", &e))?;
        if let Some(cp) = state.checkpoint {
            self.offer(Arc::new(cp));
        }
        self.freshness.read_done(ticket);
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
        batcher.publish_to(&self.latest);
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

/// Several servers on one PostgreSQL database: the lease, the holder's address, forwarding
/// (the machinery is [`signet_log::lease::LeaseMember`]'s; this adds the Rekor logs and HTTP).
pub(crate) struct Cluster {
    member: LeaseMember,
    /// The database's connection options, for the checkpoint listener.
    options: sqlx::postgres::PgConnectOptions,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// How a forwarding attempt ended.
pub(crate) enum Forwarded {
    /// With this answer for the client (the holder's, or a 503).
    Answer(Result<Response, ApiError>),
    /// Not handled; look again (this server may sequence now). Either the lease moved on while
    /// the request waited for its holder, or after its holder could not be reached, and that
    /// holder can then no longer commit it, so it may be handled (or forwarded) again; or no
    /// server sequenced yet.
    Retry,
}

/// The holder's answer to a forwarded create request: its status, the headers relayed to the
/// client, and its body.
type HolderAnswer = (reqwest::StatusCode, HeaderMap, Bytes);

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
        let options = db.lease().options().clone();
        let member = LeaseMember::new(
            db.lease().clone(),
            peer_url,
            move || clock.now_ms(),
            "signet-server",
            "sequencer lease",
        );
        Ok(Cluster {
            member,
            options,
            client,
            metrics,
        })
    }

    /// Forwards a create request to the sequencing server and relays its answer, unless the
    /// lease moves on first. Gives up (503) at `deadline`. One round of
    /// [`LeaseMember::forward`]: a request forwarded to this server is not forwarded again; if
    /// the lease moves to a later epoch while the holder has not answered (it may be
    /// stopped), or after the holder could not be reached (it died), the request is handled
    /// again by the new holder: the old one's commits are refused from then on (see
    /// [`crate::postgres`]), so it is not logged twice (an entry the old holder did commit
    /// first is a duplicate the next time).
    pub(crate) async fn forward(
        &self,
        api: Api,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
        deadline: Instant,
    ) -> Forwarded {
        let send = |holder: String| async move {
            let url = format!("{}{path}", holder.trim_end_matches('/'));
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
            Ok::<HolderAnswer, reqwest::Error>((status, relayed, bytes))
        };
        let round = self
            .member
            .forward(headers.contains_key(FORWARDED), deadline, send)
            .await;
        let unavailable = |why: Unavailable| {
            Forwarded::Answer(Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: why.to_string(),
            }))
        };
        let (status, relayed, bytes) = match round {
            lease::Forwarded::Answer(answer) => answer,
            lease::Forwarded::Retry { abandoned } => {
                if abandoned {
                    self.metrics.forwarded(api, false);
                }
                return Forwarded::Retry;
            }
            lease::Forwarded::Unavailable(Unavailable::Database(e)) => {
                return Forwarded::Answer(Err(ApiError::internal(
                    "read the sequencer's address",
                    &e,
                )));
            }
            lease::Forwarded::Unavailable(
                why @ (Unavailable::Unreachable | Unavailable::NoAnswer),
            ) => {
                self.metrics.forwarded(api, false);
                return unavailable(why);
            }
            lease::Forwarded::Unavailable(why) => return unavailable(why),
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

/// The Rekor logs as the lease's [`LeaseHolder`]: the holder sequences both, each through a
/// store fenced by the lease's epoch.
struct RekorLogs<'a> {
    logs: &'a [Arc<LogHandle>],
    metrics: &'a Metrics,
}

impl LeaseHolder for RekorLogs<'_> {
    type Error = String;

    async fn start_sequencing(&self, db: &LeaseDb, epoch: i64) -> Result<(), String> {
        for log in self.logs {
            let started = match db.sequencer_store(schema_of(log.api), epoch).await {
                Ok(store) => {
                    // Shares the log's metrics and tile cache.
                    let writer = log.store.sibling(Backend::Postgres(store));
                    log.start_sequencing(Arc::new(writer)).await
                }
                Err(e) => Err(LogError::Store(e)),
            };
            if let Err(e) = started {
                self.stop_sequencing().await;
                return Err(format!("the {} log: {e}", log.api.label()));
            }
        }
        Ok(())
    }

    async fn stop_sequencing(&self) {
        for log in self.logs {
            log.stop_sequencing().await;
        }
    }

    fn stopped_sequencer(&self) -> Option<String> {
        self.logs
            .iter()
            .find(|log| !log.sequencer_runs())
            .map(|log| format!("the {} log's sequencer stopped", log.api.label()))
    }

    async fn refresh(&self) {
        for log in self.logs {
            let _ = log.refresh().await;
        }
    }

    fn lease_changed(&self, held: bool) {
        self.metrics.sequencer(held);
        for log in self.logs {
            log.freshness.changed();
        }
    }
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
    let holder = RekorLogs {
        logs,
        metrics: &cluster.metrics,
    };
    loop {
        if let Some(lease) = cluster.member.try_take(&holder).await {
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

/// The lease loop ([`LeaseMember::run`]) and, beside it, the listener for the logs' checkpoint
/// commits ([`signet_log::watch_checkpoints`]), which tells each log's [`Freshness`] when the
/// database's checkpoint moved. Runs until `stop` turns true, then stops sequencing and
/// releases the lease.
pub(crate) async fn run_lease(
    cluster: Arc<Cluster>,
    logs: Vec<Arc<LogHandle>>,
    lease: Option<SequencerLease>,
    stop: watch::Receiver<bool>,
) {
    let holder = RekorLogs {
        logs: &logs,
        metrics: &cluster.metrics,
    };
    let changed = |schema: Option<&str>| {
        for log in &logs {
            if schema.is_none_or(|s| s == schema_of(log.api)) {
                log.freshness.changed();
            }
        }
    };
    let listen = signet_log::watch_checkpoints(
        cluster.options.clone(),
        LEASE_INTERVAL,
        changed,
        stop.clone(),
    );
    tokio::join!(cluster.member.run(&holder, lease, stop), listen);
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_log::{CheckpointFormat, RedbStore, TileCache};
    use signet_testkit::log::{TestClock, entries, open};

    /// A follower's handle on a log that another sequencer (not the handle) appends to, with a
    /// maximum staleness of an hour: only a change, or a read past the copy, refreshes it.
    #[tokio::test]
    async fn a_follower_serves_its_copy_until_told_or_asked_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let redb = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
        let store = Arc::new(AnyStore::new(
            Backend::Redb(Arc::clone(&redb)),
            Api::V2,
            Arc::new(Metrics::new()),
            Arc::new(TileCache::new(1 << 20)),
        ));
        let handle = LogHandle::new(
            Api::V2,
            store,
            Box::new(|| None),
            SequencerConfig {
                origin: "example.com/log".into(),
                format: CheckpointFormat::C2sp,
            },
            BatcherConfig::default(),
            Clock::fixed(1),
            Vec::new(),
        )
        .follower_max_staleness(Duration::from_secs(3600));
        let clock = TestClock::default();
        let mut sequencer = open(&redb, &clock).await.unwrap();
        sequencer.append_batch(entries(0..3)).await.unwrap();
        assert_eq!(handle.checkpoint().await.unwrap().size.0, 3);
        assert_eq!(handle.freshness.counts(), (0, 1));

        // Nothing says the log moved: the copy answers.
        clock.advance(1);
        sequencer.append_batch(entries(3..5)).await.unwrap();
        assert_eq!(handle.checkpoint().await.unwrap().size.0, 3);
        assert_eq!(handle.checkpoint_covering(3).await.unwrap().size.0, 3);
        assert_eq!(handle.freshness.counts(), (2, 1));
        // A read past the copy looks at the store.
        assert_eq!(handle.checkpoint_covering(4).await.unwrap().size.0, 5);
        assert_eq!(handle.freshness.counts(), (3, 2));
        // Past the store's too: one more read, and the store's checkpoint.
        assert_eq!(handle.checkpoint_covering(9).await.unwrap().size.0, 5);

        // Told that it moved: the next read looks.
        clock.advance(1);
        sequencer.append_batch(entries(5..6)).await.unwrap();
        assert_eq!(handle.checkpoint().await.unwrap().size.0, 5);
        handle.freshness.changed();
        assert_eq!(handle.checkpoint().await.unwrap().size.0, 6);
        assert_eq!(handle.freshness.counts(), (5, 4));
        // Never lowered by an older checkpoint.
        let old = handle.latest();
        handle.offer(Arc::new(StoredCheckpoint {
            size: signet_merkle::TreeSize(2),
            timestamp_ms: 0,
            note: Vec::new(),
        }));
        assert!(Arc::ptr_eq(&old, &handle.latest()));
    }
}
