//! The async front of the sequencer: many concurrent submitters, one writer, batched fsyncs.

use crate::{AppendResult, LogError, LogStore, NewEntry, Sequencer, StoredCheckpoint};
use signet_merkle::Hash;
use signet_tiles::MAX_ENTRY_SIZE;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How the batcher forms batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Most entries in one batch (one stage + one checkpoint). Default 256: one full entry
    /// bundle.
    pub max_batch: usize,
    /// Longest a batch waits for more entries after its first one arrived. Default 10 ms. The
    /// wait is adaptive: when the previous batch held a single entry (a lone client, or a
    /// quiet log), a new batch takes what is already queued and is written at once, since
    /// waiting would be pure latency; once batches hold several entries, each waits up to
    /// `max_wait` to fill. Under load batches fill while the previous one is being written.
    pub max_wait: Duration,
    /// Entries that may wait in the queue; further submitters wait for room (backpressure).
    /// Default 4096.
    pub queue: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        BatcherConfig {
            max_batch: 256,
            max_wait: Duration::from_millis(10),
            queue: 4096,
        }
    }
}

/// Raises the checkpoint in `latest` to `cp` if `cp` is newer (a larger tree, or a later
/// signature), so that it only ever moves forward; returns whether it did.
pub fn raise_checkpoint(
    latest: &watch::Sender<Arc<StoredCheckpoint>>,
    cp: Arc<StoredCheckpoint>,
) -> bool {
    latest.send_if_modified(|current| {
        let newer = cp.size > current.size || cp.timestamp_ms > current.timestamp_ms;
        if newer {
            *current = cp;
        }
        newer
    })
}

/// One queued submission.
struct Pending {
    entry: NewEntry,
    reply: oneshot::Sender<Result<AppendResult, LogError>>,
}

/// Collects concurrent [`Batcher::submit`] calls into batches and runs them through one
/// [`Sequencer`] on one task.
///
/// Each caller is answered only after its batch's checkpoint is durably published. When a
/// batch fails, every caller in it gets the error; the sequencer re-reads the store before the
/// next batch (see [`Sequencer::append_batch`]). A caller that stops waiting (drops the future)
/// does not withdraw its entry: it may still be appended.
///
/// Cloning gives another handle to the same task. The task stops when every handle is dropped
/// or [`Batcher::shutdown`] is called, after finishing the batches already queued.
#[derive(Debug, Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Pending>,
    checkpoint: watch::Receiver<Arc<StoredCheckpoint>>,
    task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Batcher {
    /// Starts the sequencing task on the current tokio runtime.
    ///
    /// # Errors
    /// [`LogError::Internal`] if the sequencer has no verified checkpoint (it failed and was
    /// not recovered).
    pub fn spawn<S: LogStore>(
        sequencer: Sequencer<S>,
        config: BatcherConfig,
    ) -> Result<Self, LogError> {
        let checkpoint = sequencer.checkpoint().ok_or(LogError::Internal {
            what: "batcher started with a sequencer that needs recovery",
        })?;
        let (queue, rx) = mpsc::channel(config.queue.max(1));
        let (publish, watch_rx) = watch::channel(checkpoint);
        let task = tokio::spawn(run(sequencer, config, rx, publish));
        Ok(Batcher {
            queue,
            checkpoint: watch_rx,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    /// Submits one entry and waits until it is in a durably published checkpoint (or found to
    /// be a duplicate of an entry that is).
    pub async fn submit(&self, entry: Vec<u8>) -> Result<AppendResult, LogError> {
        self.submit_with_aliases(entry, Vec::new()).await
    }

    /// [`Batcher::submit`] for an entry that duplicates any entry whose leaf hash is in
    /// `aliases` (see [`NewEntry`]): if one of them is in the log, or earlier in the same batch,
    /// the result is that entry's.
    pub async fn submit_with_aliases(
        &self,
        entry: Vec<u8>,
        aliases: Vec<Hash>,
    ) -> Result<AppendResult, LogError> {
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(LogError::EntryTooLarge {
                index: 0,
                size: entry.len(),
                max: MAX_ENTRY_SIZE,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                entry: NewEntry {
                    data: entry,
                    aliases,
                },
                reply,
            })
            .await
            .map_err(|_| LogError::Closed)?;
        answer.await.map_err(|_| LogError::Closed)?
    }

    /// The latest checkpoint published by this batcher's sequencer.
    pub fn latest_checkpoint(&self) -> Arc<StoredCheckpoint> {
        Arc::clone(&self.checkpoint.borrow())
    }

    /// A receiver that sees each new checkpoint, e.g. to push it to witnesses or caches.
    pub fn subscribe(&self) -> watch::Receiver<Arc<StoredCheckpoint>> {
        self.checkpoint.clone()
    }

    /// Raises `latest` to this batcher's checkpoint and then to each newer one it publishes
    /// (see [`raise_checkpoint`]), on a task of its own that ends when the sequencing task does.
    /// A service keeps its newest known checkpoint this way across sequencers (it sequences, stops,
    /// reads the store as a follower, sequences again).
    pub fn publish_to(&self, latest: &watch::Sender<Arc<StoredCheckpoint>>) {
        raise_checkpoint(latest, self.latest_checkpoint());
        let mut rx = self.subscribe();
        let latest = latest.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let cp = Arc::clone(&rx.borrow_and_update());
                raise_checkpoint(&latest, cp);
            }
        });
    }

    /// Stops accepting entries from this handle and waits for the task to finish the batches
    /// already queued, once every other handle is dropped too.
    pub async fn shutdown(self) {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(self.queue);
        if let Some(task) = task {
            // A panic in the task has already failed its callers (their replies were dropped).
            let _ = task.await;
        }
    }
}

/// The sequencing task: owns the sequencer, the only writer.
async fn run<S: LogStore>(
    mut sequencer: Sequencer<S>,
    config: BatcherConfig,
    mut rx: mpsc::Receiver<Pending>,
    publish: watch::Sender<Arc<StoredCheckpoint>>,
) {
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    // Entries in the previous batch: 1 means nobody else was submitting, so do not wait.
    let mut previous = 0usize;
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        batch.push(first);
        let wait = if previous > 1 {
            config.max_wait
        } else {
            Duration::ZERO
        };
        let deadline = Instant::now() + wait;
        while batch.len() < max_batch {
            // Take what is already queued without waiting, then wait until the deadline.
            match rx.try_recv() {
                Ok(p) => {
                    batch.push(p);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        previous = batch.len();
        let (entries, replies): (Vec<NewEntry>, Vec<_>) =
            batch.drain(..).map(|p| (p.entry, p.reply)).unzip();
        match sequencer.append_entries(entries).await {
            Ok(results) => {
                if let Some(cp) = sequencer.checkpoint() {
                    publish.send_if_modified(|current| {
                        let newer =
                            cp.size > current.size || cp.timestamp_ms > current.timestamp_ms;
                        if newer {
                            *current = cp;
                        }
                        newer
                    });
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    // The caller may have gone away; its entry is in the log regardless.
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
