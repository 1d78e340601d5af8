"""A cursor over a million rows streams them: neither Python nor the engine holds the whole
result."""

import heliosdb_lite as h


def rss_bytes():
    """Resident memory of this process now (not the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def read_measured(run, batches=False):
    """Calls `run` (which executes a query and returns its cursor) and reads every row, by
    iterating or in `fetchmany` batches; returns the row count, the sum of the first column
    and how far resident memory grew from before the query ran (so a result the engine
    materialised at execute counts too)."""
    baseline = rss_bytes()
    cur = run()
    peak_rss = max(baseline, rss_bytes())
    if batches:
        rows = (r for b in iter(lambda: cur.fetchmany(5000), []) for r in b)
    else:
        rows = iter(cur)
    n = total = 0
    for row in rows:
        n += 1
        total += row[0]
        if n % 50_000 == 0:
            peak_rss = max(peak_rss, rss_bytes())
    return n, total, peak_rss - baseline


def test_a_million_row_fetch_has_bounded_memory(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"), config={"enable_wal": False})
    c.execute("CREATE TABLE ten (d INTEGER)")
    c.executemany("INSERT INTO ten VALUES (?)", [(i,) for i in range(10)])
    c.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute(
        "INSERT INTO big SELECT a.d + 10*b.d + 100*c.d + 1000*d.d + 10000*e.d + 100000*f.d, "
        "'a row of some text to make the result heavy' "
        "FROM ten a, ten b, ten c, ten d, ten e, ten f"
    )
    for batches in (False, True):
        n, total, grown = read_measured(lambda: c.execute("SELECT id, v FROM big"), batches)
        assert n == 1_000_000
        assert total == sum(range(1_000_000))
        # Materialised, the rows would take well over 100 MB as Python tuples (and as much
        # again inside the engine); streamed, one buffer of rows is held at a time.
        assert grown < 64 * 2**20, (batches, grown)
    c.close()


def test_a_million_rows_read_inside_a_write_transaction_have_bounded_memory(tmp_path):
    # The default DB-API mode: the INSERT opens a transaction, so the query reads the
    # transaction's own writes; it runs to its end at execute and its rows beyond the first
    # few MiB wait in a temporary file.
    c = h.connect(str(tmp_path / "db"), config={"enable_wal": False})
    c.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute(
        "INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 999999) SELECT i, 'a row of some text to make the result heavy' FROM n"
    )
    c.commit()
    c.execute("INSERT INTO big VALUES (1000000, 'mine')")
    assert c.in_transaction
    n, total, grown = read_measured(lambda: c.execute("SELECT id, v FROM big"))
    assert n == 1_000_001
    assert total == sum(range(1_000_001))
    assert grown < 64 * 2**20, grown
    c.rollback()
    c.close()
