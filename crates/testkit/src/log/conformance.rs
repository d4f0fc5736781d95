//! The conformance suite: one `async fn` per check, each taking a fresh [`Fixture`]. Run it
//! with [`log_store_conformance!`](crate::log_store_conformance), which makes one test per check.

use super::*;
use signet_log::{
    CheckpointFormat, LogError, LogStore, StagedBatch, StagedEntry, StoreError, StoredCheckpoint,
    consistency_proof, inclusion_proof, tree_root,
};
use signet_merkle::{
    CompactRange, EMPTY_ROOT, Hash, LeafIndex, MemoryTree, hash_leaf, verify_consistency,
    verify_inclusion,
};
use signet_note::{Checkpoint, open_note, sign_note};
use signet_tiles::{
    EntryBundleId, MAX_ENTRY_SIZE, TileId, changed_entry_bundles, encode_entry_bundle, integrate,
};

/// Appends batches of these sizes, crossing tile and bundle boundaries.
const BATCHES: [u64; 8] = [1, 2, 255, 1, 300, 700, 256, 3];

/// Batches crossing tile and bundle boundaries: indexes, checkpoints and stored entries line up.
pub async fn append_and_read<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut obs = Observer::default();
    let empty = seq.checkpoint().unwrap();
    assert_eq!(empty.size, size(0));
    assert_eq!(parse(&empty).root_hash, EMPTY_ROOT);
    obs.observe(&empty);

    let mut next = 0;
    for n in BATCHES {
        clock.advance(5);
        let batch = entries(next..next + n);
        let results = seq.append_batch(batch.clone()).await.unwrap();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.index, LeafIndex(next + i as u64));
            assert!(!r.duplicate);
            assert_eq!(r.checkpoint.size, size(next + n));
        }
        obs.record(&batch, &results);
        next += n;
        let state = store.state().await.unwrap();
        assert_eq!(state.staged_size, size(next));
        assert_eq!(
            state.checkpoint.as_ref(),
            Some(results[0].checkpoint.as_ref())
        );
    }
    for i in 0..next {
        let stored = store.read_entry(LeafIndex(i)).await.unwrap().unwrap();
        assert_eq!(stored.data, entry(i));
    }
    assert!(store.read_entry(LeafIndex(next)).await.unwrap().is_none());
    let zero = TileId {
        level: 0,
        index: 0,
        width: 0,
    };
    assert_eq!(store.read_tiles(&[zero]).await.unwrap(), vec![None]);
    assert!(
        store
            .read_entry_bundle(EntryBundleId { index: 0, width: 0 })
            .await
            .unwrap()
            .is_none()
    );
    let check = obs.verify(store.as_ref()).await;
    assert_eq!(check.staged_size, size(next));
}

/// Entries already logged, or earlier in the batch, are duplicates: their first index and timestamp, nothing written.
pub async fn duplicates<F: Fixture>(mut fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut obs = Observer::default();
    let (a, b, c) = (entry(1), entry(2), entry(3));

    let batch = vec![a.clone(), b.clone(), a.clone()];
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert_eq!(
        r.iter()
            .map(|r| (r.index.0, r.duplicate))
            .collect::<Vec<_>>(),
        [(0, false), (1, false), (0, true)]
    );
    assert_eq!(r[2].timestamp_ms, r[0].timestamp_ms);
    let first_ts = r[0].timestamp_ms;

    clock.advance(10);
    let batch = vec![b.clone(), c.clone()];
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert_eq!(
        r.iter()
            .map(|r| (r.index.0, r.duplicate))
            .collect::<Vec<_>>(),
        [(1, true), (2, false)]
    );
    assert_eq!(r[0].timestamp_ms, first_ts);
    assert!(r[1].timestamp_ms > first_ts);

    // Only duplicates: nothing written, the same checkpoint returned.
    let before = store.state().await.unwrap();
    let batch = vec![a.clone(), c.clone()];
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert!(r.iter().all(|r| r.duplicate));
    assert_eq!(store.state().await.unwrap(), before);
    assert_eq!(
        r[0].checkpoint.as_ref(),
        before.checkpoint.as_ref().unwrap()
    );

    // Still found after reopening.
    drop(seq);
    let store = fx.reopen(store);
    let mut seq = open(&store, &clock).await.unwrap();
    let batch = vec![c.clone(), entry(4), b.clone()];
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert_eq!(
        r.iter()
            .map(|r| (r.index.0, r.duplicate))
            .collect::<Vec<_>>(),
        [(2, true), (3, false), (1, true)]
    );
    obs.verify(store.as_ref()).await;
}

/// An entry whose alias is logged (or earlier in the batch) is a duplicate of that entry, and
/// its result names that entry's leaf hash.
pub async fn aliases<F: Fixture>(mut fx: F) {
    use signet_log::NewEntry;
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let (a, twin_of_a, b, twin_of_b) = (entry(1), entry(2), entry(3), entry(4));
    let with = |data: &Vec<u8>, alias: &Vec<u8>| NewEntry {
        data: data.clone(),
        aliases: vec![hash_leaf(alias)],
    };

    // In one batch: the second of two equivalent entries is a duplicate of the first.
    let r = seq
        .append_entries(vec![with(&a, &twin_of_a), with(&twin_of_a, &a)])
        .await
        .unwrap();
    let got: Vec<_> = r
        .iter()
        .map(|r| (r.index.0, r.duplicate, r.leaf_hash))
        .collect();
    assert_eq!(got, [(0, false, hash_leaf(&a)), (0, true, hash_leaf(&a))]);

    // Against the store, also after reopening; an unrelated alias changes nothing.
    clock.advance(10);
    let r = seq
        .append_entries(vec![with(&b, &entry(99)), with(&twin_of_a, &a)])
        .await
        .unwrap();
    let got: Vec<_> = r
        .iter()
        .map(|r| (r.index.0, r.duplicate, r.leaf_hash))
        .collect();
    assert_eq!(got, [(1, false, hash_leaf(&b)), (0, true, hash_leaf(&a))]);
    drop(seq);
    let store = fx.reopen(store);
    let mut seq = open(&store, &clock).await.unwrap();
    let before = store.state().await.unwrap();
    let r = seq
        .append_entries(vec![with(&twin_of_b, &b), with(&twin_of_a, &a)])
        .await
        .unwrap();
    assert!(r.iter().all(|r| r.duplicate));
    assert_eq!(
        r.iter().map(|r| r.index.0).collect::<Vec<_>>(),
        [1, 0],
        "{r:?}"
    );
    assert_eq!(store.state().await.unwrap(), before);
    assert_eq!(store.state().await.unwrap().staged_size, size(2));
}

/// Staging and publishing are compare-and-swap: a conflicting write is refused and changes
/// nothing.
pub async fn compare_and_swap<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut obs = Observer::default();
    let batch = entries(0..10);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    let before = store.state().await.unwrap();
    let current = before.checkpoint.clone().unwrap();

    // Store level: every conflict writes nothing.
    let err = store
        .stage_batch(StagedBatch {
            expected_size: size(9),
            entries: vec![StagedEntry {
                leaf_hash: hash_leaf(b"x"),
                data: b"x".to_vec(),
                timestamp_ms: 1,
            }],
            ..StagedBatch::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StagedConflict {
                expected: 9,
                found: 10
            }
        ),
        "{err:?}"
    );
    assert!(err.is_conflict());
    let bogus = StoredCheckpoint {
        size: size(10),
        timestamp_ms: current.timestamp_ms + 1,
        note: b"not a note".to_vec(),
    };
    let err = store
        .publish_checkpoint(Some(size(3)), bogus.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CheckpointConflict {
                expected: Some(3),
                found: Some(10)
            }
        ),
        "{err:?}"
    );
    let err = store
        .publish_checkpoint(None, bogus.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CheckpointConflict { .. }),
        "{err:?}"
    );
    let beyond = StoredCheckpoint {
        size: size(11),
        ..bogus.clone()
    };
    let err = store
        .publish_checkpoint(Some(size(10)), beyond)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CheckpointBeyondStaged {
                size: 11,
                staged: 10
            }
        ),
        "{err:?}"
    );
    let smaller = StoredCheckpoint {
        size: size(9),
        ..bogus
    };
    let err = store
        .publish_checkpoint(Some(size(10)), smaller)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CheckpointShrinks {
                size: 9,
                previous: 10
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.state().await.unwrap(), before);

    // Sequencer level: a second, stale sequencer is fenced on its first write.
    let mut stale = open(&store, &clock).await.unwrap();
    clock.advance(1);
    let batch = entries(10..12);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    let err = stale.append_batch(entries(20..22)).await.unwrap_err();
    assert!(
        matches!(err, LogError::Fenced(StoreError::StagedConflict { .. })),
        "{err:?}"
    );
    assert!(stale.is_fenced());
    let err = stale.append_batch(entries(20..22)).await.unwrap_err();
    assert!(matches!(err, LogError::Fenced(_)), "{err:?}");
    assert!(matches!(stale.recover().await, Err(LogError::Fenced(_))));
    // The live one carries on.
    let batch = entries(12..15);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    obs.verify(store.as_ref()).await;
}

/// A sequencer opened again on the reopened store carries on from the stored log.
pub async fn reopen_continues<F: Fixture>(mut fx: F) {
    let mut store = fx.store();
    let clock = TestClock::default();
    let mut obs = Observer::default();
    let mut next = 0;
    for round in 0..4 {
        let mut seq = open(&store, &clock).await.unwrap();
        let opened = seq.checkpoint().unwrap();
        assert_eq!(opened.size, size(next));
        obs.observe(&opened);
        for n in [7, 250, 1] {
            clock.advance(3);
            let batch = entries(next..next + n);
            let r = seq.append_batch(batch.clone()).await.unwrap();
            obs.record(&batch, &r);
            next += n;
        }
        drop(seq);
        store = fx.reopen(store);
        let state = store.state().await.unwrap();
        assert_eq!(state.staged_size, size(next), "round {round}");
        assert_eq!(state.checkpoint.unwrap().size, size(next));
    }
    obs.verify(store.as_ref()).await;
}

/// Inclusion and consistency proofs from the store match an in-memory tree's.
pub async fn proofs<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut obs = Observer::default();
    let mut tree = MemoryTree::new();
    let mut sizes = Vec::new();
    let mut next = 0;
    for n in [1, 1, 3, 11, 240, 1, 300, 57] {
        let batch = entries(next..next + n);
        let r = seq.append_batch(batch.clone()).await.unwrap();
        obs.record(&batch, &r);
        batch.iter().for_each(|e| tree.push(hash_leaf(e)));
        next += n;
        sizes.push(next);
    }
    for &s in &sizes {
        let root = tree.root_at(size(s)).unwrap();
        assert_eq!(tree_root(store.as_ref(), size(s)).await.unwrap(), root);
        let step = if s > 100 { 7 } else { 1 };
        for i in (0..s).step_by(step) {
            let proof = inclusion_proof(store.as_ref(), LeafIndex(i), size(s))
                .await
                .unwrap();
            verify_inclusion(
                &hash_leaf(&entry(i)),
                LeafIndex(i),
                size(s),
                &proof,
                &root.0,
            )
            .unwrap();
        }
        for &s1 in sizes.iter().filter(|&&s1| s1 <= s) {
            let root1 = tree.root_at(size(s1)).unwrap();
            let proof = consistency_proof(store.as_ref(), size(s1), size(s))
                .await
                .unwrap();
            verify_consistency(size(s1), size(s), &root1.0, &root.0, &proof).unwrap();
        }
    }
    // Bad requests.
    let err = inclusion_proof(store.as_ref(), LeafIndex(next), size(next))
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::Merkle(_)), "{err:?}");
    let err = consistency_proof(store.as_ref(), size(0), size(next))
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::Merkle(_)), "{err:?}");
    let err = consistency_proof(store.as_ref(), size(5), size(4))
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::Merkle(_)), "{err:?}");
    let err = inclusion_proof(store.as_ref(), LeafIndex(0), size(next + 300))
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::MissingTile { .. }), "{err:?}");
    obs.verify(store.as_ref()).await;
}

/// Rekor v1 checkpoints carry a `Timestamp:` extension; a log opened in one format keeps
/// opening in the other.
pub async fn rekor_v1_checkpoints<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    clock.set(1_689_177_396_617);
    let mut seq = open_with(&store, &clock, CheckpointFormat::RekorV1)
        .await
        .unwrap();
    let r = seq.append_batch(entries(0..3)).await.unwrap();
    let cp = &r[0].checkpoint;
    let opened = open_note(&cp.note, &verifiers()).unwrap();
    let parsed = Checkpoint::parse(opened.text()).unwrap();
    assert_eq!(parsed.size, size(3));
    assert_eq!(
        parsed.extensions,
        vec![format!(
            "Timestamp: {}",
            u128::from(cp.timestamp_ms) * 1_000_000
        )]
    );
    assert_eq!(r[0].timestamp_ms, cp.timestamp_ms);
    // A log opened in one format keeps opening in another: the format only shapes new notes.
    drop(seq);
    let mut seq = open(&store, &clock).await.unwrap();
    let r = seq.append_batch(entries(3..4)).await.unwrap();
    let text = open_note(&r[0].checkpoint.note, &verifiers()).unwrap();
    assert!(
        Checkpoint::parse(text.text())
            .unwrap()
            .extensions
            .is_empty()
    );
    Observer::default().verify(store.as_ref()).await;
}

/// An entry over the size limit fails its batch and writes nothing.
pub async fn entry_size_limit<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let before = store.state().await.unwrap();
    let err = seq
        .append_batch(vec![b"ok".to_vec(), vec![0; MAX_ENTRY_SIZE + 1]])
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::EntryTooLarge { index: 1, size, .. } if size == MAX_ENTRY_SIZE + 1),
        "{err:?}"
    );
    assert_eq!(store.state().await.unwrap(), before);
    let big = vec![7; MAX_ENTRY_SIZE];
    let mut obs = Observer::default();
    let batch = vec![big, Vec::new()];
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    obs.verify(store.as_ref()).await;
}

/// Checkpoint timestamps strictly increase even when the clock stands still or goes back.
pub async fn clock_goes_backwards<F: Fixture>(mut fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut obs = Observer::default();
    obs.observe(&seq.checkpoint().unwrap());
    for (i, now) in [1_000u64, 1_000, 10, 5_000, 4_999].into_iter().enumerate() {
        clock.set(now);
        let batch = entries(i as u64..i as u64 + 1);
        let r = seq.append_batch(batch.clone()).await.unwrap();
        obs.record(&batch, &r);
    }
    drop(seq);
    let store = fx.reopen(store);
    clock.set(0);
    let mut seq = open(&store, &clock).await.unwrap();
    let batch = entries(10..11);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert!(r[0].timestamp_ms > 5_000);
    obs.verify(store.as_ref()).await;
}

/// Writes a batch through the store alone, as a buggy or malicious writer might: entries
/// `data`, with tiles computed as if the entries were `hashed_as`, and a checkpoint signed
/// with the real key over `root` (or the tiles' root).
async fn forge<S: LogStore>(
    store: &S,
    data: Vec<Vec<u8>>,
    hashed_as: Vec<Vec<u8>>,
    root: Option<Hash>,
) {
    let state = store.state().await.unwrap();
    let old = state.staged_size;
    let mut all = Vec::new();
    for i in 0..old.0 {
        all.push(hash_leaf(
            &store.read_entry(LeafIndex(i)).await.unwrap().unwrap().data,
        ));
    }
    let mut range = CompactRange::new();
    let mut tiles = std::collections::HashMap::new();
    let out = integrate(&mut range, &all, |_| Err::<Vec<u8>, ()>(())).unwrap();
    tiles.extend(out.tiles);
    let new_leaves: Vec<Hash> = hashed_as.iter().map(|e| hash_leaf(e)).collect();
    let out = integrate(&mut range, &new_leaves, |t| {
        tiles.get(&t).cloned().ok_or(())
    })
    .unwrap();
    let mut everything: Vec<Vec<u8>> = Vec::new();
    for i in 0..old.0 {
        everything.push(store.read_entry(LeafIndex(i)).await.unwrap().unwrap().data);
    }
    everything.extend(data.iter().cloned());
    let bundles = changed_entry_bundles(old, out.size)
        .into_iter()
        .map(|b| {
            let start = (b.index * 256) as usize;
            (
                b,
                encode_entry_bundle(&everything[start..start + usize::from(b.width)]).unwrap(),
            )
        })
        .collect();
    store
        .stage_batch(StagedBatch {
            expected_size: old,
            entries: data
                .iter()
                .map(|d| StagedEntry {
                    leaf_hash: hash_leaf(d),
                    data: d.clone(),
                    timestamp_ms: state.checkpoint.as_ref().unwrap().timestamp_ms + 1,
                })
                .collect(),
            tiles: out.tiles,
            bundles,
        })
        .await
        .unwrap();
    let checkpoint = Checkpoint::new(ORIGIN, out.size, root.unwrap_or(out.root));
    let note = sign_note(&checkpoint.to_text(), &[&signer()]).unwrap();
    store
        .publish_checkpoint(
            state.checkpoint.map(|c| c.size),
            StoredCheckpoint {
                size: out.size,
                timestamp_ms: u64::MAX / 2,
                note: note.into_bytes(),
            },
        )
        .await
        .unwrap();
}

/// A log whose checkpoint does not match its tiles' root is refused on open.
pub async fn refuses_root_mismatch<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    seq.append_batch(entries(0..10)).await.unwrap();
    drop(seq);
    forge(
        store.as_ref(),
        entries(10..12),
        entries(10..12),
        Some(Hash([9; 32])),
    )
    .await;
    let err = open(&store, &clock).await.unwrap_err();
    assert!(
        matches!(err, LogError::RootMismatch { size: 12, checkpoint, .. } if checkpoint == Hash([9; 32])),
        "{err:?}"
    );
    // The whole-log checker finds it too.
    let err = signet_log::check_log(store.as_ref(), &verifiers())
        .await
        .unwrap_err();
    assert!(
        matches!(err, signet_log::CheckError::RootMismatch { size: 12, .. }),
        "{err:?}"
    );
}

/// A log whose tiles and checkpoint agree but not with the stored entries is refused on open.
pub async fn refuses_entry_mismatch<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    seq.append_batch(entries(0..10)).await.unwrap();
    drop(seq);
    // Tiles and checkpoint agree with each other, but not with the stored entries.
    forge(store.as_ref(), entries(10..12), entries(20..22), None).await;
    let err = open(&store, &clock).await.unwrap_err();
    assert!(
        matches!(err, LogError::EntryMismatch { index: 10 }),
        "{err:?}"
    );
    let err = signet_log::check_log(store.as_ref(), &verifiers())
        .await
        .unwrap_err();
    assert!(
        matches!(err, signet_log::CheckError::RootMismatch { size: 12, .. }),
        "{err:?}"
    );
}

/// A log opened with another origin is refused.
pub async fn refuses_other_origin<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    seq.append_batch(entries(0..3)).await.unwrap();
    drop(seq);
    let mut config = config(CheckpointFormat::C2sp);
    config.origin = "example.com/another-log".into();
    let err = signet_log::Sequencer::open(
        std::sync::Arc::clone(&store),
        Box::new(signer()),
        config,
        clock.closure(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LogError::OriginMismatch { .. }), "{err:?}");
    Observer::default().verify(store.as_ref()).await;
}

/// A tree of 66 000 entries (several tile levels): proofs still verify.
pub async fn large_tree<F: Fixture>(fx: F) {
    let store = fx.store();
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut tree = MemoryTree::new();
    let total = 66_000u64;
    let mut next = 0;
    while next < total {
        let n = 2_000.min(total - next);
        let batch: Vec<Vec<u8>> = (next..next + n).map(|i| i.to_be_bytes().to_vec()).collect();
        batch.iter().for_each(|e| tree.push(hash_leaf(e)));
        seq.append_batch(batch).await.unwrap();
        next += n;
    }
    let root = tree.root();
    for i in [0, 255, 256, 65_535, 65_536, total - 1] {
        let proof = inclusion_proof(store.as_ref(), LeafIndex(i), size(total))
            .await
            .unwrap();
        verify_inclusion(
            &hash_leaf(&i.to_be_bytes()),
            LeafIndex(i),
            size(total),
            &proof,
            &root.0,
        )
        .unwrap();
    }
    let full_level1 = TileId {
        level: 1,
        index: 0,
        width: 256,
    };
    assert!(store.read_tiles(&[full_level1]).await.unwrap()[0].is_some());
    let check = signet_log::check_log(store.as_ref(), &verifiers())
        .await
        .unwrap();
    assert_eq!(check.checkpoint.root_hash, root);
}
