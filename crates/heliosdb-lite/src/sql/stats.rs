//! Cheap table statistics for the planner: how many rows a table has, roughly.
//!
//! A table with a maintained row count (see `mvcc::counters`: every table created by this
//! version) answers exactly, in one lookup. Otherwise small tables are counted exactly (up to [`COUNT_LIMIT`] entries). Beyond that, a rowid
//! table's largest rowid stands for its size (one seek at the end of its key range; deletes
//! make it an overestimate), and a table keyed otherwise is assumed to be large. The figures
//! steer join order only: a wrong guess costs speed, never a wrong answer.

use super::catalog::TableInfo;
use super::codec;
use crate::mvcc::Snapshot;
use crate::storage::{prefix_range, Direction};

/// Entries counted before the estimate switches to the cheaper guesses.
pub const COUNT_LIMIT: usize = 1000;
/// Rows assumed for a large table whose size cannot be read off its keys (SQLite assumes
/// about a million for tables it has no statistics on).
pub const LARGE_TABLE_ROWS: f64 = 1_000_000.0;

/// Estimated rows of `table` in `snap`.
pub fn estimate_rows(snap: &Snapshot, table: &TableInfo) -> f64 {
    let prefix = codec::table_prefix(table.def.id);
    if let Ok(Some(n)) = snap.live_count(&prefix) {
        return n as f64;
    }
    let mut n = 0usize;
    for kv in snap.scan(prefix_range(&prefix), Direction::Forward) {
        if kv.is_err() {
            return LARGE_TABLE_ROWS;
        }
        n += 1;
        if n >= COUNT_LIMIT {
            break;
        }
    }
    if n < COUNT_LIMIT {
        return n as f64;
    }
    if table.def.has_rowid() {
        if let Some(Ok((k, _))) = snap.scan(prefix_range(&prefix), Direction::Reverse).next() {
            let mut pos = prefix.len();
            if let Ok(super::value::Value::Integer(max)) =
                codec::decode_key_value(&k, &mut pos, false)
            {
                return (max as f64).max(COUNT_LIMIT as f64);
            }
        }
    }
    LARGE_TABLE_ROWS
}
