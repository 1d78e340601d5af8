//! Light-weight reading of SQL text, for what the server must know before the engine sees
//! a statement: where one statement of a simple query ends, what kind it is (for the
//! metrics and the command tag), and a normalised form for recognising the PostgreSQL
//! client queries the server answers itself.

/// Splits a query string into statements at top-level `;`, keeping quoted text, quoted
/// identifiers and comments intact. Empty statements are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == q {
                        // A doubled quote is an escaped quote inside the literal.
                        if bytes.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                push_nonempty(&mut out, &sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < sql.len() {
        push_nonempty(&mut out, &sql[start..]);
    }
    out
}

fn push_nonempty<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    if !strip_comments(s).trim().is_empty() {
        out.push(s.trim());
    }
}

/// The text without `--` and `/* */` comments (quoted text kept).
fn strip_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Lower case, comments removed, whitespace runs collapsed to one space, no trailing `;`.
/// Only used to recognise statements, never run.
pub fn normalize(sql: &str) -> String {
    let text = strip_comments(sql).to_lowercase();
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    while out.ends_with(';') {
        out.pop();
        while out.ends_with(' ') {
            out.pop();
        }
    }
    out
}

/// What a statement does, for the query-duration histogram's `query_type` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    /// A read of the current data.
    Current,
    /// A read of history (`AS OF`, `BEFORE TRANSACTION`, or a session's `heliosdb.as_of`).
    TimeTravel,
    /// Anything that writes (DML, DDL, transaction control).
    Write,
}

impl QueryType {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            QueryType::Current => "current",
            QueryType::TimeTravel => "time_travel",
            QueryType::Write => "write",
        }
    }
}

/// Classifies a statement from its normalised text.
pub fn query_type(normalized: &str, session_as_of: bool) -> QueryType {
    let first = normalized.split([' ', '(']).next().unwrap_or("");
    let reads = matches!(
        first,
        "select" | "with" | "values" | "explain" | "show" | "pragma" | "table"
    );
    // WITH ... INSERT/UPDATE/DELETE writes.
    let cte_writes = first == "with"
        && [" insert ", " update ", " delete "]
            .iter()
            .any(|w| normalized.contains(w));
    if !reads || cte_writes {
        return QueryType::Write;
    }
    if session_as_of
        || normalized.contains(" as of ")
        || normalized.contains(" before transaction ")
        || normalized.contains(" for system_time ")
    {
        QueryType::TimeTravel
    } else {
        QueryType::Current
    }
}

/// The shape of a statement's PostgreSQL command tag, worked out once from its text (a
/// prepared statement keeps it): the counts are filled in each time it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagForm {
    /// `SELECT n`, n the rows returned.
    Select,
    /// `INSERT 0 n`, n the rows changed.
    Insert,
    /// A verb and the rows changed: `UPDATE n`, `DELETE n`.
    Changes(&'static str),
    /// A fixed tag without a count (`CREATE TABLE`, `BEGIN`).
    Fixed(String),
}

impl TagForm {
    /// The tag of a run that returned `rows` rows and changed `changes`.
    pub fn text(&self, rows: usize, changes: u64) -> String {
        match self {
            TagForm::Select => format!("SELECT {rows}"),
            TagForm::Insert => format!("INSERT 0 {changes}"),
            TagForm::Changes(verb) => format!("{verb} {changes}"),
            TagForm::Fixed(tag) => tag.clone(),
        }
    }
}

/// The command tag's shape of a statement, from its normalised text: `SELECT n`,
/// `INSERT 0 n`, `UPDATE n`, `DELETE n`, or the statement's leading keywords
/// (`CREATE TABLE`).
pub fn tag_form(normalized: &str) -> TagForm {
    let words: Vec<&str> = normalized
        .split([' ', '('])
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().copied().unwrap_or("");
    match first {
        "select" | "values" | "table" | "show" | "pragma" | "explain" => TagForm::Select,
        "with" => {
            let verb = ["insert", "update", "delete"]
                .into_iter()
                .find(|w| words.contains(w));
            match verb {
                Some("insert") => TagForm::Insert,
                Some("update") => TagForm::Changes("UPDATE"),
                Some(_) => TagForm::Changes("DELETE"),
                None => TagForm::Select,
            }
        }
        "insert" | "replace" => TagForm::Insert,
        "update" => TagForm::Changes("UPDATE"),
        "delete" => TagForm::Changes("DELETE"),
        "create" | "drop" | "alter" => {
            // CREATE [UNIQUE] INDEX, CREATE [TEMP] TABLE, DROP VIEW...
            let object = words[1..]
                .iter()
                .find(|w| {
                    matches!(
                        **w,
                        "table" | "index" | "view" | "trigger" | "schema" | "sequence"
                    )
                })
                .copied()
                .unwrap_or("");
            TagForm::Fixed(format!("{} {}", first, object).trim().to_uppercase())
        }
        "begin" | "start" => TagForm::Fixed("BEGIN".into()),
        "commit" | "end" => TagForm::Fixed("COMMIT".into()),
        "rollback" | "abort" => TagForm::Fixed("ROLLBACK".into()),
        other => TagForm::Fixed(other.to_uppercase()),
    }
}

/// Rewrites PostgreSQL's positional parameters `$1`, `$2`... as the engine's numbered
/// `?1`, `?2`... (outside quoted text and comments), so that each binds by its number
/// wherever it appears.
pub fn numbered_params(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                out.push_str(&sql[last..i]);
                out.push('?');
                last = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[last..]);
    out
}

/// A copy of a query for planning only: each time-travel parameter (`AS OF SCN ?1`,
/// `TIMESTAMP ?2`, `TRANSACTION ?3`) replaced by an expression naming the newest point, the
/// other parameters by NULL, so the planner can resolve every point and name the columns.
pub fn describable(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            b'?' => {
                let mut end = i + 1;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                let before = sql[..i].trim_end().to_ascii_lowercase();
                let with = if before.ends_with("scn") {
                    "current_scn()"
                } else if before.ends_with("timestamp") {
                    "now()"
                } else if before.ends_with("transaction") {
                    "(SELECT max(txn_id) FROM helios_snapshots)"
                } else {
                    "NULL"
                };
                out.push_str(&sql[last..i]);
                out.push_str(with);
                last = end;
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[last..]);
    out
}

/// For `INSERT` / `UPDATE` / `DELETE ... RETURNING list`: `SELECT list FROM table`, a query
/// with the same result columns that can be described without writing anything. `None`
/// for other statements.
pub fn returning_query(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let mut at = None;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            c if depth == 0
                && c.is_ascii_alphabetic()
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let end = (i + "returning".len()).min(bytes.len());
                let word_ends = bytes
                    .get(end)
                    .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
                let is_returning = sql
                    .get(i..end)
                    .is_some_and(|w| w.eq_ignore_ascii_case("returning"));
                if is_returning && word_ends {
                    at = Some(i);
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let at = at?;
    let list = sql[at + "returning".len()..].trim().trim_end_matches(';');
    let head = normalize(&sql[..at]);
    let words: Vec<&str> = head.split([' ', '(']).filter(|w| !w.is_empty()).collect();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| *w == keyword)
            .and_then(|k| words.get(k + 1))
    };
    let table = match words.first().copied()? {
        "insert" | "replace" => after("into")?,
        "delete" => after("from")?,
        "update" => {
            // UPDATE [OR action] table
            let k = if words.get(1) == Some(&"or") { 3 } else { 1 };
            words.get(k)?
        }
        _ => return None,
    };
    // The table name as written (normalize lower-cased it): find it in the original.
    let original = sql[..at]
        .split(|c: char| c.is_whitespace() || c == '(')
        .find(|w| w.eq_ignore_ascii_case(table))
        .unwrap_or(table);
    Some(format!("SELECT {list} FROM {original}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn returning_lists_become_selects() {
        assert_eq!(
            returning_query(
                "INSERT INTO Items (a, b) VALUES (?1, 'returning') RETURNING id, a AS x;"
            ),
            Some("SELECT id, a AS x FROM Items".into())
        );
        assert_eq!(
            returning_query("UPDATE OR IGNORE t SET a = 1 RETURNING *"),
            Some("SELECT * FROM t".into())
        );
        assert_eq!(
            returning_query("delete from t where a in (select 1) returning a"),
            Some("SELECT a FROM t".into())
        );
        assert_eq!(returning_query("SELECT returning_x FROM t"), None);
        assert_eq!(returning_query("INSERT INTO t VALUES (1)"), None);
    }

    #[test]
    fn describable_copies_name_the_newest_point() {
        assert_eq!(
            describable("SELECT a FROM t AS OF SCN ?1 WHERE b = ?2 AND c = '?'"),
            "SELECT a FROM t AS OF SCN current_scn() WHERE b = NULL AND c = '?'"
        );
    }

    #[test]
    fn dollar_parameters_become_numbered() {
        assert_eq!(
            numbered_params("SELECT $2, '$1', a$1 FROM t WHERE x = $1"),
            "SELECT ?2, '$1', a$1 FROM t WHERE x = ?1"
        );
    }

    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("SELECT ';'; -- a;b\nSELECT 2 /* ; */;;  "),
            vec!["SELECT ';'", "-- a;b\nSELECT 2 /* ; */"]
        );
        assert!(split_statements(" ; -- only a comment").is_empty());
    }

    #[test]
    fn classifies_and_tags() {
        let n = normalize("Select * FROM t AS OF SCN 3;");
        assert_eq!(n, "select * from t as of scn 3");
        assert_eq!(query_type(&n, false), QueryType::TimeTravel);
        assert_eq!(query_type("select 1", false), QueryType::Current);
        assert_eq!(query_type("select 1", true), QueryType::TimeTravel);
        assert_eq!(
            query_type("insert into t values (1)", false),
            QueryType::Write
        );
        assert_eq!(
            tag_form("insert into t values (1)").text(0, 1),
            "INSERT 0 1"
        );
        assert_eq!(
            tag_form("create unique index i on t(a)").text(0, 0),
            "CREATE INDEX"
        );
        assert_eq!(tag_form("select 1").text(1, 0), "SELECT 1");
    }
}
