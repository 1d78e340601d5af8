//! ANALYZE: measures how selective each index is, for the planner.
//!
//! Without statistics the planner guesses, as SQLite does: any usable index beats a full
//! scan, and an equality keeps a tenth of the rows. That guess goes badly wrong on an index
//! over a column with few distinct values (a status, a kind): an equality there matches a
//! third or half of the table, and fetching each of those rows through the index costs more
//! than reading the whole table once. ANALYZE reads every index once and records, for each
//! prefix of its columns, how many entries share one value on average (SQLite's
//! `sqlite_stat1` figures). The figures are part of the index's catalog entry, so they are
//! versioned like the rest of the schema, survive a reopen, and roll back with the
//! transaction that gathered them. They go stale as data changes, until the next ANALYZE,
//! exactly as in SQLite; a stale figure costs speed, never a wrong answer.

use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::sql::catalog::{CatalogEntry, IndexDef, IndexStats, Schema};
use crate::sql::codec;
use crate::storage::{prefix_range, Direction};

/// Entries an index key starts with before its column values: the tag byte and the id.
const INDEX_PREFIX_LEN: usize = 5;

/// Runs `ANALYZE [name]`: every index, those of table `name`, or index `name`. `main` (the
/// only schema) and a `main.` qualifier are accepted as SQLite does.
pub(crate) fn analyze(txn: &mut Transaction, schema: &Schema, target: Option<&str>) -> Result<()> {
    let target = target.map(|t| {
        let t = t.trim_matches('"');
        t.strip_prefix("main.").unwrap_or(t).to_lowercase()
    });
    let mut chosen: Vec<&IndexDef> = match target.as_deref() {
        None | Some("main") | Some("temp") => schema.indexes.values().map(|i| &**i).collect(),
        Some(name) => {
            if let Some(ix) = schema.indexes.get(name) {
                vec![&**ix]
            } else if let Some(t) = schema.table(name) {
                t.indexes.iter().map(|i| &**i).collect()
            } else {
                return Err(Error::NoSuchTable(name.to_string()));
            }
        }
    };
    // A fixed order, so that the catalog writes (and the commit) are the same every time.
    chosen.sort_by_key(|ix| ix.id);
    for ix in chosen {
        let stats = measure(txn, ix)?;
        let mut updated = ix.clone();
        updated.stats = Some(stats);
        super::put_entry(txn, &CatalogEntry::Index(updated))?;
    }
    Ok(())
}

/// Reads index `ix` once (as the transaction sees it) and counts, for every prefix of its
/// columns, the distinct values. Entries come in key order, so a prefix changes value exactly
/// where its bytes differ from the previous entry's.
fn measure(txn: &Transaction, ix: &IndexDef) -> Result<IndexStats> {
    let ncols = ix.columns.len();
    let mut rows = 0u64;
    let mut distinct = vec![0u64; ncols];
    let mut previous: Vec<u8> = Vec::new();
    let mut previous_ends: Vec<usize> = vec![0; ncols];
    let mut ends: Vec<usize> = vec![0; ncols];
    for kv in txn.scan(
        prefix_range(&codec::index_prefix(ix.id)),
        Direction::Forward,
    ) {
        let (key, _) = kv?;
        let mut pos = INDEX_PREFIX_LEN;
        for (k, c) in ix.columns.iter().enumerate() {
            codec::decode_key_value(&key, &mut pos, c.desc)?;
            ends[k] = pos;
        }
        // The first column whose prefix differs from the previous entry's starts a new
        // distinct value for it and for every longer prefix.
        let first_new = if rows == 0 {
            0
        } else {
            (0..ncols)
                .find(|&k| key[..ends[k]] != previous[..previous_ends[k]])
                .unwrap_or(ncols)
        };
        for d in &mut distinct[first_new..] {
            *d += 1;
        }
        rows += 1;
        previous.clear();
        previous.extend_from_slice(&key);
        std::mem::swap(&mut previous_ends, &mut ends);
    }
    let avg_eq = distinct
        .iter()
        .map(|&d| if d == 0 { 1.0 } else { rows as f64 / d as f64 })
        .collect();
    Ok(IndexStats { rows, avg_eq })
}
