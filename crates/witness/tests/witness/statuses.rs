//! Every answer of `add-checkpoint`, first from the core ([`AddError::status`]), then over
//! HTTP from the router on a real port (status, content type, body).

use crate::common::{Log, NOW, assert_cosigned, body, serve_witness, witness};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet_merkle::{Hash, TreeSize};
use signet_note::{Checkpoint, Ed25519NoteSigner, sign_note};
use signet_witness::{AddError, ConfigError, MemoryStore, Witness};
use std::sync::Arc;

/// A log of 10 leaves and a witness of it that has cosigned size 3.
fn at_three() -> (Log, Witness) {
    let log = Log::new("log.test/a", 1, 10);
    let w = witness(&[&log]);
    w.add_checkpoint_body(&log.body(0, 3), NOW).unwrap();
    (log, w)
}

fn refused(w: &Witness, body: &[u8]) -> AddError {
    w.add_checkpoint_body(body, NOW).unwrap_err()
}

#[test]
fn status_200_cosigns_with_the_witness_key() {
    let (log, w) = at_three();
    let sigs = w.add_checkpoint_body(&log.body(3, 10), NOW).unwrap();
    assert_cosigned(w.verifier_key(), &log.checkpoint(10).to_text(), &sigs, NOW);
    assert_eq!(w.latest("log.test/a").unwrap().unwrap(), log.checkpoint(10));
}

#[test]
fn status_400_for_an_old_size_past_the_checkpoint() {
    let (log, w) = at_three();
    let e = refused(&w, &body(5, &[], &log.note(4)));
    assert!(
        matches!(e, AddError::OldSizeTooLarge { old: 5, size: 4 }),
        "{e}"
    );
    assert_eq!(e.status(), 400);
}

#[test]
fn status_400_for_too_many_proof_lines() {
    let (log, w) = at_three();
    let e = refused(&w, &body(3, &vec![Hash([1; 32]); 64], &log.note(10)));
    assert!(e.to_string().contains("more than 63"), "{e}");
    assert_eq!(e.status(), 400);
}

#[test]
fn status_400_for_malformed_requests() {
    let (log, w) = at_three();
    let note = log.note(10);
    let mut cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"old 3\n".to_vec(),
        b"old 03\n\n".to_vec(),
        b"old 3\nnot base64\n\n".to_vec(),
        // A proof from size 0.
        body(0, &[Hash([1; 32])], &note),
        // A note that is not a note, and a note that is not a checkpoint.
        b"old 3\n\nhello\n".to_vec(),
    ];
    let mut not_checkpoint = b"old 3\n\n".to_vec();
    not_checkpoint.extend_from_slice(sign_note("just text\n", &[&log.signer]).unwrap().as_bytes());
    cases.push(not_checkpoint);
    for case in cases {
        let e = refused(&w, &case);
        assert_eq!(
            e.status(),
            400,
            "{e} for {:?}",
            String::from_utf8_lossy(&case)
        );
    }
}

#[test]
fn status_403_without_a_trusted_signature() {
    let (log, w) = at_three();
    let text = log.checkpoint(10).to_text();
    // Signed by another key under the log's name: unknown key, ignored, none left.
    let impostor = Ed25519NoteSigner::from_seed("log.test/a", &[99; 32]).unwrap();
    let e = refused(
        &w,
        &body(
            3,
            &log.proof(3, 10),
            sign_note(&text, &[&impostor]).unwrap().as_bytes(),
        ),
    );
    assert!(matches!(e, AddError::Unverified { .. }), "{e}");
    assert_eq!(e.status(), 403);
    // The log's key over another text: a known key whose signature fails.
    let good = String::from_utf8(log.note(10)).unwrap();
    let other = String::from_utf8(log.note(9)).unwrap();
    let forged = format!(
        "{}\n{}",
        log.checkpoint(10).to_text(),
        other.split_once("\n\n").unwrap().1
    );
    assert_ne!(forged, good);
    let e = refused(&w, &body(3, &log.proof(3, 10), forged.as_bytes()));
    assert_eq!(e.status(), 403, "{e}");
    // An unknown key beside the trusted one is ignored.
    let both = sign_note(&text, &[&impostor, &log.signer]).unwrap();
    let witness_b = Witness::new(
        "w",
        &[1; 32],
        [log.vkey().as_str()],
        Box::new(MemoryStore::new()),
    )
    .unwrap();
    witness_b
        .add_checkpoint_body(&body(0, &[], both.as_bytes()), NOW)
        .unwrap();
}

#[test]
fn status_404_for_an_unknown_origin() {
    let (_, w) = at_three();
    let stranger = Log::new("log.test/unknown", 1, 10);
    let e = refused(&w, &stranger.body(0, 3));
    assert!(matches!(e, AddError::UnknownOrigin { .. }), "{e}");
    assert_eq!(e.status(), 404);
}

#[test]
fn status_409_with_the_latest_size_for_a_stale_old_size() {
    let (log, w) = at_three();
    for old in [0, 2] {
        let e = refused(&w, &log.body(old, 10));
        assert!(
            matches!(
                e,
                AddError::OldSizeMismatch {
                    latest: TreeSize(3),
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.status(), 409);
    }
}

#[test]
fn status_409_for_the_same_size_with_another_root() {
    let (log, w) = at_three();
    let forked = Checkpoint::new("log.test/a", TreeSize(3), Hash([7; 32]));
    let note = sign_note(&forked.to_text(), &[&log.signer]).unwrap();
    let e = refused(&w, &body(3, &[], note.as_bytes()));
    assert!(matches!(e, AddError::RootMismatch { size: 3 }), "{e}");
    assert_eq!(e.status(), 409);
    // The same checkpoint again is cosigned again.
    let sigs = w.add_checkpoint_body(&log.body(3, 3), NOW + 5).unwrap();
    assert_cosigned(
        w.verifier_key(),
        &log.checkpoint(3).to_text(),
        &sigs,
        NOW + 5,
    );
}

#[test]
fn status_422_for_a_proof_that_does_not_verify() {
    let (log, w) = at_three();
    let mut proof = log.proof(3, 10);
    proof[0].0[0] ^= 1;
    let cases = [
        proof,
        log.proof(3, 10)[1..].to_vec(),
        // A proof from another old size.
        log.proof(2, 10),
        // A root the proof does not lead to.
        Vec::new(),
    ];
    for proof in cases {
        let e = refused(&w, &body(3, &proof, &log.note(10)));
        assert!(matches!(e, AddError::InvalidProof { .. }), "{e}");
        assert_eq!(e.status(), 422);
    }
    // A proof between equal sizes must be empty.
    let e = refused(&w, &body(3, &[Hash([1; 32])], &log.note(3)));
    assert_eq!(e.status(), 422, "{e}");
    // Nothing was stored.
    assert_eq!(w.latest("log.test/a").unwrap().unwrap().size, TreeSize(3));
}

#[test]
fn a_first_checkpoint_of_size_zero_must_be_the_empty_tree() {
    let log = Log::new("log.test/a", 1, 10);
    let w = witness(&[&log]);
    let sigs = w.add_checkpoint_body(&log.body(0, 0), NOW).unwrap();
    assert_cosigned(w.verifier_key(), &log.checkpoint(0).to_text(), &sigs, NOW);
    let not_empty = Checkpoint::new("log.test/a", TreeSize(0), Hash([1; 32]));
    let note = sign_note(&not_empty.to_text(), &[&log.signer]).unwrap();
    assert_eq!(refused(&w, &body(0, &[], note.as_bytes())).status(), 409);
}

#[test]
fn configuration_errors_name_the_key() {
    let log = Log::new("log.test/a", 1, 1);
    let new = |vkeys: &[&str]| {
        Witness::new(
            "w",
            &[1; 32],
            vkeys.iter().copied(),
            Box::new(MemoryStore::new()),
        )
        .unwrap_err()
    };
    assert!(matches!(new(&[]), ConfigError::NoLogs));
    assert!(matches!(new(&["garbage"]), ConfigError::LogKey { .. }));
    let cosigner = signet_note::CosignatureV1Signer::from_seed("c", &[1; 32], 0)
        .unwrap()
        .verifier_key();
    let e = new(&[&log.vkey(), &cosigner]);
    assert!(matches!(e, ConfigError::LogKeyType { alg: 4, .. }), "{e}");
    assert!(e.to_string().contains(&cosigner));
    assert!(matches!(
        Witness::new(
            "bad name",
            &[1; 32],
            [log.vkey().as_str()],
            Box::new(MemoryStore::new())
        )
        .unwrap_err(),
        ConfigError::WitnessKey(_)
    ));
}

/// Posts `body`; status, content type and body.
async fn post(base: &str, body: Vec<u8>) -> (u16, String, String) {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_over_http() {
    let (log, w) = at_three();
    let w = Arc::new(w);
    let base = serve_witness(w.clone()).await;

    // 409 with the size, as text/x.tlog.size.
    let (status, content_type, text) = post(&base, log.body(0, 10)).await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "3\n")
    );

    // 200 with the cosignature line.
    let (status, _, text) = post(&base, log.body(3, 10)).await;
    assert_eq!(status, 200, "{text}");
    let sigs = signet_witness::protocol::parse_cosignatures(text.as_bytes()).unwrap();
    assert_cosigned(w.verifier_key(), &log.checkpoint(10).to_text(), &sigs, NOW);

    // 409 without a size: same size, another root.
    let forked = Checkpoint::new("log.test/a", TreeSize(10), Hash([7; 32]));
    let note = sign_note(&forked.to_text(), &[&log.signer]).unwrap();
    let (status, content_type, _) = post(&base, body(10, &[], note.as_bytes())).await;
    assert_eq!(status, 409);
    assert_ne!(content_type, "text/x.tlog.size");

    // 400: old past the checkpoint; too many proof lines; garbage.
    let (status, _, text) = post(&base, body(11, &[], &log.note(10))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("old size 11"), "{text}");
    let lines = format!("{}\n", STANDARD.encode([1u8; 32])).repeat(64);
    let mut many = format!("old 10\n{lines}\n").into_bytes();
    many.extend_from_slice(&log.note(10));
    assert_eq!(post(&base, many).await.0, 400);
    assert_eq!(post(&base, b"hello".to_vec()).await.0, 400);

    // 403, 404.
    let impostor = Ed25519NoteSigner::from_seed("log.test/a", &[99; 32]).unwrap();
    let note = sign_note(&log.checkpoint(10).to_text(), &[&impostor]).unwrap();
    assert_eq!(post(&base, body(10, &[], note.as_bytes())).await.0, 403);
    let stranger = Log::new("log.test/unknown", 1, 3);
    assert_eq!(post(&base, stranger.body(0, 3)).await.0, 404);

    // 422.
    let (status, _, text) = post(&base, body(3, &[Hash([5; 32])], &log.note(10))).await;
    assert_eq!(status, 409, "the witness is at 10 now: {text}");
    let (status, _, text) = post(&base, body(10, &log.proof(3, 10), &log.note(10))).await;
    assert_eq!(status, 422, "{text}");

    // 413 for a body over the limit; 405 for GET.
    let huge = vec![b'a'; signet_witness::protocol::MAX_REQUEST_SIZE + 1];
    assert_eq!(post(&base, huge).await.0, 413);
    let r = reqwest::get(format!("{base}/add-checkpoint"))
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_at_the_epoch_cosigns_nothing() {
    let log = Log::new("log.test/a", 1, 3);
    let w = Arc::new(witness(&[&log]));
    let base = crate::common::serve(signet_witness::router(
        w.clone(),
        signet_clock::Clock::fixed(0),
    ))
    .await;
    assert_eq!(post(&base, log.body(0, 3)).await.0, 503);
    assert!(w.latest("log.test/a").unwrap().is_none());
}
