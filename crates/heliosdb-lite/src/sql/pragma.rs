//! PRAGMA statements: schema introspection and the integrity check.

use super::catalog::Schema;
use super::codec;
use super::dml::{index_entry_key, row_key_values};
use super::engine::{Engine, Outcome};
use super::execution::Executor;
use super::parser::pragma::Pragma;
use super::value::Value;
use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::storage::{prefix_range, Direction};
use std::sync::Arc;

/// The result of a pragma that returns rows.
pub(super) fn rows(columns: &[&str], rows: Vec<Vec<Value>>) -> Outcome {
    Outcome {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
        changes: 0,
        returns_rows: true,
        temporal: Vec::new(),
        column_types: Vec::new(),
    }
}

/// The number `PRAGMA user_version = v` stores: SQLite's 32-bit integer, from the leading
/// digits of `v` (0 when there are none or they do not fit in 32 bits). As in SQLite, `0x`
/// and hexadecimal digits (unsigned, no sign before them) read as hexadecimal, 0 past
/// 0x7fffffff.
pub fn user_version_value(arg: &str) -> i32 {
    if let Some(hex) = arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        let end = hex
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        if end > 0 {
            return u64::from_str_radix(&hex[..end], 16)
                .ok()
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(0);
        }
    }
    let t = arg.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let n = digits[..end].parse::<i64>().unwrap_or(0);
    i32::try_from(if neg { -n } else { n }).unwrap_or(0)
}

/// `PRAGMA user_version` and `PRAGMA application_id` (`name`): the 32-bit numbers SQLite
/// keeps in its file header for the application. Reads the number stored (0 if none), or
/// stores `set` with the transaction, under a meta key of the pragma's name.
pub fn header_number(txn: &mut Transaction, name: &str, set: Option<i32>) -> Result<Outcome> {
    if let Some(v) = set {
        txn.put_meta(name.as_bytes().to_vec(), v.to_be_bytes().to_vec())?;
        return Ok(Outcome::default());
    }
    let v = txn
        .get_meta(name.as_bytes())?
        .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
        .map_or(0, i32::from_be_bytes);
    Ok(rows(&[name], vec![vec![Value::Integer(i64::from(v))]]))
}

/// Runs a PRAGMA that reads the database (`foreign_keys` is the session's, see `session`).
pub fn run(
    engine: &Engine,
    txn: &Transaction,
    schema: &Arc<Schema>,
    pragma: &Pragma,
) -> Result<Outcome> {
    let view_columns = |v: &super::catalog::ViewDef| super::engine::view_columns(schema, v);
    if let Some((columns, out)) =
        super::pragma_info::run(schema, &pragma.name, pragma.arg.as_deref(), &view_columns)
    {
        return Ok(rows(&columns, out));
    }
    if pragma.name == "table_list" {
        let out = super::pragma_info::table_list(schema, pragma.arg.as_deref(), &view_columns);
        return Ok(rows(&super::pragma_info::TABLE_LIST, out));
    }
    match pragma.name.as_str() {
        "integrity_check" | "quick_check" => {
            let (limit, only) = integrity_check_arg(schema, pragma.arg.as_deref())?;
            let problems = integrity_check(engine, txn, schema, limit, only.as_deref())?;
            let out = if problems.is_empty() {
                vec![vec![Value::from("ok")]]
            } else {
                problems.into_iter().map(|p| vec![Value::Text(p)]).collect()
            };
            Ok(rows(&["integrity_check"], out))
        }
        "journal_mode" => Ok(rows(&["journal_mode"], vec![vec![Value::from("wal")]])),
        // One database, `main` (no ATTACH): its directory, '' in memory, as SQLite names a
        // `:memory:` database.
        "database_list" => {
            let file = engine
                .path
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string());
            Ok(rows(
                &["seq", "name", "file"],
                vec![vec![
                    Value::Integer(0),
                    Value::from("main"),
                    Value::Text(file),
                ]],
            ))
        }
        other => Err(Error::Unsupported(format!("PRAGMA {other}"))),
    }
}

/// How many problems `integrity_check` reports unless told otherwise, as in SQLite.
const MAX_PROBLEMS: usize = 100;

/// The argument of `integrity_check(N)` / `integrity_check(t)`, as SQLite reads it: at most N
/// problems (100 when N is absent, zero or negative), or table `t` (with its indexes) alone.
fn integrity_check_arg(schema: &Schema, arg: Option<&str>) -> Result<(usize, Option<String>)> {
    let Some(arg) = arg.map(str::trim) else {
        return Ok((MAX_PROBLEMS, None));
    };
    if let Ok(n) = arg.parse::<i64>() {
        let n = usize::try_from(n).ok().filter(|&n| n > 0);
        return Ok((n.unwrap_or(MAX_PROBLEMS), None));
    }
    match schema.tables.keys().find(|k| k.eq_ignore_ascii_case(arg)) {
        Some(name) => Ok((MAX_PROBLEMS, Some(name.clone()))),
        None => Err(Error::NoSuchTable(arg.to_string())),
    }
}

/// Checks that every row can be decoded, every index entry points to a row with matching
/// values, every row has its index entries, and the maintained row count is the real one.
/// Returns a description of each problem, at most `limit` (the check stops there), for every
/// table or for table `only`.
///
/// The memory it holds does not grow with the database (a check of a large database on a
/// small device must not be what exhausts its memory): each row's entries are looked up as
/// the table is read and counted per index; an index whose entries outnumber the rows' found
/// ones holds strays, which a second pass finds by reading each entry's row.
pub fn integrity_check(
    engine: &Engine,
    txn: &Transaction,
    schema: &Schema,
    limit: usize,
    only: Option<&str>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let env = super::engine::StmtEnv {
        mvcc: engine.mvcc.clone(),
        now_us: std::cell::OnceCell::from(0),
        last_txn_id: None,
        last_insert_rowid: 0,
        changes: 0,
        total_changes: 0,
        functions: Default::default(),
        deterministic_calls: Default::default(),
    };
    let exec = Executor::new(None, &[], &env);
    let mut names: Vec<_> = schema.tables.keys().cloned().collect();
    names.retain(|n| only.is_none_or(|o| o == n));
    names.sort();
    'tables: for name in names {
        let info = &schema.tables[&name];
        // Per index: the rows' entries found in it.
        let mut found = vec![0u64; info.indexes.len()];
        let mut rows = 0i64;
        for kv in txn.scan(
            prefix_range(&codec::table_prefix(info.def.id)),
            Direction::Forward,
        ) {
            // Checked before each row: every path below adds at most a problem per index.
            if problems.len() >= limit {
                break 'tables;
            }
            let (k, v) = kv?;
            rows += 1;
            match exec.decode_row(info, &k, &v) {
                Ok(row) => {
                    let kv = row_key_values(&info.def, &row);
                    let shown = || {
                        kv.iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    // A WITHOUT ROWID row's key values come from its stored value, which must
                    // give the key it is stored under: two rows giving one key would find one
                    // index entry twice, and the count below would then miss a stray.
                    if !info.def.has_rowid() && info.def.row_key(&kv)[..] != k[..] {
                        problems.push(format!(
                            "row {} of {} is stored under the key of another",
                            shown(),
                            info.def.name
                        ));
                        continue;
                    }
                    for (i, ix) in info.indexes.iter().enumerate() {
                        // A partial index holds only the rows its condition holds for.
                        let Some(ik) = index_entry_key(ix, &row, &kv)? else {
                            continue;
                        };
                        if txn.get(&ik)?.is_some() {
                            found[i] += 1;
                            continue;
                        }
                        problems.push(format!(
                            "row {} of {} is missing from index {}",
                            shown(),
                            info.def.name,
                            ix.name
                        ));
                    }
                }
                Err(e) => problems.push(format!("table {}: unreadable row: {e}", info.def.name)),
            }
        }
        if let Some(problem) = txn.verify_pack(&codec::table_prefix(info.def.id))? {
            problems.push(format!("table {}: {problem}", info.def.name));
        }
        if let Some(counted) = txn.live_count(&codec::table_prefix(info.def.id))? {
            if counted != rows {
                problems.push(format!(
                    "table {} has {rows} rows but its maintained row count says {counted}",
                    info.def.name
                ));
            }
        }
        for (ix, &found) in info.indexes.iter().zip(&found) {
            let range = || prefix_range(&codec::index_prefix(ix.id));
            let mut entries = 0u64;
            for kv in txn.scan(range(), Direction::Forward) {
                kv?;
                entries += 1;
            }
            // Every entry found above is a distinct key of the index: with as many entries
            // as those, there is no other.
            if entries == found {
                continue;
            }
            for kv in txn.scan(range(), Direction::Forward) {
                let (k, _) = kv?;
                if !entry_has_its_row(&exec, txn, info, ix, &k)? {
                    problems.push(format!("index {} has an entry for a missing row", ix.name));
                    if problems.len() >= limit {
                        break 'tables;
                    }
                }
            }
        }
    }
    problems.truncate(limit);
    Ok(problems)
}

/// Whether the row an index entry points to exists and gives this very entry.
fn entry_has_its_row(
    exec: &Executor<'_>,
    txn: &Transaction,
    info: &super::catalog::TableInfo,
    ix: &super::catalog::IndexDef,
    entry: &[u8],
) -> Result<bool> {
    let Ok(row_key) = super::execution::index_entry_row_key(info, ix, entry) else {
        return Ok(false);
    };
    let Some(value) = txn.get(&row_key)? else {
        return Ok(false);
    };
    let Ok(row) = exec.decode_row(info, &row_key, &value) else {
        return Ok(false);
    };
    let kv = row_key_values(&info.def, &row);
    Ok(index_entry_key(ix, &row, &kv)?.is_some_and(|k| k[..] == *entry))
}

#[cfg(test)]
mod tests {
    use crate::mvcc::{Transaction, TxnMode};
    use crate::storage::{prefix_range, Direction};

    fn problems(conn: &crate::Connection) -> Vec<String> {
        problems_of(conn, "PRAGMA integrity_check")
    }

    fn problems_of(conn: &crate::Connection, sql: &str) -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    /// Asserts that the check reports `problem` and exactly one entry of index `t_b` that
    /// no row gives.
    fn reported_with_one_stray(conn: &crate::Connection, problem: &str) {
        let p = problems(conn);
        assert!(p.iter().any(|m| m == problem), "{p:?}");
        let strays = p
            .iter()
            .filter(|m| *m == "index t_b has an entry for a missing row");
        assert_eq!(strays.count(), 1, "{p:?}");
    }

    fn keys(txn: &Transaction, prefix: &[u8]) -> Vec<Vec<u8>> {
        txn.scan(prefix_range(prefix), Direction::Forward)
            .map(|kv| kv.unwrap().0.to_vec())
            .collect()
    }

    #[test]
    fn reports_a_row_missing_from_an_index_and_an_entry_without_its_row() {
        let conn = crate::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t(b); \
             INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');",
        )
        .unwrap();
        assert_eq!(problems(&conn), vec!["ok"]);
        let mut txn = conn.engine.mvcc.begin(TxnMode::Immediate).unwrap();
        let (entries, rows) = (keys(&txn, b"i"), keys(&txn, b"r"));
        assert_eq!((entries.len(), rows.len()), (3, 3));
        // Row 1 loses its entry; row 3 goes, leaving its entry without a row.
        txn.delete(entries[0].clone()).unwrap();
        txn.delete(rows[2].clone()).unwrap();
        txn.commit().unwrap();
        reported_with_one_stray(&conn, "row 1 of t is missing from index t_b");
    }

    #[test]
    fn a_without_rowid_row_stored_under_another_key_is_reported_with_the_stray() {
        let conn = crate::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t(a PRIMARY KEY, b) WITHOUT ROWID; CREATE INDEX t_b ON t(b); \
             INSERT INTO t VALUES (1, 'x'), (2, 'x');",
        )
        .unwrap();
        assert_eq!(problems(&conn), vec!["ok"]);
        // Row 2's key now holds row 1's value: both rows name entry ('x', 1), and the
        // index's ('x', 2) has no row giving it.
        let mut txn = conn.engine.mvcc.begin(TxnMode::Immediate).unwrap();
        let rows = keys(&txn, b"r");
        let first = txn.get(&rows[0]).unwrap().unwrap().to_vec();
        txn.put(rows[1].clone(), first).unwrap();
        txn.commit().unwrap();
        reported_with_one_stray(&conn, "row 1 of t is stored under the key of another");
    }

    #[test]
    fn at_most_the_problems_asked_for_and_one_table_when_named() {
        let conn = crate::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t(b); \
             CREATE TABLE u(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX u_b ON u(b); \
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150) \
             INSERT INTO t SELECT i, 'v' || i FROM c; INSERT INTO u VALUES (1, 'x');",
        )
        .unwrap();
        // Every entry of t_b goes: 150 rows missing from it.
        let mut txn = conn.engine.mvcc.begin(TxnMode::Immediate).unwrap();
        for key in keys(&txn, b"i") {
            txn.delete(key).unwrap();
        }
        txn.commit().unwrap();
        let count = |sql: &str| {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |_| Ok(()))
                .unwrap()
                .count()
        };
        assert_eq!(count("PRAGMA integrity_check"), 100);
        assert_eq!(count("PRAGMA integrity_check(7)"), 7);
        assert_eq!(count("PRAGMA integrity_check(0)"), 100);
        assert_eq!(
            count("PRAGMA integrity_check(1000)"),
            151,
            "150 rows and u's entry"
        );
        assert_eq!(count("PRAGMA integrity_check(T)"), 100);
        assert_eq!(count("PRAGMA integrity_check(1)"), 1);
        assert_eq!(
            problems_of(&conn, "PRAGMA integrity_check(u)"),
            vec!["row 1 of u is missing from index u_b"]
        );
        let err = conn
            .prepare("PRAGMA integrity_check(nope)")
            .and_then(|mut s| s.query_row([], |_| Ok(())));
        assert!(err.unwrap_err().to_string().contains("no such table: nope"));
    }

    #[test]
    fn database_list_names_main_and_its_directory() {
        let list = |conn: &crate::Connection| -> (i64, String, String) {
            conn.query_row("PRAGMA database_list", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap()
        };
        let memory = crate::Connection::open_in_memory().unwrap();
        assert_eq!(list(&memory), (0, "main".into(), String::new()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let disk = crate::Connection::open(crate::Config::with_path(&path)).unwrap();
        let canonical = path.canonicalize().unwrap().display().to_string();
        assert_eq!(list(&disk), (0, "main".into(), canonical.clone()));
        drop(disk);
        let read_only = crate::Connection::open_read_only(&path).unwrap();
        assert_eq!(list(&read_only), (0, "main".into(), canonical));
    }

    #[test]
    fn an_entry_whose_row_changed_is_a_stray() {
        let conn = crate::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t(b); \
             INSERT INTO t VALUES (1, 'x'), (2, 'y');",
        )
        .unwrap();
        // Row 2's entry says 'y'; an entry for 'w' pointing at row 2 is added beside it.
        let mut txn = conn.engine.mvcc.begin(TxnMode::Immediate).unwrap();
        let entries = keys(&txn, b"i");
        let mut stray = entries[1].clone();
        let at = stray
            .iter()
            .position(|&b| b == b'y')
            .expect("the entry holds the text");
        stray[at] = b'w';
        txn.put(stray, Vec::new()).unwrap();
        txn.commit().unwrap();
        assert_eq!(
            problems(&conn),
            vec!["index t_b has an entry for a missing row".to_string()]
        );
    }
}
