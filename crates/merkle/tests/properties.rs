//! Property tests: every generated proof verifies, every corrupted one does not, incremental
//! and batch construction agree, and the index arithmetic holds for trees up to 2^40 leaves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use signet_merkle::*;
use std::sync::OnceLock;

/// RFC 6962 §2.1 MTH, written from the definition, as the reference for everything else.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            hash_children(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn leaf(i: u64) -> Hash {
    hash_leaf(&i.to_be_bytes())
}

fn tree_256() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| MemoryTree::from_leaf_hashes((0..256).map(leaf)))
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(leaf).collect()
}

#[test]
fn roots_match_reference_for_every_size_up_to_256() {
    let tree = tree_256();
    let all = leaves(256);
    let mut range = CompactRange::new();
    assert_eq!(range.root(), EMPTY_ROOT);
    for n in 1..=256u64 {
        range.append(leaf(n - 1), |_, _| {}).unwrap();
        let want = reference_root(&all[..n as usize]);
        assert_eq!(
            tree.root_at(TreeSize(n)),
            Some(want),
            "memory tree, size {n}"
        );
        assert_eq!(range.root(), want, "compact range, size {n}");
        // A range rebuilt from stored nodes equals the incrementally built one.
        assert_eq!(CompactRange::from_reader(tree, TreeSize(n)).unwrap(), range);
    }
}

#[test]
fn every_inclusion_proof_up_to_256_verifies() {
    let tree = tree_256();
    for n in 1..=256u64 {
        let root = tree.root_at(TreeSize(n)).unwrap();
        for i in 0..n {
            let proof = prove_inclusion(tree, LeafIndex(i), TreeSize(n)).unwrap();
            verify_inclusion(&leaf(i), LeafIndex(i), TreeSize(n), &proof, &root.0)
                .unwrap_or_else(|e| panic!("({i}, {n}): {e}"));
            // The same proof does not prove a neighbour.
            if n > 1 {
                let j = (i + 1) % n;
                assert!(
                    verify_inclusion(&leaf(j), LeafIndex(j), TreeSize(n), &proof, &root.0).is_err()
                );
            }
        }
        assert!(prove_inclusion(tree, LeafIndex(n), TreeSize(n)).is_err());
    }
}

#[test]
fn every_consistency_proof_up_to_256_verifies() {
    let tree = tree_256();
    let roots: Vec<Hash> = (0..=256)
        .map(|n| tree.root_at(TreeSize(n)).unwrap())
        .collect();
    for n in 1..=256u64 {
        for m in 1..=n {
            let proof = prove_consistency(tree, TreeSize(m), TreeSize(n)).unwrap();
            let (r1, r2) = (&roots[m as usize], &roots[n as usize]);
            verify_consistency(TreeSize(m), TreeSize(n), &r1.0, &r2.0, &proof)
                .unwrap_or_else(|e| panic!("({m}, {n}): {e}"));
            if m < n {
                // Swapped roots never verify.
                assert!(
                    verify_consistency(TreeSize(m), TreeSize(n), &r2.0, &r1.0, &proof).is_err()
                );
            }
        }
        assert!(prove_consistency(tree, TreeSize(0), TreeSize(n)).is_err());
    }
}

#[test]
fn every_subtree_proof_up_to_64_verifies() {
    let tree = tree_256();
    let all = leaves(64);
    for n in 1..=64u64 {
        let root = tree.root_at(TreeSize(n)).unwrap();
        for start in 0..n {
            for end in start + 1..=n {
                let subtree = Subtree { start, end };
                if !subtree.is_valid() {
                    assert!(prove_subtree_consistency(tree, subtree, TreeSize(n)).is_err());
                    continue;
                }
                let sub_root = reference_root(&all[start as usize..end as usize]);
                assert_eq!(hash_of_range(tree, start, end).unwrap(), sub_root);
                let proof = prove_subtree_consistency(tree, subtree, TreeSize(n)).unwrap();
                verify_subtree_consistency(subtree, TreeSize(n), &sub_root.0, &root.0, &proof)
                    .unwrap_or_else(|e| panic!("[{start}, {end}) in {n}: {e}"));
                for i in start..end {
                    let proof = prove_subtree_inclusion(tree, LeafIndex(i), subtree).unwrap();
                    verify_subtree_inclusion(&leaf(i), LeafIndex(i), subtree, &proof, &sub_root.0)
                        .unwrap_or_else(|e| panic!("{i} in [{start}, {end}): {e}"));
                }
            }
        }
    }
}

/// Flips every bit of `bytes`, one at a time, and checks that `check` rejects each variant.
fn every_bit_flip_rejected(bytes: &[u8], check: impl Fn(&[u8]) -> bool) {
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(!check(&flipped), "bit {bit} flipped still verifies");
    }
}

fn flip_proof_bits(proof: &[Hash], check: impl Fn(&[Hash]) -> bool) {
    for k in 0..proof.len() {
        every_bit_flip_rejected(&proof[k].0, |bytes| {
            let mut p = proof.to_vec();
            p[k] = Hash::from_slice(bytes).unwrap();
            check(&p)
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn inclusion_bit_flips_are_rejected(n in 1u64..=256, i_seed in any::<u64>()) {
        let tree = tree_256();
        let i = i_seed % n;
        let size = TreeSize(n);
        let root = tree.root_at(size).unwrap();
        let proof = prove_inclusion(tree, LeafIndex(i), size).unwrap();
        let ok = |l: &Hash, p: &[Hash], r: &[u8]| verify_inclusion(l, LeafIndex(i), size, p, r).is_ok();
        prop_assert!(ok(&leaf(i), &proof, &root.0));
        every_bit_flip_rejected(&leaf(i).0, |b| ok(&Hash::from_slice(b).unwrap(), &proof, &root.0));
        every_bit_flip_rejected(&root.0, |b| ok(&leaf(i), &proof, b));
        flip_proof_bits(&proof, |p| ok(&leaf(i), p, &root.0));
        // Dropping or adding a hash is rejected too.
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(!ok(&leaf(i), shorter, &root.0));
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(!ok(&leaf(i), &longer, &root.0));
    }

    #[test]
    fn consistency_bit_flips_are_rejected(n in 2u64..=256, m_seed in any::<u64>()) {
        let tree = tree_256();
        let m = 1 + m_seed % (n - 1);
        let (s1, s2) = (TreeSize(m), TreeSize(n));
        let (r1, r2) = (tree.root_at(s1).unwrap(), tree.root_at(s2).unwrap());
        let proof = prove_consistency(tree, s1, s2).unwrap();
        let ok = |a: &[u8], b: &[u8], p: &[Hash]| verify_consistency(s1, s2, a, b, p).is_ok();
        prop_assert!(ok(&r1.0, &r2.0, &proof));
        every_bit_flip_rejected(&r1.0, |b| ok(b, &r2.0, &proof));
        every_bit_flip_rejected(&r2.0, |b| ok(&r1.0, b, &proof));
        flip_proof_bits(&proof, |p| ok(&r1.0, &r2.0, p));
    }
}

/// A virtual tree of up to 2^63 leaves in which every leaf is the same hash except one, at
/// `special`. Node hashes are computed on demand in O(level), so proofs for huge trees can be
/// generated and checked, and a proof is only valid for the special leaf at its true position.
struct SparseTree {
    special: u64,
    special_hash: Hash,
    uniform: Vec<Hash>,
}

impl SparseTree {
    fn new(special: u64) -> Self {
        let mut uniform = vec![hash_leaf(b"filler")];
        for l in 1..64 {
            let below = uniform[l - 1];
            uniform.push(hash_children(&below, &below));
        }
        SparseTree {
            special,
            special_hash: hash_leaf(b"special"),
            uniform,
        }
    }

    fn node(&self, level: u8, index: u64) -> Hash {
        let first = index << level;
        let contains = self.special >> level == index;
        if !contains || first > self.special {
            return self.uniform[usize::from(level)];
        }
        if level == 0 {
            return self.special_hash;
        }
        hash_children(
            &self.node(level - 1, 2 * index),
            &self.node(level - 1, 2 * index + 1),
        )
    }
}

impl NodeReader for SparseTree {
    type Error = std::convert::Infallible;
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        Ok(nodes.iter().map(|n| self.node(n.level, n.index)).collect())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn huge_trees_prove_and_verify(n in 1u64..(1 << 40), special_seed in any::<u64>(), m_seed in any::<u64>()) {
        let special = special_seed % n;
        let tree = SparseTree::new(special);
        let size = TreeSize(n);
        let root = tree_root(&tree, size).unwrap();
        let proof = prove_inclusion(&tree, LeafIndex(special), size).unwrap();
        prop_assert!(proof.len() <= 40);
        verify_inclusion(&tree.special_hash, LeafIndex(special), size, &proof, &root.0).unwrap();
        for wrong in [special.wrapping_sub(1), special + 1, special ^ 0x100] {
            if wrong < n && wrong != special {
                prop_assert!(verify_inclusion(&tree.special_hash, LeafIndex(wrong), size, &proof, &root.0).is_err());
            }
        }

        let m = 1 + m_seed % n;
        let old_root = tree_root(&tree, TreeSize(m)).unwrap();
        let proof = prove_consistency(&tree, TreeSize(m), size).unwrap();
        verify_consistency(TreeSize(m), size, &old_root.0, &root.0, &proof).unwrap();
        if m < n {
            prop_assert!(verify_consistency(TreeSize(m), size, &root.0, &old_root.0, &proof).is_err());
        }
    }
}
