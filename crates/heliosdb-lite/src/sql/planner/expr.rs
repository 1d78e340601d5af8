//! Binding expressions: names to column positions, literals to values, calls to functions.

use super::super::collation::{for_comparison, Collation, CollationSource};
use super::super::functions::ScalarFn;
use super::super::plan::{AggFn, BinOp, CmpOp, Expr, Plan, SubPlan};
use super::super::value::{Affinity, Value};
use super::json_subtype as json;
use super::select::{is_rowid_error_slot, missing_argument, slot_error};
use super::Planner;
use crate::error::{Error, Result};
use sqlparser::ast::{
    self, BinaryOperator, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    UnaryOperator,
};

/// Affinity an expression carries into comparisons (SQLite: columns and CASTs only).
pub(super) fn affinity_of(p: &Planner<'_>, e: &Expr) -> Option<Affinity> {
    match e {
        // `x COLLATE c` keeps x's affinity.
        Expr::Function(f, args) if f.marked_collation().is_some() => affinity_of(p, args.first()?),
        Expr::Column(i) => p.scopes.last()?.columns.get(*i)?.affinity,
        Expr::Outer { depth, index } => {
            let n = p.scopes.len();
            p.scopes
                .get(n.checked_sub(1 + depth)?)?
                .columns
                .get(*index)?
                .affinity
        }
        Expr::Cast(_, a) => Some(*a),
        Expr::ScalarSubquery(sp) => sp.affinity,
        _ => None,
    }
}

/// The collation an expression carries into comparisons, sorts and groups: an explicit
/// `COLLATE`, else the collation of the column it reads (through unary `+` and CAST, as in
/// SQLite), else the first explicit `COLLATE` inside it (`CASE WHEN x COLLATE NOCASE > 8
/// THEN c END` is NOCASE: in SQLite an operator inherits its operands' explicit collation),
/// else none.
pub(super) fn collation_of(p: &Planner<'_>, e: &Expr) -> Option<CollationSource> {
    match e {
        Expr::Function(f, args) => match f.marked_collation() {
            Some(c) => Some(CollationSource::Explicit(c)),
            None if *f == ScalarFn::Likely => collation_of(p, args.first()?),
            None => inner_collation(e).map(CollationSource::Explicit),
        },
        Expr::Cast(x, _) | Expr::ApplyAffinity(x, _) => collation_of(p, x),
        Expr::Column(_) | Expr::Outer { .. } => scope_column_of(p, e)?
            .collation
            .map(CollationSource::Column),
        _ => inner_collation(e).map(CollationSource::Explicit),
    }
}

/// The scope column `e` reads, if it is a plain column reference (of this query level or an
/// enclosing one).
pub(super) fn scope_column_of<'p>(p: &'p Planner<'_>, e: &Expr) -> Option<&'p super::ScopeColumn> {
    match e {
        Expr::Column(i) => p.scopes.last()?.columns.get(*i),
        Expr::Outer { depth, index } => {
            let n = p.scopes.len();
            p.scopes.get(n.checked_sub(1 + depth)?)?.columns.get(*index)
        }
        _ => None,
    }
}

/// The first explicit `COLLATE` in `e`, its operands searched left to right, depth first (in
/// SQLite's order: a LIKE's pattern before its subject), not inside a subquery or a window
/// call, whose collations stay inside.
fn inner_collation(e: &Expr) -> Option<Collation> {
    let first = |es: &mut dyn Iterator<Item = &Expr>| es.filter_map(inner_collation).next();
    match e {
        Expr::Function(f, args) => f.marked_collation().or_else(|| first(&mut args.iter())),
        Expr::Aggregate { args, .. } => first(&mut args.iter()),
        Expr::Not(x) | Expr::Neg(x) | Expr::BitNot(x) | Expr::Cast(x, _) => inner_collation(x),
        Expr::ApplyAffinity(x, _) | Expr::InSubquery { expr: x, .. } => inner_collation(x),
        Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            first(&mut [a, b].into_iter().map(|x| x.as_ref()))
        }
        Expr::Compare { left, right, .. } | Expr::Is { left, right, .. } => {
            first(&mut [left, right].into_iter().map(|x| x.as_ref()))
        }
        Expr::InList { expr, list, .. } => first(&mut std::iter::once(&**expr).chain(list)),
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => first(
            &mut operand
                .iter()
                .map(|o| o.as_ref())
                .chain(whens.iter().flat_map(|(w, t)| [w, t]))
                .chain(otherwise.iter().map(|o| o.as_ref())),
        ),
        Expr::Like {
            expr,
            pattern,
            escape,
            ..
        } => first(
            &mut [pattern, expr]
                .into_iter()
                .map(|x| x.as_ref())
                .chain(escape.iter().map(|x| x.as_ref())),
        ),
        Expr::Literal(_)
        | Expr::Column(_)
        | Expr::Outer { .. }
        | Expr::Param(_)
        | Expr::Exists { .. }
        | Expr::ScalarSubquery(_)
        | Expr::Window(_) => None,
    }
}

/// `e` as compared under `collation`: its collation key (with its comparison affinity, if
/// any, applied first), or `e` itself under BINARY.
pub(super) fn collated(e: Expr, affinity: Option<Affinity>, collation: Collation) -> Expr {
    let e = match affinity {
        Some(a) => Expr::ApplyAffinity(Box::new(e), a),
        None => e,
    };
    match ScalarFn::collation_key(collation) {
        Some(f) => Expr::Function(f, vec![e]),
        None => e,
    }
}

/// The storage classes an expression may produce, as SQLite estimates them to settle a
/// compound SELECT's column affinity: 1 numeric, 2 text, 4 blob.
pub(super) fn data_types(p: &Planner<'_>, e: &Expr) -> u8 {
    match e {
        Expr::Literal(Value::Null) => 0,
        Expr::Literal(Value::Text(_)) => 0x02,
        Expr::Literal(Value::Blob(_)) => 0x04,
        Expr::Binary(BinOp::Concat, ..) => 0x06,
        Expr::Function(f, args) if f.marked_collation().is_some() || *f == ScalarFn::Likely => {
            args.first().map_or(0, |a| data_types(p, a))
        }
        // A window call is a function call to SQLite here: its compound's column affinity
        // is settled before windows are rewritten.
        Expr::Param(_) | Expr::Function(..) | Expr::Aggregate { .. } | Expr::Window(_) => 0x07,
        // SQLite parses `x LIKE y` and `x GLOB y` as calls of like() and glob(); `NOT LIKE`
        // is a NOT around the call, which counts as an operator again.
        Expr::Like { negated: false, .. } => 0x07,
        Expr::Column(_) | Expr::Outer { .. } | Expr::Cast(..) | Expr::ScalarSubquery(_) => {
            match affinity_of(p, e) {
                Some(a) if a.is_numeric() => 0x05,
                Some(Affinity::Text) => 0x06,
                _ => 0x07,
            }
        }
        Expr::Case {
            whens, otherwise, ..
        } => {
            whens.iter().fold(0, |m, (_, t)| m | data_types(p, t))
                | otherwise.as_ref().map_or(0, |o| data_types(p, o))
        }
        _ => 0x01,
    }
}

/// True if `e` refers directly to a column declared DATE, DATETIME or TIMESTAMP.
pub(super) fn temporal_of(p: &Planner<'_>, e: &Expr) -> bool {
    scope_column_of(p, e).is_some_and(|c| c.temporal)
}

/// The declared type of the column `e` reads, when it is a plain column reference.
pub(super) fn decl_type_of(p: &Planner<'_>, e: &Expr) -> Option<String> {
    scope_column_of(p, e).and_then(|c| c.decl_type.clone())
}

/// The affinities to apply to each side of a comparison, by SQLite's rules.
pub(super) fn comparison_affinities(
    l: Option<Affinity>,
    r: Option<Affinity>,
) -> (Option<Affinity>, Option<Affinity>) {
    let numeric = |a: Option<Affinity>| a.is_some_and(|a| a.is_numeric());
    let texty = |a: Option<Affinity>| matches!(a, Some(Affinity::Text));
    // "No affinity" is an expression's, not a BLOB column's: TEXT is not applied to the latter.
    let none = |a: Option<Affinity>| a.is_none();
    if numeric(l) && !numeric(r) {
        (None, Some(Affinity::Numeric))
    } else if numeric(r) && !numeric(l) {
        (Some(Affinity::Numeric), None)
    } else if texty(l) && none(r) {
        (None, Some(Affinity::Text))
    } else if texty(r) && none(l) {
        (Some(Affinity::Text), None)
    } else {
        (None, None)
    }
}

/// The one affinity SQLite applies to both operands of a comparison whose operands have
/// affinities `l` and `r` (its `sqlite3CompareAffinity`): numeric if either is (every numeric
/// affinity compares alike), TEXT if one is TEXT and the other has none, else none.
pub(super) fn shared_affinity(l: Option<Affinity>, r: Option<Affinity>) -> Option<Affinity> {
    let numeric = |a: Option<Affinity>| a.is_some_and(|a| a.is_numeric());
    match (l, r) {
        _ if numeric(l) || numeric(r) => Some(Affinity::Numeric),
        (Some(Affinity::Text), None) | (None, Some(Affinity::Text)) => Some(Affinity::Text),
        _ => None,
    }
}

/// The affinities to apply to the operands `l` and `r` of a comparison. A scalar subquery's
/// value need not have its affinity (a compound's operands differ, and the affinity is the
/// last one's), so then SQLite's one affinity goes to both sides, as its comparison applies
/// it; otherwise to the side that lacks it, which gives the same answer.
pub(super) fn operand_affinities(
    p: &Planner<'_>,
    l: &Expr,
    r: &Expr,
) -> (Option<Affinity>, Option<Affinity>) {
    let (la, ra) = (affinity_of(p, l), affinity_of(p, r));
    if matches!(l, Expr::ScalarSubquery(_)) || matches!(r, Expr::ScalarSubquery(_)) {
        let both = shared_affinity(la, ra);
        return (both, both);
    }
    comparison_affinities(la, ra)
}

/// True for the literal `9223372036854775808` (in parentheses or not): negated, it is the
/// smallest integer, as in SQLite, not a real.
fn is_min_magnitude(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Nested(inner) => is_min_magnitude(inner),
        ast::Expr::Value(v) => {
            matches!(&v.value, ast::Value::Number(s, _) if s == "9223372036854775808")
        }
        _ => false,
    }
}

/// Parses a numeric literal as SQLite does: integer if it fits, else real.
pub(super) fn number_literal(s: &str) -> Result<Value> {
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    if let Ok(i) = clean.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    clean
        .parse::<f64>()
        .map(Value::Real)
        .map_err(|_| Error::invalid(format!("invalid number literal {s}")))
}

fn hex_blob(s: &str) -> Result<Value> {
    if s.len() % 2 != 0 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!("malformed blob literal x'{s}'")));
    }
    Ok(Value::Blob(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect(),
    ))
}

/// The affinity a CAST target type gives.
pub(super) fn cast_affinity(t: &ast::DataType) -> Affinity {
    let name = t.to_string();
    match Affinity::from_type_name(&name) {
        // CAST(x AS NUMERIC) keeps SQLite's NUMERIC semantics, not exact decimals, unless a
        // DECIMAL type is named.
        Affinity::Blob if name.trim().is_empty() => Affinity::Blob,
        a => a,
    }
}

fn interval_text(iv: &ast::Interval, negate: bool) -> Result<String> {
    let v = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::Number(s, _) => s.clone(),
            other => {
                return Err(Error::invalid(format!(
                    "unsupported INTERVAL value {other}"
                )))
            }
        },
        other => {
            return Err(Error::invalid(format!(
                "unsupported INTERVAL value {other}"
            )))
        }
    };
    let text = match &iv.leading_field {
        Some(f) => format!("{v} {f}"),
        None => v,
    };
    let text = text.trim().to_string();
    Ok(if negate {
        match text.strip_prefix('-') {
            Some(rest) => format!("+{rest}"),
            None => format!("-{}", text.trim_start_matches('+')),
        }
    } else {
        text
    })
}

/// True if `name` refers to the scope column `c`: its own name, or, for a table's hidden
/// rowid, any of SQLite's three names for it (`rowid`, `oid`, `_rowid_`). A real column of
/// that name comes first in the scope, so it takes the name, as in SQLite. The slot of a
/// table keyed by its PRIMARY KEY, or of `sqlite_schema`, which have no rowid here (but one
/// in SQLite), answers to the three names too, so that resolution stops there with an error
/// that says so; so does the slot of a table-valued function's argument not given, to its
/// column's name.
fn names_column(c: &super::ScopeColumn, name: &str) -> bool {
    c.name.eq_ignore_ascii_case(name)
        || missing_argument(c).is_some_and(|(_, column)| column.eq_ignore_ascii_case(name))
        || (c.hidden
            && c.table.is_some()
            && (c.name == "rowid" || is_rowid_error_slot(c))
            && ["rowid", "oid", "_rowid_"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name)))
}

impl Planner<'_> {
    fn resolve_column(&mut self, table: Option<&str>, name: &str) -> Result<Option<Expr>> {
        let n = self.scopes.len();
        for level in (0..n).rev() {
            let scope = &self.scopes[level];
            let mut found = None;
            for (i, c) in scope.columns.iter().enumerate() {
                let name_ok = names_column(c, name);
                let table_ok = match table {
                    Some(t) => c
                        .table
                        .as_deref()
                        .is_some_and(|ct| ct.eq_ignore_ascii_case(t)),
                    None => !c.hidden,
                };
                if name_ok && table_ok {
                    if found.is_some() && table.is_none() {
                        return Err(Error::invalid(format!("ambiguous column name: {name}")));
                    }
                    if found.is_none() {
                        found = Some(i);
                    }
                }
            }
            // Hidden columns (rowid) still match unqualified names when nothing else does,
            // if only one does: `rowid` over two tables that have one is ambiguous, as in
            // SQLite (WITHOUT ROWID tables, views and subqueries have none to offer). If the
            // table it comes from has no rowid here, the name is refused below. Not a
            // trigger's OLD / NEW row (the first scope of a trigger's statements, all
            // hidden): as in SQLite, a name reads them only when qualified.
            let trigger_row = self.in_trigger && level == 0;
            if found.is_none() && table.is_none() && !trigger_row {
                let unqualified = scope.qualified_only_from.unwrap_or(usize::MAX);
                let mut hidden = scope
                    .columns
                    .iter()
                    .enumerate()
                    .take(unqualified)
                    .filter(|(_, c)| c.hidden && c.table.is_some() && names_column(c, name))
                    .map(|(i, _)| i);
                found = hidden.next();
                if found.is_some() && hidden.next().is_some() {
                    return Err(Error::invalid(format!("ambiguous column name: {name}")));
                }
            }
            if let Some(i) = found {
                let shown = || match table {
                    Some(q) => format!("{q}.{name}"),
                    None => name.to_string(),
                };
                if scope.columns[i].name.starts_with('\0') {
                    if let Some(e) = slot_error(&scope.columns[i], &shown()) {
                        return Err(e);
                    }
                }
                self.lowest_scope_ref = self.lowest_scope_ref.min(level);
                let depth = n - 1 - level;
                let merged = match table {
                    None => scope.merged_column(i).cloned(),
                    Some(_) => None,
                };
                if let Some(e) = merged {
                    // A RIGHT / FULL join's USING column: the columns it reads, from here.
                    return Ok(Some(if depth == 0 {
                        e
                    } else {
                        e.transform(&mut |x| match x {
                            Expr::Column(index) => {
                                self.outer_refs.push((level, index));
                                Expr::Outer { depth, index }
                            }
                            x => x,
                        })
                    }));
                }
                if depth > 0 {
                    self.outer_refs.push((level, i));
                }
                return Ok(Some(if depth == 0 {
                    Expr::Column(i)
                } else {
                    Expr::Outer { depth, index: i }
                }));
            }
            if table.is_none() {
                if let Some(e) = self.resolve_alias(level, name)? {
                    return Ok(Some(e));
                }
                if self.bind_where_alias(level, name)? {
                    if let Some(e) = self.resolve_alias(level, name)? {
                        return Ok(Some(e));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Binds the result alias `name` of level `level` for WHERE / ON, if that level has one
    /// not bound yet, into the level's `aliases`; false if there is none. The alias is bound
    /// in its own level's scope (whatever subquery the name was read from) and taken off the
    /// list first, so an alias whose expression reads its own name finds no such column.
    fn bind_where_alias(&mut self, level: usize, name: &str) -> Result<bool> {
        let Some(list) = self
            .where_aliases
            .iter_mut()
            .rev()
            .find(|(l, _)| *l == level)
        else {
            return Ok(false);
        };
        let Some(i) = list
            .1
            .iter()
            .position(|(a, _)| a.eq_ignore_ascii_case(name))
        else {
            return Ok(false);
        };
        let (alias, ast) = list.1.remove(i);
        let above = self.scopes.split_off(level + 1);
        let bound = self.bind_expr(&ast);
        self.scopes.extend(above);
        let e = bound?;
        if e.has_window() {
            return Err(Error::invalid(format!(
                "misuse of aliased window function {alias}"
            )));
        }
        if e.has_aggregate() {
            return Err(Error::invalid(format!(
                "misuse of aliased aggregate {alias}"
            )));
        }
        match self.aliases.iter_mut().rev().find(|(l, _)| *l == level) {
            Some((_, bound)) => bound.push((alias, e)),
            None => self.aliases.push((level, vec![(alias, e)])),
        }
        Ok(true)
    }

    /// A result-column alias of the query level at scope index `level`, when one is visible
    /// there (see [`Planner::aliases`]): its bound expression, re-based when the name is read
    /// from a subquery nested in that level.
    fn resolve_alias(&mut self, level: usize, name: &str) -> Result<Option<Expr>> {
        let Some((_, list)) = self.aliases.iter().rev().find(|(l, _)| *l == level) else {
            return Ok(None);
        };
        let Some((_, e)) = list.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) else {
            return Ok(None);
        };
        let e = e.clone();
        let depth = self.scopes.len() - 1 - level;
        if depth == 0 {
            return Ok(Some(e));
        }
        // Read from a nested subquery: the alias's column references become references to
        // enclosing rows, `depth` levels further out. An aggregate or a subquery in it would
        // need more than that, so it is refused rather than resolved to some other column.
        let mut simple = true;
        e.walk(&mut |x| {
            if matches!(
                x,
                Expr::Aggregate { .. }
                    | Expr::InSubquery { .. }
                    | Expr::Exists { .. }
                    | Expr::ScalarSubquery(_)
            ) {
                simple = false;
            }
        });
        if !simple {
            return Err(Error::Unsupported(format!(
                "result alias {name} (an aggregate or subquery) read from a nested subquery"
            )));
        }
        let mut refs = Vec::new();
        let e = e.transform(&mut |x| match x {
            Expr::Column(index) => {
                refs.push((level, index));
                Expr::Outer { depth, index }
            }
            Expr::Outer { depth: d, index } => {
                refs.push((level - d, index));
                Expr::Outer {
                    depth: d + depth,
                    index,
                }
            }
            other => other,
        });
        for (l, i) in refs {
            self.lowest_scope_ref = self.lowest_scope_ref.min(l);
            self.outer_refs.push((l, i));
        }
        Ok(Some(e))
    }

    fn param(&self, v: &ast::ValueWithSpan, p: &str) -> Result<Expr> {
        let idx = if p == "?" {
            let at = (v.span.start.line, v.span.start.column);
            *self.param_positions.get(&at).ok_or_else(|| {
                Error::Parameter(format!(
                    "cannot place the parameter at line {}, column {}",
                    at.0, at.1
                ))
            })?
        } else if let Some(n) = p.strip_prefix('?') {
            n.parse::<usize>()
                .map_err(|_| Error::Parameter(format!("invalid parameter {p}")))?
                - 1
        } else {
            self.param_names
                .iter()
                .position(|x| x.as_deref() == Some(p))
                .ok_or_else(|| Error::Parameter(format!("unknown parameter {p}")))?
        };
        Ok(Expr::Param(idx))
    }

    fn compare(&mut self, op: CmpOp, l: Expr, r: Expr) -> Expr {
        let (left_aff, right_aff) = operand_affinities(self, &l, &r);
        let collation = for_comparison(collation_of(self, &l), collation_of(self, &r));
        if !collation.is_binary() {
            return Expr::Compare {
                op,
                left: Box::new(collated(l, left_aff, collation)),
                right: Box::new(collated(r, right_aff, collation)),
                left_aff: None,
                right_aff: None,
            };
        }
        Expr::Compare {
            op,
            left: Box::new(l),
            right: Box::new(r),
            left_aff,
            right_aff,
        }
    }

    /// `a IS b` / `a IS NOT b`: compared as `=` compares, with the same affinities.
    fn is(&mut self, a: Expr, b: Expr, negated: bool) -> Expr {
        let (la, ra) = operand_affinities(self, &a, &b);
        let collation = for_comparison(collation_of(self, &a), collation_of(self, &b));
        Expr::Is {
            left: Box::new(collated(a, la, collation)),
            right: Box::new(collated(b, ra, collation)),
            negated,
        }
    }

    /// Binds a subquery used inside an expression: the plan, its width and its first column's
    /// collation.
    pub(super) fn subplan(
        &mut self,
        q: &ast::Query,
    ) -> Result<(SubPlan, usize, Option<CollationSource>)> {
        let base = self.scopes.len();
        let saved = std::mem::replace(&mut self.lowest_scope_ref, usize::MAX);
        let mark = self.outer_refs.len();
        let r = self.plan_query(q);
        let lowest = self.lowest_scope_ref;
        self.lowest_scope_ref = saved.min(lowest);
        let (plan, cols) = r?;
        let id = self.new_id();
        // The enclosing row's columns it reads, if it reads no row further out.
        let escaping: Vec<(usize, usize)> = self.outer_refs[mark..]
            .iter()
            .filter(|&&(level, _)| level < base)
            .copied()
            .collect();
        let outer_columns = if escaping.iter().all(|&(level, _)| level + 1 == base) {
            let mut cols: Vec<usize> = escaping.into_iter().map(|(_, i)| i).collect();
            cols.sort_unstable();
            cols.dedup();
            Some(cols)
        } else {
            None
        };
        Ok((
            SubPlan {
                id,
                plan,
                correlated: lowest < base,
                outer_columns,
                affinity: cols.first().and_then(|c| c.expr_affinity),
            },
            cols.len(),
            cols.first().and_then(|c| c.expr_collation),
        ))
    }

    pub(super) fn bind_expr(&mut self, e: &ast::Expr) -> Result<Expr> {
        self.enter()?;
        let r = self.bind_expr_inner(e);
        self.leave();
        r
    }

    fn bind_expr_inner(&mut self, e: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        if matches!(
            e,
            A::BinaryOp { .. }
                | A::In { .. }
                | A::Between { .. }
                | A::IsDistinctFrom(..)
                | A::IsNotDistinctFrom(..)
        ) {
            if let Some(bound) = self.bind_row_value(e)? {
                return Ok(bound);
            }
        }
        Ok(match e {
            A::Identifier(id) => match self.resolve_column(None, &id.value)? {
                Some(c) => c,
                None if id.quote_style == Some('"') => Expr::Literal(Value::Text(id.value.clone())),
                None => match id.value.to_ascii_uppercase().as_str() {
                    "CURRENT_TIMESTAMP" => Expr::Function(ScalarFn::Datetime, vec![]),
                    "CURRENT_DATE" => Expr::Function(ScalarFn::CurrentDate, vec![]),
                    "CURRENT_TIME" => Expr::Function(ScalarFn::CurrentTime, vec![]),
                    _ => return Err(Error::NoSuchColumn(id.value.clone())),
                },
            },
            A::CompoundIdentifier(parts) => {
                let n = parts.len();
                if n < 2 {
                    return Err(Error::invalid(format!("invalid name {e}")));
                }
                let table = &parts[n - 2].value;
                let col = &parts[n - 1].value;
                self.resolve_column(Some(table), col)?
                    .ok_or_else(|| Error::NoSuchColumn(format!("{table}.{col}")))?
            }
            A::Value(v) => match &v.value {
                ast::Value::Number(s, _) => Expr::Literal(number_literal(s)?),
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                    Expr::Literal(Value::Text(s.clone()))
                }
                ast::Value::HexStringLiteral(s) => Expr::Literal(hex_blob(s)?),
                ast::Value::Boolean(b) => Expr::Literal(Value::Integer(i64::from(*b))),
                ast::Value::Null => Expr::Literal(Value::Null),
                ast::Value::Placeholder(p) => self.param(v, p)?,
                other => return Err(Error::Unsupported(format!("literal {other}"))),
            },
            A::Nested(inner) => self.bind_expr(inner)?,
            A::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } if is_min_magnitude(expr) => Expr::Literal(Value::Integer(i64::MIN)),
            A::UnaryOp { op, expr } => {
                let x = self.bind_expr(expr)?;
                match op {
                    UnaryOperator::Not => Expr::Not(Box::new(x)),
                    UnaryOperator::Minus => match x {
                        Expr::Literal(Value::Integer(i)) if i != i64::MIN => {
                            Expr::Literal(Value::Integer(-i))
                        }
                        Expr::Literal(Value::Real(r)) => Expr::Literal(Value::Real(-r)),
                        x => Expr::Neg(Box::new(x)),
                    },
                    // Unary plus is a no-op, but it removes column affinity in comparisons.
                    UnaryOperator::Plus => match x {
                        Expr::Column(_) | Expr::Outer { .. } => {
                            Expr::Function(ScalarFn::Likely, vec![x])
                        }
                        x => x,
                    },
                    UnaryOperator::BitwiseNot => Expr::BitNot(Box::new(x)),
                    other => return Err(Error::Unsupported(format!("operator {other}"))),
                }
            }
            A::BinaryOp { left, op, right } => self.bind_binary(left, op, right)?,
            A::IsNull(x) => Expr::Is {
                left: Box::new(self.bind_expr(x)?),
                right: Box::new(Expr::Literal(Value::Null)),
                negated: false,
            },
            A::IsNotNull(x) => Expr::Is {
                left: Box::new(self.bind_expr(x)?),
                right: Box::new(Expr::Literal(Value::Null)),
                negated: true,
            },
            A::IsTrue(x) | A::IsNotTrue(x) | A::IsFalse(x) | A::IsNotFalse(x) => {
                let v = self.bind_expr(x)?;
                let want = matches!(e, A::IsTrue(_) | A::IsNotFalse(_));
                let positive = matches!(e, A::IsTrue(_) | A::IsFalse(_));
                // x IS TRUE: x is not NULL and truthy.
                let t = Expr::Function(
                    ScalarFn::Coalesce,
                    vec![
                        Expr::Not(Box::new(Expr::Not(Box::new(v)))),
                        Expr::Literal(Value::Integer(i64::from(!want))),
                    ],
                );
                let is = self.compare(CmpOp::Eq, t, Expr::Literal(Value::Integer(i64::from(want))));
                if positive {
                    is
                } else {
                    Expr::Not(Box::new(is))
                }
            }
            A::IsDistinctFrom(a, b) => {
                let (a, b) = (self.bind_expr(a)?, self.bind_expr(b)?);
                self.is(a, b, true)
            }
            A::IsNotDistinctFrom(a, b) => {
                let (a, b) = (self.bind_expr(a)?, self.bind_expr(b)?);
                self.is(a, b, false)
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr)?;
                let lo = self.bind_expr(low)?;
                let hi = self.bind_expr(high)?;
                let ge = self.compare(CmpOp::Ge, x.clone(), lo);
                let le = self.compare(CmpOp::Le, x, hi);
                let both = Expr::And(Box::new(ge), Box::new(le));
                if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                }
            }
            A::In {
                expr,
                target,
                negated,
                ..
            } => {
                let x = self.bind_expr(expr)?;
                let affinity = affinity_of(self, &x);
                let subquery = match target {
                    ast::InTarget::List(list) => {
                        let mut list = list
                            .iter()
                            .map(|i| self.bind_expr(i))
                            .collect::<Result<Vec<_>>>()?;
                        // The comparison's collation is the left operand's alone: a column's
                        // collation in the list does not count ('A' IN (a_nocase, 'z') is
                        // false for 'a'). SQLite turns a one-item list into `x = +item`, so
                        // an explicit COLLATE there does count.
                        let left = collation_of(self, &x);
                        let one = list.len() == 1;
                        let collations: Vec<Collation> = list
                            .iter()
                            .map(|i| {
                                let item = collation_of(self, i)
                                    .filter(|c| one && matches!(c, CollationSource::Explicit(_)));
                                for_comparison(left, item)
                            })
                            .collect();
                        let collation = collations.first().copied().unwrap_or_default();
                        if collations.iter().any(|c| *c != collation) {
                            // Candidates under different collations: one comparison each.
                            let mut any: Option<Expr> = None;
                            for i in list {
                                let eq = self.compare(CmpOp::Eq, x.clone(), i);
                                any = Some(match any {
                                    None => eq,
                                    Some(a) => Expr::Or(Box::new(a), Box::new(eq)),
                                });
                            }
                            let any = any.unwrap_or(Expr::Literal(Value::Integer(0)));
                            return Ok(if *negated {
                                Expr::Not(Box::new(any))
                            } else {
                                any
                            });
                        }
                        let x = if collation.is_binary() {
                            x
                        } else {
                            list = list
                                .into_iter()
                                .map(|i| collated(i, None, collation))
                                .collect();
                            collated(x, None, collation)
                        };
                        return Ok(Expr::InList {
                            expr: Box::new(x),
                            list,
                            negated: *negated,
                            affinity,
                        });
                    }
                    ast::InTarget::Subquery(q) => q.clone(),
                    ast::InTarget::Table { name, args: None } => {
                        let parsed = super::super::parser::parse(&format!("SELECT * FROM {name}"))?;
                        match parsed.into_iter().next().map(|p| p.statement) {
                            Some(super::super::parser::Parsed::Sql(s)) => match *s {
                                ast::Statement::Query(q) => q,
                                _ => return Err(Error::invalid("invalid IN table")),
                            },
                            _ => return Err(Error::invalid("invalid IN table")),
                        }
                    }
                    other => return Err(Error::Unsupported(format!("IN {other}"))),
                };
                let (mut plan, width, sub_collation) = self.subplan(&subquery)?;
                if width != 1 {
                    return Err(Error::invalid(format!(
                        "sub-select returns {width} columns - expected 1"
                    )));
                }
                // SQLite settles one affinity for `x IN (SELECT y ...)` and applies it to `x`
                // and to every candidate, whichever operand of a compound it comes from.
                let both = shared_affinity(affinity, plan.affinity);
                let (la, ra) = (both, both);
                let collation = for_comparison(collation_of(self, &x), sub_collation);
                if !collation.is_binary() {
                    // Both sides as collation keys: the candidates through a projection.
                    let inner = std::mem::replace(&mut plan.plan, Plan::Values(Vec::new()));
                    plan.plan = Plan::Project(
                        Box::new(inner),
                        vec![collated(Expr::Column(0), ra, collation)],
                    );
                    plan.affinity = None;
                    return Ok(Expr::InSubquery {
                        expr: Box::new(collated(x, la, collation)),
                        plan: Box::new(plan),
                        negated: *negated,
                        affinity: None,
                    });
                }
                let x = match la {
                    Some(a) => Expr::ApplyAffinity(Box::new(x), a),
                    None => x,
                };
                Expr::InSubquery {
                    expr: Box::new(x),
                    plan: Box::new(plan),
                    negated: *negated,
                    affinity: ra,
                }
            }
            A::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.bind_quantified(left, compare_op, right, false)?,
            A::AllOp {
                left,
                compare_op,
                right,
            } => self.bind_quantified(left, compare_op, right, true)?,
            A::Exists { subquery, negated } => {
                self.existence = true;
                let r = self.subplan(subquery);
                self.existence = false;
                let (mut plan, _, _) = r?;
                if plan.correlated && !plan.plan.reads_outer() {
                    // It read the enclosing row only in its select list, which is gone: it
                    // runs once, not once per outer row (nor as a semi join reading all of
                    // its rows).
                    plan.correlated = false;
                    plan.outer_columns = Some(Vec::new());
                }
                Expr::Exists {
                    plan: Box::new(plan),
                    negated: *negated,
                }
            }
            A::Subquery(q) => {
                let (plan, width, _) = self.subplan(q)?;
                if width != 1 {
                    return Err(Error::invalid(format!(
                        "sub-select returns {width} columns - expected 1"
                    )));
                }
                Expr::ScalarSubquery(Box::new(plan))
            }
            A::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any: false,
            }
            | A::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any: false,
            } => Expr::Like {
                expr: Box::new(self.bind_expr(expr)?),
                pattern: Box::new(self.bind_expr(pattern)?),
                escape: match escape_char {
                    Some(e) => Some(Box::new(self.bind_expr(e)?)),
                    None => None,
                },
                negated: *negated,
                glob: false,
            },
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(self.bind_expr(o)?)),
                    None => None,
                };
                let mut whens = Vec::with_capacity(conditions.len());
                for c in conditions {
                    let w = self.bind_expr(&c.condition)?;
                    let w = match &operand {
                        // CASE x WHEN v compares like x = v.
                        Some(o) => self.compare(CmpOp::Eq, (**o).clone(), w),
                        None => w,
                    };
                    whens.push((w, self.bind_expr(&c.result)?));
                }
                let otherwise = match else_result {
                    Some(x) => Some(Box::new(self.bind_expr(x)?)),
                    None => None,
                };
                // The operand is folded into each WHEN.
                Expr::Case {
                    operand: None,
                    whens,
                    otherwise,
                }
            }
            A::Cast {
                expr, data_type, ..
            } => Expr::Cast(Box::new(self.bind_expr(expr)?), cast_affinity(data_type)),
            A::Collate { expr, collation } => {
                let c = Collation::from_name(&super::table_name(collation)?)?;
                let x = self.bind_expr(expr)?;
                // Nested COLLATEs: the outermost wins.
                let x = match x {
                    Expr::Function(f, mut args) if f.marked_collation().is_some() => args.remove(0),
                    x => x,
                };
                Expr::Function(ScalarFn::collate_marker(c), vec![x])
            }
            A::Function(f) => self.bind_function(f)?,
            // sqlparser reads `ceil(...)` / `floor(...)` as syntax of their own.
            A::Ceil { expr, field } | A::Floor { expr, field } => {
                let (func, name) = match e {
                    A::Ceil { .. } => (ScalarFn::Ceil, "ceil"),
                    _ => (ScalarFn::Floor, "floor"),
                };
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        Expr::Function(func, vec![self.bind_expr(expr)?])
                    }
                    ast::CeilFloorKind::Scale(_) => {
                        return Err(Error::invalid(format!(
                            "wrong number of arguments to function {name}()"
                        )))
                    }
                    ast::CeilFloorKind::DateTimeField(_) => {
                        return Err(Error::invalid(format!(
                            "near \"TO\": syntax error in {name}()"
                        )))
                    }
                }
            }
            A::Tuple(items) if items.len() == 1 => self.bind_expr(&items[0])?,
            A::Tuple(_) => return Err(Error::invalid("row value misused")),
            A::Interval(_) => {
                return Err(Error::invalid(
                    "INTERVAL is only supported added to or subtracted from a time",
                ))
            }
            A::TypedString(ts) => {
                // TIMESTAMP '...' / DATE '...': the text itself.
                match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => Expr::Literal(Value::Text(s.clone())),
                    other => Expr::Literal(Value::Text(other.to_string())),
                }
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                let f = match trim_where {
                    Some(ast::TrimWhereField::Leading) => ScalarFn::Ltrim,
                    Some(ast::TrimWhereField::Trailing) => ScalarFn::Rtrim,
                    _ => ScalarFn::Trim,
                };
                let mut args = vec![self.bind_expr(expr)?];
                if let Some(w) = trim_what {
                    args.push(self.bind_expr(w)?);
                } else if let Some(cs) = trim_characters {
                    if let Some(c) = cs.first() {
                        args.push(self.bind_expr(c)?);
                    }
                }
                Expr::Function(f, args)
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f)?,
                    None => Expr::Literal(Value::Integer(1)),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f)?);
                }
                Expr::Function(ScalarFn::Substr, args)
            }
            other => return Err(Error::Unsupported(format!("expression {other}"))),
        })
    }

    fn bind_binary(&mut self, l: &ast::Expr, op: &BinaryOperator, r: &ast::Expr) -> Result<Expr> {
        // time +/- INTERVAL: date arithmetic through datetime().
        if matches!(op, BinaryOperator::Plus | BinaryOperator::Minus) {
            if let ast::Expr::Interval(iv) = r {
                let base = self.bind_expr(l)?;
                let m = interval_text(iv, *op == BinaryOperator::Minus)?;
                return Ok(Expr::Function(
                    ScalarFn::IntervalAdd,
                    vec![base, Expr::Literal(Value::Text(m))],
                ));
            }
        }
        let a = self.bind_expr(l)?;
        let b = self.bind_expr(r)?;
        let bin = |o: BinOp| Expr::Binary(o, Box::new(a.clone()), Box::new(b.clone()));
        Ok(match op {
            BinaryOperator::Plus => bin(BinOp::Add),
            BinaryOperator::Minus => bin(BinOp::Sub),
            BinaryOperator::Multiply => bin(BinOp::Mul),
            BinaryOperator::Divide => bin(BinOp::Div),
            BinaryOperator::Modulo => bin(BinOp::Mod),
            BinaryOperator::StringConcat => bin(BinOp::Concat),
            BinaryOperator::BitwiseAnd => bin(BinOp::BitAnd),
            BinaryOperator::BitwiseOr => bin(BinOp::BitOr),
            BinaryOperator::PGBitwiseShiftLeft => bin(BinOp::Shl),
            BinaryOperator::PGBitwiseShiftRight => bin(BinOp::Shr),
            BinaryOperator::And => Expr::And(Box::new(a), Box::new(b)),
            BinaryOperator::Or => Expr::Or(Box::new(a), Box::new(b)),
            BinaryOperator::Eq => self.compare(CmpOp::Eq, a, b),
            BinaryOperator::NotEq => self.compare(CmpOp::Ne, a, b),
            BinaryOperator::Lt => self.compare(CmpOp::Lt, a, b),
            BinaryOperator::LtEq => self.compare(CmpOp::Le, a, b),
            BinaryOperator::Gt => self.compare(CmpOp::Gt, a, b),
            BinaryOperator::GtEq => self.compare(CmpOp::Ge, a, b),
            BinaryOperator::Is => self.is(a, b, false),
            BinaryOperator::IsNot => self.is(a, b, true),
            BinaryOperator::Glob => Expr::Like {
                expr: Box::new(a),
                pattern: Box::new(b),
                escape: None,
                negated: false,
                glob: true,
            },
            BinaryOperator::Arrow => Expr::Function(ScalarFn::JsonArrow, vec![a, b]),
            BinaryOperator::LongArrow => Expr::Function(ScalarFn::JsonArrowText, vec![a, b]),
            other => return Err(Error::Unsupported(format!("operator {other}"))),
        })
    }

    /// `RAISE(IGNORE)` / `RAISE(ROLLBACK | ABORT | FAIL, message)`: SQLite's grammar, then
    /// its rule that RAISE belongs in a trigger; the message may be any expression (3.47+).
    fn bind_raise(&mut self, args: &[&ast::Expr]) -> Result<Expr> {
        use crate::error::RaiseAction;
        let syntax = || Error::Syntax {
            message: "RAISE takes IGNORE, or ROLLBACK, ABORT or FAIL and a message".into(),
            line: 0,
            column: 0,
            token: Some("RAISE".into()),
        };
        let action = match args.first() {
            Some(ast::Expr::Identifier(id)) if id.quote_style.is_none() => {
                match id.value.to_ascii_uppercase().as_str() {
                    "IGNORE" => RaiseAction::Ignore,
                    "ROLLBACK" => RaiseAction::Rollback,
                    "ABORT" => RaiseAction::Abort,
                    "FAIL" => RaiseAction::Fail,
                    _ => return Err(syntax()),
                }
            }
            _ => return Err(syntax()),
        };
        if (action == RaiseAction::Ignore) != (args.len() == 1) || args.len() > 2 {
            return Err(syntax());
        }
        if !self.in_trigger {
            return Err(Error::invalid(
                "RAISE() may only be used within a trigger-program",
            ));
        }
        let message = match args.get(1) {
            Some(m) => self.bind_expr(m)?,
            None => Expr::Literal(Value::Null),
        };
        Ok(Expr::Function(
            ScalarFn::Raise,
            vec![
                Expr::Literal(Value::Integer(crate::sql::functions::raise_code(action))),
                message,
            ],
        ))
    }

    fn bind_function(&mut self, f: &ast::Function) -> Result<Expr> {
        let name = super::table_name(&f.name)?.to_ascii_lowercase();
        let (args, distinct, star) = match &f.args {
            FunctionArguments::None => (Vec::new(), false, false),
            FunctionArguments::Subquery(_) => {
                return Err(Error::Unsupported(format!("{name}(subquery)")))
            }
            FunctionArguments::List(list) => {
                let distinct =
                    matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
                let mut star = false;
                let mut args = Vec::new();
                for a in &list.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                        other => {
                            return Err(Error::Unsupported(format!("function argument {other}")))
                        }
                    }
                }
                (args, distinct, star)
            }
        };
        if f.over.is_some() {
            return self.bind_window(f, &name, &args, distinct, star);
        }
        if name == "raise" && f.filter.is_none() && !distinct && !star {
            return self.bind_raise(&args);
        }
        if name == super::super::parser::AS_OF_FUNCTION {
            return Err(Error::invalid(
                "a time-travel clause must follow a table name",
            ));
        }
        let agg = match (name.as_str(), args.len(), star) {
            ("count", 0, true) if !distinct => Some(AggFn::CountStar),
            ("count", 0, true) => {
                return Err(Error::invalid(
                    "DISTINCT aggregates must have exactly one argument: count()",
                ))
            }
            ("count", 1, false) => Some(AggFn::Count),
            ("sum", 1, _) => Some(AggFn::Sum),
            ("total", 1, _) => Some(AggFn::Total),
            ("avg", 1, _) => Some(AggFn::Avg),
            ("min", 1, _) => Some(AggFn::Min),
            ("max", 1, _) => Some(AggFn::Max),
            ("group_concat" | "string_agg", 1 | 2, _) => Some(AggFn::GroupConcat),
            ("json_group_array", 1, false) => Some(AggFn::JsonGroupArray),
            ("json_group_object", 2, false) => Some(AggFn::JsonGroupObject),
            ("json_group_array" | "json_group_object", _, _) => {
                return Err(Error::invalid(format!(
                    "wrong number of arguments to function {name}()"
                )))
            }
            _ => None,
        };
        if let Some(func) = agg {
            if distinct && (star || args.len() != 1) {
                return Err(Error::invalid(format!(
                    "DISTINCT aggregates must have exactly one argument: {name}()"
                )));
            }
            let mut args = args
                .iter()
                .map(|a| self.bind_expr(a))
                .collect::<Result<Vec<_>>>()?;
            let mut func = func;
            let collation = args
                .first()
                .and_then(|a| collation_of(self, a))
                .map_or(Collation::Binary, |c| c.collation());
            if matches!(func, AggFn::JsonGroupArray | AggFn::JsonGroupObject) {
                let cond = match &f.filter {
                    Some(filter) => Some(self.bind_expr(filter)?),
                    None => None,
                };
                if cond.as_ref().is_some_and(Expr::has_aggregate) {
                    return Err(Error::invalid(format!(
                        "misuse of aggregate function in the FILTER clause of {name}()"
                    )));
                }
                json::aggregate_args(&mut args, cond);
            } else if let Some(filter) = &f.filter {
                let cond = self.bind_expr(filter)?;
                if cond.has_aggregate() {
                    return Err(Error::invalid(format!(
                        "misuse of aggregate function in the FILTER clause of {name}()"
                    )));
                }
                // Every aggregate skips NULL arguments, so a row the filter rejects becomes a
                // NULL argument: `count(*) FILTER (WHERE c)` is `count(CASE WHEN c THEN 1 END)`.
                if func == AggFn::CountStar {
                    func = AggFn::Count;
                    args = vec![Expr::Literal(Value::Integer(1))];
                }
                let first = std::mem::replace(&mut args[0], Expr::Literal(Value::Null));
                args[0] = Expr::Case {
                    operand: None,
                    whens: vec![(cond, first)],
                    otherwise: None,
                };
            }
            if args.iter().any(Expr::has_aggregate) {
                return Err(Error::invalid(format!(
                    "misuse of aggregate function {name}()"
                )));
            }
            // Under NOCASE or RTRIM, min and max compare collation keys (passed as a second
            // argument), and DISTINCT drops values equal under the collation.
            if !collation.is_binary() {
                match func {
                    AggFn::Min | AggFn::Max => {
                        let key = collated(args[0].clone(), None, collation);
                        args.push(key);
                    }
                    AggFn::Count | AggFn::Sum | AggFn::Total | AggFn::Avg if distinct => {
                        let first = std::mem::replace(&mut args[0], Expr::Literal(Value::Null));
                        args[0] = collated(first, None, collation);
                    }
                    // The values themselves are output: the key goes third, after the
                    // separator, and only decides which values are duplicates.
                    AggFn::GroupConcat if distinct => {
                        let key = collated(args[0].clone(), None, collation);
                        args.push(Expr::Literal(Value::Text(",".into())));
                        args.push(key);
                    }
                    _ => {}
                }
            }
            return Ok(Expr::Aggregate {
                func,
                args,
                distinct,
            });
        }
        if star {
            return Err(Error::invalid(format!("wrong use of * in {name}()")));
        }
        if f.filter.is_some() {
            return Err(Error::invalid(format!(
                "FILTER clause on non-aggregate function: {name}()"
            )));
        }
        // The connection's own functions first: an application may override a built-in,
        // as in SQLite.
        let func = match self.env.user_function(&name, args.len())? {
            Some(id) => ScalarFn::User(id),
            None => ScalarFn::from_name(&name)
                .ok_or_else(|| Error::invalid(format!("no such function: {name}")))?,
        };
        let (min, max) = match name.as_str() {
            "likely" | "unlikely" if func == ScalarFn::Likely => (1, 1),
            "likelihood" if func == ScalarFn::Likely => (2, 2),
            _ => func.arity(),
        };
        if args.len() < min || args.len() > max {
            return Err(Error::invalid(format!(
                "wrong number of arguments to function {name}()"
            )));
        }
        if name == "likelihood" && func == ScalarFn::Likely && !is_probability(args[1]) {
            return Err(Error::invalid(
                "second argument to likelihood() must be a constant between 0.0 and 1.0",
            ));
        }
        let mut args = args
            .iter()
            .map(|a| self.bind_expr(a))
            .collect::<Result<Vec<_>>>()?;
        if func == ScalarFn::Subtype {
            return Ok(json::subtype_of(args.remove(0)));
        }
        if json::embeds_values(func) {
            // Which arguments are JSON: SQLite's subtype, decided here (see `json_subtype`).
            args = json::embedding_args(func, args);
        }
        if func == ScalarFn::Nullif {
            // nullif(a, b) compares as `a = b`, collation included.
            let collation =
                for_comparison(collation_of(self, &args[0]), collation_of(self, &args[1]));
            if !collation.is_binary() {
                let eq = self.compare(CmpOp::Eq, args[0].clone(), args[1].clone());
                return Ok(Expr::Case {
                    operand: None,
                    whens: vec![(eq, Expr::Literal(Value::Null))],
                    otherwise: Some(Box::new(args[0].clone())),
                });
            }
        }
        Ok(Expr::Function(func, args))
    }
}

/// True for the second argument `likelihood()` accepts: a literal real from 0.0 to 1.0
/// (SQLite wants a floating-point token; `1` or `'0.5'` is refused).
fn is_probability(e: &sqlparser::ast::Expr) -> bool {
    match e {
        sqlparser::ast::Expr::Value(v) => match &v.value {
            sqlparser::ast::Value::Number(text, _) => {
                text.contains(['.', 'e', 'E'])
                    && text.parse::<f64>().is_ok_and(|p| (0.0..=1.0).contains(&p))
            }
            _ => false,
        },
        _ => false,
    }
}
