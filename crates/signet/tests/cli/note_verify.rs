//! `signet note verify` run as a real process on the shared checkpoints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::signet;
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    signet_testdata::path(rel)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const VKEY: &str = "astra+cad5a3d2+AZJqeuyE/GnknsCNh1eCtDtwdAwKBddOlS8M2eI1Jt4b";

#[test]
fn every_serverless_log_checkpoint_verifies() {
    let key_file = data("serverless-log/log.vkey");
    for n in 0..=15 {
        let cp = data(&format!("serverless-log/log/checkpoint.{n}"));
        let out = signet(&["note", "verify", "--key", s(&key_file), s(&cp)]);
        assert!(
            out.status.success(),
            "checkpoint.{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.starts_with(&format!("origin: example.com/testdata\nsize: {n}\nroot: ")),
            "{stdout}"
        );
    }
    // The key given inline works the same.
    let out = signet(&[
        "note",
        "verify",
        "--key",
        VKEY,
        s(&data("serverless-log/log/checkpoint")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("root: rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n")
    );
}

#[test]
fn tampered_unknown_and_malformed_notes_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(data("serverless-log/log/checkpoint.15")).unwrap();

    let tampered = dir.path().join("tampered");
    std::fs::write(&tampered, good.replacen("\n15\n", "\n14\n", 1)).unwrap();
    let out = signet(&["note", "verify", "--key", VKEY, s(&tampered)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));

    let other_key = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let out = signet(&[
        "note",
        "verify",
        "--key",
        other_key,
        s(&data("serverless-log/log/checkpoint.15")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signature by a known key"));

    let malformed = dir.path().join("malformed");
    std::fs::write(&malformed, good.replace("\n\n", "\n")).unwrap();
    let out = signet(&["note", "verify", "--key", VKEY, s(&malformed)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed note"));

    // A signed note that is not a checkpoint.
    let out = signet(&[
        "note",
        "verify",
        "--key",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        s(&data("signed-note/c2sp-vkey-example.note")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a checkpoint"));
}

#[test]
fn usage_errors_exit_2() {
    let cp = data("serverless-log/log/checkpoint.15");
    assert_eq!(signet(&["note", "verify", s(&cp)]).status.code(), Some(2));
    assert_eq!(
        signet(&["note", "verify", "--key", VKEY]).status.code(),
        Some(2)
    );
    assert_eq!(
        signet(&["note", "verify", "--key", "not-a-key", s(&cp)])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        signet(&["note", "verify", "--key", VKEY, "/nonexistent/checkpoint"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(signet(&["note", "frobnicate"]).status.code(), Some(2));
}

#[test]
fn key_files_with_several_keys_and_pem_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("# witnesses and the log\nPeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n\n{VKEY}\n")).unwrap();
    let out = signet(&[
        "note",
        "verify",
        "--key",
        s(&keys),
        s(&data("serverless-log/log/checkpoint.3")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A real Rekor v1 checkpoint with the public-good Rekor key as PEM.
    let bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data(
            "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let envelope = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap();
    let cp = dir.path().join("rekor-checkpoint");
    std::fs::write(&cp, envelope).unwrap();
    let root: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data("trust/public-good-trusted_root.json")).unwrap(),
    )
    .unwrap();
    let tlog = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["baseUrl"] == "https://rekor.sigstore.dev")
        .unwrap();
    let b64 = tlog["publicKey"]["rawBytes"].as_str().unwrap();
    let body: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = dir.path().join("rekor.pub");
    std::fs::write(
        &pem,
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            body.join("\n")
        ),
    )
    .unwrap();
    let out = signet(&["note", "verify", "--key", s(&pem), s(&cp)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("origin: rekor.sigstore.dev - 2605736670972794746\nsize: 75408393\n"),
        "{stdout}"
    );
    // With the wrong explicit name the key is not matched.
    let out = signet(&[
        "note",
        "verify",
        "--key",
        s(&pem),
        "--key-name",
        "rekor.example",
        s(&cp),
    ]);
    assert_eq!(out.status.code(), Some(1));
}
