//! Guards against a log restored from an old backup: the checkpoint lock (`--checkpoint-lock`)
//! refuses to start on data behind the checkpoints it already published; witnesses
//! (`--witness`, `--witness-quorum`) cosign every Rekor v2 checkpoint before it is published,
//! a log without its quorum publishes nothing and answers 503, and clients can require the
//! cosignatures (`--witness-key`).

use crate::common::{SIGNET, Up, free_port, runtime, signet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
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

/// Signs `name` keyless through `up` into its Rekor v2 log; returns the bundle's path.
fn sign(up: &Up, dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, format!("artifact {name}\n")).unwrap();
    let bundle = dir.join(format!("{name}.sigstore.json"));
    let token = up.dev_token("alice@example.com");
    ok(
        &signet(&[
            "sign-blob",
            "--trust-config",
            s(&up.trust_config()),
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&file),
        ]),
        "sign-blob",
    );
    bundle
}

/// The served Rekor v2 checkpoint.
fn checkpoint(up: &Up) -> String {
    get(&format!("{}/api/v2/checkpoint", up.url)).1
}

/// GETs `url`: status and body.
fn get(url: &str) -> (u16, String) {
    runtime().block_on(async {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// Runs `signet up` expecting it to refuse to start; returns its stderr.
fn up_refused(data: &Path, port: u16, extra: &[&str]) -> String {
    let mut child = Command::new(SIGNET)
        .args([
            "up",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            s(data),
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(!status.success(), "signet up started: {err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("signet up did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_checkpoint_lock_refuses_a_restored_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let lock = tmp.path().join("lock");
    let backup = tmp.path().join("backup");
    let port = free_port();
    let flags = ["--checkpoint-lock", s(&lock)];

    let up = Up::start_with(SIGNET, Some(&data), Some(port), &flags);
    sign(&up, tmp.path(), "one");
    let locked = std::fs::read_to_string(lock.join("rekor-v2.checkpoint")).unwrap();
    assert_eq!(locked, checkpoint(&up), "the lock holds what is served");
    assert!(lock.join("rekor-v1.checkpoint").exists());
    up.stop();

    copy_dir(&data, &backup);
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &flags);
    sign(&up, tmp.path(), "two");
    let published = checkpoint(&up);
    assert_eq!(
        std::fs::read_to_string(lock.join("rekor-v2.checkpoint")).unwrap(),
        published
    );
    up.stop();

    // The old copy comes back: the lock refuses it.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let err = up_refused(&data, port, &flags);
    assert!(err.contains("restored from a backup"), "{err}");
    assert_eq!(
        std::fs::read_to_string(lock.join("rekor-v2.checkpoint")).unwrap(),
        published,
        "the refused start wrote nothing"
    );

    // A lock inside the data directory guards nothing and is refused.
    let inside = data.join("lock");
    let err = up_refused(&data, port, &["--checkpoint-lock", s(&inside)]);
    assert!(err.contains("inside the data directory"), "{err}");

    // Without the lock the old copy starts (what the lock is there to prevent).
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &[]);
    assert_ne!(checkpoint(&up), published);
    up.stop();
}
