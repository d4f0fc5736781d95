//! Sigstore signing client: signing-config service selection, Fulcio/Rekor/TSA clients, bundle assembly.
#![forbid(unsafe_code)]
