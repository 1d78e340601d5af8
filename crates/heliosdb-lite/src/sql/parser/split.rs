//! Cuts a script into pieces that each end at a `;` outside quotes and comments, so that a
//! long script is tokenized a piece at a time instead of whole up front (the tokens of a
//! script of 100,000 INSERTs took hundreds of megabytes before the first statement ran).
//!
//! The cut only has to agree with the tokenizer on where quotes and comments begin and end,
//! the lexical rules of SQLite's dialect: `'...'`, `"..."` and `` `...` `` (a doubled quote
//! stays inside), `[...]`, `-- ...` to the end of the line and `/* ... */`. Whether a `;`
//! ends a statement (not inside parentheses, not inside a trigger's body) is still decided on
//! the tokens, by the caller: a piece may end in the middle of a statement.

/// A piece of a script: its text and where it starts (1-based line and column, in
/// characters), so token positions can be made relative to the whole script again.
pub(super) struct Piece<'s> {
    /// The piece's text, its closing `;` included.
    pub text: &'s str,
    /// The line of the piece's first character in the script.
    pub line: u64,
    /// The column of the piece's first character on that line.
    pub column: u64,
}

/// Iterates the pieces of a script in order; together they cover the whole text.
#[derive(Clone)]
pub(super) struct Pieces<'s> {
    rest: &'s str,
    line: u64,
    column: u64,
}

impl<'s> Pieces<'s> {
    /// Pieces of `sql`.
    pub fn new(sql: &'s str) -> Self {
        Pieces {
            rest: sql,
            line: 1,
            column: 1,
        }
    }
}

/// Bytes that end a run of plain code: the `;` that ends a piece, and the openers of quotes
/// and comments.
fn is_special(c: u8) -> bool {
    matches!(c, b';' | b'\'' | b'"' | b'`' | b'[' | b'-' | b'/')
}

/// The byte length of the piece at the start of `s`: through its first `;` outside quotes
/// and comments, or all of `s`. Inside a quote or a comment it jumps to the closing bytes
/// (a vectorised search): a 500-row INSERT is mostly quoted text and numbers, and a byte at a
/// time through a state machine cost a tenth of loading it.
fn piece_len(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(p) = s[i..].iter().position(|&c| is_special(c)) {
        i += p;
        let rest = &s[i + 1..];
        let skip = match s[i] {
            b';' => return i + 1,
            // A doubled quote closes and reopens: the same as staying inside.
            b'\'' | b'"' | b'`' => memchr::memchr(s[i], rest).map(|q| q + 1),
            b'[' => memchr::memchr(b']', rest).map(|q| q + 1),
            b'-' if rest.first() == Some(&b'-') => memchr::memchr(b'\n', &rest[1..]).map(|n| n + 2),
            b'/' if rest.first() == Some(&b'*') => {
                memchr::memmem::find(&rest[1..], b"*/").map(|e| e + 3)
            }
            _ => Some(0),
        };
        match skip {
            Some(n) => i += 1 + n,
            // An unclosed quote or comment runs to the end.
            None => return s.len(),
        }
    }
    s.len()
}

impl<'s> Iterator for Pieces<'s> {
    type Item = Piece<'s>;

    fn next(&mut self) -> Option<Piece<'s>> {
        if self.rest.is_empty() {
            return None;
        }
        // Every byte the cutter stops after is ASCII, so the cut is a character boundary.
        let (text, rest) = self.rest.split_at(piece_len(self.rest.as_bytes()));
        let piece = Piece {
            text,
            line: self.line,
            column: self.column,
        };
        match text.rfind('\n') {
            Some(nl) => {
                self.line += text.matches('\n').count() as u64;
                self.column = 1 + text[nl + 1..].chars().count() as u64;
            }
            None => self.column += text.chars().count() as u64,
        }
        self.rest = rest;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(sql: &str) -> Vec<(&str, u64, u64)> {
        Pieces::new(sql)
            .map(|p| (p.text, p.line, p.column))
            .collect()
    }

    #[test]
    fn cuts_after_each_semicolon_outside_quotes_and_comments() {
        let sql = "SELECT 'a;b', \"c;\", `d;`, [e;];\n-- x; y\nSELECT 1 /* ; */; SELECT 'it''s;'";
        assert_eq!(
            cut(sql),
            vec![
                ("SELECT 'a;b', \"c;\", `d;`, [e;];", 1, 1),
                ("\n-- x; y\nSELECT 1 /* ; */;", 1, 32),
                (" SELECT 'it''s;'", 3, 18),
            ]
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let sql = "SELECT 'é';SELECT 2;";
        assert_eq!(cut(sql), vec![("SELECT 'é';", 1, 1), ("SELECT 2;", 1, 12)]);
    }

    /// The cutter as a byte-at-a-time state machine: the rules written out plainly.
    fn piece_len_by_bytes(s: &[u8]) -> usize {
        #[derive(Clone, Copy)]
        enum Inside {
            Code,
            Quote(u8),
            LineComment,
            BlockComment,
        }
        let mut inside = Inside::Code;
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            match inside {
                Inside::Code => match c {
                    b';' => return i + 1,
                    b'\'' | b'"' | b'`' => inside = Inside::Quote(c),
                    b'[' => inside = Inside::Quote(b']'),
                    b'-' if s.get(i + 1) == Some(&b'-') => {
                        inside = Inside::LineComment;
                        i += 1;
                    }
                    b'/' if s.get(i + 1) == Some(&b'*') => {
                        inside = Inside::BlockComment;
                        i += 1;
                    }
                    _ => {}
                },
                Inside::Quote(q) if c == q => inside = Inside::Code,
                Inside::LineComment if c == b'\n' => inside = Inside::Code,
                Inside::BlockComment if c == b'*' && s.get(i + 1) == Some(&b'/') => {
                    inside = Inside::Code;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        s.len()
    }

    proptest::proptest! {
        #[test]
        fn the_cut_agrees_with_the_byte_at_a_time_rules(
            bytes in proptest::collection::vec(
                proptest::sample::select(b";'\"`[]-/*\nab ".to_vec()),
                0..64,
            )
        ) {
            proptest::prop_assert_eq!(piece_len(&bytes), piece_len_by_bytes(&bytes));
        }
    }

    #[test]
    fn unterminated_quote_or_comment_runs_to_the_end() {
        assert_eq!(cut("SELECT 'a; b"), vec![("SELECT 'a; b", 1, 1)]);
        assert_eq!(cut("SELECT 1 /* ;"), vec![("SELECT 1 /* ;", 1, 1)]);
        assert!(cut("").is_empty());
    }
}
