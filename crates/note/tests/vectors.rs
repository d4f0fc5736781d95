//! Signed-note and checkpoint vectors from `../shared/testdata/` (C2SP, Go sumdb, the
//! serverless-log test log, real Rekor v1 and v2 checkpoints from Sigstore bundles) and the CCTV
//! Ed25519 edge cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use signet_merkle::{Hash, MemoryTree, TreeSize, hash_leaf};
use signet_note::*;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(signet_testdata::path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json<T: for<'de> Deserialize<'de>>(rel: &str) -> T {
    serde_json::from_slice(&read(rel)).unwrap()
}

#[derive(Deserialize)]
struct C2sp {
    examples: Vec<C2spExample>,
    cosignature_v1_signed_message_example: Message,
}
#[derive(Deserialize)]
struct C2spExample {
    name: String,
    note: String,
    text: String,
    signatures: Vec<SigExample>,
    vkeys: Vec<String>,
    expect: String,
}
#[derive(Deserialize)]
struct SigExample {
    key_name: String,
    sig_b64: String,
}
#[derive(Deserialize)]
struct Message {
    message: String,
}

#[test]
fn c2sp_examples() {
    let v: C2sp = json("signed-note/c2sp-examples.json");
    assert_eq!(v.examples.len(), 4);
    for ex in &v.examples {
        let note = Note::parse(ex.note.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", ex.name));
        assert_eq!(note.text(), ex.text, "{}", ex.name);
        assert_eq!(note.to_text(), ex.note, "{}: serializes back", ex.name);
        assert_eq!(note.signatures().len(), ex.signatures.len());
        for (got, want) in note.signatures().iter().zip(&ex.signatures) {
            assert_eq!(got.name, want.key_name);
            let raw = STANDARD.decode(&want.sig_b64).unwrap();
            assert_eq!(got.key_id.to_be_bytes().as_slice(), &raw[..4]);
            assert_eq!(got.signature, &raw[4..]);
        }
        match ex.expect.as_str() {
            "verified" => {
                let verifiers =
                    NoteVerifiers::from_vkeys(ex.vkeys.iter().map(String::as_str)).unwrap();
                let opened = open_note(ex.note.as_bytes(), &verifiers).unwrap();
                assert_eq!(opened.verified_signatures().count(), ex.signatures.len());
            }
            "parse-only" => {}
            other => panic!("unknown expectation {other}"),
        }
    }
    // The checkpoint examples parse as checkpoints, and the cosignature carries the timestamp of
    // the spec's signed-message example.
    let cp_example = &v.examples[2];
    let cp = Checkpoint::parse(&cp_example.text).unwrap();
    assert_eq!(
        (cp.origin.as_str(), cp.size),
        ("example.com/behind-the-sofa", TreeSize(20852163))
    );
    assert_eq!(cp.to_text(), cp_example.text);
    let cosigned = Note::parse(v.examples[3].note.as_bytes()).unwrap();
    let witness = &cosigned.signatures()[1];
    let ts = CosignatureV1Verifier::timestamp(&witness.signature).unwrap();
    assert_eq!(
        cosignature_v1_message(ts, cosigned.text()),
        v.cosignature_v1_signed_message_example.message
    );
    assert_eq!(witness.signature.len(), 8 + 64);
}

#[test]
fn c2sp_vkey_example_files() {
    let vkey = String::from_utf8(read("signed-note/c2sp-vkey-example.vkey")).unwrap();
    let verifiers = NoteVerifiers::from_vkeys([vkey.trim()]).unwrap();
    let opened = open_note(&read("signed-note/c2sp-vkey-example.note"), &verifiers).unwrap();
    assert_eq!(opened.text(), "This is an example message.\n");
}

#[derive(Deserialize)]
struct GoNotes {
    keys: GoKeys,
    bad_vkeys: Vec<String>,
    text: String,
    signed_notes: Vec<GoSigned>,
    malformed_notes: Vec<String>,
}
#[derive(Deserialize)]
#[allow(non_snake_case)]
struct GoKeys {
    PeterNeumann: GoKey,
    EnochRoot: GoKey,
}
#[derive(Deserialize)]
struct GoKey {
    vkey: String,
    skey: Option<String>,
}
#[derive(Deserialize)]
struct GoSigned {
    name: String,
    note: String,
    vkeys: Vec<String>,
    expect: String,
    verified_names: Option<Vec<String>>,
}

#[test]
fn go_sumdb_notes() {
    let v: GoNotes = json("signed-note/golang-sumdb-note.json");
    // Keys parse; the signer key reproduces the first note exactly (Ed25519 is deterministic).
    let peter = Ed25519NoteSigner::from_skey(v.keys.PeterNeumann.skey.as_deref().unwrap()).unwrap();
    assert_eq!(peter.verifier_key(), v.keys.PeterNeumann.vkey);
    assert_eq!(peter.skey(), v.keys.PeterNeumann.skey.clone().unwrap());
    assert_eq!(
        sign_note(&v.text, &[&peter]).unwrap(),
        v.signed_notes[0].note
    );
    parse_vkey(&v.keys.EnochRoot.vkey).unwrap();
    for bad in &v.bad_vkeys {
        assert!(parse_vkey(bad).is_err(), "{bad} accepted");
    }
    for case in &v.signed_notes {
        let verifiers = NoteVerifiers::from_vkeys(case.vkeys.iter().map(String::as_str)).unwrap();
        let result = open_note(case.note.as_bytes(), &verifiers);
        match case.expect.as_str() {
            "verified" => {
                assert_eq!(
                    result.unwrap().verified_signatures().count(),
                    case.vkeys.len(),
                    "{}",
                    case.name
                )
            }
            "verified-subset" => {
                let opened = result.unwrap();
                let names: Vec<String> = opened
                    .verified_signatures()
                    .map(|s| s.name.clone())
                    .collect();
                assert_eq!(Some(names), case.verified_names, "{}", case.name);
                assert_eq!(opened.unverified_signatures().count(), 1);
            }
            "error" => assert!(result.is_err(), "{} accepted", case.name),
            other => panic!("unknown expectation {other}"),
        }
    }
    let verifiers = NoteVerifiers::from_vkeys([v.keys.PeterNeumann.vkey.as_str()]).unwrap();
    assert_eq!(v.malformed_notes.len(), 7);
    for bad in &v.malformed_notes {
        // The vector file stores the raw byte 0xff as U+00FF.
        let raw: Vec<u8> = match bad.strip_prefix('\u{ff}') {
            Some(rest) => [&[0xffu8][..], rest.as_bytes()].concat(),
            None => bad.clone().into_bytes(),
        };
        assert!(Note::parse(&raw).is_err(), "malformed note parsed: {bad:?}");
        assert!(open_note(&raw, &verifiers).is_err());
    }
    // The note file with two signatures verifies with both keys.
    let both = NoteVerifiers::from_vkeys([
        v.keys.PeterNeumann.vkey.as_str(),
        v.keys.EnochRoot.vkey.as_str(),
    ])
    .unwrap();
    assert_eq!(
        open_note(&read("signed-note/go-peter-enoch.note"), &both)
            .unwrap()
            .verified_signatures()
            .count(),
        2
    );
}

#[derive(Deserialize)]
struct ServerlessKeys {
    origin: String,
    vkey: String,
    skey: String,
    leaves_in_order: Vec<String>,
}

#[test]
fn serverless_log_checkpoints_match_recomputed_roots() {
    let keys: ServerlessKeys = json("serverless-log/keys.json");
    assert_eq!(
        String::from_utf8(read("serverless-log/log.vkey"))
            .unwrap()
            .trim(),
        keys.vkey
    );
    let verifiers = NoteVerifiers::from_vkeys([keys.vkey.as_str()]).unwrap();
    let signer = Ed25519NoteSigner::from_skey(&keys.skey).unwrap();
    let mut tree = MemoryTree::new();
    for n in 0..=15usize {
        if n > 0 {
            // Leaves come from the log's own sequenced files, checked against keys.json.
            let data = read(&format!("serverless-log/log/seq/00/00/00/00/{:02x}", n - 1));
            assert_eq!(data, keys.leaves_in_order[n - 1].as_bytes());
            tree.push(hash_leaf(&data));
        }
        let raw = read(&format!("serverless-log/log/checkpoint.{n}"));
        let opened = open_note(&raw, &verifiers).unwrap_or_else(|e| panic!("checkpoint.{n}: {e}"));
        let cp = Checkpoint::parse(opened.text()).unwrap();
        assert_eq!(cp.origin, keys.origin);
        assert_eq!(cp.size, TreeSize(n as u64));
        assert_eq!(cp.root_hash, tree.root(), "checkpoint.{n} root");
        // Our signer reproduces the log's signature byte for byte.
        assert_eq!(
            sign_note(opened.text(), &[&signer]).unwrap().as_bytes(),
            raw.as_slice()
        );
    }
    assert_eq!(
        read("serverless-log/log/checkpoint"),
        read("serverless-log/log/checkpoint.15")
    );

    // A tampered checkpoint is rejected by the known key.
    let raw = String::from_utf8(read("serverless-log/log/checkpoint.15")).unwrap();
    let tampered = raw.replacen("\n15\n", "\n16\n", 1);
    assert!(matches!(
        open_note(tampered.as_bytes(), &verifiers),
        Err(NoteError::InvalidSignature { .. })
    ));
}

fn checkpoint_of(bundle_rel: &str) -> String {
    let b: Value = json(bundle_rel);
    b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tlog_key(root_rel: &str, base_url: &str) -> Vec<u8> {
    let root: Value = json(root_rel);
    let tlog = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["baseUrl"] == base_url)
        .unwrap();
    STANDARD
        .decode(tlog["publicKey"]["rawBytes"].as_str().unwrap())
        .unwrap()
}

#[test]
fn rekor_v1_checkpoint_from_a_public_good_bundle() {
    let envelope = checkpoint_of("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let spki = tlog_key(
        "trust/public-good-trusted_root.json",
        "https://rekor.sigstore.dev",
    );
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(
        PkixNoteVerifier::new("rekor.sigstore.dev", &spki).unwrap(),
    ));
    let opened = open_note(envelope.as_bytes(), &verifiers).unwrap();
    let cp = Checkpoint::parse(opened.text()).unwrap();
    let origin = cp.rekor_v1_origin().unwrap();
    assert_eq!(origin.hostname, "rekor.sigstore.dev");
    assert_eq!(origin.tree_id, 2605736670972794746);
    assert_eq!(cp.size, TreeSize(75408393));
    assert_eq!(cp.to_text(), opened.text());
    // The signature key ID is the start of the log ID (SHA-256 of the key's SPKI).
    assert_eq!(
        opened.verified_signatures().next().unwrap().key_id,
        pkix_key_id(&spki)
    );
    // The same checkpoint with a changed root fails.
    let tampered = envelope
        .replacen("FnnJ", "FnnK", 1)
        .replacen("Fnnj", "Fnnk", 1);
    assert!(open_note(tampered.as_bytes(), &verifiers).is_err());
}

#[test]
fn rekor_v2_checkpoint_with_witness_cosignatures() {
    let case = "conformance/bundle-verify/rekor2-checkpoint-multiple-cosigs";
    let envelope = checkpoint_of(&format!("{case}/bundle.sigstore.json"));
    let spki = tlog_key(
        &format!("{case}/trusted_root.json"),
        "https://log2025-alpha1.rekor.sigstage.dev",
    );
    // An Ed25519 SubjectPublicKeyInfo is a 12-byte header and the raw 32-byte key.
    let raw: [u8; 32] = spki[12..].try_into().unwrap();
    let origin = "log2025-alpha1.rekor.sigstage.dev";
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(Ed25519NoteVerifier::new(origin, raw).unwrap()));
    let opened = open_note(envelope.as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.verified_signatures().count(), 1);
    assert_eq!(
        opened.unverified_signatures().count(),
        2,
        "witness cosignatures are ignored"
    );
    let cp = Checkpoint::parse(opened.text()).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size), (origin, TreeSize(736)));
    // The log's key ID is the first four bytes of the log ID in the trusted root.
    let root: Value = json(&format!("{case}/trusted_root.json"));
    let tlog = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["baseUrl"] == "https://log2025-alpha1.rekor.sigstage.dev")
        .unwrap();
    let log_id = STANDARD
        .decode(tlog["logId"]["keyId"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        opened
            .verified_signatures()
            .next()
            .unwrap()
            .key_id
            .to_be_bytes(),
        log_id[..4]
    );
}

#[test]
fn ecdsa_p256_notes_sign_and_verify() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let signer =
        EcdsaP256NoteSigner::from_pkcs8("rekor.example", pkcs8.as_ref(), Box::new(rng)).unwrap();
    let cp = Checkpoint {
        origin: "rekor.example - 42".into(),
        size: TreeSize(7),
        root_hash: Hash([9; 32]),
        extensions: vec!["Timestamp: 1700000000000000000".into()],
    };
    let note = sign_note(&cp.to_text(), &[&signer]).unwrap();
    let mut verifiers = NoteVerifiers::new();
    verifiers.push(Box::new(
        PkixNoteVerifier::new("rekor.example", signer.spki_der()).unwrap(),
    ));
    let opened = open_note(note.as_bytes(), &verifiers).unwrap();
    assert_eq!(Checkpoint::parse(opened.text()).unwrap(), cp);
    assert!(open_note(note.replacen("\n7\n", "\n8\n", 1).as_bytes(), &verifiers).is_err());
    // Another key of the same name is not the signer: its key ID differs, so nothing verifies.
    let other = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let other = EcdsaP256NoteSigner::from_pkcs8(
        "rekor.example",
        other.as_ref(),
        Box::new(aws_lc_rs::rand::SystemRandom::new()),
    )
    .unwrap();
    let mut wrong = NoteVerifiers::new();
    wrong.push(Box::new(
        PkixNoteVerifier::new("rekor.example", other.spki_der()).unwrap(),
    ));
    assert!(matches!(
        open_note(note.as_bytes(), &wrong),
        Err(NoteError::NoKnownSignature { .. })
    ));
}

#[test]
fn cosignatures_sign_and_verify() {
    let log = Ed25519NoteSigner::from_seed("log.example", &[1; 32]).unwrap();
    let mut witness =
        CosignatureV1Signer::from_seed("witness.example/w1", &[2; 32], 1_700_000_000).unwrap();
    let text = Checkpoint::new("log.example", TreeSize(3), Hash([5; 32])).to_text();
    let note = sign_note(&text, &[&log, &witness]).unwrap();
    let verifiers =
        NoteVerifiers::from_vkeys([log.verifier_key().as_str(), witness.verifier_key().as_str()])
            .unwrap();
    let opened = open_note(note.as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.verified_signatures().count(), 2);
    let cosig = &opened.note().signatures()[1];
    assert_eq!(
        CosignatureV1Verifier::timestamp(&cosig.signature),
        Some(1_700_000_000)
    );
    // A cosignature whose timestamp is changed no longer verifies.
    witness.set_timestamp(1_700_000_001);
    let mut forged = Note::parse(note.as_bytes()).unwrap();
    let mut sig = forged.signatures()[1].clone();
    sig.signature[..8].copy_from_slice(&1_700_000_001u64.to_be_bytes());
    forged = Note::new(forged.text(), vec![forged.signatures()[0].clone(), sig]).unwrap();
    assert!(matches!(
        open_note(&forged.to_bytes(), &verifiers),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn signature_count_limits() {
    let text = "many signatures\n";
    let signers: Vec<Ed25519NoteSigner> = (0..MAX_SIGNATURES as u8)
        .map(|i| Ed25519NoteSigner::from_seed(&format!("k{i}"), &[i; 32]).unwrap())
        .collect();
    let refs: Vec<&dyn NoteSigner> = signers.iter().map(|s| s as &dyn NoteSigner).collect();
    for count in [1, 16, MAX_SIGNATURES] {
        let note = sign_note(text, &refs[..count]).unwrap();
        let verifiers = NoteVerifiers::from_vkeys(
            signers[..count]
                .iter()
                .map(|s| s.verifier_key())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
        .unwrap();
        assert_eq!(
            open_note(note.as_bytes(), &verifiers)
                .unwrap()
                .verified_signatures()
                .count(),
            count
        );
    }
    let note = sign_note(text, &refs).unwrap();
    let extra = note.clone() + note.lines().last().unwrap() + "\n";
    assert!(matches!(
        Note::parse(extra.as_bytes()),
        Err(NoteError::TooManySignatures { .. })
    ));
}

#[derive(Deserialize)]
struct CctvVector {
    number: u32,
    key: String,
    sig: String,
    msg: String,
    flags: Option<Vec<String>>,
}

/// AWS-LC follows the "ref10" Ed25519 behaviour that Go and OpenSSL share (rejects non-canonical
/// R encodings and signatures that need cofactored verification, `low_order_residue`; computes k
/// over the key bytes as given, so `reencoded_k` vectors fail), and in addition rejects
/// non-canonical public key encodings as RFC 8032 requires. Every other edge case (low-order
/// points, low-order components) is accepted. This pins that policy for note and checkpoint
/// signatures, so a dependency update cannot change it silently.
#[test]
fn ed25519_cctv_policy() {
    let vectors: Vec<CctvVector> = json("ed25519/ed25519vectors.json");
    assert!(vectors.len() > 900);
    let mut mismatches = Vec::new();
    for v in &vectors {
        let key: [u8; 32] = hex_decode(&v.key).try_into().unwrap();
        let sig = hex_decode(&v.sig);
        let verifier = Ed25519NoteVerifier::new("cctv", key).unwrap();
        let accepted = verifier.verify(&v.msg, &sig);
        let flags = v.flags.clone().unwrap_or_default();
        let rejected_flag = flags.iter().any(|f| {
            matches!(
                f.as_str(),
                "non_canonical_R" | "non_canonical_A" | "low_order_residue" | "reencoded_k"
            )
        });
        if accepted == rejected_flag {
            mismatches.push((v.number, accepted, flags));
        }
    }
    assert!(
        mismatches.is_empty(),
        "policy differs on {} vectors: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
