"""The third-party DB-API 2.0 compliance suite (dbapi20.py from PyPI dbapi-compliance),
subclassed as its users do."""

import shutil
import tempfile
import unittest

import dbapi20

import heliosdb_lite


class HeliosDBAPI20Test(dbapi20.DatabaseAPI20Test):
    driver = heliosdb_lite
    connect_args = ()
    # Commits reach the OS, not the disk: the suite checks behaviour, not durability.
    connect_kw_args = {"config": {"enable_wal": False}}
    # The engine has lower(); the suite calls it through callproc only if the cursor has
    # one, and it has not (the engine has no stored procedures).
    lower_func = "lower"

    def setUp(self):
        # A database directory per test: every _connect() of a test sees the same tables.
        self._dir = tempfile.mkdtemp(prefix="heliosdb-dbapi20-")
        self.connect_args = (self._dir + "/db",)
        super().setUp()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self._dir, ignore_errors=True)

    def test_nextset(self):
        # The suite requires drivers to override this test: there are no multiple result
        # sets (no stored procedures), so cursors have no nextset().
        self.assertFalse(hasattr(self._connect().cursor(), "nextset"))

    def test_setoutputsize(self):
        # setoutputsize() is accepted and does nothing, which PEP 249 allows.
        cur = self._connect().cursor()
        cur.setoutputsize(1000)
        cur.setoutputsize(2000, 0)


if __name__ == "__main__":
    unittest.main()
