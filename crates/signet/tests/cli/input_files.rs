//! Files named on the command line must be regular files: a FIFO (whose open blocks until a
//! writer comes) or a device (`/dev/zero` never ends) is a usage error at once, exit 2, with a
//! message naming the file, through the real binary. Nobody ever writes to the FIFOs here, so
//! a command that opened one for reading would hang; each run is killed after a while and
//! reported as hung.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const PASSWORD: &str = "input files";
/// A digest to verify against, so that no artifact file is read.
const DIGEST: &str = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201";
/// Far longer than any of these commands takes; a run still going then is hung.
const HUNG_AFTER: Duration = Duration::from_secs(20);

/// Runs `signet args` in `dir` with stdin closed; returns (exit code, stderr), or panics
/// naming the command when it does not finish within [`HUNG_AFTER`].
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(SIGNET)
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("SIGSTORE_ID_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if start.elapsed() > HUNG_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            panic!("signet {args:?} hung for {HUNG_AFTER:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A directory with a key pair (`k.key`, `k.pub`), a small file `a.txt`, and a FIFO `fifo`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(dir.path().join("a.txt"), b"a file to sign\n").unwrap();
    mkfifo(&dir.path().join("fifo"));
    dir
}

#[track_caller]
fn assert_refused(dir: &Path, args: &[&str], path: &Path, kind: &str) {
    let start = Instant::now();
    let (code, stderr) = run(dir, args);
    assert_eq!(code, Some(2), "signet {args:?}: {stderr}");
    assert!(
        stderr.contains(&path.display().to_string())
            && stderr.contains(&format!("{kind}, not a regular file")),
        "signet {args:?}: {stderr}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn verify_blob_refuses_fifos_and_devices() {
    let work = workdir();
    let dir = work.path();
    let fifo = dir.join("fifo");
    let f = fifo.to_str().unwrap();
    let zero = Path::new("/dev/zero");
    let bundle = signet_testdata::path("sigstore-python/bundle_v3_github.whl.sigstore");
    let bundle = bundle.to_str().unwrap();
    let id = [
        "--certificate-identity",
        "x@example.test",
        "--certificate-oidc-issuer",
        "https://issuer.example.test",
    ];
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        // The bundle.
        (
            vec!["verify-blob", "--bundle", f, "--key", "k.pub", DIGEST],
            &fifo,
            "a FIFO",
        ),
        (
            vec![
                "verify-blob",
                "--bundle",
                "/dev/zero",
                "--key",
                "k.pub",
                DIGEST,
            ],
            zero,
            "a character device",
        ),
        // The key.
        (
            vec!["verify-blob", "--bundle", bundle, "--key", f, DIGEST],
            &fifo,
            "a FIFO",
        ),
        (
            vec![
                "verify-blob",
                "--bundle",
                bundle,
                "--key",
                "/dev/zero",
                DIGEST,
            ],
            zero,
            "a character device",
        ),
        // The trusted root and the trust config.
        (
            [
                &["verify-blob", "--bundle", bundle, "--trusted-root", f][..],
                &id,
                &[DIGEST],
            ]
            .concat(),
            &fifo,
            "a FIFO",
        ),
        (
            [
                &[
                    "verify-blob",
                    "--bundle",
                    bundle,
                    "--trust-config",
                    "/dev/zero",
                ][..],
                &id,
                &[DIGEST],
            ]
            .concat(),
            zero,
            "a character device",
        ),
        // The artifact.
        (
            vec!["verify-blob", "--bundle", bundle, "--key", "k.pub", f],
            &fifo,
            "a FIFO",
        ),
        // A detached signature and certificate (cosign's older inputs).
        (
            [
                &[
                    "verify-blob",
                    "--signature",
                    f,
                    "--certificate",
                    "/dev/zero",
                ][..],
                &id,
                &[DIGEST],
            ]
            .concat(),
            zero,
            "a character device",
        ),
    ];
    for (args, path, kind) in cases {
        assert_refused(dir, &args, path, kind);
    }
}

#[test]
fn signing_and_key_commands_refuse_fifos_and_devices() {
    let work = workdir();
    let dir = work.path();
    let fifo = dir.join("fifo");
    let f = fifo.to_str().unwrap();
    let zero = Path::new("/dev/zero");
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        // The file to sign, then the key to sign with.
        (
            vec!["sign-blob", "--key", "k.key", "--bundle", "out.json", f],
            &fifo,
            "a FIFO",
        ),
        (
            vec!["sign-blob", "--key", f, "--bundle", "out.json", "a.txt"],
            &fifo,
            "a FIFO",
        ),
        (
            vec![
                "sign-blob",
                "--key",
                "/dev/zero",
                "--bundle",
                "out.json",
                "a.txt",
            ],
            zero,
            "a character device",
        ),
        // A predicate.
        (
            vec![
                "attest-blob",
                "--key",
                "k.key",
                "--predicate",
                f,
                "--type",
                "custom",
                "--bundle",
                "out.json",
                "a.txt",
            ],
            &fifo,
            "a FIFO",
        ),
        // Key management.
        (vec!["public-key", "--key", f], &fifo, "a FIFO"),
        (
            vec!["import-key-pair", "--key", "/dev/zero"],
            zero,
            "a character device",
        ),
        // A note to verify.
        (vec!["note", "verify", "--key", "k.pub", f], &fifo, "a FIFO"),
    ];
    for (args, path, kind) in cases {
        assert_refused(dir, &args, path, kind);
    }
    assert!(!dir.join("out.json").exists());
}

/// A directory is refused the same way (it used to fail only when read).
#[test]
fn a_directory_is_not_a_key() {
    let work = workdir();
    let dir = work.path();
    let sub: PathBuf = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_refused(
        dir,
        &["public-key", "--key", sub.to_str().unwrap()],
        &sub,
        "a directory",
    );
}
