//! Sigstore bundle verification, following the Sigstore client specification.
//!
//! [`verify_bundle`] takes a parsed bundle, the artifact (its bytes or its SHA-256 digest), the
//! trust material from a `trusted_root.json` ([`TrustMaterial`]), a [`Policy`] saying who must
//! have signed, and the current time. It checks, in order:
//!
//! 1. the bundle's shape for its version (entries, proofs, checkpoints, certificate chain);
//! 2. every transparency-log entry: the log is trusted and was valid, the canonical body matches
//!    the bundle (artifact digest, signature, key or certificate), what the entry states twice
//!    agrees (log indexes, the checkpoint's tree size and root), the signed entry timestamp
//!    verifies, the inclusion proof verifies against a checkpoint signed by the log under its
//!    key name;
//! 3. every RFC 3161 timestamp against the trusted timestamp authorities;
//! 4. that at least one verified time exists (a verified SET's integrated time or a verified
//!    timestamp; Rekor v2 entries have no integrated time);
//! 5. the signing certificate: it chains to a trusted CA valid at every verified time, carries
//!    a valid embedded SCT from a trusted CT log, has exactly one subject alternative name and
//!    matches the identity policy; or, for managed keys, the key is the one the policy names;
//! 6. the signature over the artifact (message signature) or over the DSSE PAE, and for DSSE
//!    that an in-toto subject has the artifact's digest.
//!
//! Pure: the clock is an argument, nothing is fetched or read from disk, and no random number
//! is made. Bundles and trusted roots are untrusted input: every failure is an error naming
//! the check (a [`VerifyError`]), never a panic.
#![forbid(unsafe_code)]

mod artifact;
mod error;
mod policy;
mod tlog;
mod trust;
mod verify;
mod witness;

pub use artifact::Artifact;
pub use error::{InclusionProofError, LogCheckpointError, VerifyError};
pub use policy::{IdentityPolicy, Policy, StringMatcher, github};
pub use tlog::{verify_log_checkpoint, verify_log_entry};
pub use trust::{TrustMaterial, TrustedCa, TrustedLog, Validity};
pub use verify::{
    Signer, TimeSource, VerifiedBundle, VerifiedTime, VerifyOptions, verify_bundle,
    verify_bundle_with,
};
pub use witness::{WitnessPolicy, WitnessPolicyError};

/// Limits on what one bundle may carry, beyond the parser's own.
pub mod limits {
    /// Most RFC 3161 timestamps checked in one bundle.
    pub const MAX_TIMESTAMPS: usize = 16;
    /// Most transparency-log entries checked in one bundle.
    pub const MAX_TLOG_ENTRIES: usize = 16;
    /// How far in the future an integrated time may be, in seconds (clock skew).
    pub const MAX_CLOCK_SKEW: i64 = 60;
    /// Longest identity or issuer regular expression accepted, in bytes.
    pub const MAX_REGEX_LEN: usize = 4096;
    /// Most memory one compiled identity or issuer regular expression may take, in bytes (the
    /// regex crate's `size_limit`; its lazy DFA cache is bounded the same). Identity patterns
    /// compile to a few kilobytes.
    pub const MAX_REGEX_SIZE: usize = 1 << 20;
}

/// Entry points for fuzz targets (see `fuzz/` at the workspace root). Not part of the API.
#[doc(hidden)]
pub mod fuzz {
    use crate::{Artifact, IdentityPolicy, Policy, StringMatcher, TrustMaterial, verify_bundle};
    use std::sync::OnceLock;

    fn trust() -> Option<&'static TrustMaterial> {
        static TRUST: OnceLock<Option<TrustMaterial>> = OnceLock::new();
        TRUST
            .get_or_init(|| {
                let root = signet_formats::TrustedRoot::from_json(
                    signet_formats::PUBLIC_GOOD_TRUSTED_ROOT.as_bytes(),
                )
                .ok()?;
                TrustMaterial::from_trusted_root(&root).ok()
            })
            .as_ref()
    }

    /// Parses arbitrary bytes as a bundle and verifies it against the public-good root; it must
    /// return an error, never panic.
    pub fn verify_bundle_bytes(data: &[u8]) {
        let (Some(trust), Ok(bundle)) = (trust(), signet_formats::Bundle::from_json(data)) else {
            return;
        };
        let policy = Policy::Identity(IdentityPolicy {
            san: StringMatcher::Exact(String::new()),
            issuer: StringMatcher::Exact(String::new()),
            extensions: Vec::new(),
        });
        let _ = verify_bundle(
            &bundle,
            &Artifact::Bytes(data.to_vec()),
            trust,
            &policy,
            1_800_000_000,
        );
    }
}
