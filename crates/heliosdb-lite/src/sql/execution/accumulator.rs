//! Aggregate functions' running state: count, sum, total, avg, min, max, group_concat,
//! json_group_array, json_group_object.

use super::super::plan::{AggFn, Expr};
use super::super::value::{parse_numeric_text, Value};
use super::keys::row_key;
use super::numeric_sum::{NumericSum, SumResult};
use crate::error::{Error, Result};
use rustc_hash::FxHashSet as HashSet;

/// Running state of one aggregate.
#[derive(Clone)]
pub(super) struct Accumulator {
    func: AggFn,
    distinct: Option<HashSet<Vec<u8>>>,
    count: i64,
    /// The running sum of sum, total and avg.
    sum: NumericSum,
    best: Option<Value>,
    /// Collation key of `best`, when min/max compare under NOCASE or RTRIM.
    best_key: Option<Value>,
    text: Option<String>,
    /// Heap bytes held beyond the fixed state: DISTINCT's set of seen values, the text
    /// group_concat builds, the kept min/max value (what the memory budget must count).
    retained: usize,
}

/// The number sum, total and avg add for `v`, as SQLite's sumStep takes it: text is an
/// integer only when all of it is an integer literal; other text (a real literal, or not a
/// number at all, like 'A' or '2x') and blobs are added as reals, so the sum becomes a real.
fn sum_operand(v: &Value) -> Value {
    match v {
        Value::Text(s) => match parse_numeric_text(s) {
            Some(Value::Integer(i)) => Value::Integer(i),
            _ => Value::Real(v.as_f64()),
        },
        Value::Blob(_) => Value::Real(v.as_f64()),
        _ => v.to_number(),
    }
}

impl Accumulator {
    pub(super) fn new(agg: &Expr) -> Self {
        let (func, distinct) = match agg {
            Expr::Aggregate { func, distinct, .. } => (*func, *distinct),
            _ => (AggFn::AnyValue, false),
        };
        Self {
            func,
            distinct: distinct.then(HashSet::default),
            count: 0,
            sum: NumericSum::default(),
            best: None,
            best_key: None,
            text: None,
            retained: 0,
        }
    }

    pub(super) fn add(&mut self, args: Vec<Value>) -> Result<()> {
        if self.func == AggFn::CountStar {
            self.count += 1;
            return Ok(());
        }
        if matches!(self.func, AggFn::JsonGroupArray | AggFn::JsonGroupObject) {
            return self.add_json(args);
        }
        // DISTINCT group_concat under NOCASE / RTRIM: the planner passes the collation key
        // third, and values with equal keys are duplicates (the first one is kept).
        let distinct_key = (self.func == AggFn::GroupConcat && args.len() == 3)
            .then(|| args.get(2).cloned())
            .flatten();
        let mut args = args.into_iter();
        let v = args.next().unwrap_or(Value::Null);
        if self.func == AggFn::AnyValue {
            self.best = Some(v);
            return Ok(());
        }
        if self.func == AggFn::First {
            self.best.get_or_insert(v);
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.distinct {
            let key = row_key(std::slice::from_ref(distinct_key.as_ref().unwrap_or(&v)));
            let bytes = key.len() + 48;
            if !seen.insert(key) {
                return Ok(());
            }
            self.retained += bytes;
        }
        self.count += 1;
        match self.func {
            AggFn::Sum | AggFn::Total | AggFn::Avg => match sum_operand(&v) {
                Value::Integer(i) => self.sum.add_integer(i),
                Value::Decimal(d) => self.sum.add_decimal(d),
                n => self.sum.add_real(n.as_f64()),
            },
            AggFn::Min | AggFn::Max => {
                // Under a collation the planner passes the value's collation key second:
                // values compare by it, and the first of equal ones is kept.
                let key = args.next();
                let replace = match &self.best {
                    None => true,
                    Some(b) => {
                        let best = self.best_key.as_ref().unwrap_or(b);
                        let o = key.as_ref().unwrap_or(&v).total_cmp(best);
                        (self.func == AggFn::Min && o.is_lt())
                            || (self.func == AggFn::Max && o.is_gt())
                    }
                };
                if replace {
                    self.retained = super::memory::value_bytes(&v)
                        + key.as_ref().map_or(0, super::memory::value_bytes);
                    self.best_key = key;
                    self.best = Some(v);
                }
            }
            AggFn::GroupConcat => {
                let sep = match args.next() {
                    None => ",".to_string(),
                    Some(s) => s.to_text().unwrap_or_default(),
                };
                let t = v.to_text().unwrap_or_default();
                self.retained += t.len() + sep.len();
                match &mut self.text {
                    None => self.text = Some(t),
                    Some(acc) => {
                        acc.push_str(&sep);
                        acc.push_str(&t);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `json_group_array(v)` / `json_group_object(k, v)`: the arguments end with the value's
    /// JSON flag, NULL for a row a FILTER rejects. NULL values are kept (as `null`); a
    /// member with a NULL label is left out.
    fn add_json(&mut self, mut args: Vec<Value>) -> Result<()> {
        let json = match args.pop() {
            Some(Value::Null) => return Ok(()),
            Some(flag) => flag == Value::Integer(1),
            None => false,
        };
        if let Some(seen) = &mut self.distinct {
            let key = row_key(&args);
            let bytes = key.len() + 48;
            if !seen.insert(key) {
                return Ok(());
            }
            self.retained += bytes;
        }
        let mut item = String::new();
        if self.func == AggFn::JsonGroupObject {
            let label = match args.first() {
                None | Some(Value::Null) => return Ok(()),
                Some(v) => v.to_text().unwrap_or_default(),
            };
            item.push('"');
            item.push_str(&super::super::functions::json::doc::escape(&label));
            item.push_str("\":");
        }
        let value = args.last().unwrap_or(&Value::Null);
        super::super::functions::json::to_node(value, json)?.render_into(&mut item);
        let acc = self.text.get_or_insert_with(String::new);
        if self.count > 0 {
            acc.push(',');
        }
        acc.push_str(&item);
        self.retained += item.len() + 1;
        self.count += 1;
        Ok(())
    }

    /// Heap bytes the state holds beyond its fixed size.
    pub(super) fn retained(&self) -> usize {
        self.retained
    }

    /// The aggregate's value; `sum()` fails here, as SQLite's does, when an integer
    /// overflow was not cleared by a later non-integer value.
    pub(super) fn finish(self) -> Result<Value> {
        Ok(match self.func {
            AggFn::CountStar | AggFn::Count => Value::Integer(self.count),
            AggFn::Sum if self.count == 0 => Value::Null,
            AggFn::Sum => match self.sum.sum() {
                SumResult::Integer(i) => Value::Integer(i),
                SumResult::Decimal(d) => Value::Decimal(d),
                SumResult::Real(r) => Value::Real(r),
                SumResult::Overflow => return Err(Error::LimitExceeded("integer overflow".into())),
            },
            AggFn::Total => Value::Real(self.sum.real()),
            AggFn::Avg if self.count == 0 => Value::Null,
            AggFn::Avg => {
                let exact = self
                    .sum
                    .exact_decimal()
                    .and_then(|d| d.checked_div(rust_decimal::Decimal::from(self.count)));
                exact.map_or_else(
                    || Value::Real(self.sum.real() / self.count as f64),
                    Value::Decimal,
                )
            }
            AggFn::Min | AggFn::Max | AggFn::AnyValue | AggFn::First => {
                self.best.unwrap_or(Value::Null)
            }
            AggFn::GroupConcat => self.text.map_or(Value::Null, Value::Text),
            AggFn::JsonGroupArray => Value::Text(format!("[{}]", self.text.unwrap_or_default())),
            AggFn::JsonGroupObject => Value::Text(format!("{{{}}}", self.text.unwrap_or_default())),
        })
    }
}
