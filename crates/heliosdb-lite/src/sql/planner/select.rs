//! Planning SELECT: FROM and joins, WHERE pushdown, projection, grouping, ordering.

use super::super::catalog::{Schema, TableInfo};
use super::super::collation::{Collation, CollationSource};
use super::super::parser::TimeTravelMode;
use super::super::plan::{Expr, JoinKind, Materialization, Plan, SetOp, SortKey, Source};
use super::super::value::{Affinity, Value};
use super::aggregate::AggRewriter;
use super::expr::{affinity_of, collated, collation_of, comparison_affinities, scope_column_of};
use super::{access, Cte, Planner, Scope, ScopeColumn};
use crate::error::{Error, Result};
use crate::mvcc::AsOf;
use sqlparser::ast::{self, SelectItem, SetExpr, TableFactor};
use std::sync::Arc;

/// A column of a query result.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    /// Column name.
    pub name: String,
    /// Affinity, when the column is a plain column reference; for a compound SELECT, the
    /// affinity a read of the compound as a table (a FROM subquery, a CTE, a view) gives it.
    pub affinity: Option<Affinity>,
    /// Affinity of the column's expression where the query is an operand (`x IN (SELECT ...)`,
    /// a scalar subquery): `affinity` for a simple SELECT, but the last operand's for a
    /// compound, which SQLite represents by its last SELECT (and a VALUES list by its last row).
    pub expr_affinity: Option<Affinity>,
    /// A plain reference to a column declared DATE, DATETIME or TIMESTAMP.
    pub temporal: bool,
    /// The declared type of the column a plain reference reads (see
    /// [`super::ScopeColumn::decl_type`]).
    pub decl_type: Option<String>,
    /// Collating sequence, when the column is a column reference or has a `COLLATE`.
    pub collation: Option<Collation>,
    /// The collation the column's expression carries where the query is an operand (`x IN
    /// (SELECT y ...)`): an explicit `COLLATE` in it wins over `x`'s column collation, as in
    /// SQLite; for a compound, the last operand's (as `expr_affinity`).
    pub expr_collation: Option<CollationSource>,
    /// Storage classes its values may have (see `expr::data_types`).
    pub data_types: u8,
}

pub(super) fn plan_query(p: &mut Planner<'_>, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
    let cte_mark = p.ctes.len();
    let r = plan_query_inner(p, q);
    p.ctes.truncate(cte_mark);
    r
}

/// How many times `name` appears in a query's text as a word (case-insensitive), its definition
/// included. A CTE that appears three times or more may be read by two references: its rows
/// are then stored once and shared, so a filter of one reference must not go into them
/// (`push_down`; SQLite likewise materialises a CTE used twice and pushes nothing into it).
/// A column or a string that spells the name only makes the count larger, which is the safe
/// side; a name with other characters than letters, digits, `_` and `$` counts as mentioned
/// everywhere. `text` is the query's text, lowercased (made once for all its CTEs).
fn mentions(text: &str, name: &str) -> usize {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    if !name.chars().all(word) {
        // The query's text may spell it with escapes (`"a""b"`): counted as shared.
        return usize::MAX;
    }
    let name = name.to_lowercase();
    text.match_indices(&name)
        .filter(|&(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
        .count()
}

fn plan_query_inner(p: &mut Planner<'_>, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
    // Taken before anything nested (a CTE, a derived table) is planned: only this level's
    // rows are tested for existence.
    let existence = std::mem::take(&mut p.existence);
    if let Some(with) = &q.with {
        let text = q.to_string().to_lowercase();
        for cte in &with.cte_tables {
            if with.recursive {
                if let Some((plan, columns)) = super::recursive::plan_cte(p, cte)? {
                    p.ctes.push((
                        cte.alias.name.value.to_lowercase(),
                        Arc::new(Cte {
                            plan,
                            columns,
                            working: None,
                        }),
                    ));
                    continue;
                }
            }
            let (plan, mut columns) = p.plan_query(&cte.query)?;
            let plan = read_as_table(plan, &columns, &cte.query);
            rename(
                &mut columns,
                &cte.alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect::<Vec<_>>(),
            )?;
            let id = p.new_id();
            let materialized =
                matches!(cte.materialized, Some(ast::CteAsMaterialized::Materialized));
            if materialized || mentions(&text, &cte.alias.name.value) > 2 {
                p.shared_ids.insert(id);
            }
            p.ctes.push((
                cte.alias.name.value.to_lowercase(),
                Arc::new(Cte {
                    plan: Plan::Materialize {
                        id,
                        input: Box::new(plan),
                        hint: match cte.materialized {
                            None => Materialization::Auto,
                            Some(ast::CteAsMaterialized::Materialized) => {
                                Materialization::Materialized
                            }
                            Some(ast::CteAsMaterialized::NotMaterialized) => {
                                Materialization::NotMaterialized
                            }
                        },
                    },
                    columns,
                    working: None,
                }),
            ));
        }
    }
    let order_by: Vec<ast::OrderByExpr> = match &q.order_by {
        None => Vec::new(),
        Some(ob) => match &ob.kind {
            ast::OrderByKind::Expressions(v) => v.clone(),
            ast::OrderByKind::All(_) => return Err(Error::Unsupported("ORDER BY ALL".into())),
        },
    };
    let (mut plan, columns) = match q.body.as_ref() {
        SetExpr::Select(s) => plan_select(p, s, &order_by, q.limit_clause.is_some(), existence)?,
        body => {
            p.existence = existence;
            let (plan, columns) = plan_set_expr(p, body)?;
            // A compound sorts each column under the collation its duplicates are found
            // under: the leftmost operand's that has one (SQLite's multiSelectCollSeq), which
            // may be a right operand's where the left ones compute the column. A read of
            // the compound as a table keeps the leftmost operand's alone (`columns`), and so
            // does its ORDER BY when SQLite sorts it as such a read: a compound with an
            // operator other than UNION ALL whose ORDER BY has a COLLATE term is rewritten as
            // `SELECT * FROM (compound) ORDER BY ...` (convertCompoundSelectToSubquery).
            let mut any_collate = false;
            for ob in &order_by {
                any_collate |= collate_on_output(&ob.expr, &columns)?.is_some();
            }
            let compound_collations = match &plan {
                Plan::SetOperation { collations, .. } if !any_collate || only_union_all(&plan) => {
                    collations.clone()
                }
                _ => Vec::new(),
            };
            let mut keys = Vec::new();
            for ob in &order_by {
                let (i, explicit) = match collate_on_output(&ob.expr, &columns)? {
                    Some((i, c)) => (Some(i), Some(c)),
                    None => (output_position(&ob.expr, &columns)?, None),
                };
                let i = i.ok_or_else(|| {
                    Error::invalid(format!(
                        "ORDER BY term {} does not match any column of the compound SELECT",
                        ob.expr
                    ))
                })?;
                let collation = explicit.unwrap_or_else(|| {
                    compound_collations
                        .get(i)
                        .copied()
                        .or(columns[i].collation)
                        .unwrap_or_default()
                });
                keys.push(sort_key(collated(Expr::Column(i), None, collation), ob));
            }
            // Bound for its errors, but the order of rows tested for existence is moot.
            let plan = if keys.is_empty() || existence {
                plan
            } else {
                Plan::Sort(Box::new(plan), keys)
            };
            (plan, columns)
        }
    };
    if let Some(clause) = &q.limit_clause {
        let (limit, offset) = bind_limit_clause(p, clause)?;
        super::order::push_limit(&mut plan, &limit, &offset);
        plan = Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
        };
    }
    Ok((plan, columns))
}

/// The bound LIMIT and OFFSET of a query's limit clause (both spellings: `LIMIT n OFFSET m`
/// and `LIMIT m, n`).
pub(super) fn bind_limit_clause(
    p: &mut Planner<'_>,
    clause: &ast::LimitClause,
) -> Result<(Option<Expr>, Option<Expr>)> {
    let (limit, offset) = match clause {
        ast::LimitClause::LimitOffset { limit, offset, .. } => {
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        ast::LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
    };
    Ok((
        limit.map(|e| p.bind_constant(e)).transpose()?,
        offset.map(|e| p.bind_constant(e)).transpose()?,
    ))
}

pub(super) fn rename(columns: &mut [OutputColumn], names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    if names.len() != columns.len() {
        return Err(Error::invalid(format!(
            "{} column names given for {} columns",
            names.len(),
            columns.len()
        )));
    }
    for (c, n) in columns.iter_mut().zip(names) {
        c.name = n.clone();
    }
    Ok(())
}

fn sort_key(expr: Expr, ob: &ast::OrderByExpr) -> SortKey {
    let desc = matches!(ob.options.sort, Some(ast::OrderBySort::Desc));
    SortKey {
        expr,
        desc,
        nulls_first: ob.options.nulls_first.unwrap_or(!desc),
    }
}

/// `ORDER BY 2 COLLATE NOCASE` or `ORDER BY alias COLLATE NOCASE`: the output column and the
/// collation, when the term is a COLLATE around a position or an alias.
fn collate_on_output(
    e: &ast::Expr,
    columns: &[OutputColumn],
) -> Result<Option<(usize, Collation)>> {
    let ast::Expr::Collate { expr, collation } = e else {
        return Ok(None);
    };
    let Some(i) = output_position(expr, columns)? else {
        return Ok(None);
    };
    let c = Collation::from_name(&super::table_name(collation)?)?;
    Ok(Some((i, c)))
}

/// True if every operator of the compound `plan` (its chain of left operands) is UNION ALL.
fn only_union_all(plan: &Plan) -> bool {
    match plan {
        Plan::SetOperation {
            op: SetOp::Union,
            all: true,
            left,
            ..
        } => only_union_all(left),
        Plan::SetOperation { .. } => false,
        _ => true,
    }
}

/// ORDER BY 2 or ORDER BY alias: the output column it names.
fn output_position(e: &ast::Expr, columns: &[OutputColumn]) -> Result<Option<usize>> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            let k: i64 = n
                .parse()
                .map_err(|_| Error::invalid(format!("invalid ORDER BY term {n}")))?;
            if k < 1 || k as usize > columns.len() {
                return Err(Error::invalid(format!(
                    "ORDER BY term out of range - should be between 1 and {}",
                    columns.len()
                )));
            }
            return Ok(Some(k as usize - 1));
        }
    }
    // Only a bare name can be an alias; `t.c` always names a column.
    let name = match e {
        ast::Expr::Identifier(id) => &id.value,
        _ => return Ok(None),
    };
    Ok(columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name)))
}

pub(super) fn plan_set_expr(p: &mut Planner<'_>, e: &SetExpr) -> Result<(Plan, Vec<OutputColumn>)> {
    // Set by an EXISTS subquery (see `Planner::existence`); cleared here on every path.
    let existence = std::mem::take(&mut p.existence);
    match e {
        SetExpr::Select(s) => plan_select(p, s, &[], false, existence),
        SetExpr::Query(q) => {
            p.existence = existence;
            p.plan_query(q)
        }
        SetExpr::SetOperation { .. } => {
            // SQLite gives every compound operator the same precedence, left to right
            // (sqlparser binds INTERSECT tighter): flatten the chain and fold it leftwards.
            let mut operands = Vec::new();
            let mut ops = Vec::new();
            flatten_compound(e, &mut operands, &mut ops);
            // A chain of UNION ALL has a row if an operand has one, whatever its values;
            // the other operators compare the values.
            let existence = existence
                && ops.iter().all(|(op, q)| {
                    matches!((op, q), (ast::SetOperator::Union, ast::SetQuantifier::All))
                });
            p.existence = existence;
            let (mut plan, mut cols) = plan_set_expr(p, operands[0])?;
            let mut all = vec![cols.clone()];
            let mut rights = Vec::new();
            for operand in &operands[1..] {
                p.existence = existence;
                let (r, rcols) = plan_set_expr(p, operand)?;
                if cols.len() != rcols.len() {
                    return Err(Error::invalid(
                        "SELECTs to the left and right of a compound operator do not have the same number of result columns",
                    ));
                }
                all.push(rcols);
                rights.push(r);
            }
            // Duplicates are found under one collation per column for the whole compound.
            let collations: Vec<Collation> = (0..cols.len())
                .map(|i| {
                    all.iter()
                        .find_map(|cs| cs[i].collation)
                        .unwrap_or_default()
                })
                .collect();
            let collations = match collations.iter().all(|c| c.is_binary()) {
                true => Vec::new(),
                false => collations,
            };
            for (r, (op, quantifier)) in rights.into_iter().zip(ops) {
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOp::Except,
                };
                plan = Plan::SetOperation {
                    op,
                    all: matches!(quantifier, ast::SetQuantifier::All),
                    collations: collations.clone(),
                    left: Box::new(plan),
                    right: Box::new(r),
                };
            }
            for (i, c) in cols.iter_mut().enumerate() {
                c.affinity = compound_affinity(&all, i);
                c.expr_affinity = all.last().and_then(|cs| cs[i].expr_affinity);
                c.expr_collation = all.last().and_then(|cs| cs[i].expr_collation);
                c.data_types = all.iter().fold(0, |m, cs| m | cs[i].data_types);
            }
            Ok((plan, cols))
        }
        SetExpr::Values(v) => plan_values(p, v, existence),
        SetExpr::Update(_) | SetExpr::Delete(_) => Err(Error::Unsupported(
            "WITH before UPDATE or DELETE (before INSERT it works; or move the CTE into a \
             subquery)"
                .into(),
        )),
        other => Err(Error::Unsupported(format!("query form {other}"))),
    }
}

/// The collation of a reference to a subquery's, CTE's or view's column: its own, or BINARY,
/// never none. In SQLite such a reference is a column, and every column has a collation, so
/// `x = a` with `x` from `(SELECT 'a' AS x)` compares under BINARY even when `a` is NOCASE.
fn read_collation(c: Option<Collation>) -> Option<Collation> {
    Some(c.unwrap_or_default())
}

/// The rows of `query` as a subquery, CTE or view reads them: a REAL column of a compound
/// SELECT turns integers into reals (4 reads as 4.0), as SQLite's read of the table it keeps
/// the compound's rows in does. No other affinity converts values on that read: under an
/// INTEGER or NUMERIC column 2.0 stays a real, and TEXT is already text.
fn read_as_table(plan: Plan, cols: &[OutputColumn], query: &ast::Query) -> Plan {
    let real = |c: &OutputColumn| c.affinity == Some(Affinity::Real);
    if !matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) || !cols.iter().any(real) {
        return plan;
    }
    let exprs = cols
        .iter()
        .enumerate()
        .map(|(i, c)| match real(c) {
            true => Expr::ApplyAffinity(Box::new(Expr::Column(i)), Affinity::Real),
            false => Expr::Column(i),
        })
        .collect();
    Plan::Project(Box::new(plan), exprs)
}

/// The affinity of column `i` of a compound SELECT, by SQLite's rule: the first operand's
/// affinity that is not none, dropped to BLOB when another operand's values may be of a class
/// it would convert (text into a numeric column, numbers into a TEXT column).
fn compound_affinity(operands: &[Vec<OutputColumn>], i: usize) -> Option<Affinity> {
    let k = operands.iter().position(|cs| cs[i].affinity.is_some())?;
    let aff = operands[k][i].affinity?;
    let others = operands
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .fold(0, |m, (_, cs)| m | cs[i].data_types);
    let drops = match aff {
        Affinity::Text => others & 0x01 != 0,
        a if a.is_numeric() => others & 0x02 != 0,
        _ => false,
    };
    Some(if drops { Affinity::Blob } else { aff })
}

/// A VALUES list: its rows, and columns named `column1`, ... whose expression affinity is
/// the last row's. With `existence`, only whether a row exists is asked.
fn plan_values(
    p: &mut Planner<'_>,
    v: &ast::Values,
    existence: bool,
) -> Result<(Plan, Vec<OutputColumn>)> {
    let mut rows = Vec::new();
    let mut width = None;
    let mut last = Vec::new();
    p.scopes.push(Scope::default());
    let r = (|| {
        for row in &v.rows {
            if *width.get_or_insert(row.len()) != row.len() {
                return Err(Error::invalid(
                    "all VALUES must have the same number of terms",
                ));
            }
            rows.push(
                row.iter()
                    .map(|e| p.bind_expr(e))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        // Taken while the rows' scope is open: an outer column's affinity counts.
        last = rows.last().map_or_else(Vec::new, |r| {
            r.iter().map(|e| affinity_of(p, e)).collect::<Vec<_>>()
        });
        Ok(())
    })();
    p.scopes.pop();
    r?;
    if existence {
        // Bound for their errors; SQLite never evaluates them when only the existence of a
        // row is asked.
        for row in &mut rows {
            *row = vec![Expr::Literal(Value::Integer(1)); row.len()];
        }
    }
    let columns = (1..=width.unwrap_or(0))
        .map(|i| OutputColumn {
            name: format!("column{i}"),
            affinity: None,
            expr_affinity: last.get(i - 1).copied().flatten(),
            temporal: false,
            decl_type: None,
            collation: None,
            expr_collation: None,
            data_types: rows
                .iter()
                .filter_map(|r| r.get(i - 1))
                .fold(0, |m, e| m | super::expr::data_types(p, e)),
        })
        .collect();
    Ok((Plan::Values(rows), columns))
}

/// The operands and operators of a chain of compound operators, in text order.
fn flatten_compound<'q>(
    e: &'q SetExpr,
    operands: &mut Vec<&'q SetExpr>,
    ops: &mut Vec<(ast::SetOperator, ast::SetQuantifier)>,
) {
    match e {
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            flatten_compound(left, operands, ops);
            ops.push((*op, *set_quantifier));
            flatten_compound(right, operands, ops);
        }
        other => operands.push(other),
    }
}

/// The collation a selected expression gives its output column: its own, except that a plain
/// reference to the rowid (or the INTEGER PRIMARY KEY column) has none (see
/// [`super::ScopeColumn::rowid`]).
fn output_collation(p: &Planner<'_>, e: &Expr) -> Option<Collation> {
    match scope_column_of(p, e) {
        Some(c) if c.rowid => None,
        _ => collation_of(p, e).map(|c| c.collation()),
    }
}

/// Binds SELECT items against the innermost scope.
pub(super) fn bind_projection(
    p: &mut Planner<'_>,
    items: &[SelectItem],
) -> Result<(Vec<Expr>, Vec<OutputColumn>)> {
    let mut exprs = Vec::new();
    let mut cols = Vec::new();
    for item in items {
        match item {
            SelectItem::UnnamedExpr(e) => {
                let b = p.bind_expr(e)?;
                let name = match e {
                    ast::Expr::Identifier(id) => id.value.clone(),
                    ast::Expr::CompoundIdentifier(parts) => {
                        parts.last().map(|i| i.value.clone()).unwrap_or_default()
                    }
                    other => other.to_string(),
                };
                cols.push(OutputColumn {
                    name,
                    affinity: affinity_of(p, &b),
                    expr_affinity: affinity_of(p, &b),
                    temporal: super::expr::temporal_of(p, &b),
                    decl_type: super::expr::decl_type_of(p, &b),
                    collation: output_collation(p, &b),
                    expr_collation: collation_of(p, &b),
                    data_types: super::expr::data_types(p, &b),
                });
                exprs.push(b);
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let b = p.bind_expr(expr)?;
                cols.push(OutputColumn {
                    name: alias.value.clone(),
                    affinity: affinity_of(p, &b),
                    expr_affinity: affinity_of(p, &b),
                    temporal: super::expr::temporal_of(p, &b),
                    decl_type: super::expr::decl_type_of(p, &b),
                    collation: output_collation(p, &b),
                    expr_collation: collation_of(p, &b),
                    data_types: super::expr::data_types(p, &b),
                });
                exprs.push(b);
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                let qualifier = match item {
                    SelectItem::QualifiedWildcard(
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                        _,
                    ) => Some(super::table_name(n)?),
                    SelectItem::QualifiedWildcard(..) => {
                        return Err(Error::Unsupported(format!("{item}")))
                    }
                    _ => None,
                };
                let scope = p.scopes.last().cloned().unwrap_or_default();
                let before = exprs.len();
                for (i, c) in scope.columns.iter().enumerate() {
                    let visible = match &qualifier {
                        Some(q) => {
                            c.table
                                .as_deref()
                                .is_some_and(|t| t.eq_ignore_ascii_case(q))
                                && !is_missing_rowid(&c.name)
                                && !c.argument
                        }
                        None => !c.hidden,
                    };
                    if visible && !(c.hidden && qualifier.is_some() && is_rowid_name(&c.name)) {
                        let merged = qualifier.is_none().then(|| scope.merged_column(i));
                        exprs.push(merged.flatten().cloned().unwrap_or(Expr::Column(i)));
                        cols.push(OutputColumn {
                            name: c.name.clone(),
                            affinity: c.affinity,
                            expr_affinity: c.affinity,
                            temporal: c.temporal,
                            decl_type: c.decl_type.clone(),
                            collation: c.collation.filter(|_| !c.rowid),
                            expr_collation: c.collation.map(CollationSource::Column),
                            data_types: match c.affinity {
                                Some(a) if a.is_numeric() => 0x05,
                                Some(Affinity::Text) => 0x06,
                                _ => 0x07,
                            },
                        });
                    }
                }
                if exprs.len() == before {
                    return Err(match qualifier {
                        Some(q) => Error::NoSuchTable(q),
                        None => Error::invalid("no tables specified"),
                    });
                }
            }
            SelectItem::ExprWithAliases { .. } => {
                return Err(Error::Unsupported(format!("{item}")))
            }
        }
    }
    Ok((exprs, cols))
}

fn is_rowid_name(n: &str) -> bool {
    ["rowid", "_rowid_", "oid"]
        .iter()
        .any(|r| n.eq_ignore_ascii_case(r))
}

enum KeyRef {
    Output(usize),
    Input(Expr),
}

/// Rewrites the ORDER BY keys that are expressions over the input rows.
fn map_input_keys(
    keys: Vec<(KeyRef, &ast::OrderByExpr)>,
    mut f: impl FnMut(Expr) -> Expr,
) -> Vec<(KeyRef, &ast::OrderByExpr)> {
    keys.into_iter()
        .map(|(k, ob)| match k {
            KeyRef::Input(e) => (KeyRef::Input(f(e)), ob),
            k => (k, ob),
        })
        .collect()
}

fn plan_select(
    p: &mut Planner<'_>,
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
    limited: bool,
    existence: bool,
) -> Result<(Plan, Vec<OutputColumn>)> {
    let (from, scope) = plan_from(p, &s.from, s.selection.as_ref(), &s.projection)?;
    p.scopes.push(scope);
    let mark = p.named_windows.len();
    for ast::NamedWindowDefinition(name, def) in &s.named_window {
        let spec = match def {
            ast::NamedWindowExpr::WindowSpec(spec) => spec.clone(),
            ast::NamedWindowExpr::NamedWindow(base) => ast::WindowSpec {
                window_name: Some(base.clone()),
                partition_by: Vec::new(),
                order_by: Vec::new(),
                window_frame: None,
            },
        };
        p.named_windows.push((name.value.clone(), spec));
    }
    let r = plan_select_body(p, s, order_by, from, limited, existence);
    p.named_windows.truncate(mark);
    p.scopes.pop();
    let (mut plan, columns) = r?;
    super::prune::prune(&mut plan);
    Ok((plan, columns))
}

fn plan_select_body(
    p: &mut Planner<'_>,
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
    from: BoundFrom,
    limited: bool,
    existence: bool,
) -> Result<(Plan, Vec<OutputColumn>)> {
    let (mut exprs, columns) = bind_projection(p, &s.projection)?;
    // GROUP BY, HAVING and ORDER BY see this level's aliases before any enclosing level's
    // columns.
    let aliases = s
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            _ => None,
        })
        .filter_map(|a| {
            let i = columns.iter().position(|c| c.name == a)?;
            Some((a, exprs[i].clone()))
        })
        .collect();
    p.aliases.push((p.scopes.len() - 1, aliases));
    let bound = bind_grouping_and_keys(p, s, order_by, &exprs, &columns);
    p.aliases.pop();
    let Grouping {
        group_by,
        collated_terms,
        binary_terms,
        mut having,
        mut keys,
        mut key_collations,
    } = bound?;
    if existence {
        // An EXISTS subquery's ORDER BY is bound (its errors stand) and then dropped, as
        // SQLite drops it: an aggregate only it names is never computed and does not make
        // the query an aggregate. A window function there is still computed (SQLite has
        // rewritten it before it drops the ORDER BY); its sort is dropped below.
        keys.retain(|(k, _)| matches!(k, KeyRef::Input(e) if e.has_window()));
    }
    let aggregated = !group_by.is_empty()
        || exprs.iter().any(Expr::has_aggregate)
        || having.as_ref().is_some_and(Expr::has_aggregate)
        || keys
            .iter()
            .any(|(k, _)| matches!(k, KeyRef::Input(e) if e.has_aggregate()));

    let mut moved = Vec::new();
    if !group_by.is_empty() {
        (moved, having) = super::having::move_below_grouping(having, &binary_terms);
    }
    // FROM and WHERE are planned where `plan_relations` bound them, outside this level's
    // scope.
    let scope = p.scopes.pop();
    let planned = from.plan(p, moved);
    p.scopes.extend(scope);
    let mut plan = planned?;
    // Width of the rows window functions are computed over: the FROM row, or the groups'.
    let mut row_width = p.scopes.last().map_or(0, |sc| sc.columns.len());
    if aggregated {
        let mut rw = AggRewriter::new(group_by.clone()).with_collated(collated_terms);
        exprs = exprs.into_iter().map(|e| rw.rewrite(e)).collect();
        having = having.map(|h| rw.rewrite(h));
        keys = map_input_keys(keys, |e| rw.rewrite(e));
        // Correlated subqueries above the grouping read the group's input row, appended
        // after the group keys and aggregates.
        let input_row = exprs.iter().any(Expr::has_correlated_subquery)
            || having.as_ref().is_some_and(Expr::has_correlated_subquery)
            || keys
                .iter()
                .any(|(k, _)| matches!(k, KeyRef::Input(e) if e.has_correlated_subquery()));
        if input_row {
            let by = group_by.len() + rw.aggregates.len();
            exprs = exprs
                .into_iter()
                .map(|e| e.shift_subquery_refs(by))
                .collect();
            having = having.map(|h| h.shift_subquery_refs(by));
            keys = map_input_keys(keys, |e| e.shift_subquery_refs(by));
        }
        row_width = group_by.len() + rw.aggregates.len() + if input_row { row_width } else { 0 };
        plan = Plan::Aggregate {
            input: Box::new(plan),
            group_by,
            aggregates: rw.aggregates,
            input_row,
        };
    } else if having.is_some() {
        return Err(Error::invalid(
            "a GROUP BY clause is required before HAVING",
        ));
    }
    if let Some(h) = having {
        if h.has_window() {
            return Err(Error::invalid("misuse of window function in HAVING"));
        }
        plan = Plan::Filter(Box::new(plan), h);
    }
    let windowed = exprs.iter().any(Expr::has_window)
        || keys
            .iter()
            .any(|(k, _)| matches!(k, KeyRef::Input(e) if e.has_window()));
    if windowed {
        let mut more: Vec<&mut Expr> = keys
            .iter_mut()
            .filter_map(|(k, _)| match k {
                KeyRef::Input(e) => Some(e),
                KeyRef::Output(_) => None,
            })
            .collect();
        plan = super::window::plan_windows(plan, row_width, &mut exprs, &mut more);
    }
    if existence {
        keys.clear();
        key_collations.clear();
        // Only whether a row comes out matters. SQLite computes the aggregates, windows and
        // HAVING that decide the rows, but never the select list itself (nor DISTINCT over
        // it, even under OFFSET), so an error there (an overflow, a failing function) is
        // not raised.
        exprs = vec![Expr::Literal(Value::Integer(1))];
    }
    let visible = exprs.len();
    let mut sort = Vec::new();
    for ((k, ob), collation) in keys.into_iter().zip(key_collations) {
        let e = match k {
            KeyRef::Output(i) => Expr::Column(i),
            KeyRef::Input(e) => {
                exprs.push(e);
                Expr::Column(exprs.len() - 1)
            }
        };
        sort.push(sort_key(collated(e, None, collation), ob));
    }
    let extended = exprs.len() > visible;
    let distinct = !existence && matches!(s.distinct, Some(ast::Distinct::Distinct));
    if sort.is_empty() || distinct {
        let width = exprs.len();
        plan = Plan::Project(Box::new(plan), exprs);
        let collations: Vec<Collation> = (0..width)
            .map(|i| columns.get(i).and_then(|c| c.collation).unwrap_or_default())
            .collect();
        if distinct && collations.iter().any(|c| !c.is_binary()) {
            plan = distinct_collated(plan, &collations);
        } else if distinct {
            plan = Plan::Distinct(Box::new(plan));
        }
        if !sort.is_empty() {
            plan = Plan::Sort(Box::new(plan), sort);
        }
    } else {
        plan = super::order::sorted(plan, exprs, sort, limited);
    }
    if extended {
        plan = Plan::Project(Box::new(plan), (0..visible).map(Expr::Column).collect());
    }
    Ok((plan, columns))
}

/// The GROUP BY terms (with the terms grouped under a collation), HAVING condition and ORDER
/// BY keys (with their collations) of one SELECT, bound over its input row with its result
/// aliases visible (see `Planner::aliases`).
struct Grouping<'o> {
    group_by: Vec<Expr>,
    collated_terms: Vec<Expr>,
    /// The terms grouped under BINARY, as bound (see `having::move_below_grouping`).
    binary_terms: Vec<Expr>,
    having: Option<Expr>,
    keys: Vec<(KeyRef, &'o ast::OrderByExpr)>,
    key_collations: Vec<Collation>,
}

/// Binds [`Grouping`] for `s`.
fn bind_grouping_and_keys<'o>(
    p: &mut Planner<'_>,
    s: &ast::Select,
    order_by: &'o [ast::OrderByExpr],
    exprs: &[Expr],
    columns: &[OutputColumn],
) -> Result<Grouping<'o>> {
    let mut group_by = Vec::new();
    match &s.group_by {
        ast::GroupByExpr::Expressions(list, mods) => {
            if !mods.is_empty() {
                return Err(Error::Unsupported("GROUP BY modifiers".into()));
            }
            for g in list {
                // GROUP BY may name an output column by position or alias.
                let e = match output_position(g, columns) {
                    Ok(Some(i))
                        if !matches!(g, ast::Expr::Identifier(_)) || p.bind_expr(g).is_err() =>
                    {
                        exprs[i].clone()
                    }
                    Err(e) => return Err(e),
                    _ => p.bind_expr(g)?,
                };
                if e.has_aggregate() {
                    return Err(Error::invalid(
                        "aggregate functions are not allowed in the GROUP BY clause",
                    ));
                }
                group_by.push(e);
            }
        }
        ast::GroupByExpr::All(_) => return Err(Error::Unsupported("GROUP BY ALL".into())),
    }
    // A term under NOCASE or RTRIM groups by its collation key; the query still shows the
    // term itself (its group's first value), also where it names the term without COLLATE.
    let mut collated_terms = Vec::new();
    let mut binary_terms = Vec::new();
    let group_by: Vec<Expr> = group_by
        .into_iter()
        .map(|g| match collation_of(p, &g).map(|c| c.collation()) {
            Some(c) if !c.is_binary() => {
                if let Expr::Function(f, args) = &g {
                    if f.marked_collation().is_some() {
                        collated_terms.extend(args.iter().cloned());
                    }
                }
                collated_terms.push(g.clone());
                collated(g, None, c)
            }
            _ => {
                binary_terms.push(g.clone());
                g
            }
        })
        .collect();
    let having = s.having.as_ref().map(|h| p.bind_expr(h)).transpose()?;
    let mut keys = Vec::new();
    let mut explicit_collations = Vec::new();
    for ob in order_by {
        let on_output = collate_on_output(&ob.expr, columns)?;
        explicit_collations.push(on_output.map(|(_, c)| c));
        let position = match on_output {
            Some((i, _)) => Some(i),
            None => output_position(&ob.expr, columns)?,
        };
        let k = match position {
            Some(i) if on_output.is_some() => KeyRef::Output(i),
            Some(i) if !matches!(ob.expr, ast::Expr::Identifier(_)) => KeyRef::Output(i),
            Some(i) => {
                // An alias wins over a same-named input column only if it is not a column.
                match p.bind_expr(&ob.expr) {
                    Ok(e)
                        if exprs.get(i) != Some(&e)
                            && !columns[i].name.eq_ignore_ascii_case(&ob.expr.to_string()) =>
                    {
                        KeyRef::Input(e)
                    }
                    _ => KeyRef::Output(i),
                }
            }
            None => {
                let e = p.bind_expr(&ob.expr)?;
                match exprs.iter().position(|x| *x == e) {
                    Some(i) => KeyRef::Output(i),
                    None => KeyRef::Input(e),
                }
            }
        };
        keys.push((k, ob));
    }
    let key_collations: Vec<Collation> = keys
        .iter()
        .zip(explicit_collations)
        .map(|((k, _), explicit)| match (explicit, k) {
            (Some(c), _) => c,
            (None, KeyRef::Output(i)) => columns[*i].collation.unwrap_or_default(),
            (None, KeyRef::Input(e)) => {
                collation_of(p, e).map_or(Collation::Binary, |c| c.collation())
            }
        })
        .collect();
    Ok(Grouping {
        group_by,
        collated_terms,
        binary_terms,
        having,
        keys,
        key_collations,
    })
}

/// DISTINCT where some columns are under NOCASE or RTRIM: rows are grouped by their columns'
/// collation keys and each group shows its first row, as SQLite's DISTINCT keeps the first.
fn distinct_collated(input: Plan, collations: &[Collation]) -> Plan {
    let n = collations.len();
    let group_by = collations
        .iter()
        .enumerate()
        .map(|(i, c)| collated(Expr::Column(i), None, *c))
        .collect();
    let aggregates = (0..n)
        .map(|i| Expr::Aggregate {
            func: super::super::plan::AggFn::First,
            args: vec![Expr::Column(i)],
            distinct: false,
        })
        .collect();
    let grouped = Plan::Aggregate {
        input: Box::new(input),
        group_by,
        aggregates,
        input_row: false,
    };
    Plan::Project(Box::new(grouped), (n..2 * n).map(Expr::Column).collect())
}

pub(super) enum RelKind {
    Table {
        info: Arc<TableInfo>,
        source: Source,
    },
    Sub(Plan),
    /// A table-valued function; `args` are bound against the combined row in
    /// `plan_relations` (they may read the relations before it, as a lateral join).
    Function {
        function: super::super::plan::TableFunction,
        args: Vec<Expr>,
    },
}

pub(super) struct Relation {
    pub(super) kind: RelKind,
    pub(super) alias: String,
    pub(super) columns: Vec<ScopeColumn>,
    pub(super) join: JoinKind,
    on: Option<ast::Expr>,
    using: Vec<String>,
    natural: bool,
    /// A table-valued function's arguments, bound once the FROM clause's row is known.
    function_args: Vec<ast::Expr>,
}

impl Relation {
    /// Relations already joined (a RIGHT or FULL join and what it joins, or a parenthesised
    /// join), as one relation of the joins around it; `columns` are theirs, in FROM order.
    pub(super) fn joined(plan: Plan, columns: Vec<ScopeColumn>) -> Self {
        Relation {
            kind: RelKind::Sub(plan),
            alias: String::new(),
            columns,
            join: JoinKind::Inner,
            on: None,
            using: Vec::new(),
            natural: false,
            function_args: Vec::new(),
        }
    }
}

/// The name of a WITHOUT ROWID table's hidden slot: no SQL identifier spells it, so the
/// rowid's names resolve past it (to an enclosing query's table), as in SQLite.
const NO_ROWID: &str = "\0no rowid";
/// The start of the hidden slot's name for a rowid table keyed by a PRIMARY KEY other than an
/// INTEGER PRIMARY KEY, followed by the table's name: SQLite gives such a table a rowid,
/// HeliosDB-Lite keys its rows by the key and keeps none (README). The rowid's names do
/// resolve to this slot, and resolving there is an error that says so
/// ([`keyed_table_rowid`]), never a NULL nor another table's rowid.
const KEYED_BY_PRIMARY_KEY: &str = "\0keyed by its primary key:";

/// The start of the hidden slot's name for a system table that has a rowid in SQLite but none
/// here (`sqlite_schema`), followed by its name: as for [`KEYED_BY_PRIMARY_KEY`], the rowid's
/// names stop there with an error, not at an enclosing query's rowid.
const SYSTEM_NO_ROWID: &str = "\0system table:";

/// The start of the name of a table-valued function's argument column whose argument was not
/// given, followed by `function:column`: naming it is an error ([`slot_error`]).
const MISSING_ARGUMENT: &str = "\0argument not given:";

/// The function and argument column of a slot of an argument not given.
pub(super) fn missing_argument(c: &ScopeColumn) -> Option<(&str, &str)> {
    c.name.strip_prefix(MISSING_ARGUMENT)?.rsplit_once(':')
}

/// True for the hidden slot of a table that has no rowid.
fn is_missing_rowid(name: &str) -> bool {
    name.starts_with('\0')
}

/// True for the slot of a relation that has a rowid in SQLite but none here: the rowid's
/// names resolve to it, and resolving there is an error ([`slot_error`]).
pub(super) fn is_rowid_error_slot(c: &ScopeColumn) -> bool {
    c.name.starts_with(KEYED_BY_PRIMARY_KEY) || c.name.starts_with(SYSTEM_NO_ROWID)
}

/// The error for naming (as `shown`) slot `c`, if naming it is one: the rowid of a relation
/// that has one in SQLite but none here, or an argument column whose argument was not given.
pub(super) fn slot_error(c: &ScopeColumn, shown: &str) -> Option<Error> {
    if let Some((function, column)) = missing_argument(c) {
        return Some(Error::invalid(format!(
            "{shown}: the {column} argument of {function}() was not given; give it in the \
             parentheses: a constraint on {column} does not pass it here, as it does in SQLite"
        )));
    }
    if let Some(table) = c.name.strip_prefix(KEYED_BY_PRIMARY_KEY) {
        return Some(keyed_rowid_error(table, shown));
    }
    c.name.strip_prefix(SYSTEM_NO_ROWID).map(|table| {
        Error::NoSuchColumn(format!(
            "{shown} ({table} has no rowid in HeliosDB-Lite, where SQLite numbers its rows)"
        ))
    })
}

/// The error for naming the rowid of `table`, a rowid table keyed by its PRIMARY KEY.
pub(crate) fn keyed_rowid_error(table: &str, name: &str) -> Error {
    Error::NoSuchColumn(format!(
        "{name} (table {table} is keyed by its PRIMARY KEY and has no rowid in HeliosDB-Lite, \
         where SQLite gives it one; read the key instead, or declare an INTEGER PRIMARY KEY \
         without DESC)"
    ))
}

/// The columns of a table relation: its columns plus the hidden rowid.
pub fn table_scope_columns(info: &TableInfo, alias: &str) -> Vec<ScopeColumn> {
    let mut cols: Vec<ScopeColumn> = info
        .def
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ScopeColumn {
            table: Some(alias.to_lowercase()),
            name: c.name.clone(),
            hidden: false,
            argument: false,
            affinity: Some(c.affinity),
            temporal: crate::sql::value::is_temporal_type(&c.type_name),
            decl_type: (!c.type_name.is_empty()).then(|| c.type_name.clone()),
            collation: Some(c.collation),
            rowid: info.def.rowid_column == Some(i),
        })
        .collect();
    // A table with no rowid keeps the slot (rows have one past their columns) under a name
    // no SQL identifier spells, so `rowid` there is "no such column", as in SQLite for
    // WITHOUT ROWID.
    let name = match (info.def.has_rowid(), info.def.without_rowid) {
        (true, _) => "rowid".into(),
        (false, true) => NO_ROWID.into(),
        (false, false) => format!("{KEYED_BY_PRIMARY_KEY}{}", info.def.name),
    };
    cols.push(rowid_slot(alias.to_lowercase(), name));
    cols
}

/// The hidden rowid slot of relation `table` (lower case), last in its scope columns.
fn rowid_slot(table: String, name: String) -> ScopeColumn {
    ScopeColumn {
        table: Some(table),
        name,
        hidden: true,
        argument: false,
        affinity: Some(Affinity::Integer),
        temporal: false,
        // What SQLite reports for a view column selecting the rowid.
        decl_type: Some("INTEGER".to_string()),
        collation: Some(Collation::Binary),
        rowid: true,
    }
}

/// Decodes `helios_as_of('mode', expr)` into a point.
fn as_of_point(p: &mut Planner<'_>, e: &ast::Expr) -> Result<AsOf> {
    let ast::Expr::Function(f) = e else {
        return Err(Error::invalid(format!("invalid time-travel point {e}")));
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(Error::invalid(format!("invalid time-travel point {e}")));
    };
    let arg = |i: usize| match list.args.get(i) {
        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))) => Ok(x),
        _ => Err(Error::invalid(format!("invalid time-travel point {e}"))),
    };
    let mode = match arg(0)? {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => TimeTravelMode::from_name(s),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| Error::invalid(format!("invalid time-travel point {e}")))?;
    let bound = p.bind_constant(arg(1)?)?;
    let value = p.eval_constant(&bound)?;
    let point = as_of_from_value(mode, &value)?;
    p.time_travel.push((mode, bound));
    Ok(point)
}

/// Turns the value of a time-travel clause into a point.
pub fn as_of_from_value(mode: TimeTravelMode, value: &Value) -> Result<AsOf> {
    let integer = |what: &str| -> Result<u64> {
        let n = match value {
            Value::Integer(i) => Some(*i),
            Value::Text(t) => t.trim().parse::<i64>().ok(),
            Value::Real(r) if r.fract() == 0.0 => Some(*r as i64),
            _ => None,
        };
        n.and_then(|n| u64::try_from(n).ok()).ok_or_else(|| {
            Error::invalid(format!(
                "AS OF {what} needs a non-negative integer, got {}",
                value_for_message(value)
            ))
        })
    };
    Ok(match mode {
        TimeTravelMode::Timestamp => AsOf::Timestamp(match value {
            Value::Text(t) => crate::time::parse_timestamp(t)?,
            Value::Integer(i) => i
                .checked_mul(1_000_000)
                .ok_or_else(|| Error::invalid(format!("AS OF TIMESTAMP {i} is out of range")))?,
            Value::Real(r) if r.is_finite() && r.abs() < 9.0e12 => (r * 1e6) as i64,
            other => {
                return Err(Error::invalid(format!(
                    "AS OF TIMESTAMP needs a timestamp, got {}",
                    value_for_message(other)
                )))
            }
        }),
        TimeTravelMode::Transaction => AsOf::Transaction(integer("TRANSACTION")?),
        TimeTravelMode::BeforeTransaction => {
            AsOf::BeforeTransaction(integer("BEFORE TRANSACTION")?)
        }
        TimeTravelMode::Scn => AsOf::Scn(integer("SCN")?),
    })
}

fn value_for_message(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(t) => format!("'{t}'"),
        Value::Blob(_) => "a blob".into(),
        other => other.to_string(),
    }
}

fn resolve_relation(p: &mut Planner<'_>, factor: &TableFactor) -> Result<Relation> {
    let rel = |kind, alias: String, columns| Relation {
        kind,
        alias,
        columns,
        join: JoinKind::Inner,
        on: None,
        using: Vec::new(),
        natural: false,
        function_args: Vec::new(),
    };
    match factor {
        TableFactor::Table {
            name,
            alias,
            version,
            args,
            ..
        } => {
            let tname = super::table_name(name)?;
            if let Some(args) = args {
                return function_relation(p, &tname, alias.as_ref(), version.is_some(), args);
            }
            let alias_name = alias
                .as_ref()
                .map_or_else(|| tname.clone(), |a| a.name.value.clone());
            let (source, schema, point) = match version {
                Some(ast::TableVersion::ForSystemTimeAsOf(e)) => {
                    let point = as_of_point(p, e)?;
                    let (source, schema) = p.history.resolve(point.clone())?;
                    (source, schema, Some(point))
                }
                Some(other) => return Err(Error::Unsupported(format!("{other}"))),
                // helios_snapshots (a reserved name) has no history: a statement's default
                // point (unless a session's) leaves it alone, as it would refuse a clause.
                None if p.default_point.is_none()
                    && tname.eq_ignore_ascii_case(crate::sql::catalog::SNAPSHOTS_TABLE) =>
                {
                    (Source::Current, p.schema.clone(), None)
                }
                None => {
                    let (source, schema) = statement_point(p)?;
                    (source, schema, None)
                }
            };
            if tname.eq_ignore_ascii_case(crate::sql::catalog::SNAPSHOTS_TABLE)
                && p.schema.table(&tname).is_none()
            {
                if point.is_some() {
                    return Err(crate::sql::catalog::snapshots_have_no_history());
                }
                p.cacheable = false;
                return Ok(rel(
                    RelKind::Sub(snapshots_plan(p)),
                    alias_name.clone(),
                    ["scn", "txn_id", "committed_at"]
                        .iter()
                        .map(|n| ScopeColumn {
                            table: Some(alias_name.to_lowercase()),
                            name: n.to_string(),
                            hidden: false,
                            argument: false,
                            affinity: None,
                            temporal: *n == "committed_at",
                            decl_type: None,
                            collation: None,
                            rowid: false,
                        })
                        .collect(),
                ));
            }
            // A schema PRAGMA's function named bare (`FROM pragma_table_list`), as SQLite
            // allows, unless a table, view or CTE takes the name.
            if crate::sql::pragma_info::is_table_valued(&tname)
                && schema.table(&tname).is_none()
                && schema.view(&tname).is_none()
                && !p.ctes.iter().any(|(n, _)| n.eq_ignore_ascii_case(&tname))
            {
                let no_args = ast::TableFunctionArgs {
                    args: Vec::new(),
                    settings: None,
                };
                return function_relation(p, &tname, alias.as_ref(), point.is_some(), &no_args);
            }
            if crate::sql::sqlite_master::is_schema_table(&tname) && schema.table(&tname).is_none()
            {
                return Ok(schema_table_relation(p, &schema, alias_name));
            }
            if point.is_none() {
                if let Some((_, cte)) = p
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&tname))
                    .cloned()
                {
                    if cte.working.is_some() {
                        p.working_refs += 1;
                    }
                    let columns = cte
                        .columns
                        .iter()
                        .map(|c| ScopeColumn {
                            table: Some(alias_name.to_lowercase()),
                            name: c.name.clone(),
                            hidden: false,
                            argument: false,
                            affinity: c.affinity,
                            temporal: c.temporal,
                            decl_type: c.decl_type.clone(),
                            collation: read_collation(c.collation),
                            rowid: false,
                        })
                        .collect();
                    return Ok(rel(RelKind::Sub(cte.plan.clone()), alias_name, columns));
                }
            }
            if let Some(info) = schema.table(&tname) {
                let columns = table_scope_columns(info, &alias_name);
                return Ok(rel(
                    RelKind::Table {
                        info: info.clone(),
                        source,
                    },
                    alias_name,
                    columns,
                ));
            }
            if let Some(view) = schema.view(&tname).cloned() {
                let (plan, cols) = expand_view(p, &view, source, &schema)?;
                let columns = cols
                    .into_iter()
                    .map(|c| ScopeColumn {
                        table: Some(alias_name.to_lowercase()),
                        name: c.name,
                        hidden: false,
                        argument: false,
                        affinity: c.affinity,
                        temporal: c.temporal,
                        decl_type: c.decl_type,
                        collation: read_collation(c.collation),
                        rowid: false,
                    })
                    .collect();
                return Ok(rel(RelKind::Sub(plan), alias_name, columns));
            }
            match point {
                Some(point)
                    if p.schema.table(&tname).is_some() || p.schema.view(&tname).is_some() =>
                {
                    Err(Error::TableNotAtPoint {
                        table: tname,
                        point: point.to_string(),
                    })
                }
                _ => Err(Error::NoSuchTable(tname)),
            }
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let (plan, mut cols) = p.plan_query(subquery)?;
            let plan = read_as_table(plan, &cols, subquery);
            let alias_name = alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .unwrap_or_default();
            if let Some(a) = alias {
                rename(
                    &mut cols,
                    &a.columns
                        .iter()
                        .map(|c| c.name.value.clone())
                        .collect::<Vec<_>>(),
                )?;
            }
            let id = p.new_id();
            let columns = cols
                .into_iter()
                .map(|c| ScopeColumn {
                    table: (!alias_name.is_empty()).then(|| alias_name.to_lowercase()),
                    name: c.name,
                    hidden: false,
                    argument: false,
                    affinity: c.affinity,
                    temporal: c.temporal,
                    decl_type: c.decl_type,
                    collation: read_collation(c.collation),
                    rowid: false,
                })
                .collect();
            Ok(rel(
                RelKind::Sub(Plan::Materialize {
                    id,
                    input: Box::new(plan),
                    hint: Default::default(),
                }),
                alias_name,
                columns,
            ))
        }
        other => Err(Error::Unsupported(format!("FROM item {other}"))),
    }
}

/// A table-valued function in FROM (`json_each(doc, '$.a') AS j`); its arguments are bound
/// later, against the FROM clause's row.
fn function_relation(
    p: &mut Planner<'_>,
    name: &str,
    alias: Option<&ast::TableAlias>,
    versioned: bool,
    args: &ast::TableFunctionArgs,
) -> Result<Relation> {
    use super::super::functions::json::each;
    use super::super::plan::TableFunction;
    use super::super::pragma_info::PragmaTable;
    let is_pragma = super::super::pragma_info::is_table_valued(name);
    // A PRAGMA describes the schema the statement reads (its default point's, if any).
    let pragma = match is_pragma {
        true => {
            let (_, schema) = statement_point(p)?;
            PragmaTable::new(&schema, name, &|v| p.history.view_columns(&schema, v))
        }
        false => None,
    };
    // Its result columns, then the hidden ones its arguments fill.
    let (function, names, max): (TableFunction, Vec<&str>, usize) = match pragma {
        Some(t) => {
            let arguments = t.arguments();
            let names = t.columns.iter().chain(arguments).copied().collect();
            (TableFunction::Pragma(Arc::new(t)), names, arguments.len())
        }
        // SQLite names an unknown one as it names an unknown table.
        None => (
            TableFunction::from_name(name).ok_or_else(|| Error::NoSuchTable(name.to_string()))?,
            each::COLUMNS.to_vec(),
            each::HIDDEN_COLUMNS,
        ),
    };
    if versioned {
        return Err(Error::invalid(format!(
            "{name}() is a function, not a table: it has no AS OF (read the tables its arguments come from AS OF instead)"
        )));
    }
    if args.args.len() > max {
        return Err(Error::invalid(format!(
            "too many arguments on {name}() - max {max}"
        )));
    }
    let mut exprs = Vec::with_capacity(args.args.len());
    for a in &args.args {
        match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e.clone()),
            other => {
                return Err(Error::invalid(format!(
                    "{name}() takes plain arguments, not {other}"
                )))
            }
        }
    }
    let alias_name = alias.map_or_else(|| name.to_string(), |a| a.name.value.clone());
    let table = alias_name.to_lowercase();
    let hidden_from = names.len() - max;
    let mut columns: Vec<ScopeColumn> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ScopeColumn {
            table: Some(table.clone()),
            // A PRAGMA's argument not given is an error to name: SQLite takes a constraint on
            // it (`WHERE arg = 't'`) as the argument, which would here find no rows silently.
            // (JSON's `root` not given reads '$', as in SQLite.)
            name: match i.checked_sub(hidden_from) {
                Some(a) if a >= exprs.len() && is_pragma => {
                    format!("{MISSING_ARGUMENT}{name}:{n}")
                }
                _ => n.to_string(),
            },
            hidden: i >= hidden_from,
            argument: i >= hidden_from,
            // SQLite declares these columns without a type (`CREATE TABLE x(key, value, ...)`,
            // a PRAGMA's likewise), so they have BLOB affinity, not an expression's "none": a
            // TEXT column compared with `value` does not convert the JSON number 7 to '7'.
            affinity: Some(Affinity::Blob),
            temporal: false,
            decl_type: None,
            collation: Some(Collation::Binary),
            rowid: false,
        })
        .collect();
    if let Some(a) = alias {
        let names: Vec<String> = a.columns.iter().map(|c| c.name.value.clone()).collect();
        if names.len() > hidden_from {
            return Err(Error::invalid(format!(
                "{alias_name} has {hidden_from} columns but {} column names were given",
                names.len()
            )));
        }
        for (c, n) in columns.iter_mut().zip(names) {
            c.name = n;
        }
    }
    // Its rows are numbered by a rowid (from 0 for JSON, from 1 for a PRAGMA), as a virtual
    // table's are in SQLite: so `rowid` beside another table's is ambiguous there too.
    columns.push(rowid_slot(table, "rowid".into()));
    Ok(Relation {
        kind: RelKind::Function {
            function,
            args: Vec::new(),
        },
        alias: alias_name,
        columns,
        join: JoinKind::Inner,
        on: None,
        using: Vec::new(),
        natural: false,
        function_args: exprs,
    })
}

/// WHERE's conjuncts, each relation's ON conjuncts, and each relation's bound
/// table-valued-function arguments.
type BoundClauses = (Vec<Expr>, Vec<Vec<Expr>>, Vec<Vec<Expr>>);

/// Expands a view; with a time-travel source every table inside reads at that point.
fn expand_view(
    p: &mut Planner<'_>,
    view: &super::super::catalog::ViewDef,
    source: Source,
    schema: &Arc<Schema>,
) -> Result<(Plan, Vec<OutputColumn>)> {
    let key = view.name.to_lowercase();
    if p.expanding_views.contains(&key) {
        return Err(Error::invalid(format!(
            "view {} refers to itself",
            view.name
        )));
    }
    let parsed = super::super::parser::parse(&view.query)?;
    let Some(super::super::parser::Parsed::Sql(stmt)) = parsed.first().map(|s| &s.statement) else {
        return Err(Error::corruption(format!(
            "view {} has no query",
            view.name
        )));
    };
    let ast::Statement::Query(q) = stmt.as_ref() else {
        return Err(Error::corruption(format!(
            "view {} is not a query",
            view.name
        )));
    };
    p.expanding_views.push(key);
    // Inside a view read at a past point, every table reads at that point.
    let saved = p.default_point.clone();
    if source != Source::Current {
        p.default_point = Some((source, schema.clone()));
    }
    let r = p.plan_query(q);
    p.default_point = saved;
    p.expanding_views.pop();
    let (plan, mut cols) = r?;
    let plan = read_as_table(plan, &cols, q);
    rename(&mut cols, &view.columns)?;
    let id = p.new_id();
    Ok((
        Plan::Materialize {
            id,
            input: Box::new(plan),
            hint: Default::default(),
        },
        cols,
    ))
}

pub(super) fn split_conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            split_conjuncts(*a, out);
            split_conjuncts(*b, out);
        }
        e => out.push(e),
    }
}

pub(super) fn and_all(mut v: Vec<Expr>) -> Option<Expr> {
    let first = if v.is_empty() {
        return None;
    } else {
        v.remove(0)
    };
    Some(
        v.into_iter()
            .fold(first, |a, b| Expr::And(Box::new(a), Box::new(b))),
    )
}

/// Binds FROM and WHERE: returns them ready to plan and the scope naming their columns.
fn plan_from(
    p: &mut Planner<'_>,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
    projection: &[SelectItem],
) -> Result<(BoundFrom, Scope)> {
    let mut rels: Vec<Relation> = Vec::new();
    for twj in from {
        add_relations(p, twj, &mut rels)?;
    }
    plan_relations(p, rels, selection, projection)
}

/// Binds WHERE / ON (`bind`) in the newest scope with the result aliases of `projection`
/// usable, as SQLite allows (`SELECT a + 1 AS b FROM t WHERE b > 2`): a bare name that no
/// FROM column has is looked up among them before any enclosing level's columns.
fn with_where_aliases<T>(
    p: &mut Planner<'_>,
    projection: &[SelectItem],
    bind: impl FnOnce(&mut Planner<'_>) -> Result<T>,
) -> Result<T> {
    let level = p.scopes.len() - 1;
    let list = projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { expr, alias } => Some((alias.value.clone(), expr.clone())),
            _ => None,
        })
        .collect();
    p.where_aliases.push((level, list));
    p.aliases.push((level, Vec::new()));
    let r = bind(p);
    p.aliases.pop();
    p.where_aliases.pop();
    r
}

/// True if a join list has a RIGHT or FULL join (at any depth), which pads the rows of the
/// relations before it.
fn pads_left(twj: &ast::TableWithJoins) -> bool {
    use ast::JoinOperator as J;
    let nested = |f: &TableFactor| match f {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => pads_left(table_with_joins),
        _ => false,
    };
    nested(&twj.relation)
        || twj.joins.iter().any(|j| {
            matches!(
                j.join_operator,
                J::Right(_) | J::RightOuter(_) | J::FullOuter(_)
            ) || nested(&j.relation)
        })
}

/// A parenthesised join as one relation: planned on its own, its columns keeping their
/// tables' names.
fn nested_relation(p: &mut Planner<'_>, twj: &ast::TableWithJoins) -> Result<Relation> {
    let mut inner = Vec::new();
    add_relations(p, twj, &mut inner)?;
    let (from, scope) = plan_relations(p, inner, None, &[])?;
    Ok(Relation::joined(from.plan(p, Vec::new())?, scope.columns))
}

/// Appends the relations of `a JOIN b ...` (flattening parenthesised joins where that keeps
/// their meaning).
fn add_relations(
    p: &mut Planner<'_>,
    twj: &ast::TableWithJoins,
    rels: &mut Vec<Relation>,
) -> Result<()> {
    {
        match &twj.relation {
            // The first relation of all, or a parenthesised join that pads nothing before it:
            // part of the chain (`a, (b JOIN c)` is `a, b JOIN c`).
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } if rels.is_empty() || !pads_left(table_with_joins) => {
                add_relations(p, table_with_joins, rels)?
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => rels.push(nested_relation(p, table_with_joins)?),
            other => {
                let mut r = resolve_relation(p, other)?;
                r.join = JoinKind::Inner;
                rels.push(r);
            }
        }
        for j in &twj.joins {
            let mut r = match &j.relation {
                TableFactor::NestedJoin {
                    table_with_joins,
                    alias: None,
                } if matches!(
                    j.join_operator,
                    ast::JoinOperator::CrossJoin(ast::JoinConstraint::None)
                        | ast::JoinOperator::Join(ast::JoinConstraint::None)
                        | ast::JoinOperator::Inner(ast::JoinConstraint::None)
                ) && !pads_left(table_with_joins) =>
                {
                    // `a JOIN (b LEFT JOIN c ON ...)` is `(a JOIN b) LEFT JOIN c`; not so
                    // with a RIGHT or FULL join inside, which would pad `a` too.
                    add_relations(p, table_with_joins, rels)?;
                    continue;
                }
                TableFactor::NestedJoin {
                    table_with_joins,
                    alias: None,
                } => nested_relation(p, table_with_joins)?,
                other => resolve_relation(p, other)?,
            };
            use ast::JoinOperator as J;
            let (kind, constraint) = match &j.join_operator {
                J::Join(c) | J::Inner(c) | J::CrossJoin(c) => (JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                J::FullOuter(c) => (JoinKind::Full, c),
                other => return Err(crate::sql::parser::unsupported_join(other)),
            };
            r.join = kind;
            match constraint {
                ast::JoinConstraint::On(e) => r.on = Some(e.clone()),
                ast::JoinConstraint::Using(names) => {
                    r.using = names
                        .iter()
                        .map(super::table_name)
                        .collect::<Result<Vec<_>>>()?
                }
                ast::JoinConstraint::Natural => r.natural = true,
                ast::JoinConstraint::None => {}
                _ => {
                    return Err(Error::Unsupported(
                        "this join condition; use ON or USING".into(),
                    ))
                }
            }
            rels.push(r);
        }
    }
    Ok(())
}

fn plan_relations(
    p: &mut Planner<'_>,
    mut rels: Vec<Relation>,
    selection: Option<&ast::Expr>,
    projection: &[SelectItem],
) -> Result<(BoundFrom, Scope)> {
    if rels.is_empty() {
        let mut wheres = Vec::new();
        if let Some(sel) = selection {
            p.scopes.push(Scope::default());
            let w = with_where_aliases(p, projection, |p| p.bind_expr(sel));
            p.scopes.pop();
            let w = w?;
            if w.has_aggregate() {
                return Err(Error::invalid("misuse of aggregate function in WHERE"));
            }
            wheres.push(w);
        }
        let from = BoundFrom {
            rels,
            offsets: Vec::new(),
            width: 0,
            wheres,
            ons: Vec::new(),
        };
        return Ok((from, Scope::default()));
    }
    // USING / NATURAL: equalities, and the right-hand column hides behind the left one.
    let mut offsets = Vec::with_capacity(rels.len());
    let mut scope = Scope::default();
    let mut join_conds: Vec<Vec<(usize, Expr, usize)>> = vec![Vec::new(); rels.len()];
    let mut merged_now = Vec::new();
    for (k, r) in rels.iter_mut().enumerate() {
        offsets.push(scope.columns.len());
        let mut names = r.using.clone();
        if r.natural {
            for c in &r.columns {
                if !c.hidden
                    && scope
                        .columns
                        .iter()
                        .any(|s| !s.hidden && s.name.eq_ignore_ascii_case(&c.name))
                {
                    names.push(c.name.clone());
                }
            }
        }
        for name in &names {
            let left = scope
                .columns
                .iter()
                .position(|s| !s.hidden && s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::NoSuchColumn(name.clone()))?;
            let right = r
                .columns
                .iter()
                .position(|s| !s.hidden && s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::NoSuchColumn(name.clone()))?;
            r.columns[right].hidden = true;
            let right = offsets[k] + right;
            let left_expr = scope
                .merged_column(left)
                .cloned()
                .unwrap_or(Expr::Column(left));
            join_conds[k].push((left, left_expr.clone(), right));
            // The name now stands for the right column (RIGHT) or the first non-NULL of
            // both (FULL); the condition above still compares what it stood for before.
            let merged = match r.join {
                JoinKind::Right => Some(Expr::Column(right)),
                JoinKind::Full => Some(Expr::Function(
                    super::super::functions::ScalarFn::Coalesce,
                    vec![left_expr, Expr::Column(right)],
                )),
                _ => None,
            };
            if let Some(m) = merged {
                merged_now.push((left, m));
            }
        }
        for (c, e) in merged_now.drain(..) {
            scope.merged.retain(|(m, _)| *m != c);
            scope.merged.push((c, e));
        }
        scope.columns.extend(r.columns.iter().cloned());
    }
    // Bind WHERE and ON against the combined row.
    p.scopes.push(scope.clone());
    let bound = with_where_aliases(
        p,
        projection,
        |p: &mut Planner<'_>| -> Result<BoundClauses> {
            let mut wheres = Vec::new();
            if let Some(sel) = selection {
                let w = p.bind_expr(sel)?;
                if w.has_aggregate() {
                    return Err(Error::invalid("misuse of aggregate function in WHERE"));
                }
                split_conjuncts(w, &mut wheres);
            }
            let mut ons = Vec::new();
            for (k, r) in rels.iter().enumerate() {
                let mut v = Vec::new();
                if let Some(on) = &r.on {
                    let e = p.bind_expr(on)?;
                    if e.has_aggregate() {
                        return Err(Error::invalid("misuse of aggregate function in ON"));
                    }
                    // An outer join's ON decides its matches when it joins: it cannot wait
                    // for a table listed after it (SQLite refuses it too).
                    let end = offsets[k] + r.columns.len();
                    if r.join != JoinKind::Inner && e.columns().iter().any(|&c| c >= end) {
                        return Err(Error::invalid("ON clause references tables to its right"));
                    }
                    split_conjuncts(e, &mut v);
                }
                for (l, left_expr, rr) in &join_conds[k] {
                    let (l, rr) = (*l, *rr);
                    let (la, ra) = comparison_affinities(
                        scope.columns[l].affinity,
                        scope.columns[rr].affinity,
                    );
                    // Two columns: the left one's collation decides.
                    let collation = scope.columns[l]
                        .collation
                        .or(scope.columns[rr].collation)
                        .unwrap_or_default();
                    v.push(if collation.is_binary() {
                        Expr::Compare {
                            op: super::super::plan::CmpOp::Eq,
                            left: Box::new(left_expr.clone()),
                            right: Box::new(Expr::Column(rr)),
                            left_aff: la,
                            right_aff: ra,
                        }
                    } else {
                        Expr::Compare {
                            op: super::super::plan::CmpOp::Eq,
                            left: Box::new(collated(left_expr.clone(), la, collation)),
                            right: Box::new(collated(Expr::Column(rr), ra, collation)),
                            left_aff: None,
                            right_aff: None,
                        }
                    });
                }
                ons.push(v);
            }
            let mut function_args = Vec::with_capacity(rels.len());
            for r in &rels {
                let args = r
                    .function_args
                    .iter()
                    .map(|a| p.bind_expr(a))
                    .collect::<Result<Vec<_>>>()?;
                if args.iter().any(|a| a.has_aggregate()) {
                    return Err(Error::invalid(format!(
                        "misuse of aggregate function in the arguments of {}",
                        r.alias
                    )));
                }
                function_args.push(args);
            }
            Ok((wheres, ons, function_args))
        },
    );
    p.scopes.pop();
    let (wheres, ons, function_args) = bound?;
    for (k, (r, bound)) in rels.iter_mut().zip(function_args).enumerate() {
        if let RelKind::Function { args, .. } = &mut r.kind {
            // A function's arguments come from the relations around it, not its own rows.
            let own = offsets[k]..offsets[k] + r.columns.len();
            if bound
                .iter()
                .any(|a| a.columns().iter().any(|c| own.contains(c)))
            {
                return Err(Error::invalid(format!(
                    "the arguments of {} read its own columns",
                    r.alias
                )));
            }
            *args = bound;
        }
    }
    let from = BoundFrom {
        rels,
        offsets,
        width: scope.columns.len(),
        wheres,
        ons,
    };
    Ok((from, scope))
}

/// FROM and WHERE bound (see `plan_relations`), not yet planned: the planner of a GROUP BY
/// query adds the HAVING conjuncts it moves below the grouping first (`having.rs`).
pub(super) struct BoundFrom {
    rels: Vec<Relation>,
    /// Where each relation's columns begin in the combined row.
    offsets: Vec<usize>,
    /// Width of the combined row.
    width: usize,
    /// WHERE's conjuncts (a FROM-less SELECT's WHERE whole).
    wheres: Vec<Expr>,
    /// Each relation's ON conjuncts, with its USING / NATURAL equalities.
    ons: Vec<Vec<Expr>>,
}

impl BoundFrom {
    /// Plans the joined, filtered rows, with `having`, conjuncts moved from HAVING, as more
    /// WHERE terms (after the WHERE terms proper have simplified the outer joins).
    fn plan(self, p: &mut Planner<'_>, having: Vec<Expr>) -> Result<Plan> {
        let BoundFrom {
            mut rels,
            offsets,
            width,
            wheres,
            ons,
        } = self;
        if rels.is_empty() {
            let plan = Plan::Values(vec![vec![]]);
            return Ok(match and_all(wheres.into_iter().chain(having).collect()) {
                Some(w) => Plan::Filter(Box::new(plan), w),
                None => plan,
            });
        }
        if rels.len() > 1 {
            return super::outer_join::plan_joins(p, rels, &offsets, width, wheres, having, ons);
        }
        // One relation: every conjunct runs inside its scan, but for EXISTS that become semi
        // joins above it.
        let mut conj = Vec::new();
        let mut semis = Vec::new();
        for c in wheres {
            match super::decorrelate::semi_join(&c) {
                Some(s) => semis.push(s),
                None => conj.push(c),
            }
        }
        conj.extend(having);
        conj.extend(ons.into_iter().flatten());
        correlated_last(&mut conj);
        let r = rels.pop().expect("one relation");
        let plan = match r.kind {
            RelKind::Table { info, source } => {
                Plan::Scan(Box::new(access::filtered_scan(info, r.alias, source, conj)))
            }
            RelKind::Sub(sub) => super::push_down::filtered(sub, conj, &p.shared_ids),
            RelKind::Function { function, args } => {
                let plan = Plan::TableFunction { function, args };
                match and_all(conj) {
                    Some(f) => Plan::Filter(Box::new(plan), f),
                    None => plan,
                }
            }
        };
        Ok(semis.into_iter().fold(plan, |plan, s| s.apply(plan, 0.0)))
    }
}

/// Moves the conjuncts holding a correlated subquery after the others, keeping each group's
/// order: SQLite codes such terms last (wherecode.c), so a row another term rejects never
/// runs the subquery, and an error or a long search inside it never happens.
pub(super) fn correlated_last(conjuncts: &mut [Expr]) {
    conjuncts.sort_by_key(Expr::has_correlated_subquery);
}

/// Where a table reference without a time-travel clause reads, and the schema it sees: the
/// statement's default point, if it has one.
fn statement_point(p: &mut Planner<'_>) -> Result<(Source, Arc<Schema>)> {
    Ok(match &p.default_point {
        Some((source, schema)) => (*source, schema.clone()),
        None => match p.statement_source()? {
            Some(found) => found,
            None => (Source::Current, p.schema.clone()),
        },
    })
}

/// `sqlite_master` / `sqlite_schema` of the schema a table reference sees.
fn schema_table_relation(p: &mut Planner<'_>, schema: &Schema, alias: String) -> Relation {
    use crate::sql::sqlite_master;
    p.cacheable = false;
    // Each row ends with the value of the rowid slot below, which no query reads.
    let rows = sqlite_master::rows(schema)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .chain([Value::Null])
                .map(Expr::Literal)
                .collect()
        })
        .collect();
    let mut columns: Vec<ScopeColumn> = sqlite_master::COLUMNS
        .iter()
        .map(|(n, a)| ScopeColumn {
            table: Some(alias.to_lowercase()),
            name: n.to_string(),
            hidden: false,
            argument: false,
            affinity: Some(*a),
            temporal: false,
            decl_type: None,
            // Declared columns of a table in SQLite: BINARY, which stops a compound's search.
            collation: Some(Collation::Binary),
            rowid: false,
        })
        .collect();
    // SQLite numbers its rows by the order its entries were written, which the catalog does
    // not keep: naming the rowid is an error, never an enclosing query's rowid.
    columns.push(rowid_slot(
        alias.to_lowercase(),
        format!("{SYSTEM_NO_ROWID}sqlite_schema"),
    ));
    Relation {
        kind: RelKind::Sub(Plan::Values(rows)),
        alias,
        columns,
        join: JoinKind::Inner,
        on: None,
        using: Vec::new(),
        natural: false,
        function_args: Vec::new(),
    }
}

/// The `helios_snapshots` system table: one row per retained snapshot.
fn snapshots_plan(p: &Planner<'_>) -> Plan {
    let rows = p
        .history
        .snapshots()
        .into_iter()
        .map(|h| {
            vec![
                Expr::Literal(Value::Integer(h.scn as i64)),
                Expr::Literal(Value::Integer(h.txid as i64)),
                Expr::Literal(Value::Text(crate::time::format_micros(h.commit_time_us))),
            ]
        })
        .collect();
    Plan::Values(rows)
}

impl Planner<'_> {
    /// Plans the scan of a single table filtered by `selection` (UPDATE / DELETE targets).
    pub fn plan_table_scan(
        &mut self,
        info: Arc<TableInfo>,
        alias: &str,
        selection: Option<&ast::Expr>,
    ) -> Result<Plan> {
        let scope = Scope {
            columns: table_scope_columns(&info, alias),
            ..Scope::default()
        };
        self.scopes.push(scope);
        let w = selection.map(|s| self.bind_expr(s)).transpose();
        self.scopes.pop();
        let mut conj = Vec::new();
        if let Some(w) = w? {
            if w.has_aggregate() {
                return Err(Error::invalid("misuse of aggregate function in WHERE"));
            }
            split_conjuncts(w, &mut conj);
        }
        let mut node = access::filtered_scan(info, alias.to_string(), Source::Current, conj);
        // The statement needs whole rows, but only of the rows its WHERE keeps.
        super::prune::decode_filter_first(&mut node);
        Ok(Plan::Scan(Box::new(node)))
    }
}
