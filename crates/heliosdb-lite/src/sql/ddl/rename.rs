//! Rewriting stored SQL after `ALTER TABLE ... RENAME TO` / `RENAME COLUMN`, as SQLite does.
//!
//! Views, triggers, CHECK constraints and the stored CREATE texts name tables and columns in
//! SQL text. Each text is parsed, the parsed statement is walked with its name scopes (the FROM
//! relations of each SELECT, a trigger's NEW and OLD, an UPSERT's `excluded`), and only the
//! identifiers that resolve to the renamed table or column are replaced, at the source
//! positions the parser recorded. An identifier that merely has the same spelling (another
//! table's column, an alias, a string) is left alone, and the rest of the text (layout,
//! comments) is kept. The walk reads sqlparser's AST through its serde form, which lets one
//! generic traversal reach identifiers in every kind of expression.

use crate::error::{Error, Result};
use crate::sql::catalog::Schema;
use serde_json::{Map, Value as Json};

/// What is renamed.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `ALTER TABLE old RENAME TO new`.
    Table {
        /// Old table name.
        old: &'a str,
        /// New table name.
        new: &'a str,
    },
    /// `ALTER TABLE table RENAME COLUMN old TO new`.
    Column {
        /// The table (its name before and after).
        table: &'a str,
        /// Old column name.
        old: &'a str,
        /// New column name.
        new: &'a str,
    },
}

/// Where unqualified and qualified names in a text are looked up first.
#[derive(Debug, Clone, Copy)]
pub enum Context<'a> {
    /// A standalone statement (a view, a CREATE text).
    None,
    /// A trigger body or WHEN on this table: `NEW.x` and `OLD.x` are its columns.
    Trigger(&'a str),
    /// A CHECK expression of this table: bare names are its columns.
    Table(&'a str),
}

/// Rewrites every statement of `sql` for the rename.
pub fn statements(
    sql: &str,
    target: Target<'_>,
    schema: &Schema,
    ctx: Context<'_>,
) -> Result<String> {
    let parsed = crate::sql::parser::parse(sql)?;
    let mut w = Walker::new(target, schema, ctx);
    for p in &parsed {
        if let crate::sql::parser::Parsed::Sql(st) = &p.statement {
            w.walk(&to_json(st.as_ref())?);
        }
    }
    Ok(apply(sql, w.edits))
}

/// Rewrites a standalone expression (a CHECK constraint, a trigger's WHEN).
pub fn expression(
    sql: &str,
    target: Target<'_>,
    schema: &Schema,
    ctx: Context<'_>,
) -> Result<String> {
    let e = crate::sql::parser::parse_expr(sql)?;
    let mut w = Walker::new(target, schema, ctx);
    w.walk(&to_json(&e)?);
    Ok(apply(sql, w.edits))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Json> {
    serde_json::to_value(v).map_err(|e| Error::invalid(format!("cannot inspect stored SQL: {e}")))
}

/// A relation names can resolve to.
#[derive(Debug, Clone)]
struct Rel {
    /// The name that qualifies its columns (alias, else table name), lower case.
    qualifier: String,
    /// The base table it reads, if any.
    table: Option<String>,
    /// Output names of a subquery (a base table's come from the schema).
    columns: Vec<String>,
    /// A subquery exposing the renamed column under its old name (renamed with it).
    exposes_target: bool,
    /// Only `qualifier.column` reaches it (NEW, OLD, excluded).
    qualified_only: bool,
}

impl Rel {
    /// A base table reached by its own name (no alias).
    fn table(name: String) -> Self {
        Rel {
            qualifier: name.to_ascii_lowercase(),
            table: Some(name),
            columns: Vec::new(),
            exposes_target: false,
            qualified_only: false,
        }
    }
}

/// Start and end (line, column) of a token, and its replacement.
type Edit = ((u64, u64), (u64, u64), String);

struct Walker<'a> {
    target: Target<'a>,
    schema: &'a Schema,
    scopes: Vec<Vec<Rel>>,
    ctes: Vec<String>,
    edits: Vec<Edit>,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The `value` of an identifier object.
fn ident_value(i: &Json) -> Option<&str> {
    i.get("value")?.as_str()
}

/// The last part of an object name (`[{"Identifier": ident}, ...]`).
fn last_part(name: &Json) -> Option<&Json> {
    name.as_array()?.last()?.get("Identifier")
}

fn pos(p: &Json) -> Option<(u64, u64)> {
    Some((p.get("line")?.as_u64()?, p.get("column")?.as_u64()?))
}

/// A name as SQL text: bare when it is a plain identifier, else double-quoted.
fn quote(name: &str, style: Option<char>) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && sqlparser::keywords::ALL_KEYWORDS
            .binary_search(&name.to_ascii_uppercase().as_str())
            .is_err();
    match style {
        Some('[') => format!("[{name}]"),
        Some(q @ ('`' | '\'')) => format!("{q}{}{q}", name.replace(q, &format!("{q}{q}"))),
        None if plain => name.to_string(),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

impl<'a> Walker<'a> {
    fn new(target: Target<'a>, schema: &'a Schema, ctx: Context<'_>) -> Self {
        let base = |qualifier: &str, table: &str, qualified_only| Rel {
            qualifier: qualifier.to_ascii_lowercase(),
            table: Some(table.to_string()),
            columns: Vec::new(),
            exposes_target: false,
            qualified_only,
        };
        let outer = match ctx {
            Context::None => Vec::new(),
            Context::Trigger(t) => vec![base("new", t, true), base("old", t, true)],
            Context::Table(t) => vec![base(t, t, false)],
        };
        Walker {
            target,
            schema,
            scopes: vec![outer],
            ctes: Vec::new(),
            edits: Vec::new(),
        }
    }

    /// Replaces the identifier `i` with `name`.
    fn edit(&mut self, i: &Json, name: &str) {
        let style = i
            .get("quote_style")
            .and_then(Json::as_str)
            .and_then(|s| s.chars().next());
        let span = i.get("span");
        let (Some(start), Some(end)) = (
            span.and_then(|s| s.get("start")).and_then(pos),
            span.and_then(|s| s.get("end")).and_then(pos),
        ) else {
            return;
        };
        if start.0 == 0 {
            return;
        }
        self.edits.push((start, end, quote(name, style)));
    }

    fn has_column(&self, rel: &Rel, column: &str) -> bool {
        match &rel.table {
            Some(t) => self
                .schema
                .table(t)
                .is_some_and(|info| info.def.column_index(column).is_some()),
            None => rel.columns.iter().any(|c| eq(c, column)),
        }
    }

    /// True if `rel.column` is the renamed column.
    fn is_target_column(&self, rel: &Rel, column: &str) -> bool {
        match self.target {
            Target::Column { table, old, .. } => {
                eq(column, old)
                    && (rel.exposes_target || rel.table.as_deref().is_some_and(|t| eq(t, table)))
            }
            Target::Table { .. } => false,
        }
    }

    fn walk(&mut self, v: &Json) {
        match v {
            Json::Array(items) => items.iter().for_each(|x| self.walk(x)),
            Json::Object(o) => self.walk_object(o),
            _ => {}
        }
    }

    fn walk_object(&mut self, o: &Map<String, Json>) {
        if o.len() == 1 {
            let (k, inner) = o.iter().next().expect("one entry");
            match k.as_str() {
                "Identifier" if inner.get("span").is_some() => return self.identifier(inner),
                "CompoundIdentifier" => return self.compound(inner),
                "Select" => return self.select(inner, None),
                "Insert" => return self.insert(inner),
                "Update" => return self.update(inner),
                "Delete" => return self.delete(inner),
                "CreateTable" => return self.create_table(inner),
                "CreateIndex" => return self.create_index(inner),
                _ => {}
            }
        }
        if o.contains_key("body") && o.contains_key("with") {
            return self.query(o);
        }
        if o.contains_key("foreign_table") {
            self.foreign_key(o);
        }
        for (k, x) in o {
            // Names that are not column references: object names, aliases, types.
            if !matches!(
                k.as_str(),
                "name" | "alias" | "data_type" | "span" | "foreign_table" | "referred_columns"
            ) {
                self.walk(x);
            }
        }
    }

    /// A bare name: renamed if it resolves to the renamed column.
    fn identifier(&mut self, i: &Json) {
        let Target::Column { old, new, .. } = self.target else {
            return;
        };
        let Some(name) = ident_value(i) else { return };
        if !eq(name, old) {
            return;
        }
        for scope in self.scopes.iter().rev() {
            let hits: Vec<&Rel> = scope
                .iter()
                .filter(|r| !r.qualified_only && self.has_column(r, name))
                .collect();
            if !hits.is_empty() {
                if hits.iter().any(|r| self.is_target_column(r, name)) {
                    self.edit(i, new);
                }
                return;
            }
        }
    }

    /// `q.c` (or `s.q.c`): the qualifier for a table rename, the column for a column rename.
    fn compound(&mut self, parts: &Json) {
        let Some(parts) = parts.as_array() else {
            return;
        };
        let n = parts.len();
        if n < 2 {
            return;
        }
        let (q, c) = (&parts[n - 2], &parts[n - 1]);
        let (Some(qv), Some(cv)) = (ident_value(q), ident_value(c)) else {
            return;
        };
        let rel = self
            .scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|r| r.qualifier == qv.to_ascii_lowercase())
            .cloned();
        let Some(rel) = rel else { return };
        match self.target {
            Target::Table { old, new } => {
                if eq(qv, old) && rel.table.as_deref().is_some_and(|t| eq(t, old)) {
                    self.edit(q, new);
                }
            }
            Target::Column { new, .. } => {
                if self.is_target_column(&rel, cv) {
                    self.edit(c, new);
                }
            }
        }
    }

    /// A table named in FROM, INSERT, UPDATE, DELETE, REFERENCES or ON: renamed with it.
    fn table_name(&mut self, name: &Json) -> Option<String> {
        let last = last_part(name)?;
        let value = ident_value(last)?.to_string();
        if let Target::Table { old, new } = self.target {
            if eq(&value, old) && !self.ctes.iter().any(|c| eq(c, &value)) {
                self.edit(last, new);
            }
        }
        Some(value)
    }

    fn query(&mut self, q: &Map<String, Json>) {
        let mark = self.ctes.len();
        if let Some(tables) = q.get("with").and_then(|w| w.get("cte_tables")) {
            for cte in tables.as_array().into_iter().flatten() {
                if let Some(body) = cte.get("query") {
                    self.walk(body);
                }
                if let Some(n) = cte.pointer("/alias/name/value").and_then(Json::as_str) {
                    self.ctes.push(n.to_string());
                }
            }
        }
        let order_by = q.get("order_by");
        match q.get("body") {
            Some(Json::Object(b)) if b.contains_key("Select") => {
                self.select(&b["Select"], order_by)
            }
            Some(body) => {
                self.walk(body);
                if let Some(ob) = order_by {
                    self.walk(ob);
                }
            }
            None => {}
        }
        for (k, x) in q {
            if !matches!(k.as_str(), "with" | "body" | "order_by") {
                self.walk(x);
            }
        }
        self.ctes.truncate(mark);
    }

    fn select(&mut self, s: &Json, order_by: Option<&Json>) {
        let from = s.get("from").cloned().unwrap_or(Json::Null);
        let rels = self.relations(&from);
        self.scopes.push(rels);
        for twj in from.as_array().into_iter().flatten() {
            for j in twj
                .get("joins")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(op) = j.get("join_operator") {
                    self.walk(op);
                }
            }
        }
        if let Some(o) = s.as_object() {
            for (k, x) in o {
                if k != "from" {
                    self.walk(x);
                }
            }
        }
        if let Some(ob) = order_by {
            self.walk(ob);
        }
        self.scopes.pop();
    }

    /// The relations of a FROM list (tables renamed, subqueries walked).
    fn relations(&mut self, from: &Json) -> Vec<Rel> {
        let mut out = Vec::new();
        for twj in from.as_array().into_iter().flatten() {
            self.relation(twj.get("relation"), &mut out);
            for j in twj
                .get("joins")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                self.relation(j.get("relation"), &mut out);
            }
        }
        out
    }

    fn relation(&mut self, factor: Option<&Json>, out: &mut Vec<Rel>) {
        let Some(Json::Object(f)) = factor else {
            return;
        };
        let alias = |t: &Json| {
            t.pointer("/alias/name/value")
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        if let Some(t) = f.get("Table") {
            let Some(name) = t.get("name").and_then(|n| self.table_name(n)) else {
                return;
            };
            let is_cte = self.ctes.iter().any(|c| eq(c, &name));
            out.push(Rel {
                qualifier: alias(t)
                    .unwrap_or_else(|| name.clone())
                    .to_ascii_lowercase(),
                table: (!is_cte && self.schema.table(&name).is_some()).then_some(name),
                columns: Vec::new(),
                exposes_target: false,
                qualified_only: false,
            });
        } else if let Some(d) = f.get("Derived") {
            let before = self.edits.len();
            if let Some(q) = d.get("subquery") {
                self.walk(q);
            }
            let renamed: Vec<(u64, u64)> = self.edits[before..].iter().map(|e| e.0).collect();
            let mut columns = Vec::new();
            let mut exposes_target = false;
            let items = d.pointer("/subquery/body/Select/projection");
            for item in items.and_then(Json::as_array).into_iter().flatten() {
                if let Some(a) = item
                    .pointer("/ExprWithAlias/alias/value")
                    .and_then(Json::as_str)
                {
                    columns.push(a.to_string());
                    continue;
                }
                let ident = item.pointer("/UnnamedExpr/Identifier").or_else(|| {
                    item.pointer("/UnnamedExpr/CompoundIdentifier")
                        .and_then(|p| p.as_array()?.last())
                });
                if let Some(i) = ident {
                    columns.extend(ident_value(i).map(str::to_string));
                    let start = i.pointer("/span/start").and_then(pos);
                    exposes_target |= start.is_some_and(|s| renamed.contains(&s));
                }
            }
            out.push(Rel {
                qualifier: alias(d).unwrap_or_default().to_ascii_lowercase(),
                table: None,
                columns,
                exposes_target,
                qualified_only: false,
            });
        } else if let Some(n) = f.get("NestedJoin") {
            if let Some(twj) = n.get("table_with_joins") {
                let inner = self.relations(&Json::Array(vec![twj.clone()]));
                out.extend(inner);
                for j in twj
                    .get("joins")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(op) = j.get("join_operator") {
                        self.walk(op);
                    }
                }
            }
        } else {
            self.walk_object(f);
        }
    }

    /// Renames a column list of `table` (INSERT columns, UPDATE targets, UPSERT targets).
    fn target_columns(&mut self, table: &str, names: impl Iterator<Item = Json>) {
        let Target::Column { table: t, old, new } = self.target else {
            return;
        };
        if !eq(table, t) {
            return;
        }
        for n in names {
            let ident = n.get("Identifier").cloned().unwrap_or(n);
            if ident_value(&ident).is_some_and(|v| eq(v, old)) {
                self.edit(&ident, new);
            }
        }
    }

    fn insert(&mut self, ins: &Json) {
        let Some(table) = ins
            .pointer("/table/TableName")
            .and_then(|n| self.table_name(n))
        else {
            return;
        };
        let cols: Vec<Json> = ins
            .get("columns")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                last_part(c)
                    .map(|i| Json::Object(Map::from_iter([("Identifier".to_string(), i.clone())])))
            })
            .collect();
        self.target_columns(&table, cols.into_iter());
        if let Some(src) = ins.get("source") {
            self.walk(src);
        }
        if let Some(c) = ins.pointer("/on/OnConflict/conflict_target/Columns/columns") {
            self.target_columns(&table, c.as_array().into_iter().flatten().cloned());
        }
        if let Some(up) = ins.pointer("/on/OnConflict/action/DoUpdate") {
            let rel = |q: &str, qualified_only| Rel {
                qualifier: q.to_ascii_lowercase(),
                table: Some(table.clone()),
                columns: Vec::new(),
                exposes_target: false,
                qualified_only,
            };
            self.scopes
                .push(vec![rel(&table, false), rel("excluded", true)]);
            self.assignments(&table, up.get("assignments"));
            if let Some(s) = up.get("selection") {
                self.walk(s);
            }
            self.scopes.pop();
        }
        if let Some(r) = ins.get("returning") {
            self.walk(r);
        }
    }

    fn assignments(&mut self, table: &str, list: Option<&Json>) {
        for a in list.and_then(Json::as_array).into_iter().flatten() {
            if let Some(name) = a.pointer("/target/ColumnName").and_then(last_part) {
                self.target_columns(table, std::iter::once(name.clone()));
            }
            if let Some(v) = a.get("value") {
                self.walk(v);
            }
        }
    }

    fn update(&mut self, u: &Json) {
        let table = u.get("table").cloned().unwrap_or(Json::Null);
        let rels = self.relations(&Json::Array(vec![table]));
        let name = rels
            .first()
            .and_then(|r| r.table.clone())
            .unwrap_or_default();
        self.scopes.push(rels);
        self.assignments(&name, u.get("assignments"));
        for k in ["from", "selection", "returning"] {
            if let Some(x) = u.get(k) {
                self.walk(x);
            }
        }
        self.scopes.pop();
    }

    fn delete(&mut self, d: &Json) {
        let from = d
            .pointer("/from/WithFromKeyword")
            .or_else(|| d.pointer("/from/WithoutKeyword"))
            .cloned()
            .unwrap_or(Json::Null);
        let rels = self.relations(&from);
        self.scopes.push(rels);
        for k in ["selection", "returning"] {
            if let Some(x) = d.get(k) {
                self.walk(x);
            }
        }
        self.scopes.pop();
    }

    fn create_table(&mut self, ct: &Json) {
        let Some(name) = ct.get("name").and_then(|n| self.table_name(n)) else {
            return;
        };
        let names = ct
            .get("columns")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").cloned());
        self.target_columns(&name, names.collect::<Vec<_>>().into_iter());
        self.scopes.push(vec![Rel::table(name.clone())]);
        for k in ["columns", "constraints"] {
            if let Some(x) = ct.get(k) {
                self.walk(x);
            }
        }
        self.scopes.pop();
    }

    fn create_index(&mut self, ci: &Json) {
        let Some(table) = ci.get("table_name").and_then(|n| self.table_name(n)) else {
            return;
        };
        self.scopes.push(vec![Rel::table(table)]);
        for k in ["columns", "predicate"] {
            if let Some(x) = ci.get(k) {
                self.walk(x);
            }
        }
        self.scopes.pop();
    }

    /// `REFERENCES parent(columns)`: the parent table and its columns.
    fn foreign_key(&mut self, fk: &Map<String, Json>) {
        let Some(parent) = fk.get("foreign_table").and_then(|n| self.table_name(n)) else {
            return;
        };
        if let Some(cols) = fk.get("referred_columns").and_then(Json::as_array) {
            self.target_columns(&parent, cols.iter().cloned());
        }
        // A table constraint's own columns belong to the table being created.
        if let (Some(cols), Some(own)) = (
            fk.get("columns").and_then(Json::as_array),
            self.scopes
                .last()
                .and_then(|s| s.first())
                .and_then(|r| r.table.clone()),
        ) {
            self.target_columns(&own, cols.iter().cloned());
        }
    }
}

/// Applies the edits to the text (positions are 1-based lines and character columns).
fn apply(sql: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    edits.dedup_by(|a, b| a.0 == b.0);
    let mut line_starts = vec![0usize];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |(line, col): (u64, u64)| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let rest = &sql[start..];
        let skip = usize::try_from(col).ok()?.checked_sub(1)?;
        Some(start + rest.char_indices().nth(skip).map_or(rest.len(), |(b, _)| b))
    };
    let mut out = sql.to_string();
    for (start, end, text) in edits {
        if let (Some(s), Some(e)) = (offset(start), offset(end)) {
            if s <= e && e <= out.len() {
                out.replace_range(s..e, &text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::catalog::{CatalogEntry, ColumnDef, TableDef};
    use crate::sql::value::Affinity;

    fn table(id: u32, name: &str, columns: &[&str]) -> CatalogEntry {
        CatalogEntry::Table(TableDef {
            id,
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| ColumnDef {
                    name: c.to_string(),
                    type_name: String::new(),
                    affinity: Affinity::Blob,
                    not_null: false,
                    default: None,
                    collation: Default::default(),
                    generated: None,
                })
                .collect(),
            primary_key: Vec::new(),
            rowid_column: None,
            autoincrement: false,
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            sql: String::new(),
            strict: false,
            without_rowid: false,
        })
    }

    fn schema() -> Schema {
        Schema::from_entries([
            table(1, "p", &["id", "name"]),
            table(2, "c", &["pid", "name"]),
        ])
    }

    const COLUMN: Target<'static> = Target::Column {
        table: "p",
        old: "name",
        new: "title",
    };

    #[test]
    fn column_rename_touches_only_references_to_the_column() {
        let s = schema();
        let r = |sql: &str| statements(sql, COLUMN, &s, Context::None).unwrap();
        // Aliases, strings and another table's same-named column stay.
        assert_eq!(
            r("SELECT x.name AS name FROM p AS x WHERE 'name' <> x.name"),
            "SELECT x.title AS name FROM p AS x WHERE 'name' <> x.title"
        );
        assert_eq!(
            r("SELECT c.name, p.name FROM c JOIN p ON p.id = c.pid"),
            "SELECT c.name, p.title FROM c JOIN p ON p.id = c.pid"
        );
        // A bare name resolves to the nearest relation that has it.
        assert_eq!(
            r("SELECT name FROM p WHERE EXISTS (SELECT 1 FROM c WHERE name = 'a')"),
            "SELECT title FROM p WHERE EXISTS (SELECT 1 FROM c WHERE name = 'a')"
        );
        assert_eq!(
            r("SELECT n FROM (SELECT name FROM p) AS q, (SELECT 1 AS n) WHERE q.name > ''"),
            "SELECT n FROM (SELECT title FROM p) AS q, (SELECT 1 AS n) WHERE q.title > ''"
        );
        assert_eq!(
            r("INSERT INTO p(id, name) VALUES (1, 'a') ON CONFLICT(name) DO UPDATE SET name = excluded.name"),
            "INSERT INTO p(id, title) VALUES (1, 'a') ON CONFLICT(title) DO UPDATE SET title = excluded.title"
        );
        let trig = statements(
            "UPDATE c SET name = NEW.name WHERE pid = OLD.id",
            COLUMN,
            &s,
            Context::Trigger("p"),
        )
        .unwrap();
        assert_eq!(trig, "UPDATE c SET name = NEW.title WHERE pid = OLD.id");
        let check = expression("length(name) < 10", COLUMN, &s, Context::Table("p")).unwrap();
        assert_eq!(check, "length(title) < 10");
    }

    #[test]
    fn table_rename_and_quoting() {
        let s = schema();
        let t = Target::Table {
            old: "p",
            new: "people",
        };
        let r = |sql: &str| statements(sql, t, &s, Context::None).unwrap();
        assert_eq!(
            r("SELECT p.id FROM p JOIN c AS p2 ON p2.pid = p.id\n  -- p stays in comments\n  WHERE 1"),
            "SELECT people.id FROM people JOIN c AS p2 ON p2.pid = people.id\n  -- p stays in comments\n  WHERE 1"
        );
        assert_eq!(
            r("CREATE TABLE c(pid REFERENCES p(id), name TEXT)"),
            "CREATE TABLE c(pid REFERENCES people(id), name TEXT)"
        );
        let spaced = Target::Column {
            table: "p",
            old: "name",
            new: "full name",
        };
        assert_eq!(
            statements("SELECT \"name\" FROM p", spaced, &s, Context::None).unwrap(),
            "SELECT \"full name\" FROM p"
        );
        let keyword = Target::Column {
            table: "p",
            old: "name",
            new: "select",
        };
        assert_eq!(
            statements("SELECT name FROM p", keyword, &s, Context::None).unwrap(),
            "SELECT \"select\" FROM p"
        );
    }
}
