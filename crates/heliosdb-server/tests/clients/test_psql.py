"""psql against the server: DDL and DML, \\dt and \\d, AS OF and SET heliosdb.as_of,
transactions, an error with its SQLSTATE, and a wrong password refused."""

import os
import shutil
import subprocess

import pytest

from conftest import PASSWORD

PSQL = shutil.which("psql")
pytestmark = pytest.mark.skipif(
    PSQL is None,
    reason="psql is not installed and could not be (Debian package postgresql-client)",
)


def psql(server, *commands, password=PASSWORD, tuples=True):
    args = [PSQL, server.url(), "-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
    if tuples:
        args.append("-At")
    for c in commands:
        args += ["-c", c]
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)


def test_ddl_dml_catalog_and_time_travel(server):
    r = psql(
        server,
        "CREATE TABLE prices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2))",
        "INSERT INTO prices (name, price) VALUES ('lamp', 19.99)",
        "SELECT current_scn()",
    )
    assert r.returncode == 0, r.stderr
    scn = r.stdout.split()[-1]
    r = psql(server, "\\dt", tuples=False)
    assert r.returncode == 0 and "prices" in r.stdout, r.stderr
    r = psql(server, "\\d prices", tuples=False)
    assert "numeric(10,2)" in r.stdout and "not null" in r.stdout, r.stdout + r.stderr
    r = psql(
        server,
        "UPDATE prices SET price = 24.99 WHERE id = 1",
        f"SELECT price FROM prices AS OF SCN {scn} WHERE id = 1",
        f"SET heliosdb.as_of = 'SCN {scn}'",
        "SELECT price FROM prices WHERE id = 1",
        "RESET heliosdb.as_of",
        "SELECT price FROM prices WHERE id = 1",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["UPDATE", "1", "19.99", "SET", "19.99", "RESET", "24.99"]


def test_transactions_and_errors(server):
    r = psql(
        server,
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)",
        "BEGIN; INSERT INTO t VALUES (1); ROLLBACK",
        "BEGIN; INSERT INTO t VALUES (2); COMMIT",
        "SELECT count(*) FROM t",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "1"
    r = psql(server, "INSERT INTO t VALUES (2)")
    assert r.returncode != 0
    # VERBOSITY=verbose prints the SQLSTATE.
    assert "23505" in r.stderr, r.stderr


def test_wrong_password_is_refused(server):
    r = psql(server, "SELECT 1", password="wrong")
    assert r.returncode == 2
    assert "password authentication failed" in r.stderr.lower(), r.stderr
