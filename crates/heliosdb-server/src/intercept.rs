//! Statements the server answers itself, before the engine sees them: the PostgreSQL
//! session commands and functions clients send at connect (`SET`, `SHOW`, `version()`,
//! `current_schema()`...), the session setting `heliosdb.as_of`, PostgreSQL's spellings
//! of transaction control, and catalog queries (see [`crate::catalog`]).

use crate::errors::ClientError;
use heliosdb_lite::types::Value;
use heliosdb_lite::AsOf;
use std::collections::HashMap;

/// The PostgreSQL version the server reports; psql and drivers pick their catalog queries
/// by it.
pub const PG_VERSION: &str = "15.0";

/// `server_version` as reported at connect and by `SHOW server_version`.
pub fn server_version() -> String {
    format!("{PG_VERSION} (HeliosDB-Lite {})", env!("CARGO_PKG_VERSION"))
}

/// A result the server computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// One row of text values.
    pub fn single(columns: &[&str], row: Vec<Value>) -> Self {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: vec![row],
        }
    }
}

/// What to do with an intercepted statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Intercepted {
    /// Answer with these rows.
    Rows(Table),
    /// Change the session; answer with this command tag.
    Command(String, Effect),
    /// Run this statement instead (PostgreSQL spellings of transaction control).
    Rewrite(String),
}

/// A change to the session an intercepted command makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing to change (accepted for compatibility).
    None,
    /// Set (or clear) the default time-travel point.
    AsOf(Option<AsOf>),
    /// Set a session variable.
    Set(String, String),
    /// Reset one variable, or all (`None`).
    Reset(Option<String>),
}

/// The session state intercepted statements read.
pub struct SessionView<'a> {
    /// Variables set with `SET`.
    pub vars: &'a HashMap<String, String>,
    /// The default time-travel point's text, if set.
    pub as_of: Option<String>,
}

/// Recognises a statement the server answers itself; `normalized` is
/// [`crate::sqltext::normalize`]d.
pub fn intercept(
    normalized: &str,
    view: &SessionView<'_>,
) -> Result<Option<Intercepted>, ClientError> {
    let n = normalized;
    if let Some(rest) = n.strip_prefix("set ") {
        return set(rest).map(Some);
    }
    if let Some(rest) = n.strip_prefix("reset ") {
        let name = rest.trim();
        return Ok(Some(if name == "heliosdb.as_of" {
            Intercepted::Command("RESET".into(), Effect::AsOf(None))
        } else if name == "all" {
            Intercepted::Command("RESET".into(), Effect::Reset(None))
        } else {
            Intercepted::Command("RESET".into(), Effect::Reset(Some(name.to_string())))
        }));
    }
    if let Some(name) = n.strip_prefix("show ") {
        return show(name.trim(), view).map(|t| Some(Intercepted::Rows(t)));
    }
    if n == "discard all" {
        return Ok(Some(Intercepted::Command(
            "DISCARD ALL".into(),
            Effect::Reset(None),
        )));
    }
    if n.starts_with("deallocate") {
        return Ok(Some(Intercepted::Command(
            "DEALLOCATE".into(),
            Effect::None,
        )));
    }
    // PostgreSQL's BEGIN options (isolation level, read only...): the engine runs every
    // transaction under snapshot isolation with serialised writers.
    if n == "start transaction"
        || n.starts_with("start transaction ")
        || (n.starts_with("begin ")
            && !n.starts_with("begin immediate")
            && !n.starts_with("begin exclusive")
            && !n.starts_with("begin deferred"))
    {
        return Ok(Some(Intercepted::Rewrite("BEGIN".into())));
    }
    if n == "commit transaction" || n == "commit work" || n == "end" || n == "end transaction" {
        return Ok(Some(Intercepted::Rewrite("COMMIT".into())));
    }
    if n == "rollback transaction" || n == "rollback work" || n == "abort" {
        return Ok(Some(Intercepted::Rewrite("ROLLBACK".into())));
    }
    if let Some(t) = functions(n, view) {
        return Ok(Some(Intercepted::Rows(t)));
    }
    Ok(None)
}

/// `SET [SESSION|LOCAL] name {=|TO} value`.
fn set(rest: &str) -> Result<Intercepted, ClientError> {
    let rest = rest
        .strip_prefix("session ")
        .or_else(|| rest.strip_prefix("local "))
        .unwrap_or(rest);
    // SET TRANSACTION ..., SET SESSION CHARACTERISTICS ...: snapshot isolation always.
    if rest.starts_with("transaction") || rest.starts_with("characteristics") {
        return Ok(Intercepted::Command("SET".into(), Effect::None));
    }
    let (name, value) = match rest.split_once(" to ").or_else(|| rest.split_once('=')) {
        Some((n, v)) => (n.trim(), v.trim()),
        // SET TIME ZONE 'UTC' and the like.
        None => match rest.strip_prefix("time zone ") {
            Some(v) => ("timezone", v.trim()),
            None => {
                return Err(ClientError::new(
                    "42601",
                    "syntax_error",
                    format!("SET {rest}: expected SET name = value"),
                ))
            }
        },
    };
    let value = unquote(value);
    if name == "heliosdb.as_of" {
        return Ok(Intercepted::Command(
            "SET".into(),
            Effect::AsOf(parse_as_of(&value)?),
        ));
    }
    Ok(Intercepted::Command(
        "SET".into(),
        Effect::Set(name.to_string(), value),
    ))
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        v.to_string()
    }
}

/// The value of `SET heliosdb.as_of`: `'SCN n'`, `'TRANSACTION n'`,
/// `'BEFORE TRANSACTION n'`, `'TIMESTAMP ts'` or a timestamp; `DEFAULT` or `''` clears.
/// (The text arrives lower-cased, which none of these forms minds.)
pub fn parse_as_of(value: &str) -> Result<Option<AsOf>, ClientError> {
    let v = value.trim();
    if v.is_empty() || v == "default" {
        return Ok(None);
    }
    let bad = |why: &str| {
        ClientError::new(
            "22023",
            "invalid_as_of",
            format!(
                "invalid value for heliosdb.as_of: '{value}' ({why}); use 'SCN n', \
                 'TRANSACTION n', 'BEFORE TRANSACTION n', 'TIMESTAMP YYYY-MM-DD HH:MM:SS' \
                 or a timestamp, and DEFAULT to clear"
            ),
        )
    };
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad("not a number"));
    let lower = v.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("scn ") {
        return Ok(Some(AsOf::Scn(number(n)?)));
    }
    if let Some(n) = lower.strip_prefix("before transaction ") {
        return Ok(Some(AsOf::BeforeTransaction(number(n)?)));
    }
    if let Some(n) = lower.strip_prefix("transaction ") {
        return Ok(Some(AsOf::Transaction(number(n)?)));
    }
    let ts = lower.strip_prefix("timestamp ").unwrap_or(&lower);
    let ts = unquote(ts);
    if ts.parse::<f64>().is_ok() {
        return Err(bad("a bare number is ambiguous"));
    }
    heliosdb_lite::time::parse_timestamp(&ts.to_uppercase())
        .map(|us| Some(AsOf::Timestamp(us)))
        .map_err(|e| bad(&e.to_string()))
}

/// `SHOW name`.
fn show(name: &str, view: &SessionView<'_>) -> Result<Table, ClientError> {
    let value = match name {
        "heliosdb.as_of" => view.as_of.clone().unwrap_or_default(),
        "server_version" => server_version(),
        "server_version_num" => "150000".into(),
        "server_encoding" | "client_encoding" => "UTF8".into(),
        "standard_conforming_strings" => "on".into(),
        "transaction_isolation"
        | "default_transaction_isolation"
        | "transaction isolation level" => "repeatable read".into(),
        "transaction_read_only" | "default_transaction_read_only" => "off".into(),
        "integer_datetimes" => "on".into(),
        "search_path" => view
            .vars
            .get("search_path")
            .cloned()
            .unwrap_or_else(|| "public".into()),
        "datestyle" => view
            .vars
            .get("datestyle")
            .cloned()
            .unwrap_or_else(|| "ISO, MDY".into()),
        "timezone" | "time zone" => view
            .vars
            .get("timezone")
            .cloned()
            .unwrap_or_else(|| "UTC".into()),
        "max_identifier_length" => "63".into(),
        "all" => {
            return Ok(Table {
                columns: vec!["name".into(), "setting".into()],
                rows: vec![
                    vec![
                        text("heliosdb.as_of"),
                        text(&view.as_of.clone().unwrap_or_default()),
                    ],
                    vec![text("server_version"), text(&server_version())],
                ],
            })
        }
        other => match view.vars.get(other) {
            Some(v) => v.clone(),
            None => {
                return Err(ClientError::new(
                    "42704",
                    "undefined_object",
                    format!("unrecognized configuration parameter \"{other}\""),
                ))
            }
        },
    };
    Ok(Table::single(&[name], vec![text(&value)]))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// `SELECT f(), g() [AS x], ...` without FROM, where every item is a session function
/// PostgreSQL clients call at connect.
fn functions(n: &str, view: &SessionView<'_>) -> Option<Table> {
    let list = n.strip_prefix("select ")?;
    if list.contains(" from ") {
        return None;
    }
    let mut table = Table {
        columns: Vec::new(),
        rows: vec![Vec::new()],
    };
    for item in list.split(',') {
        let item = item.trim();
        let (expr, alias) = match item.split_once(" as ") {
            Some((e, a)) => (e.trim(), Some(a.trim().trim_matches('"'))),
            None => (item, None),
        };
        let expr = expr.strip_prefix("pg_catalog.").unwrap_or(expr);
        let (name, value) = match expr {
            "version()" => (
                "version",
                format!(
                    "PostgreSQL {PG_VERSION} (HeliosDB-Lite {}): an embedded SQL database with time travel",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            "current_schema()" | "current_schema" => ("current_schema", "public".into()),
            "current_database()" => ("current_database", crate::DATABASE_NAME.into()),
            "current_user" | "session_user" | "user" | "current_role" => {
                (expr, crate::auth::USER.into())
            }
            "current_setting('heliosdb.as_of')" => {
                ("current_setting", view.as_of.clone().unwrap_or_default())
            }
            "current_setting('server_version_num')" => ("current_setting", "150000".into()),
            _ => return None,
        };
        table.columns.push(alias.unwrap_or(name).to_string());
        table.rows[0].push(text(&value));
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqltext::normalize;

    fn run(sql: &str) -> Option<Intercepted> {
        let vars = HashMap::new();
        intercept(
            &normalize(sql),
            &SessionView {
                vars: &vars,
                as_of: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn set_as_of_forms() {
        assert_eq!(
            run("SET heliosdb.as_of = 'SCN 5'"),
            Some(Intercepted::Command(
                "SET".into(),
                Effect::AsOf(Some(AsOf::Scn(5)))
            ))
        );
        assert_eq!(
            run("set heliosdb.as_of to 'before transaction 3'"),
            Some(Intercepted::Command(
                "SET".into(),
                Effect::AsOf(Some(AsOf::BeforeTransaction(3)))
            ))
        );
        assert!(matches!(
            run("SET heliosdb.as_of = '2024-12-31 23:59:59'"),
            Some(Intercepted::Command(
                _,
                Effect::AsOf(Some(AsOf::Timestamp(_)))
            ))
        ));
        assert_eq!(
            run("RESET heliosdb.as_of"),
            Some(Intercepted::Command("RESET".into(), Effect::AsOf(None)))
        );
        assert!(parse_as_of("42").is_err());
    }

    #[test]
    fn connect_time_queries() {
        let Some(Intercepted::Rows(t)) = run("select pg_catalog.version()") else {
            panic!()
        };
        assert!(matches!(&t.rows[0][0], Value::Text(v) if v.starts_with("PostgreSQL 15")));
        assert!(matches!(
            run("SELECT current_schema()"),
            Some(Intercepted::Rows(_))
        ));
        assert_eq!(
            run("BEGIN ISOLATION LEVEL READ COMMITTED"),
            Some(Intercepted::Rewrite("BEGIN".into()))
        );
        assert_eq!(run("SELECT 1"), None);
    }
}
