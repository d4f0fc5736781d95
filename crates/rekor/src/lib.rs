//! Rekor entries for a log server that speaks both Rekor APIs: validate what clients submit,
//! build the canonical bodies Rekor would store (byte for byte), name and sign entries, and
//! write the responses clients parse.
//!
//! - **Rekor v1** ([`canonicalize_proposed_entry`]): `hashedrekord` 0.0.1, `dsse` 0.0.1 and
//!   `intoto` 0.0.2 proposed entries. Entry UUIDs and IDs ([`EntryUuid`], [`EntryId`]), signed
//!   entry timestamps ([`set_payload`], [`EntrySigner`]), and the `LogEntry` response
//!   ([`LogEntry`]), which converts to a bundle's `TransparencyLogEntry`.
//! - **Rekor v2** ([`canonicalize_create_entry_request`]): `hashedRekordRequestV002` and
//!   `dsseRequestV002`, and the `TransparencyLogEntry` response
//!   ([`transparency_log_entry_json`]).
//! - **Search** ([`SearchKey`]): what each entry is indexed by, and the matching keys for
//!   `POST /api/v1/index/retrieve` queries.
//!
//! The crate is pure: no I/O, no clock (integration times are arguments), randomness only
//! through the signer passed in. Storage, sequencing, proofs and HTTP belong to the log and
//! server crates. Every error is a [`RekorError`] naming the field at fault; all but signing
//! failures are the client's ([`RekorError::is_client_error`]). Input never panics: sizes,
//! list lengths and nesting are bounded.
//!
//! # The create path, for the log server
//!
//! 1. `POST /api/v1/log/entries`: [`canonicalize_proposed_entry`]; `Err(e)` is a 400 when
//!    [`RekorError::is_client_error`], labelled by [`RekorError::kind`].
//!    `POST /api/v2/log/entries`: [`canonicalize_create_entry_request`].
//! 2. Duplicates: the same request always gives the same [`CanonicalEntry::body`], so look up
//!    [`CanonicalEntry::leaf_hash`] (the v1 [`EntryUuid`]) before appending, and also
//!    [`CanonicalEntry::equivalent_leaf_hashes`] (the same signature in its other ECDSA
//!    encoding); 409 with `Location: /api/v1/log/entries/<EntryId>` of the entry found.
//! 3. Append [`CanonicalEntry::body`] as the leaf; index it under every
//!    [`CanonicalEntry::search_keys`] ([`SearchKey::index_key`]).
//! 4. Answer v1 with [`LogEntry::new`]`(`[`EntryId::new`]`(tree_id, uuid),
//!    `[`LogEntryAnon::signed`]`(...))` and [`LogEntry::to_json`]; v2 with
//!    [`transparency_log_entry_json`]`(&`[`v2_transparency_log_entry`]`(...))`.
//!
//! `POST /api/v1/index/retrieve` maps its query through [`SearchKey::for_hash_query`],
//! [`SearchKey::for_public_key_query`] and [`SearchKey::for_identity_query`];
//! [`search_keys_of_body`] rebuilds an index from stored bodies.
//!
//! # Where this log differs from Rekor
//!
//! Every difference rejects input that Rekor would take; nothing Rekor rejects is accepted, and
//! every body produced is what Rekor would store for the same request.
//!
//! - PEM keys and certificates (v1) must be exactly one `PUBLIC KEY` or `CERTIFICATE` block
//!   with only whitespace around it. Rekor also takes certificate chains (and checks them at
//!   the current time, which a pure crate cannot do).
//! - Hex digests (`hashedrekord` 0.0.1 `value`, `intoto` `hash.value`) must be lowercase;
//!   Rekor stores whatever case was sent, which would give one artifact several spellings.
//! - DSSE `sig` values (stored as sent by Rekor) must be standard padded base64.
//! - Ed25519 cannot sign a `hashedrekord` digest here: Rekor uses Ed25519ph, which AWS-LC
//!   lacks. `PKIX_ED25519_PH`, RSA-PSS and the other less common `keyDetails` are refused.
//! - A `hashedrekord` digest must be the one its key signs with (P-256: SHA-256, P-384:
//!   SHA-384, P-521: SHA-512, RSA-2048/3072/4096: SHA-256), as in Rekor's default algorithm
//!   registry, so one ECDSA signature cannot be replayed over a longer "digest".
//! - An ECDSA signature `(r, s)` and its twin `(r, n - s)`, which verify alike, are one entry,
//!   in every kind (`hashedrekord`, `dsse`, `intoto`): the body keeps the encoding sent, and
//!   names the twins' leaf hashes in [`CanonicalEntry::equivalent_leaf_hashes`] so that the
//!   log answers the second as a duplicate (Rekor logs both). For an envelope with several
//!   ECDSA signatures the set is bounded ([`MAX_EQUIVALENT_BODIES`]). This closes re-encoding
//!   only: a `dsse` 0.0.1 body hashes the envelope text as sent and an `intoto` 0.0.2 body
//!   keeps the client's envelope hash, so another spelling of the same envelope (whitespace,
//!   member order) or another claimed hash is still another entry, as in Rekor.
//! - A v2 verifier's `keyDetails` must describe its key exactly (rekor-tiles only checks that
//!   the key type and the hash are an allowed pair).
//! - v2 DSSE verifiers are tried in request order; rekor-tiles walks a Go map, so when two
//!   verifiers verify one signature, which is recorded is random there.
//! - Limits: [`MAX_PROPOSED_ENTRY_SIZE`], [`MAX_SIGNATURES`] signatures and verifiers (also for
//!   v1, where Rekor has none), [`MAX_PEM_SIZE`], [`MAX_CANONICAL_BODY_SIZE`].
//!
//! ```
//! use signet_rekor::{canonicalize_proposed_entry, EntryId};
//! # let bundle = std::fs::read(signet_testdata::path(
//! #     "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
//! # let bundle = signet_formats::Bundle::from_json(&bundle).unwrap();
//! # let request = bundle.verification_material.tlog_entries[0].canonicalized_body.clone();
//! let entry = canonicalize_proposed_entry(&request)?; // signature checked
//! let id = EntryId::new(0x24296fb24b8ad77a, entry.uuid());
//! assert_eq!(id.to_string().len(), 80);
//! for key in &entry.search_keys {
//!     println!("index {} -> {id}", key.index_key());
//! }
//! # Ok::<(), signet_rekor::RekorError>(())
//! ```
#![forbid(unsafe_code)]

mod entry;
mod error;
mod jcs;
mod json;
mod key;
mod log_entry;
mod search;
mod set;
mod v1;
mod v2;

pub use entry::{
    CanonicalEntry, EntryId, EntryUuid, MAX_CANONICAL_BODY_SIZE, MAX_EQUIVALENT_BODIES,
    MAX_TWINS_COMBINED,
};
pub use error::RekorError;
pub use jcs::canonical_json;
pub use key::MAX_PEM_SIZE;
pub use log_entry::{
    LogEntry, LogEntryAnon, LogEntryVerification, MAX_LOG_ENTRIES, MAX_LOG_ENTRY_RESPONSE_SIZE,
    V1InclusionProof, transparency_log_entry_json, v2_transparency_log_entry,
};
pub use search::{MAX_IDENTITY_QUERY, SearchKey, search_keys_of_body};
pub use set::{
    EcdsaP256EntrySigner, EntrySigner, log_id, public_key_pem, set_payload, set_payload_of,
    sign_entry_timestamp, verify_signed_entry_timestamp,
};
pub use v1::{MAX_PROPOSED_ENTRY_SIZE, MAX_SIGNATURES, canonicalize_proposed_entry};
pub use v2::canonicalize_create_entry_request;

/// Entry points for fuzz targets and property tests. Not part of the API.
#[doc(hidden)]
#[allow(clippy::expect_used)] // the harness must fail loudly when an invariant breaks
pub mod fuzz {
    /// Feeds arbitrary bytes to every parser. A canonical entry must be stable (its body is
    /// JCS of itself, and a `hashedrekord` 0.0.1 body canonicalizes to itself); a `LogEntry`
    /// that parses must print back to JSON that parses to the same value.
    pub fn parse_all(data: &[u8]) {
        for entry in [
            crate::canonicalize_proposed_entry(data),
            crate::canonicalize_create_entry_request(data),
        ]
        .into_iter()
        .flatten()
        {
            check_canonical(&entry);
        }
        if let Ok(entry) = crate::LogEntry::from_json(data) {
            let json = entry.to_json();
            assert!(json.is_ok(), "LogEntry does not serialize");
            if let Ok(json) = json {
                let again = crate::LogEntry::from_json(json.as_bytes());
                assert_eq!(again.as_ref(), Ok(&entry), "LogEntry does not round-trip");
            }
            for anon in entry.0.values() {
                let _ = anon.to_transparency_log_entry();
            }
        }
        let _ = crate::LogEntry::list_from_json(data);
        let _ = crate::search_keys_of_body(data);
        if let Ok(text) = std::str::from_utf8(data) {
            if let Ok(id) = crate::EntryId::parse(text) {
                assert_eq!(id.to_string(), text.to_ascii_lowercase());
            }
            let _ = crate::SearchKey::for_hash_query(text);
            let _ = crate::SearchKey::for_identity_query(text);
        }
        let _ = crate::SearchKey::for_public_key_query("x509", data);
    }

    fn check_canonical(entry: &crate::CanonicalEntry) {
        let value: serde_json::Value =
            serde_json::from_slice(&entry.body).expect("canonical body is JSON");
        assert_eq!(
            crate::canonical_json(&value).expect("canonical body re-serializes"),
            String::from_utf8_lossy(&entry.body),
            "canonical body is not in canonical form"
        );
        if (entry.kind, entry.api_version) == ("hashedrekord", "0.0.1") {
            let again = crate::canonicalize_proposed_entry(&entry.body)
                .expect("a canonical hashedrekord body is a valid proposed entry");
            assert_eq!(again, *entry, "canonicalization is not idempotent");
        }
    }
}
