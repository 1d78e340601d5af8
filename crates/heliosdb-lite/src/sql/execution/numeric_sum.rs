//! The running sum behind `sum()`, `total()` and `avg()`, with SQLite's arithmetic.
//!
//! SQLite adds integers exactly while it can. The first value that is not an integer, or
//! the first integer addition that overflows 64 bits, switches the sum to floating point
//! for good, and from then on it adds with Kahan-Babuska-Neumaier compensation (a second
//! double collects the rounding error of each addition), so `1e100 + 1 - 1e100` is 1, not
//! 0. An overflow is not an error at once: `sum()` fails only if it is still the last word
//! when the sum is read, because a later non-integer value makes the sum a real and clears
//! it (`total()` and `avg()` never fail). Integers of 2^52 or more in magnitude are added
//! as two parts, so the compensation keeps their low bits.
//!
//! DECIMAL values (our extension: SQLite has no such type) keep the sum exact as a
//! decimal while only integers and decimals arrive, and join the floating-point sum like
//! any other number once it has switched.

use super::super::functions::decimal_to_f64;
use rust_decimal::Decimal;

/// Integers at or beyond this magnitude lose bits as one double: they are added in two parts.
const EXACT_DOUBLE_LIMIT: i64 = 1 << 52;

/// A sum in progress: exact (integer, or decimal) until it switches to a compensated double.
///
/// Kept small (32 bytes): a hash aggregation holds one per group and aggregate, so its size
/// decides how many groups fit in the memory budget.
#[derive(Clone, Debug)]
pub(super) struct NumericSum {
    mode: Mode,
    /// An integer addition overflowed and no non-integer value came after it.
    overflow: bool,
    /// Whether any value that was neither an integer nor a decimal was added.
    any_real: bool,
}

/// The arithmetic a sum is in: each mode only ever gives way to the next.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The exact integer sum (no decimal arrived yet).
    Integer(i64),
    /// The exact decimal sum, once a DECIMAL value arrived.
    Decimal(Decimal),
    /// The floating-point sum and its accumulated rounding error.
    Real { sum: f64, err: f64 },
}

/// What a finished `sum()` is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum SumResult {
    /// Every value was an integer and the sum fits in 64 bits.
    Integer(i64),
    /// Integers and DECIMAL values only.
    Decimal(Decimal),
    /// The sum switched to floating point.
    Real(f64),
    /// An integer overflow that no later non-integer value cleared: SQLite's
    /// "integer overflow" error.
    Overflow,
}

impl Default for NumericSum {
    fn default() -> Self {
        Self {
            mode: Mode::Integer(0),
            overflow: false,
            any_real: false,
        }
    }
}

impl NumericSum {
    /// Adds an integer.
    pub(super) fn add_integer(&mut self, i: i64) {
        match self.mode {
            Mode::Real { .. } => self.step_integer(i),
            Mode::Decimal(d) => match d.checked_add(Decimal::from(i)) {
                Some(s) => self.mode = Mode::Decimal(s),
                None => {
                    self.switch();
                    self.step_integer(i);
                }
            },
            Mode::Integer(sum) => match sum.checked_add(i) {
                Some(s) => self.mode = Mode::Integer(s),
                None => {
                    self.overflow = true;
                    self.switch();
                    self.step_integer(i);
                }
            },
        }
    }

    /// Adds a DECIMAL value.
    pub(super) fn add_decimal(&mut self, d: Decimal) {
        let base = match self.mode {
            Mode::Real { .. } => {
                self.step(decimal_to_f64(&d));
                return;
            }
            Mode::Decimal(base) => base,
            Mode::Integer(i) => Decimal::from(i),
        };
        match base.checked_add(d) {
            Some(s) => self.mode = Mode::Decimal(s),
            None => {
                self.switch();
                self.step(decimal_to_f64(&d));
            }
        }
    }

    /// Adds a floating-point value (a real, or text or a blob that is not an integer).
    pub(super) fn add_real(&mut self, r: f64) {
        self.any_real = true;
        if matches!(self.mode, Mode::Real { .. }) {
            // A non-integer after an overflow makes the answer a real: no error.
            self.overflow = false;
        } else {
            self.switch();
        }
        self.step(r);
    }

    /// What `sum()` returns.
    pub(super) fn sum(&self) -> SumResult {
        if self.overflow {
            return SumResult::Overflow;
        }
        match self.mode {
            Mode::Real { .. } => SumResult::Real(self.real()),
            Mode::Decimal(d) => SumResult::Decimal(d),
            Mode::Integer(i) => SumResult::Integer(i),
        }
    }

    /// The sum as a double, as `total()` and `avg()` read it.
    pub(super) fn real(&self) -> f64 {
        match self.mode {
            Mode::Real { sum, err } => compensated(sum, err),
            Mode::Decimal(d) => decimal_to_f64(&d),
            Mode::Integer(i) => i as f64,
        }
    }

    /// The exact decimal sum, while only integers and decimals were added and no overflow
    /// switched it to floating point (what `avg()` divides exactly).
    pub(super) fn exact_decimal(&self) -> Option<Decimal> {
        match self.mode {
            Mode::Decimal(d) if !self.any_real => Some(d),
            _ => None,
        }
    }

    /// Leaves exact arithmetic: the floating-point sum starts from the exact one.
    fn switch(&mut self) {
        self.mode = match self.mode {
            Mode::Decimal(d) => Mode::Real {
                sum: decimal_to_f64(&d),
                err: 0.0,
            },
            Mode::Integer(i) => {
                let (big, small) = split(i);
                Mode::Real {
                    sum: big as f64,
                    err: small as f64,
                }
            }
            real => real,
        };
    }

    /// Adds an integer to the floating-point sum, in two parts when one double would drop
    /// its low bits.
    fn step_integer(&mut self, i: i64) {
        let (big, small) = split(i);
        self.step(big as f64);
        if small != 0 {
            self.step(small as f64);
        }
    }

    /// One compensated addition: the error of `sum + r` goes to `err` (called only once
    /// the sum is in floating point).
    fn step(&mut self, r: f64) {
        if let Mode::Real { sum, err } = &mut self.mode {
            let s = *sum;
            let t = s + r;
            if s.abs() > r.abs() {
                *err += (s - t) + r;
            } else {
                *err += (r - t) + s;
            }
            *sum = t;
        }
    }
}

/// The sum plus its error term, unless the error term is not a finite number (SQLite then
/// reports the uncompensated sum).
fn compensated(sum: f64, err: f64) -> f64 {
    if err.is_finite() {
        sum + err
    } else {
        sum
    }
}

/// An integer as a part a double holds exactly and a small remainder (mod 16,384), when it
/// is too large to be one exact double; otherwise the integer and 0.
fn split(i: i64) -> (i64, i64) {
    if i <= -EXACT_DOUBLE_LIMIT || i >= EXACT_DOUBLE_LIMIT {
        let small = i % 16384;
        (i - small, small)
    } else {
        (i, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(values: &[f64]) -> f64 {
        let mut s = NumericSum::default();
        for &v in values {
            s.add_real(v);
        }
        s.real()
    }

    #[test]
    fn a_sum_stays_small() {
        // One per group and aggregate in a hash aggregation: the budget counts it.
        assert!(std::mem::size_of::<NumericSum>() <= 32);
    }

    #[test]
    fn integers_stay_exact() {
        let mut s = NumericSum::default();
        s.add_integer(i64::MAX - 1);
        s.add_integer(1);
        assert_eq!(s.sum(), SumResult::Integer(i64::MAX));
    }

    #[test]
    fn an_overflow_fails_unless_a_real_follows() {
        let mut s = NumericSum::default();
        s.add_integer(i64::MAX);
        s.add_integer(1);
        assert_eq!(s.sum(), SumResult::Overflow);
        // More integers keep the error; a real clears it and the answer is a real.
        s.add_integer(-5);
        assert_eq!(s.sum(), SumResult::Overflow);
        s.add_real(0.5);
        match s.sum() {
            SumResult::Real(r) => assert_eq!(r, 9223372036854775808.0 - 5.0 + 0.5),
            other => panic!("{other:?}"),
        }
        // total() and avg() read the same sum and never fail.
        assert!(s.real() > 9.2e18);
    }

    #[test]
    fn a_real_before_the_overflow_means_no_error() {
        let mut s = NumericSum::default();
        s.add_real(0.0);
        s.add_integer(i64::MAX);
        s.add_integer(i64::MAX);
        assert!(matches!(s.sum(), SumResult::Real(_)));
    }

    #[test]
    fn compensation_keeps_small_terms() {
        assert_eq!(sum_of(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum_of(&[0.1; 10]), 1.0);
    }

    #[test]
    fn large_integers_keep_their_low_bits_after_the_switch() {
        let mut s = NumericSum::default();
        s.add_real(0.0);
        s.add_integer((1 << 60) + 1);
        s.add_integer(-(1 << 60));
        assert_eq!(s.real(), 1.0);
    }

    #[test]
    fn decimals_stay_exact_until_a_real() {
        let mut s = NumericSum::default();
        s.add_integer(1);
        s.add_decimal(Decimal::new(25, 1));
        assert_eq!(s.sum(), SumResult::Decimal(Decimal::new(35, 1)));
        assert_eq!(s.exact_decimal(), Some(Decimal::new(35, 1)));
        s.add_real(0.5);
        assert_eq!(s.sum(), SumResult::Real(4.0));
        assert_eq!(s.exact_decimal(), None);
    }
}
