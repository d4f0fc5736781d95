//! `signet witness`: a C2SP tlog-witness for the logs named by `--log`, on a data directory,
//! until SIGTERM or ctrl-c. Opening and serving are `signet-deploy`'s (`signet_deploy::witness`);
//! this prints what logs need to know about the witness.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use signet_deploy::witness::{WitnessConfig, WitnessDeployment};

use crate::Failure;
use crate::cli::HttpArgs;

/// `signet witness`
#[derive(Debug, Args)]
pub struct WitnessArgs {
    /// Address to listen on, e.g. `127.0.0.1:7380`. The submission prefix is
    /// `http://<ADDR>`: logs post to `http://<ADDR>/add-checkpoint`.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Data directory (created if missing): the witness key (`witness.key`, mode 0600), its
    /// verifier key (`witness.vkey`) and the latest checkpoint cosigned for each log
    /// (`checkpoints/`). One witness process per directory.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// A log to witness: its Ed25519 verifier key `ORIGIN+HASH+BASE64`, whose key name is the
    /// origin line of the log's checkpoints. Repeatable (several keys may share an origin).
    #[arg(long = "log", value_name = "VKEY", required = true)]
    pub logs: Vec<String>,

    /// The witness's key name, on its cosignatures and in its verifier key. Chosen on first
    /// start (default `signet-witness`) and kept in `witness.vkey`: a later start with
    /// another name is refused.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Runs the witness. Returns only on a startup failure or after a signal.
pub fn witness(args: &WitnessArgs) -> Result<(), Failure> {
    crate::serve_cmd::server_runtime()?.block_on(serve_witness(args))
}

async fn serve_witness(args: &WitnessArgs) -> Result<(), Failure> {
    // The data directory first: a refused start (locked, wrong name) does not take the port.
    let deployment = WitnessDeployment::open(WitnessConfig {
        data_dir: args.data.clone(),
        name: args.name.clone(),
        log_vkeys: args.logs.clone(),
    })
    .map_err(|e| Failure::Usage(format!("opening the witness: {e}")))?;
    let (listener, local) = crate::serve_cmd::bind(args.listen).await?;
    let url = format!("http://{local}");
    let vkey = deployment.verifier_key();
    println!("signet: witness verifier key: {vkey}");
    println!("signet: witness at {url} (POST {url}/add-checkpoint)");
    println!("signet: as a log's witness: {vkey}@{url}");
    for origin in deployment.witness().origins() {
        println!("signet: witnessing {origin}");
    }
    println!(
        "signet: verifier key file: {}",
        deployment.vkey_path().display()
    );
    crate::serve_cmd::serve(listener, deployment.router(), &args.http).await
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn parse(args: &[&str]) -> Result<super::WitnessArgs, clap::Error> {
        let all = ["signet", "witness"].iter().chain(args).copied();
        match Cli::try_parse_from(all)?.command {
            Command::Witness(a) => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    const BASE: [&str; 4] = ["--listen", "127.0.0.1:0", "--data", "d"];

    #[test]
    fn flag_log_is_required_and_repeatable() {
        assert!(parse(&BASE).is_err());
        let mut args = BASE.to_vec();
        args.extend(["--log", "a+00000000+AQ==", "--log", "b+00000000+AQ=="]);
        assert_eq!(
            parse(&args).unwrap().logs,
            ["a+00000000+AQ==", "b+00000000+AQ=="]
        );
    }

    #[test]
    fn flag_listen_and_data_are_required() {
        assert!(parse(&["--data", "d", "--log", "k"]).is_err());
        assert!(parse(&["--listen", "127.0.0.1:0", "--log", "k"]).is_err());
        let mut args = BASE.to_vec();
        args.extend(["--log", "k"]);
        let a = parse(&args).unwrap();
        assert_eq!(a.listen.to_string(), "127.0.0.1:0");
        assert_eq!(a.data, std::path::Path::new("d"));
    }

    #[test]
    fn flag_name_is_optional() {
        let mut args = BASE.to_vec();
        args.extend(["--log", "k"]);
        assert_eq!(parse(&args).unwrap().name, None);
        args.extend(["--name", "witness.example/w1"]);
        assert_eq!(
            parse(&args).unwrap().name.as_deref(),
            Some("witness.example/w1")
        );
    }
}
