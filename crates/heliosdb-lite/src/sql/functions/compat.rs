//! SQLite's remaining built-in functions: `soundex`, and those about SQLite's own build and
//! machinery (`sqlite_source_id`, `sqlite_compileoption_get`, `sqlite_compileoption_used`,
//! `sqlite_log`, `load_extension`, `subtype`), answered for this engine.

use super::ScalarFn;
use crate::error::{Error, Result};
use crate::sql::value::Value;

/// The subtype SQLite gives the values of JSON functions (`'J'`).
pub const JSON_SUBTYPE: i64 = 74;

/// The build options whose behaviour the engine has, in SQLite's spelling (without the
/// `SQLITE_` prefix): math functions, `soundex()`, foreign keys enforced by default.
const COMPILE_OPTIONS: &[&str] = &["DEFAULT_FOREIGN_KEYS=1", "ENABLE_MATH_FUNCTIONS", "SOUNDEX"];

/// Computes `f` (one of this module's; the caller dispatches only those).
pub fn call(f: ScalarFn, args: &[Value]) -> Result<Value> {
    use ScalarFn::*;
    let a0 = args.first().unwrap_or(&Value::Null);
    Ok(match f {
        Soundex => Value::Text(soundex(a0.to_text().unwrap_or_default().as_bytes())),
        SqliteSourceId => Value::Text(format!("heliosdb-lite {}", env!("CARGO_PKG_VERSION"))),
        CompileOptionGet => usize::try_from(a0.as_i64())
            .ok()
            .and_then(|i| COMPILE_OPTIONS.get(i))
            .map_or(Value::Null, |o| Value::from(*o)),
        CompileOptionUsed => match a0.to_text() {
            None => Value::Null,
            Some(name) => Value::Integer(i64::from(compile_option_used(&name))),
        },
        // SQLite writes the message to its error log, which this engine does not have.
        SqliteLog => Value::Null,
        // What SQLite answers when extension loading is off.
        LoadExtension => return Err(Error::invalid("not authorized")),
        // The planner binds `subtype(x)` of a JSON function's result as `SubtypeJson`
        // (values carry no subtype here; see `planner/json_subtype.rs`); with a second
        // argument, only an array or object has the subtype (`json_extract`).
        Subtype => Value::Integer(0),
        SubtypeJson => {
            let json = match (a0, args.len()) {
                (Value::Null, _) => false,
                (Value::Text(t), 2) => t.starts_with(['[', '{']),
                _ => true,
            };
            Value::Integer(if json { JSON_SUBTYPE } else { 0 })
        }
        _ => {
            return Err(Error::invalid(format!(
                "{} is not a compat function",
                f.name()
            )))
        }
    })
}

/// `sqlite_compileoption_used`: the name, with or without `SQLITE_`, matches an option up
/// to its `=` (any case).
fn compile_option_used(name: &str) -> bool {
    let name = match name.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("SQLITE_") => &name[7..],
        _ => name,
    };
    COMPILE_OPTIONS.iter().any(|o| {
        o.len() >= name.len()
            && o[..name.len()].eq_ignore_ascii_case(name)
            && !o[name.len()..]
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
    })
}

/// SQLite's soundex: the first ASCII letter, then the codes of the following letters (a
/// code repeated after the same code is dropped, a vowel in between separates), to four
/// characters; `?000` when there is no letter. SQLite reads the bytes of the text, and a
/// byte past ASCII takes the code of its low seven bits; so does this.
fn soundex(bytes: &[u8]) -> String {
    const CODES: &[u8; 128] = b"\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
        \0\0\x01\x02\x03\0\x01\x02\0\0\x02\x02\x04\x05\x05\0\
        \x01\x02\x06\x02\x03\0\x01\0\x02\0\x02\0\0\0\0\0\
        \0\0\x01\x02\x03\0\x01\x02\0\0\x02\x02\x04\x05\x05\0\
        \x01\x02\x06\x02\x03\0\x01\0\x02\0\x02\0\0\0\0\0";
    let code = |b: u8| CODES[usize::from(b & 0x7f)];
    // SQLite reads a C string: a NUL byte ends it.
    let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
    let Some(start) = bytes.iter().position(u8::is_ascii_alphabetic) else {
        return "?000".into();
    };
    let mut out = String::with_capacity(4);
    out.push(bytes[start].to_ascii_uppercase() as char);
    let mut prev = code(bytes[start]);
    for &b in &bytes[start..] {
        if out.len() == 4 {
            break;
        }
        match code(b) {
            0 => prev = 0,
            c if c != prev => {
                prev = c;
                out.push((b'0' + c) as char);
            }
            _ => {}
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_codes() {
        assert_eq!(soundex(b"Robert"), "R163");
        assert_eq!(soundex(b"Tymczak"), "T522");
        assert_eq!(soundex(b"Pfister"), "P236");
        assert_eq!(soundex(b"  42"), "?000");
        assert_eq!(soundex(b"A"), "A000");
    }

    #[test]
    fn compile_options() {
        assert!(compile_option_used("SQLITE_ENABLE_MATH_FUNCTIONS"));
        assert!(compile_option_used("default_foreign_keys"));
        assert!(!compile_option_used("ENABLE_MATH"));
        assert!(!compile_option_used("OMIT_LOAD_EXTENSION"));
    }
}
