//! A parsed JSON document as SQLite's JSON functions see it: numbers and strings keep the text
//! they were written with (so `json('1.50')` gives back `1.50` and `"\u0041"` stays escaped),
//! object members keep their order and duplicates, and rendering is minified.

use crate::error::{Error, Result};

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`
    Null,
    /// `true`
    True,
    /// `false`
    False,
    /// A number, as written; `real` when it has a fraction or an exponent.
    Number {
        /// The number's text.
        raw: String,
        /// True for a fraction or exponent (SQLite's `real`), false for an integer.
        real: bool,
    },
    /// A string: its body between the quotes, escapes kept as written.
    Str(String),
    /// An array.
    Array(Vec<Node>),
    /// An object: members in order, keys as escaped string bodies.
    Object(Vec<(String, Node)>),
}

/// The error every JSON function gives for text that is not JSON.
pub fn malformed() -> Error {
    Error::invalid("malformed JSON")
}

/// Parses JSON text. `strict` refuses raw control characters inside strings (as
/// `json_valid` does); otherwise they are accepted and escaped, as `json()` does.
pub fn parse(text: &str, strict: bool) -> Result<Node> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        strict,
        depth: 0,
    };
    p.ws();
    let n = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(malformed());
    }
    Ok(n)
}

/// Deepest nesting accepted (SQLite's limit is 1000).
const MAX_DEPTH: usize = 1000;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    strict: bool,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self, w: &str, n: Node) -> Result<Node> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(n)
        } else {
            Err(malformed())
        }
    }

    fn value(&mut self) -> Result<Node> {
        match self.s.get(self.i) {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(b'n') => self.word("null", Node::Null),
            Some(b't') => self.word("true", Node::True),
            Some(b'f') => self.word("false", Node::False),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(malformed()),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Node>) -> Result<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(malformed());
        }
        let n = f(self)?;
        self.depth -= 1;
        Ok(n)
    }

    fn array(&mut self) -> Result<Node> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b']') {
            return Ok(Node::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            if self.eat(b']') {
                return Ok(Node::Array(items));
            }
            if !self.eat(b',') {
                return Err(malformed());
            }
        }
    }

    fn object(&mut self) -> Result<Node> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.eat(b'}') {
            return Ok(Node::Object(members));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(malformed());
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b':') {
                return Err(malformed());
            }
            self.ws();
            members.push((key, self.value()?));
            self.ws();
            if self.eat(b'}') {
                return Ok(Node::Object(members));
            }
            if !self.eat(b',') {
                return Err(malformed());
            }
        }
    }

    /// A string's body (the cursor is on its opening quote), escapes checked and kept.
    fn string(&mut self) -> Result<String> {
        self.i += 1;
        let mut out = String::new();
        let start = self.i;
        let mut run = start;
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(malformed());
            };
            match b {
                b'"' => {
                    out.push_str(self.text(run, self.i));
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => match self.s.get(self.i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                    Some(b'u') => {
                        let hex = self.s.get(self.i + 2..self.i + 6).ok_or_else(malformed)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(malformed());
                        }
                        self.i += 6;
                    }
                    _ => return Err(malformed()),
                },
                0..=0x1f => {
                    if self.strict {
                        return Err(malformed());
                    }
                    out.push_str(self.text(run, self.i));
                    escape_control(b, &mut out);
                    self.i += 1;
                    run = self.i;
                }
                _ => self.i += 1,
            }
        }
    }

    fn text(&self, from: usize, to: usize) -> &str {
        // The input is a &str and the cuts fall on ASCII bytes.
        std::str::from_utf8(&self.s[from..to]).unwrap_or_default()
    }

    fn number(&mut self) -> Result<Node> {
        let start = self.i;
        self.eat(b'-');
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(malformed()),
        }
        let mut real = false;
        if self.eat(b'.') {
            real = true;
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(malformed());
            }
            self.digits();
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            real = true;
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(malformed());
            }
            self.digits();
        }
        Ok(Node::Number {
            raw: self.text(start, self.i).to_string(),
            real,
        })
    }

    fn digits(&mut self) {
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

/// Appends the JSON escape of a control character.
fn escape_control(b: u8, out: &mut String) {
    match b {
        b'\x08' => out.push_str("\\b"),
        b'\x0c' => out.push_str("\\f"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        _ => out.push_str(&format!("\\u{:04x}", b)),
    }
}

/// The escaped body of a JSON string holding `s` (no quotes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => escape_control(c as u8, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// The text a string body stands for, escapes decoded (a lone surrogate becomes U+FFFD).
pub fn unescape(body: &str) -> String {
    if !body.contains('\\') {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    let hex4 = |chars: &mut std::str::Chars<'_>| -> Option<u32> {
        let h: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&h, 16).ok()
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let Some(hi) = hex4(&mut chars) else { break };
                let code = if (0xD800..0xDC00).contains(&hi) {
                    let rest = chars.as_str();
                    match rest.strip_prefix("\\u").and_then(|r| r.get(..4)) {
                        Some(h) => match u32::from_str_radix(h, 16) {
                            Ok(lo) if (0xDC00..0xE000).contains(&lo) => {
                                chars = rest[6..].chars();
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            }
                            _ => 0xFFFD,
                        },
                        None => 0xFFFD,
                    }
                } else {
                    hi
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => break,
        }
    }
    out
}

impl Node {
    /// Minified JSON text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    /// Appends minified JSON text.
    pub fn render_into(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::True => out.push_str("true"),
            Node::False => out.push_str("false"),
            Node::Number { raw, .. } => out.push_str(raw),
            Node::Str(body) => {
                out.push('"');
                out.push_str(body);
                out.push('"');
            }
            Node::Array(items) => {
                out.push('[');
                for (i, n) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    n.render_into(out);
                }
                out.push(']');
            }
            Node::Object(members) => {
                out.push('{');
                for (i, (k, n)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(k);
                    out.push_str("\":");
                    n.render_into(out);
                }
                out.push('}');
            }
        }
    }

    /// SQLite's name for the node's type (`json_type`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::True => "true",
            Node::False => "false",
            Node::Number { real: false, .. } => "integer",
            Node::Number { real: true, .. } => "real",
            Node::Str(_) => "text",
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_minifies_keeping_the_written_text() {
        let n = parse(
            " { \"a\" : [1, 2.50, -0, 1E+2], \"b\": \"x\\u0041\" } ",
            true,
        )
        .unwrap();
        assert_eq!(n.render(), "{\"a\":[1,2.50,-0,1E+2],\"b\":\"x\\u0041\"}");
        for bad in [
            "", "[1,", "01", "1.", ".5", "+1", "[1,]", "{\"a\"}", "\"\\x\"", "nul",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("\"a\tb\"", true).is_err());
        assert_eq!(parse("\"a\tb\"", false).unwrap().render(), "\"a\\tb\"");
    }

    #[test]
    fn escapes_round_trip() {
        let s = "a\"b\\/\u{1}\u{8}\t\n\u{c}\r\u{1f}\u{7f}é😀";
        assert_eq!(unescape(&escape(s)), s);
        assert_eq!(unescape("\\ud83d\\ude00\\u0041"), "😀A");
        assert_eq!(unescape("\\ud83d"), "\u{FFFD}");
    }
}
