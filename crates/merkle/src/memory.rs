//! A whole tree in memory: for tests, tools and small logs.

use crate::{CompactRange, Hash, NodeId, NodeReader, TreeSize, tree_root};

/// Every perfect-subtree hash of a tree, kept in memory (about two hashes per leaf).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of node (l, i).
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

/// A node that a [`MemoryTree`] does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tree node at level {} index {} is not stored", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a tree from leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash.
    ///
    /// # Panics
    /// When the tree already holds `u64::MAX` leaves, which memory makes impossible.
    pub fn push(&mut self, leaf_hash: Hash) {
        let levels = &mut self.levels;
        #[allow(clippy::expect_used)]
        self.range
            .append(leaf_hash, |node, hash| {
                let level = usize::from(node.level);
                if levels.len() <= level {
                    levels.resize_with(level + 1, Vec::new);
                }
                if let Some(row) = levels.get_mut(level) {
                    row.push(*hash);
                }
            })
            .expect("a memory tree cannot hold 2^64 leaves");
    }

    /// Number of leaves.
    pub fn size(&self) -> TreeSize {
        self.range.size()
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// Root of the first `size` leaves, or `None` if the tree is smaller.
    pub fn root_at(&self, size: TreeSize) -> Option<Hash> {
        if size > self.size() {
            return None;
        }
        tree_root(self, size).ok()
    }

    /// The stored hash of one node.
    pub fn node(&self, node: NodeId) -> Option<Hash> {
        let index = usize::try_from(node.index).ok()?;
        self.levels
            .get(usize::from(node.level))?
            .get(index)
            .copied()
    }
}

impl NodeReader for MemoryTree {
    type Error = MissingNode;

    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        nodes
            .iter()
            .map(|&n| self.node(n).ok_or(MissingNode(n)))
            .collect()
    }
}
