//! `sqlite_master` / `sqlite_schema`: a read-only table of the catalog, as SQLite keeps it
//! (type, name, tbl_name, rootpage, sql), so that tools written for SQLite can introspect a
//! HeliosDB database. Read `AS OF` a past point, it shows the schema of that point.

use super::catalog::Schema;
use super::value::{Affinity, Value};

/// The names the table answers to (case-insensitive).
pub fn is_schema_table(name: &str) -> bool {
    [
        "sqlite_master",
        "sqlite_schema",
        "main.sqlite_master",
        "main.sqlite_schema",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// The columns and their affinities (SQLite declares them `text, text, text, int, text`).
pub const COLUMNS: [(&str, Affinity); 5] = [
    ("type", Affinity::Text),
    ("name", Affinity::Text),
    ("tbl_name", Affinity::Text),
    ("rootpage", Affinity::Integer),
    ("sql", Affinity::Text),
];

/// The stored text as SQLite keeps it: the leading keywords rewritten as `CREATE [UNIQUE]
/// TABLE|INDEX|VIEW|TRIGGER ` (upper case, `TEMP` and `IF NOT EXISTS` dropped), the rest as
/// written.
pub fn normalized_sql(sql: &str) -> String {
    let mut rest = sql.trim_start();
    if take(&mut rest, &["CREATE"]).is_none() {
        return sql.to_string();
    }
    take(&mut rest, &["TEMP", "TEMPORARY"]);
    let unique = take(&mut rest, &["UNIQUE"]).is_some();
    let Some(kind) = take(&mut rest, &["TABLE", "INDEX", "VIEW", "TRIGGER"]) else {
        return sql.to_string();
    };
    let mut after = rest;
    if take(&mut after, &["IF"]).is_some()
        && take(&mut after, &["NOT"]).is_some()
        && take(&mut after, &["EXISTS"]).is_some()
    {
        rest = after;
    }
    let unique = if unique { "UNIQUE " } else { "" };
    format!("CREATE {unique}{kind} {rest}")
}

/// Takes the next word off `rest` when it is one of `expect` (upper case).
fn take(rest: &mut &str, expect: &[&str]) -> Option<String> {
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let w = rest[..end].to_ascii_uppercase();
    if !expect.contains(&w.as_str()) {
        return None;
    }
    *rest = rest[end..].trim_start();
    Some(w)
}

/// The rows: each table followed by its indexes (tables and indexes in the order they were
/// created), then views and triggers by name. `rootpage` is the table's or index's catalog
/// id (SQLite's page number means nothing here), 0 for views and triggers as in SQLite.
pub fn rows(schema: &Schema) -> Vec<Vec<Value>> {
    let text = |s: &str| Value::Text(s.to_string());
    let mut tables: Vec<_> = schema.tables.values().collect();
    tables.sort_by_key(|t| t.def.id);
    let mut out = Vec::new();
    for t in tables {
        out.push(vec![
            text("table"),
            text(&t.def.name),
            text(&t.def.name),
            Value::Integer(i64::from(t.def.id)),
            text(&normalized_sql(&t.def.sql)),
        ]);
        let mut indexes: Vec<_> = t.indexes.iter().collect();
        indexes.sort_by_key(|i| i.id);
        for ix in indexes {
            out.push(vec![
                text("index"),
                text(&ix.name),
                text(&t.def.name),
                Value::Integer(i64::from(ix.id)),
                ix.sql
                    .as_deref()
                    .map_or(Value::Null, |s| text(&normalized_sql(s))),
            ]);
        }
    }
    let mut views: Vec<_> = schema.views.values().collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    for v in views {
        out.push(vec![
            text("view"),
            text(&v.name),
            text(&v.name),
            Value::Integer(0),
            text(&normalized_sql(&v.sql)),
        ]);
    }
    let mut triggers: Vec<_> = schema.triggers.values().collect();
    triggers.sort_by(|a, b| a.name.cmp(&b.name));
    for tr in triggers {
        out.push(vec![
            text("trigger"),
            text(&tr.name),
            text(&tr.table),
            Value::Integer(0),
            text(&normalized_sql(&tr.sql)),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalized_sql;

    #[test]
    fn leading_keywords_as_sqlite_stores_them() {
        assert_eq!(
            normalized_sql("create  temp table if not exists t(x)"),
            "CREATE TABLE t(x)"
        );
        assert_eq!(
            normalized_sql("create unique index\n i on t(x)"),
            "CREATE UNIQUE INDEX i on t(x)"
        );
        assert_eq!(
            normalized_sql("create trigger if_x after"),
            "CREATE TRIGGER if_x after"
        );
        assert_eq!(
            normalized_sql("CREATE VIEW v AS SELECT 1"),
            "CREATE VIEW v AS SELECT 1"
        );
    }
}
