//! The Sigstore signing client: picks services from a signing config v0.2 ([`select`]),
//! gets a certificate for an ephemeral key from the CA, logs the signature in Rekor v1 or v2,
//! gets RFC 3161 timestamps, assembles a bundle v0.3 and verifies it before handing it out
//! ([`SigningClient`]). [`token`] obtains the OIDC identity token keyless signing needs.
//!
//! [`request`] and [`select`] are pure (no I/O, no clock); [`SigningClient`] and [`token`] do
//! the HTTP. The ephemeral private key lives only in memory for one signature. [`lookup`]
//! finds a detached signature's Rekor v1 entries for the verifier.
#![forbid(unsafe_code)]

mod client;
mod error;
mod key;
pub mod lookup;
pub mod request;
pub mod select;
pub mod tls;
pub mod token;

pub use client::{
    Credentials, Progress, Quiet, REQUEST_TIMEOUT, Signed, SigningClient, Step, Timings,
};
pub use error::SignError;
pub use key::{EphemeralKey, KeyAlgorithm, SigningKey};
pub use select::{SelectedLog, SelectedServices, select_services};
