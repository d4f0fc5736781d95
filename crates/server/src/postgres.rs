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
//!   time), written by the first server and checked by every later one; and `sequencer`, one
//!   row with the peer URL of the server that holds the sequencer lease.
//!
//! Each log's store connects with `search_path` set to its schema, so the store code is the
//! same as for a database of its own. The sequencer lease is a database-wide advisory lock, so
//! one server sequences both logs.

use crate::ServerError;
use signet_log::PostgresStore;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

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
        since_ms BIGINT NOT NULL)",
];

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> ServerError {
    move |e| ServerError::Database {
        what,
        source: Box::new(e),
    }
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
        Ok(PostgresStores { db, v1, v2 })
    }
}
