//! RFC 8785 JSON Canonicalization Scheme (JCS), the form Rekor stores entry bodies in and signs
//! signed entry timestamps over.
//!
//! - no whitespace;
//! - object members sorted by the UTF-16 code units of their names;
//! - strings escape only `"`, `\` and control characters, with the short forms `\b \t \n \f \r`
//!   and lowercase `\u00xx` otherwise; everything else (including non-ASCII) is written as is;
//! - numbers are written as ECMAScript writes IEEE doubles, so integers beyond 2^53 lose
//!   precision exactly as they do in Rekor's Go canonicalizer.
//!
//! ```
//! use signet_rekor::canonical_json;
//! let v: serde_json::Value = serde_json::from_str(r#"{"b": [1, "é\n"], "a": 1e2}"#).unwrap();
//! assert_eq!(canonical_json(&v).unwrap(), r#"{"a":100,"b":[1,"é\n"]}"#);
//! ```

use serde_json::{Number, Value};
use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::RekorError;

/// Serializes `value` in RFC 8785 canonical form.
///
/// Fails only on numbers JSON cannot carry (NaN, infinities), which `serde_json` values never
/// hold; the error then names the offending number.
pub fn canonical_json(value: &Value) -> Result<String, RekorError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), RekorError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| utf16_cmp(a.0, b.0));
            out.push('{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, member)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The largest integer that every IEEE double below it represents exactly.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// An integer as JCS writes it (exactly up to 2^53, rounded through a double beyond).
pub(crate) fn write_integer(out: &mut String, n: i64) {
    if n.unsigned_abs() <= MAX_EXACT_INTEGER {
        let _ = write!(out, "{n}");
    } else {
        // Finite, so this cannot fail.
        let _ = write_double(out, n as f64);
    }
}

fn write_number(out: &mut String, n: &Number) -> Result<(), RekorError> {
    if let Some(u) = n.as_u64()
        && u <= MAX_EXACT_INTEGER
    {
        let _ = write!(out, "{u}");
        return Ok(());
    }
    if let Some(i) = n.as_i64()
        && i.unsigned_abs() <= MAX_EXACT_INTEGER
    {
        let _ = write!(out, "{i}");
        return Ok(());
    }
    let f = n.as_f64().ok_or_else(|| RekorError::InvalidValue {
        field: "number".into(),
        reason: format!("{n} is not representable as an IEEE double"),
    })?;
    write_double(out, f)
}

/// ECMAScript `Number.prototype.toString` for a finite double (ECMA-262 §6.1.6.1.20).
pub(crate) fn write_double(out: &mut String, f: f64) -> Result<(), RekorError> {
    if !f.is_finite() {
        return Err(RekorError::InvalidValue {
            field: "number".into(),
            reason: format!("{f} has no JSON form"),
        });
    }
    if f == 0.0 {
        out.push('0');
        return Ok(());
    }
    if f < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as ECMAScript requires:
    // `d[.ddd]e<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i64 = exp.parse().unwrap_or(0);
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    // The value is 0.DIGITS × 10^n.
    let n = exp.saturating_add(1);
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        let (int, frac) = digits.split_at(split.min(digits.len()));
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let mut chars = digits.chars();
        if let Some(first) = chars.next() {
            out.push(first);
        }
        let rest: String = chars.collect();
        if !rest.is_empty() {
            out.push('.');
            out.push_str(&rest);
        }
        let e = n - 1;
        let _ = write!(
            out,
            "e{}{}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn double(f: f64) -> String {
        let mut s = String::new();
        write_double(&mut s, f).unwrap();
        s
    }

    #[test]
    fn numbers_follow_ecmascript() {
        // From RFC 8785 Appendix B.
        assert_eq!(double(-0.0), "0");
        assert_eq!(double(1e21), "1e+21");
        assert_eq!(double(1e20), "100000000000000000000");
        assert_eq!(double(9007199254740992.0), "9007199254740992");
        assert_eq!(double(9007199254740994.0), "9007199254740994");
        assert_eq!(double(295147905179352830000.0), "295147905179352830000");
        assert_eq!(double(4.5), "4.5");
        assert_eq!(double(2e-3), "0.002");
        assert_eq!(double(0.000001), "0.000001");
        assert_eq!(double(1e-7), "1e-7");
        assert_eq!(double(1.5e-7), "1.5e-7");
        assert_eq!(double(5e-324), "5e-324");
        assert_eq!(double(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(double(333333333.3333333), "333333333.3333333");
        assert!(write_double(&mut String::new(), f64::NAN).is_err());
    }

    #[test]
    fn big_integers_round_through_doubles_like_go() {
        let v = json!({"a": i64::MAX, "b": u64::MAX, "c": -(1i64 << 53), "d": 1u64 << 53});
        assert_eq!(
            canonical_json(&v).unwrap(),
            r#"{"a":9223372036854776000,"b":18446744073709552000,"c":-9007199254740992,"d":9007199254740992}"#
        );
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2, "\r": 3, "1": 4, "\u{80}": 5, "ö": 6});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"\\r\":3,\"1\":4,\"\u{80}\":5,\"ö\":6,\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let v = json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/<>&\u{2028}é");
        assert_eq!(
            canonical_json(&v).unwrap(),
            "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/<>&\u{2028}é\""
        );
    }
}
