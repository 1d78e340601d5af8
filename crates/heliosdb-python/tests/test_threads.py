"""One connection, many threads: statements interleave safely, the GIL is released while
the engine works, and a cursor stays with the thread that executed it."""

import threading
import time

import pytest

import heliosdb_lite as h


def test_threads_share_one_connection(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"), config={"enable_wal": False})
    c.execute("CREATE TABLE t (thread INTEGER, i INTEGER)")
    errors = []

    def work(n):
        try:
            for i in range(200):
                c.execute("INSERT INTO t VALUES (?, ?)", (n, i))
                if i % 20 == 0:
                    cur = c.execute("SELECT count(*) FROM t WHERE thread = ?", (n,))
                    assert cur.fetchone() == (i + 1,)
        except Exception as e:  # reported below: an assert in a thread is lost otherwise
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert c.execute("SELECT count(*), count(DISTINCT thread) FROM t").fetchone() == (1600, 8)
    # Every insert was its own version.
    assert len(list(c.snapshots())) == 1601
    c.close()


def test_the_gil_is_released_while_a_query_runs(conn):
    conn.execute("CREATE TABLE n (x INTEGER)")
    conn.executemany("INSERT INTO n VALUES (?)", ((i,) for i in range(150)))
    conn.commit()
    done = threading.Event()
    result = []

    def query():
        # About 3.4 million joined rows: long enough to watch the main thread meanwhile.
        result.append(conn.execute("SELECT count(*) FROM n a, n b, n c").fetchone())
        done.set()

    t = threading.Thread(target=query)
    started = time.perf_counter()
    t.start()
    spins = 0
    while not done.is_set():
        spins += 1
    elapsed = time.perf_counter() - started
    t.join()
    assert result == [(150**3,)]
    # With the GIL held by the query, the loop could only run between switch intervals;
    # released, it runs freely (millions of spins a second).
    assert elapsed > 0.05
    assert spins / elapsed > 100_000, (spins, elapsed)


def test_readers_run_side_by_side_with_a_writer(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"), config={"enable_wal": False})
    c.execute("CREATE TABLE t (a INTEGER)")
    c.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(5000)))
    cur = c.execute("SELECT a FROM t")  # streaming, on the snapshot of 5000 rows
    first = cur.fetchmany(10)
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            c.execute("INSERT INTO t VALUES (-1)")

    w = threading.Thread(target=writer)
    w.start()
    rest = cur.fetchall()
    stop.set()
    w.join()
    assert len(first) + len(rest) == 5000
    assert c.execute("SELECT count(*) FROM t").fetchone()[0] > 5000
    c.close()


def test_a_cursor_belongs_to_its_thread(conn):
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(1000)))
    cur = conn.execute("SELECT a FROM t")
    seen = []

    def other():
        for fetch in (cur.fetchall, lambda: cur.fetchmany(500)):
            try:
                fetch()
            except h.ProgrammingError as e:
                seen.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    # The first rows were already in the cursor; reading on needs the stream.
    assert len(seen) == 2 and all("another thread" in e for e in seen)
    # The failed fetches lost nothing: the owning thread reads every row, in order.
    rows = cur.fetchmany(700) + cur.fetchall()
    assert [r[0] for r in rows] == list(range(1000))
    cur2 = conn.execute("SELECT a FROM t")
    t = threading.Thread(target=cur2.close)
    t.start()
    t.join()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1000,)


def test_threads_with_their_own_connections_to_one_database(tmp_path):
    path = str(tmp_path / "db")
    setup = h.connect(path)
    setup.execute("CREATE TABLE t (a INTEGER)")
    setup.commit()
    errors = []

    def work(n):
        try:
            c = h.connect(path, config={"enable_wal": False})
            for i in range(50):
                with c:
                    c.execute("INSERT INTO t VALUES (?)", (n,))
            c.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert setup.execute("SELECT count(*) FROM t").fetchone() == (200,)
    setup.close()


@pytest.mark.parametrize("n", [1, 63, 64, 65, 700])
def test_stream_boundaries(conn, n):
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(n)))
    conn.commit()
    assert [r[0] for r in conn.execute("SELECT a FROM t ORDER BY a")] == list(range(n))
    assert len(conn.execute("SELECT a FROM t").fetchall()) == n


def test_closing_the_connection_frees_open_results(tmp_path):
    c = h.Connection.open(path=str(tmp_path / "db"), config={"enable_wal": False})
    c.execute("CREATE TABLE t (a INTEGER)")
    c.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(1000)))
    cur = c.execute("SELECT a FROM t")
    assert cur._stream is not None
    c.close()
    assert cur._stream is None
    with pytest.raises(h.ProgrammingError):
        cur.fetchall()


def _lock_held_by_another_connection(tmp_path, timeout):
    """Connection a holds the write lock (a transaction that inserted 1 into t); b, with
    `timeout`, is another connection to the same database."""
    path = str(tmp_path / "db")
    a = h.Connection.open(path=path, config={"enable_wal": False})
    b = h.Connection.open(path=path, timeout=timeout)
    a.execute("CREATE TABLE t (x INTEGER)")
    a.execute("BEGIN IMMEDIATE")
    a.execute("INSERT INTO t VALUES (1)")
    return a, b


def test_a_short_timeout_gives_up_soon(tmp_path):
    # sqlite3's timeout= bounds the wait for another connection's write lock.
    a, b = _lock_held_by_another_connection(tmp_path, 0.2)
    started = time.perf_counter()
    with pytest.raises(h.OperationalError, match="write lock"):
        b.execute("INSERT INTO t VALUES (2)")
    waited = time.perf_counter() - started
    assert 0.15 <= waited < 2.0, waited
    assert b.execute("PRAGMA busy_timeout").fetchone() == (200,)
    a.commit()
    b.execute("INSERT INTO t VALUES (2)")
    assert b.execute("SELECT count(*) FROM t").fetchone() == (2,)
    a.close()
    b.close()


def test_a_writer_waits_for_another_connections_transaction(tmp_path):
    a, b = _lock_held_by_another_connection(tmp_path, 1.0)
    timer = threading.Timer(0.2, a.commit)
    timer.start()
    started = time.perf_counter()
    b.execute("INSERT INTO t VALUES (2)")  # waits for a's commit
    assert time.perf_counter() - started >= 0.15
    timer.join()
    assert b.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    a.close()
    b.close()
