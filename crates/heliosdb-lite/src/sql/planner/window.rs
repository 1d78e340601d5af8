//! Binding window function calls (`f(...) OVER (...)`, `OVER name` with `WINDOW name AS`)
//! and planning them: the calls of a SELECT are taken out of its expressions into one
//! `Plan::Window` node above the FROM, WHERE, grouping and HAVING, and each call is read as
//! the column the node appends for it.

use super::super::parser::frame_exclude::FRAME_EXCLUDE_FUNCTION;
use super::super::plan::{
    AggFn, Expr, FrameBound, FrameExclude, FrameUnits, Plan, SortKey, WinFn, WindowCall,
};
use super::super::value::Value;
use super::Planner;
use crate::error::{Error, Result};
use sqlparser::ast::{self, WindowFrameBound, WindowFrameUnits, WindowSpec, WindowType};

/// The window function a name and argument count call.
fn window_fn(name: &str, nargs: usize, star: bool) -> Option<(WinFn, usize, usize)> {
    Some(match (name, star) {
        ("count", true) => (WinFn::Agg(AggFn::CountStar), 0, 0),
        (_, true) => return None,
        ("row_number", _) => (WinFn::RowNumber, 0, 0),
        ("rank", _) => (WinFn::Rank, 0, 0),
        ("dense_rank", _) => (WinFn::DenseRank, 0, 0),
        ("percent_rank", _) => (WinFn::PercentRank, 0, 0),
        ("cume_dist", _) => (WinFn::CumeDist, 0, 0),
        ("ntile", _) => (WinFn::Ntile, 1, 1),
        ("lag", _) => (WinFn::Lag, 1, 3),
        ("lead", _) => (WinFn::Lead, 1, 3),
        ("first_value", _) => (WinFn::FirstValue, 1, 1),
        ("last_value", _) => (WinFn::LastValue, 1, 1),
        ("nth_value", _) => (WinFn::NthValue, 2, 2),
        ("count", _) => (WinFn::Agg(AggFn::Count), 1, 1),
        ("sum", _) => (WinFn::Agg(AggFn::Sum), 1, 1),
        ("total", _) => (WinFn::Agg(AggFn::Total), 1, 1),
        ("avg", _) => (WinFn::Agg(AggFn::Avg), 1, 1),
        ("min", _) => (WinFn::Agg(AggFn::Min), 1, 1),
        ("max", _) => (WinFn::Agg(AggFn::Max), 1, 1),
        ("group_concat" | "string_agg", _) => (WinFn::Agg(AggFn::GroupConcat), 1, 2),
        ("json_group_array", _) => (WinFn::Agg(AggFn::JsonGroupArray), 1, 1),
        ("json_group_object", _) => (WinFn::Agg(AggFn::JsonGroupObject), 2, 2),
        _ => {
            let _ = nargs;
            return None;
        }
    })
}

impl Planner<'_> {
    /// Binds `name(args) [FILTER (WHERE ...)] OVER window`.
    pub(super) fn bind_window(
        &mut self,
        f: &ast::Function,
        name: &str,
        args: &[&ast::Expr],
        distinct: bool,
        star: bool,
    ) -> Result<Expr> {
        let (func, min, max) = window_fn(name, args.len(), star).ok_or_else(|| {
            Error::invalid(format!("{name}() may not be used as a window function"))
        })?;
        if args.len() < min || args.len() > max {
            return Err(Error::invalid(format!(
                "wrong number of arguments to function {name}()"
            )));
        }
        if distinct {
            return Err(Error::invalid(
                "DISTINCT is not supported for window functions",
            ));
        }
        let mut args = args
            .iter()
            .map(|a| self.bind_expr(a))
            .collect::<Result<Vec<_>>>()?;
        if args.iter().any(Expr::has_window) {
            return Err(Error::invalid(format!(
                "misuse of window function {name}()"
            )));
        }
        let mut func = func;
        // Under NOCASE or RTRIM, min and max compare collation keys, passed second as for the
        // aggregates (see `Accumulator::add`). Taken before a FILTER wraps the argument.
        let key_collation = match func {
            WinFn::Agg(AggFn::Min | AggFn::Max) => super::expr::collation_of(self, &args[0])
                .map(|c| c.collation())
                .filter(|c| !c.is_binary()),
            _ => None,
        };
        if let WinFn::Agg(AggFn::JsonGroupArray | AggFn::JsonGroupObject) = func {
            let cond = match &f.filter {
                Some(filter) => Some(self.bind_expr(filter)?),
                None => None,
            };
            super::json_subtype::aggregate_args(&mut args, cond);
        } else if let Some(filter) = &f.filter {
            let WinFn::Agg(agg) = func else {
                return Err(Error::invalid(format!(
                    "FILTER clause may only be used with aggregate window functions: {name}()"
                )));
            };
            // As for plain aggregates: rows the filter rejects pass NULL, which is skipped.
            let cond = self.bind_expr(filter)?;
            if agg == AggFn::CountStar {
                func = WinFn::Agg(AggFn::Count);
                args = vec![Expr::Literal(Value::Integer(1))];
            }
            let first = std::mem::replace(&mut args[0], Expr::Literal(Value::Null));
            args[0] = Expr::Case {
                operand: None,
                whens: vec![(cond, first)],
                otherwise: None,
            };
        }
        if let Some(c) = key_collation {
            let key = super::expr::collated(args[0].clone(), None, c);
            args.push(key);
        }
        let (spec, exclude) = match f.over.as_ref() {
            Some(WindowType::WindowSpec(spec)) => self.resolve_window(spec)?,
            Some(WindowType::NamedWindow(n)) => self.named_window(&n.value)?,
            None => return Err(Error::invalid("internal: window call without OVER")),
        };
        // Partitions are made of rows equal under each term's collation ('a' and 'A' share
        // a NOCASE partition), so the terms are compared by their collation keys.
        let partition_by = spec
            .partition_by
            .iter()
            .map(|e| {
                let e = self.bind_expr(e)?;
                let collation = super::expr::collation_of(self, &e)
                    .map_or(super::super::collation::Collation::Binary, |c| {
                        c.collation()
                    });
                Ok(super::expr::collated(e, None, collation))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut order_by = Vec::new();
        for ob in &spec.order_by {
            let e = self.bind_expr(&ob.expr)?;
            let collation = super::expr::collation_of(self, &e)
                .map_or(super::super::collation::Collation::Binary, |c| {
                    c.collation()
                });
            let desc = matches!(ob.options.sort, Some(ast::OrderBySort::Desc));
            order_by.push(SortKey {
                expr: super::expr::collated(e, None, collation),
                desc,
                nulls_first: ob.options.nulls_first.unwrap_or(!desc),
            });
        }
        let (units, start, end) = match &spec.window_frame {
            None => (
                FrameUnits::Range,
                FrameBound::UnboundedPreceding,
                FrameBound::CurrentRow,
            ),
            Some(frame) => {
                let units = match frame.units {
                    WindowFrameUnits::Rows => FrameUnits::Rows,
                    WindowFrameUnits::Range => FrameUnits::Range,
                    WindowFrameUnits::Groups => FrameUnits::Groups,
                };
                let start = self.frame_bound(&frame.start_bound, units)?;
                let end = match &frame.end_bound {
                    Some(b) => self.frame_bound(b, units)?,
                    None => FrameBound::CurrentRow,
                };
                // SQLite's rule: a frame may not end before the row where it starts.
                let backwards = match start {
                    FrameBound::UnboundedFollowing => true,
                    FrameBound::CurrentRow => matches!(end, FrameBound::Preceding(_)),
                    FrameBound::Following(_) => {
                        matches!(end, FrameBound::Preceding(_) | FrameBound::CurrentRow)
                    }
                    _ => false,
                };
                if backwards || matches!(end, FrameBound::UnboundedPreceding) {
                    return Err(Error::invalid("unsupported frame specification"));
                }
                (units, start, end)
            }
        };
        Ok(Expr::Window(Box::new(WindowCall {
            func,
            args,
            partition_by,
            order_by,
            units,
            start,
            end,
            exclude,
        })))
    }

    fn frame_bound(&mut self, b: &WindowFrameBound, units: FrameUnits) -> Result<FrameBound> {
        let offset = |p: &mut Self, e: &ast::Expr| -> Result<Expr> {
            if units == FrameUnits::Range {
                return Err(Error::Unsupported(
                    "RANGE window frames with an offset (use ROWS or GROUPS)".into(),
                ));
            }
            p.bind_constant(e)
        };
        Ok(match b {
            WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(self, e)?),
            WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(self, e)?),
        })
    }

    /// `WINDOW name AS (...)` of the SELECT being planned.
    fn named_window(&self, name: &str) -> Result<(WindowSpec, FrameExclude)> {
        let spec = self
            .named_windows
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Error::invalid(format!("no such window: {name}")))?;
        self.resolve_window(&spec)
    }

    /// `OVER (base ORDER BY ...)`: the named base window's PARTITION BY, and its ORDER BY and
    /// frame (with the frame's exclusion) unless the spec gives its own.
    fn resolve_window(&self, spec: &WindowSpec) -> Result<(WindowSpec, FrameExclude)> {
        let mut spec = spec.clone();
        let exclude = take_exclusion(&mut spec);
        let Some(base) = &spec.window_name else {
            return Ok((spec, exclude));
        };
        let (base, base_exclude) = self.named_window(&base.value)?;
        if !spec.partition_by.is_empty() {
            return Err(Error::invalid(format!(
                "cannot override PARTITION BY of window {}",
                spec.window_name.as_ref().map_or("", |n| n.value.as_str())
            )));
        }
        let exclude = if spec.window_frame.is_some() {
            exclude
        } else {
            base_exclude
        };
        Ok((
            WindowSpec {
                window_name: None,
                partition_by: base.partition_by,
                order_by: if spec.order_by.is_empty() {
                    base.order_by
                } else {
                    spec.order_by.clone()
                },
                window_frame: spec.window_frame.clone().or(base.window_frame),
            },
            exclude,
        ))
    }
}

/// Takes out of `spec` the frame exclusion the parser wrote as its last ORDER BY term (see
/// `parser/frame_exclude.rs`).
fn take_exclusion(spec: &mut WindowSpec) -> FrameExclude {
    let Some(last) = spec.order_by.last() else {
        return FrameExclude::NoOthers;
    };
    let text = last.expr.to_string();
    let exclude = [
        ("no others", FrameExclude::NoOthers),
        ("current row", FrameExclude::CurrentRow),
        ("group", FrameExclude::Group),
        ("ties", FrameExclude::Ties),
    ]
    .into_iter()
    .find(|(mode, _)| text == format!("{FRAME_EXCLUDE_FUNCTION}('{mode}')"));
    match exclude {
        Some((_, e)) => {
            spec.order_by.pop();
            e
        }
        None => FrameExclude::NoOthers,
    }
}

/// Takes the window calls out of `exprs` (and the ORDER BY terms `more`) into a window node
/// over `input`, whose rows are `width` wide; each call becomes the column appended for it.
pub(super) fn plan_windows(
    input: Plan,
    width: usize,
    exprs: &mut [Expr],
    more: &mut [&mut Expr],
) -> Plan {
    let mut calls: Vec<WindowCall> = Vec::new();
    let mut take = |e: Expr| {
        e.rewrite_top_down(&mut |x| match x {
            Expr::Window(w) => {
                let i = calls.iter().position(|c| c == &**w).unwrap_or_else(|| {
                    calls.push((**w).clone());
                    calls.len() - 1
                });
                Some(Expr::Column(width + i))
            }
            _ => None,
        })
    };
    for e in exprs.iter_mut().chain(more.iter_mut().map(|e| &mut **e)) {
        let taken = std::mem::replace(e, Expr::Literal(Value::Null));
        *e = take(taken);
    }
    Plan::Window {
        input: Box::new(input),
        calls,
    }
}
