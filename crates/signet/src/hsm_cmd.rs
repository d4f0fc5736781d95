//! `signet hsm generate-key`: makes service keys in a PKCS#11 token, so that a deployment can
//! keep every key in the HSM from the start (`signet up --pkcs11-key SERVICE=LABEL`).

use crate::Failure;
use crate::pkcs11_args::Pkcs11Args;
use clap::{Args, Subcommand, ValueEnum};
use signet_signer::SignerAlgorithm;

/// What to do with an HSM.
#[derive(Debug, Subcommand)]
pub enum HsmCommand {
    /// Make a key pair in the token for each `--pkcs11-key SERVICE=LABEL` (a sensitive,
    /// non-extractable private key and its public key, under LABEL and a random id), of the
    /// service's algorithm: ECDSA P-256 for `ca`, `ct`, `rekor-v1`, `tsa` and `root`, Ed25519
    /// for `rekor-v2` and the TUF roles (`--algorithm` to choose another the service takes).
    /// A label already in use is refused. Prints each public key (PEM).
    GenerateKey(GenerateKeyArgs),
}

/// `signet hsm generate-key`
#[derive(Debug, Args)]
pub struct GenerateKeyArgs {
    /// The module, token, PIN and the keys to make (`--pkcs11-key SERVICE=LABEL`).
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
    /// The keys' algorithm instead of each service's default.
    #[arg(long, value_enum)]
    pub algorithm: Option<Algorithm>,
}

/// A key algorithm an HSM key can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    /// ECDSA on P-256 (SHA-256).
    EcdsaP256,
    /// ECDSA on P-384 (SHA-384).
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl Algorithm {
    fn signer(self) -> SignerAlgorithm {
        match self {
            Algorithm::EcdsaP256 => SignerAlgorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP384 => SignerAlgorithm::EcdsaP384Sha384,
            Algorithm::Ed25519 => SignerAlgorithm::Ed25519,
        }
    }
}

/// Runs `signet hsm …`.
pub fn run(command: &HsmCommand) -> Result<(), Failure> {
    match command {
        HsmCommand::GenerateKey(args) => generate_key(args),
    }
}

fn generate_key(args: &GenerateKeyArgs) -> Result<(), Failure> {
    if args.pkcs11.pkcs11_keys.is_empty() {
        return Err(Failure::Usage(
            "give the keys to make: --pkcs11-key SERVICE=LABEL (repeatable)".into(),
        ));
    }
    let made = args
        .pkcs11
        .config()?
        .generate(args.algorithm.map(Algorithm::signer))
        .map_err(|e| Failure::Usage(e.to_string()))?;
    for (service, key) in made {
        eprintln!(
            "made the {service} key ({}) in {}",
            key.algorithm(),
            key.location()
        );
        print!(
            "{}",
            pem_rfc7468::encode_string(
                "PUBLIC KEY",
                pem_rfc7468::LineEnding::LF,
                key.public_key_spki_der()
            )
            .map_err(|e| Failure::Usage(format!("encoding the {service} public key: {e}")))?
        );
    }
    Ok(())
}
