//! sigstore-python's RFC 3161 library (rfc3161-client, installed with sigstore-python) makes the
//! requests and verifies our replies, as `sigstore sign` with a TSA would.
//!
//! Uses `SIGNET_SIGSTORE_PYTHON` (the venv python `scripts/ensure-sigstore-python` prints).
//! Skipped with a note without it, unless `SIGNET_REQUIRE_DIFFERENTIAL=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use signet_testkit::tools::sigstore_python as python;
use signet_tsa::{SigningAlgorithm, TsaTime};
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// `make DIR cert|nocert` makes a request with rfc3161-client (nonce on, certReq as asked);
/// `verify DIR cert|nocert` verifies the reply against the root, giving the TSA certificate
/// only when the token embeds none.
fn script() -> String {
    r#"
import sys, pathlib, hashlib
import cryptography.x509 as x509
import rfc3161_client as r
mode, d, certs = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3] == "cert"
data = (d / "data").read_bytes()
if mode == "make":
    req = r.TimestampRequestBuilder().data(data).hash_algorithm(r.HashAlgorithm.SHA256) \
        .cert_request(cert_request=certs).nonce(nonce=True).build()
    (d / "req.der").write_bytes(req.as_bytes())
    (d / "nonce").write_text(str(req.nonce))
else:
    resp = r.decode_timestamp_response((d / "resp.der").read_bytes())
    nonce = int((d / "nonce").read_text())
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    tsa = x509.load_pem_x509_certificate((d / "tsa.pem").read_bytes())
    b = r.VerifierBuilder().add_root_certificate(root).nonce(nonce) \
        .policy_id(x509.ObjectIdentifier("1.3.6.1.4.1.57264.2"))
    if not certs:
        b = b.tsa_certificate(tsa)
    assert len(resp.signed_data.certificates) == (2 if certs else 0), resp.signed_data.certificates
    b.build().verify_message(resp, data)
    try:
        b.build().verify_message(resp, data + b"x")
        sys.exit("verified over other data")
    except r.VerificationError:
        pass
    print("OK", resp.tst_info.gen_time.isoformat(), resp.tst_info.nonce)
"#
    .to_owned()
}

fn run(python: &Path, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "python {args:?} failed:\n{text}");
    text
}

#[test]
fn rfc3161_client_verifies_our_replies() {
    let Some(python) = python() else { return };
    let now = TsaTime::from_system_time(SystemTime::now()).unwrap();
    for alg in [
        SigningAlgorithm::EcdsaP256Sha256,
        SigningAlgorithm::EcdsaP384Sha384,
    ] {
        let tsa = common::authority(alg, now.unix_seconds);
        for certs in ["cert", "nocert"] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let chain = tsa.keys().chain();
            let pem = |der: &[u8]| {
                pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
            };
            std::fs::write(d.join("tsa.pem"), pem(chain[0].der())).unwrap();
            std::fs::write(d.join("root.pem"), pem(chain[1].der())).unwrap();
            std::fs::write(d.join("data"), b"a sigstore signature").unwrap();
            let dir_arg = d.to_str().unwrap();
            run(&python, &["make", dir_arg, certs]);
            let request = std::fs::read(d.join("req.der")).unwrap();
            std::fs::write(d.join("resp.der"), tsa.respond(&request, now, [9; 16])).unwrap();
            let out = run(&python, &["verify", dir_arg, certs]);
            let nonce = std::fs::read_to_string(d.join("nonce")).unwrap();
            assert!(out.starts_with("OK "), "{out}");
            assert!(out.trim_end().ends_with(nonce.trim()), "{out}");
        }
    }
}
