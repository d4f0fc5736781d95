//! Proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2, C2SP `merkle-tree`).
//!
//! The verifiers first work out how many hashes a proof for the given sizes must have, reject
//! any other length, and only then hash. This makes every malformed proof a precise error.

use crate::{Error, Hash, LeafIndex, TreeSize, hash_children};

/// Checks that `leaf_hash` is the leaf at `index` in the tree of `size` leaves whose root is
/// `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
    root: &[u8],
) -> Result<(), Error> {
    let calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if calculated.0 != root {
        return Err(Error::RootMismatch { calculated });
    }
    Ok(())
}

/// Computes the root implied by an inclusion proof, checking its length for the sizes given.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
) -> Result<Hash, Error> {
    let (index, size) = (index.0, size.0);
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_shape(index, size);
    let want = inner + border;
    if proof.len() != want {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let hash = chain_inner(*leaf_hash, inner_part, index);
    Ok(chain_border_right(hash, border_part))
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2`.
///
/// A proof from the empty tree is rejected ([`Error::EmptyOldTree`]), even to another empty
/// tree, as is any proof between
/// equal sizes that is not empty. Roots are compared as bytes: for equal sizes they need not
/// even be 32 bytes long, only equal.
pub fn verify_consistency(
    size1: TreeSize,
    size2: TreeSize,
    root1: &[u8],
    root2: &[u8],
    proof: &[Hash],
) -> Result<(), Error> {
    let (size1, size2) = (size1.0, size2.0);
    if size2 < size1 {
        return Err(Error::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(Error::EmptyOldTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if root1 != root2 {
            return Err(Error::SameSizeRootsDiffer { size: size1 });
        }
        return Ok(());
    }
    // The proof is an inclusion proof of the last leaf of the old tree in the new tree, with
    // the levels in which that leaf is a right child of a complete old subtree cut off.
    let (mut inner, border) = inclusion_shape(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    inner = inner.saturating_sub(shift);
    // If the old tree is a perfect tree its root is the seed and is not repeated in the proof.
    let old_is_perfect = size1 == 1u64 << shift;
    let start = usize::from(!old_is_perfect);
    let want = start + inner + border;
    if proof.len() != want {
        return Err(Error::ProofLength {
            got: proof.len(),
            want,
        });
    }
    let (seed, rest) = if old_is_perfect {
        (Hash::from_slice(root1)?, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(Error::ProofLength { got: 0, want }),
        }
    };
    let (inner_part, border_part) = rest.split_at(inner);
    let mask = (size1 - 1) >> shift;

    let hash1 = chain_border_right(chain_inner_right(seed, inner_part, mask), border_part);
    if hash1.0 != root1 {
        return Err(Error::RootMismatch { calculated: hash1 });
    }
    let hash2 = chain_border_right(chain_inner(seed, inner_part, mask), border_part);
    if hash2.0 != root2 {
        return Err(Error::RootMismatch { calculated: hash2 });
    }
    Ok(())
}

/// Splits the inclusion proof of `index` in a tree of `size` leaves (index < size) into the
/// levels below the point where the leaf's path leaves the tree's right border ("inner") and
/// the levels on that border ("border"), where only left siblings exist.
pub(crate) fn inclusion_shape(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index.checked_shr(inner as u32).unwrap_or(0)).count_ones() as usize;
    (inner, border)
}

/// Hashes up through the inner levels: siblings go left or right by the bits of `index`.
fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof
        .iter()
        .enumerate()
        .fold(seed, |acc, (level, sibling)| {
            if (index >> level) & 1 == 0 {
                hash_children(&acc, sibling)
            } else {
                hash_children(sibling, &acc)
            }
        })
}

/// Like [`chain_inner`] but only uses the left siblings: the path of the old tree's root.
fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof
        .iter()
        .enumerate()
        .fold(seed, |acc, (level, sibling)| {
            if (index >> level) & 1 == 1 {
                hash_children(sibling, &acc)
            } else {
                acc
            }
        })
}

/// Hashes up the right border, where every sibling is on the left.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof
        .iter()
        .fold(seed, |acc, sibling| hash_children(sibling, &acc))
}
