//! An independent implementation checks our tokens: requests made by `openssl ts -query`,
//! replies verified by `openssl ts -verify` and printed by `openssl ts -reply -text`.
//!
//! Skipped (with a note) when `openssl` is missing, unless `SIGNET_REQUIRE_OPENSSL=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use signet_tsa::{SigningAlgorithm, TimestampAuthority, TsaTime};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn openssl() -> Option<PathBuf> {
    let candidates = ["/usr/bin/openssl", "openssl"];
    for c in candidates {
        if Command::new(c)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(PathBuf::from(c));
        }
    }
    if std::env::var("SIGNET_REQUIRE_OPENSSL").as_deref() == Ok("1") {
        panic!("openssl not found and SIGNET_REQUIRE_OPENSSL=1");
    }
    eprintln!("note: openssl not found; skipping the openssl ts interoperability test");
    None
}

fn run(openssl: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(openssl)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

fn now() -> TsaTime {
    TsaTime::from_system_time(SystemTime::now()).unwrap()
}

/// Writes root.pem (trust anchor) and tsa.pem (the TSA certificate) for `openssl ts -verify`.
fn write_chain(tsa: &TimestampAuthority, dir: &Path) {
    let chain = tsa.keys().chain();
    let pem = |der: &[u8]| {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
    };
    std::fs::write(dir.join("tsa.pem"), pem(chain[0].der())).unwrap();
    std::fs::write(dir.join("root.pem"), pem(chain[1].der())).unwrap();
}

#[test]
fn openssl_verifies_our_replies() {
    let Some(openssl) = openssl() else { return };
    for key_alg in [
        SigningAlgorithm::EcdsaP256Sha256,
        SigningAlgorithm::EcdsaP384Sha384,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let tsa = common::authority(key_alg, now().unix_seconds);
        write_chain(&tsa, d);
        std::fs::write(d.join("data"), b"artifact signature bytes\n").unwrap();
        let cases: [(&str, &[&str]); 5] = [
            ("sha256-cert-nononce", &["-sha256", "-cert", "-no_nonce"]),
            ("sha256-cert-nonce", &["-sha256", "-cert"]),
            ("sha384-nocert-nonce", &["-sha384"]),
            (
                "sha512-cert-policy",
                &["-sha512", "-cert", "-tspolicy", "1.3.6.1.4.1.57264.2"],
            ),
            ("sha256-nocert-nononce", &["-sha256", "-no_nonce"]),
        ];
        for (name, flags) in cases {
            let query = format!("{name}.tsq");
            let reply = format!("{name}.tsr");
            let mut args = vec!["ts", "-query", "-data", "data", "-out", &query];
            args.extend_from_slice(flags);
            run(&openssl, d, &args);
            let request = std::fs::read(d.join(&query)).unwrap();
            let response = tsa.respond(&request, now(), [0x5a; 16]);
            std::fs::write(d.join(&reply), &response).unwrap();

            let verify = run(
                &openssl,
                d,
                &[
                    "ts",
                    "-verify",
                    "-data",
                    "data",
                    "-in",
                    &reply,
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "tsa.pem",
                ],
            );
            assert!(
                verify.contains("Verification: OK"),
                "{key_alg:?} {name}: {verify}"
            );
            // Verifying the reply against its own query checks the nonce and imprint too.
            let verify = run(
                &openssl,
                d,
                &[
                    "ts",
                    "-verify",
                    "-queryfile",
                    &query,
                    "-in",
                    &reply,
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "tsa.pem",
                ],
            );
            assert!(
                verify.contains("Verification: OK"),
                "{key_alg:?} {name}: {verify}"
            );

            let text = run(&openssl, d, &["ts", "-reply", "-in", &reply, "-text"]);
            assert!(text.contains("Status: Granted."), "{text}");
            assert!(text.contains("Policy OID: 1.3.6.1.4.1.57264.2"), "{text}");
            let query_text = run(&openssl, d, &["ts", "-query", "-in", &query, "-text"]);
            let nonce_line = |t: &str| {
                t.lines()
                    .find(|l| l.trim_start().starts_with("Nonce:"))
                    .map(|l| l.trim().to_owned())
            };
            if flags.contains(&"-no_nonce") {
                assert_eq!(
                    nonce_line(&text).as_deref(),
                    Some("Nonce: unspecified"),
                    "{text}"
                );
            } else {
                let nonce = nonce_line(&query_text).unwrap();
                assert_ne!(nonce, "Nonce: unspecified");
                assert_eq!(nonce_line(&text), Some(nonce), "{text}");
            }
        }
    }
}

#[test]
fn openssl_rejects_a_reply_over_other_data() {
    let Some(openssl) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tsa = common::authority(SigningAlgorithm::EcdsaP256Sha256, now().unix_seconds);
    write_chain(&tsa, d);
    std::fs::write(d.join("data"), b"one").unwrap();
    std::fs::write(d.join("other"), b"two").unwrap();
    run(
        &openssl,
        d,
        &[
            "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    let response = tsa.respond(&std::fs::read(d.join("q.tsq")).unwrap(), now(), [1; 16]);
    std::fs::write(d.join("r.tsr"), response).unwrap();
    let out = Command::new(&openssl)
        .current_dir(d)
        .args([
            "ts",
            "-verify",
            "-data",
            "other",
            "-in",
            "r.tsr",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "openssl accepted a token over other data"
    );
}

#[test]
fn openssl_reads_our_rejections() {
    let Some(openssl) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tsa = common::authority(SigningAlgorithm::EcdsaP256Sha256, now().unix_seconds);
    std::fs::write(d.join("data"), b"one").unwrap();
    // openssl 3.0 can still make SHA-1 queries; we refuse them with badAlg.
    run(
        &openssl,
        d,
        &["ts", "-query", "-data", "data", "-sha1", "-out", "q.tsq"],
    );
    let response = tsa.respond(&std::fs::read(d.join("q.tsq")).unwrap(), now(), [1; 16]);
    common::assert_rejected(&response, 0);
    std::fs::write(d.join("r.tsr"), response).unwrap();
    let text = run(&openssl, d, &["ts", "-reply", "-in", "r.tsr", "-text"]);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm identifier"),
        "{text}"
    );
}
