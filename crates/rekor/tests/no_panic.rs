//! Arbitrary input never panics, and canonical forms are stable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use signet_rekor::canonical_json;

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9+/=_-]{0,80}".prop_map(Value::String),
        prop_oneof![
            Just("hashedrekord"),
            Just("dsse"),
            Just("intoto"),
            Just("0.0.1"),
            Just("0.0.2"),
            Just("sha256"),
            Just("PKIX_ECDSA_P256_SHA_256"),
            Just("PKIX_ED25519"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        any::<String>(),
                        Just("kind".to_owned()),
                        Just("apiVersion".to_owned()),
                        Just("spec".to_owned()),
                        Just("signature".to_owned()),
                        Just("content".to_owned()),
                        Just("verifier".to_owned()),
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// Valid requests of every kind, rebuilt from real entries.
/// [`seed_requests`], made once: reading the real bodies for every case cost most of the
/// property test's time.
fn seeds() -> &'static [Value] {
    static SEEDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seed_requests)
}

fn seed_requests() -> Vec<Value> {
    let mut out = Vec::new();
    for real in common::real_bodies() {
        let (kind, version) = real.kind_version();
        match (kind.as_str(), version.as_str()) {
            ("hashedrekord", "0.0.1") if out.len() < 2 => out.push(real.json.clone()),
            ("hashedrekord", "0.0.2") => {
                let entry = &real.json["spec"]["hashedRekordV002"];
                out.push(json!({"hashedRekordRequestV002": {
                    "digest": entry["data"]["digest"], "signature": entry["signature"]}}));
                out.push(json!({"dsseRequestV002": {
                    "envelope": {"payload": "e30=", "payloadType": "t",
                        "signatures": [{"sig": entry["signature"]["content"]}]},
                    "verifiers": [entry["signature"]["verifier"]]}}));
            }
            ("dsse", "0.0.1") => out.push(json!({"apiVersion": "0.0.1", "kind": "dsse",
                "spec": {"proposedContent": {
                    "envelope": serde_json::to_string(&real.bundle["dsseEnvelope"]).unwrap(),
                    "verifiers": real.json["spec"]["signatures"].as_array().unwrap()
                        .iter().map(|s| s["verifier"].clone()).collect::<Vec<_>>()}}})),
            _ => {}
        }
        if out.len() > 8 {
            break;
        }
    }
    out
}

/// Every path (object member or array element) inside `value`.
fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(Value::String(k.clone()));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(json!(i));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn replace_at(value: &mut Value, path: &[Value], new: Value) {
    let mut slot = value;
    for step in path {
        slot = match step {
            Value::String(k) => &mut slot[k.as_str()],
            other => &mut slot[other.as_u64().unwrap() as usize],
        };
    }
    *slot = new;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        signet_rekor::fuzz::parse_all(&data);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        signet_rekor::fuzz::parse_all(&serde_json::to_vec(&value).unwrap());
        let wrapped = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": value});
        signet_rekor::fuzz::parse_all(&serde_json::to_vec(&wrapped).unwrap());
    }

    #[test]
    fn mutated_real_requests_never_panic(
        seed in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        new in arbitrary_json(),
    ) {
        let seeds = seeds();
        let mut request = seed.get(seeds).clone();
        let mut all = Vec::new();
        paths(&request, &mut Vec::new(), &mut all);
        if !all.is_empty() {
            let path: &Vec<Value> = at.get(&all);
            replace_at(&mut request, path, new);
        }
        signet_rekor::fuzz::parse_all(&serde_json::to_vec(&request).unwrap());
    }

    #[test]
    fn canonical_json_is_idempotent(value in arbitrary_json()) {
        // serde_json parses some doubles 1 ULP off (without its `float_roundtrip` feature), so
        // doubles are checked on their own below.
        prop_assume!(!has_float(&value));
        let once = canonical_json(&value).unwrap();
        let reparsed: Value = serde_json::from_str(&once).unwrap();
        prop_assert_eq!(canonical_json(&reparsed).unwrap(), once);
    }

    #[test]
    fn set_payload_is_the_jcs_of_its_fields(
        body in prop::collection::vec(any::<u8>(), 0..64),
        time in any::<i64>(),
        log_id in prop::collection::vec(any::<u8>(), 0..40),
        index in any::<i64>(),
    ) {
        use base64::Engine;
        let value = json!({
            "logIndex": index,
            "logID": hex::encode(&log_id),
            "integratedTime": time,
            "body": base64::engine::general_purpose::STANDARD.encode(&body),
        });
        prop_assert_eq!(
            signet_rekor::set_payload(&body, time, &log_id, index),
            canonical_json(&value).unwrap()
        );
    }

    #[test]
    fn canonical_doubles_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = canonical_json(&json!(f)).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert!(back == f, "{} -> {} -> {}", f, text, back);
        prop_assert!(!text.contains(['E', '_']) && !text.starts_with('+'));
    }
}

#[test]
fn seed_requests_are_valid() {
    let seeds = seed_requests();
    assert!(seeds.len() >= 4);
    let ok = seeds
        .iter()
        .filter(|r| {
            let bytes = serde_json::to_vec(r).unwrap();
            signet_rekor::canonicalize_proposed_entry(&bytes).is_ok()
                || signet_rekor::canonicalize_create_entry_request(&bytes).is_ok()
        })
        .count();
    assert!(ok >= 3, "{ok} of {} seeds are valid", seeds.len());
}
