//! Rendering results: table, csv, json, line and list modes.
//!
//! The csv, json and list modes print what sqlite3 prints for the same mode, byte for byte
//! where the types agree, so scripts written against sqlite3's output keep working.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use heliosdb_lite::types::Value;
use std::io::Write;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Aligned table with borders.
    Table,
    /// CSV as sqlite3 writes it (NULL empty, `''` as `""`).
    Csv,
    /// A JSON array of objects per result, keys in column order.
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

/// The bytes sqlite3 prints for a value in list and csv modes: NULL as nothing, a blob as its
/// raw bytes up to the first zero byte (sqlite3 prints the blob read as C text).
fn raw(v: &Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        Value::Blob(b) => b.iter().take_while(|&&x| x != 0).copied().collect(),
        other => other.to_string().into_bytes(),
    }
}

/// sqlite3 quotes a CSV field that is empty or holds a quote, a separator, a control
/// character, a space, or a byte outside printable ASCII; everything else is printed bare.
fn csv_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let quote = bytes.is_empty()
        || bytes
            .iter()
            .any(|&b| b <= b' ' || b >= 0x7f || matches!(b, b'"' | b'\'' | b','));
    if !quote {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn csv_row<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = Option<&'a [u8]>>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // NULL is an empty, unquoted field; an empty string is `""`.
        if let Some(bytes) = f {
            csv_field(out, bytes);
        }
    }
    out.push(b'\n');
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

/// One JSON object per row, written by hand: a JSON map would sort the keys and keep only one
/// of two columns with the same name, and a join's `SELECT *` often has two.
fn json_rows(out: &mut dyn Write, columns: &[String], rows: &[Vec<Value>]) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "[]");
    }
    let keys: Vec<String> = columns
        .iter()
        .map(|c| serde_json::Value::from(c.as_str()).to_string())
        .collect();
    let mut s = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push('{');
        for (j, (k, v)) in keys.iter().zip(r).enumerate() {
            if j > 0 {
                s.push(',');
            }
            s.push_str(k);
            s.push(':');
            s.push_str(&json_value(v).to_string());
        }
        s.push('}');
    }
    s.push_str("]\n");
    out.write_all(s.as_bytes())
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
            let mut buf = Vec::new();
            if f.headers && !columns.is_empty() {
                csv_row(&mut buf, columns.iter().map(|c| Some(c.as_bytes())));
            }
            for r in rows {
                let fields: Vec<Option<Vec<u8>>> = r
                    .iter()
                    .map(|v| (!matches!(v, Value::Null)).then(|| raw(v)))
                    .collect();
                csv_row(&mut buf, fields.iter().map(|f| f.as_deref()));
            }
            out.write_all(&buf)
        }
        Mode::Json => json_rows(out, columns, rows),
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
            let mut buf = Vec::new();
            if f.headers && !columns.is_empty() {
                buf.extend_from_slice(columns.join("|").as_bytes());
                buf.push(b'\n');
            }
            for r in rows {
                for (i, v) in r.iter().enumerate() {
                    if i > 0 {
                        buf.push(b'|');
                    }
                    buf.extend_from_slice(&raw(v));
                }
                buf.push(b'\n');
            }
            out.write_all(&buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(mode: Mode, headers: bool, columns: &[&str], rows: Vec<Vec<Value>>) -> Vec<u8> {
        let cols: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let mut out = Vec::new();
        print(&mut out, Format { mode, headers }, &cols, &rows).unwrap();
        out
    }

    #[test]
    fn csv_tells_null_from_empty_and_quotes_as_sqlite3() {
        let rows = vec![vec![
            Value::Null,
            Value::Text(String::new()),
            Value::Text("it's".into()),
            Value::Text("a b".into()),
            Value::Text("a~b".into()),
            Value::Text("é".into()),
            Value::Integer(-3),
            Value::Blob(vec![b'A', 0, b'B']),
        ]];
        let got = render(Mode::Csv, false, &["a"; 8], rows);
        assert_eq!(got, b",\"\",\"it's\",\"a b\",a~b,\"\xc3\xa9\",-3,A\n");
    }

    #[test]
    fn json_keeps_column_order_and_duplicate_names() {
        let rows = vec![
            vec![
                Value::Integer(1),
                Value::Integer(2),
                Value::Text("x".into()),
            ],
            vec![Value::Null, Value::Real(1.5), Value::Text("\"".into())],
        ];
        let got = render(Mode::Json, true, &["b", "a", "b"], rows);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "[{\"b\":1,\"a\":2,\"b\":\"x\"},\n{\"b\":null,\"a\":1.5,\"b\":\"\\\"\"}]\n"
        );
        assert_eq!(render(Mode::Json, true, &["a"], vec![]), b"[]\n");
    }

    #[test]
    fn list_prints_blobs_as_raw_bytes() {
        let rows = vec![vec![Value::Blob(vec![0x41, 0xff]), Value::Null]];
        assert_eq!(render(Mode::List, false, &["b", "n"], rows), b"A\xff|\n");
    }
}
