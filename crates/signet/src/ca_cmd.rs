//! `signet ca init-root|init-intermediate|sign-intermediate`: the CA's root kept offline. The
//! flags and messages are here; the key material and its files are `signet_ca::store`'s.

use crate::Failure;
use crate::pkcs11_args::Pkcs11Args;
use clap::{Args, Subcommand, ValueEnum};
use signet_ca::CaAlgorithm;
use signet_ca::offline::{DEFAULT_INTERMEDIATE_SUBJECT, DEFAULT_ROOT_SUBJECT};
use signet_ca::store;
use signet_deploy::keys::KeyService;
use std::path::PathBuf;

/// `signet ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// On a machine that never serves: create a self-signed root (path length 1, ten years):
    /// DIR/ca-root.pem and DIR/ca-root-key.pem (mode 0600). Existing files are not replaced.
    InitRoot(InitRootArgs),
    /// On the server: create the intermediate's key in DATA/ca/ca-intermediate-key.pem (mode
    /// 0600) and its certificate request DATA/ca/ca-intermediate.csr for the offline root to
    /// sign. On a CA already serving under an offline root: the next intermediate, kept
    /// pending in DATA/ca/pending/ (the serving one untouched) until `signet up --ca-chain
    /// NEW-CHAIN.pem --rotate ca`. Refused when the CA has its root key, awaits its first
    /// chain, or already has a pending intermediate.
    InitIntermediate(InitIntermediateArgs),
    /// On the offline machine: check the request's signature and issue the intermediate
    /// (path length 0, keyCertSign + cRLSign) with the root; write the chain (intermediate,
    /// then root) for `signet up --ca-chain`.
    SignIntermediate(SignIntermediateArgs),
}

/// The key algorithm of a CA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// ECDSA on P-256 with SHA-256.
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
}

impl AlgorithmArg {
    fn algorithm(self) -> CaAlgorithm {
        match self {
            AlgorithmArg::P256 => CaAlgorithm::EcdsaP256,
            AlgorithmArg::P384 => CaAlgorithm::EcdsaP384,
        }
    }
}

/// `signet ca init-root`
#[derive(Debug, Args)]
pub struct InitRootArgs {
    /// Directory for the root's files (created if missing); keep it offline.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The root key's algorithm.
    #[arg(long, value_enum, default_value = "p256")]
    pub algorithm: AlgorithmArg,

    /// The root's subject (RFC 4514).
    #[arg(long, value_name = "DN", default_value = DEFAULT_ROOT_SUBJECT)]
    pub subject: String,

    /// The root's key in an HSM (`--pkcs11-key root=...`) instead of DIR/ca-root-key.pem;
    /// `--algorithm` is then the key's.
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// `signet ca init-intermediate`
#[derive(Debug, Args)]
pub struct InitIntermediateArgs {
    /// The data directory of `signet up` (or `signet serve ca`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// The intermediate key's algorithm.
    #[arg(long, value_enum, default_value = "p256")]
    pub algorithm: AlgorithmArg,

    /// The intermediate's subject (RFC 4514).
    #[arg(long, value_name = "DN", default_value = DEFAULT_INTERMEDIATE_SUBJECT)]
    pub subject: String,

    /// The intermediate's key in an HSM (`--pkcs11-key ca=...`; `--algorithm` is then the
    /// key's): only the request is written; serve with the same `--pkcs11-key ca=...` and
    /// --ca-chain.
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// `signet ca sign-intermediate`
#[derive(Debug, Args)]
pub struct SignIntermediateArgs {
    /// The root's directory (of `signet ca init-root`).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,

    /// The intermediate's certificate request (`ca-intermediate.csr`).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,

    /// Where to write the chain (must not exist).
    #[arg(long, value_name = "CHAIN.pem")]
    pub out: PathBuf,

    /// How long the intermediate is valid: a number with a unit, `d` (days) or `y` (365
    /// days). It must end before the root does.
    #[arg(long, value_name = "PERIOD", default_value = "5y", value_parser = parse_validity)]
    pub validity: i64,

    /// The root's key in an HSM (`--pkcs11-key root=...`, as given to `init-root`).
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// A validity in seconds from `90d` or `5y`.
fn parse_validity(text: &str) -> Result<i64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: give a unit (d or y), e.g. 5y"))?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a period (e.g. 90d, 5y)"))?;
    let scale = match unit {
        "d" => 86_400,
        "y" => 365 * 86_400,
        _ => return Err(format!("{text:?}: the unit is d or y")),
    };
    number
        .checked_mul(scale)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?}: must be at least one day"))
}

/// The CA key of `service` in an HSM, when the PKCS#11 flags give one (and no other).
fn hsm_key(
    args: &Pkcs11Args,
    service: KeyService,
) -> Result<Option<signet_ca::SigningKey>, Failure> {
    let keys = args.open(&[service])?;
    keys.get(service)
        .map(|key| {
            signet_ca::SigningKey::from_signer(std::sync::Arc::clone(key))
                .map_err(|e| Failure::Usage(format!("the {service} key: {e}")))
        })
        .transpose()
}

/// Whether `init-intermediate` wrote the request of the next intermediate, in the pending
/// directory of a CA that serves already.
fn is_pending(csr: &std::path::Path) -> bool {
    csr.parent()
        .and_then(std::path::Path::file_name)
        .is_some_and(|name| name == store::PENDING_DIR)
}

/// Runs a `signet ca` command.
pub fn run(command: &CaCommand) -> Result<(), Failure> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let now = crate::common::now();
    let failed = |e: signet_ca::OfflineCaError| Failure::Usage(e.to_string());
    match command {
        CaCommand::InitRoot(args) => {
            if let Some(key) = hsm_key(&args.pkcs11, KeyService::Root)? {
                let location = key.signer().location();
                let root = store::init_root_with_key(&args.out, now, key, &args.subject, &rng)
                    .map_err(failed)?;
                println!(
                    "signet: root {} in {} ({}; its key stays in the HSM: {location})",
                    root.certificate().subject(),
                    args.out.display(),
                    store::ROOT_CERT_FILE,
                );
                return Ok(());
            }
            let root = store::init_root(
                &args.out,
                now,
                args.algorithm.algorithm(),
                &args.subject,
                &rng,
            )
            .map_err(failed)?;
            println!(
                "signet: root {} in {} ({} and {}, the key mode 0600); keep it offline",
                root.certificate().subject(),
                args.out.display(),
                store::ROOT_CERT_FILE,
                store::ROOT_KEY_FILE
            );
        }
        CaCommand::InitIntermediate(args) => {
            if let Some(key) = hsm_key(&args.pkcs11, KeyService::Ca)? {
                let csr =
                    store::init_intermediate_with_key(&args.data.join("ca"), &key, &args.subject)
                        .map_err(failed)?;
                let start = if is_pending(&csr) {
                    "--ca-chain CHAIN.pem --rotate ca and this --pkcs11-key ca=... (the next \
                     intermediate: the CA serves the current one until then)"
                } else {
                    "--ca-chain CHAIN.pem and the same --pkcs11-key ca=..."
                };
                println!(
                    "signet: the intermediate key stays in the HSM ({}); sign {} with the \
                     offline root (`signet ca sign-intermediate`), then start with {start}",
                    key.signer().location(),
                    csr.display()
                );
                return Ok(());
            }
            let csr = store::init_intermediate(
                &args.data.join("ca"),
                args.algorithm.algorithm(),
                &args.subject,
                &rng,
            )
            .map_err(failed)?;
            let (key, start) = match csr.parent() {
                Some(dir) if is_pending(&csr) => (
                    dir.join(store::INTERMEDIATE_KEY_FILE),
                    "--ca-chain CHAIN.pem --rotate ca (the next intermediate, pending: the CA \
                     serves the current one until then)",
                ),
                _ => (
                    args.data.join("ca").join(store::INTERMEDIATE_KEY_FILE),
                    "--ca-chain CHAIN.pem",
                ),
            };
            println!(
                "signet: intermediate key in {}; sign {} with the offline root (`signet ca \
                 sign-intermediate`), then start with {start}",
                key.display(),
                csr.display()
            );
        }
        CaCommand::SignIntermediate(args) => {
            let intermediate = match hsm_key(&args.pkcs11, KeyService::Root)? {
                Some(key) => {
                    let root = store::read_root_with_key(&args.root, key).map_err(failed)?;
                    store::sign_intermediate_with_root(
                        &root,
                        &args.csr,
                        &args.out,
                        now,
                        args.validity,
                        &rng,
                    )
                }
                None => store::sign_intermediate(
                    &args.root,
                    &args.csr,
                    &args.out,
                    now,
                    args.validity,
                    &rng,
                ),
            }
            .map_err(failed)?;
            println!(
                "signet: issued {} (valid until {}); chain written to {}",
                intermediate.subject(),
                signet_formats::Timestamp::from_unix_seconds(intermediate.not_after()),
                args.out.display()
            );
        }
    }
    Ok(())
}
