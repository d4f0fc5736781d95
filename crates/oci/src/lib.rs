//! OCI registries for Sigstore: signatures and attestations next to images (referrers API, tag fallback, legacy cosign layout).
#![forbid(unsafe_code)]
