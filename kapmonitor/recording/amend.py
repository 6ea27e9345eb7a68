"""Changes to a record that no session is writing: the nurse closes an unfinished one she chose
not to resume. Audited like every change the session makes.

Thread-safe: each call opens (and locks) its own write connection.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from kapmonitor.recording.database import SessionDatabaseError, open_for_writing

log = logging.getLogger(__name__)


def set_status_audited(path: Path, status: str, who: str, action: str, reason: str, t: float) -> None:
    """Set the session's `status` in one transaction with its audit row (the old status kept as
    `before`). Raises SessionDatabaseError (also when another kapmonitor is writing the record)."""
    conn = open_for_writing(path)
    try:
        conn.execute("BEGIN")
        before = conn.execute("SELECT value FROM session_info WHERE key = 'status'").fetchone()
        conn.execute("INSERT OR REPLACE INTO session_info (key, value) VALUES ('status', ?)", (status,))
        conn.execute(
            "INSERT INTO audit (t, who, action, table_name, before, after, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (t, who, action, "session_info", None if before is None else before[0], status, reason),
        )
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise SessionDatabaseError(f"cannot close {path.name}: {exc}") from exc
    finally:
        conn.close()
    log.info("%s: status %s (%s by %s)", path.name, status, action, who)
