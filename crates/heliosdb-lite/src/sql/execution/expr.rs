//! Evaluating bound expressions against a frame, with SQLite's semantics (see `eval`).

use super::super::eval;
use super::super::functions;
use super::super::plan::{CmpOp, Expr};
use super::super::value::{Affinity, Value};
use super::{Executor, Frame};
use crate::error::{Error, Result};

/// The value bound to parameter `i` (0-based).
pub fn param(params: &[Value], i: usize) -> Result<Value> {
    params
        .get(i)
        .cloned()
        .ok_or_else(|| Error::Parameter(format!("no value bound for parameter {}", i + 1)))
}

/// What a missing column reads as.
static NULL: Value = Value::Null;

impl Executor<'_> {
    /// The value of `e` read in place, for the leaves that need no computing (a column, an
    /// outer column, a literal, a bound parameter): comparisons and arithmetic read them
    /// without copying. `None` for anything else (and a missing parameter, whose error
    /// [`Executor::eval`] reports).
    fn operand<'v>(&'v self, e: &'v Expr, f: &'v Frame<'v>) -> Option<&'v Value> {
        match e {
            Expr::Column(i) => Some(f.row.get(*i).unwrap_or(&NULL)),
            Expr::Literal(v) => Some(v),
            Expr::Param(i) => self.params.get(*i),
            Expr::Outer { depth, index } => {
                let mut fr = f;
                for _ in 0..*depth {
                    fr = fr.parent?;
                }
                Some(fr.row.get(*index).unwrap_or(&NULL))
            }
            _ => None,
        }
    }

    /// `left op right` with comparison affinities, operands read in place where they can
    /// be; `None` when either side is NULL.
    fn compare_exprs(
        &self,
        op: CmpOp,
        (left, right): (&Expr, &Expr),
        (left_aff, right_aff): (Option<Affinity>, Option<Affinity>),
        f: &Frame<'_>,
    ) -> Result<Option<bool>> {
        let (l, r);
        let a = match self.operand(left, f) {
            Some(v) => v,
            None => {
                l = self.eval(left, f)?;
                &l
            }
        };
        let b = match self.operand(right, f) {
            Some(v) => v,
            None => {
                r = self.eval(right, f)?;
                &r
            }
        };
        Ok(eval::compare(op, a, b, left_aff, right_aff))
    }

    /// Evaluates an expression in a frame.
    pub fn eval(&self, e: &Expr, f: &Frame<'_>) -> Result<Value> {
        Ok(match e {
            Expr::Literal(v) => v.clone(),
            Expr::Column(i) => f.row.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Outer { .. } => self
                .operand(e, f)
                .ok_or_else(|| Error::invalid("internal: missing outer row"))?
                .clone(),
            Expr::Param(i) => param(self.params, *i)?,
            Expr::Not(x) => eval::bool_value(self.eval(x, f)?.truthy().map(|b| !b)),
            Expr::Neg(x) => match self.eval(x, f)?.to_number() {
                Value::Null => Value::Null,
                Value::Integer(i) => i
                    .checked_neg()
                    .map_or(Value::Real(-(i as f64)), Value::Integer),
                Value::Real(r) => Value::Real(-r),
                Value::Decimal(d) => Value::Decimal(-d),
                other => other,
            },
            Expr::BitNot(x) => match self.eval(x, f)? {
                Value::Null => Value::Null,
                v => Value::Integer(!v.as_i64()),
            },
            Expr::Binary(op, a, b) => {
                if let (Some(x), Some(y)) = (self.operand(a, f), self.operand(b, f)) {
                    if let Some(v) = eval::integer_arithmetic(*op, x, y) {
                        return Ok(v);
                    }
                }
                eval::binary(*op, self.eval(a, f)?, self.eval(b, f)?)?
            }
            Expr::Compare {
                op,
                left,
                right,
                left_aff,
                right_aff,
            } => eval::bool_value(self.compare_exprs(
                *op,
                (left, right),
                (*left_aff, *right_aff),
                f,
            )?),
            Expr::And(a, b) => {
                let x = self.eval(a, f)?.truthy();
                if x == Some(false) {
                    return Ok(Value::Integer(0));
                }
                let y = self.eval(b, f)?.truthy();
                eval::bool_value(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            Expr::Or(a, b) => {
                let x = self.eval(a, f)?.truthy();
                if x == Some(true) {
                    return Ok(Value::Integer(1));
                }
                let y = self.eval(b, f)?.truthy();
                eval::bool_value(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            Expr::Is {
                left,
                right,
                negated,
            } => {
                let (a, b) = (self.eval(left, f)?, self.eval(right, f)?);
                let same = match (a.is_null(), b.is_null()) {
                    (true, true) => true,
                    (false, false) => a.same_as(&b),
                    _ => false,
                };
                Value::Integer(i64::from(same != *negated))
            }
            Expr::InList {
                expr,
                list,
                negated,
                affinity,
            } => {
                if list.is_empty() {
                    return Ok(Value::Integer(i64::from(*negated)));
                }
                let x = self.eval(expr, f)?;
                let mut candidates = Vec::with_capacity(list.len());
                for item in list {
                    candidates.push(self.eval(item, f)?);
                }
                in_values(x, candidates.into_iter(), *negated, *affinity)?
            }
            Expr::InSubquery {
                expr,
                plan,
                negated,
                affinity,
            } => {
                let x = self.eval(expr, f)?;
                self.in_subquery(x, plan, *negated, *affinity, f)?
            }
            Expr::Exists { plan, negated } => {
                Value::Integer(i64::from(self.exists(plan, f)? != *negated))
            }
            Expr::ScalarSubquery(plan) => self.scalar_subquery(plan, f)?,
            Expr::Case {
                operand: _,
                whens,
                otherwise,
            } => {
                for (w, t) in whens {
                    if self.eval(w, f)?.truthy() == Some(true) {
                        return self.eval(t, f);
                    }
                }
                match otherwise {
                    Some(o) => self.eval(o, f)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(x, to) => eval::cast(self.eval(x, f)?, *to)?,
            Expr::ApplyAffinity(x, a) => self.eval(x, f)?.apply_affinity(*a),
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                glob,
            } => {
                let (x, p) = (self.eval(expr, f)?, self.eval(pattern, f)?);
                let esc = match escape {
                    Some(e) => Some(self.eval(e, f)?),
                    None => None,
                };
                match functions::pattern::call(&p, &x, esc.as_ref(), *glob)? {
                    Value::Integer(m) if *negated => Value::Integer(1 - m),
                    v => v,
                }
            }
            Expr::Function(func, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, f)?);
                }
                func.call(&vals, self.env)?
            }
            Expr::Aggregate { .. } => {
                return Err(Error::invalid("misuse of aggregate function"));
            }
            Expr::Window(_) => {
                return Err(Error::invalid("misuse of window function"));
            }
        })
    }

    /// True if `e` holds (is neither false nor NULL) for `row` under `parent`.
    pub(super) fn predicate(
        &self,
        e: &Expr,
        row: &[Value],
        parent: Option<&Frame<'_>>,
    ) -> Result<bool> {
        // A filter keeps a row only if every conjunct is true: one that is false or NULL
        // settles it without evaluating those after it, as SQLite's jumps do (a NULL AND
        // must otherwise look further, for its value). The later conjunct may be slow or
        // fail (an uncorrelated subquery), and SQLite never reaches it.
        if let Expr::And(a, b) = e {
            return Ok(self.predicate(a, row, parent)? && self.predicate(b, row, parent)?);
        }
        let f = Frame { row, parent };
        if let Expr::Compare {
            op,
            left,
            right,
            left_aff,
            right_aff,
        } = e
        {
            // The common filter: its truth without building the SQL integer.
            let held = self.compare_exprs(*op, (left, right), (*left_aff, *right_aff), &f)?;
            return Ok(held == Some(true));
        }
        Ok(self.eval(e, &f)?.truthy() == Some(true))
    }
}

/// `x IN (candidates)` by SQL's rules: NULL when nothing matches and a candidate is NULL.
pub(super) fn in_values(
    x: Value,
    candidates: impl Iterator<Item = Value>,
    negated: bool,
    affinity: Option<Affinity>,
) -> Result<Value> {
    if x.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for c in candidates {
        if c.is_null() {
            saw_null = true;
            continue;
        }
        if x.same_as(&in_candidate(c, affinity)) {
            return Ok(Value::Integer(i64::from(!negated)));
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Integer(i64::from(negated))
    })
}

/// A candidate of `x IN (...)` as it is compared: with the tested value's affinity (numeric
/// or text) applied.
pub(super) fn in_candidate(c: Value, affinity: Option<Affinity>) -> Value {
    match affinity {
        Some(a) if a.is_numeric() => c.apply_affinity(Affinity::Numeric),
        Some(Affinity::Text) => c.apply_affinity(Affinity::Text),
        _ => c,
    }
}
