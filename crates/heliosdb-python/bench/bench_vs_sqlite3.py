"""Insert and point-select throughput from Python: heliosdb_lite against the standard
sqlite3 module, in the same process run.

Durability is matched as in the Rust benchmark (docs/benchmarks.md): SQLite in WAL mode with
synchronous=NORMAL, HeliosDB-Lite with enable_wal = false (commits reach the OS before they
are acknowledged, not the disk). Both are file databases in a temporary directory.

    python bench_vs_sqlite3.py [--rows N] [--json FILE]
"""

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time

import heliosdb_lite


def open_sqlite(d):
    c = sqlite3.connect(os.path.join(d, "bench.sqlite"), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    return c


def open_helios(d):
    return heliosdb_lite.Connection.open(
        path=os.path.join(d, "bench.heliosdb"), config={"enable_wal": False}
    )


def timed(ops, f):
    """Runs f() and returns operations per second."""
    t = time.perf_counter()
    f()
    return ops / (time.perf_counter() - t)


def workloads(conn, rows, autocommit_rows, lookups):
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)")
    payload = [(i, f"name-{i}", i % 1000) for i in range(rows)]
    results = {}

    def insert_autocommit():
        cur = conn.cursor()
        for p in payload[:autocommit_rows]:
            cur.execute("INSERT INTO t VALUES (?, ?, ?)", p)

    def insert_in_transaction():
        cur = conn.cursor()
        cur.execute("BEGIN")
        for p in payload[autocommit_rows:]:
            cur.execute("INSERT INTO t VALUES (?, ?, ?)", p)
        cur.execute("COMMIT")

    keys = [random.Random(7).randrange(rows) for _ in range(lookups)]

    def point_select():
        cur = conn.cursor()
        for k in keys:
            cur.execute("SELECT name, score FROM t WHERE id = ?", (k,))
            cur.fetchone()

    results["insert, autocommit (one commit per row)"] = timed(autocommit_rows, insert_autocommit)
    results["insert, one transaction (per row)"] = timed(
        rows - autocommit_rows, insert_in_transaction
    )
    results["point select by primary key"] = timed(lookups, point_select)
    n = conn.execute("SELECT count(*) FROM t").fetchone()[0]
    assert n == rows, n
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--autocommit-rows", type=int, default=5_000)
    ap.add_argument("--lookups", type=int, default=100_000)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, opener in (("sqlite3", open_sqlite), ("heliosdb_lite", open_helios)):
            conn = opener(d)
            out[name] = workloads(conn, args.rows, args.autocommit_rows, args.lookups)
            conn.close()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{args.rows} rows, {args.lookups} lookups"
    )
    print(f"| workload | sqlite3 ops/s | heliosdb_lite ops/s | heliosdb_lite time / sqlite3 time |")
    print("|---|---:|---:|---:|")
    for w in out["sqlite3"]:
        s, hdb = out["sqlite3"][w], out["heliosdb_lite"][w]
        print(f"| {w} | {s:,.0f} | {hdb:,.0f} | {s / hdb:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "ops_per_second": out}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
