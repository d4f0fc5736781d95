//! The PKCS#11 flags shared by `signet up`, `signet serve log`, `signet serve ca` and the
//! `signet ca` commands: which service keys live in an HSM. Opening the keys and checking
//! them is `signet_deploy::keys`'.

use crate::Failure;
use clap::Args;
use signet_deploy::keys::{KeyService, PinSource, Pkcs11Keys, ServiceKeys, parse_pkcs11_key_flag};
use std::path::PathBuf;

/// Service keys in an HSM, through PKCS#11.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Keys in an HSM (PKCS#11)")]
pub struct Pkcs11Args {
    /// The PKCS#11 module (shared library) of the HSM, e.g.
    /// `/usr/lib/softhsm/libsofthsm2.so`. A `pkcs11:` URI's `module-path` overrides it.
    #[arg(long, value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,

    /// The label of the token holding the keys given by label.
    #[arg(long, value_name = "LABEL")]
    pub pkcs11_token: Option<String>,

    /// Read the token's user PIN from this environment variable (never from a flag value).
    #[arg(long, value_name = "NAME", conflicts_with = "pkcs11_pin_file")]
    pub pkcs11_pin_env: Option<String>,

    /// Read the token's user PIN from the first line of this file.
    #[arg(long, value_name = "PATH")]
    pub pkcs11_pin_file: Option<PathBuf>,

    /// Sign for SERVICE with a key in the HSM instead of a key file in the data directory:
    /// `SERVICE=LABEL` (the private key's label on `--pkcs11-token`) or `SERVICE=pkcs11:URI`
    /// (RFC 7512: `token=`, `object=`/`id=`, `module-path=`, `pin-source=`). Repeatable.
    /// SERVICE is `ca` (the CA's intermediate, ECDSA P-256/P-384; certified by an offline
    /// root, see `signet ca init-intermediate`), `ct` (ECDSA P-256), `rekor-v1` (ECDSA
    /// P-256), `rekor-v2` (Ed25519), `tsa` (ECDSA P-256/P-384), `tuf-root`, `tuf-timestamp`,
    /// `tuf-snapshot`, `tuf-targets` (Ed25519), or `root` (`signet ca init-root` and
    /// `sign-intermediate`: the offline root, ECDSA P-256/P-384).
    #[arg(long = "pkcs11-key", value_name = "SERVICE=KEY", value_parser = parse_pkcs11_key_flag)]
    pub pkcs11_keys: Vec<(KeyService, String)>,
}

impl Pkcs11Args {
    /// Opens the keys, refusing keys of services other than `allowed`. No key asked for:
    /// none opened, and the other flags are then refused as having no effect.
    pub fn open(&self, allowed: &[KeyService]) -> Result<ServiceKeys, Failure> {
        if self.pkcs11_keys.is_empty() {
            if self.pkcs11_module.is_some()
                || self.pkcs11_token.is_some()
                || self.pkcs11_pin_env.is_some()
                || self.pkcs11_pin_file.is_some()
            {
                return Err(Failure::Usage(
                    "--pkcs11-module/--pkcs11-token/--pkcs11-pin-* without --pkcs11-key \
                     SERVICE=KEY: no key would be read from the HSM"
                        .into(),
                ));
            }
            return Ok(ServiceKeys::new());
        }
        let keys = self
            .config()?
            .open()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        keys.only(allowed)
            .map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(keys)
    }

    /// What the flags say, without opening anything.
    pub fn config(&self) -> Result<Pkcs11Keys, Failure> {
        let pin = match (&self.pkcs11_pin_env, &self.pkcs11_pin_file) {
            (Some(name), _) => Some(
                PinSource::env(name)
                    .map_err(|e| Failure::Usage(format!("--pkcs11-pin-env: {e}")))?,
            ),
            (None, Some(path)) => Some(PinSource::File(path.clone())),
            (None, None) => None,
        };
        Ok(Pkcs11Keys {
            module: self.pkcs11_module.clone(),
            token: self.pkcs11_token.clone(),
            pin,
            keys: self.pkcs11_keys.clone(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        pkcs11: Pkcs11Args,
    }

    fn parse(args: &[&str]) -> Result<Pkcs11Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|c| c.pkcs11)
    }

    #[test]
    fn pkcs11_module_and_token() {
        let args = parse(&["--pkcs11-module", "/m.so", "--pkcs11-token", "signet"]).unwrap();
        assert_eq!(args.pkcs11_module, Some(PathBuf::from("/m.so")));
        assert_eq!(args.pkcs11_token.as_deref(), Some("signet"));
        // Without a key they would do nothing: refused.
        assert!(args.open(&KeyService::ALL).is_err());
    }

    #[test]
    fn pkcs11_pin_env_and_file_exclude_each_other() {
        assert!(parse(&["--pkcs11-pin-env", "PIN", "--pkcs11-pin-file", "/p"]).is_err());
        let args = parse(&["--pkcs11-pin-file", "/p"]).unwrap();
        assert_eq!(args.pkcs11_pin_file, Some(PathBuf::from("/p")));
        let args = parse(&["--pkcs11-pin-env", "PIN"]).unwrap();
        assert_eq!(args.pkcs11_pin_env.as_deref(), Some("PIN"));
    }

    #[test]
    fn pkcs11_key_is_repeatable_and_names_a_service() {
        let args = parse(&[
            "--pkcs11-key",
            "rekor-v2=log",
            "--pkcs11-key",
            "ca=pkcs11:token=t;object=ca",
        ])
        .unwrap();
        assert_eq!(args.pkcs11_keys.len(), 2);
        assert_eq!(args.pkcs11_keys[0], (KeyService::RekorV2, "log".into()));
        assert_eq!(args.pkcs11_keys[1].0, KeyService::Ca);
        let error = parse(&["--pkcs11-key", "fulcio=x"])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("unknown service"), "{error}");
        assert!(parse(&["--pkcs11-key", "ca"]).is_err());
        // A label needs the module and the token.
        let args = parse(&["--pkcs11-key", "tsa=t", "--pkcs11-pin-env", "P"]).unwrap();
        let Err(Failure::Usage(message)) = args.open(&KeyService::ALL) else {
            panic!("opened without a module")
        };
        assert!(
            message.contains("tsa") && message.contains("--pkcs11-module"),
            "{message}"
        );
    }
}
