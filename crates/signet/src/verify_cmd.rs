//! `signet verify-blob` and `signet verify-bundle`: load files, build the policy, call the
//! verifier, print the outcome.

use crate::Failure;
use crate::cli::{OutputFormat, VerifyArgs};
use signet_formats::{Bundle, ClientTrustConfig, PUBLIC_GOOD_TRUSTED_ROOT, TrustedRoot};
use signet_verify::{
    Artifact, IdentityPolicy, Policy, Signer, StringMatcher, TrustMaterial, VerifiedBundle,
    verify_bundle,
};
use signet_x509::PublicKey;
use std::io::Read;
use std::path::Path;

/// Largest bundle, trusted root or key file read.
const MAX_INPUT_FILE: u64 = 16 << 20;

fn read_limited(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT_FILE + 1).read_to_end(&mut data))
        .map_err(|e| Failure::Usage(format!("cannot read {what} {}: {e}", path.display())))?;
    if data.len() as u64 > MAX_INPUT_FILE {
        return Err(Failure::Usage(format!(
            "{what} {} is larger than {MAX_INPUT_FILE} bytes",
            path.display()
        )));
    }
    Ok(data)
}

fn load_trust(args: &VerifyArgs) -> Result<TrustMaterial, Failure> {
    let root = if let Some(path) = &args.trusted_root {
        TrustedRoot::from_json(&read_limited(path, "trusted root")?)
            .map_err(|e| Failure::Usage(format!("trusted root {}: {e}", path.display())))?
    } else if let Some(path) = &args.trust_config {
        ClientTrustConfig::from_json(&read_limited(path, "trust config")?)
            .map_err(|e| Failure::Usage(format!("trust config {}: {e}", path.display())))?
            .trusted_root
    } else if args.staging {
        return Err(Failure::Usage(
            "--staging needs --trusted-root or --trust-config: only the public-good trusted root is built in".into(),
        ));
    } else {
        TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .map_err(|e| Failure::Usage(format!("built-in trusted root: {e}")))?
    };
    TrustMaterial::from_trusted_root(&root).map_err(|e| Failure::Usage(e.to_string()))
}

fn matcher(
    exact: &Option<String>,
    regexp: &Option<String>,
    flag: &str,
) -> Result<StringMatcher, Failure> {
    match (exact, regexp) {
        (Some(value), None) => Ok(StringMatcher::Exact(value.clone())),
        (None, Some(pattern)) => {
            StringMatcher::regex(pattern).map_err(|e| Failure::Usage(e.to_string()))
        }
        _ => Err(Failure::Usage(format!(
            "one of --{flag} or --{flag}-regexp is required (or --key)"
        ))),
    }
}

fn load_policy(args: &VerifyArgs) -> Result<Policy, Failure> {
    if let Some(path) = &args.key {
        let text = String::from_utf8(read_limited(path, "key")?)
            .map_err(|_| Failure::Usage(format!("key {} is not PEM text", path.display())))?;
        let key = PublicKey::from_pem(&text)
            .map_err(|e| Failure::Usage(format!("key {}: {e}", path.display())))?;
        return Ok(Policy::Key(key));
    }
    let san = matcher(
        &args.certificate_identity,
        &args.certificate_identity_regexp,
        "certificate-identity",
    )?;
    let issuer = matcher(
        &args.certificate_oidc_issuer,
        &args.certificate_oidc_issuer_regexp,
        "certificate-oidc-issuer",
    )?;
    use signet_verify::github;
    let claims = [
        (github::TRIGGER, &args.certificate_github_workflow_trigger),
        (github::SHA, &args.certificate_github_workflow_sha),
        (github::NAME, &args.certificate_github_workflow_name),
        (
            github::REPOSITORY,
            &args.certificate_github_workflow_repository,
        ),
        (github::REF, &args.certificate_github_workflow_ref),
    ];
    let extensions = claims
        .into_iter()
        .filter_map(|(oid, value)| {
            value
                .as_ref()
                .map(|v| (oid.to_owned(), StringMatcher::Exact(v.clone())))
        })
        .collect();
    Ok(Policy::Identity(IdentityPolicy {
        san,
        issuer,
        extensions,
    }))
}

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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
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
    let trust = load_trust(args)?;
    let policy = load_policy(args)?;
    let artifact = load_artifact(&args.artifact)?;
    let raw = read_limited(&args.bundle, "bundle")?;
    let bundle = Bundle::from_json(&raw)
        .map_err(|e| Failure::Invalid(format!("bundle {}: {e}", args.bundle.display())))?;
    verify_bundle(&bundle, &artifact, &trust, &policy, now())
        .map_err(|e| Failure::Invalid(e.to_string()))
}

fn signer_text(verified: &VerifiedBundle) -> (String, Option<String>) {
    match &verified.signer {
        Signer::Certificate(cert) => {
            let identity = cert.fulcio_identity().unwrap_or_default();
            let sans: Vec<&str> = identity.sans.iter().map(|s| s.value()).collect();
            (sans.join(", "), identity.issuer)
        }
        Signer::Key(_) => ("managed key".into(), None),
    }
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
