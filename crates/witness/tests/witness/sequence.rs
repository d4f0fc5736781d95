//! A log growing 0 → 3 → 10 with real RFC 6962 consistency proofs, on the file store, and
//! what a restart (a new store on the same directory) remembers.

use crate::common::{Log, NOW, assert_cosigned, witness_over};
use signet_merkle::TreeSize;
use signet_witness::{AddError, FileStore};

#[test]
fn zero_three_ten_with_real_proofs_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new("log.test/seq", 7, 10);
    let other = Log::new("log.test/other", 8, 5);
    {
        let w = witness_over(
            Box::new(FileStore::open(dir.path()).unwrap()),
            &[&log, &other],
        );
        let sigs = w.add_checkpoint_body(&log.body(0, 3), NOW).unwrap();
        assert_cosigned(w.verifier_key(), &log.checkpoint(3).to_text(), &sigs, NOW);
        assert_eq!(log.proof(3, 10).len(), 5);
        let sigs = w.add_checkpoint_body(&log.body(3, 10), NOW + 1).unwrap();
        assert_cosigned(
            w.verifier_key(),
            &log.checkpoint(10).to_text(),
            &sigs,
            NOW + 1,
        );
        w.add_checkpoint_body(&other.body(0, 5), NOW).unwrap();
    }
    // A restart: the state is on disk, one file per origin holding the checkpoint note.
    let store = FileStore::open(dir.path()).unwrap();
    let file = dir
        .path()
        .join(signet_witness::state_file_name("log.test/seq"));
    assert_eq!(std::fs::read(&file).unwrap(), log.note(10));
    let w = witness_over(Box::new(store), &[&log, &other]);
    assert_eq!(
        w.latest("log.test/seq").unwrap().unwrap(),
        log.checkpoint(10)
    );
    assert_eq!(
        w.latest("log.test/other").unwrap().unwrap().size,
        TreeSize(5)
    );
    // The log forgot: it gets the size back.
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
    // And resubmits from it.
    let sigs = w.add_checkpoint_body(&log.body(10, 10), NOW + 2).unwrap();
    assert_cosigned(
        w.verifier_key(),
        &log.checkpoint(10).to_text(),
        &sigs,
        NOW + 2,
    );
}

#[test]
fn state_file_names_are_the_hex_sha256_of_the_origin() {
    // SHA-256("abc").
    assert_eq!(
        signet_witness::state_file_name("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_damaged_state_file_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new("log.test/seq", 7, 10);
    let w = witness_over(Box::new(FileStore::open(dir.path()).unwrap()), &[&log]);
    w.add_checkpoint_body(&log.body(0, 3), NOW).unwrap();
    let file = dir
        .path()
        .join(signet_witness::state_file_name("log.test/seq"));
    // Another log's checkpoint under this origin's name.
    std::fs::write(&file, Log::new("log.test/x", 1, 3).note(3)).unwrap();
    let e = w.add_checkpoint_body(&log.body(3, 10), NOW).unwrap_err();
    assert!(matches!(e, AddError::StoredCheckpoint { .. }), "{e}");
    assert_eq!(e.status(), 500);
    std::fs::write(&file, b"garbage").unwrap();
    assert_eq!(
        w.add_checkpoint_body(&log.body(3, 10), NOW)
            .unwrap_err()
            .status(),
        500
    );
}
