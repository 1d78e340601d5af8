//! Scans that decode less than the whole row: the top-N cutoff a sort under a LIMIT shares
//! with the scan below it (rows past it are dropped after decoding one value), filters
//! evaluated on the columns they read before the rest of the row is decoded, and the right
//! side of hash semi and anti joins decoding only what their condition reads. Each is
//! checked against the bundled SQLite (notation of `sqlite_dialect.rs`) on the cases where
//! decoding less could change an answer: NULLs, ties, mixed types, OFFSET, several ORDER BY
//! terms, rows stored before ADD COLUMN (the default stands for the missing value), a
//! correlated subquery whose top-N runs once per enclosing row, the transaction's own
//! writes, and reads `AS OF` a past point.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};

/// 300 rows, more than a top-N buffer holds before it sets its cutoff; `v` mixes integers,
/// reals, text and NULLs with many duplicates, `g` groups rows by threes.
const SETUP: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, g INT, v, s TEXT, r REAL)",
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300) \
     INSERT INTO t SELECT i, i % 3, \
       CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN 'txt' || (i % 4) \
            WHEN i % 5 = 0 THEN i * 0.5 ELSE (i * 37) % 101 END, \
       'row ' || i, (i * 13) % 17 - 8.25 FROM c",
    "ALTER TABLE t ADD COLUMN w INT DEFAULT 50",
    "WITH RECURSIVE c(i) AS (SELECT 301 UNION ALL SELECT i + 1 FROM c WHERE i < 450) \
     INSERT INTO t SELECT i, i % 3, (i * 37) % 101, 'row ' || i, i * 0.75, (i * 7) % 103 FROM c",
];

const TOP_N: &[&str] = &[
    "SELECT id, v FROM t ORDER BY v DESC LIMIT 5",
    "SELECT id, v FROM t ORDER BY v LIMIT 5",
    "SELECT id, v FROM t ORDER BY v LIMIT 7 OFFSET 3",
    "SELECT id, v FROM t ORDER BY v DESC, id DESC LIMIT 10",
    "SELECT id, v FROM t ORDER BY v DESC NULLS FIRST, id LIMIT 6",
    "SELECT id, v FROM t ORDER BY v NULLS LAST, id LIMIT 6",
    "SELECT * FROM t ORDER BY r DESC, id LIMIT 4",
    "SELECT id, r FROM t ORDER BY r, id LIMIT 3 OFFSET 100",
    "SELECT v, id FROM t WHERE id % 3 = 0 ORDER BY v DESC, id LIMIT 4",
    "SELECT s FROM t ORDER BY s DESC LIMIT 3",
    "SELECT id, w FROM t ORDER BY w, id LIMIT 5",
    "SELECT id, w FROM t ORDER BY w DESC, id LIMIT 5",
    "SELECT id, w FROM t ORDER BY w, id LIMIT 5 OFFSET 148",
    "SELECT g, v, id FROM t ORDER BY g DESC, v DESC, id LIMIT 8",
    "SELECT id, v FROM t ORDER BY v DESC LIMIT 0",
    "SELECT id, v FROM t ORDER BY v DESC LIMIT -1 OFFSET 440",
    "SELECT id, (SELECT u.v FROM t u WHERE u.g = t.g AND u.id <> t.id \
     ORDER BY u.v DESC, u.id LIMIT 1) FROM t WHERE id <= 12 ORDER BY id",
    "SELECT id, (SELECT u.id FROM t u WHERE u.g = t.g ORDER BY u.r, u.id LIMIT 1 OFFSET 2) \
     FROM t WHERE id BETWEEN 100 AND 106 ORDER BY id",
];

const FILTER_FIRST: &[&str] = &[
    "SELECT id, s, r FROM t WHERE v > 50 ORDER BY id",
    "SELECT * FROM t WHERE rowid % 50 = 1 ORDER BY id",
    "SELECT id, s FROM t WHERE w = 50 AND id % 40 = 0 ORDER BY id",
    "SELECT id, s FROM t WHERE w > 50 AND g = 2 ORDER BY id",
    "SELECT count(*), sum(r) FROM t WHERE v IS NULL",
    "SELECT s FROM t WHERE v IN (SELECT v FROM t WHERE id < 20) ORDER BY s",
    "SELECT id, s FROM t WHERE typeof(v) = 'text' ORDER BY id",
    "SELECT id FROM t WHERE s > 'row 44' AND r < 0 ORDER BY id",
    "SELECT id, v FROM t WHERE v = (SELECT max(u.v) FROM t u WHERE u.g = t.g) ORDER BY id",
];

/// `x IN (subquery)`: integer candidates are probed as integers, anything else through the
/// general set; SQL's NULL rules either way.
const IN_SETS: &[&str] = &[
    "SELECT count(*) FROM t WHERE g IN (SELECT id FROM t WHERE id < 2)",
    "SELECT id FROM t WHERE id * 1.0 IN (SELECT g FROM t) ORDER BY id",
    "SELECT count(*) FROM t WHERE r IN (SELECT id - 8.25 FROM t)",
    "SELECT count(*) FROM t WHERE v IN (SELECT id * 0.5 FROM t WHERE id < 50)",
    "SELECT count(*) FROM t WHERE v IN (SELECT 'txt' || g FROM t)",
    "SELECT count(*) FROM t WHERE g NOT IN (SELECT v FROM t WHERE id < 10)",
    "SELECT count(*) FROM t WHERE g NOT IN (SELECT v FROM t WHERE id < 7)",
    "SELECT count(*) FROM t WHERE s IN (SELECT id FROM t)",
    "SELECT count(*) FROM t WHERE v IN (SELECT '1' || g FROM t)",
    "SELECT count(*) FROM t WHERE id IN (SELECT s FROM t)",
    "SELECT id FROM t WHERE id IN (SELECT v FROM t WHERE typeof(v) = 'integer') AND id < 30 ORDER BY id",
    "SELECT count(*) FROM t WHERE id NOT IN (SELECT id FROM t WHERE 0)",
    "SELECT id, id IN (SELECT w FROM t WHERE w < 60) FROM t WHERE id BETWEEN 45 AND 55 ORDER BY id",
];

const SEMI_ANTI: &[&str] = &[
    "SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM t u WHERE u.g = t.g AND u.r > t.r + 10)",
    "SELECT count(*) FROM t WHERE NOT EXISTS \
     (SELECT 1 FROM t u WHERE u.v = t.v AND u.s <> t.s)",
    "SELECT id FROM t WHERE NOT EXISTS \
     (SELECT 1 FROM t u WHERE u.id = t.id + 1 AND u.w = t.w) ORDER BY id",
    "SELECT id, s FROM t WHERE EXISTS \
     (SELECT 1 FROM t u WHERE u.s = 'row ' || (t.id * 2) AND u.r < t.r) ORDER BY id",
    "SELECT count(*) FROM t WHERE id IN (SELECT u.w FROM t u WHERE u.s LIKE 'row 3%')",
    "SELECT count(*) FROM t WHERE id NOT IN (SELECT u.w FROM t u WHERE u.w IS NOT NULL)",
];

#[test]
fn top_n_cutoff_drops_only_rows_that_cannot_be_returned() {
    check(&[("top-n", &with(SETUP, TOP_N))]);
}

#[test]
fn filters_run_on_their_own_columns_first() {
    check(&[("filter first", &with(SETUP, FILTER_FIRST))]);
}

#[test]
fn in_subquery_sets() {
    check(&[("in sets", &with(SETUP, IN_SETS))]);
}

#[test]
fn semi_and_anti_joins_decode_what_their_condition_reads() {
    check(&[("semi/anti", &with(SETUP, SEMI_ANTI))]);
}

/// The transaction's own writes and older snapshots go through the same paths.
#[test]
fn own_writes_and_history() {
    let script = with(
        SETUP,
        &[
            "BEGIN",
            "UPDATE t SET v = 1000 WHERE id = 17",
            "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY r DESC LIMIT 2)",
            "INSERT INTO t(id, g, v, s, r) VALUES (1000, 1, 999.5, 'late', 99)",
            "SELECT id, v FROM t ORDER BY v DESC LIMIT 3",
            "SELECT id, r FROM t ORDER BY r DESC, id LIMIT 3",
            "SELECT id, s FROM t WHERE v > 100 ORDER BY id",
            "COMMIT",
            "@mark",
            "@ours UPDATE t SET v = -v WHERE typeof(v) IN ('integer', 'real')",
            "@ours UPDATE t SET r = 500 WHERE id = 3",
            "@ours DELETE FROM t WHERE id = 1000",
            "SELECT id, v FROM t ORDER BY v DESC LIMIT 4 \
             @@ SELECT id, v FROM t AS OF SCN {scn} ORDER BY v DESC LIMIT 4",
            "SELECT id, r FROM t ORDER BY r DESC, id LIMIT 3 \
             @@ SELECT id, r FROM t AS OF SCN {scn} ORDER BY r DESC, id LIMIT 3",
            "SELECT id, s FROM t WHERE v > 90 ORDER BY id \
             @@ SELECT id, s FROM t AS OF SCN {scn} WHERE v > 90 ORDER BY id",
            "SELECT count(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM t u WHERE u.v = t.v AND u.s <> t.s) \
             @@ SELECT count(*) FROM t AS OF SCN {scn} WHERE NOT EXISTS \
             (SELECT 1 FROM t AS OF SCN {scn} u WHERE u.v = t.v AND u.s <> t.s)",
        ],
    );
    check(&[("own writes and history", &script)]);
}
