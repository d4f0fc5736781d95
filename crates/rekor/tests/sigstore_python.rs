//! Interop with sigstore-python 4.5.1 (`SIGNET_SIGSTORE_PYTHON`, the venv python
//! `scripts/ensure-sigstore-python` prints): the requests its clients build are accepted, and its
//! models parse our responses and compute the same SET payload. Skipped, with a note, without
//! it, unless `SIGNET_REQUIRE_DIFFERENTIAL=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};
use signet_formats::InclusionProof;
use signet_rekor::{
    EcdsaP256EntrySigner, EntryId, EntrySigner, LogEntry, LogEntryAnon, SearchKey,
    V1InclusionProof, canonicalize_create_entry_request, canonicalize_proposed_entry, set_payload,
    transparency_log_entry_json, v2_transparency_log_entry,
};
use signet_testkit::tools::sigstore_python as python;

fn run(python: &PathBuf, script: &str, stdin: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sigstore_python")
        .join(script);
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sigstore_python_requests_and_responses() {
    let Some(python) = python() else {
        eprintln!("skipped: no sigstore-python venv; run scripts/ensure-sigstore-python");
        return;
    };
    let requests = run(&python, "make_requests.py", "");
    let bytes = |name: &str| serde_json::to_vec(&requests[name]).unwrap();

    // 1. What its clients send is accepted.
    let hashed_v1 = canonicalize_proposed_entry(&bytes("hashedrekord_v1")).unwrap();
    let dsse_v1 = canonicalize_proposed_entry(&bytes("dsse_v1")).unwrap();
    let hashed_v2 = canonicalize_create_entry_request(&bytes("hashedrekord_v2")).unwrap();
    let dsse_v2 = canonicalize_create_entry_request(&bytes("dsse_v2")).unwrap();
    assert_eq!(dsse_v1.kind, "dsse");
    assert_eq!(
        (dsse_v2.kind, dsse_v2.api_version),
        ("hashedrekord", "0.0.2")
    );
    let identity = SearchKey::Identity("signet@example.com".into());
    for entry in [&hashed_v1, &dsse_v1, &hashed_v2, &dsse_v2] {
        assert!(entry.search_keys.contains(&identity), "{entry:?}");
    }

    // 2. Its models read our responses.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let signer = EcdsaP256EntrySigner::from_pkcs8(pkcs8.as_ref(), Box::new(rng)).unwrap();
    let (time, index) = (1_764_000_000, 0);
    let leaf = hashed_v1.leaf_hash().to_vec();
    let checkpoint = "signet.example - 1\n1\nroot\n\n— signet.example sig\n".to_owned();
    let anon = LogEntryAnon::signed(
        &hashed_v1.body,
        time,
        index,
        &signer,
        Some(V1InclusionProof {
            checkpoint: checkpoint.clone(),
            hashes: vec![],
            log_index: 0,
            root_hash: leaf.clone(),
            tree_size: 1,
        }),
    )
    .unwrap();
    let v1_response = LogEntry::new(EntryId::new(7, hashed_v1.uuid()), anon);
    let v2_entry = v2_transparency_log_entry(
        &hashed_v2,
        5,
        &[1, 2, 3, 4],
        InclusionProof {
            log_index: 5,
            root_hash: vec![9; 32],
            tree_size: 6,
            hashes: vec![vec![8; 32]; 3],
            checkpoint,
        },
    );
    let stdin = json!({
        "v1": serde_json::from_str::<Value>(&v1_response.to_json().unwrap()).unwrap(),
        "v2": serde_json::from_str::<Value>(&transparency_log_entry_json(&v2_entry)).unwrap(),
    });
    let parsed = run(&python, "parse_responses.py", &stdin.to_string());
    assert_eq!(
        parsed["set_payload"],
        set_payload(&hashed_v1.body, time, &signer.log_id(), index)
    );
    assert_eq!(parsed["v1_log_index"], 0);
    assert_eq!(parsed["v1_kind"], "hashedrekord");
    assert_eq!(parsed["v2_log_index"], 5);
    assert_eq!(parsed["v2_tree_size"], 6);
    assert_eq!(
        parsed["v2_body"],
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &hashed_v2.body)
    );
}
