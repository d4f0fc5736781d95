//! The PostgreSQL layout of a server's logs.
//!
//! One database holds one deployment, in three schemas (created if missing):
//!
//! - [`V1_SCHEMA`] (`signet_rekor_v1`): the Rekor v1 log's [`PostgresStore`] tables
//!   (`log_entries`, `log_leaves`, `log_tiles`, `log_bundles`, `log_state`) and the v1 search
//!   index (`search_keys`, `search_state`);
//! - [`V2_SCHEMA`] (`signet_rekor_v2`): the Rekor v2 log's store tables;
//! - [`SERVER_SCHEMA`] (`signet_server`): `identity`, one row with the public parts of the
//!   keys every server must share (v1 key SPKI, v1 tree ID, v2 Ed25519 key, key creation
//!   time), written by the first server and checked by every later one; `lease`, one row with
//!   the lease's epoch; and `sequencer`, one row with the peer URL of the server that holds
//!   the sequencer lease and the epoch it took it at.
//!
//! Each log's store connects with `search_path` set to its schema, so the store code is the
//! same as for a database of its own.
//!
//! **The lease** ([`SequencerLease`]) is a database-wide advisory lock, so one server
//! sequences both logs. It is held on a dedicated connection with `idle_session_timeout` set
//! to [`LEASE_TIMEOUT`]: the holder proves it is alive by a query on that connection every
//! [`crate::LEASE_INTERVAL`], and a holder that stops doing so (killed, stopped with SIGSTOP,
//! hung) loses its session, and with it the lock, within [`LEASE_TIMEOUT`]. (TCP keepalives
//! would not do: the kernel of a stopped process still answers them.) Whoever takes the lock
//! raises `lease.epoch` before it opens the logs.
//!
//! **Fencing.** A sequencer writes through a store of its own ([`Database::sequencer_store`])
//! whose connections carry the epoch it took the lease at (the setting `signet.lease_epoch`).
//! A trigger on each log's `log_state` row, which every stage and every checkpoint commit
//! updates, refuses the commit unless that epoch is the current one, and it holds a share lock
//! on the `lease` row until the commit, so raising the epoch waits for commits in flight. A
//! sequencer that lost the lease without noticing (it was stopped and resumed) therefore
//! cannot commit anything once another server has taken over: it cannot move the log, sign
//! over it a checkpoint that gets published, or make the new sequencer's compare-and-swap
//! fail. Those connections also have `idle_in_transaction_session_timeout` set to
//! [`LEASE_TIMEOUT`], so a transaction left open by a stopped sequencer does not hold the
//! log's row lock for longer.

use crate::ServerError;
use signet_log::{PostgresStore, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use std::time::Duration;

/// The Rekor v1 log's schema.
pub const V1_SCHEMA: &str = "signet_rekor_v1";
/// The Rekor v2 log's schema.
pub const V2_SCHEMA: &str = "signet_rekor_v2";
/// The server-wide tables' schema.
pub const SERVER_SCHEMA: &str = "signet_server";

const SETUP: &[&str] = &[
    "SELECT pg_advisory_xact_lock(hashtext('signet schemas'))",
    "CREATE SCHEMA IF NOT EXISTS signet_rekor_v1",
    "CREATE SCHEMA IF NOT EXISTS signet_rekor_v2",
    "CREATE SCHEMA IF NOT EXISTS signet_server",
    "CREATE TABLE IF NOT EXISTS signet_server.identity (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        v1_public_key BYTEA NOT NULL,
        v1_tree_id BIGINT NOT NULL,
        v2_public_key BYTEA NOT NULL,
        created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS signet_server.sequencer (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        peer_url TEXT NOT NULL,
        since_ms BIGINT NOT NULL,
        epoch BIGINT NOT NULL DEFAULT 0)",
    // Databases made before the lease had an epoch.
    "ALTER TABLE signet_server.sequencer ADD COLUMN IF NOT EXISTS epoch BIGINT NOT NULL DEFAULT 0",
    "CREATE TABLE IF NOT EXISTS signet_server.lease (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        epoch BIGINT NOT NULL)",
    "INSERT INTO signet_server.lease (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    // The fence (see the module docs): a log's state row changes only under the current epoch.
    // `FOR SHARE` makes a takeover's `UPDATE` of the epoch wait for this commit.
    "CREATE OR REPLACE FUNCTION signet_server.fence_log_write() RETURNS trigger
     LANGUAGE plpgsql AS $$
     DECLARE
         held TEXT := current_setting('signet.lease_epoch', true);
         current_epoch BIGINT;
     BEGIN
         SELECT epoch INTO current_epoch FROM signet_server.lease WHERE id = 1 FOR SHARE;
         IF held IS NULL OR current_epoch IS NULL OR held <> current_epoch::TEXT THEN
             RAISE EXCEPTION 'signet: log write refused: the writer holds lease epoch %, the current epoch is %',
                 COALESCE(NULLIF(held, ''), 'none'), current_epoch
                 USING ERRCODE = 'lock_not_available';
         END IF;
         RETURN NEW;
     END $$",
];

/// Advisory-lock key of the single-sequencer lease (`"signetsq"`, the key
/// `signet_log::PostgresStore::try_lease` uses too, so that servers of either kind exclude
/// each other).
const LEASE_LOCK: i64 = 0x7369_676e_6574_7371;

/// How long a lease holder may go without proving it is alive before its session, and with it
/// the lease, ends (PostgreSQL's `idle_session_timeout` on the lease connection); also how
/// long a sequencer's transaction may stay idle (`idle_in_transaction_session_timeout`).
pub const LEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// Upper bound for a statement on the lease connection. Raising the epoch waits for the
/// commits in flight of the previous holder, which its `idle_in_transaction_session_timeout`
/// ends within [`LEASE_TIMEOUT`].
const LEASE_STATEMENT_TIMEOUT: Duration = Duration::from_secs(6);

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> ServerError {
    move |e| ServerError::Database {
        what,
        source: Box::new(e),
    }
}

/// The lease as one server sees it: the epoch and, once the holder of that epoch sequences,
/// its peer URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LeaseView {
    /// Raised by every server that takes the lease; never lowered.
    pub(crate) epoch: i64,
    /// The peer URL recorded by the holder of `epoch`; `None` until it sequences.
    pub(crate) holder: Option<String>,
}

impl LeaseView {
    /// Whether `self` was read after `other`: a later epoch, or the same epoch whose holder
    /// has since recorded its URL. (Both only ever move forward.)
    pub(crate) fn is_newer_than(&self, other: &LeaseView) -> bool {
        self.epoch > other.epoch
            || (self.epoch == other.epoch && other.holder.is_none() && self.holder.is_some())
    }
}

/// The single-sequencer lease: the advisory lock held on a dedicated connection whose
/// session ends after [`LEASE_TIMEOUT`] without a query, and the epoch taken with it. Dropping
/// it closes the connection, which releases the lock.
#[derive(Debug)]
pub(crate) struct SequencerLease {
    conn: PgConnection,
    epoch: i64,
}

impl SequencerLease {
    /// The epoch this lease was taken at; the sequencer's stores carry it.
    pub(crate) fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Proves this server alive (resetting the session's idle timeout) and checks that the
    /// lease is still held: the connection answers and the epoch is still this lease's.
    pub(crate) async fn check(&mut self) -> Result<(), LeaseLost> {
        let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM signet_server.lease WHERE id = 1")
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
    pub(crate) async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LEASE_LOCK)
            .execute(&mut self.conn)
            .await?;
        self.conn.close().await
    }
}

/// Why a held lease is no longer held.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LeaseLost {
    /// The lease connection failed, e.g. its session was ended by `idle_session_timeout`
    /// after this process was stopped, or the database restarted.
    #[error("the lease connection failed: {0}")]
    Connection(sqlx::Error),
    /// Another server took the lease (should not happen while the connection lives).
    #[error("the lease was taken at epoch {current}; this server held epoch {held}")]
    Superseded {
        /// This lease's epoch.
        held: i64,
        /// The database's.
        current: i64,
    },
}

/// A connection to the deployment's database.
pub(crate) struct Database {
    options: PgConnectOptions,
    /// A small pool for the server-wide tables (names schema-qualified).
    pub(crate) pool: PgPool,
}

impl Database {
    /// Connects and creates the schemas and server-wide tables if missing.
    pub(crate) async fn connect(url: &str) -> Result<Database, ServerError> {
        let options: PgConnectOptions = url.parse().map_err(db_err("parsing the database URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .map_err(db_err("connecting to the database"))?;
        let mut tx = pool.begin().await.map_err(db_err("creating the schemas"))?;
        for statement in SETUP {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(db_err("creating the schemas"))?;
        }
        tx.commit().await.map_err(db_err("creating the schemas"))?;
        Ok(Database { options, pool })
    }

    /// Records the identity if the database has none yet, else checks that it is the same.
    pub(crate) async fn check_identity(
        &self,
        v1_spki: &[u8],
        v1_tree_id: u64,
        v2_public_key: &[u8; 32],
        created: i64,
    ) -> Result<(), ServerError> {
        let tree_id = i64::try_from(v1_tree_id).map_err(|_| ServerError::IdentityMismatch {
            what: "Rekor v1 tree ID (out of range)",
        })?;
        sqlx::query(
            "INSERT INTO signet_server.identity \
             (id, v1_public_key, v1_tree_id, v2_public_key, created) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(v1_spki)
        .bind(tree_id)
        .bind(v2_public_key.as_slice())
        .bind(created)
        .execute(&self.pool)
        .await
        .map_err(db_err("recording the server identity"))?;
        let (v1, tree, v2, at): (Vec<u8>, i64, Vec<u8>, i64) = sqlx::query_as(
            "SELECT v1_public_key, v1_tree_id, v2_public_key, created \
             FROM signet_server.identity WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err("reading the server identity"))?;
        let mismatch = |what| Err(ServerError::IdentityMismatch { what });
        if v1 != v1_spki {
            return mismatch("Rekor v1 key");
        }
        if tree != tree_id {
            return mismatch("Rekor v1 tree ID");
        }
        if v2.as_slice() != v2_public_key.as_slice() {
            return mismatch("Rekor v2 key");
        }
        if at != created {
            return mismatch("key creation time");
        }
        Ok(())
    }

    /// A log store in `schema`.
    async fn log_store(&self, schema: &str) -> Result<PostgresStore, ServerError> {
        PostgresStore::connect_with(self.options.clone().options([("search_path", schema)]))
            .await
            .map_err(|e| ServerError::Database {
                what: "opening a log store",
                source: Box::new(e),
            })
    }

    /// Installs the fence (see the module docs) on the log in `schema`, if missing. `schema`
    /// is one of this module's constants.
    async fn fence_log(&self, schema: &'static str) -> Result<(), ServerError> {
        let what = "installing the lease fence";
        let mut tx = self.pool.begin().await.map_err(db_err(what))?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('signet schemas'))")
            .execute(&mut *tx)
            .await
            .map_err(db_err(what))?;
        let present: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger \
             WHERE tgname = 'signet_lease_fence' AND tgrelid = $1::regclass)",
        )
        .bind(format!("{schema}.log_state"))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err(what))?;
        if !present {
            sqlx::query(&format!(
                "CREATE TRIGGER signet_lease_fence BEFORE UPDATE ON {schema}.log_state \
                 FOR EACH ROW EXECUTE FUNCTION signet_server.fence_log_write()"
            ))
            .execute(&mut *tx)
            .await
            .map_err(db_err(what))?;
        }
        tx.commit().await.map_err(db_err(what))
    }

    /// The store a sequencer that took the lease at `epoch` writes the log in `schema`
    /// through (see the module docs): its commits are refused once the epoch has moved on.
    pub(crate) async fn sequencer_store(
        &self,
        schema: &str,
        epoch: i64,
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(
            self.options
                .clone()
                .application_name("signet sequencer")
                .options([
                    ("search_path", schema.to_owned()),
                    ("signet.lease_epoch", epoch.to_string()),
                    (
                        "idle_in_transaction_session_timeout",
                        LEASE_TIMEOUT.as_millis().to_string(),
                    ),
                ]),
        )
        .await
    }

    /// Tries to take the lease: `None` if another session holds it. On success the epoch is
    /// raised (after the previous holder's commits in flight, if any, have ended).
    pub(crate) async fn try_lease(&self) -> Result<Option<SequencerLease>, sqlx::Error> {
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
            .bind(LEASE_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if !taken {
            conn.close().await?;
            return Ok(None);
        }
        let raised = sqlx::query_scalar(
            "UPDATE signet_server.lease SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
        )
        .fetch_one(&mut conn)
        .await;
        match raised {
            Ok(epoch) => Ok(Some(SequencerLease { conn, epoch })),
            Err(e) => {
                // Closing the session releases the lock.
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    /// Reads the lease's epoch and the URL of its holder, if that holder sequences already.
    pub(crate) async fn lease_view(&self) -> Result<LeaseView, sqlx::Error> {
        let row = sqlx::query(
            "SELECT l.epoch, CASE WHEN s.epoch = l.epoch THEN s.peer_url END AS holder \
             FROM signet_server.lease l LEFT JOIN signet_server.sequencer s ON s.id = 1 \
             WHERE l.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(LeaseView {
            epoch: row.try_get("epoch")?,
            holder: row.try_get("holder")?,
        })
    }

    /// Records `peer_url` as the sequencer of `epoch`, unless a later epoch's holder has
    /// already recorded itself (this server then lost the lease meanwhile).
    pub(crate) async fn record_holder(
        &self,
        peer_url: &str,
        epoch: i64,
        since_ms: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO signet_server.sequencer (id, peer_url, since_ms, epoch) \
             VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET peer_url = EXCLUDED.peer_url, \
             since_ms = EXCLUDED.since_ms, epoch = EXCLUDED.epoch \
             WHERE signet_server.sequencer.epoch <= EXCLUDED.epoch",
        )
        .bind(peer_url)
        .bind(since_ms)
        .bind(epoch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A deployment's database, laid out for a [`crate::LogServer`]: the schemas and server-wide
/// tables created, and a store open in each log's schema.
pub struct PostgresStores {
    pub(crate) db: Database,
    pub(crate) v1: PostgresStore,
    pub(crate) v2: PostgresStore,
}

impl std::fmt::Debug for PostgresStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStores").finish_non_exhaustive()
    }
}

impl PostgresStores {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), creates the
    /// schemas and tables if missing, and opens both logs' stores. Whether the database's logs
    /// were made with the server's keys is checked by [`crate::LogServer::new`].
    ///
    /// # Errors
    /// [`ServerError::Database`] naming the step that failed.
    pub async fn connect(url: &str) -> Result<PostgresStores, ServerError> {
        let db = Database::connect(url).await?;
        let v1 = db.log_store(V1_SCHEMA).await?;
        let v2 = db.log_store(V2_SCHEMA).await?;
        db.fence_log(V1_SCHEMA).await?;
        db.fence_log(V2_SCHEMA).await?;
        Ok(PostgresStores { db, v1, v2 })
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
}
