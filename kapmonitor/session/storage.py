"""Where session databases live, and what can be learnt from the earlier ones.

One SQLite file per session in `sessions_dir()` (`kapmonitor.config.sessions_dir()`, or the
folder named by the KAPMONITOR_SESSIONS_DIR environment variable). Files are `*.db` (the app's
naming) or `*.kapsession`; any file that is not a session with a nurse's record is skipped. Everything here reads other
sessions through read-only connections and never modifies them, except `mark_abandoned`,
which the nurse asks for explicitly. Unreadable files are skipped with a log line, never fatal.

Thread-safe: every function opens its own connections.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kapmonitor.recording.amend import set_status_audited
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader
from kapmonitor.session import figures

log = logging.getLogger(__name__)

SESSIONS_ENV = "KAPMONITOR_SESSIONS_DIR"
SUFFIX = ".db"
PATTERNS = ("*.db", "*.kapsession")

# status values in session_info
STATUS_OPEN = "open"
STATUS_DISCHARGED = "discharged"
STATUS_ABANDONED = "abandoned"


def sessions_dir() -> Path:
    """The folder of session databases (not created here)."""
    override = os.environ.get(SESSIONS_ENV)
    if override:
        return Path(override)
    from kapmonitor.config import sessions_dir as app_sessions_dir

    return app_sessions_dir()


def new_session_path(pseudonym: str, t: float | None = None, folder: Path | None = None) -> Path:
    """A fresh file name: `<local date-time>-<pseudonym>.db`, never an existing file."""
    folder = sessions_dir() if folder is None else folder
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if t is None else t))
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", pseudonym)[:32] or "session"
    path = folder / f"{stamp}-{safe}{SUFFIX}"
    n = 2
    while path.exists():
        path = folder / f"{stamp}-{safe}-{n}{SUFFIX}"
        n += 1
    return path


def read_info(source: RecordReader | sqlite3.Connection) -> dict[str, str]:
    """The session set-up facts that have a value."""
    reader = source if isinstance(source, RecordReader) else RecordReader(source)
    return {k: v for k, v in reader.session_info().items() if v is not None}


@dataclass(frozen=True)
class SessionSummary:
    """What the resume offer and the course view show about one session database."""

    path: Path
    pseudonym: str
    created_at: float | None
    course_number: int | None
    course_total: int | None
    status: str
    phase: str
    simulated: bool
    dose_mg_per_kg: float | None = None
    total_mg: float | None = None
    drug: str = ""
    infusion_start: float | None = None
    infusion_stop: float | None = None
    infusion_s: float | None = None
    peak_sys: float | None = None
    peak_dia: float | None = None
    alarms_by_priority: dict[str, int] = field(default_factory=dict)
    last_activity: float | None = None
    infusion: figures.InfusionFigures | None = None
    dose: figures.DoseGiven | None = None


def _float(info: dict[str, str], key: str) -> float | None:
    try:
        return float(info[key])
    except (KeyError, ValueError):
        return None


def _int(info: dict[str, str], key: str) -> int | None:
    try:
        return int(info[key])
    except (KeyError, ValueError):
        return None


def summarize(path: Path, detail: bool = False) -> SessionSummary:
    """Read a session's summary. Raises SessionDatabaseError when the file is not a session."""
    reader = RecordReader.open(path)
    try:
        try:
            info = read_info(reader)
        except sqlite3.Error as exc:
            raise SessionDatabaseError(f"{path}: cannot read the session set-up: {exc}") from exc
        if "pseudonym" not in info:
            raise SessionDatabaseError(f"{path} has no nurse's session in it")
        summary = SessionSummary(
            path=path,
            pseudonym=info["pseudonym"],
            created_at=_float(info, "created_at"),
            course_number=_int(info, "course_number"),
            course_total=_int(info, "course_total"),
            status=info.get("status", STATUS_OPEN),
            phase=info.get("phase", "baseline"),
            simulated=info.get("simulated") == "1",
            dose_mg_per_kg=_float(info, "dose_mg_per_kg"),
            total_mg=_float(info, "plan_total_mg"),
            drug=info.get("drug", ""),
        )
        if not detail:
            return replace(summary, last_activity=reader.last_infusion_time())
        return _with_detail(reader, summary)
    except sqlite3.Error as exc:
        raise SessionDatabaseError(f"{path}: {exc}") from exc
    finally:
        reader.close()


def _with_detail(reader: RecordReader, summary: SessionSummary) -> SessionSummary:
    """The course view's figures, computed by `figures` exactly as the PDF and the exports do."""
    # imported here: export.data imports this package (its figures), so a top-level import would cycle
    from kapmonitor.session.facts import normalise_info

    record_end = reader.record_end(figures.RECORD_TIME_TABLES)
    actions = [(e.t, e.action, e.reason) for e in reader.infusion_events()]
    last_action = actions[-1][0] if actions else None
    infusion = figures.infusion_figures(actions, record_end)

    def series(param: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        rows = reader.series(param)
        t = np.array([r[0] for r in rows], dtype=np.float64)
        v = np.array([r[1] for r in rows], dtype=np.float64)
        ok = np.isfinite(v)
        return t[ok], v[ok]

    peaks = figures.peaks(series, infusion.start, ("nibp_sys", "nibp_dia"))
    alarms: dict[str, int] = {}
    try:
        alarms = figures.alarm_counts(a.as_row() for a in reader.alarm_log())
    except sqlite3.Error as exc:
        log.warning("%s: cannot count alarms: %s", summary.path, exc)
    return replace(
        summary,
        infusion_start=infusion.start,
        infusion_stop=infusion.stop,
        infusion_s=infusion.infusing_s,
        infusion=infusion,
        dose=figures.dose_given(normalise_info(reader.session_info())),
        peak_sys=peaks["nibp_sys"].value,
        peak_dia=peaks["nibp_dia"].value,
        alarms_by_priority=alarms,
        last_activity=last_action,
    )


def iter_sessions(folder: Path | None = None, detail: bool = False) -> Iterator[SessionSummary]:
    """Every readable session in `folder`, oldest file name first; unreadable ones are skipped."""
    folder = sessions_dir() if folder is None else folder
    if not folder.is_dir():
        return
    try:
        paths = sorted({p for pattern in PATTERNS for p in folder.glob(pattern)})
    except OSError as exc:
        log.warning("cannot list the sessions folder %s: %s", folder, exc)
        return
    for path in paths:
        try:
            yield summarize(path, detail=detail)
        except SessionDatabaseError as exc:
            log.info("skipping %s: %s", path.name, exc)


def find_unfinished_sessions(folder: Path | None = None, include_simulated: bool = False) -> list[SessionSummary]:
    """Sessions neither discharged nor abandoned: offered for resumption at start-up, newest first."""
    found = [s for s in iter_sessions(folder) if s.status == STATUS_OPEN and (include_simulated or not s.simulated)]
    return sorted(found, key=lambda s: s.created_at or 0.0, reverse=True)


def course_sessions(pseudonym: str, folder: Path | None = None, include_simulated: bool = True) -> list[SessionSummary]:
    """All sessions of one pseudonym with their figures, in course order."""
    found = [
        s
        for s in iter_sessions(folder, detail=True)
        if s.pseudonym == pseudonym and (include_simulated or not s.simulated)
    ]
    return sorted(found, key=lambda s: (s.created_at or 0.0, s.course_number or 0))


def suggest_course(pseudonym: str, folder: Path | None = None) -> tuple[int, int] | None:
    """(next session number, course total) from earlier sessions of `pseudonym`, or None if none.

    Only sessions in which an infusion was started count (a record opened and never infused, e.g.
    a simulator run quit at once, is not a session of the course). After the last session of a
    course the suggestion is a new course of the same length: the total is never raised by itself,
    so "n of N" cannot drift (the nurse sets another number or total by hand).
    """
    earlier = [
        s
        for s in iter_sessions(folder)
        if s.pseudonym == pseudonym and s.course_number is not None and s.phase != "baseline"
    ]
    if not earlier:
        return None
    latest = max(earlier, key=lambda s: (s.created_at or 0.0, s.course_number or 0))
    number = latest.course_number or 0
    total = latest.course_total if latest.course_total is not None else number
    if number >= total:
        return 1, max(total, 1)
    return number + 1, total


def mark_abandoned(path: Path, who: str, reason: str, t: float | None = None) -> None:
    """Close an unfinished session the nurse chose not to resume (audited). Raises SessionDatabaseError."""
    now = time.time() if t is None else t
    set_status_audited(path, STATUS_ABANDONED, who, "abandon", reason, now)
