//! The verifying log reader: tree heads, consistency, single entries with their inclusion
//! proofs, and streaming scans of new entries, for Rekor v1, tlog-tiles (Rekor v2) and RFC 6962
//! CT logs. Nothing it returns is unverified.

use crate::AuditError;
use crate::decode::{DecodedEntry, decode_ct_leaf, decode_rekor_body};
use crate::head::{LogKind, TreeHead, verify_checkpoint, verify_sth};
use crate::http::Http;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde::Deserialize;
use signet_merkle::{
    CompactRange, Hash, LeafIndex, TreeSize, hash_leaf, prove_consistency, prove_inclusion,
    verify_consistency, verify_inclusion,
};
use signet_tiles::{
    EntryBundleId, TILE_WIDTH, TileId, TileNodeReader, TileReadError, decode_entry_bundle,
    tile_width,
};
use signet_verify::TrustMaterial;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Requests in flight at once while scanning.
pub const PARALLEL_READS: usize = 16;

/// Entries per `POST /api/v1/log/entries/retrieve` (Rekor's limit).
const V1_BATCH: u64 = 10;

/// Entries asked for per CT `get-entries` request.
const CT_BATCH: u64 = 256;

/// At most this many rounds of tile fetching for one proof: each round fetches every tile the
/// proof still lacks, so two suffice; more means the log serves tiles inconsistently.
const TILE_ROUNDS: usize = 4;

/// One entry met while scanning.
#[derive(Debug, Clone)]
pub struct ScannedEntry {
    /// Its index.
    pub index: u64,
    /// What it says, or why it could not be decoded (an entry of an unknown kind is still in
    /// the tree; its hash was checked like any other).
    pub decoded: Result<DecodedEntry, String>,
}

/// A verifying reader of one log.
#[derive(Debug, Clone)]
pub struct LogReader {
    http: Http,
    kind: LogKind,
    url: String,
    /// Where the tlog-tiles resources live (`<url>` or `<url>/api/v2`).
    tiles_prefix: String,
    trust: Arc<TrustMaterial>,
    tiles: Arc<Mutex<HashMap<TileId, Arc<Vec<u8>>>>>,
}

/// The tiles a proof needs and the cache lacks.
#[derive(Debug)]
struct MissingTiles(Vec<TileId>);

impl std::fmt::Display for MissingTiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} tiles not fetched yet", self.0.len())
    }
}

/// Why reading nodes out of the tiles fetched so far failed.
enum TileFailure {
    /// More tiles are needed.
    Missing(Vec<TileId>),
    /// The tiles or the request are wrong.
    Other(String),
}

impl From<TileReadError<MissingTiles>> for TileFailure {
    fn from(e: TileReadError<MissingTiles>) -> Self {
        match e {
            TileReadError::Fetch(MissingTiles(ids)) => TileFailure::Missing(ids),
            other => TileFailure::Other(other.to_string()),
        }
    }
}

impl From<signet_merkle::ProveError<TileReadError<MissingTiles>>> for TileFailure {
    fn from(e: signet_merkle::ProveError<TileReadError<MissingTiles>>) -> Self {
        match e {
            signet_merkle::ProveError::Read(e) => e.into(),
            other => TileFailure::Other(other.to_string()),
        }
    }
}

type TileFetch<'a> = Box<dyn Fn(&[TileId]) -> Result<Vec<Arc<Vec<u8>>>, MissingTiles> + 'a>;

fn malformed(url: &str, reason: impl Into<String>) -> AuditError {
    AuditError::Malformed {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

fn hex_hash(text: &str, url: &str, what: &str) -> Result<Hash, AuditError> {
    hex::decode(text)
        .ok()
        .and_then(|b| Hash::from_slice(&b).ok())
        .ok_or_else(|| malformed(url, format!("{what} is not a hex SHA-256 hash")))
}

fn b64_hash(text: &str, url: &str, what: &str) -> Result<Hash, AuditError> {
    STANDARD
        .decode(text)
        .ok()
        .and_then(|b| Hash::from_slice(&b).ok())
        .ok_or_else(|| malformed(url, format!("{what} is not a base64 SHA-256 hash")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1LogInfo {
    root_hash: String,
    tree_size: u64,
    signed_tree_head: String,
    #[serde(default)]
    inactive_shards: Vec<V1Shard>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Shard {
    tree_size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Proof {
    root_hash: String,
    hashes: Vec<String>,
}

#[derive(Deserialize)]
struct CtConsistency {
    consistency: Vec<String>,
}

#[derive(Deserialize)]
struct CtEntries {
    entries: Vec<CtEntry>,
}

#[derive(Deserialize)]
struct CtEntry {
    leaf_input: String,
}

#[derive(Deserialize)]
struct CtProof {
    leaf_index: u64,
    audit_path: Vec<String>,
}

impl LogReader {
    /// A reader of the log of `kind` at base URL `url`, trusting `trust`. For a tiled log the
    /// C2SP resources are looked for at `<url>/checkpoint`, then (as `signet up` and
    /// `signet serve log` serve them) at `<url>/api/v2/checkpoint`.
    pub async fn open(
        http: Http,
        kind: LogKind,
        url: &str,
        trust: TrustMaterial,
    ) -> Result<LogReader, AuditError> {
        let url = url.trim_end_matches('/').to_owned();
        let mut tiles_prefix = url.clone();
        if kind == LogKind::RekorV2
            && http
                .get_optional(&format!("{url}/checkpoint"))
                .await?
                .is_none()
        {
            tiles_prefix = format!("{url}/api/v2");
        }
        Ok(LogReader {
            http,
            kind,
            url,
            tiles_prefix,
            trust: Arc::new(trust),
            tiles: Arc::default(),
        })
    }

    /// The kind of log.
    pub fn kind(&self) -> LogKind {
        self.kind
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The trust material the reader verifies against.
    pub fn trust(&self) -> &TrustMaterial {
        &self.trust
    }

    /// The latest tree head, verified.
    pub async fn latest(&self) -> Result<TreeHead, AuditError> {
        match self.kind {
            LogKind::RekorV2 => {
                let url = format!("{}/checkpoint", self.tiles_prefix);
                let note = self.http.get(&url).await?;
                verify_checkpoint(self.kind, &note, &self.url, &self.trust)
            }
            LogKind::RekorV1 => {
                let url = format!("{}/api/v1/log", self.url);
                let body = self.http.get(&url).await?;
                let info: V1LogInfo = serde_json::from_slice(&body)
                    .map_err(|e| malformed(&url, format!("not a Rekor LogInfo: {e}")))?;
                let head = verify_checkpoint(
                    self.kind,
                    info.signed_tree_head.as_bytes(),
                    &self.url,
                    &self.trust,
                )?;
                let root = hex_hash(&info.root_hash, &url, "rootHash")?;
                if head.size != info.tree_size || head.root != root {
                    return Err(malformed(
                        &url,
                        format!(
                            "treeSize {} / rootHash {} differ from the signed checkpoint's {} / {}",
                            info.tree_size,
                            info.root_hash,
                            head.size,
                            hex::encode(head.root.0)
                        ),
                    ));
                }
                let mut head = head;
                head.index_offset = info
                    .inactive_shards
                    .iter()
                    .try_fold(0u64, |sum, shard| sum.checked_add(shard.tree_size))
                    .ok_or_else(|| malformed(&url, "inactive shard sizes overflow"))?;
                Ok(head)
            }
            LogKind::Ct => {
                let url = format!("{}/ct/v1/get-sth", self.url);
                let body = self.http.get(&url).await?;
                verify_sth(&body, &self.url, &self.trust)
            }
        }
    }

    /// Proves that `new` extends `old`: both verified tree heads of this log. A smaller `new`
    /// is [`AuditError::Shrank`], the same size with another root [`AuditError::Fork`], a
    /// proof that does not verify [`AuditError::Inconsistent`].
    pub async fn prove_consistency(
        &self,
        old: &TreeHead,
        new: &TreeHead,
    ) -> Result<(), AuditError> {
        if new.size < old.size {
            return Err(AuditError::Shrank {
                old: old.size,
                new: new.size,
            });
        }
        if new.size == old.size {
            if new.root != old.root {
                return Err(AuditError::Fork {
                    size: new.size,
                    old: hex::encode(old.root.0),
                    new: hex::encode(new.root.0),
                });
            }
            return Ok(());
        }
        if old.size == 0 {
            return Ok(());
        }
        let proof = match self.kind {
            LogKind::RekorV2 => {
                self.with_tiles(new.size, |reader| {
                    prove_consistency(reader, TreeSize(old.size), TreeSize(new.size))
                        .map_err(Into::into)
                })
                .await?
            }
            LogKind::RekorV1 => {
                let url = format!(
                    "{}/api/v1/log/proof?firstSize={}&lastSize={}",
                    self.url, old.size, new.size
                );
                let body = self.http.get(&url).await?;
                let proof: V1Proof = serde_json::from_slice(&body)
                    .map_err(|e| malformed(&url, format!("not a consistency proof: {e}")))?;
                if hex_hash(&proof.root_hash, &url, "rootHash")? != new.root {
                    return Err(AuditError::Inconsistent {
                        old: old.size,
                        new: new.size,
                        reason: format!(
                            "the proof's rootHash {} is not the signed root {}",
                            proof.root_hash,
                            hex::encode(new.root.0)
                        ),
                    });
                }
                proof
                    .hashes
                    .iter()
                    .map(|h| hex_hash(h, &url, "a proof hash"))
                    .collect::<Result<Vec<_>, _>>()?
            }
            LogKind::Ct => {
                let url = format!(
                    "{}/ct/v1/get-sth-consistency?first={}&second={}",
                    self.url, old.size, new.size
                );
                let body = self.http.get(&url).await?;
                let proof: CtConsistency = serde_json::from_slice(&body)
                    .map_err(|e| malformed(&url, format!("not a consistency proof: {e}")))?;
                proof
                    .consistency
                    .iter()
                    .map(|h| b64_hash(h, &url, "a proof hash"))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        verify_consistency(
            TreeSize(old.size),
            TreeSize(new.size),
            &old.root.0,
            &new.root.0,
            &proof,
        )
        .map_err(|e| AuditError::Inconsistent {
            old: old.size,
            new: new.size,
            reason: e.to_string(),
        })
    }

    /// The compact range (right edge) of the tree at `old`'s size, read from the tiles of
    /// `new` and checked against `old`'s root. Only for tiled logs.
    pub async fn compact_range(
        &self,
        old: &TreeHead,
        new: &TreeHead,
    ) -> Result<CompactRange, AuditError> {
        if self.kind != LogKind::RekorV2 {
            return Err(AuditError::Unsupported(
                "only a tiled log's compact range can be read".into(),
            ));
        }
        if old.size > new.size {
            return Err(AuditError::Shrank {
                old: old.size,
                new: new.size,
            });
        }
        let range = self
            .with_tiles(new.size, |reader| {
                CompactRange::from_reader(reader, TreeSize(old.size)).map_err(Into::into)
            })
            .await?;
        if range.root() != old.root {
            return Err(AuditError::Inconsistent {
                old: old.size,
                new: new.size,
                reason: format!(
                    "the tiles of size {} give root {} at size {}, not the signed {}",
                    new.size,
                    hex::encode(range.root().0),
                    old.size,
                    hex::encode(old.root.0)
                ),
            });
        }
        Ok(range)
    }

    /// Entry `index`, decoded, with its inclusion in `head` (a verified tree head of this log)
    /// proven. For Rekor v1 the entry's own inclusion proof and signed entry timestamp are
    /// verified against the trusted root at time `now` (Unix seconds).
    pub async fn get(
        &self,
        index: u64,
        head: &TreeHead,
        now: i64,
    ) -> Result<DecodedEntry, AuditError> {
        if index >= head.size {
            return Err(AuditError::Unsupported(format!(
                "index {index} is past the log's size {}",
                head.size
            )));
        }
        match self.kind {
            LogKind::RekorV2 => {
                let bundle = index / TILE_WIDTH;
                let entries = self.fetch_bundle(bundle, head.size).await?;
                let offset = usize::try_from(index % TILE_WIDTH).unwrap_or(usize::MAX);
                let leaf = entries.get(offset).ok_or_else(|| AuditError::BadTile {
                    path: format!("entry bundle {bundle}"),
                    reason: format!("no entry {index}"),
                })?;
                let proof = self
                    .with_tiles(head.size, |reader| {
                        prove_inclusion(reader, LeafIndex(index), TreeSize(head.size))
                            .map_err(Into::into)
                    })
                    .await?;
                verify_inclusion(
                    &hash_leaf(leaf),
                    LeafIndex(index),
                    TreeSize(head.size),
                    &proof,
                    &head.root.0,
                )
                .map_err(|e| AuditError::NotIncluded {
                    index,
                    size: head.size,
                    reason: e.to_string(),
                })?;
                decode_rekor_body(index, leaf, None).map_err(|e| malformed(&self.url, e))
            }
            LogKind::RekorV1 => {
                let url = format!("{}/api/v1/log/entries?logIndex={index}", self.url);
                let body = self.http.get(&url).await?;
                let entry = self.v1_verified_entry(&url, &body, now)?;
                if entry.index != index {
                    return Err(malformed(
                        &url,
                        format!("asked for entry {index}, got entry {}", entry.index),
                    ));
                }
                Ok(entry)
            }
            LogKind::Ct => {
                let leaf = self
                    .ct_entries(index, index.saturating_add(1))
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| malformed(&self.url, format!("no entry {index}")))?;
                let leaf_hash = hash_leaf(&leaf);
                let url = format!(
                    "{}/ct/v1/get-proof-by-hash?hash={}&tree_size={}",
                    self.url,
                    url_escape_b64(&STANDARD.encode(leaf_hash.0)),
                    head.size
                );
                let body = self.http.get(&url).await?;
                let proof: CtProof = serde_json::from_slice(&body)
                    .map_err(|e| malformed(&url, format!("not an inclusion proof: {e}")))?;
                let hashes = proof
                    .audit_path
                    .iter()
                    .map(|h| b64_hash(h, &url, "a proof hash"))
                    .collect::<Result<Vec<_>, _>>()?;
                // The same leaf may be logged twice; the proof may be for the other copy.
                verify_inclusion(
                    &leaf_hash,
                    LeafIndex(proof.leaf_index),
                    TreeSize(head.size),
                    &hashes,
                    &head.root.0,
                )
                .map_err(|e| AuditError::NotIncluded {
                    index,
                    size: head.size,
                    reason: e.to_string(),
                })?;
                decode_ct_leaf(index, &leaf).map_err(|e| malformed(&self.url, e))
            }
        }
    }

    /// A Rekor v1 entry by its UUID (or entry ID), verified as [`LogReader::get`] does.
    pub async fn get_by_uuid(&self, uuid: &str, now: i64) -> Result<DecodedEntry, AuditError> {
        if self.kind != LogKind::RekorV1 {
            return Err(AuditError::Unsupported(
                "entries are looked up by UUID only in Rekor v1 logs".into(),
            ));
        }
        if uuid.is_empty() || uuid.len() > 80 || !uuid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuditError::Unsupported(format!(
                "{uuid:?} is not an entry UUID (64 hex digits, or 80 with the tree ID)"
            )));
        }
        let url = format!("{}/api/v1/log/entries/{uuid}", self.url);
        let body = self.http.get(&url).await?;
        let entry = self.v1_verified_entry(&url, &body, now)?;
        if !uuid.to_ascii_lowercase().ends_with(&entry.leaf_hash) {
            return Err(malformed(
                &url,
                format!(
                    "asked for {uuid}, got the entry with UUID {}",
                    entry.leaf_hash
                ),
            ));
        }
        Ok(entry)
    }

    /// Searches a Rekor v1 log's index (`POST /api/v1/index/retrieve` with `query`, e.g.
    /// `{"hash":"sha256:..."}`) and fetches every hit, each verified as [`LogReader::get`]
    /// does. At most `limit` hits are fetched; more is an error.
    pub async fn search(
        &self,
        query: serde_json::Value,
        limit: usize,
        now: i64,
    ) -> Result<Vec<DecodedEntry>, AuditError> {
        if self.kind != LogKind::RekorV1 {
            return Err(AuditError::Unsupported(
                "only Rekor v1 logs can be searched".into(),
            ));
        }
        let url = format!("{}/api/v1/index/retrieve", self.url);
        let body = self.http.post_json(&url, query.to_string()).await?;
        let uuids: Vec<String> = serde_json::from_slice(&body)
            .map_err(|e| malformed(&url, format!("not a list of entry UUIDs: {e}")))?;
        if uuids.len() > limit {
            return Err(AuditError::Unsupported(format!(
                "{} entries match, more than the {limit} this search fetches",
                uuids.len()
            )));
        }
        let retrieve = format!("{}/api/v1/log/entries/retrieve", self.url);
        let mut out = Vec::new();
        for batch in uuids.chunks(usize::try_from(V1_BATCH).unwrap_or(10)) {
            let body = serde_json::json!({ "entryUUIDs": batch }).to_string();
            let answer = self.http.post_json(&retrieve, body).await?;
            let list: Vec<serde_json::Value> = serde_json::from_slice(&answer)
                .map_err(|e| malformed(&retrieve, format!("not a list of entries: {e}")))?;
            for item in list {
                out.push(self.v1_verified_entry(&retrieve, item.to_string().as_bytes(), now)?);
            }
        }
        out.sort_by_key(|e| e.index);
        out.dedup_by_key(|e| e.index);
        Ok(out)
    }

    fn v1_verified_entry(
        &self,
        url: &str,
        body: &[u8],
        now: i64,
    ) -> Result<DecodedEntry, AuditError> {
        let entry = signet_rekor::LogEntry::from_json(body)
            .map_err(|e| malformed(url, format!("not a Rekor v1 LogEntry: {e}")))?;
        let (_, anon) = entry
            .single()
            .map_err(|e| malformed(url, format!("not a single entry: {e}")))?;
        let tle = anon
            .to_transparency_log_entry()
            .map_err(|e| malformed(url, format!("incomplete entry: {e}")))?;
        signet_verify::verify_log_entry(&tle, &self.trust, now).map_err(|source| {
            AuditError::Entry {
                index: anon.log_index,
                source,
            }
        })?;
        let index =
            u64::try_from(anon.log_index).map_err(|_| malformed(url, "negative logIndex"))?;
        decode_rekor_body(index, &anon.body, Some(anon.integrated_time))
            .map_err(|e| malformed(url, format!("entry {index}: {e}")))
    }

    /// Reads every entry from `range.size()` up to `head.size`, in order, appending each leaf
    /// hash to `range` and handing each entry to `on_entry`; then checks that the range's root
    /// is `head`'s signed root. Reads run [`PARALLEL_READS`] at a time, and only that many
    /// batches (tiles, entry bundles, entry lists) are held at once, whatever the log's size.
    ///
    /// `range` is left at `head.size` on success; on error it may have grown part way, and the
    /// caller must not keep it.
    pub async fn scan(
        &self,
        range: &mut CompactRange,
        head: &TreeHead,
        mut on_entry: impl FnMut(ScannedEntry),
    ) -> Result<(), AuditError> {
        let from = range.size().0;
        if from > head.size {
            return Err(AuditError::Shrank {
                old: from,
                new: head.size,
            });
        }
        let batch = match self.kind {
            LogKind::RekorV2 => TILE_WIDTH,
            LogKind::RekorV1 => V1_BATCH,
            LogKind::Ct => CT_BATCH,
        };
        let first_batch = from / batch;
        let end_batch = head.size.div_ceil(batch);
        // Each batch is fetched, hashed and decoded on its own task, so decoding (certificate
        // parsing) runs on every core; the leaves are appended here, in order.
        let mut batches = futures_util::stream::iter(first_batch..end_batch)
            .map(|n| {
                let reader = self.clone();
                let head = head.clone();
                tokio::spawn(async move { reader.read_batch(n, batch, &head, from).await })
            })
            .buffered(PARALLEL_READS);
        while let Some(joined) = batches.next().await {
            let scanned = joined
                .map_err(|e| AuditError::Unsupported(format!("a read task failed: {e}")))??;
            for (leaf_hash, entry) in scanned {
                range
                    .append(leaf_hash, |_, _| {})
                    .map_err(|e| malformed(&self.url, e.to_string()))?;
                on_entry(entry);
            }
        }
        if range.size().0 != head.size || range.root() != head.root {
            return Err(AuditError::EntriesMismatch {
                from,
                to: range.size().0,
                computed: hex::encode(range.root().0),
                signed: hex::encode(head.root.0),
            });
        }
        Ok(())
    }

    /// Batch `n` of `batch` entries of `head`'s tree, from tree index `from` on: each entry's
    /// leaf hash and the entry decoded, in order.
    async fn read_batch(
        &self,
        n: u64,
        batch: u64,
        head: &TreeHead,
        from: u64,
    ) -> Result<Vec<(Hash, ScannedEntry)>, AuditError> {
        let (start, leaves) = self.fetch_batch(n, batch, head).await?;
        let mut out = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            let position = start.saturating_add(u64::try_from(i).unwrap_or(u64::MAX));
            if position < from {
                continue;
            }
            // Reported by global index (Rekor v1 shards); hashed by tree position.
            let index = position.saturating_add(head.index_offset);
            let decoded = match self.kind {
                LogKind::Ct => decode_ct_leaf(index, &leaf.body),
                _ => decode_rekor_body(index, &leaf.body, leaf.integrated_time),
            };
            out.push((hash_leaf(&leaf.body), ScannedEntry { index, decoded }));
        }
        Ok(out)
    }

    /// Batch `n` of `batch` entries of `head`'s tree: its first tree index and its leaves.
    async fn fetch_batch(
        &self,
        n: u64,
        batch: u64,
        head: &TreeHead,
    ) -> Result<(u64, Vec<Leaf>), AuditError> {
        let size = head.size;
        let start = n.saturating_mul(batch);
        let end = start.saturating_add(batch).min(size);
        let leaves = match self.kind {
            LogKind::RekorV2 => self
                .fetch_bundle(n, size)
                .await?
                .into_iter()
                .map(|body| Leaf {
                    body,
                    integrated_time: None,
                })
                .collect(),
            LogKind::RekorV1 => {
                let offset = head.index_offset;
                self.v1_entries(start.saturating_add(offset), end.saturating_add(offset))
                    .await?
            }
            LogKind::Ct => self
                .ct_entries(start, end)
                .await?
                .into_iter()
                .map(|body| Leaf {
                    body,
                    integrated_time: None,
                })
                .collect(),
        };
        let want = usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX);
        if leaves.len() != want {
            return Err(malformed(
                &self.url,
                format!("asked for entries {start}..{end}, got {}", leaves.len()),
            ));
        }
        Ok((start, leaves))
    }

    /// The entries of entry bundle `n` in the tree of `size` (a partial bundle asked for by
    /// its width; if the log has since filled it, the full bundle, cut to that width).
    async fn fetch_bundle(&self, n: u64, size: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        let width = tile_width(0, n, TreeSize(size));
        let id = EntryBundleId { index: n, width };
        let path = id.path();
        let url = format!("{}/{path}", self.tiles_prefix);
        let (data, served_width) = match self.http.get_optional(&url).await? {
            Some(data) => (data, width),
            None if u64::from(width) < TILE_WIDTH => {
                let full = EntryBundleId {
                    index: n,
                    width: 256,
                };
                let url = format!("{}/{}", self.tiles_prefix, full.path());
                (self.http.get(&url).await?, 256)
            }
            None => (self.http.get(&url).await?, width),
        };
        let entries =
            decode_entry_bundle(&data, served_width).map_err(|e| AuditError::BadTile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Ok(entries
            .into_iter()
            .take(usize::from(width))
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// Rekor v1 entries `start..end` (at most [`V1_BATCH`]), by index, in order.
    async fn v1_entries(&self, start: u64, end: u64) -> Result<Vec<Leaf>, AuditError> {
        let url = format!("{}/api/v1/log/entries/retrieve", self.url);
        let indexes: Vec<u64> = (start..end).collect();
        let body = serde_json::json!({ "logIndexes": indexes }).to_string();
        let answer = self.http.post_json(&url, body).await?;
        let list = signet_rekor::LogEntry::list_from_json(&answer)
            .map_err(|e| malformed(&url, format!("not a list of entries: {e}")))?;
        let mut out: Vec<(u64, Leaf)> = Vec::with_capacity(list.len());
        for entry in &list {
            let (_, anon) = entry
                .single()
                .map_err(|e| malformed(&url, format!("not a single entry: {e}")))?;
            let index =
                u64::try_from(anon.log_index).map_err(|_| malformed(&url, "negative logIndex"))?;
            out.push((
                index,
                Leaf {
                    body: anon.body.clone(),
                    integrated_time: Some(anon.integrated_time),
                },
            ));
        }
        out.sort_by_key(|(i, _)| *i);
        if !out.iter().map(|(i, _)| *i).eq(start..end) {
            return Err(malformed(
                &url,
                format!("asked for entries {start}..{end}, got other indexes"),
            ));
        }
        Ok(out.into_iter().map(|(_, leaf)| leaf).collect())
    }

    /// CT `leaf_input`s `start..end`, in order, in as many `get-entries` calls as the log
    /// needs (it may answer fewer than asked).
    async fn ct_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        let mut out = Vec::new();
        let mut next = start;
        while next < end {
            let url = format!(
                "{}/ct/v1/get-entries?start={next}&end={}",
                self.url,
                end.saturating_sub(1)
            );
            let body = self.http.get(&url).await?;
            let answer: CtEntries = serde_json::from_slice(&body)
                .map_err(|e| malformed(&url, format!("not a get-entries answer: {e}")))?;
            if answer.entries.is_empty() {
                return Err(malformed(&url, "no entries"));
            }
            let room = usize::try_from(end - next).unwrap_or(usize::MAX);
            if answer.entries.len() > room {
                return Err(malformed(&url, "more entries than asked for"));
            }
            for entry in answer.entries {
                out.push(
                    STANDARD
                        .decode(&entry.leaf_input)
                        .map_err(|_| malformed(&url, "leaf_input is not base64"))?,
                );
                next += 1;
            }
        }
        Ok(out)
    }

    /// Runs `f` over a node reader of the tiles of a tree of `size`, fetching the tiles it
    /// asks for (in parallel) and running it again until it has them all.
    async fn with_tiles<T>(
        &self,
        size: u64,
        f: impl Fn(&TileNodeReader<TileFetch<'_>>) -> Result<T, TileFailure>,
    ) -> Result<T, AuditError> {
        for _ in 0..TILE_ROUNDS {
            let tiles = Arc::clone(&self.tiles);
            let fetch: TileFetch<'_> = Box::new(move |ids: &[TileId]| {
                let cache = tiles.lock().map_err(|_| MissingTiles(ids.to_vec()))?;
                let missing: Vec<TileId> = ids
                    .iter()
                    .filter(|id| !cache.contains_key(id))
                    .copied()
                    .collect();
                if !missing.is_empty() {
                    return Err(MissingTiles(missing));
                }
                Ok(ids.iter().filter_map(|id| cache.get(id).cloned()).collect())
            });
            let reader = TileNodeReader::new(TreeSize(size), fetch);
            match f(&reader) {
                Ok(value) => return Ok(value),
                Err(TileFailure::Missing(missing)) => {
                    let fetched: Vec<(TileId, Vec<u8>)> = futures_util::stream::iter(missing)
                        .map(|id| async move { self.fetch_tile(id).await.map(|t| (id, t)) })
                        .buffer_unordered(PARALLEL_READS)
                        .collect::<Vec<_>>()
                        .await
                        .into_iter()
                        .collect::<Result<_, _>>()?;
                    let mut cache = self.tiles.lock().map_err(|_| {
                        AuditError::Unsupported("the tile cache lock is poisoned".into())
                    })?;
                    // Keep the cache bounded: it only has to hold one proof's tiles.
                    if cache.len() > 4096 {
                        cache.clear();
                    }
                    for (id, tile) in fetched {
                        cache.insert(id, Arc::new(tile));
                    }
                }
                Err(TileFailure::Other(reason)) => {
                    return Err(AuditError::BadTile {
                        path: self.tiles_prefix.clone(),
                        reason,
                    });
                }
            }
        }
        Err(AuditError::BadTile {
            path: self.tiles_prefix.clone(),
            reason: format!("tiles still missing after {TILE_ROUNDS} rounds of fetching"),
        })
    }

    /// Tile `id` (its exact width; if the log has since filled it, the full tile, cut).
    async fn fetch_tile(&self, id: TileId) -> Result<Vec<u8>, AuditError> {
        let path = id.path();
        let url = format!("{}/{path}", self.tiles_prefix);
        let mut data = match self.http.get_optional(&url).await? {
            Some(data) => data,
            None if u64::from(id.width) < TILE_WIDTH => {
                let full = TileId { width: 256, ..id };
                self.http
                    .get(&format!("{}/{}", self.tiles_prefix, full.path()))
                    .await?
            }
            None => self.http.get(&url).await?,
        };
        if data.len() == signet_tiles::FULL_TILE_BYTES && id.byte_len() < data.len() {
            data.truncate(id.byte_len());
        }
        if data.len() != id.byte_len() {
            return Err(AuditError::BadTile {
                path,
                reason: format!("{} bytes, want {}", data.len(), id.byte_len()),
            });
        }
        Ok(data)
    }
}

/// One entry's leaf as read.
struct Leaf {
    body: Vec<u8>,
    integrated_time: Option<i64>,
}

/// Base64 in a query string: `+` and `/` and `=` escaped.
fn url_escape_b64(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
