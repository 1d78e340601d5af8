//! Conversions between Python objects and the engine's values, time-travel points and
//! configuration.

use crate::errors::{programming_error, raise};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use heliosdb_lite::types::Value;
use heliosdb_lite::{AsOf, Config};
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple,
    PyType,
};
use std::collections::HashMap;
use std::str::FromStr;

/// Python types the conversions test for, looked up once per interpreter.
struct Types {
    datetime: Py<PyType>,
    date: Py<PyType>,
    time: Py<PyType>,
    decimal: Py<PyType>,
    utc: Py<PyAny>,
}

fn types(py: Python<'_>) -> PyResult<&Types> {
    static TYPES: PyOnceLock<Types> = PyOnceLock::new();
    TYPES.get_or_try_init(py, || {
        let dt = py.import("datetime")?;
        Ok(Types {
            datetime: dt.getattr("datetime")?.cast_into::<PyType>()?.unbind(),
            date: dt.getattr("date")?.cast_into::<PyType>()?.unbind(),
            time: dt.getattr("time")?.cast_into::<PyType>()?.unbind(),
            decimal: py
                .import("decimal")?
                .getattr("Decimal")?
                .cast_into::<PyType>()?
                .unbind(),
            utc: dt.getattr("timezone")?.getattr("utc")?.unbind(),
        })
    })
}

/// A `datetime.datetime` as a UTC date-time: naive values are taken as UTC (as the engine
/// takes timestamp text without an offset); aware ones are converted.
fn naive_utc(obj: &Bound<'_, PyAny>) -> PyResult<NaiveDateTime> {
    let py = obj.py();
    let obj = if obj.getattr("tzinfo")?.is_none() {
        obj.clone()
    } else {
        obj.call_method1("astimezone", (types(py)?.utc.bind(py),))?
    };
    let field = |name: &str| -> PyResult<u32> { obj.getattr(name)?.extract() };
    let date = NaiveDate::from_ymd_opt(field("year")? as i32, field("month")?, field("day")?);
    date.and_then(|d| {
        d.and_hms_micro_opt(
            field("hour").ok()?,
            field("minute").ok()?,
            field("second").ok()?,
            field("microsecond").ok()?,
        )
    })
    .ok_or_else(|| programming_error(py, format!("invalid date-time {obj}")))
}

fn naive_date(obj: &Bound<'_, PyAny>) -> PyResult<NaiveDate> {
    let field = |name: &str| -> PyResult<u32> { obj.getattr(name)?.extract() };
    NaiveDate::from_ymd_opt(field("year")? as i32, field("month")?, field("day")?)
        .ok_or_else(|| programming_error(obj.py(), format!("invalid date {obj}")))
}

/// The engine's text for a date-time: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
fn datetime_text(t: &NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Converts one parameter. `position` names it in errors.
pub fn to_value(obj: &Bound<'_, PyAny>, position: &dyn Fn() -> String) -> PyResult<Value> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // Type checks before casts: a failed cast builds an error object, which cost more than
    // the conversion itself for a parameter of a later type.
    if obj.is_instance_of::<PyInt>() {
        // bool is an int in Python, and is stored as 1 (as sqlite3 does).
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Value::Integer(i64::from(b.is_true())));
        }
        return obj.extract::<i64>().map(Value::Integer).map_err(|_| {
            PyOverflowError::new_err(format!(
                "{}: Python int too large to store as a 64-bit integer",
                position()
            ))
        });
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::Text(obj.cast::<PyString>()?.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Value::Real(obj.cast::<PyFloat>()?.value()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Blob(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Blob(b.to_vec()));
    }
    let t = types(py)?;
    if obj.is_instance(t.decimal.bind(py))? {
        let text: String = obj.str()?.extract()?;
        return rust_decimal::Decimal::from_str(&text)
            .or_else(|_| rust_decimal::Decimal::from_scientific(&text))
            .map(Value::Decimal)
            .map_err(|e| {
                raise(
                    py,
                    "DataError",
                    format!(
                        "{}: Decimal {text} cannot be stored exactly ({e}); the engine keeps 28 \
                         significant digits",
                        position()
                    ),
                )
            });
    }
    if obj.is_instance(t.datetime.bind(py))? {
        return Ok(Value::Text(datetime_text(&naive_utc(obj)?)));
    }
    if obj.is_instance(t.date.bind(py))? {
        return Ok(Value::Text(naive_date(obj)?.format("%Y-%m-%d").to_string()));
    }
    if obj.is_instance(t.time.bind(py))? {
        // 'HH:MM:SS[.ffffff]', the text the engine's time functions read.
        return Ok(Value::Text(obj.call_method0("isoformat")?.extract()?));
    }
    if let Ok(view) = obj.extract::<Vec<u8>>() {
        // memoryview and other buffer-like objects.
        if !obj.is_instance_of::<PyList>() && !obj.is_instance_of::<PyTuple>() {
            return Ok(Value::Blob(view));
        }
    }
    Err(programming_error(
        py,
        format!(
            "{}: type '{}' is not supported (use None, int, float, str, bytes, bool, \
             decimal.Decimal, datetime.date, datetime.time or datetime.datetime)",
            position(),
            obj.get_type().name()?
        ),
    ))
}

/// Parameters as given: by position, or by name (the mapping's keys without prefix).
pub enum Params {
    /// A sequence.
    Positional(Vec<Value>),
    /// A mapping.
    Named(HashMap<String, Value>),
}

impl Params {
    /// Converts `None`, a sequence or a mapping. A `str` or `bytes` is refused: it is a
    /// sequence, but never meant as one value per character.
    pub fn from_py(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Params> {
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(Params::Positional(Vec::new()));
        };
        let py = obj.py();
        if let Ok(t) = obj.cast::<PyTuple>() {
            return positional(t.iter());
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return positional(l.iter());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return named(d.iter());
        }
        if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
            return Err(programming_error(
                py,
                "parameters must be a sequence or a mapping, not a string (write (value,) \
                 for one parameter)",
            ));
        }
        if let Ok(m) = obj.cast::<PyMapping>() {
            let items = m.items()?;
            let mut out = HashMap::new();
            for item in items.iter() {
                let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let key: String = k.extract()?;
                let value = to_value(&v, &|| format!("parameter :{key}"))?;
                out.insert(key, value);
            }
            return Ok(Params::Named(out));
        }
        match obj.try_iter() {
            Ok(it) => {
                let mut out = Vec::new();
                for (i, v) in it.enumerate() {
                    out.push(to_value(&v?, &|| format!("parameter {}", i + 1))?);
                }
                Ok(Params::Positional(out))
            }
            Err(_) => Err(programming_error(
                py,
                format!(
                    "parameters must be a sequence or a mapping, not '{}'",
                    obj.get_type().name()?
                ),
            )),
        }
    }

    /// The values in the order of `stmt`'s placeholders.
    pub fn for_statement(self, stmt: &heliosdb_lite::Statement<'_>) -> Result<Vec<Value>, String> {
        let count = stmt.parameter_count();
        match self {
            Params::Positional(v) => {
                if v.len() != count {
                    return Err(format!(
                        "incorrect number of bindings supplied: the statement uses {count}, \
                         and there are {} supplied",
                        v.len()
                    ));
                }
                Ok(v)
            }
            Params::Named(mut m) => (1..=count)
                .map(|i| match stmt.parameter_name(i) {
                    // The name without its prefix (':', '@', '$') is the mapping's key.
                    Some(n) => m.remove(&n[1..]).ok_or_else(|| {
                        format!("you did not supply a value for binding parameter {n}")
                    }),
                    None => Err(format!(
                        "binding parameter {i} is positional ('?'): supply a sequence, not a \
                         mapping"
                    )),
                })
                .collect(),
        }
    }
}

fn positional<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>) -> PyResult<Params> {
    let mut out = Vec::with_capacity(items.size_hint().0);
    for (i, v) in items.enumerate() {
        out.push(to_value(&v, &|| format!("parameter {}", i + 1))?);
    }
    Ok(Params::Positional(out))
}

fn named<'py>(
    items: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<Params> {
    let mut out = HashMap::new();
    for (k, v) in items {
        let key: String = k.extract().map_err(|_| {
            programming_error(k.py(), "parameter names in a mapping must be strings")
        })?;
        let value = to_value(&v, &|| format!("parameter :{key}"))?;
        out.insert(key, value);
    }
    Ok(Params::Named(out))
}

/// How result values become Python objects.
#[derive(Clone, Copy)]
pub struct Output {
    /// Convert values of DATE / DATETIME / TIMESTAMP columns to `datetime.date` /
    /// `datetime.datetime`.
    pub detect_types: bool,
}

/// Converts one result value; `temporal` says the column is declared DATE, DATETIME or
/// TIMESTAMP.
pub fn to_py<'py>(
    py: Python<'py>,
    v: &Value,
    temporal: bool,
    out: Output,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        Value::Real(r) => r.into_pyobject(py)?.into_any(),
        Value::Text(s) => {
            if temporal && out.detect_types {
                if let Some(t) = temporal_value(py, s)? {
                    return Ok(t);
                }
            }
            PyString::new(py, s).into_any()
        }
        Value::Blob(b) => PyBytes::new(py, b).into_any(),
        Value::Decimal(d) => types(py)?.decimal.bind(py).call1((d.to_string(),))?,
        Value::Timestamp(t) => {
            if out.detect_types {
                py_datetime(py, t)?
            } else {
                PyString::new(py, &datetime_text(t)).into_any()
            }
        }
    })
}

/// `YYYY-MM-DD` text as a `date`, other date-time text as a `datetime`; `None` when the
/// text is not a date-time (kept as text).
fn temporal_value<'py>(py: Python<'py>, s: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let trimmed = s.trim();
    if trimmed.len() == 10 {
        if let Ok(d) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
            let t = types(py)?;
            return Ok(Some(
                t.date
                    .bind(py)
                    .call1((d.year(), d.month(), d.day()))?
                    .into_any(),
            ));
        }
    }
    match heliosdb_lite::time::parse_datetime(s) {
        Some(t) => Ok(Some(py_datetime(py, &t)?)),
        None => Ok(None),
    }
}

/// A naive `datetime.datetime` (UTC, as the engine keeps times).
pub fn py_datetime<'py>(py: Python<'py>, t: &NaiveDateTime) -> PyResult<Bound<'py, PyAny>> {
    types(py)?.datetime.bind(py).call1((
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000,
    ))
}

/// Microseconds since the epoch as a naive UTC `datetime.datetime`.
pub fn micros_to_py(py: Python<'_>, us: i64) -> PyResult<Bound<'_, PyAny>> {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => py_datetime(py, &t.naive_utc()),
        None => Ok(py.None().into_bound(py)),
    }
}

/// A Python `datetime` as microseconds since the epoch (naive = UTC).
pub fn datetime_micros(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    let py = obj.py();
    let t = types(py)?;
    if obj.is_instance(t.datetime.bind(py))? {
        return Ok(Some(naive_utc(obj)?.and_utc().timestamp_micros()));
    }
    if obj.is_instance(t.date.bind(py))? {
        return Ok(Some(
            naive_date(obj)?
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_micros(),
        ));
    }
    Ok(None)
}

const AS_OF_FORMS: &str = "as_of takes a datetime.datetime (naive = UTC), timestamp text, \
    {'scn': n}, {'transaction': n} or {'before_transaction': n}";

/// Converts the `as_of=` argument.
pub fn as_of(obj: &Bound<'_, PyAny>) -> PyResult<AsOf> {
    let py = obj.py();
    if let Some(us) = datetime_micros(obj)? {
        return Ok(AsOf::Timestamp(us));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_cow()?;
        return heliosdb_lite::time::parse_timestamp(&text)
            .map(AsOf::Timestamp)
            .map_err(|e| programming_error(py, format!("{e}; {AS_OF_FORMS}")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.len() == 1 {
            let (k, v) = d.iter().next().expect("one item");
            let key: String = k.extract().unwrap_or_default();
            let n = || -> PyResult<u64> {
                if v.is_instance_of::<PyBool>() {
                    return Err(programming_error(py, format!("as_of {key} must be an int")));
                }
                v.extract::<u64>().map_err(|_| {
                    programming_error(
                        py,
                        format!("as_of {key} must be a non-negative int, got {v}"),
                    )
                })
            };
            match key.as_str() {
                "scn" => return Ok(AsOf::Scn(n()?)),
                "transaction" => return Ok(AsOf::Transaction(n()?)),
                "before_transaction" => return Ok(AsOf::BeforeTransaction(n()?)),
                "timestamp" => return as_of(&v),
                _ => {}
            }
        }
        return Err(programming_error(
            py,
            format!("unknown as_of {obj}; {AS_OF_FORMS}"),
        ));
    }
    Err(programming_error(
        py,
        format!(
            "as_of of type '{}' is not understood; {AS_OF_FORMS}",
            obj.get_type().name()?
        ),
    ))
}

/// Sections of `heliosdb.toml`; other top-level keys of a config dict belong to
/// `[database]` (the brief writes `memory_limit_mb` and `enable_wal` at the top).
const SECTIONS: [&str; 8] = [
    "database",
    "storage",
    "snapshot",
    "monitoring",
    "logging",
    "server",
    "container",
    "sync",
];

fn toml_value(obj: &Bound<'_, PyAny>, key: &str) -> PyResult<Option<toml::Value>> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Some(toml::Value::Boolean(b.is_true())));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return Ok(Some(toml::Value::Integer(i.extract().map_err(|_| {
            raise(
                py,
                "ProgrammingError",
                format!("configuration error: {key}: {i} is out of range"),
            )
        })?)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Some(toml::Value::Float(f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(toml::Value::String(s.to_cow()?.into_owned())));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, v) in d.iter() {
            let k: String = k.extract()?;
            if let Some(v) = toml_value(&v, &format!("{key}.{k}"))? {
                t.insert(k, v);
            }
        }
        return Ok(Some(toml::Value::Table(t)));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let mut a = Vec::new();
        for v in l.iter() {
            a.extend(toml_value(&v, key)?);
        }
        return Ok(Some(toml::Value::Array(a)));
    }
    // pathlib.Path and other path-like objects.
    if let Ok(p) = py.import("os")?.getattr("fspath")?.call1((obj,)) {
        if let Ok(s) = p.extract::<String>() {
            return Ok(Some(toml::Value::String(s)));
        }
    }
    Err(raise(
        py,
        "ProgrammingError",
        format!(
            "configuration error: {key}: values of type '{}' are not allowed",
            obj.get_type().name()?
        ),
    ))
}

/// Builds a [`Config`] from the `config=` argument (a dict shaped like `heliosdb.toml`, or
/// the path of such a file) and the `path=` argument, with the file's key names, checks and
/// error messages.
pub fn config(
    py: Python<'_>,
    path: Option<String>,
    config: Option<&Bound<'_, PyAny>>,
) -> PyResult<Config> {
    let mut cfg = match config.filter(|c| !c.is_none()) {
        None => Config::default(),
        Some(c) if c.is_instance_of::<PyString>() => {
            let file: String = c.extract()?;
            Config::from_file(&file).map_err(|e| crate::errors::to_py_err(py, e))?
        }
        Some(c) => {
            let d = c.cast::<PyDict>().map_err(|_| {
                programming_error(
                    py,
                    "config must be a dict shaped like heliosdb.toml, or the path of such a file",
                )
            })?;
            let mut root = toml::Table::new();
            let mut database = toml::Table::new();
            for (k, v) in d.iter() {
                let k: String = k
                    .extract()
                    .map_err(|_| programming_error(py, "configuration keys must be strings"))?;
                let Some(value) = toml_value(&v, &k)? else {
                    continue;
                };
                if SECTIONS.contains(&k.as_str()) {
                    if k == "database" {
                        if let toml::Value::Table(t) = value {
                            database.extend(t);
                            continue;
                        }
                    }
                    root.insert(k, value);
                } else {
                    database.insert(k, value);
                }
            }
            if !database.is_empty() {
                root.insert("database".into(), toml::Value::Table(database));
            }
            let c: Config = toml::Value::Table(root).try_into().map_err(|e| {
                raise(
                    py,
                    "ProgrammingError",
                    // The message names the key on a second line ("in `snapshot`").
                    format!(
                        "configuration error: {}",
                        e.to_string().trim().replace('\n', " ")
                    ),
                )
            })?;
            c
        }
    };
    if let Some(p) = path {
        cfg.database.path = Some(p.into());
    }
    if cfg.database.path.is_none() {
        return Err(programming_error(
            py,
            "no database given: pass a path (a directory, created if needed) or ':memory:'",
        ));
    }
    cfg.validate()
        .map_err(|e| crate::errors::to_py_err(py, e))?;
    Ok(cfg)
}
