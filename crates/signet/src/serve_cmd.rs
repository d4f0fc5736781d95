//! `signet serve log`, `signet serve ca` and `signet serve tsa`: each opens its data directory
//! and serves its HTTP API until SIGTERM or ctrl-c.

use std::sync::Arc;

use crate::Failure;
use crate::cli::{HttpArgs, ServeCaArgs, ServeLogArgs, ServeTsaArgs};
use signet_deploy::{CaDeployment, CaDeploymentConfig, LogServerConfig};

/// A multi-threaded runtime for the servers.
pub fn server_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))
}

/// The OIDC issuers of `--oidc-issuer URL` flags (email identities, client ID `sigstore`) and
/// of a Fulcio-format configuration file.
pub fn load_issuers(
    urls: &[String],
    config: Option<&std::path::Path>,
) -> Result<Vec<signet_oidc::IssuerConfig>, Failure> {
    if let Some(pattern) = urls.iter().find(|u| u.contains('*')) {
        return Err(Failure::Usage(format!(
            "--oidc-issuer {pattern:?}: a wildcard issuer is a Fulcio MetaIssuers entry; give it in --oidc-config"
        )));
    }
    let mut issuers: Vec<signet_oidc::IssuerConfig> = urls
        .iter()
        .map(|url| signet_oidc::IssuerConfig::email(url.clone()))
        .collect();
    if let Some(path) = config {
        let data =
            crate::common::read_limited(path, "OIDC configuration", crate::common::MAX_INPUT_FILE)?;
        issuers.extend(
            signet_oidc::parse_fulcio_config(&data)
                .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
        );
    }
    Ok(issuers)
}

/// Binds `addr`, returning the listener and the address it got (the port, for `:0`).
pub async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Usage(format!("listening on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Usage(format!("listening on {addr}: {e}")))?;
    Ok((listener, local))
}

/// Serves `router` within the connection limits of `http` until SIGTERM or ctrl-c, after
/// raising the open-file limit to its maximum (connections get at most half of it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    http: &HttpArgs,
) -> Result<(), Failure> {
    use signet_deploy::http_server;
    let asked = http.limits();
    let open_files = http_server::raise_open_files_limit();
    let limits = open_files.map_or(asked, |n| asked.within_open_files(n));
    let lowered = if limits.max_connections < asked.max_connections {
        format!(
            " (not {}: the open-file limit is {})",
            asked.max_connections,
            open_files.unwrap_or_default()
        )
    } else {
        String::new()
    };
    println!(
        "signet: connections: at most {}{lowered}; timeouts: idle {}, headers {}, body {}, \
         request {}; request bodies in memory: at most {} MiB",
        limits.max_connections,
        seconds(limits.idle_timeout),
        seconds(limits.header_timeout),
        seconds(limits.body_timeout),
        seconds(limits.request_timeout),
        limits.body_buffer_bytes >> 20,
    );
    http_server::serve(listener, router, limits, shutdown_signal()).await;
    Ok(())
}

/// `d` as `60 s` or `0.5 s`.
fn seconds(d: std::time::Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Runs the CA (with its CT log). Returns only on a startup failure or after a signal.
pub fn ca(args: &ServeCaArgs) -> Result<(), Failure> {
    server_runtime()?.block_on(serve_ca(args))
}

async fn serve_ca(args: &ServeCaArgs) -> Result<(), Failure> {
    let issuers = load_issuers(&args.oidc_issuers, args.config.as_deref())?;
    if issuers.is_empty() && !args.dev_oidc {
        return Err(Failure::Usage(
            "no OIDC issuer: give --oidc-issuer, --config or --dev-oidc".into(),
        ));
    }
    let keys = args.pkcs11.open(&[
        signet_deploy::keys::KeyService::Ca,
        signet_deploy::keys::KeyService::Ct,
    ])?;
    let (listener, local) = bind(args.listen).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let deployment = CaDeployment::open_with_keys(
        CaDeploymentConfig {
            data_dir: args.data.clone(),
            public_url: public_url.clone(),
            oidc_issuers: issuers,
            dev_oidc: args.dev_oidc,
            batch: signet_log::BatcherConfig::default(),
            ct_public_add: args.ct_public_add,
            checkpoint_lock: args.checkpoint_lock.clone(),
            ca_chain: args.ca_chain.clone(),
            database: args.database.clone(),
            peer_url: args.database.as_ref().map(|_| {
                args.peer_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{local}"))
            }),
        },
        signet_deploy::Environment::system(),
        &keys,
    )
    .await
    .map_err(|e| Failure::Usage(format!("opening the CA: {e}")))?;
    let root_path = deployment
        .write_trusted_root()
        .map_err(|e| Failure::Usage(format!("writing the trusted root: {e}")))?;
    println!("signet: serving the CA at {public_url} (listening on {local})");
    println!("signet: CT log at {}", deployment.ctlog().base_url);
    for issuer in deployment.issuers() {
        println!("signet: accepting tokens from {}", issuer.issuer_url);
    }
    if let Some(issuer) = deployment.dev_issuer_url() {
        println!(
            "signet: WARNING: the DEVELOPMENT OIDC issuer is ON at {issuer} (--dev-oidc): it \
             hands a token for ANY identity to anyone who asks, and the CA certifies it. Do not \
             use it for anything real."
        );
    }
    println!("signet: trusted root: {}", root_path.display());
    let result = serve(listener, deployment.router(), &args.http).await;
    deployment.shutdown().await;
    result
}

/// Runs the timestamp authority. Returns only on a startup failure or after a signal.
pub fn tsa(args: &ServeTsaArgs) -> Result<(), Failure> {
    server_runtime()?.block_on(serve_tsa(args))
}

async fn serve_tsa(args: &ServeTsaArgs) -> Result<(), Failure> {
    let keys = args.pkcs11.open(&[signet_deploy::keys::KeyService::Tsa])?;
    let (listener, local) = bind(args.listen).await?;
    let env = signet_deploy::Environment::system();
    let tsa = signet_deploy::open_tsa_with_key(
        &args.data,
        &env,
        keys.get(signet_deploy::keys::KeyService::Tsa),
    )
    .map_err(|e| Failure::Usage(format!("opening the TSA: {e}")))?;
    println!("signet: serving the timestamp authority at http://{local}/api/v1/timestamp");
    println!(
        "signet: certificate chain: {}",
        args.data.join(signet_tsa::CHAIN_FILE).display()
    );
    let router = signet_deploy::tsa_router(Arc::new(tsa), &env);
    serve(listener, router, &args.http).await
}

/// Runs the log server. Returns only on a startup failure or after a signal.
pub fn log(args: &ServeLogArgs) -> Result<(), Failure> {
    server_runtime()?.block_on(serve_log(args))
}

async fn serve_log(args: &ServeLogArgs) -> Result<(), Failure> {
    signet_deploy::explorer::check_connect_origins(&args.explorer_connect)
        .map_err(Failure::Usage)?;
    let keys = args.pkcs11.open(&[
        signet_deploy::keys::KeyService::RekorV1,
        signet_deploy::keys::KeyService::RekorV2,
    ])?;
    let (listener, local) = bind(args.listen).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let mut config = LogServerConfig::new(args.data.clone(), public_url.clone());
    config.database = args.database.clone();
    config.cache_bytes = usize::try_from(args.cache_bytes).unwrap_or(usize::MAX);
    config.follower_max_staleness =
        std::time::Duration::from_millis(args.follower_max_staleness_ms);
    config.guards = log_guards(&args.guards)?;
    config.peer_url = Some(
        args.peer_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}")),
    );
    let server = signet_deploy::open_log_server_with_keys(
        config,
        signet_deploy::Environment::system(),
        &keys,
    )
    .await
    .map_err(|e| Failure::Usage(format!("opening the log: {e}")))?;
    println!("signet: serving the log at {public_url} (listening on {local})");
    if args.database.is_some() {
        let role = if server.is_sequencing() {
            "sequencing"
        } else {
            "following the sequencing server"
        };
        println!("signet: logs in PostgreSQL; {role}");
    }
    println!(
        "signet: trusted root: {}",
        signet_deploy::trusted_root_path(&args.data).display()
    );
    let app = server
        .router()
        .merge(signet_deploy::explorer::log_server_router(
            &args.data,
            &public_url,
            &args.explorer_connect,
        ));
    let result = serve(listener, app, &args.http).await;
    server.shutdown().await;
    result
}

/// The checkpoint guards the flags ask for.
pub fn log_guards(
    args: &crate::cli::LogGuardArgs,
) -> Result<signet_deploy::LogGuardConfig, Failure> {
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            w.parse::<signet_deploy::WitnessSpec>()
                .map_err(|e| Failure::Usage(format!("--witness: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let witness_quorum = match args.witness_quorum {
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > witnesses.len() {
                return Err(Failure::Usage(format!(
                    "--witness-quorum {n} with {} --witness",
                    witnesses.len()
                )));
            }
            Some(n)
        }
        None => None,
    };
    Ok(signet_deploy::LogGuardConfig {
        checkpoint_lock: args.checkpoint_lock.clone(),
        witnesses,
        witness_quorum,
    })
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
