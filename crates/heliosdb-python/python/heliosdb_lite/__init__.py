"""HeliosDB-Lite for Python: an embedded SQL database whose every committed state stays
queryable, as a DB-API 2.0 (PEP 249) module modelled on ``sqlite3``.

    import heliosdb_lite
    conn = heliosdb_lite.connect("app.db")          # a directory, created if needed
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO t (v) VALUES (?)", ("first",))
    conn.commit()
    scn = conn.current_scn()
    conn.execute("UPDATE t SET v = 'second'")
    conn.commit()
    conn.execute("SELECT v FROM t", as_of={"scn": scn}).fetchone()   # ('first',)

Time travel: ``as_of=`` on ``execute`` reads every table reference that has no ``AS OF``
clause of its own at a past point: a ``datetime`` (naive means UTC), ``{"scn": n}``,
``{"transaction": n}`` or ``{"before_transaction": n}``.

Threads (``threadsafety = 2``): threads may share the module and connections. Statements
from several threads on one connection run one at a time on its session (an explicit
transaction is the connection's, shared by every thread using it); queries outside a
transaction run side by side. The GIL is released while the engine works. A cursor belongs
to the thread that executed it.
"""

import datetime as _datetime
import time as _time
import weakref as _weakref

from . import _native
from . import exceptions as _exceptions
from .exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    SnapshotNotAvailableError,
    SnapshotTooOldError,
    Warning,
)

__all__ = [
    "connect",
    "Connection",
    "Cursor",
    "Row",
    "apilevel",
    "threadsafety",
    "paramstyle",
    "Date",
    "Time",
    "Timestamp",
    "DateFromTicks",
    "TimeFromTicks",
    "TimestampFromTicks",
    "Binary",
    "STRING",
    "BINARY",
    "NUMBER",
    "DATETIME",
    "ROWID",
    *_exceptions.__all__,
]

#: PEP 249 globals.
apilevel = "2.0"
#: Threads may share the module and connections, not cursors.
threadsafety = 2
#: ``?`` placeholders; ``:name`` (with a mapping) is accepted as well.
paramstyle = "qmark"

#: Version of the engine this module was built with.
version = _native.ENGINE_VERSION

# PEP 249 type constructors.
Date = _datetime.date
Time = _datetime.time
Timestamp = _datetime.datetime
Binary = bytes


def DateFromTicks(ticks):
    """The local date of a POSIX timestamp (PEP 249)."""
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks):
    """The local time of day of a POSIX timestamp (PEP 249)."""
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks):
    """The local date and time of a POSIX timestamp (PEP 249)."""
    return Timestamp(*_time.localtime(ticks)[:6])


class _TypeObject:
    """A PEP 249 type object: equal to every type code of its group. The type code in
    ``Cursor.description`` is the declared type group of a result column that is a plain
    column reference (``"INTEGER"``, ``"REAL"``, ``"NUMERIC"``, ``"TEXT"``, ``"BLOB"``,
    ``"DECIMAL"``, ``"TIMESTAMP"``), and ``None`` for a computed column."""

    def __init__(self, *names):
        self.values = frozenset(names)

    def __eq__(self, other):
        return other in self.values

    def __hash__(self):
        return hash(self.values)


STRING = _TypeObject("TEXT")
BINARY = _TypeObject("BLOB")
NUMBER = _TypeObject("INTEGER", "REAL", "NUMERIC", "DECIMAL")
DATETIME = _TypeObject("TIMESTAMP")
ROWID = _TypeObject("INTEGER")

class Row:
    """A result row with access by position and by column name (case-insensitive), like
    ``sqlite3.Row``: set ``connection.row_factory = heliosdb_lite.Row``."""

    __slots__ = ("_values", "_index")

    def __init__(self, cursor, values):
        self._values = tuple(values)
        self._index = cursor._name_index()

    def keys(self):
        """The column names."""
        return list(self._index["\0names"])

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return self._values[key]

    def __len__(self):
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __eq__(self, other):
        if isinstance(other, Row):
            return self.keys() == other.keys() and self._values == other._values
        return NotImplemented

    def __hash__(self):
        return hash((tuple(self.keys()), self._values))

    def __repr__(self):
        return f"<heliosdb_lite.Row {dict(zip(self.keys(), self._values))!r}>"


class Cursor(_native.Cursor):
    """A DB-API cursor. Query results stream: rows are read from the engine as they are
    fetched, a few hundred at a time, on the snapshot the query started at.

    Attributes: ``connection``; ``description`` (seven-item tuples, one per result column,
    name first; ``None`` without a result set); ``rowcount`` (rows the last INSERT, UPDATE,
    DELETE or ``executemany`` changed, -1 otherwise); ``lastrowid`` (rowid of the last row
    inserted by ``execute`` on this cursor); ``arraysize`` (rows ``fetchmany()`` returns by
    default); ``row_factory`` (called as ``row_factory(cursor, row_tuple)`` for each row, if
    set; taken from the connection when the cursor is made).

    Methods: ``execute(sql, parameters=None, *, as_of=None)`` (``as_of`` reads every table
    that has no ``AS OF`` clause of its own at a past point: a ``datetime``, naive means
    UTC, ``{"scn": n}``, ``{"transaction": n}`` or ``{"before_transaction": n}``),
    ``executemany``, ``executescript``, ``fetchone``, ``fetchmany``, ``fetchall``,
    iteration, ``close``, ``setinputsizes`` and ``setoutputsize`` (which do nothing).

    The cursor is implemented natively (every statement passes through it); subclasses
    may add to it and call ``super().__init__(connection)``.
    """



class Connection:
    """A connection to a database directory (or ``:memory:``). Open one with
    :func:`connect` (DB-API transactions) or :meth:`Connection.open` (autocommit)."""

    # PEP 249's optional extension: the exceptions as attributes of the connection.
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(
        self,
        database=None,
        *,
        config=None,
        autocommit=False,
        timeout=5.0,
        detect_types=True,
        read_only=False,
        isolation_level="",
    ):
        if database is not None and not isinstance(database, str):
            import os

            database = os.fspath(database)
        begin = _begin_statement(isolation_level)
        self._native = _native.NativeConnection(database, config, read_only, float(timeout))
        self._autocommit = bool(autocommit) or isolation_level is None
        self._isolation_level = "" if isolation_level is None else isolation_level
        self._begin = begin
        self._detect_types = bool(detect_types)
        self._sync_mode()
        #: Applied to the rows of cursors created afterwards (``heliosdb_lite.Row``, or any
        #: callable ``f(cursor, row_tuple)``).
        self.row_factory = None
        # Cursors still alive, so that close() can free their open results (each pins a
        # snapshot, which holds back garbage collection).
        self._cursors = _weakref.WeakSet()

    @classmethod
    def open(cls, path=None, config=None, *, autocommit=True, **kwargs):
        """Opens the database at ``path`` with ``config``, a dict shaped like
        ``heliosdb.toml`` (``{"memory_limit_mb": 512, "snapshot": {...}}``; keys outside a
        section belong to ``[database]``) or the path of such a file. Connections opened
        this way are in autocommit mode: every statement is its own transaction (and so its
        own version) unless you run BEGIN."""
        return cls(path, config=config, autocommit=autocommit, **kwargs)

    def _sync_mode(self):
        """Hands the mode to the native connection, where the (native) cursors read it."""
        if self._native is not None:
            self._native.set_mode(self._autocommit, self._begin, self._detect_types)

    @property
    def detect_types(self):
        """Convert DATE / DATETIME / TIMESTAMP columns to ``datetime.date`` /
        ``datetime.datetime`` (default); False keeps their text, like ``sqlite3`` without
        ``detect_types``."""
        return self._detect_types

    @detect_types.setter
    def detect_types(self, value):
        self._detect_types = bool(value)
        self._sync_mode()

    def _live(self):
        native = self._native
        if native is None:
            raise ProgrammingError("cannot operate on a closed database")
        return native

    # -- transactions -------------------------------------------------------------------

    @property
    def autocommit(self):
        """True: every statement commits on its own (BEGIN still opens a transaction).
        False (the DB-API default of :func:`connect`): INSERT, UPDATE, DELETE and REPLACE
        open a transaction that lasts until :meth:`commit` or :meth:`rollback`. Setting it
        to True commits an open transaction."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value):
        value = bool(value)
        if value and not self._autocommit and self.in_transaction:
            self.commit()
        self._autocommit = value
        self._sync_mode()

    @property
    def isolation_level(self):
        """How implicit transactions begin, as in ``sqlite3``: ``""`` or ``"DEFERRED"``
        (the default: the transaction takes the write lock at its first write),
        ``"IMMEDIATE"`` or ``"EXCLUSIVE"`` (it takes the write lock at once, so a second
        writer waits at its BEGIN rather than at its first write; the two are the same
        here, since readers never block); ``None`` in autocommit mode. Setting ``None``
        turns autocommit on (committing an open transaction); setting a string turns it
        off. Every transaction reads one snapshot whatever the level (snapshot
        isolation, with writers serialised)."""
        return None if self._autocommit else self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value):
        begin = _begin_statement(value)
        if value is None:
            self.autocommit = True
            return
        self._isolation_level = value
        self._begin = begin
        self._autocommit = False
        self._sync_mode()

    @property
    def in_transaction(self):
        """True while a transaction is open."""
        return self._live().in_transaction

    @property
    def total_changes(self):
        """Rows inserted, updated or deleted since the connection was opened (as
        ``sqlite3``'s ``total_changes``)."""
        return self._live().total_changes

    def commit(self):
        """Commits the open transaction, if any."""
        native = self._live()
        if native.in_transaction:
            native.execute("COMMIT")

    def rollback(self):
        """Rolls the open transaction back, if any."""
        native = self._live()
        if native.in_transaction:
            native.execute("ROLLBACK")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        """Commits when the block succeeds, rolls back when it raises; the connection stays
        open (as in ``sqlite3``)."""
        if self._native is None:
            return False
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    def close(self):
        """Closes the connection; an uncommitted transaction is rolled back. As PEP 249
        says, the connection is unusable afterwards: any operation on it, closing it again
        included, raises ``ProgrammingError``."""
        native = self._live()
        self._native = None
        for cur in list(self._cursors):
            cur._end_result()
        native.close()

    # -- statements ---------------------------------------------------------------------

    def cursor(self, factory=Cursor):
        """A new cursor."""
        self._live()
        cur = factory(self)
        self._cursors.add(cur)
        return cur

    def execute(self, sql, parameters=None, *, as_of=None):
        """``cursor().execute(...)``; returns the cursor."""
        return self.cursor().execute(sql, parameters, as_of=as_of)

    def executemany(self, sql, seq_of_parameters):
        """``cursor().executemany(...)``; returns the cursor."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script):
        """``cursor().executescript(...)``; returns the cursor."""
        return self.cursor().executescript(sql_script)

    def create_function(self, name, narg, func, *, deterministic=False):
        """Defines the SQL function ``name`` taking ``narg`` arguments (-1: any number),
        computed by ``func`` (called with the argument values, returning an int, float,
        str, bytes, ``Decimal``, ``datetime`` or ``None``), as in ``sqlite3``. ``func=None``
        removes the definition. A name may be defined once per argument count; a
        definition overrides a built-in of the same name. ``deterministic=True`` promises
        that the same arguments give the same result: a statement then calls ``func`` once
        per distinct argument list. An exception ``func`` raises fails the statement with
        ``OperationalError``. The function belongs to this connection and cannot be used in
        CHECK constraints, DEFAULTs, generated columns or indexes; ``func`` may not use
        this connection (``ProgrammingError``)."""
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        if isinstance(narg, bool) or not isinstance(narg, int):
            raise TypeError("narg must be an int")
        if not -(2**31) <= narg < 2**31:
            raise ProgrammingError(f"bad argument count {narg}: give -1 (any) or 0 to 127")
        self._live().create_function(name, narg, func, bool(deterministic))

    def interrupt(self):
        """Cancels the statement this connection is running (from any thread); it fails
        with ``OperationalError``."""
        self._live().interrupt()

    def backup(self, target, *, pages=-1, progress=None, name="main", sleep=0.250):
        """Copies the whole database, its retained history included, into ``target``: the
        path (``str``, ``bytes`` or ``os.PathLike``) of a new database directory, which
        must not exist (an empty directory or empty file is replaced) and whose parent
        must. Other connections and threads may keep writing: the copy holds exactly the
        commits up to one instant, and answers every ``as_of`` point this database still
        retains as this database does. Returns nothing, as ``sqlite3`` does.

        Modelled on ``sqlite3.Connection.backup``, with these differences: ``target``
        cannot be another ``Connection`` (a HeliosDB-Lite database is a directory its
        connection holds open; open the copy after the backup instead), which raises
        ``NotSupportedError``. The copy is made in one step from one snapshot, so
        ``pages`` and ``sleep`` are only checked (an int, a number >= 0), and
        ``progress``, if given, is called once, at the end, as
        ``progress(0, 0, entries)`` (the storage entries copied). ``name`` must be
        ``"main"``. Refused with ``OperationalError`` inside a transaction (commit first),
        and when ``target`` holds anything."""
        native = self._live()
        if isinstance(target, Connection):
            raise NotSupportedError(
                "backup to a Connection is not supported: pass the path of a new "
                "database directory, then open it"
            )
        import os

        if not isinstance(target, (str, bytes, os.PathLike)):
            raise TypeError(
                "backup() target must be a path (str, bytes or os.PathLike), not "
                + type(target).__name__
            )
        if isinstance(pages, bool) or not isinstance(pages, int):
            raise TypeError("pages must be an int")
        if progress is not None and not callable(progress):
            raise TypeError("progress argument must be a callable")
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        if name.lower() != "main":
            raise OperationalError(f"unknown database {name}")
        if isinstance(sleep, bool) or not isinstance(sleep, (int, float)) or sleep < 0:
            raise TypeError("sleep must be a number >= 0")
        if self.in_transaction:
            raise OperationalError(
                "cannot back up from within a transaction; commit or roll back first"
            )
        _scn, entries, _bytes = native.backup(os.fsdecode(os.fspath(target)))
        if progress is not None:
            progress(0, 0, entries)

    # -- time travel --------------------------------------------------------------------

    def current_scn(self):
        """The newest commit sequence number (0 before the first commit)."""
        return self._live().current_scn()

    def last_txn_id(self):
        """Transaction id of the last write transaction this connection committed, or
        ``None``."""
        return self._live().last_txn_id()

    def snapshots(self, since=None, limit=None):
        """Returns an iterator over the retained snapshots ``(scn, txn_id, committed_at)``,
        oldest first (``committed_at`` is a naive UTC ``datetime``): those committed after
        ``since`` (an SCN, or a ``datetime``), at most ``limit`` of them."""
        since_scn = since_us = None
        if isinstance(since, _datetime.datetime):
            if since.tzinfo is not None:
                since = since.astimezone(_datetime.timezone.utc).replace(tzinfo=None)
            since_us = (since - _datetime.datetime(1970, 1, 1)) // _datetime.timedelta(
                microseconds=1
            )
        elif since is not None:
            if isinstance(since, bool) or not isinstance(since, int) or since < 0:
                raise ProgrammingError("since must be an SCN (int >= 0) or a datetime")
            since_scn = since
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ProgrammingError("limit must be an int >= 0")
        # Checked now, not when the caller first iterates (as a generator would).
        return iter(self._live().snapshots(since_scn, since_us, limit))

    def gc(self):
        """Runs history garbage collection now; returns a dict of what it removed:
        ``snapshots_removed``, ``versions_removed``, ``bytes_removed``, ``oldest_scn`` (the
        oldest point still readable) and ``elapsed_ms``."""
        return self._live().gc()


_ISOLATION_LEVELS = ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def _begin_statement(isolation_level):
    """The BEGIN an implicit transaction runs for ``isolation_level`` (``None``:
    autocommit, checked by the caller)."""
    if isolation_level is None:
        return "BEGIN"
    if not isinstance(isolation_level, str):
        raise TypeError("isolation_level must be a str or None")
    level = isolation_level.upper()
    if level not in _ISOLATION_LEVELS:
        raise ValueError(
            "isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'"
        )
    return f"BEGIN {level}".rstrip()


def connect(
    database,
    *,
    config=None,
    autocommit=False,
    timeout=5.0,
    detect_types=True,
    read_only=False,
    isolation_level="",
):
    """Opens a connection (PEP 249).

    ``database``: a directory (created if needed) or ``":memory:"``. ``config``: a dict
    shaped like ``heliosdb.toml``, or the path of such a file. ``autocommit``: see
    :attr:`Connection.autocommit`. ``timeout``: seconds a statement outside a transaction
    keeps trying while another writer holds the database (each try waits up to the engine's
    own 5 seconds, so shorter values act as 5). ``detect_types``: convert DATE
    and TIMESTAMP columns to ``datetime`` objects. ``read_only``: never write (see the
    engine's read-only open). ``isolation_level``: how implicit transactions begin (see
    :attr:`Connection.isolation_level`); ``None`` is autocommit mode, as in ``sqlite3``.
    """
    return Connection(
        database,
        config=config,
        autocommit=autocommit,
        timeout=timeout,
        detect_types=detect_types,
        read_only=read_only,
        isolation_level=isolation_level,
    )
