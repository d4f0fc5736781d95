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

/// A Rekor v1 log that lies: it answers every index search with one UUID and every entry
/// retrieval with the entry it was given (raw `LogEntry` JSON), whatever was asked. Plain
/// HTTP/1.1 on loopback, one request per connection.
struct LyingLog {
    url: String,
    answer: std::sync::Arc<std::sync::Mutex<(String, Value)>>,
}

impl LyingLog {
    fn start() -> LyingLog {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = std::sync::Arc::new(std::sync::Mutex::new((String::new(), json!({}))));
        let shared = answer.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                let (head, body_start) = loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break (String::new(), 0);
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&request[..at]).into_owned(), at + 4);
                    }
                };
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while request.len() < body_start + length {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let (uuid, entry) = shared.lock().unwrap().clone();
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = match path {
                    "/api/v1/index/retrieve" => ("200 OK", json!([uuid]).to_string()),
                    "/api/v1/log/entries/retrieve" => ("200 OK", json!([entry]).to_string()),
                    _ => ("404 Not Found", "{}".to_owned()),
                };
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        LyingLog { url, answer }
    }

    /// From now on, answer with this entry (found under its UUID).
    fn answer_with(&self, (uuid, entry): (String, Value)) {
        *self.answer.lock().unwrap() = (uuid, entry);
    }
}

/// The Rekor v1 `LogEntry` (UUID and JSON) a v0.3 bundle's entry came from, read back from the
/// log at `url`.
fn logged_entry(url: &str, bundle: &Value) -> (String, Value) {
    let body = STANDARD
        .decode(
            bundle["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let uuid = hex::encode(signet_merkle::hash_leaf(&body).0);
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-H",
            "content-type: application/json",
        ])
        .args([
            "--data-binary",
            &json!({"entryUUIDs": [uuid]}).to_string(),
            &format!("{url}/api/v1/log/entries/retrieve"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    (uuid, list[0].clone())
}

fn write_signature(path: &Path, bundle: &Value) -> PathBuf {
    std::fs::write(
        path,
        bundle["messageSignature"]["signature"].as_str().unwrap(),
    )
    .unwrap();
    path.to_owned()
}

/// A detached signature is only as good as the log entry found for it: an entry from a log the
/// trusted root does not know, an entry whose body records another signature or another
/// artifact, and a key other than the one logged are each refused, next to the valid twin
/// (the same signature, key or answer that does match) that verifies.
#[test]
fn detached_signatures_with_an_untrusted_or_lying_log_or_the_wrong_key_are_rejected() {
    let f = Fixture::new();
    let url = f.up.url.clone();
    let key_sig = write_signature(&f.path("key.sig"), &f.keyed);
    let with_log = |sig: &Path, log: &str, public: &Path, file: &Path| {
        f.verify_key(&["--signature", s(sig), "--rekor-url", log], public, file)
    };
    // The valid twin: the logged signature, the right key, the deployment's own log.
    ok(
        &with_log(&key_sig, &url, &f.public, &f.file),
        "detached key signature",
    );

    // 1. A wrong --key for a logged signature.
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
        &with_log(&key_sig, &url, &other_public, &f.file),
        "a logged signature with another key",
        "signature over the artifact does not verify",
    );

    // 2. The lookup answered by another signet up, whose log key the trusted root lacks: the
    //    same signature logged there is refused, and verifies once it is in the trusted log.
    let other_up = Up::start(SIGNET);
    let elsewhere = sign_v1(
        &other_up.rekor_v1_trust_config(),
        &["--key", s(&f.key)],
        &f.file,
        f.dir.path(),
        "elsewhere",
    );
    let elsewhere_sig = write_signature(&f.path("elsewhere.sig"), &elsewhere);
    rejected(
        &with_log(&elsewhere_sig, &other_up.url, &f.public, &f.file),
        "an entry from an untrusted log",
        "is not in the trusted root",
    );
    // The same hashedrekord body is a valid proposed entry for the trusted log.
    let body = STANDARD
        .decode(
            elsewhere["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-H",
            "content-type: application/json",
        ])
        .arg("--data-binary")
        .arg(String::from_utf8(body).unwrap())
        .arg(format!("{url}/api/v1/log/entries"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    ok(
        &with_log(&elsewhere_sig, &url, &f.public, &f.file),
        "the same signature from the trusted log",
    );
    drop(other_up);

    // 3. A log that answers with a real entry of the trusted log, but not this signature's.
    let liar = LyingLog::start();
    liar.answer_with(logged_entry(&url, &f.keyed));
    ok(
        &with_log(&key_sig, &liar.url, &f.public, &f.file),
        "the right entry, from any server",
    );
    // 3a. The entry of another artifact (signed by the same key).
    let other_bundle = sign_v1(
        &f.up.rekor_v1_trust_config(),
        &["--key", s(&f.key)],
        &f.other,
        f.dir.path(),
        "other-artifact",
    );
    liar.answer_with(logged_entry(&url, &other_bundle));
    rejected(
        &with_log(&key_sig, &liar.url, &f.public, &f.file),
        "another artifact's entry",
        "the logged artifact digest does not match the bundle",
    );
    // 3b. The entry of another signature of the same artifact (keyless, alice's).
    liar.answer_with(logged_entry(&url, &f.keyless));
    rejected(
        &with_log(&key_sig, &liar.url, &f.public, &f.file),
        "another signature's entry",
        "the logged signature does not match the bundle",
    );
    // 3c. The right entry with its body swapped for another artifact's: the SET and the
    //     inclusion proof no longer cover it.
    let (uuid, mut entry) = logged_entry(&url, &f.keyed);
    let (_, other_entry) = logged_entry(&url, &other_bundle);
    let id = entry.as_object().unwrap().keys().next().unwrap().clone();
    let other_id = other_entry
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    entry[&id]["body"] = other_entry[&other_id]["body"].clone();
    liar.answer_with((uuid, entry));
    rejected(
        &with_log(&key_sig, &liar.url, &f.public, &f.file),
        "an entry with another body",
        "signed entry timestamp does not verify",
    );
}

/// `--offline` with a bundle (new or legacy, keyless or with a key) verifies: a bundle needs no
/// lookup, and no log is asked (the --rekor-url given answers nothing). With a detached
/// signature it refuses the lookup (see `detached_signatures_are_looked_up_in_the_rekor_v1_log`).
#[test]
fn offline_verification_of_bundles_needs_no_log() {
    let f = Fixture::new();
    let nowhere = "http://127.0.0.1:9";
    let keyless = f.path("keyless.sigstore.json");
    let keyed = f.path("keyed.sigstore.json");
    let legacy = write_json(&f.path("legacy.json"), &legacy_bundle(&f.keyless));
    for (bundle, mismatch) in [
        (
            &keyless,
            "the bundle's message digest is not the artifact's",
        ),
        (&legacy, "signature over the artifact does not verify"),
    ] {
        let text = ok(
            &f.verify_identity(
                &["--bundle", s(bundle), "--offline", "--rekor-url", nowhere],
                &f.file,
            ),
            "offline keyless bundle",
        );
        assert!(text.contains("Verified OK"), "{text}");
        rejected(
            &f.verify_identity(&["--bundle", s(bundle), "--offline"], &f.other),
            "offline bundle, other file",
            mismatch,
        );
    }
    ok(
        &f.verify_key(
            &["--bundle", s(&keyed), "--offline", "--rekor-url", nowhere],
            &f.public,
            &f.file,
        ),
        "offline key bundle",
    );
    // The same inputs as a detached signature need the log: refused offline.
    let sig = write_signature(&f.path("key.sig"), &f.keyed);
    rejected(
        &f.verify_key(&["--signature", s(&sig), "--offline"], &f.public, &f.file),
        "offline detached",
        "--offline",
    );
}

/// `verify-blob-attestation --key K`: an attestation signed with `attest-blob --key` verifies
/// with that key (by cosign's short name `link` or its URI), not with another key, and not as
/// another predicate type.
#[test]
fn verify_blob_attestation_with_a_key() {
    let f = Fixture::new();
    let predicate = f.path("link.json");
    std::fs::write(
        &predicate,
        br#"{"name": "build", "command": ["make"], "materials": {}, "products": {}}"#,
    )
    .unwrap();
    let trust = f.trust();
    for (config, name) in [(trust.clone(), "v2"), (f.up.rekor_v1_trust_config(), "v1")] {
        let bundle = f.path(&format!("link-{name}.sigstore.json"));
        ok(
            &signet(&[
                "attest-blob",
                "--trust-config",
                s(&config),
                "--key",
                s(&f.key),
                "--type",
                "link",
                "--predicate",
                s(&predicate),
                "--bundle",
                s(&bundle),
                s(&f.file),
            ]),
            "attest-blob --key",
        );
        let statement: Value = serde_json::from_slice(
            &STANDARD
                .decode(
                    read_json(&bundle)["dsseEnvelope"]["payload"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap(),
        )
        .unwrap();
        assert_eq!(statement["predicateType"], "https://in-toto.io/Link/v1");
        let verify = |public: &Path, ty: &str| {
            signet(&[
                "verify-blob-attestation",
                "--trust-config",
                s(&trust),
                "--bundle",
                s(&bundle),
                "--key",
                s(public),
                "--type",
                ty,
                s(&f.file),
            ])
        };
        let text = ok(&verify(&f.public, "link"), "verify-blob-attestation --key");
        assert!(
            text.contains("predicate type: https://in-toto.io/Link/v1"),
            "{text}"
        );
        ok(&verify(&f.public, "https://in-toto.io/Link/v1"), "by URI");
        let other = f.path("other.pub");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        std::fs::write(
            &other,
            pem("PUBLIC KEY", pair.public_key().as_der().unwrap().as_ref()),
        )
        .unwrap();
        let out = verify(&other, "link");
        assert_eq!(out.status.code(), Some(1), "wrong key: {out:?}");
        rejected(
            &verify(&f.public, "slsaprovenance1"),
            "wrong type",
            "https://slsa.dev/provenance/v1",
        );
    }
}
