//! The schema-introspection PRAGMAs, answered as SQLite answers them: `table_info`,
//! `table_xinfo`, `index_list`, `index_info`, `index_xinfo`, `foreign_key_list`,
//! `table_list`. A name that names nothing gives no rows, as in SQLite.

use super::catalog::{Schema, ViewDef};
use super::value::Value;

/// A view's column names and declared types, its SELECT planned (by the caller, a layer
/// above); `None` when it cannot be planned.
pub type ViewColumns<'a> = &'a dyn Fn(&ViewDef) -> Option<Vec<(String, String)>>;

/// The columns and rows of one introspection PRAGMA, or `None` when `name` is not one.
pub fn run(
    schema: &Schema,
    name: &str,
    arg: Option<&str>,
    view_columns: ViewColumns<'_>,
) -> Option<(Vec<&'static str>, Rows)> {
    let arg = arg.unwrap_or_default();
    Some(match name {
        "table_info" => (
            TABLE_INFO[..6].to_vec(),
            table_info(schema, arg, false, view_columns),
        ),
        "table_xinfo" => (
            TABLE_INFO.to_vec(),
            table_info(schema, arg, true, view_columns),
        ),
        "index_list" => (
            vec!["seq", "name", "unique", "origin", "partial"],
            index_list(schema, arg),
        ),
        "index_info" => (INDEX_INFO[..3].to_vec(), index_info(schema, arg, false)),
        "index_xinfo" => (INDEX_INFO.to_vec(), index_info(schema, arg, true)),
        "foreign_key_list" => (
            vec![
                "id",
                "seq",
                "table",
                "from",
                "to",
                "on_update",
                "on_delete",
                "match",
            ],
            foreign_key_list(schema, arg),
        ),
        _ => return None,
    })
}

/// Result rows.
pub type Rows = Vec<Vec<Value>>;

const TABLE_INFO: [&str; 7] = [
    "cid",
    "name",
    "type",
    "notnull",
    "dflt_value",
    "pk",
    "hidden",
];
const INDEX_INFO: [&str; 6] = ["seqno", "cid", "name", "desc", "coll", "key"];

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn table_info(schema: &Schema, table: &str, hidden: bool, view_columns: ViewColumns<'_>) -> Rows {
    let Some(info) = schema.table(table) else {
        return match schema.view(table) {
            Some(v) => view_info(v, hidden, view_columns),
            None => schema_table_info(table, hidden),
        };
    };
    let def = &info.def;
    // Generated columns are hidden (2 virtual, 3 stored): only `table_xinfo` lists them,
    // and `table_info` numbers the columns it lists without them, as SQLite does.
    let kind = |c: &super::catalog::ColumnDef| match &c.generated {
        None => 0,
        Some(g) if g.stored => 3,
        Some(_) => 2,
    };
    def.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| hidden || kind(c) == 0)
        .enumerate()
        .map(|(cid, (i, c))| {
            let pk = def
                .primary_key
                .iter()
                .position(|&p| p == i)
                .map_or(0, |p| p + 1);
            let mut row = vec![
                Value::Integer(cid as i64),
                text(&c.name),
                text(&c.type_name),
                Value::Integer(i64::from(c.not_null)),
                c.default.clone().map_or(Value::Null, Value::Text),
                Value::Integer(pk as i64),
            ];
            if hidden {
                row.push(Value::Integer(kind(c)));
            }
            row
        })
        .collect()
}

/// `table_info` of a view, as SQLite gives it: its columns with the declared type of a column
/// it selects as it is ('' for a computed one), never NOT NULL, no default, no key; nothing
/// for a view that cannot be planned (one reading `AS OF` a point).
fn view_info(view: &ViewDef, hidden: bool, view_columns: ViewColumns<'_>) -> Rows {
    let Some(columns) = view_columns(view) else {
        return Vec::new();
    };
    columns
        .into_iter()
        .enumerate()
        .map(|(cid, (name, ty))| plain_column_row(cid, name, ty, hidden))
        .collect()
}

/// A `table_info` row of a column that is not NOT NULL, has no default, is in no key and is
/// not hidden (`hidden`: `table_xinfo`'s, with its last column).
fn plain_column_row(cid: usize, name: String, ty: String, hidden: bool) -> Vec<Value> {
    let mut row = vec![
        Value::Integer(cid as i64),
        Value::Text(name),
        Value::Text(ty),
        Value::Integer(0),
        Value::Null,
        Value::Integer(0),
    ];
    if hidden {
        row.push(Value::Integer(0));
    }
    row
}

/// `table_info` of the schema tables SQLite describes (`sqlite_schema`, `sqlite_temp_schema`
/// and their old names), with the types SQLite declares them with; nothing for another name.
fn schema_table_info(table: &str, hidden: bool) -> Rows {
    let names = [
        "sqlite_schema",
        "sqlite_master",
        "sqlite_temp_schema",
        "sqlite_temp_master",
    ];
    if !names.iter().any(|n| n.eq_ignore_ascii_case(table)) {
        return Vec::new();
    }
    let columns = [
        ("type", "TEXT"),
        ("name", "TEXT"),
        ("tbl_name", "TEXT"),
        ("rootpage", "INT"),
        ("sql", "TEXT"),
    ];
    columns
        .iter()
        .enumerate()
        .map(|(cid, (name, ty))| plain_column_row(cid, name.to_string(), ty.to_string(), hidden))
        .collect()
}

/// `table_list`'s columns.
pub const TABLE_LIST: [&str; 6] = ["schema", "name", "type", "ncol", "wr", "strict"];

/// `PRAGMA table_list [(name)]`: every table and view (with `strict` set for STRICT tables),
/// and the schema tables SQLite lists (`sqlite_schema`, and `sqlite_temp_schema` of the
/// empty `temp` schema). `view_columns` gives a view's columns (a view that cannot be
/// planned counts its declared names). `wr` is 1 for a WITHOUT ROWID
/// table.
pub fn table_list(schema: &Schema, arg: Option<&str>, view_columns: ViewColumns<'_>) -> Rows {
    let row = |schema_name: &str, name: &str, kind: &str, ncol: i64, flags: (bool, bool)| {
        let (without_rowid, strict) = flags;
        vec![
            text(schema_name),
            text(name),
            text(kind),
            Value::Integer(ncol),
            Value::Integer(i64::from(without_rowid)),
            Value::Integer(i64::from(strict)),
        ]
    };
    let mut out = Vec::new();
    for t in schema.tables.values() {
        let def = &t.def;
        out.push(row(
            "main",
            &def.name,
            "table",
            def.columns.len() as i64,
            (def.without_rowid, def.strict),
        ));
    }
    for v in schema.views.values() {
        let width = view_columns(v).map_or(v.columns.len(), |c| c.len());
        out.push(row("main", &v.name, "view", width as i64, (false, false)));
    }
    out.push(row("main", "sqlite_schema", "table", 5, (false, false)));
    out.push(row(
        "temp",
        "sqlite_temp_schema",
        "table",
        5,
        (false, false),
    ));
    if let Some(name) = arg {
        out.retain(|r| matches!(&r[1], Value::Text(n) if n.eq_ignore_ascii_case(name)));
    }
    out
}

/// Newest index first, as SQLite lists them; `origin` is `c` for CREATE INDEX and `u` for
/// an index a UNIQUE constraint made.
fn index_list(schema: &Schema, table: &str) -> Rows {
    let Some(info) = schema.table(table) else {
        return Vec::new();
    };
    let mut indexes: Vec<_> = info.indexes.iter().collect();
    indexes.sort_by_key(|ix| std::cmp::Reverse(ix.id));
    indexes
        .into_iter()
        .enumerate()
        .map(|(i, ix)| {
            vec![
                Value::Integer(i as i64),
                text(&ix.name),
                Value::Integer(i64::from(ix.unique)),
                text(if ix.sql.is_some() { "c" } else { "u" }),
                Value::Integer(i64::from(ix.predicate.is_some())),
            ]
        })
        .collect()
}

/// The index's key columns; `index_xinfo` adds the rowid that ends every entry.
fn index_info(schema: &Schema, index: &str, extended: bool) -> Rows {
    let Some(ix) = schema.indexes.get(&index.to_lowercase()) else {
        return Vec::new();
    };
    let Some(info) = schema.table(&ix.table) else {
        return Vec::new();
    };
    let mut rows: Rows = ix
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // An expression part has no column: cid -2 and no name, as in SQLite.
            let mut row = match c.expr {
                Some(_) => vec![Value::Integer(i as i64), Value::Integer(-2), Value::Null],
                None => vec![
                    Value::Integer(i as i64),
                    Value::Integer(c.column as i64),
                    text(&info.def.columns[c.column].name),
                ],
            };
            if extended {
                row.extend([
                    Value::Integer(i64::from(c.desc)),
                    text(c.collation.name()),
                    Value::Integer(1),
                ]);
            }
            row
        })
        .collect();
    if extended {
        rows.push(vec![
            Value::Integer(ix.columns.len() as i64),
            Value::Integer(-1),
            Value::Null,
            Value::Integer(0),
            text("BINARY"),
            Value::Integer(0),
        ]);
    }
    rows
}

/// One row per column of each foreign key, with its actions; MATCH is always `NONE` (SQLite
/// parses MATCH and ignores it).
fn foreign_key_list(schema: &Schema, table: &str) -> Rows {
    let Some(info) = schema.table(table) else {
        return Vec::new();
    };
    let def = &info.def;
    let mut rows = Vec::new();
    for (id, fk) in def.foreign_keys.iter().rev().enumerate() {
        for (seq, &col) in fk.columns.iter().enumerate() {
            rows.push(vec![
                Value::Integer(id as i64),
                Value::Integer(seq as i64),
                text(&fk.parent),
                text(&def.columns[col].name),
                fk.parent_columns.get(seq).map_or(Value::Null, |c| text(c)),
                text(fk.on_update.sql()),
                text(fk.on_delete.sql()),
                text("NONE"),
            ]);
        }
    }
    rows
}

/// The PRAGMAs that read as table-valued functions (`SELECT name FROM
/// pragma_table_info('t')`), by function name: every one of this module.
const TABLE_VALUED: [(&str, &str); 7] = [
    ("pragma_table_info", "table_info"),
    ("pragma_table_xinfo", "table_xinfo"),
    ("pragma_index_list", "index_list"),
    ("pragma_index_info", "index_info"),
    ("pragma_index_xinfo", "index_xinfo"),
    ("pragma_foreign_key_list", "foreign_key_list"),
    ("pragma_table_list", "table_list"),
];

/// True if `name` (any case) is a PRAGMA's table-valued function (`pragma_table_info`).
pub fn is_table_valued(name: &str) -> bool {
    TABLE_VALUED
        .iter()
        .any(|(f, _)| f.eq_ignore_ascii_case(name))
}

/// A schema PRAGMA read as a table-valued function. Its rows depend on its argument and the
/// schema alone, so the plan keeps the schema it was planned against (a cached plan is one
/// DDL point's) and the operator computes them for each argument value it gets (a correlated
/// argument: `FROM sqlite_schema m, pragma_index_list(m.name)`). `table_list`, whose `ncol`
/// of a view needs the view planned, is listed whole when the statement is planned and
/// filtered then.
#[derive(Debug)]
pub struct PragmaTable {
    /// The function's name (`pragma_table_info`).
    pub function: &'static str,
    /// The PRAGMA's name (`table_info`).
    pragma: &'static str,
    /// The result columns.
    pub columns: Vec<&'static str>,
    schema: std::sync::Arc<Schema>,
    /// `table_list`'s rows, listed whole.
    listed: Option<Rows>,
    /// For `table_info` / `table_xinfo`: every view's columns (lower-case name), planned with
    /// the statement, since the rows are made later for each argument value.
    views: std::collections::HashMap<String, Option<Vec<(String, String)>>>,
}

impl PartialEq for PragmaTable {
    /// The same function over the same schema (plans compare their nodes).
    fn eq(&self, other: &Self) -> bool {
        self.function == other.function && std::sync::Arc::ptr_eq(&self.schema, &other.schema)
    }
}

impl PragmaTable {
    /// The table of function `name` (any case) over `schema`, or `None` when `name` is no
    /// table-valued PRAGMA. `view_columns` gives a view's columns (`table_list`'s `ncol`,
    /// `table_info` of a view).
    pub fn new(
        schema: &std::sync::Arc<Schema>,
        name: &str,
        view_columns: ViewColumns<'_>,
    ) -> Option<Self> {
        let (function, pragma) = TABLE_VALUED
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(name))?;
        let (columns, listed) = match run(schema, pragma, None, &|_| None) {
            Some((columns, _)) => (columns, None),
            None => (
                TABLE_LIST.to_vec(),
                Some(table_list(schema, None, view_columns)),
            ),
        };
        let views = match *pragma {
            "table_info" | "table_xinfo" => schema
                .views
                .iter()
                .map(|(name, v)| (name.clone(), view_columns(v)))
                .collect(),
            _ => Default::default(),
        };
        Some(Self {
            function,
            pragma,
            columns,
            schema: schema.clone(),
            listed,
            views,
        })
    }

    /// The hidden argument columns after the result columns: `arg` and `schema`, as SQLite
    /// declares them (`table_list` has no `schema`).
    pub fn arguments(&self) -> &'static [&'static str] {
        if self.listed.is_some() {
            &["arg"]
        } else {
            &["arg", "schema"]
        }
    }

    /// The rows for `arg` (`None`: no argument, which names nothing but for `table_list`).
    pub fn rows(&self, arg: Option<&str>) -> Rows {
        let Some(listed) = &self.listed else {
            return match arg {
                Some(a) => {
                    let views = |v: &ViewDef| self.views.get(&v.name.to_lowercase()).cloned()?;
                    run(&self.schema, self.pragma, Some(a), &views).map_or_else(Vec::new, |r| r.1)
                }
                None => Vec::new(),
            };
        };
        let Some(arg) = arg else {
            return listed.clone();
        };
        // The schema tables answer to their older names too.
        let name = match arg.to_lowercase().as_str() {
            "sqlite_master" => "sqlite_schema".to_string(),
            "sqlite_temp_master" => "sqlite_temp_schema".to_string(),
            other => other.to_string(),
        };
        listed
            .iter()
            .filter(|r| matches!(&r[1], Value::Text(n) if n.to_lowercase() == name))
            .cloned()
            .collect()
    }
}
