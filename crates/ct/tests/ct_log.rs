#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! End-to-end tests of the CT log: a small CA issues precertificates, the log returns SCTs,
//! the final certificates with embedded SCTs verify with signet-x509, the log survives a
//! restart on redb, and the RFC 6962 HTTP API serves verifiable tree heads and proofs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString, UtcTime};
use der::{Decode, Encode};
use signet_clock::Clock;
use signet_ct::{
    CtError, CtLog, CtLogConfig, ExtraDataStore, GroupCommit, MemoryExtraDataStore,
    RedbExtraDataStore, SignedCertificateTimestamp, decode_precert_chain_entry,
    decode_precert_leaf, encode_sct_list, tree_head_signed_data,
};
use signet_log::{MemoryStore, RedbStore};
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{TbsCertificate, Version};

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

fn key() -> (EcdsaKeyPair, Vec<u8>) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    (pair, pkcs8.as_ref().to_vec())
}

/// The CT log's signer over a PKCS#8 file key, as deploy makes it.
fn signer(pkcs8: &[u8]) -> signet_signer::SharedSigner {
    Arc::new(signet_signer::MemorySigner::from_pkcs8(pkcs8).unwrap())
}

fn spki(key: &EcdsaKeyPair) -> Vec<u8> {
    key.public_key().as_der().unwrap().as_ref().to_vec()
}

fn alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_SHA256,
        parameters: None,
    }
}

fn ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn tbs(
    subject: &str,
    issuer: &str,
    subject_spki: &[u8],
    extensions: Vec<Extension>,
) -> TbsCertificate {
    let t = |s| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(s)).unwrap());
    TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[0x01, 0x23]).unwrap(),
        signature: alg(),
        issuer: Name::from_str(issuer).unwrap(),
        validity: Validity {
            not_before: t(1_700_000_000),
            not_after: t(1_900_000_000),
        },
        subject: Name::from_str(subject).unwrap(),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(subject_spki).unwrap(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    }
}

fn sign(tbs: TbsCertificate, issuer_key: &EcdsaKeyPair) -> Vec<u8> {
    let sig = issuer_key
        .sign(&SystemRandom::new(), &tbs.to_der().unwrap())
        .unwrap();
    x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg(),
        signature: BitString::from_bytes(sig.as_ref()).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// `CA:TRUE` basic constraints.
fn ca_ext() -> Extension {
    ext(BASIC_CONSTRAINTS, true, vec![0x30, 0x03, 0x01, 0x01, 0xff])
}

/// A SAN with one rfc822Name.
fn san_ext(email: &str) -> Extension {
    let mut name = vec![0x81, email.len() as u8];
    name.extend_from_slice(email.as_bytes());
    let mut seq = vec![0x30, name.len() as u8];
    seq.extend_from_slice(&name);
    ext(SAN, true, seq)
}

/// A root and an intermediate, and a fresh leaf key per precertificate.
struct TestCa {
    root_der: Vec<u8>,
    inter_key: EcdsaKeyPair,
    inter_der: Vec<u8>,
}

const ROOT: &str = "CN=test root,O=signet";
const INTER: &str = "CN=test intermediate,O=signet";
const LEAF: &str = "O=signet";

impl TestCa {
    fn new() -> Self {
        let (root_key, _) = key();
        let (inter_key, _) = key();
        let root_der = sign(tbs(ROOT, ROOT, &spki(&root_key), vec![ca_ext()]), &root_key);
        let inter_der = sign(
            tbs(INTER, ROOT, &spki(&inter_key), vec![ca_ext()]),
            &root_key,
        );
        TestCa {
            root_der,
            inter_key,
            inter_der,
        }
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.inter_der.clone(), self.root_der.clone()]
    }

    /// The leaf's TBS with `marker` (poison or SCT list) among its extensions.
    fn leaf_tbs(&self, email: &str, leaf_spki: &[u8], marker: Extension) -> TbsCertificate {
        tbs(LEAF, INTER, leaf_spki, vec![san_ext(email), marker])
    }

    /// A precertificate and the leaf key it certifies.
    fn precert(&self, email: &str) -> (Vec<u8>, Vec<u8>) {
        let (leaf_key, _) = key();
        let leaf_spki = spki(&leaf_key);
        let poison = ext(POISON, true, vec![0x05, 0x00]);
        (
            sign(self.leaf_tbs(email, &leaf_spki, poison), &self.inter_key),
            leaf_spki,
        )
    }

    /// The final certificate: the precertificate's TBS with the poison replaced by the SCT
    /// list, in the same position.
    fn final_cert(
        &self,
        email: &str,
        leaf_spki: &[u8],
        scts: &[SignedCertificateTimestamp],
    ) -> Vec<u8> {
        let list = OctetString::new(encode_sct_list(scts))
            .unwrap()
            .to_der()
            .unwrap();
        sign(
            self.leaf_tbs(email, leaf_spki, ext(SCT_LIST, false, list)),
            &self.inter_key,
        )
    }
}

fn config(clock: Clock, extra: Arc<dyn ExtraDataStore>) -> CtLogConfig {
    CtLogConfig::new("ct.example.com/test", clock, extra)
}

fn fixed_clock(ms: u64) -> Clock {
    Clock::fixed(ms)
}

fn log_key(log: &CtLog) -> signet_x509::CtLog {
    signet_x509::CtLog::from_key(
        signet_x509::PublicKey::from_spki_der(log.public_key_spki_der()).unwrap(),
    )
}

async fn memory_log(clock: Clock) -> (CtLog, TestCa) {
    let (_, pkcs8) = key();
    let ca = TestCa::new();
    let mut config = config(clock, Arc::new(MemoryExtraDataStore::new()));
    config.roots = vec![ca.root_der.clone()];
    let log = CtLog::open(Arc::new(MemoryStore::new()), signer(&pkcs8), config)
        .await
        .unwrap();
    (log, ca)
}

#[tokio::test]
async fn embedded_sct_verifies_with_signet_x509() {
    let (log, ca) = memory_log(fixed_clock(1_750_000_000_000)).await;
    let (precert, leaf_spki) = ca.precert("alice@example.com");
    let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    assert_eq!(sct.log_id, log.log_id());
    // The clock is fixed: the empty tree's head took its value, the SCT the next millisecond.
    assert_eq!(sct.timestamp_ms, 1_750_000_000_001);
    assert!(sct.extensions.is_empty());
    assert_eq!(&sct.signature[..2], &[4, 3]);

    let final_der = ca.final_cert("alice@example.com", &leaf_spki, std::slice::from_ref(&sct));
    let leaf = signet_x509::Certificate::from_der(&final_der).unwrap();
    let issuer = signet_x509::Certificate::from_der(&ca.inter_der).unwrap();
    let verified = signet_x509::verify_embedded_scts(&leaf, &issuer, &[log_key(&log)]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].timestamp_ms, sct.timestamp_ms);

    // The SCT does not verify for another certificate or another issuer.
    let other = ca.final_cert(
        "mallory@example.com",
        &leaf_spki,
        std::slice::from_ref(&sct),
    );
    let other = signet_x509::Certificate::from_der(&other).unwrap();
    assert!(signet_x509::verify_embedded_scts(&other, &issuer, &[log_key(&log)]).is_err());
    let root = signet_x509::Certificate::from_der(&ca.root_der).unwrap();
    assert!(signet_x509::verify_embedded_scts(&leaf, &root, &[log_key(&log)]).is_err());

    // The log entry is the RFC 6962 leaf of that precertificate, with its chain beside it.
    let entries = log.entries(0, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let parsed = decode_precert_leaf(&entries[0].leaf_input).unwrap();
    assert_eq!(parsed.timestamp_ms, sct.timestamp_ms);
    let (pre, chain) = decode_precert_chain_entry(&entries[0].extra_data).unwrap();
    assert_eq!(pre, precert);
    assert_eq!(chain, ca.chain());
    let sth = log.latest_sth().unwrap();
    assert_eq!(sth.tree_size, 1);
    assert_eq!(sth.root_hash, hash_leaf(&entries[0].leaf_input).0);
    assert!(sth.timestamp_ms > sct.timestamp_ms);
    log.shutdown().await;
}

#[tokio::test]
async fn bad_submissions_are_client_faults() {
    let (log, ca) = memory_log(fixed_clock(1_750_000_000_000)).await;
    let (leaf_key, _) = key();
    let leaf_spki = spki(&leaf_key);
    let expect = |r: Result<SignedCertificateTimestamp, CtError>| {
        let e = r.unwrap_err();
        assert!(e.is_client_fault(), "{e:?}");
        e
    };

    // No poison: an ordinary certificate.
    let plain = sign(
        tbs(LEAF, INTER, &leaf_spki, vec![san_ext("a@b.c")]),
        &ca.inter_key,
    );
    let e = expect(log.add_pre_chain(&plain, &ca.chain()).await);
    assert!(matches!(e, CtError::MissingPoison), "{e:?}");
    // A non-critical poison.
    let soft = sign(
        ca.leaf_tbs("a@b.c", &leaf_spki, ext(POISON, false, vec![5, 0])),
        &ca.inter_key,
    );
    let e = expect(log.add_pre_chain(&soft, &ca.chain()).await);
    assert!(matches!(e, CtError::BadPoison { .. }), "{e:?}");
    // Signed by another key than chain[0]'s.
    let (other_key, _) = key();
    let forged = sign(
        ca.leaf_tbs("a@b.c", &leaf_spki, ext(POISON, true, vec![5, 0])),
        &other_key,
    );
    let e = expect(log.add_pre_chain(&forged, &ca.chain()).await);
    assert!(
        matches!(e, CtError::NotIssuedBy { position: 0, .. }),
        "{e:?}"
    );
    // The chain in the wrong order (precert not issued by chain[0]).
    let (precert, _) = ca.precert("a@b.c");
    let reversed = vec![ca.root_der.clone(), ca.inter_der.clone()];
    let e = expect(log.add_pre_chain(&precert, &reversed).await);
    assert!(matches!(e, CtError::NotIssuedBy { .. }), "{e:?}");
    // No issuer, too many, garbage DER.
    expect(log.add_pre_chain(&precert, &[]).await);
    expect(
        log.add_pre_chain(&precert, &vec![ca.inter_der.clone(); 9])
            .await,
    );
    let e = expect(log.add_pre_chain(b"garbage", &ca.chain()).await);
    assert!(
        matches!(e, CtError::Certificate { position: 0, .. }),
        "{e:?}"
    );
    expect(log.add_pre_chain(&precert, &[b"garbage".to_vec()]).await);
    // A chain from another CA does not lead to the configured root.
    let stranger = TestCa::new();
    let (precert2, _) = stranger.precert("a@b.c");
    let e = expect(log.add_pre_chain(&precert2, &stranger.chain()).await);
    assert!(matches!(e, CtError::UntrustedChain), "{e:?}");
    // Nothing was logged; a good one still goes through.
    assert_eq!(log.latest_sth().unwrap().tree_size, 0);
    let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    // The intermediate alone (it is issued by the root) is accepted too; the precertificate
    // is already logged, so it gets its SCT again.
    let again = log.add_pre_chain(&precert, &ca.chain()[..1]).await.unwrap();
    assert_eq!(again, sct);
    let (precert3, _) = ca.precert("c@d.e");
    log.add_pre_chain(&precert3, &ca.chain()[..1])
        .await
        .unwrap();
    assert_eq!(log.latest_sth().unwrap().tree_size, 2);
    // Once a chain has passed, its links are not checked again, but every precertificate's
    // signature still is; and a chain that failed was not remembered.
    let e = expect(log.add_pre_chain(&forged, &ca.chain()).await);
    assert!(
        matches!(e, CtError::NotIssuedBy { position: 0, .. }),
        "{e:?}"
    );
    let e = expect(log.add_pre_chain(&precert2, &stranger.chain()).await);
    assert!(matches!(e, CtError::UntrustedChain), "{e:?}");
    // The known intermediate followed by a root that did not issue it is another chain.
    let e = expect(
        log.add_pre_chain(&precert, &[ca.inter_der.clone(), stranger.root_der.clone()])
            .await,
    );
    assert!(
        matches!(e, CtError::NotIssuedBy { position: 1, .. }),
        "{e:?}"
    );
    assert_eq!(log.latest_sth().unwrap().tree_size, 2);
    log.shutdown().await;
}

#[tokio::test]
async fn redb_log_survives_restart_with_increasing_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pkcs8) = key();
    let ca = TestCa::new();
    let now = Arc::new(AtomicU64::new(1_750_000_000_000));
    let clock = {
        let now = Arc::clone(&now);
        Clock::from_fn(move || now.load(Ordering::SeqCst))
    };
    let open = |clock: Clock| {
        let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
        let extra = Arc::new(RedbExtraDataStore::open(dir.path().join("extra.redb")).unwrap());
        let pkcs8 = pkcs8.clone();
        async move {
            CtLog::open(store, signer(&pkcs8), config(clock, extra))
                .await
                .unwrap()
        }
    };

    let mut timestamps = Vec::new();
    let mut precerts = Vec::new();
    let log = open(clock.clone()).await;
    let log_id = log.log_id();
    for i in 0..3 {
        let (precert, _) = ca.precert(&format!("user{i}@example.com"));
        let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
        timestamps.push(sct.timestamp_ms);
        precerts.push(precert);
    }
    let sth_before = log.latest_sth().unwrap();
    log.shutdown().await;
    drop(log);

    // The clock goes back across the restart: timestamps still increase.
    now.store(1_600_000_000_000, Ordering::SeqCst);
    let log = open(clock.clone()).await;
    assert_eq!(log.log_id(), log_id);
    assert_eq!(log.latest_sth().unwrap(), sth_before);
    for i in 3..5 {
        let (precert, _) = ca.precert(&format!("user{i}@example.com"));
        let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
        timestamps.push(sct.timestamp_ms);
        precerts.push(precert);
    }
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "{timestamps:?}");
    let sth = log.latest_sth().unwrap();
    assert_eq!(sth.tree_size, 5);
    assert!(sth.timestamp_ms > *timestamps.last().unwrap());
    let entries = log.entries(0, 4).await.unwrap();
    assert_eq!(entries.len(), 5);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(
            decode_precert_leaf(&entry.leaf_input).unwrap().timestamp_ms,
            timestamps[i]
        );
        assert_eq!(
            decode_precert_chain_entry(&entry.extra_data).unwrap().0,
            precerts[i]
        );
    }
    // Every entry's inclusion proof verifies against the tree head, and the old head is a
    // prefix of the new one.
    for (i, entry) in entries.iter().enumerate() {
        let (index, proof) = log
            .proof_by_hash(hash_leaf(&entry.leaf_input).0, 5)
            .await
            .unwrap();
        assert_eq!(index, i as u64);
        let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
        signet_merkle::verify_inclusion(
            &hash_leaf(&entry.leaf_input),
            LeafIndex(index),
            TreeSize(5),
            &proof,
            &sth.root_hash,
        )
        .unwrap();
    }
    let proof: Vec<Hash> = log
        .consistency_proof(3, 5)
        .await
        .unwrap()
        .into_iter()
        .map(Hash)
        .collect();
    signet_merkle::verify_consistency(
        TreeSize(3),
        TreeSize(5),
        &sth_before.root_hash,
        &sth.root_hash,
        &proof,
    )
    .unwrap();
    log.shutdown().await;
    drop(log);

    // Another key cannot take over the log: its tree heads would not be this log's.
    let (_, other) = key();
    let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
    let extra = Arc::new(MemoryExtraDataStore::new());
    let e = CtLog::open(
        Arc::clone(&store),
        signer(&other),
        config(clock.clone(), extra.clone()),
    )
    .await
    .unwrap_err();
    assert!(!e.is_client_fault(), "{e:?}");

    // Unless the key was rotated on purpose: the new key signs the same tree at once, with a
    // later timestamp, under its own log ID.
    let mut rotated = config(clock, extra);
    rotated.key_rotated = true;
    let log = CtLog::open(store, signer(&other), rotated).await.unwrap();
    assert_ne!(log.log_id(), log_id);
    let head = log.latest_sth().unwrap();
    assert_eq!((head.tree_size, head.root_hash), (5, sth.root_hash));
    assert!(head.timestamp_ms > sth.timestamp_ms);
    log.shutdown().await;
}

/// A precertificate already logged gets the SCT it got the first time, byte for byte, and is
/// not appended again: replayed one after another, concurrently, re-signed by the CA (another
/// DER, the same `TBSCertificate`), and after a restart (issue 14: a replayed `add-pre-chain`
/// used to append an entry each time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_precertificate_gets_its_first_sct_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pkcs8) = key();
    let ca = Arc::new(TestCa::new());
    let open = || {
        let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
        let extra = Arc::new(RedbExtraDataStore::open(dir.path().join("extra.redb")).unwrap());
        let mut config = config(Clock::system(), extra);
        config.roots = vec![ca.root_der.clone()];
        let pkcs8 = pkcs8.clone();
        async move {
            Arc::new(
                CtLog::open(store.clone(), signer(&pkcs8), config)
                    .await
                    .unwrap(),
            )
        }
    };
    let log = open().await;
    let (leaf_key, _) = key();
    let leaf_spki = spki(&leaf_key);
    let poison = || ext(POISON, true, vec![0x05, 0x00]);
    let precert = sign(
        ca.leaf_tbs("r@example.com", &leaf_spki, poison()),
        &ca.inter_key,
    );
    let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    let sth = log.latest_sth().unwrap();
    assert_eq!(sth.tree_size, 1);

    for _ in 0..3 {
        assert_eq!(log.add_pre_chain(&precert, &ca.chain()).await.unwrap(), sct);
    }
    let resigned = sign(
        ca.leaf_tbs("r@example.com", &leaf_spki, poison()),
        &ca.inter_key,
    );
    assert_ne!(resigned, precert);
    assert_eq!(
        log.add_pre_chain(&resigned, &ca.chain()).await.unwrap(),
        sct
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (log, ca, precert) = (Arc::clone(&log), Arc::clone(&ca), precert.clone());
            tokio::spawn(async move { log.add_pre_chain(&precert, &ca.chain()).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), sct);
    }
    assert_eq!(log.latest_sth().unwrap().tree_size, 1);

    // A precertificate submitted concurrently for the first time is logged once.
    let (fresh, _) = ca.precert("s@example.com");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (log, ca, fresh) = (Arc::clone(&log), Arc::clone(&ca), fresh.clone());
            tokio::spawn(async move { log.add_pre_chain(&fresh, &ca.chain()).await.unwrap() })
        })
        .collect();
    let mut fresh_scts = Vec::new();
    for t in tasks {
        fresh_scts.push(t.await.unwrap());
    }
    assert!(fresh_scts.iter().all(|s| *s == fresh_scts[0]));
    assert_eq!(log.latest_sth().unwrap().tree_size, 2);
    log.shutdown().await;
    drop(log);

    // After a restart too.
    let log = open().await;
    assert_eq!(log.add_pre_chain(&precert, &ca.chain()).await.unwrap(), sct);
    assert_eq!(log.latest_sth().unwrap().tree_size, 2);
    let entries = log.entries(0, 1).await.unwrap();
    assert_eq!(
        decode_precert_leaf(&entries[0].leaf_input)
            .unwrap()
            .timestamp_ms,
        sct.timestamp_ms
    );
    log.shutdown().await;
}

/// The read-only router serves every read and no `add-pre-chain`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_router_has_no_add_pre_chain() {
    let (log, ca) = memory_log(Clock::system()).await;
    let log = Arc::new(log);
    let (precert, _) = ca.precert("a@b.c");
    log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    let mut chain = vec![STANDARD.encode(&precert)];
    chain.extend(ca.chain().iter().map(|c| STANDARD.encode(c)));
    let body = serde_json::json!({ "chain": chain });
    let serve = |router: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/ct/v1", listener.local_addr().unwrap());
        (
            base,
            tokio::spawn(axum::serve(listener, router).into_future()),
        )
    };
    let http = reqwest::Client::new();
    let (read, read_task) = serve(Arc::clone(&log).read_router()).await;
    for path in ["get-sth", "get-roots"] {
        let r = http.get(format!("{read}/{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = http
        .post(format!("{read}/add-pre-chain"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The full router takes it (a replay: the tree does not grow).
    let (full, full_task) = serve(Arc::clone(&log).router()).await;
    let r = http
        .post(format!("{full}/add-pre-chain"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(log.latest_sth().unwrap().tree_size, 1);
    read_task.abort();
    full_task.abort();
    log.shutdown().await;
}

/// Verifies a TLS `DigitallySigned` (SHA-256, ECDSA) over `data` with the log's key.
fn verify_digitally_signed(spki_der: &[u8], data: &[u8], signed: &[u8]) {
    assert_eq!(&signed[..2], &[4, 3]);
    let len = u16::from_be_bytes([signed[2], signed[3]]) as usize;
    assert_eq!(signed.len(), 4 + len);
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).unwrap();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, spki.subject_public_key.raw_bytes())
        .verify(data, &signed[4..])
        .unwrap();
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn http_api() {
    let (log, ca) = memory_log(Clock::system()).await;
    let log = Arc::new(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/ct/v1", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, Arc::clone(&log).router()).into_future());
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}/{path}");
        async move {
            let r = http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };

    // Submit three precertificates over HTTP; keep the tree head after the first.
    let mut scts = Vec::new();
    let mut first_root = None;
    let mut emails = Vec::new();
    for i in 0..3 {
        let email = format!("user{i}@example.com");
        let (precert, leaf_spki) = ca.precert(&email);
        let mut chain = vec![STANDARD.encode(&precert)];
        chain.extend(ca.chain().iter().map(|c| STANDARD.encode(c)));
        let r = http
            .post(format!("{base}/add-pre-chain"))
            .json(&serde_json::json!({ "chain": chain }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["sct_version"], 0);
        assert_eq!(b64(&body["id"]), log.log_id());
        assert_eq!(b64(&body["extensions"]), b"");
        let sct = SignedCertificateTimestamp {
            log_id: log.log_id(),
            timestamp_ms: body["timestamp"].as_u64().unwrap(),
            extensions: vec![],
            signature: b64(&body["signature"]),
        };
        // The SCT from the JSON answer verifies embedded in the final certificate.
        let final_der = ca.final_cert(&email, &leaf_spki, std::slice::from_ref(&sct));
        let leaf = signet_x509::Certificate::from_der(&final_der).unwrap();
        let issuer = signet_x509::Certificate::from_der(&ca.inter_der).unwrap();
        signet_x509::verify_embedded_scts(&leaf, &issuer, &[log_key(&log)]).unwrap();
        scts.push(sct);
        emails.push(email);
        if i == 0 {
            let (s, sth) = get("get-sth".into()).await;
            assert_eq!(s, 200);
            first_root = Some(b64(&sth["sha256_root_hash"]));
        }
    }

    // get-sth: the signature verifies over the TreeHeadSignature.
    let (status, sth) = get("get-sth".into()).await;
    assert_eq!(status, 200);
    assert_eq!(sth["tree_size"], 3);
    let root: [u8; 32] = b64(&sth["sha256_root_hash"]).try_into().unwrap();
    let timestamp = sth["timestamp"].as_u64().unwrap();
    assert!(timestamp > scts[2].timestamp_ms);
    verify_digitally_signed(
        log.public_key_spki_der(),
        &tree_head_signed_data(timestamp, 3, &root),
        &b64(&sth["tree_head_signature"]),
    );

    // get-entries round-trips; get-proof-by-hash proves each entry.
    let (status, entries) = get("get-entries?start=0&end=99".into()).await;
    assert_eq!(status, 200);
    let entries = entries["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 3);
    for (i, entry) in entries.iter().enumerate() {
        let leaf = b64(&entry["leaf_input"]);
        assert_eq!(
            decode_precert_leaf(&leaf).unwrap().timestamp_ms,
            scts[i].timestamp_ms
        );
        let (_, chain) = decode_precert_chain_entry(&b64(&entry["extra_data"])).unwrap();
        assert_eq!(chain, ca.chain());
        let leaf_hash = hash_leaf(&leaf);
        // Percent-encode the base64 so '+', '/' and '=' survive.
        let hash: String = STANDARD
            .encode(leaf_hash.0)
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let (status, proof) = get(format!("get-proof-by-hash?hash={hash}&tree_size=3")).await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(proof["leaf_index"], i as u64);
        let path: Vec<Hash> = proof["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash(b64(h).try_into().unwrap()))
            .collect();
        signet_merkle::verify_inclusion(&leaf_hash, LeafIndex(i as u64), TreeSize(3), &path, &root)
            .unwrap();
    }
    let (status, one) = get("get-entries?start=1&end=1".into()).await;
    assert_eq!(status, 200);
    assert_eq!(one["entries"].as_array().unwrap()[0], entries[1]);

    // get-sth-consistency from the first tree head to the latest.
    let (status, proof) = get("get-sth-consistency?first=1&second=3".into()).await;
    assert_eq!(status, 200);
    let path: Vec<Hash> = proof["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash(b64(h).try_into().unwrap()))
        .collect();
    signet_merkle::verify_consistency(TreeSize(1), TreeSize(3), &first_root.unwrap(), &root, &path)
        .unwrap();

    // get-roots.
    let (status, roots) = get("get-roots".into()).await;
    assert_eq!(status, 200);
    assert_eq!(b64(&roots["certificates"][0]), ca.root_der);

    // Bad parameters: 4xx with a JSON message, never 5xx.
    for (path, want) in [
        ("get-sth-consistency?first=2&second=9", 400),
        ("get-sth-consistency?first=3&second=2", 400),
        ("get-sth-consistency?first=0&second=2", 400),
        ("get-sth-consistency?first=x&second=2", 400),
        ("get-sth-consistency?first=1", 400),
        ("get-sth-consistency?first=-1&second=2", 400),
        (
            "get-sth-consistency?first=1&second=99999999999999999999999",
            400,
        ),
        ("get-proof-by-hash?hash=!!!&tree_size=3", 400),
        ("get-proof-by-hash?hash=AAAA&tree_size=3", 400),
        (
            "get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=3",
            404,
        ),
        (
            "get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=4",
            400,
        ),
        ("get-proof-by-hash?tree_size=3", 400),
        ("get-entries?start=3&end=5", 400),
        ("get-entries?start=2&end=1", 400),
        ("get-entries?start=0", 400),
        ("get-entries?start=%ZZ&end=1", 400),
    ] {
        let (status, body) = get(path.into()).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    // Leaf 2 is in the log but not in the tree of size 2.
    let leaf2 = hash_leaf(&b64(&entries[2]["leaf_input"]));
    let hash: String = STANDARD
        .encode(leaf2.0)
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let (status, _) = get(format!("get-proof-by-hash?hash={hash}&tree_size=2")).await;
    assert_eq!(status, 404);

    let post = |body: String| {
        let http = http.clone();
        let url = format!("{base}/add-pre-chain");
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (plain_key, _) = key();
    let plain = sign(
        tbs(LEAF, INTER, &spki(&plain_key), vec![san_ext("a@b.c")]),
        &ca.inter_key,
    );
    let (precert, _) = ca.precert("a@b.c");
    for (body, want) in [
        ("not json".to_string(), 400),
        (r#"{"chain": "x"}"#.to_string(), 400),
        (r#"{"chain": []}"#.to_string(), 400),
        (r#"{"chain": ["!!!notbase64"]}"#.to_string(), 400),
        (serde_json::json!({ "chain": [STANDARD.encode(&precert)] }).to_string(), 400),
        (
            serde_json::json!({ "chain": [STANDARD.encode(&plain), STANDARD.encode(&ca.inter_der)] })
                .to_string(),
            400,
        ),
        (
            serde_json::json!({ "chain": [STANDARD.encode(&precert), STANDARD.encode(&ca.root_der)] })
                .to_string(),
            400,
        ),
        (format!(r#"{{"chain": ["{}"]}}"#, "A".repeat(2 * 1024 * 1024)), 413),
    ] {
        let (status, text) = post(body).await;
        assert_eq!(status, want, "{text}");
    }
    let (status, sth) = get("get-sth".into()).await;
    assert_eq!(status, 200);
    assert_eq!(sth["tree_size"], 3);

    // A replay of a logged precertificate: the same SCT, nothing appended.
    let (precert, _) = ca.precert("replay@example.com");
    let mut chain = vec![STANDARD.encode(&precert)];
    chain.extend(ca.chain().iter().map(|c| STANDARD.encode(c)));
    let body = serde_json::json!({ "chain": chain }).to_string();
    let (status, first) = post(body.clone()).await;
    assert_eq!(status, 200, "{first}");
    for _ in 0..3 {
        assert_eq!(post(body.clone()).await, (200, first.clone()));
    }
    let (_, sth) = get("get-sth".into()).await;
    assert_eq!(sth["tree_size"], 4);

    server.abort();
    log.shutdown().await;
}

/// The whole log checks out with signet-log's fsck, its checkpoints verifying with the
/// RFC 6962 note verifier.
async fn fsck<S: signet_log::LogStore>(store: &S, log: &CtLog) -> signet_log::LogCheck {
    let mut verifiers = signet_note::NoteVerifiers::new();
    verifiers.push(Box::new(log.note_verifier().unwrap()));
    signet_log::check_log(store, &verifiers).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_get_distinct_timestamps() {
    let (_, pkcs8) = key();
    let ca = Arc::new(TestCa::new());
    let store = Arc::new(MemoryStore::new());
    let config = config(
        fixed_clock(1_750_000_000_000),
        Arc::new(MemoryExtraDataStore::new()),
    );
    let log = Arc::new(
        CtLog::open(Arc::clone(&store), signer(&pkcs8), config)
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (log, ca) = (Arc::clone(&log), Arc::clone(&ca));
        tasks.push(tokio::spawn(async move {
            let (precert, _) = ca.precert(&format!("u{i}@example.com"));
            log.add_pre_chain(&precert, &ca.chain()).await.unwrap()
        }));
    }
    let mut timestamps = Vec::new();
    for t in tasks {
        timestamps.push(t.await.unwrap().timestamp_ms);
    }
    timestamps.sort_unstable();
    timestamps.dedup();
    assert_eq!(timestamps.len(), 64);
    let sth = log.latest_sth().unwrap();
    assert_eq!(sth.tree_size, 64);
    assert!(sth.timestamp_ms > *timestamps.last().unwrap());
    let check = fsck(store.as_ref(), &log).await;
    assert_eq!(check.staged_size, TreeSize(64));
    log.shutdown().await;
}

#[tokio::test]
async fn a_failed_publish_is_finished_by_the_next_append() {
    use signet_log::{FailPoint, FaultyStore, StoreOp};
    let (_, pkcs8) = key();
    let ca = TestCa::new();
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    let config = config(
        fixed_clock(1_750_000_000_000),
        Arc::new(MemoryExtraDataStore::new()),
    );
    let log = CtLog::open(Arc::clone(&store), signer(&pkcs8), config)
        .await
        .unwrap();
    store.fail_nth(StoreOp::PublishCheckpoint, 1, FailPoint::Before);
    let (precert, _) = ca.precert("a@example.com");
    let e = log.add_pre_chain(&precert, &ca.chain()).await.unwrap_err();
    assert!(!e.is_client_fault(), "{e:?}");
    assert_eq!(log.latest_sth().unwrap().tree_size, 0);
    // The next append first publishes a tree head for the staged entry, then its own.
    let (precert2, _) = ca.precert("b@example.com");
    let sct = log.add_pre_chain(&precert2, &ca.chain()).await.unwrap();
    let sth = log.latest_sth().unwrap();
    assert_eq!(sth.tree_size, 2);
    assert!(sth.timestamp_ms > sct.timestamp_ms);
    let entries = log.entries(0, 1).await.unwrap();
    assert_eq!(
        decode_precert_chain_entry(&entries[0].extra_data)
            .unwrap()
            .0,
        precert
    );
    assert_eq!(
        decode_precert_chain_entry(&entries[1].extra_data)
            .unwrap()
            .0,
        precert2
    );
    fsck(store.inner(), &log).await;
    log.shutdown().await;
}

/// Concurrent submissions on redb share one extra-data commit (one fsync), and every entry
/// still has its extra data after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_group_commit_extra_data() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pkcs8) = key();
    let ca = Arc::new(TestCa::new());
    let n = 8usize;
    let extra = Arc::new(
        RedbExtraDataStore::open_with(
            dir.path().join("extra.redb"),
            GroupCommit {
                max_wait: Duration::from_secs(30),
                max_rows: n,
            },
        )
        .unwrap(),
    );
    let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
    let log = Arc::new(
        CtLog::open(
            store,
            signer(&pkcs8),
            config(Clock::system(), extra.clone() as Arc<dyn ExtraDataStore>),
        )
        .await
        .unwrap(),
    );
    let precerts: Vec<Vec<u8>> = (0..n)
        .map(|i| ca.precert(&format!("g{i}@example.com")).0)
        .collect();
    let tasks: Vec<_> = precerts
        .iter()
        .cloned()
        .map(|p| {
            let (log, ca) = (Arc::clone(&log), Arc::clone(&ca));
            tokio::spawn(async move { log.add_pre_chain(&p, &ca.chain()).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(extra.commits(), 1, "all {n} rows in one transaction");
    log.shutdown().await;
    drop(log);
    drop(extra);

    let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
    let extra = Arc::new(RedbExtraDataStore::open(dir.path().join("extra.redb")).unwrap());
    let log = CtLog::open(store, signer(&pkcs8), config(Clock::system(), extra))
        .await
        .unwrap();
    let entries = log.entries(0, n as u64 - 1).await.unwrap();
    assert_eq!(entries.len(), n);
    let mut logged: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| decode_precert_chain_entry(&e.extra_data).unwrap().0)
        .collect();
    let mut expected = precerts.clone();
    logged.sort();
    expected.sort();
    assert_eq!(logged, expected);
    log.shutdown().await;
}

/// Throughput of durable submissions on redb, 64 concurrent submitters. Run with
/// `cargo test -p signet-ct --release -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_redb_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pkcs8) = key();
    let ca = Arc::new(TestCa::new());
    let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
    let extra = Arc::new(RedbExtraDataStore::open(dir.path().join("extra.redb")).unwrap());
    let log = Arc::new(
        CtLog::open(store, signer(&pkcs8), config(Clock::system(), extra))
            .await
            .unwrap(),
    );
    let total = 2048usize;
    let precerts: Vec<Vec<u8>> = (0..total)
        .map(|i| ca.precert(&format!("u{i}@example.com")).0)
        .collect();
    let precerts = Arc::new(precerts);
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..64 {
        let (log, ca, precerts) = (Arc::clone(&log), Arc::clone(&ca), Arc::clone(&precerts));
        tasks.push(tokio::spawn(async move {
            for p in precerts.iter().skip(w).step_by(64) {
                log.add_pre_chain(p, &ca.chain()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{total} durable SCTs in {secs:.2} s: {:.0}/s",
        total as f64 / secs
    );
    log.shutdown().await;
}

#[tokio::test]
async fn a_signer_of_another_algorithm_is_refused() {
    let ed25519 = signet_signer::MemorySigner::from_ed25519_seed(&[7; 32]).unwrap();
    let e = CtLog::open(
        Arc::new(MemoryStore::new()),
        Arc::new(ed25519),
        config(Clock::system(), Arc::new(MemoryExtraDataStore::new())),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            CtError::SigningKeyAlgorithm {
                found: signet_signer::SignerAlgorithm::Ed25519,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("ECDSA P-256"), "{e}");
}

/// A key that stops signing fails submissions with 503 (SCT or tree head), acknowledges
/// nothing, and the log carries on once the key is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_signer_answers_503_and_acknowledges_nothing() {
    let (_, pkcs8) = key();
    let ca = TestCa::new();
    let flaky = signet_testkit::UnreliableSigner::new(
        signet_signer::MemorySigner::from_pkcs8(&pkcs8).unwrap(),
        "pkcs11:token=test;object=ct",
    );
    let store = Arc::new(MemoryStore::new());
    let mut config = config(Clock::system(), Arc::new(MemoryExtraDataStore::new()));
    config.roots = vec![ca.root_der.clone()];
    let log = Arc::new(
        CtLog::open(Arc::clone(&store), flaky.clone(), config)
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/ct/v1/add-pre-chain",
        listener.local_addr().unwrap()
    );
    let server = tokio::spawn(axum::serve(listener, Arc::clone(&log).router()).into_future());
    let http = reqwest::Client::new();
    let submit = |precert: Vec<u8>| {
        let mut chain = vec![STANDARD.encode(&precert)];
        chain.extend(ca.chain().iter().map(|c| STANDARD.encode(c)));
        let request = http.post(&url).json(&serde_json::json!({ "chain": chain }));
        async move { request.send().await.unwrap().status().as_u16() }
    };

    // The SCT cannot be signed: nothing is written.
    flaky.set_failing(true);
    let (precert, _) = ca.precert("a@example.com");
    let e = log.add_pre_chain(&precert, &ca.chain()).await.unwrap_err();
    assert!(matches!(e, CtError::SignerUnavailable(_)), "{e:?}");
    assert!(e.is_unavailable() && !e.is_client_fault(), "{e:?}");
    assert_eq!(submit(precert.clone()).await, 503);
    assert_eq!(log.latest_sth().unwrap().tree_size, 0);
    assert_eq!(
        signet_log::LogStore::state(store.as_ref())
            .await
            .unwrap()
            .staged_size,
        TreeSize(0)
    );

    // The SCT is signed but the tree head is not: no SCT is handed out.
    flaky.fail_after(1);
    let e = log.add_pre_chain(&precert, &ca.chain()).await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    flaky.fail_after(1);
    let (precert2, _) = ca.precert("b@example.com");
    assert_eq!(submit(precert2).await, 503);
    assert_eq!(log.latest_sth().unwrap().tree_size, 0);

    // The key is back: the next submission publishes a tree head over everything staged.
    flaky.set_failing(false);
    let (precert3, _) = ca.precert("c@example.com");
    assert_eq!(submit(precert3).await, 200);
    let sct = log.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    let sth = log.latest_sth().unwrap();
    assert!(sth.tree_size >= 2 && sth.timestamp_ms > sct.timestamp_ms);
    fsck(store.as_ref(), &log).await;
    server.abort();
    log.shutdown().await;
}

/// The log on PostgreSQL, shared by two processes (two [`CtLog`]s over one database here):
/// the one with the lease sequences, the other forwards and serves reads from the database; a
/// writer with a stale lease epoch cannot commit; another key cannot join; the follower takes
/// over when the holder shuts down.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_log_on_postgres() {
    use signet_ct::cluster::{CT_LEASE_SCOPE, CT_SCHEMA, ClusterConfig, CtDatabase};
    use signet_log::LogStore;
    let Some(pg) = signet_testkit::pg::PgServer::start() else {
        return;
    };
    let url = pg.create_database();
    let (_, pkcs8) = key();
    let ca = TestCa::new();
    let open = |pkcs8: Vec<u8>, peer_url: String| {
        let url = url.clone();
        let root = ca.root_der.clone();
        async move {
            let mut config = config(Clock::system(), Arc::new(MemoryExtraDataStore::new()));
            config.roots = vec![root];
            CtLog::open_clustered(
                CtDatabase::connect(&url).await.unwrap(),
                signer(&pkcs8),
                config,
                ClusterConfig {
                    peer_url,
                    first_tree_head_timeout: Duration::from_secs(10),
                },
            )
            .await
        }
    };
    // Each "process" serves its read router (which takes forwarded submissions) on its port.
    let serve = |log: Arc<CtLog>, listener: tokio::net::TcpListener| {
        tokio::spawn(axum::serve(listener, log.read_router()).into_future())
    };
    let listeners = [
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    let peers: Vec<String> = listeners
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();
    let holder = open(pkcs8.clone(), peers[0].clone()).await.unwrap();
    assert!(holder.is_sequencing());
    let follower = open(pkcs8.clone(), peers[1].clone()).await.unwrap();
    assert!(!follower.is_sequencing());
    let [l0, l1] = listeners;
    let servers = [
        serve(Arc::clone(&holder), l0),
        serve(Arc::clone(&follower), l1),
    ];

    // The follower's submissions go through the holder; both serve the same tree.
    let mut scts = Vec::new();
    for i in 0..3 {
        let (precert, _) = ca.precert(&format!("f{i}@example.com"));
        let sct = follower.add_pre_chain(&precert, &ca.chain()).await.unwrap();
        assert_eq!(sct.log_id, holder.log_id());
        // The same precertificate again, through the holder: its first SCT back.
        assert_eq!(
            holder.add_pre_chain(&precert, &ca.chain()).await.unwrap(),
            sct
        );
        scts.push(sct);
    }
    let sth = follower.current_sth().await.unwrap();
    assert_eq!(sth, holder.current_sth().await.unwrap());
    assert_eq!(sth.tree_size, 3);
    let entries = follower.entries(0, 2).await.unwrap();
    for (entry, sct) in entries.iter().zip(&scts) {
        let leaf = decode_precert_leaf(&entry.leaf_input).unwrap();
        assert_eq!(leaf.timestamp_ms, sct.timestamp_ms);
        let (index, _) = follower
            .proof_by_hash(hash_leaf(&entry.leaf_input).0, 3)
            .await
            .unwrap();
        assert!(index < 3);
    }

    // A forwarded submission is never forwarded again; the route takes only forwarded ones.
    let http = reqwest::Client::new();
    let (precert, _) = ca.precert("x@example.com");
    let mut chain = vec![STANDARD.encode(&precert)];
    chain.extend(ca.chain().iter().map(|c| STANDARD.encode(c)));
    let body = serde_json::json!({ "chain": chain });
    let post = |peer: &str, forwarded: bool| {
        let mut request = http.post(format!("{peer}/ct/v1/add-pre-chain")).json(&body);
        if forwarded {
            request = request.header("x-signet-forwarded", "1");
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post(&peers[1], true).await, 503);
    assert_eq!(post(&peers[1], false).await, 404);
    assert_eq!(post(&peers[0], false).await, 404);
    assert_eq!(post(&peers[0], true).await, 200);

    // A writer of a past epoch cannot commit.
    let lease = signet_log::lease::LeaseDb::connect(url.parse().unwrap(), CT_LEASE_SCOPE)
        .await
        .unwrap();
    let current = lease.lease_view().await.unwrap().epoch;
    let stale = lease.sequencer_store(CT_SCHEMA, current - 1).await.unwrap();
    let state = stale.state().await.unwrap();
    let checkpoint = state.checkpoint.unwrap();
    let refused = stale
        .publish_checkpoint(Some(checkpoint.size), checkpoint)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("refused"), "{refused}");

    // Another key cannot join the log.
    let (_, other) = key();
    let e = open(other, "http://127.0.0.1:1".into()).await.unwrap_err();
    assert!(matches!(e, CtError::Corrupt { .. }), "{e:?}");

    // The holder shuts down (releasing the lease): the follower takes over and sequences.
    holder.shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !follower.is_sequencing() {
        assert!(tokio::time::Instant::now() < deadline, "no takeover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (precert, _) = ca.precert("after@example.com");
    let sct = follower.add_pre_chain(&precert, &ca.chain()).await.unwrap();
    let sth = follower.current_sth().await.unwrap();
    assert_eq!(sth.tree_size, 5);
    assert!(sth.timestamp_ms > sct.timestamp_ms);
    assert!(sct.timestamp_ms > scts[2].timestamp_ms);
    follower.shutdown().await;
    for s in servers {
        s.abort();
    }
}
