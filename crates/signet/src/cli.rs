//! Command-line flags. Each flag has a unit test just below the definitions.

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

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with C2SP signed notes and checkpoints.
    Note {
        /// What to do with notes.
        #[command(subcommand)]
        command: NoteCommand,
    },
    /// Verify a blob against a Sigstore bundle (cosign-compatible flags). Offline.
    VerifyBlob(VerifyArgs),
    /// Verify a bundle, as the Sigstore conformance client protocol calls it. Offline.
    VerifyBundle(VerifyArgs),
    /// Run a server.
    Serve {
        /// Which server.
        #[command(subcommand)]
        command: ServeCommand,
    },
}

/// `signet serve ...`
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// A transparency log: Rekor v1 and v2 APIs and tlog-tiles reads. Keys, stores and
    /// `trusted_root.json` live in the data directory.
    Log(ServeLogArgs),
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
}

/// Flags shared by `verify-blob` and `verify-bundle`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The Sigstore bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

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

    /// Verify with this managed public key (PEM) instead of a certificate identity.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Trusted root (trusted_root.json); default: the embedded Sigstore public-good root.
    #[arg(long, value_name = "FILE", conflicts_with = "trust_config")]
    pub trusted_root: Option<PathBuf>,

    /// Client trust configuration (ClientTrustConfig JSON) whose trusted root to use.
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,

    /// Use the Sigstore staging instance (needs --trusted-root or --trust-config: only the
    /// public-good root is embedded).
    #[arg(long)]
    pub staging: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// The artifact: a file path, or `sha256:<64 hex>` when no such file exists.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
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
}

#[cfg(test)]
mod tests {
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

    fn blob_args(args: &[&str]) -> Result<VerifyArgs, clap::Error> {
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
        assert_eq!(a.bundle, PathBuf::from("b.json"));
        assert_eq!(a.artifact, "sha256:00");
    }

    #[test]
    fn flag_certificate_identity_and_regexp_conflict() {
        let a = blob_args(&["--bundle", "b", "--certificate-identity", "me@x", "f"]).unwrap();
        assert_eq!(a.certificate_identity.as_deref(), Some("me@x"));
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-identity-regexp",
            ".*@x",
            "f",
        ])
        .unwrap();
        assert_eq!(a.certificate_identity_regexp.as_deref(), Some(".*@x"));
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
        assert_eq!(a.certificate_oidc_issuer.as_deref(), Some("https://i"));
        let a = blob_args(&[
            "--bundle",
            "b",
            "--certificate-oidc-issuer-regexp",
            "https://.*",
            "f",
        ])
        .unwrap();
        assert_eq!(
            a.certificate_oidc_issuer_regexp.as_deref(),
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
            a.certificate_github_workflow_trigger.as_deref(),
            Some("push")
        );
        assert_eq!(a.certificate_github_workflow_sha.as_deref(), Some("abc"));
        assert_eq!(a.certificate_github_workflow_name.as_deref(), Some("ci"));
        assert_eq!(
            a.certificate_github_workflow_repository.as_deref(),
            Some("o/r")
        );
        assert_eq!(
            a.certificate_github_workflow_ref.as_deref(),
            Some("refs/heads/main")
        );
    }

    #[test]
    fn flag_key_conflicts_with_identity() {
        let a = blob_args(&["--bundle", "b", "--key", "k.pub", "f"]).unwrap();
        assert_eq!(a.key, Some(PathBuf::from("k.pub")));
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
        assert_eq!(a.trusted_root, Some(PathBuf::from("r.json")));
        assert!(a.staging);
        let a = blob_args(&["--bundle", "b", "--trust-config", "t.json", "f"]).unwrap();
        assert_eq!(a.trust_config, Some(PathBuf::from("t.json")));
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
            blob_args(&["--bundle", "b", "f"]).unwrap().output,
            OutputFormat::Text
        );
        assert_eq!(
            blob_args(&["--bundle", "b", "--output", "json", "f"])
                .unwrap()
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
            matches!(cli.command, Command::VerifyBundle(a) if a.staging && a.artifact == "sha256:ab")
        );
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
