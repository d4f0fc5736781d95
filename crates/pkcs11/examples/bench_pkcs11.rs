//! Signing throughput through SoftHSM2 (`Pkcs11Key`) next to aws-lc-rs in-memory keys of the
//! same types. A measurement, not a test: nothing is asserted.
//!
//! ```text
//! SIGNET_SOFTHSM_MODULE=$(./scripts/ensure-softhsm) \
//!     cargo run --release -p signet-pkcs11 --example bench_pkcs11 [SECONDS] [THREADS]
//! ```
//!
//! It makes a throwaway token in a temporary directory and runs itself again with
//! `SOFTHSM2_CONF` pointing there (SoftHSM2 reads that once, at initialization).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use signet_pkcs11::{KeyRef, PinSource, Pkcs11Key};

const TOKEN: &str = "bench";
const PIN: &str = "1234";
const CHILD_VAR: &str = "SIGNET_BENCH_SOFTHSM_CHILD";
const MESSAGE: &[u8] = b"a checkpoint-sized message: origin\n12345\nbase64roothash=\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let module = PathBuf::from(
        std::env::var_os("SIGNET_SOFTHSM_MODULE")
            .ok_or("set SIGNET_SOFTHSM_MODULE to what ./scripts/ensure-softhsm prints")?,
    );
    if std::env::var_os(CHILD_VAR).is_some() {
        return run(&module, Duration::from_secs(seconds), threads);
    }
    let dir = tempfile::tempdir()?;
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens)?;
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    let status = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--so-pin",
            "5678",
            "--pin",
            PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err("softhsm2-util --init-token failed".into());
    }
    let status = Command::new(std::env::current_exe()?)
        .args(args.iter().skip(1))
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_VAR, "1")
        .env("SIGNET_BENCH_PIN", PIN)
        .status()?;
    if !status.success() {
        return Err("benchmark child failed".into());
    }
    Ok(())
}

fn run(module: &Path, time: Duration, threads: usize) -> Result<(), Box<dyn std::error::Error>> {
    // Generate the token's keys through cryptoki.
    let pkcs11 = Pkcs11::new(module)?;
    pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = *pkcs11.get_slots_with_token()?.first().ok_or("no slot")?;
    let session = pkcs11.open_rw_session(slot)?;
    session.login(UserType::User, Some(&AuthPin::new(PIN.into())))?;
    let ed25519 = pkcs11
        .get_mechanism_list(slot)?
        .contains(&MechanismType::ECC_EDWARDS_KEY_PAIR_GEN);
    let mut kinds: Vec<(&str, Vec<u8>, Mechanism<'_>)> = vec![
        (
            "p256",
            vec![6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7],
            Mechanism::EccKeyPairGen,
        ),
        (
            "p384",
            vec![6, 5, 0x2b, 0x81, 4, 0, 0x22],
            Mechanism::EccKeyPairGen,
        ),
    ];
    if ed25519 {
        kinds.push((
            "ed25519",
            vec![6, 3, 0x2b, 0x65, 0x70],
            Mechanism::EccEdwardsKeyPairGen,
        ));
    }
    for (label, params, mech) in &kinds {
        let label = label.as_bytes().to_vec();
        session.generate_key_pair(
            mech,
            &[
                Attribute::Token(true),
                Attribute::Label(label.clone()),
                Attribute::EcParams(params.clone()),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Label(label),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Sign(true),
            ],
        )?;
    }

    println!(
        "signs/s over {}s, {threads} thread(s); message {} bytes",
        time.as_secs(),
        MESSAGE.len()
    );
    println!("{:<10} {:>14} {:>14}", "key", "SoftHSM2", "aws-lc-rs");
    let pin = PinSource::env("SIGNET_BENCH_PIN")?;
    let rng = SystemRandom::new();
    for (label, _, _) in &kinds {
        let key = Arc::new(Pkcs11Key::open(
            &KeyRef::from_flags(module, TOKEN, label)?,
            Some(&pin),
        )?);
        let hsm = rate(time, threads, {
            let key = Arc::clone(&key);
            move || key.sign(MESSAGE).map(drop).map_err(|e| e.to_string())
        })?;
        let local = match *label {
            "p256" | "p384" => {
                let alg = if *label == "p256" {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|e| e.to_string())?;
                let pair = Arc::new(
                    EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).map_err(|e| e.to_string())?,
                );
                let rng = SystemRandom::new();
                rate(time, threads, move || {
                    pair.sign(&rng, MESSAGE)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })?
            }
            _ => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| e.to_string())?;
                let pair = Arc::new(
                    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| e.to_string())?,
                );
                rate(time, threads, move || {
                    std::hint::black_box(pair.sign(MESSAGE));
                    Ok(())
                })?
            }
        };
        println!("{label:<10} {hsm:>14.0} {local:>14.0}");
    }
    Ok(())
}

/// Signatures per second of `sign` run by `threads` threads for `time`.
fn rate<F>(time: Duration, threads: usize, sign: F) -> Result<f64, Box<dyn std::error::Error>>
where
    F: Fn() -> Result<(), String> + Send + Sync + Clone + 'static,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let sign = sign.clone();
            std::thread::spawn(move || -> Result<u64, String> {
                let mut n = 0u64;
                while start.elapsed() < time {
                    sign()?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0u64;
    for h in handles {
        total += h.join().map_err(|_| "bench thread panicked")??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}
