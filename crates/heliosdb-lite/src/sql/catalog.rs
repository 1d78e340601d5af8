//! Table, index and view definitions, versioned like rows.
//!
//! Each definition is stored as JSON under its catalog key (`'c'` ‖ name), through the same
//! MVCC layer as rows, so the schema at SCN S is read exactly like data at SCN S: a query
//! `AS OF` a point before `ALTER TABLE` sees the old columns, and one before `CREATE TABLE`
//! learns that the table did not exist then. Building a [`Schema`] needs a scan of the catalog
//! keys, so schemas are cached per "DDL point": the SCN of the newest DDL commit at or before
//! the reading SCN, which identifies the schema exactly.

use super::codec;
use super::value::{Affinity, Value};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnDef {
    /// Name as declared.
    pub name: String,
    /// Declared type text (may be empty).
    pub type_name: String,
    /// Affinity derived from the type.
    pub affinity: Affinity,
    /// NOT NULL constraint.
    pub not_null: bool,
    /// DEFAULT expression as SQL text.
    pub default: Option<String>,
    /// Declared collating sequence (`COLLATE NOCASE`); BINARY when none was declared.
    #[serde(default)]
    pub collation: super::collation::Collation,
    /// `GENERATED ALWAYS AS (expr)`: the column's value is computed from the row
    /// (`execution::computed`). Absent from entries written before generated columns existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
}

/// How a generated column is computed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Generated {
    /// The expression, as SQL text over the table's columns.
    pub expr: String,
    /// STORED (written with the row) rather than VIRTUAL (computed when read).
    pub stored: bool,
}

/// A foreign key of a table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForeignKeyDef {
    /// Referencing columns (positions in this table).
    pub columns: Vec<usize>,
    /// Referenced table name.
    pub parent: String,
    /// Referenced column names (empty: the parent's primary key).
    pub parent_columns: Vec<String>,
    /// `ON DELETE` action (absent from catalogs written before actions were carried out,
    /// which declared none that took effect).
    #[serde(default)]
    pub on_delete: FkAction,
    /// `ON UPDATE` action.
    #[serde(default)]
    pub on_update: FkAction,
}

/// What a foreign key does to the rows that reference a parent row when that row is deleted
/// or its key changes (SQLite's `ON DELETE` / `ON UPDATE` clauses).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum FkAction {
    /// The change fails if referencing rows remain when the statement ends.
    #[default]
    NoAction,
    /// The change fails at once if referencing rows exist.
    Restrict,
    /// Referencing rows are deleted, or take the new key.
    Cascade,
    /// Referencing columns become NULL.
    SetNull,
    /// Referencing columns take their DEFAULT values.
    SetDefault,
}

impl FkAction {
    /// The action a parsed clause names (`NO ACTION` when there is none).
    pub fn from_ast(a: Option<&sqlparser::ast::ReferentialAction>) -> FkAction {
        use sqlparser::ast::ReferentialAction as R;
        match a {
            None | Some(R::NoAction) => FkAction::NoAction,
            Some(R::Restrict) => FkAction::Restrict,
            Some(R::Cascade) => FkAction::Cascade,
            Some(R::SetNull) => FkAction::SetNull,
            Some(R::SetDefault) => FkAction::SetDefault,
        }
    }

    /// The action as `PRAGMA foreign_key_list` spells it.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// True for the actions that change the referencing rows instead of refusing the change.
    pub fn changes_children(self) -> bool {
        matches!(
            self,
            FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault
        )
    }
}

/// A table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableDef {
    /// Identifier used in row keys; never reused.
    pub id: u32,
    /// Name as declared.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// Primary-key columns. Empty means the table is keyed by a hidden rowid.
    pub primary_key: Vec<usize>,
    /// The `INTEGER PRIMARY KEY` column, which is the rowid.
    pub rowid_column: Option<usize>,
    /// `AUTOINCREMENT`: rowids are never reused.
    pub autoincrement: bool,
    /// CHECK constraints as SQL text.
    pub checks: Vec<String>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// The CREATE TABLE text (kept current across ALTER TABLE).
    pub sql: String,
    /// `STRICT`: values must fit their column's declared type (`sql/strict.rs`). Absent from
    /// entries written before STRICT tables existed, which had none.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// `WITHOUT ROWID`: rows are keyed by the PRIMARY KEY and there is no rowid to name.
    /// (A rowid table with a PRIMARY KEY other than an INTEGER PRIMARY KEY is keyed by it
    /// too here, and has no rowid either; SQLite gives it one.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub without_rowid: bool,
}

impl TableDef {
    /// True if rows are keyed by a rowid (hidden or `INTEGER PRIMARY KEY`).
    pub fn has_rowid(&self) -> bool {
        self.primary_key.is_empty() || self.rowid_column.is_some()
    }

    /// Position of a column by case-insensitive name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Logical key of the row with the given key values.
    pub fn row_key(&self, key: &[Value]) -> Vec<u8> {
        let mut k = codec::table_prefix(self.id);
        codec::encode_key(key, &mut k);
        k
    }

    /// Logical key of `row` (the table's columns, then the rowid): [`TableDef::row_key`] of
    /// its key values, encoded straight from the row without collecting them first.
    pub fn row_key_of_row(&self, row: &[Value]) -> Vec<u8> {
        let mut k = codec::table_prefix(self.id);
        if self.has_rowid() {
            codec::encode_key_value(&row[self.columns.len()], false, &mut k);
        } else {
            for &c in &self.primary_key {
                codec::encode_key_value(&row[c], false, &mut k);
            }
        }
        k
    }
}

/// One column of an index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexColumn {
    /// Position of the column in the table.
    pub column: usize,
    /// Descending order.
    pub desc: bool,
    /// Collating sequence of the entries' values (the column's, or the index's `COLLATE`):
    /// entries hold the collation key, so values equal under it collide in a UNIQUE index.
    #[serde(default)]
    pub collation: super::collation::Collation,
    /// An expression part (`lower(name)`): its SQL text over the table's columns, and then
    /// `column` is [`EXPRESSION_COLUMN`]. Absent from entries written before expression
    /// indexes existed, which had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
}

/// The `column` of an index part that is an expression: a position no table column has.
pub const EXPRESSION_COLUMN: usize = usize::MAX;

impl IndexColumn {
    /// An index part on a table column.
    pub fn on_column(column: usize, desc: bool, collation: super::collation::Collation) -> Self {
        IndexColumn {
            column,
            desc,
            collation,
            expr: None,
        }
    }
}

/// A secondary index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexDef {
    /// Identifier used in index keys; never reused.
    pub id: u32,
    /// Name (auto indexes for UNIQUE constraints get `sqlite_autoindex_<table>_<n>`).
    pub name: String,
    /// Table name.
    pub table: String,
    /// Indexed columns.
    pub columns: Vec<IndexColumn>,
    /// UNIQUE index.
    pub unique: bool,
    /// The CREATE INDEX text (`None` for indexes made by constraints).
    pub sql: Option<String>,
    /// What the last ANALYZE measured (`None` before any): absent from entries written by
    /// builds without ANALYZE, which read entries that have it by ignoring it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<IndexStats>,
    /// A partial index's `WHERE` condition, as SQL text over the table's columns: only the
    /// rows it holds for have entries. Absent from entries written before partial indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// The expressions and the condition bound, once per loaded schema (see
    /// `execution::computed`).
    #[serde(skip)]
    pub bound: Derived,
}

/// Statistics of one index, gathered by ANALYZE (what SQLite keeps in `sqlite_stat1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexStats {
    /// Entries in the index (rows of the table) when it was analyzed.
    pub rows: u64,
    /// `avg_eq[k]`: average entries sharing one value of the first `k + 1` columns.
    pub avg_eq: Vec<f64>,
}

impl IndexDef {
    /// True if an entry's values are computed from the row by more than reading columns (an
    /// expression part) or some rows have no entry (a partial index).
    pub fn is_computed(&self) -> bool {
        self.predicate.is_some() || self.columns.iter().any(|c| c.expr.is_some())
    }

    /// True if every row of the table has an entry (not a partial index).
    pub fn covers_all_rows(&self) -> bool {
        self.predicate.is_none()
    }

    /// True if every column's entries are the plain values (BINARY collation): only such an
    /// index can answer plain comparisons and orders.
    pub fn is_binary(&self) -> bool {
        self.columns.iter().all(|c| c.collation.is_binary())
    }

    /// Share of the table's rows an equality on the first `n` columns keeps, if analyzed.
    pub fn eq_fraction(&self, n: usize) -> Option<f64> {
        let stats = self.stats.as_ref()?;
        let avg = *stats.avg_eq.get(n.checked_sub(1)?)?;
        Some((avg / stats.rows.max(1) as f64).clamp(0.0, 1.0))
    }
}

/// A view.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ViewDef {
    /// Name.
    pub name: String,
    /// Explicit column names, if given.
    pub columns: Vec<String>,
    /// The SELECT text.
    pub query: String,
    /// The CREATE VIEW text.
    pub sql: String,
}

/// A catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum CatalogEntry {
    /// A table.
    Table(TableDef),
    /// An index.
    Index(IndexDef),
    /// A view.
    View(ViewDef),
    /// A trigger.
    Trigger(super::parser::trigger::TriggerDef),
}

impl CatalogEntry {
    /// The entry's name.
    pub fn name(&self) -> &str {
        match self {
            CatalogEntry::Table(t) => &t.name,
            CatalogEntry::Index(i) => &i.name,
            CatalogEntry::View(v) => &v.name,
            CatalogEntry::Trigger(t) => &t.name,
        }
    }

    /// Serialises for storage.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("catalog entries serialise")
    }

    /// Deserialises from storage.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::corruption(format!("catalog entry unreadable: {e}")))
    }
}

/// A slot for what a layer above the catalog derives from a definition (bound expressions),
/// filled once when a schema is loaded. The catalog cannot name those types, so the slot
/// holds any shared value and hands it back only as the type it was stored as. It is derived
/// from the definition, so it takes no part in comparing definitions.
#[derive(Default, Clone)]
pub struct Derived(std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>);

impl Derived {
    /// The value, if one of type `T` was stored.
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0.get()?.clone().downcast::<T>().ok()
    }

    /// Stores the value (a slot is filled once; later values are ignored).
    pub fn set<T: std::any::Any + Send + Sync>(&self, value: Arc<T>) {
        let _ = self.0.set(value);
    }
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("filled", &self.0.get().is_some())
            .finish()
    }
}

/// A table with its indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The definition.
    pub def: TableDef,
    /// Indexes on the table.
    pub indexes: Vec<Arc<IndexDef>>,
    /// Triggers on the table.
    pub triggers: Vec<Arc<super::parser::trigger::TriggerDef>>,
    /// What higher layers derive from the definition once per loaded schema (the bound
    /// generated columns, see `execution::computed`).
    pub derived: Derived,
}

/// All definitions visible at one point.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Tables by lower-case name.
    pub tables: HashMap<String, Arc<TableInfo>>,
    /// Indexes by lower-case name.
    pub indexes: HashMap<String, Arc<IndexDef>>,
    /// Views by lower-case name.
    pub views: HashMap<String, Arc<ViewDef>>,
    /// Triggers by lower-case name.
    pub triggers: HashMap<String, Arc<super::parser::trigger::TriggerDef>>,
}

impl Schema {
    /// Builds a schema from catalog entries.
    pub fn from_entries(entries: impl IntoIterator<Item = CatalogEntry>) -> Self {
        let mut tables: BTreeMap<String, TableDef> = BTreeMap::new();
        let mut indexes: Vec<IndexDef> = Vec::new();
        let mut views = HashMap::new();
        let mut triggers: HashMap<String, Arc<super::parser::trigger::TriggerDef>> = HashMap::new();
        for e in entries {
            match e {
                CatalogEntry::Table(t) => {
                    tables.insert(t.name.to_lowercase(), t);
                }
                CatalogEntry::Index(i) => indexes.push(i),
                CatalogEntry::View(v) => {
                    views.insert(v.name.to_lowercase(), Arc::new(v));
                }
                CatalogEntry::Trigger(t) => {
                    triggers.insert(t.name.to_lowercase(), Arc::new(t));
                }
            }
        }
        indexes.sort_by_key(|i| i.id);
        let mut by_table: HashMap<String, Vec<Arc<IndexDef>>> = HashMap::new();
        let mut index_map = HashMap::new();
        for i in indexes {
            let i = Arc::new(i);
            by_table
                .entry(i.table.to_lowercase())
                .or_default()
                .push(i.clone());
            index_map.insert(i.name.to_lowercase(), i);
        }
        let tables = tables
            .into_iter()
            .map(|(name, def)| {
                let indexes = by_table.remove(&name).unwrap_or_default();
                let mut on_table: Vec<Arc<super::parser::trigger::TriggerDef>> = triggers
                    .values()
                    .filter(|t| t.table.eq_ignore_ascii_case(&name))
                    .cloned()
                    .collect();
                // In creation order (the executor fires them newest first).
                on_table.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
                (
                    name,
                    Arc::new(TableInfo {
                        def,
                        indexes,
                        triggers: on_table,
                        derived: Derived::default(),
                    }),
                )
            })
            .collect();
        Schema {
            tables,
            indexes: index_map,
            views,
            triggers,
        }
    }

    /// Looks up a table.
    pub fn table(&self, name: &str) -> Option<&Arc<TableInfo>> {
        self.tables.get(&name.to_lowercase())
    }

    /// Looks up a view.
    pub fn view(&self, name: &str) -> Option<&Arc<ViewDef>> {
        self.views.get(&name.to_lowercase())
    }

    /// What holds this name among tables, indexes and views, which share one namespace (as
    /// in SQLite; triggers have their own): `"table"`, `"index"` or `"view"`.
    pub fn taken_by(&self, name: &str) -> Option<&'static str> {
        let n = name.to_lowercase();
        if self.tables.contains_key(&n) {
            Some("table")
        } else if self.indexes.contains_key(&n) {
            Some("index")
        } else if self.views.contains_key(&n) {
            Some("view")
        } else {
            None
        }
    }

    /// The check of a new table's or view's name (`CREATE TABLE`, `CREATE VIEW`): `Ok(true)`
    /// if the name is free, `Ok(false)` if a table or view holds it and the statement says
    /// `IF NOT EXISTS`; an error naming what holds it otherwise (an index always, as SQLite).
    pub fn check_new_relation(&self, name: &str, if_not_exists: bool) -> Result<bool> {
        match self.taken_by(name) {
            None => Ok(true),
            Some("index") => Err(Error::AlreadyExists(format!(
                "there is already an index named {name}"
            ))),
            Some(_) if if_not_exists => Ok(false),
            Some(kind) => Err(Error::AlreadyExists(format!(
                "{kind} {name} already exists"
            ))),
        }
    }
}

/// Reads catalog entries from anything that can scan versioned data.
pub fn load_schema<I>(entries: I) -> Result<Schema>
where
    I: Iterator<Item = Result<crate::storage::KvPair>>,
{
    let mut out = Vec::new();
    for kv in entries {
        let (_, v) = kv?;
        out.push(CatalogEntry::decode(&v)?);
    }
    Ok(Schema::from_entries(out))
}

const CACHE_LIMIT: usize = 16;

/// Shared cache of schemas by DDL point.
#[derive(Debug, Default)]
pub struct SchemaCache {
    inner: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// SCNs of commits that changed the catalog, ascending.
    ddl_points: Vec<u64>,
    /// Looked up by every statement: a fast hash of the SCN.
    cache: rustc_hash::FxHashMap<u64, Arc<Schema>>,
}

impl CacheState {
    fn ddl_point(&self, scn: u64) -> u64 {
        let n = self.ddl_points.partition_point(|&p| p <= scn);
        if n == 0 {
            0
        } else {
            self.ddl_points[n - 1]
        }
    }
}

impl SchemaCache {
    /// Creates a cache knowing the given DDL points.
    pub fn new(mut ddl_points: Vec<u64>) -> Self {
        ddl_points.sort_unstable();
        ddl_points.dedup();
        Self {
            inner: Mutex::new(CacheState {
                ddl_points,
                cache: Default::default(),
            }),
        }
    }

    /// The DDL point that determines the schema at `scn`.
    pub fn ddl_point(&self, scn: u64) -> u64 {
        crate::mvcc::lock(&self.inner).ddl_point(scn)
    }

    /// Records that the commit at `scn` changes the catalog. Called before the commit is
    /// published, so no reader can see the new SCN without the new point.
    pub fn add_ddl_point(&self, scn: u64) {
        let mut s = crate::mvcc::lock(&self.inner);
        if s.ddl_points.last().is_none_or(|&l| l < scn) {
            s.ddl_points.push(scn);
        }
    }

    /// Returns the schema at `scn`, loading it with `load` on a miss.
    pub fn get_or_load(
        &self,
        scn: u64,
        load: impl FnOnce() -> Result<Schema>,
    ) -> Result<Arc<Schema>> {
        let point = {
            let s = crate::mvcc::lock(&self.inner);
            let point = s.ddl_point(scn);
            if let Some(schema) = s.cache.get(&point) {
                return Ok(schema.clone());
            }
            point
        };
        let schema = Arc::new(load()?);
        let mut s = crate::mvcc::lock(&self.inner);
        if s.cache.len() >= CACHE_LIMIT {
            let newest = s.ddl_points.last().copied().unwrap_or(0);
            s.cache.retain(|&k, _| k == newest);
        }
        s.cache.insert(point, schema.clone());
        Ok(schema)
    }
}

/// The name of the system table listing snapshots.
pub const SNAPSHOTS_TABLE: &str = "helios_snapshots";

/// The error for a time-travel clause on `helios_snapshots`, which has no history of its own.
pub fn snapshots_have_no_history() -> Error {
    Error::invalid(format!(
        "{SNAPSHOTS_TABLE} has no history of its own: it lists the snapshots retained now; \
         drop the time-travel clause and filter on its columns instead \
         (WHERE scn <= 2, WHERE committed_at <= '2024-12-31')"
    ))
}
