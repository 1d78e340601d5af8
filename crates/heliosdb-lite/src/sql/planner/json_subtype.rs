//! SQLite's JSON subtype, decided at plan time.
//!
//! SQLite marks the values JSON functions return with a "JSON" subtype, so that
//! `json_array(json('[1]'))` nests an array where `json_array('[1]')` holds a string; the
//! subtype passes through CASE, coalesce and the like, but not through a subquery's columns.
//! Our values carry no subtype. Instead, when the planner binds a function that embeds values
//! ([`embeds_values`]), each argument that may be JSON is rewritten to always give JSON text,
//! and a first hidden argument, a blob with one byte per argument, tells the function which
//! arguments are JSON text (see `functions/json`).

use super::super::functions::ScalarFn;
use super::super::plan::{AggFn, Expr, Plan};
use super::super::value::Value;

pub use super::super::functions::json::embeds_values;

/// True when `e` evaluates to JSON text that SQLite would mark with the JSON subtype.
pub fn returns_json(e: &Expr) -> bool {
    use ScalarFn::*;
    match e {
        Expr::Function(f, _) => matches!(
            f,
            Json | JsonArray
                | JsonObject
                | JsonQuote
                | JsonSet
                | JsonInsert
                | JsonReplace
                | JsonRemove
                | JsonPatch
                | JsonArrow
                | JsonExtractJson
                | JsonEmbed
        ),
        Expr::Aggregate { func, .. } => {
            matches!(func, AggFn::JsonGroupArray | AggFn::JsonGroupObject)
        }
        _ => false,
    }
}

/// True when column `col` of a scalar subquery's rows is computed by a JSON call in its own
/// SELECT list or aggregates (SQLite keeps the subtype there, but not through the columns of
/// a table in its FROM, derived tables included).
fn column_returns_json(plan: &Plan, col: usize, projected: bool) -> bool {
    match plan {
        Plan::Project(input, exprs) if !projected => match exprs.get(col) {
            Some(Expr::Column(c)) => column_returns_json(input, *c, true),
            Some(e) => returns_json(e),
            None => false,
        },
        Plan::Aggregate {
            group_by,
            aggregates,
            ..
        } => match col.checked_sub(group_by.len()) {
            None => false,
            Some(i) => aggregates.get(i).is_some_and(returns_json),
        },
        Plan::Sort(input, _) | Plan::Distinct(input) | Plan::Filter(input, _) => {
            column_returns_json(input, col, projected)
        }
        Plan::Limit { input, .. } => column_returns_json(input, col, projected),
        _ => false,
    }
}

/// True when `e` gives JSON text as it stands: a JSON call, a scalar subquery of one, or
/// `nullif`, `min` or `max` of them.
fn is_json(e: &Expr) -> bool {
    match e {
        Expr::ScalarSubquery(sub) => column_returns_json(&sub.plan, 0, false),
        Expr::Function(ScalarFn::Nullif, args) => args.first().is_some_and(is_json),
        // min and max return one of their arguments, subtype included.
        Expr::Function(ScalarFn::Min | ScalarFn::Max, args) => args.iter().all(is_json),
        Expr::Aggregate {
            func: AggFn::Min | AggFn::Max,
            args,
            ..
        } => args.first().is_some_and(is_json),
        e => returns_json(e),
    }
}

/// True when `e` may evaluate to JSON: a JSON call, or an expression that passes a value
/// through (CASE, coalesce, ifnull, iif, likely, COLLATE) from one, as SQLite's subtype
/// passes through them. `json_extract` counts: an array or object it returns is JSON.
fn may_return_json(e: &Expr) -> bool {
    use ScalarFn::*;
    match e {
        Expr::Function(JsonExtract, _) => true,
        Expr::Case {
            whens, otherwise, ..
        } => {
            whens.iter().any(|(_, r)| may_return_json(r))
                || otherwise.as_deref().is_some_and(may_return_json)
        }
        Expr::Function(Coalesce | Ifnull, args) => args.iter().any(may_return_json),
        Expr::Function(Iif, args) => args[1..].iter().any(may_return_json),
        Expr::Function(f, args) if *f == Likely || f.marked_collation().is_some() => {
            args.first().is_some_and(may_return_json)
        }
        e => is_json(e),
    }
}

/// `e` rewritten to give the JSON text of its value: JSON calls as they are, `json_extract`
/// as a call that returns JSON text, the results of pass-through expressions rewritten in
/// turn, and any other value converted to JSON (NULL stays NULL, so coalesce still works).
fn to_json_text(e: Expr) -> Expr {
    use ScalarFn::*;
    match e {
        Expr::Function(JsonExtract, args) => Expr::Function(JsonExtractJson, args),
        e if is_json(&e) => e,
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => Expr::Case {
            operand,
            whens: whens
                .into_iter()
                .map(|(w, r)| (w, to_json_text(r)))
                .collect(),
            otherwise: otherwise.map(|o| Box::new(to_json_text(*o))),
        },
        Expr::Function(f @ (Coalesce | Ifnull), args) => {
            Expr::Function(f, args.into_iter().map(to_json_text).collect())
        }
        Expr::Function(Iif, mut args) => {
            for a in &mut args[1..] {
                *a = to_json_text(std::mem::replace(a, Expr::Literal(Value::Null)));
            }
            Expr::Function(Iif, args)
        }
        Expr::Function(f, mut args)
            if (f == Likely || f.marked_collation().is_some()) && !args.is_empty() =>
        {
            args[0] = to_json_text(std::mem::replace(&mut args[0], Expr::Literal(Value::Null)));
            Expr::Function(f, args)
        }
        e => Expr::Function(JsonEmbed, vec![e]),
    }
}

/// An argument to embed, and whether it is JSON text: an argument that may be JSON is
/// rewritten to always give JSON text (see [`to_json_text`]).
pub fn embedded(e: Expr) -> (Expr, bool) {
    if may_return_json(&e) {
        (to_json_text(e), true)
    } else {
        (e, false)
    }
}

/// Binds the arguments of a function that embeds values: the values that may be JSON are
/// rewritten by [`embedded`], and the flags go first.
pub fn embedding_args(f: ScalarFn, args: Vec<Expr>) -> Vec<Expr> {
    let mut flags = Vec::with_capacity(args.len());
    let mut out = Vec::with_capacity(args.len() + 1);
    out.push(Expr::Literal(Value::Null));
    for (i, a) in args.into_iter().enumerate() {
        let (a, json) = if embeds_at(f, i) {
            embedded(a)
        } else {
            (a, false)
        };
        flags.push(u8::from(json));
        out.push(a);
    }
    out[0] = Expr::Literal(Value::Blob(flags));
    out
}

/// True when argument `i` of `f` is a value to embed (not a document, path or label).
pub fn embeds_at(f: ScalarFn, i: usize) -> bool {
    use ScalarFn::*;
    match f {
        JsonArray | JsonQuote => true,
        JsonObject => i % 2 == 1,
        JsonSet | JsonInsert | JsonReplace => i >= 2 && i % 2 == 0,
        _ => false,
    }
}

/// Arranges the arguments of `json_group_array(v)` / `json_group_object(k, v)`: the value as
/// embedded, then a flag (1 when the value is JSON, 0 otherwise). These aggregates keep NULL
/// values, so a FILTER cannot turn rejected rows into NULLs: it makes the flag NULL instead,
/// and the accumulator skips rows whose flag is NULL.
pub fn aggregate_args(args: &mut Vec<Expr>, filter: Option<Expr>) {
    let mut json = false;
    if let Some(v) = args.last_mut() {
        let (e, j) = embedded(std::mem::replace(v, Expr::Literal(Value::Null)));
        *v = e;
        json = j;
    }
    let flag = Expr::Literal(Value::Integer(i64::from(json)));
    args.push(match filter {
        None => flag,
        Some(cond) => Expr::Case {
            operand: None,
            whens: vec![(cond, flag)],
            otherwise: None,
        },
    });
}

/// `subtype(e)`: SQLite's JSON subtype where `e` is a JSON function's result (74, or 0 for
/// a NULL), and 0 for everything else, since no other value has a subtype here. A
/// `json_extract` result has the subtype only when it is an array or object, which its JSON
/// text shows by its first character.
pub fn subtype_of(e: Expr) -> Expr {
    match e {
        Expr::Function(ScalarFn::JsonExtract, args) => Expr::Function(
            ScalarFn::SubtypeJson,
            vec![
                Expr::Function(ScalarFn::JsonExtractJson, args),
                Expr::Literal(Value::Integer(1)),
            ],
        ),
        e if is_json(&e) => Expr::Function(ScalarFn::SubtypeJson, vec![e]),
        e => Expr::Function(ScalarFn::Subtype, vec![e]),
    }
}
