//! SQLite's date and time functions: date, time, datetime, julianday, unixepoch, strftime.
//!
//! Times are UTC; `localtime` and `utc` modifiers are accepted and do nothing, because an
//! embedded database on an edge device should not change answers with the host's time zone.

use super::ScalarFn;
use crate::error::Result;
use crate::sql::value::Value;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

const UNIX_EPOCH_JD: f64 = 2_440_587.5;

fn from_micros(us: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
}

fn to_micros(dt: &NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

fn julian_to_dt(jd: f64) -> Option<NaiveDateTime> {
    if !jd.is_finite() {
        return None;
    }
    let us = ((jd - UNIX_EPOCH_JD) * 86_400_000_000.0).round();
    if us.abs() > 9.0e18 {
        return None;
    }
    from_micros(us as i64)
}

fn dt_to_julian(dt: &NaiveDateTime) -> f64 {
    to_micros(dt) as f64 / 86_400_000_000.0 + UNIX_EPOCH_JD
}

/// Formats as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_datetime_micros(us: i64) -> String {
    from_micros(us)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Interprets a time value: text in the accepted formats, 'now', or a number (a Julian day).
fn parse_time_value(v: &Value, now_us: i64) -> Option<NaiveDateTime> {
    match v {
        Value::Null => None,
        Value::Timestamp(t) => Some(*t),
        Value::Text(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("now") {
                return from_micros(now_us);
            }
            if let Some(dt) = crate::time::parse_datetime(t) {
                return Some(dt);
            }
            // Bare time "HH:MM[:SS]" means 2000-01-01.
            for fmt in ["%H:%M:%S%.f", "%H:%M"] {
                if let Ok(tm) = chrono::NaiveTime::parse_from_str(t, fmt) {
                    return NaiveDate::from_ymd_opt(2000, 1, 1).map(|d| d.and_time(tm));
                }
            }
            crate::sql::value::parse_numeric_text(t).and_then(|n| julian_to_dt(n.as_f64()))
        }
        Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => julian_to_dt(v.as_f64()),
        Value::Blob(_) => None,
    }
}

/// Converts a value to microseconds since the epoch (text timestamp, 'now', or Julian day).
pub fn value_to_micros(v: &Value, now_us: i64) -> Option<i64> {
    parse_time_value(v, now_us).map(|d| to_micros(&d))
}

fn add_months(dt: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    let total = dt.year() as i64 * 12 + dt.month0() as i64 + months;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    let y = i32::try_from(y).ok()?;
    // SQLite normalises overflowing days (Jan 31 + 1 month = Mar 3 / Mar 2).
    let first = NaiveDate::from_ymd_opt(y, m0 as u32 + 1, 1)?;
    let d = first.checked_add_signed(Duration::days(dt.day() as i64 - 1))?;
    Some(d.and_time(dt.time()))
}

fn apply_modifier(dt: NaiveDateTime, m: &str, raw: &Value, first: bool) -> Option<NaiveDateTime> {
    let m = m.trim().to_ascii_lowercase();
    match m.as_str() {
        "unixepoch" if first => {
            let secs = raw.as_f64();
            return from_micros((secs * 1_000_000.0).round() as i64);
        }
        "julianday" if first => return julian_to_dt(raw.as_f64()),
        "localtime" | "utc" | "subsec" | "subsecond" | "auto" => return Some(dt),
        "start of day" => return dt.date().and_hms_opt(0, 0, 0),
        "start of month" => return dt.date().with_day(1)?.and_hms_opt(0, 0, 0),
        "start of year" => return NaiveDate::from_ymd_opt(dt.year(), 1, 1)?.and_hms_opt(0, 0, 0),
        _ => {}
    }
    if let Some(n) = m.strip_prefix("weekday ") {
        let target: i64 = n.trim().parse().ok().filter(|n| (0..7).contains(n))?;
        let cur = dt.weekday().num_days_from_sunday() as i64;
        let delta = (target - cur).rem_euclid(7);
        return dt.checked_add_signed(Duration::days(delta));
    }
    // "±HH:MM[:SS[.SSS]]" shifts by that much time.
    if let Some(shift) = clock_shift(&m) {
        return dt.checked_add_signed(shift);
    }
    // "+N unit" / "-N unit"
    let mut parts = m.split_whitespace();
    let num = parts.next()?;
    let unit = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let micros = |per: f64| dt.checked_add_signed(Duration::microseconds((n * per).round() as i64));
    match unit {
        "second" => micros(1e6),
        "minute" => micros(60e6),
        "hour" => micros(3600e6),
        "day" => micros(86_400e6),
        "month" => add_months(dt, n as i64),
        "year" => add_months(dt, n as i64 * 12),
        _ => None,
    }
}

/// Parses the `±HH:MM[:SS[.SSS]]` modifier.
fn clock_shift(m: &str) -> Option<Duration> {
    let (negative, body) = match m.as_bytes().first()? {
        b'+' => (false, &m[1..]),
        b'-' => (true, &m[1..]),
        _ => (false, m),
    };
    if !body.contains(':') {
        return None;
    }
    let time = NaiveTime::parse_from_str(body, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(body, "%H:%M"))
        .ok()?;
    let d = time.signed_duration_since(NaiveTime::MIN);
    Some(if negative { -d } else { d })
}

/// Calls a date/time function.
pub fn call(f: ScalarFn, args: &[Value], now_us: i64) -> Result<Value> {
    let (format, rest) = if f == ScalarFn::Strftime {
        match args.first() {
            Some(Value::Null) | None => return Ok(Value::Null),
            Some(fmt) => (fmt.to_text(), &args[1..]),
        }
    } else {
        (None, args)
    };
    let default_now = Value::from("now");
    let time_arg = rest.first().unwrap_or(&default_now);
    if time_arg.is_null() {
        return Ok(Value::Null);
    }
    let mods = &rest[rest.len().min(1)..];
    let first_is_unix = mods
        .first()
        .and_then(|m| m.to_text())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("unixepoch"));
    let mut dt = if first_is_unix {
        from_micros(0)
    } else {
        parse_time_value(time_arg, now_us)
    };
    for (i, m) in mods.iter().enumerate() {
        let Some(cur) = dt else { break };
        let Some(text) = m.to_text() else {
            return Ok(Value::Null);
        };
        dt = apply_modifier(cur, &text, time_arg, i == 0);
    }
    let Some(dt) = dt else {
        return Ok(Value::Null);
    };
    Ok(match f {
        ScalarFn::Date => Value::Text(dt.format("%Y-%m-%d").to_string()),
        ScalarFn::Time => Value::Text(dt.format("%H:%M:%S").to_string()),
        ScalarFn::Datetime => Value::Text(dt.format("%Y-%m-%d %H:%M:%S").to_string()),
        ScalarFn::Julianday => Value::Real(dt_to_julian(&dt)),
        ScalarFn::Unixepoch => Value::Integer(dt.and_utc().timestamp()),
        // time +/- INTERVAL keeps sub-second precision (datetime() would drop it).
        ScalarFn::IntervalAdd => Value::Text(crate::time::format_micros(to_micros(&dt))),
        _ => Value::Text(strftime(&format.unwrap_or_default(), &dt)),
    })
}

fn strftime(fmt: &str, dt: &NaiveDateTime) -> String {
    let mut out = String::new();
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = it.next() else {
            out.push('%');
            break;
        };
        match spec {
            'd' => out.push_str(&format!("{:02}", dt.day())),
            'e' => out.push_str(&format!("{:2}", dt.day())),
            'f' => out.push_str(&format!(
                "{:02}.{:03}",
                dt.second(),
                dt.nanosecond() / 1_000_000
            )),
            'F' => out.push_str(&dt.format("%Y-%m-%d").to_string()),
            'H' => out.push_str(&format!("{:02}", dt.hour())),
            'k' => out.push_str(&format!("{:2}", dt.hour())),
            'I' => out.push_str(&format!("{:02}", (dt.hour() + 11) % 12 + 1)),
            'l' => out.push_str(&format!("{:2}", (dt.hour() + 11) % 12 + 1)),
            'j' => out.push_str(&format!("{:03}", dt.ordinal())),
            'J' => out.push_str(&crate::sql::value::format_real(dt_to_julian(dt))),
            'm' => out.push_str(&format!("{:02}", dt.month())),
            'M' => out.push_str(&format!("{:02}", dt.minute())),
            'p' => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
            'P' => out.push_str(if dt.hour() < 12 { "am" } else { "pm" }),
            'R' => out.push_str(&dt.format("%H:%M").to_string()),
            's' => out.push_str(&dt.and_utc().timestamp().to_string()),
            'S' => out.push_str(&format!("{:02}", dt.second())),
            'T' => out.push_str(&dt.format("%H:%M:%S").to_string()),
            'u' => out.push_str(&dt.weekday().number_from_monday().to_string()),
            'w' => out.push_str(&dt.weekday().num_days_from_sunday().to_string()),
            'W' => out.push_str(&dt.format("%W").to_string()),
            'U' => out.push_str(&dt.format("%U").to_string()),
            'V' => out.push_str(&dt.format("%V").to_string()),
            'G' => out.push_str(&dt.format("%G").to_string()),
            'g' => out.push_str(&dt.format("%g").to_string()),
            'Y' => out.push_str(&format!("{:04}", dt.year())),
            '%' => out.push('%'),
            other => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(f: ScalarFn, args: &[&str]) -> Value {
        let a: Vec<Value> = args.iter().map(|s| Value::from(*s)).collect();
        call(f, &a, 1_733_011_200_000_000).unwrap()
    }

    #[test]
    fn sqlite_examples() {
        assert_eq!(t(ScalarFn::Date, &["now"]), Value::from("2024-12-01"));
        assert_eq!(
            t(ScalarFn::Strftime, &["%s", "2024-12-31 23:59:59"]),
            Value::from("1735689599")
        );
        assert_eq!(
            t(ScalarFn::Datetime, &["2024-01-31", "+1 month"]),
            Value::from("2024-03-02 00:00:00")
        );
        assert_eq!(
            t(
                ScalarFn::Date,
                &["2024-03-15 10:00:00", "start of month", "-1 day"]
            ),
            Value::from("2024-02-29")
        );
        assert_eq!(
            call(
                ScalarFn::Datetime,
                &[Value::Integer(1_700_000_000), Value::from("unixepoch")],
                0
            )
            .unwrap(),
            Value::from("2023-11-14 22:13:20")
        );
        assert_eq!(
            t(ScalarFn::Julianday, &["2000-01-01 12:00:00"]),
            Value::Real(2_451_545.0)
        );
        assert_eq!(t(ScalarFn::Date, &["garbage"]), Value::Null);
        assert_eq!(
            t(
                ScalarFn::Strftime,
                &["%Y-%m-%dT%H:%M:%f", "2024-05-06 07:08:09.123"]
            ),
            Value::from("2024-05-06T07:08:09.123")
        );
    }
}
