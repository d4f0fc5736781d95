//! The Rekor v1 search index (`POST /api/v1/index/retrieve`): search key → entries, in its own
//! redb database beside the log, or, when the logs live in PostgreSQL, in two tables of the v1
//! log's schema (`search_keys (key, idx, uuid)` and the one-row `search_state (indexed)`), shared
//! by every server on the database.
//!
//! The index is derived data. A background task follows the log's published checkpoints and
//! indexes every entry from the last indexed one up to the checkpoint's size, recording how far
//! it got in the same transaction, so after a crash it resumes where it stopped. Keys come from
//! the stored bodies ([`signet_rekor::search_keys_of_body`]); the in-toto subject digests of
//! DSSE and in-toto entries, which bodies lack, are added by the create handler from the
//! request ([`SearchIndex::add`]), so they are only indexed for entries this process accepted
//! and may be lost in a crash. Searches wait briefly for the indexer to reach the latest
//! checkpoint; results may still be incomplete, as Rekor documents for this endpoint.
//!
//! On PostgreSQL every server runs the indexer; writes are idempotent (`ON CONFLICT DO
//! NOTHING`, `indexed = GREATEST(...)`) and each round starts from the shared count, so they
//! share the work rather than repeat it.

// redb's error type is large; it is boxed where it leaves this module (ServerError).
#![allow(clippy::result_large_err)]

use crate::store::AnyStore;
use redb::{Database, Durability, MultimapTableDefinition, ReadableTable, TableDefinition};
use signet_log::{LogStore, StoredCheckpoint};
use signet_merkle::LeafIndex;
use signet_rekor::{EntryUuid, SearchKey};
use sqlx::postgres::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// `index_key` → 8-byte big-endian log index followed by the 32-byte entry UUID.
const KEYS: MultimapTableDefinition<&str, &[u8]> = MultimapTableDefinition::new("keys");
/// `"indexed"` → number of entries indexed.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const INDEXED: &str = "indexed";
/// Entries indexed per transaction.
const CHUNK: u64 = 256;
/// Most entries one search returns.
pub const MAX_SEARCH_RESULTS: usize = 10_000;

/// The PostgreSQL tables, created in the v1 log's schema.
const PG_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS search_keys (
        key TEXT NOT NULL,
        idx BIGINT NOT NULL,
        uuid BYTEA NOT NULL,
        PRIMARY KEY (key, idx))",
    "CREATE TABLE IF NOT EXISTS search_state (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        indexed BIGINT NOT NULL)",
    "INSERT INTO search_state (id, indexed) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
];

/// Where the index lives.
#[derive(Clone)]
enum Backend {
    Redb(Arc<Database>),
    Postgres(PgPool),
}

/// An index error, as text (it is only logged or turned into a 500).
type IndexError = String;

/// The search index and how far it has got.
pub(crate) struct SearchIndex {
    backend: Backend,
    indexed: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

/// One search hit: log index and UUID.
pub(crate) type Hit = (u64, EntryUuid);

fn value(index: u64, uuid: &EntryUuid) -> Vec<u8> {
    let mut v = index.to_be_bytes().to_vec();
    v.extend_from_slice(&uuid.0);
    v
}

fn hit(v: &[u8]) -> Option<Hit> {
    let index = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let uuid: [u8; 32] = v.get(8..)?.try_into().ok()?;
    Some((index, EntryUuid(uuid)))
}

fn redb_write(
    db: &Database,
    rows: &[(String, Vec<u8>)],
    indexed: Option<u64>,
    durability: Durability,
) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(durability);
    {
        let mut keys = txn.open_multimap_table(KEYS)?;
        for (k, v) in rows {
            keys.insert(k.as_str(), v.as_slice())?;
        }
        if let Some(n) = indexed {
            txn.open_table(META)?.insert(INDEXED, n)?;
        }
    }
    txn.commit()?;
    Ok(())
}

fn to_i64(n: u64) -> Result<i64, IndexError> {
    i64::try_from(n).map_err(|_| format!("{n} does not fit a BIGINT"))
}

impl Backend {
    /// Writes rows (and, if given, the new indexed count) in one transaction.
    async fn write(
        &self,
        rows: Vec<(String, Vec<u8>)>,
        indexed: Option<u64>,
        durable: bool,
    ) -> Result<(), IndexError> {
        match self {
            Backend::Redb(db) => {
                let db = Arc::clone(db);
                let durability = if durable {
                    Durability::Immediate
                } else {
                    Durability::Eventual
                };
                tokio::task::spawn_blocking(move || redb_write(&db, &rows, indexed, durability))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            Backend::Postgres(pool) => {
                let mut keys = Vec::with_capacity(rows.len());
                let mut idx = Vec::with_capacity(rows.len());
                let mut uuids = Vec::with_capacity(rows.len());
                for (k, v) in rows {
                    let Some((index, uuid)) = hit(&v) else {
                        continue;
                    };
                    keys.push(k);
                    idx.push(to_i64(index)?);
                    uuids.push(uuid.0.to_vec());
                }
                let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
                sqlx::query(
                    "INSERT INTO search_keys (key, idx, uuid) \
                     SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BYTEA[]) \
                     ON CONFLICT (key, idx) DO NOTHING",
                )
                .bind(keys)
                .bind(idx)
                .bind(uuids)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
                if let Some(n) = indexed {
                    sqlx::query(
                        "UPDATE search_state SET indexed = GREATEST(indexed, $1) WHERE id = 1",
                    )
                    .bind(to_i64(n)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())
            }
        }
    }

    /// How many entries are indexed.
    async fn indexed(&self) -> Result<u64, IndexError> {
        match self {
            Backend::Redb(db) => {
                let txn = db.begin_read().map_err(|e| e.to_string())?;
                let table = txn.open_table(META).map_err(|e| e.to_string())?;
                Ok(table
                    .get(INDEXED)
                    .map_err(|e| e.to_string())?
                    .map_or(0, |v| v.value()))
            }
            Backend::Postgres(pool) => {
                let n: i64 = sqlx::query_scalar("SELECT indexed FROM search_state WHERE id = 1")
                    .fetch_one(pool)
                    .await
                    .map_err(|e| e.to_string())?;
                u64::try_from(n).map_err(|_| format!("negative indexed count {n}"))
            }
        }
    }

    async fn lookup(&self, key: String) -> Result<BTreeSet<Hit>, IndexError> {
        match self {
            Backend::Redb(db) => {
                let db = Arc::clone(db);
                tokio::task::spawn_blocking(move || -> Result<_, redb::Error> {
                    let txn = db.begin_read()?;
                    let table = txn.open_multimap_table(KEYS)?;
                    let mut out = BTreeSet::new();
                    for v in table.get(key.as_str())? {
                        if let Some(h) = hit(v?.value()) {
                            out.insert(h);
                        }
                        if out.len() >= MAX_SEARCH_RESULTS {
                            break;
                        }
                    }
                    Ok(out)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
            }
            Backend::Postgres(pool) => {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT idx, uuid FROM search_keys WHERE key = $1 ORDER BY idx LIMIT $2",
                )
                .bind(key)
                .bind(i64::try_from(MAX_SEARCH_RESULTS).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .map_err(|e| e.to_string())?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(i, u)| {
                        Some((u64::try_from(i).ok()?, EntryUuid(u.try_into().ok()?)))
                    })
                    .collect())
            }
        }
    }
}

impl SearchIndex {
    /// Opens the redb index in `db` (creating its tables in an empty one) and starts indexing
    /// the log in `store`, following `checkpoints`.
    pub(crate) fn open(
        db: Database,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
    ) -> Result<SearchIndex, redb::Error> {
        let db = Arc::new(db);
        let start = {
            let txn = db.begin_write()?;
            txn.open_multimap_table(KEYS)?;
            let start = txn.open_table(META)?.get(INDEXED)?.map_or(0, |v| v.value());
            txn.commit()?;
            start
        };
        Ok(Self::start(Backend::Redb(db), start, store, checkpoints))
    }

    /// Opens (or creates) the index in the PostgreSQL schema `pool` is set to (the v1 log's).
    pub(crate) async fn open_postgres(
        pool: PgPool,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
    ) -> Result<SearchIndex, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // Serializes table creation between servers starting together.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('signet search index'))")
            .execute(&mut *tx)
            .await?;
        for statement in PG_SCHEMA {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let start: i64 = sqlx::query_scalar("SELECT indexed FROM search_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let start = u64::try_from(start).unwrap_or(0);
        Ok(Self::start(
            Backend::Postgres(pool),
            start,
            store,
            checkpoints,
        ))
    }

    fn start(
        backend: Backend,
        start: u64,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
    ) -> SearchIndex {
        let (publish, indexed) = watch::channel(start);
        let task = tokio::spawn(run(backend.clone(), store, checkpoints, publish));
        SearchIndex {
            backend,
            indexed,
            task,
        }
    }

    /// Waits for the indexer to stop (it stops once its log's handle is dropped) and closes
    /// the index.
    pub(crate) async fn close(self) {
        let _ = self.task.await;
    }

    /// Adds keys for an entry just appended (extra keys its body does not give). Best effort.
    pub(crate) async fn add(&self, keys: &[SearchKey], index: u64, uuid: EntryUuid) {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| (k.index_key(), value(index, &uuid)))
            .collect();
        if let Err(e) = self.backend.write(rows, None, false).await {
            eprintln!("signet-server: search index: {e}");
        }
    }

    /// Waits (up to 2 s) until entries below `size` are indexed.
    pub(crate) async fn wait_for(&self, size: u64) {
        let mut rx = self.indexed.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|&n| n >= size)).await;
    }

    /// The entries indexed under `key`, by log index.
    pub(crate) async fn lookup(&self, key: &SearchKey) -> Result<BTreeSet<Hit>, IndexError> {
        self.backend.lookup(key.index_key()).await
    }
}

/// Indexes entries `from..to`; returns the new indexed count.
async fn index_range(
    backend: &Backend,
    store: &AnyStore,
    from: u64,
    to: u64,
) -> Result<u64, IndexError> {
    let mut rows = Vec::new();
    for index in from..to {
        let entry = store
            .read_entry(LeafIndex(index))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("entry {index} is missing"))?;
        let uuid = EntryUuid::of_body(&entry.data);
        // Bodies that do not parse (none should) are skipped rather than blocking the index.
        for key in signet_rekor::search_keys_of_body(&entry.data).unwrap_or_default() {
            rows.push((key.index_key(), value(index, &uuid)));
        }
    }
    backend.write(rows, Some(to), true).await?;
    Ok(to)
}

async fn run(
    backend: Backend,
    store: Arc<AnyStore>,
    mut checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
    publish: watch::Sender<u64>,
) {
    let mut indexed = *publish.borrow();
    loop {
        let size = checkpoints.borrow_and_update().size.0;
        while indexed < size {
            // Another server may have indexed further (PostgreSQL).
            if let Ok(shared) = backend.indexed().await
                && shared > indexed
            {
                indexed = shared;
                publish.send_replace(indexed);
                continue;
            }
            let to = size.min(indexed.saturating_add(CHUNK));
            match index_range(&backend, &store, indexed, to).await {
                Ok(n) => {
                    indexed = n;
                    publish.send_replace(n);
                }
                Err(e) => {
                    if checkpoints.has_changed().is_err() {
                        return;
                    }
                    eprintln!("signet-server: search index: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        if checkpoints.changed().await.is_err() {
            return;
        }
    }
}
