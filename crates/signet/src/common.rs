//! What several commands share: bounded reads of regular files, the clock, the async runtime,
//! and the verify commands' trust and policy flags turned into `signet_verify` values.

use std::io::Read;
use std::path::Path;

use crate::Failure;
use crate::cli::{PolicyArgs, TrustRootArgs};
use signet_formats::{ClientTrustConfig, PUBLIC_GOOD_TRUSTED_ROOT, TrustedRoot};
use signet_verify::{IdentityPolicy, Policy, Signer, StringMatcher, TrustMaterial, VerifiedBundle};
use signet_x509::PublicKey;

/// Largest bundle, trusted root, signing config, key or predicate file read.
pub const MAX_INPUT_FILE: u64 = 16 << 20;

/// What a file that is not a regular file is, for error messages.
fn file_kind(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if it is a regular file (after following symlinks). A FIFO, a
/// device or a socket named on the command line is refused at once: opening a FIFO blocks
/// until a writer comes, reading it blocks until the writer writes, and a device such as
/// `/dev/zero` never ends. The file is opened non-blocking and checked again once open, so
/// one swapped for a FIFO in between cannot block either (non-blocking changes nothing for a
/// regular file).
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let refuse = |file_type: std::fs::FileType| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", file_kind(file_type)),
        )
    };
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(refuse(metadata.file_type()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(refuse(metadata.file_type()));
    }
    Ok(file)
}

/// Reads the regular file `path` whole, refusing files over `limit` bytes and anything that
/// is not a regular file ([`open_regular`]); `what` names it in errors.
pub fn read_limited(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    open_regular(path)
        .and_then(|f| f.take(limit.saturating_add(1)).read_to_end(&mut data))
        .map_err(|e| Failure::Usage(format!("cannot read {what} {}: {e}", path.display())))?;
    if data.len() as u64 > limit {
        return Err(Failure::Usage(format!(
            "{what} {} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(data)
}

/// Seconds since the Unix epoch (0 if the clock is before it): the client commands' "now"
/// (signing, verifying). The servers get theirs from `signet_deploy::Environment`.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A single-threaded runtime for a client command's network calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}

/// The public-good trusted root: the one the last `signet trust update` verified over TUF,
/// else the built-in one.
pub fn public_good_root() -> Result<TrustedRoot, Failure> {
    if let Some(updated) = crate::trust_cmd::updated_public_good() {
        return Ok(updated.trusted_root);
    }
    TrustedRoot::from_json(PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
        .map_err(|e| Failure::Usage(format!("built-in trusted root: {e}")))
}

/// Reads a trusted root file.
pub fn read_trusted_root(path: &Path) -> Result<TrustedRoot, Failure> {
    TrustedRoot::from_json(&read_limited(path, "trusted root", MAX_INPUT_FILE)?)
        .map_err(|e| Failure::Usage(format!("trusted root {}: {e}", path.display())))
}

/// Reads a ClientTrustConfig file.
pub fn read_trust_config(path: &Path) -> Result<ClientTrustConfig, Failure> {
    ClientTrustConfig::from_json(&read_limited(path, "trust config", MAX_INPUT_FILE)?)
        .map_err(|e| Failure::Usage(format!("trust config {}: {e}", path.display())))
}

/// The trust material to verify against: `--trusted-root`, the root of `--trust-config`, the
/// root of `--instance` (refreshed over TUF), or the public-good root (that of the last
/// `signet trust update`, else the built-in one; refused with `staging`, whose root is not
/// built in). Not for async code: see [`load_trust_async`].
pub fn load_trust(args: &TrustRootArgs, staging: bool) -> Result<TrustMaterial, Failure> {
    let root = match &args.instance {
        Some(url) => {
            refuse_staging_with_instance(staging)?;
            crate::trust_cmd::instance_trust_blocking(url)?.trusted_root
        }
        None => local_root(args, staging)?,
    };
    TrustMaterial::from_trusted_root(&root).map_err(|e| Failure::Usage(e.to_string()))
}

/// [`load_trust`] for async code.
pub async fn load_trust_async(
    args: &TrustRootArgs,
    staging: bool,
) -> Result<TrustMaterial, Failure> {
    let root = match &args.instance {
        Some(url) => {
            refuse_staging_with_instance(staging)?;
            crate::trust_cmd::instance_trust(url).await?.trusted_root
        }
        None => local_root(args, staging)?,
    };
    TrustMaterial::from_trusted_root(&root).map_err(|e| Failure::Usage(e.to_string()))
}

fn refuse_staging_with_instance(staging: bool) -> Result<(), Failure> {
    if staging {
        return Err(Failure::Usage(
            "--staging and --instance name two instances; give one".into(),
        ));
    }
    Ok(())
}

/// The trusted root named by local files, or the public-good one.
fn local_root(args: &TrustRootArgs, staging: bool) -> Result<TrustedRoot, Failure> {
    if let Some(path) = &args.trusted_root {
        read_trusted_root(path)
    } else if let Some(path) = &args.trust_config {
        Ok(read_trust_config(path)?.trusted_root)
    } else if staging {
        Err(Failure::Usage(
            "--staging needs --trusted-root or --trust-config (only the public-good trusted root is built in), or use --instance https://tuf-repo-cdn.sigstage.dev after `signet trust update --staging`".into(),
        ))
    } else {
        public_good_root()
    }
}

fn matcher(
    exact: &Option<String>,
    regexp: &Option<String>,
    flag: &str,
) -> Result<StringMatcher, Failure> {
    match (exact, regexp) {
        (Some(value), None) => Ok(StringMatcher::Exact(value.clone())),
        // Bounded (length and compiled size): a larger pattern is a usage error naming the flag.
        (None, Some(pattern)) => StringMatcher::regex(pattern)
            .map_err(|e| Failure::Usage(format!("--{flag}-regexp: {e}"))),
        _ => Err(Failure::Usage(format!(
            "one of --{flag} or --{flag}-regexp is required (or --key)"
        ))),
    }
}

/// The verification policy: the public key of `--key`, or the certificate identity and issuer
/// (exact, or regular expressions matching the whole value) with any GitHub workflow claims.
pub fn load_policy(args: &PolicyArgs) -> Result<Policy, Failure> {
    if let Some(path) = &args.key {
        let text = String::from_utf8(read_limited(path, "key", MAX_INPUT_FILE)?)
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

/// Who signed, for reports: the certificate's SANs and issuer, or "managed key".
pub fn signer_text(verified: &VerifiedBundle) -> (String, Option<String>) {
    match &verified.signer {
        Signer::Certificate(cert) => {
            let identity = cert.fulcio_identity().unwrap_or_default();
            let sans: Vec<&str> = identity.sans.iter().map(|s| s.value()).collect();
            (sans.join(", "), identity.issuer)
        }
        Signer::Key(_) => ("managed key".into(), None),
    }
}

/// cosign's short names for predicate types (cosign's `PredicateTypeMap`, as of cosign 2.5:
/// `custom`, `slsaprovenance`, `slsaprovenance02`, `slsaprovenance1`, `spdx`, `spdxjson`,
/// `cyclonedx`, `link`, `vuln`, `openvex`); anything else is taken as a URI.
pub fn predicate_type_uri(name: &str) -> String {
    match name {
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "spdx" => "https://spdx.dev/Document",
        "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "link" => "https://in-toto.io/Link/v1",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        other => other,
    }
    .to_owned()
}

/// The witness policy of `--witness-key`/`--witness-quorum`, if any: keys given inline or in
/// files (one per line); the quorum defaults to every key.
pub fn witness_policy(
    args: &crate::cli::WitnessPolicyArgs,
) -> Result<Option<std::sync::Arc<signet_verify::WitnessPolicy>>, Failure> {
    if args.witness_keys.is_empty() {
        return Ok(None);
    }
    let mut vkeys = Vec::new();
    for key in &args.witness_keys {
        let path = Path::new(key);
        if path.is_file() {
            let data = read_limited(path, "witness key file", 1 << 20)?;
            let text = String::from_utf8(data)
                .map_err(|_| Failure::Usage(format!("witness key file {key} is not UTF-8")))?;
            vkeys.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        } else {
            vkeys.push(key.clone());
        }
    }
    let quorum = match args.witness_quorum {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => vkeys.len(),
    };
    signet_verify::WitnessPolicy::new(vkeys.iter().map(String::as_str), quorum)
        .map(|p| Some(std::sync::Arc::new(p)))
        .map_err(|e| Failure::Usage(format!("--witness-key/--witness-quorum: {e}")))
}

#[cfg(test)]
mod tests {
    use super::predicate_type_uri;

    #[test]
    fn predicate_type_short_names_are_cosigns() {
        for (name, uri) in [
            ("custom", "https://cosign.sigstore.dev/attestation/v1"),
            ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
            ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
            ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
            ("spdx", "https://spdx.dev/Document"),
            ("spdxjson", "https://spdx.dev/Document"),
            ("cyclonedx", "https://cyclonedx.org/bom"),
            ("link", "https://in-toto.io/Link/v1"),
            ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
            ("openvex", "https://openvex.dev/ns"),
        ] {
            assert_eq!(predicate_type_uri(name), uri, "{name}");
        }
        // Anything else is a URI, kept as given (names are case-sensitive, as in cosign).
        for other in ["https://example.test/predicate/v1", "Link", "cyclonedxxml"] {
            assert_eq!(predicate_type_uri(other), other);
        }
    }
}
