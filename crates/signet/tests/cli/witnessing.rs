//! Guards against a log restored from an old backup: the checkpoint lock (`--checkpoint-lock`)
//! refuses to start on data behind the checkpoints it already published; witnesses
//! (`--witness`, `--witness-quorum`) cosign every Rekor v2 checkpoint before it is published,
//! a log without its quorum publishes nothing and answers 503, and clients can require the
//! cosignatures (`--witness-key`).

use crate::common::{SIGNET, Up, copy_dir, free_port, runtime, sign_blob_as, signet, up_refused};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Tries to sign a new artifact `name` keyless through `up` (into its Rekor v2 log).
fn try_sign(up: &Up, dir: &Path, name: &str) -> (PathBuf, Output) {
    let file = dir.join(name);
    std::fs::write(&file, format!("artifact {name}\n")).unwrap();
    let bundle = dir.join(format!("{name}.sigstore.json"));
    let out = sign_blob_as(&up.trust_config(), "alice@example.com", &file, &bundle);
    (bundle, out)
}

/// Signs `name` keyless through `up` into its Rekor v2 log; returns the bundle's path.
fn sign(up: &Up, dir: &Path, name: &str) -> PathBuf {
    let (bundle, out) = try_sign(up, dir, name);
    ok(&out, "sign-blob");
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
    let ct_sth = get(&format!("{}/ct/v1/get-sth", up.url)).1;
    let ct_sth: serde_json::Value = serde_json::from_str(&ct_sth).unwrap();
    let ct_locked = std::fs::read_to_string(lock.join("ct.checkpoint")).unwrap();
    assert_eq!(
        ct_locked.lines().nth(1).unwrap(),
        ct_sth["tree_size"].to_string(),
        "the CT log's lock holds its tree head"
    );
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

/// A `signet witness` for the log whose verifier key is `log_vkey`, on `data` and `port`
/// (fresh ones by default).
fn witness(
    data: &Path,
    port: Option<u16>,
    name: &str,
    log_vkey: &str,
) -> crate::common::SignetProcess {
    crate::common::SignetProcess::start(
        SIGNET,
        crate::common::Launch {
            data: Some(data),
            port,
            extra: &["--log", log_vkey, "--name", name],
            ready: &[
                crate::common::Ready::Port,
                crate::common::Ready::DataFile("witness.vkey"),
            ],
            ..crate::common::Launch::new(&["witness"])
        },
    )
}

fn read_trim(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// How many signature lines `note` carries.
fn signature_lines(note: &str) -> usize {
    note.lines().filter(|l| l.starts_with('\u{2014}')).count()
}

#[test]
fn witnesses_cosign_every_checkpoint_and_a_log_without_its_quorum_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    // A first start makes the log's keys; the witnesses are configured with its key.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &[]);
    let log_vkey = read_trim(&data.join("log").join("rekor-v2.vkey"));
    up.stop();

    let w1_dir = tmp.path().join("w1");
    let w2_dir = tmp.path().join("w2");
    let w1 = witness(&w1_dir, None, "witness.test/w1", &log_vkey);
    let w2_port = free_port();
    let w2 = witness(&w2_dir, Some(w2_port), "witness.test/w2", &log_vkey);
    let w1_vkey = read_trim(&w1_dir.join("witness.vkey"));
    let w2_vkey = read_trim(&w2_dir.join("witness.vkey"));
    let spec1 = format!("{w1_vkey}@{}", w1.base);
    let spec2 = format!("{w2_vkey}@{}", w2.base);
    let flags = [
        "--witness",
        spec1.as_str(),
        "--witness",
        spec2.as_str(),
        "--witness-quorum",
        "2",
    ];
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &flags);

    // Signing: the bundle's checkpoint carries both cosignatures.
    let bundle = sign(&up, tmp.path(), "one");
    let file = tmp.path().join("one");
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let cp =
        b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(signature_lines(&cp), 3, "{cp}");
    let served = checkpoint(&up);
    assert_eq!(signature_lines(&served), 3, "{served}");

    // Clients may require them.
    let trust = up.trust_config();
    let issuer = up.issuer();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify-blob",
            "--trust-config",
            s(&trust),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            "alice@example.com",
            "--certificate-oidc-issuer",
            issuer.as_str(),
        ];
        args.extend_from_slice(extra);
        args.push(s(&file));
        signet(&args)
    };
    ok(
        &verify(&["--witness-key", &w1_vkey, "--witness-key", &w2_vkey]),
        "verify with both witnesses required",
    );
    let stranger = signet_note::CosignatureV1Signer::from_seed("witness.test/other", &[5; 32], 0)
        .unwrap()
        .verifier_key();
    let out = verify(&[
        "--witness-key",
        &w1_vkey,
        "--witness-key",
        &stranger,
        "--witness-quorum",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cosignatures"),
        "{out:?}"
    );
    // sigstore-python accepts a checkpoint that carries cosignatures.
    if let Some(py) = signet_testkit::tools::sigstore_python() {
        let out = Command::new(py)
            .args(["-m", "sigstore", "--trust-config"])
            .arg(up.trust_config())
            .args(["verify", "identity", "--bundle"])
            .arg(&bundle)
            .args(["--cert-identity", "alice@example.com", "--cert-oidc-issuer"])
            .arg(up.issuer())
            .arg(&file)
            .output()
            .unwrap();
        ok(&out, "sigstore-python verify of a cosigned checkpoint");
    }
    // note verify: the log's key, then the witness policy.
    let note_file = tmp.path().join("checkpoint.note");
    std::fs::write(&note_file, &served).unwrap();
    let out = ok(
        &signet(&[
            "note",
            "verify",
            "--key",
            &log_vkey,
            "--witness-key",
            &w2_vkey,
            s(&note_file),
        ]),
        "note verify with a witness",
    );
    assert!(out.contains("cosigned: witness.test/w2"), "{out}");

    // A witness goes down: nothing is published, writes answer 503, and nothing is lost.
    drop(w2);
    let before = checkpoint(&up);
    let (_, out) = try_sign(&up, tmp.path(), "two");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("503"),
        "{out:?}"
    );
    assert_eq!(checkpoint(&up), before, "no checkpoint without the quorum");

    // It comes back (same state): the log catches up and publishes again.
    let w2 = witness(&w2_dir, Some(w2_port), "witness.test/w2", &log_vkey);
    sign(&up, tmp.path(), "three");
    let after = checkpoint(&up);
    assert_ne!(after, before);
    assert_eq!(signature_lines(&after), 3, "{after}");
    up.stop();

    // The restore guard: an old copy of the data directory comes back. It starts (no lock),
    // but the witnesses refuse its diverging tree, so it publishes nothing.
    let backup = tmp.path().join("backup");
    copy_dir(&data, &backup);
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &flags);
    sign(&up, tmp.path(), "four");
    let witnessed = checkpoint(&up);
    up.stop();
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &flags);
    let (_, out) = try_sign(&up, tmp.path(), "five");
    assert!(
        !out.status.success(),
        "the restored log published a diverging tree"
    );
    let served = checkpoint(&up);
    assert_ne!(served, witnessed);
    let size = |note: &str| note.lines().nth(1).unwrap().parse::<u64>().unwrap();
    assert!(size(&served) < size(&witnessed), "{served}");
    up.stop();
    drop((w1, w2));
}
