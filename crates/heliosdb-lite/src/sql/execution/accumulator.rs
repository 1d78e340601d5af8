//! Aggregate functions' running state: count, sum, total, avg, min, max, group_concat,
//! json_group_array, json_group_object.

use super::super::plan::{AggFn, Expr};
use super::super::value::{parse_numeric_text, Value};
use super::keys::row_key;
use super::memory::value_bytes;
use super::numeric_sum::{NumericSum, SumResult};
use crate::error::{Error, Result};
use rustc_hash::FxHashSet as HashSet;

/// Running state of one aggregate.
///
/// Kept small (64 bytes): a hash aggregation holds one per group and aggregate, so its size
/// decides how many groups fit in the memory budget. The state depends on the function;
/// what is rare (a DISTINCT set, a collation key) sits behind a pointer.
#[derive(Clone)]
pub(super) struct Accumulator {
    func: AggFn,
    state: State,
    /// DISTINCT's set of seen values.
    distinct: Option<Box<Seen>>,
}

/// The values a DISTINCT aggregate has seen, by key, and the heap bytes they hold.
#[derive(Clone, Default)]
struct Seen {
    keys: HashSet<Vec<u8>>,
    bytes: usize,
}

impl Seen {
    /// Records `key`; false if it was seen before.
    fn insert(&mut self, key: Vec<u8>) -> bool {
        let bytes = key.len() + 48;
        let new = self.keys.insert(key);
        if new {
            self.bytes += bytes;
        }
        new
    }
}

/// The state of each kind of aggregate.
#[derive(Clone)]
enum State {
    /// count(*), count(x): rows (or non-NULL values) counted.
    Count(i64),
    /// sum, total, avg: non-NULL values added and their sum.
    Sum { count: i64, sum: NumericSum },
    /// min, max, any_value, first: the kept value, and its collation key when min/max
    /// compare under NOCASE or RTRIM.
    Best {
        best: Option<Value>,
        key: Option<Box<Value>>,
    },
    /// group_concat, json_group_array, json_group_object: items added and the text built.
    Text { count: i64, text: Option<String> },
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
        let state = match func {
            AggFn::CountStar | AggFn::Count => State::Count(0),
            AggFn::Sum | AggFn::Total | AggFn::Avg => State::Sum {
                count: 0,
                sum: NumericSum::default(),
            },
            AggFn::Min | AggFn::Max | AggFn::AnyValue | AggFn::First => State::Best {
                best: None,
                key: None,
            },
            AggFn::GroupConcat | AggFn::JsonGroupArray | AggFn::JsonGroupObject => State::Text {
                count: 0,
                text: None,
            },
        };
        Self {
            func,
            state,
            distinct: distinct.then(Box::default),
        }
    }

    /// A state holding nothing, left behind where a finished one was taken out.
    pub(super) fn placeholder() -> Self {
        Self {
            func: AggFn::CountStar,
            state: State::Count(0),
            distinct: None,
        }
    }

    /// Adds one row's arguments (in the order the planner gives them).
    pub(super) fn add<I>(&mut self, args: I) -> Result<()>
    where
        I: IntoIterator<Item = Value>,
        I::IntoIter: ExactSizeIterator,
    {
        let mut args = args.into_iter();
        if self.func == AggFn::CountStar {
            if let State::Count(n) = &mut self.state {
                *n += 1;
            }
            return Ok(());
        }
        if matches!(self.func, AggFn::JsonGroupArray | AggFn::JsonGroupObject) {
            return self.add_json(args.collect());
        }
        // DISTINCT group_concat under NOCASE / RTRIM: the planner passes the collation key
        // third, and values with equal keys are duplicates (the first one is kept).
        let with_key = self.func == AggFn::GroupConcat && args.len() == 3;
        let v = args.next().unwrap_or(Value::Null);
        match (&mut self.state, self.func) {
            (State::Best { best, .. }, AggFn::AnyValue) => {
                *best = Some(v);
                return Ok(());
            }
            (State::Best { best, .. }, AggFn::First) => {
                best.get_or_insert(v);
                return Ok(());
            }
            _ => {}
        }
        if v.is_null() {
            return Ok(());
        }
        let sep = if self.func == AggFn::GroupConcat {
            args.next()
        } else {
            None
        };
        if let Some(seen) = &mut self.distinct {
            let distinct_key = if with_key { args.next() } else { None };
            let key = row_key(std::slice::from_ref(distinct_key.as_ref().unwrap_or(&v)));
            if !seen.insert(key) {
                return Ok(());
            }
        }
        match &mut self.state {
            State::Count(n) => *n += 1,
            State::Sum { count, sum } => {
                *count += 1;
                match sum_operand(&v) {
                    Value::Integer(i) => sum.add_integer(i),
                    Value::Decimal(d) => sum.add_decimal(d),
                    n => sum.add_real(n.as_f64()),
                }
            }
            State::Best {
                best,
                key: best_key,
            } => {
                // Under a collation the planner passes the value's collation key second:
                // values compare by it, and the first of equal ones is kept.
                let key = args.next();
                let replace = match best {
                    None => true,
                    Some(b) => {
                        let current = best_key.as_deref().unwrap_or(b);
                        let o = key.as_ref().unwrap_or(&v).total_cmp(current);
                        (self.func == AggFn::Min && o.is_lt())
                            || (self.func == AggFn::Max && o.is_gt())
                    }
                };
                if replace {
                    *best_key = key.map(Box::new);
                    *best = Some(v);
                }
            }
            State::Text { count, text } => {
                *count += 1;
                let sep = match sep {
                    None => ",".to_string(),
                    Some(s) => s.to_text().unwrap_or_default(),
                };
                let t = v.to_text().unwrap_or_default();
                match text {
                    None => *text = Some(t),
                    Some(acc) => {
                        acc.push_str(&sep);
                        acc.push_str(&t);
                    }
                }
            }
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
            if !seen.insert(row_key(&args)) {
                return Ok(());
            }
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
        if let State::Text { count, text } = &mut self.state {
            let acc = text.get_or_insert_with(String::new);
            if *count > 0 {
                acc.push(',');
            }
            acc.push_str(&item);
            *count += 1;
        }
        Ok(())
    }

    /// Heap bytes the state holds beyond its fixed size: DISTINCT's set of seen values, the
    /// text group_concat builds, the kept min/max value (what the memory budget must count).
    pub(super) fn retained(&self) -> usize {
        let state = match &self.state {
            State::Count(_) | State::Sum { .. } => 0,
            State::Best { best, key } => {
                best.as_ref().map_or(0, value_bytes) + key.as_deref().map_or(0, value_bytes)
            }
            State::Text { text, .. } => text.as_ref().map_or(0, String::capacity),
        };
        state + self.distinct.as_ref().map_or(0, |s| s.bytes)
    }

    /// The aggregate's value; `sum()` fails here, as SQLite's does, when an integer
    /// overflow was not cleared by a later non-integer value.
    pub(super) fn finish(self) -> Result<Value> {
        Ok(match (self.func, self.state) {
            (_, State::Count(n)) => Value::Integer(n),
            (AggFn::Sum, State::Sum { count: 0, .. }) => Value::Null,
            (AggFn::Sum, State::Sum { sum, .. }) => match sum.sum() {
                SumResult::Integer(i) => Value::Integer(i),
                SumResult::Decimal(d) => Value::Decimal(d),
                SumResult::Real(r) => Value::Real(r),
                SumResult::Overflow => return Err(Error::LimitExceeded("integer overflow".into())),
            },
            (AggFn::Avg, State::Sum { count: 0, .. }) => Value::Null,
            (AggFn::Avg, State::Sum { count, sum }) => {
                let exact = sum
                    .exact_decimal()
                    .and_then(|d| d.checked_div(rust_decimal::Decimal::from(count)));
                exact.map_or_else(|| Value::Real(sum.real() / count as f64), Value::Decimal)
            }
            (_, State::Sum { sum, .. }) => Value::Real(sum.real()),
            (_, State::Best { best, .. }) => best.unwrap_or(Value::Null),
            (AggFn::JsonGroupArray, State::Text { text, .. }) => {
                Value::Text(format!("[{}]", text.unwrap_or_default()))
            }
            (AggFn::JsonGroupObject, State::Text { text, .. }) => {
                Value::Text(format!("{{{}}}", text.unwrap_or_default()))
            }
            (_, State::Text { text, .. }) => text.map_or(Value::Null, Value::Text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accumulator_stays_small() {
        // One per group and aggregate in a hash aggregation: the budget counts it.
        assert!(std::mem::size_of::<Accumulator>() <= 64);
    }
}
