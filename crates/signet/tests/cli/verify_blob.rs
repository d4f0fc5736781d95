//! `signet verify-blob` as a person runs it: a real public-good bundle verified offline with the
//! embedded trusted root, and every way it can fail, with the exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::signet;
use std::process::Output;

fn data(rel: &str) -> String {
    signet_testdata::path(rel).to_str().unwrap().to_owned()
}

const WHEEL_DIGEST: &str =
    "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201";
const WHEEL_IDENTITY: &str =
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";
const GITHUB: &str = "https://token.actions.githubusercontent.com";

fn wheel(extra: &[&str]) -> Output {
    let bundle = data("sigstore-python/bundle_v3_github.whl.sigstore");
    let mut args = vec!["verify-blob", "--bundle", &bundle];
    args.extend_from_slice(extra);
    args.push(WHEEL_DIGEST);
    signet(&args)
}

#[test]
fn public_good_bundle_verifies_offline_with_the_embedded_root() {
    let out = wheel(&[
        "--certificate-identity",
        WHEEL_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("Verified OK\n"), "{stdout}");
    assert!(stdout.contains(WHEEL_IDENTITY));

    let out = wheel(&[
        "--certificate-identity",
        WHEEL_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["signer"], WHEEL_IDENTITY);
    assert_eq!(json["issuer"], GITHUB);
}

#[test]
fn wrong_identity_or_issuer_exits_1_naming_the_check() {
    for (identity, issuer) in [
        (
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.3",
            GITHUB,
        ),
        (WHEEL_IDENTITY, "https://accounts.google.com"),
    ] {
        let out = wheel(&[
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("identity mismatch"));
    }
    // A regular expression must match the whole identity, not a part of it.
    let out = wheel(&[
        "--certificate-identity-regexp",
        "trailofbits",
        "--certificate-oidc-issuer",
        GITHUB,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = wheel(&[
        "--certificate-identity-regexp",
        "https://github.com/trailofbits/.*",
        "--certificate-oidc-issuer-regexp",
        "https://token\\.actions\\..*",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // GitHub claims.
    let out = wheel(&[
        "--certificate-identity",
        WHEEL_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB,
        "--certificate-github-workflow-repository",
        "trailofbits/rfc8785.py",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = wheel(&[
        "--certificate-identity",
        WHEEL_IDENTITY,
        "--certificate-oidc-issuer",
        GITHUB,
        "--certificate-github-workflow-repository",
        "someone/else",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn modified_artifact_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("bundle.txt");
    let mut bytes = std::fs::read(data("sigstore-python/bundle.txt")).unwrap();
    let bundle = data("sigstore-python/bundle.txt.sigstore");
    let root = data("trust/staging-trusted_root.json");
    std::fs::write(&artifact, &bytes).unwrap();
    let args = |a: &str| {
        signet(&[
            "verify-blob",
            "--bundle",
            &bundle,
            "--trusted-root",
            &root,
            "--certificate-identity",
            "a@tny.town",
            "--certificate-oidc-issuer",
            "https://github.com/login/oauth",
            a,
        ])
    };
    assert_eq!(args(artifact.to_str().unwrap()).status.code(), Some(0));
    bytes.push(b'!');
    std::fs::write(&artifact, &bytes).unwrap();
    let out = args(artifact.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("message digest is not the artifact's"));
}

#[test]
fn usage_errors_exit_2() {
    let bundle = data("sigstore-python/bundle_v3_github.whl.sigstore");
    // No identity and no key.
    assert_eq!(
        signet(&["verify-blob", "--bundle", &bundle, WHEEL_DIGEST])
            .status
            .code(),
        Some(2)
    );
    // Missing bundle file, artifact neither a file nor a digest, bad regular expression.
    let cases: [&[&str]; 4] = [
        &[
            "verify-blob",
            "--bundle",
            "/nonexistent.json",
            "--certificate-identity",
            "x",
            "--certificate-oidc-issuer",
            "y",
            WHEEL_DIGEST,
        ],
        &[
            "verify-blob",
            "--bundle",
            &bundle,
            "--certificate-identity",
            "x",
            "--certificate-oidc-issuer",
            "y",
            "sha256:abc",
        ],
        &[
            "verify-blob",
            "--bundle",
            &bundle,
            "--certificate-identity-regexp",
            "(",
            "--certificate-oidc-issuer",
            "y",
            WHEEL_DIGEST,
        ],
        &[
            "verify-blob",
            "--bundle",
            &bundle,
            "--staging",
            "--certificate-identity",
            "x",
            "--certificate-oidc-issuer",
            "y",
            WHEEL_DIGEST,
        ],
    ];
    for args in cases {
        let out = signet(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Conflicting flags are a clap usage error.
    assert_eq!(
        wheel(&["--key", "k.pub", "--certificate-identity", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn trust_config_and_json_failure_output() {
    let bundle = data("sigstore-python/bundle.txt.sigstore");
    let out = signet(&[
        "verify-blob",
        "--bundle",
        &bundle,
        "--certificate-identity",
        "a@tny.town",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--output",
        "json",
        &data("sigstore-python/bundle.txt"),
    ]);
    // The embedded public-good root does not know the staging log.
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], false);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("not in the trusted root")
    );

    // A ClientTrustConfig works like --trusted-root.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trust_config.json");
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("trust/staging-trusted_root.json")).unwrap())
            .unwrap();
    let signing: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data("trust/staging-signing_config.v0.2.json")).unwrap(),
    )
    .unwrap();
    let wrapped = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": root,
        "signingConfig": signing,
    });
    std::fs::write(&config, wrapped.to_string()).unwrap();
    let out = signet(&[
        "verify-blob",
        "--bundle",
        &bundle,
        "--trust-config",
        config.to_str().unwrap(),
        "--certificate-identity",
        "a@tny.town",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        &data("sigstore-python/bundle.txt"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
