//! Test helpers shared by the workspace's tests, so that each lives once: throwaway PostgreSQL
//! ([`pg`]), `docker-registry` ([`registry`]) and npm `oauth2-mock-server` ([`oidc`]) processes,
//! the `signet` binary started and waited for ([`signet`]), child processes killed on drop
//! ([`process`]), a P-256 test signer ([`Signer`]), a service key that fails on demand
//! ([`UnreliableSigner`]), the external clients the interop tests drive
//! ([`tools`]), and, with the `log` feature, the `LogStore` conformance suite every store runs
//! (module `log`, not linked here: `cargo doc` builds this crate without its features).
//!
//! This is test code: it panics on any failure (that fails the test), spawns processes, binds
//! loopback ports and writes temp dirs. It is only ever a dev-dependency; no non-test code may
//! use it.
//!
//! Optional components follow one contract: an environment variable names the program
//! (`SIGNET_PG_BIN`, `SIGNET_REGISTRY_BIN`, `SIGNET_OAUTH2_MOCK_SERVER`, `SIGNET_SIGSTORE_PYTHON`,
//! `SIGNET_SIGSTORE_JS`; the `scripts/ensure-*` scripts print them). Without it the helper
//! returns `None` after printing a note, and the test skips, unless the matching `SIGNET_REQUIRE_*`
//! variable is `1`: then it panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[cfg(feature = "ca")]
pub mod ca;
#[cfg(feature = "log")]
pub mod log;
pub mod oidc;
pub mod pg;
pub mod process;
pub mod registry;
mod signer;
pub mod signet;
#[cfg(feature = "tiles")]
pub mod tiles;
pub mod tools;
mod unreliable;

pub use process::ChildGuard;
pub use signer::{Signer, ecdsa_p256_twin, pem};
pub use unreliable::UnreliableSigner;

/// A loopback port that was free a moment ago (the listener that found it is closed, so
/// another process may take it before the caller binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A single-threaded tokio runtime with I/O and timers, for synchronous tests that call async
/// clients.
#[cfg(any(feature = "log", feature = "oci", feature = "ca"))]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Whether the environment variable `name` is `1` (the `SIGNET_REQUIRE_*` switches).
pub(crate) fn required(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}
