//! JSON paths as SQLite writes them (`$`, `$.key`, `$."a key"`, `$[0]`, `$[#]`, `$[#-1]`):
//! parsing, looking a node up, and the edits of `json_set` / `json_insert` / `json_replace` /
//! `json_remove`.

use super::doc::Node;
use crate::error::{Error, Result};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.key` or `."key"`: an object member.
    Key(String),
    /// `[n]`: an array element.
    Index(usize),
    /// `[#-n]`: the n-th element from the end; `[#]` (n = 0) is the position after the last.
    FromEnd(usize),
}

/// What an edit does where its path leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// `json_set`: replace or create.
    Set,
    /// `json_insert`: create only.
    Insert,
    /// `json_replace`: replace only.
    Replace,
}

fn bad_path(path: &str) -> Error {
    Error::invalid(format!("bad JSON path: '{path}'"))
}

/// Parses a path that starts with `$`.
pub fn parse(path: &str) -> Result<Vec<Step>> {
    let rest = path.strip_prefix('$').ok_or_else(|| bad_path(path))?;
    let b = rest.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    let close = rest[i + 1..].find('"').ok_or_else(|| bad_path(path))?;
                    steps.push(Step::Key(rest[i + 1..i + 1 + close].to_string()));
                    i += close + 2;
                } else {
                    let len = rest[i..].find(['.', '[']).unwrap_or(rest.len() - i);
                    if len == 0 {
                        return Err(bad_path(path));
                    }
                    steps.push(Step::Key(rest[i..i + len].to_string()));
                    i += len;
                }
            }
            b'[' => {
                let close = rest[i..].find(']').ok_or_else(|| bad_path(path))? + i;
                let inner = &rest[i + 1..close];
                let digits = |s: &str| -> Option<usize> {
                    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    Some(s.parse::<usize>().unwrap_or(usize::MAX))
                };
                let step = if inner == "#" {
                    Step::FromEnd(0)
                } else if let Some(n) = inner.strip_prefix("#-") {
                    Step::FromEnd(digits(n).ok_or_else(|| bad_path(path))?)
                } else {
                    Step::Index(digits(inner).ok_or_else(|| bad_path(path))?)
                };
                steps.push(step);
                i = close + 1;
            }
            _ => return Err(bad_path(path)),
        }
    }
    Ok(steps)
}

/// The element an index step names in an array of `len`, if it exists.
fn position(step: &Step, len: usize) -> Option<usize> {
    match step {
        Step::Index(i) if *i < len => Some(*i),
        Step::FromEnd(n) if *n >= 1 && *n <= len => Some(len - n),
        _ => None,
    }
}

fn child<'a>(node: &'a Node, step: &Step) -> Option<&'a Node> {
    match (node, step) {
        (Node::Object(m), Step::Key(k)) => key_index(m, k).map(|i| &m[i].1),
        (Node::Array(items), s) => position(s, items.len()).map(|i| &items[i]),
        _ => None,
    }
}

/// The node a path leads to.
pub fn lookup<'a>(node: &'a Node, steps: &[Step]) -> Option<&'a Node> {
    steps.iter().try_fold(node, child)
}

/// The first member named `k` (unescaped).
fn key_index(members: &[(String, Node)], k: &str) -> Option<usize> {
    members.iter().position(|(key, _)| {
        if key.contains('\\') {
            super::doc::unescape(key) == k
        } else {
            key == k
        }
    })
}

/// A new node for a path that does not exist yet: containers as the steps need them, the
/// value at the end; `None` when a step could not be created (`$.a[3]` in a new array).
fn build(steps: &[Step], value: Node) -> Option<Node> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(value);
    };
    let inner = build(rest, value)?;
    match first {
        Step::Key(k) => Some(Node::Object(vec![(super::doc::escape(k), inner)])),
        Step::Index(0) | Step::FromEnd(0) => Some(Node::Array(vec![inner])),
        _ => None,
    }
}

/// Applies one edit in place.
pub fn edit(node: &mut Node, steps: &[Step], value: Node, how: Edit) {
    let Some((first, rest)) = steps.split_first() else {
        if how != Edit::Insert {
            *node = value;
        }
        return;
    };
    match node {
        Node::Object(members) => {
            let Step::Key(k) = first else { return };
            match key_index(members, k) {
                Some(i) => edit(&mut members[i].1, rest, value, how),
                None if how != Edit::Replace => {
                    if let Some(n) = build(rest, value) {
                        members.push((super::doc::escape(k), n));
                    }
                }
                None => {}
            }
        }
        Node::Array(items) => match position(first, items.len()) {
            Some(i) => edit(&mut items[i], rest, value, how),
            None => {
                let appends = match first {
                    Step::Index(i) => *i == items.len(),
                    Step::FromEnd(n) => *n == 0,
                    Step::Key(_) => false,
                };
                if appends && how != Edit::Replace {
                    if let Some(n) = build(rest, value) {
                        items.push(n);
                    }
                }
            }
        },
        _ => {}
    }
}

/// Removes what a path leads to; false when the path is `$` (the whole document).
pub fn remove(node: &mut Node, steps: &[Step]) -> bool {
    let Some((last, parent)) = steps.split_last() else {
        return false;
    };
    let mut cur = node;
    for s in parent {
        let next = match (&mut *cur, s) {
            (Node::Object(m), Step::Key(k)) => {
                let i = key_index(m, k);
                match i {
                    Some(i) => &mut m[i].1,
                    None => return true,
                }
            }
            (Node::Array(items), s) => match position(s, items.len()) {
                Some(i) => &mut items[i],
                None => return true,
            },
            _ => return true,
        };
        cur = next;
    }
    match (cur, last) {
        (Node::Object(m), Step::Key(k)) => {
            if let Some(i) = key_index(m, k) {
                m.remove(i);
            }
        }
        (Node::Array(items), s) => {
            if let Some(i) = position(s, items.len()) {
                items.remove(i);
            }
        }
        _ => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_paths() {
        assert_eq!(
            parse("$.a[2].\"b c\"[#-1][#]").unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Index(2),
                Step::Key("b c".into()),
                Step::FromEnd(1),
                Step::FromEnd(0)
            ]
        );
        for bad in ["a", "$.", "$[-1]", "$[ 0]", "$ [0]", "$[+1]", "$[1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
