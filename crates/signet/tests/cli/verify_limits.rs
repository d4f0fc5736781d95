//! User-supplied regular expressions are bounded: `--certificate-identity-regexp` and
//! `--certificate-oidc-issuer-regexp` longer than 4 KiB, or compiling to more than 1 MiB, are
//! usage errors (exit 2) naming the flag, through the real binary. The valid twins, patterns
//! just inside the limits, verify.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::{Command, Output};

const WHEEL_DIGEST: &str =
    "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201";
const WHEEL_IDENTITY_REGEXP: &str = r"https://github\.com/trailofbits/rfc8785\.py/.*";
const GITHUB_REGEXP: &str = r"https://token\.actions\.githubusercontent\.com";

/// `signet verify-blob` of a real public-good bundle with the embedded trusted root.
fn verify(identity_regexp: &str, issuer_regexp: &str) -> Output {
    let bundle = signet_testdata::path("sigstore-python/bundle_v3_github.whl.sigstore");
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "verify-blob",
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity-regexp",
            identity_regexp,
            "--certificate-oidc-issuer-regexp",
            issuer_regexp,
            WHEEL_DIGEST,
        ])
        .output()
        .expect("run signet")
}

#[track_caller]
fn assert_usage_error(out: &Output, want: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for w in want {
        assert!(stderr.contains(w), "{stderr}\n(expected {w:?})");
    }
}

/// `pattern` padded to exactly `len` bytes with an alternative that never matches an identity.
fn padded(pattern: &str, len: usize) -> String {
    let mut out = format!("(?:{pattern})|");
    let fill = len - out.len();
    out.push_str(&"~".repeat(fill));
    assert_eq!(out.len(), len);
    out
}

#[test]
fn patterns_up_to_4_kib_verify() {
    for (identity, issuer) in [
        (WHEEL_IDENTITY_REGEXP.to_owned(), GITHUB_REGEXP.to_owned()),
        (
            padded(WHEEL_IDENTITY_REGEXP, 4096),
            padded(GITHUB_REGEXP, 4096),
        ),
    ] {
        let out = verify(&identity, &issuer);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn longer_patterns_are_usage_errors() {
    let long = padded(WHEEL_IDENTITY_REGEXP, 4097);
    let out = verify(&long, GITHUB_REGEXP);
    assert_usage_error(
        &out,
        &[
            "--certificate-identity-regexp: ",
            "is 4097 bytes, more than the limit of 4096",
        ],
    );
    let out = verify(WHEEL_IDENTITY_REGEXP, &padded(GITHUB_REGEXP, 100_000));
    assert_usage_error(
        &out,
        &[
            "--certificate-oidc-issuer-regexp: ",
            "is 100000 bytes, more than the limit of 4096",
        ],
    );
}

#[test]
fn patterns_that_compile_too_big_are_usage_errors() {
    // Seven bytes, but a hundred Unicode word classes: megabytes once compiled.
    let out = verify(r"\w{100}", GITHUB_REGEXP);
    assert_usage_error(
        &out,
        &[
            "--certificate-identity-regexp: ",
            r#"regular expression "\\w{100}" compiles to more than the limit of 1048576 bytes"#,
        ],
    );
    let out = verify(WHEEL_IDENTITY_REGEXP, r"(?:\pL{20}){20}");
    assert_usage_error(
        &out,
        &[
            "--certificate-oidc-issuer-regexp: ",
            "compiles to more than the limit of 1048576 bytes",
        ],
    );
    // A pattern that is merely wrong is a usage error too.
    let out = verify("(unclosed", GITHUB_REGEXP);
    assert_usage_error(
        &out,
        &[
            "--certificate-identity-regexp: ",
            "invalid regular expression",
        ],
    );
}
