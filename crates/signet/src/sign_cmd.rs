//! `signet sign-blob`, `signet attest-blob` and `signet sign-bundle`: pick the services,
//! obtain an identity token, sign through `signet_sign`, write the bundle.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Duration;

use crate::Failure;
use crate::cli::{AttestBlobArgs, OutputFormat, SignBlobArgs, SignBundleArgs, SigningArgs};
use crate::common::{
    MAX_INPUT_FILE, now, public_good_root, read_limited, read_trust_config, read_trusted_root,
    runtime,
};
use signet_formats::signing_config::PUBLIC_GOOD_SIGNING_CONFIG;
use signet_formats::{SigningConfig, Timestamp, TrustedRoot};
use signet_sign::{Credentials, Progress, SignError, Signed, SigningClient, SigningKey, Step};

/// Largest file signed (1 GiB); bigger artifacts should be signed by digest.
const MAX_ARTIFACT: u64 = 1 << 30;
/// Largest signing config read.
const MAX_SIGNING_CONFIG: u64 = 1 << 20;

/// The trusted root and signing config to use: `--instance` (refreshed over TUF),
/// `--trust-config`, or `--trusted-root` and `--signing-config` (each defaulting to the
/// public-good one of the last `signet trust update`, else the built-in one).
pub async fn load_config(args: &SigningArgs) -> Result<(TrustedRoot, SigningConfig), Failure> {
    if let Some(url) = &args.instance {
        let trust = crate::trust_cmd::instance_trust(url).await?;
        let signing = trust.signing_config.ok_or_else(|| {
            Failure::Usage(format!(
                "instance {url} publishes no {}: it cannot be signed with",
                signet_tuf::SIGNING_CONFIG_TARGET
            ))
        })?;
        return Ok((trust.trusted_root, signing));
    }
    if let Some(path) = &args.trust_config {
        let c = read_trust_config(path)?;
        return Ok((c.trusted_root, c.signing_config));
    }
    // The last `signet trust update`, read once, so that the root and the signing config come
    // from the same update.
    let updated = if args.trusted_root.is_none() || args.signing_config.is_none() {
        crate::trust_cmd::updated_public_good()
    } else {
        None
    };
    let (updated_root, updated_signing) = match updated {
        Some(u) => (Some(u.trusted_root), u.signing_config),
        None => (None, None),
    };
    let root = match (&args.trusted_root, updated_root) {
        (Some(path), _) => read_trusted_root(path)?,
        (None, Some(updated)) => updated,
        (None, None) => public_good_root()?,
    };
    let signing = match (&args.signing_config, updated_signing) {
        (Some(path), _) => {
            SigningConfig::from_json(&read_limited(path, "signing config", MAX_SIGNING_CONFIG)?)
                .map_err(|e| Failure::Usage(format!("signing config {}: {e}", path.display())))?
        }
        (None, Some(updated)) => updated,
        (None, None) => SigningConfig::from_json(PUBLIC_GOOD_SIGNING_CONFIG.as_bytes())
            .map_err(|e| Failure::Usage(format!("built-in signing config: {e}")))?,
    };
    Ok((root, signing))
}

/// A signing client for the selected services, with the signer's credentials: a key from
/// `--key`, or an identity token found as [`identity_token`] describes.
pub struct SignSetup {
    pub client: SigningClient,
    signer: Signer,
}

/// What signs: a key, or (keyless) the identity token the CA certifies a fresh key for.
enum Signer {
    Key(Box<dyn SigningKey>),
    Token(String),
}

impl SignSetup {
    /// Loads the trust files, selects the services valid at `now`, and obtains the credentials
    /// (which may mean an interactive login).
    pub async fn prepare(args: &SigningArgs, now: i64) -> Result<Self, Failure> {
        let (root, signing) = load_config(args).await?;
        let keyless = args.key.is_none();
        let services =
            signet_sign::select_services(&signing, Timestamp::from_unix_seconds(now), keyless)
                .map_err(sign_failure)?;
        let http = SigningClient::default_http().map_err(sign_failure)?;
        let oidc_url = services.oidc_url.clone();
        let client = SigningClient::new(&root, services, http.clone()).map_err(sign_failure)?;
        let signer = match &args.key {
            Some(path) => Signer::Key(crate::keyfile::load_signing_key(path)?),
            None => {
                let token = identity_token(args, &http, oidc_url.as_deref()).await?;
                if let Ok(identity) = signet_sign::token::token_identity(&token) {
                    eprintln!("signet: token: identity {identity}");
                }
                Signer::Token(token)
            }
        };
        Ok(SignSetup { client, signer })
    }

    /// The credentials to sign with.
    pub fn credentials(&self) -> Credentials<'_> {
        match &self.signer {
            Signer::Key(key) => Credentials::Key {
                key: key.as_ref(),
                hint: String::new(),
            },
            Signer::Token(token) => Credentials::Keyless { token },
        }
    }
}

/// Prints each step on stderr.
struct Stderr;

impl Progress for Stderr {
    fn started(&self, step: Step, url: &str) {
        if url.is_empty() {
            eprintln!("signet: {}…", step.name());
        } else {
            eprintln!("signet: {}: {url}", step.name());
        }
    }

    fn finished(&self, step: Step, detail: &str, took: Duration) {
        eprintln!(
            "signet: {}: {detail} ({:.1} ms)",
            step.name(),
            took.as_secs_f64() * 1000.0
        );
    }
}

fn sign_failure(e: SignError) -> Failure {
    Failure::Usage(format!("signing failed: {e}"))
}

/// Finds an identity token: the flag, the environment, the dev issuer, an interactive login.
async fn identity_token(
    args: &SigningArgs,
    http: &reqwest::Client,
    oidc_url: Option<&str>,
) -> Result<String, Failure> {
    if let Some(token) = &args.identity_token {
        return Ok(token.trim().to_owned());
    }
    if let Some(token) = signet_sign::token::ambient_token(http)
        .await
        .map_err(sign_failure)?
    {
        return Ok(token);
    }
    let issuer = oidc_url.ok_or_else(|| {
        Failure::Usage(
            "no identity token: pass --identity-token or set SIGSTORE_ID_TOKEN (the signing \
             config names no OIDC provider to log in with)"
                .into(),
        )
    })?;
    if let Some(subject) = &args.dev_subject {
        eprintln!("signet: token: development issuer {issuer} for {subject}");
        return signet_sign::token::dev_token(http, issuer, subject, 900)
            .await
            .map_err(sign_failure);
    }
    let wait = Duration::from_secs(300);
    let flow = match &args.oidc_flow {
        Some(flow) => flow.as_str(),
        // Nobody could complete a login started without a terminal: fail instead of waiting.
        None if std::io::stdin().is_terminal() || std::io::stderr().is_terminal() => "browser",
        None => {
            return Err(Failure::Usage(
                "no identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, use \
                 --dev-subject with signet up, or choose a login with --oidc-flow \
                 browser|device (not started by default without a terminal)"
                    .into(),
            ));
        }
    };
    match flow {
        "device" => {
            signet_sign::token::device_flow(http, issuer, "sigstore", wait, &|url, code| {
                eprintln!("signet: to sign in, open {url} and enter the code {code}");
            })
            .await
            .map_err(sign_failure)
        }
        "browser" => signet_sign::token::browser_flow(http, issuer, "sigstore", wait, &|url| {
            eprintln!("signet: to sign in, open this address in a browser:\n  {url}");
        })
        .await
        .map_err(sign_failure),
        other => Err(Failure::Usage(format!(
            "--oidc-flow {other:?}: expected browser or device"
        ))),
    }
}

enum What {
    Blob(Vec<u8>),
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
    },
}

async fn sign(args: &SigningArgs, what: What, bundle_path: &Path) -> Result<(), Failure> {
    let now = now();
    let setup = SignSetup::prepare(args, now).await?;
    let (client, credentials) = (&setup.client, setup.credentials());
    let signed: Signed = match what {
        What::Blob(bytes) => client
            .sign_artifact(credentials, &bytes, now, &Stderr)
            .await
            .map_err(sign_failure)?,
        What::Dsse {
            payload_type,
            payload,
        } => client
            .sign_dsse(credentials, &payload_type, payload, now, &Stderr)
            .await
            .map_err(sign_failure)?,
    };
    std::fs::write(bundle_path, signed.bundle.to_json())
        .map_err(|e| Failure::Usage(format!("writing {}: {e}", bundle_path.display())))?;
    let t = &signed.timings;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match args.output {
        OutputFormat::Text => {
            eprintln!(
                "signet: wrote {} ({:.1} ms: {:.1} in this client, {:.1} certificate, {:.1} log, {:.1} timestamp)",
                bundle_path.display(),
                ms(t.total),
                ms(t.client()),
                ms(t.certificate),
                ms(t.log),
                ms(t.timestamp)
            );
        }
        OutputFormat::Json => {
            let entries: Vec<serde_json::Value> = signed
                .bundle
                .verification_material
                .tlog_entries
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "logIndex": e.log_index,
                        "kind": e.kind_version.kind,
                        "version": e.kind_version.version,
                    })
                })
                .collect();
            let out = serde_json::json!({
                "bundle": bundle_path.display().to_string(),
                "identity": signed.identity,
                "issuer": signed.issuer,
                "tlogEntries": entries,
                "timestamps": signed.bundle.verification_material.timestamp_verification_data
                    .as_ref().map_or(0, |t| t.rfc3161_timestamps.len()),
                "timingsMs": {
                    "total": ms(t.total),
                    "client": ms(t.client()),
                    "certificate": ms(t.certificate),
                    "log": ms(t.log),
                    "timestamp": ms(t.timestamp),
                },
            });
            println!("{out}");
        }
    }
    Ok(())
}

/// `signet sign-blob`.
pub fn sign_blob(args: &SignBlobArgs) -> Result<(), Failure> {
    let data = read_limited(&args.file, "file", MAX_ARTIFACT)?;
    runtime()?.block_on(sign(&args.signing, What::Blob(data), &args.bundle))
}

/// `signet attest-blob`: an in-toto v1 statement about the file, in a DSSE envelope.
pub fn attest_blob(args: &AttestBlobArgs) -> Result<(), Failure> {
    let data = read_limited(&args.file, "file", MAX_ARTIFACT)?;
    let predicate: serde_json::Value =
        serde_json::from_slice(&read_limited(&args.predicate, "predicate", MAX_INPUT_FILE)?)
            .map_err(|e| {
                Failure::Usage(format!(
                    "predicate {}: not JSON: {e}",
                    args.predicate.display()
                ))
            })?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data);
    let name = args
        .file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": name, "digest": { "sha256": hex::encode(digest.as_ref()) } }],
        "predicateType": crate::common::predicate_type_uri(&args.predicate_type),
        "predicate": predicate,
    });
    runtime()?.block_on(sign(
        &args.signing,
        What::Dsse {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: statement.to_string().into_bytes(),
        },
        &args.bundle,
    ))
}

/// `signet sign-bundle` (conformance protocol).
pub fn sign_bundle(args: &SignBundleArgs) -> Result<(), Failure> {
    if args.staging && (args.trusted_root.is_none() || args.signing_config.is_none()) {
        return Err(Failure::Usage(
            "--staging needs --trusted-root and --signing-config: only the public-good instance is built in".into(),
        ));
    }
    let data = read_limited(&args.file, "file", MAX_ARTIFACT)?;
    let signing = SigningArgs {
        identity_token: Some(args.identity_token.clone()),
        dev_subject: None,
        oidc_flow: None,
        key: None,
        trust_config: None,
        trusted_root: args.trusted_root.clone(),
        signing_config: args.signing_config.clone(),
        instance: None,
        output: OutputFormat::Text,
    };
    let what = if args.in_toto {
        What::Dsse {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: data,
        }
    } else {
        What::Blob(data)
    };
    runtime()?.block_on(sign(&signing, what, &args.bundle))
}
