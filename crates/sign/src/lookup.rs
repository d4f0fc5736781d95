//! Finding a signature's entries in a Rekor v1 log by artifact digest, for verifying detached
//! signatures (cosign's `verify-blob --signature` without a bundle).
//!
//! The log is not trusted here: every entry found is handed back as a bundle entry, and the
//! caller verifies it (body against the signature, SET, inclusion proof and checkpoint) as it
//! would any bundle's.

use serde_json::json;
use signet_formats::bundle::TransparencyLogEntry;

use crate::SignError;
use crate::client::post_bounded;

/// At most this many entries are fetched for one digest; a digest signed more often than that
/// is reported, not walked.
pub const MAX_CANDIDATES: usize = 100;

/// `POST /api/v1/log/entries/retrieve` takes at most this many UUIDs per request.
const RETRIEVE_BATCH: usize = 10;

const SERVICE: &str = "transparency log";

/// The Rekor v1 entries the log at `url` indexes under `sha256:<digest>`, as bundle entries
/// (body, SET and inclusion proof with its checkpoint), in the order the log listed them.
pub async fn rekor_v1_entries_by_digest(
    http: &reqwest::Client,
    url: &str,
    sha256: &[u8],
) -> Result<Vec<TransparencyLogEntry>, SignError> {
    let base = url.trim_end_matches('/');
    let search = format!("{base}/api/v1/index/retrieve");
    let body = json!({ "hash": format!("sha256:{}", hex::encode(sha256)) }).to_string();
    let (_, answer) = post_bounded(
        http,
        SERVICE,
        &search,
        "application/json",
        body.into_bytes(),
        None,
    )
    .await?;
    let bad = |url: &str, reason: String| SignError::BadResponse {
        service: SERVICE,
        url: url.to_owned(),
        reason,
    };
    let uuids: Vec<String> = serde_json::from_slice(&answer)
        .map_err(|e| bad(&search, format!("not a list of entry UUIDs: {e}")))?;
    if uuids.len() > MAX_CANDIDATES {
        return Err(bad(
            &search,
            format!(
                "{} entries for this digest, more than the {MAX_CANDIDATES} this client examines",
                uuids.len()
            ),
        ));
    }
    let retrieve = format!("{base}/api/v1/log/entries/retrieve");
    let mut entries = Vec::new();
    for batch in uuids.chunks(RETRIEVE_BATCH) {
        let body = json!({ "entryUUIDs": batch }).to_string();
        let (_, answer) = post_bounded(
            http,
            SERVICE,
            &retrieve,
            "application/json",
            body.into_bytes(),
            None,
        )
        .await?;
        let list: Vec<serde_json::Value> = serde_json::from_slice(&answer)
            .map_err(|e| bad(&retrieve, format!("not a list of entries: {e}")))?;
        for item in list {
            let text = item.to_string();
            let entry = signet_rekor::LogEntry::from_json(text.as_bytes())
                .map_err(|e| bad(&retrieve, format!("not a Rekor v1 LogEntry: {e}")))?;
            let (_, anon) = entry
                .single()
                .map_err(|e| bad(&retrieve, format!("not a single entry: {e}")))?;
            entries.push(
                anon.to_transparency_log_entry()
                    .map_err(|e| bad(&retrieve, format!("incomplete entry: {e}")))?,
            );
        }
    }
    Ok(entries)
}
