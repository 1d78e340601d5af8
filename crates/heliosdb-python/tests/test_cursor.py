"""The cursor's own behaviour beyond PEP 249's basics: subclassing, the implicit
transaction's keyword detection, the connection's mode read at each statement, and use of
a cursor while it is busy."""

import datetime

import pytest

import heliosdb_lite as h


def test_a_subclass_can_extend_the_cursor(tmp_path):
    class Counting(h.Cursor):
        def __init__(self, connection):
            super().__init__(connection)
            self.runs = 0

        def execute(self, sql, parameters=None, **kw):
            self.runs += 1
            return super().execute(sql, parameters, **kw)

    c = h.connect(str(tmp_path / "db"))
    cur = c.cursor(factory=Counting)
    assert isinstance(cur, h.Cursor) and cur.connection is c
    assert cur.execute("SELECT ?", (7,)) is cur
    assert cur.fetchone() == (7,) and cur.runs == 1
    # A cursor made directly belongs to the connection given.
    plain = h.Cursor(c)
    assert plain.execute("SELECT 1").fetchall() == [(1,)]
    with pytest.raises(TypeError):
        h.Cursor(object())
    c.close()
    with pytest.raises(h.ProgrammingError, match="closed database"):
        h.Cursor(c)


def test_writes_behind_comments_open_the_implicit_transaction(tmp_path):
    c = h.connect(str(tmp_path / "db"))
    c.execute("CREATE TABLE t (v INTEGER)")
    c.commit()
    for sql in (
        "-- a note\n  insert into t values (1)",
        "/* a note */ UPDATE t SET v = 2",
        "\n\tDelete FROM t WHERE v = 3",
        "REPLACE INTO t VALUES (4)",
    ):
        cur = c.execute(sql)
        assert c.in_transaction, sql
        assert cur.rowcount >= 0, sql
        c.rollback()
    # A query or a word that merely starts like a write opens nothing.
    c.execute("SELECT 1 -- INSERT")
    assert not c.in_transaction
    with pytest.raises(h.ProgrammingError):
        c.execute("INSERTED INTO t VALUES (1)")
    assert not c.in_transaction
    # INSERT reports lastrowid; UPDATE and DELETE leave it as it was.
    cur = c.cursor()
    cur.execute("INSERT INTO t VALUES (5)")
    rowid = cur.lastrowid
    assert rowid is not None and cur.rowcount == 1
    cur.execute("UPDATE t SET v = 6")
    assert cur.lastrowid == rowid and cur.rowcount == 1
    cur.execute("SELECT v FROM t")
    assert cur.rowcount == -1
    c.close()


def test_the_connections_mode_is_read_at_each_statement(tmp_path):
    c = h.connect(str(tmp_path / "db"))
    c.execute("CREATE TABLE t (d DATE)")
    c.execute("INSERT INTO t VALUES ('2024-12-31')")
    c.commit()
    cur = c.cursor()
    assert cur.execute("SELECT d FROM t").fetchone() == (datetime.date(2024, 12, 31),)
    c.detect_types = False
    assert cur.execute("SELECT d FROM t").fetchone() == ("2024-12-31",)
    c.detect_types = True
    c.autocommit = True
    cur.execute("INSERT INTO t VALUES ('2025-01-01')")
    assert not c.in_transaction
    c.autocommit = False
    cur.execute("INSERT INTO t VALUES ('2025-01-02')")
    assert c.in_transaction
    c.rollback()
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (2,)
    c.close()


def test_a_cursor_busy_with_a_statement_refuses_a_second_call(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"))
    cur = c.cursor()

    def peek():
        cur.fetchone()
        return 1

    c.create_function("peek", 0, peek)
    with pytest.raises(h.OperationalError, match="recursive use of a cursor"):
        cur.execute("SELECT peek()")
    # The cursor is usable again afterwards.
    assert cur.execute("SELECT 2").fetchone() == (2,)
    c.close()


def test_fetching_in_every_size_returns_each_row_once(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"))
    c.execute("CREATE TABLE t (v INTEGER)")
    c.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(3000)))
    cur = c.execute("SELECT v FROM t ORDER BY v")
    got = [cur.fetchone()[0]]
    got += [r[0] for r in cur.fetchmany(100)]
    cur.arraysize = 700
    got += [r[0] for r in cur.fetchmany()]
    got += [r[0] for r in cur]
    assert got == list(range(3000))
    assert cur.fetchone() is None and cur.fetchall() == [] and cur.fetchmany(5) == []
    cur.execute("SELECT v FROM t ORDER BY v")
    cur.fetchmany(10)
    rest = cur.fetchall()
    assert [r[0] for r in rest] == list(range(10, 3000))
    with pytest.raises(h.ProgrammingError, match="no result set"):
        cur.execute("UPDATE t SET v = v")
        cur.fetchone()
    cur.close()
    with pytest.raises(h.ProgrammingError, match="closed cursor"):
        cur.execute("SELECT 1")
    c.close()


def test_a_cursor_alternating_statements_runs_each_one_and_rejects_non_text(tmp_path):
    # The cursor keeps the last statement's text by the identity of its string object: a
    # loop alternating two strings, an equal string built anew, a str subclass and a
    # non-string must each run (or fail) as what they are.
    c = h.connect(str(tmp_path / "db"), autocommit=True)
    cur = c.cursor()
    cur.execute("CREATE TABLE t (v INTEGER)")
    insert, count = "INSERT INTO t VALUES (?)", "SELECT count(*) FROM t"
    for i in range(3):
        assert cur.execute(insert, (i,)).rowcount == 1
        assert cur.execute(count).fetchone() == (i + 1,)
    assert cur.execute("".join(["SELECT ", "sum(v) FROM t"])).fetchone() == (3,)

    class Sql(str):
        pass

    assert cur.execute(Sql("SELECT max(v) FROM t")).fetchone() == (2,)
    with pytest.raises(TypeError):
        cur.execute(b"SELECT 1")
    with pytest.raises(TypeError):
        cur.execute(None)
    assert cur.execute(count).fetchone() == (3,)
