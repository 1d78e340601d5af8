//! SQLite's JSON functions: `json`, `json_array`, `json_object`, `json_extract`, `->`, `->>`,
//! `json_array_length`, `json_type`, `json_valid`, `json_quote`, `json_set`, `json_insert`,
//! `json_replace`, `json_remove`, `json_patch` (the aggregates `json_group_array` and
//! `json_group_object` are in the accumulator, built on [`to_node`]).
//!
//! SQLite marks the values JSON functions return with a "JSON" subtype, so that
//! `json_array(json('[1]'))` nests an array where `json_array('[1]')` holds a string; the
//! subtype passes through CASE, coalesce and the like, but not through a subquery's columns.
//! Our values carry no subtype; instead the planner (`planner/json_subtype.rs`) looks at each
//! argument of a function that embeds values ([`embeds_values`]). An argument that may be
//! JSON is rewritten to always give JSON text (the other branches of a CASE converted to
//! JSON), and a first hidden argument, a blob with one byte per argument, says which
//! arguments are JSON text.

pub mod doc;
pub mod each;
pub mod path;

use super::ScalarFn;
use crate::error::{Error, Result};
use crate::sql::value::{format_real, Value};
use doc::Node;
use path::{Edit, Step};

/// True for the functions whose first (hidden) argument flags the JSON arguments.
pub fn embeds_values(f: ScalarFn) -> bool {
    use ScalarFn::*;
    matches!(
        f,
        JsonArray | JsonObject | JsonQuote | JsonSet | JsonInsert | JsonReplace
    )
}

/// The JSON number text of a real, as SQLite writes it (infinities as `9.0e+999`).
fn real_text(r: f64) -> Option<String> {
    if r.is_nan() {
        None
    } else if r.is_infinite() {
        Some(if r > 0.0 { "9.0e+999" } else { "-9.0e+999" }.to_string())
    } else {
        Some(format_real(r))
    }
}

/// A SQL value as a JSON node; `json` says the value is JSON text to parse.
pub fn to_node(v: &Value, json: bool) -> Result<Node> {
    Ok(match v {
        Value::Null => Node::Null,
        Value::Integer(i) => Node::Number {
            raw: i.to_string(),
            real: false,
        },
        Value::Real(r) => match real_text(*r) {
            Some(raw) => Node::Number { raw, real: true },
            None => Node::Null,
        },
        Value::Decimal(_) => {
            let raw = v.to_text().unwrap_or_default();
            let real = raw.contains(['.', 'e', 'E']);
            Node::Number { raw, real }
        }
        Value::Text(s) if json => doc::parse(s, false)?,
        Value::Blob(_) => return Err(Error::invalid("JSON cannot hold BLOB values")),
        other => Node::Str(doc::escape(&other.to_text().unwrap_or_default())),
    })
}

/// A JSON node as the SQL value `json_extract` returns.
pub fn to_sql(n: &Node) -> Value {
    match n {
        Node::Null => Value::Null,
        Node::True => Value::Integer(1),
        Node::False => Value::Integer(0),
        Node::Number { raw, real: false } => match raw.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Real(raw.parse::<f64>().unwrap_or(0.0)),
        },
        Node::Number { raw, real: true } => Value::Real(raw.parse::<f64>().unwrap_or(0.0)),
        Node::Str(body) => Value::Text(doc::unescape(body)),
        Node::Array(_) | Node::Object(_) => Value::Text(n.render()),
    }
}

/// A JSON argument parsed (None for NULL); a blob is refused (SQLite reads blobs as its
/// binary JSONB format, which is not supported).
fn input(v: &Value) -> Result<Option<Node>> {
    match v {
        Value::Null => Ok(None),
        Value::Blob(_) => Err(doc::malformed()),
        v => doc::parse(&v.to_text().unwrap_or_default(), false).map(Some),
    }
}

/// A path argument parsed (None for NULL).
fn path_arg(v: &Value) -> Result<Option<Vec<Step>>> {
    match v {
        Value::Null => Ok(None),
        v => path::parse(&v.to_text().unwrap_or_default()).map(Some),
    }
}

/// The path the right side of `->` / `->>` names: an integer is an array index (negative
/// counts from the end), text starting with `$` is a path, with `[` a path from the root,
/// and any other text one object label, taken literally.
fn arrow_path(v: &Value) -> Result<Option<Vec<Step>>> {
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::Integer(i) if *i >= 0 => vec![Step::Index(*i as usize)],
        Value::Integer(i) => vec![Step::FromEnd(i.unsigned_abs() as usize)],
        v => {
            let s = v.to_text().unwrap_or_default();
            if s.starts_with('$') {
                path::parse(&s)?
            } else if s.starts_with('[') {
                path::parse(&format!("${s}"))?
            } else {
                vec![Step::Key(s)]
            }
        }
    }))
}

fn text(n: &Node) -> Value {
    Value::Text(n.render())
}

/// Runs a JSON function. Functions that embed values get the JSON flags first.
pub fn call(f: ScalarFn, args: &[Value]) -> Result<Value> {
    use ScalarFn::*;
    let (flags, args): (&[u8], &[Value]) = if embeds_values(f) {
        match args.split_first() {
            Some((Value::Blob(b), rest)) => (b.as_slice(), rest),
            _ => (&[], args),
        }
    } else {
        (&[], args)
    };
    let is_json = |i: usize| flags.get(i) == Some(&1);
    Ok(match f {
        Json => match input(&args[0])? {
            Some(n) => text(&n),
            None => Value::Null,
        },
        JsonArray => {
            let items = args
                .iter()
                .enumerate()
                .map(|(i, a)| to_node(a, is_json(i)))
                .collect::<Result<Vec<_>>>()?;
            text(&Node::Array(items))
        }
        JsonObject => {
            if args.len() % 2 != 0 {
                return Err(Error::invalid(
                    "json_object() requires an even number of arguments",
                ));
            }
            let mut members = Vec::with_capacity(args.len() / 2);
            for (i, pair) in args.chunks(2).enumerate() {
                let key = match &pair[0] {
                    Value::Text(s) => doc::escape(s),
                    _ => return Err(Error::invalid("json_object() labels must be TEXT")),
                };
                members.push((key, to_node(&pair[1], is_json(2 * i + 1))?));
            }
            text(&Node::Object(members))
        }
        JsonQuote => text(&to_node(&args[0], is_json(0))?),
        JsonEmbed => match &args[0] {
            Value::Null => Value::Null,
            v => text(&to_node(v, false)?),
        },
        JsonExtract | JsonExtractJson | JsonArrow | JsonArrowText => {
            let Some(doc) = input(&args[0])? else {
                return Ok(Value::Null);
            };
            let arrow = matches!(f, JsonArrow | JsonArrowText);
            let mut found = Vec::with_capacity(args.len() - 1);
            for p in &args[1..] {
                let steps = if arrow { arrow_path(p)? } else { path_arg(p)? };
                let Some(steps) = steps else {
                    return Ok(Value::Null);
                };
                found.push(path::lookup(&doc, &steps));
            }
            if found.len() == 1 {
                match (found[0], f) {
                    (None, _) => Value::Null,
                    (Some(n), JsonArrow | JsonExtractJson) => text(n),
                    (Some(n), _) => to_sql(n),
                }
            } else {
                let items = found
                    .into_iter()
                    .map(|n| n.cloned().unwrap_or(Node::Null))
                    .collect();
                text(&Node::Array(items))
            }
        }
        JsonArrayLength | JsonType => {
            let Some(doc) = input(&args[0])? else {
                return Ok(Value::Null);
            };
            let node = match args.get(1) {
                None => Some(&doc),
                Some(p) => match path_arg(p)? {
                    Some(steps) => path::lookup(&doc, &steps),
                    None => None,
                },
            };
            match (node, f) {
                (None, _) => Value::Null,
                (Some(Node::Array(items)), JsonArrayLength) => Value::Integer(items.len() as i64),
                (Some(_), JsonArrayLength) => Value::Integer(0),
                (Some(n), _) => Value::Text(n.type_name().to_string()),
            }
        }
        JsonValid => {
            if let Some(flags) = args.get(1) {
                if !matches!(flags, Value::Integer(1)) {
                    return Err(Error::Unsupported(
                        "json_valid() with flags other than 1 (JSON5 and JSONB)".into(),
                    ));
                }
            }
            match &args[0] {
                Value::Null => Value::Null,
                Value::Blob(_) => Value::Integer(0),
                v => Value::Integer(i64::from(
                    doc::parse(&v.to_text().unwrap_or_default(), true).is_ok(),
                )),
            }
        }
        JsonSet | JsonInsert | JsonReplace => {
            if args.len() % 2 != 1 {
                return Err(Error::invalid(format!(
                    "{}() needs an odd number of arguments",
                    f.name()
                )));
            }
            let Some(mut doc) = input(&args[0])? else {
                return Ok(Value::Null);
            };
            let how = match f {
                JsonSet => Edit::Set,
                JsonInsert => Edit::Insert,
                _ => Edit::Replace,
            };
            for (i, pair) in args[1..].chunks(2).enumerate() {
                let Some(steps) = path_arg(&pair[0])? else {
                    continue;
                };
                let value = to_node(&pair[1], is_json(2 + 2 * i))?;
                path::edit(&mut doc, &steps, value, how);
            }
            text(&doc)
        }
        JsonRemove => {
            let Some(mut doc) = input(&args[0])? else {
                return Ok(Value::Null);
            };
            for p in &args[1..] {
                let Some(steps) = path_arg(p)? else {
                    return Ok(Value::Null);
                };
                if !path::remove(&mut doc, &steps) {
                    return Ok(Value::Null);
                }
            }
            text(&doc)
        }
        JsonPatch => match (input(&args[0])?, input(&args[1])?) {
            (Some(target), Some(patch)) => text(&merge_patch(target, patch)),
            _ => Value::Null,
        },
        other => {
            return Err(Error::invalid(format!(
                "{} is not a JSON function",
                other.name()
            )))
        }
    })
}

/// RFC 7396 merge patch, as `json_patch` applies it.
fn merge_patch(target: Node, patch: Node) -> Node {
    let Node::Object(changes) = patch else {
        return patch;
    };
    let mut members = match target {
        Node::Object(m) => m,
        _ => Vec::new(),
    };
    for (key, value) in changes {
        let name = doc::unescape(&key);
        let at = members.iter().position(|(k, _)| doc::unescape(k) == name);
        match (at, value) {
            (Some(i), Node::Null) => {
                members.remove(i);
            }
            (None, Node::Null) => {}
            (Some(i), v) => {
                let old = std::mem::replace(&mut members[i].1, Node::Null);
                members[i].1 = merge_patch(old, v);
            }
            (None, v) => members.push((key, merge_patch(Node::Null, v))),
        }
    }
    Node::Object(members)
}
