//! Finding where a statement typed or read line by line ends, one line at a time.
//!
//! The shell collects lines until they hold complete statements, then runs them. Scanning the
//! whole collected text again after every line made a statement of n lines cost n² (a
//! pretty-printed INSERT of 20,000 lines re-read hundreds of megabytes); the scanner keeps its
//! state between lines, so each character is looked at once.

/// Where the scanner is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Place {
    /// In SQL text, outside quotes and comments.
    #[default]
    Code,
    /// Inside `'...'`.
    SingleQuoted,
    /// Inside `"..."`.
    DoubleQuoted,
    /// Inside `-- ...` up to the end of the line.
    LineComment,
    /// Inside `/* ... */`; `after_star` when the last character was `*`.
    BlockComment { after_star: bool },
}

/// Incremental statement-end detection: [`StatementEnd::feed`] text as it arrives, and
/// [`StatementEnd::complete`] says whether everything fed so far ends in a complete statement.
/// A statement is complete at a `;` outside quotes and comments, and outside the
/// `BEGIN ... END` body of a `CREATE TRIGGER`.
#[derive(Debug, Clone, Default)]
pub struct StatementEnd {
    place: Place,
    /// A `-` or `/` just seen in code, which starts a comment if the next character agrees.
    pending: Option<char>,
    /// The last character in code that is not whitespace.
    last_significant: Option<char>,
    /// The word being read.
    word: String,
    /// The first words of the current statement (upper case), enough to spot
    /// `CREATE [TEMP] TRIGGER`.
    first_words: Vec<String>,
    /// Open `BEGIN` / `CASE` blocks inside a trigger's body.
    trigger_depth: usize,
}

impl StatementEnd {
    /// Scans more text (typically a line and its newline).
    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            self.step(c);
        }
    }

    /// True once the text fed so far ends with a complete statement (only whitespace or
    /// comments after its `;`).
    pub fn complete(&self) -> bool {
        matches!(self.place, Place::Code | Place::LineComment)
            && self.pending.is_none()
            && self.trigger_depth == 0
            && self.last_significant == Some(';')
    }

    fn step(&mut self, c: char) {
        match self.place {
            Place::SingleQuoted => {
                if c == '\'' {
                    self.place = Place::Code;
                }
            }
            Place::DoubleQuoted => {
                if c == '"' {
                    self.place = Place::Code;
                }
            }
            Place::LineComment => {
                if c == '\n' {
                    self.place = Place::Code;
                }
            }
            Place::BlockComment { after_star } => {
                self.place = if after_star && c == '/' {
                    Place::Code
                } else {
                    Place::BlockComment {
                        after_star: c == '*',
                    }
                };
            }
            Place::Code => self.code(c),
        }
    }

    fn code(&mut self, c: char) {
        if let Some(p) = self.pending.take() {
            match (p, c) {
                ('-', '-') => {
                    self.place = Place::LineComment;
                    return;
                }
                ('/', '*') => {
                    self.place = Place::BlockComment { after_star: false };
                    return;
                }
                // A lone `-` or `/`: an operator.
                _ => self.last_significant = Some(p),
            }
        }
        if c.is_alphanumeric() || c == '_' {
            self.word.push(c);
            self.last_significant = Some(c);
            return;
        }
        self.end_word();
        match c {
            '\'' => self.place = Place::SingleQuoted,
            '"' => self.place = Place::DoubleQuoted,
            '-' | '/' => {
                self.pending = Some(c);
                return;
            }
            ';' if self.trigger_depth == 0 => self.first_words.clear(),
            _ => {}
        }
        if !c.is_whitespace() {
            self.last_significant = Some(c);
        }
    }

    fn end_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let w = std::mem::take(&mut self.word).to_ascii_uppercase();
        let in_trigger = self.first_words.first().is_some_and(|f| f == "CREATE")
            && self.first_words.iter().any(|x| x == "TRIGGER");
        if in_trigger {
            match w.as_str() {
                "BEGIN" | "CASE" => self.trigger_depth += 1,
                "END" => self.trigger_depth = self.trigger_depth.saturating_sub(1),
                _ => {}
            }
        }
        if self.first_words.len() < 3 {
            self.first_words.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True once `buf` holds one or more complete statements.
    fn is_complete(buf: &str) -> bool {
        let mut s = StatementEnd::default();
        s.feed(buf);
        s.complete()
    }

    #[test]
    fn statement_completion() {
        assert!(is_complete("SELECT 1;"));
        assert!(!is_complete("SELECT ';'"));
        assert!(is_complete("SELECT ';';\n"));
        assert!(!is_complete("SELECT 1 -- done;"));
        assert!(is_complete("SELECT 1; -- done\n"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(!is_complete("SELECT 1; /* open"));
        assert!(is_complete("SELECT 1 /* ; */;"));
        assert!(!is_complete("SELECT 1;-"));
        assert!(is_complete("SELECT 4/2;"));
        let trig = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n INSERT INTO l VALUES (1);\n";
        assert!(!is_complete(trig));
        assert!(is_complete(&format!("{trig}END;\n")));
        assert!(is_complete(
            "CREATE TEMP TRIGGER x AFTER UPDATE ON t BEGIN SELECT CASE WHEN 1 THEN 2 END; END;"
        ));
        assert!(is_complete("SELECT 1; BEGIN;"));
    }

    #[test]
    fn feeding_line_by_line_matches_scanning_the_whole() {
        let script = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO l VALUES ('a;\nb');\n\
                      /* a ; comment\n */ -- and ; one\nEND;\nSELECT 1 -\n- 2;\nSELECT \"x;\ny\";\n";
        let mut s = StatementEnd::default();
        let mut fed = String::new();
        for line in script.lines() {
            s.feed(line);
            s.feed("\n");
            fed.push_str(line);
            fed.push('\n');
            assert_eq!(s.complete(), is_complete(&fed), "after {fed:?}");
        }
        assert!(s.complete());
    }
}
