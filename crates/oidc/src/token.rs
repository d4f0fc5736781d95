//! The pure part of ID-token verification: splitting and decoding the compact JWS, the
//! algorithm allow-list, choosing a key from a JWKS, checking the signature, and checking the
//! claims at a given time. No network, no clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use signet_formats::{UniqueJsonError, parse_unique_json};

use crate::{IssuerConfig, IssuerType, OidcError};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// How far `exp`, `nbf` and `iat` may be off from the verification time, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// The most keys kept from one JWKS; the rest are ignored.
pub const MAX_JWKS_KEYS: usize = 64;

/// A token split and decoded, signature not yet checked.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) signing_input: &'a str,
    pub(crate) signature: &'a str,
    pub(crate) claims: Map<String, Value>,
    pub(crate) iss: String,
}

fn malformed(reason: &'static str) -> OidcError {
    OidcError::MalformedToken { reason }
}

/// Decodes one base64url part of the token as a JSON object. An object (at any depth) that
/// names a member twice is refused: serde_json would silently keep the last one, while another
/// reader of the same token (a proxy, a log, an auditor) may take the first.
fn decode_json_object(
    part: &str,
    what: &'static str,
    which: &'static str,
) -> Result<Map<String, Value>, OidcError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed(what))?;
    match parse_unique_json(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Err(UniqueJsonError::Duplicate(name)) => Err(OidcError::DuplicateMember {
            part: which,
            name: name.chars().take(64).collect(),
        }),
        Ok(_) | Err(_) => Err(malformed(what)),
    }
}

/// Splits a compact JWS, decodes header and payload (refusing a member named twice in
/// either), and applies the algorithm allow-list.
pub(crate) fn parse_token(token: &str) -> Result<UnverifiedToken<'_>, OidcError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OidcError::TokenTooLarge {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header_map = decode_json_object(header, "header is not base64url JSON object", "header")?;
    let alg_name = match header_map.get("alg") {
        Some(Value::String(a)) => a.as_str(),
        Some(_) => return Err(malformed("header alg is not a string")),
        None => return Err(malformed("header has no alg")),
    };
    let alg = match alg_name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        other => {
            return Err(OidcError::UnsupportedAlgorithm {
                alg: other.chars().take(32).collect(),
            });
        }
    };
    if header_map.contains_key("crit") {
        return Err(malformed(
            "header has crit extensions, which are not supported",
        ));
    }
    let kid = match header_map.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(malformed("header kid is not a string")),
    };
    if signature.is_empty() {
        return Err(malformed("empty signature"));
    }
    let claims = decode_json_object(payload, "payload is not base64url JSON object", "claims")?;
    let iss = match claims.get("iss") {
        Some(Value::String(i)) => i.clone(),
        Some(_) => {
            return Err(OidcError::InvalidClaim {
                claim: "iss",
                reason: "not a string",
            });
        }
        None => return Err(OidcError::MissingClaim { claim: "iss" }),
    };
    // The signing input is everything before the second dot.
    let signing_input_len = header.len() + 1 + payload.len();
    let signing_input = token.get(..signing_input_len).ok_or(malformed("split"))?;
    Ok(UnverifiedToken {
        alg,
        kid,
        signing_input,
        signature,
        claims,
        iss,
    })
}

/// One usable signature key from an issuer's JWKS.
#[derive(Clone)]
pub(crate) struct JwksKey {
    kid: Option<String>,
    /// The algorithm the JWK pins with `alg`, if it does.
    alg: Option<Algorithm>,
    kind: KeyKind,
    key: DecodingKey,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl std::fmt::Debug for JwksKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksKey").field("kid", &self.kid).finish()
    }
}

fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::KeyAlgorithm as K;
    Some(match jwk.common.key_algorithm? {
        K::RS256 => Algorithm::RS256,
        K::RS384 => Algorithm::RS384,
        K::RS512 => Algorithm::RS512,
        K::ES256 => Algorithm::ES256,
        K::ES384 => Algorithm::ES384,
        _ => return None,
    })
}

/// Reads a JWKS document, keeping the RSA and P-256/P-384 signature keys it can use and
/// skipping the rest (encryption keys, HMAC, unknown key types). Errors only when the document
/// is not a JWKS at all.
pub(crate) fn parse_jwks(doc: &Value) -> Result<Vec<JwksKey>, &'static str> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no keys array")?;
    let mut out = Vec::new();
    for raw in keys.iter().take(MAX_JWKS_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            continue;
        }
        let pinned = jwk_algorithm(&jwk);
        if jwk.common.key_algorithm.is_some() && pinned.is_none() {
            continue; // pinned to an algorithm we never accept
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyKind::P256,
                EllipticCurve::P384 => KeyKind::P384,
                _ => continue,
            },
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        out.push(JwksKey {
            kid: jwk.common.key_id.clone(),
            alg: pinned,
            kind,
            key,
        });
    }
    Ok(out)
}

fn key_fits(key: &JwksKey, alg: Algorithm) -> bool {
    let kind_ok = match alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => key.kind == KeyKind::Rsa,
        Algorithm::ES256 => key.kind == KeyKind::P256,
        Algorithm::ES384 => key.kind == KeyKind::P384,
        _ => false,
    };
    kind_ok && key.alg.is_none_or(|a| a == alg)
}

/// The keys a token may have been signed with: those with its `kid` (or every key, when it has
/// none) whose type fits its algorithm.
pub(crate) fn candidate_keys<'k>(
    keys: &'k [JwksKey],
    token: &UnverifiedToken<'_>,
) -> Vec<&'k JwksKey> {
    keys.iter()
        .filter(|k| match &token.kid {
            Some(kid) => k.kid.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| key_fits(k, token.alg))
        .collect()
}

/// Checks the signature against each candidate; `BadSignature` when none verifies.
pub(crate) fn verify_signature(
    token: &UnverifiedToken<'_>,
    candidates: &[&JwksKey],
) -> Result<(), OidcError> {
    for key in candidates {
        if let Ok(true) = jsonwebtoken::crypto::verify(
            token.signature,
            token.signing_input.as_bytes(),
            &key.key,
            token.alg,
        ) {
            return Ok(());
        }
    }
    Err(OidcError::BadSignature)
}

fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, OidcError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15) {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Err(OidcError::InvalidClaim {
                    claim,
                    reason: "not a representable NumericDate",
                })
            }
        }
        Some(_) => Err(OidcError::InvalidClaim {
            claim,
            reason: "not a number",
        }),
    }
}

fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, OidcError> {
    let bad = OidcError::InvalidClaim {
        claim: "aud",
        reason: "not a string or an array of strings",
    };
    match claims.get("aud") {
        None => Err(OidcError::MissingClaim { claim: "aud" }),
        Some(Value::String(a)) => Ok(vec![a.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(()))
            .collect::<Result<Vec<_>, ()>>()
            .map_err(|()| bad),
        Some(_) => Err(bad),
    }
}

/// True for `local@domain.tld`-shaped addresses, as Fulcio's `^.+@.+\..+$`.
fn looks_like_email(s: &str) -> bool {
    if s.contains('\n') {
        return false;
    }
    let Some((at, _)) = s.char_indices().find(|&(i, c)| i > 0 && c == '@') else {
        return false;
    };
    let Some(dot) = s.rfind('.') else {
        return false;
    };
    dot >= at + 2 && dot + 1 < s.len()
}

/// Checks a signed token's claims for `issuer` at `now_unix`: `iss`, `sub`, `aud`, `exp`, `nbf`,
/// `iat` (with [`CLOCK_SKEW_SECS`]) and, for email issuers, `email` and `email_verified`.
/// Returns the subject.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    issuer: &IssuerConfig,
    now_unix: i64,
) -> Result<String, OidcError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer_url.as_str()) {
        return Err(OidcError::IssuerNotConfigured {
            issuer: claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let subject = match claims.get("sub") {
        None => return Err(OidcError::MissingClaim { claim: "sub" }),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(OidcError::InvalidClaim {
                claim: "sub",
                reason: "not a non-empty string",
            });
        }
    };
    let found = audiences(claims)?;
    if !found.iter().any(|a| a == &issuer.client_id) {
        return Err(OidcError::WrongAudience {
            expected: issuer.client_id.clone(),
            found,
        });
    }
    let exp = numeric_date(claims, "exp")?.ok_or(OidcError::MissingClaim { claim: "exp" })?;
    if now_unix > exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(OidcError::Expired { exp, now: now_unix });
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now_unix.saturating_add(CLOCK_SKEW_SECS) < nbf
    {
        return Err(OidcError::NotYetValid { nbf, now: now_unix });
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && now_unix.saturating_add(CLOCK_SKEW_SECS) < iat
    {
        return Err(OidcError::IssuedInFuture { iat, now: now_unix });
    }
    if issuer.issuer_type == IssuerType::Email {
        let email = match claims.get("email") {
            None => return Err(OidcError::MissingClaim { claim: "email" }),
            Some(Value::String(e)) => e,
            Some(_) => {
                return Err(OidcError::InvalidClaim {
                    claim: "email",
                    reason: "not a string",
                });
            }
        };
        // Fulcio decodes email_verified into a Go bool: only JSON `true` passes; the string
        // "true" fails its decoding, so it fails here too.
        match claims.get("email_verified") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) | None => return Err(OidcError::EmailNotVerified),
            Some(_) => {
                return Err(OidcError::InvalidClaim {
                    claim: "email_verified",
                    reason: "not a boolean",
                });
            }
        }
        if !looks_like_email(email) {
            return Err(OidcError::InvalidClaim {
                claim: "email",
                reason: "not an email address",
            });
        }
    }
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn parse_rejects_shapes_and_algorithms() {
        let p = b64(&json!({"iss": "https://i.example.com"}));
        for (token, kind) in [
            ("a.b".to_owned(), "malformed_token"),
            ("a.b.c.d".to_owned(), "malformed_token"),
            (format!("!!.{p}.sig"), "malformed_token"),
            (format!("{}.{p}.sig", b64(&json!([1]))), "malformed_token"),
            (format!("{}.{p}.sig", b64(&json!({}))), "malformed_token"),
            (
                format!("{}.{p}.", b64(&json!({"alg": "RS256"}))),
                "malformed_token",
            ),
            (
                format!("{}.{p}.", b64(&json!({"alg": "none"}))),
                "unsupported_algorithm",
            ),
            (
                format!("{}.{p}.x", b64(&json!({"alg": "HS256"}))),
                "unsupported_algorithm",
            ),
            (
                format!("{}.{p}.x", b64(&json!({"alg": "PS256"}))),
                "unsupported_algorithm",
            ),
            (
                format!("{}.{p}.x", b64(&json!({"alg": "EdDSA"}))),
                "unsupported_algorithm",
            ),
            (
                format!("{}.{p}.x", b64(&json!({"alg": "RS256", "crit": ["b64"]}))),
                "malformed_token",
            ),
            (
                format!(
                    "{}.{}.x",
                    b64(&json!({"alg": "RS256"})),
                    b64(&json!({"sub": "a"}))
                ),
                "missing_claim",
            ),
            ("x".repeat(MAX_TOKEN_BYTES + 1), "token_too_large"),
        ] {
            let err = parse_token(&token).unwrap_err();
            assert_eq!(err.kind(), kind, "{token:.80}: {err}");
            assert!(err.is_client_fault());
        }
        let ok = format!("{}.{p}.c2ln", b64(&json!({"alg": "ES256", "kid": "k1"})));
        let t = parse_token(&ok).unwrap();
        assert_eq!(t.alg, Algorithm::ES256);
        assert_eq!(t.kid.as_deref(), Some("k1"));
        assert_eq!(t.iss, "https://i.example.com");
        assert_eq!(t.signature, "c2ln");
        assert_eq!(format!("{}.c2ln", t.signing_input), ok);
    }

    fn b64_raw(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text.as_bytes())
    }

    #[test]
    fn repeated_member_names_are_refused_in_either_order_and_at_any_depth() {
        let header = b64(&json!({"alg": "ES256"}));
        let iss = r#""iss":"https://i.example.com""#;
        for (claims, name) in [
            (format!(r#"{{{iss},"sub":"alice","sub":"mallory"}}"#), "sub"),
            (format!(r#"{{"sub":"mallory",{iss},"sub":"alice"}}"#), "sub"),
            (format!(r#"{{{iss},{iss}}}"#), "iss"),
            (
                format!(r#"{{{iss},"aud":"sigstore","aud":"other"}}"#),
                "aud",
            ),
            (
                format!(r#"{{{iss},"aud":"sigstore","au\u0064":"x"}}"#),
                "aud",
            ),
            (format!(r#"{{{iss},"act":{{"sub":"a","sub":"b"}}}}"#), "sub"),
            (format!(r#"{{{iss},"x":[{{"k":1,"k":2}}]}}"#), "k"),
        ] {
            let token = format!("{header}.{}.c2ln", b64_raw(&claims));
            let err = parse_token(&token).unwrap_err();
            assert!(
                matches!(&err, OidcError::DuplicateMember { part: "claims", name: n } if n == name),
                "{claims}: {err}"
            );
            assert_eq!(err.kind(), "duplicate_member");
            assert!(err.is_client_fault());
        }
        // In the header too, `alg` or any other member.
        let claims = b64(&json!({"iss": "https://i.example.com"}));
        for (h, name) in [
            (r#"{"alg":"ES256","alg":"RS256"}"#, "alg"),
            (r#"{"alg":"none","alg":"ES256"}"#, "alg"),
            (r#"{"alg":"ES256","kid":"a","kid":"b"}"#, "kid"),
        ] {
            let token = format!("{}.{claims}.c2ln", b64_raw(h));
            let err = parse_token(&token).unwrap_err();
            assert!(
                matches!(&err, OidcError::DuplicateMember { part: "header", name: n } if n == name),
                "{h}: {err}"
            );
        }
        // Equal values in different objects, and trailing garbage, are what they were.
        let ok = format!(
            "{header}.{}.c2ln",
            b64_raw(&format!(
                r#"{{{iss},"a":{{"sub":1}},"b":{{"sub":1}},"sub":"s"}}"#
            ))
        );
        assert_eq!(parse_token(&ok).unwrap().claims["sub"], "s");
        let trailing = format!("{header}.{}.c2ln", b64_raw(&format!("{{{iss}}} x")));
        assert_eq!(
            parse_token(&trailing).unwrap_err().kind(),
            "malformed_token"
        );
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claim_checks() {
        let issuer = IssuerConfig::email("https://i.example.com".to_owned());
        let now = 1_000_000;
        let good = json!({
            "iss": "https://i.example.com", "sub": "s", "aud": ["x", "sigstore"],
            "exp": now + 10, "nbf": now, "iat": now, "email": "a@b.example", "email_verified": true
        });
        assert_eq!(
            check_claims(&claims(good.clone()), &issuer, now).unwrap(),
            "s"
        );
        // Skew: 60 s either way is fine, 61 is not.
        assert!(check_claims(&claims(good.clone()), &issuer, now + 70).is_ok());
        assert_eq!(
            check_claims(&claims(good.clone()), &issuer, now + 71)
                .unwrap_err()
                .kind(),
            "expired"
        );
        assert!(check_claims(&claims(good.clone()), &issuer, now - 60).is_ok());
        assert_eq!(
            check_claims(&claims(good.clone()), &issuer, now - 61)
                .unwrap_err()
                .kind(),
            "not_yet_valid"
        );
        let with = |k: &str, v: Value| {
            let mut c = claims(good.clone());
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.to_owned(), v);
            }
            check_claims(&c, &issuer, now).map_err(|e| e.kind())
        };
        assert_eq!(with("aud", json!("other")), Err("wrong_audience"));
        assert_eq!(with("aud", json!([1])), Err("invalid_claim"));
        assert_eq!(with("aud", Value::Null), Err("missing_claim"));
        assert_eq!(with("exp", Value::Null), Err("missing_claim"));
        assert_eq!(with("exp", json!("soon")), Err("invalid_claim"));
        assert_eq!(with("exp", json!(1_000_010.5)).map(|_| ()), Ok(()));
        assert_eq!(with("nbf", Value::Null).map(|_| ()), Ok(()));
        assert_eq!(with("iat", json!(now + 61)), Err("issued_in_future"));
        assert_eq!(with("sub", json!("")), Err("invalid_claim"));
        assert_eq!(with("sub", Value::Null), Err("missing_claim"));
        assert_eq!(with("email", Value::Null), Err("missing_claim"));
        assert_eq!(with("email", json!("nobody")), Err("invalid_claim"));
        assert_eq!(with("email", json!("a@localhost")), Err("invalid_claim"));
        assert_eq!(
            with("email_verified", json!(false)),
            Err("email_not_verified")
        );
        assert_eq!(
            with("email_verified", Value::Null),
            Err("email_not_verified")
        );
        assert_eq!(with("email_verified", json!("true")), Err("invalid_claim"));
        assert_eq!(
            with("iss", json!("https://j.example.com")),
            Err("issuer_not_configured")
        );
        // Non-email issuers need neither email claim.
        let mut gh = issuer.clone();
        gh.issuer_type = IssuerType::GithubWorkflow;
        let mut c = claims(good);
        c.remove("email");
        c.remove("email_verified");
        assert!(check_claims(&c, &gh, now).is_ok());
    }

    #[test]
    fn email_shape() {
        assert!(looks_like_email("a@b.c"));
        assert!(looks_like_email("first.last@mail.example.com"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("@b.c"));
        assert!(!looks_like_email("a@.c"));
        assert!(!looks_like_email("abc"));
    }
}
