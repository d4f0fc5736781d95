//! The `signet` command: parses flags, calls the library crates, and turns the outcome into an
//! exit code. Nothing else lives here.
//!
//! Its own I/O is the user's: reading the files named on the command line, writing bundles and
//! key files (keys through `signet-durable`), prompting for passwords, printing, and the wall
//! clock the client commands verify and sign at. It must not hold protocol, format or service logic:
//! parsing, verification and signing are the library crates' jobs, and the servers are opened,
//! wired and served by `signet-deploy` (`signet up`, `signet serve …`).
//!
//! Exit codes: 0 success, 1 the thing checked is not valid (bad signature, unknown key,
//! malformed input), 2 usage errors (bad flags, unreadable files, unusable keys).

mod ca_cmd;
mod cli;
mod common;
mod completions_cmd;
mod hsm_cmd;
mod image_cmd;
mod key_cmd;
mod keyfile;
mod log_cmd;
mod monitor_cmd;
mod note_cmd;
mod pkcs11_args;
mod serve_cmd;
mod sign_cmd;
mod trust_cmd;
mod up_cmd;
mod verify_cmd;
mod witness_cmd;

use std::process::ExitCode;

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// What was checked is not valid: exit 1.
    Invalid(String),
    /// The command could not be run as asked: exit 2.
    Usage(String),
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse_args();
    let result = match cli.command {
        cli::Command::Note {
            command: cli::NoteCommand::Verify(args),
        } => note_cmd::verify(&args),
        cli::Command::VerifyBundle(args) => verify_cmd::verify(&args),
        cli::Command::VerifyBlob(args) => verify_cmd::verify_blob(&args),
        cli::Command::VerifyBlobAttestation(args) => verify_cmd::verify_blob_attestation(&args),
        cli::Command::Serve {
            command: cli::ServeCommand::Log(args),
        } => serve_cmd::log(&args),
        cli::Command::Serve {
            command: cli::ServeCommand::Ca(args),
        } => serve_cmd::ca(&args),
        cli::Command::Serve {
            command: cli::ServeCommand::Tsa(args),
        } => serve_cmd::tsa(&args),
        cli::Command::GenerateKeyPair(args) => key_cmd::generate(&args),
        cli::Command::ImportKeyPair(args) => key_cmd::import(&args),
        cli::Command::PublicKey(args) => key_cmd::public_key(&args),
        cli::Command::Sign(args) => image_cmd::sign(&args),
        cli::Command::Verify(args) => image_cmd::verify(&args),
        cli::Command::Attest(args) => image_cmd::attest(&args),
        cli::Command::VerifyAttestation(args) => image_cmd::verify_attestation(&args),
        cli::Command::Up(args) => up_cmd::up(&args),
        cli::Command::DevToken(args) => up_cmd::dev_token(&args),
        cli::Command::Witness(args) => witness_cmd::witness(&args),
        cli::Command::SignBlob(args) => sign_cmd::sign_blob(&args),
        cli::Command::AttestBlob(args) => sign_cmd::attest_blob(&args),
        cli::Command::SignBundle(args) => sign_cmd::sign_bundle(&args),
        cli::Command::Completions(args) => completions_cmd::completions(&args),
        cli::Command::Man(args) => completions_cmd::man(&args),
        cli::Command::TrustInstance(args) => trust_cmd::trust_instance(&args),
        cli::Command::Trust {
            command: cli::TrustCommand::Update(args),
        } => trust_cmd::trust_update(&args),
        cli::Command::Log {
            command: log_cmd::LogCommand::Info(args),
        } => log_cmd::info(&args),
        cli::Command::Log {
            command: log_cmd::LogCommand::Get(args),
        } => log_cmd::get(&args),
        cli::Command::Log {
            command: log_cmd::LogCommand::Search(args),
        } => log_cmd::search(&args),
        cli::Command::Monitor(args) => monitor_cmd::monitor(&args),
        cli::Command::Ca { command } => ca_cmd::run(&command),
        cli::Command::Hsm { command } => hsm_cmd::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(message)) => {
            eprintln!("signet: verification failed: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("signet: {message}");
            ExitCode::from(2)
        }
    }
}
