"""The DB-API 2.0 (PEP 249) exception tree, plus the time-travel errors.

The native module raises these classes by name; each engine error becomes the class
``sqlite3`` would raise for the same condition (a constraint violation is an
``IntegrityError``, a syntax error a ``ProgrammingError`` with ``line``, ``column`` and
``token``, a missing table an ``OperationalError``), and every exception has ``kind``, the
name of the engine's error variant (``"Syntax"``, ``"Constraint"``, ``"SnapshotTooOld"``...).
"""

__all__ = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "SnapshotTooOldError",
    "SnapshotNotAvailableError",
]


class Warning(Exception):  # noqa: A001 - the name PEP 249 prescribes
    """Important warnings (PEP 249); the engine raises none today."""


class Error(Exception):
    """Base class of every error this module raises."""

    #: Name of the engine's error variant, when the error comes from the engine.
    kind = None


class InterfaceError(Error):
    """Misuse of the interface rather than of the database (e.g. a bad column index)."""


class DatabaseError(Error):
    """Errors related to the database."""


class DataError(DatabaseError):
    """A value cannot be stored or converted (e.g. a type mismatch, a Decimal too precise)."""


class OperationalError(DatabaseError):
    """The database could not do what was asked: no such table, busy, interrupted, I/O."""


class IntegrityError(DatabaseError):
    """A constraint failed: PRIMARY KEY, UNIQUE, NOT NULL, CHECK or FOREIGN KEY.

    ``constraint`` names the kind, ``table`` and ``column`` where it failed.
    """

    constraint = None
    table = None
    column = None


class InternalError(DatabaseError):
    """The engine reached a state it should never reach."""


class ProgrammingError(DatabaseError):
    """The statement or the call is wrong: syntax, parameters, a closed connection.

    A syntax error has ``line`` and ``column`` (1-based) and ``token``, the offending text.
    """

    line = None
    column = None
    token = None


class NotSupportedError(DatabaseError):
    """The engine does not support what the statement asks for."""


class _HistoryRange:
    """The range of history that can be read, carried by time-travel errors."""

    #: The point the statement asked for, as the engine describes it.
    requested = None
    #: Oldest readable snapshot: commit sequence number, transaction id and commit time
    #: (naive UTC ``datetime``); ``None`` when nothing has been committed.
    oldest_scn = None
    oldest_txn_id = None
    oldest_time = None
    #: Newest snapshot, the same three.
    newest_scn = None
    newest_txn_id = None
    newest_time = None


class SnapshotTooOldError(_HistoryRange, OperationalError):
    """A time-travel point is older than the history kept (garbage collection removed it).

    ``oldest_scn`` / ``oldest_time`` tell the oldest point that can still be read.
    """


class SnapshotNotAvailableError(_HistoryRange, OperationalError):
    """A time-travel point does not exist: in the future, or an unknown transaction."""
