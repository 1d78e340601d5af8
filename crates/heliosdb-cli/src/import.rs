//! `.import FILE TABLE`: CSV with a header row into a table (created if absent).

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;
use std::path::Path;

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Imports `file` into `table`; returns the number of rows loaded.
pub fn import_csv(
    conn: &Connection,
    file: &Path,
    table: &str,
    show_progress: bool,
) -> Result<u64, String> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(file)
        .map_err(|e| format!("Error: cannot read {}: {e}", file.display()))?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("Error: {}: {e}", file.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() {
        return Err(format!("Error: {} has no header row", file.display()));
    }
    let exists = conn
        .schema_objects()
        .map_err(|e| format!("Error: {e}"))?
        .iter()
        .any(|o| o.kind == "table" && o.name.eq_ignore_ascii_case(table));
    if !exists {
        let cols: Vec<String> = headers
            .iter()
            .map(|h| format!("{} TEXT", quote_ident(h)))
            .collect();
        conn.execute(
            &format!("CREATE TABLE {} ({})", quote_ident(table), cols.join(", ")),
            [],
        )
        .map_err(|e| format!("Error: {e}"))?;
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
    let tx = conn.transaction().map_err(|e| format!("Error: {e}"))?;
    let mut stmt = tx.prepare(&sql).map_err(|e| format!("Error: {e}"))?;
    let mut n = 0u64;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("Error: {} record {}: {e}", file.display(), i + 1))?;
        let values: Vec<Value> = rec.iter().map(|f| Value::Text(f.to_string())).collect();
        stmt.execute(heliosdb_lite::params_from_iter(values))
            .map_err(|e| format!("Error: {} record {}: {e}", file.display(), i + 1))?;
        n += 1;
        if let (Some(b), Some(pos)) = (&bar, rec.position()) {
            b.set_position(pos.byte());
        }
    }
    drop(stmt);
    tx.commit().map_err(|e| format!("Error: {e}"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(n)
}
