//! Trust over TUF on the client side: `signet trust-instance` (bootstrap trust in a Sigstore
//! instance from its TUF root), `signet trust update` (refresh the public-good or staging
//! instance), and `--instance URL` on the signing and verifying commands, which refreshes
//! through TUF on each use and falls back to the last verified files when the repository
//! cannot be reached.
//!
//! The TUF work (metadata verification, rollback and expiry checks, target hashes) is
//! `signet_tuf::client`'s; this module only picks the local directory, prints, and turns
//! the verified targets into a trusted root and signing config.

use std::path::PathBuf;

use crate::Failure;
use crate::cli::{TrustInstanceArgs, TrustUpdateArgs};
use crate::common::{MAX_INPUT_FILE, read_limited, runtime};
use signet_formats::{SigningConfig, TrustedRoot};
use signet_tuf::client::{InstanceStore, Transport, TrustTargets};

/// Where TUF state lives: `$SIGNET_TUF_HOME`, else `$XDG_DATA_HOME/signet/tuf`, else
/// `$HOME/.local/share/signet/tuf`.
pub fn tuf_home() -> Result<PathBuf, Failure> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(home) = from_env("SIGNET_TUF_HOME") {
        return Ok(home);
    }
    if let Some(data) = from_env("XDG_DATA_HOME") {
        return Ok(data.join("signet").join("tuf"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local").join("share").join("signet").join("tuf"));
    }
    Err(Failure::Usage(
        "no place for TUF state: set SIGNET_TUF_HOME, XDG_DATA_HOME or HOME to an absolute path"
            .into(),
    ))
}

/// The local state of the instance at `url` (a TUF repository base URL).
fn store_for(url: &str) -> Result<InstanceStore, Failure> {
    Ok(InstanceStore::new(InstanceStore::dir_for(
        &tuf_home()?,
        url,
    )))
}

fn http() -> Result<reqwest::Client, Failure> {
    signet_sign::SigningClient::default_http().map_err(|e| Failure::Usage(e.to_string()))
}

/// A trusted root and signing config obtained through TUF.
pub struct InstanceTrust {
    /// The instance's trusted root.
    pub trusted_root: TrustedRoot,
    /// Its signing config, when the repository publishes one.
    pub signing_config: Option<SigningConfig>,
}

fn parse_targets(url: &str, targets: &TrustTargets) -> Result<InstanceTrust, Failure> {
    let trusted_root = TrustedRoot::from_json(&targets.trusted_root).map_err(|e| {
        Failure::Usage(format!(
            "instance {url}: {} is not a trusted root: {e}",
            signet_tuf::TRUSTED_ROOT_TARGET
        ))
    })?;
    let signing_config = targets
        .signing_config
        .as_deref()
        .map(SigningConfig::from_json)
        .transpose()
        .map_err(|e| {
            Failure::Usage(format!(
                "instance {url}: {} is not a signing config: {e}",
                signet_tuf::SIGNING_CONFIG_TARGET
            ))
        })?;
    Ok(InstanceTrust {
        trusted_root,
        signing_config,
    })
}

/// Refreshes the instance at `url` through TUF and returns its trust. When the repository
/// cannot be reached, the last verified files are used and a line on stderr says so; anything
/// TUF refuses (expired or rolled-back metadata, a target that does not match) is an error.
pub async fn instance_trust(url: &str) -> Result<InstanceTrust, Failure> {
    let url = url.trim_end_matches('/');
    let store = store_for(url)?;
    if !store.is_bootstrapped() {
        return Err(Failure::Usage(format!(
            "no trust in instance {url} yet: run `signet trust-instance --instance {url} --root ROOT.json` with the instance's TUF root first"
        )));
    }
    let targets = store
        .refresh(url, Transport::new(http()?))
        .await
        .map_err(|e| Failure::Usage(format!("instance {url}: TUF: {}", with_causes(&e))))?;
    if targets.offline {
        eprintln!(
            "signet: offline: {url} cannot be reached; using the trust files verified at its last refresh"
        );
    }
    parse_targets(url, &targets)
}

/// An error and its chain of causes, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Refreshes the instance at `url` through TUF, online: for `trust-instance` and
/// `trust update`, which must not report success from files verified earlier.
async fn refresh_online(url: &str) -> Result<InstanceTrust, Failure> {
    let store = store_for(url)?;
    let targets = store
        .refresh(url, Transport::new(http()?))
        .await
        .map_err(|e| Failure::Usage(format!("instance {url}: TUF: {}", with_causes(&e))))?;
    if targets.offline {
        return Err(Failure::Usage(format!(
            "instance {url}: TUF: the repository cannot be reached; nothing was refreshed"
        )));
    }
    parse_targets(url, &targets)
}

/// [`instance_trust`] on a runtime of its own, for commands that are not async.
pub fn instance_trust_blocking(url: &str) -> Result<InstanceTrust, Failure> {
    runtime()?.block_on(instance_trust(url))
}

/// The trusted root and signing config saved by the last `signet trust update` of the
/// public-good instance, if there was one.
///
/// A saved update that cannot be read is reported on stderr and not used (the built-in files
/// are, then).
pub fn updated_public_good() -> Option<InstanceTrust> {
    let store = store_for(signet_tuf::PUBLIC_GOOD_TUF_URL).ok()?;
    if !store.is_bootstrapped() {
        return None;
    }
    let parsed = match store.cached() {
        Ok(targets) => parse_targets(signet_tuf::PUBLIC_GOOD_TUF_URL, &targets),
        Err(signet_tuf::TufError::NoCachedTargets(_)) => return None,
        Err(e) => Err(Failure::Usage(e.to_string())),
    };
    match parsed {
        Ok(trust) => Some(trust),
        Err(Failure::Usage(why) | Failure::Invalid(why)) => {
            eprintln!(
                "signet: WARNING: ignoring the trust files of the last `signet trust update` ({why}); using the built-in ones"
            );
            None
        }
    }
}

/// `signet trust-instance --instance URL --root ROOT.json`
pub fn trust_instance(args: &TrustInstanceArgs) -> Result<(), Failure> {
    let url = args.instance.trim_end_matches('/');
    let root = read_limited(&args.root, "TUF root", MAX_INPUT_FILE)?;
    let store = store_for(url)?;
    store
        .bootstrap(&root)
        .map_err(|e| Failure::Usage(format!("TUF root {}: {e}", args.root.display())))?;
    let trust = runtime()?.block_on(refresh_online(url))?;
    report(url, &trust);
    Ok(())
}

/// `signet trust update [--staging]`
pub fn trust_update(args: &TrustUpdateArgs) -> Result<(), Failure> {
    let (url, root) = if args.staging {
        (signet_tuf::STAGING_TUF_URL, signet_tuf::STAGING_TUF_ROOT)
    } else {
        (
            signet_tuf::PUBLIC_GOOD_TUF_URL,
            signet_tuf::PUBLIC_GOOD_TUF_ROOT,
        )
    };
    let store = store_for(url)?;
    if !store.is_bootstrapped() {
        store
            .bootstrap(root.as_bytes())
            .map_err(|e| Failure::Usage(format!("built-in TUF root of {url}: {e}")))?;
    }
    let trust = runtime()?.block_on(refresh_online(url))?;
    report(url, &trust);
    Ok(())
}

fn report(url: &str, trust: &InstanceTrust) {
    let root = &trust.trusted_root;
    println!(
        "trusted {url}: {} transparency log(s), {} CA(s), {} CT log(s), {} timestamp authority(ies){}",
        root.tlogs.len(),
        root.certificate_authorities.len(),
        root.ctlogs.len(),
        root.timestamp_authorities.len(),
        if trust.signing_config.is_some() {
            ", and a signing config"
        } else {
            ""
        }
    );
    println!("use it with: --instance {url}");
}
