//! `signet serve log`: opens the log server's data directory and serves its HTTP API until
//! SIGTERM or ctrl-c.

use crate::Failure;
use crate::cli::ServeLogArgs;
use signet_server::{LogServer, LogServerConfig};

/// Runs the log server. Returns only on a startup failure or after a signal.
pub fn log(args: &ServeLogArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    runtime.block_on(serve_log(args))
}

async fn serve_log(args: &ServeLogArgs) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::Usage(format!("listening on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Usage(format!("listening on {}: {e}", args.listen)))?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let mut config = LogServerConfig::new(args.data.clone(), public_url.clone());
    config.database = args.database.clone();
    config.peer_url = Some(
        args.peer_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}")),
    );
    let server = LogServer::open(config)
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
        server.trusted_root_path().display()
    );
    let router = server.router();
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Failure::Usage(format!("serving: {e}")))?;
    server.shutdown().await;
    Ok(())
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
