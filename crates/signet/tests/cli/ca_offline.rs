//! The CA's root kept offline, with the real binary: `signet ca init-root` in an "offline"
//! directory, `signet ca init-intermediate` in the data directory, `signet ca
//! sign-intermediate`, then `signet up --ca-chain`: a keyless signature made through it
//! verifies, the data directory holds no root private key, the trusted root lists the chain
//! with the offline root, the same chain is accepted again and a wrong one is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SIGNET, Up, files_under, free_port, sign_blob_as, signet, up_refused};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::path::Path;
use std::process::Output;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {out:?}");
}

/// The DER of each `CERTIFICATE` block of a PEM file.
fn certificates(path: &Path) -> Vec<Vec<u8>> {
    signet_x509::decode_pem(&std::fs::read_to_string(path).unwrap(), "CERTIFICATE").unwrap()
}

/// Asserts that no file under `data` holds the private key whose public key is `root_spki`:
/// no `ca-root-key.pem`, no copy of the key file's bytes, and no PKCS#8 key (PEM `PRIVATE
/// KEY` block or a whole DER file) for that public key.
fn assert_no_root_key(data: &Path, root_key_pem: &str, root_spki: &[u8]) {
    let root_key_der = signet_x509::decode_pem(root_key_pem, "PRIVATE KEY")
        .unwrap()
        .remove(0);
    let files = files_under(data);
    // The CA's files and at least the CT log's key: the walk saw the data directory.
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        assert_ne!(
            file.file_name().unwrap(),
            signet_ca::store::ROOT_KEY_FILE,
            "{}",
            file.display()
        );
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes
                .windows(root_key_der.len())
                .any(|w| w == root_key_der.as_slice()),
            "{} holds the root key",
            file.display()
        );
        let mut keys: Vec<Vec<u8>> = vec![bytes.clone()];
        if let Ok(text) = std::str::from_utf8(&bytes)
            && text.contains("PRIVATE KEY-----")
        {
            keys.extend(signet_x509::decode_pem(text, "PRIVATE KEY").unwrap_or_default());
        }
        for key in keys {
            if let Ok(key) = signet_ca::SigningKey::from_pkcs8(&key) {
                assert_ne!(
                    key.spki_der().unwrap(),
                    root_spki,
                    "{} holds the root's private key",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_root_stays_offline() {
    let work = tempfile::tempdir().unwrap();
    let offline = work.path().join("offline");
    let data = work.path().join("data");
    let chain = work.path().join("chain.pem");
    // One port for every start: the logs' origins name it.
    let port = free_port();

    // Offline: the root.
    ok(
        &signet(&[
            "ca",
            "init-root",
            "--out",
            s(&offline),
            "--algorithm",
            "p384",
            "--subject",
            "CN=Offline Root,O=Example",
        ]),
        "init-root",
    );
    let root_key_pem = std::fs::read_to_string(offline.join("ca-root-key.pem")).unwrap();
    let root_der = certificates(&offline.join("ca-root.pem")).remove(0);
    let root = signet_x509::Certificate::from_der(&root_der).unwrap();
    assert_eq!(root.subject(), "CN=Offline Root,O=Example");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&offline.join("ca-root-key.pem")), 0o600);
        assert_eq!(mode(&offline.join("ca-root.pem")), 0o644);
    }
    // Never overwritten.
    let again = signet(&["ca", "init-root", "--out", s(&offline)]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read_to_string(offline.join("ca-root-key.pem")).unwrap(),
        root_key_pem
    );

    // Server: the intermediate's key and request.
    ok(
        &signet(&["ca", "init-intermediate", "--data", s(&data)]),
        "init-intermediate",
    );
    let csr = data.join("ca").join("ca-intermediate.csr");
    assert!(
        std::fs::read_to_string(&csr)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    );
    // Without the chain the server does not start, and says what to do.
    let err = up_refused(&data, port, &[]);
    assert!(err.contains("--ca-chain"), "{err}");
    // It refused before opening anything.
    assert!(!data.join("log").exists());

    // Offline: the request signed.
    ok(
        &signet(&[
            "ca",
            "sign-intermediate",
            "--root",
            s(&offline),
            "--csr",
            s(&csr),
            "--out",
            s(&chain),
            "--validity",
            "2y",
        ]),
        "sign-intermediate",
    );
    let chain_ders = certificates(&chain);
    assert_eq!(chain_ders.len(), 2);
    assert_eq!(chain_ders[1], root_der);
    let intermediate = signet_x509::Certificate::from_der(&chain_ders[0]).unwrap();
    assert_eq!(
        intermediate.basic_constraints().unwrap(),
        Some((true, true, Some(0)))
    );
    assert!(intermediate.not_after() <= root.not_after());
    // A validity past the root's end is refused.
    let long = signet(&[
        "ca",
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&csr),
        "--out",
        s(&work.path().join("long.pem")),
        "--validity",
        "11y",
    ]);
    assert_eq!(long.status.code(), Some(2), "{long:?}");
    assert!(String::from_utf8_lossy(&long.stderr).contains("outside the root's validity"));

    // A chain for another server's key is refused at start, and nothing is installed.
    let other_data = work.path().join("other");
    ok(
        &signet(&["ca", "init-intermediate", "--data", s(&other_data)]),
        "init-intermediate (other)",
    );
    let wrong = work.path().join("wrong.pem");
    ok(
        &signet(&[
            "ca",
            "sign-intermediate",
            "--root",
            s(&offline),
            "--csr",
            s(&other_data.join("ca").join("ca-intermediate.csr")),
            "--out",
            s(&wrong),
        ]),
        "sign-intermediate (other)",
    );
    let err = up_refused(&data, port, &["--ca-chain", s(&wrong)]);
    assert!(
        err.contains("wrong.pem") && err.contains("not for this CA's intermediate key"),
        "{err}"
    );
    assert!(!data.join("ca").join("ca-intermediate.pem").exists());
    assert!(!data.join("ca").join("ca-root.pem").exists());
    assert!(!data.join("log").exists());

    // Server: started with the chain.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &["--ca-chain", s(&chain)]);
    assert_eq!(
        certificates(&data.join("ca").join("ca-root.pem")),
        vec![root_der.clone()]
    );
    assert_eq!(
        certificates(&data.join("ca").join("ca-intermediate.pem")),
        vec![chain_ders[0].clone()]
    );

    // The trusted root lists the chain, ending with the offline root.
    let trusted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(up.trusted_root()).unwrap()).unwrap();
    let cas = trusted["certificateAuthorities"].as_array().unwrap();
    assert_eq!(cas.len(), 1, "{trusted}");
    let listed: Vec<Vec<u8>> = cas[0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| STANDARD.decode(c["rawBytes"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(listed, chain_ders);

    // Keyless signing through it, and verification.
    let file = work.path().join("artifact.txt");
    std::fs::write(&file, b"signed under an offline root").unwrap();
    let bundle = work.path().join("artifact.sigstore.json");
    ok(
        &sign_blob_as(&up.trust_config(), "alice@example.com", &file, &bundle),
        "sign-blob",
    );
    let issuer = up.issuer();
    let verify = |file: &Path| {
        signet(&[
            "verify-blob",
            "--trust-config",
            s(&up.trust_config()),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            "alice@example.com",
            "--certificate-oidc-issuer",
            &issuer,
            s(file),
        ])
    };
    ok(&verify(&file), "verify-blob");
    // The leaf in the bundle is issued by the intermediate of the chain.
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let leaf = STANDARD
        .decode(
            b["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = signet_x509::Certificate::from_der(&leaf).unwrap();
    leaf.verify_issued_by(&intermediate).unwrap();
    // Another file does not verify with that bundle.
    let other_file = work.path().join("other.txt");
    std::fs::write(&other_file, b"something else").unwrap();
    assert_eq!(verify(&other_file).status.code(), Some(1));

    up.stop();

    // No root private key anywhere in the data directory.
    assert_no_root_key(&data, &root_key_pem, root.public_key().spki_der());

    // The same chain on a later start is accepted; a different one (the same request signed
    // again) is refused.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &["--ca-chain", s(&chain)]);
    up.stop();
    let resigned = work.path().join("resigned.pem");
    ok(
        &signet(&[
            "ca",
            "sign-intermediate",
            "--root",
            s(&offline),
            "--csr",
            s(&csr),
            "--out",
            s(&resigned),
        ]),
        "sign-intermediate (again)",
    );
    let err = up_refused(&data, port, &["--ca-chain", s(&resigned)]);
    assert!(
        err.contains("differs from the CA chain already installed"),
        "{err}"
    );
    // And without the flag it serves as installed (the trust files unchanged, or it would
    // refuse to start).
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &[]);
    let now: serde_json::Value =
        serde_json::from_slice(&std::fs::read(up.trusted_root()).unwrap()).unwrap();
    assert_eq!(now, trusted);
    up.stop();
    assert_no_root_key(&data, &root_key_pem, root.public_key().spki_der());

    // A rotation of the CA needs a new intermediate (see ca_rotation.rs): the chain served is
    // refused, before anything is retired.
    let err = up_refused(&data, port, &["--ca-chain", s(&chain), "--rotate", "ca"]);
    assert!(err.contains("is the chain this CA already serves"), "{err}");
    assert!(!data.join(signet_deploy::RETIRED_TRUST_JSON).exists());
}

/// Runs a `signet ca` step that must succeed.
fn ca(args: &[&str]) {
    let mut all = vec!["ca"];
    all.extend_from_slice(args);
    ok(&signet(&all), &all.join(" "));
}

#[test]
fn serve_ca_installs_the_chain_too() {
    let work = tempfile::tempdir().unwrap();
    let (offline, data, chain) = (
        work.path().join("offline"),
        work.path().join("data"),
        work.path().join("chain.pem"),
    );
    ca(&["init-root", "--out", s(&offline)]);
    ca(&[
        "init-intermediate",
        "--data",
        s(&data),
        "--algorithm",
        "p384",
    ]);
    let csr = data.join("ca").join("ca-intermediate.csr");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&csr),
        "--out",
        s(&chain),
    ]);
    let server = crate::common::SignetProcess::start(
        SIGNET,
        crate::common::Launch {
            data: Some(&data),
            extra: &["--dev-oidc", "--ca-chain", s(&chain)],
            ready: &[
                crate::common::Ready::Port,
                crate::common::Ready::DataFile("trusted_root.json"),
            ],
            ..crate::common::Launch::new(&["serve", "ca"])
        },
    );
    let trusted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("trusted_root.json")).unwrap()).unwrap();
    let listed: Vec<Vec<u8>> = trusted["certificateAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| STANDARD.decode(c["rawBytes"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(listed, certificates(&chain));
    drop(server);
    let root_key_pem = std::fs::read_to_string(offline.join("ca-root-key.pem")).unwrap();
    let root =
        signet_x509::Certificate::from_der(&certificates(&offline.join("ca-root.pem"))[0]).unwrap();
    assert_no_root_key(&data, &root_key_pem, root.public_key().spki_der());
}
