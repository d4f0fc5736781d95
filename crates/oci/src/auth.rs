//! Registry credentials from Docker's `config.json`, and `WWW-Authenticate` challenges.

use crate::OciError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_CONFIG_LEN: usize = 1024 * 1024;

/// A user name and password (or identity token) for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.username)
    }
}

impl Credentials {
    pub(crate) fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// The credentials of a Docker `config.json`, by registry host: inline `auths` entries, and
/// the credential helpers of `credHelpers` (per host) and `credsStore` (all hosts).
///
/// Helpers are not run while parsing: [`DockerConfig::load_helper_credentials`] runs the one
/// configured for a host (`docker-credential-<name> get`, the host on stdin) and keeps what it
/// returns, before the client is used.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credentials>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
    helper_dirs: Option<Vec<PathBuf>>,
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

/// Most bytes read from a credential helper's output.
const MAX_HELPER_OUTPUT: usize = 64 * 1024;

/// What `docker-credential-<name> get` prints.
#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// A helper name is a plain word: it becomes part of a program name looked up on the path.
fn valid_helper_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.')
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl DockerConfig {
    /// Reads `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`; a missing file is an
    /// empty configuration.
    pub fn load_default() -> Result<Self, OciError> {
        let path = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".docker").join("config.json"),
                None => return Ok(DockerConfig::default()),
            },
        };
        Self::load(&path)
    }

    /// Reads a `config.json`; a missing file is an empty configuration. Anything but a regular
    /// file (a FIFO would block, a device never end) is an error.
    pub fn load(path: &Path) -> Result<Self, OciError> {
        use std::io::Read as _;
        let err = |reason: String| OciError::DockerConfig {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(err("not a regular file".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(err(e.to_string())),
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_LEN as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| err(e.to_string()))?;
        if bytes.len() > MAX_CONFIG_LEN {
            return Err(err("larger than 1 MiB".into()));
        }
        Self::parse(&bytes).map_err(|e| match e {
            OciError::DockerConfig { reason, .. } => err(reason),
            other => other,
        })
    }

    /// Parses the JSON of a `config.json`.
    pub fn parse(json: &[u8]) -> Result<Self, OciError> {
        let err = |reason: String| OciError::DockerConfig {
            path: "(inline)".into(),
            reason,
        };
        let file: ConfigFile = serde_json::from_slice(json).map_err(|e| err(e.to_string()))?;
        let mut auths = BTreeMap::new();
        for (key, entry) in file.auths {
            let creds = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    let decoded = STANDARD
                        .decode(auth.trim())
                        .map_err(|_| err(format!("auth for {key} is not base64")))?;
                    let text = String::from_utf8(decoded)
                        .map_err(|_| err(format!("auth for {key} is not UTF-8")))?;
                    let (u, p) = text
                        .split_once(':')
                        .ok_or_else(|| err(format!("auth for {key} is not user:password")))?;
                    Credentials {
                        username: u.to_string(),
                        password: p.to_string(),
                    }
                }
                (_, Some(username), Some(password)) => Credentials { username, password },
                _ => continue,
            };
            auths.insert(normalize_host(&key), creds);
        }
        let check = |name: String| {
            if valid_helper_name(&name) {
                Ok(name)
            } else {
                Err(err(format!(
                    "credential helper name {name:?} is not a plain name"
                )))
            }
        };
        let creds_store = file
            .creds_store
            .filter(|n| !n.is_empty())
            .map(check)
            .transpose()?;
        let cred_helpers = file
            .cred_helpers
            .into_iter()
            .map(|(host, name)| Ok((normalize_host(&host), check(name)?)))
            .collect::<Result<_, OciError>>()?;
        Ok(DockerConfig {
            auths,
            creds_store,
            cred_helpers,
            helper_dirs: None,
        })
    }

    /// Where to look for `docker-credential-<name>` programs instead of `$PATH`.
    pub fn set_helper_dirs(&mut self, dirs: Vec<PathBuf>) {
        self.helper_dirs = Some(dirs);
    }

    /// The credential helper configured for `registry`: its `credHelpers` entry, else
    /// `credsStore`.
    pub fn helper_for(&self, registry: &str) -> Option<&str> {
        self.cred_helpers
            .get(&normalize_host(registry))
            .or(self.creds_store.as_ref())
            .map(String::as_str)
    }

    /// Runs the credential helper configured for `registry`, if any, and keeps the credentials
    /// it returns for that host (in place of an inline `auths` entry, as Docker does). A helper
    /// that has nothing for the host ("credentials not found") leaves the configuration as it
    /// was; a helper that cannot be run or answers garbage is an error naming it.
    pub fn load_helper_credentials(&mut self, registry: &str) -> Result<(), OciError> {
        let Some(name) = self.helper_for(registry).map(str::to_owned) else {
            return Ok(());
        };
        let host = normalize_host(registry);
        // Docker Hub's helpers know it by its legacy URL.
        let server = if host == "docker.io" {
            "https://index.docker.io/v1/".to_owned()
        } else {
            host.clone()
        };
        if let Some(creds) = self.run_helper(&name, &server)? {
            self.auths.insert(host, creds);
        }
        Ok(())
    }

    fn run_helper(&self, name: &str, server: &str) -> Result<Option<Credentials>, OciError> {
        use std::io::Write as _;
        let program = format!("docker-credential-{name}");
        let err = |reason: String| OciError::CredentialHelper {
            helper: program.clone(),
            reason,
        };
        let path = match &self.helper_dirs {
            Some(dirs) => dirs
                .iter()
                .map(|d| d.join(&program))
                .find(|p| p.is_file())
                .ok_or_else(|| err("not found".into()))?,
            None => PathBuf::from(&program),
        };
        let mut child = std::process::Command::new(&path)
            .arg("get")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| err(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading closes the pipe; its exit status says why.
            let _ = stdin.write_all(server.as_bytes());
        }
        let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
        let stdout = out.stdout.get(..MAX_HELPER_OUTPUT).unwrap_or(&out.stdout);
        if !out.status.success() {
            let message = String::from_utf8_lossy(if out.stderr.is_empty() {
                stdout
            } else {
                out.stderr.get(..1024).unwrap_or(&out.stderr)
            })
            .trim()
            .to_owned();
            if message
                .to_ascii_lowercase()
                .contains("credentials not found")
            {
                return Ok(None);
            }
            return Err(err(format!("exited with {}: {message}", out.status)));
        }
        let answer: HelperAnswer = serde_json::from_slice(stdout)
            .map_err(|_| err("did not print a JSON object with Username and Secret".into()))?;
        if answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credentials {
            username: answer.username,
            password: answer.secret,
        }))
    }

    /// Adds credentials for `host` (as written in an image reference, e.g. `ghcr.io` or
    /// `127.0.0.1:5000`).
    pub fn insert(&mut self, host: &str, credentials: Credentials) {
        self.auths.insert(normalize_host(host), credentials);
    }

    /// The credentials for exactly `registry` (host and port must both match; Docker Hub's
    /// legacy key `https://index.docker.io/v1/` counts as `docker.io`).
    pub fn credentials_for(&self, registry: &str) -> Option<&Credentials> {
        self.auths.get(&normalize_host(registry))
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/path` → `host:5000`.
fn normalize_host(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        _ => host,
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub(crate) fn parse_challenge(header: &str) -> Result<Challenge, OciError> {
    let bad = |why: &str| {
        OciError::BadChallenge(format!(
            "{why}: {}",
            header.chars().take(200).collect::<String>()
        ))
    };
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Ok(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(bad("unsupported scheme"));
    }
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("parameter without ="))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(|| bad("unterminated quote"))?;
            (
                quoted.get(..end).unwrap_or_default(),
                quoted.get(end + 1..).unwrap_or_default(),
            )
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or_default(),
                after.get(end..).unwrap_or_default(),
            )
        };
        params.insert(name, value.to_string());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
        if params.len() > 16 {
            return Err(bad("too many parameters"));
        }
    }
    let realm = params.remove("realm").ok_or_else(|| bad("no realm"))?;
    Ok(Challenge::Bearer {
        realm,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_that_is_not_a_regular_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let err = DockerConfig::load(path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
        assert!(
            DockerConfig::load(&dir.path().join("missing.json"))
                .unwrap()
                .credentials_for("x")
                .is_none()
        );
    }

    #[test]
    fn reads_auth_and_username_password() {
        let json = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}},"127.0.0.1:5000":{{"username":"u","password":"p"}},"ghcr.io":{{}}}},"credsStore":"desktop"}}"#,
            STANDARD.encode("hub:secret:with:colons")
        );
        let c = DockerConfig::parse(json.as_bytes()).unwrap();
        let hub = c.credentials_for("docker.io").unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("hub", "secret:with:colons")
        );
        assert_eq!(c.credentials_for("127.0.0.1:5000").unwrap().username, "u");
        // Exact host and port only.
        assert!(c.credentials_for("127.0.0.1:5001").is_none());
        assert!(c.credentials_for("127.0.0.1").is_none());
        assert!(c.credentials_for("ghcr.io").is_none());
        assert!(!format!("{hub:?}").contains("secret"));
        assert!(DockerConfig::parse(br#"{"auths":{"x":{"auth":"!!"}}}"#).is_err());
    }

    #[test]
    fn credential_helpers_per_host_then_store() {
        let c = DockerConfig::parse(
            br#"{"credsStore":"desktop","credHelpers":{"https://GHCR.io":"gh","127.0.0.1:5000":"local"}}"#,
        )
        .unwrap();
        assert_eq!(c.helper_for("ghcr.io"), Some("gh"));
        assert_eq!(c.helper_for("127.0.0.1:5000"), Some("local"));
        assert_eq!(c.helper_for("127.0.0.1:5001"), Some("desktop"));
        assert_eq!(DockerConfig::default().helper_for("ghcr.io"), None);
        // Helper names become part of a program name: no paths, no odd characters.
        for bad in ["../x", "a/b", ".hidden", "a b", "x\\u0000"] {
            let json = format!(r#"{{"credsStore":"{bad}"}}"#);
            assert!(DockerConfig::parse(json.as_bytes()).is_err(), "{bad}");
        }
        // An empty credsStore means none.
        assert_eq!(
            DockerConfig::parse(br#"{"credsStore":""}"#)
                .unwrap()
                .helper_for("x"),
            None
        );
    }

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#).unwrap(),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull".into()),
            }
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic
        );
        assert_eq!(
            parse_challenge("Bearer realm=http://x/t, service=s").unwrap(),
            Challenge::Bearer {
                realm: "http://x/t".into(),
                service: Some("s".into()),
                scope: None
            }
        );
        assert!(parse_challenge("Bearer service=\"x\"").is_err());
        assert!(parse_challenge("Negotiate abc").is_err());
        assert!(parse_challenge("Bearer realm=\"x").is_err());
    }
}
