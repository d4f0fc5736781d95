#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Parsers of untrusted input never panic; references print back to what they parse from.

use proptest::prelude::*;
use signet_oci::{Digest, DockerConfig, ImageRef, SimpleSigning};

proptest! {
    #[test]
    fn parsers_never_panic(text in ".{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = ImageRef::parse(&text);
        let _ = Digest::parse(&text);
        let _ = DockerConfig::parse(&bytes);
        let _ = DockerConfig::parse(text.as_bytes());
        let _ = SimpleSigning::parse(&bytes);
    }

    #[test]
    fn references_round_trip(
        registry in prop_oneof![Just(String::new()), "[a-z]{1,8}\\.[a-z]{2,3}", "127\\.0\\.0\\.1:[1-9][0-9]{1,4}"],
        path in proptest::collection::vec("[a-z0-9]([a-z0-9_-]{0,6}[a-z0-9])?", 1..4),
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
    ) {
        let mut text = if registry.is_empty() { String::new() } else { format!("{registry}/") };
        text.push_str(&path.join("/"));
        if let Some(t) = &tag { text.push(':'); text.push_str(t); }
        if let Some(d) = &digest { text.push('@'); text.push_str(Digest::sha256_of(d).as_str()); }
        let parsed = ImageRef::parse(&text).unwrap();
        prop_assert_eq!(ImageRef::parse(&parsed.to_string()).unwrap(), parsed.clone());
        prop_assert_eq!(parsed.tag.as_deref(), tag.as_deref().or(if digest.is_none() { Some("latest") } else { None }));
    }
}
