//! Robustness: no input makes a parser panic or overflow the stack, and what parses prints back
//! to something that parses the same.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::Value;
use signet_formats::bundle::Bundle;
use signet_formats::rekor::RekorBody;
use signet_formats::trust::TrustedRoot;
use signet_formats::{FormatError, Timestamp, fuzz};

fn happy_bundle() -> Vec<u8> {
    std::fs::read(signet_testdata::path(
        "conformance/bundle-verify/rekor2-dsse-happy-path/bundle.sigstore.json",
    ))
    .unwrap()
}

/// Arbitrary JSON values, with keys drawn from the names Sigstore documents use so that the
/// parsers get past the top level.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("mediaType".to_owned()),
        Just("verificationMaterial".to_owned()),
        Just("messageSignature".to_owned()),
        Just("dsseEnvelope".to_owned()),
        Just("certificate".to_owned()),
        Just("rawBytes".to_owned()),
        Just("tlogEntries".to_owned()),
        Just("logIndex".to_owned()),
        Just("logId".to_owned()),
        Just("keyId".to_owned()),
        Just("kindVersion".to_owned()),
        Just("inclusionProof".to_owned()),
        Just("hashes".to_owned()),
        Just("checkpoint".to_owned()),
        Just("envelope".to_owned()),
        Just("signatures".to_owned()),
        Just("kind".to_owned()),
        Just("apiVersion".to_owned()),
        Just("spec".to_owned()),
        "[a-zA-Z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[A-Za-z0-9+/=_.-]{0,12}".prop_map(Value::String),
        Just(Value::String(
            "application/vnd.dev.sigstore.bundle.v0.3+json".into()
        )),
        Just(Value::String("hashedrekord".into())),
        Just(Value::String("0.0.1".into())),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz::parse_all(&data);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        fuzz::parse_all(v.to_string().as_bytes());
        fuzz::parse_all(serde_json::json!({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": v.clone(), "dsseEnvelope": v}).to_string().as_bytes());
    }

    #[test]
    fn mutated_bundles_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut data = happy_bundle();
        for (i, b) in flips {
            let at = i.index(data.len());
            data[at] = b;
        }
        fuzz::parse_all(&data);
    }

    #[test]
    fn truncated_bundles_never_panic(cut in any::<prop::sample::Index>()) {
        let data = happy_bundle();
        fuzz::parse_all(&data[..cut.index(data.len())]);
    }

    #[test]
    fn timestamps_round_trip(seconds in -62_135_596_800i64..=253_402_300_799, nanos in 0u32..1_000_000_000) {
        let t = Timestamp { seconds, nanos };
        prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn arbitrary_timestamp_text_never_panics(s in "[0-9TZtz:+.-]{0,40}") {
        let _ = Timestamp::parse_rfc3339(&s);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{\"a\":", "[{\"b\":"] {
        let deep = open.repeat(10_000);
        for result in [
            Bundle::from_json(deep.as_bytes()).err(),
            RekorBody::parse(deep.as_bytes()).err(),
            TrustedRoot::from_json(deep.as_bytes()).err(),
        ] {
            assert!(
                matches!(result, Some(FormatError::NestingTooDeep { .. })),
                "{result:?}"
            );
        }
        fuzz::parse_all(deep.as_bytes());
    }
}
