//! Row values: `(a, b) = (1, 2)`, `(a, b) < (x, y)`, `(a, b) BETWEEN ...`, `(a, b) IN
//! ((1, 2), ...)` and `(a, b) IN (SELECT x, y ...)`, rewritten into scalar expressions with
//! SQLite's meaning before binding.
//!
//! SQLite compares row values pair by pair, left to right: `=` is true when every pair is
//! equal, false when one pair differs, else NULL, which is exactly the AND of the pairs' `=`;
//! `<` is decided by the first pair that is not equal (NULL if a NULL comes first), which is
//! `a < x OR (a = x AND <the rest>)`. IN is true when one candidate row is equal, NULL when
//! none is but some comparison is NULL, false otherwise: an OR of equalities for a list, and
//! two EXISTS tests for a subquery. Rewriting the syntax keeps each operand's affinity and
//! collation rules, and each `?` its number (a copied operand is the same parameter).

use super::Planner;
use crate::error::{Error, Result};
use crate::sql::plan::Expr;
use sqlparser::ast::{self, BinaryOperator as Op, Ident};

/// The name the subquery of a row-value IN goes by inside the rewrite (reserved: user SQL
/// cannot name it).
const ROW_IN: &str = super::super::parser::ROW_IN_ALIAS;

fn misused() -> Error {
    Error::invalid("row value misused")
}

/// The items of a row value, or `None` for a scalar.
fn row_items(e: &ast::Expr) -> Option<&[ast::Expr]> {
    match e {
        ast::Expr::Tuple(items) if items.len() > 1 => Some(items),
        ast::Expr::Nested(inner) => row_items(inner),
        _ => None,
    }
}

fn binary(left: ast::Expr, op: Op, right: ast::Expr) -> ast::Expr {
    ast::Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

fn nested(e: ast::Expr) -> ast::Expr {
    ast::Expr::Nested(Box::new(e))
}

fn not(e: ast::Expr) -> ast::Expr {
    ast::Expr::UnaryOp {
        op: ast::UnaryOperator::Not,
        expr: Box::new(nested(e)),
    }
}

/// Joins `parts` with AND or OR (they are never empty: a row value has two items or more).
fn join(parts: Vec<ast::Expr>, op: Op) -> ast::Expr {
    let mut it = parts.into_iter().map(nested);
    let first = it
        .next()
        .unwrap_or_else(|| ast::Expr::value(ast::Value::Null));
    it.fold(first, |acc, p| binary(acc, op.clone(), p))
}

/// The two sides of a row-value comparison, which must have the same size.
fn pair_up<'e>(
    left: &'e ast::Expr,
    right: &'e ast::Expr,
) -> Result<Option<Vec<(&'e ast::Expr, &'e ast::Expr)>>> {
    match (row_items(left), row_items(right)) {
        (None, None) => Ok(None),
        (Some(l), Some(r)) if l.len() == r.len() => Ok(Some(l.iter().zip(r).collect())),
        (Some(_), None) | (None, Some(_))
            if matches!(left, ast::Expr::Subquery(_))
                || matches!(right, ast::Expr::Subquery(_)) =>
        {
            Err(Error::Unsupported(
                "a row value compared with a subquery (use IN, or compare the columns)".into(),
            ))
        }
        _ => Err(misused()),
    }
}

/// `l op r` for row values of pairs `pairs`.
fn compare(pairs: &[(&ast::Expr, &ast::Expr)], op: &Op) -> Result<ast::Expr> {
    let each = |o: Op| {
        pairs
            .iter()
            .map(|(a, b)| binary((*a).clone(), o.clone(), (*b).clone()))
            .collect::<Vec<_>>()
    };
    Ok(match op {
        Op::Eq => join(each(Op::Eq), Op::And),
        Op::NotEq => join(each(Op::NotEq), Op::Or),
        // IS never gives NULL: every pair IS its partner; IS NOT is its negation.
        Op::Is => join(each(Op::Is), Op::And),
        Op::IsNot => not(join(each(Op::Is), Op::And)),
        Op::Lt | Op::LtEq | Op::Gt | Op::GtEq => {
            let strict = match op {
                Op::Lt | Op::LtEq => Op::Lt,
                _ => Op::Gt,
            };
            let (last, rest) = pairs.split_last().ok_or_else(misused)?;
            let mut acc = binary(last.0.clone(), op.clone(), last.1.clone());
            for (a, b) in rest.iter().rev() {
                let decided = binary((*a).clone(), strict.clone(), (*b).clone());
                let tied = binary((*a).clone(), Op::Eq, (*b).clone());
                acc = binary(
                    nested(decided),
                    Op::Or,
                    nested(binary(nested(tied), Op::And, nested(acc))),
                );
            }
            acc
        }
        _ => return Err(misused()),
    })
}

/// `row IN (SELECT ...)`: true if a row of the subquery equals it, NULL if none does but a
/// comparison was NULL, false otherwise.
fn in_subquery(items: &[ast::Expr], query: &ast::Query) -> Result<ast::Expr> {
    let names: Vec<String> = (1..=items.len()).map(|i| format!("c{i}")).collect();
    let matches = join(
        items
            .iter()
            .zip(&names)
            .map(|(a, n)| {
                binary(
                    a.clone(),
                    Op::Eq,
                    ast::Expr::CompoundIdentifier(vec![Ident::new(ROW_IN), Ident::new(n)]),
                )
            })
            .collect(),
        Op::And,
    );
    let exists = |condition: ast::Expr| -> Result<ast::Expr> {
        let dialect = crate::sql::parser::HeliosDialect::default();
        let mut q = sqlparser::parser::Parser::new(&dialect)
            .try_with_sql("SELECT 1")
            .and_then(|mut p| p.parse_query())
            .map_err(|e| Error::invalid(format!("row value IN: {e}")))?;
        let ast::SetExpr::Select(select) = q.body.as_mut() else {
            return Err(misused());
        };
        select.from = vec![ast::TableWithJoins {
            relation: ast::TableFactor::Derived {
                lateral: false,
                subquery: Box::new(query.clone()),
                alias: Some(ast::TableAlias {
                    explicit: true,
                    name: Ident::new(ROW_IN),
                    columns: names
                        .iter()
                        .map(|n| ast::TableAliasColumnDef::from_name(n.as_str()))
                        .collect(),
                    at: None,
                }),
                sample: None,
            },
            joins: Vec::new(),
        }];
        select.selection = Some(condition);
        Ok(ast::Expr::Exists {
            subquery: q,
            negated: false,
        })
    };
    Ok(ast::Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![
            ast::CaseWhen {
                condition: exists(matches.clone())?,
                result: ast::Expr::value(ast::Value::Number("1".into(), false)),
            },
            ast::CaseWhen {
                condition: exists(ast::Expr::IsNull(Box::new(nested(matches))))?,
                result: ast::Expr::value(ast::Value::Null),
            },
        ],
        else_result: Some(Box::new(ast::Expr::value(ast::Value::Number(
            "0".into(),
            false,
        )))),
    })
}

impl Planner<'_> {
    /// Binds `e` if it is a comparison, BETWEEN or IN of row values (`None` otherwise).
    pub(super) fn bind_row_value(&mut self, e: &ast::Expr) -> Result<Option<Expr>> {
        let rewritten = match e {
            ast::Expr::BinaryOp { left, op, right } => match pair_up(left, right)? {
                Some(pairs) => compare(&pairs, op)?,
                None => return Ok(None),
            },
            ast::Expr::IsDistinctFrom(left, right) | ast::Expr::IsNotDistinctFrom(left, right) => {
                let Some(pairs) = pair_up(left, right)? else {
                    return Ok(None);
                };
                let same = join(
                    pairs
                        .iter()
                        .map(|(a, b)| {
                            ast::Expr::IsNotDistinctFrom(
                                Box::new((*a).clone()),
                                Box::new((*b).clone()),
                            )
                        })
                        .collect(),
                    Op::And,
                );
                match e {
                    ast::Expr::IsDistinctFrom(..) => not(same),
                    _ => same,
                }
            }
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (Some(lo), Some(hi)) = (pair_up(expr, low)?, pair_up(expr, high)?) else {
                    return Ok(None);
                };
                let both = binary(
                    nested(compare(&lo, &Op::GtEq)?),
                    Op::And,
                    nested(compare(&hi, &Op::LtEq)?),
                );
                if *negated {
                    not(both)
                } else {
                    both
                }
            }
            ast::Expr::In {
                expr,
                target,
                negated,
                ..
            } => {
                let Some(items) = row_items(expr) else {
                    if let ast::InTarget::List(list) = target {
                        if list.iter().any(|i| row_items(i).is_some()) {
                            return Err(misused());
                        }
                    }
                    return Ok(None);
                };
                let found = match target {
                    ast::InTarget::List(list) => {
                        let mut any = Vec::new();
                        for candidate in list {
                            let pairs = pair_up(expr, candidate)?.ok_or_else(misused)?;
                            any.push(compare(&pairs, &Op::Eq)?);
                        }
                        if any.is_empty() {
                            return Ok(None);
                        }
                        join(any, Op::Or)
                    }
                    ast::InTarget::Subquery(q) => in_subquery(items, q)?,
                    _ => return Err(misused()),
                };
                if *negated {
                    not(found)
                } else {
                    found
                }
            }
            _ => return Ok(None),
        };
        self.bind_expr(&rewritten).map(Some)
    }
}
