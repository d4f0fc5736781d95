//! `signet log info|get|search`: read a Rekor v1, Rekor v2 (tlog-tiles) or CT log and verify
//! everything read (`signet-audit`); the flags, the state file and the output are here.

use crate::Failure;
use crate::cli::{OutputFormat, TrustRootArgs};
use clap::{Args, Subcommand};
use signet_audit::{AuditError, DecodedEntry, Http, LogKind, LogReader, MonitorState, TreeHead};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `signet log ...`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print the log's latest tree head, verified with the log's key from the trusted root;
    /// with --state, prove it consistent with the one saved there and save it.
    Info(LogInfoArgs),
    /// Print one entry, decoded, with its inclusion in the log proven.
    Get(LogGetArgs),
    /// Search a Rekor v1 log's index; every hit is fetched and verified.
    Search(LogSearchArgs),
}

/// Which log to read and what to trust, shared by `signet log` and `signet monitor`.
#[derive(Debug, Args)]
pub struct LogTargetArgs {
    /// The log's base URL, as a signing config lists it (e.g. `http://127.0.0.1:3000`; for
    /// a CT log the URL `/ct/v1/...` hangs off).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// The log's API: 1 (Rekor v1 REST API) or 2 (Rekor v2, read as C2SP tlog-tiles).
    /// Default: what the trust config's signing config (or the trusted root's key type) says
    /// for this URL; `signet up` serves both at one URL, so there it must be given.
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u8).range(1..=2), conflicts_with = "ct")]
    pub api_version: Option<u8>,

    /// Read an RFC 6962 certificate-transparency log (`<URL>/ct/v1/...`) instead.
    #[arg(long)]
    pub ct: bool,

    /// The trusted root whose log keys verify what is read.
    #[command(flatten)]
    pub trust: TrustRootArgs,
}

/// `signet log info`
#[derive(Debug, Args)]
pub struct LogInfoArgs {
    /// The log.
    #[command(flatten)]
    pub target: LogTargetArgs,

    /// A file holding the last tree head seen: the new one must be consistent with it, and
    /// replaces it (written durably, only once verified). Created if missing.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `signet log get`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["index", "uuid"])))]
pub struct LogGetArgs {
    /// The log.
    #[command(flatten)]
    pub target: LogTargetArgs,

    /// The entry's index.
    #[arg(long, value_name = "N")]
    pub index: Option<u64>,

    /// The entry's UUID or entry ID (Rekor v1 only).
    #[arg(long, value_name = "UUID")]
    pub uuid: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `signet log search`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["sha256", "artifact", "email", "public_key"])))]
pub struct LogSearchArgs {
    /// The log (Rekor v1).
    #[command(flatten)]
    pub target: LogTargetArgs,

    /// Entries for this artifact digest (64 hex digits).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Entries for this file's SHA-256.
    #[arg(long, value_name = "FILE")]
    pub artifact: Option<PathBuf>,

    /// Entries whose certificate names this email address.
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,

    /// Entries signed with this public key or certificate (PEM file).
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// At most this many search hits are fetched.
const MAX_SEARCH_HITS: usize = 1000;

/// Largest public key file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// Largest state file read.
const MAX_STATE_FILE: u64 = 1 << 20;

/// The exit code an audit error deserves: the log serving something that does not verify is
/// 1, anything else (unreachable, asked wrongly) 2.
pub fn failure(e: AuditError) -> Failure {
    if e.is_verification_failure() {
        Failure::Invalid(e.to_string())
    } else {
        Failure::Usage(e.to_string())
    }
}

/// Which API `args` asks for: the flags, else what the trust config or trusted root says for
/// the URL.
fn log_kind(
    args: &LogTargetArgs,
    trust: &signet_verify::TrustMaterial,
) -> Result<LogKind, Failure> {
    if args.ct {
        return Ok(LogKind::Ct);
    }
    match args.api_version {
        Some(1) => return Ok(LogKind::RekorV1),
        Some(_) => return Ok(LogKind::RekorV2),
        None => {}
    }
    let url = args.url.trim_end_matches('/');
    let mut versions: Vec<u32> = Vec::new();
    if let Some(path) = &args.trust.trust_config {
        let config = crate::common::read_trust_config(path)?;
        versions.extend(
            config
                .signing_config
                .rekor_tlog_urls
                .iter()
                .filter(|s| s.url.trim_end_matches('/') == url)
                .map(|s| s.major_api_version),
        );
    }
    if versions.is_empty() {
        versions.extend(
            trust
                .tlogs
                .iter()
                .filter(|l| l.base_url.trim_end_matches('/') == url)
                .map(|l| {
                    if l.key.kind() == signet_x509::KeyKind::Ed25519 {
                        2
                    } else {
                        1
                    }
                }),
        );
    }
    versions.sort_unstable();
    versions.dedup();
    match versions.as_slice() {
        [1] => Ok(LogKind::RekorV1),
        [2] => Ok(LogKind::RekorV2),
        [] => Err(Failure::Usage(format!(
            "neither the trust config nor the trusted root lists a log at {url}: give --api-version 1|2 or --ct"
        ))),
        _ => Err(Failure::Usage(format!(
            "{url} serves both Rekor APIs (as `signet up` does): give --api-version 1 or 2 (or --ct for its CT log)"
        ))),
    }
}

/// Opens a verifying reader of the log `args` names.
pub async fn open_reader(args: &LogTargetArgs) -> Result<LogReader, Failure> {
    let trust = crate::common::load_trust_async(&args.trust, false).await?;
    let kind = log_kind(args, &trust)?;
    let http = Http::new().map_err(failure)?;
    LogReader::open(http, kind, &args.url, trust)
        .await
        .map_err(failure)
}

/// Reads a state file; `None` if it does not exist.
pub fn read_state(path: &Path) -> Result<Option<MonitorState>, Failure> {
    if !path.exists() {
        return Ok(None);
    }
    let data = crate::common::read_limited(path, "state file", MAX_STATE_FILE)?;
    MonitorState::from_json(&data, &path.display().to_string())
        .map(Some)
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// Saves a state file durably (atomic replace, fsynced).
pub fn write_state(path: &Path, state: &MonitorState) -> Result<(), Failure> {
    signet_durable::write(
        path,
        state.to_json().as_bytes(),
        signet_durable::Mode::Public,
    )
    .map_err(|e| Failure::Usage(format!("cannot save the state {}: {e}", path.display())))
}

fn head_json(reader: &LogReader, head: &TreeHead) -> serde_json::Value {
    serde_json::json!({
        "log": reader.url(),
        "log_kind": head.kind.name(),
        "origin": head.origin,
        "size": head.size,
        "root_hash": hex::encode(head.root.0),
        "log_id": head.log_id,
        "timestamp_ms": head.timestamp_ms,
    })
}

/// Runs `signet log info`.
pub fn info(args: &LogInfoArgs) -> Result<(), Failure> {
    crate::common::runtime()?.block_on(async {
        let reader = open_reader(&args.target).await?;
        let head = reader.latest().await.map_err(failure)?;
        let mut consistent_from = None;
        if let Some(path) = &args.state {
            let previous = read_state(path)?;
            let mut peaks = None;
            if let Some(state) = &previous {
                let old = state
                    .verified_head(&reader, &path.display().to_string())
                    .map_err(|e| Failure::Usage(e.to_string()))?;
                signet_audit::check_same_log(&old, &head, &path.display().to_string())
                    .map_err(|e| Failure::Usage(e.to_string()))?;
                reader
                    .prove_consistency(&old, &head)
                    .await
                    .map_err(failure)?;
                consistent_from = Some(old.size);
                if old.size == head.size {
                    peaks = state.peaks.clone();
                }
            }
            let mut state = MonitorState::new(reader.url(), &head, None);
            state.peaks = peaks;
            write_state(path, &state)?;
        }
        match args.output {
            OutputFormat::Json => {
                let mut value = head_json(&reader, &head);
                if let (Some(from), Some(object)) = (consistent_from, value.as_object_mut()) {
                    object.insert("consistent_from".into(), from.into());
                }
                println!("{value}");
            }
            OutputFormat::Text => {
                println!("log: {} ({})", reader.url(), head.kind.name());
                println!("origin: {}", head.origin);
                println!("size: {}", head.size);
                println!("root hash: {}", hex::encode(head.root.0));
                println!("log ID: {}", head.log_id);
                if let Some(from) = consistent_from {
                    println!("consistent with the saved tree head of size {from}");
                }
            }
        }
        Ok(())
    })
}

fn print_entry(reader: &LogReader, entry: &DecodedEntry, output: OutputFormat) {
    match output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(entry).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("log".into(), reader.url().into());
                object.insert("log_kind".into(), reader.kind().name().into());
            }
            println!("{value}");
        }
        OutputFormat::Text => {
            println!(
                "entry {} in {} ({})",
                entry.index,
                reader.url(),
                reader.kind().name()
            );
            println!("  kind: {} {}", entry.kind, entry.version);
            if let Some(digest) = &entry.artifact_digest {
                println!("  artifact: {digest}");
            }
            for signer in &entry.signers {
                if let Some(identity) = &signer.identity {
                    println!("  identity: {identity}");
                }
                if let Some(issuer) = &signer.issuer {
                    println!("  issuer: {issuer}");
                }
                if let Some(serial) = &signer.certificate_serial {
                    println!("  certificate serial: {serial}");
                }
                if let Some(fp) = &signer.certificate_sha256 {
                    println!("  certificate SHA-256: {fp}");
                }
                if let Some(fp) = &signer.public_key_sha256 {
                    println!("  public key SHA-256: {fp}");
                }
            }
            if let Some(time) = entry.time {
                println!("  time: {time}");
            }
            println!("  leaf hash: {}", entry.leaf_hash);
        }
    }
}

/// Runs `signet log get`.
pub fn get(args: &LogGetArgs) -> Result<(), Failure> {
    crate::common::runtime()?.block_on(async {
        let reader = open_reader(&args.target).await?;
        let now = crate::common::now();
        let entry = match (&args.index, &args.uuid) {
            (Some(index), _) => {
                let head = reader.latest().await.map_err(failure)?;
                reader.get(*index, &head, now).await.map_err(failure)?
            }
            (None, Some(uuid)) => reader.get_by_uuid(uuid, now).await.map_err(failure)?,
            (None, None) => return Err(Failure::Usage("give --index or --uuid".into())),
        };
        print_entry(&reader, &entry, args.output);
        Ok(())
    })
}

fn sha256_of_file(path: &Path) -> Result<String, Failure> {
    let mut file = crate::common::open_regular(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        ctx.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// Runs `signet log search`.
pub fn search(args: &LogSearchArgs) -> Result<(), Failure> {
    use base64::Engine;
    let query = if let Some(hex_digest) = &args.sha256 {
        if hex_digest.len() != 64 || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::Usage(format!(
                "--sha256 {hex_digest:?} is not 64 hex digits"
            )));
        }
        serde_json::json!({ "hash": format!("sha256:{}", hex_digest.to_ascii_lowercase()) })
    } else if let Some(path) = &args.artifact {
        serde_json::json!({ "hash": format!("sha256:{}", sha256_of_file(path)?) })
    } else if let Some(email) = &args.email {
        serde_json::json!({ "email": email })
    } else if let Some(path) = &args.public_key {
        let pem = crate::common::read_limited(path, "public key", MAX_KEY_FILE)?;
        serde_json::json!({ "publicKey": {
            "format": "x509",
            "content": base64::engine::general_purpose::STANDARD.encode(pem),
        }})
    } else {
        return Err(Failure::Usage(
            "give --sha256, --artifact, --email or --public-key".into(),
        ));
    };
    crate::common::runtime()?.block_on(async {
        let reader = open_reader(&args.target).await?;
        if reader.kind() != LogKind::RekorV1 {
            return Err(Failure::Usage(
                "only Rekor v1 logs have a search index: give --api-version 1".into(),
            ));
        }
        let entries = reader
            .search(query, MAX_SEARCH_HITS, crate::common::now())
            .await
            .map_err(failure)?;
        if args.output == OutputFormat::Text && entries.is_empty() {
            println!("no entries found");
        }
        for entry in &entries {
            print_entry(&reader, entry, args.output);
        }
        Ok(())
    })
}
