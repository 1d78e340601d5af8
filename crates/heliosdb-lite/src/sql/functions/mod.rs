//! Scalar functions: the registry ([`ScalarFn`]), their evaluation with SQLite's argument
//! rules, and the environment a statement gives them ([`FnEnv`]: its clock, the connection's
//! counters, and stored DEFAULT expressions, which only layers above the executor can bind).
//! Date and time functions are in `datetime`, the JSON functions in `json`.

pub mod compat;
pub mod datetime;
pub mod json;
pub mod math;
pub mod pattern;
mod printf;
pub mod user;

use super::collation::Collation;
use super::value::Value;
use crate::error::{Error, RaiseAction, Result};
use rust_decimal::prelude::ToPrimitive;
use std::sync::atomic::{AtomicU64, Ordering};

/// What functions may ask of the database.
pub trait FnEnv {
    /// Statement time (microseconds since the epoch), fixed for the whole statement.
    fn now_micros(&self) -> i64;
    /// Newest committed SCN.
    fn current_scn(&self) -> u64;
    /// TXID of this connection's last committed write transaction.
    fn last_txn_id(&self) -> Option<u64>;
    /// Commit time of an SCN.
    fn scn_to_timestamp(&self, scn: u64) -> Result<i64>;
    /// SCN in effect at a time.
    fn timestamp_to_scn(&self, ts: i64) -> Result<u64>;
    /// Rowid of the last insert on this connection.
    fn last_insert_rowid(&self) -> i64;
    /// Rows changed by the last statement on this connection.
    fn changes(&self) -> i64;
    /// Rows changed since the connection opened.
    fn total_changes(&self) -> i64 {
        0
    }
    /// The value of a stored DEFAULT expression (its SQL text), which is what a row written
    /// before its column was added reads in that column. Binding SQL text needs the planner,
    /// which sits above the executor that meets such rows, so the environment provides it.
    fn stored_default(&self, text: &str) -> Result<Value>;
    /// The application-defined function a call of `name` with `nargs` arguments uses, if
    /// the connection has one ([`user`]); environments without a connection have none.
    fn user_function(&self, _name: &str, _nargs: usize) -> Result<Option<user::UserFnId>> {
        Ok(None)
    }
    /// Calls an application-defined function.
    fn call_user_function(&self, _id: user::UserFnId, _args: &[Value]) -> Result<Value> {
        Err(Error::invalid(
            "user-defined functions cannot be used here (only in statements run on the \
             connection that defined them)",
        ))
    }
}

/// Declares the functions: `public` ones are found by name in SQL; `internal` ones only
/// stand for constructs the planner binds (COLLATE, RAISE, INTERVAL arithmetic, JSON
/// subtypes), and a call by their name is "no such function", so SQL cannot reach them.
macro_rules! scalar_fns {
    (
        public { $($variant:ident => $name:literal, $min:expr, $max:expr;)* }
        internal { $($ivariant:ident => $iname:literal, $imin:expr, $imax:expr;)* }
    ) => {
        /// The scalar functions the engine knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ScalarFn {
            $(#[doc = $name] $variant,)*
            $(#[doc = concat!("Internal: ", $iname)] $ivariant,)*
            /// An application-defined function of the connection ([`user`]).
            User(user::UserFnId),
        }

        impl ScalarFn {
            /// Looks a function up by (case-insensitive) name.
            pub fn from_name(name: &str) -> Option<ScalarFn> {
                match name.to_ascii_lowercase().as_str() {
                    $($name => Some(ScalarFn::$variant),)*
                    "substring" => Some(ScalarFn::Substr),
                    "format" => Some(ScalarFn::Printf),
                    "if" => Some(ScalarFn::Iif),
                    "current_timestamp" => Some(ScalarFn::Datetime),
                    "unlikely" | "likelihood" => Some(ScalarFn::Likely),
                    "ceiling" => Some(ScalarFn::Ceil),
                    "power" => Some(ScalarFn::Pow),
                    _ => None,
                }
            }

            /// Name for messages and EXPLAIN.
            pub fn name(self) -> &'static str {
                match self {
                    $(ScalarFn::$variant => $name,)*
                    $(ScalarFn::$ivariant => $iname,)*
                    ScalarFn::User(_) => "user-defined function",
                }
            }

            /// Allowed argument counts.
            pub fn arity(self) -> (usize, usize) {
                match self {
                    $(ScalarFn::$variant => ($min, $max),)*
                    $(ScalarFn::$ivariant => ($imin, $imax),)*
                    // Checked when the call was resolved.
                    ScalarFn::User(_) => (0, usize::MAX),
                }
            }
        }
    };
}

scalar_fns! {
public {
    Abs => "abs", 1, 1;
    Round => "round", 1, 2;
    Length => "length", 1, 1;
    Lower => "lower", 1, 1;
    Upper => "upper", 1, 1;
    Substr => "substr", 2, 3;
    Trim => "trim", 1, 2;
    Ltrim => "ltrim", 1, 2;
    Rtrim => "rtrim", 1, 2;
    Replace => "replace", 3, 3;
    Instr => "instr", 2, 2;
    Coalesce => "coalesce", 2, usize::MAX;
    Ifnull => "ifnull", 2, 2;
    Nullif => "nullif", 2, 2;
    Iif => "iif", 2, 3;
    Typeof => "typeof", 1, 1;
    Random => "random", 0, 0;
    Randomblob => "randomblob", 1, 1;
    Printf => "printf", 1, usize::MAX;
    Hex => "hex", 1, 1;
    Quote => "quote", 1, 1;
    Char => "char", 0, usize::MAX;
    Unicode => "unicode", 1, 1;
    Min => "min", 2, usize::MAX;
    Max => "max", 2, usize::MAX;
    Sign => "sign", 1, 1;
    Zeroblob => "zeroblob", 1, 1;
    Likely => "likely", 1, 2;
    Date => "date", 0, usize::MAX;
    Time => "time", 0, usize::MAX;
    Datetime => "datetime", 0, usize::MAX;
    Julianday => "julianday", 0, usize::MAX;
    Unixepoch => "unixepoch", 0, usize::MAX;
    Strftime => "strftime", 1, usize::MAX;
    Now => "now", 0, 0;
    CurrentDate => "current_date", 0, 0;
    CurrentTime => "current_time", 0, 0;
    CurrentScn => "current_scn", 0, 0;
    LastTxnId => "last_txn_id", 0, 0;
    ScnToTimestamp => "scn_to_timestamp", 1, 1;
    TimestampToScn => "timestamp_to_scn", 1, 1;
    LastInsertRowid => "last_insert_rowid", 0, 0;
    Changes => "changes", 0, 0;
    TotalChanges => "total_changes", 0, 0;
    SqliteVersion => "sqlite_version", 0, 0;
    HeliosVersion => "heliosdb_version", 0, 0;
    Json => "json", 1, 1;
    JsonArray => "json_array", 0, usize::MAX;
    JsonObject => "json_object", 0, usize::MAX;
    JsonQuote => "json_quote", 1, 1;
    JsonExtract => "json_extract", 2, usize::MAX;
    JsonArrow => "->", 2, 2;
    JsonArrowText => "->>", 2, 2;
    JsonArrayLength => "json_array_length", 1, 2;
    JsonType => "json_type", 1, 2;
    JsonValid => "json_valid", 1, 2;
    JsonSet => "json_set", 1, usize::MAX;
    JsonInsert => "json_insert", 1, usize::MAX;
    JsonReplace => "json_replace", 1, usize::MAX;
    JsonRemove => "json_remove", 1, usize::MAX;
    JsonPatch => "json_patch", 2, 2;
    Like => "like", 2, 3;
    Glob => "glob", 2, 2;
    Acos => "acos", 1, 1;
    Acosh => "acosh", 1, 1;
    Asin => "asin", 1, 1;
    Asinh => "asinh", 1, 1;
    Atan => "atan", 1, 1;
    Atan2 => "atan2", 2, 2;
    Atanh => "atanh", 1, 1;
    Ceil => "ceil", 1, 1;
    Cos => "cos", 1, 1;
    Cosh => "cosh", 1, 1;
    Degrees => "degrees", 1, 1;
    Exp => "exp", 1, 1;
    Floor => "floor", 1, 1;
    Ln => "ln", 1, 1;
    Log => "log", 1, 2;
    Log10 => "log10", 1, 1;
    Log2 => "log2", 1, 1;
    Mod => "mod", 2, 2;
    Pi => "pi", 0, 0;
    Pow => "pow", 2, 2;
    Radians => "radians", 1, 1;
    Sin => "sin", 1, 1;
    Sinh => "sinh", 1, 1;
    Sqrt => "sqrt", 1, 1;
    Tan => "tan", 1, 1;
    Tanh => "tanh", 1, 1;
    Trunc => "trunc", 1, 1;
    Soundex => "soundex", 1, 1;
    SqliteSourceId => "sqlite_source_id", 0, 0;
    CompileOptionGet => "sqlite_compileoption_get", 1, 1;
    CompileOptionUsed => "sqlite_compileoption_used", 1, 1;
    SqliteLog => "sqlite_log", 2, 2;
    LoadExtension => "load_extension", 1, 2;
    Subtype => "subtype", 1, 1;
}
internal {
    IntervalAdd => "helios_interval_add", 2, 2;
    Raise => "helios_raise", 2, 2;
    CollateBinary => "helios_collate_binary", 1, 1;
    CollateNocase => "helios_collate_nocase", 1, 1;
    CollateRtrim => "helios_collate_rtrim", 1, 1;
    NocaseKey => "helios_nocase_key", 1, 1;
    RtrimKey => "helios_rtrim_key", 1, 1;
    JsonExtractJson => "helios_json_extract_json", 2, usize::MAX;
    JsonEmbed => "helios_json_embed", 1, 1;
    SubtypeJson => "helios_subtype_json", 1, 2;
}
}

static RANDOM_STATE: AtomicU64 = AtomicU64::new(0);

/// The next number of the engine's pseudo-random sequence (`random()`; also the rowids an
/// insert draws once the largest is taken, as SQLite draws both from one generator).
pub(crate) fn next_random() -> i64 {
    let mut s = RANDOM_STATE.load(Ordering::Relaxed);
    if s == 0 {
        s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
            | 1;
    }
    // splitmix64
    s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    RANDOM_STATE.store(s, Ordering::Relaxed);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as i64
}

/// The codes `RAISE()` is bound to (the first argument of [`ScalarFn::Raise`]).
pub fn raise_code(action: RaiseAction) -> i64 {
    match action {
        RaiseAction::Ignore => 0,
        RaiseAction::Rollback => 1,
        RaiseAction::Abort => 2,
        RaiseAction::Fail => 3,
    }
}

/// The error `RAISE()` stops its trigger with; the trigger machinery decides what it undoes.
fn raise(code: &Value, message: Option<&Value>) -> Error {
    let action = match code.as_i64() {
        0 => RaiseAction::Ignore,
        1 => RaiseAction::Rollback,
        3 => RaiseAction::Fail,
        _ => RaiseAction::Abort,
    };
    Error::Raised {
        action,
        message: message.and_then(Value::to_text).unwrap_or_default(),
    }
}

fn text_arg(v: &Value) -> Option<String> {
    v.to_text()
}

fn trim_chars(args: &[Value]) -> Option<Vec<char>> {
    match args.get(1) {
        None => Some(vec![' ']),
        Some(Value::Null) => None,
        Some(v) => Some(v.to_text().unwrap_or_default().chars().collect()),
    }
}

impl ScalarFn {
    /// The marker of `x COLLATE c`.
    pub fn collate_marker(c: Collation) -> ScalarFn {
        match c {
            Collation::Binary => ScalarFn::CollateBinary,
            Collation::NoCase => ScalarFn::CollateNocase,
            Collation::Rtrim => ScalarFn::CollateRtrim,
        }
    }

    /// The collation a `COLLATE` marker names.
    pub fn marked_collation(self) -> Option<Collation> {
        match self {
            ScalarFn::CollateBinary => Some(Collation::Binary),
            ScalarFn::CollateNocase => Some(Collation::NoCase),
            ScalarFn::CollateRtrim => Some(Collation::Rtrim),
            _ => None,
        }
    }

    /// The function computing a collation's key (`None` for BINARY: the value itself).
    pub fn collation_key(c: Collation) -> Option<ScalarFn> {
        match c {
            Collation::Binary => None,
            Collation::NoCase => Some(ScalarFn::NocaseKey),
            Collation::Rtrim => Some(ScalarFn::RtrimKey),
        }
    }

    /// True if the result depends only on the arguments (no clock, randomness or state).
    /// An application-defined function counts as not: it is never allowed in a stored
    /// expression, whatever its flag (the database must stay readable without it).
    pub fn is_deterministic(self) -> bool {
        !matches!(
            self,
            ScalarFn::User(_)
                | ScalarFn::Random
                | ScalarFn::Randomblob
                | ScalarFn::TotalChanges
                | ScalarFn::Now
                | ScalarFn::CurrentDate
                | ScalarFn::CurrentTime
                | ScalarFn::CurrentScn
                | ScalarFn::LastTxnId
                | ScalarFn::LastInsertRowid
                | ScalarFn::Changes
                | ScalarFn::Raise
                | ScalarFn::SqliteLog
                | ScalarFn::LoadExtension
        )
    }

    /// Calls the function.
    pub fn call(self, args: &[Value], env: &dyn FnEnv) -> Result<Value> {
        use ScalarFn::*;
        let a0 = args.first().cloned().unwrap_or(Value::Null);
        Ok(match self {
            Abs => match a0 {
                Value::Null => Value::Null,
                Value::Integer(i) => Value::Integer(
                    i.checked_abs()
                        .ok_or_else(|| Error::invalid("integer overflow in abs()"))?,
                ),
                Value::Decimal(d) => Value::Decimal(d.abs()),
                Value::Real(r) => Value::Real(r.abs()),
                other => match other.to_number() {
                    Value::Integer(i) => Value::Real(i.unsigned_abs() as f64),
                    n => Value::Real(n.as_f64().abs()),
                },
            },
            Round => {
                if a0.is_null() || args.get(1).is_some_and(Value::is_null) {
                    return Ok(Value::Null);
                }
                let digits = args.get(1).map_or(0, |d| d.as_i64()).clamp(0, 30);
                match a0 {
                    Value::Decimal(d) => Value::Decimal(d.round_dp_with_strategy(
                        digits as u32,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    )),
                    _ => {
                        let x = a0.as_f64();
                        Value::Real(round_half_away(x, digits as i32))
                    }
                }
            }
            Length => match a0 {
                Value::Null => Value::Null,
                Value::Blob(b) => Value::Integer(b.len() as i64),
                Value::Text(s) => Value::Integer(s.chars().count() as i64),
                v => Value::Integer(v.to_text().unwrap_or_default().chars().count() as i64),
            },
            // SQLite's built-in case mapping covers ASCII only (ICU is an extension).
            Lower => text_arg(&a0).map_or(Value::Null, |s| Value::Text(s.to_ascii_lowercase())),
            Upper => text_arg(&a0).map_or(Value::Null, |s| Value::Text(s.to_ascii_uppercase())),
            Substr => substr(args),
            Trim | Ltrim | Rtrim => {
                let (Some(s), Some(set)) = (text_arg(&a0), trim_chars(args)) else {
                    return Ok(Value::Null);
                };
                let f = |c: char| set.contains(&c);
                Value::Text(match self {
                    Trim => s.trim_matches(f).to_string(),
                    Ltrim => s.trim_start_matches(f).to_string(),
                    _ => s.trim_end_matches(f).to_string(),
                })
            }
            Replace => {
                let (Some(s), Some(from), Some(to)) =
                    (text_arg(&a0), text_arg(&args[1]), text_arg(&args[2]))
                else {
                    return Ok(Value::Null);
                };
                if from.is_empty() {
                    Value::Text(s)
                } else {
                    Value::Text(s.replace(&from, &to))
                }
            }
            Instr => match (&a0, &args[1]) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (Value::Blob(h), Value::Blob(n)) => Value::Integer(
                    h.windows(n.len().max(1))
                        .position(|w| w == n.as_slice())
                        .map_or(0, |p| p as i64 + 1),
                ),
                (h, n) => {
                    let h = h.to_text().unwrap_or_default();
                    let n = n.to_text().unwrap_or_default();
                    Value::Integer(h.find(&n).map_or(0, |b| h[..b].chars().count() as i64 + 1))
                }
            },
            Coalesce | Ifnull => args
                .iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null),
            Nullif => {
                if !a0.is_null() && !args[1].is_null() && a0.same_as(&args[1]) {
                    Value::Null
                } else {
                    a0
                }
            }
            // iif(cond, x) is NULL when cond fails, as in SQLite 3.48+.
            Iif => {
                if a0.truthy() == Some(true) {
                    args[1].clone()
                } else {
                    args.get(2).cloned().unwrap_or(Value::Null)
                }
            }
            Typeof => Value::Text(a0.type_name().to_string()),
            Random => Value::Integer(next_random()),
            // SQLite: fewer than one byte asks for one.
            Randomblob => {
                if a0.is_null() {
                    return Ok(Value::Null);
                }
                let n = a0.as_i64().clamp(1, 1 << 30) as usize;
                let mut bytes = Vec::with_capacity(n + 8);
                while bytes.len() < n {
                    bytes.extend_from_slice(&next_random().to_le_bytes());
                }
                bytes.truncate(n);
                Value::Blob(bytes)
            }
            Printf => printf::printf(args)?,
            Hex => match a0 {
                Value::Null => Value::Text(String::new()),
                Value::Blob(b) => Value::Text(b.iter().map(|x| format!("{x:02X}")).collect()),
                v => Value::Text(
                    v.to_text()
                        .unwrap_or_default()
                        .bytes()
                        .map(|x| format!("{x:02X}"))
                        .collect(),
                ),
            },
            Quote => Value::Text(match a0 {
                Value::Null => "NULL".into(),
                Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
                Value::Blob(b) => format!(
                    "X'{}'",
                    b.iter().map(|x| format!("{x:02X}")).collect::<String>()
                ),
                Value::Real(r) => quote_real(r)?,
                v => v.to_text().unwrap_or_default(),
            }),
            Char => Value::Text(
                args.iter()
                    .filter_map(|v| u32::try_from(v.as_i64()).ok().and_then(char::from_u32))
                    .collect(),
            ),
            Unicode => match text_arg(&a0) {
                None => Value::Null,
                Some(s) => s
                    .chars()
                    .next()
                    .map_or(Value::Null, |c| Value::Integer(c as i64)),
            },
            Min | Max => {
                if args.iter().any(Value::is_null) {
                    return Ok(Value::Null);
                }
                let mut best = a0;
                for v in &args[1..] {
                    let ord = v.total_cmp(&best);
                    if (self == Min && ord.is_lt()) || (self == Max && ord.is_gt()) {
                        best = v.clone();
                    }
                }
                best
            }
            // Text or a blob that is not wholly a number has no sign.
            Sign => match numeric_exactly(&a0) {
                None => Value::Null,
                Some(n) => {
                    let f = n.as_f64();
                    Value::Integer(if f > 0.0 {
                        1
                    } else if f < 0.0 {
                        -1
                    } else {
                        0
                    })
                }
            },
            Zeroblob => Value::Blob(vec![0; a0.as_i64().clamp(0, 1 << 30) as usize]),
            Likely => a0,
            Like | Glob => {
                return pattern::call(&a0, &args[1], args.get(2), self == Glob);
            }
            Acos | Acosh | Asin | Asinh | Atan | Atan2 | Atanh | Ceil | Cos | Cosh | Degrees
            | Exp | Floor | Ln | Log | Log10 | Log2 | Mod | Pi | Pow | Radians | Sin | Sinh
            | Sqrt | Tan | Tanh | Trunc => math::call(self, args),
            Soundex | SqliteSourceId | CompileOptionGet | CompileOptionUsed | SqliteLog
            | LoadExtension | Subtype | SubtypeJson => return compat::call(self, args),
            Date | Time | Datetime | Julianday | Unixepoch | Strftime | IntervalAdd => {
                datetime::call(self, args, env.now_micros())?
            }
            Now => Value::Text(crate::time::format_micros(env.now_micros())),
            CurrentDate => datetime::call(Date, &[Value::from("now")], env.now_micros())?,
            CurrentTime => datetime::call(Time, &[Value::from("now")], env.now_micros())?,
            CurrentScn => Value::Integer(env.current_scn() as i64),
            LastTxnId => env
                .last_txn_id()
                .map_or(Value::Null, |t| Value::Integer(t as i64)),
            ScnToTimestamp => {
                if a0.is_null() {
                    return Ok(Value::Null);
                }
                let scn = u64::try_from(a0.as_i64())
                    .map_err(|_| Error::invalid("scn_to_timestamp: SCN must not be negative"))?;
                Value::Text(crate::time::format_micros(env.scn_to_timestamp(scn)?))
            }
            TimestampToScn => {
                if a0.is_null() {
                    return Ok(Value::Null);
                }
                let ts = datetime::value_to_micros(&a0, env.now_micros()).ok_or_else(|| {
                    Error::invalid(format!("timestamp_to_scn: invalid timestamp {a0}"))
                })?;
                Value::Integer(env.timestamp_to_scn(ts)? as i64)
            }
            LastInsertRowid => Value::Integer(env.last_insert_rowid()),
            Changes => Value::Integer(env.changes()),
            TotalChanges => Value::Integer(env.total_changes()),
            Raise => return Err(raise(&a0, args.get(1))),
            SqliteVersion => Value::from("3.45.0"),
            HeliosVersion => Value::from(env!("CARGO_PKG_VERSION")),
            // `x COLLATE name` is x itself; the planner reads the marker when x is compared,
            // sorted or grouped.
            CollateBinary | CollateNocase | CollateRtrim => a0,
            NocaseKey => Collation::NoCase.key(a0),
            RtrimKey => Collation::Rtrim.key(a0),
            Json | JsonArray | JsonObject | JsonQuote | JsonExtract | JsonExtractJson
            | JsonArrow | JsonArrowText | JsonArrayLength | JsonType | JsonValid | JsonSet
            | JsonInsert | JsonReplace | JsonRemove | JsonPatch | JsonEmbed => {
                return json::call(self, args)
            }
            User(id) => return env.call_user_function(id, args),
        })
    }
}

/// Rounds half away from zero, as SQLite's round() does.
/// SQLite's `round()`: with no digits, `x + 0.5` truncated (away from zero); otherwise the
/// exact decimal expansion of `x` rounded half away from zero. (Scaling by a power of ten
/// first would round 2.675, which is 2.67499999999999982... in binary, to 2.68.)
fn round_half_away(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if digits == 0 && x.abs() < i64::MAX as f64 {
        let t = ((x.abs() + 0.5) as i64) as f64;
        return t.copysign(x);
    }
    // Exact digits well past the cut: the first digit after it decides.
    let text = format!("{:.*}", digits as usize + 25, x.abs());
    let Some(point) = text.find('.') else {
        return x;
    };
    let cut = point + 1 + digits as usize;
    let mut kept: Vec<u8> = text.as_bytes()[..cut].to_vec();
    if text.as_bytes()[cut] >= b'5' {
        // Add one unit in the last kept place, carrying leftwards.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            match kept[i] {
                b'.' => continue,
                b'9' => kept[i] = b'0',
                d => {
                    kept[i] = d + 1;
                    break;
                }
            }
        }
    }
    std::str::from_utf8(&kept)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .map_or(x, |r| r.copysign(x))
}

fn substr(args: &[Value]) -> Value {
    if args.iter().any(Value::is_null) {
        return Value::Null;
    }
    let start = args[1].as_i64();
    let len = args.get(2).map(|v| v.as_i64());
    let (chars, is_blob): (Vec<Value>, bool) = match &args[0] {
        Value::Blob(b) => (b.iter().map(|x| Value::Integer(*x as i64)).collect(), true),
        v => (
            v.to_text()
                .unwrap_or_default()
                .chars()
                .map(|c| Value::Text(c.to_string()))
                .collect(),
            false,
        ),
    };
    let n = chars.len() as i64;
    // SQLite's 1-based start; 0 and negatives count specially.
    let mut from = if start > 0 {
        start - 1
    } else if start < 0 {
        n + start
    } else {
        -1
    };
    let mut count = match len {
        None => n - from.max(0),
        Some(l) if l < 0 => {
            let l = -l;
            from -= l;
            l
        }
        Some(l) => l,
    };
    if from < 0 {
        count += from;
        from = 0;
    }
    let end = (from + count.max(0)).min(n);
    let slice = if from >= n || end <= from {
        &[][..]
    } else {
        &chars[from as usize..end as usize]
    };
    if is_blob {
        Value::Blob(slice.iter().map(|v| v.as_i64() as u8).collect())
    } else {
        Value::Text(slice.iter().filter_map(|v| v.to_text()).collect())
    }
}

/// Converts a value to f64 for functions that need a float, keeping decimals exact where
/// possible.
pub fn decimal_to_f64(d: &rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The number a value is, if it wholly is one (numbers, and text or blobs that parse
/// completely); `None` for NULL and anything else.
fn numeric_exactly(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => Some(v.clone()),
        Value::Text(s) => super::value::parse_numeric_text(s),
        Value::Blob(b) => std::str::from_utf8(b)
            .ok()
            .and_then(super::value::parse_numeric_text),
        Value::Timestamp(_) => None,
    }
}

/// `quote()` of a real as SQLite writes it: the 15-digit text when it reads back as the
/// same number, else `%!0.20e` (all the digits it has; infinities as `9.0e+999`), so that
/// the quoted text is the value exactly.
fn quote_real(r: f64) -> Result<String> {
    let short = Value::Real(r).to_text().unwrap_or_default();
    if r.is_finite() && short.parse::<f64>() == Ok(r) {
        return Ok(short);
    }
    match printf::printf(&[Value::Text("%!0.20e".into()), Value::Real(r)])? {
        Value::Text(t) => Ok(t),
        _ => Ok(short),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_functions() {
        let s = |v: &str| Value::from(v);
        assert_eq!(
            substr(&[s("hello"), Value::Integer(2), Value::Integer(3)]),
            s("ell")
        );
        assert_eq!(substr(&[s("hello"), Value::Integer(-3)]), s("llo"));
        assert_eq!(
            substr(&[s("hello"), Value::Integer(0), Value::Integer(2)]),
            s("h")
        );
        assert_eq!(
            printf::printf(&[
                s("%5.2f|%-4d|%s|%05d"),
                Value::Real(3.14259),
                Value::Integer(7),
                s("x"),
                Value::Integer(-42)
            ])
            .unwrap(),
            s(" 3.14|7   |x|-0042")
        );
        assert_eq!(round_half_away(2.5, 0), 3.0);
        assert_eq!(round_half_away(-2.5, 0), -3.0);
    }
}
