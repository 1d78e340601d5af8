"""Insert and point-select throughput from Python: heliosdb_lite against the standard
sqlite3 module, in the same process run.

Durability is matched as in the Rust benchmark (docs/benchmarks.md): SQLite in WAL mode with
synchronous=NORMAL, HeliosDB-Lite with enable_wal = false (commits reach the OS before they
are acknowledged, not the disk). Both are file databases in a temporary directory.

    python bench_vs_sqlite3.py [--rounds N] [--lookups N] [--json FILE]
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


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def run(conns, rounds, autocommit_rows, txn_rows, lookups):
    """Runs each workload in `rounds` rounds, the engines taking turns within a round, so
    that a change of load on a shared machine hits both alike; returns the median rate of
    each workload per engine."""
    for c in conns.values():
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)")
    rates = {name: {} for name in conns}
    next_id = 0

    def record(workload, name, ops, seconds):
        rates[name].setdefault(workload, []).append(ops / seconds)

    for _ in range(rounds):
        base = next_id
        next_id += autocommit_rows + txn_rows
        for name, c in conns.items():
            cur = c.cursor()
            rows = [(i, f"name-{i}", i % 1000) for i in range(base, base + autocommit_rows)]
            t = time.perf_counter()
            for p in rows:
                cur.execute("INSERT INTO t VALUES (?, ?, ?)", p)
            record("insert, autocommit (one commit per row)", name, len(rows), time.perf_counter() - t)
            rows = [
                (i, f"name-{i}", i % 1000)
                for i in range(base + autocommit_rows, base + autocommit_rows + txn_rows)
            ]
            t = time.perf_counter()
            cur.execute("BEGIN")
            for p in rows:
                cur.execute("INSERT INTO t VALUES (?, ?, ?)", p)
            cur.execute("COMMIT")
            record("insert, one transaction (per row)", name, len(rows), time.perf_counter() - t)
    rng = random.Random(7)
    keys = [rng.randrange(next_id) for _ in range(lookups)]
    for _ in range(rounds):
        for name, c in conns.items():
            cur = c.cursor()
            t = time.perf_counter()
            for k in keys:
                cur.execute("SELECT name, score FROM t WHERE id = ?", (k,))
                cur.fetchone()
            record("point select by primary key", name, len(keys), time.perf_counter() - t)
    for c in conns.values():
        assert c.execute("SELECT count(*) FROM t").fetchone()[0] == next_id
    return {name: {w: median(v) for w, v in r.items()} for name, r in rates.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--autocommit-rows", type=int, default=2_000)
    ap.add_argument("--txn-rows", type=int, default=20_000)
    ap.add_argument("--lookups", type=int, default=20_000)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        conns = {"sqlite3": open_sqlite(d), "heliosdb_lite": open_helios(d)}
        out = run(conns, args.rounds, args.autocommit_rows, args.txn_rows, args.lookups)
        for c in conns.values():
            c.close()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{args.rounds} rounds of {args.autocommit_rows} + {args.txn_rows} inserts and "
        f"{args.lookups} lookups; median rate of the rounds"
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
