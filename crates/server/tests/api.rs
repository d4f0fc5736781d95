//! The HTTP API over real loopback HTTP: Rekor v1 and v2 writes and reads, tlog-tiles reads,
//! bad input, and restarts. Entries are checked with the project's own verifier.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{
    SEARCH_INDEX_FILE, Signer, artifact, hashedrekord_v1, hashedrekord_v1_with, hashedrekord_v2,
    start, trusted_root_json,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_formats::bundle::MEDIA_TYPE_V0_3;
use signet_formats::trust::TrustedRoot;
use signet_formats::{
    Bundle, BundleContent, HashAlgorithm, HashOutput, MessageSignature, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_merkle::{
    Hash, LeafIndex, MemoryTree, TreeSize, hash_leaf, verify_consistency, verify_inclusion,
};
use signet_note::{Checkpoint, Ed25519NoteVerifier, NoteVerifiers, open_note};
use signet_rekor::LogEntry;
use signet_server::ServerError;
use signet_verify::{Artifact, Policy, TrustMaterial, VerifyError, verify_bundle};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asserts a JSON error answer with `status`.
async fn assert_error(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], status.as_u16(), "{body}");
    body["message"].as_str().unwrap().to_owned()
}

async fn post_json(url: &str, body: &Value) -> reqwest::Response {
    client().post(url).json(body).send().await.unwrap()
}

async fn post_bytes(url: &str, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

/// Verifies a v1 entry for `artifact` signed by `signer` as a v0.3 bundle with the server's
/// trusted root.
fn verify_v1(entry: &LogEntry, trusted_root: &[u8], signer: &Signer, artifact: &[u8], sig: &[u8]) {
    let (_, anon) = entry.single().unwrap();
    let tle = anon.to_transparency_log_entry().unwrap();
    let bundle = Bundle {
        media_type: MEDIA_TYPE_V0_3.into(),
        verification_material: VerificationMaterial {
            content: VerificationMaterialContent::PublicKey {
                hint: String::new(),
            },
            tlog_entries: vec![tle],
            timestamp_verification_data: None,
        },
        content: BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: digest(&SHA256, artifact).as_ref().to_vec(),
            }),
            signature: sig.to_vec(),
        }),
    };
    let root = TrustedRoot::from_json(trusted_root).unwrap();
    let trust = TrustMaterial::from_trusted_root(&root).unwrap();
    let key = signet_x509::PublicKey::from_spki_der(&signer.spki()).unwrap();
    verify_bundle(
        &bundle,
        &Artifact::Bytes(artifact.to_vec()),
        &trust,
        &Policy::Key(key),
        now(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_entries_verify_with_the_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let trusted_root = trusted_root_json(&s.server);
    let root: Value = serde_json::from_slice(&trusted_root).unwrap();
    assert_eq!(
        root["mediaType"],
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    );
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 2);

    assert_eq!(get(&s.url("/healthz")).await.text().await.unwrap(), "ok");

    let signer = Signer::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let data = artifact();
        let sig = signer.sign(&data);
        let response = post_json(
            &s.url("/api/v1/log/entries"),
            &hashedrekord_v1_with(&signer, &data, &sig),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let entry = LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
        let (id, anon) = entry.single().unwrap();
        assert_eq!(location, format!("/api/v1/log/entries/{id}"));
        assert_eq!(id.tree_id, Some(s.server.v1_tree_id()));
        verify_v1(&entry, &trusted_root, &signer, &data, &sig);
        ids.push((id, anon.log_index, anon.body.clone()));

        // Reads by entry ID, by UUID and by index give the same entry, freshly proved.
        for path in [
            format!("/api/v1/log/entries/{id}"),
            format!("/api/v1/log/entries/{}", id.uuid),
            format!("/api/v1/log/entries?logIndex={}", anon.log_index),
        ] {
            let response = get(&s.url(&path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let read = LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
            let (read_id, read_anon) = read.single().unwrap();
            assert_eq!(read_id, id);
            assert_eq!(read_anon.body, anon.body);
            assert_eq!(read_anon.integrated_time, anon.integrated_time);
            verify_v1(&read, &trusted_root, &signer, &data, &sig);
        }
    }

    // Duplicate: 409 naming the existing entry.
    let (first_id, _, first_body) = &ids[0];
    let request: Value =
        serde_json::from_slice(&STANDARD.decode(STANDARD.encode(first_body)).unwrap()).unwrap();
    let response = post_json(&s.url("/api/v1/log/entries"), &request).await;
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("/api/v1/log/entries/{first_id}")
    );
    let message = assert_error(response, StatusCode::CONFLICT).await;
    assert!(message.contains(&first_id.uuid.to_string()), "{message}");

    // Log info, public key, retrieve.
    let info: Value = get(&s.url("/api/v1/log")).await.json().await.unwrap();
    assert_eq!(info["treeSize"], 3);
    assert_eq!(info["treeID"], s.server.v1_tree_id().to_string());
    assert!(info["signedTreeHead"].as_str().unwrap().contains(" - "));
    let pem = get(&s.url("/api/v1/log/publicKey")).await;
    assert_eq!(pem.headers()["content-type"], "application/x-pem-file");
    assert!(
        pem.text()
            .await
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let response = post_json(
        &s.url("/api/v1/log/entries/retrieve"),
        &json!({"entryUUIDs": [ids[0].0.uuid.to_string(), "ab".repeat(32)], "logIndexes": [2, 99]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = LogEntry::list_from_json(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].single().unwrap().0, ids[0].0);
    assert_eq!(list[1].single().unwrap().1.log_index, 2);

    // Not found.
    for path in [
        "/api/v1/log/entries?logIndex=3".to_owned(),
        format!("/api/v1/log/entries/{}", "cd".repeat(32)),
        format!(
            "/api/v1/log/entries/{:016x}{}",
            s.server.v1_tree_id() ^ 1,
            ids[0].0.uuid
        ),
        "/api/v1/nothing".to_owned(),
    ] {
        assert_error(get(&s.url(&path)).await, StatusCode::NOT_FOUND).await;
    }
    let wrong_method = client().delete(s.url("/api/v1/log")).send().await.unwrap();
    assert_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
    // Bad reads.
    for path in [
        "/api/v1/log/entries?logIndex=-1",
        "/api/v1/log/entries?logIndex=x",
        "/api/v1/log/entries",
        "/api/v1/log/entries/xyz",
        "/api/v1/log/entries/abcd",
        "/api/v1/log/entries/%FF%FE",
        "/api/v2/tile/0/%FF",
    ] {
        assert_error(get(&s.url(path)).await, StatusCode::BAD_REQUEST).await;
    }
    for body in [
        json!({"entryUUIDs": ["nothex"]}),
        json!({}),
        json!({"logIndexes": (0..11).collect::<Vec<_>>()}),
        json!({"logIndexes": [-1]}),
        json!({"other": 1}),
    ] {
        let response = post_json(&s.url("/api/v1/log/entries/retrieve"), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST).await;
    }
    s.stop().await;
}

/// One signature, one meaning (issue 14): a P-256 signature over a SHA-256 digest `D` is not
/// accepted again as a sha384 or sha512 entry over `D || x`, and its other ECDSA encoding
/// `(r, n - s)` is the same entry, in Rekor v1 (409, naming the logged entry) and v2 (the
/// logged entry, at its index).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signature_is_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let signer = Signer::new();
    let data = artifact();
    let sig = signer.sign(&data);
    let d = digest(&SHA256, &data);

    // Rekor v1: the entry, then its replays.
    let created = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &data, &sig),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    for (algorithm, padding) in [("sha384", 16), ("sha512", 32)] {
        let mut replay = hashedrekord_v1_with(&signer, &data, &sig);
        replay["spec"]["data"]["hash"] = json!({"algorithm": algorithm,
            "value": format!("{}{}", hex::encode(d), "00".repeat(padding))});
        let message = assert_error(
            post_json(&s.url("/api/v1/log/entries"), &replay).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains("ECDSA P-256"), "{message}");
    }
    let twin = signet_testkit::ecdsa_p256_twin(&sig);
    assert_ne!(twin, sig);
    let again = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &data, &twin),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let info: Value = get(&s.url("/api/v1/log")).await.json().await.unwrap();
    assert_eq!(info["treeSize"], 1);

    // Rekor v2: the same.
    let first = post_json(
        &s.url("/api/v2/log/entries"),
        &common::hashedrekord_v2_with(&signer, d.as_ref(), &sig),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let mut long_digest = d.as_ref().to_vec();
    long_digest.extend([0; 16]);
    assert_error(
        post_json(
            &s.url("/api/v2/log/entries"),
            &common::hashedrekord_v2_with(&signer, &long_digest, &sig),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let second = post_json(
        &s.url("/api/v2/log/entries"),
        &common::hashedrekord_v2_with(&signer, d.as_ref(), &twin),
    )
    .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["logIndex"], first["logIndex"]);
    assert_eq!(second["canonicalizedBody"], first["canonicalizedBody"]);
    let checkpoint = get(&s.url("/api/v2/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(checkpoint.lines().nth(1), Some("1"), "{checkpoint}");

    // The twin first is just as good: then the original is its duplicate.
    let other = artifact();
    let sig = signer.sign(&other);
    let created = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &other, &signet_testkit::ecdsa_p256_twin(&sig)),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let again = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &other, &sig),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    s.stop().await;
}

/// The same for envelopes: a dsse 0.0.1 or intoto 0.0.2 entry (v1) and a dsse 0.0.2 entry (v2)
/// whose ECDSA signature is replaced by its twin is the logged entry (409 in v1, the same index
/// in v2), while an envelope of another statement signed by the same key is a new entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_envelope_signature_is_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let signer = Signer::new();
    let payload_type = "application/vnd.in-toto+json";
    let statement = || {
        serde_json::to_vec(&json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a.txt", "digest": {"sha256": hex::encode(digest(&SHA256, &artifact()))}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {},
        }))
        .unwrap()
    };
    let envelope = |payload: &[u8], sig: &[u8]| {
        json!({
            "payload": STANDARD.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"keyid": "", "sig": STANDARD.encode(sig)}],
        })
    };
    let dsse_v1 = |payload: &[u8], sig: &[u8]| {
        json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
            "envelope": envelope(payload, sig).to_string(),
            "verifiers": [STANDARD.encode(signer.pem())]}}})
    };
    let intoto = |payload: &[u8], sig: &[u8]| {
        json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
            "envelope": {
                "payload": STANDARD.encode(STANDARD.encode(payload)),
                "payloadType": payload_type,
                "signatures": [{
                    "sig": STANDARD.encode(STANDARD.encode(sig)),
                    "publicKey": STANDARD.encode(signer.pem()),
                }],
            },
            "hash": {"algorithm": "sha256", "value": hex::encode(digest(&SHA256, payload))},
        }}})
    };
    let dsse_v2 = |payload: &[u8], sig: &[u8]| {
        json!({"dsseRequestV002": {
            "envelope": envelope(payload, sig),
            "verifiers": [{"publicKey": {"rawBytes": STANDARD.encode(signer.spki())},
                           "keyDetails": "PKIX_ECDSA_P256_SHA_256"}],
        }})
    };

    let v1_url = s.url("/api/v1/log/entries");
    let mut v1_size = 0;
    for request in [&dsse_v1 as &dyn Fn(&[u8], &[u8]) -> Value, &intoto] {
        let payload = statement();
        let sig = signer.sign(&signet_formats::pae(payload_type, &payload));
        let twin = signet_testkit::ecdsa_p256_twin(&sig);
        let created = post_json(&v1_url, &request(&payload, &sig)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        v1_size += 1;
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let again = post_json(&v1_url, &request(&payload, &twin)).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert_eq!(again.headers()["location"].to_str().unwrap(), location);
        // The valid twin of the rule: another statement is another entry.
        let other = statement();
        let other_sig = signer.sign(&signet_formats::pae(payload_type, &other));
        let created = post_json(&v1_url, &request(&other, &other_sig)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        v1_size += 1;
    }
    let info: Value = get(&s.url("/api/v1/log")).await.json().await.unwrap();
    assert_eq!(info["treeSize"], v1_size);

    let v2_url = s.url("/api/v2/log/entries");
    let payload = statement();
    let sig = signer.sign(&signet_formats::pae(payload_type, &payload));
    let first = post_json(&v2_url, &dsse_v2(&payload, &sig)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let twin = signet_testkit::ecdsa_p256_twin(&sig);
    let second = post_json(&v2_url, &dsse_v2(&payload, &twin)).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["logIndex"], first["logIndex"]);
    assert_eq!(second["canonicalizedBody"], first["canonicalizedBody"]);
    let other = statement();
    let third = post_json(
        &v2_url,
        &dsse_v2(
            &other,
            &signer.sign(&signet_formats::pae(payload_type, &other)),
        ),
    )
    .await;
    assert_eq!(third.status(), StatusCode::OK);
    let third: Value = third.json().await.unwrap();
    assert_ne!(third["logIndex"], first["logIndex"]);
    let checkpoint = get(&s.url("/api/v2/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(checkpoint.lines().nth(1), Some("2"), "{checkpoint}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_bad_requests_get_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let url = s.url("/api/v1/log/entries");
    let signer = Signer::new();
    let data = artifact();

    let garbage = post_bytes(&url, b"{not json".to_vec()).await;
    assert_error(garbage, StatusCode::BAD_REQUEST).await;
    let empty = post_bytes(&url, Vec::new()).await;
    assert_error(empty, StatusCode::BAD_REQUEST).await;
    let wrong_sig = hashedrekord_v1_with(&signer, &data, &signer.sign(b"other"));
    let message = assert_error(post_json(&url, &wrong_sig).await, StatusCode::BAD_REQUEST).await;
    assert!(!message.is_empty());
    let not_der = hashedrekord_v1_with(&signer, &data, b"not a signature");
    assert_error(post_json(&url, &not_der).await, StatusCode::BAD_REQUEST).await;
    let mut unknown = hashedrekord_v1(&signer, &data);
    unknown["kind"] = json!("rekord-but-not");
    assert_error(post_json(&url, &unknown).await, StatusCode::BAD_REQUEST).await;
    let mut version = hashedrekord_v1(&signer, &data);
    version["apiVersion"] = json!("9.9.9");
    assert_error(post_json(&url, &version).await, StatusCode::BAD_REQUEST).await;
    let mut bad_key = hashedrekord_v1(&signer, &data);
    bad_key["spec"]["signature"]["publicKey"]["content"] = json!(STANDARD.encode("nope"));
    assert_error(post_json(&url, &bad_key).await, StatusCode::BAD_REQUEST).await;

    // Over the 1 MiB limit: 413, for both APIs.
    let big = vec![b' '; signet_server::MAX_REQUEST_BODY + 1];
    assert_error(
        post_bytes(&url, big.clone()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_error(
        post_bytes(&s.url("/api/v2/log/entries"), big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    // v2 garbage.
    assert_error(
        post_bytes(&s.url("/api/v2/log/entries"), b"[]".to_vec()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        post_json(
            &s.url("/api/v2/log/entries"),
            &hashedrekord_v1(&signer, &data),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    // Nothing was appended.
    let info: Value = get(&s.url("/api/v1/log")).await.json().await.unwrap();
    assert_eq!(info["treeSize"], 0);

    // The server still works.
    let ok = post_json(&url, &hashedrekord_v1(&signer, &data)).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_consistency_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let signer = Signer::new();
    let mut roots = vec![Vec::new()];
    for size in 1..=5u64 {
        let response = post_json(
            &s.url("/api/v1/log/entries"),
            &hashedrekord_v1(&signer, &artifact()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let info: Value = get(&s.url("/api/v1/log")).await.json().await.unwrap();
        assert_eq!(info["treeSize"], size);
        roots.push(hex::decode(info["rootHash"].as_str().unwrap()).unwrap());
    }
    for first in 1..=5u64 {
        for last in first..=5u64 {
            let response = get(&s.url(&format!(
                "/api/v1/log/proof?firstSize={first}&lastSize={last}"
            )))
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            let proof: Value = response.json().await.unwrap();
            assert_eq!(
                hex::decode(proof["rootHash"].as_str().unwrap()).unwrap(),
                roots[last as usize]
            );
            let hashes: Vec<Hash> = proof["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| Hash::from_slice(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
                .collect();
            verify_consistency(
                TreeSize(first),
                TreeSize(last),
                &roots[first as usize],
                &roots[last as usize],
                &hashes,
            )
            .unwrap();
        }
    }
    for query in [
        "firstSize=0&lastSize=3",
        "firstSize=4&lastSize=3",
        "firstSize=1&lastSize=6",
        "firstSize=1",
        "firstSize=a&lastSize=3",
        "lastSize=-3",
    ] {
        let response = get(&s.url(&format!("/api/v1/log/proof?{query}"))).await;
        assert_error(response, StatusCode::BAD_REQUEST).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_entries_and_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let origin = s.server.v2_origin().to_owned();
    let key = s.server.v2_public_key();
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(Ed25519NoteVerifier::new(&origin, key).unwrap()));
    let log_id = signet_server::rekor_v2_log_id(&origin, &key);

    // 260 entries, submitted concurrently: one full level-0 tile and a partial one.
    const N: u64 = 260;
    let signer = std::sync::Arc::new(Signer::new());
    let mut tasks = Vec::new();
    for _ in 0..N {
        let url = s.url("/api/v2/log/entries");
        let signer = signer.clone();
        tasks.push(tokio::spawn(async move {
            let response = post_json(&url, &hashedrekord_v2(&signer, &artifact())).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }));
    }
    let mut bodies = std::collections::BTreeMap::new();
    for task in tasks {
        let tle = task.await.unwrap();
        assert_eq!(tle["logId"]["keyId"], STANDARD.encode(log_id));
        assert_eq!(tle["kindVersion"]["version"], "0.0.2");
        let body = STANDARD
            .decode(tle["canonicalizedBody"].as_str().unwrap())
            .unwrap();
        let index: u64 = tle["logIndex"].as_str().unwrap().parse().unwrap();
        let proof = &tle["inclusionProof"];
        let size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
        let root = STANDARD
            .decode(proof["rootHash"].as_str().unwrap())
            .unwrap();
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_slice(&STANDARD.decode(h.as_str().unwrap()).unwrap()).unwrap())
            .collect();
        verify_inclusion(
            &hash_leaf(&body),
            LeafIndex(index),
            TreeSize(size),
            &hashes,
            &root,
        )
        .unwrap();
        let envelope = proof["checkpoint"]["envelope"].as_str().unwrap();
        let opened = open_note(envelope.as_bytes(), &verifiers).unwrap();
        let checkpoint = Checkpoint::parse(opened.note().text()).unwrap();
        assert_eq!(
            (checkpoint.size.0, checkpoint.root_hash.0.to_vec()),
            (size, root)
        );
        assert!(bodies.insert(index, body).is_none());
    }
    assert_eq!(bodies.len() as u64, N);
    assert_eq!(*bodies.keys().last().unwrap(), N - 1);

    // The checkpoint.
    let response = get(&s.url("/api/v2/checkpoint")).await;
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let note = response.text().await.unwrap();
    let opened = open_note(note.as_bytes(), &verifiers).unwrap();
    let checkpoint = Checkpoint::parse(opened.note().text()).unwrap();
    assert_eq!(checkpoint.size.0, N);

    // Tiles and bundles: recompute the root from them.
    let full = get(&s.url("/api/v2/tile/0/000")).await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(
        full.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let mut leaves = full.bytes().await.unwrap().to_vec();
    assert_eq!(leaves.len(), 256 * 32);
    let partial = get(&s.url("/api/v2/tile/0/001.p/4")).await;
    assert_eq!(partial.status(), StatusCode::OK);
    leaves.extend_from_slice(&partial.bytes().await.unwrap());
    let mut entries = Vec::new();
    for path in ["/api/v2/tile/entries/000", "/api/v2/tile/entries/001.p/4"] {
        let response = get(&s.url(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        entries.push(response.bytes().await.unwrap().to_vec());
    }
    let mut decoded = signet_tiles::decode_entry_bundle(&entries[0], 256).unwrap();
    decoded.extend(signet_tiles::decode_entry_bundle(&entries[1], 4).unwrap());
    let leaf_hashes: Vec<Hash> = leaves
        .chunks(32)
        .map(|c| Hash::from_slice(c).unwrap())
        .collect();
    for (i, (entry, leaf)) in decoded.iter().zip(&leaf_hashes).enumerate() {
        assert_eq!(hash_leaf(entry), *leaf);
        assert_eq!(*entry, bodies[&(i as u64)].as_slice());
    }
    assert_eq!(
        MemoryTree::from_leaf_hashes(leaf_hashes).root(),
        checkpoint.root_hash
    );
    // A narrower width of a tile that exists is its prefix; the level-1 tile holds its node.
    let narrow = get(&s.url("/api/v2/tile/0/000.p/10")).await;
    assert_eq!(narrow.bytes().await.unwrap().as_ref(), &leaves[..320]);
    let level1 = get(&s.url("/api/v2/tile/1/000.p/1")).await;
    assert_eq!(level1.status(), StatusCode::OK);

    // Non-canonical paths: 400. Past the tree: 404.
    for path in [
        "0/0",
        "0/000.p/256",
        "0/000.p/0",
        "0/000.p/007",
        "0/x000/000",
        "entries/1",
        "entries/000.p/",
        "0/-01",
    ] {
        let response = get(&s.url(&format!("/api/v2/tile/{path}"))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_error(response, StatusCode::BAD_REQUEST).await;
    }
    for path in [
        "0/001",
        "0/001.p/5",
        "0/002.p/1",
        "1/000",
        "1/000.p/2",
        "2/000.p/1",
        "entries/001",
        "entries/001.p/5",
        "entries/x001/000",
        "9/000",
    ] {
        let response = get(&s.url(&format!("/api/v2/tile/{path}"))).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error(response, StatusCode::NOT_FOUND).await;
    }

    // The project's verifier accepts the entry's log, inclusion proof and checkpoint; it then
    // stops for want of a verified time (Rekor v2 entries carry none; a timestamp would).
    let data = artifact();
    let sig = signer.sign(&data);
    let mut request = hashedrekord_v2(&signer, &data);
    request["hashedRekordRequestV002"]["signature"]["content"] = json!(STANDARD.encode(&sig));
    let response = post_json(&s.url("/api/v2/log/entries"), &request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tle: Value = response.json().await.unwrap();
    let trusted_root = trusted_root_json(&s.server);
    let trust =
        TrustMaterial::from_trusted_root(&TrustedRoot::from_json(&trusted_root).unwrap()).unwrap();
    let policy = Policy::Key(signet_x509::PublicKey::from_spki_der(&signer.spki()).unwrap());
    let bundle_of = |tle: &Value| {
        let json = json!({
            "mediaType": MEDIA_TYPE_V0_3,
            "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": [tle]},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest(&SHA256, &data))},
                "signature": STANDARD.encode(&sig),
            },
        });
        Bundle::from_json(json.to_string().as_bytes()).unwrap()
    };
    let verify = |bundle: &Bundle| {
        verify_bundle(
            bundle,
            &Artifact::Bytes(data.clone()),
            &trust,
            &policy,
            now(),
        )
    };
    let err = verify(&bundle_of(&tle)).unwrap_err();
    assert!(matches!(err, VerifyError::NoVerifiedTime), "{err:?}");
    let mut other_log = tle.clone();
    other_log["logId"]["keyId"] = json!(STANDARD.encode([7u8; 32]));
    let err = verify(&bundle_of(&other_log)).unwrap_err();
    assert!(matches!(err, VerifyError::UnknownLog { .. }), "{err:?}");
    let mut bad_root = tle.clone();
    bad_root["inclusionProof"]["rootHash"] = json!(STANDARD.encode([7u8; 32]));
    let err = verify(&bundle_of(&bad_root)).unwrap_err();
    assert!(!matches!(err, VerifyError::NoVerifiedTime), "{err:?}");

    // A duplicate is answered at its first index, and nothing is appended.
    let request = hashedrekord_v2(&signer, &artifact());
    let mut indexes = Vec::new();
    for _ in 0..2 {
        let response = post_json(&s.url("/api/v2/log/entries"), &request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let tle: Value = response.json().await.unwrap();
        indexes.push(tle["logIndex"].as_str().unwrap().to_owned());
    }
    assert_eq!(indexes, [(N + 1).to_string(), (N + 1).to_string()]);
    let note = get(&s.url("/api/v2/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    let opened = open_note(note.as_bytes(), &verifiers).unwrap();
    assert_eq!(
        Checkpoint::parse(opened.note().text()).unwrap().size.0,
        N + 2
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_keys_and_entries_and_another_origin_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let public_url = "http://signet.test:8080";
    let s = start(dir.path(), Some(public_url)).await;
    let trusted_root = trusted_root_json(&s.server);
    let tree_id = s.server.v1_tree_id();
    let signer = Signer::new();
    let data = artifact();
    let sig = signer.sign(&data);
    let created = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &data, &sig),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let entry = LogEntry::from_json(&created.bytes().await.unwrap()).unwrap();
    let (id, _) = entry.single().unwrap();
    let v2 = post_json(
        &s.url("/api/v2/log/entries"),
        &hashedrekord_v2(&signer, &data),
    )
    .await;
    assert_eq!(v2.status(), StatusCode::OK);
    let v2_checkpoint = get(&s.url("/api/v2/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    s.stop().await;

    let s = start(dir.path(), Some(public_url)).await;
    assert_eq!(trusted_root_json(&s.server), trusted_root);
    assert_eq!(s.server.v1_tree_id(), tree_id);
    let response = get(&s.url(&format!("/api/v1/log/entries/{id}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let read = LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
    verify_v1(&read, &trusted_root, &signer, &data, &sig);
    assert_eq!(
        get(&s.url("/api/v2/checkpoint"))
            .await
            .text()
            .await
            .unwrap(),
        v2_checkpoint
    );
    // Duplicates are still detected after a restart.
    let again = post_json(
        &s.url("/api/v1/log/entries"),
        &hashedrekord_v1_with(&signer, &data, &sig),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    s.stop().await;

    // Another public URL is another origin: the stores refuse it.
    let result = common::open(
        dir.path(),
        "http://elsewhere.test",
        None,
        None,
        Default::default(),
    )
    .await;
    assert!(matches!(result, Err(ServerError::Log { .. })), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_search_index() {
    let dir = tempfile::tempdir().unwrap();
    let public_url = "http://signet.test";
    let s = start(dir.path(), Some(public_url)).await;
    let (alice, bob) = (Signer::new(), Signer::new());
    let shared = artifact();
    let mut ids = std::collections::HashMap::new();
    for (name, signer, data) in [
        ("alice-shared", &alice, shared.clone()),
        ("bob-shared", &bob, shared.clone()),
        ("alice-own", &alice, artifact()),
    ] {
        let response = post_json(
            &s.url("/api/v1/log/entries"),
            &hashedrekord_v1(signer, &data),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let entry = LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
        ids.insert(name, entry.single().unwrap().0.to_string());
    }
    let search = |query: Value| {
        let url = s.url("/api/v1/index/retrieve");
        async move {
            let response = post_json(&url, &query).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            let mut found: Vec<String> = response.json().await.unwrap();
            found.sort();
            found
        }
    };
    let expect = |names: &[&str]| {
        let mut want: Vec<String> = names.iter().map(|n| ids[n].clone()).collect();
        want.sort();
        want
    };
    let hash = hex::encode(digest(&SHA256, &shared));
    let alice_key = json!({"format": "x509", "content": STANDARD.encode(alice.pem())});
    assert_eq!(
        search(json!({"hash": hash})).await,
        expect(&["alice-shared", "bob-shared"])
    );
    assert_eq!(
        search(json!({"hash": format!("sha256:{}", hash.to_uppercase())})).await,
        expect(&["alice-shared", "bob-shared"])
    );
    assert_eq!(
        search(json!({"publicKey": alice_key})).await,
        expect(&["alice-shared", "alice-own"])
    );
    assert_eq!(
        search(json!({"publicKey": alice_key, "hash": hash, "operator": "and"})).await,
        expect(&["alice-shared"])
    );
    assert_eq!(
        search(json!({"publicKey": alice_key, "hash": hash, "operator": "or"})).await,
        expect(&["alice-shared", "bob-shared", "alice-own"])
    );
    assert!(search(json!({"hash": "ab".repeat(32)})).await.is_empty());
    assert!(
        search(json!({"email": "nobody@example.com"}))
            .await
            .is_empty()
    );

    for query in [
        json!({}),
        json!({"hash": "xyz"}),
        json!({"hash": hash, "operator": "xor"}),
        json!({"publicKey": {"format": "pgp", "content": STANDARD.encode("x")}}),
        json!({"publicKey": {"format": "x509", "content": "!!"}}),
        json!({"publicKey": {"format": "x509"}}),
        json!({"email": ""}),
        json!([1]),
    ] {
        let response = post_json(&s.url("/api/v1/index/retrieve"), &query).await;
        assert_error(response, StatusCode::BAD_REQUEST).await;
    }
    s.stop().await;

    // The index is derived data: deleted, it is rebuilt from the log on the next start.
    std::fs::remove_file(dir.path().join(SEARCH_INDEX_FILE)).unwrap();
    let s = start(dir.path(), Some(public_url)).await;
    let response = post_json(&s.url("/api/v1/index/retrieve"), &json!({"hash": hash})).await;
    let mut found: Vec<String> = response.json().await.unwrap();
    found.sort();
    assert_eq!(found, expect(&["alice-shared", "bob-shared"]));
    s.stop().await;
}

/// A key with more entries than the limit does not hide later entries, nor an `and` match
/// with a rarer key (issue 14). The same suite runs on PostgreSQL in `postgres.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_search_combines_keys_then_lists_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::start_with_search_results(dir.path(), None, None, 4).await;
    common::search_suite(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_dsse_entry_verifies_and_is_searchable_by_subject() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let signer = Signer::new();
    let data = artifact();
    let subject = hex::encode(digest(&SHA256, &data));
    let payload_type = "application/vnd.in-toto+json";
    let payload = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a.txt", "digest": {"sha256": subject}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    }))
    .unwrap();
    let sig = signer.sign(&signet_formats::pae(payload_type, &payload));
    let envelope = json!({
        "payload": STANDARD.encode(&payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": "", "sig": STANDARD.encode(&sig)}],
    })
    .to_string();
    let request = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "proposedContent": {"envelope": envelope, "verifiers": [STANDARD.encode(signer.pem())]}}});
    let response = post_json(&s.url("/api/v1/log/entries"), &request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let entry = LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
    let (id, anon) = entry.single().unwrap();

    let bundle = Bundle {
        media_type: MEDIA_TYPE_V0_3.into(),
        verification_material: VerificationMaterial {
            content: VerificationMaterialContent::PublicKey {
                hint: String::new(),
            },
            tlog_entries: vec![anon.to_transparency_log_entry().unwrap()],
            timestamp_verification_data: None,
        },
        content: BundleContent::DsseEnvelope(signet_formats::Envelope {
            payload: payload.clone(),
            payload_type: payload_type.into(),
            signatures: vec![signet_formats::DsseSignature {
                sig: sig.clone(),
                keyid: String::new(),
            }],
        }),
    };
    let trusted_root = trusted_root_json(&s.server);
    let trust =
        TrustMaterial::from_trusted_root(&TrustedRoot::from_json(&trusted_root).unwrap()).unwrap();
    let policy = Policy::Key(signet_x509::PublicKey::from_spki_der(&signer.spki()).unwrap());
    verify_bundle(&bundle, &Artifact::Bytes(data), &trust, &policy, now()).unwrap();

    // The in-toto subject (not in the body) is searchable.
    let response = post_json(
        &s.url("/api/v1/index/retrieve"),
        &json!({"hash": format!("sha256:{subject}")}),
    )
    .await;
    let found: Vec<String> = response.json().await.unwrap();
    assert_eq!(found, [id.to_string()]);
    s.stop().await;
}
