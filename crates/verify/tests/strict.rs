//! The verifier's strictness rules, each tested against a valid twin: the same bundle, trusted
//! root or certificate without the defect verifies.
//!
//! - one identity: a certificate with several subject alternative names is refused;
//! - unambiguous trust: one ID, one key, for tlogs, CT logs and TSAs;
//! - what a bundle says twice agrees: log indexes, checkpoint size and root;
//! - checkpoint signature lines count only under the log's key name and key ID.
//!
//! (In-toto statement limits are tested in `signet-formats`, regex limits through the binary in
//! `crates/signet/tests/verify_limits.rs`.)
//!
//! Rules that need a bundle nobody published (certificates with two names, a validly signed
//! entry whose indexes disagree) use a private Sigstore built here: a `signet-ca` CA and SCT
//! signer, and a Rekor v1 log whose entries, SETs, proofs and checkpoints are made in process.
//! The others mutate real bundles from `../shared/testdata`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{BitString, Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use signet_ca::identity::oids;
use signet_ca::{
    CaAlgorithm, CaKeys, ExtensionValue, Identity, SigningKey, SubjectName, UnloggedSctSigner,
    build_precertificate, encode_sct_list,
};
use signet_formats::bundle::{
    HashAlgorithm, HashOutput, MEDIA_TYPE_V0_3, MessageSignature, VerificationMaterial,
};
use signet_formats::{Bundle, BundleContent, TrustedRoot, VerificationMaterialContent};
use signet_merkle::{LeafIndex, MemoryTree, TreeSize, hash_leaf, prove_inclusion};
use signet_note::{Checkpoint, EcdsaP256NoteSigner, sign_note};
use signet_rekor::{EcdsaP256EntrySigner, LogEntryAnon, V1InclusionProof};
use signet_verify::*;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};

// ---- A private Sigstore --------------------------------------------------------------------

const OIDC_ISSUER: &str = "https://issuer.signet.test";
/// The Rekor v1 log's host: its `baseUrl` host, checkpoint key name and origin prefix.
const LOG_HOST: &str = "log.signet.test";
const SAN_OID: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17");
const POISON_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
const SCT_LIST_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn new_p256() -> (EcdsaKeyPair, Vec<u8>) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    (pair, pkcs8.as_ref().to_vec())
}

fn spki_of(pair: &EcdsaKeyPair) -> Vec<u8> {
    pair.public_key().as_der().unwrap().as_ref().to_vec()
}

/// Where an entry sits: its global `logIndex`, and its index in a shard tree of `tree_size`.
#[derive(Clone, Copy)]
struct Position {
    global: i64,
    proof: u64,
    tree_size: u64,
}

const FIRST: Position = Position {
    global: 0,
    proof: 0,
    tree_size: 1,
};

/// A CA (root and intermediate from `signet-ca`), its SCT signer, and a Rekor v1 log key.
struct Sigstore {
    ca: CaKeys,
    issuer_key: SigningKey,
    sct: UnloggedSctSigner,
    log_pkcs8: Vec<u8>,
    log_spki: Vec<u8>,
    now: i64,
}

impl Sigstore {
    fn new() -> Self {
        let now = unix_now();
        let ca =
            CaKeys::generate(now - 3600, CaAlgorithm::EcdsaP256, &SystemRandom::new()).unwrap();
        let key_pem = ca.to_pem().unwrap().intermediate_key;
        let key_der = signet_x509::decode_pem(&key_pem, "PRIVATE KEY").unwrap();
        let issuer_key = SigningKey::from_pkcs8(&key_der[0]).unwrap();
        let sct_ms = u64::try_from(now - 120).unwrap() * 1000;
        let sct = UnloggedSctSigner::generate(move || sct_ms).unwrap();
        let (log, log_pkcs8) = new_p256();
        Sigstore {
            ca,
            issuer_key,
            sct,
            log_spki: spki_of(&log),
            log_pkcs8,
            now,
        }
    }

    fn trusted_root(&self) -> Value {
        let log = |url: &str, spki: &[u8]| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": STANDARD.encode(spki),
                              "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": "2020-01-01T00:00:00Z"}},
                "logId": {"keyId": STANDARD.encode(Sha256::digest(spki))},
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&format!("https://{LOG_HOST}"), &self.log_spki)],
            "certificateAuthorities": [{
                "subject": {"organization": "signet", "commonName": "signet root"},
                "uri": "https://ca.signet.test",
                "certChain": {"certificates": [
                    {"rawBytes": STANDARD.encode(self.ca.intermediate().der())},
                    {"rawBytes": STANDARD.encode(self.ca.root().der())},
                ]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
            "ctlogs": [log("https://ct.signet.test", self.sct.public_key_spki_der())],
            "timestampAuthorities": [],
        })
    }

    fn trust(&self) -> TrustMaterial {
        trust_of(&self.trusted_root()).unwrap()
    }

    fn sign_tbs(&self, tbs: x509_cert::TbsCertificate) -> Vec<u8> {
        let sig = self.issuer_key.sign(&tbs.to_der().unwrap()).unwrap();
        x509_cert::Certificate {
            tbs_certificate: tbs,
            signature_algorithm: self.issuer_key.signature_algorithm(),
            signature: BitString::from_bytes(&sig).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// A Fulcio-profile leaf for `subject_spki` whose SAN extension lists exactly `sans`: the
    /// CA's own precertificate with its SAN replaced, logged (SCT) and signed as the CA would.
    fn leaf(&self, subject_spki: &[u8], sans: Vec<GeneralName>) -> Vec<u8> {
        let identity = Identity {
            san: SubjectName::Email("placeholder@signet.test".into()),
            extensions: vec![(oids::ISSUER_V2, ExtensionValue::Utf8(OIDC_ISSUER.into()))],
            challenge: String::new(),
        };
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(subject_spki).unwrap();
        let issuer_name = self
            .ca
            .intermediate()
            .inner()
            .tbs_certificate
            .subject
            .clone();
        let mut serial = [0u8; signet_ca::SERIAL_LEN];
        aws_lc_rs::rand::fill(&mut serial).unwrap();
        serial[0] &= 0x7f;
        let pre = build_precertificate(
            &identity,
            &spki,
            self.now - 120,
            serial,
            &issuer_name,
            &self.issuer_key,
        )
        .unwrap();
        let mut tbs = x509_cert::Certificate::from_der(&pre.der)
            .unwrap()
            .tbs_certificate;
        let san = OctetString::new(SubjectAltName(sans).to_der().unwrap()).unwrap();
        for ext in tbs.extensions.as_mut().unwrap() {
            if ext.extn_id == SAN_OID {
                ext.extn_value = san.clone();
            }
        }
        let precert = self.sign_tbs(tbs.clone());
        let sct = self
            .sct
            .sign_sct(&precert, self.ca.issuer_spki_der())
            .unwrap();
        let list = encode_sct_list(&[sct]).unwrap();
        let exts = tbs.extensions.as_mut().unwrap();
        exts.retain(|e| e.extn_id != POISON_OID);
        exts.push(Extension {
            extn_id: SCT_LIST_OID,
            critical: false,
            extn_value: OctetString::new(OctetString::new(list).unwrap().to_der().unwrap())
                .unwrap(),
        });
        self.sign_tbs(tbs)
    }

    /// A v0.3 bundle: `artifact` signed by a fresh key certified for `sans`, logged in the
    /// Rekor v1 log at `at`, with a checkpoint signed by the log's key under `key_name`.
    fn bundle(
        &self,
        sans: Vec<GeneralName>,
        artifact: &[u8],
        at: Position,
        key_name: &str,
    ) -> Bundle {
        let (key, _) = new_p256();
        let leaf = self.leaf(&spki_of(&key), sans);
        let signature = key
            .sign(&SystemRandom::new(), artifact)
            .unwrap()
            .as_ref()
            .to_vec();
        let digest = Sha256::digest(artifact).to_vec();
        let request = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(&digest)}},
            "signature": {"content": STANDARD.encode(&signature),
                          "publicKey": {"content": STANDARD.encode(pem("CERTIFICATE", &leaf))}},
        }});
        let entry =
            signet_rekor::canonicalize_proposed_entry(request.to_string().as_bytes()).unwrap();

        // The shard's tree, with other entries around this one.
        let mut tree = MemoryTree::new();
        for i in 0..at.tree_size {
            if i == at.proof {
                tree.push(hash_leaf(&entry.body));
            } else {
                tree.push(hash_leaf(format!("another entry {i}").as_bytes()));
            }
        }
        let root = tree.root();
        let hashes = prove_inclusion(&tree, LeafIndex(at.proof), TreeSize(at.tree_size)).unwrap();
        let text =
            Checkpoint::new(&format!("{LOG_HOST} - 1234"), TreeSize(at.tree_size), root).to_text();
        let note_signer = EcdsaP256NoteSigner::from_pkcs8(
            key_name,
            &self.log_pkcs8,
            Box::new(SystemRandom::new()),
        )
        .unwrap();
        let checkpoint = sign_note(&text, &[&note_signer]).unwrap();
        let entry_signer =
            EcdsaP256EntrySigner::from_pkcs8(&self.log_pkcs8, Box::new(SystemRandom::new()))
                .unwrap();
        let logged = LogEntryAnon::signed(
            &entry.body,
            self.now - 60,
            at.global,
            &entry_signer,
            Some(V1InclusionProof {
                checkpoint,
                hashes: hashes.iter().map(|h| h.0.to_vec()).collect(),
                log_index: i64::try_from(at.proof).unwrap(),
                root_hash: root.0.to_vec(),
                tree_size: i64::try_from(at.tree_size).unwrap(),
            }),
        )
        .unwrap();
        Bundle {
            media_type: MEDIA_TYPE_V0_3.into(),
            verification_material: VerificationMaterial {
                content: VerificationMaterialContent::Certificate(leaf),
                tlog_entries: vec![logged.to_transparency_log_entry().unwrap()],
                timestamp_verification_data: None,
            },
            content: BundleContent::MessageSignature(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: HashAlgorithm::Sha2_256,
                    digest,
                }),
                signature,
            }),
        }
    }

    fn verify(&self, bundle: &Bundle, artifact: &[u8], policy: &Policy) -> Result<(), VerifyError> {
        verify_bundle(
            bundle,
            &Artifact::Bytes(artifact.to_vec()),
            &self.trust(),
            policy,
            self.now,
        )
        .map(|_| ())
    }
}

fn identity(san: StringMatcher) -> Policy {
    Policy::Identity(IdentityPolicy {
        san,
        issuer: StringMatcher::Exact(OIDC_ISSUER.into()),
        extensions: vec![],
    })
}

fn exact(san: &str) -> Policy {
    identity(StringMatcher::Exact(san.into()))
}

fn email(v: &str) -> GeneralName {
    GeneralName::Rfc822Name(Ia5String::new(v).unwrap())
}

fn uri(v: &str) -> GeneralName {
    GeneralName::UniformResourceIdentifier(Ia5String::new(v).unwrap())
}

fn dns(v: &str) -> GeneralName {
    GeneralName::DnsName(Ia5String::new(v).unwrap())
}

/// Fulcio's username SAN: otherName 1.3.6.1.4.1.57264.1.7 with a UTF8String.
fn username(v: &str) -> GeneralName {
    GeneralName::OtherName(OtherName {
        type_id: oids::OTHER_NAME_SAN,
        value: der::Any::from_der(&Utf8StringRef::new(v).unwrap().to_der().unwrap()).unwrap(),
    })
}

fn ip(octets: [u8; 4]) -> GeneralName {
    GeneralName::IpAddress(OctetString::new(octets.to_vec()).unwrap())
}

// ---- Shared helpers for real bundles ----------------------------------------------------------

/// 2027-01-15: after every testdata bundle was made.
const NOW: i64 = 1_800_000_000;
const CONFORMANCE_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const CONFORMANCE_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PUBLIC_GOOD: &str = "trust/public-good-trusted_root.json";

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(signet_testdata::path(rel)).unwrap()).unwrap()
}

fn trust_of(root: &Value) -> Result<TrustMaterial, VerifyError> {
    TrustMaterial::from_trusted_root(&TrustedRoot::from_json(root.to_string().as_bytes()).unwrap())
}

/// A conformance case: its bundle (as JSON, to mutate) and its trusted root.
fn case(name: &str) -> (Value, Value) {
    let dir = format!("conformance/bundle-verify/{name}");
    let root = if signet_testdata::path(&format!("{dir}/trusted_root.json")).exists() {
        read_json(&format!("{dir}/trusted_root.json"))
    } else {
        read_json(PUBLIC_GOOD)
    };
    (read_json(&format!("{dir}/bundle.sigstore.json")), root)
}

/// Verifies a (possibly mutated) conformance bundle for `a.txt` and the conformance identity.
fn verify_case(bundle: &Value, root: &Value) -> Result<VerifiedBundle, VerifyError> {
    let bundle = Bundle::from_json(bundle.to_string().as_bytes())?;
    let artifact = std::fs::read(signet_testdata::path("conformance/bundle-verify/a.txt")).unwrap();
    let policy = Policy::Identity(IdentityPolicy {
        san: StringMatcher::Exact(CONFORMANCE_IDENTITY.into()),
        issuer: StringMatcher::Exact(CONFORMANCE_ISSUER.into()),
        extensions: vec![],
    });
    verify_bundle(
        &bundle,
        &Artifact::Bytes(artifact),
        &trust_of(root)?,
        &policy,
        NOW,
    )
}

#[track_caller]
fn assert_err_contains(
    result: Result<impl std::fmt::Debug, VerifyError>,
    want: &str,
) -> VerifyError {
    match result {
        Ok(v) => panic!("verified ({v:?}), expected an error containing {want:?}"),
        Err(e) => {
            assert!(e.to_string().contains(want), "{e}\n(expected {want:?})");
            e
        }
    }
}

// ---- 1. One identity -------------------------------------------------------------------------

#[test]
fn a_certificate_with_one_name_of_each_kind_verifies() {
    let s = Sigstore::new();
    let a = b"one identity\n";
    for (san, policy) in [
        (email("alice@signet.test"), exact("alice@signet.test")),
        (
            uri("https://github.com/o/r/.github/workflows/w.yml@refs/heads/main"),
            exact("https://github.com/o/r/.github/workflows/w.yml@refs/heads/main"),
        ),
        (username("alice!signet.test"), exact("alice!signet.test")),
        (dns("build.signet.test"), exact("build.signet.test")),
    ] {
        let b = s.bundle(vec![san], a, FIRST, LOG_HOST);
        s.verify(&b, a, &policy).unwrap();
    }
}

#[test]
fn a_certificate_with_several_names_is_refused_not_matched_by_any() {
    let s = Sigstore::new();
    let a = b"one identity\n";
    // The valid twin: the same first name alone verifies under both policies.
    let alone = s.bundle(vec![email("alice@signet.test")], a, FIRST, LOG_HOST);
    s.verify(&alone, a, &exact("alice@signet.test")).unwrap();
    s.verify(&alone, a, &identity(StringMatcher::regex(".*").unwrap()))
        .unwrap();

    for (sans, names) in [
        (
            vec![email("alice@signet.test"), email("mallory@signet.test")],
            "email:alice@signet.test, email:mallory@signet.test",
        ),
        (
            vec![
                uri("https://mallory.example/ci"),
                email("alice@signet.test"),
            ],
            "URI:https://mallory.example/ci, email:alice@signet.test",
        ),
        (
            vec![username("mallory"), email("alice@signet.test")],
            "otherName(1.3.6.1.4.1.57264.1.7):mallory, email:alice@signet.test",
        ),
        (
            vec![email("alice@signet.test"), dns("mallory.example")],
            "email:alice@signet.test, DNS:mallory.example",
        ),
        // A kind of name Sigstore never uses still counts.
        (
            vec![email("alice@signet.test"), ip([10, 0, 0, 1])],
            "email:alice@signet.test, iPAddress:10.0.0.1",
        ),
    ] {
        let b = s.bundle(sans, a, FIRST, LOG_HOST);
        for policy in [
            exact("alice@signet.test"),
            identity(StringMatcher::regex(".*").unwrap()),
        ] {
            let err = assert_err_contains(
                s.verify(&b, a, &policy),
                &format!("signing certificate has 2 subject alternative names ({names})"),
            );
            assert!(
                matches!(err, VerifyError::NotOneIdentity { count: 2, .. }),
                "{err}"
            );
        }
    }
}

#[test]
fn a_single_name_of_a_kind_that_is_no_identity_matches_nothing() {
    let s = Sigstore::new();
    let a = b"one identity\n";
    let b = s.bundle(vec![ip([10, 0, 0, 1])], a, FIRST, LOG_HOST);
    for policy in [
        identity(StringMatcher::regex(".*").unwrap()),
        exact(""),
        exact("10.0.0.1"),
    ] {
        let err = assert_err_contains(
            s.verify(&b, a, &policy),
            "subject alternative name is \"iPAddress:10.0.0.1\"",
        );
        assert!(matches!(err, VerifyError::IdentityMismatch { .. }), "{err}");
    }
}

// ---- 2. Unambiguous trust --------------------------------------------------------------------

#[test]
fn tlogs_sharing_an_id_must_share_the_key() {
    let (bundle, _) = case("happy-path-v0.3");
    let root = read_json(PUBLIC_GOOD);
    let v1 = root["tlogs"][0].clone();
    let id_hex = hex::encode(
        STANDARD
            .decode(v1["logId"]["keyId"].as_str().unwrap())
            .unwrap(),
    );

    // Valid twin: the same log listed again with the same key and another window.
    let mut again = root.clone();
    let mut copy = v1.clone();
    copy["publicKey"]["validFor"] = json!({"start": "2030-01-01T00:00:00Z"});
    again["tlogs"].as_array_mut().unwrap().push(copy);
    verify_case(&bundle, &again).unwrap();

    // The same ID with another key (the Rekor v2 log's) refuses the whole root.
    let mut ambiguous = root.clone();
    let mut other = v1.clone();
    other["publicKey"] = root["tlogs"][1]["publicKey"].clone();
    ambiguous["tlogs"].as_array_mut().unwrap().push(other);
    let err = trust_of(&ambiguous).unwrap_err();
    assert!(matches!(err, VerifyError::BadTrustRoot { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "trusted root: transparency logs 0 and 2 share log ID {id_hex} but have different keys"
        )
    );
}

#[test]
fn a_log_listed_twice_is_judged_by_the_window_that_holds_the_time() {
    // happy-path-v0.3 was integrated in March 2024.
    let (bundle, _) = case("happy-path-v0.3");
    let root = read_json(PUBLIC_GOOD);
    let v1 = root["tlogs"][0].clone();
    let window = |start: &str, end: Option<&str>| {
        let mut log = v1.clone();
        log["publicKey"]["validFor"] = match end {
            Some(end) => json!({"start": start, "end": end}),
            None => json!({"start": start}),
        };
        log
    };
    let old = window("2021-01-12T11:53:27Z", Some("2022-12-31T23:59:59Z"));
    let new = window("2023-01-01T00:00:00Z", None);
    for tlogs in [vec![old.clone(), new.clone()], vec![new, old.clone()]] {
        let mut rotated = root.clone();
        rotated["tlogs"] = Value::Array(tlogs);
        verify_case(&bundle, &rotated).unwrap();
    }
    let mut expired = root.clone();
    expired["tlogs"] = json!([old]);
    let err = verify_case(&bundle, &expired).unwrap_err();
    assert!(matches!(err, VerifyError::OutsideValidity { .. }), "{err}");
}

#[test]
fn ct_logs_sharing_an_id_must_share_the_key() {
    let (bundle, _) = case("happy-path-v0.3");
    let root = read_json(PUBLIC_GOOD);
    let ct = root["ctlogs"][1].clone();
    let id_hex = hex::encode(
        STANDARD
            .decode(ct["logId"]["keyId"].as_str().unwrap())
            .unwrap(),
    );

    let mut again = root.clone();
    again["ctlogs"].as_array_mut().unwrap().push(ct.clone());
    verify_case(&bundle, &again).unwrap();

    let mut ambiguous = root.clone();
    let mut other = ct.clone();
    other["publicKey"] = root["ctlogs"][0]["publicKey"].clone();
    ambiguous["ctlogs"].as_array_mut().unwrap().push(other);
    let err = trust_of(&ambiguous).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("trusted root: CT logs 1 and 2 share log ID {id_hex} but have different keys")
    );
}

#[test]
fn timestamp_authorities_sharing_an_id_must_share_the_key() {
    // A Rekor v2 bundle, dated by its RFC 3161 timestamp.
    let (bundle, root) = case("rekor2-happy-path");
    let tsa = root["timestampAuthorities"][0].clone();
    let first = STANDARD
        .decode(
            tsa["certChain"]["certificates"][0]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();

    // Valid twin: the same authority listed twice (another window, another URI).
    let mut again = root.clone();
    let mut copy = tsa.clone();
    copy["uri"] = json!("https://timestamp.example/other");
    copy["validFor"] = json!({"start": "2030-01-01T00:00:00Z"});
    again["timestampAuthorities"]
        .as_array_mut()
        .unwrap()
        .push(copy);
    verify_case(&bundle, &again).unwrap();

    // A certificate with the same issuer and serial number but another key: which key vouches
    // for a token that names that certificate would depend on the order.
    let mut forged = x509_cert::Certificate::from_der(&first).unwrap();
    let (other_key, _) = new_p256();
    forged.tbs_certificate.subject_public_key_info =
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&spki_of(&other_key)).unwrap();
    let forged_der = forged.to_der().unwrap();
    let mut ambiguous = root.clone();
    let mut other = tsa.clone();
    other["certChain"]["certificates"][0]["rawBytes"] = json!(STANDARD.encode(&forged_der));
    ambiguous["timestampAuthorities"]
        .as_array_mut()
        .unwrap()
        .push(other);
    let err = trust_of(&ambiguous).unwrap_err();
    let cert = signet_x509::Certificate::from_der(&first).unwrap();
    let serial = cert.inner().tbs_certificate.serial_number.to_string();
    assert_eq!(
        err.to_string(),
        format!(
            "trusted root: timestamp authorities 0 and 1 share an ID (certificate issuer {:?}, serial {serial}) but have different keys",
            cert.issuer()
        )
    );
}

// ---- 5. What a bundle says twice agrees --------------------------------------------------------

#[test]
fn rekor_v2_log_index_must_be_the_proof_index() {
    let (bundle, root) = case("rekor2-happy-path");
    verify_case(&bundle, &root).unwrap();
    // Nothing signs a Rekor v2 entry's logIndex: only this check notices.
    for wrong in ["736", "734", "0"] {
        let mut b = bundle.clone();
        b["verificationMaterial"]["tlogEntries"][0]["logIndex"] = json!(wrong);
        let err = assert_err_contains(
            verify_case(&b, &root),
            &format!("tlog entry 0: logIndex is {wrong} but inclusionProof.logIndex is 735"),
        );
        assert!(matches!(err, VerifyError::Inconsistent { .. }), "{err}");
    }
}

#[test]
fn rekor_v1_shard_index_cannot_exceed_the_global_index() {
    let s = Sigstore::new();
    let a = b"sharded\n";
    let policy = exact("alice@signet.test");
    let sans = || vec![email("alice@signet.test")];
    // Valid twins: the entry is the 4th of its shard, and the 8th (or 4th) of the whole log.
    for global in [7, 3] {
        let at = Position {
            global,
            proof: 3,
            tree_size: 5,
        };
        s.verify(&s.bundle(sans(), a, at, LOG_HOST), a, &policy)
            .unwrap();
    }
    // The same entry claiming global index 2, with a valid SET over that claim.
    let at = Position {
        global: 2,
        proof: 3,
        tree_size: 5,
    };
    let err = assert_err_contains(
        s.verify(&s.bundle(sans(), a, at, LOG_HOST), a, &policy),
        "tlog entry 0: inclusionProof.logIndex 3 is greater than the global logIndex 2",
    );
    assert!(matches!(err, VerifyError::Inconsistent { .. }), "{err}");
}

#[test]
fn public_good_rekor_v1_entries_keep_their_shard_index() {
    // logIndex 79571823 is global; inclusionProof.logIndex 75408392 is in the active shard.
    let (bundle, root) = case("happy-path-v0.3");
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_ne!(entry["logIndex"], entry["inclusionProof"]["logIndex"]);
    verify_case(&bundle, &root).unwrap();
}

#[test]
fn checkpoint_must_restate_the_proofs_tree() {
    let (bundle, root) = case("happy-path-v0.3");
    verify_case(&bundle, &root).unwrap();
    let proof = "/verificationMaterial/tlogEntries/0/inclusionProof";

    let mut b = bundle.clone();
    *b.pointer_mut(&format!("{proof}/treeSize")).unwrap() = json!("75408394");
    let err = verify_case(&b, &root).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::BadCheckpoint {
                entry: 0,
                source: LogCheckpointError::SizeMismatch {
                    checkpoint: 75408393,
                    proof: 75408394
                }
            }
        ),
        "{err}"
    );

    let mut b = bundle.clone();
    let real = STANDARD
        .decode(
            b.pointer(&format!("{proof}/rootHash"))
                .unwrap()
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let mut other = real.clone();
    other[0] ^= 1;
    *b.pointer_mut(&format!("{proof}/rootHash")).unwrap() = json!(STANDARD.encode(&other));
    let err = verify_case(&b, &root).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::RootMismatch { checkpoint, proof },
                ..
            } if checkpoint.0[..] == real[..] && proof.0[..] == other[..]
        ),
        "{err}"
    );
}

// ---- 6. Checkpoint signature lines -------------------------------------------------------------

const CHECKPOINT: &str = "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope";

fn edit_checkpoint(bundle: &Value, edit: impl Fn(&str) -> String) -> Value {
    let mut b = bundle.clone();
    let text = b.pointer(CHECKPOINT).unwrap().as_str().unwrap().to_owned();
    *b.pointer_mut(CHECKPOINT).unwrap() = json!(edit(&text));
    b
}

#[test]
fn rekor_v1_line_with_the_logs_key_id_under_another_name_is_not_the_logs() {
    let (bundle, root) = case("happy-path-v0.3");
    verify_case(&bundle, &root).unwrap();
    // The ECDSA signature does not cover the name, so it still verifies: only the name is
    // wrong. Before, the key was named after whatever line carried its key ID.
    let renamed = edit_checkpoint(&bundle, |t| {
        t.replace(
            "\u{2014} rekor.sigstore.dev ",
            "\u{2014} rekor.example.com ",
        )
    });
    let err = verify_case(&renamed, &root).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::NoLogSignature { name, key_id: 0xc0d23d6a, signatures },
                ..
            } if name == "rekor.sigstore.dev"
                && signatures[..] == [("rekor.example.com".to_owned(), 0xc0d23d6a)]
        ),
        "{err}"
    );
    // Next to the log's own line, such a line is just not the log's: ignored.
    let extra = edit_checkpoint(&bundle, |t| {
        let line = t.lines().last().unwrap();
        format!(
            "{t}{}\n",
            line.replace(
                "\u{2014} rekor.sigstore.dev ",
                "\u{2014} rekor.example.com "
            )
        )
    });
    verify_case(&extra, &root).unwrap();
}

/// Rewrites the key ID (the first four bytes of the base64 signature) of every signature line
/// named `rekor.sigstore.dev` to `key_id`; the ECDSA signature after it does not cover it.
fn with_key_id(text: &str, key_id: u32) -> String {
    let (body, sigs) = text.split_once("\n\n").unwrap();
    let lines: Vec<String> = sigs
        .lines()
        .map(
            |line| match line.strip_prefix("\u{2014} rekor.sigstore.dev ") {
                Some(b64) => {
                    let mut raw = STANDARD.decode(b64).unwrap();
                    raw[..4].copy_from_slice(&key_id.to_be_bytes());
                    format!("\u{2014} rekor.sigstore.dev {}", STANDARD.encode(raw))
                }
                None => line.to_owned(),
            },
        )
        .collect();
    format!("{body}\n\n{}\n", lines.join("\n"))
}

#[test]
fn rekor_v1_line_with_the_logs_name_under_another_key_id_is_not_the_logs() {
    let (bundle, root) = case("happy-path-v0.3");
    verify_case(&bundle, &root).unwrap();
    // The valid twin: rewriting the key ID to the log's own changes nothing.
    verify_case(
        &edit_checkpoint(&bundle, |t| with_key_id(t, 0xc0d23d6a)),
        &root,
    )
    .unwrap();
    // Right key name, wrong key ID: the signature bytes would verify under the log's key, but
    // the line is not the log's signature.
    let rekeyed = edit_checkpoint(&bundle, |t| with_key_id(t, 0xc0d23d6b));
    let err = verify_case(&rekeyed, &root).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::NoLogSignature { name, key_id: 0xc0d23d6a, signatures },
                ..
            } if name == "rekor.sigstore.dev"
                && signatures[..] == [("rekor.sigstore.dev".to_owned(), 0xc0d23d6b)]
        ),
        "{err}"
    );
    // Next to the log's own line, such a line is just not the log's: ignored.
    let extra = edit_checkpoint(&bundle, |t| {
        let line = t.lines().last().unwrap();
        let other = with_key_id(&format!("x\n\n{line}\n"), 0xc0d23d6b);
        format!("{t}{}\n", other.lines().last().unwrap())
    });
    verify_case(&extra, &root).unwrap();
}

#[test]
fn rekor_v1_key_name_is_the_origins_host() {
    let s = Sigstore::new();
    let a = b"named\n";
    let policy = exact("alice@signet.test");
    let sans = || vec![email("alice@signet.test")];
    s.verify(&s.bundle(sans(), a, FIRST, LOG_HOST), a, &policy)
        .unwrap();
    // Signed by the log's key, but as another log.
    for name in ["other.signet.test", "log.signet.test/x"] {
        let err = s
            .verify(&s.bundle(sans(), a, FIRST, name), a, &policy)
            .unwrap_err();
        assert!(
            matches!(
                &err,
                VerifyError::BadCheckpoint {
                    source: LogCheckpointError::NoLogSignature { name: log, signatures, .. },
                    ..
                } if log == LOG_HOST && signatures.iter().any(|(n, _)| n == name)
            ),
            "{err}"
        );
    }
}

#[test]
fn rekor_v2_key_name_is_the_base_url_host() {
    let (bundle, root) = case("rekor2-happy-path");
    verify_case(&bundle, &root).unwrap();
    let v2 = "https://log2025-alpha1.rekor.sigstage.dev";
    let index = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["baseUrl"] == v2)
        .unwrap();

    // With a port or a path the host is the same name (sigstore-go drops the port).
    for same in [
        "https://log2025-alpha1.rekor.sigstage.dev:443",
        "https://log2025-alpha1.rekor.sigstage.dev/api/v2",
    ] {
        let mut r = root.clone();
        r["tlogs"][index]["baseUrl"] = json!(same);
        verify_case(&bundle, &r).unwrap();
    }
    // Another host names another log, whatever the checkpoint's origin claims.
    let mut r = root.clone();
    r["tlogs"][index]["baseUrl"] = json!("https://log2025-alpha9.rekor.sigstage.dev");
    let err = verify_case(&bundle, &r).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::OriginNotLogName { origin, name, .. },
                ..
            } if origin == "log2025-alpha1.rekor.sigstage.dev"
                && name == "log2025-alpha9.rekor.sigstage.dev"
        ),
        "{err}"
    );
    let mut r = root.clone();
    r["tlogs"][index]["baseUrl"] = json!("");
    let err = verify_case(&bundle, &r).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::NoBaseUrl { .. },
                ..
            }
        ),
        "{err}"
    );

    // The log's line under another name is not the log's.
    let renamed = edit_checkpoint(&bundle, |t| {
        t.replace(
            "\u{2014} log2025-alpha1.rekor.sigstage.dev ",
            "\u{2014} witness.example ",
        )
    });
    let err = verify_case(&renamed, &root).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::BadCheckpoint {
                source: LogCheckpointError::NoLogSignature { name, key_id: 0xf30d5a99, signatures },
                ..
            } if name == "log2025-alpha1.rekor.sigstage.dev"
                && signatures[..] == [("witness.example".to_owned(), 0xf30d5a99)]
        ),
        "{err}"
    );
}
