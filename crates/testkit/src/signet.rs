//! The real `signet` binary as a server: [`SignetProcess`] starts `signet <command> --listen
//! 127.0.0.1:<port> --data <dir> …` and waits until it is ready; [`Up`] is a running
//! `signet up` with its trust files.
//!
//! The caller passes the binary's path: `env!("CARGO_BIN_EXE_signet")` exists only in the
//! signet crate's own tests.

use crate::process::ChildGuard;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// When a started process counts as ready (every condition given must hold).
#[derive(Debug, Clone, Copy)]
pub enum Ready<'a> {
    /// Its port accepts connections, and it still runs 100 ms later.
    Port,
    /// `GET <path>` answers 200.
    Http(&'a str),
    /// What it printed on stdout contains this text (needs [`Stdout::File`]).
    Stdout(&'a str),
    /// This file exists in its data directory.
    DataFile(&'a str),
}

/// Where a started process's stdout goes.
#[derive(Debug, Clone, Copy)]
pub enum Stdout {
    /// Nowhere.
    Null,
    /// A pipe, read with [`SignetProcess::line`].
    Piped,
    /// The file `stdout` in the process's temp dir, read with [`SignetProcess::stdout_text`].
    File,
}

/// Where a started process's stderr goes.
#[derive(Debug, Clone)]
pub enum Stderr {
    /// The test's stderr.
    Inherit,
    /// Nowhere.
    Null,
    /// This file (created, or truncated).
    File(PathBuf),
}

/// How to start `signet`: `<command> --listen 127.0.0.1:<port> --data <data> <extra>`. Build it
/// with [`Launch::new`] and struct update syntax.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The subcommand, e.g. `["up"]` or `["serve", "log"]`.
    pub command: &'a [&'a str],
    /// The data directory; by default `data/` in the process's temp dir.
    pub data: Option<&'a Path>,
    /// The port; by default a free one, and another (up to five tries) if the process exits
    /// before it is ready (the port may have been taken meanwhile). With a port given, an early
    /// exit fails the test.
    pub port: Option<u16>,
    /// Flags after `--data`.
    pub extra: &'a [&'a str],
    /// Run through `sh -c '<prefix> exec signet …'` (e.g. `ulimit -n 256 &&`).
    pub shell_prefix: Option<&'a str>,
    /// When it is ready.
    pub ready: &'a [Ready<'a>],
    /// Where its stdout goes.
    pub stdout: Stdout,
    /// Where its stderr goes.
    pub stderr: Stderr,
    /// How long it may take to be ready.
    pub timeout: Duration,
}

impl<'a> Launch<'a> {
    /// `command`, ready once its port answers, stdout discarded, stderr inherited, 30 s.
    pub fn new(command: &'a [&'a str]) -> Launch<'a> {
        Launch {
            command,
            data: None,
            port: None,
            extra: &[],
            shell_prefix: None,
            ready: &[Ready::Port],
            stdout: Stdout::Null,
            stderr: Stderr::Inherit,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A running `signet` server process; killed on drop.
#[derive(Debug)]
pub struct SignetProcess {
    child: ChildGuard,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its temp dir (the `stdout` file, the default data directory).
    pub dir: tempfile::TempDir,
    data: PathBuf,
    stdout: Option<BufReader<ChildStdout>>,
}

impl SignetProcess {
    /// Starts `bin` as `launch` says and waits until it is ready.
    pub fn start(bin: impl AsRef<Path>, launch: Launch<'_>) -> SignetProcess {
        let bin = bin.as_ref();
        let what = format!("signet {}", launch.command.join(" "));
        let tries = if launch.port.is_some() { 1 } else { 5 };
        let mut exits = Vec::new();
        for _ in 0..tries {
            let dir = tempfile::tempdir().unwrap();
            let port = launch.port.unwrap_or_else(crate::free_port);
            let data = launch
                .data
                .map_or_else(|| dir.path().join("data"), Path::to_owned);
            let mut args: Vec<OsString> = launch.command.iter().map(OsString::from).collect();
            args.extend([
                "--listen".into(),
                format!("127.0.0.1:{port}").into(),
                "--data".into(),
                data.clone().into(),
            ]);
            args.extend(launch.extra.iter().map(OsString::from));
            let mut command = match launch.shell_prefix {
                Some(prefix) => {
                    let mut c = Command::new("sh");
                    c.arg("-c")
                        .arg(format!("{prefix} exec \"$0\" \"$@\""))
                        .arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            command.args(&args);
            command.stdout(match launch.stdout {
                Stdout::Null => Stdio::null(),
                Stdout::Piped => Stdio::piped(),
                Stdout::File => {
                    Stdio::from(std::fs::File::create(dir.path().join("stdout")).unwrap())
                }
            });
            command.stderr(match &launch.stderr {
                Stderr::Inherit => Stdio::inherit(),
                Stderr::Null => Stdio::null(),
                Stderr::File(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            });
            let mut child = ChildGuard::new(command.spawn().unwrap());
            let stdout = child.stdout.take().map(BufReader::new);
            let mut process = SignetProcess {
                child,
                port,
                base: format!("http://127.0.0.1:{port}"),
                dir,
                data,
                stdout,
            };
            match process.wait_ready(&what, &launch) {
                Ok(()) => return process,
                Err(status) if launch.port.is_some() => panic!("{what} exited early: {status}"),
                Err(status) => exits.push(status),
            }
        }
        panic!("{what} did not start on any of {tries} ports: {exits:?}");
    }

    /// Waits until every condition of `launch.ready` holds; the exit status if it ends first.
    fn wait_ready(&mut self, what: &str, launch: &Launch<'_>) -> Result<(), ExitStatus> {
        let deadline = Instant::now() + launch.timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(status);
            }
            if launch.ready.iter().all(|r| self.holds(*r)) {
                if launch.ready.iter().any(|r| matches!(r, Ready::Port)) {
                    // Make sure it is our process that answered.
                    std::thread::sleep(Duration::from_millis(100));
                    if let Some(status) = self.child.try_wait().unwrap() {
                        return Err(status);
                    }
                }
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "{what} not ready within {:?} ({:?}): {}",
                launch.timeout,
                launch.ready,
                self.stdout_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn holds(&self, ready: Ready<'_>) -> bool {
        match ready {
            Ready::Port => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            Ready::Http(path) => {
                crate::process::http_get(self.port, path).is_ok_and(|(status, _)| status == 200)
            }
            Ready::Stdout(text) => self.stdout_text().contains(text),
            Ready::DataFile(name) => self.data.join(name).exists(),
        }
    }

    /// `<base><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// What it printed so far, with [`Stdout::File`] (empty otherwise).
    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    /// The next line it printed, with [`Stdout::Piped`].
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .as_mut()
            .expect("stdout is not piped")
            .read_line(&mut line)
            .unwrap();
        line
    }

    /// The process.
    pub fn child(&mut self) -> &mut ChildGuard {
        &mut self.child
    }

    /// The process alone (its temp dir is removed: for a process on a data directory of the
    /// caller's).
    pub fn into_child(self) -> ChildGuard {
        self.child
    }

    /// Sends `SIGTERM` and waits at most `within`: the exit status and how long it took, or
    /// `None` if it still runs (it is killed on drop).
    pub fn terminate(&mut self, within: Duration) -> Option<(ExitStatus, Duration)> {
        self.child.terminate(within)
    }
}

/// A running `signet up` on a free loopback port; killed on drop.
#[derive(Debug)]
pub struct Up {
    /// The process.
    pub process: SignetProcess,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    bin: PathBuf,
}

impl Up {
    /// `signet up` on a fresh data directory; returns once it listens and has written its
    /// trust files.
    pub fn start(bin: impl AsRef<Path>) -> Up {
        Up::start_with(bin, None, None, &[])
    }

    /// `signet up` on `data` (by default a fresh directory) and `port` (by default a free one)
    /// with `extra` flags; returns once it listens and has written its trust files.
    pub fn start_with(
        bin: impl AsRef<Path>,
        data: Option<&Path>,
        port: Option<u16>,
        extra: &[&str],
    ) -> Up {
        let bin = bin.as_ref();
        // The port opens first; the trust files are written once every service is open, and
        // `tuf-root.json` last, once the TUF repository has published them; the banner comes
        // after that. On a restart the previous start's files are still there, so only the
        // banner says this start is ready.
        let process = SignetProcess::start(
            bin,
            Launch {
                data,
                port,
                extra,
                ready: &[
                    Ready::Port,
                    Ready::DataFile("trust_config.json"),
                    Ready::DataFile("tuf-root.json"),
                    Ready::Stdout("private Sigstore at"),
                ],
                stdout: Stdout::File,
                ..Launch::new(&["up"])
            },
        );
        Up {
            url: process.base.clone(),
            process,
            bin: bin.to_owned(),
        }
    }

    /// Its data directory.
    pub fn data(&self) -> &Path {
        self.process.data()
    }

    /// `trust_config.json`: the trusted root and the signing config.
    pub fn trust_config(&self) -> PathBuf {
        self.data().join("trust_config.json")
    }

    /// `trusted_root.json`.
    pub fn trusted_root(&self) -> PathBuf {
        self.data().join("trusted_root.json")
    }

    /// `signing_config.json`.
    pub fn signing_config(&self) -> PathBuf {
        self.data().join("signing_config.json")
    }

    /// A copy of the trust config offering only the Rekor v1 log (no TSA).
    pub fn rekor_v1_trust_config(&self) -> PathBuf {
        self.rekor_v1_config(false)
    }

    /// A copy of the trust config offering only the Rekor v1 log and the TSA.
    pub fn rekor_v1_tsa_trust_config(&self) -> PathBuf {
        self.rekor_v1_config(true)
    }

    fn rekor_v1_config(&self, tsa: bool) -> PathBuf {
        let mut config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.trust_config()).unwrap()).unwrap();
        let logs = config["signingConfig"]["rekorTlogUrls"]
            .as_array_mut()
            .unwrap();
        logs.retain(|l| l["majorApiVersion"] == 1);
        assert_eq!(logs.len(), 1);
        if !tsa {
            config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
        }
        let path = self.data().join(format!("trust_config_v1_{tsa}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        path
    }

    /// The development OIDC issuer's URL.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    /// A token from the development issuer (`signet dev-token`) for `subject`.
    pub fn dev_token(&self, subject: &str) -> String {
        let out = Command::new(&self.bin)
            .args(["dev-token", "--server", &self.url, "--subject", subject])
            .output()
            .unwrap();
        assert!(out.status.success(), "dev-token: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Stops it as an operator would: `SIGTERM`, then waits (at most 20 s; killed after).
    pub fn stop(mut self) {
        let _ = self.process.terminate(Duration::from_secs(20));
    }
}
