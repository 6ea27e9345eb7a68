"""Reading a session record that is not being written by this process.

Thread-safety: every function opens its own read-only connection and closes it before returning.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from kapmonitor.recording.database import SessionDatabaseError, open_read_only

log = logging.getLogger(__name__)

# every table whose rows carry the record's own time `t`
_TIMED_TABLES = ("samples", "alarm_log", "infusion_events", "clinical_events", "scales", "discharge",
                 "music_events", "link_events")


def last_record_time(path: Path) -> float | None:
    """The latest time anything was recorded in `path`; None for a missing, empty or unreadable file
    (opening it for writing reports that problem)."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        conn = open_read_only(path)
    except SessionDatabaseError:
        return None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        latest = [conn.execute(f"SELECT max(t) FROM {t}").fetchone()[0] for t in _TIMED_TABLES if t in tables]
    except sqlite3.Error as exc:
        log.warning("cannot read the times of %s: %s", path, exc)
        return None
    finally:
        conn.close()
    times = [float(t) for t in latest if isinstance(t, int | float)]
    return max(times) if times else None
