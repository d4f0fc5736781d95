//! The Rekor v1 search index (`POST /api/v1/index/retrieve`): search key → entries, in its own
//! redb database beside the log.
//!
//! The index is derived data. A background task follows the log's published checkpoints and
//! indexes every entry from the last indexed one up to the checkpoint's size, recording how far
//! it got in the same transaction, so after a crash it resumes where it stopped. Keys come from
//! the stored bodies ([`signet_rekor::search_keys_of_body`]); the in-toto subject digests of
//! DSSE and in-toto entries, which bodies lack, are added by the create handler from the
//! request ([`SearchIndex::add`]), so they are only indexed for entries this process accepted
//! and may be lost in a crash. Searches wait briefly for the indexer to reach the latest
//! checkpoint; results may still be incomplete, as Rekor documents for this endpoint.

// redb's error type is large; it is boxed where it leaves this module (ServerError).
#![allow(clippy::result_large_err)]

use redb::{Database, Durability, MultimapTableDefinition, ReadableTable, TableDefinition};
use signet_log::{Batcher, LogStore, RedbStore};
use signet_merkle::LeafIndex;
use signet_rekor::{EntryUuid, SearchKey};
use std::collections::BTreeSet;
use std::path::Path;
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

/// The search index and how far it has got.
pub(crate) struct SearchIndex {
    db: Arc<Database>,
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

fn write(
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

impl SearchIndex {
    /// Opens (or creates) the index at `path` and starts indexing `log` (stored in `store`).
    pub(crate) fn open(
        path: &Path,
        store: Arc<RedbStore>,
        log: &Batcher,
    ) -> Result<SearchIndex, redb::Error> {
        let db = Arc::new(Database::create(path)?);
        let start = {
            let txn = db.begin_write()?;
            txn.open_multimap_table(KEYS)?;
            let start = txn.open_table(META)?.get(INDEXED)?.map_or(0, |v| v.value());
            txn.commit()?;
            start
        };
        let (publish, indexed) = watch::channel(start);
        let task = tokio::spawn(run(Arc::clone(&db), store, log.subscribe(), publish));
        Ok(SearchIndex { db, indexed, task })
    }

    /// Waits for the indexer to stop (it stops once its log's sequencer has) and closes the
    /// database.
    pub(crate) async fn close(self) {
        let _ = self.task.await;
    }

    /// Adds keys for an entry just appended (extra keys its body does not give). Best effort.
    pub(crate) async fn add(&self, keys: &[SearchKey], index: u64, uuid: EntryUuid) {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| (k.index_key(), value(index, &uuid)))
            .collect();
        let db = Arc::clone(&self.db);
        let result =
            tokio::task::spawn_blocking(move || write(&db, &rows, None, Durability::Eventual))
                .await;
        if let Ok(Err(e)) = result {
            eprintln!("signet-server: search index: {e}");
        }
    }

    /// Waits (up to 2 s) until entries below `size` are indexed.
    pub(crate) async fn wait_for(&self, size: u64) {
        let mut rx = self.indexed.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|&n| n >= size)).await;
    }

    /// The entries indexed under `key`, by log index.
    pub(crate) async fn lookup(&self, key: &SearchKey) -> Result<BTreeSet<Hit>, redb::Error> {
        let db = Arc::clone(&self.db);
        let key = key.index_key();
        tokio::task::spawn_blocking(move || {
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
        .map_err(|e| redb::Error::Io(std::io::Error::other(e)))?
    }
}

/// Indexes entries `from..to`; returns the new indexed count.
async fn index_range(
    db: &Arc<Database>,
    store: &RedbStore,
    from: u64,
    to: u64,
) -> Result<u64, String> {
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
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || write(&db, &rows, Some(to), Durability::Immediate))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(to)
}

async fn run(
    db: Arc<Database>,
    store: Arc<RedbStore>,
    mut checkpoints: watch::Receiver<Arc<signet_log::StoredCheckpoint>>,
    publish: watch::Sender<u64>,
) {
    let mut indexed = *publish.borrow();
    loop {
        let size = checkpoints.borrow_and_update().size.0;
        while indexed < size {
            let to = size.min(indexed.saturating_add(CHUNK));
            match index_range(&db, &store, indexed, to).await {
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
