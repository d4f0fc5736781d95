//! A store in PostgreSQL, for deployments that outgrow one machine (feature `postgres`).
//!
//! # Tables
//!
//! One log per database (or per schema, through `search_path` in the connection options):
//!
//! - `log_entries (idx BIGINT PRIMARY KEY, data BYTEA, timestamp_ms BIGINT)`
//! - `log_leaves (leaf_hash BYTEA PRIMARY KEY, idx BIGINT)`: the duplicate index. It is its own
//!   table, not a `UNIQUE` column of `log_entries`, because the contract keeps the *first*
//!   index of a hash while still storing every entry it is given.
//! - `log_tiles (level SMALLINT, idx BIGINT, data BYTEA, PRIMARY KEY (level, idx))`: the widest
//!   version of each tile; narrower widths are served as prefixes.
//! - `log_bundles (idx BIGINT PRIMARY KEY, data BYTEA)`: likewise for entry bundles.
//! - `log_state`: one row (`id = 1`) with the layout version, the staged size and the
//!   checkpoint (size, timestamp, note).
//!
//! Unsigned values are stored in `BIGINT`; a value past `i64::MAX` is refused on write and
//! reported as corrupt on read.
//!
//! # Durability and compare-and-swap
//!
//! Each phase of an append is one transaction: it locks the state row (`SELECT ... FOR
//! UPDATE`), checks the expected size, writes, and commits. Every connection is opened with
//! `synchronous_commit = on`, so `COMMIT` returns after the WAL is flushed: a write that
//! returned `Ok` survives a crash of the database server. Reads are single statements and so
//! see each committed transaction whole or not at all.
//!
//! # Notifications
//!
//! After each checkpoint commit the store notifies [`CHECKPOINT_CHANNEL`] with the log's schema
//! (not inside the commit's transaction: see `notify_checkpoint`), so a notification follows
//! every committed checkpoint unless the process stops first or the notification queue is
//! full. [`watch_checkpoints`] follows them for a process that serves a log it does not
//! sequence (see [`crate::Freshness`], whose maximum age covers a lost notification).
//!
//! # One sequencer
//!
//! The store itself does not lock (see [`LogStore`]): the compare-and-swap checks fence a
//! second writer after the fact. To keep a second process from sequencing at all, take a
//! [`SequencerLease`] with [`PostgresStore::try_lease`] before opening the sequencer and hold
//! it for as long as the sequencer runs: it is a session-level `pg_try_advisory_lock` held on a
//! dedicated connection, released when the lease is released or dropped, or when the
//! connection (or the process) dies. [`SequencerLease::check`] only pings that connection.
//!
//! This lease has no time bound and no fence: a holder that stalls (stopped, hung) keeps its
//! connection and so the lock, and a holder that lost the lock without noticing is stopped
//! only by the compare-and-swap checks, which may fail the new holder's commit instead of its
//! own. A process that does not get the lease can still
//! serve every read from the same database (tiles, bundles, entries, checkpoints and proofs are
//! all read through [`LogStore`] methods that never write) and retry
//! [`PostgresStore::try_lease`] to take over when the holder's connection goes away.
//!
//! `signet-server` and `signet-ct` do not use this lease. They take a [`crate::lease`]
//! instead (the server with the same advisory-lock key, so the two exclude each other), which
//! adds what this one lacks: a session that ends when the holder stops proving it is alive,
//! and an epoch that the database checks on every commit of the sequencer's stores, so a stale
//! holder cannot write (see [`crate::lease`] and `docs/design/log-durability.md`).

use crate::store::{bundle_prefix, tile_prefix};
use crate::{LogState, LogStore, StagedBatch, StoreError, StoreOp, StoredCheckpoint, StoredEntry};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use std::collections::HashMap;
use std::sync::Arc;

/// The table layout written by this code.
const FORMAT_VERSION: i64 = 1;

/// Advisory-lock key that serializes schema creation (`"signetsc"`).
const SCHEMA_LOCK: i64 = 0x7369_676e_6574_7363;

/// Advisory-lock key of the single-sequencer lease (`"signetsq"`).
const LEASE_LOCK: i64 = 0x7369_676e_6574_7371;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS log_entries (
        idx BIGINT PRIMARY KEY,
        data BYTEA NOT NULL,
        timestamp_ms BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_leaves (
        leaf_hash BYTEA PRIMARY KEY,
        idx BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_tiles (
        level SMALLINT NOT NULL,
        idx BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS log_bundles (
        idx BIGINT PRIMARY KEY,
        data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_state (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        format BIGINT NOT NULL,
        staged_size BIGINT NOT NULL,
        checkpoint_size BIGINT,
        checkpoint_timestamp_ms BIGINT,
        checkpoint_note BYTEA)",
];

/// A [`LogStore`] in a PostgreSQL database, over a sqlx connection pool. See the module
/// documentation for the tables, the durability argument and the single-sequencer lease.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// A value that does not fit PostgreSQL's `BIGINT`.
#[derive(Debug, thiserror::Error)]
#[error("{what} {value} does not fit a BIGINT")]
struct OutOfRange {
    what: &'static str,
    value: u64,
}

fn backend(op: StoreOp) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Backend {
        op,
        source: Arc::new(e),
    }
}

fn to_i64(op: StoreOp, what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Backend {
        op,
        source: Arc::new(OutOfRange { what, value }),
    })
}

fn to_u64(what: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("negative value {value}"),
    })
}

fn column<'r, T>(row: &'r PgRow, name: &str, op: StoreOp) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name).map_err(backend(op))
}

/// Decodes the state row.
fn decode_state(row: &PgRow, op: StoreOp) -> Result<LogState, StoreError> {
    let staged: i64 = column(row, "staged_size", op)?;
    let size: Option<i64> = column(row, "checkpoint_size", op)?;
    let timestamp: Option<i64> = column(row, "checkpoint_timestamp_ms", op)?;
    let note: Option<Vec<u8>> = column(row, "checkpoint_note", op)?;
    let checkpoint = match (size, timestamp, note) {
        (None, None, None) => None,
        (Some(size), Some(timestamp), Some(note)) => Some(StoredCheckpoint {
            size: TreeSize(to_u64("checkpoint size", size)?),
            timestamp_ms: to_u64("checkpoint timestamp", timestamp)?,
            note,
        }),
        _ => {
            return Err(StoreError::Corrupt {
                what: "checkpoint",
                detail: "some checkpoint columns are NULL and others are not".into(),
            });
        }
    };
    Ok(LogState {
        staged_size: TreeSize(to_u64("staged size", staged)?),
        checkpoint,
    })
}

const SELECT_STATE: &str = "SELECT staged_size, checkpoint_size, checkpoint_timestamp_ms, \
     checkpoint_note FROM log_state WHERE id = 1";

/// Reads the state row through `conn` (locking it if `for_update`).
async fn read_state(
    conn: &mut PgConnection,
    op: StoreOp,
    for_update: bool,
) -> Result<LogState, StoreError> {
    let sql = if for_update {
        "SELECT staged_size, checkpoint_size, checkpoint_timestamp_ms, checkpoint_note \
         FROM log_state WHERE id = 1 FOR UPDATE"
    } else {
        SELECT_STATE
    };
    let row = sqlx::query(sql)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend(op))?
        .ok_or_else(|| StoreError::Corrupt {
            what: "state",
            detail: "the log_state row is missing".into(),
        })?;
    decode_state(&row, op)
}

impl PostgresStore {
    /// Connects to the database at `url` (e.g. `postgres://user@127.0.0.1:5432/db`) and
    /// creates the tables if they do not exist.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(backend(StoreOp::State))?;
        Self::connect_with(options).await
    }

    /// Connects with `options` (a pool of up to 8 connections) and creates the tables if they
    /// do not exist. `synchronous_commit` is forced on for every connection.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let options = options.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend(StoreOp::State))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and creates the tables if they do not exist. The pool's
    /// connections must keep `synchronous_commit` on (the server default) for writes to be
    /// durable when `Ok`.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        let op = StoreOp::State;
        let mut tx = pool.begin().await.map_err(backend(op))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend(op))?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(backend(op))?;
        }
        sqlx::query(
            "INSERT INTO log_state (id, format, staged_size) VALUES (1, $1, 0) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(FORMAT_VERSION)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
        let found: i64 = sqlx::query_scalar("SELECT format FROM log_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend(op))?;
        if found != FORMAT_VERSION {
            return Err(StoreError::FormatVersion {
                found: u64::try_from(found).unwrap_or(u64::MAX),
                want: FORMAT_VERSION.unsigned_abs(),
            });
        }
        tx.commit().await.map_err(backend(op))?;
        Ok(PostgresStore { pool })
    }

    /// The connection pool, e.g. to close it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Tries to take the single-sequencer lease of this database: `None` if another session
    /// holds it. The lease lives on its own connection (not one of the pool's); hold it for as
    /// long as the sequencer runs.
    pub async fn try_lease(&self) -> Result<Option<SequencerLease>, sqlx::Error> {
        let options = self.pool.connect_options();
        let mut conn = PgConnection::connect_with(&options).await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEASE_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if taken {
            Ok(Some(SequencerLease { conn }))
        } else {
            conn.close().await?;
            Ok(None)
        }
    }
}

/// The single-sequencer lease of a [`PostgresStore`]: a session-level advisory lock held on a
/// dedicated connection. Dropping it closes the connection, which releases the lock; so does
/// the death of the process or of the connection, so a sequencer should
/// [`check`](SequencerLease::check) its lease periodically and stop if it is lost.
#[derive(Debug)]
pub struct SequencerLease {
    conn: PgConnection,
}

impl SequencerLease {
    /// Checks that the lease's connection is alive (and so the lock still held).
    pub async fn check(&mut self) -> Result<(), sqlx::Error> {
        self.conn.ping().await
    }

    /// Releases the lock and closes the connection.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LEASE_LOCK)
            .execute(&mut self.conn)
            .await?;
        self.conn.close().await
    }
}

async fn stage(pool: &PgPool, batch: StagedBatch) -> Result<(), StoreError> {
    let op = StoreOp::StageBatch;
    let mut tx = pool.begin().await.map_err(backend(op))?;
    let found = read_state(&mut tx, op, true).await?.staged_size.0;
    if found != batch.expected_size.0 {
        // Dropping the transaction rolls it back.
        return Err(StoreError::StagedConflict {
            expected: batch.expected_size.0,
            found,
        });
    }
    let start = found;
    let count = u64::try_from(batch.entries.len()).unwrap_or(u64::MAX);
    let next = start.checked_add(count).ok_or(StoreError::Backend {
        op,
        source: Arc::new(OutOfRange {
            what: "staged size",
            value: u64::MAX,
        }),
    })?;

    if !batch.entries.is_empty() {
        let mut idx = Vec::with_capacity(batch.entries.len());
        let mut data = Vec::with_capacity(batch.entries.len());
        let mut ts = Vec::with_capacity(batch.entries.len());
        let mut leaf_hashes: Vec<Vec<u8>> = Vec::new();
        let mut leaf_idx = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, entry) in (start..).zip(batch.entries) {
            let i = to_i64(op, "entry index", i)?;
            idx.push(i);
            ts.push(to_i64(op, "entry timestamp", entry.timestamp_ms)?);
            data.push(entry.data);
            if seen.insert(entry.leaf_hash) {
                leaf_hashes.push(entry.leaf_hash.0.to_vec());
                leaf_idx.push(i);
            }
        }
        sqlx::query(
            "INSERT INTO log_entries (idx, data, timestamp_ms) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BIGINT[])",
        )
        .bind(idx)
        .bind(data)
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
        // Keeps the first index of a hash already present.
        sqlx::query(
            "INSERT INTO log_leaves (leaf_hash, idx) \
             SELECT * FROM UNNEST($1::BYTEA[], $2::BIGINT[]) ON CONFLICT (leaf_hash) DO NOTHING",
        )
        .bind(leaf_hashes)
        .bind(leaf_idx)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
    }

    if !batch.tiles.is_empty() {
        // One row per tile, the widest if a batch names one twice.
        let mut widest: HashMap<(i16, i64), Vec<u8>> = HashMap::new();
        for (tile, data) in batch.tiles {
            let key = (i16::from(tile.level), to_i64(op, "tile index", tile.index)?);
            match widest.get(&key) {
                Some(old) if old.len() >= data.len() => {}
                _ => {
                    widest.insert(key, data);
                }
            }
        }
        let (mut levels, mut idx, mut data) = (Vec::new(), Vec::new(), Vec::new());
        for ((level, index), d) in widest {
            levels.push(level);
            idx.push(index);
            data.push(d);
        }
        sqlx::query(
            "INSERT INTO log_tiles (level, idx, data) \
             SELECT * FROM UNNEST($1::SMALLINT[], $2::BIGINT[], $3::BYTEA[]) \
             ON CONFLICT (level, idx) DO UPDATE SET data = EXCLUDED.data \
             WHERE length(EXCLUDED.data) >= length(log_tiles.data)",
        )
        .bind(levels)
        .bind(idx)
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
    }

    if !batch.bundles.is_empty() {
        let mut widest: HashMap<i64, Vec<u8>> = HashMap::new();
        for (bundle, data) in batch.bundles {
            let key = to_i64(op, "bundle index", bundle.index)?;
            match widest.get(&key) {
                Some(old) if old.len() >= data.len() => {}
                _ => {
                    widest.insert(key, data);
                }
            }
        }
        let (idx, data): (Vec<i64>, Vec<Vec<u8>>) = widest.into_iter().unzip();
        sqlx::query(
            "INSERT INTO log_bundles (idx, data) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[]) \
             ON CONFLICT (idx) DO UPDATE SET data = EXCLUDED.data \
             WHERE length(EXCLUDED.data) >= length(log_bundles.data)",
        )
        .bind(idx)
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
    }

    sqlx::query("UPDATE log_state SET staged_size = $1 WHERE id = 1")
        .bind(to_i64(op, "staged size", next)?)
        .execute(&mut *tx)
        .await
        .map_err(backend(op))?;
    tx.commit().await.map_err(backend(op))
}

async fn publish(
    pool: &PgPool,
    expected_previous: Option<TreeSize>,
    checkpoint: StoredCheckpoint,
) -> Result<(), StoreError> {
    let op = StoreOp::PublishCheckpoint;
    let mut tx = pool.begin().await.map_err(backend(op))?;
    let state = read_state(&mut tx, op, true).await?;
    let found = state.checkpoint.as_ref().map(|c| c.size.0);
    if found != expected_previous.map(|s| s.0) {
        return Err(StoreError::CheckpointConflict {
            expected: expected_previous.map(|s| s.0),
            found,
        });
    }
    if checkpoint.size > state.staged_size {
        return Err(StoreError::CheckpointBeyondStaged {
            size: checkpoint.size.0,
            staged: state.staged_size.0,
        });
    }
    if let Some(previous) = found.filter(|&p| p > checkpoint.size.0) {
        return Err(StoreError::CheckpointShrinks {
            size: checkpoint.size.0,
            previous,
        });
    }
    sqlx::query(
        "UPDATE log_state SET checkpoint_size = $1, checkpoint_timestamp_ms = $2, \
         checkpoint_note = $3 WHERE id = 1",
    )
    .bind(to_i64(op, "checkpoint size", checkpoint.size.0)?)
    .bind(to_i64(op, "checkpoint timestamp", checkpoint.timestamp_ms)?)
    .bind(checkpoint.note)
    .execute(&mut *tx)
    .await
    .map_err(backend(op))?;
    tx.commit().await.map_err(backend(op))?;
    notify_checkpoint(pool);
    Ok(())
}

/// Tells the listeners that a checkpoint was committed, on a task of its own, after the
/// commit: a `NOTIFY` inside the checkpoint's transaction would hold PostgreSQL's notify lock
/// (one per database) through the commit's WAL flush, serializing the commits of every log
/// in the database, and a full notification queue would fail the checkpoint itself. A
/// notification lost here (the process stops, the queue is full) leaves a follower's copy
/// stale until its next read of the checkpoint, which its maximum staleness bounds.
fn notify_checkpoint(pool: &PgPool) {
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(e) = sqlx::query("SELECT pg_notify($1, current_schema())")
            .bind(CHECKPOINT_CHANNEL)
            .execute(&pool)
            .await
        {
            eprintln!("notifying a checkpoint commit: {e}");
        }
    });
}

/// The channel notified after every checkpoint commit (`NOTIFY`, just after the commit), with
/// the log's schema (the connection's `current_schema()`) as the payload.
pub const CHECKPOINT_CHANNEL: &str = "signet_checkpoint";

/// Follows the checkpoint commits of every log in the database of `options`, on a connection of
/// its own, until `stop` turns true: calls `changed(Some(schema))` for each commit's
/// notification ([`CHECKPOINT_CHANNEL`]), and `changed(None)` whenever notifications may have
/// been missed: once listening starts, and after the connection was lost or failed (it then
/// reconnects, every `retry`). A caller that reads a checkpoint and then sees no call for its
/// schema knows that no checkpoint was committed since, up to the notification's delivery.
pub async fn watch_checkpoints(
    options: PgConnectOptions,
    retry: std::time::Duration,
    changed: impl Fn(Option<&str>) + Send,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    // Whether the last failure was reported already (said once per outage, not every retry).
    let mut quiet = false;
    while !*stop.borrow() {
        let listening = listen_once(&pool, &changed);
        tokio::select! {
            ended = listening => {
                let Err((was_listening, e)) = ended;
                if was_listening {
                    quiet = false;
                }
                if !std::mem::replace(&mut quiet, true) {
                    eprintln!("listening for checkpoint commits: {e}; trying again");
                }
            }
            _ = stop.wait_for(|s| *s) => break,
        }
        changed(None);
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    pool.close().await;
}

/// One connection of [`watch_checkpoints`]: ends only with an error, and whether it had been
/// listening before it.
async fn listen_once(
    pool: &PgPool,
    changed: &(impl Fn(Option<&str>) + Send),
) -> Result<std::convert::Infallible, (bool, sqlx::Error)> {
    let before = |e| (false, e);
    let mut listener = sqlx::postgres::PgListener::connect_with(pool)
        .await
        .map_err(before)?;
    listener.listen(CHECKPOINT_CHANNEL).await.map_err(before)?;
    changed(None);
    loop {
        match listener.try_recv().await.map_err(|e| (true, e))? {
            Some(n) => changed(Some(n.payload())),
            // Lost, and connected again: what was committed in between was not heard.
            None => changed(None),
        }
    }
}

impl LogStore for PostgresStore {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        stage(&self.pool, batch).await
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        publish(&self.pool, expected_previous, checkpoint).await
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        let op = StoreOp::State;
        let mut conn = self.pool.acquire().await.map_err(backend(op))?;
        read_state(&mut conn, op, false).await
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let op = StoreOp::ReadTiles;
        if tiles.is_empty() {
            return Ok(Vec::new());
        }
        let mut levels = Vec::with_capacity(tiles.len());
        let mut idx = Vec::with_capacity(tiles.len());
        for tile in tiles {
            levels.push(i16::from(tile.level));
            idx.push(to_i64(op, "tile index", tile.index)?);
        }
        let rows = sqlx::query(
            "SELECT t.level, t.idx, t.data FROM log_tiles t \
             JOIN UNNEST($1::SMALLINT[], $2::BIGINT[]) AS want(level, idx) \
             ON t.level = want.level AND t.idx = want.idx",
        )
        .bind(levels)
        .bind(idx)
        .fetch_all(&self.pool)
        .await
        .map_err(backend(op))?;
        let mut found: HashMap<(i16, i64), Vec<u8>> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let level: i16 = column(row, "level", op)?;
            let index: i64 = column(row, "idx", op)?;
            found.insert((level, index), column(row, "data", op)?);
        }
        let mut out = Vec::with_capacity(tiles.len());
        for tile in tiles {
            let key = (i16::from(tile.level), to_i64(op, "tile index", tile.index)?);
            out.push(
                found
                    .get(&key)
                    .and_then(|d| tile_prefix(d, *tile).map(<[u8]>::to_vec)),
            );
        }
        Ok(out)
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let op = StoreOp::ReadEntryBundle;
        let data: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM log_bundles WHERE idx = $1")
                .bind(to_i64(op, "bundle index", bundle.index)?)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend(op))?;
        Ok(data.and_then(|d| bundle_prefix(&d, bundle.width).map(<[u8]>::to_vec)))
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        let op = StoreOp::ReadEntry;
        let Ok(idx) = i64::try_from(index.0) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT data, timestamp_ms FROM log_entries WHERE idx = $1")
            .bind(idx)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend(op))?;
        match row {
            Some(row) => {
                let timestamp: i64 = column(&row, "timestamp_ms", op)?;
                Ok(Some(StoredEntry {
                    data: column(&row, "data", op)?,
                    timestamp_ms: to_u64("entry timestamp", timestamp)?,
                }))
            }
            None => Ok(None),
        }
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        let op = StoreOp::FindLeaves;
        if leaf_hashes.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<Vec<u8>> = leaf_hashes.iter().map(|h| h.0.to_vec()).collect();
        let rows = sqlx::query("SELECT leaf_hash, idx FROM log_leaves WHERE leaf_hash = ANY($1)")
            .bind(wanted)
            .fetch_all(&self.pool)
            .await
            .map_err(backend(op))?;
        let mut found: HashMap<Vec<u8>, u64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let index: i64 = column(row, "idx", op)?;
            found.insert(column(row, "leaf_hash", op)?, to_u64("leaf index", index)?);
        }
        Ok(leaf_hashes
            .iter()
            .map(|h| found.get(h.0.as_slice()).map(|&i| LeafIndex(i)))
            .collect())
    }
}
