//! The CT log on PostgreSQL, shared by several processes (feature `postgres`): the CAs of
//! several `signet up` / `signet serve ca` replicas log in one CT log.
//!
//! # Layout
//!
//! Everything lives in the schema [`CT_SCHEMA`] (`signet_ct`): the log's
//! [`signet_log::PostgresStore`] tables (`log_entries`, `log_leaves`, `log_tiles`,
//! `log_bundles`, `log_state`), the extra data and issued SCTs
//! ([`crate::PostgresExtraDataStore`]: `ct_extra_data`, `ct_issued_scts`), and the lease's
//! tables (`lease`, `sequencer`) and fence (see [`signet_log::lease`]).
//!
//! # The lease
//!
//! The CT log has **its own lease** ([`CT_LEASE_SCOPE`]: its own advisory-lock key, epoch and
//! holder row), separate from the Rekor logs' lease of `signet-server`. The services do not
//! know each other, and they need not run in the same processes: `signet serve ca` replicas
//! have no Rekor logs to sequence and `signet serve log` replicas no CT log, so a shared lease
//! could be taken by a process that cannot sequence the other service's log. In a `signet up`
//! replica set, the two leases may therefore be held by different replicas; each is taken,
//! kept, lost and fenced exactly as the Rekor logs' lease is:
//!
//! - every [`LEASE_INTERVAL`](signet_log::lease::LEASE_INTERVAL) the holder proves it is alive
//!   on its lease connection (and checks that its sequencer still runs); a follower tries to take
//!   the lease;
//! - a holder that stops proving it (killed, SIGSTOPped, hung) loses the lease within
//!   [`LEASE_TIMEOUT`]; a follower takes it, raises the epoch, opens the log (which signs a tree
//!   head over entries the old holder staged without one, as a restart does) and records its
//!   peer URL in `signet_ct.sequencer`;
//! - the holder writes the log through a store whose connections carry its epoch; a trigger on
//!   `log_state` refuses every commit under an old epoch, so a stopped holder that resumes can
//!   stage nothing and publish no tree head, and so hands out no SCT.
//!
//! # Durability
//!
//! Unchanged from a single process: the holder answers a submission with an SCT only after its
//! extra data and issued-SCT record are committed, its leaf is staged, and a tree head covering
//! it is published, each commit with `synchronous_commit` on. An SCT therefore always names an
//! entry in the tree, whichever process later takes over.
//!
//! # Reads and forwarding
//!
//! Every process serves the read API from the database: a follower reads the stored tree head
//! on each request (and never serves one older than it already served). A follower's CA (or a
//! client, with public `add-pre-chain`) submits precertificates through [`CtLog::add_pre_chain`]
//! as on the holder: the follower checks the submission itself (bad input is a 4xx without a
//! round trip), then forwards it to the holder's `POST <peer URL>/ct/v1/add-pre-chain` with the
//! `x-signet-forwarded` header, and returns the holder's SCT. A forwarded submission is never
//! forwarded again (503 if its receiver does not sequence). A follower gives up after
//! [`FORWARD_TIMEOUT`] with a 503; if the lease moves on while it waits for the old holder (or
//! after the old holder could not be reached), it submits again to the new one (the old one
//! can no longer commit it; a submission it did commit first gets its first SCT back).
//!
//! The lease loop and this forwarding protocol are [`signet_log::lease::LeaseMember`]'s, the
//! same the Rekor logs of `signet-server` run; this module says what sequencing means for the
//! CT log (a [`signet_log::lease::LeaseHolder`]), sends submissions over HTTP and checks the
//! SCTs that come back.
//!
//! # Deployment
//!
//! Every replica must hold the same CT log key (the log ID is its hash; a replica with another
//! key refuses to start on the database's log) and the same public URL (the checkpoint
//! origin), and reach the others at its own `peer_url`.

use crate::extra_pg::PostgresExtraDataStore;
use crate::{
    CheckedPrecert, CtError, CtLog, CtLogConfig, SignedCertificateTimestamp, sct_signed_data,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signet_log::lease::{
    self, FORWARD_CONNECT_TIMEOUT, FORWARDED_HEADER, LEASE_TIMEOUT, LeaseDb, LeaseHolder,
    LeaseMember, LeaseScope, Unavailable,
};
use signet_log::{LogError, PostgresStore};
use signet_signer::{SharedSigner, SignerAlgorithm};
use sqlx::postgres::PgConnectOptions;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

pub use signet_log::lease::FORWARD_TIMEOUT;

/// The CT log's schema.
pub const CT_SCHEMA: &str = "signet_ct";

/// The CT log's lease: its tables in [`CT_SCHEMA`], its own advisory-lock key (`"signetct"`).
pub const CT_LEASE_SCOPE: LeaseScope = LeaseScope {
    schema: CT_SCHEMA,
    lock_key: 0x7369_676e_6574_6374,
};

/// A database laid out for a shared CT log: the schema, the log's store, the extra data and
/// the lease tables, created if missing. Open the log with [`CtLog::open_clustered`].
#[derive(Debug)]
pub struct CtDatabase {
    lease: LeaseDb,
    store: PostgresStore,
    extra: PostgresExtraDataStore,
}

fn database(what: &'static str) -> impl Fn(sqlx::Error) -> CtError {
    move |e| CtError::Database {
        what,
        detail: e.to_string(),
    }
}

impl CtDatabase {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) and creates the CT
    /// log's schema and tables if missing.
    ///
    /// # Errors
    /// [`CtError::Database`], [`CtError::Log`] or [`CtError::ExtraData`] naming the step that
    /// failed.
    pub async fn connect(url: &str) -> Result<CtDatabase, CtError> {
        let options: PgConnectOptions = url.parse().map_err(database("parse the database URL"))?;
        let lease = LeaseDb::connect(options, CT_LEASE_SCOPE)
            .await
            .map_err(database("connect"))?;
        lease.setup().await.map_err(database("create the schema"))?;
        let store = lease
            .log_store(CT_SCHEMA)
            .await
            .map_err(|e| CtError::Log(e.into()))?;
        lease
            .fence_log(CT_SCHEMA)
            .await
            .map_err(database("install the lease fence"))?;
        let extra = PostgresExtraDataStore::open(store.pool().clone()).await?;
        Ok(CtDatabase {
            lease,
            store,
            extra,
        })
    }

    /// The extra-data store in the database.
    pub fn extra_data(&self) -> Arc<PostgresExtraDataStore> {
        Arc::new(self.extra.clone())
    }
}

/// How an [`CtLog::open_clustered`] process takes part.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where the other processes reach this one (`http://host:port`, its listen address, not a
    /// load balancer): they forward submissions to `<peer_url>/ct/v1/add-pre-chain`.
    pub peer_url: String,
    /// How long opening waits for another process to publish the first tree head when this
    /// one does not get the lease.
    pub first_tree_head_timeout: Duration,
}

/// The lease, the holder's address and forwarding, for one [`CtLog`] (the machinery is
/// [`LeaseMember`]'s; this adds the CT log and HTTP).
pub(crate) struct CtCluster {
    member: LeaseMember,
    client: reqwest::Client,
    /// The CT log as the lease's [`LeaseHolder`].
    sequencing: CtSequencing,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The CT log as the lease's [`LeaseHolder`]: the holder sequences it through a store fenced
/// by the lease's epoch.
struct CtSequencing {
    /// The log (the lease loop ends once it is dropped).
    log: Weak<CtLog>,
    /// The fenced store the running sequencer writes through, closed when it stops.
    writer: Mutex<Option<PostgresStore>>,
}

impl LeaseHolder for CtSequencing {
    type Error = CtError;

    async fn start_sequencing(&self, db: &LeaseDb, epoch: i64) -> Result<(), CtError> {
        let log = self.log.upgrade().ok_or(CtError::Log(LogError::Closed))?;
        let writer = db
            .sequencer_store(CT_SCHEMA, epoch)
            .await
            .map_err(|e| CtError::Log(e.into()))?;
        let started = log.start_sequencing(Arc::new(writer.clone())).await;
        if started.is_ok() {
            *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
        } else {
            close_store(&writer).await;
        }
        started
    }

    async fn stop_sequencing(&self) {
        if let Some(log) = self.log.upgrade() {
            log.stop_sequencing().await;
        }
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            close_store(&writer).await;
        }
    }

    fn stopped_sequencer(&self) -> Option<String> {
        match self.log.upgrade() {
            Some(log) if log.sequencer_runs() => None,
            _ => Some("the CT log's sequencer stopped".into()),
        }
    }

    async fn refresh(&self) {
        if let Some(log) = self.log.upgrade() {
            let _ = log.refresh().await;
        }
    }

    fn is_gone(&self) -> bool {
        self.log.strong_count() == 0
    }
}

/// How a forwarding attempt ended.
pub(crate) enum Forwarded {
    /// With this answer (the holder's SCT, or an error).
    Answer(Result<SignedCertificateTimestamp, CtError>),
    /// Not handled; look again (this process may sequence now).
    Retry,
}

/// The SCT as `add-pre-chain` answers it.
#[derive(serde::Deserialize)]
struct SctJson {
    id: String,
    timestamp: u64,
    extensions: String,
    signature: String,
}

impl CtCluster {
    /// Forwards a checked submission to the holder of the lease and returns its SCT, unless
    /// the lease moves on first. Gives up (503) at `deadline`. One round of
    /// [`LeaseMember::forward`], the protocol `signet-server` forwards Rekor entries by:
    /// `forwarded` submissions are not forwarded again.
    pub(crate) async fn forward(
        &self,
        log: &CtLog,
        checked: &CheckedPrecert,
        (precert_der, chain): (&[u8], &[Vec<u8>]),
        forwarded: bool,
        deadline: Instant,
    ) -> Forwarded {
        let mut certs = Vec::with_capacity(chain.len().saturating_add(1));
        certs.push(STANDARD.encode(precert_der));
        certs.extend(chain.iter().map(|c| STANDARD.encode(c)));
        let body = serde_json::json!({ "chain": certs });
        let send = |holder: String| async move {
            let url = format!("{}/ct/v1/add-pre-chain", holder.trim_end_matches('/'));
            let answer = self
                .client
                .post(&url)
                .header(FORWARDED_HEADER, "1")
                .json(&body)
                .send()
                .await?;
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        match self.member.forward(forwarded, deadline, send).await {
            lease::Forwarded::Answer((status, bytes)) => {
                Forwarded::Answer(read_answer(log, checked, status, &bytes))
            }
            lease::Forwarded::Retry { .. } => Forwarded::Retry,
            lease::Forwarded::Unavailable(why) => {
                if let Unavailable::Database(e) = &why {
                    eprintln!("signet-ct: reading the CT sequencer's address: {e}");
                }
                Forwarded::Answer(Err(CtError::SequencerUnavailable {
                    reason: why.to_string(),
                }))
            }
        }
    }

    /// Stops the lease loop, which stops sequencing and releases the lease.
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn close_store(store: &PostgresStore) {
    let _ = tokio::time::timeout(LEASE_TIMEOUT, store.pool().close()).await;
}

/// The holder's answer to a forwarded submission: an SCT that must verify, with this log's
/// key, over the precertificate submitted (a follower never hands out an SCT that does not).
fn read_answer(
    log: &CtLog,
    checked: &CheckedPrecert,
    status: u16,
    bytes: &[u8],
) -> Result<SignedCertificateTimestamp, CtError> {
    if status != 200 {
        let message = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if status == 503 {
            CtError::SequencerUnavailable { reason: message }
        } else {
            CtError::Forwarded { status, message }
        });
    }
    let bad = |message: &str| CtError::Forwarded {
        status: 502,
        message: message.to_owned(),
    };
    let sct: SctJson =
        serde_json::from_slice(bytes).map_err(|_| bad("an SCT that does not parse"))?;
    let id = STANDARD
        .decode(&sct.id)
        .map_err(|_| bad("a log ID that is not base64"))?;
    if id.as_slice() != log.log_id().as_slice() {
        return Err(bad("an SCT of another log (is its CT key this one's?)"));
    }
    let extensions = STANDARD
        .decode(&sct.extensions)
        .map_err(|_| bad("extensions that are not base64"))?;
    let signature = STANDARD
        .decode(&sct.signature)
        .map_err(|_| bad("a signature that is not base64"))?;
    let signed = sct_signed_data(
        sct.timestamp,
        &checked.issuer_key_hash,
        &checked.tbs,
        &extensions,
    )?;
    // DigitallySigned: SHA-256 (4), ECDSA (3), u16 length, the DER signature.
    let der = match signature.as_slice() {
        [4, 3, hi, lo, der @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == der.len() => der,
        _ => {
            return Err(bad(
                "a signature that is not an ECDSA SHA-256 DigitallySigned",
            ));
        }
    };
    if !SignerAlgorithm::EcdsaP256Sha256.verify(log.public_key_spki_der(), &signed, der) {
        return Err(bad("an SCT that does not verify with this log's key"));
    }
    Ok(SignedCertificateTimestamp {
        log_id: log.log_id(),
        timestamp_ms: sct.timestamp,
        extensions,
        signature,
    })
}

impl CtLog {
    /// Opens the CT log in `db`, shared with any number of other processes (see the module
    /// documentation): takes the lease and sequences if it is free, else waits (up to
    /// [`ClusterConfig::first_tree_head_timeout`]) for the holder's first tree head and
    /// follows. A lease loop then runs until [`CtLog::shutdown`]. `config.extra_data` is
    /// replaced by the database's.
    ///
    /// # Errors
    /// Those of [`CtLog::open`]; [`CtError::SequencerUnavailable`] if no process published a
    /// tree head in time; [`CtError::Corrupt`] if the database's log was signed by another key
    /// or has another origin.
    pub async fn open_clustered(
        db: CtDatabase,
        signer: SharedSigner,
        mut config: CtLogConfig,
        cluster: ClusterConfig,
    ) -> Result<Arc<CtLog>, CtError> {
        config.extra_data = db.extra_data();
        let clock = config.clock.clone();
        let log = Arc::new(CtLog::unstarted(Arc::new(db.store), signer, config)?);
        let client = reqwest::Client::builder()
            .connect_timeout(FORWARD_CONNECT_TIMEOUT)
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|e| CtError::SequencerUnavailable {
                reason: format!("building the forwarding HTTP client: {e}"),
            })?;
        let (stop, stop_rx) = watch::channel(false);
        let member = LeaseMember::new(
            db.lease,
            cluster.peer_url,
            move || clock.now_ms(),
            "signet-ct",
            "CT sequencer lease",
        );
        let ct = Arc::new(CtCluster {
            member,
            client,
            sequencing: CtSequencing {
                log: Arc::downgrade(&log),
                writer: Mutex::new(None),
            },
            stop,
            task: Mutex::new(None),
        });
        // First round: take the lease, or wait for the holder's first tree head.
        let deadline = Instant::now() + cluster.first_tree_head_timeout;
        let lease = loop {
            if let Some(lease) = ct.member.try_take(&ct.sequencing).await {
                break Some(lease);
            }
            log.refresh().await?;
            if !log.latest_checkpoint().note.is_empty() {
                break None;
            }
            if Instant::now() >= deadline {
                return Err(CtError::SequencerUnavailable {
                    reason: "no server published a CT tree head in time".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let _ = ct.member.refresh_view().await;
        // A log of another key or origin cannot be served: refuse now.
        if let Err(e) = log.latest_sth() {
            if let Some(lease) = lease {
                ct.sequencing.stop_sequencing().await;
                let _ = tokio::time::timeout(LEASE_TIMEOUT, lease.release()).await;
            }
            return Err(e);
        }
        if log.cluster.set(Arc::clone(&ct)).is_err() {
            return Err(CtError::SequencerUnavailable {
                reason: "the log is already clustered".into(),
            });
        }
        let loop_ct = Arc::clone(&ct);
        let task = tokio::spawn(async move {
            loop_ct
                .member
                .run(&loop_ct.sequencing, lease, stop_rx)
                .await;
        });
        *ct.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(log)
    }
}
