//! Time handling: the clock that stamps commits, and timestamp text conversions.

use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Source of commit times, in microseconds since the Unix epoch (UTC).
///
/// The database stamps every commit from its clock. Tests and historical imports supply their
/// own; commit times stay strictly increasing whatever the clock says.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in microseconds since the Unix epoch.
    fn now_micros(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        Utc::now().timestamp_micros()
    }
}

/// A clock that shows whatever time it is set to; shareable and adjustable from any thread.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Creates a clock showing `micros`.
    pub fn new(micros: i64) -> Self {
        Self(Arc::new(AtomicI64::new(micros)))
    }

    /// Creates a clock showing the given UTC time text (see [`parse_timestamp`]).
    pub fn at(text: &str) -> Result<Self> {
        Ok(Self::new(parse_timestamp(text)?))
    }

    /// Sets the time.
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }

    /// Sets the time from UTC text.
    pub fn set_text(&self, text: &str) -> Result<()> {
        self.set(parse_timestamp(text)?);
        Ok(())
    }

    /// Moves the time forward by `micros`.
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC.
pub fn format_micros(us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) if us % 1_000_000 == 0 => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => format!("{us} µs"),
    }
}

/// Formats a date-time as `YYYY-MM-DD HH:MM:SS[.ffffff]` (the text a TIMESTAMP column holds).
pub fn format_datetime(t: &NaiveDateTime) -> String {
    format_micros(t.and_utc().timestamp_micros())
}

/// Parses a timestamp: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]`, ISO 8601 with `T`, and
/// an optional `Z` or `±HH:MM` offset. Without an offset the time is UTC.
pub fn parse_timestamp(text: &str) -> Result<i64> {
    parse_datetime(text)
        .map(|dt| dt.and_utc().timestamp_micros())
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid timestamp '{text}': expected 'YYYY-MM-DD HH:MM:SS[.ffffff]' or ISO 8601"
            ))
        })
}

/// Parses date/time text into a UTC naive date-time (offsets are applied). Returns `None` if
/// the text is not a recognised format.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    // The common case first, without the format machinery: 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
    if let Some(dt) = parse_plain(t) {
        return Some(dt);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.naive_utc());
    }
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    // Offsets such as "+02:00" after a space-separated time.
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Some(dt.naive_utc());
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Parses exactly `YYYY-MM-DD HH:MM:SS` with an optional `.f` fraction of 1 to 9 digits.
fn parse_plain(t: &str) -> Option<NaiveDateTime> {
    let b = t.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let mut nanos = 0u32;
    if b.len() > 19 {
        let frac = &b[20..];
        if b[19] != b'.'
            || frac.is_empty()
            || frac.len() > 9
            || !frac.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        nanos = num(20..b.len())? * 10u32.pow(9 - frac.len() as u32);
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)
}

/// Converts microseconds to a UTC date-time.
pub fn micros_to_datetime(us: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_micros(us).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_formats() {
        let base = parse_timestamp("2024-12-31 23:59:59").unwrap();
        assert_eq!(format_micros(base), "2024-12-31 23:59:59");
        assert_eq!(parse_timestamp("2024-12-31T23:59:59Z").unwrap(), base);
        assert_eq!(parse_timestamp("2025-01-01T01:59:59+02:00").unwrap(), base);
        assert_eq!(
            parse_timestamp("2024-12-31 23:59:59.5").unwrap(),
            base + 500_000
        );
        assert_eq!(
            parse_timestamp("2024-12-31").unwrap(),
            base - (23 * 3600 + 59 * 60 + 59) * 1_000_000
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("2024-13-01").is_err());
        assert_eq!(format_micros(base + 1), "2024-12-31 23:59:59.000001");
        assert_eq!(
            parse_timestamp("2024-12-31 23:59:59.000001").unwrap(),
            base + 1
        );
        assert!(parse_timestamp("2024-12-31 23:59:59.").is_err());
        assert!(parse_timestamp("2024-02-30 00:00:00").is_err());
        assert!(parse_timestamp("2024-12-31 24:00:00").is_err());
    }
}
