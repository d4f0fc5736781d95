//! Every vector in `../shared/testdata/merkle/` (transparency-dev/merkle), one test per file.
//! Files with `wantErr: true` must be rejected, the others accepted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rstest::rstest;
use serde::Deserialize;
use signet_merkle::{
    Hash, LeafIndex, Subtree, TreeSize, hash_children, hash_leaf, verify_consistency,
    verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};
use std::path::{Path, PathBuf};

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("vector base64")
}

/// Decodes a proof; an element that is not a 32-byte hash makes the proof unusable, which the
/// callers count as a rejection.
fn proof(list: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    list.iter()
        .flatten()
        .map(|h| Hash::from_slice(&b64(h)).ok())
        .collect()
}

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[rstest]
fn inclusion(#[files("../../../shared/testdata/merkle/inclusion/**/*.json")] path: PathBuf) {
    let v: Inclusion = load(&path);
    let result = match (Hash::from_slice(&b64(&v.leaf_hash)), proof(&v.proof)) {
        (Ok(leaf), Some(p)) => verify_inclusion(
            &leaf,
            LeafIndex(v.leaf_idx),
            TreeSize(v.tree_size),
            &p,
            &b64(&v.root),
        )
        .map_err(|e| e.to_string()),
        _ => Err("undecodable hash".into()),
    };
    assert_eq!(
        result.is_err(),
        v.want_err,
        "{}: {result:?}",
        path.display()
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[rstest]
fn consistency(#[files("../../../shared/testdata/merkle/consistency/**/*.json")] path: PathBuf) {
    let v: Consistency = load(&path);
    let result = match proof(&v.proof) {
        Some(p) => verify_consistency(
            TreeSize(v.size1),
            TreeSize(v.size2),
            &b64(&v.root1),
            &b64(&v.root2),
            &p,
        )
        .map_err(|e| e.to_string()),
        None => Err("undecodable hash".into()),
    };
    assert_eq!(
        result.is_err(),
        v.want_err,
        "{}: {result:?}",
        path.display()
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubtreeInclusion {
    leaf_idx: u64,
    start: u64,
    end: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[rstest]
fn subtree_inclusion(
    #[files("../../../shared/testdata/merkle/subtreeinclusion/**/*.json")] path: PathBuf,
) {
    let v: SubtreeInclusion = load(&path);
    let subtree = Subtree {
        start: v.start,
        end: v.end,
    };
    let result = match (Hash::from_slice(&b64(&v.leaf_hash)), proof(&v.proof)) {
        (Ok(leaf), Some(p)) => {
            verify_subtree_inclusion(&leaf, LeafIndex(v.leaf_idx), subtree, &p, &b64(&v.root))
                .map_err(|e| e.to_string())
        }
        _ => Err("undecodable hash".into()),
    };
    assert_eq!(
        result.is_err(),
        v.want_err,
        "{}: {result:?}",
        path.display()
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubtreeConsistency {
    start: u64,
    end: u64,
    size: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[rstest]
fn subtree_consistency(
    #[files("../../../shared/testdata/merkle/subtreeconsistency/**/*.json")] path: PathBuf,
) {
    let v: SubtreeConsistency = load(&path);
    let subtree = Subtree {
        start: v.start,
        end: v.end,
    };
    let result = match proof(&v.proof) {
        Some(p) => verify_subtree_consistency(
            subtree,
            TreeSize(v.size),
            &b64(&v.root1),
            &b64(&v.root2),
            &p,
        )
        .map_err(|e| e.to_string()),
        None => Err("undecodable hash".into()),
    };
    assert_eq!(
        result.is_err(),
        v.want_err,
        "{}: {result:?}",
        path.display()
    );
}

#[derive(Deserialize)]
struct HasherVectors {
    empty_root: HexWant,
    leaf_hashes: Vec<LeafVector>,
    node_hashes: Vec<NodeVector>,
}
#[derive(Deserialize)]
struct HexWant {
    want_hex: String,
}
#[derive(Deserialize)]
struct LeafVector {
    leaf_hex: String,
    want_hex: String,
}
#[derive(Deserialize)]
struct NodeVector {
    left_hex: String,
    right_hex: String,
    want_hex: String,
}

#[test]
fn rfc6962_hasher() {
    let v: HasherVectors = load(&signet_testdata::path("merkle/rfc6962-hasher.json"));
    assert_eq!(
        signet_merkle::EMPTY_ROOT.0.to_vec(),
        hex(&v.empty_root.want_hex)
    );
    assert_eq!(v.leaf_hashes.len(), 2);
    for leaf in &v.leaf_hashes {
        assert_eq!(
            hash_leaf(&hex(&leaf.leaf_hex)).0.to_vec(),
            hex(&leaf.want_hex)
        );
    }
    // The node vector hashes raw 4-byte strings rather than 32-byte hashes; check the
    // construction `SHA-256(0x01 || left || right)` with the same bytes.
    for node in &v.node_hashes {
        let mut raw = vec![1u8];
        raw.extend(hex(&node.left_hex));
        raw.extend(hex(&node.right_hex));
        assert_eq!(sha256(&raw), hex(&node.want_hex));
    }
    // And the 32-byte form agrees with that definition.
    let (l, r) = (hash_leaf(b"l"), hash_leaf(b"r"));
    let mut raw = vec![1u8];
    raw.extend(l.0);
    raw.extend(r.0);
    assert_eq!(hash_children(&l, &r).0.to_vec(), sha256(&raw));
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}
