//! The Sigstore signing client: picks services from a signing config v0.2 ([`select`]),
//! gets a certificate for an ephemeral key from the CA, logs the signature in Rekor v1 or v2,
//! gets RFC 3161 timestamps, assembles a bundle v0.3 and verifies it before handing it out
//! ([`SigningClient`]). [`token`] obtains the OIDC identity token keyless signing needs.
//!
//! [`request`] and [`select`] are pure (no I/O, no clock); [`SigningClient`] and [`token`] do
//! the HTTP. The ephemeral private key lives only in memory for one signature. [`lookup`]
//! finds a detached signature's Rekor v1 entries for the verifier.
//!
//! What it must not do: read or write files (keys, tokens, bundles and trust material come in
//! and go out as values; where they live is the caller's business), or read the wall clock
//! (the current time is an argument; monotonic timers only measure and bound requests). Its
//! other contact with the machine is in [`token`]: it reads the token environment variables
//! and, for the browser flow, listens on a loopback port. Randomness (ephemeral keys, nonces,
//! PKCE) comes from the system's generator. Answers from services are untrusted: errors,
//! never panics.
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
pub use error::{InputError, SignError, SigningKeyError, TokenError};
pub use key::{EphemeralKey, KeyAlgorithm, SigningKey};
pub use select::{SelectedLog, SelectedServices, select_services};
