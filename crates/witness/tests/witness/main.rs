//! signet-witness's integration tests, in one test binary: the C2SP examples, every status of
//! `add-checkpoint` (in the core and over HTTP), a log growing 0 → 3 → 10 with real
//! consistency proofs, both stores against one suite, the rollback race, and the client
//! against the router on a real port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

mod c2sp;
mod client;
mod race;
mod sequence;
mod statuses;
mod store;
