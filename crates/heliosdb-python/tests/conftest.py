"""Shared fixtures of the heliosdb_lite tests."""

import pytest

import heliosdb_lite


@pytest.fixture
def conn():
    """A DB-API connection (autocommit off) on a fresh in-memory database."""
    c = heliosdb_lite.connect(":memory:")
    yield c
    if c._native is not None:
        c.close()


@pytest.fixture
def auto(tmp_path):
    """An autocommit connection on a fresh database directory."""
    c = heliosdb_lite.Connection.open(path=str(tmp_path / "db"))
    yield c
    if c._native is not None:
        c.close()
