//! Types for the parameters a client leaves untyped (`$1` sent with type 0, as psycopg
//! does for strings, or as psql's `\bind` does for everything).
//!
//! PostgreSQL infers such a parameter's type from where it stands; the engine, like
//! SQLite, has no such step. The server reads the statement's text for the common places a
//! parameter stands in — compared with a column (`col = $1`, `$1 < col`, `col LIKE $1`,
//! `col IN ($1, $2)`, `col BETWEEN $1 AND $2`), assigned to one (`SET col = $1`,
//! `INSERT INTO t (a, b) VALUES ($1, $2)`), a time-travel point (`AS OF SCN $1`) or a row
//! count (`LIMIT $1`) — and takes the column's declared type from the engine. A parameter
//! found nowhere, or in places that disagree, stays `text`; the engine then converts the
//! text by the column's affinity, as SQLite does.

use crate::types::ColumnType;
use heliosdb_lite::Connection;

/// One token of SQL text, as far as inference needs it.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A word or a quoted identifier, lower-cased unless quoted.
    Word(String),
    /// `?N` (the server has already rewritten `$N`).
    Param(usize),
    /// Comparison and other operators, and punctuation.
    Symbol(String),
    /// A literal (string or number): only its position matters.
    Literal,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Literal);
        } else if c == '"' || c == '`' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            out.push(Token::Word(
                chars[start..i.min(chars.len())].iter().collect(),
            ));
            i += 1;
        } else if c == '?' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            // A bare `?` is the next number after the highest so far, as in SQLite.
            let n = digits.parse().unwrap_or_else(|_| {
                out.iter()
                    .filter_map(|t| match t {
                        Token::Param(n) => Some(*n),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0)
                    + 1
            });
            out.push(Token::Param(n));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Literal);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(Token::Word(word.to_lowercase()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if matches!(two.as_str(), "<=" | ">=" | "<>" | "!=" | "==" | "||") {
                out.push(Token::Symbol(two));
                i += 2;
            } else {
                out.push(Token::Symbol(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

/// Where a parameter stands: next to a column, or in a place with a fixed type.
#[derive(Debug, Clone, PartialEq)]
enum Use {
    Column(String),
    Fixed(ColumnType),
}

fn is_comparison(t: &Token) -> bool {
    match t {
        Token::Symbol(s) => matches!(
            s.as_str(),
            "=" | "==" | "<>" | "!=" | "<" | ">" | "<=" | ">="
        ),
        Token::Word(w) => matches!(w.as_str(), "like" | "glob" | "is"),
        _ => false,
    }
}

fn word(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// The column a token names (`col` or `alias.col`), if it is one.
fn column_before(tokens: &[Token], end: usize) -> Option<String> {
    let name = word(tokens.get(end))?;
    if is_keyword(name) {
        return None;
    }
    Some(name.to_string())
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "select"
            | "where"
            | "and"
            | "or"
            | "not"
            | "set"
            | "values"
            | "from"
            | "on"
            | "when"
            | "then"
            | "else"
            | "case"
            | "in"
            | "between"
            | "like"
            | "is"
            | "null"
            | "by"
    )
}

/// The uses of each parameter found in the tokens.
fn uses(tokens: &[Token]) -> Vec<(usize, Use)> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let Token::Param(n) = t else { continue };
        let n = *n;
        let prev = |k: usize| i.checked_sub(k).and_then(|j| tokens.get(j));
        // AS OF SCN ?, TRANSACTION ?, LIMIT ?, OFFSET ?
        if let Some(w) = word(prev(1)) {
            if matches!(w, "scn" | "transaction" | "limit" | "offset") {
                out.push((n, Use::Fixed(ColumnType::Int8)));
                continue;
            }
        }
        // col <op> ?
        if prev(1).is_some_and(is_comparison) {
            if let Some(c) = i.checked_sub(2).and_then(|j| column_before(tokens, j)) {
                out.push((n, Use::Column(c)));
                continue;
            }
        }
        // ? <op> col
        if tokens.get(i + 1).is_some_and(is_comparison) {
            if let Some(c) = column_before(tokens, i + 2) {
                out.push((n, Use::Column(c)));
                continue;
            }
        }
        // col BETWEEN ? AND ?: the column stands two tokens before the low bound and
        // four before the high one.
        let column_at = if word(prev(1)) == Some("between") {
            Some(2)
        } else if word(prev(1)) == Some("and") && word(prev(3)) == Some("between") {
            Some(4)
        } else {
            None
        };
        if let Some(c) = column_at
            .and_then(|back| i.checked_sub(back))
            .and_then(|j| column_before(tokens, j))
        {
            out.push((n, Use::Column(c)));
            continue;
        }
        // col IN (?, ?, ...)
        let mut j = i;
        while j >= 2 && tokens[j - 1] == Token::Symbol(",".into()) {
            j -= 2;
        }
        if j >= 3
            && tokens[j - 1] == Token::Symbol("(".into())
            && word(tokens.get(j - 2)) == Some("in")
        {
            if let Some(c) = column_before(tokens, j - 3) {
                out.push((n, Use::Column(c)));
            }
        }
    }
    out.extend(insert_uses(tokens));
    out
}

/// `INSERT INTO t (a, b) VALUES (?1, ?2), (...)`: each parameter standing alone in a
/// tuple takes the column at its position (the table's own order without a list).
fn insert_uses(tokens: &[Token]) -> Vec<(usize, Use)> {
    let mut out = Vec::new();
    let Some(values) = tokens.iter().position(|t| word(Some(t)) == Some("values")) else {
        return out;
    };
    let Some(into) = tokens.iter().position(|t| word(Some(t)) == Some("into")) else {
        return out;
    };
    let mut columns = Vec::new();
    if tokens.get(into + 2) == Some(&Token::Symbol("(".into())) {
        for t in &tokens[into + 3..values] {
            match t {
                Token::Word(w) => columns.push(w.clone()),
                Token::Symbol(s) if s == ")" => break,
                _ => {}
            }
        }
    }
    let mut depth = 0usize;
    let mut position = 0usize;
    let mut element_start = true;
    for (k, t) in tokens.iter().enumerate().skip(values + 1) {
        match t {
            Token::Symbol(s) if s == "(" => {
                depth += 1;
                if depth == 1 {
                    position = 0;
                    element_start = true;
                    continue;
                }
            }
            Token::Symbol(s) if s == ")" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    continue;
                }
            }
            Token::Symbol(s) if s == "," && depth == 1 => {
                position += 1;
                element_start = true;
                continue;
            }
            Token::Word(w) if depth == 0 && (w == "returning" || w == "on") => break,
            Token::Param(n) if depth == 1 && element_start => {
                let alone =
                    matches!(tokens.get(k + 1), Some(Token::Symbol(s)) if s == "," || s == ")");
                if alone {
                    let name = columns
                        .get(position)
                        .cloned()
                        .unwrap_or_else(|| format!("#{position}"));
                    out.push((*n, Use::Column(name)));
                }
            }
            _ => {}
        }
        element_start = false;
    }
    out
}

/// The tables a statement names (after FROM, JOIN, INTO, UPDATE, and in a FROM list).
fn tables(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if matches!(word(Some(t)), Some("from" | "join" | "into" | "update")) {
            let mut j = i + 1;
            while let Some(name) = word(tokens.get(j)) {
                if is_keyword(name) {
                    break;
                }
                out.push(name.to_string());
                // Skip an alias, then continue a comma-separated FROM list.
                j += 1;
                while word(tokens.get(j)).is_some_and(|w| !is_keyword(w) && w != "as") {
                    j += 1;
                }
                if word(tokens.get(j)) == Some("as") {
                    j += 2;
                }
                if tokens.get(j) == Some(&Token::Symbol(",".into())) {
                    j += 1;
                } else {
                    break;
                }
            }
        }
    }
    out.dedup();
    out
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The declared type of `column` in the one table among `tables` that has it; a column
/// written `#k` is the table's k-th column (INSERT without a column list).
fn column_type(conn: &Connection, tables: &[String], column: &str) -> Option<ColumnType> {
    let mut found = None;
    for table in tables {
        let select = if column.starts_with('#') {
            format!("SELECT * FROM {} LIMIT 0", quote(table))
        } else {
            format!("SELECT {} FROM {} LIMIT 0", quote(column), quote(table))
        };
        let Ok(stmt) = conn.prepare(&select) else {
            continue;
        };
        let declared = stmt.column_decl_types();
        let index = match column.strip_prefix('#') {
            Some(k) => k.parse::<usize>().ok()?,
            None => 0,
        };
        let Some(group) = declared.get(index).copied() else {
            continue;
        };
        if found.is_some() {
            // Two tables have the column: the text alone does not tell which.
            return None;
        }
        found = Some(ColumnType::from_declared(group).unwrap_or(ColumnType::Text));
    }
    found
}

/// The inferred type of each of the statement's `count` parameters (`None`: no single
/// type found). `sql` uses the engine's `?N` placeholders.
pub fn infer(conn: &Connection, sql: &str, count: usize) -> Vec<Option<ColumnType>> {
    let tokens = tokenize(sql);
    let found = uses(&tokens);
    let mut out: Vec<Option<Option<ColumnType>>> = vec![None; count];
    if found.is_empty() {
        return vec![None; count];
    }
    let names = tables(&tokens);
    for (n, u) in found {
        let Some(slot) = n.checked_sub(1).and_then(|k| out.get_mut(k)) else {
            continue;
        };
        let ty = match u {
            Use::Fixed(t) => Some(t),
            Use::Column(c) => {
                let bare = c.rsplit('.').next().unwrap_or(&c).to_string();
                column_type(conn, &names, &bare)
            }
        };
        *slot = match slot {
            None => Some(ty),
            Some(prev) if *prev == ty => Some(ty),
            // Disagreeing uses: leave it to the engine.
            Some(_) => Some(None),
        };
    }
    out.into_iter().map(Option::flatten).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(10,2), \
             at TIMESTAMP, score REAL, data BLOB)",
        )
        .unwrap();
        conn
    }

    #[test]
    fn infers_from_comparisons_assignments_and_inserts() {
        let conn = db();
        use ColumnType::*;
        assert_eq!(
            infer(&conn, "SELECT name FROM t WHERE id = ?1 AND ?2 < score", 2),
            vec![Some(Int8), Some(Float8)]
        );
        assert_eq!(
            infer(
                &conn,
                "UPDATE t SET price = ?1, name = ?2 WHERE t.id IN (?3, ?4)",
                4
            ),
            vec![Some(Numeric), Some(Text), Some(Int8), Some(Int8)]
        );
        assert_eq!(
            infer(
                &conn,
                "INSERT INTO t (name, id, at) VALUES (?1, ?2, ?3) RETURNING id",
                3
            ),
            vec![Some(Text), Some(Int8), Some(Timestamp)]
        );
        assert_eq!(
            infer(&conn, "INSERT INTO t VALUES (?1, ?2, 1.5, NULL, ?3, ?4)", 4),
            vec![Some(Int8), Some(Text), Some(Float8), Some(Bytea)]
        );
        assert_eq!(
            infer(
                &conn,
                "SELECT * FROM t AS OF SCN ?1 WHERE id BETWEEN ?2 AND ?3 LIMIT ?4",
                4
            ),
            vec![Some(Int8), Some(Int8), Some(Int8), Some(Int8)]
        );
    }

    #[test]
    fn leaves_unknown_and_conflicting_uses_untyped() {
        let conn = db();
        assert_eq!(infer(&conn, "SELECT ?1 || 'x'", 1), vec![None]);
        assert_eq!(
            infer(&conn, "SELECT * FROM t WHERE id = ?1 OR name = ?1", 1),
            vec![None]
        );
        assert_eq!(
            infer(&conn, "SELECT * FROM nowhere WHERE id = ?1", 1),
            vec![None]
        );
        assert_eq!(
            infer(&conn, "SELECT * FROM t WHERE name = '?1' AND id = ?", 1),
            vec![Some(ColumnType::Int8)]
        );
    }
}
