//! Addressing of tree nodes and the trait through which stored node hashes are read.

use crate::Hash;

/// Position of a leaf in the log, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeafIndex(pub u64);

/// Number of leaves in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TreeSize(pub u64);

impl std::fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TreeSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A perfect subtree: the node at `level` (0 = leaves) whose leaves are
/// `[index << level, (index + 1) << level)`. Every such node's hash never changes once the
/// tree has grown past its last leaf, which is what makes it storable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf hash.
    pub level: u8,
    /// Index among the nodes of that level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node of a leaf.
    pub fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// First leaf covered by this node, or `None` if it does not fit in a `u64`.
    pub fn first_leaf(&self) -> Option<u64> {
        self.index
            .checked_shl(u32::from(self.level))
            .filter(|first| first >> self.level == self.index)
    }
}

/// Reads the hashes of perfect subtrees from wherever they are kept.
///
/// Contract: `read_nodes` returns exactly one hash per requested node, in the order requested,
/// or an error; it never returns a partial answer. The reader is built for one tree size and
/// may refuse nodes beyond it. Implementations may be called from several threads if they are
/// `Sync`; this crate never calls them concurrently itself.
pub trait NodeReader {
    /// What went wrong while reading (missing node, storage failure).
    type Error;

    /// Returns the hashes of `nodes`, in order.
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_nodes(nodes)
    }
}

/// Splits the leaf range `[begin, end)` into the fewest perfect subtrees, left to right.
///
/// For a range that starts at a multiple of a power of two at least its length (every range a
/// proof refers to), folding these nodes right to left gives the RFC 6962 hash of the range.
pub fn perfect_nodes_of_range(begin: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut begin = begin;
    while begin < end {
        let align = if begin == 0 {
            63
        } else {
            begin.trailing_zeros()
        };
        let fit = 63 - (end - begin).leading_zeros();
        let level = align.min(fit);
        nodes.push(NodeId {
            level: level as u8,
            index: begin >> level,
        });
        begin += 1u64 << level;
    }
    nodes
}

/// Largest power of two strictly smaller than `n`; `n` must be at least 2.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_decomposition() {
        let ids = |b, e| {
            perfect_nodes_of_range(b, e)
                .into_iter()
                .map(|n| (n.level, n.index))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(0, 7), vec![(2, 0), (1, 2), (0, 6)]);
        assert_eq!(ids(4, 7), vec![(1, 2), (0, 6)]);
        assert_eq!(ids(3, 8), vec![(0, 3), (2, 1)]);
        assert_eq!(ids(0, 0), vec![]);
        assert_eq!(ids(0, 1 << 40), vec![(40, 0)]);
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }
}
