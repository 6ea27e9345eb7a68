"""A 12-month course as a clinic records it: three simulated infusion sessions (with side effects,
an intervention and the music heard), BDI-II and PHQ-9 from screening through the 12-month
follow-up, response and remission reached. Real session records and a real course database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.course.schedule import ScheduleSettings, add_months
from kapmonitor.course.sessions import read_session
from kapmonitor.course.store import CourseStore, check_new_score
from kapmonitor.course.summary import CourseSummary, build
from kapmonitor.recording.recorder import SessionRecorder

PSEUDONYM = "KAP-0815-QX"
TODAY = dt.date.today()
LAST = TODAY - dt.timedelta(days=372)  # the last infusion: the 12-month follow-up is one week ago
INFUSIONS = [LAST - dt.timedelta(days=14), LAST - dt.timedelta(days=7), LAST]
OPENED = INFUSIONS[0] - dt.timedelta(days=10)
TRACKS = ["Arrival — Stars of the Lid", "Weightless — Marconi Union", "Return — Brian Eno"]
# (instrument, total, date, time point); the PHQ-9 month-6 score lapses, month-9 recovers
SCORES: list[tuple[str, int, dt.date, str]] = [
    ("bdi-ii", 36, OPENED, "baseline"), ("phq-9", 20, OPENED, "baseline"),
    *[(i, t, d, f"before-infusion-{n}") for n, d in enumerate(INFUSIONS, 1)
      for i, t in (("bdi-ii", 34 - 6 * n), ("phq-9", 19 - 3 * n))],
    *[(i, t, d + dt.timedelta(days=1), f"after-infusion-{n}") for n, d in enumerate(INFUSIONS, 1)
      for i, t in (("bdi-ii", 30 - 6 * n), ("phq-9", 17 - 4 * n))],
    ("bdi-ii", 12, LAST + dt.timedelta(days=7), "week-1"), ("phq-9", 4, LAST + dt.timedelta(days=7), "week-1"),
    *[(i, t, add_months(LAST, m), f"month-{m}") for m, b, p in ((1, 11, 4), (2, 13, 6), (3, 15, 8), (6, 20, 11),
                                                                (9, 12, 4), (12, 10, 3))
      for i, t in (("bdi-ii", b), ("phq-9", p))],
]


def _noon(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC).timestamp()


def record_session(path: Path, day: dt.date, number: int, total: int, pseudonym: str = PSEUDONYM) -> None:
    """A simulated session record: set-up, a 40-min infusion, NIBP (peak 150 + 4n), a medium
    alarm, a side effect, an intervention in session 2, music."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = SessionRecorder(path, {"app_version": "0.1.0", "driver": "simulated", "simulated": "true",
                                 "utc_offset_minutes": 0}).start()
    try:
        t = _noon(day)
        for k, v in {"pseudonym": pseudonym, "course_number": str(number), "course_total": str(total),
                     "nurse_initials": "JQN", "created_at": repr(t - 1800), "simulated": "1",
                     "weight_kg": "70", "dose_mg_per_kg": "0.5", "plan_total_mg": "35"}.items():
            rec.insert("session_info", {"key": k, "value": v})
        rec.insert("infusion_events", {"t": t, "action": "start", "reason": None, "who": "JQN"})
        rec.insert("infusion_events", {"t": t + 2400, "action": "stop", "reason": None, "who": "JQN"})
        for k, (sys_, dia) in enumerate(((128, 80), (150 + 4 * number, 92), (136, 84))):
            for param, value in (("nibp_sys", sys_), ("nibp_dia", dia)):
                rec.insert("samples", {"t": t - 600 + 1200 * k, "parameter": param, "value": float(value),
                                       "status": "ok", "source": "simulated", "measurement_id": f"m{k}"})
        rec.insert("alarm_log", {"t": t + 700, "alarm_id": "nibp_sys_high", "parameter": "nibp_sys",
                                 "kind": "physiological", "priority": "medium", "event": "raised",
                                 "value": 150.0 + 4 * number, "limit_value": 150.0, "message": "NIBP sys high"})
        rec.insert("clinical_events", {"t": t + 900, "category": "side_effect", "name": "nausea",
                                       "severity": "mild", "who": "JQN"})
        if number == 2:
            rec.insert("clinical_events", {"t": t + 1000, "category": "intervention", "name": "antiemetic",
                                           "drug": "ondansetron", "dose": "4 mg", "route": "IV", "who": "JQN"})
        for k, title in enumerate(TRACKS):
            rec.insert("music_events", {"t": t + 600 * k, "action": "track_started", "phase": "onset",
                                        "track": title, "artist": ""})
        rec.insert("music_events", {"t": t + 2400, "action": "stop", "phase": "", "track": "", "artist": ""})
    finally:
        rec.stop()


@dataclass
class Course:
    db: Path
    sessions: Path

    def summary(self, today: dt.date = TODAY) -> CourseSummary:
        with CourseStore.open_read_only(self.db) as store:
            return build(store, PSEUDONYM, today, ScheduleSettings(), self.sessions)


def build_course(root: Path, scores: list[tuple[str, int, dt.date, str]] = SCORES) -> Course:
    """The 12-month course under `root` (sessions/ and courses.db)."""
    sessions = root / "sessions"
    paths = []
    for n, day in enumerate(INFUSIONS, start=1):
        paths.append(sessions / f"{day:%Y%m%d}-1000-sim.db")
        record_session(paths[-1], day, n, 3)
    db = root / "courses.db"
    with CourseStore.open(db) as store:
        store.add_course(PSEUDONYM, "AB", OPENED)
        for p in paths:
            store.link_session(PSEUDONYM, read_session(p).link)
        store.add_scores([check_new_score(PSEUDONYM, i, t, 0 if i != "madrs" else None, None, d, tp, "AB", None,
                                          TODAY) for i, t, d, tp in scores])
    return Course(db, sessions)
