//! Proof generation from stored perfect-subtree hashes (RFC 6962 §2.1.1 PATH and §2.1.2
//! SUBPROOF).
//!
//! Each proof element is the hash of a leaf range. A range is split into perfect subtrees
//! ([`perfect_nodes_of_range`]); all nodes of all elements are read in one
//! [`NodeReader::read_nodes`] call and then folded. Nothing but those O(log² n) hashes is read.

use crate::node::split_point;
use crate::{EMPTY_ROOT, perfect_nodes_of_range};
use crate::{Error, Hash, LeafIndex, NodeId, NodeReader, Subtree, TreeSize, hash_children};

/// A proof could not be built: either the request was invalid or the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError<E> {
    /// The indexes or sizes asked for do not describe a proof.
    #[error(transparent)]
    Invalid(#[from] Error),
    /// The node reader failed (missing node, I/O error).
    #[error("reading stored tree nodes: {0}")]
    Read(E),
}

/// Builds the inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn prove_inclusion<R: NodeReader>(
    reader: &R,
    index: LeafIndex,
    size: TreeSize,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    let (index, size) = (index.0, size.0);
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size }.into());
    }
    hash_ranges(reader, &inclusion_ranges(index, 0, size))
}

/// Builds the consistency proof from the tree of `size1` leaves to the tree of `size2` leaves.
///
/// Equal sizes give an empty proof; `size1 == 0` is an error, as in [`crate::verify_consistency`].
pub fn prove_consistency<R: NodeReader>(
    reader: &R,
    size1: TreeSize,
    size2: TreeSize,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    let (size1, size2) = (size1.0, size2.0);
    if size2 < size1 {
        return Err(Error::SizesReversed { size1, size2 }.into());
    }
    if size1 == 0 {
        return Err(Error::EmptyOldTree.into());
    }
    if size1 == size2 {
        return Ok(Vec::new());
    }
    hash_ranges(reader, &consistency_ranges(size1, 0, size2, true))
}

/// Builds the proof that leaf `index` is in `subtree` (Merkle Tree Certificates, subtree
/// inclusion proof): the ordinary inclusion proof inside that subtree.
pub fn prove_subtree_inclusion<R: NodeReader>(
    reader: &R,
    index: LeafIndex,
    subtree: Subtree,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if index.0 < subtree.start || index.0 >= subtree.end {
        return Err(Error::IndexOutOfRange {
            index: index.0,
            size: subtree.end,
        }
        .into());
    }
    hash_ranges(
        reader,
        &inclusion_ranges(index.0, subtree.start, subtree.end),
    )
}

/// Builds the proof that `subtree` is part of the tree of `size` leaves (Merkle Tree
/// Certificates, subtree consistency proof).
pub fn prove_subtree_consistency<R: NodeReader>(
    reader: &R,
    subtree: Subtree,
    size: TreeSize,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    subtree.check_in_tree(size.0)?;
    hash_ranges(
        reader,
        &crate::subtree::subtree_consistency_ranges(subtree, size.0),
    )
}

/// Root of the tree of `size` leaves.
pub fn tree_root<R: NodeReader>(reader: &R, size: TreeSize) -> Result<Hash, R::Error> {
    if size.0 == 0 {
        return Ok(EMPTY_ROOT);
    }
    hash_of_range(reader, 0, size.0)
}

/// RFC 6962 hash of the leaves `[begin, end)` (non-empty), for a range that starts at a
/// multiple of a power of two no smaller than its length.
pub fn hash_of_range<R: NodeReader>(reader: &R, begin: u64, end: u64) -> Result<Hash, R::Error> {
    let nodes = perfect_nodes_of_range(begin, end);
    let hashes = reader.read_nodes(&nodes)?;
    Ok(fold_right(&hashes))
}

/// Folds perfect-subtree hashes, given left to right, into the hash of their union.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, left| hash_children(left, &acc))
}

/// Reads the nodes of every range at once and returns each range's hash, in order.
fn hash_ranges<R: NodeReader>(
    reader: &R,
    ranges: &[(u64, u64)],
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    let per_range: Vec<Vec<NodeId>> = ranges
        .iter()
        .map(|&(b, e)| perfect_nodes_of_range(b, e))
        .collect();
    let all: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let hashes = reader.read_nodes(&all).map_err(ProveError::Read)?;
    let mut rest = hashes.as_slice();
    let mut out = Vec::with_capacity(ranges.len());
    for nodes in &per_range {
        let Some((these, tail)) = rest.split_at_checked(nodes.len()) else {
            // The reader broke its contract by returning too few hashes.
            return Err(ProveError::Invalid(Error::ProofLength {
                got: hashes.len(),
                want: all.len(),
            }));
        };
        out.push(fold_right(these));
        rest = tail;
    }
    Ok(out)
}

/// The leaf ranges whose hashes form the inclusion proof of `index` in the tree over
/// `[lo, hi)`, in proof order (leaf to root).
pub(crate) fn inclusion_ranges(index: u64, lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (lo, hi);
    let mut top_down = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            top_down.push((lo + k, hi));
            hi = lo + k;
        } else {
            top_down.push((lo, lo + k));
            lo += k;
        }
    }
    top_down.reverse();
    top_down
}

/// The leaf ranges of SUBPROOF(m, D[lo:hi], complete), in proof order.
pub(crate) fn consistency_ranges(m: u64, lo: u64, hi: u64, complete: bool) -> Vec<(u64, u64)> {
    let (mut m, mut lo, mut hi, mut complete) = (m, lo, hi, complete);
    let mut top_down = Vec::new();
    loop {
        if m == hi - lo {
            if !complete {
                top_down.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if m <= k {
            top_down.push((lo + k, hi));
            hi = lo + k;
        } else {
            top_down.push((lo, lo + k));
            m -= k;
            lo += k;
            complete = false;
        }
    }
    top_down.reverse();
    top_down
}
