//! INSERTs that differ only in their literals share one parse.
//!
//! A dump, a generated script or a shell fed line by line runs thousands of statements such
//! as `INSERT INTO t VALUES (17, 'x', 2.5);` that differ from each other only in their
//! literals. Tokenizing, parsing and binding each one again cost most of their time (about
//! six times what SQLite spends on the same script). Here a statement of that form is read by
//! a small lexer instead: its *shape* is its text with each literal replaced by a numbered
//! placeholder (`INSERT INTO t VALUES (?1, ?2, ?3)`), and its literals become values. The
//! second time a shape is seen, the shape's text is parsed once as an ordinary statement with
//! parameters (the template), and from then on every statement of that shape runs the
//! template with its literals as the parameters, so the template's cached plan is reused too.
//!
//! Only what keeps the meaning identical is recognised, and anything else falls back to the
//! ordinary parse, which stays the only judge of errors:
//! - the statement starts with `INSERT` or `REPLACE`, has a `VALUES` keyword outside
//!   parentheses, and after it only rows of literals, `NULL`, `TRUE`, `FALSE`, signs,
//!   parentheses and commas, then at most a `;`;
//! - no comments, no placeholders of its own, no non-ASCII character outside quotes, no
//!   literal before `VALUES`;
//! - a literal is a string (`'it''s'`), a blob (`x'00ff'`) or a number SQLite reads the way
//!   the binder does: an integer if it fits 64 bits, else a real, and an integer too large
//!   for 64 bits is left to the parser (negated, `9223372036854775808` is the smallest
//!   integer, not a real). A sign stays in the shape as an operator on the parameter, as it
//!   is an operator on the literal in SQLite's grammar.
//!
//! A literal and a bound parameter are the same to an INSERT's row: both are values that the
//! column's affinity then converts. The cache is small and keyed by the exact shape text, so
//! two statements share a template only if their texts are equal outside their literals.

use crate::sql::value::Value;
use std::sync::Arc;

use super::ParsedStatement;

/// How many shapes a cache remembers (most recently used first).
const SHAPES: usize = 32;

/// Most literals a shape may have: SQLite's limit on parameters.
const MAX_LITERALS: usize = 32766;

/// A statement read by the lexer: its shape and its literals in order.
#[derive(Debug, PartialEq)]
pub(super) struct Shaped {
    /// The statement's text with literal `n` (1-based) replaced by `?n`.
    pub shape: String,
    /// The literals' values, parameter `n` at index `n - 1`.
    pub literals: Vec<Value>,
    /// The statement's text as written: trimmed, without its `;`.
    pub text_range: std::ops::Range<usize>,
}

/// What a cache knows of a shape.
enum Known {
    /// Seen once: the statement was parsed as written.
    Once,
    /// The shape's text parsed as a statement with one parameter per literal.
    Template(Arc<ParsedStatement>),
    /// The shape's text did not parse as such a statement: parse these as written.
    Refused,
}

/// The shapes a connection has seen lately, and their templates.
#[derive(Default)]
pub struct ShapeCache {
    entries: Vec<(String, Known)>,
}

/// What a cache says about a shaped statement.
pub(super) enum Lookup {
    /// Run this template with the statement's literals.
    Template(Arc<ParsedStatement>),
    /// Seen before but never templated: try to make the template.
    Second,
    /// Parse the statement as written.
    Parse,
}

impl ShapeCache {
    /// Looks `shape` up, noting it as seen.
    pub(super) fn lookup(&mut self, shape: &str) -> Lookup {
        let Some(i) = self.entries.iter().position(|(s, _)| s == shape) else {
            if self.entries.len() >= SHAPES {
                self.entries.pop();
            }
            self.entries.insert(0, (shape.to_string(), Known::Once));
            return Lookup::Parse;
        };
        let entry = self.entries.remove(i);
        let found = match &entry.1 {
            Known::Once => Lookup::Second,
            Known::Template(t) => Lookup::Template(t.clone()),
            Known::Refused => Lookup::Parse,
        };
        self.entries.insert(0, entry);
        found
    }

    /// Records the template of `shape`, or that it has none.
    pub(super) fn settle(&mut self, shape: &str, template: Option<Arc<ParsedStatement>>) {
        if let Some(e) = self.entries.iter_mut().find(|(s, _)| s == shape) {
            e.1 = template.map_or(Known::Refused, Known::Template);
        }
    }
}

/// Where the lexer is in the statement.
#[derive(PartialEq)]
enum Part {
    /// Before `VALUES`: names and keywords only.
    Head,
    /// Inside the rows after `VALUES`.
    Rows,
    /// After the closing `;`: only whitespace may follow.
    Done,
}

/// Reads `text` (one statement, with or without its `;`) as a shaped INSERT, or says no.
pub(super) fn shape_of(text: &str) -> Option<Shaped> {
    let b = text.as_bytes();
    let mut shape = String::with_capacity(text.len() + 8);
    let mut literals = Vec::new();
    let mut part = Part::Head;
    let mut depth = 0i32;
    let mut first_word = true;
    let (mut start, mut end) = (None, 0);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            shape.push(c as char);
            i += 1;
            continue;
        }
        if part == Part::Done {
            return None;
        }
        if start.is_none() && !c.is_ascii_alphabetic() {
            return None;
        }
        start.get_or_insert(i);
        let token_start = i;
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let word_end = i + b[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
                    .unwrap_or(b.len() - i);
                let word = &text[i..word_end];
                if part == Part::Rows
                    && word.eq_ignore_ascii_case("x")
                    && b.get(word_end) == Some(&b'\'')
                {
                    let (blob, next) = blob_literal(text, word_end)?;
                    push_literal(&mut shape, &mut literals, blob)?;
                    i = next;
                } else {
                    if first_word
                        && !word.eq_ignore_ascii_case("insert")
                        && !word.eq_ignore_ascii_case("replace")
                    {
                        return None;
                    }
                    first_word = false;
                    match part {
                        Part::Head if word.eq_ignore_ascii_case("values") => {
                            if depth != 0 {
                                return None;
                            }
                            part = Part::Rows;
                        }
                        Part::Head
                            if ["select", "with", "default", "on", "returning"]
                                .iter()
                                .any(|k| word.eq_ignore_ascii_case(k)) =>
                        {
                            return None
                        }
                        Part::Head => {}
                        _ if ["null", "true", "false"]
                            .iter()
                            .any(|k| word.eq_ignore_ascii_case(k)) => {}
                        _ => return None,
                    }
                    shape.push_str(word);
                    i = word_end;
                }
            }
            b'"' | b'`' | b'[' if part == Part::Head => {
                let close = if c == b'[' { b']' } else { c };
                let len = b[i + 1..].iter().position(|&x| x == close)?;
                // A doubled quote inside a quoted name: leave it to the parser.
                if b.get(i + len + 2) == Some(&close) && close != b']' {
                    return None;
                }
                shape.push_str(&text[i..i + len + 2]);
                i += len + 2;
            }
            b'(' => {
                depth += 1;
                shape.push('(');
                i += 1;
            }
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
                shape.push(')');
                i += 1;
            }
            b',' | b'.' if part == Part::Head || c == b',' => {
                shape.push(c as char);
                i += 1;
            }
            // A sign only where a value starts (SQLite's unary operator), never an addition.
            b'-' | b'+'
                if part == Part::Rows
                    && b.get(i + 1) != Some(&b'-')
                    && shape.trim_end().ends_with(['(', ',', '-', '+']) =>
            {
                shape.push(c as char);
                i += 1;
            }
            b'\'' if part == Part::Rows => {
                let (s, next) = string_literal(text, i)?;
                push_literal(&mut shape, &mut literals, Value::Text(s))?;
                i = next;
            }
            b'0'..=b'9' | b'.' if part == Part::Rows => {
                let (v, next) = number_literal(text, i)?;
                push_literal(&mut shape, &mut literals, v)?;
                i = next;
            }
            b';' if part == Part::Rows && depth == 0 => {
                part = Part::Done;
                i += 1;
                continue;
            }
            _ => return None,
        }
        end = i.max(token_start + 1);
    }
    if part == Part::Head || depth != 0 || literals.is_empty() {
        return None;
    }
    Some(Shaped {
        shape,
        literals,
        text_range: start.unwrap_or(0)..end,
    })
}

/// Appends literal `v` as the next numbered placeholder.
fn push_literal(shape: &mut String, literals: &mut Vec<Value>, v: Value) -> Option<()> {
    if literals.len() >= MAX_LITERALS {
        return None;
    }
    literals.push(v);
    shape.push('?');
    push_number(shape, literals.len());
    Some(())
}

/// Appends `n` in decimal, into the shape itself: a 500-row INSERT has thousands of literals,
/// and formatting each number into a new string was a tenth of the shape's time.
fn push_number(shape: &mut String, n: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(shape, "{n}");
}

/// The string literal opening at `at` and the position after it (`''` is one quote).
fn string_literal(text: &str, at: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut value = String::new();
    let mut from = at + 1;
    loop {
        let close = from + b[from..].iter().position(|&c| c == b'\'')?;
        value.push_str(&text[from..close]);
        if b.get(close + 1) == Some(&b'\'') {
            value.push('\'');
            from = close + 2;
        } else {
            return Some((value, close + 1));
        }
    }
}

/// The blob literal whose quote opens at `quote` (after its `x`), and the position after it.
fn blob_literal(text: &str, quote: usize) -> Option<(Value, usize)> {
    let b = text.as_bytes();
    let len = b[quote + 1..].iter().position(|&c| c == b'\'')?;
    let hex = &b[quote + 1..quote + 1 + len];
    if hex.len() % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let bytes = hex
        .chunks(2)
        .map(|p| digit(p[0]) << 4 | digit(p[1]))
        .collect();
    Some((Value::Blob(bytes), quote + len + 2))
}

/// The number literal starting at `at` and the position after it, read as the binder reads
/// numbers; `None` for forms the lexer leaves to the parser (hexadecimal, digit separators,
/// integers beyond 64 bits, a number running into a name).
fn number_literal(text: &str, at: usize) -> Option<(Value, usize)> {
    let b = text.as_bytes();
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = digits(at);
    let mut integer = true;
    if b.get(i) == Some(&b'.') {
        integer = false;
        i = digits(i + 1);
    }
    if i == at || &text[at..i] == "." {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        integer = false;
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let after = digits(j);
        if after == j {
            return None;
        }
        i = after;
    }
    if b.get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.'))
    {
        return None;
    }
    let token = &text[at..i];
    let value = if integer {
        Value::Integer(token.parse().ok()?)
    } else {
        Value::Real(token.parse().ok()?)
    };
    Some((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Option<(String, Vec<Value>, &str)> {
        shape_of(text).map(|s| (s.shape, s.literals, &text[s.text_range]))
    }

    #[test]
    fn literals_become_numbered_parameters() {
        let (s, v, text) =
            shape("\n INSERT INTO \"t\" (a, b) VALUES (1, 'it''s', -2.5e1, x'0aFF', NULL);  ")
                .unwrap();
        assert_eq!(
            s,
            "\n INSERT INTO \"t\" (a, b) VALUES (?1, ?2, -?3, ?4, NULL)  "
        );
        assert_eq!(
            v,
            vec![
                Value::Integer(1),
                Value::Text("it's".into()),
                Value::Real(25.0),
                Value::Blob(vec![10, 255]),
            ]
        );
        assert_eq!(
            text,
            "INSERT INTO \"t\" (a, b) VALUES (1, 'it''s', -2.5e1, x'0aFF', NULL)"
        );
        let (s, v, _) = shape("replace into main.t values(1.),(.5),(TRUE)").unwrap();
        assert_eq!(s, "replace into main.t values(?1),(?2),(TRUE)");
        assert_eq!(v, vec![Value::Real(1.0), Value::Real(0.5)]);
        let (_, v, _) = shape("INSERT INTO t VALUES (9223372036854775807, 'é;')").unwrap();
        assert_eq!(v, vec![Value::Integer(i64::MAX), Value::Text("é;".into())]);
    }

    #[test]
    fn anything_unusual_is_left_to_the_parser() {
        for text in [
            "SELECT 1",
            "INSERT INTO t SELECT 1",
            "INSERT INTO t DEFAULT VALUES",
            "INSERT INTO t VALUES (NULL)",
            "INSERT INTO t VALUES (?)",
            "INSERT INTO t VALUES (:a)",
            "INSERT INTO t VALUES (1) -- note",
            "INSERT INTO t VALUES (1) /* note */",
            "INSERT INTO t VALUES (1 + 2)",
            "INSERT INTO t VALUES (abs(1))",
            "INSERT INTO t VALUES (\"a\")",
            "INSERT INTO t VALUES (0x10)",
            "INSERT INTO t VALUES (1_000)",
            "INSERT INTO t VALUES (9223372036854775808)",
            "INSERT INTO t VALUES (-9223372036854775808)",
            "INSERT INTO t VALUES (1e)",
            "INSERT INTO t VALUES (1abc)",
            "INSERT INTO t VALUES ('a)",
            "INSERT INTO t VALUES (x'abc')",
            "INSERT INTO t VALUES ((1)",
            "INSERT INTO t VALUES (1))",
            "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
            "INSERT INTO t VALUES (1) RETURNING a",
            "INSERT INTO t VALUES (1); SELECT 2",
            "INSERT INTO t2 SELECT * FROM (VALUES (1))",
            "INSERT INTO t(a) VALUES (1) ;;",
            "INSERT INTO tä VALUES (1)",
            "INSERT INTO \"a\"\"b\" VALUES (1)",
            "INSERT INTO t VALUES (1.2.3)",
        ] {
            assert_eq!(shape(text), None, "{text}");
        }
    }

    #[test]
    fn a_template_is_made_on_the_second_sighting_and_kept() {
        let mut cache = ShapeCache::default();
        assert!(matches!(cache.lookup("a"), Lookup::Parse));
        assert!(matches!(cache.lookup("a"), Lookup::Second));
        let t = Arc::new(ParsedStatement::placeholder());
        cache.settle("a", Some(t));
        assert!(matches!(cache.lookup("a"), Lookup::Template(_)));
        cache.settle("a", None);
        assert!(matches!(cache.lookup("a"), Lookup::Parse));
        for i in 0..SHAPES {
            cache.lookup(&i.to_string());
        }
        // Pushed out by newer shapes: seen once again.
        assert!(matches!(cache.lookup("a"), Lookup::Parse));
        assert_eq!(cache.entries.len(), SHAPES);
    }

    use proptest::prelude::*;

    /// A literal as written and the value it must become (a sign stays in the shape, so
    /// numbers are generated without one).
    fn arb_literal() -> impl Strategy<Value = (String, Value)> {
        prop_oneof![
            (0..=i64::MAX).prop_map(|i| (i.to_string(), Value::Integer(i))),
            any::<f64>()
                .prop_filter("finite, not negative", |f| f.is_finite()
                    && f.is_sign_positive())
                .prop_map(|f| (format!("{f:?}"), Value::Real(f))),
            ".*".prop_map(|s| (format!("'{}'", s.replace('\'', "''")), Value::Text(s))),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(|b| {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                (format!("x'{hex}'"), Value::Blob(b))
            }),
        ]
    }

    proptest! {
        #[test]
        fn generated_inserts_give_their_literals_and_a_template_that_parses(
            rows in proptest::collection::vec(proptest::collection::vec(arb_literal(), 1..4), 1..3),
            signs in proptest::collection::vec(prop_oneof![Just(""), Just("-"), Just("+ ")], 12),
            semicolon in any::<bool>(),
        ) {
            let mut expected = Vec::new();
            let mut sign = signs.iter().cycle();
            let rows_text: Vec<String> = rows
                .iter()
                .map(|row| {
                    let items: Vec<String> = row
                        .iter()
                        .map(|(text, value)| {
                            expected.push(value.clone());
                            let s = if matches!(value, Value::Integer(_) | Value::Real(_)) {
                                sign.next().copied().unwrap_or("")
                            } else {
                                ""
                            };
                            format!("{s}{text}")
                        })
                        .collect();
                    format!("({})", items.join(", "))
                })
                .collect();
            let text = format!(
                "insert into t values {}{}",
                rows_text.join(","),
                if semicolon { ";" } else { "" }
            );
            let shaped = shape_of(&text).expect("a plain INSERT of literals is shaped");
            prop_assert_eq!(&shaped.literals, &expected);
            prop_assert_eq!(&text[shaped.text_range.clone()], text.trim_end_matches(';'));
            let parsed: Vec<_> = super::super::parse(&shaped.shape).unwrap();
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(parsed[0].param_count, expected.len());
        }

        #[test]
        fn any_text_is_read_or_refused_without_panicking(
            tail in "[-+.,;()'\"`\\[\\]xX0-9eE_ aNULvé\n?:]{0,40}",
        ) {
            let text = format!("INSERT INTO t VALUES {tail}");
            if let Some(s) = shape_of(&text) {
                let _ = &text[s.text_range];
                prop_assert!(!s.literals.is_empty());
            }
        }
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0usize, 7, 10, 99, 32766, usize::MAX] {
            let mut s = String::from("?");
            push_number(&mut s, n);
            assert_eq!(s, format!("?{n}"));
        }
    }
}
