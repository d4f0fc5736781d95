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

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
