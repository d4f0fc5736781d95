//! One suite, run against every store: appends, duplicates, compare-and-swap, reopening,
//! proofs, checkpoint formats, refusal to open a damaged log. `check_log` runs after each test.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "common/conformance_suite.rs"]
mod suite;

use common::{MemoryFixture, RedbFixture};

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::suite::$name(super::MemoryFixture::new()).await
                }
            )*
        }
        mod redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::suite::$name(super::RedbFixture::new()).await
                }
            )*
        }
    };
}

conformance!(
    append_and_read,
    duplicates,
    aliases,
    compare_and_swap,
    reopen_continues,
    proofs,
    rekor_v1_checkpoints,
    entry_size_limit,
    clock_goes_backwards,
    refuses_root_mismatch,
    refuses_entry_mismatch,
    refuses_other_origin,
    large_tree,
);
