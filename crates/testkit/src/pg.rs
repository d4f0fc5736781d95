//! A throwaway PostgreSQL server: `initdb` + `pg_ctl` in a temp dir, on 127.0.0.1 and a free
//! port, stopped and removed on drop.
//!
//! The binaries come from `SIGNET_PG_BIN` (`scripts/ensure-postgres` prints it); without it
//! [`PgServer::start`] returns `None` and the test is skipped with a note, unless
//! `SIGNET_REQUIRE_POSTGRES=1`. As root, the server runs as the `postgres` user (PostgreSQL
//! refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// A PostgreSQL server in a temp dir, stopped (and its files removed) on drop.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    as_postgres: bool,
    pub(crate) databases: AtomicU64,
}

impl PgServer {
    /// Starts a server, or `None` (with a note) if no binaries are configured and they are
    /// not required.
    pub fn start() -> Option<PgServer> {
        let bin = match std::env::var_os("SIGNET_PG_BIN") {
            Some(bin) if Path::new(&bin).join("initdb").exists() => PathBuf::from(bin),
            other => {
                let msg = format!(
                    "skipping: no PostgreSQL binaries (SIGNET_PG_BIN={other:?}); \
                     run scripts/ensure-postgres and set SIGNET_PG_BIN"
                );
                assert!(
                    !crate::required("SIGNET_REQUIRE_POSTGRES"),
                    "SIGNET_REQUIRE_POSTGRES=1 but {msg}"
                );
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
        let server = PgServer {
            bin,
            dir,
            port: crate::free_port(),
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
        server.restart();
        Some(server)
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs (as `postgres` when we are root), failing the test
    /// with its output if it fails.
    pub fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
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

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        }
    }

    /// The URL of `database` (user `postgres`, no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` with `psql` on the database at `url` (one of [`PgServer::url`]); returns its
    /// output (unaligned, tuples only, trimmed), failing the test if `psql` fails.
    pub fn query(&self, url: &str, sql: &str) -> String {
        let out = self
            .command("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
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

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate` skips the
    /// checkpoint, so the next start replays the WAL).
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

    /// Starts the (stopped) server, on the same port.
    pub fn restart(&self) {
        let data = self.data();
        // fsync=off: these throwaway servers are crashed as processes (`pg_ctl stop -m
        // immediate`, SIGKILL), never as machines. Every commit still writes its WAL to the
        // kernel before it returns (synchronous_commit stays on), so a process crash loses
        // nothing that fsync would have kept; fsync only guards against an OS crash or power
        // loss, which no test makes. It takes the disk's flush latency out of every commit.
        let opts = format!(
            "-p {} -k {} -h 127.0.0.1 -c max_connections=200 -c fsync=off",
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
        let stopped = self
            .command("pg_ctl")
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
