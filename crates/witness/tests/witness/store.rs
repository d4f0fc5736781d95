//! One suite run against both stores, the file store's lock and durability across reopening,
//! and faults injected before and after a replace.

use crate::common::{Log, NOW, assert_cosigned, witness_over};
use signet_merkle::TreeSize;
use signet_witness::{AddError, CheckpointStore, FileStore, MemoryStore, StoreError, StoreStep};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The [`CheckpointStore`] contract: compare-and-swap per origin.
fn conformance(store: &dyn CheckpointStore) {
    assert!(store.load("a").unwrap().is_none());
    store.replace("a", None, b"one").unwrap();
    assert_eq!(store.load("a").unwrap().unwrap(), b"one");
    // A stale expectation stores nothing.
    assert!(matches!(
        store.replace("a", None, b"two"),
        Err(StoreError::Changed { .. })
    ));
    assert!(matches!(
        store.replace("a", Some(b"zero"), b"two"),
        Err(StoreError::Changed { .. })
    ));
    assert_eq!(store.load("a").unwrap().unwrap(), b"one");
    store.replace("a", Some(b"one"), b"two").unwrap();
    assert_eq!(store.load("a").unwrap().unwrap(), b"two");
    // Origins are independent, whatever their spelling.
    for origin in ["b", "../a", "a/b c\u{2014}", ""] {
        assert!(store.load(origin).unwrap().is_none(), "{origin:?}");
        store.replace(origin, None, origin.as_bytes()).unwrap();
        assert_eq!(store.load(origin).unwrap().unwrap(), origin.as_bytes());
    }
    assert_eq!(store.load("a").unwrap().unwrap(), b"two");
}

#[test]
fn memory_store_conformance() {
    conformance(&MemoryStore::new());
}

#[test]
fn file_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&FileStore::open(&dir.path().join("new/state")).unwrap());
}

#[test]
fn file_store_keeps_its_state_and_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store.replace("a", None, b"one").unwrap();
    // A second store on the same directory is refused while the first is open.
    let e = FileStore::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Locked { .. }), "{e}");
    assert!(e.to_string().contains("another witness process"), "{e}");
    drop(store);
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.load("a").unwrap().unwrap(), b"one");
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&signet_witness::LOCK_FILE.to_owned()));
    assert!(names.contains(&signet_witness::state_file_name("a")));
}

#[test]
fn a_failure_before_storing_cosigns_nothing_and_keeps_the_state() {
    let fail = Arc::new(AtomicBool::new(false));
    let failing = fail.clone();
    let store = MemoryStore::with_faults(move |step| {
        if step == StoreStep::BeforeReplace && failing.load(Ordering::SeqCst) {
            return Err(StoreError::Injected("disk full"));
        }
        Ok(())
    });
    let log = Log::new("log.test/f", 1, 10);
    let w = witness_over(Box::new(store), &[&log]);
    w.add_checkpoint_body(&log.body(0, 3), NOW).unwrap();
    fail.store(true, Ordering::SeqCst);
    let e = w.add_checkpoint_body(&log.body(3, 10), NOW).unwrap_err();
    assert!(matches!(e, AddError::Store(_)), "{e}");
    assert_eq!(e.status(), 500);
    assert_eq!(w.latest("log.test/f").unwrap().unwrap().size, TreeSize(3));
    fail.store(false, Ordering::SeqCst);
    w.add_checkpoint_body(&log.body(3, 10), NOW).unwrap();
}

#[test]
fn a_failure_after_storing_is_recovered_by_resubmitting_at_the_new_size() {
    // As a crash after the write: stored, but no cosignature went out.
    let fail = Arc::new(AtomicBool::new(false));
    let failing = fail.clone();
    let store = MemoryStore::with_faults(move |step| {
        if step == StoreStep::AfterReplace && failing.load(Ordering::SeqCst) {
            return Err(StoreError::Injected("lost acknowledgement"));
        }
        Ok(())
    });
    let log = Log::new("log.test/f", 1, 10);
    let w = witness_over(Box::new(store), &[&log]);
    w.add_checkpoint_body(&log.body(0, 3), NOW).unwrap();
    fail.store(true, Ordering::SeqCst);
    assert_eq!(
        w.add_checkpoint_body(&log.body(3, 10), NOW)
            .unwrap_err()
            .status(),
        500
    );
    fail.store(false, Ordering::SeqCst);
    // The log retries as it was: 409 with the new size; then from it: cosigned.
    let e = w.add_checkpoint_body(&log.body(3, 10), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            AddError::OldSizeMismatch {
                latest: TreeSize(10),
                ..
            }
        ),
        "{e}"
    );
    let sigs = w.add_checkpoint_body(&log.body(10, 10), NOW).unwrap();
    assert_cosigned(w.verifier_key(), &log.checkpoint(10).to_text(), &sigs, NOW);
}
