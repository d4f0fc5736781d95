//! Signed entry timestamps against the real ones in the shared bundles, the Rekor v1
//! `LogEntry` response (parse, write, convert to a bundle entry) and the Rekor v2
//! `TransparencyLogEntry` response.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_formats::{Bundle, TransparencyLogEntry};
use signet_rekor::{
    EcdsaP256EntrySigner, EntryId, EntrySigner, EntryUuid, LogEntry, LogEntryAnon, log_id,
    set_payload, set_payload_of, sign_entry_timestamp, transparency_log_entry_json,
    verify_signed_entry_timestamp,
};
use signet_x509::PublicKey;

fn testdata_files(subdirs: &[&str]) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for sub in subdirs {
        walk(&signet_testdata::dir().join(sub), &mut out);
    }
    out.sort();
    out
}

/// Every transparency-log key in every trusted root of the shared test data, by log ID.
fn log_keys() -> BTreeMap<Vec<u8>, Vec<PublicKey>> {
    let mut keys: BTreeMap<Vec<u8>, Vec<PublicKey>> = BTreeMap::new();
    for path in testdata_files(&["trust", "conformance", "sigstore-go", "sigstore-python"]) {
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Ok(root) = serde_json::from_slice::<Value>(&text) else {
            continue;
        };
        let Some(tlogs) = root.get("tlogs").and_then(Value::as_array) else {
            continue;
        };
        for tlog in tlogs {
            let (Some(id), Some(der)) = (
                tlog["logId"]["keyId"].as_str(),
                tlog["publicKey"]["rawBytes"].as_str(),
            ) else {
                continue;
            };
            let Ok(key) = PublicKey::from_spki_der(&STANDARD.decode(der).unwrap()) else {
                continue;
            };
            keys.entry(STANDARD.decode(id).unwrap())
                .or_default()
                .push(key);
        }
    }
    keys
}

#[test]
fn real_signed_entry_timestamps_verify() {
    let keys = log_keys();
    let mut verified = 0;
    let mut failed = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for real in common::real_bodies_all_entries() {
        let e = &real.entry;
        let Some(set) = e["inclusionPromise"]["signedEntryTimestamp"].as_str() else {
            continue;
        };
        let set = STANDARD.decode(set).unwrap();
        let log = STANDARD
            .decode(e["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        let int = |v: &Value| -> i64 {
            v.as_str()
                .map(|s| s.parse().unwrap())
                .or_else(|| v.as_i64())
                .unwrap_or(0)
        };
        let (time, index) = (int(&e["integratedTime"]), int(&e["logIndex"]));
        if !seen.insert((set.clone(), real.body.clone())) {
            continue;
        }
        let ok = keys.get(&log).into_iter().flatten().any(|key| {
            verify_signed_entry_timestamp(key, &set, &real.body, time, &log, index).is_ok()
        });
        if ok {
            verified += 1;
        } else {
            failed.push(real.file.clone());
        }
    }
    println!("verified {verified} real SETs; failed: {failed:?}");
    // The `_fail` cases that tamper with the SET or with what it covers (body, log index).
    assert_eq!(
        failed,
        [
            "conformance/bundle-verify/bundle-empty-certificate-chain_fail/bundle.sigstore.json",
            "conformance/bundle-verify/bundle-negative-log-index_fail/bundle.sigstore.json",
            "conformance/bundle-verify/incorrect-public-key_fail/bundle.sigstore.json",
            "conformance/bundle-verify/set-invalid-signature_fail/bundle.sigstore.json",
        ]
    );
    assert_eq!(verified, 30);
}

/// The SET payload written out independently (as `signet-verify` first had it), to check
/// `set_payload_of` against a second rendering.
fn verify_crate_set_payload(entry: &TransparencyLogEntry) -> String {
    format!(
        "{{\"body\":\"{}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        STANDARD.encode(&entry.canonicalized_body),
        entry.integrated_time,
        hex::encode(&entry.log_id),
        entry.log_index
    )
}

fn signer() -> EcdsaP256EntrySigner {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    EcdsaP256EntrySigner::from_pkcs8(pkcs8.as_ref(), Box::new(rng)).unwrap()
}

#[test]
fn sets_we_sign_verify_like_signet_verify_checks_them() {
    let signer = signer();
    assert_eq!(signer.log_id(), log_id(signer.spki_der()));
    let key = PublicKey::from_pem(&signer.public_key_pem()).unwrap();
    let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#;
    for (time, index) in [(0, 0), (1_700_000_000, 12), (i64::from(u32::MAX), 1 << 40)] {
        let set = sign_entry_timestamp(&signer, body, time, index).unwrap();
        let entry = TransparencyLogEntry {
            log_index: index,
            log_id: signer.log_id().to_vec(),
            kind_version: Default::default(),
            integrated_time: time,
            inclusion_promise: Some(set.clone()),
            inclusion_proof: None,
            canonicalized_body: body.to_vec(),
        };
        assert_eq!(set_payload_of(&entry), verify_crate_set_payload(&entry));
        // What signet-verify does: the log key's `verify` over its payload.
        key.verify(verify_crate_set_payload(&entry).as_bytes(), &set)
            .unwrap();
        verify_signed_entry_timestamp(&key, &set, body, time, &signer.log_id(), index).unwrap();
        assert!(
            verify_signed_entry_timestamp(&key, &set, body, time + 1, &signer.log_id(), index)
                .is_err()
        );
    }
    assert_eq!(
        set_payload(b"", 1, &[0xab], 2),
        r#"{"body":"","integratedTime":1,"logID":"ab","logIndex":2}"#
    );
    assert!(EcdsaP256EntrySigner::from_pkcs8(b"junk", Box::new(SystemRandom::new())).is_err());
}

/// The Rekor v1 response that carried a bundle's entry, as Rekor writes it.
fn rekor_v1_response(entry: &TransparencyLogEntry, tree_id: u64) -> String {
    let proof = entry.inclusion_proof.as_ref().unwrap();
    let id = EntryId::new(tree_id, EntryUuid::of_body(&entry.canonicalized_body));
    // Field order as Go writes it (struct order), indented as curl shows it.
    serde_json::to_string_pretty(&json!({ id.to_string(): {
        "body": STANDARD.encode(&entry.canonicalized_body),
        "integratedTime": entry.integrated_time,
        "logID": hex::encode(&entry.log_id),
        "logIndex": entry.log_index,
        "verification": {
            "inclusionProof": {
                "checkpoint": proof.checkpoint,
                "hashes": proof.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
                "logIndex": proof.log_index,
                "rootHash": hex::encode(&proof.root_hash),
                "treeSize": proof.tree_size,
            },
            "signedEntryTimestamp": STANDARD.encode(entry.inclusion_promise.as_ref().unwrap()),
        },
    }}))
    .unwrap()
}

/// Rekor v1 entries of the bundles that parse, with their files.
fn v1_bundle_entries() -> Vec<(String, TransparencyLogEntry)> {
    let mut out = Vec::new();
    for path in testdata_files(&["conformance", "sigstore-python"]) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(bundle) = Bundle::from_json(&bytes) else {
            continue;
        };
        for entry in bundle.verification_material.tlog_entries {
            if entry.inclusion_promise.is_some()
                && entry.inclusion_proof.is_some()
                && entry.kind_version.version != "0.0.2"
                && !entry
                    .inclusion_proof
                    .as_ref()
                    .unwrap()
                    .checkpoint
                    .is_empty()
            {
                out.push((path.display().to_string(), entry));
            }
        }
    }
    out
}

#[test]
fn v1_log_entry_responses_round_trip_into_bundle_entries() {
    let entries = v1_bundle_entries();
    assert!(entries.len() >= 10, "{}", entries.len());
    for (file, tle) in entries {
        let response = rekor_v1_response(&tle, 0x24296fb24b8ad77a);
        let parsed = LogEntry::from_json(response.as_bytes()).unwrap();
        let (id, anon) = parsed.single().unwrap();
        assert_eq!(id.tree_id, Some(0x24296fb24b8ad77a));
        assert_eq!(id.uuid, EntryUuid::of_body(&tle.canonicalized_body));
        assert_eq!(anon.to_transparency_log_entry().unwrap(), tle, "{file}");
        assert_eq!(LogEntryAnon::from_transparency_log_entry(&tle), *anon);
        // What we write parses back to the same thing, with every field present.
        let written = parsed.to_json().unwrap();
        assert_eq!(LogEntry::from_json(written.as_bytes()).unwrap(), parsed);
        let value: Value = serde_json::from_str(&written).unwrap();
        let inner = &value[id.to_string()];
        for field in ["body", "integratedTime", "logID", "logIndex"] {
            assert!(inner.get(field).is_some(), "{field}");
        }
        for field in ["checkpoint", "hashes", "logIndex", "rootHash", "treeSize"] {
            assert!(
                inner["verification"]["inclusionProof"].get(field).is_some(),
                "{field}"
            );
        }
        assert!(inner["integratedTime"].is_i64() && inner["logIndex"].is_i64());
        assert_eq!(
            inner["verification"]["inclusionProof"]["rootHash"],
            hex::encode(&tle.inclusion_proof.as_ref().unwrap().root_hash)
        );
    }
}

#[test]
fn malformed_log_entries_are_rejected() {
    let (_, tle) = v1_bundle_entries().into_iter().next().unwrap();
    let good: Value = serde_json::from_str(&rekor_v1_response(&tle, 1)).unwrap();
    let id = good.as_object().unwrap().keys().next().unwrap().clone();
    let with = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut slot = &mut v[id.as_str()];
        for p in path {
            slot = &mut slot[*p];
        }
        *slot = value;
        serde_json::to_vec(&v).unwrap()
    };
    let cases = [
        with(&["logIndex"], json!(-1)),
        with(&["logIndex"], json!("1")),
        with(&["logID"], json!("zz")),
        with(&["logID"], json!("abcd")),
        with(&["body"], json!("!!")),
        with(&["body"], json!(null)),
        with(&["integratedTime"], json!(1.5)),
        with(&["verification", "inclusionProof", "hashes"], json!(["00"])),
        with(&["verification", "inclusionProof", "treeSize"], json!(0)),
        with(&["verification", "signedEntryTimestamp"], json!(5)),
        serde_json::to_vec(&json!({"not-an-id": good[id.as_str()]})).unwrap(),
        b"[]".to_vec(),
        b"{".to_vec(),
    ];
    for case in cases {
        let err = LogEntry::from_json(&case).expect_err(&String::from_utf8_lossy(&case));
        assert!(err.is_client_error());
    }
    // A LogEntry with two entries parses but has no single entry.
    let mut two = good.clone();
    two[format!("{}", EntryId::new(2, EntryUuid([1; 32])))] = good[id.as_str()].clone();
    let parsed = LogEntry::from_json(&serde_json::to_vec(&two).unwrap()).unwrap();
    assert!(parsed.single().is_err());
    let list = format!("[{}]", serde_json::to_string(&good).unwrap());
    assert_eq!(LogEntry::list_from_json(list.as_bytes()).unwrap().len(), 1);
}

#[test]
fn v2_transparency_log_entries_parse_as_bundle_entries() {
    for case in ["rekor2-happy-path", "rekor2-dsse-happy-path"] {
        let path = signet_testdata::path(&format!(
            "conformance/bundle-verify/{case}/bundle.sigstore.json"
        ));
        let bytes = std::fs::read(path).unwrap();
        let bundle = Bundle::from_json(&bytes).unwrap();
        let tle = bundle.verification_material.tlog_entries[0].clone();
        let written = transparency_log_entry_json(&tle);
        let value: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(value["logIndex"], tle.log_index.to_string());
        assert_eq!(value["integratedTime"], "0");
        assert!(value.get("inclusionPromise").is_none());
        assert_eq!(
            value["inclusionProof"]["treeSize"],
            tle.inclusion_proof.as_ref().unwrap().tree_size.to_string()
        );
        // Put it back into the bundle: the formats crate reads the same entry.
        let mut bundle_json: Value = serde_json::from_slice(&bytes).unwrap();
        bundle_json["verificationMaterial"]["tlogEntries"][0] = value;
        let again = Bundle::from_json(&serde_json::to_vec(&bundle_json).unwrap()).unwrap();
        assert_eq!(again.verification_material.tlog_entries[0], tle);
    }
}
