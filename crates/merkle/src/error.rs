//! The one error type of this crate.

/// Why a proof, a size or a hash was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hash was not 32 bytes long; usually a decoding mistake by the caller.
    #[error("hash is {len} bytes, want 32")]
    HashLength {
        /// The length found.
        len: usize,
    },
    /// The leaf index is not inside the tree; the proof is for another tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// The first size of a consistency proof is larger than the second.
    #[error("consistency proof from size {size1} to smaller size {size2}")]
    SizesReversed {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// A consistency proof from the empty tree was asked for; such a proof carries no information
    /// and RFC 9162 treats it as an error.
    #[error("consistency proof from an empty tree")]
    EmptyOldTree,
    /// The proof has the wrong number of hashes for the sizes claimed.
    #[error("proof has {got} hashes, want {want}")]
    ProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
    },
    /// The proof hashes to a different root than the one it was checked against.
    #[error("calculated root {calculated} does not match the expected root")]
    RootMismatch {
        /// Root computed from the proof.
        calculated: crate::Hash,
    },
    /// The two roots of an equal-size consistency check differ: the log forked.
    #[error("trees of the same size {size} have different roots")]
    SameSizeRootsDiffer {
        /// The tree size.
        size: u64,
    },
    /// A subtree `[start, end)` that is not a node of any Merkle tree (empty, misaligned or past
    /// the tree).
    #[error("[{start}, {end}) is not a valid subtree{}", if let Some(size) = .size { format!(" of a tree of size {size}") } else { String::new() })]
    InvalidSubtree {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
        /// The tree size, when the subtree was checked against one.
        size: Option<u64>,
    },
    /// A size or index was so large that arithmetic on it would overflow.
    #[error("tree size {size} is too large")]
    SizeTooLarge {
        /// The size.
        size: u64,
    },
}
