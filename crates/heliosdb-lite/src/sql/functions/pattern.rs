//! LIKE and GLOB, as operators (`x LIKE y ESCAPE z`, `x GLOB y`) and as the functions
//! `like(y, x[, z])` and `glob(y, x)` (pattern first, as in SQLite).
//!
//! The rules are SQLite's `patternCompare`: LIKE folds ASCII letters only, `_` and `%` are
//! its wildcards, and an ESCAPE character makes the next pattern character literal (an
//! ESCAPE that is itself `%` or `_` turns that wildcard off; one that ends the pattern
//! matches nothing). GLOB is case-sensitive with `?`, `*` and `[...]` sets (`^` negates,
//! `a-z` ranges, a leading `]` and a `-` at either end are literal; an unclosed set matches
//! nothing). SQLite matches recursively; the pattern here is compiled into single-character
//! items and wildcards and matched with the usual backtracking to the last wildcard, which
//! accepts exactly the same strings in linear space and without recursion.

use crate::error::{Error, Result};
use crate::sql::value::Value;

/// SQLite's default `SQLITE_MAX_LIKE_PATTERN_LENGTH`: longer patterns are refused.
pub const MAX_PATTERN_BYTES: usize = 50_000;

/// One step of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// `%` or `*`: any run of characters.
    Any,
    /// `_` or `?`: one character.
    One,
    /// A character to match exactly (LIKE compares ASCII letters without case).
    Char(char),
    /// A GLOB set: single characters and inclusive ranges, possibly negated.
    Set {
        negated: bool,
        chars: Vec<char>,
        ranges: Vec<(char, char)>,
    },
    /// Matches nothing: an ESCAPE at the end of the pattern, an unclosed GLOB set.
    Never,
}

/// Compiles a LIKE pattern; `escape` is the ESCAPE character, if any.
fn compile_like(pattern: &str, escape: Option<char>) -> Vec<Item> {
    // An ESCAPE equal to a wildcard makes that wildcard an ordinary character.
    let any = Some('%').filter(|&c| Some(c) != escape);
    let one = Some('_').filter(|&c| Some(c) != escape);
    let mut items = Vec::with_capacity(pattern.len());
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        let item = if Some(c) == any {
            Item::Any
        } else if Some(c) == escape {
            match it.next() {
                Some(lit) => Item::Char(lit.to_ascii_lowercase()),
                None => Item::Never,
            }
        } else if Some(c) == one {
            Item::One
        } else {
            Item::Char(c.to_ascii_lowercase())
        };
        items.push(item);
    }
    items
}

/// Compiles a GLOB pattern.
fn compile_glob(pattern: &str) -> Vec<Item> {
    let mut items = Vec::with_capacity(pattern.len());
    let mut it = pattern.chars().peekable();
    while let Some(c) = it.next() {
        items.push(match c {
            '*' => Item::Any,
            '?' => Item::One,
            '[' => glob_set(&mut it),
            c => Item::Char(c),
        });
    }
    items
}

/// The set after a `[`, read up to its `]`.
fn glob_set(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Item {
    let mut chars = Vec::new();
    let mut ranges = Vec::new();
    let mut c2 = it.next();
    let negated = c2 == Some('^');
    if negated {
        c2 = it.next();
    }
    if c2 == Some(']') {
        chars.push(']');
        c2 = it.next();
    }
    // The character before a `-`, while it may still start a range.
    let mut prior: Option<char> = None;
    loop {
        match c2 {
            None => return Item::Never,
            Some(']') => break,
            Some('-') if prior.is_some() && it.peek().is_some_and(|&n| n != ']') => {
                let hi = it.next().unwrap_or('-');
                ranges.push((prior.unwrap_or('-'), hi));
                prior = None;
            }
            Some(c) => {
                chars.push(c);
                prior = Some(c);
            }
        }
        c2 = it.next();
    }
    Item::Set {
        negated,
        chars,
        ranges,
    }
}

impl Item {
    /// True if the item (not `Any`) accepts `c`; `fold` lowers ASCII letters first (LIKE).
    fn accepts(&self, c: char, fold: bool) -> bool {
        match self {
            Item::Any | Item::One => true,
            Item::Char(p) => *p == c || (fold && *p == c.to_ascii_lowercase()),
            Item::Set {
                negated,
                chars,
                ranges,
            } => {
                let hit = chars.contains(&c) || ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                hit != *negated
            }
            Item::Never => false,
        }
    }
}

/// Matches `text` against compiled items: on a mismatch, the last `Any` takes one more
/// character and matching resumes after it.
fn matches(items: &[Item], text: &str, fold: bool) -> bool {
    let (mut pi, mut ti) = (0, 0);
    // (item after the last Any, text position it resumes from)
    let mut star: Option<(usize, usize)> = None;
    loop {
        match items.get(pi) {
            Some(Item::Any) => {
                pi += 1;
                star = Some((pi, ti));
                continue;
            }
            Some(item) => {
                if let Some(c) = text[ti..].chars().next() {
                    if item.accepts(c, fold) {
                        pi += 1;
                        ti += c.len_utf8();
                        continue;
                    }
                }
            }
            None if ti == text.len() => return true,
            None => {}
        }
        let Some((sp, st)) = star else {
            return false;
        };
        let Some(c) = text[st..].chars().next() else {
            return false;
        };
        star = Some((sp, st + c.len_utf8()));
        pi = sp;
        ti = st + c.len_utf8();
    }
}

/// True if `text` matches `pattern` (LIKE with an optional ESCAPE, or GLOB).
pub fn matches_pattern(text: &str, pattern: &str, escape: Option<char>, glob: bool) -> bool {
    if glob {
        matches(&compile_glob(pattern), text, false)
    } else {
        matches(&compile_like(pattern, escape), text, true)
    }
}

/// SQLite's `like(pattern, text[, escape])` and `glob(pattern, text)`, which the operators
/// also are: 1 or 0, NULL when an argument is NULL (the ESCAPE included), an error for a
/// pattern over [`MAX_PATTERN_BYTES`] or an ESCAPE that is not one character.
pub fn call(pattern: &Value, text: &Value, escape: Option<&Value>, glob: bool) -> Result<Value> {
    let pattern = pattern.to_text();
    if pattern
        .as_ref()
        .is_some_and(|p| p.len() > MAX_PATTERN_BYTES)
    {
        return Err(Error::invalid("LIKE or GLOB pattern too complex"));
    }
    let escape = match escape {
        None => None,
        Some(e) => {
            let Some(e) = e.to_text() else {
                return Ok(Value::Null);
            };
            let mut chars = e.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => {
                    return Err(Error::invalid(
                        "ESCAPE expression must be a single character",
                    ))
                }
            }
        }
    };
    Ok(match (pattern, text.to_text()) {
        (Some(p), Some(t)) => Value::Integer(i64::from(matches_pattern(&t, &p, escape, glob))),
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(t: &str, p: &str) -> bool {
        matches_pattern(t, p, None, false)
    }

    fn glob(t: &str, p: &str) -> bool {
        matches_pattern(t, p, None, true)
    }

    #[test]
    fn like_folds_ascii_and_backtracks() {
        assert!(like("Hello", "h%O"));
        assert!(like("abcabd", "%ab_"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(!like("É", "é"));
        assert!(!like("a%b", "a\\%b"));
        assert!(matches_pattern("a%b", "a\\%b", Some('\\'), false));
        assert!(!matches_pattern("axb", "a\\%b", Some('\\'), false));
        // A trailing ESCAPE matches nothing; an ESCAPE that is a wildcard disables it.
        assert!(!matches_pattern("a\\", "a\\", Some('\\'), false));
        assert!(!matches_pattern("a%", "a%", Some('%'), false));
        assert!(matches_pattern("a%", "a%%", Some('%'), false));
        assert!(!matches_pattern("ab", "a%%", Some('%'), false));
        assert!(matches_pattern("a_", "a__", Some('_'), false));
    }

    #[test]
    fn glob_sets() {
        assert!(glob("abc", "a*c"));
        assert!(!glob("ABC", "a*"));
        assert!(glob("b", "[a-c]"));
        assert!(!glob("b", "[^a-c]"));
        assert!(glob("]", "[]a]"));
        assert!(glob("-", "[a-]"));
        assert!(glob("-", "[-a]"));
        assert!(!glob("a", "[a"));
        assert!(glob("x-", "*[-]"));
    }

    #[test]
    fn function_errors_and_nulls() {
        let v = |s: &str| Value::from(s);
        assert_eq!(
            call(&v("a"), &v("a"), Some(&Value::Null), false).unwrap(),
            Value::Null
        );
        assert!(call(&v("a"), &v("a"), Some(&v("ab")), false).is_err());
        let long = "%".repeat(MAX_PATTERN_BYTES + 1);
        assert!(call(&v(&long), &v("a"), None, false).is_err());
    }
}
