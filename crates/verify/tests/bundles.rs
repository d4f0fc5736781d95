//! The sigstore-python and sigstore-go bundles in `../shared/testdata`, each verified (or
//! rejected) as its name and the testdata README say, through the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rstest::rstest;
use serde_json::Value;
use signet_formats::{Bundle, TrustedRoot};
use signet_verify::*;

/// 2027-01-15: after every bundle here was made.
const NOW: i64 = 1_800_000_000;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(signet_testdata::path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn trust(rel: &str) -> TrustMaterial {
    TrustMaterial::from_trusted_root(&TrustedRoot::from_json(&read(rel)).unwrap()).unwrap()
}

/// sigstore-python's TSA tests use the staging root with its timestamp authority replaced by
/// `tsa/ca.json`, the local test TSA that made the `tsa/` bundles.
fn tsa_trust() -> TrustMaterial {
    let mut root: Value = serde_json::from_slice(&read(STAGING)).unwrap();
    let ca: Value = serde_json::from_slice(&read("sigstore-python/tsa/ca.json")).unwrap();
    root["timestampAuthorities"] = Value::Array(vec![ca]);
    let root = TrustedRoot::from_json(root.to_string().as_bytes()).unwrap();
    TrustMaterial::from_trusted_root(&root).unwrap()
}

fn any_identity() -> Policy {
    Policy::Identity(IdentityPolicy {
        san: StringMatcher::regex(".*").unwrap(),
        issuer: StringMatcher::regex(".*").unwrap(),
        extensions: vec![],
    })
}

fn identity(san: &str, issuer: &str) -> Policy {
    Policy::Identity(IdentityPolicy {
        san: StringMatcher::Exact(san.into()),
        issuer: StringMatcher::Exact(issuer.into()),
        extensions: vec![],
    })
}

fn artifact(spec: &str) -> Artifact {
    Artifact::parse_digest(spec).unwrap_or_else(|| Artifact::Bytes(read(spec)))
}

const PUBLIC: &str = "trust/public-good-trusted_root.json";
const STAGING: &str = "trust/staging-trusted_root.json";

/// (bundle, artifact file or digest, trusted root, expected error text or "" for success)
#[rstest]
#[case::py_bundle(
    "sigstore-python/bundle.txt.sigstore",
    "sigstore-python/bundle.txt",
    STAGING,
    ""
)]
#[case::py_bundle_v3(
    "sigstore-python/bundle_v3.txt.sigstore",
    "sigstore-python/bundle_v3.txt",
    STAGING,
    ""
)]
#[case::py_bundle_v3_alt(
    "sigstore-python/bundle_v3_alt.txt.sigstore",
    "sigstore-python/bundle_v3_alt.txt",
    STAGING,
    ""
)]
#[case::py_integration_v3(
    "sigstore-python/integration/bundle_v3.txt.sigstore",
    "sigstore-python/integration/bundle_v3.txt",
    STAGING,
    ""
)]
#[case::py_rekor_v2(
    "sigstore-python/staging-rekor-v2.txt.sigstore.json",
    "sigstore-python/staging-rekor-v2.txt",
    STAGING,
    ""
)]
#[case::py_github_wheel(
    "sigstore-python/bundle_v3_github.whl.sigstore",
    "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
    PUBLIC,
    ""
)]
#[case::py_wrong_instance(
    "sigstore-python/bundle.txt.sigstore",
    "sigstore-python/bundle.txt",
    PUBLIC,
    "is not in the trusted root"
)]
#[case::py_invalid_version(
    "sigstore-python/bundle_invalid_version.txt.sigstore",
    "sigstore-python/bundle_invalid_version.txt",
    STAGING,
    "unsupported media type"
)]
#[case::py_no_cert(
    "sigstore-python/bundle_no_cert_v1.txt.sigstore",
    "sigstore-python/bundle_no_cert_v1.txt",
    STAGING,
    "must not be empty"
)]
#[case::py_no_log_entry(
    "sigstore-python/bundle_no_log_entry.txt.sigstore",
    "sigstore-python/bundle_no_log_entry.txt",
    STAGING,
    "no transparency-log entry"
)]
#[case::py_no_checkpoint(
    "sigstore-python/bundle_no_checkpoint.txt.sigstore",
    "sigstore-python/bundle_no_checkpoint.txt",
    STAGING,
    "checkpoint"
)]
#[case::py_no_signed_time(
    "sigstore-python/bundle_v3_no_signed_time.txt.sigstore.json",
    "sigstore-python/bundle_v3_no_signed_time.txt",
    PUBLIC,
    "no verified time"
)]
#[case::py_cve_2022_36056(
    "sigstore-python/bundle_cve_2022_36056.txt.sigstore",
    "sigstore-python/bundle_cve_2022_36056.txt",
    STAGING,
    "logged signature does not match"
)]
#[case::go_dsse(
    "sigstore-go/bundles/dsse.sigstore.json",
    "sha512:bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f",
    PUBLIC,
    ""
)]
#[case::go_dsse_2sigs(
    "sigstore-go/bundles/dsse-2sigs.sigstore.json",
    "sha512:bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f",
    PUBLIC,
    "DSSE envelope has 2 signatures"
)]
#[case::go_npm_provenance(
    "sigstore-go/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
    "sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c",
    PUBLIC,
    ""
)]
#[case::go_example_provenance(
    "sigstore-go/examples/bundle-provenance.json",
    "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751",
    PUBLIC,
    ""
)]
#[case::go_othername(
    "sigstore-go/bundles/othername.sigstore.json",
    "sha256:bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b",
    "sigstore-go/trusted-roots/scaffolding.json",
    ""
)]
#[case::go_wrong_artifact(
    "sigstore-go/bundles/dsse.sigstore.json",
    "sha512:00fd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f",
    PUBLIC,
    "no in-toto subject"
)]
fn identity_bundles(
    #[case] bundle: &str,
    #[case] artifact_spec: &str,
    #[case] root: &str,
    #[case] expected_error: &str,
) {
    let parsed = Bundle::from_json(&read(bundle));
    // sigstore-go's v0.1 bundles carry only an inclusion promise. By default they are rejected
    // (as sigstore-python rejects them); with the opt-in they must pass every other check.
    let promise_only = Bundle::from_json(&read(bundle)).is_ok_and(|b| {
        b.verification_material
            .tlog_entries
            .iter()
            .any(|e| e.inclusion_proof.is_none())
    });
    let options = VerifyOptions {
        allow_promise_only_v0_1: promise_only,
        ..VerifyOptions::default()
    };
    if promise_only && expected_error.is_empty() {
        let b = Bundle::from_json(&read(bundle)).unwrap();
        let err = verify_bundle(
            &b,
            &artifact(artifact_spec),
            &trust(root),
            &any_identity(),
            NOW,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("has no inclusion proof"),
            "{bundle}: {err}"
        );
    }
    let result = parsed.map_err(VerifyError::from).and_then(|b| {
        verify_bundle_with(
            &b,
            &artifact(artifact_spec),
            &trust(root),
            &any_identity(),
            NOW,
            &options,
        )
    });
    match (expected_error, result) {
        ("", Ok(verified)) => assert!(!verified.times.is_empty()),
        ("", Err(e)) => panic!("{bundle}: {e}"),
        (want, Ok(_)) => panic!("{bundle} verified, expected an error containing {want:?}"),
        (want, Err(e)) => assert!(
            e.to_string().contains(want),
            "{bundle}: {e} (expected {want:?})"
        ),
    }
}

#[test]
fn identities_are_matched_exactly() {
    let b = Bundle::from_json(&read("sigstore-python/bundle.txt.sigstore")).unwrap();
    let a = artifact("sigstore-python/bundle.txt");
    let t = trust(STAGING);
    verify_bundle(
        &b,
        &a,
        &t,
        &identity("a@tny.town", "https://github.com/login/oauth"),
        NOW,
    )
    .unwrap();
    for (san, issuer) in [
        ("a@tny.town ", "https://github.com/login/oauth"),
        ("A@tny.town", "https://github.com/login/oauth"),
        ("a@tny.tow", "https://github.com/login/oauth"),
        ("a@tny.town", "https://github.com/login/oauth/"),
        ("a@tny.town", "https://token.actions.githubusercontent.com"),
    ] {
        let err = verify_bundle(&b, &a, &t, &identity(san, issuer), NOW).unwrap_err();
        assert!(
            matches!(err, VerifyError::IdentityMismatch { .. }),
            "{san} {issuer}: {err}"
        );
    }
    // Regular expressions must match the whole value.
    let partial = Policy::Identity(IdentityPolicy {
        san: StringMatcher::regex("tny").unwrap(),
        issuer: StringMatcher::regex("https://github.com/login/oauth").unwrap(),
        extensions: vec![],
    });
    assert!(verify_bundle(&b, &a, &t, &partial, NOW).is_err());
    let whole = Policy::Identity(IdentityPolicy {
        san: StringMatcher::regex(r"[a-z]@tny\.town").unwrap(),
        issuer: StringMatcher::regex("https://github\\.com/login/.*").unwrap(),
        extensions: vec![],
    });
    verify_bundle(&b, &a, &t, &whole, NOW).unwrap();
    // Verifying "now" before the entry was integrated fails: the integrated time is in the future.
    assert!(matches!(
        verify_bundle(&b, &a, &t, &whole, 1_600_000_000),
        Err(VerifyError::TimeInFuture { .. })
    ));
}

#[test]
fn github_workflow_claims() {
    let b = Bundle::from_json(&read("sigstore-python/bundle_v3_github.whl.sigstore")).unwrap();
    let a = artifact("sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201");
    let t = trust(PUBLIC);
    let with = |oid: &str, value: &str| {
        Policy::Identity(IdentityPolicy {
            san: StringMatcher::Exact("https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2".into()),
            issuer: StringMatcher::Exact("https://token.actions.githubusercontent.com".into()),
            extensions: vec![(oid.into(), StringMatcher::Exact(value.into()))],
        })
    };
    verify_bundle(
        &b,
        &a,
        &t,
        &with(policy_github::REPOSITORY, "trailofbits/rfc8785.py"),
        NOW,
    )
    .unwrap();
    verify_bundle(
        &b,
        &a,
        &t,
        &with(policy_github::REF, "refs/tags/v0.1.2"),
        NOW,
    )
    .unwrap();
    assert!(
        verify_bundle(
            &b,
            &a,
            &t,
            &with(policy_github::REPOSITORY, "trailofbits/other"),
            NOW
        )
        .is_err()
    );
    assert!(
        verify_bundle(
            &b,
            &a,
            &t,
            &with(policy_github::TRIGGER, "workflow_dispatch_x"),
            NOW
        )
        .is_err()
    );
}

use signet_verify::github as policy_github;

#[test]
fn timestamped_bundles() {
    let t = tsa_trust();
    let a = artifact("sigstore-python/tsa/bundle.txt");
    let ok = Bundle::from_json(&read("sigstore-python/tsa/bundle.txt.sigstore")).unwrap();
    // The bundle's second timestamp covers the word "hello", not its signature.
    let err = verify_bundle(&ok, &a, &t, &any_identity(), NOW).unwrap_err();
    assert!(
        matches!(err, VerifyError::Timestamp { index: 1, .. }),
        "{err}"
    );
    let mut first_only = ok.clone();
    first_only
        .verification_material
        .timestamp_verification_data
        .as_mut()
        .unwrap()
        .rfc3161_timestamps
        .truncate(1);
    let verified = verify_bundle(&first_only, &a, &t, &any_identity(), NOW).unwrap();
    assert!(
        verified
            .times
            .iter()
            .any(|x| matches!(x.source, TimeSource::Rfc3161(0)))
    );

    // The late-timestamp bundle must be rejected. Its certificate's issuer is in none of the
    // trust roots shipped in testdata, so the rejection here is for that; the expiry rule it was
    // made for is covered by the conformance case intoto-tsa-timestamp-outside-cert-validity_fail.
    let late = Bundle::from_json(&read(
        "sigstore-python/tsa/bundle.txt.late_timestamp.sigstore",
    ))
    .unwrap();
    for t in [&t, &trust(STAGING)] {
        assert!(verify_bundle(&late, &a, t, &any_identity(), NOW).is_err());
    }

    // Two copies of one timestamp are rejected, whatever their bytes.
    let mut twice = first_only.clone();
    let data = twice
        .verification_material
        .timestamp_verification_data
        .as_mut()
        .unwrap();
    data.rfc3161_timestamps
        .push(data.rfc3161_timestamps[0].clone());
    assert!(verify_bundle(&twice, &a, &t, &any_identity(), NOW).is_err());
}

#[test]
fn managed_keys() {
    let key = signet_x509::PublicKey::from_pem(
        std::str::from_utf8(&read("sigstore-go/examples/publish_key.pub")).unwrap(),
    )
    .unwrap();
    let b = Bundle::from_json(&read("sigstore-go/examples/bundle-publish.json")).unwrap();
    let a = artifact(
        "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751",
    );
    // A v0.1 bundle with only an inclusion promise: rejected by default, verified with the opt-in.
    let err = verify_bundle(&b, &a, &trust(PUBLIC), &Policy::Key(key.clone()), NOW).unwrap_err();
    assert!(err.to_string().contains("has no inclusion proof"), "{err}");
    let relaxed = VerifyOptions {
        allow_promise_only_v0_1: true,
        ..VerifyOptions::default()
    };
    verify_bundle_with(
        &b,
        &a,
        &trust(PUBLIC),
        &Policy::Key(key.clone()),
        NOW,
        &relaxed,
    )
    .unwrap();
    // The same bundle with an identity policy, or another key, fails.
    assert!(matches!(
        verify_bundle_with(&b, &a, &trust(PUBLIC), &any_identity(), NOW, &relaxed),
        Err(VerifyError::KeyMismatch { .. })
    ));
    let other = signet_x509::PublicKey::from_pem(
        std::str::from_utf8(&read("sigstore-go/public-keys/public-key-validity.pem")).unwrap(),
    )
    .unwrap();
    assert!(
        verify_bundle_with(
            &b,
            &a,
            &trust(PUBLIC),
            &Policy::Key(other.clone()),
            NOW,
            &relaxed
        )
        .is_err()
    );

    // sigstore-go's key-validity bundle has no transparency-log entry at all, only a timestamp.
    // signet requires a log entry (as cosign does by default), so it is rejected.
    let no_tlog = Bundle::from_json(&read(
        "sigstore-go/bundles/public-key-validity.sigstore.json",
    ))
    .unwrap();
    let err = verify_bundle(
        &no_tlog,
        &Artifact::Bytes(vec![]),
        &trust("sigstore-go/trusted-roots/public-key-validity.json"),
        &Policy::Key(other),
        NOW,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no transparency-log entry"),
        "{err}"
    );
}
