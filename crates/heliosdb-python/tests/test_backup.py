"""Connection.backup (modelled on sqlite3's) and VACUUM INTO: a consistent copy of the
whole database, history included, while other threads write."""

import pathlib
import threading

import pytest

import heliosdb_lite as h


def _history(c):
    """A table changed over many commits; returns the SCN after each."""
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    points = []
    for i in range(20):
        c.execute("INSERT INTO t (v) VALUES (?)", (f"v{i}",))
        if i % 3 == 0:
            c.execute("UPDATE t SET v = v || '+' WHERE id % 2 = 0")
        if i % 7 == 6:
            c.execute("DELETE FROM t WHERE id = ?", (i - 3,))
        points.append(c.current_scn())
    return points


def _all(c, **as_of):
    return c.execute("SELECT * FROM t ORDER BY id", **as_of).fetchall()


def test_backup_to_a_path_keeps_every_point_of_history(auto, tmp_path):
    points = _history(auto)
    calls = []
    auto.backup(tmp_path / "copy", progress=lambda *a: calls.append(a))
    assert len(calls) == 1 and calls[0][:2] == (0, 0) and calls[0][2] > 20
    copy = h.Connection.open(str(tmp_path / "copy"))
    try:
        assert copy.current_scn() == auto.current_scn()
        assert list(copy.snapshots()) == list(auto.snapshots())
        assert _all(copy) == _all(auto)
        for scn in points:
            assert _all(copy, as_of={"scn": scn}) == _all(auto, as_of={"scn": scn})
        for scn, txn, at in list(auto.snapshots())[1:]:
            for point in ({"transaction": txn}, {"before_transaction": txn}, at):
                assert _all(copy, as_of=point) == _all(auto, as_of=point)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        copy.close()


def test_backup_accepts_str_bytes_and_pathlike_and_memory_sources(tmp_path):
    src = h.connect(":memory:")
    src.execute("CREATE TABLE t (x)")
    src.execute("INSERT INTO t VALUES (1)")
    src.commit()
    for target in (str(tmp_path / "a"), bytes(tmp_path / "b"), pathlib.Path(tmp_path / "c")):
        src.backup(target)
    for name in "abc":
        with h.connect(str(tmp_path / name)) as c:
            assert c.execute("SELECT x FROM t").fetchall() == [(1,)]
            c.close()
    src.close()


def test_backup_errors_map_to_dbapi_exceptions(auto, tmp_path):
    auto.execute("CREATE TABLE t (x)")
    auto.backup(str(tmp_path / "copy"))
    with pytest.raises(h.OperationalError, match="output file already exists"):
        auto.backup(str(tmp_path / "copy"))
    with pytest.raises(h.OperationalError, match="unable to open database"):
        auto.backup(str(tmp_path / "no" / "such" / "dir"))
    with pytest.raises(h.OperationalError, match="unknown database temp"):
        auto.backup(str(tmp_path / "x"), name="temp")
    other = h.connect(":memory:")
    with pytest.raises(h.NotSupportedError, match="backup to a Connection"):
        auto.backup(other)
    other.close()
    with pytest.raises(TypeError):
        auto.backup(42)
    with pytest.raises(TypeError):
        auto.backup(str(tmp_path / "x"), pages="all")
    with pytest.raises(TypeError, match="callable"):
        auto.backup(str(tmp_path / "x"), progress=5)
    auto.execute("BEGIN")
    auto.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(h.OperationalError, match="within a transaction"):
        auto.backup(str(tmp_path / "x"))
    auto.execute("ROLLBACK")
    # Nothing was left behind by the refusals and failures.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "db"]
    auto.close()
    with pytest.raises(h.ProgrammingError, match="closed"):
        auto.backup(str(tmp_path / "x"))


def test_vacuum_into_from_python(auto, tmp_path):
    auto.execute("CREATE TABLE t (x)")
    auto.execute("INSERT INTO t VALUES (1), (2)")
    cur = auto.execute("VACUUM INTO ?", (str(tmp_path / "v"),))
    assert cur.description is None
    with pytest.raises(h.OperationalError, match="output file already exists"):
        auto.execute("VACUUM INTO ?", (str(tmp_path / "v"),))
    with h.connect(str(tmp_path / "v")) as c:
        assert c.execute("SELECT sum(x) FROM t").fetchone() == (3,)
        c.close()


def test_a_backup_while_a_thread_commits_holds_a_prefix_of_its_commits(tmp_path):
    src = h.Connection.open(str(tmp_path / "db"))
    src.execute("CREATE TABLE seq (n INTEGER PRIMARY KEY)")
    stop = threading.Event()
    started = threading.Event()

    def write():
        w = h.Connection.open(str(tmp_path / "db"))
        n = 0
        while not stop.is_set() or n < 20:
            n += 1
            w.execute("INSERT INTO seq VALUES (?)", (n,))
            started.set()
        w.close()

    t = threading.Thread(target=write)
    t.start()
    started.wait()
    src.backup(str(tmp_path / "copy"))
    stop.set()
    t.join()
    with h.connect(str(tmp_path / "copy")) as c:
        got = [n for (n,) in c.execute("SELECT n FROM seq ORDER BY n")]
        assert got == list(range(1, len(got) + 1)) and got
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        c.close()
    src.close()
