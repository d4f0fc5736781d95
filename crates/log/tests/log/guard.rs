//! Checkpoint guards: every checkpoint is endorsed before it is published, a refusal publishes
//! nothing and acknowledges nothing, the staged entries are published once the guard accepts,
//! and a guard may add signatures but not change the checkpoint.

use signet_log::guard::BoxFuture;
use signet_log::{
    CheckpointFormat, CheckpointGuard, GuardError, LogError, LogStore, MemoryStore, Sequencer,
    TreeView,
};
use signet_merkle::TreeSize;
use signet_note::{CosignatureV1Signer, Note, NoteSigner, NoteVerifiers, open_note, sign_note};
use signet_testkit::log::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Cosigns (after checking the consistency proof from the last size it cosigned) unless told
/// to refuse; records what it saw.
struct TestWitness {
    signer: CosignatureV1Signer,
    refuse: AtomicBool,
    calls: AtomicUsize,
    /// (size, root) of the last checkpoint it cosigned.
    last: Mutex<Option<(TreeSize, signet_merkle::Hash)>>,
}

impl TestWitness {
    fn new() -> Arc<Self> {
        Arc::new(TestWitness {
            signer: CosignatureV1Signer::from_seed("witness.example/w1", &[9; 32], 1_700_000_000)
                .unwrap(),
            refuse: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            last: Mutex::new(None),
        })
    }
}

impl CheckpointGuard for TestWitness {
    fn name(&self) -> &str {
        "test witness"
    }

    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        size: TreeSize,
        tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.refuse.load(Ordering::SeqCst) {
                return Err(GuardError::Unavailable {
                    guard: "test witness".into(),
                    reason: "down".into(),
                });
            }
            let opened = open_note(&note, &verifiers()).unwrap();
            let checkpoint = signet_note::Checkpoint::parse(opened.text()).unwrap();
            assert_eq!(checkpoint.size, size);
            assert!(size <= tree.staged_size());
            assert_eq!(tree.root(size).await.unwrap(), checkpoint.root_hash);
            let last = *self.last.lock().unwrap();
            if let Some((old, old_root)) = last.filter(|(old, _)| old.0 > 0 && *old < size) {
                let proof = tree.consistency(old, size).await.unwrap();
                signet_merkle::verify_consistency(
                    old,
                    size,
                    &old_root.0,
                    &checkpoint.root_hash.0,
                    &proof,
                )
                .unwrap();
            }
            *self.last.lock().unwrap() = Some((size, checkpoint.root_hash));
            let signed = sign_note(opened.text(), &[&self.signer as &dyn NoteSigner]).unwrap();
            let mut out = Note::parse(&note).unwrap();
            for sig in Note::parse(signed.as_bytes()).unwrap().signatures() {
                out.push_signature(sig.clone()).unwrap();
            }
            Ok(out.to_bytes())
        })
    }
}

async fn open_guarded(
    store: &Arc<MemoryStore>,
    clock: &TestClock,
    guards: Vec<Arc<dyn CheckpointGuard>>,
) -> Result<Sequencer<MemoryStore>, LogError> {
    Sequencer::open_guarded(
        Arc::clone(store),
        Box::new(signer()),
        config(CheckpointFormat::C2sp),
        clock.closure(),
        guards,
    )
    .await
}

fn cosigned_by(note: &[u8], witness: &TestWitness) -> bool {
    let vkeys = NoteVerifiers::from_vkeys([witness.signer.verifier_key().as_str()]).unwrap();
    open_note(note, &vkeys).is_ok()
}

#[tokio::test]
async fn every_published_checkpoint_is_endorsed() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let witness = TestWitness::new();
    let mut seq = open_guarded(&store, &clock, vec![witness.clone()])
        .await
        .unwrap();
    for batch in [0..3, 3..10, 10..300] {
        let results = seq.append_batch(entries(batch)).await.unwrap();
        let last = results.last().unwrap();
        assert!(cosigned_by(&last.checkpoint.note, &witness));
        // What was published is what the callers were given, cosignatures and all.
        let stored = store.state().await.unwrap().checkpoint.unwrap();
        assert_eq!(&stored, last.checkpoint.as_ref());
        // The log's own signature is still there.
        assert!(open_note(&stored.note, &verifiers()).is_ok());
    }
    // The empty log's first checkpoint too, at open.
    assert_eq!(witness.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_refusal_acknowledges_nothing_and_the_staged_entries_wait() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let witness = TestWitness::new();
    let mut seq = open_guarded(&store, &clock, vec![witness.clone()])
        .await
        .unwrap();
    seq.append_batch(entries(0..4)).await.unwrap();
    let published = store.state().await.unwrap().checkpoint.unwrap();

    witness.refuse.store(true, Ordering::SeqCst);
    let err = seq.append_batch(entries(4..6)).await.unwrap_err();
    assert!(matches!(err, LogError::Guard(_)), "{err}");
    let state = store.state().await.unwrap();
    assert_eq!(state.checkpoint.as_ref(), Some(&published));
    assert_eq!(state.staged_size.0, 6, "the batch stays staged");
    // While the witness is down nothing at all is published.
    assert!(seq.append_batch(entries(6..7)).await.is_err());
    assert_eq!(store.state().await.unwrap().checkpoint, Some(published));

    // Back up: the next append first publishes what was staged, then appends.
    witness.refuse.store(false, Ordering::SeqCst);
    let results = seq.append_batch(entries(4..8)).await.unwrap();
    let indexes: Vec<u64> = results.iter().map(|r| r.index.0).collect();
    assert_eq!(indexes, vec![4, 5, 6, 7]);
    assert!(results[0].duplicate && results[1].duplicate && !results[3].duplicate);
    let cp = store.state().await.unwrap().checkpoint.unwrap();
    assert_eq!(cp.size.0, 8);
    assert!(cosigned_by(&cp.note, &witness));
}

/// Refuses any store that is not at least `min` entries.
struct Lock {
    min: u64,
}

impl CheckpointGuard for Lock {
    fn name(&self) -> &str {
        "lock"
    }
    fn check_open<'a>(&'a self, tree: &'a dyn TreeView) -> BoxFuture<'a, Result<(), GuardError>> {
        Box::pin(async move {
            if tree.staged_size().0 < self.min {
                return Err(GuardError::Diverged {
                    guard: "lock".into(),
                    reason: format!("store has {} entries", tree.staged_size().0),
                });
            }
            Ok(())
        })
    }
    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        _size: TreeSize,
        _tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>> {
        Box::pin(async move { Ok(note) })
    }
}

#[tokio::test]
async fn check_open_refuses_a_store_behind() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    seq.append_batch(entries(0..5)).await.unwrap();
    drop(seq);
    let err = open_guarded(&store, &clock, vec![Arc::new(Lock { min: 6 })])
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::Guard(GuardError::Diverged { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("store has 5 entries"), "{err}");
    assert!(
        open_guarded(&store, &clock, vec![Arc::new(Lock { min: 5 })])
            .await
            .is_ok()
    );
}

/// Replaces the checkpoint with another note.
struct Forger;

impl CheckpointGuard for Forger {
    fn name(&self) -> &str {
        "forger"
    }
    fn endorse<'a>(
        &'a self,
        note: Vec<u8>,
        _size: TreeSize,
        _tree: &'a dyn TreeView,
    ) -> BoxFuture<'a, Result<Vec<u8>, GuardError>> {
        Box::pin(async move {
            let text = Note::parse(&note)
                .unwrap()
                .text()
                .replace('\n', "\nextra\n");
            let text = text.trim_end_matches("extra\n").to_owned();
            Ok(sign_note(&text, &[&signer() as &dyn NoteSigner])
                .unwrap()
                .into_bytes())
        })
    }
}

#[tokio::test]
async fn a_guard_cannot_change_the_checkpoint() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let err = open_guarded(&store, &clock, vec![Arc::new(Forger)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("changed the checkpoint"), "{err}");
    assert_eq!(store.state().await.unwrap().checkpoint, None);
}
