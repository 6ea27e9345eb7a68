"""One course as a whole: its sessions, scores with severity and change from baseline, response,
remission, relapse, follow-ups and safety prompts — what `course show`, the exports and (later)
the course view and PDF all present, so they cannot disagree.

Thread-safety: `build` uses the caller's CourseStore (one thread); the rest are pure functions.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kapmonitor.course import outcomes, schedule, timepoints
from kapmonitor.course.instruments import INSTRUMENTS
from kapmonitor.course.sessions import SessionFacts, discover, read_session
from kapmonitor.course.store import Course, CourseStore, SafetyPrompt, Score, SessionLink
from kapmonitor.recording.database import SessionDatabaseError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CourseSummary:
    course: Course
    sessions: tuple[SessionFacts, ...]
    scores: tuple[Score, ...]
    prompts: tuple[SafetyPrompt, ...]
    assessments: dict[str, outcomes.Assessment]
    follow_up: tuple[schedule.FollowUp, ...]
    settings: schedule.ScheduleSettings
    today: dt.date

    @property
    def infusion_dates(self) -> list[dt.date]:
        return sorted(s.link.infusion_date for s in self.sessions if s.link.infusion_date is not None)


def _facts(link: SessionLink) -> SessionFacts:
    """A linked session, with its figures when its file can still be read."""
    path = Path(link.path)
    if path.is_file():
        try:
            facts = read_session(path)
            return SessionFacts(facts.pseudonym, SessionLink(link.session_id, link.path, facts.link.session_date,
                                                             facts.link.infusion_date, facts.link.course_number,
                                                             facts.link.course_total), facts.infusing_min)
        except (SessionDatabaseError, sqlite3.Error, OSError, ValueError) as exc:
            log.warning("linked session %s not readable now: %s", path, exc)
    return SessionFacts(None, link, None)


def course_sessions(store: CourseStore, pseudonym: str, sessions_folder: Path | None,
                    scanned: Mapping[str, list[SessionFacts]] | None = None) -> list[SessionFacts]:
    """The linked sessions and those of this pseudonym in `sessions_folder` (found, not linked);
    `scanned`: the folder already read by sessions.scan (a clinic-wide list reads it once)."""
    found = {link.session_id: _facts(link) for link in store.sessions(pseudonym)}
    extra = scanned.get(pseudonym, []) if scanned is not None else (
        discover(pseudonym, sessions_folder) if sessions_folder is not None else [])
    for facts in extra:
        found.setdefault(facts.link.session_id, facts)
    return sorted(found.values(), key=lambda f: (f.link.infusion_date or f.link.session_date or dt.date.max,
                                                 f.link.session_id))


def points(scores: Sequence[Score]) -> list[outcomes.ScorePoint]:
    return [outcomes.ScorePoint(s.id, s.instrument, s.date, s.timepoint, s.total) for s in scores]


def build(store: CourseStore, pseudonym: str, today: dt.date, settings: schedule.ScheduleSettings,
          sessions_folder: Path | None = None, scanned: Mapping[str, list[SessionFacts]] | None = None
          ) -> CourseSummary:
    """Everything about one course. Raises CourseInputError when the pseudonym has no course."""
    course = store.require(pseudonym)
    sessions = course_sessions(store, course.pseudonym, sessions_folder, scanned)
    scores = store.scores(course.pseudonym)
    pts = points(scores)
    assessments = {key: outcomes.assess(key, pts) for key in INSTRUMENTS if any(s.instrument == key for s in scores)}
    infusions = sorted(s.link.infusion_date for s in sessions if s.link.infusion_date is not None)
    last_of_course = any(s.link.infusion_date is not None and s.link.course_number is not None
                         and s.link.course_total is not None and s.link.course_number >= s.link.course_total
                         for s in sessions)
    items = schedule.schedule(course.opened, infusions, [(s.instrument, s.timepoint, s.date) for s in scores],
                              settings, today, course.planned_infusions, last_of_course)
    return CourseSummary(course, tuple(sessions), tuple(scores), tuple(store.prompts(course.pseudonym)),
                         assessments, tuple(items), settings, today)


def score_change(summary: CourseSummary, score: Score) -> float | None:
    """Change from this instrument's baseline in %: 0 for the baseline itself, None before it or
    without one (outcomes.py defines it)."""
    a = summary.assessments.get(score.instrument)
    if a is None or a.baseline is None:
        return None
    if score.id == a.baseline.id:
        return 0.0 if a.baseline.total > 0 else None
    if score.timepoint == timepoints.BASELINE or score.date < a.baseline.date:
        return None
    return outcomes.change_pct(score.total, a.baseline.total)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _day(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _t(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def outcome_rows(summary: CourseSummary) -> list[dict[str, Any]]:
    rows = []
    for s in summary.scores:
        inst = INSTRUMENTS[s.instrument]
        change = score_change(summary, s)
        rows.append({
            "id": s.id, "date": s.date.isoformat(), "timepoint": s.timepoint,
            "timepoint_label": timepoints.label(s.timepoint), "instrument": s.instrument, "total": s.total,
            "item9": s.item9, "items": list(s.items) if s.items is not None else None,
            "severity": inst.severity(s.total), "change_from_baseline_pct": _pct(change),
            "response": outcomes.is_response(change) if change is not None and s.timepoint != "baseline" else None,
            "remission": outcomes.is_remission(inst, s.total) if s.timepoint != "baseline" else None,
            "who": s.who, "note": s.note, "source": s.source,
        })
    return rows


def to_json(summary: CourseSummary) -> dict[str, Any]:
    """The course as JSON data (the fields `kapmonitor course show --format json` promises)."""
    c = summary.course
    by_score = {s.id: s for s in summary.scores}
    response: dict[str, Any] = {}
    remission: dict[str, Any] = {}
    for key, a in summary.assessments.items():
        base = None if a.baseline is None else {"date": a.baseline.date.isoformat(), "total": a.baseline.total}
        response[key] = {
            "baseline": base, "latest_change_pct": _pct(a.latest_change_pct),
            "reached": a.response_reached is not None, "first_reached": _day(a.response_reached),
            "current": a.response_current, "relapse": a.relapse is not None, "relapse_date": _day(a.relapse),
        }
        remission[key] = {
            "threshold": f"≤ {INSTRUMENTS[key].remission_max}",
            "reached": a.remission_reached is not None, "first_reached": _day(a.remission_reached),
            "current": a.remission_current, "lost": a.remission_lost is not None,
            "lost_date": _day(a.remission_lost),
        }
    return {
        "format": "kapmonitor-course", "format_version": FORMAT_VERSION, "as_of": summary.today.isoformat(),
        "patient": {"pseudonym": c.pseudonym, "course_opened": c.opened.isoformat(), "opened_by": c.opened_by,
                    "planned_infusions": c.planned_infusions or summary.settings.planned_infusions},
        "sessions": [{
            "session_id": s.link.session_id, "path": s.link.path, "date": _day(s.link.session_date),
            "infusion_date": _day(s.link.infusion_date), "course_number": s.link.course_number,
            "course_total": s.link.course_total,
            "infusing_min": None if s.infusing_min is None else round(s.infusing_min, 1),
        } for s in summary.sessions],
        "outcomes": outcome_rows(summary),
        "response": response,
        "remission": remission,
        "follow_up": [{
            "timepoint": f.timepoint, "label": timepoints.label(f.timepoint), "due": f.due.isoformat(),
            "instrument": f.instrument, "status": f.status, "done_on": _day(f.done_on),
            "superseded": f.superseded,
        } for f in summary.follow_up],
        "safety_prompts": [{
            "id": p.id, "score_id": p.score_id, "instrument": by_score[p.score_id].instrument,
            "date": by_score[p.score_id].date.isoformat(), "item9": by_score[p.score_id].item9,
            "raised_at": _t(p.raised_t), "acknowledged": p.acknowledged, "acknowledged_by": p.acknowledged_by,
            "acknowledged_at": _t(p.acknowledged_t), "action": p.action,
        } for p in summary.prompts if p.score_id in by_score],
        "definitions": {**outcomes.DEFINITIONS, "schedule": summary.settings.source},
    }


CSV_COLUMNS = ("pseudonym", "date", "timepoint", "instrument", "total", "item9", "severity",
               "change_from_baseline_pct", "response", "remission", "who", "note")

