//! `printf()` / `format()` as SQLite's SQL function formats: the conversions `%d %i %u %x
//! %X %o %p %r %f %e %E %g %G %c %s %z %q %Q %w %n %%`, the flags `- + space 0 # , !`, widths and
//! precisions written out or taken from the arguments (`*`), and SQLite's rules where they
//! differ from C's: widths and precisions count bytes unless the `!` flag asks for characters
//! (`%c` always counts characters), `%c` with a precision repeats the character, missing
//! arguments read as 0 / NULL, a negative `*` precision is taken as its absolute value, and an
//! unknown conversion ends the output there. Reals are rounded from their first 16
//! significant digits (26 with `!`), half away from zero, as SQLite 3.43+ does.

use super::super::value::Value;
use crate::error::{Error, Result};

mod real;

/// SQLite's default `SQLITE_MAX_LENGTH`: a longer result is "string or blob too big".
const MAX_LENGTH: u64 = 1_000_000_000;

/// SQLite caps the precision of a real's conversion (`SQLITE_FP_PRECISION_LIMIT`).
const FP_PRECISION_LIMIT: i64 = 100_000_000;

/// Formats `args[1..]` by the format `args[0]`; NULL when the format is NULL.
pub(super) fn printf(args: &[Value]) -> Result<Value> {
    let Some(fmt) = args.first().and_then(|v| v.to_text()) else {
        return Ok(Value::Null);
    };
    let mut f = Formatter {
        args: Args { args, used: 1 },
        out: Vec::new(),
        appended: false,
    };
    f.run(fmt.as_bytes())?;
    if !f.appended {
        // Nothing was ever appended (an empty format, or an unknown conversion first):
        // SQLite's buffer was never allocated, and the result is NULL.
        return Ok(Value::Null);
    }
    Ok(Value::Text(match String::from_utf8(f.out) {
        Ok(s) => s,
        // A byte precision may cut a character in two; SQLite keeps the bytes, text here
        // must be UTF-8.
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }))
}

fn too_big() -> Error {
    Error::invalid("string or blob too big")
}

/// The arguments, read in order as SQLite's `sqlite3_value_*` would read them; past the last
/// one, a number reads as 0 and a text as NULL.
struct Args<'a> {
    args: &'a [Value],
    used: usize,
}

impl Args<'_> {
    fn next(&mut self) -> Option<&Value> {
        let v = self.args.get(self.used)?;
        self.used += 1;
        Some(v)
    }

    fn int(&mut self) -> i64 {
        match self.next() {
            None | Some(Value::Null) => 0,
            // Text reads as its leading integer (`'1e3'` is 1), as `sqlite3_value_int64`.
            Some(v @ (Value::Text(_) | Value::Blob(_) | Value::Timestamp(_))) => {
                leading_integer(&text_bytes(v).unwrap_or_default())
            }
            Some(v) => v.as_i64(),
        }
    }

    fn double(&mut self) -> f64 {
        self.next().map_or(0.0, Value::as_f64)
    }

    fn text(&mut self) -> Option<Vec<u8>> {
        let mut b = text_bytes(self.next()?)?;
        // The C string ends at its first NUL.
        if let Some(end) = b.iter().position(|&c| c == 0) {
            b.truncate(end);
        }
        Some(b)
    }
}

fn text_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Blob(b) => Some(b.clone()),
        v => v.to_text().map(String::into_bytes),
    }
}

/// The integer a text starts with (after spaces and a sign), saturating; 0 if none.
fn leading_integer(b: &[u8]) -> i64 {
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let negative = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut v: i128 = 0;
    while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        v = (v * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
        i += 1;
    }
    let v = if negative { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// What one `%` directive asked for.
#[derive(Default)]
struct Spec {
    left: bool,
    /// `+` or space: the sign shown for a positive number.
    sign: Option<u8>,
    alternate: bool,
    /// `!`: widths and precisions count characters; more digits of a real.
    alt2: bool,
    zero_pad: bool,
    thousands: bool,
    width: i64,
    /// Negative: none given.
    precision: i64,
}

struct Formatter<'a> {
    args: Args<'a>,
    out: Vec<u8>,
    /// Whether any text or conversion was appended, even an empty one.
    appended: bool,
}

impl Formatter<'_> {
    fn run(&mut self, fmt: &[u8]) -> Result<()> {
        let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
        let mut i = 0;
        while i < fmt.len() {
            if fmt[i] != b'%' {
                let end = fmt[i..]
                    .iter()
                    .position(|&c| c == b'%')
                    .map_or(fmt.len(), |p| i + p);
                self.out.extend_from_slice(&fmt[i..end]);
                self.appended = true;
                i = end;
                continue;
            }
            i += 1;
            if i >= fmt.len() {
                self.out.push(b'%');
                self.appended = true;
                break;
            }
            let mut s = Spec {
                precision: -1,
                ..Spec::default()
            };
            let mut c = at(i);
            // Flags, width and precision, in SQLite's order of reading.
            loop {
                match c {
                    b'-' => s.left = true,
                    b'+' => s.sign = Some(b'+'),
                    b' ' => s.sign = Some(b' '),
                    b'#' => s.alternate = true,
                    b'!' => s.alt2 = true,
                    b'0' => s.zero_pad = true,
                    b',' => s.thousands = true,
                    b'l' => {
                        i += 1;
                        if at(i) == b'l' {
                            i += 1;
                        }
                        c = at(i);
                        break;
                    }
                    b'1'..=b'9' => {
                        let mut w = u32::from(c - b'0');
                        loop {
                            i += 1;
                            c = at(i);
                            if !c.is_ascii_digit() {
                                break;
                            }
                            w = w.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
                        }
                        s.width = i64::from(w & 0x7fff_ffff);
                        if c != b'.' && c != b'l' {
                            break;
                        }
                        i -= 1;
                    }
                    b'*' => {
                        let w = self.args.int() as i32;
                        if w < 0 {
                            s.left = true;
                            s.width = if w == i32::MIN { 0 } else { -i64::from(w) };
                        } else {
                            s.width = i64::from(w);
                        }
                        if at(i + 1) != b'.' && at(i + 1) != b'l' {
                            i += 1;
                            c = at(i);
                            break;
                        }
                    }
                    b'.' => {
                        i += 1;
                        c = at(i);
                        if c == b'*' {
                            let p = self.args.int() as i32;
                            s.precision = match p {
                                i32::MIN => -1,
                                p => i64::from(p).abs(),
                            };
                            i += 1;
                            c = at(i);
                        } else {
                            let mut p: u32 = 0;
                            while c.is_ascii_digit() {
                                p = p.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
                                i += 1;
                                c = at(i);
                            }
                            s.precision = i64::from(p & 0x7fff_ffff);
                        }
                        if c != b'l' {
                            break;
                        }
                        i -= 1;
                    }
                    _ => break,
                }
                i += 1;
                c = at(i);
                if c == 0 {
                    break;
                }
            }
            i += 1;
            if !self.convert(c, s)? {
                // An unknown conversion (or an internal one) ends the output.
                break;
            }
        }
        if self.out.len() as u64 > MAX_LENGTH {
            return Err(too_big());
        }
        Ok(())
    }

    /// Formats one conversion; false if `c` is not one SQL's printf knows.
    fn convert(&mut self, c: u8, mut s: Spec) -> Result<bool> {
        let body = match c {
            b'd' | b'i' => {
                let v = self.args.int();
                let sign = if v < 0 { Some(b'-') } else { s.sign };
                integer(v.unsigned_abs(), sign, Radix::Decimal, &s)?
            }
            // `%r`: an ordinal, `1st`, `22nd`.
            b'r' => {
                let v = self.args.int();
                let sign = if v < 0 { Some(b'-') } else { s.sign };
                integer(v.unsigned_abs(), sign, Radix::Ordinal, &s)?
            }
            b'u' => integer(self.args.int() as u64, None, Radix::Decimal, &s)?,
            b'x' => integer(self.args.int() as u64, None, Radix::Hex, &s)?,
            b'X' => integer(self.args.int() as u64, None, Radix::UpperHex, &s)?,
            b'o' => integer(self.args.int() as u64, None, Radix::Octal, &s)?,
            b'p' => integer(self.args.int() as u64, None, Radix::Pointer, &s)?,
            b'f' | b'e' | b'E' | b'g' | b'G' => {
                let v = self.args.double();
                real::real(v, c, &s)?
            }
            b'c' => {
                let ch = match self.args.text() {
                    Some(t) => first_char(&t),
                    None => vec![0],
                };
                if s.precision > 1 {
                    let copies = s.precision - 1;
                    let width = s.width - copies;
                    if (ch.len() as u64).saturating_mul(copies as u64) > MAX_LENGTH {
                        return Err(too_big());
                    }
                    s.width = width;
                    if width > 1 && !s.left {
                        self.pad(width - 1)?;
                        s.width = 0;
                    }
                    for _ in 0..copies {
                        self.out.extend_from_slice(&ch);
                    }
                }
                s.alt2 = true;
                ch
            }
            b's' | b'z' => {
                let t = self.args.text().unwrap_or_default();
                match s.precision {
                    p if p < 0 => t,
                    p => {
                        let n = prefix_len(&t, p, s.alt2);
                        t[..n].to_vec()
                    }
                }
            }
            b'q' | b'Q' | b'w' => {
                let quote = if c == b'w' { b'"' } else { b'\'' };
                let arg = self.args.text();
                let quoted = c == b'Q' && arg.is_some();
                let t = arg.unwrap_or_else(|| if c == b'Q' { "NULL" } else { "(NULL)" }.into());
                let n = match s.precision {
                    p if p < 0 => t.len(),
                    p => prefix_len(&t, p, s.alt2),
                };
                let mut b = Vec::with_capacity(n + 2);
                if quoted {
                    b.push(quote);
                }
                for &ch in &t[..n] {
                    b.push(ch);
                    if ch == quote {
                        b.push(ch);
                    }
                }
                if quoted {
                    b.push(quote);
                }
                b
            }
            b'n' => {
                self.appended = true;
                return Ok(true);
            }
            b'%' => vec![b'%'],
            _ => return Ok(false),
        };
        self.place(&body, &s)?;
        self.appended = true;
        Ok(true)
    }

    /// Appends `body` padded with spaces to the width.
    fn place(&mut self, body: &[u8], s: &Spec) -> Result<()> {
        let mut width = s.width;
        if s.alt2 && width > 0 {
            // The width counts characters: continuation bytes do not take a column.
            width += body.iter().filter(|&&b| b & 0xc0 == 0x80).count() as i64;
        }
        let pad = width - body.len() as i64;
        if pad > 0 && !s.left {
            self.pad(pad)?;
        }
        self.out.extend_from_slice(body);
        if pad > 0 && s.left {
            self.pad(pad)?;
        }
        Ok(())
    }

    fn pad(&mut self, n: i64) -> Result<()> {
        if self.out.len() as u64 + n as u64 > MAX_LENGTH {
            return Err(too_big());
        }
        self.out.extend(std::iter::repeat_n(b' ', n as usize));
        Ok(())
    }
}

/// The bytes of the first character of `t` (a NUL if empty), as `%c` takes it.
fn first_char(t: &[u8]) -> Vec<u8> {
    let Some(&first) = t.first() else {
        return vec![0];
    };
    let mut n = 1;
    if first & 0xc0 == 0xc0 {
        while n < 4 && t.get(n).is_some_and(|b| b & 0xc0 == 0x80) {
            n += 1;
        }
    }
    t[..n].to_vec()
}

/// How many bytes of `t` a precision of `p` takes: bytes, or characters with `!`.
fn prefix_len(t: &[u8], p: i64, chars: bool) -> usize {
    if !chars {
        return t.len().min(p as usize);
    }
    let mut n = 0;
    let mut left = p;
    while left > 0 && n < t.len() {
        n += 1;
        while n < t.len() && t[n] & 0xc0 == 0x80 {
            n += 1;
        }
        left -= 1;
    }
    n
}

#[derive(Clone, Copy, PartialEq)]
enum Radix {
    Decimal,
    /// Decimal digits followed by `st`, `nd`, `rd` or `th`.
    Ordinal,
    Hex,
    UpperHex,
    Octal,
    /// `%p`: upper-case hex digits, `0x` as its alternate prefix.
    Pointer,
}

/// An integer's digits, zero-padded to the precision (or to the width with `0`), with commas,
/// sign and the alternate form's prefix.
fn integer(mut v: u64, sign: Option<u8>, radix: Radix, s: &Spec) -> Result<Vec<u8>> {
    let (base, digits, prefix): (u64, &[u8], &[u8]) = match radix {
        Radix::Decimal | Radix::Ordinal => (10, b"0123456789", b""),
        Radix::Hex => (16, b"0123456789abcdef", b"0x"),
        Radix::UpperHex => (16, b"0123456789ABCDEF", b"0X"),
        Radix::Pointer => (16, b"0123456789ABCDEF", b"0x"),
        Radix::Octal => (8, b"01234567", b"0"),
    };
    let thousands = s.thousands && radix == Radix::Decimal;
    let alternate = s.alternate && v != 0;
    let mut precision = s.precision;
    let sign_len = i64::from(sign.is_some());
    if s.zero_pad && precision < s.width - sign_len {
        precision = s.width - sign_len;
    }
    if precision.max(0) as u64 + 10 > MAX_LENGTH {
        return Err(too_big());
    }
    // Built backwards, lowest digit first.
    let mut rev = Vec::with_capacity(24 + precision.max(0) as usize);
    if radix == Radix::Ordinal {
        let suffix: &[u8; 2] = match (v % 10, v / 10 % 10) {
            (_, 1) | (0 | 4..=9, _) => b"th",
            (1, _) => b"st",
            (2, _) => b"nd",
            _ => b"rd",
        };
        // The suffix counts toward the precision's digits, as in SQLite.
        rev.extend(suffix.iter().rev());
    }
    loop {
        rev.push(digits[(v % base) as usize]);
        v /= base;
        if v == 0 {
            break;
        }
    }
    while (rev.len() as i64) < precision {
        rev.push(b'0');
    }
    if thousands {
        let mut grouped = Vec::with_capacity(rev.len() * 4 / 3 + 1);
        for (i, &d) in rev.iter().enumerate() {
            if i > 0 && i % 3 == 0 {
                grouped.push(b',');
            }
            grouped.push(d);
        }
        rev = grouped;
    }
    rev.extend(sign);
    if alternate {
        rev.extend(prefix.iter().rev());
    }
    rev.reverse();
    Ok(rev)
}
