"""The sqlite3-style extras of Connection: create_function, total_changes,
in_transaction and isolation_level."""

import decimal
import threading

import pytest

import heliosdb_lite as h


def test_create_function_is_callable_from_sql(conn):
    conn.create_function("twice", 1, lambda x: None if x is None else x * 2)
    assert conn.execute("SELECT twice(21), twice('ab'), twice(NULL)").fetchone() == (
        42,
        "abab",
        None,
    )
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    assert conn.execute("SELECT sum(twice(v)) FROM t WHERE twice(v) > 2").fetchone() == (10,)
    # Names ignore case, as in SQLite.
    assert conn.execute("SELECT TWICE(4)").fetchone() == (8,)


def test_create_function_argument_counts_and_types(conn):
    conn.create_function("nargs", -1, lambda *a: len(a))
    conn.create_function("nargs", 2, lambda a, b: "two")
    assert conn.execute("SELECT nargs(), nargs(1, 2), nargs(1, 2, 3)").fetchone() == (
        0,
        "two",
        3,
    )
    conn.create_function("kinds", -1, lambda *a: ",".join(type(x).__name__ for x in a))
    conn.execute("CREATE TABLE d (x DECIMAL(10,2))")
    conn.execute("INSERT INTO d VALUES (1.25)")
    assert conn.execute("SELECT kinds(1, 1.5, 'a', x'00', NULL, x) FROM d").fetchone() == (
        "int,float,str,bytes,NoneType,Decimal",
    )
    conn.create_function("dec", 0, lambda: decimal.Decimal("2.50"))
    assert conn.execute("SELECT dec()").fetchone() == (decimal.Decimal("2.50"),)
    with pytest.raises(h.ProgrammingError, match="wrong number of arguments"):
        conn.execute("SELECT dec(1)")


def test_create_function_exceptions_and_bad_results_are_operational_errors(conn):
    conn.create_function("boom", 1, lambda x: 1 / x)
    assert conn.execute("SELECT boom(4)").fetchone() == (0.25,)
    with pytest.raises(h.OperationalError, match="boom.*ZeroDivisionError"):
        conn.execute("SELECT boom(0)")
    conn.create_function("weird", 0, lambda: object())
    with pytest.raises(h.OperationalError, match="weird"):
        conn.execute("SELECT weird()")
    with pytest.raises(TypeError):
        conn.create_function("nope", 1, "not callable")
    with pytest.raises(h.ProgrammingError):
        conn.create_function("bad(name", 1, lambda x: x)
    with pytest.raises(h.ProgrammingError):
        conn.create_function("many", 128, lambda *a: 0)


def test_create_function_deterministic_is_called_once_per_argument_list(conn):
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(20)])
    calls = []

    def record(x):
        calls.append(x)
        return x

    conn.create_function("det", 1, record, deterministic=True)
    conn.create_function("vol", 1, record)
    assert conn.execute("SELECT sum(det(5)) FROM t").fetchone() == (100,)
    assert len(calls) == 1
    calls.clear()
    assert conn.execute("SELECT sum(vol(5)) FROM t").fetchone() == (100,)
    assert len(calls) == 20


def test_create_function_none_removes_and_definitions_override_built_ins(conn):
    conn.create_function("upper", 1, lambda s: "mine")
    assert conn.execute("SELECT upper('a')").fetchone() == ("mine",)
    conn.create_function("upper", 1, None)
    assert conn.execute("SELECT upper('a')").fetchone() == ("A",)
    conn.create_function("gone", 0, lambda: 1)
    conn.create_function("gone", 0, None)
    with pytest.raises(h.ProgrammingError, match="no such function: gone"):
        conn.execute("SELECT gone()")


def test_create_function_cannot_use_its_own_connection(conn):
    conn.create_function("sneaky", 0, lambda: conn.execute("SELECT 1").fetchone()[0])
    with pytest.raises(h.OperationalError, match="cannot use the connection that calls it"):
        conn.execute("SELECT sneaky()")
    # The connection still works afterwards.
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_create_function_stays_out_of_stored_expressions(conn):
    conn.create_function("positive", 1, lambda x: int(x > 0), deterministic=True)
    # Refused when the table is created, or at the latest when the default is first used
    # (the library checks stored expressions at CREATE TABLE).
    with pytest.raises(h.ProgrammingError, match="no such function: positive"):
        conn.execute("CREATE TABLE t (a INTEGER DEFAULT (positive(1)))")
        conn.execute("INSERT INTO t DEFAULT VALUES")


def test_create_function_runs_while_other_threads_use_the_connection(auto):
    auto.execute("CREATE TABLE t (v INTEGER)")
    auto.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(200)])
    auto.create_function("slow_double", 1, lambda x: x * 2)
    errors = []

    def worker():
        try:
            for _ in range(20):
                assert auto.execute("SELECT sum(slow_double(v)) FROM t").fetchone() == (39800,)
                # A write holds the session while it calls the function.
                auto.execute("UPDATE t SET v = slow_double(v) / 2 WHERE v = 0")
                auto.in_transaction
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []


def test_total_changes(conn):
    assert conn.total_changes == 0
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.execute("UPDATE t SET v = v + 1")
    conn.execute("DELETE FROM t WHERE v = 2")
    assert conn.total_changes == 7
    conn.rollback()
    # Like sqlite3: changes rolled back still count.
    assert conn.total_changes == 7
    conn.close()
    with pytest.raises(h.ProgrammingError):
        conn.total_changes


def test_in_transaction_follows_implicit_and_explicit_transactions(conn, auto):
    conn.execute("CREATE TABLE t (v INTEGER)")
    assert not conn.in_transaction
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    conn.commit()
    assert not conn.in_transaction
    auto.execute("CREATE TABLE t (v INTEGER)")
    auto.execute("INSERT INTO t VALUES (1)")
    assert not auto.in_transaction
    auto.execute("BEGIN")
    assert auto.in_transaction
    auto.execute("ROLLBACK")
    assert not auto.in_transaction


def test_isolation_level(tmp_path):
    c = h.connect(str(tmp_path / "db"))
    assert c.isolation_level == ""
    c.execute("CREATE TABLE t (v INTEGER)")
    c.execute("INSERT INTO t VALUES (1)")
    assert c.in_transaction
    # Setting None is autocommit mode: the open transaction is committed.
    c.isolation_level = None
    assert c.autocommit and not c.in_transaction
    c.execute("INSERT INTO t VALUES (2)")
    assert not c.in_transaction
    c.isolation_level = "immediate"
    assert c.isolation_level == "immediate" and not c.autocommit
    c.execute("INSERT INTO t VALUES (3)")
    assert c.in_transaction
    c.commit()
    assert c.execute("SELECT count(*) FROM t").fetchone() == (3,)
    for bad in ("SERIALIZABLE", "begin"):
        with pytest.raises(ValueError, match="isolation_level string must be"):
            c.isolation_level = bad
    with pytest.raises(TypeError):
        c.isolation_level = 1
    assert h.connect(":memory:", isolation_level=None).autocommit
    assert h.connect(":memory:", isolation_level="EXCLUSIVE").isolation_level == "EXCLUSIVE"
    with pytest.raises(ValueError):
        h.connect(":memory:", isolation_level="READ COMMITTED")
    c.close()
