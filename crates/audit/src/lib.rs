//! Auditing transparency logs: a verifying reader of Rekor v1 logs (REST API), Rekor v2 and
//! other C2SP tlog-tiles logs (checkpoint, tiles, entry bundles only) and RFC 6962 CT logs
//! (`/ct/v1/...`), and the monitor that watches them for identities and for forks.
//!
//! Everything read is verified before it is returned: tree heads against the log keys of a
//! trusted root ([`head`]), consistency between tree heads, inclusion of single entries, and,
//! when scanning, every entry hashed into the tree so that the entries read are exactly those
//! the signed root commits to ([`LogReader::scan`]). HTTP answers are bounded in size and
//! time ([`http`]); scans read in parallel with a bound ([`reader::PARALLEL_READS`]) and hold
//! only that many batches at once.
//!
//! The wall clock and the files (state, output) are the caller's: `signet log` and
//! `signet monitor` pass `now` in and save [`MonitorState`] with `signet-durable`.
//!
//! ```no_run
//! # async fn f(trust: signet_verify::TrustMaterial) -> Result<(), signet_audit::AuditError> {
//! use signet_audit::{Http, LogKind, LogReader};
//! let reader = LogReader::open(Http::new()?, LogKind::RekorV2, "http://127.0.0.1:3000", trust).await?;
//! let head = reader.latest().await?;
//! println!("{} entries, root {}", head.size, hex::encode(head.root.0));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod decode;
mod error;
pub mod head;
pub mod http;
pub mod monitor;
pub mod reader;

pub use decode::{DecodedEntry, SignerInfo, decode_ct_leaf, decode_rekor_body};
pub use error::AuditError;
pub use head::{LogKind, TreeHead, verify_checkpoint, verify_signed, verify_sth};
pub use http::Http;
pub use monitor::{Event, MonitorState, Round, Watch, check_same_log, run_round};
pub use reader::{LogReader, ScannedEntry};
