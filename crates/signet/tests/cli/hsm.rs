//! Every service key in an HSM (SoftHSM2 through PKCS#11), with the real binary: a token with
//! a key per service (P-256 for the CT log and Rekor v1, P-384 for the TSA and the offline
//! root, P-256 for the CA's intermediate, Ed25519 for Rekor v2 and the TUF roles), the
//! offline-root ceremony with the root and the intermediate in the token, then `signet up`
//! with every key in the token: a keyless signature verifies, the TUF repository it serves
//! bootstraps a client (signet's, and sigstore-python verifies too when installed), and the
//! data directory holds no private key at all. A wrong PIN, a missing token or key, a key of
//! the wrong type, a key for a service the command does not run and `--rotate` of an HSM key
//! stop `signet up` at start, naming the key. `signet serve log|ca|tsa` take their keys from
//! the token too.
//!
//! The keys are made by `signet hsm generate-key`. SoftHSM2 reads `SOFTHSM2_CONF` once per
//! process, so every `signet` runs with the variable set; this process's environment is never
//! changed. Skipped (with a note) without
//! `SIGNET_SOFTHSM_MODULE`, unless `SIGNET_REQUIRE_SOFTHSM=1`.

use crate::common::{SIGNET, files_under, free_port};
use signet_testkit::oidc::MockProvider;
use signet_testkit::signet::{Launch, Ready, SignetProcess};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "signet-e2e";
const PIN: &str = "424242";
const SO_PIN: &str = "171717";
const ALICE: &str = "alice@example.com";

/// The names of the key files services keep when their key is not in an HSM.
const KEY_FILE_NAMES: &[&str] = &[
    "rekor-v1.key",
    "rekor-v2.key",
    "ct-signing.key",
    "ca-intermediate-key.pem",
    "ca-root-key.pem",
    "tsa-signing-key.pem",
    "tuf-root.key.pem",
    "tuf-timestamp.key.pem",
    "tuf-snapshot.key.pem",
    "tuf-targets.key.pem",
    "witness.key",
    "dev-oidc.key",
];

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
pub(crate) fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The token's directory, configuration and PIN file.
pub(crate) struct Hsm {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) module: PathBuf,
}

impl Hsm {
    pub(crate) fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    pub(crate) fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    /// `signet` with `SOFTHSM2_CONF` set.
    pub(crate) fn signet(&self, args: &[&str]) -> Output {
        Command::new(SIGNET)
            .args(args)
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap()
    }

    /// The PKCS#11 flags naming the module, the token and the PIN file.
    pub(crate) fn flags(&self) -> Vec<String> {
        vec![
            "--pkcs11-module".into(),
            s(&self.module).into(),
            "--pkcs11-token".into(),
            TOKEN.into(),
            "--pkcs11-pin-file".into(),
            s(&self.pin_file()).into(),
        ]
    }
}

/// An empty token ([`TOKEN`], user PIN [`PIN`] in [`Hsm::pin_file`]) in a throwaway
/// SoftHSM2 token directory, or `None` (after a note) without SoftHSM2.
pub(crate) fn init_token() -> Option<Hsm> {
    let module = signet_testkit::tools::softhsm_module()?;
    let hsm = Hsm {
        dir: tempfile::tempdir().unwrap(),
        module,
    };
    let tokens = hsm.dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    std::fs::write(
        hsm.conf(),
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    std::fs::write(hsm.pin_file(), format!("{PIN}\n")).unwrap();
    ok(
        &Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", TOKEN])
            .args(["--so-pin", SO_PIN, "--pin", PIN])
            .env("SOFTHSM2_CONF", hsm.conf())
            .output()
            .expect("softhsm2-util (scripts/ensure-softhsm installs it)"),
        "softhsm2-util --init-token",
    );
    Some(hsm)
}

/// A token with a key per service (P-256 for the CA, the CT log and Rekor v1; P-384 for the
/// TSA and the offline root; Ed25519 for Rekor v2 and the TUF roles), made by `signet hsm
/// generate-key`, and whether the token makes Ed25519 keys; `None` (after a note) without
/// SoftHSM2.
fn make_token() -> Option<(Hsm, bool)> {
    let hsm = init_token()?;
    let generate = |algorithm: Option<&str>, keys: &[&str]| {
        let mut args = vec!["hsm".to_owned(), "generate-key".to_owned()];
        if let Some(a) = algorithm {
            args.extend(["--algorithm".to_owned(), a.to_owned()]);
        }
        args.extend(hsm.flags());
        for key in keys {
            args.extend(["--pkcs11-key".to_owned(), (*key).to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hsm.signet(&args)
    };
    ok(
        &generate(Some("ecdsa-p384"), &["root=root", "tsa=tsa"]),
        "hsm generate-key (P-384)",
    );
    ok(
        &generate(None, &["ca=ca", "ct=ct", "rekor-v1=rekor-v1"]),
        "hsm generate-key (P-256)",
    );
    let ed25519 = generate(
        None,
        &[
            "rekor-v2=rekor-v2",
            "tuf-root=tuf-root",
            "tuf-timestamp=tuf-timestamp",
            "tuf-snapshot=tuf-snapshot",
            "tuf-targets=tuf-targets",
        ],
    )
    .status
    .success();
    if !ed25519 {
        eprintln!("note: this SoftHSM2 cannot make Ed25519 keys: Rekor v2 and TUF keep key files");
    }
    Some((hsm, ed25519))
}

/// Asserts that no file under `data` holds a private key: none named like a key file, no PEM
/// `PRIVATE KEY` block, no file (or PEM block) that is a PKCS#8 key, except `allowed` (names).
pub(crate) fn assert_no_private_key(data: &Path, allowed: &[&str], at_least: usize) {
    let files = files_under(data);
    // The logs, the CA's certificates, the TSA's chain, the TUF repository: the walk saw the
    // data directory.
    assert!(files.len() >= at_least, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        if allowed.contains(&name) {
            continue;
        }
        assert!(
            !KEY_FILE_NAMES.contains(&name),
            "{} is a key file",
            file.display()
        );
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
            "{} holds a PEM private key",
            file.display()
        );
        assert!(
            signet_signer::MemorySigner::from_pkcs8(&bytes).is_err(),
            "{} is a PKCS#8 private key",
            file.display()
        );
        assert!(
            bytes.len() != 32 || !name.ends_with(".key"),
            "{} may be an Ed25519 seed",
            file.display()
        );
    }
}

/// `signet up` on `data` and `port` with `extra` flags, expecting it to refuse to start (exit
/// 2 within 60 s); returns its stderr.
pub(crate) fn up_refused(hsm: &Hsm, data: &Path, port: u16, extra: &[String]) -> String {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let conf = hsm.conf();
    crate::common::up_refused_env(data, port, &extra, &[("SOFTHSM2_CONF", conf.as_os_str())])
}

#[test]
fn every_service_key_in_softhsm() {
    let Some((hsm, ed25519)) = make_token() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (offline, data, chain) = (
        work.path().join("offline"),
        work.path().join("data"),
        work.path().join("chain.pem"),
    );
    let flags = hsm.flags();
    let with = |args: &[&str], keys: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(flags.iter().cloned());
        for key in keys {
            all.extend(["--pkcs11-key".to_owned(), (*key).to_owned()]);
        }
        all
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hsm.signet(&args)
    };

    // The offline root in the token (P-384): only its certificate is written.
    ok(
        &run(with(
            &["ca", "init-root", "--out", s(&offline)],
            &["root=root"],
        )),
        "ca init-root with the key in the HSM",
    );
    assert!(offline.join("ca-root.pem").is_file());
    assert!(!offline.join("ca-root-key.pem").exists());
    // The intermediate's request, made with the token's key: no key file.
    let out = ok(
        &run(with(
            &["ca", "init-intermediate", "--data", s(&data)],
            &["ca=ca"],
        )),
        "ca init-intermediate with the key in the HSM",
    );
    assert!(out.contains("stays in the HSM"), "{out}");
    let csr = data.join("ca").join("ca-intermediate.csr");
    assert!(csr.is_file());
    assert!(!data.join("ca").join("ca-intermediate-key.pem").exists());
    // The offline machine signs it with the root in the token.
    ok(
        &run(with(
            &[
                "ca",
                "sign-intermediate",
                "--root",
                s(&offline),
                "--csr",
                s(&csr),
                "--out",
                s(&chain),
            ],
            &["root=root"],
        )),
        "ca sign-intermediate with the root in the HSM",
    );

    // An OIDC issuer outside the data directory when one is available (the development
    // issuer keeps its key in DATA/oidc, which then is the one private key allowed there).
    let provider = MockProvider::start(&[]);
    let issuer_flags: Vec<String> = match &provider {
        Some(p) => vec!["--oidc-issuer".into(), p.issuer.clone()],
        None => {
            eprintln!(
                "note: no oauth2-mock-server: the development OIDC issuer signs the tokens and \
                 its key (DATA/oidc/dev-oidc.key) is the one allowed in the data directory"
            );
            Vec::new()
        }
    };

    // Every service key in the token (one by pkcs11: URI).
    let tsa_uri = format!(
        "tsa=pkcs11:token={TOKEN};object=tsa?pin-source=file:{}",
        s(&hsm.pin_file())
    );
    let mut keys = vec!["ca=ca", "ct=ct", "rekor-v1=rekor-v1", tsa_uri.as_str()];
    if ed25519 {
        keys.extend([
            "rekor-v2=rekor-v2",
            "tuf-root=tuf-root",
            "tuf-timestamp=tuf-timestamp",
            "tuf-snapshot=tuf-snapshot",
            "tuf-targets=tuf-targets",
        ]);
    }
    let port = free_port();

    // Failures at start, before anything is opened, naming the key.
    let bad_pin = hsm.dir.path().join("bad-pin");
    std::fs::write(&bad_pin, "000000\n").unwrap();
    let mut wrong_pin = with(&["--ca-chain", s(&chain)], &keys);
    let at = wrong_pin
        .iter()
        .position(|a| a == "--pkcs11-pin-file")
        .unwrap();
    wrong_pin[at + 1] = s(&bad_pin).to_owned();
    let err = up_refused(&hsm, &data, port, &wrong_pin);
    assert!(
        err.contains("the ca key") && err.contains("PinIncorrect"),
        "{err}"
    );
    assert!(!err.contains(PIN), "{err}");
    let err = up_refused(&hsm, &data, port, &with(&[], &["rekor-v1=no-such-key"]));
    assert!(
        err.contains("the rekor-v1 key") && err.contains("no private key"),
        "{err}"
    );
    let err = up_refused(&hsm, &data, port, &with(&[], &["rekor-v1=tsa"]));
    assert!(
        err.contains("the rekor-v1 key") && err.contains("ecdsa-p384-sha384"),
        "{err}"
    );
    let err = up_refused(&hsm, &data, port, &with(&[], &["ca=tuf-root"]));
    assert!(err.contains("the ca key"), "{err}");
    let err = up_refused(
        &hsm,
        &data,
        port,
        &with(&["--rotate", "rekor-v1"], &["rekor-v1=rekor-v1"]),
    );
    assert!(
        err.contains("rekor-v1 key cannot be rotated") && err.contains("HSM"),
        "{err}"
    );
    let err = up_refused(&hsm, &data, port, &with(&[], &["root=root"]));
    assert!(err.contains("the root key"), "{err}");
    let mut missing_token = with(&[], &["ct=ct"]);
    let at = missing_token
        .iter()
        .position(|a| a == "--pkcs11-token")
        .unwrap();
    missing_token[at + 1] = "no-such-token".to_owned();
    let err = up_refused(&hsm, &data, port, &missing_token);
    assert!(
        err.contains("the ct key") && err.contains("not found"),
        "{err}"
    );
    // Without the chain, the CA's HSM key has no certificate: refused, saying what to do.
    let err = up_refused(
        &hsm,
        &data,
        port,
        &with(&issuer_flags_str(&issuer_flags), &keys),
    );
    assert!(err.contains("--ca-chain"), "{err}");
    assert!(
        !data.join("log").exists(),
        "refused before opening the logs"
    );

    // Started with every key in the token.
    let mut extra = with(&["--ca-chain", s(&chain)], &keys);
    extra.extend(issuer_flags.iter().cloned());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let prefix = format!("export SOFTHSM2_CONF='{}' &&", s(&hsm.conf()));
    let up = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&data),
            port: Some(port),
            extra: &extra,
            shell_prefix: Some(&prefix),
            ready: &[Ready::Port, Ready::DataFile("trust_config.json")],
            timeout: std::time::Duration::from_secs(60),
            ..Launch::new(&["up"])
        },
    );
    let trust = data.join("trust_config.json");

    // Keyless signing through it (Rekor v2 by default), and verification.
    let file = work.path().join("artifact.txt");
    std::fs::write(&file, b"signed with keys in an HSM\n").unwrap();
    let bundle = work.path().join("artifact.sigstore.json");
    let (token, issuer) = match &provider {
        Some(p) => (
            signet_testkit::runtime().block_on(p.id_token(ALICE, None, None)),
            p.issuer.clone(),
        ),
        None => (
            ok(
                &hsm.signet(&["dev-token", "--server", &up.base, "--subject", ALICE]),
                "dev-token",
            )
            .trim()
            .to_owned(),
            format!("{}/oidc", up.base),
        ),
    };
    let identity = ALICE.to_owned();
    let sign = |trust: &Path, bundle: &Path| {
        hsm.signet(&[
            "sign-blob",
            "--trust-config",
            s(trust),
            "--identity-token",
            &token,
            "--bundle",
            s(bundle),
            s(&file),
        ])
    };
    ok(&sign(&trust, &bundle), "sign-blob");
    let verify = |trust_args: &[&str], bundle: &Path| {
        let mut args = vec!["verify-blob"];
        args.extend_from_slice(trust_args);
        args.extend([
            "--bundle",
            s(bundle),
            "--certificate-identity",
            &identity,
            "--certificate-oidc-issuer",
            &issuer,
            s(&file),
        ]);
        hsm.signet(&args)
    };
    ok(
        &verify(&["--trust-config", s(&trust)], &bundle),
        "verify-blob",
    );
    // Through Rekor v1 too (its SET and checkpoint signed by the token's P-256 key).
    let v1_trust = work.path().join("v1-trust.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trust).unwrap()).unwrap();
    let tlogs = config["signingConfig"]["rekorTlogUrls"]
        .as_array_mut()
        .unwrap();
    tlogs.retain(|t| t["majorApiVersion"] == 1);
    assert_eq!(tlogs.len(), 1);
    std::fs::write(&v1_trust, serde_json::to_vec(&config).unwrap()).unwrap();
    let v1_bundle = work.path().join("v1.sigstore.json");
    ok(&sign(&v1_trust, &v1_bundle), "sign-blob through Rekor v1");
    ok(
        &verify(&["--trust-config", s(&trust)], &v1_bundle),
        "verify-blob of the Rekor v1 bundle",
    );

    // sigstore-python agrees, when it is installed.
    if let Some(py) = signet_testkit::tools::sigstore_python() {
        for b in [&bundle, &v1_bundle] {
            ok(
                &Command::new(&py)
                    .args(["-m", "sigstore", "--trust-config", s(&trust)])
                    .args(["verify", "identity", "--bundle", s(b)])
                    .args(["--cert-identity", &identity, "--cert-oidc-issuer", &issuer])
                    .arg(&file)
                    .output()
                    .unwrap(),
                "sigstore-python verify",
            );
        }
    }

    // The trusted root lists the services' keys from the token.
    let trusted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("trusted_root.json")).unwrap()).unwrap();
    assert_eq!(trusted["ctlogs"].as_array().unwrap().len(), 1, "{trusted}");

    // The TUF repository (its online roles signed in the token) bootstraps signet's client.
    let home = tempfile::tempdir().unwrap();
    let tuf = format!("{}/tuf", up.base);
    let tuf_cmd = |args: &[&str]| {
        Command::new(SIGNET)
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("SIGNET_TUF_HOME", home.path().join("signet-tuf"))
            .output()
            .unwrap()
    };
    ok(
        &tuf_cmd(&[
            "trust-instance",
            "--instance",
            &tuf,
            "--root",
            s(&data.join("tuf-root.json")),
        ]),
        "trust-instance over the TUF repository",
    );
    let mut args = vec![
        "verify-blob",
        "--instance",
        &tuf,
        "--bundle",
        s(&bundle),
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        &issuer,
    ];
    args.push(s(&file));
    ok(&tuf_cmd(&args), "verify-blob --instance (trust from TUF)");

    drop(up);

    // A restart with the same keys (the chain installed, so no --ca-chain) serves the same
    // identities: the trust files it would write are those on disk, or it refuses to start.
    let mut extra = with(&[], &keys);
    extra.extend(issuer_flags.iter().cloned());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let up = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&data),
            port: Some(port),
            extra: &extra,
            shell_prefix: Some(&prefix),
            ready: &[Ready::Port, Ready::Http("/trusted_root.json")],
            timeout: std::time::Duration::from_secs(60),
            ..Launch::new(&["up"])
        },
    );
    let (status, served) = signet_testkit::process::http_get(port, "/trusted_root.json").unwrap();
    assert_eq!(status, 200);
    let served: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(served, trusted);
    drop(up);

    // No private key anywhere in the data directory.
    let allowed: &[&str] = if provider.is_some() {
        &[]
    } else {
        &["dev-oidc.key"]
    };
    if ed25519 {
        assert_no_private_key(&data, allowed, 10);
    } else {
        let mut allowed = allowed.to_vec();
        allowed.extend([
            "rekor-v2.key",
            "tuf-root.key.pem",
            "tuf-timestamp.key.pem",
            "tuf-snapshot.key.pem",
            "tuf-targets.key.pem",
        ]);
        assert_no_private_key(&data, &allowed, 10);
    }

    // `signet serve log` and `signet serve ca` take the same flags for their keys.
    let log_data = work.path().join("log-data");
    let mut log_keys = vec!["rekor-v1=rekor-v1"];
    if ed25519 {
        log_keys.push("rekor-v2=rekor-v2");
    }
    let extra = with(&[], &log_keys);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&log_data),
            extra: &extra,
            shell_prefix: Some(&prefix),
            ready: &[Ready::Port, Ready::DataFile("trusted_root.json")],
            ..Launch::new(&["serve", "log"])
        },
    );
    drop(server);
    assert!(!log_data.join("rekor-v1.key").exists());
    assert_no_private_key(&log_data, if ed25519 { &[] } else { &["rekor-v2.key"] }, 3);
    let ca_data = work.path().join("ca-data");
    let extra = with(
        &["--dev-oidc", "--ca-chain", s(&chain)],
        &["ca=ca", "ct=ct"],
    );
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&ca_data),
            extra: &extra,
            shell_prefix: Some(&prefix),
            ready: &[Ready::Port, Ready::DataFile("trusted_root.json")],
            ..Launch::new(&["serve", "ca"])
        },
    );
    drop(server);
    assert_no_private_key(&ca_data, &["dev-oidc.key"], 3);
    let tsa_data = work.path().join("tsa-data");
    let extra = with(&[], &["tsa=tsa"]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&tsa_data),
            extra: &extra,
            shell_prefix: Some(&prefix),
            ready: &[Ready::Port, Ready::DataFile("tsa-chain.pem")],
            ..Launch::new(&["serve", "tsa"])
        },
    );
    let (status, chain_pem) =
        signet_testkit::process::http_get(server.port, "/api/v1/timestamp/certchain").unwrap();
    drop(server);
    assert_eq!(status, 200, "{chain_pem}");
    assert!(chain_pem.contains("BEGIN CERTIFICATE"), "{chain_pem}");
    assert!(!tsa_data.join("tsa-signing-key.pem").exists());
    assert_no_private_key(&tsa_data, &[], 1);
    // A log key given to `serve ca` is refused (it has no such key).
    let out = run(with(
        &[
            "serve",
            "ca",
            "--listen",
            "127.0.0.1:0",
            "--data",
            s(&ca_data),
            "--dev-oidc",
        ],
        &["rekor-v1=rekor-v1"],
    ));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the rekor-v1 key: this command has no such key"),
        "{out:?}"
    );
}

fn issuer_flags_str(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}
