//! A TUF repository in PostgreSQL, shared by every server of a deployment: schema
//! [`SCHEMA`] (`signet_tuf`, created if missing) with two tables:
//!
//! - `files (name TEXT PRIMARY KEY, bytes BYTEA)`: every named file (`N.root.json`,
//!   `N.snapshot.json`, `N.targets.json`, `targets/<hex>.<name>`); a row is inserted once and
//!   never updated, so a name always means the same bytes;
//! - `timestamp (id = 1, version BIGINT, bytes BYTEA)`: the current `timestamp.json`, the
//!   commit point, replaced by compare-and-swap on `version`.
//!
//! **The lock** is a transaction-scoped advisory lock (`pg_advisory_xact_lock`) taken at the
//! start of the publisher's transaction; the whole publish (the read of the stored state, the
//! new files, the timestamp swap, the removals) is that one transaction, so it commits
//! entirely or not at all and a crash leaves nothing behind. The lock's transaction has
//! `idle_in_transaction_session_timeout` set to [`LOCK_IDLE_TIMEOUT`]: a publisher that stops
//! (SIGSTOP, a hang) mid-publish loses its session, its transaction and the lock, and cannot
//! commit afterwards; waiting for the lock gives up after [`LOCK_WAIT`]. Even without the lock,
//! the timestamp's compare-and-swap and the primary key on names would refuse a second
//! publisher's version (a [`TufError::Conflict`]).
//!
//! Reads ([`TufStore::load`]) are one statement, so they see one commit's state.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::{Commit, TIMESTAMP, TufLock, TufStore, check_swap, valid_file_name};
use crate::TufError;

/// The repository's schema.
pub const SCHEMA: &str = "signet_tuf";

/// How long a publisher may leave its transaction idle before PostgreSQL ends its session
/// (and with it the lock). A publish signs four small documents between statements.
pub const LOCK_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a publisher waits for another's lock before it gives up (and tries later).
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Advisory-lock key of the publishing lock (`"signettf"`).
const PUBLISH_LOCK: i64 = 0x7369_676e_6574_7466;

const SETUP: &[&str] = &[
    // The lock every signet schema creation takes (see signet-server's `postgres` module).
    "SELECT pg_advisory_xact_lock(hashtext('signet schemas'))",
    "CREATE SCHEMA IF NOT EXISTS signet_tuf",
    "CREATE TABLE IF NOT EXISTS signet_tuf.files (
        name TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS signet_tuf.timestamp (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL CHECK (version > 0),
        bytes BYTEA NOT NULL)",
];

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> TufError {
    move |e| TufError::Database {
        what,
        source: Box::new(e),
    }
}

/// The repository in a PostgreSQL database. See the module docs.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and creates the schema if missing.
    ///
    /// # Errors
    /// [`TufError::Database`] when the URL is malformed, the database cannot be reached or
    /// the schema cannot be created.
    pub async fn connect(url: &str) -> Result<PostgresStore, TufError> {
        let options: PgConnectOptions = url.parse().map_err(db_err("parsing the database URL"))?;
        PostgresStore::connect_with(options).await
    }

    /// [`PostgresStore::connect`] with connection options.
    ///
    /// # Errors
    /// As [`PostgresStore::connect`].
    pub async fn connect_with(options: PgConnectOptions) -> Result<PostgresStore, TufError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.application_name("signet tuf"))
            .await
            .map_err(db_err("connecting"))?;
        let what = "creating the TUF schema";
        let mut tx = pool.begin().await.map_err(db_err(what))?;
        for statement in SETUP {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(db_err(what))?;
        }
        tx.commit().await.map_err(db_err(what))?;
        Ok(PostgresStore { pool })
    }
}

const LOAD: &str = "SELECT name, bytes FROM signet_tuf.files \
                    UNION ALL SELECT 'timestamp.json', bytes FROM signet_tuf.timestamp";

fn into_map(rows: Vec<(String, Vec<u8>)>) -> BTreeMap<String, Bytes> {
    rows.into_iter()
        .map(|(name, bytes)| (name, Bytes::from(bytes)))
        .collect()
}

#[tough::async_trait]
impl TufStore for PostgresStore {
    async fn load(&self) -> Result<BTreeMap<String, Bytes>, TufError> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(LOAD)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("reading the TUF repository"))?;
        Ok(into_map(rows))
    }

    async fn read(&self, name: &str) -> Result<Option<Bytes>, TufError> {
        if !valid_file_name(name) {
            return Ok(None);
        }
        let query = if name == TIMESTAMP {
            "SELECT bytes FROM signet_tuf.timestamp WHERE id = 1"
        } else {
            "SELECT bytes FROM signet_tuf.files WHERE name = $1"
        };
        let bytes: Option<Vec<u8>> = sqlx::query_scalar(query)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("reading a TUF file"))?;
        Ok(bytes.map(Bytes::from))
    }

    async fn lock(&self) -> Result<Box<dyn TufLock>, TufError> {
        let what = "taking the TUF publishing lock";
        let mut tx = self.pool.begin().await.map_err(db_err(what))?;
        for setting in [
            format!(
                "SET LOCAL idle_in_transaction_session_timeout = {}",
                LOCK_IDLE_TIMEOUT.as_millis()
            ),
            format!("SET LOCAL lock_timeout = {}", LOCK_WAIT.as_millis()),
        ] {
            sqlx::query(&setting)
                .execute(&mut *tx)
                .await
                .map_err(db_err(what))?;
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUBLISH_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_err(what))?;
        Ok(Box::new(PostgresLock { tx }))
    }

    fn describe(&self) -> String {
        format!("the database (schema {SCHEMA})")
    }
}

struct PostgresLock {
    tx: Transaction<'static, Postgres>,
}

fn version_i64(v: u64) -> Result<i64, TufError> {
    i64::try_from(v).map_err(|_| TufError::Conflict {
        reason: format!("timestamp version {v} is out of range"),
    })
}

#[tough::async_trait]
impl TufLock for PostgresLock {
    async fn load(&mut self) -> Result<BTreeMap<String, Bytes>, TufError> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(LOAD)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err("reading the TUF repository"))?;
        Ok(into_map(rows))
    }

    async fn commit(mut self: Box<Self>, commit: Commit) -> Result<(), TufError> {
        let what = "committing TUF metadata";
        for (name, bytes) in &commit.files {
            if !valid_file_name(name) || name == TIMESTAMP {
                return Err(TufError::Conflict {
                    reason: format!("{name:?} is not a file name a commit writes"),
                });
            }
            let inserted = sqlx::query(
                "INSERT INTO signet_tuf.files (name, bytes) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(bytes.as_ref())
            .execute(&mut *self.tx)
            .await
            .map_err(db_err(what))?
            .rows_affected();
            if inserted == 0 {
                let existing: Vec<u8> =
                    sqlx::query_scalar("SELECT bytes FROM signet_tuf.files WHERE name = $1")
                        .bind(name)
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err(db_err(what))?;
                if existing != bytes.as_ref() {
                    return Err(TufError::Conflict {
                        reason: format!("{name} is already stored with other contents"),
                    });
                }
            }
        }
        if let Some(new) = &commit.timestamp {
            let stored: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM signet_tuf.timestamp WHERE id = 1 FOR UPDATE",
            )
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_err(what))?;
            let stored = stored
                .map(|v| {
                    u64::try_from(v).map_err(|_| TufError::Conflict {
                        reason: format!("stored timestamp version {v}"),
                    })
                })
                .transpose()?;
            check_swap(stored, new)?;
            let version = version_i64(new.version)?;
            let swapped = match new.replaces {
                None => sqlx::query(
                    "INSERT INTO signet_tuf.timestamp (id, version, bytes) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(version)
                .bind(new.bytes.as_ref())
                .execute(&mut *self.tx)
                .await
                .map_err(db_err(what))?,
                Some(old) => sqlx::query(
                    "UPDATE signet_tuf.timestamp SET version = $1, bytes = $2 \
                     WHERE id = 1 AND version = $3",
                )
                .bind(version)
                .bind(new.bytes.as_ref())
                .bind(version_i64(old)?)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err(what))?,
            };
            if swapped.rows_affected() != 1 {
                return Err(TufError::Conflict {
                    reason: "the stored timestamp changed during the publish".to_owned(),
                });
            }
        }
        let remove: Vec<&str> = commit
            .remove
            .iter()
            .map(String::as_str)
            .filter(|name| !name.ends_with(".root.json") && *name != TIMESTAMP)
            .collect();
        if !remove.is_empty() {
            sqlx::query("DELETE FROM signet_tuf.files WHERE name = ANY($1)")
                .bind(&remove)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err(what))?;
        }
        self.tx.commit().await.map_err(db_err(what))
    }
}
