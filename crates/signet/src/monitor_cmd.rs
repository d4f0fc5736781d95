//! `signet monitor`: rounds of `signet_audit::run_round` over one log, the state file between
//! them, JSON lines on stdout, an optional webhook and an optional `/metrics` endpoint.
//!
//! Each round prints one line per match and, when the log contradicts itself (a fork, a
//! shrunken log, a failed consistency proof) or signs with an untrusted key, one `alert` line
//! (the forms are in `signet_audit::monitor`). The state is saved, durably, only after a whole
//! round verified. `--once` exits 1 after an alert; `--interval` keeps going, counting alerts in
//! the `signet_monitor_alerts` gauge.

use crate::Failure;
use crate::log_cmd::{LogTargetArgs, failure, open_reader, read_state, write_state};
use clap::Args;
use signet_audit::{Event, Watch, run_round};
use signet_verify::StringMatcher;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `signet monitor`
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The log.
    #[command(flatten)]
    pub target: LogTargetArgs,

    /// Where the last verified tree head and the tree's right edge are kept between rounds
    /// (created by the first round, which reads the log from its first entry).
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,

    /// Report entries whose certificate names this identity (any SAN), matched exactly.
    /// Repeatable.
    #[arg(long, value_name = "ID")]
    pub identity: Vec<String>,

    /// Report entries whose certificate has a SAN matching this regular expression (the
    /// whole SAN). Repeatable.
    #[arg(long, value_name = "RE")]
    pub identity_regexp: Vec<String>,

    /// With --identity/--identity-regexp: the OIDC issuer the certificate must also name.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// Report entries signed with (or certifying) this key: the SHA-256 of its DER
    /// SubjectPublicKeyInfo, hex. Repeatable.
    #[arg(long, value_name = "SHA256HEX")]
    pub key_fingerprint: Vec<String>,

    /// Run one round and exit: 0 if it verified, 1 on an alert.
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,

    /// Time between rounds, e.g. `30s`, `5m`, `1h` (default 5m).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,

    /// Serve `/metrics` (Prometheus text) on this address, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// POST each match and alert, as JSON, to this URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
}

/// The monitor's counters, served on `/metrics`.
#[derive(Default)]
struct Metrics {
    alerts: AtomicU64,
    rounds: AtomicU64,
    matches: AtomicU64,
    tree_size: AtomicU64,
}

impl Metrics {
    fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP signet_monitor_alerts Alerts raised since the monitor started (forks, shrunken logs, inconsistent or untrusted tree heads).\n\
             # TYPE signet_monitor_alerts gauge\nsignet_monitor_alerts {}\n\
             # HELP signet_monitor_rounds_total Rounds that verified.\n\
             # TYPE signet_monitor_rounds_total counter\nsignet_monitor_rounds_total {}\n\
             # HELP signet_monitor_matches_total Entries of watched identities or keys.\n\
             # TYPE signet_monitor_matches_total counter\nsignet_monitor_matches_total {}\n\
             # HELP signet_monitor_tree_size Size of the last verified tree head.\n\
             # TYPE signet_monitor_tree_size gauge\nsignet_monitor_tree_size {}\n",
            get(&self.alerts),
            get(&self.rounds),
            get(&self.matches),
            get(&self.tree_size),
        )
    }
}

/// `30s`, `5m`, `1h`, `2d` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, Failure> {
    let bad = || Failure::Usage(format!("--interval {text:?}: want e.g. 30s, 5m, 1h"));
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if seconds == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(seconds))
}

fn watch_of(args: &MonitorArgs) -> Result<Watch, Failure> {
    let mut identities: Vec<StringMatcher> = args
        .identity
        .iter()
        .map(|i| StringMatcher::Exact(i.clone()))
        .collect();
    for pattern in &args.identity_regexp {
        identities.push(
            StringMatcher::regex(pattern)
                .map_err(|e| Failure::Usage(format!("--identity-regexp: {e}")))?,
        );
    }
    let mut key_fingerprints = Vec::new();
    for fp in &args.key_fingerprint {
        if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::Usage(format!(
                "--key-fingerprint {fp:?} is not a SHA-256 (64 hex digits)"
            )));
        }
        key_fingerprints.push(fp.to_ascii_lowercase());
    }
    if args.issuer.is_some() && identities.is_empty() {
        return Err(Failure::Usage(
            "--issuer needs --identity or --identity-regexp".into(),
        ));
    }
    Ok(Watch {
        identities,
        issuer: args.issuer.clone(),
        key_fingerprints,
    })
}

async fn post_webhook(http: &reqwest::Client, url: &str, event: &serde_json::Value) {
    let result = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(event.to_string())
        .send()
        .await;
    match result {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => eprintln!("signet monitor: webhook {url}: HTTP status {}", r.status()),
        Err(e) => eprintln!("signet monitor: webhook {url}: {e}"),
    }
}

async fn serve_metrics(addr: &str, metrics: Arc<Metrics>) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Usage(format!("--listen {addr}: {e}")))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = Arc::clone(&metrics);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("signet monitor: /metrics server stopped: {e}");
        }
    });
    Ok(())
}

/// Runs `signet monitor`.
pub fn monitor(args: &MonitorArgs) -> Result<(), Failure> {
    let watch = watch_of(args)?;
    let interval = match &args.interval {
        Some(text) => parse_duration(text)?,
        None => Duration::from_secs(300),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::default());
        if let Some(addr) = &args.listen {
            serve_metrics(addr, Arc::clone(&metrics)).await?;
        }
        let webhook_http = signet_sign::SigningClient::http_with_deadline(Duration::from_secs(30))
            .map_err(|e| Failure::Usage(format!("cannot build the HTTP client: {e}")))?;
        let reader = open_reader(&args.target).await?;
        let state_path = args.state.display().to_string();
        loop {
            let state = read_state(&args.state)?;
            let mut events: Vec<serde_json::Value> = Vec::new();
            let result = run_round(&reader, state.as_ref(), &state_path, &watch, |event| {
                let line = event.to_json();
                println!("{line}");
                if args.webhook.is_some() {
                    events.push(line);
                }
            })
            .await;
            let outcome = match result {
                Ok(round) => {
                    // Saved only now: the whole round verified.
                    write_state(&args.state, &round.state)?;
                    metrics.rounds.fetch_add(1, Ordering::Relaxed);
                    metrics.matches.fetch_add(round.matches, Ordering::Relaxed);
                    metrics.tree_size.store(round.head.size, Ordering::Relaxed);
                    eprintln!(
                        "signet monitor: {} ({}) verified at size {}: {} new entries, {} matches{}",
                        reader.url(),
                        reader.kind().name(),
                        round.head.size,
                        round.entries_read,
                        round.matches,
                        if round.undecodable > 0 {
                            format!(", {} entries of unknown kinds", round.undecodable)
                        } else {
                            String::new()
                        }
                    );
                    Ok(())
                }
                Err(e) => match Event::alert(reader.url(), reader.kind(), &e) {
                    Some(alert) => {
                        let line = alert.to_json();
                        println!("{line}");
                        events.push(line);
                        metrics.alerts.fetch_add(1, Ordering::Relaxed);
                        Err(Failure::Invalid(e.to_string()))
                    }
                    None => Err(failure(e)),
                },
            };
            if let Some(url) = &args.webhook {
                for event in &events {
                    post_webhook(&webhook_http, url, event).await;
                }
            }
            if args.once {
                return outcome;
            }
            if let Err(Failure::Invalid(m) | Failure::Usage(m)) = &outcome {
                eprintln!("signet monitor: round failed: {m}");
            }
            tokio::time::sleep(interval).await;
        }
    })
}
