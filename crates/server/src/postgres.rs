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
//! **The lease** ([`SequencerLease`], a [`signet_log::lease`] of scope [`LEASE_SCOPE`]) is an
//! advisory lock of its own, so one server sequences both Rekor logs. (The CA's CT log, in
//! `signet_ct`, has a lease of its own: see there.) It is held on a dedicated connection with
//! `idle_session_timeout` set to [`LEASE_TIMEOUT`]: the holder proves it is alive by a query on
//! that connection every [`crate::LEASE_INTERVAL`], and a holder that stops doing so (killed,
//! stopped with SIGSTOP, hung) loses its session, and with it the lock, within [`LEASE_TIMEOUT`].
//! (TCP keepalives would not do: the kernel of a stopped process still answers them.) Whoever takes
//! the lock raises `lease.epoch` before it opens the logs.
//!
//! **Fencing.** A sequencer writes through a store of its own
//! ([`signet_log::lease::LeaseDb::sequencer_store`]) whose connections carry the epoch it took the
//! lease at (the setting `signet.lease_epoch`). A trigger on each log's `log_state` row, which
//! every stage and every checkpoint commit updates, refuses the commit unless that epoch is the
//! current one, and it holds a share lock on the `lease` row until the commit, so raising the epoch
//! waits for commits in flight. A sequencer that lost the lease without noticing (it was stopped
//! and resumed) therefore cannot commit anything once another server has taken over: it cannot move
//! the log, sign over it a checkpoint that gets published, or make the new sequencer's
//! compare-and-swap fail. Those connections also have `idle_in_transaction_session_timeout` set to
//! [`LEASE_TIMEOUT`], so a transaction left open by a stopped sequencer does not hold the log's row
//! lock for longer.
//!
//! Who sequences and how writes are forwarded to the holder: see [`crate::sequencing`].

use crate::ServerError;
use signet_log::PostgresStore;
use signet_log::lease::{EpochLease, LeaseDb, LeaseScope};
use sqlx::postgres::{PgConnectOptions, PgPool};
use std::time::Duration;

pub use signet_log::lease::LEASE_TIMEOUT;

/// The Rekor logs' lease (see [`signet_log::lease`]).
pub(crate) type SequencerLease = EpochLease;

/// The Rekor v1 log's schema.
pub const V1_SCHEMA: &str = "signet_rekor_v1";
/// The Rekor v2 log's schema.
pub const V2_SCHEMA: &str = "signet_rekor_v2";
/// The server-wide tables' schema.
pub const SERVER_SCHEMA: &str = "signet_server";

/// The Rekor logs' lease: its tables in [`SERVER_SCHEMA`], and the advisory-lock key
/// `"signetsq"` (the key `signet_log::PostgresStore::try_lease` uses too, so that servers of
/// either kind exclude each other).
pub const LEASE_SCOPE: LeaseScope = LeaseScope {
    schema: SERVER_SCHEMA,
    lock_key: 0x7369_676e_6574_7371,
};

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
];

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> ServerError {
    move |e| ServerError::Database {
        what,
        source: Box::new(e),
    }
}

/// A connection to the deployment's database.
pub(crate) struct Database {
    /// The lease's tables and connections.
    lease: LeaseDb,
    /// A small pool for the server-wide tables (names schema-qualified).
    pub(crate) pool: PgPool,
}

impl Database {
    /// Connects and creates the schemas and server-wide tables if missing.
    pub(crate) async fn connect(url: &str) -> Result<Database, ServerError> {
        let options: PgConnectOptions = url.parse().map_err(db_err("parsing the database URL"))?;
        let lease = LeaseDb::connect(options, LEASE_SCOPE)
            .await
            .map_err(db_err("connecting to the database"))?;
        let pool = lease.pool().clone();
        let mut tx = pool.begin().await.map_err(db_err("creating the schemas"))?;
        let lease_setup = LeaseDb::setup_statements(LEASE_SCOPE);
        for statement in SETUP
            .iter()
            .copied()
            .chain(lease_setup.iter().map(String::as_str))
        {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(db_err("creating the schemas"))?;
        }
        tx.commit().await.map_err(db_err("creating the schemas"))?;
        Ok(Database { lease, pool })
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
        self.lease
            .log_store(schema)
            .await
            .map_err(|e| ServerError::Database {
                what: "opening a log store",
                source: Box::new(e),
            })
    }

    /// Installs the fence (see the module docs) on the log in `schema`, if missing. `schema`
    /// is one of this module's constants.
    async fn fence_log(&self, schema: &'static str) -> Result<(), ServerError> {
        self.lease
            .fence_log(schema)
            .await
            .map_err(db_err("installing the lease fence"))
    }

    /// The lease's tables and connections (see [`signet_log::lease`]).
    pub(crate) fn lease(&self) -> &LeaseDb {
        &self.lease
    }
}

/// A deployment's database, laid out for a [`crate::LogServer`]: the schemas and server-wide
/// tables created, and a store open in each log's schema.
pub struct PostgresStores {
    pub(crate) db: Database,
    pub(crate) v1: PostgresStore,
    pub(crate) v2: PostgresStore,
    /// While following: the oldest a checkpoint served may be (see [`crate::sequencing`]).
    pub(crate) follower_max_staleness: Duration,
}

/// How old a follower's copy of a log's checkpoint may get before a read looks at the
/// database's again, even if no notification said it moved.
///
/// A server that does not sequence answers reads from its copy of each log's checkpoint and
/// reads the database's again when a notification of a checkpoint commit arrives, when a write
/// it forwarded is answered, when a request asks for an entry or size past the copy, and when
/// the copy is older than this. Its lease rounds also read both checkpoints every
/// [`crate::LEASE_INTERVAL`], so while they run the copy is never older than that anyway.
pub const FOLLOWER_MAX_STALENESS: Duration = Duration::from_secs(1);

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
        Ok(PostgresStores {
            db,
            v1,
            v2,
            follower_max_staleness: FOLLOWER_MAX_STALENESS,
        })
    }

    /// While this server follows, how old its copy of a log's checkpoint may get before a read
    /// looks at the database's again even without a notification. Zero reads it on every
    /// request. Default [`FOLLOWER_MAX_STALENESS`].
    #[must_use]
    pub fn follower_max_staleness(mut self, max: Duration) -> PostgresStores {
        self.follower_max_staleness = max;
        self
    }
}
