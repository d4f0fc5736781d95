//! The `signet` binary's integration tests, gathered in one test binary: each test binary links
//! the whole workspace, and seventeen of them cost CI gigabytes of disk and minutes of linking.
//! Each module is one area (its own `//!` says what it covers); `common` names the binary and
//! the shared helpers, which live in signet-testkit.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

mod audit;
mod ca_offline;
mod ca_rotation;
mod completions;
mod conformance;
mod cosign_inputs;
mod differential;
mod explorer;
mod hsm;
mod http_limits;
mod image;
mod input_files;
mod keys;
mod note_verify;
mod private_deployment;
mod serve_ca_tsa;
mod serve_crash;
mod serve_log;
mod sigstore_js;
mod tuf;
mod up_dev_oidc;
mod up_interop;
mod up_replicas;
mod verify_blob;
mod verify_limits;
mod witness;
mod witnessing;
