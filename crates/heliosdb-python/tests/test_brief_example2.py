"""The product brief's Example 2 (HIPAA medical records), run verbatim.

``brief_example2.py`` is the brief's script, unchanged. Its story happens on one day: the
records are created in the morning and audited that afternoon about noon ("what did the
record say at 12:00?"). The test runs it in a fresh process under a scenario clock: the
engine's commit clock (through the test-only ``_set_test_clock`` hook) and the script's
``datetime.now()`` both read 2025-11-30 09:00:00 UTC, and both move to 16:00 when the script
prints its audit heading. Nothing in the script is patched; TZ=UTC makes its local-time
conversions (``datetime.fromtimestamp``) agree with the engine's UTC times.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("brief_example2.py")

RUNNER = r"""
import builtins, datetime, runpy, sys
import heliosdb_lite._native as native

now = [datetime.datetime(2025, 11, 30, 9, 0, 0)]


class ScenarioDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        t = cls.combine(now[0].date(), now[0].time())
        return t if tz is None else t.replace(tzinfo=datetime.timezone.utc).astimezone(tz)


datetime.datetime = ScenarioDatetime
native._set_test_clock("2025-11-30 09:00:00")
real_print = builtins.print


def print_(*args, **kwargs):
    if args and "HIPAA Compliance Audit" in str(args[0]):
        native._advance_test_clock(7 * 3600)
        now[0] += datetime.timedelta(hours=7)
    real_print(*args, **kwargs)


builtins.print = print_
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def run_script(cwd):
    env = dict(os.environ, TZ="UTC")
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(SCRIPT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_script_is_the_briefs_unchanged():
    text = SCRIPT.read_text()
    assert text.startswith("import heliosdb_lite\nfrom heliosdb_lite import Connection\n")
    assert "conn = Connection.open(\n    path=\"./medical_records.db\"," in text
    assert "commit()" not in text  # autocommit: every change is a version at once


def test_example2_runs_verbatim_and_prints_the_story(tmp_path):
    r = run_script(tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    head, rest = out.split("\n=== HIPAA Compliance Audit ===\n")
    assert head == "=== Creating Patient Records ===\nCreated patient 1\nUpdated patient 1\n"
    audit_text, rest = rest.split("\n\n=== Incident Investigation ===\n")
    audit = json.loads(audit_text)
    history = audit.pop("access_history")
    assert audit == {
        "patient_id": 1,
        "name": "John Doe",
        "diagnosis": "Hypertension, Type 2 Diabetes",
        "last_accessed_by": "Dr. Johnson",
        "last_modified": "2025-11-30T09:00:00",
    }
    # Both accesses happened in the same second: their order is a tie of ORDER BY.
    assert sorted(history, key=lambda e: e["access_type"]) == [
        {"accessed_by": "Dr. Smith", "access_type": "CREATE", "accessed_at": "2025-11-30T09:00:00"},
        {
            "accessed_by": "Dr. Johnson",
            "access_type": "UPDATE",
            "accessed_at": "2025-11-30T09:00:00",
        },
    ]
    incident, report = rest.split("\n=== 30-Day Compliance Report ===\n")
    lines = incident.strip().split("\n")
    assert lines[0] == "Found 2 access events"
    assert sorted(lines[1:]) == [
        "  2025-11-30T09:00:00: Dr. Johnson - UPDATE",
        "  2025-11-30T09:00:00: Dr. Smith - CREATE",
    ]
    lines = report.strip().split("\n")
    assert lines[0] == "Total users with access: 2"
    assert sorted(lines[1:]) == ["  Dr. Johnson: 1 accesses", "  Dr. Smith: 1 accesses"]
    assert (tmp_path / "medical_records.db").is_dir()


def test_the_database_keeps_every_version(tmp_path):
    """After the script, the record's first diagnosis is still readable at the transaction
    that created it, through the as_of argument."""
    assert run_script(tmp_path).returncode == 0
    import heliosdb_lite

    conn = heliosdb_lite.Connection.open(path=str(tmp_path / "medical_records.db"))
    try:
        snaps = list(conn.snapshots())
        # 3 DDL statements and 4 writes, one commit each.
        assert len(snaps) == 7
        first_insert_txn = snaps[3][1]
        cur = conn.cursor()
        cur.execute(
            "SELECT diagnosis FROM patients WHERE patient_id = ?",
            (1,),
            as_of={"transaction": first_insert_txn},
        )
        assert cur.fetchone() == ("Hypertension",)
        cur.execute("SELECT diagnosis FROM patients WHERE patient_id = 1")
        assert cur.fetchone() == ("Hypertension, Type 2 Diabetes",)
    finally:
        conn.close()
