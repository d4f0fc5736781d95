//! `google.protobuf.Timestamp` in its JSON form: an RFC 3339 date-time such as
//! `2021-03-07T03:20:29.000Z`.

use std::fmt;
use std::str::FromStr;

use crate::error::{FormatError, snippet};

/// A point in time: seconds since the Unix epoch plus nanoseconds, as in
/// `google.protobuf.Timestamp`. Ordering is chronological.
///
/// Parsed from RFC 3339 with [`Timestamp::parse_rfc3339`] (or [`str::parse`]) and printed in UTC
/// with `Z` and 0, 3, 6 or 9 fractional digits, as proto-JSON prints it.
///
/// ```
/// use signet_formats::Timestamp;
/// let t: Timestamp = "2021-03-07T04:20:29.5+01:00".parse().unwrap();
/// assert_eq!(t, Timestamp { seconds: 1615087229, nanos: 500_000_000 });
/// assert_eq!(t.to_string(), "2021-03-07T03:20:29.500Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub seconds: i64,
    /// Nanoseconds within the second, `0..=999_999_999`.
    pub nanos: u32,
}

/// Seconds from the epoch to 0001-01-01T00:00:00Z, the earliest time proto-JSON allows.
const MIN_SECONDS: i64 = -62_135_596_800;
/// Seconds from the epoch to 9999-12-31T23:59:59Z, the latest time proto-JSON allows.
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// A whole number of seconds since the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp { seconds, nanos: 0 }
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9
    /// digits, and `Z` or a `±HH:MM` offset. `T` and `Z` may be lower case. Leap seconds
    /// (`:60`) and dates outside years 0001–9999 are rejected, as proto-JSON rejects them.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, FormatError> {
        Self::parse_field(text, "timestamp")
    }

    /// Like [`Timestamp::parse_rfc3339`], naming `field` in the error.
    pub(crate) fn parse_field(text: &str, field: &str) -> Result<Timestamp, FormatError> {
        parse(text.as_bytes()).map_err(|reason| FormatError::InvalidTimestamp {
            field: field.to_owned(),
            value: snippet(text),
            reason,
        })
    }

    /// Formats as RFC 3339 in UTC, e.g. `2021-03-07T03:20:29Z` or `2021-03-07T03:20:29.500Z`.
    pub fn to_rfc3339(&self) -> String {
        self.to_string()
    }
}

impl FromStr for Timestamp {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds.div_euclid(86_400);
        let secs_of_day = self.seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        let n = self.nanos;
        if n == 0 {
        } else if n.is_multiple_of(1_000_000) {
            write!(f, ".{:03}", n / 1_000_000)?;
        } else if n.is_multiple_of(1_000) {
            write!(f, ".{:06}", n / 1_000)?;
        } else {
            write!(f, ".{n:09}")?;
        }
        f.write_str("Z")
    }
}

/// A cursor over the input that fails, rather than panics, on short input.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    fn expect(&mut self, want: &[u8], reason: &'static str) -> Result<(), &'static str> {
        match self.bump() {
            Some(b) if want.contains(&b) => Ok(()),
            _ => Err(reason),
        }
    }

    /// Exactly `n` decimal digits.
    fn digits(&mut self, n: usize, reason: &'static str) -> Result<i64, &'static str> {
        let mut value = 0i64;
        for _ in 0..n {
            match self.bump() {
                Some(b @ b'0'..=b'9') => value = value * 10 + i64::from(b - b'0'),
                _ => return Err(reason),
            }
        }
        Ok(value)
    }
}

fn parse(text: &[u8]) -> Result<Timestamp, &'static str> {
    let mut c = Cursor { rest: text };
    let year = c.digits(4, "expected a 4-digit year")?;
    c.expect(b"-", "expected '-' after the year")?;
    let month = c.digits(2, "expected a 2-digit month")?;
    c.expect(b"-", "expected '-' after the month")?;
    let day = c.digits(2, "expected a 2-digit day")?;
    c.expect(b"Tt", "expected 'T' between date and time")?;
    let hour = c.digits(2, "expected a 2-digit hour")?;
    c.expect(b":", "expected ':' after the hour")?;
    let minute = c.digits(2, "expected 2-digit minutes")?;
    c.expect(b":", "expected ':' after the minutes")?;
    let second = c.digits(2, "expected 2-digit seconds")?;

    let mut nanos = 0u32;
    if c.peek() == Some(b'.') {
        c.bump();
        let mut count = 0;
        while let Some(b @ b'0'..=b'9') = c.peek() {
            c.bump();
            count += 1;
            if count > 9 {
                return Err("more than 9 fractional digits");
            }
            nanos = nanos * 10 + u32::from(b - b'0');
        }
        if count == 0 {
            return Err("expected digits after '.'");
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }

    let offset = match c.bump() {
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = c.digits(2, "expected a 2-digit offset hour")?;
            c.expect(b":", "expected ':' in the offset")?;
            let om = c.digits(2, "expected 2-digit offset minutes")?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let offset = oh * 3600 + om * 60;
            if sign == b'-' { -offset } else { offset }
        }
        _ => return Err("expected 'Z' or a numeric offset"),
    };
    if c.peek().is_some() {
        return Err("trailing characters");
    }

    if year == 0 {
        return Err("year 0000 is out of range");
    }
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if hour > 23 || minute > 59 {
        return Err("time out of range");
    }
    if second == 60 {
        return Err("leap seconds are not supported");
    }
    if second > 59 {
        return Err("seconds out of range");
    }

    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return Err("outside years 0001 to 9999");
    }
    Ok(Timestamp { seconds, nanos })
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn parses_utc_and_fractions() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), Timestamp::from_unix_seconds(0));
        assert_eq!(
            ts("2021-03-07T03:20:29.000Z"),
            Timestamp::from_unix_seconds(1_615_087_229)
        );
        assert_eq!(ts("2023-07-12T15:56:36Z").seconds, 1_689_177_396);
        assert_eq!(ts("2022-12-31T23:59:59.999Z").nanos, 999_000_000);
        assert_eq!(ts("2022-12-31T23:59:59.1Z").nanos, 100_000_000);
        assert_eq!(ts("2022-12-31T23:59:59.123456789Z").nanos, 123_456_789);
        assert_eq!(ts("2022-12-31t23:59:59z"), ts("2022-12-31T23:59:59Z"));
        assert_eq!(ts("1969-12-31T23:59:59Z").seconds, -1);
        assert_eq!(ts("0001-01-01T00:00:00Z").seconds, MIN_SECONDS);
        assert_eq!(ts("9999-12-31T23:59:59Z").seconds, MAX_SECONDS);
        assert_eq!(ts("2024-02-29T00:00:00Z").seconds, 1_709_164_800);
        assert_eq!(ts("2000-02-29T12:00:00Z").seconds, 951_825_600);
    }

    #[test]
    fn parses_offsets() {
        let utc = ts("2021-03-07T03:20:29Z");
        assert_eq!(ts("2021-03-07T04:20:29+01:00"), utc);
        assert_eq!(ts("2021-03-06T21:50:29-05:30"), utc);
        assert_eq!(ts("2021-03-07T03:20:29+00:00"), utc);
        assert_eq!(ts("2021-03-07T03:20:29-00:00"), utc);
        assert_eq!(ts("2021-03-08T02:20:29+23:00"), utc);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2021-03-07",
            "2021-03-07T03:20:29",
            "2021-03-07 03:20:29Z",
            "2021-3-07T03:20:29Z",
            "21-03-07T03:20:29Z",
            "2021-03-07T03:20Z",
            "2021-03-07T03:20:29.Z",
            "2021-03-07T03:20:29.1234567890Z",
            "2021-03-07T03:20:29+0100",
            "2021-03-07T03:20:29+1:00",
            "2021-03-07T03:20:29+24:00",
            "2021-03-07T03:20:29+01:60",
            "2021-03-07T03:20:29ZZ",
            "2021-03-07T03:20:29Z ",
            " 2021-03-07T03:20:29Z",
            "2021-13-07T03:20:29Z",
            "2021-00-07T03:20:29Z",
            "2021-02-29T03:20:29Z",
            "1900-02-29T03:20:29Z",
            "2021-04-31T03:20:29Z",
            "2021-03-00T03:20:29Z",
            "2021-03-07T24:00:00Z",
            "2021-03-07T03:60:29Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "+2021-03-07T03:20:29Z",
            "２０２１-03-07T03:20:29Z",
            "2021-03-07T03:20:29\u{2212}01:00",
        ] {
            let err = Timestamp::parse_rfc3339(bad).unwrap_err();
            assert!(
                matches!(err, FormatError::InvalidTimestamp { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn formats_in_utc_with_proto_fraction_widths() {
        let f = |seconds, nanos| Timestamp { seconds, nanos }.to_string();
        assert_eq!(f(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(f(1_615_087_229, 0), "2021-03-07T03:20:29Z");
        assert_eq!(f(1_615_087_229, 500_000_000), "2021-03-07T03:20:29.500Z");
        assert_eq!(f(1_615_087_229, 1_000), "2021-03-07T03:20:29.000001Z");
        assert_eq!(f(1_615_087_229, 1), "2021-03-07T03:20:29.000000001Z");
        assert_eq!(f(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(f(MIN_SECONDS, 0), "0001-01-01T00:00:00Z");
        assert_eq!(
            f(MAX_SECONDS, 999_999_999),
            "9999-12-31T23:59:59.999999999Z"
        );
        // Out-of-range values still print without panicking.
        let _ = f(i64::MAX, u32::MAX);
        let _ = f(i64::MIN, 0);
    }

    #[test]
    fn every_day_round_trips() {
        // Every day of 1600..=2400 (two 400-year cycles of leap rules around today),
        // and every 7th day of the whole range: the same coverage of the calendar code at a
        // tenth of the cost (the whole range took 12 s of a debug test run).
        let round_trip = |day: i64| {
            let t = Timestamp::from_unix_seconds(day * 86_400 + 45_296);
            assert_eq!(ts(&t.to_string()), t);
        };
        let (first, last) = (days_from_civil(1, 1, 1), days_from_civil(9999, 12, 31));
        (days_from_civil(1600, 1, 1)..=days_from_civil(2400, 12, 31)).for_each(round_trip);
        (first..=last).step_by(7).for_each(round_trip);
        round_trip(last);
    }
}
