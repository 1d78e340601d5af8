//! printf's real conversions (`%f %e %E %g %G`) as SQLite 3.43+ writes them: the value's
//! decimal digits (19 significant, truncated), rounded half away from zero at the
//! precision but never past the 16th significant digit (26th with `!`), then laid out.

use super::{too_big, Spec, FP_PRECISION_LIMIT, MAX_LENGTH};
use crate::error::Result;

/// A real's significant digits: the value is `0.<digits> * 10^point`.
struct Decoded {
    negative: bool,
    digits: Vec<u8>,
    point: i64,
}

enum Special {
    Infinite { negative: bool },
    NaN,
}

/// Decodes `r`, rounded to `round` significant digits (if positive) or to `-round` digits
/// after the point (if not), at most `max` significant digits.
fn decode(r: f64, round: i64, max: i64) -> std::result::Result<Decoded, Special> {
    if r.is_nan() {
        return Err(Special::NaN);
    }
    if r.is_infinite() {
        return Err(Special::Infinite { negative: r < 0.0 });
    }
    let negative = r < 0.0;
    if r == 0.0 {
        return Ok(Decoded {
            negative: false,
            digits: vec![b'0'],
            point: 1,
        });
    }
    let a = r.abs();
    // Exact digits, of which SQLite's conversion keeps 19, truncated.
    let e = format!("{a:.40e}");
    let (mantissa, exp) = e.split_once('e').expect("exponent form");
    let exp: i64 = exp.parse().expect("exponent");
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut point = exp + 1;
    // SQLite scales the value to an integer below 2^63 and takes its digits: 19 of them,
    // except when the 19 would pass 9223372036854774784, its bound, where it scales by one
    // more tenth and keeps 18, the last one rounded.
    if digits[..19] > b"9223372036854774784"[..] {
        let up = digits[18] >= b'5';
        digits.truncate(18);
        if up {
            // Below the bound, the 18 digits cannot all be nines: no carry out.
            if let Some(j) = digits.iter().rposition(|&d| d != b'9') {
                digits[j] += 1;
                digits[j + 1..].fill(b'0');
            }
        }
    } else {
        digits.truncate(19);
    }
    let mut round = round;
    if round <= 0 {
        // Digits through the `-round`th after the point.
        round = point - round;
        if round == 0 && digits[0] >= b'5' {
            digits.insert(0, b'0');
            point += 1;
            round = 1;
        }
    }
    let n = digits.len() as i64;
    if round > 0 && (round < n || n > max) {
        let round = round.min(max) as usize;
        let up = digits[round] >= b'5';
        digits.truncate(round);
        if up {
            let mut j = round;
            loop {
                if j == 0 {
                    digits.insert(0, b'1');
                    point += 1;
                    break;
                }
                j -= 1;
                if digits[j] == b'9' {
                    digits[j] = b'0';
                } else {
                    digits[j] += 1;
                    break;
                }
            }
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Ok(Decoded {
        negative,
        digits,
        point,
    })
}

/// Formats `v` for the conversion `conv` (`f e E g G`), before padding to the width.
pub(super) fn real(v: f64, conv: u8, s: &Spec) -> Result<Vec<u8>> {
    let mut precision = if s.precision < 0 {
        6
    } else {
        s.precision.min(FP_PRECISION_LIMIT)
    };
    let generic = matches!(conv, b'g' | b'G');
    let round = match conv {
        b'f' => -precision,
        b'g' | b'G' => {
            precision = precision.max(1);
            precision
        }
        _ => precision + 1,
    };
    let d = match decode(v, round, if s.alt2 { 26 } else { 16 }) {
        Ok(d) => d,
        Err(Special::NaN) => {
            return Ok(if s.zero_pad {
                &b"null"[..]
            } else {
                &b"NaN"[..]
            }
            .to_vec())
        }
        Err(Special::Infinite { negative }) if !s.zero_pad => {
            let sign = if negative { Some(b'-') } else { s.sign };
            return Ok(sign.into_iter().chain(*b"Inf").collect());
        }
        // With `0`, infinity is written as 9e999.
        Err(Special::Infinite { negative }) => Decoded {
            negative,
            digits: vec![b'9'],
            point: 1000,
        },
    };
    let sign = if d.negative { Some(b'-') } else { s.sign };
    let mut exp = d.point - 1;
    let mut exponent_form = matches!(conv, b'e' | b'E');
    let trim_zeros = if generic {
        precision -= 1;
        if exp < -4 || exp > precision {
            exponent_form = true;
        } else {
            precision -= exp;
        }
        !s.alternate
    } else {
        s.alt2
    };
    let mut e2 = if exponent_form { 0 } else { d.point - 1 };
    let needed = e2.max(0) as u64 + precision as u64 + s.width.max(0) as u64 + 15;
    if needed > MAX_LENGTH {
        return Err(too_big());
    }
    let mut out = Vec::with_capacity(needed as usize);
    out.extend(sign);
    let mut digits = d.digits.iter().copied();
    let mut next = || digits.next().unwrap_or(b'0');
    if e2 < 0 {
        out.push(b'0');
    } else {
        while e2 >= 0 {
            out.push(next());
            if s.thousands && e2 % 3 == 0 && e2 > 1 {
                out.push(b',');
            }
            e2 -= 1;
        }
    }
    let point = precision > 0 || s.alternate || s.alt2;
    if point {
        out.push(b'.');
    }
    e2 += 1;
    while e2 < 0 && precision > 0 {
        out.push(b'0');
        precision -= 1;
        e2 += 1;
    }
    while precision > 0 {
        out.push(next());
        precision -= 1;
    }
    if trim_zeros && point {
        while out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            if s.alt2 {
                out.push(b'0');
            } else {
                out.pop();
            }
        }
    }
    if exponent_form {
        exp = d.point - 1;
        out.push(if conv.is_ascii_uppercase() {
            b'E'
        } else {
            b'e'
        });
        out.push(if exp < 0 { b'-' } else { b'+' });
        let exp = exp.abs();
        if exp >= 100 {
            out.push(b'0' + (exp / 100) as u8);
        }
        out.push(b'0' + (exp / 10 % 10) as u8);
        out.push(b'0' + (exp % 10) as u8);
    }
    if s.zero_pad && !s.left && (out.len() as i64) < s.width {
        let at = usize::from(sign.is_some());
        let pad = s.width as usize - out.len();
        out.splice(at..at, std::iter::repeat_n(b'0', pad));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64, conv: u8, precision: i64) -> String {
        let s = Spec {
            precision,
            ..Spec::default()
        };
        String::from_utf8(real(v, conv, &s).unwrap()).unwrap()
    }

    #[test]
    fn rounds_half_away_from_zero_on_sixteen_digits() {
        assert_eq!(f(0.125, b'f', 2), "0.13");
        assert_eq!(f(2.5, b'f', 0), "3");
        assert_eq!(f(0.1, b'f', 20), "0.10000000000000000000");
        assert_eq!(f(9.999, b'f', 2), "10.00");
        assert_eq!(f(0.004, b'f', 2), "0.00");
        assert_eq!(f(0.005, b'f', 2), "0.01");
        assert_eq!(f(12345.678, b'e', -1), "1.234568e+04");
        assert_eq!(f(0.0001, b'g', -1), "0.0001");
        assert_eq!(f(0.00001, b'g', -1), "1e-05");
        assert_eq!(f(-0.0, b'f', 1), "0.0");
        assert_eq!(f(1e300, b'e', 3), "1.000e+300");
    }

    #[test]
    fn keeps_eighteen_digits_past_the_scaling_bound() {
        let digits = |r: f64| match decode(r, 26, 26) {
            Ok(d) => String::from_utf8(d.digits).unwrap(),
            Err(_) => String::new(),
        };
        // SQLite: quote(-9223372036854775807.0) = '-9.22337203685477581e+18'.
        assert_eq!(digits(i64::MAX as f64), "922337203685477581");
        // Below the bound all 19: quote(0.1 + 0.2) = '3.000000000000000444e-01'.
        assert_eq!(digits(0.1 + 0.2), "3000000000000000444");
    }
}
