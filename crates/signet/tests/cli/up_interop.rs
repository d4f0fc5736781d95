//! `signet up` end to end, with real clients on both sides: signet and sigstore-python 4.5.1
//! (`SIGNET_SIGSTORE_PYTHON`, the venv python from `scripts/ensure-sigstore-python`) sign
//! against a running `signet up` and verify each other's bundles, with tokens from the
//! development issuer and from npm oauth2-mock-server (`SIGNET_OAUTH2_MOCK_SERVER`), over Rekor
//! v1 and Rekor v2 + TSA. A restart keeps the logged entries and the trust files.
//!
//! Without the tools the tests say they were skipped and pass, unless
//! `SIGNET_REQUIRE_DIFFERENTIAL=1` / `SIGNET_REQUIRE_OIDC=1` ask for them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SIGNET, free_port, runtime};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as STANDARD_B64;
use signet_testkit::oidc::MockProvider;
use signet_testkit::signet::Up;
use signet_testkit::tools::sigstore_python as python;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails(out: &Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn signet_verify(trust: &Path, bundle: &Path, identity: &str, issuer: &str, file: &Path) -> Output {
    run(Command::new(SIGNET)
        .arg("verify-blob")
        .arg("--trust-config")
        .arg(trust)
        .arg("--bundle")
        .arg(bundle)
        .args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ])
        .arg(file))
}

fn py_verify(
    py: &Path,
    trust: &Path,
    bundle: &Path,
    identity: &str,
    issuer: &str,
    file: &Path,
) -> Output {
    run(Command::new(py)
        .args(["-m", "sigstore", "--trust-config"])
        .arg(trust)
        .args(["verify", "identity", "--bundle"])
        .arg(bundle)
        .args(["--cert-identity", identity, "--cert-oidc-issuer", issuer])
        .arg(file))
}

fn py_sign(py: &Path, trust: &Path, token: &str, bundle: &Path, file: &Path) -> Output {
    run(Command::new(py)
        .args(["-m", "sigstore", "--trust-config"])
        .arg(trust)
        .args(["sign", "--identity-token", token, "--bundle"])
        .arg(bundle)
        .arg(file))
}

/// A copy of the deployment's trust config that offers only Rekor v1 (and so needs no TSA).
fn rekor_v1_only(trust: &Path, out: &Path) -> PathBuf {
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(trust).unwrap()).unwrap();
    let logs = config["signingConfig"]["rekorTlogUrls"]
        .as_array_mut()
        .unwrap();
    logs.retain(|l| l["majorApiVersion"] == 1);
    assert_eq!(logs.len(), 1);
    config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
    let path = out.join("trust_config_v1.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    path
}

/// The kind and version of a bundle's first tlog entry.
fn tlog_kind(bundle: &Path) -> (String, String) {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let kv = &b["verificationMaterial"]["tlogEntries"][0]["kindVersion"];
    (
        kv["kind"].as_str().unwrap().to_owned(),
        kv["version"].as_str().unwrap().to_owned(),
    )
}

fn tlog_version(bundle: &Path) -> (String, bool) {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    let has_ts = !b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .is_none_or(Vec::is_empty);
    (
        entry["kindVersion"]["version"].as_str().unwrap().to_owned(),
        has_ts,
    )
}

#[test]
fn signet_and_sigstore_python_sign_and_verify_each_other_against_signet_up() {
    let Some(py) = python() else {
        eprintln!("skipped: sigstore-python not available (set SIGNET_SIGSTORE_PYTHON)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let up = Up::start_with(SIGNET, Some(&dir.join("data")), Some(free_port()), &[]);
    let trust = dir.join("data/trust_config.json");
    let trust_v1 = rekor_v1_only(&trust, dir);
    let issuer = format!("{}/oidc", up.url);
    let file = dir.join("artifact.txt");
    std::fs::write(&file, b"signed by both\n").unwrap();
    let other = dir.join("other.txt");
    std::fs::write(&other, b"not what was signed\n").unwrap();

    // 1. sigstore-python signs (Rekor v2 + TSA by default; Rekor v1 with the v1-only config);
    //    signet verifies, and rejects a wrong identity or another file.
    let token = up.dev_token("py@example.test");
    for (config, want_version, want_ts) in [(&trust, "0.0.2", true), (&trust_v1, "0.0.1", false)] {
        let bundle = dir.join(format!("py-{want_version}.sigstore.json"));
        ok(
            &py_sign(&py, config, &token, &bundle, &file),
            "sigstore-python sign",
        );
        assert_eq!(tlog_version(&bundle), (want_version.to_owned(), want_ts));
        ok(
            &signet_verify(&trust, &bundle, "py@example.test", &issuer, &file),
            "signet verify",
        );
        fails(
            &signet_verify(&trust, &bundle, "eve@example.test", &issuer, &file),
            "wrong identity",
        );
        fails(
            &signet_verify(&trust, &bundle, "py@example.test", &issuer, &other),
            "other file",
        );
    }

    // 2. signet signs blobs and attestations, Rekor v2 and v1; sigstore-python verifies.
    for (config, version) in [(&trust, "0.0.2"), (&trust_v1, "0.0.1")] {
        let bundle = dir.join(format!("signet-{version}.sigstore.json"));
        let out = run(Command::new(SIGNET)
            .arg("sign-blob")
            .arg("--trust-config")
            .arg(config)
            .args(["--dev-subject", "alice@example.test", "--bundle"])
            .arg(&bundle)
            .arg(&file));
        ok(&out, "signet sign-blob");
        assert_eq!(tlog_version(&bundle).0, version);
        ok(
            &py_verify(&py, &trust, &bundle, "alice@example.test", &issuer, &file),
            "sigstore-python verify",
        );
        fails(
            &py_verify(&py, &trust, &bundle, "bob@example.test", &issuer, &file),
            "sigstore-python wrong identity",
        );
        fails(
            &py_verify(&py, &trust, &bundle, "alice@example.test", &issuer, &other),
            "sigstore-python other file",
        );

        let predicate = dir.join("predicate.json");
        std::fs::write(
            &predicate,
            br#"{"builder": {"id": "https://example.test/builder"}}"#,
        )
        .unwrap();
        let att = dir.join(format!("attest-{version}.sigstore.json"));
        let out = run(Command::new(SIGNET)
            .arg("attest-blob")
            .arg("--trust-config")
            .arg(config)
            .args([
                "--dev-subject",
                "alice@example.test",
                "--type",
                "https://slsa.dev/provenance/v1",
            ])
            .arg("--predicate")
            .arg(&predicate)
            .arg("--bundle")
            .arg(&att)
            .arg(&file));
        ok(&out, "signet attest-blob");
        ok(
            &signet_verify(&trust, &att, "alice@example.test", &issuer, &file),
            "signet verify attestation",
        );
        fails(
            &signet_verify(&trust, &att, "alice@example.test", &issuer, &other),
            "signet attestation, other file",
        );
        // Rekor v1 logs the envelope as dsse 0.0.1; Rekor v2 as a hashedrekord 0.0.2 over the
        // envelope's PAE (the Rekor v2 specification removed the dsse type).
        let kind = tlog_kind(&att);
        let want_kind = if version == "0.0.1" {
            "dsse"
        } else {
            "hashedrekord"
        };
        assert_eq!(kind, (want_kind.to_owned(), version.to_owned()));
        ok(
            &py_verify(&py, &trust, &att, "alice@example.test", &issuer, &file),
            "sigstore-python verify attestation",
        );
        fails(
            &py_verify(&py, &trust, &att, "alice@example.test", &issuer, &other),
            "sigstore-python attestation, other file",
        );
        fails(
            &py_verify(&py, &trust, &att, "bob@example.test", &issuer, &file),
            "sigstore-python attestation, wrong identity",
        );
    }

    // 2b. sigstore-python attests (DSSE), Rekor v2 and v1; signet verifies.
    let token = up.dev_token("pyatt@example.test");
    let predicate = dir.join("py-predicate.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition": {"buildType": "https://example.test/build", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://example.test/builder"}}}"#,
    )
    .unwrap();
    for (config, want) in [
        (&trust, ("hashedrekord", "0.0.2")),
        (&trust_v1, ("dsse", "0.0.1")),
    ] {
        let bundle = dir.join(format!("py-attest-{}.sigstore.json", want.1));
        let out = run(Command::new(&py)
            .args(["-m", "sigstore", "--trust-config"])
            .arg(config)
            .args([
                "attest",
                "--identity-token",
                &token,
                "--predicate-type",
                "https://slsa.dev/provenance/v1",
                "--predicate",
            ])
            .arg(&predicate)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file));
        ok(&out, "sigstore-python attest");
        assert_eq!(tlog_kind(&bundle), (want.0.to_owned(), want.1.to_owned()));
        ok(
            &signet_verify(&trust, &bundle, "pyatt@example.test", &issuer, &file),
            "signet verify sigstore-python attestation",
        );
        fails(
            &signet_verify(&trust, &bundle, "pyatt@example.test", &issuer, &other),
            "signet verify sigstore-python attestation, other file",
        );
    }

    // 3. The conformance protocol's sign-bundle, checked by verify-bundle and sigstore-python.
    let token = up.dev_token("conf@example.test");
    let root = dir.join("data/trusted_root.json");
    let signing = dir.join("data/signing_config.json");
    let bundle = dir.join("conformance.sigstore.json");
    let out = run(Command::new(SIGNET)
        .args(["sign-bundle", "--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg("--trusted-root")
        .arg(&root)
        .arg("--signing-config")
        .arg(&signing)
        .arg(&file));
    ok(&out, "signet sign-bundle");
    let out = run(Command::new(SIGNET)
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&bundle)
        .args([
            "--certificate-identity",
            "conf@example.test",
            "--certificate-oidc-issuer",
            &issuer,
        ])
        .arg("--trusted-root")
        .arg(&root)
        .arg(&file));
    ok(&out, "signet verify-bundle");
    ok(
        &py_verify(&py, &trust, &bundle, "conf@example.test", &issuer, &file),
        "sigstore-python verify sign-bundle",
    );
    drop(up);
}

fn provider_token(provider: &MockProvider, user: &str) -> String {
    runtime().block_on(provider.id_token(user, None, None))
}

#[test]
fn tokens_from_a_real_oidc_provider_and_restarts_keep_everything() {
    let Some(provider) = MockProvider::start(&[]) else {
        eprintln!("skipped: oauth2-mock-server not available (set SIGNET_OAUTH2_MOCK_SERVER)");
        return;
    };
    let provider_url = provider.issuer.clone();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let port = free_port();
    let up = Up::start_with(
        SIGNET,
        Some(&data),
        Some(port),
        &["--oidc-issuer", &provider_url],
    );
    let trust = data.join("trust_config.json");
    let file = dir.join("artifact.txt");
    std::fs::write(&file, b"provider\n").unwrap();

    // A token from the real provider gets a certificate naming that provider.
    let token = provider_token(&provider, "carol@example.test");
    let bundle = dir.join("provider.sigstore.json");
    let out = run(Command::new(SIGNET)
        .arg("sign-blob")
        .arg("--trust-config")
        .arg(&trust)
        .args(["--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg(&file));
    ok(&out, "sign-blob with a provider token");
    ok(
        &signet_verify(&trust, &bundle, "carol@example.test", &provider_url, &file),
        "verify provider bundle",
    );
    fails(
        &signet_verify(
            &trust,
            &bundle,
            "carol@example.test",
            &format!("{}/oidc", up.url),
            &file,
        ),
        "wrong issuer",
    );
    if let Some(py) = python() {
        ok(
            &py_verify(
                &py,
                &trust,
                &bundle,
                "carol@example.test",
                &provider_url,
                &file,
            ),
            "sigstore-python verify",
        );
    }
    // A token the provider did not sign is refused by the CA, with the CA named.
    let forged = format!("{}x", token);
    let out = run(Command::new(SIGNET)
        .arg("sign-blob")
        .arg("--trust-config")
        .arg(&trust)
        .args(["--identity-token", &forged, "--bundle"])
        .arg(dir.join("forged.json"))
        .arg(&file));
    fails(&out, "forged token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate authority"), "{stderr}");

    // Restart: same trust files, every entry still there, old bundles still verify.
    let files: Vec<Vec<u8>> = [
        "trusted_root.json",
        "signing_config.json",
        "trust_config.json",
    ]
    .iter()
    .map(|f| std::fs::read(data.join(f)).unwrap())
    .collect();
    let size_before = tree_size(&up.url);
    assert!(size_before >= 1);
    up.stop();
    let up = Up::start_with(
        SIGNET,
        Some(&data),
        Some(port),
        &["--oidc-issuer", &provider_url],
    );
    for (name, before) in [
        "trusted_root.json",
        "signing_config.json",
        "trust_config.json",
    ]
    .iter()
    .zip(&files)
    {
        assert_eq!(
            &std::fs::read(data.join(name)).unwrap(),
            before,
            "{name} changed"
        );
    }
    assert_eq!(tree_size(&up.url), size_before);
    ok(
        &signet_verify(&trust, &bundle, "carol@example.test", &provider_url, &file),
        "verify after restart",
    );
    // With a real issuer the development issuer does not run (issue 14).
    let out = run(Command::new(SIGNET).args([
        "dev-token",
        "--server",
        &up.url,
        "--subject",
        "dave@example.test",
    ]));
    fails(&out, "dev-token next to a real issuer");
    let bundle2 = dir.join("after.sigstore.json");
    let token = provider_token(&provider, "dave@example.test");
    let out = run(Command::new(SIGNET)
        .arg("sign-blob")
        .arg("--trust-config")
        .arg(&trust)
        .args(["--identity-token", &token, "--bundle"])
        .arg(&bundle2)
        .arg(&file));
    ok(&out, "sign after restart");
    drop(up);

    // A replaced key next to existing data: refuse to start rather than sign as someone else.
    std::fs::remove_file(data.join("tsa/tsa-signing-key.pem")).unwrap();
    std::fs::remove_file(data.join("tsa/tsa-chain.pem")).unwrap();
    let out = run(Command::new(SIGNET)
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .args(["--oidc-issuer", &provider_url]));
    fails(&out, "up with a new TSA key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("trusted_root.json"));
    drop(provider);
}

fn tree_size(url: &str) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let v: serde_json::Value = reqwest::get(format!("{url}/api/v2/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::json!({ "size": t.lines().nth(1).unwrap().parse::<u64>().unwrap() }))
            .unwrap();
        v["size"].as_u64().unwrap()
    })
}

/// POSTs `body` (JSON) to `url` with curl and returns the answer as JSON.
fn post_json(url: &str, body: &serde_json::Value) -> serde_json::Value {
    let out = run(Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-H",
            "content-type: application/json",
        ])
        .args(["--data-binary", &body.to_string(), url]));
    ok(&out, "POST");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn get_text(url: &str) -> String {
    let out = run(Command::new("curl").args(["-sS", "--fail", url]));
    ok(&out, "GET");
    String::from_utf8(out.stdout).unwrap()
}

/// Rekor v2 DSSE entries: signet logs a DSSE envelope as a hashedrekord 0.0.2 over its PAE
/// (SHA-256 for P-256 keys, SHA-384 for P-384), and verifies both that and the deprecated
/// dsse 0.0.2 form the log still accepts (counted in `/metrics`); a hashedrekord whose digest
/// is the payload's hash rather than the PAE's is rejected for the same envelope.
#[test]
fn rekor_v2_dsse_as_hashedrekord_and_the_deprecated_dsse_form() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let up = Up::start_with(SIGNET, Some(&dir.join("data")), Some(free_port()), &[]);
    let trust = dir.join("data/trust_config.json");
    let file = dir.join("artifact.txt");
    std::fs::write(&file, b"attested\n").unwrap();
    let predicate = dir.join("predicate.json");
    std::fs::write(
        &predicate,
        br#"{"builder": {"id": "https://example.test"}}"#,
    )
    .unwrap();
    let verify = |bundle: &Path, public: &Path| {
        run(Command::new(SIGNET)
            .arg("verify-blob")
            .arg("--trust-config")
            .arg(&trust)
            .arg("--bundle")
            .arg(bundle)
            .arg("--key")
            .arg(public)
            .arg(&file))
    };
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let cases: [(
        &sig::EcdsaSigningAlgorithm,
        &str,
        &str,
        &aws_lc_rs::digest::Algorithm,
    ); 2] = [
        (
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            "PKIX_ECDSA_P256_SHA_256",
            "SHA2_256",
            &aws_lc_rs::digest::SHA256,
        ),
        (
            &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
            "PKIX_ECDSA_P384_SHA_384",
            "SHA2_384",
            &aws_lc_rs::digest::SHA384,
        ),
    ];
    for (n, (alg, details, hash_name, hash)) in cases.into_iter().enumerate() {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
        let key = dir.join(format!("key{n}.pem"));
        let pem = |label, der: &[u8]| {
            pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
        };
        std::fs::write(&key, pem("PRIVATE KEY", pkcs8.as_ref())).unwrap();
        let public = dir.join(format!("key{n}.pub"));
        std::fs::write(&public, pem("PUBLIC KEY", &spki)).unwrap();

        // signet attest-blob against Rekor v2 + TSA: a hashedrekord over the PAE.
        let bundle = dir.join(format!("att{n}.sigstore.json"));
        let out = run(Command::new(SIGNET)
            .arg("attest-blob")
            .arg("--trust-config")
            .arg(&trust)
            .arg("--key")
            .arg(&key)
            .args(["--type", "https://slsa.dev/provenance/v1", "--predicate"])
            .arg(&predicate)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file));
        ok(&out, "attest-blob");
        assert_eq!(
            tlog_kind(&bundle),
            ("hashedrekord".to_owned(), "0.0.2".to_owned())
        );
        let mut b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
        let body: serde_json::Value = serde_json::from_slice(
            &STANDARD
                .decode(
                    b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap(),
        )
        .unwrap();
        let envelope = b["dsseEnvelope"].clone();
        let payload = STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap();
        // The key's own hash, over the PAE.
        assert_eq!(
            body["spec"]["hashedRekordV002"]["data"]["algorithm"],
            *hash_name
        );
        crate::common::assert_dsse_entry_form(&std::fs::read(&bundle).unwrap(), true);
        ok(&verify(&bundle, &public), "verify hashedrekord DSSE");

        // The same envelope in the deprecated dsse 0.0.2 form: still accepted by the log and
        // by the verifier (with the bundle's timestamp, which is over the same signature).
        let verifier = serde_json::json!({
            "publicKey": {"rawBytes": STANDARD.encode(&spki)},
            "keyDetails": details,
        });
        let before = deprecated_count(&up);
        let tle = post_json(
            &format!("{}/api/v2/log/entries", up.url),
            &serde_json::json!({"dsseRequestV002": {"envelope": envelope, "verifiers": [verifier]}}),
        );
        assert_eq!(tle["kindVersion"]["kind"], "dsse");
        assert_eq!(deprecated_count(&up), before + 1.0);
        b["verificationMaterial"]["tlogEntries"][0] = tle;
        let old_form = dir.join(format!("att{n}-dsse.sigstore.json"));
        std::fs::write(&old_form, serde_json::to_vec(&b).unwrap()).unwrap();
        ok(&verify(&old_form, &public), "verify dsse 0.0.2");

        // A hashedrekord over the payload's hash (signed, so the log takes it) is not an entry
        // for this DSSE envelope.
        let payload_sig = pair.sign(&rng, &payload).unwrap();
        let tle = post_json(
            &format!("{}/api/v2/log/entries", up.url),
            &serde_json::json!({"hashedRekordRequestV002": {
                "digest": STANDARD.encode(aws_lc_rs::digest::digest(hash, &payload)),
                "signature": {"content": STANDARD.encode(payload_sig.as_ref()), "verifier": verifier},
            }}),
        );
        b["verificationMaterial"]["tlogEntries"][0] = tle;
        let wrong = dir.join(format!("att{n}-payload-digest.sigstore.json"));
        std::fs::write(&wrong, serde_json::to_vec(&b).unwrap()).unwrap();
        let out = verify(&wrong, &public);
        fails(&out, "a payload-digest hashedrekord");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("DSSE PAE digest"), "{stderr}");
    }
    drop(up);
}

/// `signet_deprecated_requests_total` for Rekor v2 `dsseRequestV002`, 0 before the first.
fn deprecated_count(up: &Up) -> f64 {
    let text = get_text(&format!("{}/metrics", up.url));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(
                r#"signet_deprecated_requests_total{api="v2",request="dsseRequestV002"} "#,
            )?
            .trim()
            .parse()
            .ok()
        })
        .unwrap_or(0.0)
}

/// `sign-bundle --in-toto` (the conformance protocol's DSSE signing): the file is an in-toto
/// statement, signed as a DSSE envelope and logged in Rekor v2 as a hashedrekord 0.0.2 over
/// the PAE, or in Rekor v1 as dsse 0.0.1. signet (verify-bundle and verify-blob, against the
/// statement's subject) and, when available, sigstore-python verify it; another artifact and a
/// wrong identity are refused.
#[test]
fn sign_bundle_in_toto_against_rekor_v2_and_v1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let up = Up::start_with(SIGNET, Some(&dir.join("data")), Some(free_port()), &[]);
    let trust = dir.join("data/trust_config.json");
    let root = dir.join("data/trusted_root.json");
    let issuer = format!("{}/oidc", up.url);
    let file = dir.join("artifact.txt");
    std::fs::write(&file, b"the subject\n").unwrap();
    let other = dir.join("other.txt");
    std::fs::write(&other, b"not the subject\n").unwrap();
    let digest = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        b"the subject\n",
    ));
    let statement = dir.join("statement.json");
    std::fs::write(
        &statement,
        serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "artifact.txt", "digest": {"sha256": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "https://example.test/build"}},
        })
        .to_string(),
    )
    .unwrap();
    // The signing config alone, as the conformance protocol passes it: Rekor v2 (+ TSA) as
    // signet up writes it, and a copy that offers only Rekor v1.
    let signing_v2 = dir.join("data/signing_config.json");
    let v1_trust = rekor_v1_only(&trust, dir);
    let signing_v1 = dir.join("signing_config_v1.json");
    let v1_config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&v1_trust).unwrap()).unwrap();
    std::fs::write(
        &signing_v1,
        serde_json::to_vec(&v1_config["signingConfig"]).unwrap(),
    )
    .unwrap();
    let py = python();
    if py.is_none() {
        eprintln!("sigstore-python not available (set SIGNET_SIGSTORE_PYTHON): signet checks only");
    }

    let token = up.dev_token("intoto@example.test");
    for (signing, rekor_v2) in [(&signing_v2, true), (&signing_v1, false)] {
        let bundle = dir.join(format!("in-toto-{rekor_v2}.sigstore.json"));
        let sign = |input: &Path, out: &Path| {
            run(Command::new(SIGNET)
                .args(["sign-bundle", "--in-toto", "--identity-token", &token])
                .arg("--bundle")
                .arg(out)
                .arg("--trusted-root")
                .arg(&root)
                .arg("--signing-config")
                .arg(signing)
                .arg(input))
        };
        ok(&sign(&statement, &bundle), "sign-bundle --in-toto");
        let raw = std::fs::read(&bundle).unwrap();
        crate::common::assert_dsse_entry_form(&raw, rekor_v2);
        let b: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            b["dsseEnvelope"]["payloadType"],
            "application/vnd.in-toto+json"
        );
        assert_eq!(
            STANDARD_B64
                .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
                .unwrap(),
            std::fs::read(&statement).unwrap(),
            "the statement is signed as given"
        );

        let verify_bundle = |identity: &str, artifact: &Path| {
            run(Command::new(SIGNET)
                .arg("verify-bundle")
                .arg("--bundle")
                .arg(&bundle)
                .args([
                    "--certificate-identity",
                    identity,
                    "--certificate-oidc-issuer",
                    &issuer,
                ])
                .arg("--trusted-root")
                .arg(&root)
                .arg(artifact))
        };
        ok(
            &verify_bundle("intoto@example.test", &file),
            "verify-bundle in-toto",
        );
        fails(
            &verify_bundle("intoto@example.test", &other),
            "verify-bundle in-toto, another artifact",
        );
        fails(
            &verify_bundle("eve@example.test", &file),
            "verify-bundle in-toto, wrong identity",
        );
        ok(
            &signet_verify(&trust, &bundle, "intoto@example.test", &issuer, &file),
            "verify-blob in-toto",
        );
        if let Some(py) = &py {
            ok(
                &py_verify(py, &trust, &bundle, "intoto@example.test", &issuer, &file),
                "sigstore-python verify sign-bundle --in-toto",
            );
            fails(
                &py_verify(py, &trust, &bundle, "intoto@example.test", &issuer, &other),
                "sigstore-python, another artifact",
            );
            fails(
                &py_verify(py, &trust, &bundle, "eve@example.test", &issuer, &file),
                "sigstore-python, wrong identity",
            );
        }
    }
    drop(up);
}
