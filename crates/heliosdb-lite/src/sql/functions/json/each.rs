//! The rows of the table-valued functions `json_each(json [, root])` and
//! `json_tree(json [, root])`, as SQLite 3.45 and later give them.
//!
//! SQLite walks the document in its binary form (JSONB), and the `id` column is the byte
//! offset of an element's node there (of its label, for an object member). We do not store
//! JSONB, so the document is laid out the way SQLite's text-to-JSONB translation lays it out
//! (a header of 1, 2, 3 or 5 bytes sized to the payload, numbers and string bodies as
//! written, a container's payload the nodes of its members), which gives the same offsets.
//! `parent` is the `id` of the enclosing container (json_tree only). The `key` and `path` of
//! json_tree's first row are derived from the root path the way SQLite derives them,
//! including its habit of falling back to `$` when the root is not its container's first
//! member.

use super::doc::{self, Node};
use super::path::{self, Step};
use crate::error::Result;
use crate::sql::value::Value;

/// The visible columns, in order, then the hidden arguments.
pub const COLUMNS: [&str; 10] = [
    "key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root",
];

/// How many of [`COLUMNS`] are hidden (the arguments `json` and `root`, at the end).
pub const HIDDEN_COLUMNS: usize = 2;

/// A node placed in the JSONB image of the document.
struct Laid<'a> {
    node: &'a Node,
    /// Offset of the node's header.
    off: usize,
    /// Header bytes.
    hdr: usize,
    /// Members: the raw (escaped) label and its node's offset for an object, then the value.
    kids: Vec<(Option<(&'a str, usize)>, Laid<'a>)>,
}

/// Header bytes of a JSONB node with `payload` bytes after it.
fn header_size(payload: usize) -> usize {
    match payload {
        0..=11 => 1,
        12..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

/// Payload bytes of a node: the text of a number or a string body, the members' nodes of a
/// container.
fn payload_size(n: &Node) -> usize {
    match n {
        Node::Null | Node::True | Node::False => 0,
        Node::Number { raw, .. } => raw.len(),
        Node::Str(body) => body.len(),
        Node::Array(items) => items.iter().map(node_size).sum(),
        Node::Object(members) => members
            .iter()
            .map(|(k, v)| header_size(k.len()) + k.len() + node_size(v))
            .sum(),
    }
}

fn node_size(n: &Node) -> usize {
    let p = payload_size(n);
    header_size(p) + p
}

fn lay(node: &Node, off: usize) -> Laid<'_> {
    let hdr = header_size(payload_size(node));
    let mut at = off + hdr;
    let kids = match node {
        Node::Array(items) => items
            .iter()
            .map(|item| {
                let laid = lay(item, at);
                at += node_size(item);
                (None, laid)
            })
            .collect(),
        Node::Object(members) => members
            .iter()
            .map(|(k, v)| {
                let label_off = at;
                at += header_size(k.len()) + k.len();
                let laid = lay(v, at);
                at += node_size(v);
                (Some((k.as_str(), label_off)), laid)
            })
            .collect(),
        _ => Vec::new(),
    };
    Laid {
        node,
        off,
        hdr,
        kids,
    }
}

/// The node a path leads to, with the offset of its label when the last step is a key.
fn lookup<'l, 'a>(root: &'l Laid<'a>, steps: &[Step]) -> Option<(&'l Laid<'a>, Option<usize>)> {
    let mut cur = root;
    let mut label = None;
    for step in steps {
        let (l, next) = match (cur.node, step) {
            (Node::Object(_), Step::Key(k)) => cur.kids.iter().find_map(|(lab, kid)| {
                let (raw, off) = (*lab)?;
                let name_matches = if raw.contains('\\') {
                    doc::unescape(raw) == *k
                } else {
                    raw == k
                };
                name_matches.then_some((Some(off), kid))
            })?,
            (Node::Array(_), Step::Index(i)) => (None, &cur.kids.get(*i)?.1),
            (Node::Array(_), Step::FromEnd(n)) if *n >= 1 && *n <= cur.kids.len() => {
                (None, &cur.kids[cur.kids.len() - n].1)
            }
            _ => return None,
        };
        cur = next;
        label = l;
    }
    Some((cur, label))
}

/// The name a member adds to a path: `[i]`, `.key`, or `."key"` when the key is not a
/// letter followed by letters and digits (ASCII), as SQLite decides.
fn member_name(label: Option<&str>, index: usize) -> String {
    match label {
        None => format!("[{index}]"),
        Some(raw) => {
            let b = raw.as_bytes();
            let plain = !b.is_empty()
                && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric());
            if plain {
                format!(".{raw}")
            } else {
                format!(".\"{raw}\"")
            }
        }
    }
}

fn key_value(label: Option<&str>, index: usize) -> Value {
    match label {
        Some(raw) => Value::Text(doc::unescape(raw)),
        None => Value::Integer(index as i64),
    }
}

/// Collects the rows; `json` and `root` fill the hidden columns of each.
struct Rows<'r> {
    json: Value,
    root: &'r str,
    out: Vec<Vec<Value>>,
}

impl Rows<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        key: Value,
        node: &Node,
        id: usize,
        parent: Option<usize>,
        fullkey: String,
        path: String,
    ) {
        let container = matches!(node, Node::Array(_) | Node::Object(_));
        let value = super::to_sql(node);
        let atom = if container {
            Value::Null
        } else {
            value.clone()
        };
        self.out.push(vec![
            key,
            value,
            Value::Text(node.type_name().to_string()),
            atom,
            Value::Integer(id as i64),
            parent.map_or(Value::Null, |p| Value::Integer(p as i64)),
            Value::Text(fullkey),
            Value::Text(path),
            self.json.clone(),
            Value::Text(self.root.to_string()),
        ]);
    }

    /// json_tree's rows for the members of `container` (whose row id is `id`), depth first.
    fn tree(&mut self, container: &Laid<'_>, id: usize, prefix: &str) {
        for (i, (label, kid)) in container.kids.iter().enumerate() {
            let raw = label.map(|(r, _)| r);
            let kid_id = label.map_or(kid.off, |(_, off)| off);
            let fullkey = format!("{prefix}{}", member_name(raw, i));
            self.push(
                key_value(raw, i),
                kid.node,
                kid_id,
                Some(id),
                fullkey.clone(),
                prefix.to_string(),
            );
            if !kid.kids.is_empty() {
                self.tree(kid, kid_id, &fullkey);
            }
        }
    }
}

/// The `path` and `key` of json_tree's first row for root path `root` leading to the row
/// with id `id`: the root path is cut at its last step whose prefix leads to a container
/// that `id` is the first member of (else at `$`), and the key is what follows the cut.
fn tree_root_path_and_key(laid: &Laid<'_>, root: &str, id: usize) -> (String, Value) {
    let z = root.as_bytes();
    let mut n = z.len();
    if n < 2 {
        return (root.to_string(), Value::Null);
    }
    while n > 1 {
        n -= 1;
        if z[n] != b'[' && z[n] != b'.' {
            continue;
        }
        let Ok(steps) = path::parse(&root[..n]) else {
            continue;
        };
        if let Some((x, _)) = lookup(laid, &steps) {
            if x.off + x.hdr == id {
                break;
            }
        }
    }
    let rest = &root[n..];
    let key = if let Some(index) = rest.strip_prefix('[') {
        let digits: String = index.chars().take_while(|c| c.is_ascii_digit()).collect();
        Value::Integer(digits.parse::<i64>().unwrap_or(0))
    } else if let Some(quoted) = rest.strip_prefix(".\"") {
        Value::Text(quoted[..quoted.len().saturating_sub(1)].to_string())
    } else {
        Value::Text(rest.get(1..).unwrap_or("").to_string())
    };
    (root[..n].to_string(), key)
}

/// The rows of `json_each(json, root)` (`recursive`: `json_tree`), each with the columns of
/// [`COLUMNS`]. A NULL document or root gives no rows, as does a root path that leads
/// nowhere; malformed JSON and a bad path are errors.
pub fn rows(json: &Value, root: Option<&Value>, recursive: bool) -> Result<Vec<Vec<Value>>> {
    if matches!(json, Value::Null) {
        return Ok(Vec::new());
    }
    let Some(document) = super::input(json)? else {
        return Ok(Vec::new());
    };
    let root_text = match root {
        None => "$".to_string(),
        Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => v.to_text().unwrap_or_default(),
    };
    let steps = path::parse(&root_text)?;
    let laid = lay(&document, 0);
    let Some((target, label)) = lookup(&laid, &steps) else {
        return Ok(Vec::new());
    };
    let mut rows = Rows {
        json: Value::Text(json.to_text().unwrap_or_default()),
        root: &root_text,
        out: Vec::new(),
    };
    let id = label.unwrap_or(target.off);
    let container = matches!(target.node, Node::Array(_) | Node::Object(_));
    if recursive {
        let (path, key) = tree_root_path_and_key(&laid, &root_text, id);
        rows.push(key, target.node, id, None, root_text.clone(), path);
        rows.tree(target, id, &root_text);
    } else if container {
        for (i, (label, kid)) in target.kids.iter().enumerate() {
            let raw = label.map(|(r, _)| r);
            rows.push(
                key_value(raw, i),
                kid.node,
                label.map_or(kid.off, |(_, off)| off),
                None,
                format!("{root_text}{}", member_name(raw, i)),
                root_text.clone(),
            );
        }
    } else {
        rows.push(
            Value::Null,
            target.node,
            id,
            None,
            root_text.clone(),
            root_text.clone(),
        );
    }
    Ok(rows.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(json: &str, recursive: bool) -> Vec<Value> {
        rows(&Value::Text(json.into()), None, recursive)
            .unwrap()
            .into_iter()
            .map(|r| r[4].clone())
            .collect()
    }

    #[test]
    fn ids_are_jsonb_offsets() {
        // [ hdr 1 ] 1 at 1 (hdr 1 + "1"), 22 at 3, "abc" at 6.
        assert_eq!(
            ids(r#"[1,22,"abc"]"#, false),
            vec![Value::Integer(1), Value::Integer(3), Value::Integer(6)]
        );
        // Object members are identified by their labels.
        assert_eq!(
            ids(r#"{"a":1,"bc":2}"#, false),
            vec![Value::Integer(1), Value::Integer(5)]
        );
    }

    #[test]
    fn large_payloads_take_longer_headers() {
        let long = format!("[\"{}\",1]", "x".repeat(300));
        // The array's payload is over 255 bytes: a 3-byte header; the string's 300 bytes
        // need a 3-byte header too.
        assert_eq!(
            ids(&long, false),
            vec![Value::Integer(3), Value::Integer(306)]
        );
    }
}
