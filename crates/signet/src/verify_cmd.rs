//! `signet verify-blob` and `signet verify-bundle`: load files, build the policy, call the
//! verifier, print the outcome.

use crate::Failure;
use crate::cli::{OutputFormat, VerifyArgs};
use crate::common::{MAX_INPUT_FILE, load_policy, load_trust, now, read_limited, signer_text};
use signet_formats::Bundle;
use signet_verify::{Artifact, VerifiedBundle, verify_bundle};
use std::path::Path;

fn load_artifact(text: &str) -> Result<Artifact, Failure> {
    let path = Path::new(text);
    if path.exists() {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::Usage(format!("cannot read artifact {text}: {e}")))?;
        return Ok(Artifact::Bytes(bytes));
    }
    Artifact::parse_digest(text).ok_or_else(|| {
        Failure::Usage(format!(
            "artifact {text:?} is neither a file nor sha256:<64 hex digits>"
        ))
    })
}

/// Runs the verification and prints the outcome.
pub fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let result = run(args);
    if args.output == OutputFormat::Json {
        let value = match &result {
            Ok(verified) => report_json(verified),
            Err(Failure::Invalid(m) | Failure::Usage(m)) => {
                serde_json::json!({ "verified": false, "error": m })
            }
        };
        println!("{value}");
    } else if let Ok(verified) = &result {
        print!("{}", report_text(verified));
    }
    result.map(|_| ())
}

fn run(args: &VerifyArgs) -> Result<VerifiedBundle, Failure> {
    let trust = load_trust(&args.trust, args.staging)?;
    let policy = load_policy(&args.policy)?;
    let artifact = load_artifact(&args.artifact)?;
    let raw = read_limited(&args.bundle, "bundle", MAX_INPUT_FILE)?;
    let bundle = Bundle::from_json(&raw)
        .map_err(|e| Failure::Invalid(format!("bundle {}: {e}", args.bundle.display())))?;
    verify_bundle(&bundle, &artifact, &trust, &policy, now())
        .map_err(|e| Failure::Invalid(e.to_string()))
}

fn report_text(verified: &VerifiedBundle) -> String {
    let (who, issuer) = signer_text(verified);
    let mut out = format!("Verified OK\nsigner: {who}\n");
    if let Some(issuer) = issuer {
        out.push_str(&format!("issuer: {issuer}\n"));
    }
    for t in &verified.times {
        out.push_str(&format!("time: {} ({:?})\n", t.time, t.source));
    }
    out
}

fn report_json(verified: &VerifiedBundle) -> serde_json::Value {
    let (who, issuer) = signer_text(verified);
    let times: Vec<serde_json::Value> = verified
        .times
        .iter()
        .map(|t| serde_json::json!({ "time": t.time, "source": format!("{:?}", t.source) }))
        .collect();
    serde_json::json!({
        "verified": true,
        "signer": who,
        "issuer": issuer,
        "times": times,
        "tlogEntries": verified.tlog_entries,
        "predicateType": verified.statement.as_ref().map(|s| s.predicate_type.clone()),
    })
}
