//! Where the user PIN comes from: an environment variable or a file, never a flag value.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use cryptoki::types::AuthPin;

use crate::Pkcs11Error;

/// Largest PIN file read (a PIN is a line; a larger file is the wrong file).
pub const MAX_PIN_FILE: u64 = 4096;
/// Longest environment variable name accepted.
const MAX_ENV_NAME: usize = 256;

/// Where to read the token's user PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// The value of this environment variable.
    Env(String),
    /// The first line of this file (its trailing newline stripped).
    File(PathBuf),
}

impl PinSource {
    /// A `pin-source` URI value: `file:PATH`, an absolute path, or `env:NAME`.
    pub(crate) fn parse_uri_value(value: &str) -> Result<Self, Pkcs11Error> {
        let bad = |reason| Pkcs11Error::InvalidUriAttribute {
            attribute: "pin-source".to_owned(),
            reason,
        };
        if let Some(name) = value.strip_prefix("env:") {
            return Self::env(name);
        }
        let path = value
            .strip_prefix("file://")
            .or(value.strip_prefix("file:"))
            .unwrap_or(value);
        if !path.starts_with('/') {
            return Err(bad(
                "expected file:/ABSOLUTE/PATH, /ABSOLUTE/PATH or env:NAME",
            ));
        }
        Ok(Self::File(PathBuf::from(path)))
    }

    /// An environment variable source; the name must be non-empty ASCII letters, digits and `_`.
    pub fn env(name: &str) -> Result<Self, Pkcs11Error> {
        if name.is_empty() {
            return Err(Pkcs11Error::Empty {
                field: "PIN environment variable name",
            });
        }
        if name.len() > MAX_ENV_NAME {
            return Err(Pkcs11Error::TooLong {
                field: "PIN environment variable name",
                len: name.len(),
                max: MAX_ENV_NAME,
            });
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Pkcs11Error::InvalidPinEnvName {
                name: name.chars().take(64).collect(),
            });
        }
        Ok(Self::Env(name.to_owned()))
    }

    /// Reads the PIN. Errors name the variable or file, never the PIN.
    pub(crate) fn read(&self) -> Result<Pin, Pkcs11Error> {
        Ok(Pin(AuthPin::new(self.read_text()?.into_boxed_str())))
    }

    fn read_text(&self) -> Result<String, Pkcs11Error> {
        let unusable = || Pkcs11Error::PinUnusable {
            source_name: self.to_string(),
        };
        let text = match self {
            Self::Env(var) => {
                std::env::var(var).map_err(|_| Pkcs11Error::PinEnvUnset { var: var.clone() })?
            }
            Self::File(path) => {
                let io = |e: std::io::Error| Pkcs11Error::PinFile {
                    path: path.clone(),
                    reason: e.kind().to_string(),
                };
                let file = std::fs::File::open(path).map_err(io)?;
                let mut bytes = Vec::new();
                file.take(MAX_PIN_FILE + 1)
                    .read_to_end(&mut bytes)
                    .map_err(io)?;
                if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_PIN_FILE) {
                    return Err(Pkcs11Error::PinFileTooLarge {
                        path: path.clone(),
                        max: MAX_PIN_FILE,
                    });
                }
                let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                String::from_utf8(line.to_vec()).map_err(|_| unusable())?
            }
        };
        if text.is_empty() {
            return Err(unusable());
        }
        Ok(text)
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A user PIN, held as a zeroize-on-drop secret; `Debug` prints no digits.
pub(crate) struct Pin(pub(crate) AuthPin);

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_file(content: &[u8]) -> Result<String, Pkcs11Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, content).unwrap();
        PinSource::File(path).read_text()
    }

    #[test]
    fn file_first_line() {
        assert_eq!(read_file(b"1234\n").unwrap(), "1234");
        assert_eq!(read_file(b"1234\r\nignored\n").unwrap(), "1234");
        assert_eq!(read_file(b"12 34").unwrap(), "12 34");
        assert!(matches!(
            read_file(b"\n1234"),
            Err(Pkcs11Error::PinUnusable { .. })
        ));
        assert!(matches!(
            read_file(b""),
            Err(Pkcs11Error::PinUnusable { .. })
        ));
        assert!(matches!(
            read_file(&[b'1'; 4097]),
            Err(Pkcs11Error::PinFileTooLarge { .. })
        ));
        assert!(read_file(&[b'1'; 4096]).is_ok());
        let e = PinSource::File("/nonexistent/pin".into())
            .read()
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/pin"), "{e}");
    }

    #[test]
    fn env_names() {
        assert!(PinSource::env("HSM_PIN").is_ok());
        assert!(PinSource::env("").is_err());
        assert!(matches!(
            PinSource::env("A=B"),
            Err(Pkcs11Error::InvalidPinEnvName { .. })
        ));
        let e = PinSource::env("SIGNET_PKCS11_UNSET_VAR_FOR_TEST")
            .unwrap()
            .read()
            .unwrap_err();
        assert!(matches!(e, Pkcs11Error::PinEnvUnset { .. }));
    }

    #[test]
    fn pin_debug_hides_digits() {
        assert_eq!(format!("{:?}", Pin(AuthPin::new("9876".into()))), "Pin(..)");
    }
}
