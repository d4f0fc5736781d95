//! The log's side of witnessing: a [`signet_log::CheckpointGuard`] that asks every configured
//! witness to cosign each checkpoint before the log publishes it, and publishes it (with the
//! cosignatures attached) only when a quorum did.
//!
//! Each witness is asked with the size it is believed to hold: unknown at first (asked as 0),
//! then learned from its answers (a cosignature means it now holds the new size; a 409 says
//! which size it holds, and the request is sent again from there with the consistency proof
//! the log reads from its staged tiles). A witness that holds a larger tree than the log's, or
//! one the log's tree does not extend, never cosigns: that is the point (a restored backup or
//! a fork cannot be published). The witnesses are asked in parallel; once the quorum has
//! answered, the others get a short grace before the checkpoint goes out without them.

use crate::client::{AddOutcome, WitnessClient};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use signet_log::guard::BoxFuture;
use signet_log::{CheckpointGuard, GuardError, TreeView};
use signet_merkle::TreeSize;
use signet_note::{Note, NoteSignature};
use std::sync::Mutex;
use std::time::Duration;

/// How long the witnesses beyond the quorum may take once the quorum has cosigned.
const GRACE: Duration = Duration::from_millis(200);

/// Requests to one witness for one checkpoint, at most (a 409 teaches the size to ask from).
const MAX_ATTEMPTS: usize = 3;

/// Witnesses that must cosign a log's checkpoints before they are published.
pub struct WitnessGuard {
    clients: Vec<WitnessClient>,
    quorum: usize,
    /// The tree size each witness is believed to hold (`None`: not known yet).
    sizes: Mutex<Vec<Option<u64>>>,
    name: String,
}

impl std::fmt::Debug for WitnessGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessGuard")
            .field("name", &self.name)
            .field("quorum", &self.quorum)
            .finish_non_exhaustive()
    }
}

/// Why a witness guard cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessGuardError {
    /// The quorum is 0 or more than the witnesses.
    #[error("a witness quorum of {quorum} with {witnesses} witnesses")]
    Quorum {
        /// The quorum.
        quorum: usize,
        /// The witnesses.
        witnesses: usize,
    },
    /// The same witness key is given twice.
    #[error("witness {0} is given twice")]
    Duplicate(String),
}

impl WitnessGuard {
    /// A guard that needs `quorum` of `clients` to cosign.
    ///
    /// # Errors
    /// A quorum of 0 or above the number of witnesses, or a witness given twice.
    pub fn new(clients: Vec<WitnessClient>, quorum: usize) -> Result<Self, WitnessGuardError> {
        if quorum == 0 || quorum > clients.len() {
            return Err(WitnessGuardError::Quorum {
                quorum,
                witnesses: clients.len(),
            });
        }
        for (i, c) in clients.iter().enumerate() {
            if clients
                .iter()
                .take(i)
                .any(|o| o.spec().vkey == c.spec().vkey)
            {
                return Err(WitnessGuardError::Duplicate(c.spec().vkey.clone()));
            }
        }
        let names: Vec<&str> = clients.iter().map(|c| c.spec().name()).collect();
        let name = format!("witnesses {} (quorum {quorum})", names.join(", "));
        let sizes = Mutex::new(vec![None; clients.len()]);
        Ok(WitnessGuard {
            clients,
            quorum,
            sizes,
            name,
        })
    }

    fn believed_size(&self, i: usize) -> Option<u64> {
        self.sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(i)
            .copied()
            .flatten()
    }

    fn learn_size(&self, i: usize, size: u64) {
        if let Some(slot) = self
            .sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(i)
        {
            *slot = Some(size);
        }
    }

    /// Asks witness `i` to cosign `note` (of `size` leaves); its cosignatures, or why not.
    async fn ask(
        &self,
        i: usize,
        note: &[u8],
        size: TreeSize,
        tree: &dyn TreeView,
    ) -> Result<Vec<NoteSignature>, String> {
        let Some(client) = self.clients.get(i) else {
            return Err("no such witness".into());
        };
        let who = client.spec().name();
        let mut old = self.believed_size(i).unwrap_or(0);
        for _ in 0..MAX_ATTEMPTS {
            if old > size.0 {
                return Err(format!(
                    "{who} holds a tree of {old} entries, larger than this log's {}: the log \
                     is behind what it published (restored from a backup?) and must not publish",
                    size.0
                ));
            }
            let proof = if old == 0 || old == size.0 {
                Vec::new()
            } else {
                tree.consistency(TreeSize(old), size)
                    .await
                    .map_err(|e| format!("{who}: consistency proof from {old}: {e}"))?
            };
            match client.add_checkpoint(old, &proof, note).await {
                Ok(AddOutcome::Cosigned(signatures)) => {
                    self.learn_size(i, size.0);
                    return Ok(signatures);
                }
                Ok(AddOutcome::Conflict { latest_size }) => {
                    self.learn_size(i, latest_size);
                    if latest_size == old {
                        return Err(format!("{who} answered 409 for its own size {old}"));
                    }
                    old = latest_size;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(format!("{who}: its tree size kept changing"))
    }
}

impl CheckpointGuard for WitnessGuard {
    fn name(&self) -> &str {
        &self.name
    }

    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        size: TreeSize,
        tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>> {
        Box::pin(async move {
            let unavailable = |reason: String| GuardError::Unavailable {
                guard: self.name.clone(),
                reason,
            };
            let mut pending: FuturesUnordered<_> = (0..self.clients.len())
                .map(|i| {
                    let note = note.as_slice();
                    async move { self.ask(i, note, size, tree).await }
                })
                .collect();
            let mut cosignatures: Vec<NoteSignature> = Vec::new();
            let mut cosigned = 0usize;
            let mut failures: Vec<String> = Vec::new();
            while let Some(answer) = pending.next().await {
                match answer {
                    Ok(sigs) => {
                        cosigned += 1;
                        cosignatures.extend(sigs);
                    }
                    Err(reason) => failures.push(reason),
                }
                if cosigned >= self.quorum {
                    // The rest may still add theirs, briefly.
                    let rest = async {
                        while let Some(answer) = pending.next().await {
                            match answer {
                                Ok(sigs) => cosignatures.extend(sigs),
                                Err(reason) => failures.push(reason),
                            }
                        }
                    };
                    let _ = tokio::time::timeout(GRACE, rest).await;
                    break;
                }
            }
            if cosigned < self.quorum {
                return Err(unavailable(format!(
                    "{cosigned} of {} witnesses cosigned, {} needed: {}",
                    self.clients.len(),
                    self.quorum,
                    failures.join("; ")
                )));
            }
            let mut endorsed =
                Note::parse(&note).map_err(|e| unavailable(format!("the checkpoint: {e}")))?;
            for sig in cosignatures {
                if !endorsed.signatures().contains(&sig) {
                    endorsed
                        .push_signature(sig)
                        .map_err(|e| unavailable(format!("attaching a cosignature: {e}")))?;
                }
            }
            Ok(endorsed.to_bytes())
        })
    }
}
