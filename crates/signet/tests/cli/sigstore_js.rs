//! signet and sigstore-js (npm `sigstore` 5, through `@sigstore/sign` and `@sigstore/verify`)
//! against a running `signet up`, both ways: sigstore-js verifies signet's blob signatures and
//! DSSE attestations offline with the deployment's `trusted_root.json`, and signet verifies what
//! sigstore-js signs against the deployment, over Rekor v2 + TSA and over Rekor v1.
//!
//! sigstore-js is driven through `SIGNET_SIGSTORE_JS`, the launcher that
//! `scripts/ensure-sigstore-js` prints (`scripts/sigstore-js.mjs`, run with `node`). Without it
//! the tests say they were skipped and pass, unless `SIGNET_REQUIRE_SIGSTORE_JS=1` asks for it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;
use signet_testkit::tools::sigstore_js as launcher;

use base64::Engine as _;
use common::{SIGNET, Up};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// A command running the launcher: with `node` for a script, directly otherwise.
fn js(launcher: &Path) -> Command {
    let script = launcher
        .extension()
        .is_some_and(|e| e == "mjs" || e == "js");
    if script {
        let mut cmd = Command::new("node");
        cmd.arg(launcher);
        cmd
    } else {
        Command::new(launcher)
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed: {}", text(out));
}

/// The command exited with `code` and its stderr says `needle`.
fn fails_with(out: &Output, code: i32, needle: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(code) && stderr.contains(needle),
        "{what}: expected exit {code} with {needle:?} on stderr, got {}",
        text(out)
    );
}

/// The bundle's media type, its first log entry's kind and version, and whether it carries an
/// RFC 3161 timestamp.
fn bundle_shape(bundle: &Path) -> (String, String, String, bool) {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    let has_ts = !b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .is_none_or(Vec::is_empty);
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    (
        s(&b["mediaType"]),
        s(&entry["kindVersion"]["kind"]),
        s(&entry["kindVersion"]["version"]),
        has_ts,
    )
}

fn js_verify(
    launcher: &Path,
    up: &Up,
    bundle: &Path,
    identity: &str,
    issuer: &str,
    file: &Path,
) -> Output {
    run(js(launcher)
        .arg("verify")
        .arg("--trusted-root")
        .arg(up.trusted_root())
        .arg("--bundle")
        .arg(bundle)
        .args(["--identity", identity, "--issuer", issuer])
        .arg(file))
}

fn js_verify_key(launcher: &Path, up: &Up, bundle: &Path, key: &Path, file: &Path) -> Output {
    run(js(launcher)
        .arg("verify")
        .arg("--trusted-root")
        .arg(up.trusted_root())
        .arg("--bundle")
        .arg(bundle)
        .arg("--key")
        .arg(key)
        .arg(file))
}

/// sigstore-js signs `file` against the deployment with the signing config (or trust config)
/// `config`: a message signature, or with `--dsse` an in-toto DSSE envelope over the file's
/// bytes; Rekor v2 + TSA when offered, or Rekor v1 with `--rekor-v1` (`flags`).
fn js_sign(
    launcher: &Path,
    up: &Up,
    config: &Path,
    token: &str,
    flags: &[&str],
    bundle: &Path,
    file: &Path,
) -> Output {
    run(js(launcher)
        .arg("sign")
        .arg("--signing-config")
        .arg(config)
        .arg("--trusted-root")
        .arg(up.trusted_root())
        .args(["--token", token])
        .args(flags)
        .arg("--bundle")
        .arg(bundle)
        .arg(file))
}

fn signet_verify(up: &Up, bundle: &Path, identity: &str, issuer: &str, file: &Path) -> Output {
    run(Command::new(SIGNET)
        .arg("verify-blob")
        .arg("--trust-config")
        .arg(up.trust_config())
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

/// A temporary directory with an artifact and another file that is not it.
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("artifact.txt");
    std::fs::write(&file, b"signed by signet and sigstore-js\n").unwrap();
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, b"not what was signed\n").unwrap();
    (tmp, file, other)
}

#[test]
fn sigstore_js_verifies_signet_blob_signatures() {
    let Some(launcher) = launcher() else {
        eprintln!("skipped: sigstore-js not available (set SIGNET_SIGSTORE_JS)");
        return;
    };
    let (tmp, file, other) = workspace();
    let dir = tmp.path();
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let trust_v1 = up.rekor_v1_trust_config();
    let issuer = up.issuer();

    // Keyless: Rekor v2 + TSA (signet up's default) and Rekor v1 alone.
    for (config, want_version, want_ts) in [(&trust, "0.0.2", true), (&trust_v1, "0.0.1", false)] {
        let bundle = dir.join(format!("blob-{want_version}.sigstore.json"));
        let out = run(Command::new(SIGNET)
            .arg("sign-blob")
            .arg("--trust-config")
            .arg(config)
            .args(["--dev-subject", "alice@example.test", "--bundle"])
            .arg(&bundle)
            .arg(&file));
        ok(&out, "signet sign-blob");
        let (_, kind, version, ts) = bundle_shape(&bundle);
        assert_eq!(
            (kind.as_str(), version.as_str(), ts),
            ("hashedrekord", want_version, want_ts)
        );

        let out = js_verify(
            &launcher,
            &up,
            &bundle,
            "alice@example.test",
            &issuer,
            &file,
        );
        ok(&out, &format!("sigstore-js verify (Rekor {want_version})"));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("signer: alice@example.test"),
            "{}",
            text(&out)
        );
        fails_with(
            &js_verify(
                &launcher,
                &up,
                &bundle,
                "alice@example.test",
                &issuer,
                &other,
            ),
            1,
            "signature verification failed",
            "sigstore-js, tampered artifact",
        );
        fails_with(
            &js_verify(&launcher, &up, &bundle, "bob@example.test", &issuer, &file),
            1,
            "certificate identity error",
            "sigstore-js, wrong identity",
        );
        // Exact matching: a prefix of the identity is not the identity.
        fails_with(
            &js_verify(&launcher, &up, &bundle, "alice@example", &issuer, &file),
            1,
            "certificate identity error",
            "sigstore-js, identity prefix",
        );
        fails_with(
            &js_verify(
                &launcher,
                &up,
                &bundle,
                "alice@example.test",
                "https://issuer.example.test",
                &file,
            ),
            1,
            "invalid certificate extension",
            "sigstore-js, wrong issuer",
        );
    }

    // A managed key (cosign format), Rekor v2 + TSA: sigstore-js verifies with the public key.
    let keys = |prefix: &str| {
        let out = run(Command::new(SIGNET)
            .args(["generate-key-pair", "--output-key-prefix", prefix])
            .current_dir(dir)
            .env("COSIGN_PASSWORD", "interop")
            .env_remove("SIGNET_PASSWORD"));
        ok(&out, "generate-key-pair");
        (
            dir.join(format!("{prefix}.key")),
            dir.join(format!("{prefix}.pub")),
        )
    };
    let (key, public) = keys("signer");
    let (_, wrong_public) = keys("other");
    let bundle = dir.join("key.sigstore.json");
    let out = run(Command::new(SIGNET)
        .arg("sign-blob")
        .arg("--trust-config")
        .arg(&trust)
        .arg("--key")
        .arg(&key)
        .arg("--bundle")
        .arg(&bundle)
        .arg(&file)
        .env("COSIGN_PASSWORD", "interop")
        .env_remove("SIGNET_PASSWORD"));
    ok(&out, "signet sign-blob --key");
    ok(
        &js_verify_key(&launcher, &up, &bundle, &public, &file),
        "sigstore-js verify --key",
    );
    fails_with(
        &js_verify_key(&launcher, &up, &bundle, &wrong_public, &file),
        1,
        "signature verification failed",
        "sigstore-js, wrong key",
    );
    fails_with(
        &js_verify_key(&launcher, &up, &bundle, &public, &other),
        1,
        "signature verification failed",
        "sigstore-js --key, tampered artifact",
    );
    drop(up);
}

#[test]
fn sigstore_js_verifies_signet_attestations() {
    let Some(launcher) = launcher() else {
        eprintln!("skipped: sigstore-js not available (set SIGNET_SIGSTORE_JS)");
        return;
    };
    let (tmp, file, other) = workspace();
    let dir = tmp.path();
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let trust_v1 = up.rekor_v1_trust_config();
    let issuer = up.issuer();
    let predicate = dir.join("predicate.json");
    std::fs::write(
        &predicate,
        br#"{"builder": {"id": "https://example.test/builder"}}"#,
    )
    .unwrap();

    // Rekor v1 logs a `dsse` 0.0.1 entry; Rekor v2 (2026 spec, rekor-v2 §6.1.4) a `hashedrekord`
    // 0.0.2 entry over the envelope's PAE.
    for (config, want_kind, want_version) in [
        (&trust_v1, "dsse", "0.0.1"),
        (&trust, "hashedrekord", "0.0.2"),
    ] {
        let bundle = dir.join(format!("attest-{want_version}.sigstore.json"));
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
            .arg(&bundle)
            .arg(&file));
        ok(&out, "signet attest-blob");
        let (_, kind, version, _) = bundle_shape(&bundle);
        assert_eq!(
            (kind.as_str(), version.as_str()),
            (want_kind, want_version),
            "signet attest-blob's log entry"
        );
        ok(
            &js_verify(
                &launcher,
                &up,
                &bundle,
                "alice@example.test",
                &issuer,
                &file,
            ),
            &format!("sigstore-js verify attestation ({want_kind} {want_version})"),
        );
        fails_with(
            &js_verify(
                &launcher,
                &up,
                &bundle,
                "alice@example.test",
                &issuer,
                &other,
            ),
            1,
            "is not a subject of the in-toto statement",
            "sigstore-js attestation, other artifact",
        );
        fails_with(
            &js_verify(&launcher, &up, &bundle, "bob@example.test", &issuer, &file),
            1,
            "certificate identity error",
            "sigstore-js attestation, wrong identity",
        );
        // A payload changed after signing: the log entry no longer matches (the payload hash of
        // the v1 `dsse` entry, the PAE digest of the v2 `hashedrekord` entry).
        let tampered = dir.join(format!("tampered-{want_version}.sigstore.json"));
        let mut b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
        let payload = b["dsseEnvelope"]["payload"].as_str().unwrap().to_owned();
        let engine = base64::engine::general_purpose::STANDARD;
        let mut statement: serde_json::Value =
            serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
        statement["predicate"]["builder"]["id"] = "https://example.test/evil".into();
        b["dsseEnvelope"]["payload"] = engine
            .encode(serde_json::to_vec(&statement).unwrap())
            .into();
        std::fs::write(&tampered, serde_json::to_vec(&b).unwrap()).unwrap();
        fails_with(
            &js_verify(
                &launcher,
                &up,
                &tampered,
                "alice@example.test",
                &issuer,
                &file,
            ),
            1,
            "TLOG_BODY_ERROR",
            "sigstore-js, payload changed after signing",
        );
    }
    drop(up);
}

/// An in-toto statement about `file` (its sha256 as the subject's digest).
fn statement_about(file: &Path, out: &Path) -> PathBuf {
    let digest = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &std::fs::read(file).unwrap(),
    ));
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "artifact.txt", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.test/build"}},
    });
    std::fs::write(out, serde_json::to_vec(&statement).unwrap()).unwrap();
    out.to_owned()
}

#[test]
fn signet_verifies_sigstore_js_blob_signatures() {
    let Some(launcher) = launcher() else {
        eprintln!("skipped: sigstore-js not available (set SIGNET_SIGSTORE_JS)");
        return;
    };
    let (tmp, file, other) = workspace();
    let dir = tmp.path();
    let up = Up::start(SIGNET);
    let issuer = up.issuer();
    let token = up.dev_token("js@example.test");

    // Rekor v2 + TSA (preferred), then the Rekor v1 log (the TSA is still used: both kinds of
    // timestamp in one bundle).
    for (flags, want_version) in [(&[][..], "0.0.2"), (&["--rekor-v1"][..], "0.0.1")] {
        let bundle = dir.join(format!("js-blob-{want_version}.sigstore.json"));
        let out = js_sign(
            &launcher,
            &up,
            &up.signing_config(),
            &token,
            flags,
            &bundle,
            &file,
        );
        ok(&out, &format!("sigstore-js sign (Rekor {want_version})"));
        let (_, kind, version, ts) = bundle_shape(&bundle);
        assert_eq!(
            (kind.as_str(), version.as_str(), ts),
            ("hashedrekord", want_version, true)
        );
        ok(
            &signet_verify(&up, &bundle, "js@example.test", &issuer, &file),
            &format!("signet verify sigstore-js blob (Rekor {want_version})"),
        );
        fails_with(
            &signet_verify(&up, &bundle, "js@example.test", &issuer, &other),
            1,
            "artifact mismatch",
            "signet, tampered artifact",
        );
        fails_with(
            &signet_verify(&up, &bundle, "eve@example.test", &issuer, &file),
            1,
            "identity",
            "signet, wrong identity",
        );
    }
    drop(up);
}

#[test]
fn signet_verifies_sigstore_js_dsse_bundles() {
    let Some(launcher) = launcher() else {
        eprintln!("skipped: sigstore-js not available (set SIGNET_SIGSTORE_JS)");
        return;
    };
    let (tmp, file, other) = workspace();
    let dir = tmp.path();
    let up = Up::start(SIGNET);
    let trust_v1 = up.rekor_v1_trust_config();
    let issuer = up.issuer();
    let token = up.dev_token("js@example.test");
    let statement = statement_about(&file, &dir.join("statement.json"));

    // Rekor v2 + TSA; Rekor v1 alone (a v1-only signing config, so no TSA either).
    let dsse = ["--dsse", "--payload-type", IN_TOTO];
    let dsse_v1 = ["--dsse", "--payload-type", IN_TOTO, "--rekor-v1"];
    for (config, flags, want_version, want_ts) in [
        (up.signing_config(), &dsse[..], "0.0.2", true),
        (trust_v1, &dsse_v1[..], "0.0.1", false),
    ] {
        let bundle = dir.join(format!("js-dsse-{want_version}.sigstore.json"));
        let out = js_sign(&launcher, &up, &config, &token, flags, &bundle, &statement);
        ok(
            &out,
            &format!("sigstore-js sign --dsse (Rekor {want_version})"),
        );
        let (_, kind, version, ts) = bundle_shape(&bundle);
        eprintln!("sigstore-js DSSE bundle, Rekor {want_version}: {kind} {version} entry");
        // sigstore-js 5 still logs DSSE on Rekor v2 as a `dsse` 0.0.2 entry, which signet's
        // log takes and signet verifies; a `hashedrekord` over the PAE (the 2026 spec) is fine too.
        assert!(
            ["dsse", "hashedrekord"].contains(&kind.as_str()),
            "log entry kind {kind}"
        );
        assert_eq!((version.as_str(), ts), (want_version, want_ts));
        ok(
            &signet_verify(&up, &bundle, "js@example.test", &issuer, &file),
            &format!("signet verify sigstore-js DSSE ({kind} {version})"),
        );
        fails_with(
            &signet_verify(&up, &bundle, "js@example.test", &issuer, &other),
            1,
            "subject",
            "signet, artifact that is not the statement's subject",
        );
        fails_with(
            &signet_verify(&up, &bundle, "eve@example.test", &issuer, &file),
            1,
            "identity",
            "signet, wrong identity",
        );
    }
    drop(up);
}
