//! cosign's older verification inputs through the real binary: legacy cosign bundles
//! (`base64Signature`/`cert`/`rekorBundle`), detached signatures whose entry is looked up in a
//! Rekor v1 log, the `--insecure-*` flags, `--certificate-chain`, and
//! `verify-blob-attestation`. The legacy material is built from entries of a running
//! `signet up`'s own Rekor v1 log, in cosign's documented format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{SIGNET, Up, signet};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Exit 1 (invalid), with `needle` in stderr.
fn rejected(out: &Output, what: &str, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what} should be rejected: {}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(needle),
        "{what}: {needle:?} not in {stderr}"
    );
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn write_json(p: &Path, v: &Value) -> PathBuf {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p.to_owned()
}

fn pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
}

/// cosign's Rekor bundle for a v0.3 bundle's Rekor v1 entry.
fn rekor_bundle(bundle: &Value) -> Value {
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let int = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
    json!({
        "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": int(&entry["integratedTime"]),
            "logIndex": int(&entry["logIndex"]),
            "logID": hex::encode(STANDARD.decode(entry["logId"]["keyId"].as_str().unwrap()).unwrap()),
        }
    })
}

/// The legacy cosign bundle (`cosign sign-blob --bundle`, cosign 1.x/2.x) for a v0.3 bundle
/// signed against a Rekor v1 log.
fn legacy_bundle(bundle: &Value) -> Value {
    let mut legacy = json!({
        "base64Signature": bundle["messageSignature"]["signature"],
        "rekorBundle": rekor_bundle(bundle),
    });
    if let Some(cert) = bundle["verificationMaterial"]["certificate"]["rawBytes"].as_str() {
        let der = STANDARD.decode(cert).unwrap();
        legacy["cert"] = json!(STANDARD.encode(pem("CERTIFICATE", &der)));
    }
    legacy
}

struct Fixture {
    up: Up,
    dir: tempfile::TempDir,
    file: PathBuf,
    other: PathBuf,
    /// A keyless bundle of `file` from the Rekor v1 log.
    keyless: Value,
    /// A bundle of `file` signed with `key` in the Rekor v1 log.
    keyed: Value,
    key: PathBuf,
    public: PathBuf,
    pair: EcdsaKeyPair,
}

impl Fixture {
    fn new() -> Fixture {
        let up = Up::start(SIGNET);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("artifact.txt");
        std::fs::write(&file, b"released\n").unwrap();
        let other = dir.path().join("other.txt");
        std::fs::write(&other, b"something else\n").unwrap();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, pem("PRIVATE KEY", pkcs8.as_ref())).unwrap();
        let public = dir.path().join("key.pub");
        let spki = pair.public_key().as_der().unwrap();
        std::fs::write(&public, pem("PUBLIC KEY", spki.as_ref())).unwrap();
        let v1 = up.rekor_v1_trust_config();
        let keyless = sign_v1(
            &v1,
            &["--dev-subject", "alice@example.test"],
            &file,
            dir.path(),
            "keyless",
        );
        let keyed = sign_v1(&v1, &["--key", s(&key)], &file, dir.path(), "keyed");
        Fixture {
            up,
            dir,
            file,
            other,
            keyless,
            keyed,
            key,
            public,
            pair,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn trust(&self) -> PathBuf {
        self.up.trust_config()
    }

    /// `verify-blob` with the deployment's trust config and alice's identity.
    fn verify_identity(&self, extra: &[&str], file: &Path) -> Output {
        let trust = self.trust();
        let issuer = self.up.issuer();
        let mut args = vec!["verify-blob", "--trust-config", s(&trust)];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--certificate-identity",
            "alice@example.test",
            "--certificate-oidc-issuer",
            &issuer,
            s(file),
        ]);
        signet(&args)
    }

    fn verify_key(&self, extra: &[&str], public: &Path, file: &Path) -> Output {
        let trust = self.trust();
        let mut args = vec!["verify-blob", "--trust-config", s(&trust)];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--key", s(public), s(file)]);
        signet(&args)
    }
}

fn sign_v1(config: &Path, how: &[&str], file: &Path, dir: &Path, name: &str) -> Value {
    let out = dir.join(format!("{name}.sigstore.json"));
    let mut args = vec!["sign-blob", "--trust-config", s(config)];
    args.extend_from_slice(how);
    args.extend_from_slice(&["--bundle", s(&out), s(file)]);
    ok(&signet(&args), "sign-blob");
    let bundle = read_json(&out);
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.1"
    );
    bundle
}

fn flip_signature(legacy: &mut Value) {
    let mut sig = STANDARD
        .decode(legacy["base64Signature"].as_str().unwrap())
        .unwrap();
    let last = sig.len() - 3;
    sig[last] ^= 1;
    legacy["base64Signature"] = json!(STANDARD.encode(sig));
}

#[test]
fn legacy_cosign_bundles_verify_by_their_set_and_body() {
    let f = Fixture::new();

    // Keyless: the certificate, signature and Rekor bundle verify; the report says the time
    // comes from the log entry.
    let legacy = write_json(&f.path("legacy.json"), &legacy_bundle(&f.keyless));
    let text = ok(
        &f.verify_identity(&["--bundle", s(&legacy)], &f.file),
        "legacy keyless bundle",
    );
    assert!(text.contains("log entry integrated time"), "{text}");
    rejected(
        &f.verify_identity(&["--bundle", s(&legacy)], &f.other),
        "legacy bundle, other file",
        "signature over the artifact does not verify",
    );
    let trust = f.trust();
    let issuer = f.up.issuer();
    let out = signet(&[
        "verify-blob",
        "--trust-config",
        s(&trust),
        "--bundle",
        s(&legacy),
        "--certificate-identity",
        "mallory@example.test",
        "--certificate-oidc-issuer",
        &issuer,
        s(&f.file),
    ]);
    rejected(
        &out,
        "legacy bundle, wrong identity",
        "mallory@example.test",
    );

    // A tampered signature.
    let mut tampered = legacy_bundle(&f.keyless);
    flip_signature(&mut tampered);
    let tampered = write_json(&f.path("tampered.json"), &tampered);
    rejected(
        &f.verify_identity(&["--bundle", s(&tampered)], &f.file),
        "tampered signature",
        "signature over the artifact does not verify",
    );

    // A body that does not match: the Rekor bundle of another signature of the same file.
    let again = sign_v1(
        &f.up.rekor_v1_trust_config(),
        &["--dev-subject", "alice@example.test"],
        &f.file,
        f.dir.path(),
        "again",
    );
    let mut mixed = legacy_bundle(&f.keyless);
    mixed["rekorBundle"] = rekor_bundle(&again);
    let mixed = write_json(&f.path("mixed.json"), &mixed);
    rejected(
        &f.verify_identity(&["--bundle", s(&mixed)], &f.file),
        "another entry's body",
        "the logged signature does not match the bundle",
    );

    // Our entry with the SET of another entry: the SET does not verify.
    let mut wrong_set = legacy_bundle(&f.keyless);
    wrong_set["rekorBundle"]["SignedEntryTimestamp"] =
        rekor_bundle(&again)["SignedEntryTimestamp"].clone();
    let wrong_set = write_json(&f.path("wrong-set.json"), &wrong_set);
    rejected(
        &f.verify_identity(&["--bundle", s(&wrong_set)], &f.file),
        "another entry's SET",
        "signed entry timestamp does not verify",
    );

    // A Rekor bundle from another log (another signet up, other keys) is not trusted.
    let other_up = Up::start(SIGNET);
    let elsewhere = sign_v1(
        &other_up.rekor_v1_trust_config(),
        &["--key", s(&f.key)],
        &f.file,
        f.dir.path(),
        "elsewhere",
    );
    let elsewhere = write_json(&f.path("elsewhere.json"), &legacy_bundle(&elsewhere));
    rejected(
        &f.verify_key(&["--bundle", s(&elsewhere)], &f.public, &f.file),
        "a SET from another log",
        "is not in the trusted root",
    );

    // With a key: no certificate in the bundle.
    let keyed = write_json(&f.path("keyed.json"), &legacy_bundle(&f.keyed));
    assert!(read_json(&keyed).get("cert").is_none());
    ok(
        &f.verify_key(&["--bundle", s(&keyed)], &f.public, &f.file),
        "legacy key bundle",
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let other_key = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let other_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, other_key.as_ref()).unwrap();
    let other_public = f.path("other.pub");
    std::fs::write(
        &other_public,
        pem(
            "PUBLIC KEY",
            other_key.public_key().as_der().unwrap().as_ref(),
        ),
    )
    .unwrap();
    rejected(
        &f.verify_key(&["--bundle", s(&keyed)], &other_public, &f.file),
        "legacy key bundle, wrong key",
        "signature over the artifact does not verify",
    );

    // Malformed legacy material names the field.
    let mut broken = legacy_bundle(&f.keyless);
    broken["rekorBundle"]["Payload"]["logID"] = json!("not hex");
    let broken = write_json(&f.path("broken.json"), &broken);
    rejected(
        &f.verify_identity(&["--bundle", s(&broken)], &f.file),
        "malformed logID",
        "logID",
    );
}

#[test]
fn detached_signatures_are_looked_up_in_the_rekor_v1_log() {
    let f = Fixture::new();
    let url = f.up.url.clone();
    let sig = f.path("artifact.sig");
    std::fs::write(
        &sig,
        f.keyless["messageSignature"]["signature"].as_str().unwrap(),
    )
    .unwrap();
    let cert = f.path("artifact.crt");
    let der = STANDARD
        .decode(
            f.keyless["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    std::fs::write(&cert, pem("CERTIFICATE", &der)).unwrap();

    // Found by the artifact's hash, checked like a bundle entry.
    let detached = [
        "--signature",
        s(&sig),
        "--certificate",
        s(&cert),
        "--rekor-url",
        &url,
    ];
    let text = ok(&f.verify_identity(&detached, &f.file), "detached keyless");
    assert!(text.contains("Verified OK"), "{text}");
    rejected(
        &f.verify_identity(&detached, &f.other),
        "detached, other file",
        "no entry",
    );
    let mut bad = STANDARD
        .decode(f.keyless["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    bad[10] ^= 1;
    let bad_sig = f.path("bad.sig");
    std::fs::write(&bad_sig, STANDARD.encode(&bad)).unwrap();
    rejected(
        &f.verify_identity(
            &[
                "--signature",
                s(&bad_sig),
                "--certificate",
                s(&cert),
                "--rekor-url",
                &url,
            ],
            &f.file,
        ),
        "detached, tampered signature",
        "signature over the artifact does not verify",
    );
    // An identity needs a certificate.
    let out = f.verify_identity(&["--signature", s(&sig), "--rekor-url", &url], &f.file);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // --offline never asks the log; the insecure flag is the only way around it, and it says so.
    let offline = [&detached[..], &["--offline"]].concat();
    rejected(
        &f.verify_identity(&offline, &f.file),
        "offline detached",
        "--offline",
    );
    let ignored = [&offline[..], &["--insecure-ignore-tlog"]].concat();
    let text = ok(
        &f.verify_identity(&ignored, &f.file),
        "--insecure-ignore-tlog",
    );
    assert!(text.contains("WARNING: --insecure-ignore-tlog"), "{text}");
    assert!(text.contains("the current time"), "{text}");

    // With a key: the logged signature verifies through the lookup; a signature never logged
    // does not (the log has only the other one), unless the log is given up on purpose.
    let key_sig = f.path("key.sig");
    std::fs::write(
        &key_sig,
        f.keyed["messageSignature"]["signature"].as_str().unwrap(),
    )
    .unwrap();
    ok(
        &f.verify_key(
            &["--signature", s(&key_sig), "--rekor-url", &url],
            &f.public,
            &f.file,
        ),
        "detached key signature",
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let unlogged = f.pair.sign(&rng, &std::fs::read(&f.file).unwrap()).unwrap();
    let unlogged_sig = f.path("unlogged.sig");
    std::fs::write(&unlogged_sig, STANDARD.encode(unlogged.as_ref())).unwrap();
    rejected(
        &f.verify_key(
            &["--signature", s(&unlogged_sig), "--rekor-url", &url],
            &f.public,
            &f.file,
        ),
        "unlogged signature",
        "no log entry for this artifact verifies",
    );
    let text = ok(
        &f.verify_key(
            &["--signature", s(&unlogged_sig), "--insecure-ignore-tlog"],
            &f.public,
            &f.file,
        ),
        "unlogged signature, tlog ignored",
    );
    assert!(text.contains("WARNING"), "{text}");

    // Private PKI: the CA chain given on the command line instead of a trusted root that
    // knows it. Its SCT comes from a CT log the built-in root does not know, so it also needs
    // --insecure-ignore-sct.
    let root = read_json(&f.up.data().join("trusted_root.json"));
    let chain: String = root["certificateAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            pem(
                "CERTIFICATE",
                &STANDARD.decode(c["rawBytes"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let chain_file = f.path("chain.pem");
    std::fs::write(&chain_file, chain).unwrap();
    let issuer = f.up.issuer();
    let private = |extra: &[&str]| {
        let mut args = vec![
            "verify-blob",
            "--signature",
            s(&sig),
            "--certificate",
            s(&cert),
            "--insecure-ignore-tlog",
            "--certificate-identity",
            "alice@example.test",
            "--certificate-oidc-issuer",
            &issuer,
        ];
        args.extend_from_slice(extra);
        args.push(s(&f.file));
        signet(&args)
    };
    rejected(
        &private(&[]),
        "no chain",
        "is not issued by any trusted certificate authority",
    );
    rejected(
        &private(&["--certificate-chain", s(&chain_file)]),
        "chain without its CT log",
        "SCT: none of the 1 embedded SCTs is from a trusted CT log",
    );
    let text = ok(
        &private(&[
            "--certificate-chain",
            s(&chain_file),
            "--insecure-ignore-sct",
        ]),
        "private PKI",
    );
    assert!(text.contains("WARNING: --insecure-ignore-sct"), "{text}");
}

#[test]
fn sigstore_python_detached_signatures_parse_and_fail_for_the_right_reason() {
    let data = |name: &str| signet_testdata::path(&format!("sigstore-python/{name}"));
    let verify = |stem: &str, extra: &[&str]| {
        let sig = data(&format!("{stem}.sig"));
        let crt = data(&format!("{stem}.crt"));
        let mut args = vec![
            "verify-blob",
            "--signature",
            s(&sig),
            "--certificate",
            s(&crt),
            "--certificate-identity",
            "william@yossarian.net",
            "--certificate-oidc-issuer",
            "https://github.com/login/oauth",
        ];
        args.extend_from_slice(extra);
        let artifact = data(stem);
        args.push(s(&artifact));
        signet(&args)
    };
    // Their entries live on the public log, which is not reachable here: offline says why.
    rejected(&verify("a.txt", &["--offline"]), "offline", "--offline");
    // Without the log: the signature checks out, but nothing dates it, and now (years after
    // the ten minutes of the certificate and the end of its CA) it is not trusted.
    rejected(
        &verify("a.txt", &["--insecure-ignore-tlog"]),
        "expired certificate",
        "signing certificate is not trusted at",
    );
    // bad.txt does not match its signature: that is found before the certificate's age.
    rejected(
        &verify("bad.txt", &["--insecure-ignore-tlog"]),
        "bad.txt",
        "signature over the artifact does not verify",
    );
}

#[test]
fn verify_blob_attestation_checks_type_and_claims() {
    let up = Up::start(SIGNET);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("artifact.txt");
    std::fs::write(&file, b"built\n").unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, b"not built\n").unwrap();
    let predicate = dir.path().join("predicate.json");
    std::fs::write(&predicate, br#"{"buildDefinition": {"buildType": "x"}}"#).unwrap();
    let bundle = dir.path().join("att.sigstore.json");
    let trust = up.trust_config();
    ok(
        &signet(&[
            "attest-blob",
            "--trust-config",
            s(&trust),
            "--dev-subject",
            "builder@example.test",
            "--type",
            "slsaprovenance1",
            "--predicate",
            s(&predicate),
            "--bundle",
            s(&bundle),
            s(&file),
        ]),
        "attest-blob",
    );
    let issuer = up.issuer();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify-blob-attestation",
            "--trust-config",
            s(&trust),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            "builder@example.test",
            "--certificate-oidc-issuer",
            &issuer,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    };
    let text = ok(
        &verify(&["--type", "slsaprovenance1", s(&file)]),
        "short name",
    );
    assert!(
        text.contains("predicate type: https://slsa.dev/provenance/v1"),
        "{text}"
    );
    assert!(text.contains("RFC 3161 timestamp from"), "{text}");
    ok(
        &verify(&[
            "--type",
            "https://slsa.dev/provenance/v1",
            "--check-claims",
            s(&file),
        ]),
        "URI",
    );
    rejected(
        &verify(&["--type", "spdxjson", s(&file)]),
        "wrong type",
        "https://spdx.dev/Document",
    );
    rejected(
        &verify(&["--type", "slsaprovenance1", s(&other)]),
        "other file",
        "no in-toto subject has the artifact's digest",
    );
    // Without claims only the envelope is verified, and no artifact is needed.
    ok(
        &verify(&[
            "--type",
            "slsaprovenance1",
            "--check-claims=false",
            s(&other),
        ]),
        "claims not checked",
    );
    ok(
        &verify(&["--type", "slsaprovenance1", "--check-claims=false"]),
        "no artifact",
    );
    let out = verify(&["--type", "slsaprovenance1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // A blob signature is not an attestation.
    let blob = dir.path().join("blob.sigstore.json");
    ok(
        &signet(&[
            "sign-blob",
            "--trust-config",
            s(&trust),
            "--dev-subject",
            "builder@example.test",
            "--bundle",
            s(&blob),
            s(&file),
        ]),
        "sign-blob",
    );
    let out = signet(&[
        "verify-blob-attestation",
        "--trust-config",
        s(&trust),
        "--bundle",
        s(&blob),
        "--certificate-identity",
        "builder@example.test",
        "--certificate-oidc-issuer",
        &issuer,
        "--type",
        "slsaprovenance1",
        s(&file),
    ]);
    rejected(&out, "message signature", "not an attestation");

    // verify-blob's report: RFC 3339 dates and their source in words; JSON keeps the numbers.
    let out = signet(&[
        "verify-blob",
        "--trust-config",
        s(&trust),
        "--bundle",
        s(&blob),
        "--certificate-identity",
        "builder@example.test",
        "--certificate-oidc-issuer",
        &issuer,
        "--output",
        "json",
        s(&file),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["times"][0];
    assert!(t["time"].as_i64().unwrap() > 1_700_000_000, "{report}");
    assert_eq!(t["source"], "rfc3161Timestamp");
    assert!(t["date"].as_str().unwrap().ends_with('Z'), "{report}");
}
