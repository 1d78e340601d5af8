//! `.import FILE TABLE`: CSV with a header row into a table (created if absent).
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

/// Imports `file` into `table`; returns the number of rows loaded. `cancel` (Ctrl-C) stops
/// the import between records, rolling it back.
pub fn import_csv(
    conn: &Connection,
    file: &Path,
    table: &str,
    show_progress: bool,
    cancel: &AtomicBool,
) -> Result<u64, String> {
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
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(open()?);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| record_error(file, &e))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(format!(
            "{} has no header row; its first line must name the columns",
            file.display()
        ));
    }
    let db_err = |e: heliosdb_lite::Error| format!("{e}; nothing was imported");
    // Dropping the transaction on any early return rolls the import back.
    let tx = conn.transaction().map_err(db_err)?;
    let exists = tx
        .schema_objects()
        .map_err(db_err)?
        .iter()
        .any(|o| o.kind == "table" && o.name.eq_ignore_ascii_case(table));
    if !exists {
        let cols: Vec<String> = headers
            .iter()
            .map(|h| format!("{} TEXT", quote_ident(h)))
            .collect();
        tx.execute(
            &format!("CREATE TABLE {} ({})", quote_ident(table), cols.join(", ")),
            [],
        )
        .map_err(db_err)?;
    }
    let placeholders = vec!["?"; headers.len()].join(", ");
    let cols: Vec<String> = headers.iter().map(|h| quote_ident(h)).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({placeholders})",
        quote_ident(table),
        cols.join(", ")
    );
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
    let mut rec = csv::StringRecord::new();
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(format!(
                "interrupted: the import of {} was cancelled; nothing was imported",
                file.display()
            ));
        }
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(record_error(file, &e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
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
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_quote(s: &str) -> Option<u64> {
        unterminated_quote(s.as_bytes()).unwrap()
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
