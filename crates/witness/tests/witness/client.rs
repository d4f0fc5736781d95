//! The client against the router served on a real loopback port (it verifies the
//! cosignature, returns `Conflict` on a 409 with a size), and against fake witnesses that
//! answer wrongly.

use crate::common::{Log, NOW, serve, serve_witness, witness};
use axum::routing::post;
use signet_merkle::{Hash, TreeSize};
use signet_note::{Checkpoint, CosignatureV1Signer, NoteSigner as _, NoteVerifiers, sign_note};
use signet_witness::{AddOutcome, WitnessClient, WitnessClientError, WitnessSpec};
use std::sync::Arc;
use std::time::Duration;

fn client(vkey: &str, base: &str) -> WitnessClient {
    let spec: WitnessSpec = format!("{vkey}@{base}/").parse().unwrap();
    assert_eq!(spec.url, base);
    WitnessClient::new(reqwest::Client::new(), spec).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_against_the_router() {
    let log = Log::new("log.test/client", 5, 10);
    let w = Arc::new(witness(&[&log]));
    let base = serve_witness(w.clone()).await;
    let c = client(w.verifier_key(), &base);
    assert_eq!(c.spec().name(), crate::common::WITNESS_NAME);
    assert_eq!(c.timeout(), signet_witness::DEFAULT_TIMEOUT);

    let AddOutcome::Cosigned(sigs) = c.add_checkpoint(0, &[], &log.note(3)).await.unwrap() else {
        panic!("not cosigned")
    };
    crate::common::assert_cosigned(w.verifier_key(), &log.checkpoint(3).to_text(), &sigs, NOW);

    // The log thinks the witness is at 0: a conflict with the size.
    assert_eq!(
        c.add_checkpoint(0, &[], &log.note(10)).await.unwrap(),
        AddOutcome::Conflict { latest_size: 3 }
    );
    let outcome = c
        .add_checkpoint(3, &log.proof(3, 10), &log.note(10))
        .await
        .unwrap();
    assert!(matches!(outcome, AddOutcome::Cosigned(ref s) if s.len() == 1));
    // The cosigned note opens with the witness's key.
    let AddOutcome::Cosigned(sigs) = outcome else {
        unreachable!()
    };
    let witnessed = format!("{}\n{}\n", log.checkpoint(10).to_text(), sigs[0].to_line());
    signet_note::open_note(
        witnessed.as_bytes(),
        &NoteVerifiers::from_vkeys([w.verifier_key()]).unwrap(),
    )
    .unwrap();

    // A 409 without a size (same size, another root) is an error naming the witness.
    let forked = Checkpoint::new("log.test/client", TreeSize(10), Hash([9; 32]));
    let note = sign_note(&forked.to_text(), &[&log.signer]).unwrap();
    let e = c
        .add_checkpoint(10, &[], note.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(e, WitnessClientError::Status { status: 409, .. }),
        "{e}"
    );
    assert!(e.to_string().contains(crate::common::WITNESS_NAME), "{e}");
    // 404 and 422 come back as statuses with the witness's reason.
    let stranger = Log::new("log.test/nobody", 1, 3);
    let e = c
        .add_checkpoint(0, &[], &stranger.note(3))
        .await
        .unwrap_err();
    assert!(
        matches!(e, WitnessClientError::Status { status: 404, ref body, .. } if body.contains("log.test/nobody")),
        "{e}"
    );
    let e = c
        .add_checkpoint(10, &[], &log.note(10))
        .await
        .map(|_| ())
        .and(c.add_checkpoint(10, &[Hash([1; 32])], &log.note(10)).await)
        .unwrap_err();
    assert!(
        matches!(e, WitnessClientError::Status { status: 422, .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_refuses_to_send_malformed_requests() {
    let log = Log::new("log.test/client", 5, 10);
    let w = witness(&[&log]);
    // Nothing listens on it: the errors come before any connection.
    let c = client(w.verifier_key(), "http://127.0.0.1:9");
    let e = c
        .add_checkpoint(3, &vec![Hash([1; 32]); 64], &log.note(10))
        .await
        .unwrap_err();
    assert!(matches!(e, WitnessClientError::Request { .. }), "{e}");
    let e = c
        .add_checkpoint(0, &[Hash([1; 32])], &log.note(10))
        .await
        .unwrap_err();
    assert!(matches!(e, WitnessClientError::Request { .. }), "{e}");
    let e = c.add_checkpoint(0, &[], b"not a note").await.unwrap_err();
    assert!(matches!(e, WitnessClientError::Checkpoint { .. }), "{e}");
    let e = c.add_checkpoint(0, &[], &log.note(3)).await.unwrap_err();
    assert!(matches!(e, WitnessClientError::Transport { .. }), "{e}");
}

/// A fake witness answering every request with `status`, `content_type` and `body`, after
/// `delay`.
async fn fake(status: u16, content_type: &'static str, body: Vec<u8>, delay: Duration) -> String {
    let router = axum::Router::new().route(
        "/add-checkpoint",
        post(move || {
            let body = body.clone();
            async move {
                tokio::time::sleep(delay).await;
                axum::response::Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(axum::body::Body::from(body))
                    .unwrap()
            }
        }),
    );
    serve(router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_answers_are_errors() {
    let log = Log::new("log.test/client", 5, 10);
    let note = log.note(3);
    let text = log.checkpoint(3).to_text();
    let ours = CosignatureV1Signer::from_seed("w.test", &[1; 32], NOW).unwrap();
    let theirs = CosignatureV1Signer::from_seed("other.test", &[2; 32], NOW).unwrap();
    let line = |signer: &CosignatureV1Signer, text: &str| {
        signet_note::NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            signature: signer.sign(text).unwrap(),
        }
        .to_line()
            + "\n"
    };
    let no_delay = Duration::ZERO;
    let ask = |base: String| {
        let c = client(&ours.verifier_key(), &base).with_timeout(Duration::from_millis(500));
        let note = note.clone();
        async move { c.add_checkpoint(0, &[], &note).await }
    };

    // Another witness's line beside ours: dropped, ours kept.
    let body = format!("{}{}", line(&theirs, &text), line(&ours, &text));
    let base = fake(200, "text/plain", body.into_bytes(), no_delay).await;
    let AddOutcome::Cosigned(sigs) = ask(base).await.unwrap() else {
        panic!()
    };
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].name, "w.test");

    // Only another witness's line.
    let base = fake(
        200,
        "text/plain",
        line(&theirs, &text).into_bytes(),
        no_delay,
    )
    .await;
    let e = ask(base).await.unwrap_err();
    assert!(
        matches!(e, WitnessClientError::NoCosignature { ref names, .. } if names == "other.test"),
        "{e}"
    );

    // Our key over another text.
    let base = fake(
        200,
        "text/plain",
        line(&ours, "other\n").into_bytes(),
        no_delay,
    )
    .await;
    let e = ask(base).await.unwrap_err();
    assert!(
        matches!(e, WitnessClientError::InvalidCosignature { .. }),
        "{e}"
    );

    // Not signature lines.
    let base = fake(200, "text/plain", b"ok\n".to_vec(), no_delay).await;
    let e = ask(base).await.unwrap_err();
    assert!(matches!(e, WitnessClientError::BadResponse { .. }), "{e}");

    // A 409 with a size that is not one.
    let base = fake(409, "text/x.tlog.size", b"ten\n".to_vec(), no_delay).await;
    let e = ask(base).await.unwrap_err();
    assert!(matches!(e, WitnessClientError::BadResponse { .. }), "{e}");
    // A 409 with a size but the content type parameterised: still a conflict.
    let base = fake(
        409,
        "text/x.tlog.size; charset=utf-8",
        b"7\n".to_vec(),
        no_delay,
    )
    .await;
    assert_eq!(
        ask(base).await.unwrap(),
        AddOutcome::Conflict { latest_size: 7 }
    );

    // A 500 with a long body: the excerpt is bounded.
    let base = fake(500, "text/plain", vec![b'x'; 10_000], no_delay).await;
    let e = ask(base).await.unwrap_err();
    let WitnessClientError::Status {
        status: 500, body, ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(body.len(), 200);

    // An answer larger than any cosignature.
    let huge = line(&ours, &text).repeat(2000).into_bytes();
    let base = fake(200, "text/plain", huge, no_delay).await;
    let e = ask(base).await.unwrap_err();
    assert!(
        matches!(e, WitnessClientError::ResponseTooLarge { .. }),
        "{e}"
    );

    // Too slow.
    let base = fake(
        200,
        "text/plain",
        line(&ours, &text).into_bytes(),
        Duration::from_secs(3),
    )
    .await;
    let e = ask(base).await.unwrap_err();
    assert!(matches!(e, WitnessClientError::Timeout { .. }), "{e}");
}
