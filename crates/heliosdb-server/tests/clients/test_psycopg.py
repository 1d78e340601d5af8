"""psycopg 3 against the server: DDL, DML with parameters (psycopg leaves strings
untyped), RETURNING, AS OF queries, SET heliosdb.as_of, transactions, SQLSTATEs, and a
wrong password refused."""

import decimal

import pytest

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg is not installed (scripts/test-server-clients installs it)"
)


def connect(server, **kw):
    return psycopg.connect(server.conninfo(**kw))


def test_ddl_dml_returning_and_time_travel(server):
    with connect(server) as conn:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, "
            "balance DECIMAL(12,2))"
        )
        cur.execute(
            "INSERT INTO accounts (id, owner, balance) VALUES (%s, %s, %s), (%s, %s, %s)",
            (1, "ada", decimal.Decimal("100.50"), 2, "grace", decimal.Decimal("7")),
        )
        assert cur.rowcount == 2
        cur.execute("SELECT current_scn()")
        (before,) = cur.fetchone()
        cur.execute(
            "UPDATE accounts SET balance = balance + %s WHERE owner = %s RETURNING id, balance",
            (decimal.Decimal("1.25"), "ada"),
        )
        assert cur.fetchall() == [(1, decimal.Decimal("101.75"))]
        cur.execute("SELECT owner, balance FROM accounts WHERE id = %s", (1,))
        assert cur.fetchone() == ("ada", decimal.Decimal("101.75"))
        # History: the balance as it was, with the point as a parameter.
        cur.execute(
            "SELECT balance FROM accounts AS OF SCN %s WHERE id = %s", (before, 1)
        )
        assert cur.fetchone() == (decimal.Decimal("100.50"),)
        cur.execute(f"SET heliosdb.as_of = 'SCN {before}'")
        cur.execute("SHOW heliosdb.as_of")
        assert "SCN" in cur.fetchone()[0]
        cur.execute("SELECT balance FROM accounts WHERE id = 1")
        assert cur.fetchone() == (decimal.Decimal("100.50"),)
        # Writes fail while the session reads history (the DELETE below finds grace).
        with pytest.raises(psycopg.Error):
            cur.execute("DELETE FROM accounts")
        cur.execute("RESET heliosdb.as_of")
        cur.execute("DELETE FROM accounts WHERE id = %s RETURNING owner", (2,))
        assert cur.fetchall() == [("grace",)]
        assert cur.statusmessage == "DELETE 1"


def test_transactions(server):
    with connect(server) as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, note TEXT)")
    with connect(server) as conn:
        # psycopg opens a transaction block before the first statement.
        conn.execute("INSERT INTO ledger VALUES (%s, %s)", (1, "kept"))
        conn.commit()
        conn.execute("INSERT INTO ledger VALUES (%s, %s)", (2, "undone"))
        conn.rollback()
        with conn.transaction():
            conn.execute("INSERT INTO ledger VALUES (%s, %s)", (3, "kept too"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO ledger VALUES (%s, %s)", (1, "duplicate"))
        # The failed statement aborted the block, as in PostgreSQL.
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        rows = conn.execute("SELECT id, note FROM ledger ORDER BY id").fetchall()
        assert rows == [(1, "kept"), (3, "kept too")]


@pytest.mark.parametrize(
    "sql, sqlstate",
    [
        ("SELEC 1", "42601"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM ledger", "42703"),
        ("INSERT INTO ledger (id, note) VALUES (1, 'x')", "23505"),
        ("SELECT * FROM ledger AS OF SCN 999999999", "22023"),
    ],
)
def test_errors_carry_sqlstates(server, sql, sqlstate):
    with connect(server) as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, note TEXT)")
        conn.execute("INSERT OR IGNORE INTO ledger VALUES (1, 'kept')")
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql)
        assert e.value.sqlstate == sqlstate, str(e.value)


def test_wrong_password_is_refused(server):
    with pytest.raises(psycopg.OperationalError) as e:
        connect(server, password="not the password")
    assert "password authentication failed" in str(e.value).lower()
