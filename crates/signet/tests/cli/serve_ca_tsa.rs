//! Runs the real `signet serve tsa` and `signet serve ca` binaries on free loopback ports:
//! the TSA's replies pass `openssl ts -verify` (an independent RFC 3161 implementation) with
//! the chain it serves; the CA issues a certificate for a development token whose embedded SCT
//! verifies against the CT log key in the data directory's `trusted_root.json`, and refuses a
//! token from an issuer it was not configured with. Both stop cleanly on SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::{SIGNET, free_port, runtime};
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Starts `signet serve <what> --listen 127.0.0.1:<free> --data <dir> <extra>` and waits until
/// `ready_path` answers 200; killed on drop (if the test did not stop it).
fn start(what: &str, dir: &Path, extra: &[&str], ready_path: &str) -> SignetProcess {
    SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(dir),
            extra,
            ready: &[Ready::Http(ready_path)],
            stdout: Stdout::Piped,
            ..Launch::new(&["serve", what])
        },
    )
}

/// SIGTERM, then the exit status must be success within 30 s.
fn stop(mut server: SignetProcess) {
    let (status, _) = server
        .terminate(Duration::from_secs(30))
        .expect("no exit within 30 s of SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status}");
}

fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("SIGNET_REQUIRE_OPENSSL").is_none(),
            "SIGNET_REQUIRE_OPENSSL is set but openssl is not on PATH"
        );
        eprintln!("note: openssl not found; skipping the openssl ts checks");
    }
    found
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Splits a PEM chain into its certificate blocks.
fn pem_blocks(chain: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in chain.lines() {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

#[test]
fn serve_tsa_replies_pass_openssl_ts_verify() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut server = start("tsa", data.path(), &[], "/api/v1/timestamp/certchain");
    let first = server.line();
    assert!(
        first.contains(&format!("{}/api/v1/timestamp", server.base)),
        "{first}"
    );
    let second = server.line();
    let chain_path = second
        .trim()
        .strip_prefix("signet: certificate chain: ")
        .unwrap_or_else(|| panic!("unexpected line {second:?}"))
        .to_owned();

    let rt = runtime();
    let client = reqwest::Client::new();
    let chain = rt.block_on(async {
        let r = client
            .get(format!("{}/api/v1/timestamp/certchain", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    // The printed file is the chain served.
    assert_eq!(std::fs::read_to_string(&chain_path).unwrap(), chain);
    let blocks = pem_blocks(&chain);
    assert!(blocks.len() >= 2, "chain has {} certificates", blocks.len());

    if openssl_available() {
        let w = work.path();
        std::fs::write(w.join("data.txt"), b"timestamp me\n").unwrap();
        std::fs::write(w.join("other.txt"), b"not what was stamped\n").unwrap();
        std::fs::write(w.join("root.pem"), blocks.last().unwrap()).unwrap();
        std::fs::write(w.join("untrusted.pem"), blocks[..blocks.len() - 1].concat()).unwrap();
        let out = openssl(
            &[
                "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq",
            ],
            w,
        );
        assert!(out.status.success(), "{out:?}");
        let query = std::fs::read(w.join("req.tsq")).unwrap();
        let reply = rt.block_on(async {
            let r = client
                .post(format!("{}/api/v1/timestamp", server.base))
                .header("Content-Type", "application/timestamp-query")
                .body(query)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.headers()["content-type"].to_str().unwrap(),
                "application/timestamp-reply"
            );
            r.bytes().await.unwrap()
        });
        std::fs::write(w.join("reply.tsr"), &reply).unwrap();
        let verify = |data: &str| {
            openssl(
                &[
                    "ts",
                    "-verify",
                    "-data",
                    data,
                    "-in",
                    "reply.tsr",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "untrusted.pem",
                ],
                w,
            )
        };
        let out = verify("data.txt");
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{out:?}"
        );
        // The same reply does not verify for other data.
        let out = verify("other.txt");
        assert!(!out.status.success(), "{out:?}");
        // The reply also checks against the query (nonce, imprint, policy).
        let out = openssl(
            &[
                "ts",
                "-verify",
                "-queryfile",
                "req.tsq",
                "-in",
                "reply.tsr",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "untrusted.pem",
            ],
            w,
        );
        assert!(out.status.success(), "{out:?}");
    }
    stop(server);

    // A restart keeps the TSA's identity.
    let server = start("tsa", data.path(), &[], "/api/v1/timestamp/certchain");
    let again = rt.block_on(async {
        client
            .get(format!("{}/api/v1/timestamp/certchain", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(again, chain);
    stop(server);
}

/// POSTs a CSR for a fresh key with `token`; returns the status and the JSON body.
async fn request_certificate(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> (u16, serde_json::Value) {
    let key =
        signet_sign::EphemeralKey::generate(signet_sign::KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let csr = signet_sign::request::certificate_signing_request(&key).unwrap();
    let pem = signet_sign::request::pem("CERTIFICATE REQUEST", &csr).unwrap();
    let r = client
        .post(format!("{base}/api/v2/signingCert"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "certificateSigningRequest": STANDARD.encode(pem) }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body)
}

#[test]
fn serve_ca_issues_certificates_with_scts_for_configured_issuers_only() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start("ca", data.path(), &["--dev-oidc"], "/api/v2/configuration");
    let first = server.line();
    assert!(first.contains(&server.base), "{first}");

    let rt = runtime();
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let subject = "alice@example.test";
    let token = rt.block_on(async {
        let r = client
            .post(format!("{base}/oidc/token"))
            .json(&serde_json::json!({ "subject": subject }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        body["id_token"].as_str().unwrap().to_owned()
    });
    let (status, body) = rt.block_on(request_certificate(&client, &base, &token));
    assert_eq!(status, 201, "{body}");
    let pems: Vec<String> = body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(pems.len() >= 2, "{body}");
    let certs: Vec<signet_x509::Certificate> = pems
        .iter()
        .map(|p| signet_x509::Certificate::from_pem(p).unwrap())
        .collect();

    // The trusted root in the data directory lists exactly this CA and its CT log.
    let root = signet_formats::trust::TrustedRoot::from_json(
        &std::fs::read(data.path().join("trusted_root.json")).unwrap(),
    )
    .unwrap();
    assert!(root.tlogs.is_empty() && root.timestamp_authorities.is_empty());
    assert_eq!(root.certificate_authorities.len(), 1);
    let ca_chain: Vec<&[u8]> = certs[1..].iter().map(|c| c.der()).collect();
    let listed: Vec<&[u8]> = root.certificate_authorities[0]
        .cert_chain
        .iter()
        .map(Vec::as_slice)
        .collect();
    assert_eq!(ca_chain, listed);
    assert_eq!(root.ctlogs.len(), 1);
    assert_eq!(root.ctlogs[0].base_url, format!("{base}/ct"));
    let ct_key = signet_x509::PublicKey::from_spki_der(
        root.ctlogs[0].public_key.raw_bytes.as_deref().unwrap(),
    )
    .unwrap();
    let ct_log = signet_x509::CtLog::from_key(ct_key);
    assert_eq!(ct_log.log_id, root.ctlogs[0].log_id);

    // The embedded SCT verifies against that key; a log with another key does not verify it.
    let verified = signet_x509::verify_embedded_scts(&certs[0], &certs[1], &[ct_log]).unwrap();
    assert!(!verified.is_empty());
    let other =
        signet_sign::EphemeralKey::generate(signet_sign::KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let other_spki = signet_sign::SigningKey::public_key_spki_der(&other).to_vec();
    let wrong =
        signet_x509::CtLog::from_key(signet_x509::PublicKey::from_spki_der(&other_spki).unwrap());
    assert!(signet_x509::verify_embedded_scts(&certs[0], &certs[1], &[wrong]).is_err());

    // The certificate names the token's identity and the development issuer.
    let der = certs[0].der();
    assert!(
        der.windows(subject.len()).any(|w| w == subject.as_bytes()),
        "the subject is not in the certificate"
    );
    let issuer_url = format!("{base}/oidc");
    assert!(
        der.windows(issuer_url.len())
            .any(|w| w == issuer_url.as_bytes())
    );

    // A well-formed token from an issuer the CA was not configured with: 401.
    let stranger_dir = tempfile::tempdir().unwrap();
    let env = signet_deploy::Environment::system();
    let stranger = signet_oidc::DevIssuer::load_or_create(
        stranger_dir.path(),
        format!("http://127.0.0.1:{}/oidc", free_port()),
        env.clock,
        env.randomness,
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let foreign = stranger
        .mint(subject, "sigstore", i64::try_from(now).unwrap(), 300)
        .unwrap();
    let (status, body) = rt.block_on(request_certificate(&client, &base, &foreign));
    assert_eq!(status, 401, "{body}");
    // And no token at all is refused as well.
    let (status, _) = rt.block_on(request_certificate(&client, &base, ""));
    assert!((400..500).contains(&status), "{status}");

    // The configuration and trust bundle endpoints answer.
    rt.block_on(async {
        for path in [
            "/api/v2/configuration",
            "/api/v2/trustBundle",
            "/ct/v1/get-sth",
        ] {
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
    });
    stop(server);
}

#[test]
fn serve_ca_without_any_issuer_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["serve", "ca", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dev-oidc"));
}
