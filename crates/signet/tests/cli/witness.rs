//! Runs the real `signet witness` on a free loopback port: it prints its verifier key and URL
//! first, cosigns a checkpoint signed by a test Ed25519 log key (the cosignature verifies with
//! the printed key and with `DIR/witness.vkey`), follows the log 0 → 3 → 10 with a real
//! consistency proof, remembers the size across a restart on the same directory (409 with
//! it), and refuses a second process on that directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SIGNET, free_port, runtime, signet};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet_merkle::{Hash, MemoryTree, TreeSize, hash_leaf, prove_consistency};
use signet_note::{Checkpoint, Ed25519NoteSigner, NoteVerifiers, sign_note};
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};
use std::path::Path;
use std::time::Duration;

const ORIGIN: &str = "log.test/witnessed";
const NAME: &str = "witness.test/cli";

/// A test log: an Ed25519 key and a tree of 10 leaves.
struct Log {
    signer: Ed25519NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new() -> Log {
        Log {
            signer: Ed25519NoteSigner::from_seed(ORIGIN, &[11; 32]).unwrap(),
            tree: MemoryTree::from_leaf_hashes(
                (0..10u32).map(|i| hash_leaf(format!("entry {i}").as_bytes())),
            ),
        }
    }

    fn text(&self, size: u64) -> String {
        let root = self.tree.root_at(TreeSize(size)).unwrap();
        Checkpoint::new(ORIGIN, TreeSize(size), root).to_text()
    }

    /// The `add-checkpoint` body from `old` to `new`, with a real proof.
    fn body(&self, old: u64, new: u64) -> Vec<u8> {
        let proof: Vec<Hash> = if old == 0 {
            Vec::new()
        } else {
            prove_consistency(&self.tree, TreeSize(old), TreeSize(new)).unwrap()
        };
        let mut body = format!("old {old}\n");
        for hash in proof {
            body.push_str(&STANDARD.encode(hash.0));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&sign_note(&self.text(new), &[&self.signer]).unwrap());
        body.into_bytes()
    }
}

fn start(data: &Path, log: &Log) -> SignetProcess {
    SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(data),
            extra: &["--log", &log.signer.verifier_key(), "--name", NAME],
            ready: &[Ready::Port],
            stdout: Stdout::Piped,
            ..Launch::new(&["witness"])
        },
    )
}

/// Posts `body` to `add-checkpoint`: status, content type, body.
fn post(base: &str, body: Vec<u8>) -> (u16, String, String) {
    runtime().block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}/add-checkpoint"))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, r.text().await.unwrap())
    })
}

/// Asserts that `answer` is a cosignature by `vkey` over `text`.
#[track_caller]
fn assert_cosigned(vkey: &str, text: &str, answer: &str) {
    let lines: Vec<&str> = answer.lines().collect();
    assert_eq!(lines.len(), 1, "{answer}");
    assert!(
        lines[0].starts_with(&format!("\u{2014} {NAME} ")),
        "{answer}"
    );
    let note = format!("{text}\n{answer}");
    let verifiers = NoteVerifiers::from_vkeys([vkey]).unwrap();
    signet_note::open_note(note.as_bytes(), &verifiers).unwrap();
}

fn stop(mut witness: SignetProcess) {
    let (status, _) = witness
        .terminate(Duration::from_secs(30))
        .expect("no exit within 30 s of SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[test]
fn witness_cosigns_remembers_across_restarts_and_keeps_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("witness");
    let log = Log::new();
    let mut witness = start(&data, &log);

    // The banner: the verifier key, then the URL.
    let first = witness.line();
    let vkey = first
        .trim()
        .strip_prefix("signet: witness verifier key: ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(vkey.starts_with(&format!("{NAME}+")), "{vkey}");
    let second = witness.line();
    assert!(
        second.starts_with(&format!("signet: witness at {} ", witness.base)),
        "{second:?}"
    );
    let third = witness.line();
    assert_eq!(
        third.trim(),
        format!("signet: as a log's witness: {vkey}@{}", witness.base)
    );
    let file_vkey = std::fs::read_to_string(data.join("witness.vkey")).unwrap();
    assert_eq!(file_vkey, format!("{vkey}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = std::fs::metadata(data.join("witness.key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    // 0 → 3, then 3 → 10 with a real consistency proof.
    let (status, _, answer) = post(&witness.base, log.body(0, 3));
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&vkey, &log.text(3), &answer);
    assert_cosigned(file_vkey.trim(), &log.text(3), &answer);
    let (status, _, answer) = post(&witness.base, log.body(3, 10));
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&vkey, &log.text(10), &answer);

    // A second witness process on the same directory is refused, before it listens.
    let port = free_port().to_string();
    let out = signet(&[
        "witness",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data",
        data.to_str().unwrap(),
        "--log",
        &log.signer.verifier_key(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another witness process"), "{stderr}");

    // Restarted on the same directory: the same key, and the size it cosigned.
    stop(witness);
    let mut witness = start(&data, &log);
    assert_eq!(
        witness.line().trim(),
        format!("signet: witness verifier key: {vkey}")
    );
    let (status, content_type, answer) = post(&witness.base, log.body(3, 10));
    assert_eq!(
        (status, content_type.as_str(), answer.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    let (status, _, answer) = post(&witness.base, log.body(10, 10));
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&vkey, &log.text(10), &answer);

    // Another name on the same directory is refused: the name is part of the identity.
    stop(witness);
    let out = signet(&[
        "witness",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data",
        data.to_str().unwrap(),
        "--log",
        &log.signer.verifier_key(),
        "--name",
        "witness.test/renamed",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(NAME), "{stderr}");
}

#[test]
fn witness_refuses_an_unknown_log_and_a_forged_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new();
    let witness = start(&tmp.path().join("w"), &log);
    // Another log: 404.
    let stranger = Ed25519NoteSigner::from_seed("log.test/stranger", &[12; 32]).unwrap();
    let text = Checkpoint::new("log.test/stranger", TreeSize(1), Hash([1; 32])).to_text();
    let body = format!("old 0\n\n{}", sign_note(&text, &[&stranger]).unwrap());
    assert_eq!(post(&witness.base, body.into_bytes()).0, 404);
    // The log's origin signed by another key: 403.
    let impostor = Ed25519NoteSigner::from_seed(ORIGIN, &[13; 32]).unwrap();
    let body = format!(
        "old 0\n\n{}",
        sign_note(&log.text(3), &[&impostor]).unwrap()
    );
    assert_eq!(post(&witness.base, body.into_bytes()).0, 403);
    stop(witness);
}
