//! `signet up` and `signet dev-token`.

use crate::Failure;
use crate::cli::{DevTokenArgs, RotateArg, UpArgs};
use crate::serve_cmd::{bind, load_issuers, serve, server_runtime};
use signet_deploy::keys::KeyService;
use signet_deploy::{
    Deployment, DeploymentConfig, DevOidcDefault, RETIRED_TRUST_JSON, RotateService,
    SIGNING_CONFIG_JSON, TRUST_CONFIG_JSON, TRUSTED_ROOT_JSON,
};

/// Runs the whole deployment until SIGTERM or ctrl-c.
pub fn up(args: &UpArgs) -> Result<(), Failure> {
    server_runtime()?.block_on(run(args))
}

async fn run(args: &UpArgs) -> Result<(), Failure> {
    let issuers = load_issuers(&args.oidc_issuers, args.oidc_config.as_deref())?;
    signet_deploy::explorer::check_connect_origins(&args.explorer_connect)
        .map_err(Failure::Usage)?;
    let keys = args.pkcs11.open(KeyService::UP)?;
    let (listener, local) = bind(args.listen).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let (dev_oidc, why) = dev_oidc_choice(args, local.ip(), &public_url, issuers.len());
    let real_issuers: Vec<String> = issuers.iter().map(|i| i.issuer_url.clone()).collect();
    let deployment = Deployment::open_with_keys(
        DeploymentConfig {
            data_dir: args.data.clone(),
            public_url: public_url.clone(),
            database: args.database.clone(),
            peer_url: args.database.as_ref().map(|_| {
                args.peer_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{local}"))
            }),
            dev_oidc,
            oidc_issuers: issuers,
            batch: signet_log::BatcherConfig::default(),
            ct_public_add: args.ct_public_add,
            cache_bytes: usize::try_from(args.cache_bytes).unwrap_or(usize::MAX),
            follower_max_staleness: std::time::Duration::from_millis(
                args.follower_max_staleness_ms,
            ),
            rotate: args.rotate.iter().map(|r| rotate_service(*r)).collect(),
            tuf_expiries: signet_tuf::repo::Expiries {
                root: args.tuf.root,
                targets: args.tuf.targets,
                snapshot: args.tuf.snapshot,
                timestamp: args.tuf.timestamp,
            },
            log_guards: crate::serve_cmd::log_guards(&args.guards)?,
            ca_chain: args.ca_chain.clone(),
        },
        signet_deploy::Environment::system(),
        keys,
    )
    .await
    .map_err(|e| Failure::Usage(format!("starting: {e}")))?
    .explorer_connect(args.explorer_connect.clone());
    let dir = deployment.data_dir().display().to_string();
    println!("signet: private Sigstore at {public_url} (listening on {local})");
    println!("signet:   Rekor v1 + v2 logs, CA (Fulcio API v2) + CT log, timestamp authority");
    println!("signet: log explorer (proofs verified in your browser): {public_url}/");
    println!(
        "signet: trust files in {dir}/: {TRUSTED_ROOT_JSON}, {SIGNING_CONFIG_JSON}, {TRUST_CONFIG_JSON}"
    );
    for rotation in deployment.rotations() {
        let how = if rotation.resumed {
            "finished an interrupted rotation of"
        } else {
            "rotated"
        };
        println!(
            "signet: {how} the {} key: the old one stays in {TRUSTED_ROOT_JSON}, valid until {} \
             (kept in {RETIRED_TRUST_JSON}); the new one signs from then on. Clients that trust \
             the instance over TUF see it at their next refresh; others must fetch the new \
             {TRUSTED_ROOT_JSON}",
            rotation.service,
            signet_formats::Timestamp::from_unix_seconds(rotation.at)
        );
    }
    if let Ok(vkey) = deployment.rekor_v2_vkey() {
        println!(
            "signet: Rekor v2 log key (for witnesses, `signet witness --log`; also in {dir}/log/{}): {vkey}",
            signet_deploy::V2_VKEY_FILE
        );
    }
    let signet = invocation();
    let tuf = deployment.tuf_url();
    println!(
        "signet: TUF repository at {tuf}/ (targets {} and {}); hand out {dir}/{}, then:",
        signet_tuf::TRUSTED_ROOT_TARGET,
        signet_tuf::SIGNING_CONFIG_TARGET,
        signet_deploy::tuf::TUF_ROOT_FILE
    );
    println!(
        "  {signet} trust-instance --instance {tuf} --root {dir}/{}",
        signet_deploy::tuf::TUF_ROOT_FILE
    );
    println!(
        "  sigstore --instance {tuf} trust-instance {dir}/{}",
        signet_deploy::tuf::TUF_ROOT_FILE
    );
    for issuer in &real_issuers {
        println!("signet: accepting tokens from {issuer}");
    }
    if let Some(issuer) = deployment.dev_issuer_url() {
        println!(
            "signet: WARNING: the DEVELOPMENT OIDC issuer is ON at {issuer} ({why}): it hands a \
             token for ANY identity to anyone who asks, and the CA certifies it. Do not use it \
             for anything real."
        );
    } else {
        println!("signet: development OIDC issuer: off ({why})");
        if real_issuers.is_empty() {
            println!(
                "signet: WARNING: no OIDC issuer: the CA refuses every certificate request \
                 (give --oidc-issuer or --oidc-config)"
            );
        }
    }
    if let (Some(issuer), true) = (deployment.dev_issuer_url(), real_issuers.is_empty()) {
        println!("signet: sign and verify a file:");
        println!(
            "  {signet} sign-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --dev-subject alice@example.test --bundle FILE.sigstore.json FILE"
        );
        println!(
            "  {signet} verify-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --bundle FILE.sigstore.json --certificate-identity alice@example.test --certificate-oidc-issuer {issuer} FILE"
        );
    } else {
        println!("signet: sign a file:");
        println!(
            "  {signet} sign-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --bundle FILE.sigstore.json FILE"
        );
    }
    let result = serve(listener, deployment.router(), &args.http).await;
    deployment.shutdown().await;
    result
}

/// The deployment's name for a `--rotate` value.
fn rotate_service(arg: RotateArg) -> RotateService {
    match arg {
        RotateArg::RekorV1 => RotateService::RekorV1,
        RotateArg::RekorV2 => RotateService::RekorV2,
        RotateArg::Ct => RotateService::Ct,
        RotateArg::Tsa => RotateService::Tsa,
        RotateArg::Ca => RotateService::Ca,
    }
}

/// Whether `signet up` runs the development OIDC issuer, and why, for the banner.
fn dev_oidc_choice(
    args: &UpArgs,
    listen: std::net::IpAddr,
    public_url: &str,
    real_issuers: usize,
) -> (bool, &'static str) {
    if args.no_dev_oidc {
        return (false, "--no-dev-oidc");
    }
    if args.dev_oidc {
        return (true, "--dev-oidc");
    }
    let choice = DevOidcDefault::decide(listen, public_url, real_issuers);
    let why = match choice {
        DevOidcDefault::On => {
            "the listen address and the public URL are loopback and no other issuer is \
             configured; --no-dev-oidc turns it off"
        }
        DevOidcDefault::OffRealIssuer => {
            "a real issuer is configured; --dev-oidc would add it after that one"
        }
        DevOidcDefault::OffListenAddress => {
            "the listen address is not loopback; --dev-oidc forces it on"
        }
        _ => "the public URL is not loopback; --dev-oidc forces it on",
    };
    (choice.is_on(), why)
}

/// How the printed commands call this binary: `signet` when the first `signet` on `PATH` is
/// this very file, otherwise the running binary's path (as after `cargo run -- up`).
fn invocation() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "signet".into();
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    if first_on_path(&path, "signet").is_some_and(|found| same_file(&found, &exe)) {
        "signet".into()
    } else {
        shell_word(&exe.display().to_string())
    }
}

/// The first executable file called `name` in the directories of `path` (a `PATH` value).
fn first_on_path(path: &std::ffi::OsStr, name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(file: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(file: &std::path::Path) -> bool {
    file.is_file()
}

/// Whether two paths name the same file once symbolic links are resolved.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `text` as one POSIX shell word: unchanged when it has only safe characters, otherwise in
/// single quotes.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:@,=%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Prints a development token.
pub fn dev_token(args: &DevTokenArgs) -> Result<(), Failure> {
    crate::common::runtime()?.block_on(async {
        let http = signet_sign::SigningClient::default_http()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let server = match (&args.server, &args.instance) {
            (Some(server), _) => server.clone(),
            (None, Some(url)) => dev_issuer_of(url).await?,
            (None, None) => return Err(Failure::Usage("--server or --instance is needed".into())),
        };
        let token = signet_sign::token::dev_token(&http, &server, &args.subject, args.ttl)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        println!("{token}");
        Ok(())
    })
}

/// The identity provider an instance's signing config names (the development issuer of a
/// `signet up` that runs one).
async fn dev_issuer_of(instance: &str) -> Result<String, Failure> {
    let trust = crate::trust_cmd::instance_trust(instance).await?;
    trust
        .signing_config
        .and_then(|s| s.oidc_urls.into_iter().next())
        .map(|service| service.url)
        .ok_or_else(|| {
            Failure::Usage(format!(
                "instance {instance}'s signing config names no identity provider"
            ))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::ffi::OsString;

    fn executable(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
        let file = dir.join(name);
        std::fs::write(&file, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        file
    }

    #[test]
    fn the_first_signet_on_path_is_the_one_that_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let (empty, a, b) = (
            tmp.path().join("empty"),
            tmp.path().join("a"),
            tmp.path().join("b"),
        );
        for dir in [&empty, &a, &b] {
            std::fs::create_dir(dir).unwrap();
        }
        let in_a = executable(&a, "signet");
        let in_b = executable(&b, "signet");
        let path = std::env::join_paths([&empty, &a, &b]).unwrap();
        assert_eq!(first_on_path(&path, "signet"), Some(in_a.clone()));
        let path = std::env::join_paths([&b, &a]).unwrap();
        assert_eq!(first_on_path(&path, "signet"), Some(in_b.clone()));
        assert_eq!(first_on_path(&OsString::new(), "signet"), None);
        assert_eq!(
            first_on_path(&empty.clone().into_os_string(), "signet"),
            None
        );
        assert!(same_file(&in_a, &a.join(".").join("signet")));
        assert!(!same_file(&in_a, &in_b));
        assert!(!same_file(&in_a, &empty.join("signet")));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_that_is_not_executable_is_not_run() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("signet"), b"").unwrap();
        let path = tmp.path().as_os_str();
        assert_eq!(first_on_path(path, "signet"), None);
        std::fs::create_dir(tmp.path().join("dir")).unwrap();
        assert_eq!(first_on_path(path, "dir"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_on_path_to_this_binary_counts_as_it() {
        let tmp = tempfile::tempdir().unwrap();
        let real = executable(tmp.path(), "signet-real");
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(&real, bin.join("signet")).unwrap();
        let found = first_on_path(bin.as_os_str(), "signet").unwrap();
        assert!(same_file(&found, &real));
    }

    #[test]
    fn paths_are_printed_as_one_shell_word() {
        assert_eq!(
            shell_word("/work/main/target/release/signet"),
            "/work/main/target/release/signet"
        );
        assert_eq!(shell_word("/home/a b/signet"), "'/home/a b/signet'");
        assert_eq!(shell_word("/tmp/it's/signet"), r"'/tmp/it'\''s/signet'");
        assert_eq!(shell_word(""), "''");
    }
}
