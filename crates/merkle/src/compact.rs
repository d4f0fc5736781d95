//! The compact range: what an append-only sequencer must remember to keep extending a tree.

use crate::prove::fold_right;
use crate::{Error, Hash, NodeId, NodeReader, TreeSize, hash_children, perfect_nodes_of_range};

/// The right edge of a tree: the roots of the perfect subtrees that make up `[0, size)`,
/// largest first. It has one hash per set bit of the size, so at most 64.
///
/// Appending a leaf completes zero or more new nodes; [`CompactRange::append`] hands each to a
/// visitor so the caller can store them (as tiles, rows, ...). The range itself never does I/O.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a range from its peaks, which must be the hashes of
    /// [`CompactRange::peak_nodes`]`(size)`, in order.
    pub fn from_peaks(size: TreeSize, peaks: Vec<Hash>) -> Result<Self, Error> {
        let want = size.0.count_ones() as usize;
        if peaks.len() != want {
            return Err(Error::ProofLength {
                got: peaks.len(),
                want,
            });
        }
        Ok(CompactRange {
            size: size.0,
            peaks,
        })
    }

    /// Rebuilds the range of the tree of `size` leaves from stored nodes.
    pub fn from_reader<R: NodeReader>(reader: &R, size: TreeSize) -> Result<Self, R::Error> {
        let peaks = reader.read_nodes(&Self::peak_nodes(size))?;
        Ok(CompactRange {
            size: size.0,
            peaks,
        })
    }

    /// The nodes whose hashes make up the range of a tree of `size` leaves.
    pub fn peak_nodes(size: TreeSize) -> Vec<NodeId> {
        perfect_nodes_of_range(0, size.0)
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// The peak hashes, largest subtree first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Root hash of the tree so far (the empty-tree hash when nothing was appended).
    pub fn root(&self) -> Hash {
        fold_right(&self.peaks)
    }

    /// Appends a leaf hash. `visit` is called with the leaf's node and then with every node
    /// that the leaf completes, lowest first.
    pub fn append(
        &mut self,
        leaf_hash: Hash,
        mut visit: impl FnMut(NodeId, &Hash),
    ) -> Result<(), Error> {
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(Error::SizeTooLarge { size: self.size })?;
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf_hash;
        visit(NodeId { level, index }, &hash);
        while index & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Cannot happen: a set low bit of the size means a peak of that level exists.
                return Err(Error::SizeTooLarge { size: self.size });
            };
            hash = hash_children(&left, &hash);
            index >>= 1;
            level += 1;
            visit(NodeId { level, index }, &hash);
        }
        self.peaks.push(hash);
        self.size = new_size;
        Ok(())
    }
}
