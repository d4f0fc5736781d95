//! Command-line flags: the clap definitions of every command.
//!
//! Not every flag has a unit test. The `tests` module at the end of this file runs clap's own
//! checks of the whole definition (`definitions_are_consistent`), and tests (`flag_*`,
//! `flags_*`) only the flags with a rule of their own: required, repeatable or conflicting
//! flags, defaults that must equal a library's, values parsed into durations, issuers or
//! shells. The others have no test of their own; the binary's integration tests
//! (`crates/signet/tests/`) pass many of them to the commands they run.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// signet: a Sigstore transparency log, certificate authority and client in one binary.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line. Verification, which scripts run once per artifact, takes a
    /// short cut: only the invoked subcommand's parser is built (the whole tree was 7% of a
    /// `verify-bundle` run). Anything the short cut does not accept (help, a bad flag) is
    /// parsed again by the whole tree, so messages and exit codes are the same.
    pub fn parse_args() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        match Cli::parse_verification(&args) {
            Some(cli) => cli,
            None => Cli::from_arg_matches(&Cli::command().get_matches_from(&args))
                .unwrap_or_else(|e| e.exit()),
        }
    }

    /// The short cut of [`Cli::parse_args`]: `args` parsed by the invoked verification
    /// subcommand's parser alone, or `None` for anything else and anything it refuses.
    fn parse_verification(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::FromArgMatches;
        args.get(1).and_then(|a| a.to_str()).and_then(|name| {
            let sub = match name {
                "verify-bundle" => VerifyArgs::augment_args(clap::Command::new("verify-bundle")),
                "verify-blob" => VerifyBlobArgs::augment_args(clap::Command::new("verify-blob")),
                _ => return None,
            };
            let matches = clap::Command::new("signet")
                .subcommand(sub)
                .try_get_matches_from(args)
                .ok()?;
            Cli::from_arg_matches(&matches).ok()
        })
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with C2SP signed notes and checkpoints.
    Note {
        /// What to do with notes.
        #[command(subcommand)]
        command: NoteCommand,
    },
    /// Verify a blob against a Sigstore bundle, a legacy cosign bundle, or a detached
    /// signature (cosign-compatible flags). Offline, except that a detached signature's log
    /// entry is looked up in a Rekor v1 log.
    VerifyBlob(VerifyBlobArgs),
    /// Verify an in-toto attestation bundle about a blob (cosign-compatible flags). Offline.
    VerifyBlobAttestation(VerifyBlobAttestationArgs),
    /// Verify a bundle, as the Sigstore conformance client protocol calls it. Offline.
    VerifyBundle(VerifyArgs),
    /// Run a whole private Sigstore in one process: Rekor v1 and v2 logs, the CA with its CT
    /// log, the timestamp authority and (only on loopback, or with --dev-oidc) a development
    /// OIDC issuer. Writes
    /// trusted_root.json, signing_config.json and trust_config.json into the data directory.
    Up(UpArgs),
    /// Print a development ID token from a `signet up` development issuer (development only).
    DevToken(DevTokenArgs),
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs given by --log once each
    /// is proven consistent with the last one cosigned (POST /add-checkpoint).
    Witness(crate::witness_cmd::WitnessArgs),
    /// Sign a file (keyless with an OIDC identity, or with --key) and write a Sigstore bundle.
    SignBlob(SignBlobArgs),
    /// Sign an in-toto attestation about a file (DSSE envelope) and write a Sigstore bundle.
    AttestBlob(AttestBlobArgs),
    /// Sign as the Sigstore conformance client protocol calls it.
    SignBundle(SignBundleArgs),
    /// Run a server.
    Serve {
        /// Which server.
        #[command(subcommand)]
        command: ServeCommand,
    },
    /// Create a cosign-format key pair: `<prefix>.key` (encrypted, mode 0600) and
    /// `<prefix>.pub`. The password comes from COSIGN_PASSWORD / SIGNET_PASSWORD or a prompt.
    GenerateKeyPair(GenerateKeyPairArgs),
    /// Re-encrypt an existing PEM private key (PKCS#8, SEC1, PKCS#1) as a cosign key pair.
    ImportKeyPair(ImportKeyPairArgs),
    /// Print the public key (PEM) of a private key file.
    PublicKey(PublicKeyArgs),
    /// Sign a container image and store the bundle next to it in its registry.
    Sign(ImageSignArgs),
    /// Verify a container image's signatures (bundles and legacy `.sig`) against a policy.
    Verify(ImageVerifyArgs),
    /// Sign an in-toto attestation about a container image and store it in its registry.
    Attest(ImageAttestArgs),
    /// Verify a container image's attestations of one predicate type against a policy.
    VerifyAttestation(ImageVerifyAttestationArgs),
    /// Print a shell completion script for signet, e.g. `signet completions bash >
    /// /etc/bash_completion.d/signet`.
    Completions(CompletionsArgs),
    /// Print signet's man page (roff), e.g. `signet man > /usr/local/share/man/man1/signet.1`,
    /// or a command's: `signet man verify-blob > .../signet-verify-blob.1`.
    Man(ManArgs),
    /// Trust a Sigstore instance through its TUF repository, starting from its TUF root (the
    /// `tuf-root.json` of `signet up`); afterwards `--instance URL` works on the signing and
    /// verifying commands.
    TrustInstance(TrustInstanceArgs),
    /// Trust files of the Sigstore public-good instance, over TUF.
    Trust {
        /// What to do.
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Read a transparency log (Rekor v1, Rekor v2 tiles, or CT) and verify what is read:
    /// tree heads, consistency, entries with their inclusion proofs, Rekor v1 search.
    Log {
        /// What to read.
        #[command(subcommand)]
        command: crate::log_cmd::LogCommand,
    },
    /// Watch a transparency log: prove each new tree head consistent with the last, read
    /// every new entry, report those of watched identities or keys, and alert on forks.
    Monitor(crate::monitor_cmd::MonitorArgs),
    /// Keep the CA's root offline: make the root, the intermediate's key and request, and
    /// sign the request with the root (then `signet up --ca-chain`; for the next
    /// intermediate, the same steps, then `signet up --ca-chain NEW.pem --rotate ca`).
    Ca {
        /// Which step.
        #[command(subcommand)]
        command: crate::ca_cmd::CaCommand,
    },
    /// Make the service keys in an HSM (PKCS#11 token) before the first `signet up`.
    Hsm {
        /// What to do.
        #[command(subcommand)]
        command: crate::hsm_cmd::HsmCommand,
    },
}

/// `signet trust-instance`
#[derive(Debug, Args)]
pub struct TrustInstanceArgs {
    /// The instance's TUF repository URL, e.g. `http://127.0.0.1:3000/tuf` for `signet up`.
    #[arg(long, value_name = "URL")]
    pub instance: String,

    /// The instance's TUF root metadata (`root.json`; `signet up` writes `tuf-root.json`).
    #[arg(long, value_name = "FILE")]
    pub root: PathBuf,
}

/// `signet trust ...`
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Refresh the public-good (or staging) trusted root and signing config over TUF, from
    /// the built-in TUF root. Without a refresh (or without network) the built-in trusted
    /// root stays the default.
    Update(TrustUpdateArgs),
}

/// `signet trust update`
#[derive(Debug, Args)]
pub struct TrustUpdateArgs {
    /// The Sigstore staging instance instead of public-good.
    #[arg(long)]
    pub staging: bool,
}

/// `signet completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `signet man`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `verify-blob` or `serve log`; none for signet(1).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `signet serve ...`
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// A transparency log: Rekor v1 and v2 APIs and tlog-tiles reads. Keys, stores and
    /// `trusted_root.json` live in the data directory.
    Log(ServeLogArgs),
    /// A Fulcio-compatible CA (API v2) with its CT log for embedded SCTs and, with
    /// `--dev-oidc`, the development OIDC issuer. Keys, stores and `trusted_root.json` (the CA
    /// and the CT log) live in the data directory.
    Ca(ServeCaArgs),
    /// An RFC 3161 timestamp authority (`/api/v1/timestamp`, `/api/v1/timestamp/certchain`).
    /// Its key and certificate chain live in the data directory.
    Tsa(ServeTsaArgs),
}

/// `signet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub listen: std::net::SocketAddr,

    /// Data directory (created if missing): keys, logs, trust files.
    #[arg(long, value_name = "DIR", default_value = "signet-data")]
    pub data: PathBuf,

    /// The base URL clients use. Default: `http://<listen>`. Keep it stable for a data
    /// directory: the trust files name it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Keep the transparency logs and the CT log in this PostgreSQL database instead of the
    /// data directory. Several replicas may share one database if their data directories hold
    /// the same key files and they share `--public-url`: one sequences each log, the others
    /// serve reads and forward writes to it, and take over if it stops.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// With `--database`: the URL the other replicas reach this one at directly, to forward
    /// log entries and precertificates to it while it sequences. Default:
    /// `http://<listen address>`.
    #[arg(long, value_name = "URL", requires = "database")]
    pub peer_url: Option<String>,

    /// Also accept tokens from this OIDC issuer (email identities, client ID `sigstore`).
    /// Repeatable.
    #[arg(long = "oidc-issuer", value_name = "URL")]
    pub oidc_issuers: Vec<String>,

    /// Accept tokens from the issuers of this Fulcio-format configuration file
    /// (`{"OIDCIssuers": {...}}`).
    #[arg(long = "oidc-config", value_name = "FILE")]
    pub oidc_config: Option<PathBuf>,

    /// Run the development OIDC issuer at `<public-url>/oidc` even though the listen address
    /// or the public URL is not loopback, or a real issuer is configured (it then comes after
    /// the real ones). It hands a token for any identity to anyone who asks: development only.
    #[arg(long, conflicts_with = "no_dev_oidc")]
    pub dev_oidc: bool,

    /// Do not run the development OIDC issuer. By default it runs only when the listen address
    /// and the public URL are both loopback and neither --oidc-issuer nor --oidc-config is
    /// given.
    #[arg(long)]
    pub no_dev_oidc: bool,

    /// Serve the CT log's `POST /ct/v1/add-pre-chain` to anyone. Off by default: the CA logs
    /// its precertificates itself, in process, and the route then answers 404.
    #[arg(long)]
    pub ct_public_add: bool,

    /// Bytes the transparency logs' caches may hold together (redb's page caches, tiles,
    /// entry answers, proofs), whatever the size of the logs. At least 16 MiB.
    #[arg(long, value_name = "BYTES", default_value = "268435456", value_parser = clap::value_parser!(u64).range(16_777_216..=1_099_511_627_776))]
    pub cache_bytes: u64,

    /// With `--database`, while another server sequences: how old, in milliseconds, this one's
    /// copy of a log's checkpoint may get before a read looks at the database's again. Every
    /// checkpoint commit notifies the other servers, so a copy is normally only as old as that
    /// notification; this bounds it if notifications are lost. 0 reads the database's
    /// checkpoint on every request.
    #[arg(long, value_name = "MS", default_value = "1000", requires = "database", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub follower_max_staleness_ms: u64,

    /// Replace this service's signing key at start (repeatable). The old key stays in
    /// trusted_root.json, valid until now, so what it signed still verifies; the new one signs
    /// from now on. Clients trusting the instance over TUF see it at their next refresh.
    /// Give it for one start only: every start with it rotates again. For a CA whose root is
    /// kept offline, `--rotate ca` installs the next intermediate: `signet ca
    /// init-intermediate --data DATA` (kept pending in DATA/ca/pending/), sign its request with
    /// the root, then `--ca-chain NEW-CHAIN.pem --rotate ca` (with an HSM key, its
    /// `--pkcs11-key ca=NEWLABEL`). A crash midway is finished by the same flags.
    #[arg(long = "rotate", value_name = "SERVICE")]
    pub rotate: Vec<RotateArg>,

    /// How long the TUF metadata under `/tuf/` is valid once signed.
    #[command(flatten)]
    pub tuf: TufExpiryArgs,

    /// What must accept the logs' checkpoints before they are published.
    #[command(flatten)]
    pub guards: LogGuardArgs,

    /// Another origin (`https://host[:port]`) whose Rekor logs the log explorer's pages may
    /// read (`/?log=<url>`); added to their Content-Security-Policy. Repeatable.
    #[arg(long = "explorer-connect", value_name = "ORIGIN")]
    pub explorer_connect: Vec<String>,

    /// The CA chain (intermediate, then root) signed by a root kept offline for the key of
    /// `signet ca init-intermediate`: installed into DATA/ca at start, after which the CA
    /// serves with the intermediate only. The same chain on a later start is accepted. With
    /// `--rotate ca`: the next intermediate's chain (same root), for the key pending in
    /// DATA/ca/pending/ or the HSM's `ca` key.
    #[arg(long, value_name = "CHAIN.pem")]
    pub ca_chain: Option<PathBuf>,

    /// Service keys in an HSM instead of key files in the data directory.
    #[command(flatten)]
    pub pkcs11: crate::pkcs11_args::Pkcs11Args,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// How long each TUF role's metadata is valid once signed. The running server re-signs each
/// role (the root too: its key is online, in the data directory) when half of that has passed.
/// Periods are a number with a unit: `30s`, `90m`, `12h`, `7d`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "TUF repository")]
pub struct TufExpiryArgs {
    /// The timestamp role's period (clients see a key change within it).
    #[arg(long = "tuf-timestamp-expiry", value_name = "PERIOD", default_value = "1d", value_parser = parse_period)]
    pub timestamp: std::time::Duration,

    /// The snapshot role's period.
    #[arg(long = "tuf-snapshot-expiry", value_name = "PERIOD", default_value = "7d", value_parser = parse_period)]
    pub snapshot: std::time::Duration,

    /// The targets role's period.
    #[arg(long = "tuf-targets-expiry", value_name = "PERIOD", default_value = "90d", value_parser = parse_period)]
    pub targets: std::time::Duration,

    /// The root role's period.
    #[arg(long = "tuf-root-expiry", value_name = "PERIOD", default_value = "365d", value_parser = parse_period)]
    pub root: std::time::Duration,
}

/// A period with a unit (`s`, `m`, `h`, `d`): at least 2 seconds, at most 10 years.
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: give a unit (s, m, h or d), e.g. 12h"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a period (e.g. 30s, 90m, 12h, 7d)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    let seconds = number
        .checked_mul(scale)
        .filter(|s| (2..=10 * 366 * 86_400).contains(s))
        .ok_or_else(|| format!("{text:?}: must be from 2 seconds to 10 years"))?;
    Ok(std::time::Duration::from_secs(seconds))
}

/// A service whose key `signet up --rotate` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RotateArg {
    /// The Rekor v1 log's key (checkpoints, SETs); same tree and tree ID.
    #[value(name = "rekor-v1")]
    RekorV1,
    /// The Rekor v2 log's key (checkpoints); same tree.
    #[value(name = "rekor-v2")]
    RekorV2,
    /// The CT log's key (SCTs, tree heads); same tree.
    Ct,
    /// The timestamp authority's key and certificate chain.
    Tsa,
    /// The CA: a new root and intermediate; with --ca-chain (root offline), the next
    /// intermediate.
    Ca,
}

/// Connection limits and timeouts of every server (`signet up`, `signet serve …`). Durations
/// are seconds (`0.5`, `60`) or with a unit (`500ms`, `60s`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection limits")]
pub struct HttpArgs {
    /// Close a connection that has waited this long for a request (keep-alive), or has taken
    /// no byte of an answer for this long.
    #[arg(long = "http-idle-timeout", value_name = "SECONDS", default_value = "60", value_parser = parse_duration)]
    pub idle_timeout: std::time::Duration,

    /// Close a connection whose request line and headers are not complete this long after
    /// their first byte.
    #[arg(long = "http-header-timeout", value_name = "SECONDS", default_value = "30", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,

    /// Answer 408 and close when a request body is not complete this long after the headers.
    #[arg(long = "http-body-timeout", value_name = "SECONDS", default_value = "60", value_parser = parse_duration)]
    pub body_timeout: std::time::Duration,

    /// Answer 503 and close when a request (body included) has no answer this long after the
    /// headers.
    #[arg(long = "http-request-timeout", value_name = "SECONDS", default_value = "90", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,

    /// Connections served at once (at most half the open-file limit). One more is answered
    /// 503 `{"message":"too many connections"}` and closed.
    #[arg(long = "http-max-connections", value_name = "N", default_value = "1024", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Bytes of request bodies held in memory at once, over all connections. A request whose
    /// next bytes do not fit waits for room, within its body timeout.
    #[arg(long = "http-body-buffer", value_name = "BYTES", default_value = "67108864", value_parser = clap::value_parser!(u32).range(1_048_576..))]
    pub body_buffer_bytes: u32,
}

impl HttpArgs {
    /// The limits these flags ask for.
    pub fn limits(&self) -> signet_deploy::http_server::HttpLimits {
        signet_deploy::http_server::HttpLimits {
            idle_timeout: self.idle_timeout,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            request_timeout: self.request_timeout,
            max_connections: self.max_connections,
            body_buffer_bytes: self.body_buffer_bytes,
        }
    }
}

/// A duration flag: seconds (`60`, `0.5`), or a number with `s` or `ms`; more than zero and at
/// most a day.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let seconds =
        number.trim().parse::<f64>().map_err(|_| {
            format!("{text:?} is not a duration (seconds, e.g. 60 or 0.5 or 500ms)")
        })? * scale;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text:?}: must be more than 0 and at most a day"));
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// `signet dev-token`
#[derive(Debug, Args)]
pub struct DevTokenArgs {
    /// The `signet up` base URL (or its `/oidc` issuer URL).
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "instance",
        conflicts_with = "instance"
    )]
    pub server: Option<String>,

    /// Find the development issuer in this instance's signing config (an instance trusted
    /// with `signet trust-instance`).
    #[arg(long, value_name = "URL")]
    pub instance: Option<String>,

    /// The identity to put in the token, e.g. `alice@example.test`.
    #[arg(long, value_name = "IDENTITY")]
    pub subject: String,

    /// Validity in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub ttl: u64,
}

/// Where to sign and with what: shared by the signing commands.
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// OIDC identity token (JWT). Default: `SIGSTORE_ID_TOKEN`, GitHub Actions ambient
    /// credentials, `--dev-subject`, then an interactive login.
    #[arg(long, value_name = "TOKEN", conflicts_with = "key")]
    pub identity_token: Option<String>,

    /// Get the token from the deployment's development issuer for this identity
    /// (`signet up` only).
    #[arg(long, value_name = "IDENTITY", conflicts_with = "key")]
    pub dev_subject: Option<String>,

    /// Interactive login flow when no token is given: `browser` (authorization code with
    /// PKCE; prints the URL to open) or `device` (device code). Default: `browser` when run
    /// from a terminal, otherwise none.
    #[arg(long, value_name = "FLOW", value_parser = ["browser", "device"])]
    pub oidc_flow: Option<String>,

    /// Sign with this key (cosign key file, or an unencrypted PEM private key) instead of a
    /// keyless certificate.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Client trust configuration (trusted root + signing config), e.g. the
    /// `trust_config.json` of `signet up`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trusted_root", "signing_config", "instance"])]
    pub trust_config: Option<PathBuf>,

    /// Trusted root; default: the public-good root of the last `signet trust update`, else
    /// the built-in one.
    #[arg(long, value_name = "FILE", conflicts_with = "instance")]
    pub trusted_root: Option<PathBuf>,

    /// Signing config v0.2; default: the public-good config of the last `signet trust
    /// update`, else the built-in one.
    #[arg(long, value_name = "FILE", conflicts_with = "instance")]
    pub signing_config: Option<PathBuf>,

    /// A Sigstore instance trusted with `signet trust-instance`: its trusted root and signing
    /// config, refreshed over TUF (the last verified ones when it cannot be reached).
    #[arg(long, value_name = "URL")]
    pub instance: Option<String>,

    /// Output format of the summary on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `signet sign-blob`
#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Where and how to sign.
    #[command(flatten)]
    pub signing: SigningArgs,

    /// The file to sign.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `signet attest-blob`
#[derive(Debug, Args)]
pub struct AttestBlobArgs {
    /// The predicate (JSON file).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,

    /// The predicate type URI (e.g. `https://slsa.dev/provenance/v1`) or one of cosign's
    /// names (slsaprovenance1, spdxjson, cyclonedx, link, vuln, openvex, custom, …).
    #[arg(long = "type", value_name = "URI")]
    pub predicate_type: String,

    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Where and how to sign.
    #[command(flatten)]
    pub signing: SigningArgs,

    /// The file the attestation is about.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `signet sign-bundle` (the conformance client protocol).
#[derive(Debug, Args)]
pub struct SignBundleArgs {
    /// Use the staging instance (needs --trusted-root and --signing-config).
    #[arg(long)]
    pub staging: bool,

    /// Sign an in-toto statement (the FILE) in a DSSE envelope instead of the file's bytes.
    #[arg(long)]
    pub in_toto: bool,

    /// OIDC identity token.
    #[arg(long, value_name = "TOKEN")]
    pub identity_token: String,

    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Trusted root.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Signing config v0.2.
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,

    /// The file to sign.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `signet serve log`
#[derive(Debug, Args)]
pub struct ServeLogArgs {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// The URL clients use; names the logs' checkpoints. Default: `http://<listen>`. Keep it
    /// stable for a data directory: its logs refuse to open under another one.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Keep the logs in this PostgreSQL database (`postgres://user@host:port/db`) instead of
    /// redb files in the data directory. Several servers may share one database if their data
    /// directories hold the same key files and they share `--public-url`: one sequences, the
    /// others serve reads and forward writes to it, and take over if it stops.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// With `--database`: the URL other servers reach this one at, to forward writes to it
    /// while it sequences. Default: `http://<listen address>`.
    #[arg(long, value_name = "URL", requires = "database")]
    pub peer_url: Option<String>,

    /// Bytes the transparency logs' caches may hold together (redb's page caches, tiles,
    /// entry answers, proofs), whatever the size of the logs. At least 16 MiB.
    #[arg(long, value_name = "BYTES", default_value = "268435456", value_parser = clap::value_parser!(u64).range(16_777_216..=1_099_511_627_776))]
    pub cache_bytes: u64,

    /// With `--database`, while another server sequences: how old, in milliseconds, this one's
    /// copy of a log's checkpoint may get before a read looks at the database's again. Every
    /// checkpoint commit notifies the other servers, so a copy is normally only as old as that
    /// notification; this bounds it if notifications are lost. 0 reads the database's
    /// checkpoint on every request.
    #[arg(long, value_name = "MS", default_value = "1000", requires = "database", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub follower_max_staleness_ms: u64,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub http: HttpArgs,

    /// What must accept the logs' checkpoints before they are published.
    #[command(flatten)]
    pub guards: LogGuardArgs,

    /// Another origin (`https://host[:port]`) whose Rekor logs the log explorer's pages may
    /// read (`/?log=<url>`); added to their Content-Security-Policy. Repeatable.
    #[arg(long = "explorer-connect", value_name = "ORIGIN")]
    pub explorer_connect: Vec<String>,

    /// The logs' keys (`rekor-v1`, `rekor-v2`) in an HSM instead of key files.
    #[command(flatten)]
    pub pkcs11: crate::pkcs11_args::Pkcs11Args,
}

/// The checkpoint guards of `signet up` and `signet serve log`.
#[derive(Debug, Args)]
pub struct LogGuardArgs {
    /// Keep a copy of each log's latest checkpoint in this directory (outside the data
    /// directory: another disk or a mounted share), written before each checkpoint is
    /// published; refuse to start when the logs' data is behind it (a restored backup).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_lock: Option<PathBuf>,

    /// A C2SP witness that must cosign the Rekor v2 log's checkpoints before they are
    /// published: its cosignature/v1 verifier key, `@`, its URL (`NAME+HASH+KEY@URL`).
    /// Repeatable.
    #[arg(long = "witness", value_name = "VKEY@URL")]
    pub witnesses: Vec<String>,

    /// How many of the `--witness`es must cosign each checkpoint. Without a quorum the log
    /// publishes nothing and answers writes with 503. Default: all of them.
    #[arg(long, value_name = "N", requires = "witnesses", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub witness_quorum: Option<u64>,
}

/// `signet serve ca`
#[derive(Debug, Args)]
pub struct ServeCaArgs {
    /// Address to listen on, e.g. `127.0.0.1:5555`.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// The base URL clients use; names the CT log and the development issuer. Default:
    /// `http://<listen>`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Accept tokens from this OIDC issuer (email identities, client ID `sigstore`).
    /// Repeatable.
    #[arg(long = "oidc-issuer", value_name = "URL")]
    pub oidc_issuers: Vec<String>,

    /// Accept tokens from the issuers of this Fulcio-format configuration file
    /// (`{"OIDCIssuers": {...}}`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Run the development OIDC issuer at `<public-url>/oidc` and accept its tokens (after
    /// the issuers of --oidc-issuer and --config). It hands a token for any identity to anyone
    /// who asks: development only.
    #[arg(long)]
    pub dev_oidc: bool,

    /// Serve the CT log's `POST /ct/v1/add-pre-chain` to anyone. Off by default: the CA logs
    /// its precertificates itself, in process, and the route then answers 404.
    #[arg(long)]
    pub ct_public_add: bool,

    /// Keep a copy of the CT log's latest tree head in this directory (outside the data
    /// directory); refuse to start when the CT log's data is behind it (a restored backup).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_lock: Option<PathBuf>,

    /// The CA chain signed by a root kept offline (see `signet up --ca-chain`).
    #[arg(long, value_name = "CHAIN.pem")]
    pub ca_chain: Option<PathBuf>,

    /// Keep the CT log in this PostgreSQL database instead of the data directory. Several CAs
    /// may share one database if their data directories hold the same keys (`ca/`, `ct/`) and
    /// they share `--public-url`: one sequences the CT log, the others forward their
    /// precertificates to it, and take over if it stops.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// With `--database`: the URL the other CAs reach this one at directly. Default:
    /// `http://<listen address>`.
    #[arg(long, value_name = "URL", requires = "database")]
    pub peer_url: Option<String>,

    /// The CA's (`ca`, with --ca-chain) and the CT log's (`ct`) keys in an HSM instead of key
    /// files.
    #[command(flatten)]
    pub pkcs11: crate::pkcs11_args::Pkcs11Args,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// `signet serve tsa`
#[derive(Debug, Args)]
pub struct ServeTsaArgs {
    /// Address to listen on, e.g. `127.0.0.1:5556`.
    #[arg(long, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// Data directory (created if missing): the TSA key and certificate chain.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// The TSA's key (`tsa`) in an HSM instead of a key file.
    #[command(flatten)]
    pub pkcs11: crate::pkcs11_args::Pkcs11Args,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// The verification policy flags shared by `verify-blob`, `verify-bundle`, `verify` and
/// `verify-attestation`: a certificate identity (exact or regex) with optional GitHub workflow
/// claims, or a public key.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Expected certificate identity (SAN), matched exactly.
    #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,

    /// Expected certificate identity as a regular expression that must match the whole SAN.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,

    /// Expected OIDC issuer, matched exactly.
    #[arg(long, value_name = "URL", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,

    /// Expected OIDC issuer as a regular expression that must match the whole issuer.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// Expected GitHub workflow trigger (Fulcio extension 1.3.6.1.4.1.57264.1.2).
    #[arg(long, value_name = "EVENT", conflicts_with = "key")]
    pub certificate_github_workflow_trigger: Option<String>,

    /// Expected GitHub workflow commit SHA (extension .1.3).
    #[arg(long, value_name = "SHA", conflicts_with = "key")]
    pub certificate_github_workflow_sha: Option<String>,

    /// Expected GitHub workflow name (extension .1.4).
    #[arg(long, value_name = "NAME", conflicts_with = "key")]
    pub certificate_github_workflow_name: Option<String>,

    /// Expected GitHub workflow repository, `owner/repo` (extension .1.5).
    #[arg(long, value_name = "REPO", conflicts_with = "key")]
    pub certificate_github_workflow_repository: Option<String>,

    /// Expected GitHub workflow ref (extension .1.6).
    #[arg(long, value_name = "REF", conflicts_with = "key")]
    pub certificate_github_workflow_ref: Option<String>,

    /// Verify with this public key (PEM) instead of a certificate identity.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// Where the trusted root comes from (shared by the verify commands).
#[derive(Debug, Args)]
pub struct TrustRootArgs {
    /// Trusted root (trusted_root.json); default: the public-good root of the last
    /// `signet trust update`, else the embedded one.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trust_config", "instance"])]
    pub trusted_root: Option<PathBuf>,

    /// Client trust configuration (ClientTrustConfig JSON) whose trusted root to use.
    #[arg(long, value_name = "FILE", conflicts_with = "instance")]
    pub trust_config: Option<PathBuf>,

    /// A Sigstore instance trusted with `signet trust-instance`: its trusted root, refreshed
    /// over TUF (the last verified one when its repository cannot be reached).
    #[arg(long, value_name = "URL")]
    pub instance: Option<String>,
}

/// The flags every blob verify command shares: the policy, the trust root, the instance and
/// the output format.
#[derive(Debug, Args)]
pub struct VerifyCommonArgs {
    /// Who must have signed: a certificate identity or a key.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The trusted root to verify against.
    #[command(flatten)]
    pub trust: TrustRootArgs,

    /// Use the Sigstore staging instance (needs --trusted-root or --trust-config: only the
    /// public-good root is embedded).
    #[arg(long)]
    pub staging: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Witness cosignatures to require.
    #[command(flatten)]
    pub witnesses: WitnessPolicyArgs,
}

/// A witness policy (C2SP tlog-cosignature) the client requires on log checkpoints; the
/// trusted root cannot express one.
#[derive(Debug, Args)]
pub struct WitnessPolicyArgs {
    /// A witness's verifier key (`name+hash+base64`, cosignature/v1 or Ed25519), or a file of
    /// them, one per line. Repeatable. With it, the checkpoint of every transparency-log entry
    /// must carry --witness-quorum valid cosignatures by these witnesses (so a Rekor v1 entry,
    /// whose checkpoints are not witnessed, fails).
    #[arg(long = "witness-key", value_name = "VKEY|FILE")]
    pub witness_keys: Vec<String>,

    /// How many of the --witness-key witnesses must have cosigned. Default: all of them.
    #[arg(long, value_name = "N", requires = "witness_keys", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub witness_quorum: Option<u64>,
}

/// `signet verify-bundle` (the conformance protocol's verify).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The Sigstore bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// Who must have signed, what to trust, how to report.
    #[command(flatten)]
    pub common: VerifyCommonArgs,

    /// The artifact: a file path, or `sha256:<64 hex>` when no such file exists.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// The public-good Rekor v1 log, where cosign looks up detached signatures by default.
pub const PUBLIC_GOOD_REKOR: &str = "https://rekor.sigstore.dev";

/// Giving up checks, for private deployments: cosign's `--insecure-*` flags. Never implied;
/// each prints a warning.
#[derive(Debug, Args)]
pub struct InsecureArgs {
    /// Do not require a transparency-log entry (entries present are still verified). A
    /// certificate must then be valid now, unless an RFC 3161 timestamp dates the signature.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,

    /// Do not require a valid SCT in the signing certificate (private PKI without a CT log).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

/// `signet verify-blob`
#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The bundle: a Sigstore bundle, or a legacy cosign bundle (`cosign sign-blob --bundle`
    /// before Sigstore bundles: base64Signature, cert, rekorBundle).
    #[arg(long, value_name = "FILE", required_unless_present = "signature")]
    pub bundle: Option<PathBuf>,

    /// A detached signature (base64, as `cosign sign-blob --output-signature` writes it).
    /// Its log entry is looked up in the Rekor v1 log at --rekor-url by the artifact's hash.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub signature: Option<PathBuf>,

    /// The signing certificate (PEM) for a detached signature or a legacy bundle without one.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub certificate: Option<PathBuf>,

    /// CA certificates (PEM) from the certificate's issuer to its root, trusted in addition to
    /// the trusted root's CAs (private PKI).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub certificate_chain: Option<PathBuf>,

    /// Rekor v1 log to look a detached signature's entry up in.
    #[arg(long, value_name = "URL", default_value = PUBLIC_GOOD_REKOR)]
    pub rekor_url: String,

    /// Never contact a log: a detached signature then needs --insecure-ignore-tlog.
    /// (Verifying a bundle is always offline.)
    #[arg(long)]
    pub offline: bool,

    /// Checks given up on purpose.
    #[command(flatten)]
    pub insecure: InsecureArgs,

    /// Who must have signed, what to trust, how to report.
    #[command(flatten)]
    pub common: VerifyCommonArgs,

    /// The artifact: a file path, or `sha256:<64 hex>` when no such file exists.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// `signet verify-blob-attestation`
#[derive(Debug, Args)]
pub struct VerifyBlobAttestationArgs {
    /// The Sigstore bundle with the DSSE in-toto attestation.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// The predicate type the statement must have: a URI, or one of cosign's names
    /// (slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link,
    /// vuln, openvex, custom).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,

    /// Check that a subject of the statement has the artifact's digest (as cosign, on by
    /// default; `--check-claims=false` verifies only the envelope, and needs no artifact).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub check_claims: bool,

    /// Checks given up on purpose.
    #[command(flatten)]
    pub insecure: InsecureArgs,

    /// Who must have signed, what to trust, how to report.
    #[command(flatten)]
    pub common: VerifyCommonArgs,

    /// The artifact (file or `sha256:<64 hex>`); needed when claims are checked.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: Option<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// `signet note ...`
#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Check a signed checkpoint against one or more verifier keys and print its contents.
    Verify(NoteVerifyArgs),
}

/// `signet note verify`
#[derive(Debug, Args)]
pub struct NoteVerifyArgs {
    /// A verifier key `name+hash+base64`, or a file of keys (one per line, or PEM
    /// `PUBLIC KEY` blocks for Rekor v1 style ECDSA keys). May be repeated.
    #[arg(long = "key", required = true, value_name = "KEY|FILE")]
    pub keys: Vec<String>,

    /// Name to give PEM keys; by default the name on the signature line with the key's ID.
    #[arg(long, value_name = "NAME")]
    pub key_name: Option<String>,

    /// The signed note to check (`-` for standard input).
    #[arg(value_name = "NOTE_FILE")]
    pub note: PathBuf,

    /// Witness cosignatures to require on the checkpoint.
    #[command(flatten)]
    pub witnesses: WitnessPolicyArgs,
}

/// `signet generate-key-pair`
#[derive(Debug, Args)]
pub struct GenerateKeyPairArgs {
    /// Write `<PREFIX>.key` and `<PREFIX>.pub`.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub output_key_prefix: String,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `signet import-key-pair`
#[derive(Debug, Args)]
pub struct ImportKeyPairArgs {
    /// The PEM private key to import.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// Write `<PREFIX>.key` and `<PREFIX>.pub`.
    #[arg(long, value_name = "PREFIX", default_value = "import-cosign")]
    pub output_key_prefix: String,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `signet public-key`
#[derive(Debug, Args)]
pub struct PublicKeyArgs {
    /// The private key file (cosign encrypted or plain PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// Write the PEM here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub outfile: Option<PathBuf>,
}

/// Flags shared by `sign` and `attest` (images).
#[derive(Debug, Args)]
pub struct ImageSigningArgs {
    /// Where to sign and with what.
    #[command(flatten)]
    pub signing: SigningArgs,

    /// Allow plain HTTP to the registry (always allowed for loopback registries).
    #[arg(long)]
    pub allow_insecure_registry: bool,

    /// The image, `registry/repository[:tag][@digest]`.
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// `signet sign` (images)
#[derive(Debug, Args)]
pub struct ImageSignArgs {
    /// Key, services and image.
    #[command(flatten)]
    pub common: ImageSigningArgs,

    /// An annotation `key=value` to sign with the image (in the predicate). Repeatable.
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,

    /// Also store a cosign legacy `sha256-<hex>.sig` simple-signing signature.
    #[arg(long)]
    pub legacy: bool,
}

/// `signet attest` (images)
#[derive(Debug, Args)]
pub struct ImageAttestArgs {
    /// Key, services and image.
    #[command(flatten)]
    pub common: ImageSigningArgs,

    /// The predicate (JSON file).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,

    /// The predicate type URI (or cosign's short names: slsaprovenance, slsaprovenance1,
    /// spdxjson, cyclonedx, link, vuln, openvex, custom).
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,

    /// Also store it in cosign's legacy `sha256-<hex>.att` layout.
    #[arg(long)]
    pub legacy: bool,
}

/// Flags shared by `verify` and `verify-attestation` (images).
#[derive(Debug, Args)]
pub struct ImageVerifyArgs {
    /// Who must have signed: a certificate identity or a key.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The trusted root to verify against.
    #[command(flatten)]
    pub trust: TrustRootArgs,

    /// Allow plain HTTP to the registry (always allowed for loopback registries).
    #[arg(long)]
    pub allow_insecure_registry: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// The image, `registry/repository[:tag][@digest]`.
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// `signet verify-attestation` (images)
#[derive(Debug, Args)]
pub struct ImageVerifyAttestationArgs {
    /// Policy, trust and image.
    #[command(flatten)]
    pub common: ImageVerifyArgs,

    /// The predicate type URI (or cosign's short names) the attestation must have.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
}

#[cfg(test)]
mod tests {

    /// The verification short cut parses exactly as the whole tree does, and leaves to it what
    /// it cannot parse (help, bad flags).
    #[test]
    fn verification_short_cut_parses_as_the_whole_tree() {
        use clap::Parser;
        let os = |v: &[&str]| -> Vec<std::ffi::OsString> { v.iter().map(Into::into).collect() };
        for argv in [
            vec![
                "signet",
                "verify-bundle",
                "--bundle",
                "b.json",
                "--certificate-identity",
                "a@b.c",
                "--certificate-oidc-issuer",
                "https://i",
                "--trusted-root",
                "t.json",
                "f",
            ],
            vec![
                "signet",
                "verify-blob",
                "--bundle",
                "b.json",
                "--key",
                "k.pub",
                "--witness-key",
                "w+1+A",
                "--output",
                "json",
                "f",
            ],
            vec![
                "signet",
                "verify-blob",
                "--signature",
                "s",
                "--certificate",
                "c.pem",
                "--certificate-identity-regexp",
                ".*",
                "--certificate-oidc-issuer",
                "https://i",
                "--insecure-ignore-sct",
                "f",
            ],
        ] {
            let fast = Cli::parse_verification(&os(&argv)).expect("short cut");
            let full = Cli::try_parse_from(&argv).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{argv:?}");
        }
        for argv in [
            vec!["signet", "verify-bundle", "--help"],
            vec!["signet", "verify-blob", "--no-such-flag", "f"],
            vec!["signet", "verify-bundle"],
            vec!["signet", "up"],
            vec!["signet"],
        ] {
            assert!(Cli::parse_verification(&os(&argv)).is_none(), "{argv:?}");
        }
    }
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("signet").chain(args.iter().copied()))
    }

    fn verify_args(args: &[&str]) -> NoteVerifyArgs {
        let mut all = vec!["note", "verify"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Note {
                command: NoteCommand::Verify(a),
            } => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flag_key_is_required_and_repeatable() {
        assert!(parse(&["note", "verify", "cp"]).is_err());
        let a = verify_args(&["--key", "a+00000000+AQ==", "--key", "keys.txt", "cp"]);
        assert_eq!(a.keys, ["a+00000000+AQ==", "keys.txt"]);
    }

    #[test]
    fn flag_key_name() {
        assert_eq!(verify_args(&["--key", "k.pem", "cp"]).key_name, None);
        let a = verify_args(&["--key", "k.pem", "--key-name", "rekor.sigstore.dev", "cp"]);
        assert_eq!(a.key_name.as_deref(), Some("rekor.sigstore.dev"));
    }

    #[test]
    fn note_file_is_required() {
        assert!(parse(&["note", "verify", "--key", "k"]).is_err());
        assert_eq!(verify_args(&["--key", "k", "-"]).note, PathBuf::from("-"));
    }

    fn serve_log_args(args: &[&str]) -> Result<ServeLogArgs, clap::Error> {
        let mut all = vec!["serve", "log"];
        all.extend_from_slice(args);
        parse(&all).map(|cli| match cli.command {
            Command::Serve {
                command: ServeCommand::Log(a),
            } => a,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn flag_serve_log_listen() {
        assert!(serve_log_args(&["--data", "d"]).is_err());
        assert!(serve_log_args(&["--listen", "nowhere", "--data", "d"]).is_err());
        let a = serve_log_args(&["--listen", "127.0.0.1:8080", "--data", "d"]).unwrap();
        assert_eq!(a.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn flag_serve_log_data() {
        assert!(serve_log_args(&["--listen", "127.0.0.1:1"]).is_err());
        let a = serve_log_args(&["--listen", "127.0.0.1:1", "--data", "/var/lib/x"]).unwrap();
        assert_eq!(a.data, PathBuf::from("/var/lib/x"));
    }

    #[test]
    fn flag_serve_log_database() {
        let a = serve_log_args(&["--listen", "127.0.0.1:1", "--data", "d"]).unwrap();
        assert_eq!(a.database, None);
        assert_eq!(a.peer_url, None);
        let a = serve_log_args(&[
            "--listen",
            "127.0.0.1:1",
            "--data",
            "d",
            "--database",
            "postgres://u@127.0.0.1:5432/db",
            "--peer-url",
            "http://10.0.0.2:8080",
        ])
        .unwrap();
        assert_eq!(
            a.database.as_deref(),
            Some("postgres://u@127.0.0.1:5432/db")
        );
        assert_eq!(a.peer_url.as_deref(), Some("http://10.0.0.2:8080"));
        // A peer URL means nothing without a shared database.
        assert!(
            serve_log_args(&[
                "--listen",
                "127.0.0.1:1",
                "--data",
                "d",
                "--peer-url",
                "http://x"
            ])
            .is_err()
        );
    }

    #[test]
    fn flag_serve_log_public_url() {
        let a = serve_log_args(&["--listen", "127.0.0.1:1", "--data", "d"]).unwrap();
        assert_eq!(a.public_url, None);
        let a = serve_log_args(&[
            "--listen",
            "127.0.0.1:1",
            "--data",
            "d",
            "--public-url",
            "https://log.example",
        ])
        .unwrap();
        assert_eq!(a.public_url.as_deref(), Some("https://log.example"));
    }

    fn blob_args(args: &[&str]) -> Result<VerifyBlobArgs, clap::Error> {
        let mut all = vec!["verify-blob"];
        all.extend_from_slice(args);
        parse(&all).map(|cli| match cli.command {
            Command::VerifyBlob(a) => a,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn flag_bundle_and_artifact_are_required() {
        assert!(blob_args(&["a.txt"]).is_err());
        assert!(blob_args(&["--bundle", "b.json"]).is_err());
        let a = blob_args(&["--bundle", "b.json", "sha256:00"]).unwrap();
        assert_eq!(a.bundle, Some(PathBuf::from("b.json")));
        assert_eq!(a.artifact, "sha256:00");
    }

    #[test]
    fn flag_detached_signature_inputs() {
        // A signature instead of a bundle, never both; the log defaults to public-good Rekor.
        let a = blob_args(&["--signature", "s", "--certificate", "c.pem", "f"]).unwrap();
        assert_eq!(a.signature, Some(PathBuf::from("s")));
        assert_eq!(a.certificate, Some(PathBuf::from("c.pem")));
        assert_eq!(a.rekor_url, PUBLIC_GOOD_REKOR);
        assert!(!a.offline && !a.insecure.insecure_ignore_tlog && !a.insecure.insecure_ignore_sct);
        assert!(blob_args(&["--signature", "s", "--bundle", "b", "f"]).is_err());
        let a = blob_args(&[
            "--signature",
            "s",
            "--key",
            "k.pub",
            "--rekor-url",
            "http://127.0.0.1:1",
            "--offline",
            "--insecure-ignore-tlog",
            "--insecure-ignore-sct",
            "f",
        ])
        .unwrap();
        assert_eq!(a.rekor_url, "http://127.0.0.1:1");
        assert!(a.offline && a.insecure.insecure_ignore_tlog && a.insecure.insecure_ignore_sct);
        // A certificate (or chain) and a key are two different signers.
        assert!(blob_args(&["--signature", "s", "--certificate", "c", "--key", "k", "f"]).is_err());
        assert!(
            blob_args(&[
                "--signature",
                "s",
                "--certificate-chain",
                "c",
                "--key",
                "k",
                "f"
            ])
            .is_err()
        );
    }

    #[test]
    fn flag_verify_blob_attestation() {
        let parse_att = |args: &[&str]| {
            let mut all = vec!["verify-blob-attestation"];
            all.extend_from_slice(args);
            parse(&all).map(|cli| match cli.command {
                Command::VerifyBlobAttestation(a) => a,
                other => panic!("parsed as {other:?}"),
            })
        };
        let a = parse_att(&["--bundle", "b", "--type", "slsaprovenance1", "f"]).unwrap();
        assert!(a.check_claims);
        assert_eq!(a.predicate_type, "slsaprovenance1");
        assert_eq!(a.artifact.as_deref(), Some("f"));
        let a = parse_att(&["--bundle", "b", "--type", "t", "--check-claims"]).unwrap();
        assert!(a.check_claims);
        let a = parse_att(&["--bundle", "b", "--type", "t", "--check-claims=false"]).unwrap();
        assert!(!a.check_claims && a.artifact.is_none());
        assert!(parse_att(&["--bundle", "b", "f"]).is_err());
    }

    #[test]
    fn flag_certificate_identity_and_regexp_conflict() {
        let a = blob_args(&["--bundle", "b", "--certificate-identity", "me@x", "f"]).unwrap();
        assert_eq!(
            a.common.policy.certificate_identity.as_deref(),
            Some("me@x")
        );
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-identity-regexp",
            ".*@x",
            "f",
        ])
        .unwrap();
        assert_eq!(
            a.common.policy.certificate_identity_regexp.as_deref(),
            Some(".*@x")
        );
        assert!(
            blob_args(&[
                "--bundle",
                "b",
                "--certificate-identity",
                "a",
                "--certificate-identity-regexp",
                "b",
                "f"
            ])
            .is_err()
        );
    }

    #[test]
    fn flag_certificate_oidc_issuer_and_regexp_conflict() {
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-oidc-issuer",
            "https://i",
            "f",
        ])
        .unwrap();
        assert_eq!(
            a.common.policy.certificate_oidc_issuer.as_deref(),
            Some("https://i")
        );
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-oidc-issuer-regexp",
            "https://.*",
            "f",
        ])
        .unwrap();
        assert_eq!(
            a.common.policy.certificate_oidc_issuer_regexp.as_deref(),
            Some("https://.*")
        );
        assert!(
            blob_args(&[
                "--bundle",
                "b",
                "--certificate-oidc-issuer",
                "a",
                "--certificate-oidc-issuer-regexp",
                "b",
                "f"
            ])
            .is_err()
        );
    }

    #[test]
    fn flags_github_workflow_claims() {
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-github-workflow-trigger",
            "push",
            "--certificate-github-workflow-sha",
            "abc",
            "--certificate-github-workflow-name",
            "ci",
            "--certificate-github-workflow-repository",
            "o/r",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
            "f",
        ])
        .unwrap();
        assert_eq!(
            a.common
                .policy
                .certificate_github_workflow_trigger
                .as_deref(),
            Some("push")
        );
        assert_eq!(
            a.common.policy.certificate_github_workflow_sha.as_deref(),
            Some("abc")
        );
        assert_eq!(
            a.common.policy.certificate_github_workflow_name.as_deref(),
            Some("ci")
        );
        assert_eq!(
            a.common
                .policy
                .certificate_github_workflow_repository
                .as_deref(),
            Some("o/r")
        );
        assert_eq!(
            a.common.policy.certificate_github_workflow_ref.as_deref(),
            Some("refs/heads/main")
        );
    }

    #[test]
    fn flag_key_conflicts_with_identity() {
        let a = blob_args(&["--bundle", "b", "--key", "k.pub", "f"]).unwrap();
        assert_eq!(a.common.policy.key, Some(PathBuf::from("k.pub")));
        assert!(
            blob_args(&[
                "--bundle",
                "b",
                "--key",
                "k",
                "--certificate-identity",
                "x",
                "f"
            ])
            .is_err()
        );
    }

    #[test]
    fn flags_trusted_root_trust_config_staging() {
        let a = blob_args(&[
            "--bundle",
            "b",
            "--trusted-root",
            "r.json",
            "--staging",
            "f",
        ])
        .unwrap();
        assert_eq!(a.common.trust.trusted_root, Some(PathBuf::from("r.json")));
        assert!(a.common.staging);
        let a = blob_args(&["--bundle", "b", "--trust-config", "t.json", "f"]).unwrap();
        assert_eq!(a.common.trust.trust_config, Some(PathBuf::from("t.json")));
        assert!(
            blob_args(&[
                "--bundle",
                "b",
                "--trusted-root",
                "r",
                "--trust-config",
                "t",
                "f"
            ])
            .is_err()
        );
    }

    #[test]
    fn flag_output() {
        assert_eq!(
            blob_args(&["--bundle", "b", "f"]).unwrap().common.output,
            OutputFormat::Text
        );
        assert_eq!(
            blob_args(&["--bundle", "b", "--output", "json", "f"])
                .unwrap()
                .common
                .output,
            OutputFormat::Json
        );
        assert!(blob_args(&["--bundle", "b", "--output", "yaml", "f"]).is_err());
    }

    #[test]
    fn verify_bundle_takes_the_conformance_protocol() {
        let cli = parse(&[
            "verify-bundle",
            "--staging",
            "--bundle",
            "b",
            "--certificate-identity",
            "i",
            "--certificate-oidc-issuer",
            "o",
            "--trusted-root",
            "t",
            "sha256:ab",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Command::VerifyBundle(a) if a.common.staging && a.artifact == "sha256:ab")
        );
    }

    #[test]
    fn flag_completions_shell() {
        for (name, shell) in [
            ("bash", clap_complete::Shell::Bash),
            ("zsh", clap_complete::Shell::Zsh),
            ("fish", clap_complete::Shell::Fish),
            ("elvish", clap_complete::Shell::Elvish),
            ("powershell", clap_complete::Shell::PowerShell),
        ] {
            assert!(
                matches!(parse(&["completions", name]).unwrap().command,
                    Command::Completions(a) if a.shell == shell),
                "{name}"
            );
        }
        assert!(parse(&["completions"]).is_err());
        assert!(parse(&["completions", "tcsh"]).is_err());
    }

    #[test]
    fn flag_man_command() {
        assert!(
            matches!(parse(&["man"]).unwrap().command, Command::Man(a) if a.command.is_empty())
        );
        assert!(matches!(
            parse(&["man", "serve", "log"]).unwrap().command,
            Command::Man(a) if a.command == ["serve", "log"]
        ));
    }

    fn up_args(args: &[&str]) -> Result<UpArgs, clap::Error> {
        let mut all = vec!["up"];
        all.extend_from_slice(args);
        parse(&all).map(|cli| match cli.command {
            Command::Up(a) => a,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn flags_up_dev_oidc_and_no_dev_oidc() {
        let a = up_args(&[]).unwrap();
        assert!(!a.dev_oidc && !a.no_dev_oidc);
        assert!(up_args(&["--dev-oidc"]).unwrap().dev_oidc);
        assert!(up_args(&["--no-dev-oidc"]).unwrap().no_dev_oidc);
        assert!(up_args(&["--dev-oidc", "--no-dev-oidc"]).is_err());
    }

    #[test]
    fn flag_up_database_and_peer_url() {
        let a = up_args(&[]).unwrap();
        assert_eq!((a.database, a.peer_url), (None, None));
        let a = up_args(&[
            "--database",
            "postgres://u@127.0.0.1:5432/db",
            "--peer-url",
            "http://10.0.0.2:3000",
        ])
        .unwrap();
        assert_eq!(
            a.database.as_deref(),
            Some("postgres://u@127.0.0.1:5432/db")
        );
        assert_eq!(a.peer_url.as_deref(), Some("http://10.0.0.2:3000"));
        // A peer URL means nothing without a shared database.
        assert!(up_args(&["--peer-url", "http://x"]).is_err());
    }

    #[test]
    fn flag_serve_ca_database_and_peer_url() {
        let ca = |extra: &[&str]| {
            let mut all = vec!["serve", "ca", "--listen", "127.0.0.1:1", "--data", "d"];
            all.extend_from_slice(extra);
            parse(&all).map(|cli| match cli.command {
                Command::Serve {
                    command: ServeCommand::Ca(a),
                } => a,
                other => panic!("parsed as {other:?}"),
            })
        };
        let a = ca(&[]).unwrap();
        assert_eq!((a.database, a.peer_url), (None, None));
        let a = ca(&["--database", "postgres://db", "--peer-url", "http://p:1"]).unwrap();
        assert_eq!(a.database.as_deref(), Some("postgres://db"));
        assert_eq!(a.peer_url.as_deref(), Some("http://p:1"));
        assert!(ca(&["--peer-url", "http://p:1"]).is_err());
    }

    #[test]
    fn flag_up_oidc_issuer_and_config() {
        let a = up_args(&[]).unwrap();
        assert!(a.oidc_issuers.is_empty() && a.oidc_config.is_none());
        let a = up_args(&[
            "--oidc-issuer",
            "https://a.example",
            "--oidc-issuer",
            "https://b.example",
            "--oidc-config",
            "f.json",
        ])
        .unwrap();
        assert_eq!(a.oidc_issuers, ["https://a.example", "https://b.example"]);
        assert_eq!(a.oidc_config, Some(PathBuf::from("f.json")));
    }

    #[test]
    fn flag_up_tuf_expiries() {
        let a = up_args(&[]).unwrap();
        assert_eq!(a.tuf.timestamp, std::time::Duration::from_secs(86_400));
        assert_eq!(a.tuf.snapshot, std::time::Duration::from_secs(7 * 86_400));
        assert_eq!(a.tuf.targets, std::time::Duration::from_secs(90 * 86_400));
        assert_eq!(a.tuf.root, std::time::Duration::from_secs(365 * 86_400));
        let a = up_args(&["--tuf-timestamp-expiry", "4s", "--tuf-root-expiry", "2d"]).unwrap();
        assert_eq!(a.tuf.timestamp, std::time::Duration::from_secs(4));
        assert_eq!(a.tuf.root, std::time::Duration::from_secs(2 * 86_400));
        assert_eq!(
            up_args(&["--tuf-snapshot-expiry", "90m"])
                .unwrap()
                .tuf
                .snapshot,
            std::time::Duration::from_secs(5400)
        );
        for bad in ["1s", "12", "h", "5x", "-1d", "99999999999999d", "1.5h", ""] {
            assert!(up_args(&["--tuf-timestamp-expiry", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn flag_up_rotate() {
        assert!(up_args(&[]).unwrap().rotate.is_empty());
        let a = up_args(&["--rotate", "rekor-v2", "--rotate", "tsa"]).unwrap();
        assert_eq!(a.rotate, [RotateArg::RekorV2, RotateArg::Tsa]);
        for (name, want) in [
            ("rekor-v1", RotateArg::RekorV1),
            ("rekor-v2", RotateArg::RekorV2),
            ("ct", RotateArg::Ct),
            ("tsa", RotateArg::Tsa),
            ("ca", RotateArg::Ca),
        ] {
            assert_eq!(up_args(&["--rotate", name]).unwrap().rotate, [want]);
        }
        assert!(up_args(&["--rotate", "oidc"]).is_err());
        assert!(up_args(&["--rotate"]).is_err());
    }

    #[test]
    fn flag_ct_public_add() {
        assert!(!up_args(&[]).unwrap().ct_public_add);
        assert!(up_args(&["--ct-public-add"]).unwrap().ct_public_add);
        let serve_ca = |extra: &[&str]| {
            let mut all = vec!["serve", "ca", "--listen", "127.0.0.1:1", "--data", "d"];
            all.extend_from_slice(extra);
            match parse(&all).unwrap().command {
                Command::Serve {
                    command: ServeCommand::Ca(a),
                } => a.ct_public_add,
                other => panic!("parsed as {other:?}"),
            }
        };
        assert!(!serve_ca(&[]));
        assert!(serve_ca(&["--ct-public-add"]));
    }

    #[test]
    fn http_flag_defaults_are_the_library_defaults() {
        assert_eq!(
            up_args(&[]).unwrap().http.limits(),
            signet_deploy::http_server::HttpLimits::default()
        );
    }

    #[test]
    fn flags_http_timeouts() {
        use std::time::Duration;
        for (flag, get) in [
            (
                "--http-idle-timeout",
                (|h: &HttpArgs| h.idle_timeout) as fn(&HttpArgs) -> Duration,
            ),
            ("--http-header-timeout", |h| h.header_timeout),
            ("--http-body-timeout", |h| h.body_timeout),
            ("--http-request-timeout", |h| h.request_timeout),
        ] {
            for (value, expected) in [
                ("2", Duration::from_secs(2)),
                ("0.5", Duration::from_millis(500)),
                ("250ms", Duration::from_millis(250)),
                ("3s", Duration::from_secs(3)),
                ("86400", Duration::from_secs(86_400)),
            ] {
                assert_eq!(
                    get(&up_args(&[flag, value]).unwrap().http),
                    expected,
                    "{flag} {value}"
                );
            }
            for bad in ["0", "-1", "abc", "", "1h", "86401", "NaN", "inf"] {
                assert!(up_args(&[flag, bad]).is_err(), "{flag} {bad}");
            }
        }
    }

    #[test]
    fn flag_http_max_connections() {
        assert_eq!(
            up_args(&["--http-max-connections", "20"])
                .unwrap()
                .http
                .max_connections,
            20
        );
        for bad in ["0", "-1", "1000001", "x"] {
            assert!(up_args(&["--http-max-connections", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn flag_http_body_buffer() {
        let a = up_args(&["--http-body-buffer", "2097152"]).unwrap();
        assert_eq!(a.http.body_buffer_bytes, 2 << 20);
        for bad in ["1048575", "0", "x", "4294967296"] {
            assert!(up_args(&["--http-body-buffer", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_flags_apply_to_every_server() {
        let common = [
            "--listen",
            "127.0.0.1:1",
            "--data",
            "d",
            "--http-idle-timeout",
            "7",
        ];
        for server in ["log", "ca", "tsa"] {
            let mut all = vec!["serve", server];
            all.extend_from_slice(&common);
            let http = match parse(&all).unwrap().command {
                Command::Serve {
                    command: ServeCommand::Log(a),
                } => a.http,
                Command::Serve {
                    command: ServeCommand::Ca(a),
                } => a.http,
                Command::Serve {
                    command: ServeCommand::Tsa(a),
                } => a.http,
                other => panic!("parsed as {other:?}"),
            };
            assert_eq!(
                http.idle_timeout,
                std::time::Duration::from_secs(7),
                "{server}"
            );
        }
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
