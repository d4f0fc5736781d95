//! Test logs (an Ed25519-signed checkpoint over a real Merkle tree), witnesses over either
//! store, and the router served on a free loopback port.

use signet_merkle::{Hash, MemoryTree, TreeSize, hash_leaf, prove_consistency};
use signet_note::{Checkpoint, Ed25519NoteSigner, NoteSignature, NoteVerifiers, sign_note};
use signet_witness::{CheckpointStore, MemoryStore, Witness};
use std::sync::Arc;

/// The witness's key name in these tests.
pub const WITNESS_NAME: &str = "witness.test/w1";
/// The witness's seed in these tests.
pub const WITNESS_SEED: [u8; 32] = [42; 32];
/// The time cosignatures are made at.
pub const NOW: u64 = 1_780_000_000;

/// A log: its key, its origin and a tree of `leaves` leaves to take checkpoints of.
pub struct Log {
    pub signer: Ed25519NoteSigner,
    pub origin: String,
    pub tree: MemoryTree,
}

impl Log {
    /// A log named `origin` with `leaves` leaves, signing with a key from `seed`.
    pub fn new(origin: &str, seed: u8, leaves: u64) -> Log {
        let tree = MemoryTree::from_leaf_hashes(
            (0..leaves).map(|i| hash_leaf(format!("{origin} leaf {i}").as_bytes())),
        );
        Log {
            signer: Ed25519NoteSigner::from_seed(origin, &[seed; 32]).unwrap(),
            origin: origin.to_owned(),
            tree,
        }
    }

    pub fn vkey(&self) -> String {
        self.signer.verifier_key()
    }

    pub fn root(&self, size: u64) -> Hash {
        self.tree.root_at(TreeSize(size)).unwrap()
    }

    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(&self.origin, TreeSize(size), self.root(size))
    }

    /// The checkpoint of `size`, signed by the log.
    pub fn note(&self, size: u64) -> Vec<u8> {
        sign_note(&self.checkpoint(size).to_text(), &[&self.signer])
            .unwrap()
            .into_bytes()
    }

    /// The consistency proof `old` → `new` (empty from 0).
    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 {
            return Vec::new();
        }
        prove_consistency(&self.tree, TreeSize(old), TreeSize(new)).unwrap()
    }

    /// The `add-checkpoint` body for `old` → `new` with a real proof.
    pub fn body(&self, old: u64, new: u64) -> Vec<u8> {
        body(old, &self.proof(old, new), &self.note(new))
    }
}

/// An `add-checkpoint` body.
pub fn body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    signet_witness::AddCheckpointRequest {
        old_size: TreeSize(old),
        proof: proof.to_vec(),
        checkpoint: note.to_vec(),
    }
    .to_bytes()
}

/// A witness of `logs` over `store`.
pub fn witness_over(store: Box<dyn CheckpointStore>, logs: &[&Log]) -> Witness {
    let vkeys: Vec<String> = logs.iter().map(|l| l.vkey()).collect();
    Witness::new(
        WITNESS_NAME,
        &WITNESS_SEED,
        vkeys.iter().map(String::as_str),
        store,
    )
    .unwrap()
}

/// A witness of `logs` in memory.
pub fn witness(logs: &[&Log]) -> Witness {
    witness_over(Box::new(MemoryStore::new()), logs)
}

/// Asserts that `signatures` is one valid cosignature/v1 line by `vkey` over `text`, made at
/// `now`.
#[track_caller]
pub fn assert_cosigned(vkey: &str, text: &str, signatures: &[NoteSignature], now: u64) {
    assert_eq!(signatures.len(), 1, "{signatures:?}");
    let verifiers = NoteVerifiers::from_vkeys([vkey]).unwrap();
    let note = format!("{text}\n{}\n", signatures[0].to_line());
    let opened = signet_note::open_note(note.as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.verified_signatures().count(), 1);
    assert_eq!(
        signet_note::CosignatureV1Verifier::timestamp(&signatures[0].signature),
        Some(now)
    );
}

/// Serves `router` on a free loopback port; its base URL. The server runs until the runtime
/// ends.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Serves `witness` with a fixed clock at [`NOW`].
pub async fn serve_witness(witness: Arc<Witness>) -> String {
    serve(signet_witness::router(
        witness,
        signet_clock::Clock::fixed(NOW * 1000),
    ))
    .await
}
