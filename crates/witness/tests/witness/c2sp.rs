//! The C2SP examples (`../shared/testdata/signed-note/c2sp-examples.json`): the spec's
//! checkpoint as the checkpoint of an `add-checkpoint` request, its cosignature example, and
//! the one example whose key is published.
//!
//! The shared vectors hold no `tlog-witness` request example, so the request is built from
//! the spec's checkpoint example exactly as the spec lays a request out.

use crate::common::{Log, NOW, WITNESS_NAME, WITNESS_SEED};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet_merkle::{Hash, TreeSize};
use signet_note::{Checkpoint, CosignatureV1Verifier, Note, NoteVerifiers};
use signet_witness::protocol::parse_cosignatures;
use signet_witness::{AddCheckpointRequest, AddError, MemoryStore, Witness};

fn examples() -> serde_json::Value {
    let path = signet_testdata::path("signed-note/c2sp-examples.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn example(name: &str) -> serde_json::Value {
    examples()["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no example {name}"))
        .clone()
}

fn string(v: &serde_json::Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn a_request_carrying_the_spec_checkpoint_parses() {
    let ex = example("tlog-checkpoint-example");
    let note = string(&ex["note"]).as_bytes();
    let proof = [Hash([0x11; 32]), Hash([0x22; 32])];
    let mut body = b"old 20852000\n".to_vec();
    for hash in &proof {
        body.extend_from_slice(format!("{}\n", STANDARD.encode(hash.0)).as_bytes());
    }
    body.push(b'\n');
    body.extend_from_slice(note);

    let request = AddCheckpointRequest::parse(&body).unwrap();
    assert_eq!(request.old_size, TreeSize(20_852_000));
    assert_eq!(request.proof, proof);
    assert_eq!(request.checkpoint, note);
    assert_eq!(request.to_bytes(), body);

    let parsed = Note::parse(&request.checkpoint).unwrap();
    assert_eq!(parsed.text(), string(&ex["text"]));
    let checkpoint = Checkpoint::parse(parsed.text()).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, TreeSize(20_852_163));
}

#[test]
fn the_spec_checkpoint_is_refused_by_origin_then_by_key() {
    let ex = example("tlog-checkpoint-example");
    let body = format!("old 0\n\n{}", string(&ex["note"]));
    // A witness of another log: 404.
    let other = Log::new("example.com/other", 1, 1);
    let witness = crate::common::witness(&[&other]);
    let e = witness
        .add_checkpoint_body(body.as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(e, AddError::UnknownOrigin { .. }), "{e}");
    assert_eq!(e.status(), 404);
    // A witness of that origin with a key of its own: the spec's signature is by an unknown
    // key, ignored, so no trusted signature remains: 403.
    let sofa = Log::new("example.com/behind-the-sofa", 2, 1);
    let witness = crate::common::witness(&[&sofa]);
    let e = witness
        .add_checkpoint_body(body.as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(e, AddError::Unverified { .. }), "{e}");
    assert_eq!(e.status(), 403);
}

#[test]
fn the_cosignature_example_is_a_cosignature_v1_line() {
    let all = examples();
    let ex = example("tlog-cosignature-example");
    let note = Note::parse(string(&ex["note"]).as_bytes()).unwrap();
    assert_eq!(note.text(), string(&ex["text"]));
    let cosignature = &note.signatures()[1];
    assert_eq!(cosignature.name, "witness.example.com/w1");
    // 8-byte timestamp and a 64-byte Ed25519 signature.
    assert_eq!(cosignature.signature.len(), 72);
    let timestamp = CosignatureV1Verifier::timestamp(&cosignature.signature).unwrap();
    assert_eq!(timestamp, 1_679_315_147);
    // What that signature covers, as the spec spells it out.
    assert_eq!(
        signet_note::cosignature_v1_message(timestamp, note.text()),
        string(&all["cosignature_v1_signed_message_example"]["message"])
    );
    // The line as a witness's answer parses back to the same signature.
    let answer = format!("{}\n", cosignature.to_line());
    assert_eq!(
        parse_cosignatures(answer.as_bytes()).unwrap(),
        vec![cosignature.clone()]
    );
    // The spec publishes no key for it: a witness of ours does not accept it as its own.
    let ours = Witness::new(
        WITNESS_NAME,
        &WITNESS_SEED,
        [Log::new("l", 1, 1).vkey().as_str()],
        Box::new(MemoryStore::new()),
    )
    .unwrap();
    let verifiers = NoteVerifiers::from_vkeys([ours.verifier_key()]).unwrap();
    assert!(signet_note::open_note(string(&ex["note"]).as_bytes(), &verifiers).is_err());
}

#[test]
fn the_example_with_a_published_key_verifies() {
    // Only `signed-note-vkey-example` publishes its key: the witness's log keys are keys of
    // that form, and signet-note verifies with them.
    let ex = example("signed-note-vkey-example");
    let vkeys: Vec<&str> = ex["vkeys"].as_array().unwrap().iter().map(string).collect();
    let verifiers = NoteVerifiers::from_vkeys(vkeys.iter().copied()).unwrap();
    let opened = signet_note::open_note(string(&ex["note"]).as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.text(), string(&ex["text"]));
    // As a log key of a witness it is accepted (Ed25519, type 0x01), under its name.
    let witness = Witness::new(
        WITNESS_NAME,
        &WITNESS_SEED,
        vkeys.iter().copied(),
        Box::new(MemoryStore::new()),
    )
    .unwrap();
    assert_eq!(witness.origins().collect::<Vec<_>>(), ["example.com/foo"]);
    // Its note is not a checkpoint: 400.
    let body = format!("old 0\n\n{}", string(&ex["note"]));
    let e = witness
        .add_checkpoint_body(body.as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(e, AddError::Checkpoint(_)), "{e}");
    assert_eq!(e.status(), 400);
}
