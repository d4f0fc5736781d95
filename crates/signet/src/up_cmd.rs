//! `signet up` and `signet dev-token`.

use crate::Failure;
use crate::cli::{DevTokenArgs, UpArgs};
use crate::serve_cmd::{bind, load_issuers, serve, server_runtime};
use signet_server::up::{
    Deployment, DeploymentConfig, SIGNING_CONFIG_JSON, TRUST_CONFIG_JSON, TRUSTED_ROOT_JSON,
};

/// Runs the whole deployment until SIGTERM or ctrl-c.
pub fn up(args: &UpArgs) -> Result<(), Failure> {
    server_runtime()?.block_on(run(args))
}

async fn run(args: &UpArgs) -> Result<(), Failure> {
    let issuers = load_issuers(&args.oidc_issuers, args.oidc_config.as_deref())?;
    let (listener, local) = bind(args.listen).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let dev_oidc = !args.no_dev_oidc && (args.dev_oidc || local.ip().is_loopback());
    let deployment = Deployment::open(DeploymentConfig {
        data_dir: args.data.clone(),
        public_url: public_url.clone(),
        database: args.database.clone(),
        dev_oidc,
        oidc_issuers: issuers,
        batch: signet_log::BatcherConfig::default(),
    })
    .await
    .map_err(|e| Failure::Usage(format!("starting: {e}")))?;
    let dir = deployment.data_dir().display().to_string();
    println!("signet: private Sigstore at {public_url} (listening on {local})");
    println!("signet:   Rekor v1 + v2 logs, CA (Fulcio API v2) + CT log, timestamp authority");
    println!(
        "signet: trust files in {dir}/: {TRUSTED_ROOT_JSON}, {SIGNING_CONFIG_JSON}, {TRUST_CONFIG_JSON}"
    );
    if let Some(issuer) = deployment.dev_issuer_url() {
        println!(
            "signet: DEVELOPMENT OIDC issuer at {issuer}: it issues a token for any identity \
             to anyone who asks. Do not use it for anything real (--no-dev-oidc turns it off)."
        );
        println!("signet: sign and verify a file:");
        println!(
            "  signet sign-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --dev-subject alice@example.test --bundle FILE.sigstore.json FILE"
        );
        println!(
            "  signet verify-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --bundle FILE.sigstore.json --certificate-identity alice@example.test --certificate-oidc-issuer {issuer} FILE"
        );
    } else {
        println!("signet: sign a file:");
        println!(
            "  signet sign-blob --trust-config {dir}/{TRUST_CONFIG_JSON} --bundle FILE.sigstore.json FILE"
        );
    }
    let result = serve(listener, deployment.router()).await;
    deployment.shutdown().await;
    result
}

/// Prints a development token.
pub fn dev_token(args: &DevTokenArgs) -> Result<(), Failure> {
    crate::common::runtime()?.block_on(async {
        let http = signet_sign::SigningClient::default_http()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let token = signet_sign::token::dev_token(&http, &args.server, &args.subject, args.ttl)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        println!("{token}");
        Ok(())
    })
}
