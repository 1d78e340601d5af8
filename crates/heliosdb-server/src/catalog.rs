//! Answers to the catalog queries PostgreSQL clients send to list tables and columns
//! (psql's `\dt`, `\d`, `\d TABLE`; `information_schema.tables` and `.columns`), built from
//! the database's catalog through the public API. The engine has no `pg_catalog`: the
//! server recognises these queries by their text. Any other query on `pg_catalog` or
//! `information_schema` answers with no rows, which clients read as "nothing there".

use crate::errors::ClientError;
use crate::intercept::Table;
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

/// Object ids start here, as user objects' do in PostgreSQL.
const FIRST_OID: i64 = 16384;

/// True if the statement reads PostgreSQL's catalogs (normalised text).
pub fn is_catalog_query(n: &str) -> bool {
    n.contains("pg_catalog.")
        || n.contains("information_schema.")
        || n.contains(" from pg_")
        || n.contains(" join pg_")
}

struct Relation {
    oid: i64,
    name: String,
    kind: &'static str,
}

fn relations(conn: &Connection) -> Result<Vec<Relation>, ClientError> {
    let mut out = Vec::new();
    for o in conn.schema_objects()? {
        let kind = match o.kind {
            "table" => "r",
            "view" => "v",
            _ => continue,
        };
        out.push(Relation {
            oid: 0,
            name: o.name,
            kind,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, r) in out.iter_mut().enumerate() {
        r.oid = FIRST_OID + i as i64;
    }
    Ok(out)
}

struct ColumnInfo {
    name: String,
    declared: String,
    not_null: bool,
    default: Option<String>,
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<ColumnInfo>, ClientError> {
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({quoted})"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let pk: i64 = r.get(5).unwrap_or(0);
        let not_null: i64 = r.get(3).unwrap_or(0);
        out.push(ColumnInfo {
            name: r.get(1)?,
            declared: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            not_null: not_null != 0 || pk != 0,
            default: r.get::<_, Option<String>>(4)?,
        });
    }
    Ok(out)
}

/// PostgreSQL's name of a declared type, as `format_type` prints it.
fn pg_type_name(declared: &str) -> String {
    let d = declared.to_ascii_lowercase();
    let base = d.split('(').next().unwrap_or("").trim();
    match base {
        "" => "text".into(),
        "int" | "integer" | "bigint" | "int8" => "bigint".into(),
        "smallint" | "int2" => "smallint".into(),
        "real" | "double" | "double precision" | "float" | "float8" => "double precision".into(),
        "decimal" | "numeric" => d.replace("decimal", "numeric"),
        "text" | "clob" => "text".into(),
        "blob" => "bytea".into(),
        "date" => "date".into(),
        "datetime" | "timestamp" => "timestamp without time zone".into(),
        "boolean" | "bool" => "boolean".into(),
        _ => d,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn bool_text(b: bool) -> Value {
    text(if b { "t" } else { "f" })
}

/// The number in `... = '16384'` after `marker`.
fn oid_after(n: &str, marker: &str) -> Option<i64> {
    let rest = &n[n.find(marker)? + marker.len()..];
    let rest = rest.trim_start().trim_start_matches('\'');
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// psql's name pattern `OPERATOR(pg_catalog.~) '^(name)$'`: matches with `.*` and `.`
/// wildcards (what psql makes of `*` and `?`), anything else literally.
fn name_pattern(n: &str) -> Option<String> {
    let start = n.find("operator(pg_catalog.~) '^(")? + "operator(pg_catalog.~) '^(".len();
    let end = n[start..].find(")$'")? + start;
    Some(n[start..end].to_string())
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'.', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'.', rest @ ..] => !s.is_empty() && go(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    // psql escapes nothing in plain names; a quoted name arrives as is.
    go(pattern.as_bytes(), name.to_lowercase().as_bytes())
}

/// Answers a catalog query (normalised text), or with no rows if it is not one the server
/// knows.
pub fn answer(conn: &Connection, n: &str) -> Result<Table, ClientError> {
    // \dt, \dv, \d: the relation list.
    if n.contains("from pg_catalog.pg_class c")
        && n.contains("c.relkind in (")
        && n.contains("pg_get_userbyid(c.relowner)")
    {
        let kinds = &n[n.find("c.relkind in (").unwrap_or(0)..];
        let kinds = &kinds[..kinds.find(')').unwrap_or(kinds.len())];
        let pattern = name_pattern(n);
        let mut t = Table {
            columns: ["Schema", "Name", "Type", "Owner"]
                .map(String::from)
                .to_vec(),
            rows: Vec::new(),
        };
        for r in relations(conn)? {
            if !kinds.contains(&format!("'{}'", r.kind)) {
                continue;
            }
            if let Some(p) = &pattern {
                if !pattern_matches(p, &r.name) {
                    continue;
                }
            }
            let kind = if r.kind == "r" { "table" } else { "view" };
            t.rows.push(vec![
                text("public"),
                text(&r.name),
                text(kind),
                text(crate::auth::USER),
            ]);
        }
        return Ok(t);
    }
    // \d NAME, first step: the relations the pattern names.
    if n.starts_with("select c.oid, n.nspname, c.relname from pg_catalog.pg_class c") {
        let pattern = name_pattern(n);
        let mut t = Table {
            columns: ["oid", "nspname", "relname"].map(String::from).to_vec(),
            rows: Vec::new(),
        };
        for r in relations(conn)? {
            if pattern
                .as_deref()
                .is_none_or(|p| pattern_matches(p, &r.name))
            {
                t.rows
                    .push(vec![Value::Integer(r.oid), text("public"), text(&r.name)]);
            }
        }
        return Ok(t);
    }
    // \d NAME, second step: the relation's properties (15 columns, read by position).
    if n.starts_with("select c.relchecks, c.relkind") {
        let oid = oid_after(n, "where c.oid =").unwrap_or(-1);
        let mut t = Table {
            columns: [
                "relchecks",
                "relkind",
                "relhasindex",
                "relhasrules",
                "relhastriggers",
                "relrowsecurity",
                "relforcerowsecurity",
                "relhasoids",
                "relispartition",
                "reloptions",
                "reltablespace",
                "reloftype",
                "relpersistence",
                "relreplident",
                "amname",
            ]
            .map(String::from)
            .to_vec(),
            rows: Vec::new(),
        };
        if let Some(r) = relations(conn)?.into_iter().find(|r| r.oid == oid) {
            t.rows.push(vec![
                Value::Integer(0),
                text(r.kind),
                bool_text(false),
                bool_text(false),
                bool_text(false),
                bool_text(false),
                bool_text(false),
                bool_text(false),
                bool_text(false),
                text(""),
                Value::Integer(0),
                text(""),
                text("p"),
                text("d"),
                if r.kind == "r" {
                    text("heap")
                } else {
                    Value::Null
                },
            ]);
        }
        return Ok(t);
    }
    // \d NAME, third step: the columns.
    if n.contains("from pg_catalog.pg_attribute a") && n.contains("a.attrelid =") {
        let oid = oid_after(n, "a.attrelid =").unwrap_or(-1);
        let mut t = Table {
            columns: [
                "attname",
                "format_type",
                "default",
                "attnotnull",
                "attcollation",
                "attidentity",
                "attgenerated",
            ]
            .map(String::from)
            .to_vec(),
            rows: Vec::new(),
        };
        if let Some(r) = relations(conn)?.into_iter().find(|r| r.oid == oid) {
            for c in columns(conn, &r.name)? {
                t.rows.push(vec![
                    text(&c.name),
                    text(&pg_type_name(&c.declared)),
                    c.default.as_deref().map_or(Value::Null, text),
                    bool_text(c.not_null),
                    Value::Null,
                    text(""),
                    text(""),
                ]);
            }
        }
        return Ok(t);
    }
    if n.contains("from information_schema.tables") {
        let mut t = Table {
            columns: ["table_catalog", "table_schema", "table_name", "table_type"]
                .map(String::from)
                .to_vec(),
            rows: Vec::new(),
        };
        for r in relations(conn)? {
            let kind = if r.kind == "r" { "BASE TABLE" } else { "VIEW" };
            t.rows.push(vec![
                text(crate::DATABASE_NAME),
                text("public"),
                text(&r.name),
                text(kind),
            ]);
        }
        return Ok(t);
    }
    if n.contains("from information_schema.columns") {
        let only = n
            .find("table_name = '")
            .map(|i| &n[i + "table_name = '".len()..])
            .and_then(|s| s.split('\'').next())
            .map(str::to_string);
        let mut t = Table {
            columns: [
                "table_catalog",
                "table_schema",
                "table_name",
                "column_name",
                "ordinal_position",
                "column_default",
                "is_nullable",
                "data_type",
            ]
            .map(String::from)
            .to_vec(),
            rows: Vec::new(),
        };
        for r in relations(conn)? {
            if only.as_deref().is_some_and(|o| o != r.name.to_lowercase()) {
                continue;
            }
            for (i, c) in columns(conn, &r.name)?.into_iter().enumerate() {
                t.rows.push(vec![
                    text(crate::DATABASE_NAME),
                    text("public"),
                    text(&r.name),
                    text(&c.name),
                    Value::Integer(i as i64 + 1),
                    c.default.as_deref().map_or(Value::Null, text),
                    text(if c.not_null { "NO" } else { "YES" }),
                    text(&pg_type_name(&c.declared)),
                ]);
            }
        }
        return Ok(t);
    }
    Ok(Table::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_patterns() {
        assert!(pattern_matches("acc.*", "accounts"));
        assert!(pattern_matches("accounts", "Accounts"));
        assert!(!pattern_matches("acc", "accounts"));
        let n = "where c.relname operator(pg_catalog.~) '^(accounts)$' collate";
        assert_eq!(name_pattern(n).as_deref(), Some("accounts"));
    }

    #[test]
    fn relation_list_and_columns() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance DECIMAL(15,2) NOT NULL)",
            [],
        )
        .unwrap();
        let t = answer(
            &conn,
            "select n.nspname as \"schema\", c.relname from pg_catalog.pg_class c \
             where c.relkind in ('r','p','') and pg_catalog.pg_get_userbyid(c.relowner)",
        )
        .unwrap();
        assert_eq!(t.rows.len(), 1);
        let t = answer(
            &conn,
            "select a.attname from pg_catalog.pg_attribute a where a.attrelid = '16384' and",
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1][1], Value::Text("numeric(15,2)".into()));
        assert_eq!(t.rows[1][3], Value::Text("t".into()));
    }
}
