"""Engine errors map to the DB-API exception classes, with their details; bad input is an
exception, never a crash."""

import pytest

import heliosdb_lite as h


def test_the_exception_tree():
    assert issubclass(h.Error, Exception)
    assert issubclass(h.Warning, Exception)
    for cls in (h.InterfaceError, h.DatabaseError):
        assert issubclass(cls, h.Error)
    for cls in (
        h.DataError,
        h.OperationalError,
        h.IntegrityError,
        h.InternalError,
        h.ProgrammingError,
        h.NotSupportedError,
    ):
        assert issubclass(cls, h.DatabaseError)
    assert issubclass(h.SnapshotTooOldError, h.OperationalError)
    assert issubclass(h.SnapshotNotAvailableError, h.OperationalError)


def test_constraint_violations_are_integrity_errors(conn):
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    conn.execute("INSERT INTO p VALUES (1, 'a')")
    with pytest.raises(h.IntegrityError) as e:
        conn.execute("INSERT INTO p VALUES (1, 'b')")
    assert e.value.constraint == "PRIMARY KEY"
    assert e.value.table == "p"
    with pytest.raises(h.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO p VALUES (2, 'a')")
    with pytest.raises(h.IntegrityError, match="NOT NULL"):
        conn.execute("INSERT INTO p VALUES (3, NULL)")
    # The failed statements left the transaction and its first insert intact.
    conn.commit()
    assert conn.execute("SELECT count(*) FROM p").fetchone() == (1,)


def test_syntax_errors_are_programming_errors_with_position(conn):
    with pytest.raises(h.ProgrammingError) as e:
        conn.execute("SELECT 1 FROM\n  WHERE x = 1")
    err = e.value
    assert err.kind == "Syntax"
    assert err.line == 2
    assert err.column >= 1
    assert "syntax error at line 2" in str(err)


def test_missing_objects_are_operational_errors(conn):
    with pytest.raises(h.OperationalError, match="no such table: nope"):
        conn.execute("SELECT * FROM nope")
    conn.execute("CREATE TABLE t (a)")
    with pytest.raises(h.OperationalError, match="no such column"):
        conn.execute("SELECT b FROM t")


def test_parameter_errors(conn):
    conn.execute("CREATE TABLE t (a, b)")
    with pytest.raises(h.ProgrammingError, match="incorrect number of bindings"):
        conn.execute("INSERT INTO t VALUES (?, ?)", (1,))
    with pytest.raises(h.ProgrammingError, match="not a string"):
        conn.execute("INSERT INTO t VALUES (?, ?)", "ab")
    with pytest.raises(h.ProgrammingError, match="did not supply a value for binding parameter :b"):
        conn.execute("INSERT INTO t VALUES (:a, :b)", {"a": 1})
    with pytest.raises(h.ProgrammingError, match="positional"):
        conn.execute("INSERT INTO t VALUES (?, ?)", {"a": 1})
    with pytest.raises(h.ProgrammingError, match="type 'object' is not supported"):
        conn.execute("INSERT INTO t VALUES (?, ?)", (1, object()))
    with pytest.raises(OverflowError):
        conn.execute("INSERT INTO t VALUES (?, ?)", (1, 2**70))
    with pytest.raises(h.ProgrammingError, match="parameters must be"):
        conn.execute("INSERT INTO t VALUES (?, ?)", 5)
    # Extra names in a mapping are ignored, as in sqlite3.
    conn.execute("INSERT INTO t VALUES (:a, :b)", {"a": 1, "b": 2, "c": 3})


def test_transaction_misuse_is_an_operational_error(conn):
    with pytest.raises(h.OperationalError, match="no transaction is active"):
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    with pytest.raises(h.OperationalError, match="within a transaction"):
        conn.execute("BEGIN")
    conn.rollback()


def test_unsupported_statements(conn):
    conn.execute("BEGIN")
    with pytest.raises(h.NotSupportedError):
        conn.execute("ATTACH DATABASE 'other' AS other")
    # SAVEPOINT is supported: it nests inside the transaction.
    conn.execute("SAVEPOINT a")
    conn.execute("RELEASE a")
    conn.rollback()


def test_closed_objects(conn):
    cur = conn.cursor()
    cur.close()
    with pytest.raises(h.ProgrammingError, match="closed cursor"):
        cur.execute("SELECT 1")
    conn.close()
    with pytest.raises(h.ProgrammingError, match="closed database"):
        conn.execute("SELECT 1")
    with pytest.raises(h.ProgrammingError):
        conn.commit()
    with pytest.raises(h.ProgrammingError):
        conn.close()


def test_fetch_without_a_result_set(conn):
    cur = conn.cursor()
    with pytest.raises(h.ProgrammingError, match="no result set"):
        cur.fetchone()
    cur.execute("CREATE TABLE t (a)")
    with pytest.raises(h.ProgrammingError, match="no result set"):
        cur.fetchall()


def test_executemany_refuses_queries(conn):
    with pytest.raises(h.ProgrammingError, match="executemany"):
        conn.executemany("SELECT ?", [(1,), (2,)])


@pytest.mark.parametrize(
    "config, message",
    [
        ({"memory_limt_mb": 64}, "unknown field `memory_limt_mb`, expected one of .* in `database`"),
        ({"memory_limit_mb": 1}, "database.memory_limit_mb: 1 is out of range"),
        ({"snapshot": {"max_snapshots": "many"}}, "invalid type"),
        ({"storage": {"time_travel": True}}, "unknown field `time_travel`"),
        ({"page_size": 1000}, "database.page_size"),
        ({"memory_limit_mb": object()}, "not allowed"),
        ("no-such-file.toml", "cannot read configuration file"),
        (42, "config must be a dict"),
    ],
)
def test_configuration_errors_name_the_key(tmp_path, config, message):
    with pytest.raises(h.ProgrammingError, match=message):
        h.Connection.open(path=str(tmp_path / "db"), config=config)


def test_configuration_file_and_the_brief_shape(tmp_path):
    toml = tmp_path / "heliosdb.toml"
    toml.write_text(f'[database]\npath = "{tmp_path / "db"}"\nmemory_limit_mb = 64\n')
    c = h.Connection.open(config=str(toml))
    c.execute("CREATE TABLE t (a)")
    c.close()
    assert (tmp_path / "db").is_dir()
    with pytest.raises(h.ProgrammingError, match="no database given"):
        h.Connection.open(config={"memory_limit_mb": 64})


def test_interrupt_from_another_thread(conn):
    import threading

    conn.execute("CREATE TABLE n (x INTEGER)")
    conn.executemany("INSERT INTO n VALUES (?)", ((i,) for i in range(2000)))
    conn.commit()
    timer = threading.Timer(0.2, conn.interrupt)
    timer.start()
    with pytest.raises(h.OperationalError, match="interrupted"):
        # A cross join big enough to run for minutes.
        conn.execute("SELECT count(*) FROM n a, n b, n c").fetchall()
    timer.join()
    assert conn.execute("SELECT count(*) FROM n").fetchone() == (2000,)
