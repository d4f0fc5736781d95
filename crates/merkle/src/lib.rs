//! Merkle tree math for transparency logs, as specified by RFC 6962 §2.1, RFC 9162 §2.1 and
//! C2SP `merkle-tree`.
//!
//! This crate is pure: it does no I/O, reads no clock and holds no global state. Stored hashes
//! come in through the [`NodeReader`] trait, so the same proof code runs over an in-memory tree, a
//! database or C2SP hash tiles (see the `signet-tiles` crate).
//!
//! What it offers:
//! - hashing: [`hash_leaf`], [`hash_children`], [`EMPTY_ROOT`];
//! - verification: [`verify_inclusion`], [`verify_consistency`], and the subtree proofs of
//!   Merkle Tree Certificates ([`verify_subtree_inclusion`], [`verify_subtree_consistency`]);
//! - proof generation from stored nodes: [`prove_inclusion`], [`prove_consistency`],
//!   [`tree_root`];
//! - an append-only [`CompactRange`] that a sequencer keeps in O(log n) memory.
//!
//! ```
//! use signet_merkle::{hash_leaf, MemoryTree, LeafIndex, TreeSize, prove_inclusion, verify_inclusion};
//!
//! let mut tree = MemoryTree::new();
//! for entry in [b"one".as_slice(), b"two", b"three"] {
//!     tree.push(hash_leaf(entry));
//! }
//! let size = TreeSize(3);
//! let root = tree.root();
//! let proof = prove_inclusion(&tree, LeafIndex(1), size).unwrap();
//! verify_inclusion(&hash_leaf(b"two"), LeafIndex(1), size, &proof, &root.0).unwrap();
//! ```
#![forbid(unsafe_code)]

mod compact;
mod error;
mod hash;
mod memory;
mod node;
mod prove;
mod subtree;
mod verify;

pub use compact::CompactRange;
pub use error::Error;
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, hash_children, hash_leaf};
pub use memory::MemoryTree;
pub use node::{LeafIndex, NodeId, NodeReader, TreeSize, perfect_nodes_of_range};
pub use prove::{
    ProveError, hash_of_range, prove_consistency, prove_inclusion, prove_subtree_consistency,
    prove_subtree_inclusion, tree_root,
};
pub use subtree::{Subtree, verify_subtree_consistency, verify_subtree_inclusion};
pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

/// Entry points for fuzz targets (see `fuzz/` at the workspace root). Not part of the API.
#[doc(hidden)]
pub mod fuzz {
    use crate::{Hash, LeafIndex, TreeSize, verify_consistency, verify_inclusion};

    /// Feeds arbitrary bytes to the proof verifiers; they must return, never panic.
    pub fn verify_proofs(data: &[u8]) {
        let mut words = data.chunks_exact(8).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_be_bytes(b)
        });
        let a = words.next().unwrap_or(0);
        let b = words.next().unwrap_or(0);
        let rest = data.get(16..).unwrap_or_default();
        let mut hashes = rest.chunks(32).map(|c| {
            let mut h = [0u8; 32];
            for (d, s) in h.iter_mut().zip(c) {
                *d = *s;
            }
            Hash(h)
        });
        let leaf = hashes.next().unwrap_or(Hash([0; 32]));
        let root = hashes.next().unwrap_or(Hash([0; 32]));
        let proof: Vec<Hash> = hashes.collect();
        let _ = verify_inclusion(&leaf, LeafIndex(a), TreeSize(b), &proof, &root.0);
        let _ = verify_consistency(TreeSize(a), TreeSize(b), &leaf.0, &root.0, &proof);
        let _ = crate::verify_subtree_consistency(
            crate::Subtree { start: a, end: b },
            TreeSize(b.wrapping_add(a)),
            &leaf.0,
            &root.0,
            &proof,
        );
    }
}
