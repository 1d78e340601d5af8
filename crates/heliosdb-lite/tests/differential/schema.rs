//! Random tables and rows. The generated CREATE / INSERT statements run unchanged in both
//! engines; the [`Schema`] keeps what the query generator needs to know about them.

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

/// Column names come from one small pool so that tables share names, which NATURAL joins
/// and USING need.
const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// Which numbers an expression can produce.
///
/// SQLite treats 2 and 2.0 as equal but returns them as different values. Wherever it keeps
/// one of several equal values (DISTINCT, UNION, GROUP BY keys, min/max, ties cut by
/// ORDER BY ... LIMIT) which one it keeps is unspecified, so the generator tracks this class
/// and only puts expressions that cannot hold such a pair in those places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Numbers are integers or reals with a fraction, never an integral real such as 2.0.
    Int,
    /// Numbers are always reals.
    Real,
    /// No numbers at all: text or NULL.
    NonNumeric,
    /// Integers and integral reals may both occur.
    Mixed,
    /// No numbers, but texts that are equal under the expression's collation while being
    /// different values ('a' and 'A' under NOCASE, 'a' and 'a ' under RTRIM). Unsafe like
    /// [`Class::Mixed`] where one of several equal values is kept, except that
    /// `upper(rtrim(x))` of such a value is the same for every value equal to it under
    /// either collation, so a GROUP BY key or a min/max of this class can be output that way.
    Folded,
}

impl Class {
    /// The class of a value that may come from either of two expressions.
    pub fn join(self, other: Class) -> Class {
        match (self, other) {
            (Class::NonNumeric, c) | (c, Class::NonNumeric) => c,
            (a, b) if a == b => a,
            // Folded with numbers loses which numbers: the conservative answer.
            _ => Class::Mixed,
        }
    }

    /// True when values of this class that compare equal are also the same value.
    pub fn is_safe(self) -> bool {
        !matches!(self, Class::Mixed | Class::Folded)
    }
}

/// A declared column type; it decides the column's affinity and so how inserted values convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// `INTEGER`: integral reals and numeric text become integers.
    Integer,
    /// `REAL`: every number (and numeric text) becomes a real.
    Real,
    /// `TEXT`: every number becomes text.
    Text,
    /// `NUMERIC`: integral reals and numeric text become integers, other numeric text reals.
    Numeric,
    /// No declared type: values are stored as given.
    Untyped,
}

impl ColType {
    /// The type as written in CREATE TABLE.
    fn decl(self) -> &'static str {
        match self {
            ColType::Integer => " INTEGER",
            ColType::Real => " REAL",
            ColType::Text => " TEXT",
            ColType::Numeric => " NUMERIC",
            ColType::Untyped => "",
        }
    }

    /// The class of the values the column holds once affinity has converted the generated
    /// data (untyped columns never receive an integral real, see [`random_value`]).
    pub fn class(self) -> Class {
        match self {
            ColType::Integer | ColType::Untyped | ColType::Numeric => Class::Int,
            ColType::Real => Class::Real,
            ColType::Text => Class::NonNumeric,
        }
    }
}

/// A column of a generated table.
#[derive(Debug)]
pub struct Column {
    /// Name, from [`NAMES`].
    pub name: &'static str,
    /// Declared type.
    pub ty: ColType,
    /// `COLLATE NOCASE` or `COLLATE RTRIM` (TEXT columns only), or none (BINARY).
    pub collation: Option<&'static str>,
}

impl Column {
    /// The class of the values the column holds, collation included.
    pub fn class(&self) -> Class {
        if self.collation.is_some() {
            Class::Folded
        } else {
            self.ty.class()
        }
    }
}

/// A generated table.
#[derive(Debug)]
pub struct Table {
    /// `t0`, `t1`, ...
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// Number of rows inserted (the generator bounds the cost of its queries with it).
    pub rows: usize,
    /// The columns a primary key or a UNIQUE index holds (their values never repeat).
    pub keyed: Vec<usize>,
    /// How many leading columns form a composite PRIMARY KEY (0 for none or a rowid key):
    /// SQLite lets them be NULL in a rowid table (a legacy bug it keeps), HeliosDB does not.
    pub composite_key: usize,
}

/// Generated tables plus the statements that create and fill them.
#[derive(Debug)]
pub struct Schema {
    /// The tables.
    pub tables: Vec<Table>,
    /// Rows of `jd(id INTEGER PRIMARY KEY, doc TEXT)`: JSON documents (or NULL) for the JSON
    /// functions. Not in `tables`: queries read it through JSON expressions only.
    pub json_rows: usize,
    /// Rows of `g(src INTEGER, dst INTEGER)`: the edges of a small directed graph over the
    /// nodes 0 to [`GRAPH_NODES`] - 1, cycles included, for recursive walks.
    pub edges: usize,
    /// CREATE TABLE, CREATE INDEX and INSERT statements, in execution order.
    pub statements: Vec<String>,
}

/// How a table's primary key is declared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    /// No primary key.
    None,
    /// The first column is `INTEGER PRIMARY KEY` (the rowid).
    Rowid,
    /// `PRIMARY KEY(first, second)`.
    Composite,
}

impl Schema {
    /// 2 to 4 tables of 0 to 12 rows, with keys and indexes, all from `rng`; with
    /// `all_integer`, every column is declared INTEGER.
    pub fn generate(rng: &mut StdRng, all_integer: bool) -> Schema {
        let n = rng.random_range(2..=4);
        let mut tables = Vec::new();
        let mut statements = Vec::new();
        for i in 0..n {
            let (table, mut stmts) = table(rng, i, all_integer);
            tables.push(table);
            statements.append(&mut stmts);
        }
        let json_rows = rng.random_range(0..=8);
        statements.push("CREATE TABLE jd(id INTEGER PRIMARY KEY, doc TEXT)".to_string());
        for id in 0..json_rows {
            statements.push(format!("INSERT INTO jd VALUES ({id}, {})", json_doc(rng)));
        }
        let edges = rng.random_range(0..=10);
        statements.push("CREATE TABLE g(src INTEGER, dst INTEGER)".to_string());
        for _ in 0..edges {
            let src = rng.random_range(0..GRAPH_NODES);
            let dst = rng.random_range(0..GRAPH_NODES);
            statements.push(format!("INSERT INTO g VALUES ({src}, {dst})"));
        }
        Schema {
            tables,
            json_rows,
            edges,
            statements,
        }
    }

    /// All statements as one script, for failure reports.
    pub fn script(&self) -> String {
        self.statements.iter().map(|s| format!("{s};\n")).collect()
    }
}

/// Nodes of the graph in table `g`.
pub const GRAPH_NODES: i64 = 6;

/// A JSON scalar: small integers, reals with a fraction (an integral real such as 2.0 would
/// come back as a real next to integers, see [`Class`]), strings (one numeric), booleans and
/// null.
fn json_scalar(rng: &mut StdRng) -> String {
    match rng.random_range(0..100) {
        0..50 => rng.random_range(-3..=10).to_string(),
        50..60 => ["1.5", "-0.5"].choose(rng).expect("not empty").to_string(),
        60..80 => ["\"x\"", "\"A\"", "\"10\"", "\"\""]
            .choose(rng)
            .expect("not empty")
            .to_string(),
        80..90 => ["true", "false"]
            .choose(rng)
            .expect("not empty")
            .to_string(),
        _ => "null".to_string(),
    }
}

/// A JSON document as an SQL literal (or NULL): mostly an object with keys `a` (a scalar),
/// `b` (an array of scalars) and `c` (an object), any of them missing at times; sometimes a
/// bare array or scalar.
fn json_doc(rng: &mut StdRng) -> String {
    let doc = match rng.random_range(0..100) {
        0..10 => return "NULL".to_string(),
        10..20 => {
            let items: Vec<String> = (0..rng.random_range(0..=3))
                .map(|_| json_scalar(rng))
                .collect();
            format!("[{}]", items.join(", "))
        }
        20..25 => json_scalar(rng),
        _ => {
            let mut members = Vec::new();
            if rng.random_bool(0.85) {
                members.push(format!("\"a\": {}", json_scalar(rng)));
            }
            if rng.random_bool(0.75) {
                let items: Vec<String> = (0..rng.random_range(0..=3))
                    .map(|_| json_scalar(rng))
                    .collect();
                members.push(format!("\"b\": [{}]", items.join(", ")));
            }
            if rng.random_bool(0.6) {
                members.push(format!(
                    "\"c\": {{\"d\": {}, \"e\": {}}}",
                    json_scalar(rng),
                    json_scalar(rng)
                ));
            }
            format!("{{{}}}", members.join(", "))
        }
    };
    format!("'{doc}'")
}

/// A literal for a non-key cell of a column of type `ty`: mostly small integers (so that
/// joins match often), about 15% NULL, some reals and some short texts.
fn random_value(rng: &mut StdRng, ty: ColType) -> String {
    // An untyped column would keep 2.0 as a real next to integers 2: see [`Class`].
    let reals: &[&str] = if ty == ColType::Untyped {
        &["1.5", "-0.5"]
    } else {
        &["1.5", "-0.5", "2.0"]
    };
    match rng.random_range(0..100) {
        0..15 => "NULL".to_string(),
        15..74 => rng.random_range(-3..=10).to_string(),
        // Sums and arithmetic that overflow to reals (or, in sum(), to an error).
        74 => [
            "9223372036854775807",
            "-9223372036854775808",
            "4611686018427387904",
        ]
        .choose(rng)
        .expect("not empty")
        .to_string(),
        75..87 => reals.choose(rng).expect("not empty").to_string(),
        87..95 => ["'a'", "'b'", "'A'", "'10'"]
            .choose(rng)
            .expect("not empty")
            .to_string(),
        // Equal to 'a' / 'b' under NOCASE or RTRIM only.
        _ => ["'a '", "'B'", "'A '", "' 4'"]
            .choose(rng)
            .expect("not empty")
            .to_string(),
    }
}

/// `count` distinct integers from `range`, in random order.
fn distinct_ints(rng: &mut StdRng, range: std::ops::RangeInclusive<i64>, count: usize) -> Vec<i64> {
    let mut all: Vec<i64> = range.collect();
    all.shuffle(rng);
    all.truncate(count);
    all
}

/// One table `t{index}`: its description and the statements that build it.
fn table(rng: &mut StdRng, index: usize, all_integer: bool) -> (Table, Vec<String>) {
    let name = format!("t{index}");
    let ncols = rng.random_range(2..=4);
    let mut names = NAMES.to_vec();
    names.shuffle(rng);
    let types = [
        ColType::Integer,
        ColType::Integer,
        ColType::Real,
        ColType::Text,
        ColType::Text,
        ColType::Numeric,
        ColType::Untyped,
        ColType::Untyped,
    ];
    let mut columns: Vec<Column> = names[..ncols]
        .iter()
        .map(|n| {
            // Drawn even when overridden, so that the rest of the schema stays the same.
            let ty = *types.choose(rng).expect("not empty");
            let collation = match rng.random_range(0..10) {
                0..2 => Some("NOCASE"),
                2 => Some("RTRIM"),
                _ => None,
            };
            let ty = if all_integer { ColType::Integer } else { ty };
            Column {
                name: n,
                ty,
                collation: collation.filter(|_| ty == ColType::Text),
            }
        })
        .collect();
    let key = match rng.random_range(0..100) {
        0..30 => Key::Rowid,
        30..55 => Key::Composite,
        _ => Key::None,
    };
    let key_cols = match key {
        Key::None => 0,
        Key::Rowid => 1,
        Key::Composite => 2,
    };
    if key == Key::Rowid {
        columns[0].ty = ColType::Integer;
    }
    // A PRIMARY KEY column under NOCASE / RTRIM is refused by HeliosDB (a documented
    // difference: it suggests a UNIQUE index instead), so key columns keep BINARY.
    for c in columns.iter_mut().take(key_cols) {
        c.collation = None;
    }
    // A UNIQUE index only on a column filled with distinct values (NULLs may repeat).
    let unique =
        (key_cols < ncols && rng.random_bool(0.2)).then(|| rng.random_range(key_cols..ncols));
    let rows = if rng.random_bool(0.08) {
        0
    } else {
        rng.random_range(1..=12)
    };

    let rowids = distinct_ints(rng, -3..=15, rows);
    let mut pairs: Vec<(i64, i64)> = (-2..=5)
        .flat_map(|x| (-2..=5).map(move |y| (x, y)))
        .collect();
    pairs.shuffle(rng);
    let unique_values = distinct_ints(rng, -3..=15, rows);
    let mut values: Vec<Vec<String>> = Vec::new();
    for r in 0..rows {
        let mut row = Vec::new();
        for (c, col) in columns.iter().enumerate() {
            let v = match (key, c) {
                (Key::Rowid, 0) => rowids[r].to_string(),
                (Key::Composite, 0) => pairs[r].0.to_string(),
                (Key::Composite, 1) => pairs[r].1.to_string(),
                _ if unique == Some(c) => {
                    if rng.random_bool(0.15) {
                        "NULL".to_string()
                    } else {
                        unique_values[r].to_string()
                    }
                }
                _ => random_value(rng, col.ty),
            };
            row.push(v);
        }
        values.push(row);
    }

    let mut defs: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let pk = if key == Key::Rowid && i == 0 {
                " PRIMARY KEY"
            } else {
                ""
            };
            let collate = c
                .collation
                .map(|k| format!(" COLLATE {k}"))
                .unwrap_or_default();
            format!("{}{}{collate}{pk}", c.name, c.ty.decl())
        })
        .collect();
    if key == Key::Composite {
        defs.push(format!(
            "PRIMARY KEY({}, {})",
            columns[0].name, columns[1].name
        ));
    }
    let create = format!("CREATE TABLE {name}({})", defs.join(", "));

    let mut indexes = Vec::new();
    for i in 0..rng.random_range(0..=2) {
        let width = rng.random_range(1..=2.min(ncols));
        let mut picked: Vec<&str> = columns.iter().map(|c| c.name).collect();
        picked.shuffle(rng);
        picked.truncate(width);
        indexes.push(format!(
            "CREATE INDEX {name}_i{i} ON {name}({})",
            picked.join(", ")
        ));
    }
    if let Some(c) = unique {
        indexes.push(format!(
            "CREATE UNIQUE INDEX {name}_u ON {name}({})",
            columns[c].name
        ));
    }

    let mut inserts = Vec::new();
    if !values.is_empty() {
        // Both the multi-row and the one-row INSERT paths.
        if rng.random_bool(0.5) {
            let tuples: Vec<String> = values
                .iter()
                .map(|r| format!("({})", r.join(", ")))
                .collect();
            inserts.push(format!("INSERT INTO {name} VALUES {}", tuples.join(", ")));
        } else {
            for r in &values {
                inserts.push(format!("INSERT INTO {name} VALUES ({})", r.join(", ")));
            }
        }
    }

    // Indexes built over existing rows, or maintained while inserting.
    let mut statements = vec![create];
    if rng.random_bool(0.5) {
        statements.extend(indexes);
        statements.extend(inserts);
    } else {
        statements.extend(inserts);
        statements.extend(indexes);
    }
    (
        Table {
            name,
            columns,
            rows,
            keyed: (0..key_cols).chain(unique).collect(),
            composite_key: if key == Key::Composite { 2 } else { 0 },
        },
        statements,
    )
}
