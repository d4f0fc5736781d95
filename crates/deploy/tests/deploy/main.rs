//! signet-deploy's integration tests, gathered in one test binary (each test binary links most of
//! the workspace). Each module is one area; `common` is signet-testkit's CA helpers.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

// The CA tests' helpers (a test issuer and verifier, subject keys, CSRs, a served CA).
use signet_testkit::ca as common;

mod ca_ct_log;
mod ca_e2e;
mod ct_public_add;
mod dev_oidc;
mod fixed_time;
mod log_data_dir;
mod rotation;
mod tuf_replicas;
mod up;
