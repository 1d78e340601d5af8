"""DB-API behaviour modelled on sqlite3: types, transactions, cursors, rows."""

import datetime
import decimal

import pytest

import heliosdb_lite as h


def test_module_globals():
    assert h.apilevel == "2.0"
    assert h.threadsafety == 2
    assert h.paramstyle == "qmark"
    assert isinstance(h.version, str)


def test_type_mapping_round_trip(conn):
    conn.execute(
        "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n, d DECIMAL(10,2), "
        "ts TIMESTAMP, dt DATE, flag BOOLEAN)"
    )
    row = (
        42,
        2.5,
        "héllo",
        b"\x00\xff",
        None,
        decimal.Decimal("12.34"),
        datetime.datetime(2024, 2, 29, 13, 45, 30, 123456),
        datetime.date(2024, 3, 1),
        True,
    )
    conn.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    got = conn.execute("SELECT * FROM t").fetchone()
    assert got == row[:8] + (1,)  # bool is stored as an integer, as in sqlite3
    assert type(got[5]) is decimal.Decimal
    assert type(got[6]) is datetime.datetime
    assert type(got[7]) is datetime.date
    cur = conn.execute("SELECT i, r, s, b, d, ts, i + 1 FROM t")
    assert [d[1] for d in cur.description] == [
        "INTEGER",
        "REAL",
        "TEXT",
        "BLOB",
        "DECIMAL",
        "TIMESTAMP",
        None,
    ]
    assert cur.description[0][1] == h.NUMBER
    assert cur.description[2][1] == h.STRING
    assert cur.description[3][1] == h.BINARY
    assert cur.description[5][1] == h.DATETIME


def test_exact_numeric_columns_are_decimals(conn):
    # DECIMAL and NUMERIC(p,s) are exact; a bare NUMERIC column has SQLite's numeric
    # affinity (integers and floats), as in sqlite3.
    conn.execute("CREATE TABLE m (a NUMERIC(12,3), b DECIMAL, c NUMERIC)")
    conn.execute(
        "INSERT INTO m VALUES (?, ?, ?)",
        (decimal.Decimal("1234.567"), decimal.Decimal("0.1"), 2.5),
    )
    conn.execute("INSERT INTO m VALUES ('7.25', 3, '4')")
    got = conn.execute("SELECT a, b, c, a + b FROM m ORDER BY rowid").fetchall()
    assert got[0][:3] == (decimal.Decimal("1234.567"), decimal.Decimal("0.1"), 2.5)
    assert [type(v) for v in got[0][:3]] == [decimal.Decimal, decimal.Decimal, float]
    assert got[0][3] == decimal.Decimal("1234.667")
    assert got[1][:3] == (decimal.Decimal("7.25"), decimal.Decimal("3"), 4)
    assert type(got[1][2]) is int


def test_detect_types_off_keeps_text(tmp_path):
    c = h.connect(str(tmp_path / "db"), detect_types=False)
    c.execute("CREATE TABLE t (ts TIMESTAMP, d DATE)")
    c.execute("INSERT INTO t VALUES (?, ?)", (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02"))
    assert c.execute("SELECT * FROM t").fetchone() == ("2024-01-02 03:04:05", "2024-01-02")
    c.close()


def test_aware_datetimes_are_stored_in_utc(conn):
    conn.execute("CREATE TABLE t (ts TIMESTAMP)")
    tz = datetime.timezone(datetime.timedelta(hours=-5))
    conn.execute("INSERT INTO t VALUES (?)", (datetime.datetime(2024, 1, 1, 20, 0, tzinfo=tz),))
    assert conn.execute("SELECT ts FROM t").fetchone() == (datetime.datetime(2024, 1, 2, 1, 0),)


def test_other_parameter_kinds(conn):
    conn.execute("CREATE TABLE t (a, b)")
    conn.execute("INSERT INTO t VALUES (?, ?)", [bytearray(b"x"), memoryview(b"yz")])
    conn.execute("INSERT INTO t VALUES (:a, @b)", {"a": datetime.time(1, 2, 3), "b": 1.5})
    assert conn.execute("SELECT * FROM t").fetchall() == [(b"x", b"yz"), ("01:02:03", 1.5)]
    conn.execute("DELETE FROM t")
    conn.execute("INSERT INTO t VALUES (?, ?)", (i for i in (7, 8)))
    assert conn.execute("SELECT * FROM t").fetchall() == [(7, 8)]


def test_rowcount_lastrowid_description(conn):
    cur = conn.cursor()
    assert cur.rowcount == -1 and cur.lastrowid is None and cur.description is None
    cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    assert cur.rowcount == -1
    cur.execute("INSERT INTO t (v) VALUES ('a'), ('b')")
    assert cur.rowcount == 2 and cur.lastrowid == 2
    cur.execute("UPDATE t SET v = 'c'")
    assert cur.rowcount == 2 and cur.lastrowid == 2  # unchanged by UPDATE
    cur.execute("SELECT id AS ident, v FROM t")
    assert cur.rowcount == -1
    assert cur.description == (
        ("ident", "INTEGER", None, None, None, None, None),
        ("v", "TEXT", None, None, None, None, None),
    )
    cur.executemany("INSERT INTO t (v) VALUES (?)", [("x",), ("y",), ("z",)])
    assert cur.rowcount == 3
    cur.execute("DELETE FROM t WHERE id > ?", (100,))
    assert cur.rowcount == 0


def test_implicit_transactions_commit_and_rollback(tmp_path):
    path = str(tmp_path / "db")
    c = h.connect(path)
    assert c.autocommit is False
    c.execute("CREATE TABLE t (a)")  # DDL outside a transaction commits at once
    assert not c.in_transaction
    c.execute("INSERT INTO t VALUES (1)")
    assert c.in_transaction
    other = h.connect(path)
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
    c.commit()
    assert not c.in_transaction
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
    c.execute("INSERT INTO t VALUES (2)")
    c.rollback()
    assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)
    c.execute("INSERT INTO t VALUES (3)")
    c.autocommit = True  # commits what is open
    assert other.execute("SELECT count(*) FROM t").fetchone() == (2,)
    c.execute("INSERT INTO t VALUES (4)")
    assert not c.in_transaction
    c.close()  # an open transaction would be rolled back
    other.close()


def test_context_manager_commits_or_rolls_back(conn):
    conn.execute("CREATE TABLE t (a)")
    with conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction
    with pytest.raises(ZeroDivisionError):
        with conn:
            conn.execute("INSERT INTO t VALUES (2)")
            1 / 0
    assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]


def test_open_is_autocommit_and_each_statement_is_a_version(auto):
    auto.execute("CREATE TABLE t (a)")
    before = auto.current_scn()
    auto.execute("INSERT INTO t VALUES (1)")
    auto.execute("INSERT INTO t VALUES (2)")
    assert auto.current_scn() == before + 2
    assert not auto.in_transaction
    auto.execute("BEGIN")
    auto.execute("INSERT INTO t VALUES (3)")
    auto.rollback()
    assert auto.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_row_factory_and_row(conn):
    conn.row_factory = h.Row
    conn.execute("CREATE TABLE t (Id INTEGER, Name TEXT)")
    conn.execute("INSERT INTO t VALUES (1, 'a')")
    row = conn.execute("SELECT * FROM t").fetchone()
    assert row["id"] == row["ID"] == row[0] == 1
    assert row["name"] == "a"
    assert row.keys() == ["Id", "Name"]
    assert tuple(row) == (1, "a") and len(row) == 2
    assert dict(zip(row.keys(), row)) == {"Id": 1, "Name": "a"}
    with pytest.raises(IndexError):
        row["nope"]
    assert row == conn.execute("SELECT * FROM t").fetchone()
    conn.row_factory = lambda cur, r: {d[0]: v for d, v in zip(cur.description, r)}
    assert conn.execute("SELECT * FROM t").fetchall() == [{"Id": 1, "Name": "a"}]


def test_fetchmany_iteration_and_arraysize(conn):
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(1000)))
    cur = conn.execute("SELECT a FROM t ORDER BY a")
    assert cur.fetchone() == (0,)
    assert cur.fetchmany() == [(1,)]
    cur.arraysize = 3
    assert cur.fetchmany() == [(2,), (3,), (4,)]
    assert len(cur.fetchmany(600)) == 600
    assert [r[0] for r in cur][:2] == [605, 606]
    assert cur.fetchone() is None and cur.fetchall() == [] and cur.fetchmany(5) == []


def test_executescript_and_named_parameters(conn):
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    conn.executescript(
        """
        -- a comment
        CREATE TABLE u (b);
        INSERT INTO u VALUES (1);
        INSERT INTO u VALUES (2);
        """
    )
    assert not conn.in_transaction  # executescript committed first
    assert conn.execute("SELECT sum(b) FROM u WHERE b >= :lo", {"lo": 1}).fetchone() == (3,)
    with pytest.raises(h.ProgrammingError):
        conn.executescript(b"SELECT 1")


def test_returning_has_a_result_set(conn):
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    cur = conn.execute("INSERT INTO t (v) VALUES ('a') RETURNING id, v")
    assert cur.fetchall() == [(1, "a")]
    assert cur.description[0][0] == "id"
    assert cur.lastrowid == 1


def test_read_only_connections_never_write(tmp_path):
    path = str(tmp_path / "db")
    w = h.Connection.open(path=path)
    w.execute("CREATE TABLE t (a)")
    w.execute("INSERT INTO t VALUES (1)")
    r = h.connect(path, read_only=True)
    assert r.execute("SELECT a FROM t").fetchall() == [(1,)]
    with pytest.raises(h.OperationalError, match="read-only"):
        r.execute("INSERT INTO t VALUES (2)")
    r.close()
    w.close()


def test_the_path_can_come_from_the_config(tmp_path):
    c = h.Connection.open(config={"path": str(tmp_path / "a"), "snapshot": {"max_snapshots": 5}})
    c.execute("CREATE TABLE t (a)")
    c.close()
    assert (tmp_path / "a").is_dir()
    # The path argument wins over the config's.
    c = h.connect(str(tmp_path / "b"), config={"database": {"path": str(tmp_path / "a")}})
    c.execute("CREATE TABLE t (a)")
    c.close()
    assert (tmp_path / "b").is_dir()
