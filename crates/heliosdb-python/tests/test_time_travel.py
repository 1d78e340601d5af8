"""Time travel as an argument: every as_of form, its scope, and the history helpers."""

import datetime

import pytest

import heliosdb_lite
from heliosdb_lite import _native


@pytest.fixture
def clock():
    """Connections opened inside the test stamp commits from a clock the test moves."""
    _native._set_test_clock("2025-01-01 00:00:00")
    yield lambda seconds: _native._advance_test_clock(seconds)
    _native._set_test_clock(None)


@pytest.fixture
def history(clock):
    """A table with three versions of row 1, an hour apart: 'v1' at 01:00, 'v2' at 02:00,
    'v3' at 03:00; the other table changes at 02:30."""
    c = heliosdb_lite.Connection.open(path=":memory:")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, w TEXT)")
    points = {}
    for hour, v in ((1, "v1"), (2, "v2"), (3, "v3")):
        clock(3600)
        if v == "v1":
            c.execute("INSERT INTO t VALUES (1, 'v1')")
            c.execute("INSERT INTO u VALUES (1, 'u1')")
        else:
            c.execute("UPDATE t SET v = ? WHERE id = 1", (v,))
        points[v] = (c.current_scn(), c.last_txn_id())
        if v == "v2":
            clock(1800)
            c.execute("UPDATE u SET w = 'u2'")
            clock(-1800)
    yield c, points
    c.close()


def read(c, **kw):
    return c.execute("SELECT v FROM t WHERE id = 1", **kw).fetchone()


def test_every_as_of_form(history):
    c, points = history
    scn2, txn2 = points["v2"]
    assert read(c) == ("v3",)
    assert read(c, as_of={"scn": scn2}) == ("v2",)
    assert read(c, as_of={"transaction": txn2}) == ("v2",)
    assert read(c, as_of={"before_transaction": txn2}) == ("v1",)
    assert read(c, as_of=datetime.datetime(2025, 1, 1, 2, 15)) == ("v2",)
    # Aware datetimes are converted: 03:15+01:00 is 02:15 UTC.
    tz = datetime.timezone(datetime.timedelta(hours=1))
    assert read(c, as_of=datetime.datetime(2025, 1, 1, 3, 15, tzinfo=tz)) == ("v2",)
    assert read(c, as_of="2025-01-01 01:30:00") == ("v1",)
    assert read(c, as_of={"timestamp": datetime.datetime(2025, 1, 1, 3, 0)}) == ("v3",)


def test_as_of_is_the_clause_after_every_table_without_one(history):
    c, points = history
    scn2, _ = points["v2"]
    scn3, _ = points["v3"]
    sql = "SELECT t.v, u.w FROM t JOIN u ON t.id = u.id"
    assert c.execute(sql, as_of={"scn": scn2}).fetchall() == [("v2", "u1")]
    explicit = f"SELECT t.v, u.w FROM t AS OF SCN {scn2} JOIN u AS OF SCN {scn2} ON t.id = u.id"
    assert c.execute(explicit).fetchall() == [("v2", "u1")]
    # A table with its own clause keeps it.
    own = f"SELECT t.v, u.w FROM t JOIN u AS OF SCN {scn3} ON t.id = u.id"
    assert c.execute(own, as_of={"scn": scn2}).fetchall() == [("v2", "u2")]
    # Subqueries read at the point too.
    sub = "SELECT (SELECT w FROM u WHERE id = 1), v FROM t"
    assert c.execute(sub, as_of={"scn": scn2}).fetchall() == [("u1", "v2")]


def test_as_of_applies_to_one_statement_only(history):
    c, points = history
    cur = c.cursor()
    cur.execute("SELECT v FROM t", as_of={"scn": points["v1"][0]})
    assert cur.fetchall() == [("v1",)]
    cur.execute("SELECT v FROM t")
    assert cur.fetchall() == [("v3",)]


def test_as_of_with_parameters_and_streaming(history):
    c, points = history
    c.executemany("INSERT INTO t (v) VALUES (?)", [(f"row{i}",) for i in range(1000)])
    scn = c.current_scn()
    c.execute("DELETE FROM t WHERE id > 1")
    cur = c.execute("SELECT v FROM t WHERE id > ? ORDER BY id", (1,), as_of={"scn": scn})
    assert sum(1 for _ in cur) == 1000
    assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_writes_with_as_of_are_refused(history):
    c, points = history
    with pytest.raises(heliosdb_lite.ProgrammingError, match="cannot write"):
        c.execute("INSERT INTO t (v) VALUES ('x')", as_of={"scn": points["v1"][0]})
    # The refusal changed nothing and left the connection usable.
    assert read(c) == ("v3",)


@pytest.mark.parametrize(
    "bad",
    [
        5,
        {"scn": -1},
        {"scn": "5"},
        {"scn": True},
        {"tx": 5},
        {"scn": 1, "transaction": 2},
        "not a time",
        [1],
    ],
)
def test_bad_as_of_values_are_clear_errors(history, bad):
    c, _ = history
    with pytest.raises(heliosdb_lite.ProgrammingError, match="as_of|timestamp"):
        read(c, as_of=bad)


def test_points_outside_the_history(history):
    c, points = history
    with pytest.raises(heliosdb_lite.SnapshotNotAvailableError) as e:
        read(c, as_of={"scn": 10_000})
    assert e.value.newest_scn == c.current_scn()
    assert e.value.oldest_scn == 0
    with pytest.raises(heliosdb_lite.SnapshotNotAvailableError, match="future"):
        read(c, as_of=datetime.datetime(2030, 1, 1))
    with pytest.raises(heliosdb_lite.OperationalError):
        read(c, as_of={"transaction": 99_999})


def test_snapshot_too_old_carries_the_available_range(clock, tmp_path):
    c = heliosdb_lite.Connection.open(
        path=str(tmp_path / "db"),
        config={
            "enable_wal": False,
            "snapshot": {"min_retention_seconds": 0, "max_snapshots": 1, "auto_gc_enabled": False},
        },
    )
    c.execute("CREATE TABLE t (a)")
    for i in range(5):
        clock(1)
        c.execute("INSERT INTO t VALUES (?)", (i,))
    removed = c.gc()
    assert removed["snapshots_removed"] >= 3
    assert removed["oldest_scn"] == c.current_scn()
    assert set(removed) == {
        "snapshots_removed",
        "versions_removed",
        "bytes_removed",
        "oldest_scn",
        "elapsed_ms",
    }
    with pytest.raises(heliosdb_lite.SnapshotTooOldError) as e:
        c.execute("SELECT * FROM t", as_of={"scn": 2})
    err = e.value
    assert isinstance(err, heliosdb_lite.OperationalError)
    assert err.oldest_scn == removed["oldest_scn"]
    assert err.newest_scn == c.current_scn()
    assert isinstance(err.oldest_time, datetime.datetime)
    assert err.oldest_time.year == 2025
    assert "snapshot too old" in str(err)
    c.close()


def test_snapshots_current_scn_and_last_txn_id(history):
    c, points = history
    snaps = list(c.snapshots())
    # 2 CREATEs, 2 INSERTs, 2 UPDATEs of t, 1 of u.
    assert len(snaps) == 7
    assert [s[0] for s in snaps] == sorted(s[0] for s in snaps)
    assert snaps[-1][0] == c.current_scn()
    assert snaps[-1][1] == c.last_txn_id()
    assert all(isinstance(s[2], datetime.datetime) for s in snaps)
    assert list(c.snapshots(since=snaps[-3][0])) == snaps[-2:]
    assert list(c.snapshots(limit=2)) == snaps[:2]
    assert list(c.snapshots(since=snaps[2][2], limit=1)) == [snaps[3]]
    with pytest.raises(heliosdb_lite.ProgrammingError):
        list(c.snapshots(since="yesterday"))
    with pytest.raises(heliosdb_lite.ProgrammingError):
        list(c.snapshots(limit=-1))


def test_fresh_database_history(clock):
    c = heliosdb_lite.connect(":memory:")
    assert c.current_scn() == 0
    assert c.last_txn_id() is None
    assert list(c.snapshots()) == []
    c.close()


def test_a_write_with_as_of_is_refused_and_opens_no_transaction(conn):
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.commit()
    cur = conn.cursor()
    with pytest.raises(heliosdb_lite.Error):
        cur.execute("INSERT INTO t VALUES (1)", as_of={"scn": 1})
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_snapshot_arguments_are_checked_at_the_call(conn):
    with pytest.raises(heliosdb_lite.ProgrammingError):
        conn.snapshots(limit=-1)
    with pytest.raises(heliosdb_lite.ProgrammingError):
        conn.snapshots(since="yesterday")
