//! Every scalar function SQLite also has, checked against SQLite itself (the bundled library
//! through rusqlite): the same expression must give the same value and type in both, on
//! ordinary, edge-case and NULL arguments. HeliosDB-only functions (time travel, decimals)
//! have their own tests with fixed expected values.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

/// Expressions grouped by function; each is evaluated as `SELECT <expr>` in both engines.
const CASES: &[(&str, &[&str])] = &[
    (
        "abs",
        &[
            "abs(-5)",
            "abs(2.5)",
            "abs(-0.0)",
            "abs(NULL)",
            "abs('-7')",
            "abs('x')",
            "abs(-9223372036854775807)",
        ],
    ),
    (
        "round",
        &[
            "round(2.5)",
            "round(-2.5)",
            "round(1.23456, 2)",
            "round(1234.5, -1)",
            "round(NULL)",
            "round('3.7')",
            "round(5)",
            "round(0.5, 0)",
            "round(2.675, 2)",
        ],
    ),
    (
        "length",
        &[
            "length('héllo')",
            "length('')",
            "length(NULL)",
            "length(12345)",
            "length(1.5)",
            "length(x'0001ff')",
        ],
    ),
    (
        "lower/upper",
        &[
            "lower('ABC déF')",
            "upper('abc déf')",
            "lower(NULL)",
            "upper(12)",
        ],
    ),
    (
        "substr",
        &[
            "substr('hello', 2)",
            "substr('hello', 2, 3)",
            "substr('hello', -3)",
            "substr('hello', -3, 2)",
            "substr('hello', 0, 2)",
            "substr('hello', 10)",
            "substr('hello', 2, -1)",
            "substr(NULL, 1)",
            "substr('héllo', 2, 2)",
            "substring('hello', 1, 1)",
            "substr(12345, 2, 2)",
        ],
    ),
    (
        "trim",
        &[
            "trim('  a b  ')",
            "ltrim('  a ')",
            "rtrim(' a  ')",
            "trim('xxaxx', 'x')",
            "ltrim('xyxa', 'xy')",
            "rtrim('axyx', 'xy')",
            "trim(NULL)",
            "trim('abc', '')",
        ],
    ),
    (
        "replace",
        &[
            "replace('aXbXc', 'X', '-')",
            "replace('abc', '', 'z')",
            "replace('abc', 'b', '')",
            "replace(NULL, 'a', 'b')",
            "replace('aaa', 'aa', 'b')",
            "replace(123, 2, 9)",
        ],
    ),
    (
        "instr",
        &[
            "instr('hello', 'l')",
            "instr('hello', 'z')",
            "instr('hello', '')",
            "instr(NULL, 'a')",
            "instr('héllo', 'l')",
            "instr(12345, 34)",
        ],
    ),
    (
        "coalesce/ifnull/nullif/iif",
        &[
            "coalesce(NULL, NULL, 3, 4)",
            "coalesce(NULL, NULL)",
            "ifnull(NULL, 'x')",
            "ifnull(1, 'x')",
            "nullif(1, 1)",
            "nullif(1, 2)",
            "nullif('a', 'A')",
            "iif(1 > 0, 'yes', 'no')",
            "iif(NULL, 'yes', 'no')",
        ],
    ),
    (
        "typeof",
        &[
            "typeof(1)",
            "typeof(1.0)",
            "typeof('a')",
            "typeof(x'00')",
            "typeof(NULL)",
            "typeof(1 + 1.5)",
            "typeof('1' + 1)",
        ],
    ),
    (
        "printf",
        &[
            "printf('%d items', 3)",
            "printf('%5.2f|%-5s|%05d', 3.14159, 'ab', 42)",
            "printf('%s and %s', 'a', NULL)",
            "printf('%x %X %o', 255, 255, 8)",
            "printf('%%')",
            "printf('%c', 'hello')",
            "printf('%.3s', 'abcdef')",
            "printf('%10.4f', -2.5)",
            "printf('%e', 12345.678)",
            "printf('%q', 'it''s')",
            "printf(NULL)",
            "printf('%d', '12abc')",
            "format('%d-%d', 1, 2)",
        ],
    ),
    (
        "hex/quote/char/unicode",
        &[
            "hex('abc')",
            "hex(x'00ff')",
            "hex(255)",
            "hex(NULL)",
            "quote('it''s')",
            "quote(1.5)",
            "quote(NULL)",
            "quote(x'0a')",
            "quote(7)",
            "char(72, 105)",
            "char()",
            "unicode('é')",
            "unicode('')",
            "unicode(NULL)",
        ],
    ),
    (
        "min/max/sign",
        &[
            "min(3, 1, 2)",
            "max(3, 1, 2)",
            "min(1, NULL, 2)",
            "max('a', 'b', 1)",
            "min(1, 1.5)",
            "sign(-3)",
            "sign(0)",
            "sign(2.5)",
            "sign(NULL)",
            "sign('x')",
        ],
    ),
    (
        "zeroblob/likely",
        &[
            "length(zeroblob(4))",
            "hex(zeroblob(2))",
            "likely(5)",
            "unlikely('a')",
            "likelihood(3, 0.5)",
        ],
    ),
    (
        "like",
        &[
            "like('a%', 'abc')",
            "like('A_C', 'abc')",
            "like('%B%', 'abc')",
            "like('abc', NULL)",
            "like(NULL, 'a')",
            "like('a!%', 'a%', '!')",
            "like('a!%', 'ab', '!')",
            "like('a%', 'a%', '%')",
            "like('a%', 'ab', '%')",
            "like('a_', 'a_', '_')",
            "like('a_', 'ab', '_')",
            "like('a\\', 'a\\', '\\')",
            "like('a', 'a', NULL)",
            "like(NULL, 'a', NULL)",
            "like('%b%', x'616263')",
            "like(12, 12)",
            "like('1.5%', 1.5)",
            "like('é', 'É')",
            "like('ÉT%', 'été')",
            "like('', '')",
            "like('_', '')",
            "like('%%', '')",
            "like('%_%_', 'ab')",
            "like('%_%_', 'a')",
            "like('a%%b', 'axxb')",
            "like('%a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbba')",
            "like('a$b', 'A$B', '$')",
            "like('a%b%c', 'aXbXc')",
            "like('a', 'a', 'xy')",
            "like('a', 'a', '')",
            "like('a')",
            "like('a', 'b', 'c', 'd')",
        ],
    ),
    (
        "glob",
        &[
            "glob('a*', 'abc')",
            "glob('A*', 'abc')",
            "glob('[a-c]x', 'bx')",
            "glob('[^a-c]x', 'bx')",
            "glob('[]]', ']')",
            "glob('[]a]', 'a')",
            "glob('[a-]', '-')",
            "glob('[-a]', '-')",
            "glob('[a-c-e]', '-')",
            "glob('[a-c-e]', 'd')",
            "glob('[a', 'a')",
            "glob('[^]', 'a')",
            "glob('*[0-9]', 'ab7')",
            "glob('*[0-9]', 'ab')",
            "glob(NULL, 'a')",
            "glob('a', NULL)",
            "glob('a?c', 'abc')",
            "glob('a?c', 'ac')",
            "glob('*', '')",
            "glob('?', '')",
            "glob('[z-a]', 'm')",
            "glob('*.txt', 'notes.TXT')",
            "glob('é*', 'été')",
            "glob(1, 1)",
            "glob('a', 'a', 'b')",
        ],
    ),
    (
        "LIKE/GLOB operators",
        &[
            "'abc' LIKE 'A%'",
            "'a%' LIKE 'a!%' ESCAPE '!'",
            "'ab' LIKE 'a!%' ESCAPE '!'",
            "'a' LIKE 'a' ESCAPE NULL",
            "'a' NOT LIKE 'a' ESCAPE NULL",
            "'a\\' LIKE 'a\\' ESCAPE '\\'",
            "'a%' LIKE 'a%' ESCAPE '%'",
            "'ab' LIKE 'a%' ESCAPE '%'",
            "'ab' NOT LIKE 'a%'",
            "NULL LIKE 'a'",
            "'a' NOT LIKE NULL",
            "'ab' NOT GLOB 'a*'",
            "'b' GLOB '[abc]'",
            "'a' LIKE 'a' ESCAPE 'xy'",
        ],
    ),
    (
        "soundex",
        &[
            "soundex('Robert')",
            "soundex('Rupert')",
            "soundex('Tymczak')",
            "soundex('Ashcraft')",
            "soundex('Pfister')",
            "soundex('Lloyd')",
            "soundex('a')",
            "soundex('')",
            "soundex(NULL)",
            "soundex('  x-ray')",
            "soundex('Müller')",
            "soundex('Çelik')",
            "soundex(123)",
            "soundex('12ab')",
        ],
    ),
    (
        "likely/unlikely/likelihood",
        &[
            "likely(5)",
            "unlikely('a')",
            "likelihood(3, 0.5)",
            "likelihood(3, 1.0)",
            "likelihood(3, 0.0)",
            "likelihood(3, 2.0)",
            "likelihood(3, 1)",
            "likelihood(3, '0.5')",
            "likelihood(3, NULL)",
            "likely(1, 2)",
            "unlikely()",
            "likelihood(1)",
        ],
    ),
    (
        "subtype",
        &[
            "subtype(json('[1]'))",
            "subtype(json(NULL))",
            "subtype(json_array())",
            "subtype(json_object('a', 1))",
            "subtype(json_extract('{\"a\":[1]}', '$.a'))",
            "subtype(json_extract('{\"a\":1}', '$.a'))",
            "subtype('{\"a\":1}' -> '$.a')",
            "subtype(1)",
            "subtype('x')",
            "subtype(NULL)",
        ],
    ),
    (
        "sqlite_compileoption_*, sqlite_log, load_extension",
        &[
            "sqlite_compileoption_used('NO_SUCH_OPTION')",
            "sqlite_compileoption_used('SOUNDEX')",
            "sqlite_compileoption_used('sqlite_default_foreign_keys')",
            "sqlite_compileoption_used(NULL)",
            "sqlite_compileoption_get(-1)",
            "sqlite_compileoption_get(100000)",
            "typeof(sqlite_compileoption_get(0))",
            "typeof(sqlite_source_id())",
            "sqlite_log(1, 'message')",
            "load_extension('no_such_library')",
        ],
    ),
    (
        "date",
        &[
            "date('2024-02-29')",
            "date('2024-02-29 13:14:15')",
            "date('2024-01-31', '+1 month')",
            "date('2024-03-15', 'start of month')",
            "date('2024-03-15', 'start of year', '+10 days')",
            "date('2024-03-15', '-1 day', 'weekday 0')",
            "date(2460000.5)",
            "date('2024-03-15T10:00:00Z')",
            "date('garbage')",
            "date(NULL)",
            "date('2024-03-15', '+1 year', '-1 day')",
            "date(1700000000, 'unixepoch')",
        ],
    ),
    (
        "time",
        &[
            "time('2024-03-15 10:20:30')",
            "time('10:20')",
            "time('2024-03-15 10:20:30', '+90 minutes')",
            "time('2024-03-15 10:20:30.123')",
            "time('23:59:59', '+1 second')",
        ],
    ),
    (
        "datetime",
        &[
            "datetime('2024-03-15 10:20:30')",
            "datetime('2024-03-15', '+36 hours')",
            "datetime(1700000000, 'unixepoch')",
            "datetime('2024-03-15 10:20:30', 'start of day')",
            "datetime('2024-12-31 23:59:59', '+1 second')",
            "datetime('2024-03-15 10:20:30+02:00')",
            "datetime(2460000.25)",
            "datetime('2024-03-15 10:20:30', '-00:30')",
        ],
    ),
    (
        "julianday",
        &[
            "julianday('2024-03-15')",
            "julianday('2000-01-01 12:00:00')",
            "julianday(NULL)",
            "julianday('2024-03-15 06:00:00') - julianday('2024-03-14')",
        ],
    ),
    (
        "unixepoch",
        &[
            "unixepoch('2024-03-15 10:20:30')",
            "unixepoch('1970-01-01')",
            "unixepoch('2024-03-15', '+1 day')",
            "unixepoch(NULL)",
        ],
    ),
    (
        "strftime",
        &[
            "strftime('%Y-%m-%d %H:%M:%S', '2024-03-15 10:20:30')",
            "strftime('%s', '2024-03-15 10:20:30')",
            "strftime('%j %w %W', '2024-03-15')",
            "strftime('%f', '2024-03-15 10:20:30.456')",
            "strftime('%J', '2024-03-15')",
            "strftime('%%', '2024-03-15')",
            "strftime('%H:%M', '2024-03-15 10:20:30', '+5 hours')",
            "strftime(NULL, '2024-03-15')",
            "strftime('%Y', NULL)",
            "strftime('%s', '2024-12-31 23:59:59')",
        ],
    ),
];

fn sqlite_value(v: rusqlite::types::Value) -> Value {
    match v {
        rusqlite::types::Value::Null => Value::Null,
        rusqlite::types::Value::Integer(i) => Value::Integer(i),
        rusqlite::types::Value::Real(r) => Value::Real(r),
        rusqlite::types::Value::Text(s) => Value::Text(s),
        rusqlite::types::Value::Blob(b) => Value::Blob(b),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Real(x), Value::Real(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

#[test]
fn scalar_functions_agree_with_sqlite() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (function, exprs) in CASES {
        for expr in *exprs {
            let sql = format!("SELECT {expr}");
            let expected = theirs
                .query_row(&sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(sqlite_value);
            let got = ours.query_row(&sql, [], |r| r.get::<_, Value>(0));
            checked += 1;
            match (&expected, &got) {
                (Ok(e), Ok(g)) if same(e, g) => {}
                // Both refuse it (wrong arguments): agreement.
                (Err(_), Err(_)) => {}
                _ => failures.push(format!(
                    "{function}: {sql}\n  sqlite: {expected:?}\n  heliosdb: {got:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions differ from SQLite:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn random_is_a_64_bit_integer_that_varies() {
    let c = Connection::open_in_memory().unwrap();
    let values: Vec<i64> = (0..20)
        .map(|_| c.query_row("SELECT random()", [], |r| r.get(0)).unwrap())
        .collect();
    let distinct: std::collections::HashSet<_> = values.iter().collect();
    assert!(distinct.len() > 15, "random() repeats: {values:?}");
    let t: String = c
        .query_row("SELECT typeof(random())", [], |r| r.get(0))
        .unwrap();
    assert_eq!(t, "integer");
}
