//! `.import [--csv] [--skip N] [--schema main] [-v] FILE TABLE`: a CSV file into a table, as
//! sqlite3's `.import --csv` loads it (a new table takes its column names from the first
//! record; into an existing table every record is a row).
//!
//! The whole import, the CREATE TABLE included, is one transaction: a bad record (not UTF-8,
//! wrong field count, a constraint) rolls everything back, so a failed import leaves no
//! table and no rows behind, and the error names the file's line.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Finds a quoted field that is still open at the end of the file; returns the line where it
/// opened. The csv reader accepts such a file, swallowing every later row into one field.
fn unterminated_quote(input: impl Read) -> std::io::Result<Option<u64>> {
    let mut line = 1u64;
    let mut at_field_start = true;
    let mut in_quotes = false;
    let mut quote_pending = false; // saw `"` inside quotes: closing, or the first of `""`
    let mut opened_at = 0u64;
    let mut r = BufReader::new(input);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        for &b in buf {
            if in_quotes {
                if quote_pending {
                    quote_pending = false;
                    if b != b'"' {
                        in_quotes = false; // the quote closed the field; handle `b` below
                    } else {
                        continue;
                    }
                } else {
                    if b == b'"' {
                        quote_pending = true;
                    } else if b == b'\n' {
                        line += 1;
                    }
                    continue;
                }
            }
            match b {
                b'"' if at_field_start => {
                    in_quotes = true;
                    opened_at = line;
                    at_field_start = false;
                }
                b',' => at_field_start = true,
                b'\n' => {
                    line += 1;
                    at_field_start = true;
                }
                b'\r' => {}
                _ => at_field_start = false,
            }
        }
        let n = buf.len();
        r.consume(n);
    }
    Ok((in_quotes && !quote_pending).then_some(opened_at))
}

/// Describes a csv reading error with the file's line, in words.
fn record_error(file: &Path, e: &csv::Error) -> String {
    let line = e.position().map(|p| p.line());
    let at = line.map(|l| format!(" line {l}")).unwrap_or_default();
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8 (convert the file to UTF-8 first, e.g. `iconv -f latin1 -t utf-8`)",
            err.field() + 1
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, but the header has {expected_len}"),
        csv::ErrorKind::Io(io) => format!("cannot be read: {io}"),
        _ => e.to_string(),
    };
    format!("{}{at}: {what}; nothing was imported", file.display())
}

/// What a `.import` command asked for (sqlite3's options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// The table to load (created when absent).
    pub table: String,
    /// Records to skip at the start of the file (`--skip N`).
    pub skip: u64,
    /// Print what was done (`-v`).
    pub verbose: bool,
}

/// The usage text of `.import`, shown with its argument errors.
pub const USAGE: &str = "usage: .import [--csv] [--skip N] [--schema main] [-v] FILE TABLE";

/// Parses the arguments of `.import` as sqlite3 does (options with one dash or two). The
/// file is always CSV (`--csv` is accepted and changes nothing); `--ascii`, another schema
/// than `main` and a `|command` source are refused with a message that says so.
pub fn parse_args(args: &[&str]) -> Result<ImportArgs, String> {
    let mut positional = Vec::new();
    let (mut skip, mut verbose) = (0, false);
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        let option = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|o| !o.is_empty());
        let Some(option) = option else {
            positional.push(arg);
            continue;
        };
        let mut value = |name: &str| {
            it.next()
                .copied()
                .ok_or_else(|| format!(".import: {name} needs a value; {USAGE}"))
        };
        match option {
            "csv" => {}
            "v" => verbose = true,
            "skip" => {
                let n = value("--skip")?;
                skip = n.parse().map_err(|_| {
                    format!(".import: --skip takes a number of rows, not {n:?}; {USAGE}")
                })?;
            }
            "schema" => {
                let schema = value("--schema")?;
                if !schema.eq_ignore_ascii_case("main") {
                    return Err(format!(".import: unknown database {schema:?} (only main)"));
                }
            }
            "ascii" => {
                return Err(
                    ".import: --ascii is not supported; .import reads CSV files (--csv)".into(),
                )
            }
            _ => return Err(format!(".import: unknown option {arg:?}; {USAGE}")),
        }
    }
    let [file, table] = positional[..] else {
        return Err(USAGE.into());
    };
    if file.starts_with('|') {
        return Err(".import: reading from a command (|...) is not supported; give a file".into());
    }
    Ok(ImportArgs {
        file: file.into(),
        table: table.to_string(),
        skip,
        verbose,
    })
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Rows inserted.
    pub rows: u64,
    /// The CREATE TABLE statement run, when the table did not exist.
    pub created: Option<String>,
    /// Records read from the file (skipped ones and the header included).
    pub records: u64,
}

/// Imports the CSV file into the table as sqlite3's `.import --csv` does: when the table
/// does not exist, the first record names its columns (all TEXT) and the rest are rows; when
/// it exists, every record is a row, its fields taken in the table's column order. Unlike
/// sqlite3, a record with a different number of fields is an error (sqlite3 fills the
/// missing ones with NULL or drops the extra ones, with a warning), so a file that does not
/// fit the table loads nothing. `cancel` (Ctrl-C) stops the import between records, rolling
/// it back.
pub fn import_csv(
    conn: &Connection,
    args: &ImportArgs,
    show_progress: bool,
    cancel: &AtomicBool,
) -> Result<Imported, String> {
    let (file, table) = (args.file.as_path(), args.table.as_str());
    let open =
        || std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()));
    if let Some(line) =
        unterminated_quote(open()?).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    {
        return Err(format!(
            "{} line {line}: a quoted field is never closed (a \" is missing); nothing was imported",
            file.display()
        ));
    }
    if conn.is_in_transaction() {
        return Err(".import runs in a transaction of its own; COMMIT or ROLLBACK the open transaction first".into());
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    // Records of any width: the checks below name the table or the header in their errors.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open()?);
    let mut rec = csv::StringRecord::new();
    let mut records = 0u64;
    let mut next = |rec: &mut csv::StringRecord| -> Result<bool, String> {
        let more = rdr.read_record(rec).map_err(|e| record_error(file, &e))?;
        records += u64::from(more);
        Ok(more)
    };
    for _ in 0..args.skip {
        if !next(&mut rec)? {
            break;
        }
    }
    let db_err = |e: heliosdb_lite::Error| format!("{e}; nothing was imported");
    // Dropping the transaction on any early return rolls the import back.
    let tx = conn.transaction().map_err(db_err)?;
    let exists = tx
        .schema_objects()
        .map_err(db_err)?
        .iter()
        .any(|o| o.kind == "table" && o.name.eq_ignore_ascii_case(table));
    let (width, created) = if exists {
        let columns = tx
            .prepare(&format!("SELECT * FROM {}", quote_ident(table)))
            .map_err(db_err)?
            .column_count();
        (columns, None)
    } else {
        if !next(&mut rec)? || rec.iter().all(str::is_empty) {
            return Err(format!(
                "{} has no header row; its first line must name the columns of the new table {table}",
                file.display()
            ));
        }
        let cols: Vec<String> = rec
            .iter()
            .map(|h| format!("{} TEXT", quote_ident(h)))
            .collect();
        let sql = format!("CREATE TABLE {} ({})", quote_ident(table), cols.join(", "));
        tx.execute(&sql, []).map_err(db_err)?;
        (rec.len(), Some(sql))
    };
    let placeholders = vec!["?"; width].join(", ");
    let sql = format!("INSERT INTO {} VALUES ({placeholders})", quote_ident(table));
    let bar = (show_progress && size > 1 << 20).then(|| {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut stmt = tx.prepare(&sql).map_err(db_err)?;
    let mut n = 0u64;
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(format!(
                "interrupted: the import of {} was cancelled; nothing was imported",
                file.display()
            ));
        }
        if !next(&mut rec)? {
            break;
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != width {
            let expected = if exists {
                format!("table {table} has {width} columns")
            } else {
                format!("the header has {width}")
            };
            return Err(format!(
                "{} line {line}: has {} fields, but {expected}; nothing was imported",
                file.display(),
                rec.len()
            ));
        }
        let values: Vec<Value> = rec.iter().map(|f| Value::Text(f.to_string())).collect();
        stmt.execute(heliosdb_lite::params_from_iter(values))
            .map_err(|e| format!("{} line {line}: {e}; nothing was imported", file.display()))?;
        n += 1;
        if let (Some(b), Some(pos)) = (&bar, rec.position()) {
            b.set_position(pos.byte());
        }
    }
    drop(stmt);
    tx.commit().map_err(db_err)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(Imported {
        rows: n,
        created,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_quote(s: &str) -> Option<u64> {
        unterminated_quote(s.as_bytes()).unwrap()
    }

    #[test]
    fn import_options_are_sqlite3s() {
        let a = parse_args(&["--csv", "--skip", "2", "-v", "f.csv", "t"]).unwrap();
        assert_eq!(
            a,
            ImportArgs {
                file: "f.csv".into(),
                table: "t".into(),
                skip: 2,
                verbose: true,
            }
        );
        let a = parse_args(&["-csv", "-schema", "MAIN", "f.csv", "t"]).unwrap();
        assert_eq!((a.skip, a.verbose), (0, false));
        for (args, message) in [
            (&["f.csv"][..], "usage"),
            (&["a", "b", "c"][..], "usage"),
            (&["--bogus", "f", "t"][..], "unknown option \"--bogus\""),
            (&["--skip", "x", "f", "t"][..], "--skip takes a number"),
            (&["f", "t", "--skip"][..], "--skip needs a value"),
            (
                &["--schema", "aux", "f", "t"][..],
                "unknown database \"aux\"",
            ),
            (&["--ascii", "f", "t"][..], "--ascii is not supported"),
            (&["|cat f", "t"][..], "not supported"),
        ] {
            let e = parse_args(args).unwrap_err();
            assert!(e.contains(message), "{args:?}: {e}");
        }
    }

    #[test]
    fn finds_quotes_left_open() {
        assert_eq!(open_quote("a,b\n1,2\n"), None);
        assert_eq!(open_quote("a,b\n\"x\ny\",2\n"), None);
        assert_eq!(open_quote("a,b\n\"say \"\"hi\"\"\",2\n"), None);
        assert_eq!(open_quote("a,b\n5\"6,2\n"), None);
        assert_eq!(open_quote("a,b\n1,2\n3,\"x\n4,5\n"), Some(3));
        assert_eq!(open_quote("a,b\n1,\"x\"\""), Some(2));
        assert_eq!(open_quote("a,b\n1,\"\""), None);
    }
}
