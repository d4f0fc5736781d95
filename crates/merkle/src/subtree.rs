//! Subtrees and their proofs, from Merkle Tree Certificates (draft-ietf-plants-merkle-tree-certs,
//! editor's copy after -05, where empty subtrees are valid).
//!
//! A subtree `[start, end)` is the Merkle tree over those leaves alone. It is *valid* when it is
//! under a single node of the perfect binary tree: `start` is a multiple of the smallest power of
//! two that is at least `end - start`. A subtree inclusion proof is an ordinary inclusion proof
//! inside the subtree; a subtree consistency proof shows that the subtree's hash is part of a
//! larger tree (for `start == 0` it is the RFC 9162 consistency proof).

use crate::node::split_point;
use crate::{Error, Hash, LeafIndex, TreeSize, hash_children, root_from_inclusion_proof};

/// The leaves `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subtree {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

impl Subtree {
    /// Whether the range is a valid subtree (empty ranges are valid).
    ///
    /// Written to avoid computing the power of two, which overflows for `end - start > 2^63`.
    pub fn is_valid(&self) -> bool {
        if self.end < self.start {
            return false;
        }
        if self.start == self.end || self.start == 0 {
            return true;
        }
        ((self.end - self.start - 1) >> self.start.trailing_zeros()) == 0
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the subtree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn invalid(&self, size: Option<u64>) -> Error {
        Error::InvalidSubtree {
            start: self.start,
            end: self.end,
            size,
        }
    }

    /// Checks validity and that the subtree lies within a tree of `size` leaves.
    pub(crate) fn check_in_tree(&self, size: u64) -> Result<(), Error> {
        if !self.is_valid() || self.end > size {
            return Err(self.invalid(Some(size)));
        }
        Ok(())
    }
}

/// Checks that `leaf_hash` is leaf `index` of `subtree`, whose hash is `subtree_root`.
pub fn verify_subtree_inclusion(
    leaf_hash: &Hash,
    index: LeafIndex,
    subtree: Subtree,
    proof: &[Hash],
    subtree_root: &[u8],
) -> Result<(), Error> {
    if !subtree.is_valid() {
        return Err(subtree.invalid(None));
    }
    if index.0 < subtree.start || index.0 >= subtree.end {
        return Err(Error::IndexOutOfRange {
            index: index.0,
            size: subtree.end,
        });
    }
    let calculated = root_from_inclusion_proof(
        leaf_hash,
        LeafIndex(index.0 - subtree.start),
        TreeSize(subtree.len()),
        proof,
    )?;
    if calculated.0 != subtree_root {
        return Err(Error::RootMismatch { calculated });
    }
    Ok(())
}

/// Checks that `subtree`, whose hash is `subtree_root`, is part of the tree of `size` leaves
/// whose root is `tree_root`.
///
/// An empty subtree needs an empty proof and the empty-tree hash, and says nothing about the
/// tree. Roots are compared as bytes and never length-checked.
pub fn verify_subtree_consistency(
    subtree: Subtree,
    size: TreeSize,
    subtree_root: &[u8],
    tree_root: &[u8],
    proof: &[Hash],
) -> Result<(), Error> {
    subtree.check_in_tree(size.0)?;
    if subtree.is_empty() {
        if !proof.is_empty() {
            return Err(Error::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if subtree_root != crate::EMPTY_ROOT.0 {
            return Err(Error::RootMismatch {
                calculated: crate::EMPTY_ROOT,
            });
        }
        return Ok(());
    }
    // Walk up from the subtree's first leaf (fn), its last leaf (sn) and the tree's last leaf
    // (tn) to the highest node that both the subtree and the tree contain.
    let (mut first, mut last, mut tree_last) = (subtree.start, subtree.end - 1, size.0 - 1);
    if last == tree_last {
        while first != last {
            (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
        }
    } else {
        while first != last && last & 1 == 1 {
            (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
        }
    }
    // If that node is the subtree's own root, the proof starts above it; otherwise its first
    // hash is that node's hash.
    let seeded_by_proof = first != last;
    let want = usize::from(seeded_by_proof) + levels_above(last, tree_last);
    if proof.len() != want {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    }
    if want == 0 {
        // The subtree is the whole tree: nothing to hash, the two roots must be the same.
        if subtree_root != tree_root {
            return Err(Error::SameSizeRootsDiffer { size: size.0 });
        }
        return Ok(());
    }
    let (seed, rest) = match (seeded_by_proof, proof.split_first()) {
        (false, _) => (Hash::from_slice(subtree_root)?, proof),
        (true, Some((head, tail))) => (*head, tail),
        (true, None) => return Err(Error::ProofLength { got: 0, want }),
    };
    let (mut subtree_hash, mut tree_hash) = (seed, seed);
    for sibling in rest {
        if last & 1 == 1 || last == tree_last {
            if first < last {
                subtree_hash = hash_children(sibling, &subtree_hash);
            }
            tree_hash = hash_children(sibling, &tree_hash);
            while last & 1 == 0 && last != 0 {
                (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
            }
        } else {
            tree_hash = hash_children(&tree_hash, sibling);
        }
        (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
    }
    if subtree_hash.0 != subtree_root {
        return Err(Error::RootMismatch {
            calculated: subtree_hash,
        });
    }
    if tree_hash.0 != tree_root {
        return Err(Error::RootMismatch {
            calculated: tree_hash,
        });
    }
    Ok(())
}

/// Number of proof hashes the walk of [`verify_subtree_consistency`] consumes from the given
/// positions up to the root.
fn levels_above(mut last: u64, mut tree_last: u64) -> usize {
    let mut count = 0;
    while tree_last != 0 {
        if last & 1 == 1 || last == tree_last {
            while last & 1 == 0 && last != 0 {
                (last, tree_last) = (last >> 1, tree_last >> 1);
            }
        }
        (last, tree_last) = (last >> 1, tree_last >> 1);
        count += 1;
    }
    count
}

/// The leaf ranges of the subtree consistency proof, in proof order.
pub(crate) fn subtree_consistency_ranges(subtree: Subtree, size: u64) -> Vec<(u64, u64)> {
    if subtree.is_empty() {
        return Vec::new();
    }
    let Subtree { mut start, end } = subtree;
    let (mut lo, mut hi, mut known) = (0u64, size, true);
    let mut top_down = Vec::new();
    loop {
        if start == lo && end == hi {
            if !known {
                top_down.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if end <= lo + k {
            top_down.push((lo + k, hi));
            hi = lo + k;
        } else if start >= lo + k {
            top_down.push((lo, lo + k));
            lo += k;
        } else {
            // The subtree straddles the split, so it starts at `lo`; continue on the right
            // without knowing that part's hash.
            top_down.push((lo, lo + k));
            lo += k;
            start = lo;
            known = false;
        }
    }
    top_down.reverse();
    top_down
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        let v = |start, end| Subtree { start, end }.is_valid();
        assert!(v(0, 5));
        assert!(v(4, 8));
        assert!(v(4, 7));
        assert!(v(8, 14));
        assert!(!v(4, 9));
        assert!(!v(6, 10));
        assert!(v(3, 3));
        assert!(!v(5, 3));
        assert!(!v(1, (1 << 63) + 2));
        assert!(v(1 << 63, u64::MAX));
    }
}
