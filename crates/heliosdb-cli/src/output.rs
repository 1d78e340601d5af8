//! Rendering results: table, csv, json, line and list modes.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use heliosdb_lite::types::Value;
use std::io::Write;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Aligned table with borders.
    Table,
    /// RFC 4180 CSV.
    Csv,
    /// A JSON array of objects per result.
    Json,
    /// One `column = value` line per value.
    Line,
    /// Values separated by `|` (sqlite3's default when not on a terminal).
    List,
}

impl Mode {
    /// Parses a `.mode` argument.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "table" | "box" => Mode::Table,
            "csv" => Mode::Csv,
            "json" => Mode::Json,
            "line" => Mode::Line,
            "list" => Mode::List,
            _ => return None,
        })
    }
}

/// Output settings.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    /// Mode.
    pub mode: Mode,
    /// Print column names.
    pub headers: bool,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        other => other.to_string(),
    }
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(r) => {
            serde_json::Number::from_f64(*r).map_or(serde_json::Value::Null, Into::into)
        }
        // Exact decimals stay exact as strings.
        Value::Decimal(d) => d.to_string().into(),
        Value::Text(s) => s.clone().into(),
        Value::Timestamp(_) => v.to_string().into(),
        Value::Blob(b) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
            .into(),
    }
}

/// Prints one result set.
pub fn print(
    out: &mut dyn Write,
    f: Format,
    columns: &[String],
    rows: &[Vec<Value>],
) -> std::io::Result<()> {
    match f.mode {
        Mode::Table => {
            if columns.is_empty() {
                return Ok(());
            }
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled);
            if f.headers {
                t.set_header(columns.iter().map(Cell::new));
            }
            for r in rows {
                t.add_row(r.iter().map(|v| {
                    let c = Cell::new(text(v));
                    match v {
                        Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
                            c.set_alignment(CellAlignment::Right)
                        }
                        _ => c,
                    }
                }));
            }
            writeln!(out, "{t}")?;
            writeln!(
                out,
                "({} row{})",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )
        }
        Mode::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if f.headers {
                w.write_record(columns).map_err(std::io::Error::other)?;
            }
            for r in rows {
                w.write_record(r.iter().map(|v| match v {
                    Value::Null => String::new(),
                    v => text(v),
                }))
                .map_err(std::io::Error::other)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            out.write_all(&bytes)
        }
        Mode::Json => {
            let arr: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    for (c, v) in columns.iter().zip(r) {
                        m.insert(c.clone(), json_value(v));
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&arr).unwrap_or_default()
            )
        }
        Mode::Line => {
            let w = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                for (c, v) in columns.iter().zip(r) {
                    writeln!(out, "{c:>w$} = {}", text(v))?;
                }
            }
            Ok(())
        }
        Mode::List => {
            if f.headers && !columns.is_empty() {
                writeln!(out, "{}", columns.join("|"))?;
            }
            for r in rows {
                let line: Vec<String> = r
                    .iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        v => text(v),
                    })
                    .collect();
                writeln!(out, "{}", line.join("|"))?;
            }
            Ok(())
        }
    }
}
