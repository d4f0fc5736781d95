//! The signet binary under test, and the shared helpers its tests take from signet-testkit: a
//! throwaway `docker-registry` (distribution 2.8, no referrers API, so the tag-schema fallback
//! is used) with images pushed by signet-oci, a running `signet up`, free ports.
//!
//! The registry binary comes from `SIGNET_REGISTRY_BIN` (`scripts/ensure-registry` installs
//! it). Without it the tests are skipped with a note, unless `SIGNET_REQUIRE_REGISTRY=1`.

pub use signet_testkit::registry::{Registry, client, push_image, registry_bin};
pub use signet_testkit::signet::{Launch, Ready, SignetProcess, Up};
pub use signet_testkit::{free_port, runtime};

/// The binary under test.
pub const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// Runs the binary under test with `args` and waits for it.
pub fn signet(args: &[&str]) -> std::process::Output {
    std::process::Command::new(SIGNET)
        .args(args)
        .output()
        .expect("run signet")
}

/// Asserts how a DSSE bundle's (first) log entry records its envelope: in a Rekor v2 log
/// (`rekor_v2`) as a `hashedrekord` 0.0.2 whose digest is `Hash(PAE(payloadType, payload))`
/// with the hash its algorithm names and whose signature is the envelope's one signature; in
/// a Rekor v1 log as a `dsse` 0.0.1 over the same payload and signature.
#[track_caller]
pub fn assert_dsse_entry_form(bundle: &[u8], rekor_v2: bool) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let b: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    let body: serde_json::Value = serde_json::from_slice(
        &STANDARD
            .decode(entry["canonicalizedBody"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let envelope = &b["dsseEnvelope"];
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let payload_type = envelope["payloadType"].as_str().unwrap();
    let signatures = envelope["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{envelope}");
    let sig = signatures[0]["sig"].as_str().unwrap();
    let kind = (
        entry["kindVersion"]["kind"].as_str().unwrap(),
        entry["kindVersion"]["version"].as_str().unwrap(),
    );
    assert_eq!(
        (
            body["kind"].as_str().unwrap(),
            body["apiVersion"].as_str().unwrap()
        ),
        kind
    );
    if rekor_v2 {
        assert_eq!(kind, ("hashedrekord", "0.0.2"), "{body}");
        let pae: Vec<u8> = format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .into_bytes()
        .into_iter()
        .chain(payload.iter().copied())
        .collect();
        let data = &body["spec"]["hashedRekordV002"]["data"];
        let hash = match data["algorithm"].as_str().unwrap() {
            "SHA2_256" => &aws_lc_rs::digest::SHA256,
            "SHA2_384" => &aws_lc_rs::digest::SHA384,
            "SHA2_512" => &aws_lc_rs::digest::SHA512,
            other => panic!("unexpected digest algorithm {other}"),
        };
        assert_eq!(
            data["digest"],
            STANDARD.encode(aws_lc_rs::digest::digest(hash, &pae)),
            "the digest is not Hash(PAE)"
        );
        // Not the payload's own hash.
        assert_ne!(
            data["digest"],
            STANDARD.encode(aws_lc_rs::digest::digest(hash, &payload))
        );
        assert_eq!(
            body["spec"]["hashedRekordV002"]["signature"]["content"],
            sig
        );
    } else {
        assert_eq!(kind, ("dsse", "0.0.1"), "{body}");
        assert_eq!(
            body["spec"]["payloadHash"],
            serde_json::json!({
                "algorithm": "sha256",
                "value": hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &payload)),
            })
        );
        let logged = body["spec"]["signatures"].as_array().unwrap();
        assert_eq!(logged.len(), 1, "{body}");
        assert_eq!(logged[0]["signature"], sig);
    }
}

/// Every file under `dir`, in its subdirectories too.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files.extend(files_under(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// Copies the directory tree `from` to `to` (a data directory's backup, in restore tests).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `signet sign-blob` of `file` into `bundle`, keyless as `subject` through the development
/// issuer of the instance `trust_config` describes.
pub fn sign_blob_as(
    trust_config: &std::path::Path,
    subject: &str,
    file: &std::path::Path,
    bundle: &std::path::Path,
) -> std::process::Output {
    std::process::Command::new(SIGNET)
        .arg("sign-blob")
        .arg("--trust-config")
        .arg(trust_config)
        .args(["--dev-subject", subject, "--bundle"])
        .arg(bundle)
        .arg(file)
        .output()
        .expect("run signet sign-blob")
}

/// Runs `signet up` on `data` and `port` with `extra` flags, expecting it to refuse to start
/// (exit status 2, within 60 s); returns its stderr.
pub fn up_refused(data: &std::path::Path, port: u16, extra: &[&str]) -> String {
    up_refused_env(data, port, extra, &[])
}

/// [`up_refused`] with `env` set for `signet up` (e.g. `SOFTHSM2_CONF`).
pub fn up_refused_env(
    data: &std::path::Path,
    port: u16,
    extra: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> String {
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(SIGNET)
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert_eq!(status.code(), Some(2), "signet up: {err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("signet up did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
