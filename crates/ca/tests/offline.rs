//! The root kept offline: the root, the intermediate's request, its issuance with the root, and
//! the chain installed next to the intermediate key (`signet_ca::offline`, `signet_ca::store`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::rand::SystemRandom;
use signet_ca::offline::{self, OfflineCaError, RootCa};
use signet_ca::store::{
    self, INTERMEDIATE_CERT_FILE, INTERMEDIATE_CSR_FILE, INTERMEDIATE_KEY_FILE, ROOT_CERT_FILE,
    ROOT_KEY_FILE,
};
use signet_ca::{CA_VALIDITY_SECONDS, CaAlgorithm, CaError, SigningKey};
use signet_x509::{Certificate, KeyKind};
use std::path::Path;
use x509_cert::ext::pkix::KeyUsages;

const NOW: i64 = 1_800_000_000;
const FIVE_YEARS: i64 = 5 * 365 * 86_400;

fn rng() -> SystemRandom {
    SystemRandom::new()
}

fn root() -> RootCa {
    offline::generate_root(
        NOW,
        CaAlgorithm::EcdsaP384,
        "CN=Test Root,O=Example",
        &rng(),
    )
    .unwrap()
}

fn key_and_csr() -> (SigningKey, String) {
    offline::generate_intermediate_key_and_csr(
        CaAlgorithm::EcdsaP256,
        "CN=Test Intermediate,O=Example",
        &rng(),
    )
    .unwrap()
}

fn csr_der(pem: &str) -> Vec<u8> {
    signet_x509::decode_pem(pem, "CERTIFICATE REQUEST")
        .unwrap()
        .remove(0)
}

#[test]
fn the_root_is_a_self_signed_ca_with_path_length_one_for_ten_years() {
    let root = root();
    let cert = root.certificate();
    assert_eq!(cert.subject(), "CN=Test Root,O=Example");
    cert.verify_issued_by(cert).unwrap();
    assert_eq!(
        cert.basic_constraints().unwrap(),
        Some((true, true, Some(1)))
    );
    assert!(cert.has_key_usage(KeyUsages::KeyCertSign).unwrap());
    assert_eq!(cert.public_key().kind(), KeyKind::EcdsaP384);
    assert_eq!(cert.not_before(), NOW);
    assert_eq!(cert.not_after(), NOW + CA_VALIDITY_SECONDS);
    // Its PEM files load back, and a key of another root is refused.
    let again = RootCa::from_pem(&root.certificate_pem().unwrap(), &root.key_pem().unwrap());
    assert_eq!(again.unwrap().certificate().der(), cert.der());
    let other = offline::generate_root(NOW, CaAlgorithm::EcdsaP256, "CN=Other", &rng()).unwrap();
    let err = RootCa::from_pem(&root.certificate_pem().unwrap(), &other.key_pem().unwrap());
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("root key does not match")
    );
}

#[test]
fn a_bad_subject_is_refused() {
    let err = offline::generate_root(NOW, CaAlgorithm::EcdsaP256, "not a name", &rng());
    assert!(
        err.unwrap_err().to_string().contains("not a name"),
        "the error names the subject"
    );
}

#[test]
fn the_request_is_signed_by_the_intermediate_key() {
    let (key, csr) = key_and_csr();
    assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    // The CA's own CSR check: parses, and the self-signature verifies with its key.
    let checked = signet_ca::request::check_csr(csr.as_bytes()).unwrap();
    assert_eq!(checked.key.spki_der(), key.spki_der().unwrap().as_slice());
    assert_eq!(checked.key.kind(), KeyKind::EcdsaP256);
    // openssl's reading of it agrees, where openssl is installed.
    if let Ok(out) = std::process::Command::new("openssl")
        .args(["req", "-noout", "-verify", "-subject"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(csr.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Test Intermediate"), "{text}");
    }
}

#[test]
fn the_intermediate_is_a_ca_with_path_length_zero_inside_the_roots_validity() {
    let root = root();
    let (key, csr) = key_and_csr();
    let later = NOW + 3600;
    let cert =
        offline::issue_intermediate(&root, csr.as_bytes(), later, FIVE_YEARS, &rng()).unwrap();
    cert.verify_issued_by(root.certificate()).unwrap();
    assert_eq!(cert.subject(), "CN=Test Intermediate,O=Example");
    assert_eq!(cert.issuer(), root.certificate().subject());
    assert_eq!(
        cert.public_key().spki_der(),
        key.spki_der().unwrap().as_slice()
    );
    assert_eq!(
        cert.basic_constraints().unwrap(),
        Some((true, true, Some(0)))
    );
    assert!(cert.has_key_usage(KeyUsages::KeyCertSign).unwrap());
    assert!(cert.has_key_usage(KeyUsages::CRLSign).unwrap());
    assert!(!cert.has_key_usage(KeyUsages::DigitalSignature).unwrap());
    assert_eq!(cert.not_before(), later);
    assert_eq!(cert.not_after(), later + FIVE_YEARS);
    assert!(cert.not_before() >= root.certificate().not_before());
    assert!(cert.not_after() <= root.certificate().not_after());
    signet_x509::check_trusted_chain(&[cert.clone(), root.certificate().clone()]).unwrap();
    // Random serials: a second issuance differs.
    let second = offline::issue_intermediate(&root, csr.as_bytes(), later, FIVE_YEARS, &rng());
    assert_ne!(
        second.unwrap().inner().tbs_certificate.serial_number,
        cert.inner().tbs_certificate.serial_number
    );
    // DER requests are accepted too.
    offline::issue_intermediate(&root, &csr_der(&csr), later, FIVE_YEARS, &rng()).unwrap();
}

#[test]
fn a_validity_outside_the_roots_is_refused() {
    let root = root();
    let (_, csr) = key_and_csr();
    let issue = |now: i64, validity: i64| {
        offline::issue_intermediate(&root, csr.as_bytes(), now, validity, &rng()).unwrap_err()
    };
    // Ends after the root.
    assert!(matches!(
        issue(NOW, CA_VALIDITY_SECONDS + 1),
        OfflineCaError::OutsideRootValidity { .. }
    ));
    // Starts before it.
    assert!(matches!(
        issue(NOW - 1, FIVE_YEARS),
        OfflineCaError::OutsideRootValidity { .. }
    ));
    assert!(matches!(
        issue(NOW, 0),
        OfflineCaError::Validity { seconds: 0 }
    ));
    // Exactly the root's end is inside.
    offline::issue_intermediate(&root, csr.as_bytes(), NOW, CA_VALIDITY_SECONDS, &rng()).unwrap();
}

#[test]
fn a_tampered_request_is_refused() {
    let root = root();
    let (_, csr) = key_and_csr();
    let der = csr_der(&csr);
    // The subject changed after signing.
    let at = der
        .windows(b"Intermediate".len())
        .position(|w| w == b"Intermediate")
        .unwrap();
    let mut subject = der.clone();
    subject[at] = b'X';
    // The signature's last byte changed.
    let mut signature = der.clone();
    *signature.last_mut().unwrap() ^= 1;
    // Another key's request with this one's signature: the public key swapped.
    let (_, other) = key_and_csr();
    let other = csr_der(&other);
    let swapped = {
        let spki = |d: &[u8]| {
            let req = <x509_cert::request::CertReq as der::Decode>::from_der(d).unwrap();
            der::Encode::to_der(&req.info.public_key).unwrap()
        };
        let (mine, theirs) = (spki(&der), spki(&other));
        let at = der.windows(mine.len()).position(|w| w == mine).unwrap();
        let mut swapped = der.clone();
        swapped[at..at + mine.len()].copy_from_slice(&theirs);
        swapped
    };
    for tampered in [subject, signature, swapped] {
        let err = offline::issue_intermediate(&root, &tampered, NOW, FIVE_YEARS, &rng());
        assert!(
            matches!(err, Err(OfflineCaError::Ca(CaError::CsrSignature))),
            "{err:?}"
        );
    }
    // Not a request at all.
    let err = offline::issue_intermediate(&root, b"hello", NOW, FIVE_YEARS, &rng());
    assert!(matches!(err, Err(OfflineCaError::Ca(CaError::BadCsr(_)))));
}

#[test]
fn a_request_for_a_key_the_ca_cannot_use_is_refused() {
    // An Ed25519 request, made by hand: the CA signs leaves with ECDSA P-256/P-384 only.
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let pair = Ed25519KeyPair::generate().unwrap();
    let spki = {
        let mut d = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        d.extend_from_slice(pair.public_key().as_ref());
        d
    };
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: "CN=Ed".parse().unwrap(),
        public_key: der::Decode::from_der(&spki).unwrap(),
        attributes: Default::default(),
    };
    let signature = pair.sign(&der::Encode::to_der(&info).unwrap());
    let request = x509_cert::request::CertReq {
        info,
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: const_oid::ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(signature.as_ref()).unwrap(),
    };
    let der = der::Encode::to_der(&request).unwrap();
    let err = offline::issue_intermediate(&root(), &der, NOW, FIVE_YEARS, &rng());
    assert!(
        matches!(
            err,
            Err(OfflineCaError::UnsupportedIntermediateKey {
                kind: KeyKind::Ed25519
            })
        ),
        "{err:?}"
    );
}

fn chain_for(root: &RootCa, csr: &str) -> String {
    let cert = offline::issue_intermediate(root, csr.as_bytes(), NOW, FIVE_YEARS, &rng()).unwrap();
    offline::chain_pem(&cert, root.certificate()).unwrap()
}

#[test]
fn the_chain_is_checked_against_the_key() {
    let root = root();
    let (key, csr) = key_and_csr();
    let chain = chain_for(&root, &csr);
    let [intermediate, r] = offline::check_chain_for_key(&chain, &key).unwrap();
    assert_eq!(r.der(), root.certificate().der());
    assert_eq!(
        intermediate.public_key().spki_der(),
        key.spki_der().unwrap().as_slice()
    );

    // Another request's chain does not match this key.
    let (_, other_csr) = key_and_csr();
    let other = chain_for(&root, &other_csr);
    assert!(matches!(
        offline::check_chain_for_key(&other, &key),
        Err(OfflineCaError::ChainKeyMismatch { .. })
    ));
    // The root alone, or root first, or three certificates.
    let blocks: Vec<String> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_owned)
        .collect();
    assert_eq!(blocks.len(), 2);
    assert!(matches!(
        offline::check_chain_for_key(&blocks[1], &key),
        Err(OfflineCaError::ChainLength { found: 1 })
    ));
    let reversed = format!("{}{}", blocks[1], blocks[0]);
    assert!(matches!(
        offline::check_chain_for_key(&reversed, &key),
        Err(OfflineCaError::Ca(CaError::KeyMaterial(_)))
    ));
    assert!(matches!(
        offline::check_chain_for_key(&format!("{chain}{}", blocks[1]), &key),
        Err(OfflineCaError::ChainLength { found: 3 })
    ));
    // An intermediate under another root, with that root: the key matches but the chain is
    // checked as a whole.
    let foreign = chain_for(&root_with_subject("CN=Test Root,O=Example"), &csr);
    let foreign_intermediate = foreign
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap();
    let mixed = format!("{foreign_intermediate}{}", blocks[1]);
    assert!(matches!(
        offline::check_chain_for_key(&mixed, &key),
        Err(OfflineCaError::Ca(CaError::KeyMaterial(_)))
    ));
}

fn root_with_subject(subject: &str) -> RootCa {
    offline::generate_root(NOW, CaAlgorithm::EcdsaP256, subject, &rng()).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_whole_ceremony_on_disk() {
    let offline_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ca_dir = data.path().join("ca");
    let rng = rng();

    // Offline: the root.
    let root = store::init_root(
        offline_dir.path(),
        NOW,
        CaAlgorithm::EcdsaP256,
        "CN=Test Root",
        &rng,
    )
    .unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&offline_dir.path().join(ROOT_KEY_FILE)), 0o600);
        assert_eq!(mode(&offline_dir.path().join(ROOT_CERT_FILE)), 0o644);
    }
    let err = store::init_root(
        offline_dir.path(),
        NOW,
        CaAlgorithm::EcdsaP256,
        "CN=R",
        &rng,
    );
    assert!(matches!(err, Err(OfflineCaError::Exists { .. })), "{err:?}");
    assert_eq!(
        store::read_root(offline_dir.path())
            .unwrap()
            .certificate()
            .der(),
        root.certificate().der()
    );

    // Before the intermediate key, a chain cannot be installed.
    let chain_path = offline_dir.path().join("chain.pem");
    let err = store::install_chain(&ca_dir, &chain_path).unwrap_err();
    assert!(err.to_string().contains("init-intermediate"), "{err}");

    // Server: the key and the request.
    let csr =
        store::init_intermediate(&ca_dir, CaAlgorithm::EcdsaP256, "CN=Test CA", &rng).unwrap();
    assert_eq!(csr, ca_dir.join(INTERMEDIATE_CSR_FILE));
    #[cfg(unix)]
    assert_eq!(mode(&ca_dir.join(INTERMEDIATE_KEY_FILE)), 0o600);
    let err = store::init_intermediate(&ca_dir, CaAlgorithm::EcdsaP256, "CN=Test CA", &rng);
    assert!(
        matches!(err, Err(OfflineCaError::KeyMaterialPresent { .. })),
        "{err:?}"
    );
    // Without the chain the CA does not start, and says what to do.
    let err = store::load_or_create(&ca_dir, NOW, CaAlgorithm::EcdsaP256, &rng).unwrap_err();
    assert!(err.to_string().contains("--ca-chain"), "{err}");

    // Offline: the request signed.
    let intermediate =
        store::sign_intermediate(offline_dir.path(), &csr, &chain_path, NOW, FIVE_YEARS, &rng)
            .unwrap();
    let err =
        store::sign_intermediate(offline_dir.path(), &csr, &chain_path, NOW, FIVE_YEARS, &rng);
    assert!(matches!(err, Err(OfflineCaError::Exists { .. })), "{err:?}");

    // A chain for another key is refused, and nothing is installed.
    let (_, other_csr) = key_and_csr();
    let other_csr_path = offline_dir.path().join("other.csr");
    std::fs::write(&other_csr_path, other_csr).unwrap();
    let wrong_path = offline_dir.path().join("wrong.pem");
    store::sign_intermediate(
        offline_dir.path(),
        &other_csr_path,
        &wrong_path,
        NOW,
        FIVE_YEARS,
        &rng,
    )
    .unwrap();
    let err = store::install_chain(&ca_dir, &wrong_path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("wrong.pem"), "{text}");
    assert!(text.contains(INTERMEDIATE_KEY_FILE), "{text}");
    assert!(!ca_dir.join(ROOT_CERT_FILE).exists());
    assert!(!ca_dir.join(INTERMEDIATE_CERT_FILE).exists());

    // Server: the chain installed; the CA loads without the root's key.
    store::install_chain(&ca_dir, &chain_path).unwrap();
    let keys = store::load_or_create(&ca_dir, NOW, CaAlgorithm::EcdsaP256, &rng).unwrap();
    assert_eq!(keys.root().der(), root.certificate().der());
    assert_eq!(keys.intermediate().der(), intermediate.der());
    assert!(keys.to_pem().unwrap().root_key.is_none());
    assert!(!ca_dir.join(ROOT_KEY_FILE).exists());
    let chain: Vec<Certificate> = keys.chain();
    assert_eq!(chain.len(), 2);

    // The same chain again changes nothing; another one is refused.
    store::install_chain(&ca_dir, &chain_path).unwrap();
    let second_path = offline_dir.path().join("second.pem");
    store::sign_intermediate(
        offline_dir.path(),
        &csr,
        &second_path,
        NOW,
        FIVE_YEARS,
        &rng,
    )
    .unwrap();
    let err = store::install_chain(&ca_dir, &second_path).unwrap_err();
    assert!(
        matches!(&err, OfflineCaError::InFile { source, .. }
            if matches!(**source, OfflineCaError::ChainDiffers { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("--rotate ca"), "{err}");
    let installed = std::fs::read_to_string(ca_dir.join(INTERMEDIATE_CERT_FILE)).unwrap();
    assert!(
        std::fs::read_to_string(&chain_path)
            .unwrap()
            .starts_with(&installed)
    );

    // A crash between the two certificate files: the next install completes it.
    std::fs::remove_file(ca_dir.join(INTERMEDIATE_CERT_FILE)).unwrap();
    store::install_chain(&ca_dir, &chain_path).unwrap();
    store::load_or_create(&ca_dir, NOW, CaAlgorithm::EcdsaP256, &rng).unwrap();
}

#[test]
fn a_ca_with_a_generated_root_refuses_a_chain() {
    let data = tempfile::tempdir().unwrap();
    let ca_dir = data.path().join("ca");
    store::load_or_create(&ca_dir, NOW, CaAlgorithm::EcdsaP256, &rng()).unwrap();
    let err = store::init_intermediate(&ca_dir, CaAlgorithm::EcdsaP256, "CN=x", &rng());
    assert!(matches!(
        err,
        Err(OfflineCaError::KeyMaterialPresent { .. })
    ));
    // A chain (for some other key) is refused: it is not for this CA's key.
    let offline_dir = tempfile::tempdir().unwrap();
    let root = root();
    let (_, csr) = key_and_csr();
    let chain_path = offline_dir.path().join("chain.pem");
    std::fs::write(&chain_path, chain_for(&root, &csr)).unwrap();
    assert!(store::install_chain(&ca_dir, &chain_path).is_err());
}

/// A CA serving under the offline root of `root_dir`, in `dir`: its first intermediate made,
/// signed and installed. Returns the root.
fn serving_ca(root_dir: &Path, dir: &Path) -> RootCa {
    let root = store::init_root(root_dir, NOW, CaAlgorithm::EcdsaP256, "CN=R", &rng()).unwrap();
    let csr = store::init_intermediate(dir, CaAlgorithm::EcdsaP256, "CN=I1", &rng()).unwrap();
    let chain = dir.parent().unwrap().join("chain1.pem");
    store::sign_intermediate(root_dir, &csr, &chain, NOW, FIVE_YEARS, &rng()).unwrap();
    store::install_chain(dir, &chain).unwrap();
    root
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn the_next_intermediate_is_pending_and_rotates_in_resumable_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let (root_dir, dir) = (tmp.path().join("root"), tmp.path().join("ca"));
    serving_ca(&root_dir, &dir);
    let old_cert = read(&dir.join(INTERMEDIATE_CERT_FILE));
    let old_key = read(&dir.join(INTERMEDIATE_KEY_FILE));
    assert!(store::serves_under_offline_root(&dir));

    // No pending key yet.
    let chain1 = tmp.path().join("chain1.pem");
    assert!(matches!(
        store::check_new_intermediate(&dir, &chain1, None, false, NOW + 100),
        Err(OfflineCaError::InFile { source, .. })
            if matches!(*source, OfflineCaError::ChainAlreadyServed { .. })
    ));

    // The next one goes to pending/, the serving files untouched; only one at a time.
    let csr = store::init_intermediate(&dir, CaAlgorithm::EcdsaP384, "CN=I2", &rng()).unwrap();
    let pending = dir.join(store::PENDING_DIR);
    assert_eq!(csr, pending.join(INTERMEDIATE_CSR_FILE));
    assert_eq!(read(&dir.join(INTERMEDIATE_KEY_FILE)), old_key);
    assert_eq!(read(&dir.join(INTERMEDIATE_CERT_FILE)), old_cert);
    assert!(matches!(
        store::init_intermediate(&dir, CaAlgorithm::EcdsaP256, "CN=I3", &rng()),
        Err(OfflineCaError::PendingIntermediate { .. })
    ));
    let new_key = read(&pending.join(INTERMEDIATE_KEY_FILE));
    let chain2 = tmp.path().join("chain2.pem");
    store::sign_intermediate(&root_dir, &csr, &chain2, NOW, FIVE_YEARS, &rng()).unwrap();
    // Without --rotate, the pending chain is named as such.
    let err = store::install_chain(&dir, &chain2).unwrap_err();
    assert!(err.to_string().contains("--rotate ca"), "{err}");

    // Not valid yet (the offline machine's clock ahead), or no longer.
    for now in [NOW - 1, NOW + FIVE_YEARS + 1] {
        assert!(matches!(
            store::check_new_intermediate(&dir, &chain2, None, false, now),
            Err(OfflineCaError::InFile { source, .. })
                if matches!(*source, OfflineCaError::NotValidNow { .. })
        ));
    }
    let new = store::check_new_intermediate(&dir, &chain2, None, false, NOW + 100).unwrap();
    let retired = dir.join("retired").join("1800000100");

    // A crash inside step 2: the key moved, the request under both names.
    std::fs::create_dir_all(&retired).unwrap();
    std::fs::rename(
        dir.join(INTERMEDIATE_KEY_FILE),
        retired.join(INTERMEDIATE_KEY_FILE),
    )
    .unwrap();
    std::fs::hard_link(
        dir.join(INTERMEDIATE_CSR_FILE),
        retired.join(INTERMEDIATE_CSR_FILE),
    )
    .unwrap();
    store::check_new_intermediate(&dir, &chain2, None, true, NOW + 100).unwrap();
    store::retire_intermediate(&dir, &new, &retired).unwrap();
    assert!(!dir.join(INTERMEDIATE_CERT_FILE).exists());
    assert!(!dir.join(INTERMEDIATE_CSR_FILE).exists());
    assert_eq!(read(&retired.join(INTERMEDIATE_KEY_FILE)), old_key);
    assert_eq!(read(&retired.join(INTERMEDIATE_CERT_FILE)), old_cert);

    // A crash inside step 3: the certificate written, the key under both names.
    std::fs::write(
        dir.join(INTERMEDIATE_CERT_FILE),
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, new.der()).unwrap(),
    )
    .unwrap();
    std::fs::hard_link(
        pending.join(INTERMEDIATE_KEY_FILE),
        dir.join(INTERMEDIATE_KEY_FILE),
    )
    .unwrap();
    // Resuming finds the chain installed (not "already served") and the key still pending.
    store::check_new_intermediate(&dir, &chain2, None, true, NOW + 100).unwrap();
    // Step 2 again is a no-op: the certificate in place is the new one; the new key stays.
    store::retire_intermediate(&dir, &new, &retired).unwrap();
    assert_eq!(read(&dir.join(INTERMEDIATE_KEY_FILE)), new_key);
    store::install_new_intermediate(&dir, &new).unwrap();
    assert!(!pending.exists());
    assert_eq!(read(&dir.join(INTERMEDIATE_KEY_FILE)), new_key);
    assert!(dir.join(INTERMEDIATE_CSR_FILE).exists());
    // Resuming once more (a crash before the trust files): the installed key is the new one.
    store::check_new_intermediate(&dir, &chain2, None, true, NOW + 100).unwrap();
    store::retire_intermediate(&dir, &new, &retired).unwrap();
    store::install_new_intermediate(&dir, &new).unwrap();
    let keys = store::load_or_create(&dir, NOW, CaAlgorithm::EcdsaP256, &rng()).unwrap();
    assert_eq!(keys.intermediate().der(), new.der());
    // Not resuming, the chain is the one served.
    assert!(store::check_new_intermediate(&dir, &chain2, None, false, NOW + 100).is_err());
    // The chain installed: accepted again as --ca-chain.
    store::install_chain(&dir, &chain2).unwrap();
}

#[test]
fn a_new_intermediate_of_another_root_or_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (root_dir, dir) = (tmp.path().join("root"), tmp.path().join("ca"));
    serving_ca(&root_dir, &dir);
    let csr = store::init_intermediate(&dir, CaAlgorithm::EcdsaP256, "CN=I2", &rng()).unwrap();
    // Another root.
    let other_root = tmp.path().join("root2");
    store::init_root(&other_root, NOW, CaAlgorithm::EcdsaP256, "CN=R2", &rng()).unwrap();
    let foreign = tmp.path().join("foreign.pem");
    store::sign_intermediate(&other_root, &csr, &foreign, NOW, FIVE_YEARS, &rng()).unwrap();
    let err = store::check_new_intermediate(&dir, &foreign, None, false, NOW + 100).unwrap_err();
    assert!(err.to_string().contains("not this CA's root"), "{err}");
    // Another key (a request of the same root for another CA).
    let other = tmp.path().join("other");
    let other_csr =
        store::init_intermediate(&other, CaAlgorithm::EcdsaP256, "CN=O", &rng()).unwrap();
    let wrong = tmp.path().join("wrong.pem");
    store::sign_intermediate(&root_dir, &other_csr, &wrong, NOW, FIVE_YEARS, &rng()).unwrap();
    let err = store::check_new_intermediate(&dir, &wrong, None, false, NOW + 100).unwrap_err();
    assert!(
        err.to_string().contains("pending") && err.to_string().contains("not for this CA"),
        "{err}"
    );
    // No pending key: nothing new to install.
    std::fs::remove_file(dir.join(store::PENDING_DIR).join(INTERMEDIATE_KEY_FILE)).unwrap();
    let err = store::check_new_intermediate(&dir, &wrong, None, false, NOW + 100).unwrap_err();
    assert!(err.to_string().contains("no new intermediate key"), "{err}");
    // A CA whose root is in its directory has no offline root to rotate under.
    let online = tmp.path().join("online");
    store::load_or_create(&online, NOW, CaAlgorithm::EcdsaP256, &rng()).unwrap();
    assert!(!store::serves_under_offline_root(&online));
    assert!(matches!(
        store::check_new_intermediate(&online, &wrong, None, false, NOW + 100),
        Err(OfflineCaError::RootNotOffline { .. })
    ));
    assert!(matches!(
        store::init_intermediate(&online, CaAlgorithm::EcdsaP256, "CN=X", &rng()),
        Err(OfflineCaError::KeyMaterialPresent { .. })
    ));
}
