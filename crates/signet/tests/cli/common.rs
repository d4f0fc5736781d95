//! The signet binary under test, and the shared helpers its tests take from signet-testkit: a
//! throwaway `docker-registry` (distribution 2.8, no referrers API, so the tag-schema fallback
//! is used) with images pushed by signet-oci, a running `signet up`, free ports.
//!
//! The registry binary comes from `SIGNET_REGISTRY_BIN` (`scripts/ensure-registry` installs
//! it). Without it the tests are skipped with a note, unless `SIGNET_REQUIRE_REGISTRY=1`.

pub use signet_testkit::registry::{Registry, client, push_image, registry_bin};
pub use signet_testkit::signet::Up;
pub use signet_testkit::{free_port, runtime};

/// The binary under test.
pub const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// Runs the binary under test with `args` and waits for it.
pub fn signet(args: &[&str]) -> std::process::Output {
    std::process::Command::new(SIGNET)
        .args(args)
        .output()
        .expect("run signet")
}
