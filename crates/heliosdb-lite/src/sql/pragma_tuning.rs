//! The tuning and maintenance pragmas that applications written for SQLite issue when they
//! open and close a database: `synchronous`, `cache_size`, `temp_store`, `mmap_size`,
//! `wal_checkpoint`, `optimize` and `encoding`.
//!
//! Refusing them would stop such an application at its first statement, and most of them
//! only steer how SQLite uses its pages, its memory map and its write-ahead log, none of
//! which this engine has. So each one answers with what is true of this engine, and a
//! setting is accepted when honouring it differently cannot cost the application anything
//! it asked for: a cache or memory-map size only changes speed, and the cache is sized by
//! `memory_limit_mb` / `cache_mb` when the database opens, so reading the pragma back gives
//! the real size, not the requested one. The one setting that matters in the other
//! direction is refused: `synchronous = FULL` on a database opened without synced commits
//! (`enable_wal = false`) would otherwise promise a durability the commits do not have.
//! Values none of SQLite's spellings match are errors that name the value.

use super::engine::{Engine, Outcome};
use super::pragma::rows;
use super::value::Value;
use crate::error::{Error, Result};

/// True if `name` is one of the pragmas of this module.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "synchronous"
            | "cache_size"
            | "temp_store"
            | "mmap_size"
            | "wal_checkpoint"
            | "optimize"
            | "encoding"
    )
}

/// Runs pragma `name` (one [`handles`] accepts) with its argument. `in_transaction`: the
/// connection has an explicit transaction open.
pub fn run(
    engine: &Engine,
    name: &str,
    arg: Option<&str>,
    in_transaction: bool,
) -> Result<Outcome> {
    match name {
        "synchronous" => synchronous(engine, arg),
        // Setting answers no row, as in SQLite.
        "cache_size" => match arg {
            Some(v) => integer(name, v).map(|_| Outcome::default()),
            // SQLite's negative form: the size in KiB.
            None => {
                let kib = engine.mvcc.storage().cache_bytes() / 1024;
                Ok(one_value(name, -(kib as i64)))
            }
        },
        "temp_store" => match arg {
            Some(v) => temp_store_level(v).map(|_| Outcome::default()),
            // 0, DEFAULT: sorts, hash tables and spooled rows go to temporary files past
            // `query_memory_mb` (the files are in the database's directory).
            None => Ok(one_value(name, 0)),
        },
        // No memory map: SQLite too answers 0 where memory mapping is not available (and a
        // setting answers the size in effect).
        "mmap_size" => {
            if let Some(v) = arg {
                integer(name, v)?;
            }
            Ok(one_value(name, 0))
        }
        "wal_checkpoint" => wal_checkpoint(engine, arg, in_transaction),
        // Text is stored as UTF-8, whatever the database holds; UTF-16 cannot be chosen.
        "encoding" => match arg {
            Some(v) if !matches!(v.to_ascii_lowercase().as_str(), "utf-8" | "utf8") => {
                Err(Error::Unsupported(format!(
                    "PRAGMA encoding = {v}: this engine stores text as UTF-8 only"
                )))
            }
            Some(_) => Ok(Outcome::default()),
            None => Ok(rows(&[name], vec![vec![Value::from("UTF-8")]])),
        },
        // The planner's statistics (row counts, see `sql::stats`) are kept up to date by
        // every commit: there is nothing to refresh. SQLite takes an optional bit mask and
        // answers a column `optimize` without rows.
        "optimize" => {
            if let Some(v) = arg {
                integer(name, v)?;
            }
            Ok(rows(&[name], Vec::new()))
        }
        other => Err(Error::Unsupported(format!("PRAGMA {other}"))),
    }
}

/// True for an in-memory database: nothing to sync, no log to checkpoint.
fn in_memory(engine: &Engine) -> bool {
    engine.mvcc.storage().name() == "memory"
}

fn one_value(column: &str, v: i64) -> Outcome {
    rows(&[column], vec![vec![Value::Integer(v)]])
}

/// `PRAGMA synchronous [= level]`: reads 2 (FULL) when every commit is synced to disk
/// (`enable_wal = true`, or an in-memory database, which has no disk to wait for), 1
/// (NORMAL: commits may be lost with the power, never half applied) otherwise.
fn synchronous(engine: &Engine, arg: Option<&str>) -> Result<Outcome> {
    let synced = engine.mvcc.options().durable || in_memory(engine);
    let Some(v) = arg else {
        return Ok(one_value("synchronous", if synced { 2 } else { 1 }));
    };
    let level = safety_level(v)?;
    if level >= 2 && !synced {
        return Err(Error::Unsupported(format!(
            "PRAGMA synchronous = {v}: this database was opened with enable_wal = false, so its \
             commits are not synced to disk one by one; open it with enable_wal = true for \
             synchronous = FULL"
        )));
    }
    // A lower level than the database gives is a request for less work: commits stay
    // synced as the database was opened.
    Ok(Outcome::default())
}

/// SQLite's spellings of a safety level: 0-3, OFF, NORMAL, FULL, EXTRA, or a boolean.
fn safety_level(v: &str) -> Result<u8> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "0" | "off" | "no" | "false" => 0,
        "1" | "normal" | "on" | "yes" | "true" => 1,
        "2" | "full" => 2,
        "3" | "extra" => 3,
        _ => {
            return Err(Error::invalid(format!(
                "PRAGMA synchronous: unknown level {v} (use OFF, NORMAL, FULL or EXTRA, or 0-3)"
            )))
        }
    })
}

/// SQLite's spellings of `temp_store`: 0-2, DEFAULT, FILE, MEMORY.
fn temp_store_level(v: &str) -> Result<u8> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "0" | "default" => 0,
        "1" | "file" => 1,
        "2" | "memory" => 2,
        _ => {
            return Err(Error::invalid(format!(
                "PRAGMA temp_store: unknown value {v} (use DEFAULT, FILE or MEMORY, or 0-2)"
            )))
        }
    })
}

/// A pragma's integer argument (decimal, or hexadecimal as SQLite writes masks).
fn integer(name: &str, v: &str) -> Result<i64> {
    let t = v.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse::<i64>().ok(),
    };
    parsed.ok_or_else(|| Error::invalid(format!("PRAGMA {name}: {v} is not an integer")))
}

/// `PRAGMA wal_checkpoint[(PASSIVE | FULL | RESTART | TRUNCATE)]`: writes everything the
/// write buffer holds into the tables (every mode does the same: no reader can block it) and
/// answers SQLite's row `busy, log, checkpointed`: 0, 0, 0 once nothing is left to write;
/// 0, -1, -1 for an in-memory database, as SQLite answers when there is no log. As in
/// SQLite it cannot run inside a transaction.
fn wal_checkpoint(engine: &Engine, arg: Option<&str>, in_transaction: bool) -> Result<Outcome> {
    if let Some(mode) = arg {
        if !matches!(
            mode.to_ascii_lowercase().as_str(),
            "passive" | "full" | "restart" | "truncate"
        ) {
            return Err(Error::invalid(format!(
                "PRAGMA wal_checkpoint: unknown mode {mode} (use PASSIVE, FULL, RESTART or \
                 TRUNCATE)"
            )));
        }
    }
    if in_transaction {
        return Err(Error::Transaction(
            "PRAGMA wal_checkpoint cannot run inside a transaction: commit or roll back first"
                .into(),
        ));
    }
    let log = if in_memory(engine) {
        -1
    } else {
        engine.mvcc.checkpoint()?;
        0
    };
    Ok(rows(
        &["busy", "log", "checkpointed"],
        vec![vec![
            Value::Integer(0),
            Value::Integer(log),
            Value::Integer(log),
        ]],
    ))
}
