//! Round trips and robustness: parse(serialize(x)) == x, and no input makes the parsers panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use signet_merkle::{Hash, TreeSize};
use signet_note::*;

fn text_line() -> impl Strategy<Value = String> {
    // Printable text including non-ASCII, without control characters.
    "[a-zA-Z0-9 ./:+=\u{e8}\u{2014}-]{1,40}"
}

fn key_name() -> impl Strategy<Value = String> {
    "[a-z0-9./_-]{1,20}"
}

proptest! {
    #[test]
    fn notes_round_trip(
        lines in proptest::collection::vec(text_line(), 1..6),
        sigs in proptest::collection::vec((key_name(), any::<u32>(), proptest::collection::vec(any::<u8>(), 1..80)), 1..20),
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let signatures: Vec<NoteSignature> = sigs
            .into_iter()
            .map(|(name, key_id, signature)| NoteSignature { name, key_id, signature })
            .collect();
        let note = Note::new(&text, signatures).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        prop_assert_eq!(&parsed, &note);
    }

    #[test]
    fn checkpoints_round_trip(
        origin in text_line(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec(text_line(), 0..3),
    ) {
        let cp = Checkpoint { origin, size: TreeSize(size), root_hash: Hash(root), extensions };
        prop_assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
    }

    #[test]
    fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        signet_note::fuzz::parse_note(&data);
    }

    #[test]
    fn near_miss_notes_never_panic(text in "[a-z\n]{0,30}", tail in "(\u{2014} [a-z+ ]{0,10} [A-Za-z0-9+/=]{0,20}\n?){0,3}") {
        signet_note::fuzz::parse_note(format!("{text}\n\n{tail}").as_bytes());
    }

    #[test]
    fn signed_checkpoints_verify(size in any::<u64>(), root in any::<[u8; 32]>(), seed in any::<[u8; 32]>()) {
        let signer = Ed25519NoteSigner::from_seed("log.example/a", &seed).unwrap();
        let cp = Checkpoint::new("log.example/a", TreeSize(size), Hash(root));
        let note = sign_note(&cp.to_text(), &[&signer]).unwrap();
        let verifiers = NoteVerifiers::from_vkeys([signer.verifier_key().as_str()]).unwrap();
        let opened = open_note(note.as_bytes(), &verifiers).unwrap();
        prop_assert_eq!(Checkpoint::parse(opened.text()).unwrap(), cp);
    }
}

#[test]
fn checkpoint_parse_errors_are_precise() {
    let root = "rs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=";
    assert!(matches!(
        Checkpoint::parse(&format!("o\n01\n{root}\n")),
        Err(CheckpointError::Size(_))
    ));
    assert!(matches!(
        Checkpoint::parse(&format!("o\n-1\n{root}\n")),
        Err(CheckpointError::Size(_))
    ));
    assert!(matches!(
        Checkpoint::parse(&format!("o\n18446744073709551616\n{root}\n")),
        Err(CheckpointError::Size(_))
    ));
    assert!(matches!(
        Checkpoint::parse("o\n1\nAAAA\n"),
        Err(CheckpointError::RootHash(_))
    ));
    assert!(matches!(
        Checkpoint::parse(&format!("\n1\n{root}\n")),
        Err(CheckpointError::EmptyOrigin)
    ));
    assert!(matches!(
        Checkpoint::parse("o\n1\n"),
        Err(CheckpointError::MissingLine(_))
    ));
    assert!(matches!(
        Checkpoint::parse(&format!("o\n1\n{root}")),
        Err(CheckpointError::MissingLine(_))
    ));
    assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
    assert!(RekorV1Origin::parse("rekor.sigstore.dev - 1193050959916656506").is_ok());
    assert!(RekorV1Origin::parse("rekor.sigstore.dev").is_err());
    assert!(RekorV1Origin::parse("rekor.sigstore.dev - x").is_err());
}

#[test]
fn note_parse_errors_are_precise() {
    let sig = "\u{2014} k AAAAAAE=\n";
    assert!(matches!(
        Note::parse(b"text\n"),
        Err(NoteError::MissingSignatureBlock)
    ));
    assert!(matches!(
        Note::parse(format!("text\n\n{}", sig.trim_end()).as_bytes()),
        Err(NoteError::UnterminatedSignature)
    ));
    assert!(matches!(
        Note::parse(b"te\x07xt\n\n"),
        Err(NoteError::ControlCharacter { code: 7, offset: 2 })
    ));
    assert!(matches!(
        Note::parse(b"te\xffxt\n\n"),
        Err(NoteError::NotUtf8 { offset: 2 })
    ));
    assert!(matches!(
        Note::parse(b"text\n\n- k AAAAAAE=\n"),
        Err(NoteError::MalformedSignatureLine { line: 1, .. })
    ));
    assert!(matches!(
        Note::parse("text\n\n\u{2014} k AAAAAA==\n".as_bytes()),
        Err(NoteError::MalformedSignatureLine { .. })
    ));
    assert!(matches!(
        Note::parse("text\n\n\u{2014} k+x AAAAAAE=\n".as_bytes()),
        Err(NoteError::MalformedSignatureLine { .. })
    ));
    assert!(Note::parse(format!("text\n\n{sig}").as_bytes()).is_ok());
    let huge = vec![b'a'; MAX_NOTE_SIZE + 1];
    assert!(matches!(
        Note::parse(&huge),
        Err(NoteError::TooLarge { .. })
    ));
}
