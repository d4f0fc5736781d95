//! The CT log service: [`CtLog`] accepts precertificates, logs them through signet-log and
//! issues SCTs; it answers the RFC 6962 reads from the store.

use crate::entry::{
    VerifiedChains, check_precert_submission, decode_precert_leaf, encode_precert_leaf,
    sct_signed_data,
};
use crate::sct::digitally_signed;
use crate::sth::{
    Rfc6962NoteSigner, SignedTreeHead, Timestamps, rfc6962_key_id, sth_from_checkpoint,
};
use crate::{CtError, ExtraDataStore, IssuedSct, SignedCertificateTimestamp};
use signet_clock::Clock;
use signet_log::{
    Batcher, BatcherConfig, CheckpointFormat, LogError, LogState, LogStore, Sequencer,
    SequencerConfig, StoredCheckpoint, StoredEntry,
};
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf};
use signet_note::KeyId;
use signet_signer::{SharedSigner, SignerAlgorithm};
use signet_x509::{Certificate, HashAlgorithm};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedMutexGuard, watch};

/// Most entries one [`CtLog::entries`] call (and `get-entries` request) returns.
pub const MAX_ENTRIES_PER_REQUEST: u64 = 256;

/// Unpublished entries scanned on open to find the latest timestamp handed out.
const MAX_TIMESTAMP_SCAN: u64 = 4096;

/// How a [`CtLog`] is set up.
#[derive(Clone)]
pub struct CtLogConfig {
    /// The checkpoint origin, also the key name of its RFC 6962 note signature: the log's
    /// submission prefix without scheme or trailing slash, e.g. `ct.example.com/2026`.
    pub origin: String,
    /// How entries are batched (one fsync and one tree head per batch).
    pub batch: BatcherConfig,
    /// Read for SCT and tree-head timestamps, which are kept strictly increasing even if it
    /// goes backwards.
    pub clock: Clock,
    /// Accepted roots (DER). A submitted chain must end in one of them or in a certificate one
    /// of them issued. Empty: any chain whose links verify is accepted. `get-roots` lists them.
    pub roots: Vec<Vec<u8>>,
    /// Where each entry's `extra_data` (precertificate + chain) is kept.
    pub extra_data: Arc<dyn ExtraDataStore>,
    /// The signing key was replaced on purpose (a key rotation): a stored tree head signed by
    /// an earlier key of this log (same origin) is accepted, and re-signed with this key when
    /// the log opens. Off (the default), a tree head of another key refuses the open: a key
    /// replaced by mistake must not take over the log.
    pub key_rotated: bool,
    /// What must accept each tree head before it is published (e.g. a checkpoint lock kept
    /// outside the data directory; see [`signet_log::guard`]). Default: nothing.
    pub guards: Vec<Arc<dyn signet_log::CheckpointGuard>>,
}

impl std::fmt::Debug for CtLogConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtLogConfig")
            .field("origin", &self.origin)
            .field("batch", &self.batch)
            .field("roots", &self.roots.len())
            .field("key_rotated", &self.key_rotated)
            .finish_non_exhaustive()
    }
}

impl CtLogConfig {
    /// A configuration with the default batching and no root restriction.
    pub fn new(
        origin: impl Into<String>,
        clock: Clock,
        extra_data: Arc<dyn ExtraDataStore>,
    ) -> Self {
        CtLogConfig {
            origin: origin.into(),
            batch: BatcherConfig::default(),
            clock,
            roots: Vec::new(),
            extra_data,
            key_rotated: false,
            guards: Vec::new(),
        }
    }
}

/// One log entry as `get-entries` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The `MerkleTreeLeaf`.
    pub leaf_input: Vec<u8>,
    /// The `PrecertChainEntry`.
    pub extra_data: Vec<u8>,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

/// The store reads the log needs, with the store type erased so that [`CtLog`] is not generic.
trait Reads: Send + Sync {
    fn state(&self) -> BoxFuture<'_, LogState>;
    fn entry(&self, index: u64) -> BoxFuture<'_, Option<StoredEntry>>;
    fn find_leaf(&self, hash: Hash) -> BoxFuture<'_, Option<LeafIndex>>;
    fn inclusion(&self, index: u64, size: u64) -> BoxFuture<'_, Vec<Hash>>;
    fn consistency(&self, first: u64, second: u64) -> BoxFuture<'_, Vec<Hash>>;
}

struct StoreReads<S>(Arc<S>);

impl<S: LogStore> Reads for StoreReads<S> {
    fn state(&self) -> BoxFuture<'_, LogState> {
        Box::pin(async move { Ok(self.0.state().await?) })
    }
    fn entry(&self, index: u64) -> BoxFuture<'_, Option<StoredEntry>> {
        Box::pin(async move { Ok(self.0.read_entry(LeafIndex(index)).await?) })
    }
    fn find_leaf(&self, hash: Hash) -> BoxFuture<'_, Option<LeafIndex>> {
        Box::pin(async move {
            Ok(self
                .0
                .find_leaves(&[hash])
                .await?
                .into_iter()
                .next()
                .flatten())
        })
    }
    fn inclusion(&self, index: u64, size: u64) -> BoxFuture<'_, Vec<Hash>> {
        Box::pin(signet_log::inclusion_proof(
            self.0.as_ref(),
            LeafIndex(index),
            TreeSize(size),
        ))
    }
    fn consistency(&self, first: u64, second: u64) -> BoxFuture<'_, Vec<Hash>> {
        Box::pin(signet_log::consistency_proof(
            self.0.as_ref(),
            TreeSize(first),
            TreeSize(second),
        ))
    }
}

/// An RFC 6962 certificate-transparency log for precertificates, on signet-log.
///
/// Submissions ([`CtLog::add_pre_chain`]) run concurrently; signet-log's [`Batcher`] is the
/// single writer. Share it with `Arc`.
pub struct CtLog {
    origin: String,
    log_id: [u8; 32],
    spki_der: Vec<u8>,
    sth_key_id: KeyId,
    /// Signs SCTs and (through the sequencer) tree heads; ECDSA P-256, checked on open.
    signer: SharedSigner,
    timestamps: Arc<Timestamps>,
    roots: Vec<Certificate>,
    roots_der: Vec<Vec<u8>>,
    /// Issuer chains already checked against `roots`.
    verified_chains: VerifiedChains,
    extra_data: Arc<dyn ExtraDataStore>,
    /// Submissions of one precertificate run one at a time, so that the second finds the
    /// first's SCT.
    in_flight: InFlight,
    /// While this process sequences the log: set by [`CtLog::start_sequencing`], taken by
    /// [`CtLog::stop_sequencing`] and [`CtLog::shutdown`]; each submission clones the handle.
    batcher: Mutex<Option<Batcher>>,
    /// The newest published checkpoint (the STH) known: the batcher's while sequencing, else
    /// the newest read from the store. Only ever moves forward, so no reader is ever served
    /// a tree older than one already served.
    latest: watch::Sender<Arc<StoredCheckpoint>>,
    reads: Box<dyn Reads>,
    /// What a (re)started sequencer is opened with.
    sequencing: SequencingConfig,
    /// Set by [`CtLog::shutdown`]: no sequencing starts again.
    closed: AtomicBool,
    /// On PostgreSQL with several processes: the lease, the holder's address, forwarding.
    #[cfg(feature = "postgres")]
    pub(crate) cluster: std::sync::OnceLock<Arc<crate::cluster::CtCluster>>,
}

/// What [`CtLog::start_sequencing`] opens a sequencer with.
struct SequencingConfig {
    clock: Clock,
    batch: BatcherConfig,
    key_rotated: bool,
    guards: Vec<Arc<dyn signet_log::CheckpointGuard>>,
}

impl std::fmt::Debug for CtLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtLog")
            .field("origin", &self.origin)
            .field("log_id", &self.log_id)
            .finish_non_exhaustive()
    }
}

fn to_hash(h: &Hash) -> [u8; 32] {
    h.0
}

impl CtLog {
    /// Opens the log in `store`, signing SCTs and tree heads with `signer`, which must be an
    /// ECDSA P-256 key (RFC 6962): a file key wrapped in a [`signet_signer::MemorySigner`], or
    /// a key in an HSM. This process is the log's only writer and sequences it from now on.
    ///
    /// 1. Checks the key's algorithm; the log ID is the SHA-256 of its `SubjectPublicKeyInfo`.
    /// 2. Starts sequencing: finds the latest timestamp handed out, opens signet-log's
    ///    sequencer, which verifies the store and signs a tree head for entries a crash left
    ///    without one, and starts the batcher.
    pub async fn open<S: LogStore>(
        store: Arc<S>,
        signer: SharedSigner,
        config: CtLogConfig,
    ) -> Result<CtLog, CtError> {
        let log = CtLog::unstarted(Arc::clone(&store), signer, config)?;
        log.start_sequencing(store).await?;
        // A store last written with another key or origin cannot serve get-sth: refuse now.
        log.latest_sth()?;
        Ok(log)
    }

    /// The log over `store` (for reads), not sequencing yet (step 1 of [`CtLog::open`]).
    pub(crate) fn unstarted<S: LogStore>(
        store: Arc<S>,
        signer: SharedSigner,
        config: CtLogConfig,
    ) -> Result<CtLog, CtError> {
        if signer.algorithm() != SignerAlgorithm::EcdsaP256Sha256 {
            return Err(CtError::SigningKeyAlgorithm {
                found: signer.algorithm(),
                location: signer.location(),
            });
        }
        let spki_der = signer.public_key_spki_der().to_vec();
        let log_id: [u8; 32] = HashAlgorithm::Sha256
            .digest(&spki_der)
            .try_into()
            .map_err(|_| CtError::BadSigningKey)?;
        if !signet_note::is_valid_key_name(&config.origin) {
            return Err(CtError::BadOrigin(config.origin));
        }
        let sth_key_id = rfc6962_key_id(&config.origin, &log_id);
        let roots = config
            .roots
            .iter()
            .enumerate()
            .map(|(index, der)| {
                Certificate::from_der(der).map_err(|source| CtError::BadRoot { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let placeholder = StoredCheckpoint {
            size: TreeSize(0),
            timestamp_ms: 0,
            note: Vec::new(),
        };
        let (latest, _) = watch::channel(Arc::new(placeholder));
        Ok(CtLog {
            timestamps: Arc::new(Timestamps::new(config.clock.clone(), 0)),
            origin: config.origin,
            log_id,
            spki_der,
            sth_key_id,
            signer,
            roots,
            roots_der: config.roots,
            verified_chains: VerifiedChains::default(),
            extra_data: config.extra_data,
            in_flight: InFlight::default(),
            batcher: Mutex::new(None),
            latest,
            reads: Box::new(StoreReads(store)),
            sequencing: SequencingConfig {
                clock: config.clock,
                batch: config.batch,
                key_rotated: config.key_rotated,
                guards: config.guards,
            },
            closed: AtomicBool::new(false),
            #[cfg(feature = "postgres")]
            cluster: std::sync::OnceLock::new(),
        })
    }

    /// Starts sequencing through `writer` (the log's store; on PostgreSQL one fenced by the
    /// lease's epoch). The caller must be the log's only writer (hold the lease).
    ///
    /// 1. Finds the latest timestamp handed out (the stored tree head's, and those of entries
    ///    staged after it, by whichever process wrote them), so that new timestamps follow it
    ///    even if the clock went back.
    /// 2. Opens signet-log's sequencer, which verifies the store and signs a tree head for
    ///    entries a crash left without one, and starts the batcher.
    pub(crate) async fn start_sequencing<S: LogStore>(
        &self,
        writer: Arc<S>,
    ) -> Result<(), CtError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(CtError::Log(LogError::Closed));
        }
        // 1.
        let writer_reads = StoreReads(Arc::clone(&writer));
        let last = latest_timestamp(
            &writer_reads,
            &self.origin,
            self.sth_key_id,
            self.sequencing.key_rotated,
        )
        .await?;
        self.timestamps.raise_to(last);

        // 2.
        let note_signer = Rfc6962NoteSigner::new(
            &self.origin,
            &self.log_id,
            Arc::clone(&self.signer),
            Arc::clone(&self.timestamps),
        );
        let clock = self.sequencing.clock.clone();
        let sequencer = Sequencer::open_guarded(
            writer,
            Box::new(note_signer),
            SequencerConfig {
                origin: self.origin.clone(),
                format: CheckpointFormat::C2sp,
            },
            move || clock.now_ms(),
            self.sequencing.guards.clone(),
        )
        .await?;
        let batcher = Batcher::spawn(sequencer, self.sequencing.batch)?;
        batcher.publish_to(&self.latest);
        *self.batcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(batcher);
        Ok(())
    }

    /// Stops sequencing after the batches already queued (the lease was lost, or the process
    /// stops). Submissions then fail with [`LogError::Closed`] or are forwarded.
    pub(crate) async fn stop_sequencing(&self) {
        let batcher = self
            .batcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(batcher) = batcher {
            batcher.shutdown().await;
        }
    }

    /// Whether this process sequences the log now (always, for a log not shared, until it is
    /// shut down).
    pub fn is_sequencing(&self) -> bool {
        self.current_batcher().is_some()
    }

    /// The batcher, while this process sequences.
    pub(crate) fn current_batcher(&self) -> Option<Batcher> {
        self.batcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the sequencing task still runs (true when not sequencing).
    #[cfg(feature = "postgres")]
    pub(crate) fn sequencer_runs(&self) -> bool {
        // The task owns the sending side of the checkpoint channel.
        self.current_batcher()
            .is_none_or(|b| b.subscribe().has_changed().is_ok())
    }

    /// Raises the known checkpoint to `cp` if it is newer.
    pub(crate) fn offer(&self, cp: Arc<StoredCheckpoint>) {
        signet_log::raise_checkpoint(&self.latest, cp);
    }

    /// Reads the store's checkpoint into the known one.
    #[cfg(feature = "postgres")]
    pub(crate) async fn refresh(&self) -> Result<(), CtError> {
        if let Some(cp) = self.reads.state().await?.checkpoint {
            self.offer(Arc::new(cp));
        }
        Ok(())
    }

    /// The checkpoint to answer a read with: the batcher's while sequencing; on a log shared
    /// with other processes, the store's current one otherwise (never older than one served).
    async fn head(&self) -> Result<Arc<StoredCheckpoint>, CtError> {
        #[cfg(feature = "postgres")]
        if self.cluster.get().is_some() && self.current_batcher().is_none() {
            self.refresh().await?;
        }
        Ok(self.latest_checkpoint())
    }

    /// RFC 6962 `add-pre-chain`: checks the precertificate (critical poison extension, issued
    /// directly by `chain[0]`, chain links and roots), appends its `MerkleTreeLeaf` durably
    /// (extra data and the SCT record first, then the leaf through the batcher), and returns
    /// the SCT, whose timestamp is the leaf's. Returns only once a tree head covering the entry
    /// is published.
    ///
    /// A precertificate already logged (the same issuer key and `TBSCertificate`, which is all
    /// a leaf holds besides its timestamp) is not logged again: it gets the SCT it got the first
    /// time, byte for byte, as RFC 6962 logs answer a duplicate. Concurrent submissions of one
    /// precertificate wait for each other.
    ///
    /// On a log shared by several processes ([`CtLog::open_clustered`]), a process that does
    /// not sequence forwards the submission to the one that does and returns its SCT.
    pub async fn add_pre_chain(
        &self,
        precert_der: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtError> {
        self.submit(precert_der, chain, false).await
    }

    /// [`CtLog::add_pre_chain`]; `forwarded`: the submission was forwarded by another
    /// process, so it is never forwarded again (503 if this one does not sequence).
    pub(crate) async fn submit(
        &self,
        precert_der: &[u8],
        chain: &[Vec<u8>],
        forwarded: bool,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let checked =
            check_precert_submission(precert_der, chain, &self.roots, Some(&self.verified_chains))?;
        #[cfg(feature = "postgres")]
        if let Some(cluster) = self.cluster.get() {
            let deadline = tokio::time::Instant::now() + signet_log::lease::FORWARD_TIMEOUT;
            loop {
                if self.current_batcher().is_some() {
                    return self.log_checked(checked).await;
                }
                match cluster
                    .forward(self, &checked, (precert_der, chain), forwarded, deadline)
                    .await
                {
                    crate::cluster::Forwarded::Answer(answer) => return answer,
                    crate::cluster::Forwarded::Retry => {}
                }
            }
        }
        let _ = forwarded;
        self.log_checked(checked).await
    }

    /// Logs a checked submission in this process's sequencer.
    async fn log_checked(
        &self,
        checked: crate::entry::CheckedPrecert,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let precert = precert_identity(&checked.issuer_key_hash, &checked.tbs);
        let _one_at_a_time = self.in_flight.lock(precert).await;
        let batcher = self
            .batcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(CtError::Log(LogError::Closed))?;

        // Logged before: the same leaf (its timestamp is the recorded one) is a duplicate, and
        // the batcher answers once a tree head covering it is published.
        if let Some(issued) = self.issued_sct(precert).await? {
            let leaf = encode_precert_leaf(
                issued.timestamp_ms,
                &checked.issuer_key_hash,
                &checked.tbs,
                &[],
            )?;
            if self.reads.find_leaf(hash_leaf(&leaf)).await?.is_some() {
                batcher.submit(leaf).await?;
                return Ok(SignedCertificateTimestamp {
                    log_id: self.log_id,
                    timestamp_ms: issued.timestamp_ms,
                    extensions: Vec::new(),
                    signature: issued.signature,
                });
            }
            // Recorded, but its leaf never reached the log (a crash in between): issue anew.
        }

        let timestamp_ms = self.timestamps.next();
        let leaf = encode_precert_leaf(timestamp_ms, &checked.issuer_key_hash, &checked.tbs, &[])?;
        let signed = sct_signed_data(timestamp_ms, &checked.issuer_key_hash, &checked.tbs, &[])?;
        let leaf_hash = to_hash(&hash_leaf(&leaf));

        // Signing may block (a key in an HSM): it runs off the async workers, together with
        // the extra data's write. A key that fails leaves nothing written.
        let signer = Arc::clone(&self.signer);
        let extra_data = Arc::clone(&self.extra_data);
        let chain_entry = checked.extra_data;
        let signature = tokio::task::spawn_blocking(move || {
            let signature = signer.sign(&signed).map_err(CtError::SignerUnavailable)?;
            let signature = digitally_signed(&signature).ok_or(CtError::Signing)?;
            let issued = IssuedSct {
                precert,
                timestamp_ms,
                signature,
            };
            extra_data.put(leaf_hash, &chain_entry, &issued)?;
            Ok::<_, CtError>(issued.signature)
        })
        .await
        .map_err(|e| CtError::ExtraData {
            op: "put",
            detail: e.to_string(),
        })??;

        batcher.submit(leaf).await?;
        Ok(SignedCertificateTimestamp {
            log_id: self.log_id,
            timestamp_ms,
            extensions: Vec::new(),
            signature,
        })
    }

    async fn issued_sct(&self, precert: [u8; 32]) -> Result<Option<IssuedSct>, CtError> {
        let extra_data = Arc::clone(&self.extra_data);
        tokio::task::spawn_blocking(move || extra_data.issued_sct(&precert))
            .await
            .map_err(|e| CtError::ExtraData {
                op: "get",
                detail: e.to_string(),
            })?
    }

    /// The log ID: SHA-256 of the log key's `SubjectPublicKeyInfo` DER.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The log's public key as `SubjectPublicKeyInfo` DER.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The checkpoint origin (also the note key name of the tree-head signature).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A verifier of this log's checkpoint signatures.
    pub fn note_verifier(&self) -> Result<crate::Rfc6962NoteVerifier, CtError> {
        crate::Rfc6962NoteVerifier::new(&self.origin, &self.spki_der)
    }

    /// The accepted roots (DER), as configured.
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.roots_der
    }

    /// The latest published checkpoint, a C2SP signed note carrying the RFC 6962 tree head as
    /// an `RFC6962NoteSignature` (static-ct-api).
    ///
    /// On a log shared by several processes, a process that does not sequence knows the
    /// checkpoint it last read from the database; the HTTP reads read it first.
    pub fn latest_checkpoint(&self) -> Arc<StoredCheckpoint> {
        // The batcher's newest, which may not have reached the follower task yet.
        if let Some(batcher) = self.current_batcher() {
            self.offer(batcher.latest_checkpoint());
        }
        Arc::clone(&self.latest.borrow())
    }

    /// [`CtLog::latest_sth`], reading the database's first when this process shares the log
    /// with others and does not sequence it.
    pub async fn current_sth(&self) -> Result<SignedTreeHead, CtError> {
        let checkpoint = self.head().await?;
        sth_from_checkpoint(&checkpoint.note, &self.origin, self.sth_key_id)
    }

    /// The latest signed tree head, read from the latest checkpoint.
    pub fn latest_sth(&self) -> Result<SignedTreeHead, CtError> {
        let checkpoint = self.latest_checkpoint();
        sth_from_checkpoint(&checkpoint.note, &self.origin, self.sth_key_id)
    }

    fn check_size(&self, name: &'static str, size: u64, current: u64) -> Result<u64, CtError> {
        if size > current {
            return Err(CtError::TreeSizeBeyondHead {
                requested: size,
                current,
            });
        }
        if size == 0 {
            return Err(CtError::BadParameter {
                name,
                reason: "must be at least 1".into(),
            });
        }
        Ok(size)
    }

    /// RFC 6962 `get-sth-consistency`: the proof that the tree of `first` entries is a prefix
    /// of the tree of `second`. Needs `1 <= first <= second <= ` the STH's size; equal sizes give
    /// an empty proof.
    pub async fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<[u8; 32]>, CtError> {
        let current = self.head().await?.size.0;
        let second = self.check_size("second", second, current)?;
        let first = self.check_size("first", first, current)?;
        if first > second {
            return Err(CtError::BadParameter {
                name: "first",
                reason: format!("{first} is greater than second ({second})"),
            });
        }
        if first == second {
            return Ok(Vec::new());
        }
        let proof = self.reads.consistency(first, second).await?;
        Ok(proof.iter().map(to_hash).collect())
    }

    /// RFC 6962 `get-proof-by-hash`: the index of the entry with `leaf_hash` and its inclusion
    /// proof in the tree of `tree_size` entries (at most the STH's size).
    pub async fn proof_by_hash(
        &self,
        leaf_hash: [u8; 32],
        tree_size: u64,
    ) -> Result<(u64, Vec<[u8; 32]>), CtError> {
        let current = self.head().await?.size.0;
        let tree_size = self.check_size("tree_size", tree_size, current)?;
        let index = self
            .reads
            .find_leaf(Hash(leaf_hash))
            .await?
            .filter(|i| i.0 < tree_size)
            .ok_or(CtError::LeafNotFound { tree_size })?;
        let proof = self.reads.inclusion(index.0, tree_size).await?;
        Ok((index.0, proof.iter().map(to_hash).collect()))
    }

    /// RFC 6962 `get-entries`: entries `start..=end`, cut to the STH's size and to
    /// [`MAX_ENTRIES_PER_REQUEST`] entries. `start` must be below the STH's size.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<LogEntry>, CtError> {
        if start > end {
            return Err(CtError::BadParameter {
                name: "start",
                reason: format!("{start} is greater than end ({end})"),
            });
        }
        let size = self.head().await?.size.0;
        if start >= size {
            return Err(CtError::BadParameter {
                name: "start",
                reason: format!("{start} is not below the tree size {size}"),
            });
        }
        let last = end
            .min(size - 1)
            .min(start.saturating_add(MAX_ENTRIES_PER_REQUEST - 1));
        let mut leaves = Vec::new();
        for index in start..=last {
            let entry = self
                .reads
                .entry(index)
                .await?
                .ok_or(CtError::Log(LogError::MissingEntry { index }))?;
            leaves.push(entry.data);
        }
        let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| to_hash(&hash_leaf(l))).collect();
        let extra_data = Arc::clone(&self.extra_data);
        let extras = tokio::task::spawn_blocking(move || extra_data.get(&hashes))
            .await
            .map_err(|e| CtError::ExtraData {
                op: "get",
                detail: e.to_string(),
            })??;
        if extras.len() != leaves.len() {
            return Err(CtError::ExtraData {
                op: "get",
                detail: "wrong number of rows".into(),
            });
        }
        leaves
            .into_iter()
            .zip(extras)
            .map(|(leaf_input, extra)| {
                let extra_data = extra.ok_or_else(|| CtError::Corrupt {
                    what: "extra data",
                    detail: "missing for a logged entry".into(),
                })?;
                Ok(LogEntry {
                    leaf_input,
                    extra_data,
                })
            })
            .collect()
    }

    /// Stops accepting submissions and waits for the batches already queued to be written.
    /// Reads keep working. Submissions after this fail with [`LogError::Closed`].
    ///
    /// On a log shared by several processes, also stops taking the lease and releases it
    /// (another process then takes over).
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        #[cfg(feature = "postgres")]
        if let Some(cluster) = self.cluster.get() {
            cluster.stop().await;
        }
        self.stop_sequencing().await;
    }
}

/// What identifies a precertificate in the log: SHA-256 of the issuer key hash and the
/// `TBSCertificate`, i.e. of its leaf without the timestamp (the extensions are always empty).
fn precert_identity(issuer_key_hash: &[u8; 32], tbs: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(tbs.len().saturating_add(32));
    data.extend_from_slice(issuer_key_hash);
    data.extend_from_slice(tbs);
    let mut out = [0u8; 32];
    out.copy_from_slice(&HashAlgorithm::Sha256.digest(&data));
    out
}

/// One async lock per key, for the keys in use: submissions of one precertificate run one at
/// a time while others run concurrently. The map holds only keys someone holds or waits for.
#[derive(Default)]
struct InFlight {
    locks: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while a submission of `key` runs; removes the key's lock when nobody else wants it.
struct InFlightGuard<'a> {
    owner: &'a InFlight,
    key: [u8; 32],
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl InFlight {
    async fn lock(&self, key: [u8; 32]) -> InFlightGuard<'_> {
        let lock = Arc::clone(
            self.locks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default(),
        );
        let guard = Arc::clone(&lock).lock_owned().await;
        InFlightGuard {
            owner: self,
            key,
            lock,
            guard: Some(guard),
        }
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and ours: nobody waits (new waiters clone under this lock).
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.key);
        }
    }
}

/// The tree head timestamp in a stored checkpoint after the log's key was rotated
/// ([`CtLogConfig::key_rotated`]): from this key's signature or else from the signature of a
/// key before it (every `RFC6962NoteSignature` starts with its timestamp). The opened
/// sequencer then re-signs the tree head with the current key.
fn tree_head_timestamp(note: &[u8], origin: &str, key_id: KeyId) -> Result<u64, CtError> {
    let current = sth_from_checkpoint(note, origin, key_id);
    if let Ok(sth) = &current {
        return Ok(sth.timestamp_ms);
    }
    let earlier = signet_note::Note::parse(note).ok().and_then(|note| {
        note.signatures()
            .iter()
            .filter(|s| s.name == origin)
            .filter_map(|s| {
                s.signature
                    .first_chunk::<8>()
                    .map(|t| u64::from_be_bytes(*t))
            })
            .max()
    });
    match earlier {
        Some(timestamp_ms) => Ok(timestamp_ms),
        None => current.map(|sth| sth.timestamp_ms),
    }
}

/// The latest timestamp the log handed out before this open: the stored tree head's, and
/// that of every entry staged after it (a crash may have cut them off before their tree
/// head), and the last entry's.
async fn latest_timestamp(
    reads: &dyn Reads,
    origin: &str,
    key_id: KeyId,
    key_rotated: bool,
) -> Result<u64, CtError> {
    let state = reads.state().await?;
    let staged = state.staged_size.0;
    let mut last = 0u64;
    let mut from = 0u64;
    if let Some(checkpoint) = &state.checkpoint {
        last = last.max(checkpoint.timestamp_ms);
        from = checkpoint.size.0;
        let timestamp_ms = if key_rotated {
            tree_head_timestamp(&checkpoint.note, origin, key_id)?
        } else {
            sth_from_checkpoint(&checkpoint.note, origin, key_id)?.timestamp_ms
        };
        last = last.max(timestamp_ms);
    }
    let from = from.max(staged.saturating_sub(MAX_TIMESTAMP_SCAN));
    let scan = (from..staged).chain(staged.checked_sub(1));
    for index in scan {
        let entry = reads
            .entry(index)
            .await?
            .ok_or(CtError::Log(LogError::MissingEntry { index }))?;
        let leaf = decode_precert_leaf(&entry.data).ok_or_else(|| CtError::Corrupt {
            what: "log entry",
            detail: format!("entry {index} is not a precertificate MerkleTreeLeaf"),
        })?;
        last = last.max(leaf.timestamp_ms).max(entry.timestamp_ms);
    }
    Ok(last)
}
