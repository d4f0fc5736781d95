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
//! **Answers.** A search combines its keys (`and`: entries under every key; `or`: under any)
//! first, then lists the newest matches, at most the server's limit ([`MAX_SEARCH_RESULTS`] by
//! default); [`SearchIndex::search`] says when it cut the list. Both stores keep each key's
//! entries ordered by log index, so a search never reads more than it returns for `or`, and
//! for `and` walks the keys together, seeking in each to the next index all may share
//! (a leapfrog join on redb; on PostgreSQL, the key with the fewest entries drives a scan that
//! probes the others), so a key flooded with entries does not hide a rarer key's matches.
//!
//! On PostgreSQL every server runs the indexer; writes are idempotent (`ON CONFLICT DO
//! NOTHING`, `indexed = GREATEST(...)`) and each round starts from the shared count, so they
//! share the work rather than repeat it.

// redb's error type is large; it is boxed where it leaves this module (ServerError).
#![allow(clippy::result_large_err)]

use crate::store::AnyStore;
use redb::{
    Database, Durability, MultimapTableDefinition, MultimapTableHandle, ReadableMultimapTable,
    ReadableTable, TableDefinition,
};
use signet_log::{LogStore, StoredCheckpoint};
use signet_merkle::LeafIndex;
use signet_rekor::{EntryUuid, SearchKey};
use sqlx::postgres::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// (`index_key`, log index) → entry UUID: each key's entries in log order, for range scans
/// from the newest and point lookups.
const ENTRIES: TableDefinition<(&str, u64), [u8; 32]> = TableDefinition::new("entries_by_key");
/// The first layout: `index_key` → 8-byte big-endian log index followed by the 32-byte UUID.
/// Moved into [`ENTRIES`] when an index written by an earlier version is opened.
const OLD_KEYS: MultimapTableDefinition<&str, &[u8]> = MultimapTableDefinition::new("keys");
/// `"indexed"` → number of entries indexed.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const INDEXED: &str = "indexed";
/// Entries indexed per transaction.
const CHUNK: u64 = 256;
/// Most entries one search returns by default (the newest matches).
pub const MAX_SEARCH_RESULTS: usize = 10_000;
/// On PostgreSQL, how many entries of each key are counted to choose which key drives an
/// `and` search.
const PG_DRIVER_COUNT: i64 = 100_000;

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
    /// Most entries one search returns.
    limit: usize,
}

/// One search hit: log index and UUID.
pub(crate) type Hit = (u64, EntryUuid);

/// What a search found: the newest matches first, and whether older ones were left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SearchResult {
    pub(crate) hits: Vec<Hit>,
    pub(crate) truncated: bool,
}

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
        let mut entries = txn.open_table(ENTRIES)?;
        for (k, v) in rows {
            if let Some((index, uuid)) = hit(v) {
                entries.insert((k.as_str(), index), uuid.0)?;
            }
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

    /// The newest entries below index `below` under all (`all`) or any of `keys`, at most
    /// `limit`, newest first.
    async fn search(
        &self,
        keys: Vec<String>,
        all: bool,
        below: u64,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        match self {
            Backend::Redb(db) => {
                let db = Arc::clone(db);
                tokio::task::spawn_blocking(move || redb_search(&db, &keys, all, below, limit))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            Backend::Postgres(pool) => pg_search(pool, &keys, all, below, limit)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

/// The entry under `key` with the largest index at most `bound`.
fn redb_seek(
    table: &redb::ReadOnlyTable<(&'static str, u64), [u8; 32]>,
    key: &str,
    bound: u64,
) -> Result<Option<Hit>, redb::Error> {
    let mut range = table.range((key, 0)..=(key, bound))?;
    match range.next_back() {
        Some(row) => {
            let (k, uuid) = row?;
            Ok(Some((k.value().1, EntryUuid(uuid.value()))))
        }
        None => Ok(None),
    }
}

fn redb_search(
    db: &Database,
    keys: &[String],
    all: bool,
    below: u64,
    limit: usize,
) -> Result<Vec<Hit>, redb::Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(ENTRIES)?;
    let mut out: Vec<Hit> = Vec::new();
    let Some(last) = below.checked_sub(1) else {
        return Ok(out);
    };
    if !all || keys.len() < 2 {
        // The newest `limit` of each key hold the newest `limit` of their union.
        for key in keys {
            let newest = table
                .range((key.as_str(), 0)..=(key.as_str(), last))?
                .rev()
                .take(limit);
            for row in newest {
                let (k, uuid) = row?;
                out.push((k.value().1, EntryUuid(uuid.value())));
            }
        }
        out.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
        out.dedup_by_key(|h| h.0);
        out.truncate(limit);
        return Ok(out);
    }
    // Leapfrog: take the newest candidate of one key, seek every other key to it; a key
    // whose newest entry at or below the candidate is older makes that the new candidate.
    // Every seek either confirms the candidate or moves it down past entries that cannot match.
    let mut bound = last;
    'next: while out.len() < limit {
        let mut keys_round = keys.iter().cycle();
        let Some(first) = keys_round.next() else {
            break;
        };
        let Some(mut candidate) = redb_seek(&table, first, bound)? else {
            break;
        };
        let mut agreeing = 1;
        while agreeing < keys.len() {
            let Some(key) = keys_round.next() else {
                break 'next;
            };
            let Some(found) = redb_seek(&table, key, candidate.0)? else {
                break 'next;
            };
            if found.0 == candidate.0 {
                agreeing += 1;
            } else {
                candidate = found;
                agreeing = 1;
            }
        }
        out.push(candidate);
        match candidate.0.checked_sub(1) {
            Some(b) => bound = b,
            None => break,
        }
    }
    Ok(out)
}

async fn pg_search(
    pool: &PgPool,
    keys: &[String],
    all: bool,
    below: u64,
    limit: usize,
) -> Result<Vec<Hit>, sqlx::Error> {
    let below = i64::try_from(below).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<(i64, Vec<u8>)> = if !all || keys.len() < 2 {
        // The newest `limit` of each key hold the newest `limit` of their union.
        sqlx::query_as(
            "SELECT DISTINCT s.idx, s.uuid FROM UNNEST($1::TEXT[]) AS k(key) \
             CROSS JOIN LATERAL (SELECT idx, uuid FROM search_keys \
                 WHERE key = k.key AND idx < $2 ORDER BY idx DESC LIMIT $3) s \
             ORDER BY s.idx DESC LIMIT $3",
        )
        .bind(keys)
        .bind(below)
        .bind(limit)
        .fetch_all(pool)
        .await?
    } else {
        // The key with the fewest entries (counted up to a cap) drives a newest-first scan;
        // each of its entries is kept if every other key has it too.
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT k.key, (SELECT count(*) FROM (SELECT 1 FROM search_keys s \
                 WHERE s.key = k.key AND s.idx < $2 LIMIT $3) c) \
             FROM UNNEST($1::TEXT[]) AS k(key)",
        )
        .bind(keys)
        .bind(below)
        .bind(PG_DRIVER_COUNT)
        .fetch_all(pool)
        .await?;
        let Some((driver, count)) = counts.iter().min_by_key(|(_, n)| *n) else {
            return Ok(Vec::new());
        };
        if *count == 0 {
            return Ok(Vec::new());
        }
        let others: Vec<&String> = keys.iter().filter(|k| *k != driver).collect();
        sqlx::query_as(
            "SELECT a.idx, a.uuid FROM search_keys a \
             WHERE a.key = $1 AND a.idx < $3 AND NOT EXISTS ( \
                 SELECT 1 FROM UNNEST($2::TEXT[]) AS k(key) WHERE NOT EXISTS ( \
                     SELECT 1 FROM search_keys b WHERE b.key = k.key AND b.idx = a.idx)) \
             ORDER BY a.idx DESC LIMIT $4",
        )
        .bind(driver)
        .bind(others)
        .bind(below)
        .bind(limit)
        .fetch_all(pool)
        .await?
    };
    Ok(rows
        .into_iter()
        .filter_map(|(i, u)| Some((u64::try_from(i).ok()?, EntryUuid(u.try_into().ok()?))))
        .collect())
}

/// Moves an index written by an earlier version (one multimap table) into [`ENTRIES`], in the
/// write transaction `txn`.
fn migrate_old_layout(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    let exists = txn
        .list_multimap_tables()?
        .any(|t| t.name() == OLD_KEYS.name());
    if !exists {
        return Ok(());
    }
    {
        let old = txn.open_multimap_table(OLD_KEYS)?;
        let mut entries = txn.open_table(ENTRIES)?;
        for row in old.iter()? {
            let (key, values) = row?;
            for value in values {
                if let Some((index, uuid)) = hit(value?.value()) {
                    entries.insert((key.value(), index), uuid.0)?;
                }
            }
        }
    }
    txn.delete_multimap_table(OLD_KEYS)?;
    Ok(())
}

impl SearchIndex {
    /// Opens the redb index in `db` (creating its tables in an empty one) and starts indexing
    /// the log in `store`, following `checkpoints`.
    pub(crate) fn open(
        db: Database,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
        limit: usize,
    ) -> Result<SearchIndex, redb::Error> {
        let db = Arc::new(db);
        let start = {
            let txn = db.begin_write()?;
            txn.open_table(ENTRIES)?;
            migrate_old_layout(&txn)?;
            let start = txn.open_table(META)?.get(INDEXED)?.map_or(0, |v| v.value());
            txn.commit()?;
            start
        };
        Ok(Self::start(
            Backend::Redb(db),
            start,
            store,
            checkpoints,
            limit,
        ))
    }

    /// Opens (or creates) the index in the PostgreSQL schema `pool` is set to (the v1 log's).
    pub(crate) async fn open_postgres(
        pool: PgPool,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
        limit: usize,
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
            limit,
        ))
    }

    fn start(
        backend: Backend,
        start: u64,
        store: Arc<AnyStore>,
        checkpoints: watch::Receiver<Arc<StoredCheckpoint>>,
        limit: usize,
    ) -> SearchIndex {
        let (publish, indexed) = watch::channel(start);
        let task = tokio::spawn(run(backend.clone(), store, checkpoints, publish));
        SearchIndex {
            backend,
            indexed,
            task,
            limit,
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

    /// The newest entries below index `below` indexed under every one of `keys` (`all`) or
    /// under any of them, newest first: at most the index's limit, with `truncated` set when
    /// there were more.
    pub(crate) async fn search(
        &self,
        keys: &[SearchKey],
        all: bool,
        below: u64,
    ) -> Result<SearchResult, IndexError> {
        let keys: Vec<String> = keys
            .iter()
            .map(SearchKey::index_key)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut hits = self
            .backend
            .search(keys, all, below, self.limit.saturating_add(1))
            .await?;
        let truncated = hits.len() > self.limit;
        hits.truncate(self.limit);
        Ok(SearchResult { hits, truncated })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::collections::BTreeMap;

    fn uuid(index: u64) -> EntryUuid {
        let mut u = [0u8; 32];
        u[..8].copy_from_slice(&index.to_be_bytes());
        EntryUuid(u)
    }

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("search.redb")).unwrap();
        (dir, db)
    }

    /// What a search must answer, computed the slow way.
    fn naive(
        sets: &BTreeMap<String, BTreeSet<u64>>,
        keys: &[String],
        all: bool,
        below: u64,
        limit: usize,
    ) -> Vec<Hit> {
        let empty = BTreeSet::new();
        let of = |k: &String| sets.get(k).unwrap_or(&empty);
        let mut matched: BTreeSet<u64> = BTreeSet::new();
        for (i, key) in keys.iter().enumerate() {
            let set = of(key);
            matched = match (i, all) {
                (0, _) => set.clone(),
                (_, true) => matched.intersection(set).copied().collect(),
                (_, false) => matched.union(set).copied().collect(),
            };
        }
        matched
            .into_iter()
            .rev()
            .filter(|&i| i < below)
            .take(limit)
            .map(|i| (i, uuid(i)))
            .collect()
    }

    /// The leapfrog `and` and the merged `or` agree with set algebra on keys of very
    /// different sizes, for every limit and cut-off.
    #[test]
    fn redb_search_matches_set_algebra() {
        let (_dir, db) = database();
        // Deterministic pseudo-random membership: "flood" has almost every index, "half" every
        // other, "rare" a few, "none" nothing.
        let mut sets: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for index in 0..600u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(10) {
                sets.entry("flood".into()).or_default().insert(index);
            }
            if index.is_multiple_of(2) {
                sets.entry("half".into()).or_default().insert(index);
            }
            if x.is_multiple_of(97) || index == 0 || index == 599 {
                sets.entry("rare".into()).or_default().insert(index);
            }
        }
        let rows: Vec<(String, Vec<u8>)> = sets
            .iter()
            .flat_map(|(k, set)| set.iter().map(move |&i| (k.clone(), value(i, &uuid(i)))))
            .collect();
        redb_write(&db, &rows, Some(600), Durability::Immediate).unwrap();
        let key_sets: [&[&str]; 6] = [
            &["flood"],
            &["flood", "rare"],
            &["rare", "flood", "half"],
            &["flood", "half"],
            &["flood", "none"],
            &["none"],
        ];
        for keys in key_sets {
            let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            for all in [true, false] {
                for below in [0, 1, 300, 599, 600, 10_000] {
                    for limit in [0, 1, 3, 50, 1000] {
                        assert_eq!(
                            redb_search(&db, &keys, all, below, limit).unwrap(),
                            naive(&sets, &keys, all, below, limit),
                            "{keys:?} all={all} below={below} limit={limit}"
                        );
                    }
                }
            }
        }
    }

    /// An index written in the first layout (one multimap table) is moved on open.
    #[test]
    fn old_layout_is_migrated() {
        let (_dir, db) = database();
        let txn = db.begin_write().unwrap();
        {
            let mut old = txn.open_multimap_table(OLD_KEYS).unwrap();
            for i in [3u64, 9, 12] {
                old.insert("key:a", value(i, &uuid(i)).as_slice()).unwrap();
            }
            old.insert("hash:b", value(9, &uuid(9)).as_slice()).unwrap();
        }
        txn.commit().unwrap();

        let txn = db.begin_write().unwrap();
        migrate_old_layout(&txn).unwrap();
        txn.commit().unwrap();
        let keys = ["key:a".to_owned(), "hash:b".to_owned()];
        assert_eq!(
            redb_search(&db, &keys[..1], false, 100, 10).unwrap(),
            [(12, uuid(12)), (9, uuid(9)), (3, uuid(3))]
        );
        assert_eq!(
            redb_search(&db, &keys, true, 100, 10).unwrap(),
            [(9, uuid(9))]
        );
        let txn = db.begin_read().unwrap();
        assert_eq!(txn.list_multimap_tables().unwrap().count(), 0);
        // Migrating again (nothing left) is a no-op.
        let txn = db.begin_write().unwrap();
        migrate_old_layout(&txn).unwrap();
        txn.commit().unwrap();
    }
}
