//! Triggers: `CREATE TRIGGER ... BEGIN ... END` parsed at the token level (sqlparser does not
//! know SQLite's form), stored in the catalog, and fired by INSERT, UPDATE and DELETE.
//!
//! A trigger body runs inside the statement that fired it, in the same transaction, with the
//! row's `OLD` and `NEW` values visible as an enclosing row (so body statements bind them
//! like correlated columns). As with SQLite's default, a trigger does not fire itself
//! recursively; chains through other tables are limited in depth.

use super::{Parsed, ParsedStatement};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// Nesting limit for triggers firing triggers.
pub const MAX_TRIGGER_DEPTH: usize = 32;

/// When a trigger runs relative to the row change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timing {
    /// Before the row is written.
    Before,
    /// After the row is written.
    After,
}

/// The row change a trigger reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// INSERT
    Insert,
    /// UPDATE
    Update,
    /// DELETE
    Delete,
}

/// A trigger definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerDef {
    /// Name.
    pub name: String,
    /// Table it is attached to.
    pub table: String,
    /// BEFORE / AFTER.
    pub timing: Timing,
    /// INSERT / UPDATE / DELETE.
    pub event: Event,
    /// `UPDATE OF` columns (empty: any column).
    pub columns: Vec<String>,
    /// WHEN condition as SQL text.
    pub when: Option<String>,
    /// Body statements as SQL text (`;`-separated).
    pub body: String,
    /// The CREATE TRIGGER text.
    pub sql: String,
    /// Creation order among the schema's triggers, which fire newest first as SQLite's do
    /// (0 for triggers stored before it was kept: those go by name, before every newer one).
    #[serde(default)]
    pub created: u64,
}

/// `CREATE TRIGGER` as parsed, before it is checked against the schema.
#[derive(Debug, Clone)]
pub struct CreateTrigger {
    /// The definition.
    pub def: TriggerDef,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
}

fn word_is(t: &Token, s: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(s))
}

fn name_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(w.value.clone()),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(s.clone()),
        _ => None,
    }
}

/// True if the significant tokens start `CREATE [TEMP|TEMPORARY] TRIGGER`.
pub fn starts_create_trigger(sig: &[&Token]) -> bool {
    let mut i = 0;
    if !sig.first().is_some_and(|t| word_is(t, "CREATE")) {
        return false;
    }
    i += 1;
    if sig
        .get(i)
        .is_some_and(|t| word_is(t, "TEMP") || word_is(t, "TEMPORARY"))
    {
        i += 1;
    }
    sig.get(i).is_some_and(|t| word_is(t, "TRIGGER"))
}

/// Tracks whether a statement being split is inside a trigger body (where `;` separates
/// body statements rather than ending the CREATE TRIGGER).
#[derive(Debug, Default)]
pub struct BodyTracker {
    in_body: bool,
    case_depth: usize,
}

impl BodyTracker {
    /// Feeds the next token; `sig_so_far` are the statement's significant tokens before it.
    pub fn feed(&mut self, t: &Token, is_trigger: bool) {
        if !is_trigger {
            return;
        }
        if !self.in_body {
            if word_is(t, "BEGIN") {
                self.in_body = true;
            }
            return;
        }
        if word_is(t, "CASE") {
            self.case_depth += 1;
        } else if word_is(t, "END") {
            if self.case_depth > 0 {
                self.case_depth -= 1;
            } else {
                self.in_body = false;
            }
        }
    }

    /// True while `;` must not end the statement.
    pub fn in_body(&self) -> bool {
        self.in_body
    }
}

/// Parses `CREATE TRIGGER`.
pub fn parse_create(
    tokens: &[TokenWithSpan],
    text_of: &dyn Fn(&[TokenWithSpan]) -> String,
    sql_text: String,
) -> Result<CreateTrigger> {
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let tok = |p: usize| sig.get(p).map(|&i| &tokens[i].token);
    let err = |p: usize, msg: &str| {
        let at = sig.get(p).map(|&i| &tokens[i]);
        Error::Syntax {
            message: format!("CREATE TRIGGER: {msg}"),
            line: at.map_or(0, |t| t.span.start.line),
            column: at.map_or(0, |t| t.span.start.column),
            token: at.map(|t| t.token.to_string()),
        }
    };
    let mut p = 1;
    if tok(p).is_some_and(|t| word_is(t, "TEMP") || word_is(t, "TEMPORARY")) {
        p += 1;
    }
    p += 1; // TRIGGER
    let mut if_not_exists = false;
    if tok(p).is_some_and(|t| word_is(t, "IF")) {
        if !(tok(p + 1).is_some_and(|t| word_is(t, "NOT"))
            && tok(p + 2).is_some_and(|t| word_is(t, "EXISTS")))
        {
            return Err(err(p, "expected IF NOT EXISTS"));
        }
        if_not_exists = true;
        p += 3;
    }
    let name = tok(p)
        .and_then(name_of)
        .ok_or_else(|| err(p, "expected a trigger name"))?;
    p += 1;
    let mut timing = Timing::Before;
    if tok(p).is_some_and(|t| word_is(t, "BEFORE")) {
        p += 1;
    } else if tok(p).is_some_and(|t| word_is(t, "AFTER")) {
        timing = Timing::After;
        p += 1;
    } else if tok(p).is_some_and(|t| word_is(t, "INSTEAD")) {
        return Err(Error::Unsupported("INSTEAD OF triggers".into()));
    }
    let event = match tok(p) {
        Some(t) if word_is(t, "INSERT") => Event::Insert,
        Some(t) if word_is(t, "UPDATE") => Event::Update,
        Some(t) if word_is(t, "DELETE") => Event::Delete,
        _ => return Err(err(p, "expected INSERT, UPDATE or DELETE")),
    };
    p += 1;
    let mut columns = Vec::new();
    if event == Event::Update && tok(p).is_some_and(|t| word_is(t, "OF")) {
        p += 1;
        loop {
            columns.push(
                tok(p)
                    .and_then(name_of)
                    .ok_or_else(|| err(p, "expected a column name"))?,
            );
            p += 1;
            if tok(p) == Some(&Token::Comma) {
                p += 1;
            } else {
                break;
            }
        }
    }
    if !tok(p).is_some_and(|t| word_is(t, "ON")) {
        return Err(err(p, "expected ON"));
    }
    p += 1;
    let table = tok(p)
        .and_then(name_of)
        .ok_or_else(|| err(p, "expected a table name"))?;
    p += 1;
    if tok(p).is_some_and(|t| word_is(t, "FOR")) {
        if !(tok(p + 1).is_some_and(|t| word_is(t, "EACH"))
            && tok(p + 2).is_some_and(|t| word_is(t, "ROW")))
        {
            return Err(err(p, "expected FOR EACH ROW"));
        }
        p += 3;
    }
    // SQLite's grammar knows RAISE's forms, so a malformed one fails the CREATE (the body
    // is bound only when the trigger fires).
    for q in p..sig.len() {
        if tok(q).is_some_and(|t| word_is(t, "RAISE")) && tok(q + 1) == Some(&Token::LParen) {
            let ok = match tok(q + 2) {
                Some(t) if word_is(t, "IGNORE") => tok(q + 3) == Some(&Token::RParen),
                Some(t) if ["ROLLBACK", "ABORT", "FAIL"].iter().any(|w| word_is(t, w)) => {
                    tok(q + 3) == Some(&Token::Comma)
                }
                _ => false,
            };
            if !ok {
                return Err(err(
                    q + 2,
                    "RAISE takes IGNORE, or ROLLBACK, ABORT or FAIL and a message",
                ));
            }
        }
    }
    let mut when = None;
    if tok(p).is_some_and(|t| word_is(t, "WHEN")) {
        let start = p + 1;
        let mut q = start;
        while tok(q).is_some_and(|t| !word_is(t, "BEGIN")) {
            q += 1;
        }
        if q == start {
            return Err(err(q, "expected a WHEN condition"));
        }
        when = Some(text_of(&tokens[sig[start]..sig[q - 1] + 1]));
        p = q;
    }
    if !tok(p).is_some_and(|t| word_is(t, "BEGIN")) {
        return Err(err(p, "expected BEGIN"));
    }
    let body_start = p + 1;
    let last = sig
        .len()
        .checked_sub(1)
        .ok_or_else(|| err(p, "expected END"))?;
    if !tok(last).is_some_and(|t| word_is(t, "END")) || last <= body_start {
        return Err(err(last, "expected a body ending with END"));
    }
    let body = text_of(&tokens[sig[body_start]..sig[last - 1] + 1]);
    let def = TriggerDef {
        name,
        table,
        timing,
        event,
        columns,
        when,
        body,
        sql: sql_text,
        created: 0,
    };
    // The body must parse now, not when the trigger first fires.
    body_statements(&def)?;
    let _ = Keyword::BEGIN;
    Ok(CreateTrigger { def, if_not_exists })
}

/// The parsed body statements of a trigger (INSERT, UPDATE, DELETE or SELECT).
pub fn body_statements(def: &TriggerDef) -> Result<Vec<ParsedStatement>> {
    let stmts = super::parse(&def.body)?;
    if stmts.is_empty() {
        return Err(Error::invalid(format!(
            "trigger {} has an empty body",
            def.name
        )));
    }
    for s in &stmts {
        let ok = matches!(&s.statement, Parsed::Sql(st) if matches!(
            st.as_ref(),
            sqlparser::ast::Statement::Insert(_)
                | sqlparser::ast::Statement::Update(_)
                | sqlparser::ast::Statement::Delete(_)
                | sqlparser::ast::Statement::Query(_)
        ));
        if !ok {
            return Err(Error::invalid(format!(
                "trigger {}: only INSERT, UPDATE, DELETE and SELECT are allowed in a trigger body",
                def.name
            )));
        }
        if s.param_count > 0 {
            return Err(Error::invalid(format!(
                "trigger {}: parameters are not allowed in a trigger body",
                def.name
            )));
        }
    }
    Ok(stmts)
}
