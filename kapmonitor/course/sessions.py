"""Sessions join their patient's course: the facts a course needs from a session record (read
through kapmonitor.recording.reader and kapmonitor.session.figures, never by SQL of its own).

A session belongs to the course of the pseudonym entered at its set-up. `discover` finds the
session files of a pseudonym in the sessions folder without writing anything; `CourseStore.
link_session` records a link. A record that cannot be read is skipped with a log line (it is
never modified). Thread-safety: each call opens and closes its own read-only connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.course.store import SessionLink
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session.figures import infusion_figures

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    pseudonym: str | None
    link: SessionLink
    infusing_min: float | None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _local_date(t: float | None, offset_min: int | None) -> dt.date | None:
    if t is None:
        return None
    tz = dt.timezone(dt.timedelta(minutes=offset_min)) if offset_min is not None else None
    return dt.datetime.fromtimestamp(t, tz).date()


def read_session(path: Path) -> SessionFacts:
    """The course facts of one session record. Raises SessionDatabaseError or sqlite3.Error."""
    with RecordReader.open(path, closed=True) as reader:  # leaves no -wal/-shm beside a closed record
        info = reader.session_info()
        offset = _int(reader.meta_value("utc_offset_minutes"))
        actions = [(e.t, e.action, e.reason) for e in reader.infusion_events()]
        end = reader.record_end()
        created = info.get("created_at")
    figures = infusion_figures(actions, end)
    try:
        first = float(created) if created is not None else None
    except ValueError:
        first = None
    first = first if first is not None else (actions[0][0] if actions else end)
    link = SessionLink(
        session_id=path.name,
        path=str(path),
        session_date=_local_date(first, offset),
        infusion_date=_local_date(figures.start, offset),
        course_number=_int(info.get("course_number")),
        course_total=_int(info.get("course_total")),
    )
    minutes = None if figures.infusing_s is None else figures.infusing_s / 60.0
    return SessionFacts(info.get("pseudonym"), link, minutes)


def scan(folder: Path) -> dict[str, list[SessionFacts]]:
    """The readable session records in `folder` by the pseudonym of their set-up, oldest first
    (one pass for a clinic-wide list)."""
    found: dict[str, list[SessionFacts]] = {}
    for path in sorted(folder.glob("*.db")) if folder.is_dir() else []:
        try:
            facts = read_session(path)
        except (SessionDatabaseError, sqlite3.Error, OSError, ValueError) as exc:
            log.info("session %s skipped for the course: %s", path, exc)  # not ours to report on
            continue
        if facts.pseudonym is not None and facts.pseudonym.strip():
            found.setdefault(facts.pseudonym.strip(), []).append(facts)
    return found


def discover(pseudonym: str, folder: Path) -> list[SessionFacts]:
    """The readable session records in `folder` whose set-up names `pseudonym`, oldest first."""
    return scan(folder).get(pseudonym.strip(), [])


def join_course(session_path: Path, store_path: Path | None = None) -> bool:
    """Link one session record to its patient's course, if the pseudonym has one; True when linked now.

    For the bedside program at the end of a session: it never creates a course database and never
    raises for a missing course. Blocking file I/O: call it off the GUI thread. Raises
    CourseStoreError for a course database that cannot be used (the message says why).
    """
    from kapmonitor.course.store import CourseStore, default_path

    path = Path(store_path or default_path())
    if not path.exists():
        return False
    facts = read_session(session_path)
    if not facts.pseudonym:
        return False
    with CourseStore.open(path) as store:
        if store.course(facts.pseudonym) is None:
            return False
        return store.link_session(facts.pseudonym, facts.link)
