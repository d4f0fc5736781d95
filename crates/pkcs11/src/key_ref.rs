//! Key references: the flag form and RFC 7512 `pkcs11:` URIs.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Pkcs11Error;
use crate::pin::PinSource;

/// Longest `pkcs11:` URI accepted.
pub const MAX_URI_LEN: usize = 4096;
/// Longest token label (PKCS#11 `CK_TOKEN_INFO.label` is 32 bytes).
pub const MAX_TOKEN_LEN: usize = 32;
/// Longest key label (`CKA_LABEL`).
pub const MAX_LABEL_LEN: usize = 256;
/// Longest key id (`CKA_ID`).
pub const MAX_ID_LEN: usize = 128;
/// Longest module path.
pub const MAX_PATH_LEN: usize = 4096;

/// Which PKCS#11 key to use: the module, the token, and the private key's label and/or id.
///
/// Built from flags ([`KeyRef::from_flags`]) or from an RFC 7512 URI ([`KeyRef::parse_uri`]).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// The PKCS#11 module (shared library).
    pub module_path: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's `CKA_LABEL`, when selected by label.
    pub label: Option<String>,
    /// The key's `CKA_ID`, when selected by id.
    pub id: Option<Vec<u8>>,
    /// Where the PIN comes from, when the URI says (`pin-source`).
    pub pin_source: Option<PinSource>,
}

impl fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRef")
            .field("module_path", &self.module_path)
            .field("token", &self.token)
            .field("key", &self.selector())
            .field("pin_source", &self.pin_source)
            .finish()
    }
}

impl KeyRef {
    /// The flag form: `--pkcs11-module PATH --pkcs11-token LABEL` and the key's label.
    pub fn from_flags(module_path: &Path, token: &str, label: &str) -> Result<Self, Pkcs11Error> {
        let module_path = check_module_path(module_path)?;
        check_text("token label", token, MAX_TOKEN_LEN)?;
        check_text("key label", label, MAX_LABEL_LEN)?;
        Ok(Self {
            module_path,
            token: token.to_owned(),
            label: Some(label.to_owned()),
            id: None,
            pin_source: None,
        })
    }

    /// Parses an RFC 7512 URI such as
    /// `pkcs11:token=signet;object=rekor?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:PIN`.
    ///
    /// Path attributes: `token` (required), `object` and/or `id` (at least one), `type`
    /// (only `private`). Query attributes: `module-path` (else `default_module`, the
    /// `--pkcs11-module` flag) and `pin-source` (`file:PATH`, an absolute path, or this
    /// crate's `env:NAME`). `pin-value` and every other attribute are refused.
    pub fn parse_uri(uri: &str, default_module: Option<&Path>) -> Result<Self, Pkcs11Error> {
        if uri.len() > MAX_URI_LEN {
            return Err(Pkcs11Error::TooLong {
                field: "pkcs11: URI",
                len: uri.len(),
                max: MAX_URI_LEN,
            });
        }
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or(Pkcs11Error::NotPkcs11Uri)?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut token = None;
        let mut label = None;
        let mut id = None;
        let mut module_path = None;
        let mut pin_source = None;
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = split_attr(attr)?;
            match name {
                "token" => set_once(&mut token, name, decode_text(name, value, MAX_TOKEN_LEN)?)?,
                "object" => set_once(&mut label, name, decode_text(name, value, MAX_LABEL_LEN)?)?,
                "id" => {
                    let bytes = percent_decode(name, value)?;
                    check_len("id", bytes.len(), MAX_ID_LEN)?;
                    set_once(&mut id, name, bytes)?;
                }
                "type" => {
                    if decode_text(name, value, 16)? != "private" {
                        return Err(Pkcs11Error::InvalidUriAttribute {
                            attribute: name.to_owned(),
                            reason: "only type=private (a signing key) is meaningful here",
                        });
                    }
                }
                "pin-value" => return Err(Pkcs11Error::PinValueInUri),
                other => return Err(unsupported(other)),
            }
        }
        for attr in query.into_iter().flat_map(|q| q.split('&')) {
            if attr.is_empty() {
                continue;
            }
            let (name, value) = split_attr(attr)?;
            match name {
                "module-path" => {
                    let p = decode_text(name, value, MAX_PATH_LEN)?;
                    set_once(&mut module_path, name, PathBuf::from(p))?;
                }
                "pin-source" => {
                    let s = decode_text(name, value, MAX_PATH_LEN)?;
                    set_once(&mut pin_source, name, PinSource::parse_uri_value(&s)?)?;
                }
                "pin-value" => return Err(Pkcs11Error::PinValueInUri),
                other => return Err(unsupported(other)),
            }
        }
        let module_path = match module_path {
            Some(p) => p,
            None => default_module
                .map(Path::to_path_buf)
                .ok_or(Pkcs11Error::MissingModulePath)?,
        };
        let module_path = check_module_path(&module_path)?;
        let token = token.ok_or(Pkcs11Error::MissingToken)?;
        if label.is_none() && id.is_none() {
            return Err(Pkcs11Error::MissingKeySelector);
        }
        Ok(Self {
            module_path,
            token,
            label,
            id,
            pin_source,
        })
    }

    /// The key selector as errors print it: `label "x"`, `id 0a0b` or both.
    pub fn selector(&self) -> String {
        match (&self.label, &self.id) {
            (Some(l), Some(i)) => format!("label {l:?} id {}", hex(i)),
            (Some(l), None) => format!("label {l:?}"),
            (None, Some(i)) => format!("id {}", hex(i)),
            (None, None) => "(no label or id)".to_owned(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unsupported(name: &str) -> Pkcs11Error {
    Pkcs11Error::UnsupportedUriAttribute {
        attribute: name.chars().take(64).collect(),
    }
}

fn split_attr(attr: &str) -> Result<(&str, &str), Pkcs11Error> {
    attr.split_once('=')
        .ok_or_else(|| Pkcs11Error::InvalidUriAttribute {
            attribute: attr.chars().take(64).collect(),
            reason: "expected name=value",
        })
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Pkcs11Error> {
    if slot.is_some() {
        return Err(Pkcs11Error::InvalidUriAttribute {
            attribute: name.to_owned(),
            reason: "given more than once",
        });
    }
    *slot = Some(value);
    Ok(())
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), Pkcs11Error> {
    if len == 0 {
        return Err(Pkcs11Error::Empty { field });
    }
    if len > max {
        return Err(Pkcs11Error::TooLong { field, len, max });
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), Pkcs11Error> {
    check_len(field, value.len(), max)
}

fn check_module_path(path: &Path) -> Result<PathBuf, Pkcs11Error> {
    check_len("module path", path.as_os_str().len(), MAX_PATH_LEN)?;
    Ok(path.to_path_buf())
}

fn decode_text(name: &str, value: &str, max: usize) -> Result<String, Pkcs11Error> {
    let bytes = percent_decode(name, value)?;
    let field = match name {
        "token" => "token label",
        "object" => "key label",
        "module-path" => "module path",
        "pin-source" => "pin-source",
        _ => "URI attribute",
    };
    check_len(field, bytes.len(), max)?;
    String::from_utf8(bytes).map_err(|_| Pkcs11Error::InvalidUriAttribute {
        attribute: name.to_owned(),
        reason: "not UTF-8 after percent-decoding",
    })
}

/// RFC 3986 percent-decoding; a `%` must be followed by two hex digits.
fn percent_decode(name: &str, value: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bad = |reason| Pkcs11Error::InvalidUriAttribute {
        attribute: name.to_owned(),
        reason,
    };
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_digit);
            let lo = bytes.next().and_then(hex_digit);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(bad("'%' not followed by two hex digits")),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn parses_full_uri() {
        let k = KeyRef::parse_uri(
            "pkcs11:token=My%20Token;object=rekor;id=%01%02;type=private?module-path=/m.so&pin-source=file:/run/pin",
            None,
        )
        .unwrap();
        assert_eq!(k.module_path, PathBuf::from("/m.so"));
        assert_eq!(k.token, "My Token");
        assert_eq!(k.label.as_deref(), Some("rekor"));
        assert_eq!(k.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(k.pin_source, Some(PinSource::File("/run/pin".into())));
        assert_eq!(k.selector(), "label \"rekor\" id 0102");
    }

    #[test]
    fn module_from_flag_when_uri_has_none() {
        let k = KeyRef::parse_uri("pkcs11:token=T;object=k", Some(Path::new(M))).unwrap();
        assert_eq!(k, KeyRef::from_flags(Path::new(M), "T", "k").unwrap());
        assert!(matches!(
            KeyRef::parse_uri("pkcs11:token=T;object=k", None),
            Err(Pkcs11Error::MissingModulePath)
        ));
    }

    #[test]
    fn pin_sources() {
        let k = KeyRef::parse_uri(
            "pkcs11:token=T;id=%ff?pin-source=env:HSM_PIN",
            Some(Path::new(M)),
        )
        .unwrap();
        assert_eq!(k.pin_source, Some(PinSource::Env("HSM_PIN".into())));
        let k = KeyRef::parse_uri(
            "pkcs11:token=T;id=%ff?pin-source=/etc/pin",
            Some(Path::new(M)),
        )
        .unwrap();
        assert_eq!(k.pin_source, Some(PinSource::File("/etc/pin".into())));
        assert!(
            KeyRef::parse_uri(
                "pkcs11:token=T;id=1?pin-source=https://x",
                Some(Path::new(M))
            )
            .is_err()
        );
    }

    #[test]
    fn refusals() {
        let m = Some(Path::new(M));
        let err = |u: &str| KeyRef::parse_uri(u, m).unwrap_err();
        assert!(matches!(err("pkcs12:token=T"), Pkcs11Error::NotPkcs11Uri));
        assert!(matches!(
            err("pkcs11:token=T;object=k;serial=1"),
            Pkcs11Error::UnsupportedUriAttribute { attribute } if attribute == "serial"
        ));
        assert!(matches!(
            err("pkcs11:token=T;object=k?slot-id=1"),
            Pkcs11Error::UnsupportedUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;object=k?pin-value=1234"),
            Pkcs11Error::PinValueInUri
        ));
        assert!(
            !err("pkcs11:token=T;object=k?pin-value=1234")
                .to_string()
                .contains("1234")
        );
        assert!(matches!(
            err("pkcs11:token=T;object=k;object=j"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;object=%4"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;object=%zz"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;object=%ff"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;object"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:token=T;type=public;object=k"),
            Pkcs11Error::InvalidUriAttribute { .. }
        ));
        assert!(matches!(err("pkcs11:object=k"), Pkcs11Error::MissingToken));
        assert!(matches!(
            err("pkcs11:token=T"),
            Pkcs11Error::MissingKeySelector
        ));
        assert!(matches!(
            err("pkcs11:token=;object=k"),
            Pkcs11Error::Empty { .. }
        ));
        let long = format!("pkcs11:token={};object=k", "a".repeat(33));
        assert!(matches!(err(&long), Pkcs11Error::TooLong { max: 32, .. }));
        let huge = format!("pkcs11:token=T;object={}", "a".repeat(MAX_URI_LEN));
        assert!(matches!(
            err(&huge),
            Pkcs11Error::TooLong {
                field: "pkcs11: URI",
                ..
            }
        ));
    }

    #[test]
    fn flag_form_bounds() {
        assert!(KeyRef::from_flags(Path::new(M), "", "k").is_err());
        assert!(KeyRef::from_flags(Path::new(M), "T", "").is_err());
        assert!(KeyRef::from_flags(Path::new(""), "T", "k").is_err());
        assert!(KeyRef::from_flags(Path::new(M), "T", &"k".repeat(257)).is_err());
    }
}
