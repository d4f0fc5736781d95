//! `signet completions` and `signet man`, run as the built binary.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use crate::common::{SIGNET, signet};
use std::io::Read as _;
use std::process::{Command, Stdio};

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = signet(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("verify-blob"), "{shell}");
    }
    let out = signet(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages() {
    let out = signet(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    // clap_mangen defines the apostrophe string first; the title comes next.
    let title = page
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap();
    assert!(title.starts_with(".TH signet 1"), "{title}");
    let out = signet(&["man", "verify-blob"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH signet-verify-blob 1"));
    let out = signet(&["man", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command `signet nothing`"));
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let mut child = Command::new(SIGNET)
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success() || status.code() == Some(2),
        "{status:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
