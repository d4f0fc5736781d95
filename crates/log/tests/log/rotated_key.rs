//! A log whose signing key was replaced (`signet up --rotate`): the sequencer opens over the
//! same tree and re-signs its latest checkpoint with the new key at once, same size and root,
//! later timestamp; a reopen with the same key signs nothing.

use signet_log::{LogStore, MemoryStore, Sequencer};
use signet_note::{Checkpoint, Ed25519NoteSigner, Note, NoteSigner};
use signet_testkit::log::*;
use std::sync::Arc;

#[tokio::test]
async fn a_new_key_re_signs_the_latest_checkpoint_on_open() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    seq.append_batch(entries(0..5)).await.unwrap();
    let old = store.state().await.unwrap().checkpoint.unwrap();
    drop(seq);

    // The same key: nothing is signed again.
    clock.advance(10);
    drop(open(&store, &clock).await.unwrap());
    assert_eq!(store.state().await.unwrap().checkpoint.unwrap(), old);

    // Another key.
    clock.advance(10);
    let new_signer = Ed25519NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap();
    let key_id = new_signer.key_id();
    let seq = Sequencer::open(
        Arc::clone(&store),
        Box::new(new_signer),
        config(signet_log::CheckpointFormat::C2sp),
        clock.closure(),
    )
    .await
    .unwrap();
    let new = store.state().await.unwrap().checkpoint.unwrap();
    assert_eq!(seq.checkpoint().unwrap().as_ref(), &new);
    assert_eq!(new.size, old.size);
    assert!(new.timestamp_ms > old.timestamp_ms);
    let text = |note: &[u8]| Checkpoint::parse(Note::parse(note).unwrap().text()).unwrap();
    assert_eq!(text(&new.note).root_hash, text(&old.note).root_hash);
    let note = Note::parse(&new.note).unwrap();
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(note.signatures()[0].key_id, key_id);
    assert_ne!(key_id, signer().key_id());
}
