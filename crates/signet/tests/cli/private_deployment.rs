//! README "Private deployment", step by step with the real binary: every service key made in
//! an HSM (SoftHSM2) by `signet hsm generate-key`, the CA's root kept offline (its key in the
//! token too, its certificate in a directory no server reads), three `signet up` replicas on
//! one PostgreSQL database with every key in the token and a real OIDC provider
//! (oauth2-mock-server). Then:
//!
//! - every replica writes the same trusted root, signing config and TUF root;
//! - a certificate requested from each replica carries an SCT of the one CT log and chains
//!   to the offline root;
//! - a client bootstrapped from one replica's TUF repository signs (through the public URL)
//!   and another replica's TUF repository verifies it, with signet and sigstore-python;
//! - no data directory holds a private key.
//!
//! Skipped (with a note) without SoftHSM2 or PostgreSQL unless `SIGNET_REQUIRE_SOFTHSM=1` /
//! `SIGNET_REQUIRE_POSTGRES=1`; without oauth2-mock-server (unless `SIGNET_REQUIRE_OIDC=1`)
//! the replicas use the development issuer, whose key is then the one private key allowed.

use crate::common::{SIGNET, copy_dir, free_port};
use crate::hsm::{Hsm, assert_no_private_key, init_token, ok, s};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_testkit::oidc::MockProvider;
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stdout};
use signet_testkit::{ChildGuard, Signer, pg};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const REPLICAS: usize = 3;
const ALICE: &str = "alice@example.com";

/// The service keys the replicas sign with, as `--pkcs11-key` values (labels on [`TOKEN`]).
const SERVICE_KEYS: &[&str] = &[
    "ca=ca",
    "ct=ct",
    "rekor-v1=rekor-v1",
    "rekor-v2=rekor-v2",
    "tsa=tsa",
    "tuf-root=tuf-root",
    "tuf-timestamp=tuf-timestamp",
    "tuf-snapshot=tuf-snapshot",
    "tuf-targets=tuf-targets",
];

/// `flags` followed by `--pkcs11-key K` for each of `keys`.
fn with_keys(args: &[&str], flags: &[String], keys: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(flags.iter().cloned());
    for key in keys {
        all.extend(["--pkcs11-key".to_owned(), (*key).to_owned()]);
    }
    all
}

fn run(hsm: &Hsm, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    hsm.signet(&args)
}

/// One replica: `signet up` with every key in the token, returning once it serves.
fn start_replica(hsm: &Hsm, data: &Path, port: u16, flags: &[String]) -> ChildGuard {
    let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
    let prefix = format!("export SOFTHSM2_CONF='{}' &&", s(&hsm.conf()));
    SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(data),
            port: Some(port),
            extra: &extra,
            shell_prefix: Some(&prefix),
            // The banner comes once every service is open (a copied data directory has its
            // files already; the port opens first).
            ready: &[Ready::Stdout("private Sigstore at")],
            stdout: Stdout::File,
            timeout: Duration::from_secs(90),
            ..Launch::new(&["up"])
        },
    )
    .into_child()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// Requests a certificate from `base` and checks it: its SCT verifies under the trusted
/// root's CT key, and its chain ends in the offline root.
async fn issue(base: &str, token: &str, ct_key: &signet_x509::PublicKey, root_pem: &str) {
    let key = Signer::new();
    let body = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": key.pem()},
            "proofOfPossession": STANDARD.encode(key.sign(ALICE.as_bytes())),
        }
    });
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v2/signingCert"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert!(status.is_success(), "{base}: {status} {body}");
    let chain: Vec<signet_x509::Certificate> =
        body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| signet_x509::Certificate::from_pem(p.as_str().unwrap()).unwrap())
            .collect();
    assert_eq!(chain.len(), 3, "leaf, intermediate, offline root");
    assert_eq!(
        chain[2],
        signet_x509::Certificate::from_pem(root_pem).unwrap(),
        "the chain ends in the offline root"
    );
    chain[0].verify_issued_by(&chain[1]).unwrap();
    chain[1].verify_issued_by(&chain[2]).unwrap();
    let scts = signet_x509::verify_embedded_scts(
        &chain[0],
        &chain[1],
        &[signet_x509::CtLog::from_key(ct_key.clone())],
    )
    .unwrap_or_else(|e| panic!("{base}: the SCT does not verify: {e}"));
    assert_eq!(scts.len(), 1);
}

#[test]
fn three_replicas_with_hsm_keys_and_an_offline_root() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let Some(hsm) = init_token() else {
        return;
    };
    let db = pg.create_database();
    let work = tempfile::tempdir().unwrap();
    let path = |name: &str| work.path().join(name);
    let (root_dir, chain) = (path("offline-root"), path("chain.pem"));
    let data: Vec<_> = (0..REPLICAS)
        .map(|i| path(&format!("replica-{i}")))
        .collect();
    let flags = hsm.flags();

    // 1. The keys, made in the token: the offline root (P-384) and every service key.
    ok(
        &run(
            &hsm,
            &with_keys(
                &["hsm", "generate-key", "--algorithm", "ecdsa-p384"],
                &flags,
                &["root=root"],
            ),
        ),
        "hsm generate-key root",
    );
    let pems = ok(
        &run(
            &hsm,
            &with_keys(&["hsm", "generate-key"], &flags, SERVICE_KEYS),
        ),
        "hsm generate-key for the services",
    );
    assert_eq!(pems.matches("BEGIN PUBLIC KEY").count(), SERVICE_KEYS.len());
    // A label already in use is refused, so a service key is never shadowed.
    let again = run(
        &hsm,
        &with_keys(&["hsm", "generate-key"], &flags, &["ct=ct"]),
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a key"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // A key the service does not sign with is refused too.
    let wrong = run(
        &hsm,
        &with_keys(
            &["hsm", "generate-key", "--algorithm", "ed25519"],
            &flags,
            &["ca=ca-ed"],
        ),
    );
    assert_eq!(wrong.status.code(), Some(2));

    // 2. The offline root, the intermediate's request on the first replica, the signature.
    ok(
        &run(
            &hsm,
            &with_keys(
                &["ca", "init-root", "--out", s(&root_dir)],
                &flags,
                &["root=root"],
            ),
        ),
        "ca init-root",
    );
    ok(
        &run(
            &hsm,
            &with_keys(
                &["ca", "init-intermediate", "--data", s(&data[0])],
                &flags,
                &["ca=ca"],
            ),
        ),
        "ca init-intermediate",
    );
    let csr = data[0].join("ca").join("ca-intermediate.csr");
    ok(
        &run(
            &hsm,
            &with_keys(
                &[
                    "ca",
                    "sign-intermediate",
                    "--root",
                    s(&root_dir),
                    "--csr",
                    s(&csr),
                    "--out",
                    s(&chain),
                ],
                &flags,
                &["root=root"],
            ),
        ),
        "ca sign-intermediate",
    );
    let root_pem = std::fs::read_to_string(root_dir.join("ca-root.pem")).unwrap();

    // 3. Three replicas on one database, every key in the token, one public URL.
    let provider = MockProvider::start(&[]);
    let ports: Vec<u16> = {
        let mut ports = Vec::new();
        while ports.len() < REPLICAS {
            let p = free_port();
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        ports
    };
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let replica_flags = |i: usize| {
        let mut f = with_keys(
            &[
                "--public-url",
                &public,
                "--database",
                &db,
                "--peer-url",
                &format!("http://127.0.0.1:{}", ports[i]),
                "--ca-chain",
                s(&chain),
            ],
            &flags,
            SERVICE_KEYS,
        );
        match &provider {
            Some(p) => f.extend(["--oidc-issuer".into(), p.issuer.clone()]),
            None => f.push("--dev-oidc".into()),
        }
        f
    };
    let mut replicas: Vec<ChildGuard> = Vec::new();
    replicas.push(start_replica(&hsm, &data[0], ports[0], &replica_flags(0)));
    for i in 1..REPLICAS {
        // The other replicas get the first one's data directory: with every key in the HSM
        // it holds no private key, only the trust files, certificates and identifiers.
        copy_dir(&data[0], &data[i]);
        replicas.push(start_replica(&hsm, &data[i], ports[i], &replica_flags(i)));
    }

    // Every replica writes the same trust files.
    let read = |i: usize, name: &str| std::fs::read(data[i].join(name)).unwrap();
    for name in ["trusted_root.json", "signing_config.json", "tuf-root.json"] {
        for i in 1..REPLICAS {
            assert_eq!(read(i, name), read(0, name), "{name} of replica {i}");
        }
    }
    let trusted: Value = serde_json::from_slice(&read(0, "trusted_root.json")).unwrap();
    assert_eq!(
        trusted["certificateAuthorities"].as_array().unwrap().len(),
        1
    );
    let ct_key =
        signet_x509::PublicKey::from_spki_der(&b64(&trusted["ctlogs"][0]["publicKey"]["rawBytes"]))
            .unwrap();

    // 4. A certificate from each replica, with an SCT of the one CT log, under the offline root.
    let rt = signet_testkit::runtime();
    let (token, issuer) = match &provider {
        Some(p) => (rt.block_on(p.id_token(ALICE, None, None)), p.issuer.clone()),
        None => (
            ok(
                &hsm.signet(&["dev-token", "--server", &public, "--subject", ALICE]),
                "dev-token",
            )
            .trim()
            .to_owned(),
            format!("{public}/oidc"),
        ),
    };
    for port in &ports {
        rt.block_on(issue(
            &format!("http://127.0.0.1:{port}"),
            &token,
            &ct_key,
            &root_pem,
        ));
    }

    // 5. A client trusts the instance through replica 1's TUF repository and signs; replica
    //    2's repository verifies.
    let home = tempfile::tempdir().unwrap();
    let client = |args: &[&str]| {
        Command::new(SIGNET)
            .args(args)
            .env("HOME", home.path())
            .env("SIGNET_TUF_HOME", home.path().join("tuf"))
            .output()
            .unwrap()
    };
    let tuf = |i: usize| format!("http://127.0.0.1:{}/tuf", ports[i]);
    ok(
        &client(&[
            "trust-instance",
            "--instance",
            &tuf(1),
            "--root",
            s(&data[0].join("tuf-root.json")),
        ]),
        "trust-instance through replica 1",
    );
    let file = path("artifact.txt");
    std::fs::write(&file, b"signed by a three-replica deployment\n").unwrap();
    let bundle = path("artifact.sigstore.json");
    ok(
        &client(&[
            "sign-blob",
            "--instance",
            &tuf(1),
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&file),
        ]),
        "sign-blob",
    );
    ok(
        &client(&[
            "trust-instance",
            "--instance",
            &tuf(2),
            "--root",
            s(&data[2].join("tuf-root.json")),
        ]),
        "trust-instance through replica 2",
    );
    ok(
        &client(&[
            "verify-blob",
            "--instance",
            &tuf(2),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            ALICE,
            "--certificate-oidc-issuer",
            &issuer,
            s(&file),
        ]),
        "verify-blob through replica 2",
    );
    if let Some(py) = signet_testkit::tools::sigstore_python() {
        ok(
            &Command::new(&py)
                .args(["-m", "sigstore", "--trust-config"])
                .arg(data[2].join("trust_config.json"))
                .args(["verify", "identity", "--bundle", s(&bundle)])
                .args(["--cert-identity", ALICE, "--cert-oidc-issuer", &issuer])
                .arg(&file)
                .output()
                .unwrap(),
            "sigstore-python verify",
        );
    }

    // 6. No private key in any data directory (the development issuer's, without a provider).
    let allowed: &[&str] = if provider.is_some() {
        &[]
    } else {
        &["dev-oidc.key"]
    };
    for dir in &data {
        assert_no_private_key(dir, allowed, 5);
    }
    assert!(
        !root_dir.join("ca-root-key.pem").exists(),
        "the root key is in the token"
    );
    drop(replicas);
}
