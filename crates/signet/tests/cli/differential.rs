//! Differential test against a second implementation, sigstore-python 4.5.1.
//!
//! Valid bundles are mutated systematically: one bit flipped in each base64 field, each field
//! deleted, counters moved by one, checkpoints edited, certificates, signatures, log entries,
//! proofs, checkpoints and timestamps swapped between bundles, and the artifact or the policy
//! changed. Each case is verified by the real `signet verify-bundle` binary and by
//! sigstore-python (all cases in one process, through `differential/sigstore_verify.py`).
//!
//! - signet must never accept what sigstore-python rejects;
//! - where sigstore-python accepts and signet rejects, the case must match a documented
//!   deviation (the `DEVIATIONS` table below, explained in `docs/deviations.md`).
//!
//! The venv comes from `./scripts/ensure-sigstore-python`; `./scripts/test` sets
//! `SIGNET_SIGSTORE_PYTHON` to its python and `SIGNET_REQUIRE_DIFFERENTIAL=1`. Without them
//! the test says it was skipped and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_testkit::tools::sigstore_python as python_venv;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Disagreements where sigstore-python accepts and signet rejects, on purpose:
/// (case-name pattern, text that signet's error must contain, deviation ID in
/// `docs/deviations.md`). Patterns match `base/mutation`; `*` matches any run of characters.
const DEVIATIONS: &[(&str, &str, &str)] = &[
    ("*/swap-timestamps:*", "timestamp ", "D1"),
    (
        "sigstore-python/tsa/bundle.txt.sigstore/unmodified",
        "timestamp ",
        "D1",
    ),
    ("*/flip-log-id-*", "is not in the trusted root", "D2"),
    (
        "*/swap-inclusion-promise:*",
        "signed entry timestamp does not verify",
        "D3",
    ),
    ("*/log-index*", "but inclusionProof.logIndex is", "D4"),
];

const CONFORMANCE_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const CONFORMANCE_ISSUER: &str = "https://token.actions.githubusercontent.com";
const TLOG: &str = "/verificationMaterial/tlogEntries/0";

/// One bundle with what it must be verified against.
#[derive(Clone)]
struct Subject {
    name: String,
    bundle: Value,
    /// A file path or `sha256:<hex>`.
    artifact: String,
    identity: String,
    issuer: String,
    trusted_root: PathBuf,
}

/// A case: a subject (possibly mutated) and the mutation's name.
struct Case {
    name: String,
    bundle_text: String,
    artifact: String,
    identity: String,
    issuer: String,
    trusted_root: PathBuf,
}

struct Outcome {
    accepted: bool,
    error: String,
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read_text(path))
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let digest = signet_verify::Artifact::Bytes(bytes).sha256().unwrap();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The valid bundles that are mutated.
fn bases() -> Vec<Subject> {
    let cases = signet_testdata::path("conformance/bundle-verify");
    let public_good = signet_testdata::path("trust/public-good-trusted_root.json");
    let staging = signet_testdata::path("trust/staging-trusted_root.json");
    let mut out = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| cases.join(n).is_dir() && !n.ends_with("_fail"))
        .collect();
    names.sort();
    for name in names {
        let dir = cases.join(&name);
        // Managed-key bundles: sigstore-python's verifier only takes certificate identities.
        if dir.join("key.pub").exists() {
            continue;
        }
        out.push(conformance_subject(&dir, &name, &public_good));
    }
    let py = signet_testdata::path("sigstore-python");
    let a_txt = signet_testdata::path("conformance/a.txt");
    let staging_python = [
        ("bundle.txt.sigstore", "bundle.txt", "a@tny.town"),
        (
            "bundle_v3.txt.sigstore",
            "bundle_v3.txt",
            "william@yossarian.net",
        ),
        (
            "bundle_v3_alt.txt.sigstore",
            "bundle_v3_alt.txt",
            "william@yossarian.net",
        ),
        (
            "staging-rekor-v2.txt.sigstore.json",
            "staging-rekor-v2.txt",
            "jku@goto.fi",
        ),
    ];
    for (bundle, artifact, identity) in staging_python {
        out.push(Subject {
            name: format!("sigstore-python/{bundle}"),
            bundle: read_json(&py.join(bundle)),
            artifact: py.join(artifact).display().to_string(),
            identity: identity.into(),
            issuer: "https://github.com/login/oauth".into(),
            trusted_root: staging.clone(),
        });
    }
    // A DSSE bundle on Rekor v2 whose in-toto subject is the conformance a.txt.
    out.push(Subject {
        name: "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json".into(),
        bundle: read_json(&py.join("a.dsse.staging-rekor-v2.txt.sigstore.json")),
        artifact: a_txt.display().to_string(),
        identity: CONFORMANCE_IDENTITY.into(),
        issuer: CONFORMANCE_ISSUER.into(),
        trusted_root: staging.clone(),
    });
    // Production; the wheel itself is not in the test data, so it is verified by digest.
    out.push(Subject {
        name: "sigstore-python/bundle_v3_github.whl.sigstore".into(),
        bundle: read_json(&py.join("bundle_v3_github.whl.sigstore")),
        artifact: "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201".into(),
        identity: "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2".into(),
        issuer: CONFORMANCE_ISSUER.into(),
        trusted_root: public_good.clone(),
    });
    out
}

fn conformance_subject(dir: &Path, name: &str, public_good: &Path) -> Subject {
    let optional = |file: &str| {
        let p = dir.join(file);
        p.exists().then(|| read_text(&p).trim().to_owned())
    };
    let artifact = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        dir.parent().unwrap().join("a.txt")
    };
    let trusted_root = if dir.join("trusted_root.json").exists() {
        dir.join("trusted_root.json")
    } else {
        public_good.to_owned()
    };
    // The malformed-JSON case cannot be held as a `Value`; keep its text as a string value.
    let text = read_text(&dir.join("bundle.sigstore.json"));
    let bundle = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Subject {
        name: format!("conformance/{name}"),
        bundle,
        artifact: artifact.display().to_string(),
        identity: optional("identity").unwrap_or_else(|| CONFORMANCE_IDENTITY.into()),
        issuer: optional("issuer").unwrap_or_else(|| CONFORMANCE_ISSUER.into()),
        trusted_root,
    }
}

/// Bundles verified as they are, not mutated: the conformance cases that must fail, the
/// invalid sigstore-python bundles, and the sigstore-python TSA bundles.
fn unmutated(scratch: &Path) -> Vec<Subject> {
    let cases = signet_testdata::path("conformance/bundle-verify");
    let public_good = signet_testdata::path("trust/public-good-trusted_root.json");
    let staging = signet_testdata::path("trust/staging-trusted_root.json");
    let mut out = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with("_fail") && !cases.join(n).join("key.pub").exists())
        .collect();
    names.sort();
    for name in names {
        out.push(conformance_subject(&cases.join(&name), &name, &public_good));
    }
    let py = signet_testdata::path("sigstore-python");
    let yossarian = ("william@yossarian.net", "https://github.com/login/oauth");
    let invalid = [
        ("bundle_invalid_version.txt.sigstore", yossarian),
        ("bundle_no_cert_v1.txt.sigstore", yossarian),
        (
            "bundle_no_log_entry.txt.sigstore",
            (
                "alex.cameron@trailofbits.com",
                "https://accounts.google.com",
            ),
        ),
        ("bundle_no_checkpoint.txt.sigstore", yossarian),
        ("bundle_v3_no_signed_time.txt.sigstore.json", yossarian),
        ("bundle_cve_2022_36056.txt.sigstore", yossarian),
    ];
    for (bundle, (identity, issuer)) in invalid {
        let artifact = bundle
            .trim_end_matches(".json")
            .trim_end_matches(".sigstore");
        out.push(Subject {
            name: format!("sigstore-python/{bundle}"),
            bundle: read_json(&py.join(bundle)),
            artifact: py.join(artifact).display().to_string(),
            identity: identity.into(),
            issuer: issuer.into(),
            trusted_root: staging.clone(),
        });
    }
    // sigstore-python's TSA tests use the staging root with its timestamp authority replaced by
    // `tsa/ca.json`, the local test TSA that made the `tsa/` bundles.
    let tsa = py.join("tsa");
    let tsa_root = scratch.join("tsa-trusted_root.json");
    let mut root = read_json(&staging);
    root["timestampAuthorities"] = json!([read_json(&tsa.join("ca.json"))]);
    std::fs::write(&tsa_root, root.to_string()).unwrap();
    for (bundle, identity) in [
        ("bundle.txt.sigstore", "alexis.challande@trailofbits.com"),
        (
            "bundle.txt.late_timestamp.sigstore",
            "insecure-cloudtop-shared-user@cloudtop-prod-us-east.iam.gserviceaccount.com",
        ),
        (
            "bundle.duplicate.sigstore",
            "alexis.challande@trailofbits.com",
        ),
        (
            "bundle.many_timestamp.sigstore",
            "alexis.challande@trailofbits.com",
        ),
    ] {
        out.push(Subject {
            name: format!("sigstore-python/tsa/{bundle}"),
            bundle: read_json(&tsa.join(bundle)),
            artifact: tsa.join("bundle.txt").display().to_string(),
            identity: identity.into(),
            issuer: "https://accounts.google.com".into(),
            trusted_root: tsa_root.clone(),
        });
    }
    out
}

// ---- JSON editing -------------------------------------------------------------------------

fn set(v: &Value, ptr: &str, new: Value) -> Option<Value> {
    let mut c = v.clone();
    *c.pointer_mut(ptr)? = new;
    Some(c)
}

/// Sets a value, creating the last key when the parent object exists.
fn put(v: &Value, ptr: &str, new: Value) -> Option<Value> {
    let (parent, key) = ptr.rsplit_once('/')?;
    let mut c = v.clone();
    c.pointer_mut(parent)?
        .as_object_mut()?
        .insert(key.to_owned(), new);
    Some(c)
}

fn remove(v: &Value, ptr: &str) -> Option<Value> {
    let (parent, key) = ptr.rsplit_once('/')?;
    let mut c = v.clone();
    match c.pointer_mut(parent)? {
        Value::Object(m) => {
            m.remove(key)?;
        }
        Value::Array(a) => {
            let i: usize = key.parse().ok()?;
            if i >= a.len() {
                return None;
            }
            a.remove(i);
        }
        _ => return None,
    }
    Some(c)
}

fn certificate_ptr(bundle: &Value) -> &'static str {
    if bundle
        .pointer("/verificationMaterial/certificate")
        .is_some()
    {
        "/verificationMaterial/certificate/rawBytes"
    } else {
        "/verificationMaterial/x509CertificateChain/certificates/0/rawBytes"
    }
}

fn certificate_field(bundle: &Value) -> &'static str {
    if bundle
        .pointer("/verificationMaterial/certificate")
        .is_some()
    {
        "/verificationMaterial/certificate"
    } else {
        "/verificationMaterial/x509CertificateChain"
    }
}

/// Flips the lowest bit of one decoded byte of a base64 field.
fn flip_bit(v: &Value, ptr: &str, position: &str) -> Option<Value> {
    let text = v.pointer(ptr)?.as_str()?;
    let mut bytes = STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{ptr} is not base64: {e}"));
    let last = bytes.len().checked_sub(1)?;
    let i = match position {
        "first" => 0,
        "mid" => bytes.len() / 2,
        _ => last,
    };
    bytes[i] ^= 1;
    set(v, ptr, Value::String(STANDARD.encode(bytes)))
}

/// Adds `delta` to an integer field, keeping its JSON form (proto JSON writes int64 as strings).
fn add_to_int(v: &Value, ptr: &str, delta: i64) -> Option<Value> {
    let old = v.pointer(ptr)?;
    let n: i64 = match old {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    let new = n.checked_add(delta)?;
    let new = if old.is_string() {
        Value::String(new.to_string())
    } else {
        json!(new)
    };
    set(v, ptr, new)
}

/// A different character of the same kind (digit, upper, lower, other base64).
fn other_char(c: char) -> char {
    match c {
        '0'..='8' | 'a'..='y' | 'A'..='Y' => char::from(u8::try_from(c).unwrap() + 1),
        '9' => '0',
        'z' => 'a',
        'Z' => 'A',
        '+' => '/',
        '/' => '+',
        _ => 'A',
    }
}

fn change_char(s: &str, index: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if i == index { other_char(c) } else { c })
        .collect()
}

/// Edits a signed checkpoint (`origin\nsize\nroot\n[extensions]\n\n— name sig\n...`).
fn edit_checkpoint(text: &str, what: &str) -> Option<String> {
    let (body, sigs) = text.split_once("\n\n")?;
    let mut body: Vec<String> = body.lines().map(str::to_owned).collect();
    let mut sigs: Vec<String> = sigs.lines().map(str::to_owned).collect();
    match what {
        "origin" => body[0] = change_char(&body[0], 0),
        "size" => {
            let line = body.get_mut(1)?;
            *line = change_char(line, line.chars().count().checked_sub(1)?);
        }
        "root" => {
            let line = body.get_mut(2)?;
            *line = change_char(line, line.chars().count() / 2);
        }
        "first-signature" | "last-signature" => {
            if what == "last-signature" && sigs.len() < 2 {
                return None;
            }
            let line = if what == "first-signature" {
                sigs.first_mut()?
            } else {
                sigs.last_mut()?
            };
            // `— name base64`: change a character in the middle of the base64.
            let start = line.rfind(' ')? + 1;
            let chars_before = line[..start].chars().count();
            let len = line[start..].chars().count();
            *line = change_char(line, chars_before + len / 2);
        }
        "no-signatures" => sigs.clear(),
        _ => return None,
    }
    let mut out = body.join("\n");
    out.push_str("\n\n");
    for s in sigs {
        out.push_str(&s);
        out.push('\n');
    }
    Some(out)
}

// ---- mutations ----------------------------------------------------------------------------

/// `(mutation name, mutated subject)` for one base; `donors` are other bases to swap from.
fn mutations(base: &Subject, donors: &[&Subject], scratch: &Path) -> Vec<(String, Subject)> {
    let b = &base.bundle;
    let mut out: Vec<(String, Subject)> = Vec::new();
    let mut add = |name: String, bundle: Option<Value>| {
        if let Some(bundle) = bundle {
            out.push((
                name,
                Subject {
                    bundle,
                    ..base.clone()
                },
            ));
        }
    };

    // 1. One bit flipped in each base64 field, at the first, middle and last decoded byte.
    let cert = certificate_ptr(b);
    let b64_fields = [
        ("signature", "/messageSignature/signature".to_owned()),
        (
            "message-digest",
            "/messageSignature/messageDigest/digest".to_owned(),
        ),
        ("dsse-payload", "/dsseEnvelope/payload".to_owned()),
        ("dsse-sig", "/dsseEnvelope/signatures/0/sig".to_owned()),
        ("certificate", cert.to_owned()),
        ("body", format!("{TLOG}/canonicalizedBody")),
        ("log-id", format!("{TLOG}/logId/keyId")),
        (
            "set",
            format!("{TLOG}/inclusionPromise/signedEntryTimestamp"),
        ),
        ("proof-hash0", format!("{TLOG}/inclusionProof/hashes/0")),
        ("root-hash", format!("{TLOG}/inclusionProof/rootHash")),
        (
            "rfc3161",
            "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp"
                .to_owned(),
        ),
    ];
    for (field, ptr) in &b64_fields {
        for position in ["first", "mid", "last"] {
            add(
                format!("flip-{field}-{position}"),
                flip_bit(b, ptr, position),
            );
        }
    }
    if let Some(hashes) = b
        .pointer(&format!("{TLOG}/inclusionProof/hashes"))
        .and_then(Value::as_array)
        .filter(|h| h.len() > 1)
    {
        let last = hashes.len() - 1;
        add(
            "flip-proof-hash-last-mid".into(),
            flip_bit(b, &format!("{TLOG}/inclusionProof/hashes/{last}"), "mid"),
        );
    }

    // 2. The checkpoint text.
    let checkpoint = format!("{TLOG}/inclusionProof/checkpoint/envelope");
    if let Some(text) = b.pointer(&checkpoint).and_then(Value::as_str) {
        for what in [
            "origin",
            "size",
            "root",
            "first-signature",
            "last-signature",
            "no-signatures",
        ] {
            let edited = edit_checkpoint(text, what).map(Value::String);
            add(
                format!("checkpoint-{what}"),
                edited.and_then(|e| set(b, &checkpoint, e)),
            );
        }
    }

    // 3. Each field deleted in turn.
    let deletions = [
        ("inclusion-proof", format!("{TLOG}/inclusionProof")),
        ("inclusion-promise", format!("{TLOG}/inclusionPromise")),
        ("checkpoint", format!("{TLOG}/inclusionProof/checkpoint")),
        ("proof-hashes", format!("{TLOG}/inclusionProof/hashes")),
        ("proof-hash0", format!("{TLOG}/inclusionProof/hashes/0")),
        ("integrated-time", format!("{TLOG}/integratedTime")),
        ("body", format!("{TLOG}/canonicalizedBody")),
        ("log-id", format!("{TLOG}/logId")),
        ("kind-version", format!("{TLOG}/kindVersion")),
        ("tlog-entries", "/verificationMaterial/tlogEntries".into()),
        (
            "timestamps",
            "/verificationMaterial/timestampVerificationData".into(),
        ),
        (
            "timestamp0",
            "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0".into(),
        ),
        ("message-digest", "/messageSignature/messageDigest".into()),
        ("signature", "/messageSignature/signature".into()),
        ("message-signature", "/messageSignature".into()),
        ("dsse-signatures", "/dsseEnvelope/signatures".into()),
        ("dsse-envelope", "/dsseEnvelope".into()),
        ("certificate", certificate_field(b).into()),
        ("media-type", "/mediaType".into()),
    ];
    for (field, ptr) in &deletions {
        add(format!("delete-{field}"), remove(b, ptr));
    }
    add(
        "empty-tlog-entries".into(),
        set(b, "/verificationMaterial/tlogEntries", json!([])),
    );

    // 4. Counters moved by one.
    let counters = [
        ("log-index", format!("{TLOG}/logIndex")),
        ("proof-log-index", format!("{TLOG}/inclusionProof/logIndex")),
        ("tree-size", format!("{TLOG}/inclusionProof/treeSize")),
        ("integrated-time", format!("{TLOG}/integratedTime")),
    ];
    for (field, ptr) in &counters {
        add(format!("{field}+1"), add_to_int(b, ptr, 1));
        add(format!("{field}-1"), add_to_int(b, ptr, -1));
    }

    // 5. Structure: duplicates, media types, entry versions, unknown fields.
    if let Some(entry) = b.pointer(TLOG) {
        add(
            "duplicate-tlog-entry".into(),
            set(
                b,
                "/verificationMaterial/tlogEntries",
                json!([entry, entry]),
            ),
        );
    }
    if let Some(ts) =
        b.pointer("/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0")
    {
        add(
            "duplicate-timestamp".into(),
            set(
                b,
                "/verificationMaterial/timestampVerificationData/rfc3161Timestamps",
                json!([ts, ts]),
            ),
        );
    }
    for (label, media_type) in [
        (
            "v0.1",
            "application/vnd.dev.sigstore.bundle+json;version=0.1",
        ),
        (
            "v0.2",
            "application/vnd.dev.sigstore.bundle+json;version=0.2",
        ),
        ("v0.3", "application/vnd.dev.sigstore.bundle.v0.3+json"),
    ] {
        let current = b["mediaType"].as_str().unwrap_or_default();
        let same = current == media_type
            || (label == "v0.3" && current.ends_with("bundle+json;version=0.3"));
        if !same {
            add(
                format!("media-type-{label}"),
                set(b, "/mediaType", json!(media_type)),
            );
        }
    }
    if let Some(version) = b
        .pointer(&format!("{TLOG}/kindVersion/version"))
        .and_then(Value::as_str)
    {
        let other = if version == "0.0.1" { "0.0.2" } else { "0.0.1" };
        add(
            format!("kind-version-{other}"),
            set(b, &format!("{TLOG}/kindVersion/version"), json!(other)),
        );
        let kind = b.pointer(&format!("{TLOG}/kindVersion/kind"));
        let other_kind = if kind == Some(&json!("dsse")) {
            "hashedrekord"
        } else {
            "dsse"
        };
        add(
            format!("kind-{other_kind}"),
            set(b, &format!("{TLOG}/kindVersion/kind"), json!(other_kind)),
        );
    }
    add(
        "unknown-top-level-field".into(),
        put(b, "/unknownField", json!("x")),
    );
    add(
        "unknown-tlog-entry-field".into(),
        put(b, &format!("{TLOG}/unknownField"), json!("x")),
    );

    // 6. Parts swapped in from other bases.
    for donor in donors {
        let d = &donor.bundle;
        let tag = donor.name.rsplit('/').next().unwrap_or(&donor.name);
        let mut swap = |what: &str, bundle: Option<Value>| {
            if let Some(bundle) = bundle.filter(|m| m != b) {
                add(format!("swap-{what}:{tag}"), Some(bundle));
            }
        };
        swap(
            "certificate",
            d.pointer(certificate_ptr(d))
                .and_then(|c| set(b, cert, c.clone())),
        );
        swap(
            "signature",
            d.pointer("/messageSignature/signature")
                .and_then(|s| set(b, "/messageSignature/signature", s.clone()))
                .or_else(|| {
                    d.pointer("/dsseEnvelope/signatures/0/sig")
                        .and_then(|s| set(b, "/dsseEnvelope/signatures/0/sig", s.clone()))
                }),
        );
        let content = {
            let mut c = b.clone();
            let m = c.as_object_mut().unwrap();
            m.remove("messageSignature");
            m.remove("dsseEnvelope");
            for key in ["messageSignature", "dsseEnvelope"] {
                if let Some(v) = d.get(key) {
                    m.insert(key.into(), v.clone());
                }
            }
            Some(c)
        };
        swap("content", content);
        if let (Some(own), Some(theirs)) = (b.pointer(TLOG), d.pointer(TLOG)) {
            swap(
                "append-tlog-entry",
                set(b, "/verificationMaterial/tlogEntries", json!([own, theirs])),
            );
        }
        for (what, ptr) in [
            (
                "tlog-entries",
                "/verificationMaterial/tlogEntries".to_owned(),
            ),
            ("inclusion-proof", format!("{TLOG}/inclusionProof")),
            ("checkpoint", format!("{TLOG}/inclusionProof/checkpoint")),
            ("inclusion-promise", format!("{TLOG}/inclusionPromise")),
            (
                "timestamps",
                "/verificationMaterial/timestampVerificationData".to_owned(),
            ),
        ] {
            swap(what, d.pointer(&ptr).and_then(|v| put(b, &ptr, v.clone())));
        }
    }

    // 7. The artifact and the policy.
    let wrong = scratch.join("wrong-artifact.txt");
    let mut other = |name: &str, f: &dyn Fn(&mut Subject)| {
        let mut s = base.clone();
        f(&mut s);
        out.push((name.to_owned(), s));
    };
    other("wrong-artifact", &|s| {
        s.artifact = wrong.display().to_string();
    });
    if !base.artifact.starts_with("sha256:") {
        let digest = sha256_hex(Path::new(&base.artifact));
        other("artifact-as-digest", &|s| {
            s.artifact = format!("sha256:{digest}");
        });
    }
    other("wrong-artifact-digest", &|s| {
        let digest = if let Some(d) = base.artifact.strip_prefix("sha256:") {
            d.to_owned()
        } else {
            sha256_hex(Path::new(&base.artifact))
        };
        s.artifact = format!("sha256:{}", change_char(&digest, 0));
    });
    other("wrong-identity", &|s| s.identity.push('x'));
    other("identity-prefix", &|s| {
        s.identity.pop();
    });
    other("wrong-issuer", &|s| s.issuer.push('x'));
    other("issuer-prefix", &|s| {
        s.issuer.pop();
    });
    out
}

// ---- running both verifiers ---------------------------------------------------------------

fn bundle_text(bundle: &Value) -> String {
    match bundle {
        // A bundle kept as raw text (not valid JSON).
        Value::String(raw) => raw.clone(),
        other => serde_json::to_string_pretty(other).unwrap(),
    }
}

fn run_signet(cases: &[Case], scratch: &Path) -> Vec<Outcome> {
    let dir = scratch.join("bundles");
    std::fs::create_dir_all(&dir).unwrap();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let path = dir.join(format!("{i}.sigstore.json"));
                    std::fs::write(&path, &case.bundle_text).unwrap();
                    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
                        .arg("verify-bundle")
                        .arg("--bundle")
                        .arg(&path)
                        .arg("--certificate-identity")
                        .arg(&case.identity)
                        .arg("--certificate-oidc-issuer")
                        .arg(&case.issuer)
                        .arg("--trusted-root")
                        .arg(&case.trusted_root)
                        .arg("--output")
                        .arg("json")
                        .arg(&case.artifact)
                        .output()
                        .expect("run signet");
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let code = out.status.code();
                    // 0 = verified, 1 = rejected; anything else (usage error, panic, signal) is
                    // a harness or signet bug, not a verdict.
                    assert!(
                        matches!(code, Some(0 | 1)),
                        "{}: signet exited with {:?}\nstdout: {stdout}\nstderr: {stderr}",
                        case.name,
                        out.status
                    );
                    let error = serde_json::from_str::<Value>(stdout.trim())
                        .ok()
                        .and_then(|v| v["error"].as_str().map(str::to_owned))
                        .unwrap_or_else(|| stderr.trim().to_owned());
                    results.lock().unwrap()[i] = Some(Outcome {
                        accepted: code == Some(0),
                        error,
                    });
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

fn run_sigstore_python(python: &Path, cases: &[Case]) -> Vec<Outcome> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/sigstore_verify.py");
    let input: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": i.to_string(),
                "bundle": c.bundle_text,
                "artifact": c.artifact,
                "identity": c.identity,
                "issuer": c.issuer,
                "trusted_root": c.trusted_root,
            })
        })
        .collect();
    let mut child = Command::new(python)
        .arg(&script)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    // The script reads all of stdin before it writes anything, so this cannot deadlock.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sigstore_verify.py failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: Vec<Outcome> = stdout
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["id"], i.to_string(), "results out of order");
            Outcome {
                accepted: v["accepted"].as_bool().unwrap(),
                error: v["error"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    assert_eq!(outcomes.len(), cases.len(), "one result per case");
    outcomes
}

// ---- deviations ---------------------------------------------------------------------------

/// Matches `text` against `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn deviation_for(case: &str, signet_error: &str) -> Option<&'static str> {
    DEVIATIONS
        .iter()
        .find(|(pattern, error, _)| glob(pattern, case) && signet_error.contains(error))
        .map(|(_, _, id)| *id)
}

/// An error message on one line, cut to a readable length.
fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

#[test]
fn glob_matches_runs_of_characters() {
    assert!(glob("a/*", "a/b"));
    assert!(glob("*/flip-rfc3161-*", "x/y/flip-rfc3161-mid"));
    assert!(glob("*swap-timestamps:*", "base/swap-timestamps:donor"));
    assert!(!glob("*/flip-set-*", "x/flip-sig-mid"));
    assert!(glob("exact", "exact"));
    assert!(!glob("exact", "exact2"));
    assert!(glob("a*c*e", "abcde"));
    assert!(!glob("a*c*e", "abcd"));
}

#[test]
fn every_deviation_is_documented() {
    let doc = read_text(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deviations.md"));
    for (_, _, id) in DEVIATIONS {
        assert!(
            doc.lines().any(|l| l.starts_with(&format!("## {id}:"))),
            "{id} has no `## {id}: ...` section in docs/deviations.md"
        );
    }
}

#[test]
fn signet_never_accepts_what_sigstore_python_rejects() {
    let Some(python) = python_venv() else {
        eprintln!(
            "differential: skipped: sigstore-python is not set up; run ./scripts/test \
             (or set SIGNET_SIGSTORE_PYTHON to the python printed by ./scripts/ensure-sigstore-python)"
        );
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(
        scratch.path().join("wrong-artifact.txt"),
        "differential: not the signed artifact\n",
    )
    .unwrap();

    let bases = bases();
    let mut subjects: Vec<(String, Subject, bool)> = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        subjects.push((format!("{}/unmodified", base.name), base.clone(), true));
        // Donors: the next three bases, so similar bundles (same log, same format) meet.
        let donors: Vec<&Subject> = (1..=3).map(|k| &bases[(i + k) % bases.len()]).collect();
        for (mutation, subject) in mutations(base, &donors, scratch.path()) {
            subjects.push((format!("{}/{mutation}", base.name), subject, false));
        }
    }
    for subject in unmutated(scratch.path()) {
        subjects.push((format!("{}/unmodified", subject.name), subject, false));
    }
    let mut seen = HashSet::new();
    for (name, _, _) in &subjects {
        assert!(seen.insert(name.clone()), "duplicate case name {name}");
    }
    let cases: Vec<Case> = subjects
        .iter()
        .map(|(name, s, _)| Case {
            name: name.clone(),
            bundle_text: bundle_text(&s.bundle),
            artifact: s.artifact.clone(),
            identity: s.identity.clone(),
            issuer: s.issuer.clone(),
            trusted_root: s.trusted_root.clone(),
        })
        .collect();

    let signet = run_signet(&cases, scratch.path());
    let python = run_sigstore_python(&python, &cases);

    let mut both_accept = 0;
    let mut both_reject = 0;
    let mut signet_only = Vec::new();
    let mut unexplained = Vec::new();
    let mut bad_bases = Vec::new();
    let mut by_deviation: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let (s, p) = (&signet[i], &python[i]);
        if subjects[i].2 && !(s.accepted && p.accepted) {
            bad_bases.push(format!(
                "{}: signet {} ({}), sigstore-python {} ({})",
                case.name, s.accepted, s.error, p.accepted, p.error
            ));
        }
        match (s.accepted, p.accepted) {
            (true, true) => both_accept += 1,
            (false, false) => both_reject += 1,
            (true, false) => signet_only.push(format!(
                "{}\n    sigstore-python rejects: {}",
                case.name,
                one_line(&p.error)
            )),
            (false, true) => match deviation_for(&case.name, &s.error) {
                Some(id) => by_deviation.entry(id).or_default().push(&case.name),
                None => unexplained.push(format!(
                    "{}\n    signet rejects: {}",
                    case.name,
                    one_line(&s.error)
                )),
            },
        }
    }
    let deviations: usize = by_deviation.values().map(Vec::len).sum();
    let per_id: Vec<String> = by_deviation
        .iter()
        .map(|(id, cases)| format!("{id} {}", cases.len()))
        .collect();
    println!(
        "differential: {} cases, both accept {both_accept}, both reject {both_reject}, \
         deviations {deviations} ({}), signet-only accepts {}, unexplained {}",
        cases.len(),
        per_id.join(", "),
        signet_only.len(),
        unexplained.len()
    );
    // Per mutation kind (the donor left out): both accept / both reject / deviation /
    // signet-only accept.
    let mut kinds: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let mutation = case.name.rsplit('/').next().unwrap_or_default();
        let kind = mutation.split(':').next().unwrap_or_default();
        let column = match (signet[i].accepted, python[i].accepted) {
            (true, true) => 0,
            (false, false) => 1,
            (false, true) => 2,
            (true, false) => 3,
        };
        kinds.entry(kind).or_default()[column] += 1;
    }
    println!("mutation kind: both accept / both reject / python-only accept / signet-only accept");
    for (kind, [a, r, d, s]) in &kinds {
        println!("  {kind}: {a} / {r} / {d} / {s}");
    }
    for (id, cases) in &by_deviation {
        println!("{id}: {}", cases.join(", "));
    }
    for (pattern, _, id) in DEVIATIONS {
        let used = by_deviation
            .get(id)
            .is_some_and(|cases| cases.iter().any(|c| glob(pattern, c)));
        if !used {
            println!("note: DEVIATIONS row {pattern:?} ({id}) matched no case in this run");
        }
    }
    let mut problems = Vec::new();
    if !bad_bases.is_empty() {
        problems.push(format!(
            "base bundles must verify in both implementations:\n{}",
            bad_bases.join("\n")
        ));
    }
    if !signet_only.is_empty() {
        problems.push(format!(
            "signet ACCEPTS {} case(s) that sigstore-python rejects:\n{}",
            signet_only.len(),
            signet_only.join("\n")
        ));
    }
    if !unexplained.is_empty() {
        problems.push(format!(
            "{} case(s) where sigstore-python accepts and signet rejects match no deviation \
             in DEVIATIONS (docs/deviations.md):\n{}",
            unexplained.len(),
            unexplained.join("\n")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
