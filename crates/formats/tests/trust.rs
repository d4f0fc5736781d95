//! Trusted roots, signing configs and client trust configs from `../shared/testdata`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use serde_json::{Value, json};
use signet_formats::client_trust_config::ClientTrustConfig;
use signet_formats::signing_config::{Selector, SigningConfig};
use signet_formats::trust::*;
use signet_formats::{FormatError, HashAlgorithm};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(signet_testdata::path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn trusted_root_files() -> Vec<String> {
    let mut out: Vec<String> = [
        "trust/public-good-trusted_root.json",
        "trust/staging-trusted_root.json",
        "sigstore-python/trusted_root/trustedroot.v1.json",
        "sigstore-python/trusted_root/trustedroot.v1.local_tlog_ed25519_rekor-tiles.json",
        "sigstore-go/trusted-roots/public-good.json",
        "sigstore-go/trusted-roots/scaffolding.json",
        "sigstore-go/trusted-roots/public-key-validity.json",
        "sigstore-go/examples/trusted-root-public-good.json",
    ]
    .map(String::from)
    .to_vec();
    let cases = signet_testdata::path("conformance/bundle-verify");
    let mut case_roots: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path().join("trusted_root.json"))
        .filter(|p| p.exists())
        .collect();
    case_roots.sort();
    assert!(case_roots.len() >= 20, "{}", case_roots.len());
    for p in case_roots {
        out.push(
            p.strip_prefix(signet_testdata::dir())
                .unwrap()
                .display()
                .to_string(),
        );
    }
    out
}

#[test]
fn every_trusted_root_parses_and_round_trips() {
    for rel in trusted_root_files() {
        let root = TrustedRoot::from_json(&read(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for log in root.tlogs.iter().chain(&root.ctlogs) {
            assert_eq!(log.log_id.len(), 32, "{rel}");
            assert!(log.public_key.raw_bytes.is_some(), "{rel}");
        }
        for ca in root
            .certificate_authorities
            .iter()
            .chain(&root.timestamp_authorities)
        {
            assert!(
                ca.cert_chain.iter().all(|c| c.first() == Some(&0x30)),
                "{rel}"
            );
        }
        assert_eq!(
            TrustedRoot::from_json(root.to_json().as_bytes()).unwrap(),
            root,
            "{rel}"
        );
        assert_eq!(
            TrustedRoot::from_json(root.to_json_pretty().as_bytes()).unwrap(),
            root,
            "{rel}"
        );
    }
}

#[test]
fn public_good_root_contents() {
    assert_eq!(
        PUBLIC_GOOD_TRUSTED_ROOT.as_bytes(),
        read("trust/public-good-trusted_root.json"),
        "the embedded copy is out of date"
    );
    let root = TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes()).unwrap();
    assert_eq!(root.media_type, MEDIA_TYPE_V0_1);
    let rekor = &root.tlogs[0];
    assert_eq!(rekor.base_url, "https://rekor.sigstore.dev");
    assert_eq!(rekor.hash_algorithm, Some(HashAlgorithm::Sha2_256));
    assert_eq!(rekor.public_key.key_details, "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(
        rekor.public_key.valid_for.unwrap().start,
        Some("2021-01-12T11:53:27Z".parse().unwrap())
    );
    assert!(rekor.checkpoint_key_id.is_none());
    let fulcio = &root.certificate_authorities[0];
    assert_eq!(fulcio.uri, "https://fulcio.sigstore.dev");
    assert_eq!(
        fulcio.subject.as_ref().unwrap().organization,
        "sigstore.dev"
    );
    assert!(!root.ctlogs.is_empty());
    assert!(!root.timestamp_authorities.is_empty());
}

#[test]
fn special_trusted_roots() {
    let root = TrustedRoot::from_json(&read(
        "sigstore-python/trusted_root/trustedroot.v1.local_tlog_ed25519_rekor-tiles.json",
    ))
    .unwrap();
    assert_eq!(root.tlogs[0].public_key.key_details, "PKIX_ED25519");
    assert_eq!(
        root.tlogs[0]
            .public_key
            .valid_for
            .unwrap()
            .start
            .unwrap()
            .seconds,
        0
    );

    // Only TSAs: the other lists are absent and come out empty.
    let root = TrustedRoot::from_json(&read("sigstore-go/trusted-roots/public-key-validity.json"))
        .unwrap();
    assert!(root.tlogs.is_empty() && root.ctlogs.is_empty());
    assert!(!root.timestamp_authorities.is_empty());

    // `"checkpointKeyId": null` and `"operator": null` mean absent.
    let root = TrustedRoot::from_json(&read(
        "conformance/bundle-verify/trust-root-tlog-validity-end-inclusive/trusted_root.json",
    ))
    .unwrap();
    assert!(root.tlogs.iter().all(|t| t.checkpoint_key_id.is_none()));

    // The missing start is kept as None; rejecting it is the verifier's job (the case's README
    // says the trust root is malformed, and TimeRange documents the rule).
    let root = TrustedRoot::from_json(&read(
        "conformance/bundle-verify/trust-root-tlog-missing-validity-start_fail/trusted_root.json",
    ))
    .unwrap();
    assert!(
        root.tlogs
            .iter()
            .any(|t| { t.public_key.valid_for.is_some_and(|v| v.start.is_none()) })
    );
}

#[test]
fn wrong_media_types_are_rejected() {
    assert_eq!(
        TrustedRoot::from_json(&read(
            "sigstore-python/trusted_root/trustedroot.badtype.json"
        ))
        .unwrap_err(),
        FormatError::UnsupportedMediaType("bad-media-type".into())
    );
    assert_eq!(
        ClientTrustConfig::from_json(&read("sigstore-python/trust_config/config.badtype.json"))
            .unwrap_err(),
        FormatError::UnsupportedMediaType("bad-media-type".into())
    );
    let mut v: Value =
        serde_json::from_slice(&read("trust/public-good-trusted_root.json")).unwrap();
    for ok in [MEDIA_TYPE_V0_1, MEDIA_TYPE_V0_2, MEDIA_TYPE_V0_2_ALT] {
        v["mediaType"] = json!(ok);
        assert!(
            TrustedRoot::from_json(v.to_string().as_bytes()).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "application/vnd.dev.sigstore.trustedroot+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.signingconfig.v0.2+json",
    ] {
        v["mediaType"] = json!(bad);
        assert!(matches!(
            TrustedRoot::from_json(v.to_string().as_bytes()).unwrap_err(),
            FormatError::UnsupportedMediaType(_)
        ));
    }
    v.as_object_mut().unwrap().remove("mediaType");
    assert!(matches!(
        TrustedRoot::from_json(v.to_string().as_bytes()).unwrap_err(),
        FormatError::MissingField { field } if field == "mediaType"
    ));
}

#[test]
fn malformed_trusted_root_fields() {
    let base: Value = serde_json::from_slice(&read("trust/public-good-trusted_root.json")).unwrap();
    let check = |edit: &dyn Fn(&mut Value), want: &dyn Fn(&FormatError) -> bool| {
        let mut v = base.clone();
        edit(&mut v);
        let err = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(want(&err), "{err:?}");
    };
    check(
        &|v| v["tlogs"][0]["publicKey"]["validFor"]["start"] = json!("2021-01-12"),
        &|e| matches!(e, FormatError::InvalidTimestamp { field, .. } if field == "tlogs[0].publicKey.validFor.start"),
    );
    check(
        &|v| v["tlogs"][0]["hashAlgorithm"] = json!("SHA1"),
        &|e| matches!(e, FormatError::UnknownEnumValue { field, .. } if field == "tlogs[0].hashAlgorithm"),
    );
    check(
        &|v| {
            v["tlogs"][0].as_object_mut().unwrap().remove("logId");
        },
        &|e| matches!(e, FormatError::MissingField { field } if field == "tlogs[0].logId"),
    );
    check(
        &|v| v["certificateAuthorities"][1]["certChain"]["certificates"] = json!([]),
        &|e| matches!(e, FormatError::EmptyList { field } if field == "certificateAuthorities[1].certChain.certificates"),
    );
    check(
        &|v| v["ctlogs"][0]["publicKey"]["rawBytes"] = json!("!"),
        &|e| matches!(e, FormatError::InvalidBase64 { field, .. } if field == "ctlogs[0].publicKey.rawBytes"),
    );
    check(
        &|v| v["tlogs"] = Value::Array(vec![v["tlogs"][0].clone(); MAX_TRUST_ENTRIES + 1]),
        &|e| matches!(e, FormatError::TooMany { field, .. } if field == "tlogs"),
    );
}

#[test]
fn certificate_authorities_alone() {
    let ca = CertificateAuthority::from_json(&read(
        "sigstore-python/trusted_root/certificate_authority.json",
    ))
    .unwrap();
    assert!(!ca.cert_chain.is_empty());
    let ca = CertificateAuthority::from_json(&read("sigstore-python/tsa/ca.json")).unwrap();
    assert!(!ca.cert_chain.is_empty());
    // A chain without its root parses; whether it verifies is not a format question.
    CertificateAuthority::from_json(&read(
        "sigstore-python/trusted_root/certificate_authority.missingroot.json",
    ))
    .unwrap();
    assert_eq!(
        CertificateAuthority::from_json(&read(
            "sigstore-python/trusted_root/certificate_authority.empty.json"
        ))
        .unwrap_err(),
        FormatError::EmptyList {
            field: "certChain.certificates".into()
        }
    );
}

#[test]
fn signing_configs_parse_and_round_trip() {
    for rel in [
        "trust/public-good-signing_config.v0.2.json",
        "trust/staging-signing_config.v0.2.json",
        "sigstore-python/signing_config/signingconfig.v2.json",
        "sigstore-python/signing_config/signingconfig-only-v1-rekor.v2.json",
        "sigstore-go/examples/signing_config.v0.2.json",
    ] {
        let config = SigningConfig::from_json(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!config.ca_urls.is_empty(), "{rel}");
        assert!(!config.rekor_tlog_urls.is_empty(), "{rel}");
        assert_eq!(
            SigningConfig::from_json(config.to_json().as_bytes()).unwrap(),
            config,
            "{rel}"
        );
    }
    let config = SigningConfig::from_json(&read("trust/staging-signing_config.v0.2.json")).unwrap();
    let rekor = &config.rekor_tlog_urls[0];
    assert_eq!(rekor.url, "https://log2025-alpha3.rekor.sigstage.dev");
    assert_eq!(rekor.major_api_version, 2);
    assert_eq!(rekor.operator, "sigstore.dev");
    assert_eq!(config.rekor_tlog_config.unwrap().selector, Selector::Any);

    // EXACT with a count, as in the Rekor v2 client guide (api/rekor-tiles-v2/CLIENTS.md).
    let mut v: Value =
        serde_json::from_slice(&read("sigstore-go/examples/signing_config.v0.2.json")).unwrap();
    v["rekorTlogConfig"] = json!({"selector": "EXACT", "count": 2});
    v["tsaConfig"] = json!({"selector": "ALL"});
    let config = SigningConfig::from_json(v.to_string().as_bytes()).unwrap();
    let tlog = config.rekor_tlog_config.unwrap();
    assert_eq!((tlog.selector, tlog.count), (Selector::Exact, 2));
    assert_eq!(config.tsa_config.unwrap().selector, Selector::All);
}

#[test]
fn malformed_signing_configs() {
    let base: Value =
        serde_json::from_slice(&read("trust/public-good-signing_config.v0.2.json")).unwrap();
    let parse = |v: &Value| SigningConfig::from_json(v.to_string().as_bytes());
    let mut v = base.clone();
    v["mediaType"] = json!("application/vnd.dev.sigstore.signingconfig.v0.1+json");
    assert!(matches!(
        parse(&v).unwrap_err(),
        FormatError::UnsupportedMediaType(_)
    ));
    let mut v = base.clone();
    v["tsaConfig"]["selector"] = json!("SERVICE_SELECTOR_UNDEFINED");
    assert!(
        matches!(parse(&v).unwrap_err(), FormatError::UnknownEnumValue { field, .. } if field == "tsaConfig.selector")
    );
    let mut v = base.clone();
    v["caUrls"][0]["majorApiVersion"] = json!(-1);
    assert!(
        matches!(parse(&v).unwrap_err(), FormatError::InvalidInteger { field, .. } if field == "caUrls[0].majorApiVersion")
    );
    let mut v = base.clone();
    v["caUrls"][0].as_object_mut().unwrap().remove("url");
    assert!(
        matches!(parse(&v).unwrap_err(), FormatError::MissingField { field } if field == "caUrls[0].url")
    );
}

#[test]
fn client_trust_configs() {
    for rel in [
        "sigstore-python/trust_config/config.v1.json",
        "sigstore-python/tsa/trust_config.json",
    ] {
        let config =
            ClientTrustConfig::from_json(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!config.trusted_root.tlogs.is_empty(), "{rel}");
        assert_eq!(
            ClientTrustConfig::from_json(config.to_json().as_bytes()).unwrap(),
            config,
            "{rel}"
        );
        // The output uses the camelCase name; the input used `signing_config`.
        assert!(config.to_json().contains("\"signingConfig\""));
    }
    let mut v: Value =
        serde_json::from_slice(&read("sigstore-python/trust_config/config.v1.json")).unwrap();
    v["trustedRoot"]["mediaType"] = json!("bad");
    assert_eq!(
        ClientTrustConfig::from_json(v.to_string().as_bytes()).unwrap_err(),
        FormatError::UnsupportedMediaType("bad".into())
    );
    v["trustedRoot"]
        .as_object_mut()
        .unwrap()
        .remove("mediaType");
    assert!(matches!(
        ClientTrustConfig::from_json(v.to_string().as_bytes()).unwrap_err(),
        FormatError::MissingField { field } if field == "trustedRoot.mediaType"
    ));
    v.as_object_mut().unwrap().remove("trustedRoot");
    assert!(matches!(
        ClientTrustConfig::from_json(v.to_string().as_bytes()).unwrap_err(),
        FormatError::MissingField { field } if field == "trustedRoot"
    ));
}
