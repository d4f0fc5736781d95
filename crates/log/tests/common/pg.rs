//! A throwaway PostgreSQL server for tests (`initdb` + `pg_ctl` in a temp dir, 127.0.0.1, a
//! free port), shared by the tests of signet-log, signet-server and signet (included with
//! `#[path]`). Binaries come from `SIGNET_PG_BIN` (`scripts/ensure-postgres` prints it);
//! without it [`PgServer::start`] returns `None` and the test is skipped with a message, unless
//! `SIGNET_REQUIRE_POSTGRES=1`. As root, the server runs as the `postgres` user.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// A PostgreSQL server in a temp dir, stopped (and its files removed) on drop.
pub struct PgServer {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub as_postgres: bool,
    pub databases: AtomicU64,
}

impl PgServer {
    /// Starts a server, or `None` (with a message) if no binaries are configured and they are
    /// not required.
    pub fn start() -> Option<PgServer> {
        let required = std::env::var("SIGNET_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let bin = match std::env::var_os("SIGNET_PG_BIN") {
            Some(bin) if Path::new(&bin).join("initdb").exists() => PathBuf::from(bin),
            other => {
                let msg = format!(
                    "skipping: no PostgreSQL binaries (SIGNET_PG_BIN={other:?}); \
                     run scripts/ensure-postgres and set SIGNET_PG_BIN"
                );
                assert!(!required, "SIGNET_REQUIRE_POSTGRES=1 but {msg}");
                eprintln!("{msg}");
                return None;
            }
        };
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let dir = tempfile::Builder::new()
            .prefix("signet-pg-")
            .tempdir()
            .unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the temp dir to postgres failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = PgServer {
            bin,
            dir,
            port,
            as_postgres,
            databases: AtomicU64::new(0),
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
            ],
        );
        let opts = format!(
            "-p {} -k {} -h 127.0.0.1 -c max_connections=200",
            server.port,
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(server)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs (as `postgres` when we are root), failing the test
    /// with its output if it fails.
    pub fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd.args(args).output().unwrap();
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{program} {args:?} failed: {}\n{}\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database (through the `createdb` program); returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("db{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name],
        );
        self.url(&name)
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&self) {
        let data = self.data();
        let opts = format!(
            "-p {} -k {} -h 127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let stopped = cmd
            .args(["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !stopped {
            // Fall back to the postmaster's PID (the first line of postmaster.pid).
            if let Ok(pidfile) = std::fs::read_to_string(data.join("postmaster.pid"))
                && let Some(pid) = pidfile.lines().next()
            {
                let _ = Command::new("kill").args(["-9", pid.trim()]).status();
            }
        }
    }
}
