//! Rotating the CA's intermediate under a root kept offline, with the real binary: the
//! ceremony of `ca_offline.rs`, a signature, `signet ca init-intermediate` again on the
//! serving CA (the next key kept pending), `sign-intermediate` with the same root, then
//! `signet up --ca-chain NEW.pem --rotate ca`, interrupted after its first steps and finished
//! by the same flags. Both bundles verify against the new trusted root (signet with the trust
//! files and over TUF, and sigstore-python when `SIGNET_SIGSTORE_PYTHON` is set); the wrong
//! chains and the missing new intermediate are refused before anything is retired. With
//! SoftHSM2 (`SIGNET_SOFTHSM_MODULE`), an intermediate in the token rotates to another key
//! of the token the same way.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{
    Launch, Ready, SIGNET, SignetProcess, Up, copy_dir, free_port, sign_blob_as, signet, up_refused,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet_testkit::signet::Stdout;
use signet_testkit::tools::sigstore_python as python;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {out:?}");
}

/// Runs a `signet ca` step that must succeed; returns its stdout.
fn ca(args: &[&str]) -> String {
    let mut all = vec!["ca"];
    all.extend_from_slice(args);
    let out = signet(&all);
    ok(&out, &all.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

/// The DER of each `CERTIFICATE` block of a PEM file.
fn certificates(path: &Path) -> Vec<Vec<u8>> {
    signet_x509::decode_pem(&std::fs::read_to_string(path).unwrap(), "CERTIFICATE").unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A `certificateAuthorities` entry of a trusted root: its chain (DER) and its `validFor`
/// start and end (RFC 3339 text).
type Authority = (Vec<Vec<u8>>, Option<String>, Option<String>);

/// Each `certificateAuthorities` entry of a trusted root.
fn authorities(root: &serde_json::Value) -> Vec<Authority> {
    root["certificateAuthorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ca| {
            let chain = ca["certChain"]["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| STANDARD.decode(c["rawBytes"].as_str().unwrap()).unwrap())
                .collect();
            let time = |k: &str| ca["validFor"][k].as_str().map(str::to_owned);
            (chain, time("start"), time("end"))
        })
        .collect()
}

/// The leaf certificate of a bundle.
fn leaf(bundle: &Path) -> signet_x509::Certificate {
    let b = json(bundle);
    let der = STANDARD
        .decode(
            b["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    signet_x509::Certificate::from_der(&der).unwrap()
}

/// `signet` with its own TUF client home.
fn signet_tuf(home: &Path, args: &[&str]) -> Output {
    Command::new(SIGNET)
        .args(args)
        .env("SIGNET_TUF_HOME", home)
        .output()
        .unwrap()
}

fn verify_args<'a>(bundle: &'a Path, issuer: &'a str, file: &'a Path) -> Vec<&'a str> {
    vec![
        "verify-blob",
        "--bundle",
        s(bundle),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        issuer,
        s(file),
    ]
}

/// Asserts that `signet up --rotate ca` with `extra` refuses with a message containing
/// `expect`, and that nothing was retired.
#[track_caller]
fn rotation_refused(data: &Path, port: u16, extra: &[&str], expect: &str) {
    let err = up_refused(data, port, extra);
    assert!(err.contains(expect), "{extra:?}: {err}");
    assert!(
        !data.join(signet_deploy::RETIRED_TRUST_JSON).exists(),
        "{extra:?} retired something"
    );
    assert!(!data.join("ca").join("retired").exists(), "{extra:?}");
}

#[test]
fn the_intermediate_rotates_under_the_offline_root() {
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name);
    let (offline, data) = (w("offline"), w("data"));
    let ca_dir = data.join("ca");
    let tuf_home = w("signet-tuf");
    let port = free_port();

    // The first ceremony.
    ca(&["init-root", "--out", s(&offline)]);
    ca(&["init-intermediate", "--data", s(&data)]);
    let chain1 = w("chain1.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&ca_dir.join("ca-intermediate.csr")),
        "--out",
        s(&chain1),
    ]);
    let chain1_ders = certificates(&chain1);
    let root_der = chain1_ders[1].clone();

    // Serve with it, sign A, and trust the instance over TUF.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &["--ca-chain", s(&chain1)]);
    let issuer = up.issuer();
    let tuf = format!("{}/tuf", up.url);
    ok(
        &signet_tuf(
            &tuf_home,
            &[
                "trust-instance",
                "--instance",
                &tuf,
                "--root",
                s(&data.join("tuf-root.json")),
            ],
        ),
        "trust-instance",
    );
    let file_a = w("a.txt");
    std::fs::write(&file_a, b"signed before the rotation").unwrap();
    let bundle_a = w("a.sigstore.json");
    ok(
        &sign_blob_as(&up.trust_config(), "alice@example.com", &file_a, &bundle_a),
        "sign-blob A",
    );
    up.stop();
    let trusted_before = json(&data.join("trusted_root.json"));

    // Refused while there is no next intermediate: --rotate ca alone (the root is offline),
    // and a chain of the same root for a key that is not this CA's pending one.
    rotation_refused(&data, port, &["--rotate", "ca"], "its root is kept offline");
    let other = w("other");
    ca(&["init-intermediate", "--data", s(&other)]);
    let other_chain = w("other.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&other.join("ca").join("ca-intermediate.csr")),
        "--out",
        s(&other_chain),
    ]);
    rotation_refused(
        &data,
        port,
        &["--ca-chain", s(&other_chain), "--rotate", "ca"],
        "no new intermediate key",
    );

    // The next intermediate, pending beside the serving one.
    let serving: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&ca_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let out = ca(&["init-intermediate", "--data", s(&data)]);
    assert!(out.contains("--rotate ca"), "{out}");
    let pending = ca_dir.join("pending");
    let pending_key = std::fs::read(pending.join("ca-intermediate-key.pem")).unwrap();
    for (path, bytes) in &serving {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    // Only one pending at a time.
    let again = signet(&["ca", "init-intermediate", "--data", s(&data)]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already awaits its chain"),
        "{again:?}"
    );
    let chain2 = w("chain2.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&pending.join("ca-intermediate.csr")),
        "--out",
        s(&chain2),
    ]);
    let chain2_ders = certificates(&chain2);
    assert_eq!(chain2_ders[1], root_der);
    let new_intermediate = signet_x509::Certificate::from_der(&chain2_ders[0]).unwrap();

    // The wrong chains are refused before anything is retired: the chain served (given
    // twice), another key's, another root's, and the new chain without --rotate.
    rotation_refused(
        &data,
        port,
        &["--ca-chain", s(&chain1), "--rotate", "ca"],
        "is the chain this CA already serves",
    );
    rotation_refused(
        &data,
        port,
        &["--ca-chain", s(&other_chain), "--rotate", "ca"],
        "not for this CA's intermediate key",
    );
    let offline2 = w("offline2");
    ca(&["init-root", "--out", s(&offline2)]);
    let foreign = w("foreign.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline2),
        "--csr",
        s(&pending.join("ca-intermediate.csr")),
        "--out",
        s(&foreign),
    ]);
    rotation_refused(
        &data,
        port,
        &["--ca-chain", s(&foreign), "--rotate", "ca"],
        "its root is not this CA's root",
    );
    let err = up_refused(&data, port, &["--ca-chain", s(&chain2)]);
    assert!(
        err.contains("is the chain of the next intermediate") && err.contains("--rotate ca"),
        "{err}"
    );

    // The rotation, interrupted: a copy of the data directory rotates all the way, which
    // gives the record step 1 writes; the data directory gets that record and the old key
    // moved (a crash inside step 2). A plain start refuses; the same flags finish it.
    let rotate = ["--ca-chain", s(&chain2), "--rotate", "ca"];
    let copy = w("copy");
    copy_dir(&data, &copy);
    let done = Up::start_with(SIGNET, Some(&copy), Some(port), &rotate);
    done.stop();
    let record = copy.join(signet_deploy::RETIRED_TRUST_JSON);
    let end = authorities(&json(&record))[0].2.clone().unwrap();
    let at = signet_formats::Timestamp::parse_rfc3339(&end)
        .unwrap()
        .seconds
        .to_string();
    std::fs::copy(&record, data.join(signet_deploy::RETIRED_TRUST_JSON)).unwrap();
    let retired = ca_dir.join("retired").join(&at);
    std::fs::create_dir_all(&retired).unwrap();
    let old_key = std::fs::read(ca_dir.join("ca-intermediate-key.pem")).unwrap();
    std::fs::rename(
        ca_dir.join("ca-intermediate-key.pem"),
        retired.join("ca-intermediate-key.pem"),
    )
    .unwrap();
    let err = up_refused(&data, port, &[]);
    assert!(
        err.contains("--rotate ca") && err.contains("--ca-chain"),
        "{err}"
    );
    // Finishing it without the chain would make a new root on the server: refused.
    let err = up_refused(&data, port, &["--rotate", "ca"]);
    assert!(err.contains("its root is kept offline"), "{err}");
    assert!(ca_dir.join("ca-intermediate.pem").exists());
    assert!(ca_dir.join("ca-root.pem").exists());
    let up = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&data),
            port: Some(port),
            extra: &rotate,
            ready: &[
                Ready::Port,
                Ready::Stdout("finished an interrupted rotation of the ca key"),
            ],
            stdout: Stdout::File,
            ..Launch::new(&["up"])
        },
    );

    // The files: the old intermediate retired, the pending one in place, the root kept.
    assert_eq!(
        std::fs::read(retired.join("ca-intermediate-key.pem")).unwrap(),
        old_key
    );
    assert_eq!(
        certificates(&retired.join("ca-intermediate.pem")),
        vec![chain1_ders[0].clone()]
    );
    assert!(retired.join("ca-intermediate.csr").exists());
    assert_eq!(
        std::fs::read(ca_dir.join("ca-intermediate-key.pem")).unwrap(),
        pending_key
    );
    assert_eq!(
        certificates(&ca_dir.join("ca-intermediate.pem")),
        vec![chain2_ders[0].clone()]
    );
    assert_eq!(certificates(&ca_dir.join("ca-root.pem")), vec![root_der]);
    assert!(!pending.exists());

    // The trusted root: the old chain until T, the new one (same root) from T, as the copy
    // that was not interrupted has it.
    let trusted = json(&data.join("trusted_root.json"));
    let cas = authorities(&trusted);
    assert_eq!(cas.len(), 2, "{trusted}");
    assert_eq!(cas[0].0, chain1_ders);
    assert_eq!(cas[0].2.as_deref(), Some(end.as_str()));
    assert_eq!(cas[1].0, chain2_ders);
    assert_eq!(cas[1].1.as_deref(), Some(end.as_str()));
    assert_eq!(cas[1].2, None);
    assert_eq!(
        authorities(&json(&copy.join("trusted_root.json"))),
        cas,
        "the resumed rotation differs from the uninterrupted one"
    );
    // Everything else as before.
    for key in ["tlogs", "ctlogs", "timestampAuthorities"] {
        assert_eq!(trusted[key], trusted_before[key], "{key}");
    }

    // Sign B: issued by the new intermediate, its precertificate accepted by the CT log (the
    // SCT is checked on verification).
    let file_b = w("b.txt");
    std::fs::write(&file_b, b"signed after the rotation").unwrap();
    let bundle_b = w("b.sigstore.json");
    let trust_config = data.join("trust_config.json");
    ok(
        &sign_blob_as(&trust_config, "alice@example.com", &file_b, &bundle_b),
        "sign-blob B",
    );
    leaf(&bundle_b).verify_issued_by(&new_intermediate).unwrap();
    assert!(leaf(&bundle_a).verify_issued_by(&new_intermediate).is_err());

    // Both verify against the new trusted root: with the trust files, and over TUF (the
    // client refreshes to the new trusted root).
    for (bundle, file) in [(&bundle_a, &file_a), (&bundle_b, &file_b)] {
        let mut args = verify_args(bundle, &issuer, file);
        args.splice(1..1, ["--trust-config", s(&trust_config)]);
        ok(&signet(&args), &format!("verify-blob {}", bundle.display()));
        let mut args = verify_args(bundle, &issuer, file);
        args.splice(1..1, ["--instance", tuf.as_str()]);
        ok(
            &signet_tuf(&tuf_home, &args),
            &format!("verify-blob --instance {}", bundle.display()),
        );
        // The other file does not verify.
        let other_file = if file == &file_a { &file_b } else { &file_a };
        let mut args = verify_args(bundle, &issuer, other_file);
        args.splice(1..1, ["--trust-config", s(&trust_config)]);
        assert_eq!(signet(&args).status.code(), Some(1));
    }
    match python() {
        Some(py) => {
            for (bundle, file) in [(&bundle_a, &file_a), (&bundle_b, &file_b)] {
                let out = Command::new(&py)
                    .args(["-m", "sigstore", "--trust-config"])
                    .arg(&trust_config)
                    .args(["verify", "identity", "--bundle"])
                    .arg(bundle)
                    .args([
                        "--cert-identity",
                        "alice@example.com",
                        "--cert-oidc-issuer",
                        &issuer,
                    ])
                    .arg(file)
                    .output()
                    .unwrap();
                ok(
                    &out,
                    &format!("sigstore-python verify {}", bundle.display()),
                );
            }
        }
        None => eprintln!("sigstore-python not checked (set SIGNET_SIGSTORE_PYTHON)"),
    }
    drop(up);

    // Later starts: the new chain is accepted without --rotate; given again with --rotate it
    // is the chain already served.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &["--ca-chain", s(&chain2)]);
    assert_eq!(json(&up.trusted_root()), trusted);
    up.stop();
    let err = up_refused(&data, port, &rotate);
    assert!(err.contains("is the chain this CA already serves"), "{err}");
}

#[test]
fn an_intermediate_in_softhsm_rotates_to_another_hsm_key() {
    let Some(hsm) = crate::hsm::init_token() else {
        return;
    };
    let flags = hsm.flags();
    let with = |args: &[&str], key: &str| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(flags.iter().cloned());
        all.extend(["--pkcs11-key".to_owned(), format!("ca={key}")]);
        all
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hsm.signet(&args);
        ok(&out, &args.join(" "));
        String::from_utf8(out.stdout).unwrap()
    };
    run(with(&["hsm", "generate-key"], "ca1"));
    run(with(&["hsm", "generate-key"], "ca2"));

    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name);
    let (offline, data) = (w("offline"), w("data"));
    let ca_dir = data.join("ca");
    let port = free_port();
    ca(&["init-root", "--out", s(&offline)]);
    run(with(
        &["ca", "init-intermediate", "--data", s(&data)],
        "ca1",
    ));
    let chain1 = w("chain1.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&ca_dir.join("ca-intermediate.csr")),
        "--out",
        s(&chain1),
    ]);
    let prefix = format!("export SOFTHSM2_CONF='{}' &&", s(&hsm.conf()));
    let start = |extra: &[String]| {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        SignetProcess::start(
            SIGNET,
            Launch {
                data: Some(&data),
                port: Some(port),
                extra: &extra,
                shell_prefix: Some(&prefix),
                // The banner comes once the trust files are rewritten (the port opens
                // before, and the previous start's files are still there).
                ready: &[Ready::Stdout("private Sigstore at")],
                stdout: Stdout::File,
                timeout: std::time::Duration::from_secs(60),
                ..Launch::new(&["up"])
            },
        )
    };
    let up = start(&with(&["--ca-chain", s(&chain1)], "ca1"));
    let issuer = format!("{}/oidc", up.base);
    let trust_config = data.join("trust_config.json");
    let file_a = w("a.txt");
    std::fs::write(&file_a, b"signed by the first HSM intermediate").unwrap();
    let bundle_a = w("a.sigstore.json");
    ok(
        &sign_blob_as(&trust_config, "alice@example.com", &file_a, &bundle_a),
        "sign-blob A",
    );
    drop(up);

    // --rotate ca of an HSM key without a chain is still refused.
    let err = crate::hsm::up_refused(&hsm, &data, port, &with(&["--rotate", "ca"], "ca1"));
    assert!(err.contains("ca key cannot be rotated"), "{err}");

    // The next intermediate's request for the second key, pending; signed by the root.
    let out = run(with(
        &["ca", "init-intermediate", "--data", s(&data)],
        "ca2",
    ));
    assert!(out.contains("--rotate ca"), "{out}");
    let pending = ca_dir.join("pending");
    assert!(pending.join("ca-intermediate.csr").exists());
    assert!(!pending.join("ca-intermediate-key.pem").exists());
    let chain2 = w("chain2.pem");
    ca(&[
        "sign-intermediate",
        "--root",
        s(&offline),
        "--csr",
        s(&pending.join("ca-intermediate.csr")),
        "--out",
        s(&chain2),
    ]);
    let chain2_ders = certificates(&chain2);

    // The new chain with the old key: refused before anything is retired.
    let refused = with(&["--ca-chain", s(&chain2), "--rotate", "ca"], "ca1");
    let err = crate::hsm::up_refused(&hsm, &data, port, &refused);
    assert!(err.contains("not for this CA's intermediate key"), "{err}");
    assert!(!data.join(signet_deploy::RETIRED_TRUST_JSON).exists());

    // The rotation to the second key.
    let up = start(&with(&["--ca-chain", s(&chain2), "--rotate", "ca"], "ca2"));
    let trusted = json(&data.join("trusted_root.json"));
    let cas = authorities(&trusted);
    assert_eq!(cas.len(), 2, "{trusted}");
    assert_eq!(cas[0].0, certificates(&chain1));
    assert_eq!(cas[1].0, chain2_ders);
    assert_eq!(cas[0].2, cas[1].1);
    assert!(!pending.exists());
    assert!(!ca_dir.join("ca-intermediate-key.pem").exists());
    let file_b = w("b.txt");
    std::fs::write(&file_b, b"signed by the second HSM intermediate").unwrap();
    let bundle_b = w("b.sigstore.json");
    ok(
        &sign_blob_as(&trust_config, "alice@example.com", &file_b, &bundle_b),
        "sign-blob B",
    );
    leaf(&bundle_b)
        .verify_issued_by(&signet_x509::Certificate::from_der(&chain2_ders[0]).unwrap())
        .unwrap();
    for (bundle, file) in [(&bundle_a, &file_a), (&bundle_b, &file_b)] {
        let mut args = verify_args(bundle, &issuer, file);
        args.splice(1..1, ["--trust-config", s(&trust_config)]);
        ok(&signet(&args), &format!("verify-blob {}", bundle.display()));
    }
    drop(up);

    // Later starts serve the second key without the chain.
    drop(start(&with(&[], "ca2")));
    assert_eq!(json(&data.join("trusted_root.json")), trusted);
}
