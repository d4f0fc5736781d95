//! Proto-JSON rules and precise errors, on edited copies of a real bundle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::{Value, json};
use signet_formats::FormatError;
use signet_formats::bundle::*;

fn happy_v0_3() -> Value {
    let path =
        signet_testdata::path("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn happy_dsse() -> Value {
    let path = signet_testdata::path(
        "conformance/bundle-verify/rekor2-dsse-happy-path/bundle.sigstore.json",
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn parse(v: &Value) -> Result<Bundle, FormatError> {
    Bundle::from_json(v.to_string().as_bytes())
}

fn entry(v: &mut Value) -> &mut Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

fn field(err: FormatError) -> String {
    match err {
        FormatError::MissingField { field }
        | FormatError::InvalidBase64 { field, .. }
        | FormatError::InvalidInteger { field, .. }
        | FormatError::NegativeValue { field, .. }
        | FormatError::TooMany { field, .. }
        | FormatError::EmptyList { field }
        | FormatError::UnknownEnumValue { field, .. }
        | FormatError::NoVariant { field, .. }
        | FormatError::MultipleVariants { field, .. } => field,
        other => panic!("no field in {other:?}"),
    }
}

#[test]
fn unknown_bundle_fields_are_rejected() {
    // As sigstore-python and sigstore-go (strict protojson) do.
    for place in ["top", "material", "entry"] {
        let mut v = happy_v0_3();
        match place {
            "top" => v["future"] = json!({"x": [1, 2, 3]}),
            "material" => v["verificationMaterial"]["future"] = json!(true),
            _ => entry(&mut v)["future"] = json!("x"),
        }
        let err = parse(&v).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `future`"),
            "{place}: {err}"
        );
    }
}

#[test]
fn nulls_are_ignored() {
    let base = parse(&happy_v0_3()).unwrap();
    let mut v = happy_v0_3();
    v["verificationMaterial"]["timestampVerificationData"] = Value::Null;
    v["verificationMaterial"]["publicKey"] = Value::Null;
    v["dsseEnvelope"] = Value::Null;
    assert_eq!(parse(&v).unwrap(), base);
}

#[test]
fn snake_case_names_are_accepted() {
    let base = parse(&happy_v0_3()).unwrap();
    let mut v = happy_v0_3();
    let o = v.as_object_mut().unwrap();
    let vm = o.remove("verificationMaterial").unwrap();
    o.insert("verification_material".into(), vm);
    let vm = v["verification_material"].as_object_mut().unwrap();
    let entries = vm.remove("tlogEntries").unwrap();
    vm.insert("tlog_entries".into(), entries);
    let e = v["verification_material"]["tlog_entries"][0]
        .as_object_mut()
        .unwrap();
    let index = e.remove("logIndex").unwrap();
    e.insert("log_index".into(), index);
    assert_eq!(parse(&v).unwrap(), base);
}

#[test]
fn both_names_of_one_field_are_a_duplicate() {
    let mut v = happy_v0_3();
    entry(&mut v)["log_index"] = json!("1");
    assert!(matches!(parse(&v).unwrap_err(), FormatError::Json { .. }));
    let text = happy_v0_3()
        .to_string()
        .replacen('{', r#"{"mediaType":"x","#, 1);
    assert!(matches!(
        Bundle::from_json(text.as_bytes()).unwrap_err(),
        FormatError::Json { .. }
    ));
}

#[test]
fn base64_in_any_alphabet_and_padding() {
    let base = parse(&happy_v0_3()).unwrap();
    let mut v = happy_v0_3();
    let sig = v["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let url: String = sig
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    v["messageSignature"]["signature"] = json!(url);
    assert_eq!(parse(&v).unwrap(), base);

    v["messageSignature"]["signature"] = json!("not base64!");
    assert_eq!(field(parse(&v).unwrap_err()), "messageSignature.signature");
    let mut v = happy_v0_3();
    v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][3] = json!("@@@@");
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "verificationMaterial.tlogEntries[0].inclusionProof.hashes[3]"
    );
}

#[test]
fn int64_as_string_or_number_and_defaults() {
    let base = parse(&happy_v0_3()).unwrap();
    let mut v = happy_v0_3();
    entry(&mut v)["logIndex"] = json!(79571823);
    entry(&mut v)["integratedTime"] = json!(1710869186);
    assert_eq!(parse(&v).unwrap(), base);

    entry(&mut v).as_object_mut().unwrap().remove("logIndex");
    entry(&mut v)
        .as_object_mut()
        .unwrap()
        .remove("integratedTime");
    let b = parse(&v).unwrap();
    assert_eq!(b.verification_material.tlog_entries[0].log_index, 0);
    assert_eq!(b.verification_material.tlog_entries[0].integrated_time, 0);

    for bad in [
        json!("12x"),
        json!(1.5),
        json!(""),
        json!("+1"),
        json!(true),
        json!([1]),
    ] {
        let mut v = happy_v0_3();
        entry(&mut v)["logIndex"] = bad.clone();
        match parse(&v).unwrap_err() {
            FormatError::InvalidInteger { field, .. } => {
                assert_eq!(field, "verificationMaterial.tlogEntries[0].logIndex")
            }
            FormatError::Json { .. } => assert!(bad.is_boolean() || bad.is_array()),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn negative_indices_sizes_and_times_are_rejected() {
    for (pointer, path) in [
        ("/logIndex", "verificationMaterial.tlogEntries[0].logIndex"),
        (
            "/integratedTime",
            "verificationMaterial.tlogEntries[0].integratedTime",
        ),
        (
            "/inclusionProof/logIndex",
            "verificationMaterial.tlogEntries[0].inclusionProof.logIndex",
        ),
        (
            "/inclusionProof/treeSize",
            "verificationMaterial.tlogEntries[0].inclusionProof.treeSize",
        ),
    ] {
        let mut v = happy_v0_3();
        *entry(&mut v).pointer_mut(pointer).unwrap() = json!("-7");
        assert_eq!(
            parse(&v).unwrap_err(),
            FormatError::NegativeValue {
                field: path.into(),
                value: -7
            }
        );
    }
}

#[test]
fn exactly_one_content_and_one_material() {
    let mut v = happy_v0_3();
    v["dsseEnvelope"] = happy_dsse()["dsseEnvelope"].clone();
    assert!(
        matches!(parse(&v).unwrap_err(), FormatError::MultipleVariants { found, .. } if found == ["messageSignature", "dsseEnvelope"])
    );
    v.as_object_mut().unwrap().remove("dsseEnvelope");
    v.as_object_mut().unwrap().remove("messageSignature");
    assert!(matches!(
        parse(&v).unwrap_err(),
        FormatError::NoVariant { .. }
    ));

    let mut v = happy_v0_3();
    v["verificationMaterial"]["publicKey"] = json!({"hint": "k"});
    assert!(matches!(
        parse(&v).unwrap_err(),
        FormatError::MultipleVariants { field, found } if field == "verificationMaterial" && found == ["publicKey", "certificate"]
    ));
    v["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("certificate");
    let b = parse(&v).unwrap();
    assert_eq!(
        b.verification_material.content,
        VerificationMaterialContent::PublicKey { hint: "k".into() }
    );
    v["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("publicKey");
    assert_eq!(field(parse(&v).unwrap_err()), "verificationMaterial");

    let mut v = happy_v0_3();
    v.as_object_mut().unwrap().remove("verificationMaterial");
    assert_eq!(field(parse(&v).unwrap_err()), "verificationMaterial");
}

#[test]
fn media_types() {
    for (media_type, version) in [
        (
            "application/vnd.dev.sigstore.bundle+json;version=0.1",
            BundleVersion::V0_1,
        ),
        (
            "application/vnd.dev.sigstore.bundle+json;version=0.2",
            BundleVersion::V0_2,
        ),
        (
            "application/vnd.dev.sigstore.bundle+json;version=0.3",
            BundleVersion::V0_3,
        ),
        (
            "application/vnd.dev.sigstore.bundle.v0.3+json",
            BundleVersion::V0_3,
        ),
    ] {
        let mut v = happy_v0_3();
        v["mediaType"] = json!(media_type);
        assert_eq!(parse(&v).unwrap().version(), version);
        assert_eq!(
            BundleVersion::from_media_type(version.media_type()).unwrap(),
            version
        );
    }
    for bad in [
        "application/vnd.dev.sigstore.bundle+json;version=0.4",
        "application/vnd.dev.sigstore.bundle.v0.4+json",
        "application/vnd.dev.sigstore.bundle+json; version=0.1",
        "application/vnd.dev.sigstore.bundle+json",
        "APPLICATION/VND.DEV.SIGSTORE.BUNDLE.V0.3+JSON",
        "",
    ] {
        let mut v = happy_v0_3();
        v["mediaType"] = json!(bad);
        assert_eq!(
            parse(&v).unwrap_err(),
            FormatError::UnsupportedMediaType(bad.into())
        );
    }
    let mut v = happy_v0_3();
    v.as_object_mut().unwrap().remove("mediaType");
    assert_eq!(field(parse(&v).unwrap_err()), "mediaType");

    // A hand-built bundle with an unknown media type reports the strictest version.
    let mut b = parse(&happy_v0_3()).unwrap();
    b.media_type = "x".into();
    assert_eq!(b.version(), BundleVersion::V0_3);
}

#[test]
fn required_fields() {
    for (remove, path) in [
        ("/logId", "verificationMaterial.tlogEntries[0].logId"),
        (
            "/logId/keyId",
            "verificationMaterial.tlogEntries[0].logId.keyId",
        ),
        (
            "/kindVersion",
            "verificationMaterial.tlogEntries[0].kindVersion",
        ),
        (
            "/inclusionProof/checkpoint",
            "verificationMaterial.tlogEntries[0].inclusionProof.checkpoint",
        ),
        (
            "/inclusionProof/checkpoint/envelope",
            "verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope",
        ),
        (
            "/inclusionPromise/signedEntryTimestamp",
            "verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp",
        ),
    ] {
        let mut v = happy_v0_3();
        let (parent, key) = remove.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            entry(&mut v)
        } else {
            entry(&mut v).pointer_mut(parent).unwrap()
        };
        target.as_object_mut().unwrap().remove(key);
        assert_eq!(field(parse(&v).unwrap_err()), path, "{remove}");
    }

    let mut v = happy_v0_3();
    v["verificationMaterial"]["certificate"] = json!({});
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "verificationMaterial.certificate.rawBytes"
    );

    let mut v = happy_v0_3();
    v["messageSignature"]["messageDigest"]["algorithm"] = json!("MD5");
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "messageSignature.messageDigest.algorithm"
    );
    v["messageSignature"]["messageDigest"]["algorithm"] = json!("HASH_ALGORITHM_UNSPECIFIED");
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "messageSignature.messageDigest.algorithm"
    );

    let mut v = happy_dsse();
    v["dsseEnvelope"]["signatures"] = json!([]);
    assert_eq!(field(parse(&v).unwrap_err()), "dsseEnvelope.signatures");
    let mut v = happy_dsse();
    v["dsseEnvelope"]
        .as_object_mut()
        .unwrap()
        .remove("payloadType");
    assert_eq!(field(parse(&v).unwrap_err()), "dsseEnvelope.payloadType");
}

#[test]
fn counts_are_bounded() {
    let mut v = happy_v0_3();
    let e = entry(&mut v).clone();
    v["verificationMaterial"]["tlogEntries"] = Value::Array(vec![e.clone(); MAX_TLOG_ENTRIES]);
    assert!(parse(&v).is_ok());
    v["verificationMaterial"]["tlogEntries"] = Value::Array(vec![e; MAX_TLOG_ENTRIES + 1]);
    assert_eq!(
        parse(&v).unwrap_err(),
        FormatError::TooMany {
            field: "verificationMaterial.tlogEntries".into(),
            count: 33,
            limit: 32
        }
    );

    let mut v = happy_v0_3();
    let h = json!("AAAA");
    entry(&mut v)["inclusionProof"]["hashes"] =
        Value::Array(vec![h.clone(); MAX_INCLUSION_PROOF_HASHES]);
    assert!(parse(&v).is_ok());
    entry(&mut v)["inclusionProof"]["hashes"] =
        Value::Array(vec![h; MAX_INCLUSION_PROOF_HASHES + 1]);
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "verificationMaterial.tlogEntries[0].inclusionProof.hashes"
    );

    let mut v = happy_v0_3();
    let cert = v["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("certificate")
        .unwrap();
    v["verificationMaterial"]["x509CertificateChain"] =
        json!({"certificates": vec![cert.clone(); MAX_CERTIFICATES]});
    assert!(parse(&v).is_ok());
    v["verificationMaterial"]["x509CertificateChain"] =
        json!({"certificates": vec![cert; MAX_CERTIFICATES + 1]});
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "verificationMaterial.x509CertificateChain.certificates"
    );

    let mut v = happy_dsse();
    let sig = v["dsseEnvelope"]["signatures"][0].clone();
    v["dsseEnvelope"]["signatures"] = Value::Array(vec![sig.clone(); 32]);
    assert!(parse(&v).is_ok());
    v["dsseEnvelope"]["signatures"] = Value::Array(vec![sig; 33]);
    assert_eq!(field(parse(&v).unwrap_err()), "dsseEnvelope.signatures");

    let mut v = happy_dsse();
    let ts = v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0].clone();
    v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
        Value::Array(vec![ts; MAX_RFC3161_TIMESTAMPS + 1]);
    assert_eq!(
        field(parse(&v).unwrap_err()),
        "verificationMaterial.timestampVerificationData.rfc3161Timestamps"
    );
}

#[test]
fn size_and_depth_are_bounded() {
    let big = vec![b' '; MAX_BUNDLE_SIZE + 1];
    assert_eq!(
        Bundle::from_json(&big).unwrap_err(),
        FormatError::TooLarge {
            what: "bundle",
            size: MAX_BUNDLE_SIZE + 1,
            limit: MAX_BUNDLE_SIZE
        }
    );
    let deep = "[".repeat(10_000);
    assert!(matches!(
        Bundle::from_json(deep.as_bytes()).unwrap_err(),
        FormatError::NestingTooDeep { .. }
    ));
    let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert!(matches!(
        Bundle::from_json(deep.as_bytes()).unwrap_err(),
        FormatError::NestingTooDeep { .. }
    ));
    let mut v = happy_v0_3();
    v["x"] = serde_json::from_str(&format!("{}1{}", "[".repeat(70), "]".repeat(70))).unwrap();
    assert!(matches!(
        parse(&v).unwrap_err(),
        FormatError::NestingTooDeep { .. }
    ));
}

#[test]
fn errors_copy_at_most_a_snippet_of_the_input() {
    let mut v = happy_v0_3();
    v["mediaType"] = json!("x".repeat(100_000));
    let FormatError::UnsupportedMediaType(m) = parse(&v).unwrap_err() else {
        panic!()
    };
    assert!(m.chars().count() <= 65, "{}", m.len());
}

#[test]
fn json_errors_give_the_position_and_a_short_message() {
    let mut v = happy_v0_3();
    entry(&mut v)["kindVersion"] = json!("x".repeat(100_000));
    let FormatError::Json {
        what,
        line,
        column,
        message,
    } = parse(&v).unwrap_err()
    else {
        panic!()
    };
    assert_eq!((what, line), ("bundle", 1));
    assert!(column > 0);
    assert!(message.chars().count() <= 201, "{}", message.len());

    let text = "{\n  \"mediaType\": 5\n}";
    let err = Bundle::from_json(text.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed bundle JSON at line 2 column 16: invalid type: integer `5`, expected a string"
    );
}

#[test]
fn top_level_must_be_an_object() {
    for text in ["", "null", "[]", "1", "\"x\"", "{", "{}x"] {
        let err = Bundle::from_json(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Json { .. } | FormatError::MissingField { .. }
            ),
            "{text}: {err:?}"
        );
    }
}
