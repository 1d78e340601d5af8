import heliosdb_lite
from heliosdb_lite import Connection
from datetime import datetime, timedelta
import json

# Initialize embedded database with HIPAA-compliant retention
conn = Connection.open(
    path="./medical_records.db",
    config={
        "memory_limit_mb": 512,
        "enable_wal": True,
        "storage": {
            "time_travel_enabled": True
        },
        "snapshot": {
            "min_retention_seconds": 220752000,  # 7 years for HIPAA
            "max_snapshots": 100000,
            "auto_gc_enabled": True
        }
    }
)

# Define data model
class PatientRecord:
    def __init__(self, patient_id, name, diagnosis, last_accessed_by, last_modified):
        self.patient_id = patient_id
        self.name = name
        self.diagnosis = diagnosis
        self.last_accessed_by = last_accessed_by
        self.last_modified = last_modified

def setup_schema():
    """Initialize database schema with HIPAA audit requirements."""
    conn.execute("""
        CREATE TABLE IF NOT EXISTS patients (
            patient_id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            diagnosis TEXT NOT NULL,
            last_accessed_by TEXT NOT NULL,
            last_modified INTEGER DEFAULT (strftime('%s', 'now'))
        )
    """)

    # Create index for audit queries
    conn.execute("""
        CREATE INDEX IF NOT EXISTS idx_patients_modified
        ON patients(last_modified DESC)
    """)

    # Access log table
    conn.execute("""
        CREATE TABLE IF NOT EXISTS access_log (
            log_id INTEGER PRIMARY KEY AUTOINCREMENT,
            patient_id INTEGER NOT NULL,
            accessed_by TEXT NOT NULL,
            access_type TEXT NOT NULL,
            accessed_at INTEGER DEFAULT (strftime('%s', 'now')),
            FOREIGN KEY (patient_id) REFERENCES patients(patient_id)
        )
    """)

def insert_patient_record(name: str, diagnosis: str, accessed_by: str) -> int:
    """Insert a patient record with automatic versioning."""
    cursor = conn.cursor()
    cursor.execute(
        "INSERT INTO patients (name, diagnosis, last_accessed_by) VALUES (?, ?, ?)",
        (name, diagnosis, accessed_by)
    )
    patient_id = cursor.lastrowid

    # Log access
    cursor.execute(
        "INSERT INTO access_log (patient_id, accessed_by, access_type) VALUES (?, ?, ?)",
        (patient_id, accessed_by, "CREATE")
    )

    return patient_id

def update_patient_record(patient_id: int, diagnosis: str, accessed_by: str):
    """Update patient record (creates new version automatically)."""
    cursor = conn.cursor()
    cursor.execute(
        "UPDATE patients SET diagnosis = ?, last_accessed_by = ? WHERE patient_id = ?",
        (diagnosis, accessed_by, patient_id)
    )

    # Log access
    cursor.execute(
        "INSERT INTO access_log (patient_id, accessed_by, access_type) VALUES (?, ?, ?)",
        (patient_id, accessed_by, "UPDATE")
    )

def hipaa_audit_query(patient_id: int, audit_date: str) -> dict:
    """
    HIPAA Compliance Query: Retrieve patient record as it existed on specific date.

    Use case: Auditor asks "What diagnosis did patient 1001 have on 2024-06-15?"
    """
    cursor = conn.cursor()

    # Time-travel query: patient data at audit date
    cursor.execute(f"""
        SELECT patient_id, name, diagnosis, last_accessed_by, last_modified
        FROM patients
        AS OF TIMESTAMP '{audit_date}'
        WHERE patient_id = ?
    """, (patient_id,))

    row = cursor.fetchone()
    if not row:
        return {"error": f"No record found for patient {patient_id} at {audit_date}"}

    # Query access log at same timestamp
    cursor.execute(f"""
        SELECT accessed_by, access_type, accessed_at
        FROM access_log
        AS OF TIMESTAMP '{audit_date}'
        WHERE patient_id = ?
        ORDER BY accessed_at DESC
        LIMIT 10
    """, (patient_id,))

    access_history = [
        {
            "accessed_by": row[0],
            "access_type": row[1],
            "accessed_at": datetime.fromtimestamp(row[2]).isoformat()
        }
        for row in cursor.fetchall()
    ]

    return {
        "patient_id": row[0],
        "name": row[1],
        "diagnosis": row[2],
        "last_accessed_by": row[3],
        "last_modified": datetime.fromtimestamp(row[4]).isoformat(),
        "access_history": access_history
    }

def incident_investigation_query(patient_id: int, start_time: str, end_time: str) -> list[dict]:
    """
    Incident Investigation: Find all changes to patient record between two timestamps.

    Use case: Suspected unauthorized access - show all modifications in time range.
    """
    cursor = conn.cursor()

    # Query access log for time range
    cursor.execute("""
        SELECT accessed_by, access_type, accessed_at
        FROM access_log
        WHERE patient_id = ?
          AND accessed_at >= strftime('%s', ?)
          AND accessed_at <= strftime('%s', ?)
        ORDER BY accessed_at ASC
    """, (patient_id, start_time, end_time))

    access_events = []
    for row in cursor.fetchall():
        accessed_by = row[0]
        access_type = row[1]
        accessed_at = datetime.fromtimestamp(row[2]).isoformat()

        # Query patient state BEFORE this access event
        cursor_inner = conn.cursor()
        cursor_inner.execute(f"""
            SELECT diagnosis
            FROM patients
            AS OF TIMESTAMP '{accessed_at}'
            WHERE patient_id = ?
        """, (patient_id,))

        diagnosis_at_time = cursor_inner.fetchone()
        diagnosis = diagnosis_at_time[0] if diagnosis_at_time else "N/A"

        access_events.append({
            "accessed_by": accessed_by,
            "access_type": access_type,
            "accessed_at": accessed_at,
            "diagnosis_at_time": diagnosis
        })

    return access_events

def compliance_report_query(days: int = 30) -> dict:
    """
    Generate compliance report: record access statistics for past N days.
    """
    cursor = conn.cursor()

    cutoff_timestamp = int((datetime.now() - timedelta(days=days)).timestamp())

    cursor.execute("""
        SELECT accessed_by, COUNT(*) as access_count, MIN(accessed_at) as first_access, MAX(accessed_at) as last_access
        FROM access_log
        WHERE accessed_at >= ?
        GROUP BY accessed_by
        ORDER BY access_count DESC
    """, (cutoff_timestamp,))

    report = []
    for row in cursor.fetchall():
        report.append({
            "accessed_by": row[0],
            "access_count": row[1],
            "first_access": datetime.fromtimestamp(row[2]).isoformat(),
            "last_access": datetime.fromtimestamp(row[3]).isoformat()
        })

    return {
        "report_period_days": days,
        "total_users": len(report),
        "user_access_summary": report
    }

# Usage
if __name__ == "__main__":
    setup_schema()

    # Simulate patient record lifecycle
    print("=== Creating Patient Records ===")
    patient_id = insert_patient_record("John Doe", "Hypertension", "Dr. Smith")
    print(f"Created patient {patient_id}")

    # Update diagnosis (creates new version)
    update_patient_record(patient_id, "Hypertension, Type 2 Diabetes", "Dr. Johnson")
    print(f"Updated patient {patient_id}")

    # --- HIPAA AUDIT SCENARIO ---
    print("\n=== HIPAA Compliance Audit ===")
    audit_date = "2025-11-30 12:00:00"
    audit_result = hipaa_audit_query(patient_id, audit_date)
    print(json.dumps(audit_result, indent=2))

    # --- INCIDENT INVESTIGATION ---
    print("\n=== Incident Investigation ===")
    start_time = "2025-11-30 00:00:00"
    end_time = "2025-11-30 23:59:59"
    incident_timeline = incident_investigation_query(patient_id, start_time, end_time)
    print(f"Found {len(incident_timeline)} access events")
    for event in incident_timeline:
        print(f"  {event['accessed_at']}: {event['accessed_by']} - {event['access_type']}")

    # --- COMPLIANCE REPORT ---
    print("\n=== 30-Day Compliance Report ===")
    report = compliance_report_query(days=30)
    print(f"Total users with access: {report['total_users']}")
    for user_summary in report['user_access_summary'][:5]:  # Top 5 users
        print(f"  {user_summary['accessed_by']}: {user_summary['access_count']} accesses")
