//! The Sigstore conformance bundle-verify cases, run through the real binary with the shared
//! runner (`../shared/conformance/run-bundle-verify`), in both the PATH and DIGEST forms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

#[test]
fn every_visible_conformance_case_passes() {
    let shared = signet_testdata::shared_dir();
    let runner = shared.join("conformance/run-bundle-verify");
    let cases = shared.join("testdata/conformance/bundle-verify");
    let out = Command::new("python3")
        .arg(&runner)
        .arg("--entrypoint")
        .arg(env!("CARGO_BIN_EXE_signet"))
        .arg("--cases")
        .arg(&cases)
        .output()
        .expect("run the conformance runner");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no summary line\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    let failures: Vec<&str> = stdout.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(
        summary.ends_with(" 0 failed"),
        "{summary}\n{}\n{stderr}",
        failures.join("\n")
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let passed: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(
        passed,
        2 * 47,
        "47 cases, each in PATH and DIGEST form: {summary}"
    );
}
