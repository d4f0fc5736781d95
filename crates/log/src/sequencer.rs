//! The sequencer: the single writer that gives entries their indices and signs checkpoints.

use crate::guard::{CheckpointGuard, StoreTree};
use crate::proof::{tile_error, tree_root, with_tiles};
use crate::{LogError, LogStore, StagedBatch, StagedEntry, StoreError, StoredCheckpoint};
use signet_merkle::{CompactRange, Hash, LeafIndex, NodeId, NodeReader, TreeSize, hash_leaf};
use signet_note::{Checkpoint, Note, NoteSigner, sign_note};
use signet_tiles::{
    EntryBundleId, MAX_ENTRY_SIZE, MAX_TILE_LEVEL, TILE_WIDTH, TileId, changed_entry_bundles,
    decode_entry_bundle, encode_entry_bundle, hashes_at_tile_level, integrate,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Which extension lines checkpoints carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CheckpointFormat {
    /// Plain C2SP `tlog-checkpoint`: origin, size, root (Rekor v2, tlog-tiles logs).
    #[default]
    C2sp,
    /// Rekor v1: a `Timestamp: <nanoseconds since the epoch>` line after the root.
    RekorV1,
}

/// What a log is called and how its checkpoints look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencerConfig {
    /// The checkpoint origin line, e.g. `log.example.com/2025` or, for Rekor v1,
    /// `rekor.example.com - 1193050959916656506`.
    pub origin: String,
    /// Extension lines.
    pub format: CheckpointFormat,
}

/// An entry to append, with the leaf hashes of other entries that mean the same (e.g. the same
/// signature in another valid encoding). If one of them is already in the log, or earlier in
/// the same batch, this entry is a duplicate of it and is not appended.
///
/// The store indexes leaf hashes only, so list aliases symmetrically: each of several
/// equivalent entries should name all the others, so that whichever came first is found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewEntry {
    /// The entry's bytes (the leaf).
    pub data: Vec<u8>,
    /// Leaf hashes of the entries this one duplicates.
    pub aliases: Vec<Hash>,
}

impl From<Vec<u8>> for NewEntry {
    fn from(data: Vec<u8>) -> Self {
        NewEntry {
            data,
            aliases: Vec::new(),
        }
    }
}

/// What became of one submitted entry. Returned only once a checkpoint covering it is durably
/// published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The entry's index; for a duplicate, the index of the earlier copy.
    pub index: LeafIndex,
    /// The RFC 6962 leaf hash of the entry at `index`: the submitted entry's, or, for a
    /// duplicate found through one of its [`NewEntry::aliases`], that earlier entry's.
    pub leaf_hash: Hash,
    /// Whether the entry was already in the log (or earlier in the same batch) and was not
    /// appended again.
    pub duplicate: bool,
    /// When the entry (or its earlier copy) was integrated, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The published checkpoint that covers the entry: prove inclusion against its size.
    pub checkpoint: Arc<StoredCheckpoint>,
    /// The inclusion proof of `index` in the tree of `checkpoint`'s size, for an entry this
    /// batch appended (computed once for the whole batch from the nodes it completed, so
    /// callers need not read tiles back); `None` for a duplicate of an entry appended earlier.
    pub inclusion_proof: Option<Arc<[Hash]>>,
}

/// The state a sequencer has verified against its store.
#[derive(Debug, Clone)]
struct Tree {
    /// The right edge of the tree; its size is both the staged size and the checkpoint's.
    range: CompactRange,
    /// The latest published checkpoint.
    checkpoint: Arc<StoredCheckpoint>,
}

/// The log's single writer: it owns the tree's right edge ([`CompactRange`]) and turns batches of
/// entries into durable, checkpointed appends.
///
/// An append has two durable steps (see `docs/design/log-durability.md`):
/// 1. **stage**: entries, leaf index, tiles and entry bundles in one write;
/// 2. **publish**: a checkpoint for the new size, signed after step 1 returned.
///
/// Only then are callers answered. A crash before step 1 loses nothing acknowledged; a crash
/// between the steps leaves staged entries without a checkpoint, which the next
/// [`Sequencer::open`] signs and publishes before accepting anything; a crash after step 2 is a
/// completed append whose callers were not told.
///
/// **Errors.** Any error during an append leaves the in-memory state untouched and marks it
/// stale: the next [`Sequencer::append_batch`] first re-reads and re-verifies the store (as
/// [`Sequencer::open`] does), because a failed write may still have taken effect. A
/// compare-and-swap conflict means another writer touched the log; the sequencer then refuses
/// all further work ([`LogError::Fenced`]).
///
/// The sequencer is not `Clone` and its methods take `&mut self`: whoever owns it (the
/// [`crate::Batcher`]'s task) is the only writer in the process.
pub struct Sequencer<S> {
    store: Arc<S>,
    signer: Box<dyn NoteSigner>,
    config: SequencerConfig,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
    /// `None` until verified against the store, and again after any error.
    tree: Option<Tree>,
    /// Set for good after a commit conflict.
    fenced: Option<StoreError>,
    /// What must accept each checkpoint before it is published, in order.
    guards: Vec<Arc<dyn CheckpointGuard>>,
}

impl<S> std::fmt::Debug for Sequencer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("config", &self.config)
            .field("tree", &self.tree)
            .field("fenced", &self.fenced)
            .finish_non_exhaustive()
    }
}

/// The tiles that are partial in a tree of `size` leaves: at most one per level. They are the
/// only existing tiles an append can widen.
fn partial_tiles(size: TreeSize) -> Vec<TileId> {
    (0..=MAX_TILE_LEVEL)
        .filter_map(|level| {
            let count = hashes_at_tile_level(level, size);
            let width = u16::try_from(count % TILE_WIDTH).ok()?;
            (width > 0).then_some(TileId {
                level,
                index: count / TILE_WIDTH,
                width,
            })
        })
        .collect()
}

/// The tree nodes a batch's inclusion proofs need: the peaks of the tree before the batch and
/// every node the batch's leaves complete. A proof of a leaf the batch appended, in the tree
/// the batch ends with, needs nothing else: each left sibling lies either wholly before the
/// batch (then it is a peak of the old tree) or ends inside the batch (then the batch completed
/// it), and each right sibling lies inside the batch.
struct BatchNodes(HashMap<NodeId, Hash>);

impl BatchNodes {
    /// The nodes of appending `leaf_hashes` to the tree whose right edge is `range`.
    fn new(range: &CompactRange, leaf_hashes: &[Hash]) -> Result<Self, signet_merkle::Error> {
        let mut nodes = HashMap::with_capacity(range.peaks().len() + 2 * leaf_hashes.len());
        for (node, hash) in CompactRange::peak_nodes(range.size())
            .into_iter()
            .zip(range.peaks())
        {
            nodes.insert(node, *hash);
        }
        let mut next = range.clone();
        for leaf in leaf_hashes {
            next.append(*leaf, |node, hash| {
                nodes.insert(node, *hash);
            })?;
        }
        Ok(BatchNodes(nodes))
    }

    /// The inclusion proof of `index` in the tree of `size` leaves; `None` if a node is
    /// missing (a leaf outside the batch), so the caller proves it from tiles instead.
    fn prove(&self, index: LeafIndex, size: TreeSize) -> Option<Arc<[Hash]>> {
        signet_merkle::prove_inclusion(self, index, size)
            .ok()
            .map(Arc::from)
    }
}

impl NodeReader for BatchNodes {
    type Error = NodeId;

    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, NodeId> {
        nodes
            .iter()
            .map(|n| self.0.get(n).copied().ok_or(*n))
            .collect()
    }
}

/// The timestamp for a new checkpoint: the clock, but strictly after the previous checkpoint
/// and no earlier than any entry it covers.
fn next_timestamp(now: u64, previous: Option<u64>, not_before: u64) -> u64 {
    let after_previous = previous.map_or(0, |p| p.saturating_add(1));
    now.max(after_previous).max(not_before)
}

impl<S: LogStore> Sequencer<S> {
    /// Opens the log in `store`, verifies it, and finishes any append a crash interrupted.
    ///
    /// 1. Reads the staged size and the latest checkpoint.
    /// 2. Checks the checkpoint: a note whose text is a checkpoint of this `origin`, of the
    ///    recorded size, no larger than the staged size, whose root the stored tiles reproduce.
    ///    Any mismatch refuses to open: nothing is signed over a damaged store.
    /// 3. Rebuilds the right edge of the staged tree from the stored tiles, and checks that the
    ///    last stored entries hash to the leaf hashes in the last level-0 tile.
    /// 4. If entries are staged beyond the checkpoint (a crash between the two steps of an
    ///    append), or there is no checkpoint yet, signs and publishes one for the staged size.
    ///    So it does when the checkpoint carries no signature by this signer's key (the log's
    ///    key was rotated): the tree is the same, the new key signs it from now on.
    ///
    /// `clock` returns milliseconds since the Unix epoch; it is read for checkpoint timestamps
    /// only, which are kept strictly increasing even if it goes backwards.
    pub async fn open(
        store: Arc<S>,
        signer: Box<dyn NoteSigner>,
        config: SequencerConfig,
        clock: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Result<Self, LogError> {
        Self::open_guarded(store, signer, config, clock, Vec::new()).await
    }

    /// [`Sequencer::open`] with checkpoint guards (see [`crate::guard`]): each is asked, in
    /// order, to check the store whenever it is verified ([`CheckpointGuard::check_open`]) and
    /// to endorse every checkpoint before it is published ([`CheckpointGuard::endorse`]; each
    /// guard gets the note the previous one returned). A refusal at open fails the open; a
    /// refusal at an append fails the batch, whose entries stay staged until a later append
    /// or open publishes a checkpoint the guards accept.
    pub async fn open_guarded(
        store: Arc<S>,
        signer: Box<dyn NoteSigner>,
        config: SequencerConfig,
        clock: impl Fn() -> u64 + Send + Sync + 'static,
        guards: Vec<Arc<dyn CheckpointGuard>>,
    ) -> Result<Self, LogError> {
        let mut sequencer = Sequencer {
            store,
            signer,
            config,
            clock: Box::new(clock),
            tree: None,
            fenced: None,
            guards,
        };
        sequencer.recover().await?;
        Ok(sequencer)
    }

    /// The store this sequencer writes.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The latest checkpoint this sequencer published or verified, unless it must re-read the
    /// store first.
    pub fn checkpoint(&self) -> Option<Arc<StoredCheckpoint>> {
        self.tree.as_ref().map(|t| Arc::clone(&t.checkpoint))
    }

    /// Whether the sequencer has stopped for good after a commit conflict.
    pub fn is_fenced(&self) -> bool {
        self.fenced.is_some()
    }

    /// Re-reads and re-verifies the store, as [`Sequencer::open`] does. Called automatically
    /// by [`Sequencer::append_batch`] after an error.
    pub async fn recover(&mut self) -> Result<(), LogError> {
        if let Some(e) = &self.fenced {
            return Err(LogError::Fenced(e.clone()));
        }
        self.tree = None;
        let result = self.verify_store().await;
        match result {
            Ok(tree) => {
                self.tree = Some(tree);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Records an error: stale state, or fenced on a conflict.
    fn fail(&mut self, e: LogError) -> LogError {
        self.tree = None;
        match e {
            LogError::Store(se) if se.is_conflict() => {
                self.fenced = Some(se.clone());
                LogError::Fenced(se)
            }
            e => e,
        }
    }

    async fn verify_store(&self) -> Result<Tree, LogError> {
        let store = self.store.as_ref();
        // 1.
        let state = store.state().await?;
        let staged = state.staged_size;
        // 2.
        if let Some(stored) = &state.checkpoint {
            if stored.size > staged {
                return Err(LogError::StagedBehindCheckpoint {
                    staged: staged.0,
                    checkpoint: stored.size.0,
                });
            }
            let checkpoint = self.parse_stored(stored)?;
            let computed = tree_root(store, stored.size).await?;
            if computed != checkpoint.root_hash {
                return Err(LogError::RootMismatch {
                    size: stored.size.0,
                    checkpoint: checkpoint.root_hash,
                    computed,
                });
            }
        }
        // 3.
        let range = with_tiles(store, staged, |r| CompactRange::from_reader(r, staged))
            .await?
            .map_err(tile_error)?;
        let last_entry_ts = self.check_last_bundle(staged).await?;
        let view = StoreTree { store, staged };
        for guard in &self.guards {
            guard.check_open(&view).await?;
        }
        // 4.
        let checkpoint = match state.checkpoint {
            Some(stored) if stored.size == staged && self.signed_by_signer(&stored) => stored,
            previous => {
                let timestamp = next_timestamp(
                    (self.clock)(),
                    previous.as_ref().map(|p| p.timestamp_ms),
                    last_entry_ts,
                );
                let checkpoint = self.sign_checkpoint(staged, range.root(), timestamp)?;
                let checkpoint = self.endorse(checkpoint, staged).await?;
                store
                    .publish_checkpoint(previous.map(|p| p.size), checkpoint.clone())
                    .await?;
                checkpoint
            }
        };
        Ok(Tree {
            range,
            checkpoint: Arc::new(checkpoint),
        })
    }

    /// Whether a stored checkpoint carries a signature by this sequencer's key (name and key
    /// ID; the signature itself was checked when it was made). An unparsable note was refused
    /// in step 2.
    fn signed_by_signer(&self, stored: &StoredCheckpoint) -> bool {
        Note::parse(&stored.note).is_ok_and(|note| {
            note.signatures()
                .iter()
                .any(|s| s.name == self.signer.name() && s.key_id == self.signer.key_id())
        })
    }

    /// Parses a stored checkpoint and checks its origin and size.
    fn parse_stored(&self, stored: &StoredCheckpoint) -> Result<Checkpoint, LogError> {
        let note = Note::parse(&stored.note).map_err(LogError::StoredNote)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(LogError::StoredCheckpoint)?;
        if checkpoint.origin != self.config.origin {
            return Err(LogError::OriginMismatch {
                stored: checkpoint.origin,
                configured: self.config.origin.clone(),
            });
        }
        if checkpoint.size != stored.size {
            return Err(LogError::CheckpointSizeMismatch {
                recorded: stored.size.0,
                in_note: checkpoint.size.0,
            });
        }
        Ok(checkpoint)
    }

    /// Checks the last entry bundle of the staged tree against the last level-0 tile and the
    /// last entry, and returns that entry's timestamp (0 for an empty log).
    async fn check_last_bundle(&self, staged: TreeSize) -> Result<u64, LogError> {
        let Some(last) = staged.0.checked_sub(1) else {
            return Ok(0);
        };
        let store = self.store.as_ref();
        let index = last / TILE_WIDTH;
        let width =
            u16::try_from(staged.0 - index * TILE_WIDTH).map_err(|_| LogError::Internal {
                what: "bundle width over 256",
            })?;
        let tile = TileId {
            level: 0,
            index,
            width,
        };
        let bundle = EntryBundleId { index, width };
        let tile_data = store
            .read_tiles(&[tile])
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or(LogError::MissingTile { tile })?;
        let bundle_data = store
            .read_entry_bundle(bundle)
            .await?
            .ok_or(LogError::MissingBundle { bundle })?;
        let entries = decode_entry_bundle(&bundle_data, width)
            .map_err(|source| LogError::BadBundle { bundle, source })?;
        for (i, (entry, leaf)) in entries.iter().zip(tile_data.chunks_exact(32)).enumerate() {
            if hash_leaf(entry).0.as_slice() != leaf {
                return Err(LogError::EntryMismatch {
                    index: index * TILE_WIDTH + i as u64,
                });
            }
        }
        let stored = store
            .read_entry(LeafIndex(last))
            .await?
            .ok_or(LogError::MissingEntry { index: last })?;
        if entries.last().copied() != Some(stored.data.as_slice()) {
            return Err(LogError::EntryMismatch { index: last });
        }
        Ok(stored.timestamp_ms)
    }

    /// Signs the checkpoint for a tree of `size` leaves with root `root`.
    fn sign_checkpoint(
        &self,
        size: TreeSize,
        root: Hash,
        timestamp_ms: u64,
    ) -> Result<StoredCheckpoint, LogError> {
        let mut checkpoint = Checkpoint::new(&self.config.origin, size, root);
        if self.config.format == CheckpointFormat::RekorV1 {
            let nanos = u128::from(timestamp_ms) * 1_000_000;
            checkpoint.extensions.push(format!("Timestamp: {nanos}"));
        }
        let note = sign_note(&checkpoint.to_text(), &[self.signer.as_ref()])?;
        Ok(StoredCheckpoint {
            size,
            timestamp_ms,
            note: note.into_bytes(),
        })
    }

    /// Has every guard endorse a signed checkpoint whose entries (`staged` of them) are all
    /// staged; returns it as the last guard left it.
    async fn endorse(
        &self,
        mut checkpoint: StoredCheckpoint,
        staged: TreeSize,
    ) -> Result<StoredCheckpoint, LogError> {
        if self.guards.is_empty() {
            // The append hot path without guards: nothing to ask, nothing to re-check.
            return Ok(checkpoint);
        }
        let view = StoreTree {
            store: self.store.as_ref(),
            staged,
        };
        let signed = Note::parse(&checkpoint.note).map_err(LogError::StoredNote)?;
        for guard in &self.guards {
            checkpoint.note = guard
                .endorse(std::mem::take(&mut checkpoint.note), checkpoint.size, &view)
                .await?;
        }
        // A guard may add signatures, nothing else: the text and the log's own signature
        // must come back unchanged.
        let endorsed = Note::parse(&checkpoint.note).map_err(LogError::StoredNote)?;
        let kept = |s: &&signet_note::NoteSignature| endorsed.signatures().contains(s);
        if endorsed.text() != signed.text() || !signed.signatures().iter().all(|s| kept(&s)) {
            return Err(LogError::Internal {
                what: "a checkpoint guard changed the checkpoint it was asked to endorse",
            });
        }
        Ok(checkpoint)
    }

    /// Appends a batch and returns, in order, what became of each entry, once a checkpoint
    /// covering all of them is durably published.
    ///
    /// Entries already in the log, or earlier in the batch, are not appended again: their
    /// result carries the earlier index and `duplicate: true`. A batch of only duplicates
    /// writes nothing. Entries larger than [`MAX_ENTRY_SIZE`] reject the whole batch before
    /// anything is read or written.
    ///
    /// On error, none of the batch is acknowledged, yet some or all of it may be in the log
    /// (the write may have happened before the failure was reported); submitting it again
    /// finds those entries as duplicates.
    pub async fn append_batch(
        &mut self,
        entries: Vec<Vec<u8>>,
    ) -> Result<Vec<AppendResult>, LogError> {
        self.append_entries(entries.into_iter().map(NewEntry::from).collect())
            .await
    }

    /// [`Sequencer::append_batch`] for entries with aliases: an entry one of whose
    /// [`NewEntry::aliases`] is in the log (or earlier in the batch) is a duplicate of that
    /// entry.
    pub async fn append_entries(
        &mut self,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<AppendResult>, LogError> {
        if let Some(e) = &self.fenced {
            return Err(LogError::Fenced(e.clone()));
        }
        if let Some((index, entry)) = entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.data.len() > MAX_ENTRY_SIZE)
        {
            return Err(LogError::EntryTooLarge {
                index,
                size: entry.data.len(),
                max: MAX_ENTRY_SIZE,
            });
        }
        if self.tree.is_none() {
            self.recover().await?;
        }
        let Some(tree) = self.tree.clone() else {
            return Err(LogError::Internal {
                what: "sequencer state missing after recovery",
            });
        };
        match self.sequence(&tree, entries).await {
            Ok((next, results)) => {
                self.tree = Some(next);
                Ok(results)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The append itself, from verified state `tree`. Changes nothing in `self`: the caller
    /// installs the returned state.
    async fn sequence(
        &self,
        tree: &Tree,
        entries: Vec<NewEntry>,
    ) -> Result<(Tree, Vec<AppendResult>), LogError> {
        let store = self.store.as_ref();
        let old = tree.range.size();

        // Duplicates: within the batch first, then against the store, by leaf hash or alias.
        enum Slot {
            /// Already in the store at this index, appended at this time (ms).
            Stored(LeafIndex, u64),
            /// New, at `old + n`.
            New(u64),
        }
        let hashes: Vec<Hash> = entries.iter().map(|e| hash_leaf(&e.data)).collect();
        let mut first_in_batch: HashMap<Hash, usize> = HashMap::with_capacity(hashes.len());
        let mut unique: Vec<Hash> = Vec::with_capacity(hashes.len());
        let keys = hashes
            .iter()
            .zip(&entries)
            .flat_map(|(h, e)| std::iter::once(h).chain(&e.aliases));
        for (i, h) in keys.enumerate() {
            first_in_batch.entry(*h).or_insert_with(|| {
                unique.push(*h);
                i
            });
        }
        let found = store.find_leaves(&unique).await?;
        if found.len() != unique.len() {
            return Err(LogError::Internal {
                what: "store returned the wrong number of leaf lookups",
            });
        }
        let stored: HashMap<Hash, LeafIndex> = unique
            .iter()
            .zip(&found)
            .filter_map(|(h, f)| f.map(|i| (*h, i)))
            .collect();
        if stored.values().any(|i| i.0 >= old.0) {
            // Every staged entry is covered by the checkpoint; an index past it means the
            // store is inconsistent. Fail closed rather than answer with an unproven index.
            return Err(LogError::Internal {
                what: "leaf index points past the published tree",
            });
        }

        let timestamp = next_timestamp((self.clock)(), Some(tree.checkpoint.timestamp_ms), 0);
        // Decide each entry's fate, in batch order: (slot, duplicate, leaf hash at the slot).
        // Each slot carries what its answer needs, so no lookup can come back empty.
        let mut slots = Vec::with_capacity(entries.len());
        // Position in the batch and leaf hash of each key of a staged entry.
        let mut new_position: HashMap<Hash, (u64, Hash)> = HashMap::new();
        let mut staged: Vec<StagedEntry> = Vec::new();
        for (entry, hash) in entries.into_iter().zip(&hashes) {
            let NewEntry { data, aliases } = entry;
            let keys = || std::iter::once(hash).chain(&aliases);
            if let Some((key, &index)) = keys().find_map(|k| stored.get(k).map(|i| (k, i))) {
                // The timestamp of the entry already stored.
                let stored_entry = store
                    .read_entry(index)
                    .await?
                    .ok_or(LogError::MissingEntry { index: index.0 })?;
                slots.push((Slot::Stored(index, stored_entry.timestamp_ms), true, *key));
            } else if let Some(&(n, leaf)) = keys().find_map(|k| new_position.get(k)) {
                slots.push((Slot::New(n), true, leaf));
            } else {
                let n = staged.len() as u64;
                for key in keys() {
                    new_position.entry(*key).or_insert((n, *hash));
                }
                slots.push((Slot::New(n), false, *hash));
                staged.push(StagedEntry {
                    leaf_hash: *hash,
                    data,
                    timestamp_ms: timestamp,
                });
            }
        }
        let (next, nodes) = if staged.is_empty() {
            (tree.clone(), None)
        } else {
            let (next, nodes) = self.stage_and_publish(tree, staged, timestamp).await?;
            (next, Some(nodes))
        };
        let new_size = next.range.size();

        let results = slots
            .into_iter()
            .map(|(slot, duplicate, leaf_hash)| {
                let (index, timestamp_ms, inclusion_proof) = match slot {
                    Slot::Stored(index, timestamp_ms) => (index, timestamp_ms, None),
                    Slot::New(n) => {
                        let index = LeafIndex(old.0 + n);
                        let proof = nodes.as_ref().and_then(|b| b.prove(index, new_size));
                        (index, timestamp, proof)
                    }
                };
                AppendResult {
                    index,
                    leaf_hash,
                    duplicate,
                    timestamp_ms,
                    checkpoint: Arc::clone(&next.checkpoint),
                    inclusion_proof,
                }
            })
            .collect();
        Ok((next, results))
    }

    /// Integrates new entries, stages them (step 1), and publishes a checkpoint (step 2).
    /// Returns the new state and the nodes that prove the new entries.
    async fn stage_and_publish(
        &self,
        tree: &Tree,
        staged: Vec<StagedEntry>,
        timestamp: u64,
    ) -> Result<(Tree, BatchNodes), LogError> {
        let store = self.store.as_ref();
        let old = tree.range.size();

        // The tiles and entry bundle this batch widens, from the store.
        let partials = partial_tiles(old);
        let fetched = store.read_tiles(&partials).await?;
        let partial_data: HashMap<TileId, Vec<u8>> = partials
            .iter()
            .copied()
            .zip(fetched)
            .filter_map(|(t, d)| d.map(|d| (t, d)))
            .collect();
        let mut range = tree.range.clone();
        let leaf_hashes: Vec<Hash> = staged.iter().map(|e| e.leaf_hash).collect();
        let integrated = integrate(&mut range, &leaf_hashes, |tile| {
            partial_data
                .get(&tile)
                .cloned()
                .ok_or(LogError::MissingTile { tile })
        })
        .map_err(|e| match e {
            signet_tiles::IntegrateError::Fetch(e) => e,
            signet_tiles::IntegrateError::TileLength { tile, got, want } => {
                LogError::BadTile { tile, got, want }
            }
            signet_tiles::IntegrateError::Merkle(e) => LogError::Merkle(e),
            _ => LogError::Internal {
                what: "unknown integration error",
            },
        })?;
        let new = integrated.size;
        let bundles = self.build_bundles(old, new, &staged).await?;
        let nodes = BatchNodes::new(&tree.range, &leaf_hashes).map_err(LogError::Merkle)?;

        // Step 1. A crash after this leaves entries staged without a checkpoint; `open`
        // publishes one for them.
        store
            .stage_batch(StagedBatch {
                expected_size: old,
                entries: staged,
                tiles: integrated.tiles,
                bundles,
            })
            .await?;

        // Step 2. A crash after this is a finished append whose callers were not answered;
        // they find their entries as duplicates if they retry.
        let checkpoint = self.sign_checkpoint(new, integrated.root, timestamp)?;
        let checkpoint = self.endorse(checkpoint, new).await?;
        store
            .publish_checkpoint(Some(tree.checkpoint.size), checkpoint.clone())
            .await?;
        Ok((
            Tree {
                range,
                checkpoint: Arc::new(checkpoint),
            },
            nodes,
        ))
    }

    /// The entry bundles a tree growing from `old` to `new` creates or widens.
    async fn build_bundles(
        &self,
        old: TreeSize,
        new: TreeSize,
        staged: &[StagedEntry],
    ) -> Result<Vec<(EntryBundleId, Vec<u8>)>, LogError> {
        let mut out = Vec::new();
        for bundle in changed_entry_bundles(old, new) {
            let start = bundle.index * TILE_WIDTH;
            let end = start + u64::from(bundle.width);
            let mut data = Vec::new();
            if start < old.0 {
                // The partial bundle this batch widens: its existing entries come first.
                let existing = EntryBundleId {
                    index: bundle.index,
                    width: u16::try_from(old.0 - start).map_err(|_| LogError::Internal {
                        what: "partial bundle wider than 256",
                    })?,
                };
                data = self
                    .store
                    .read_entry_bundle(existing)
                    .await?
                    .ok_or(LogError::MissingBundle { bundle: existing })?;
            }
            let from = usize::try_from(start.max(old.0) - old.0).unwrap_or(usize::MAX);
            let to = usize::try_from(end - old.0).unwrap_or(usize::MAX);
            let fresh: Vec<&[u8]> = staged
                .get(from..to)
                .ok_or(LogError::Internal {
                    what: "entry bundle past the batch",
                })?
                .iter()
                .map(|e| e.data.as_slice())
                .collect();
            let encoded = encode_entry_bundle(&fresh)
                .map_err(|source| LogError::BadBundle { bundle, source })?;
            data.extend_from_slice(&encoded);
            out.push((bundle, data));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_tiles_per_level() {
        assert!(partial_tiles(TreeSize(0)).is_empty());
        assert!(partial_tiles(TreeSize(256)).iter().all(|t| t.level == 1));
        let tiles = partial_tiles(TreeSize(70_000));
        assert_eq!(
            tiles,
            vec![
                TileId {
                    level: 0,
                    index: 273,
                    width: 112
                },
                TileId {
                    level: 1,
                    index: 1,
                    width: 17
                },
                TileId {
                    level: 2,
                    index: 0,
                    width: 1
                },
            ]
        );
    }

    #[test]
    fn timestamps_strictly_increase() {
        assert_eq!(next_timestamp(100, None, 0), 100);
        assert_eq!(next_timestamp(100, Some(100), 0), 101);
        assert_eq!(next_timestamp(50, Some(100), 0), 101);
        assert_eq!(next_timestamp(50, Some(100), 300), 300);
        assert_eq!(next_timestamp(500, Some(100), 300), 500);
    }
}
