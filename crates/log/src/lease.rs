//! The fenced single-sequencer lease of a log on PostgreSQL (feature `postgres`), shared by
//! every service that runs a log over one database from several processes: the Rekor logs of
//! `signet-server` and the CA's CT log of `signet-ct`.
//!
//! A [`LeaseScope`] names one lease: a schema holding its tables, and an advisory-lock key.
//! [`LeaseDb::setup`] creates, in that schema:
//!
//! - `lease`: one row with the lease's epoch, raised by every process that takes the lease;
//! - `sequencer`: one row with the peer URL of the process holding the lease and the epoch it
//!   took it at, so that the others know where to forward writes;
//! - `fence_log_write()`: the trigger function of the fence (below).
//!
//! **The lease** ([`EpochLease`]) is the scope's advisory lock, held on a dedicated connection
//! with `idle_session_timeout` set to [`LEASE_TIMEOUT`]: the holder proves it is alive by a
//! query on that connection every [`LEASE_INTERVAL`], and a holder that stops doing so
//! (killed, stopped with SIGSTOP, hung) loses its session, and with it the lock, within
//! [`LEASE_TIMEOUT`]. (TCP keepalives would not do: the kernel of a stopped process still
//! answers them.) Whoever takes the lock raises the epoch before it opens its logs.
//!
//! **Fencing.** A sequencer writes through a store of its own ([`LeaseDb::sequencer_store`])
//! whose connections carry the epoch it took the lease at (the setting `signet.lease_epoch`).
//! A trigger on each fenced log's `log_state` row ([`LeaseDb::fence_log`]), which every stage
//! and every checkpoint commit updates, refuses the commit unless that epoch is the scope's
//! current one, and it holds a share lock on the `lease` row until the commit, so raising the
//! epoch waits for commits in flight. A sequencer that lost the lease without noticing (it was
//! stopped and resumed) therefore cannot commit anything once another process has taken over.
//! Those connections also have `idle_in_transaction_session_timeout` set to [`LEASE_TIMEOUT`],
//! so a transaction left open by a stopped sequencer does not hold the log's row lock longer.
//!
//! **Taking part** ([`LeaseMember`]). Every process runs the same lease loop
//! ([`LeaseMember::run`]): every [`LEASE_INTERVAL`] a holder checks its lease (which proves it
//! alive) and that its sequencers still run, and a follower tries to take the lease. A process
//! that takes it starts sequencing at the new epoch, then records its peer URL in `sequencer`;
//! one that loses it (or finds a sequencer stopped) stops sequencing and releases it. What
//! "sequencing" means (which logs, which stores) is the service's [`LeaseHolder`].
//!
//! **Forwarding** ([`LeaseMember::forward`]). A follower forwards a write to the holder of the
//! current epoch; the service sends it (over its own HTTP client, with [`FORWARDED_HEADER`]) and
//! reads the answer. A forwarded write is never forwarded again. If the lease moves to a later
//! epoch while the write waits for the old holder (it may be stopped), or after the old holder
//! could not be reached (it died), the write is handed back to be handled again by the new
//! holder, possibly this process: the old holder's commits are refused from then on (see
//! *Fencing*), so it is not logged twice (a write the old holder did commit first is a
//! duplicate the next time). The write gets an answer, or a 503, by its deadline
//! ([`FORWARD_TIMEOUT`]).

use crate::{PostgresStore, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often a holder checks its lease and a follower tries to take it.
pub const LEASE_INTERVAL: Duration = Duration::from_millis(500);

/// How long a lease holder may go without proving it is alive before its session, and with it
/// the lease, ends (PostgreSQL's `idle_session_timeout` on the lease connection); also how
/// long a sequencer's transaction may stay idle (`idle_in_transaction_session_timeout`).
pub const LEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest a follower spends on a forwarded write (reaching the holder, or the next one if the
/// lease moves on, sending, and reading the answer) before it answers 503; well under the usual
/// client timeouts (30 s or more), and longer than a takeover ([`LEASE_TIMEOUT`] +
/// [`LEASE_INTERVAL`] + recovery).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a follower waits to connect to the holder.
pub const FORWARD_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP header marking a write forwarded by another process: the receiver never forwards
/// it again (it answers 503 if it does not sequence).
pub const FORWARDED_HEADER: &str = "x-signet-forwarded";

/// Upper bound for a statement on the lease connection. Raising the epoch waits for the
/// commits in flight of the previous holder, which its `idle_in_transaction_session_timeout`
/// ends within [`LEASE_TIMEOUT`].
const LEASE_STATEMENT_TIMEOUT: Duration = Duration::from_secs(6);

/// One lease: the schema of its tables and its advisory-lock key. Two scopes with different
/// keys and schemas are independent leases (and may be held by different processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseScope {
    /// The schema of `lease`, `sequencer` and `fence_log_write()`: a plain SQL identifier
    /// (it is interpolated into statements, so it must be a constant, never input).
    pub schema: &'static str,
    /// The advisory-lock key.
    pub lock_key: i64,
}

/// The lease as one process sees it: the epoch and, once the holder of that epoch sequences,
/// its peer URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseView {
    /// Raised by every process that takes the lease; never lowered.
    pub epoch: i64,
    /// The peer URL recorded by the holder of `epoch`; `None` until it sequences.
    pub holder: Option<String>,
}

impl LeaseView {
    /// Whether `self` was read after `other`: a later epoch, or the same epoch whose holder
    /// has since recorded its URL. (Both only ever move forward.)
    pub fn is_newer_than(&self, other: &LeaseView) -> bool {
        self.epoch > other.epoch
            || (self.epoch == other.epoch && other.holder.is_none() && self.holder.is_some())
    }
}

/// A held lease: the scope's advisory lock on a dedicated connection whose session ends after
/// [`LEASE_TIMEOUT`] without a query, and the epoch taken with it. Dropping it closes the
/// connection, which releases the lock.
#[derive(Debug)]
pub struct EpochLease {
    conn: PgConnection,
    epoch: i64,
    scope: LeaseScope,
}

impl EpochLease {
    /// The epoch this lease was taken at; the sequencer's stores carry it.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Proves this process alive (resetting the session's idle timeout) and checks that the
    /// lease is still held: the connection answers and the epoch is still this lease's.
    ///
    /// # Errors
    /// [`LeaseLost`] when it is not.
    pub async fn check(&mut self) -> Result<(), LeaseLost> {
        let epoch: i64 = sqlx::query_scalar(&format!(
            "SELECT epoch FROM {}.lease WHERE id = 1",
            self.scope.schema
        ))
        .fetch_one(&mut self.conn)
        .await
        .map_err(LeaseLost::Connection)?;
        if epoch == self.epoch {
            Ok(())
        } else {
            Err(LeaseLost::Superseded {
                held: self.epoch,
                current: epoch,
            })
        }
    }

    /// Releases the lock and closes the connection.
    ///
    /// # Errors
    /// The database's, if the connection already failed (the lock is then released anyway).
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.scope.lock_key)
            .execute(&mut self.conn)
            .await?;
        self.conn.close().await
    }
}

/// Why a held lease is no longer held.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseLost {
    /// The lease connection failed, e.g. its session was ended by `idle_session_timeout`
    /// after this process was stopped, or the database restarted.
    #[error("the lease connection failed: {0}")]
    Connection(sqlx::Error),
    /// Another process took the lease (should not happen while the connection lives).
    #[error("the lease was taken at epoch {current}; this process held epoch {held}")]
    Superseded {
        /// This lease's epoch.
        held: i64,
        /// The database's.
        current: i64,
    },
}

/// The lease tables of one [`LeaseScope`] in a database, and the connections to reach them.
#[derive(Debug, Clone)]
pub struct LeaseDb {
    options: PgConnectOptions,
    pool: PgPool,
    scope: LeaseScope,
}

/// Serializes schema changes of every signet service on one database.
const SCHEMAS_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('signet schemas'))";

impl LeaseDb {
    /// Connects (a small pool of its own) to the database of `options` for the lease of
    /// `scope`. Call [`LeaseDb::setup`] before anything else.
    ///
    /// # Errors
    /// The database's.
    pub async fn connect(
        options: PgConnectOptions,
        scope: LeaseScope,
    ) -> Result<LeaseDb, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        Ok(LeaseDb {
            options,
            pool,
            scope,
        })
    }

    /// The pool (no `search_path`: names must be schema-qualified).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connection options (without any per-log settings).
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The scope.
    pub fn scope(&self) -> LeaseScope {
        self.scope
    }

    /// The statements that create the scope's schema, lease tables and fence function if
    /// missing, for a caller that creates more in the same transaction (after taking
    /// `pg_advisory_xact_lock(hashtext('signet schemas'))`).
    pub fn setup_statements(scope: LeaseScope) -> Vec<String> {
        let s = scope.schema;
        vec![
            format!("CREATE SCHEMA IF NOT EXISTS {s}"),
            format!(
                "CREATE TABLE IF NOT EXISTS {s}.sequencer (
                    id SMALLINT PRIMARY KEY CHECK (id = 1),
                    peer_url TEXT NOT NULL,
                    since_ms BIGINT NOT NULL,
                    epoch BIGINT NOT NULL DEFAULT 0)"
            ),
            // Databases made before the lease had an epoch.
            format!(
                "ALTER TABLE {s}.sequencer ADD COLUMN IF NOT EXISTS epoch BIGINT NOT NULL DEFAULT 0"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {s}.lease (
                    id SMALLINT PRIMARY KEY CHECK (id = 1),
                    epoch BIGINT NOT NULL)"
            ),
            format!("INSERT INTO {s}.lease (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"),
            // The fence (see the module docs): a log's state row changes only under the
            // current epoch. `FOR SHARE` makes a takeover's `UPDATE` of the epoch wait for
            // this commit.
            format!(
                "CREATE OR REPLACE FUNCTION {s}.fence_log_write() RETURNS trigger
                 LANGUAGE plpgsql AS $$
                 DECLARE
                     held TEXT := current_setting('signet.lease_epoch', true);
                     current_epoch BIGINT;
                 BEGIN
                     SELECT epoch INTO current_epoch FROM {s}.lease WHERE id = 1 FOR SHARE;
                     IF held IS NULL OR current_epoch IS NULL OR held <> current_epoch::TEXT THEN
                         RAISE EXCEPTION 'signet: log write refused: the writer holds lease epoch %, the current epoch is %',
                             COALESCE(NULLIF(held, ''), 'none'), current_epoch
                             USING ERRCODE = 'lock_not_available';
                     END IF;
                     RETURN NEW;
                 END $$"
            ),
        ]
    }

    /// Creates the scope's schema, lease tables and fence function if missing.
    ///
    /// # Errors
    /// The database's.
    pub async fn setup(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SCHEMAS_LOCK).execute(&mut *tx).await?;
        for statement in Self::setup_statements(self.scope) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// A log store in `log_schema` (created if missing), for reads: its connections carry no
    /// epoch, so on a fenced log its writes are refused.
    ///
    /// # Errors
    /// The store's.
    pub async fn log_store(&self, log_schema: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(self.options.clone().options([("search_path", log_schema)]))
            .await
    }

    /// Installs the fence (see the module docs) on the log in `log_schema`, if missing.
    /// `log_schema` is a constant SQL identifier whose `log_state` table exists.
    ///
    /// # Errors
    /// The database's.
    pub async fn fence_log(&self, log_schema: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SCHEMAS_LOCK).execute(&mut *tx).await?;
        let present: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger \
             WHERE tgname = 'signet_lease_fence' AND tgrelid = $1::regclass)",
        )
        .bind(format!("{log_schema}.log_state"))
        .fetch_one(&mut *tx)
        .await?;
        if !present {
            sqlx::query(&format!(
                "CREATE TRIGGER signet_lease_fence BEFORE UPDATE ON {log_schema}.log_state \
                 FOR EACH ROW EXECUTE FUNCTION {}.fence_log_write()",
                self.scope.schema
            ))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The connection options of a sequencer that took the lease at `epoch` and writes in
    /// `log_schema`: its commits of fenced tables are refused once the epoch has moved on.
    pub fn sequencer_options(&self, log_schema: &str, epoch: i64) -> PgConnectOptions {
        self.options
            .clone()
            .application_name("signet sequencer")
            .options([
                ("search_path", log_schema.to_owned()),
                ("signet.lease_epoch", epoch.to_string()),
                (
                    "idle_in_transaction_session_timeout",
                    LEASE_TIMEOUT.as_millis().to_string(),
                ),
            ])
    }

    /// The store a sequencer that took the lease at `epoch` writes the log in `log_schema`
    /// through ([`LeaseDb::sequencer_options`]).
    ///
    /// # Errors
    /// The store's.
    pub async fn sequencer_store(
        &self,
        log_schema: &str,
        epoch: i64,
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(self.sequencer_options(log_schema, epoch)).await
    }

    /// Tries to take the lease: `None` if another session holds it. On success the epoch is
    /// raised (after the previous holder's commits in flight, if any, have ended).
    ///
    /// # Errors
    /// The database's.
    pub async fn try_lease(&self) -> Result<Option<EpochLease>, sqlx::Error> {
        let options = self
            .options
            .clone()
            .application_name("signet sequencer lease")
            .options([
                ("idle_session_timeout", LEASE_TIMEOUT.as_millis()),
                ("statement_timeout", LEASE_STATEMENT_TIMEOUT.as_millis()),
            ]);
        let mut conn = PgConnection::connect_with(&options).await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(self.scope.lock_key)
            .fetch_one(&mut conn)
            .await?;
        if !taken {
            conn.close().await?;
            return Ok(None);
        }
        let raised = sqlx::query_scalar(&format!(
            "UPDATE {}.lease SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
            self.scope.schema
        ))
        .fetch_one(&mut conn)
        .await;
        match raised {
            Ok(epoch) => Ok(Some(EpochLease {
                conn,
                epoch,
                scope: self.scope,
            })),
            Err(e) => {
                // Closing the session releases the lock.
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    /// Reads the lease's epoch and the URL of its holder, if that holder sequences already.
    ///
    /// # Errors
    /// The database's.
    pub async fn lease_view(&self) -> Result<LeaseView, sqlx::Error> {
        let s = self.scope.schema;
        let row = sqlx::query(&format!(
            "SELECT l.epoch, CASE WHEN s.epoch = l.epoch THEN s.peer_url END AS holder \
             FROM {s}.lease l LEFT JOIN {s}.sequencer s ON s.id = 1 \
             WHERE l.id = 1"
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(LeaseView {
            epoch: row.try_get("epoch")?,
            holder: row.try_get("holder")?,
        })
    }

    /// Records `peer_url` as the sequencer of `epoch`, unless a later epoch's holder has
    /// already recorded itself (this process then lost the lease meanwhile).
    ///
    /// # Errors
    /// The database's.
    pub async fn record_holder(
        &self,
        peer_url: &str,
        epoch: i64,
        since_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let s = self.scope.schema;
        sqlx::query(&format!(
            "INSERT INTO {s}.sequencer (id, peer_url, since_ms, epoch) \
             VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET peer_url = EXCLUDED.peer_url, \
             since_ms = EXCLUDED.since_ms, epoch = EXCLUDED.epoch \
             WHERE {s}.sequencer.epoch <= EXCLUDED.epoch"
        ))
        .bind(peer_url)
        .bind(since_ms)
        .bind(epoch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// The service's side of a [`LeaseMember`]: what taking and losing the lease mean for it.
///
/// The lease loop calls these one at a time, from one task (and from the caller of
/// [`LeaseMember::try_take`] before the loop starts).
pub trait LeaseHolder: Send + Sync {
    /// Why sequencing could not start (logged, then the lease is released).
    type Error: Display + Send;

    /// Starts sequencing at `epoch`: opens the logs (recovering them from the database, as a
    /// restart does) through stores fenced at `epoch` ([`LeaseDb::sequencer_store`]) and starts
    /// their batchers. On an error nothing may be left sequencing.
    fn start_sequencing(
        &self,
        db: &LeaseDb,
        epoch: i64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Stops sequencing after the batches already queued, and closes the fenced stores.
    fn stop_sequencing(&self) -> impl Future<Output = ()> + Send;

    /// While sequencing: why the sequencing no longer works (a sequencer task ended), if so.
    /// The holder then gives up the lease, so that another process can take over.
    fn stopped_sequencer(&self) -> Option<String>;

    /// A follower's round: reads the logs' newest checkpoints from the database.
    fn refresh(&self) -> impl Future<Output = ()> + Send;

    /// This process took (`true`) or gave up (`false`) the lease; also called once when the
    /// lease loop starts.
    fn lease_changed(&self, held: bool) {
        let _ = held;
    }

    /// Whether the service is gone (its logs were dropped): the lease loop then ends.
    fn is_gone(&self) -> bool {
        false
    }
}

/// One process taking part in a lease: it holds it and sequences, or follows and forwards
/// writes to the holder (see the module docs).
pub struct LeaseMember {
    db: LeaseDb,
    /// Where the other processes reach this one.
    peer_url: String,
    /// The wall clock (milliseconds since the epoch), for the holder row's `since_ms`.
    now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Names this process and its lease in log lines: `"{process}: took the {lease}"`.
    process: &'static str,
    lease: &'static str,
    /// The newest [`LeaseView`] this process has read or made: forwarded writes wait on it.
    /// Raised by the lease loop's follower rounds, by forwarding, and on taking the lease.
    view: watch::Sender<LeaseView>,
}

impl std::fmt::Debug for LeaseMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseMember")
            .field("scope", &self.db.scope)
            .field("peer_url", &self.peer_url)
            .field("view", &*self.view.borrow())
            .finish_non_exhaustive()
    }
}

/// How one round of [`LeaseMember::forward`] ended.
#[derive(Debug)]
pub enum Forwarded<T> {
    /// The holder's answer, as the service's send function read it.
    Answer(T),
    /// Not handled; look again: this process may sequence now, or there is a new holder to
    /// forward to. `abandoned`: a holder was asked but the lease moved on before it answered
    /// (or after it could not be reached), so it can no longer commit the write.
    Retry {
        /// Whether a forwarding attempt was abandoned.
        abandoned: bool,
    },
    /// Not handled, and not to be retried by this process: answer 503 (or, for
    /// [`Unavailable::Database`], a server error).
    Unavailable(Unavailable),
}

/// Why a write could not be forwarded. The messages are fit for clients (they end in "retry").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The write was forwarded to this process, which does not sequence (the sender's view was
    /// stale, or the lease just moved): it is never forwarded twice.
    #[error("this server does not sequence the log right now; retry")]
    AlreadyForwarded,
    /// The deadline passed with no holder to forward to (a takeover took too long).
    #[error("no server sequences the log right now; retry")]
    NoSequencer,
    /// Reading the holder's address failed.
    #[error("the database cannot be read; retry")]
    Database(#[source] sqlx::Error),
    /// Reading the holder's address took until the deadline.
    #[error("the database did not answer in time; retry")]
    DatabaseTimeout,
    /// The holder could not be reached, and the lease did not move on by the deadline.
    #[error("the sequencing server cannot be reached; retry")]
    Unreachable,
    /// The holder did not answer by the deadline (it may be stopped or overloaded).
    #[error("the sequencing server did not answer in time; retry")]
    NoAnswer,
}

impl LeaseMember {
    /// A member of the lease of `db`, reached by the others at `peer_url`. `now_ms` is the
    /// clock; `process` and `lease` name this process and the lease in log lines.
    pub fn new(
        db: LeaseDb,
        peer_url: String,
        now_ms: impl Fn() -> u64 + Send + Sync + 'static,
        process: &'static str,
        lease: &'static str,
    ) -> LeaseMember {
        let (view, _) = watch::channel(LeaseView::default());
        LeaseMember {
            db,
            peer_url,
            now_ms: Box::new(now_ms),
            process,
            lease,
            view,
        }
    }

    /// The lease's database.
    pub fn db(&self) -> &LeaseDb {
        &self.db
    }

    /// Where the other processes reach this one.
    pub fn peer_url(&self) -> &str {
        &self.peer_url
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
    ///
    /// # Errors
    /// The database's.
    pub async fn refresh_view(&self) -> Result<LeaseView, sqlx::Error> {
        let seen = self.db.lease_view().await?;
        self.observe(seen.clone());
        Ok(seen)
    }

    /// Tries the lease once: on success starts sequencing at its epoch and records this
    /// process as the holder. `None` if another process holds it or sequencing did not start
    /// (the lease is then released; the reason is logged).
    pub async fn try_take<H: LeaseHolder>(&self, holder: &H) -> Option<EpochLease> {
        let (process, name) = (self.process, self.lease);
        // The statement timeout on the lease connection bounds this too; this covers connecting.
        let lease = match tokio::time::timeout(LEASE_TIMEOUT * 3, self.db.try_lease()).await {
            Ok(Ok(Some(l))) => l,
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                eprintln!("{process}: trying the {name}: {e}");
                return None;
            }
            Err(_) => {
                eprintln!("{process}: trying the {name}: no answer in time");
                return None;
            }
        };
        let epoch = lease.epoch();
        if let Err(e) = holder.start_sequencing(&self.db, epoch).await {
            eprintln!("{process}: took the {name} but cannot sequence: {e}");
            let _ = tokio::time::timeout(LEASE_TIMEOUT, lease.release()).await;
            return None;
        }
        let since = i64::try_from((self.now_ms)()).unwrap_or(i64::MAX);
        if let Err(e) = self.db.record_holder(&self.peer_url, epoch, since).await {
            eprintln!("{process}: recording this process as the holder of the {name}: {e}");
        }
        // Writes waiting to be forwarded see that this process now sequences.
        self.observe(LeaseView {
            epoch,
            holder: Some(self.peer_url.clone()),
        });
        Some(lease)
    }

    /// Checks a held lease: the lease connection answers in time with this lease's epoch
    /// (which also proves this process alive to the database), and sequencing still works.
    async fn check_held<H: LeaseHolder>(held: &mut EpochLease, holder: &H) -> Result<(), String> {
        match tokio::time::timeout(LEASE_TIMEOUT, held.check()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("the lease check got no answer in time".into()),
        }
        match holder.stopped_sequencer() {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// The lease loop, starting with `lease` if this process already holds it: every
    /// [`LEASE_INTERVAL`] a holder checks its lease and its sequencers (and gives the lease up
    /// if either failed), and a follower tries to take it (else refreshes its view of the lease
    /// and its logs). Runs until `stop` turns true or the service is gone, then stops
    /// sequencing and releases the lease.
    pub async fn run<H: LeaseHolder>(
        &self,
        holder: &H,
        mut lease: Option<EpochLease>,
        mut stop: watch::Receiver<bool>,
    ) {
        let (process, name) = (self.process, self.lease);
        holder.lease_changed(lease.is_some());
        loop {
            tokio::select! {
                () = tokio::time::sleep(LEASE_INTERVAL) => {}
                _ = stop.wait_for(|&s| s) => break,
            }
            if holder.is_gone() {
                break;
            }
            match lease.take() {
                Some(mut held) => match Self::check_held(&mut held, holder).await {
                    Ok(()) => lease = Some(held),
                    Err(why) => {
                        eprintln!("{process}: lost the {name} ({why}); following");
                        holder.stop_sequencing().await;
                        // Releases the lock if the connection still works; dropping it
                        // closes it.
                        let _ = tokio::time::timeout(LEASE_TIMEOUT, held.release()).await;
                        holder.lease_changed(false);
                    }
                },
                None => {
                    lease = self.try_take(holder).await;
                    if lease.is_some() {
                        eprintln!("{process}: took the {name}");
                        holder.lease_changed(true);
                    } else {
                        let _ = self.refresh_view().await;
                        holder.refresh().await;
                    }
                }
            }
        }
        holder.stop_sequencing().await;
        if let Some(held) = lease {
            let _ = tokio::time::timeout(LEASE_TIMEOUT, held.release()).await;
        }
    }

    /// One round of forwarding a write to the holder of the lease (see the module docs):
    /// `send` sends it to the holder's peer URL (with [`FORWARDED_HEADER`]) and reads the
    /// answer, or fails if the holder cannot be reached. `already_forwarded`: the write came
    /// with [`FORWARDED_HEADER`], so it is not forwarded again. Gives up at `deadline`.
    ///
    /// The write goes to the holder of the current epoch. If that epoch has no holder that
    /// sequences yet (a takeover in progress), or the holder is this process (which has just
    /// started or stopped sequencing), it waits up to a lease interval for the lease to move
    /// and asks for a retry. If the lease moves to a later epoch while the holder has not
    /// answered, or the holder could not be reached and the lease then moves on, it asks for a
    /// retry too: the old holder can no longer commit the write.
    ///
    /// The caller loops: while it does not sequence, it calls this until an answer or
    /// [`Forwarded::Unavailable`].
    pub async fn forward<T, E, F, Fut>(
        &self,
        already_forwarded: bool,
        deadline: Instant,
        send: F,
    ) -> Forwarded<T>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let process = self.process;
        if already_forwarded {
            // The sender thought this process sequences; it no longer (or not yet) does.
            return Forwarded::Unavailable(Unavailable::AlreadyForwarded);
        }
        if Instant::now() >= deadline {
            return Forwarded::Unavailable(Unavailable::NoSequencer);
        }
        let mut views = self.view.subscribe();
        let used = match tokio::time::timeout_at(deadline, self.refresh_view()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Forwarded::Unavailable(Unavailable::Database(e)),
            Err(_) => return Forwarded::Unavailable(Unavailable::DatabaseTimeout),
        };
        let Some(holder) = used.holder.clone().filter(|url| *url != self.peer_url) else {
            let until = deadline.min(Instant::now() + LEASE_INTERVAL);
            let _ =
                tokio::time::timeout_at(until, views.wait_for(|seen| seen.is_newer_than(&used)))
                    .await;
            return Forwarded::Retry { abandoned: false };
        };
        let result = tokio::select! {
            r = tokio::time::timeout_at(deadline, send(holder.clone())) => r,
            Ok(_) = views.wait_for(|seen| seen.epoch > used.epoch) => {
                let name = self.lease;
                eprintln!("{process}: the {name} moved on while forwarding to {holder}; retrying");
                return Forwarded::Retry { abandoned: true };
            }
        };
        match result {
            Ok(Ok(answer)) => Forwarded::Answer(answer),
            Ok(Err(e)) => {
                // Most likely the holder died: its lease moves on within LEASE_TIMEOUT, and
                // the write goes to the next holder.
                eprintln!(
                    "{process}: forwarding to {holder}: {e}; waiting for the {} to move",
                    self.lease
                );
                let moved = tokio::time::timeout_at(
                    deadline,
                    views.wait_for(|seen| seen.epoch > used.epoch),
                )
                .await
                .is_ok_and(|r| r.is_ok());
                if moved {
                    Forwarded::Retry { abandoned: true }
                } else {
                    Forwarded::Unavailable(Unavailable::Unreachable)
                }
            }
            Err(_) => {
                eprintln!("{process}: forwarding to {holder}: no answer in time");
                Forwarded::Unavailable(Unavailable::NoAnswer)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(epoch: i64, holder: Option<&str>) -> LeaseView {
        LeaseView {
            epoch,
            holder: holder.map(str::to_owned),
        }
    }

    /// A view is newer only if read later: a later epoch, or the same epoch's holder recorded.
    #[test]
    fn lease_views_only_move_forward() {
        let none = view(3, None);
        let a = view(3, Some("http://a"));
        assert!(a.is_newer_than(&none));
        assert!(!none.is_newer_than(&a));
        assert!(!a.is_newer_than(&a));
        assert!(!view(3, Some("http://b")).is_newer_than(&a));
        assert!(view(4, None).is_newer_than(&a));
        assert!(!view(2, Some("http://c")).is_newer_than(&none));
    }

    #[test]
    fn setup_names_the_scope_schema() {
        let statements = LeaseDb::setup_statements(LeaseScope {
            schema: "signet_x",
            lock_key: 1,
        });
        assert!(statements.iter().all(|s| s.contains("signet_x")));
    }
}
