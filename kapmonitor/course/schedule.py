"""The follow-up schedule of a course and its per-clinic settings.

Default (the clinic pathway): a baseline score at screening, a score before each infusion and
24 h after it, then 1 week and 1, 2, 3, 6, 9 and 12 months after the last infusion, each for the
BDI-II and the PHQ-9. A clinic changes this in `course.toml` in the configuration folder (see
resources/course.example.toml).

Months are calendar months from the last infusion, clamped at the month's end (31 January + 1
month = 28/29 February); week 1 is 7 days later. The follow-ups are scheduled once the course's
infusions are complete: as many infusion sessions as planned, or a session recorded as the last
of the course ("3 of 3").

Status of each item: `done` (a score of that instrument at that time point exists), `overdue`
(not done and more than `grace_days` past its due date), else `due`. An overdue item is
`superseded` once a later time point of the same instrument is done or due: it can no longer be
caught up, so the due list leaves it out (the course still shows it as overdue).
Pure functions; thread-safe.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kapmonitor.course.instruments import InstrumentError, instrument
from kapmonitor.course.timepoints import BASELINE

SETTINGS_FILE = "course.toml"
DONE, DUE, OVERDUE = "done", "due", "overdue"


class ScheduleSettingsError(ValueError):
    """The clinic's course.toml cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ScheduleSettings:
    instruments: tuple[str, ...] = ("bdi-ii", "phq-9")
    planned_infusions: int = 3
    before_each_infusion: bool = True
    after_each_infusion: bool = True  # 24 h after
    weeks_after_last_infusion: tuple[int, ...] = (1,)
    months_after_last_infusion: tuple[int, ...] = (1, 2, 3, 6, 9, 12)
    grace_days: int = 3
    source: str = field(default="built-in default", compare=False)


def _int_list(doc: dict[str, object], key: str, default: tuple[int, ...], top: int, path: Path) -> tuple[int, ...]:
    value = doc.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= top
                                               for v in value):
        raise ScheduleSettingsError(f"{path}: {key} must be a list of whole numbers 1–{top}")
    return tuple(sorted(set(value)))


def _bool(doc: dict[str, object], key: str, default: bool, path: Path) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ScheduleSettingsError(f"{path}: {key} must be true or false")
    return value


def load_settings(config_dir: Path | None = None) -> ScheduleSettings:
    """The clinic's schedule ([follow_up] in course.toml); the default when there is no file.

    A file that cannot be read or holds a wrong value raises ScheduleSettingsError: scheduling by
    other rules than the clinic's would be wrong without saying so.
    """
    from kapmonitor.config import config_dir as default_config_dir

    path = (config_dir or default_config_dir()) / SETTINGS_FILE
    if not path.is_file():
        return ScheduleSettings()
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScheduleSettingsError(f"{path} cannot be read: {exc}") from None
    doc = data.get("follow_up", {})
    if not isinstance(doc, dict):
        raise ScheduleSettingsError(f"{path}: [follow_up] must be a table")
    known = {"instruments", "planned_infusions", "before_each_infusion", "after_each_infusion",
             "weeks_after_last_infusion", "months_after_last_infusion", "grace_days"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ScheduleSettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    names = doc.get("instruments", ["bdi-ii", "phq-9"])
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ScheduleSettingsError(f"{path}: instruments must be a list such as [\"bdi-ii\", \"phq-9\"]")
    try:
        keys = tuple(dict.fromkeys(instrument(n).key for n in names))
    except InstrumentError as exc:
        raise ScheduleSettingsError(f"{path}: {exc}") from None
    planned, grace = doc.get("planned_infusions", 3), doc.get("grace_days", 3)
    if isinstance(planned, bool) or not isinstance(planned, int) or not 1 <= planned <= 20:
        raise ScheduleSettingsError(f"{path}: planned_infusions must be a whole number 1–20")
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 60:
        raise ScheduleSettingsError(f"{path}: grace_days must be a whole number 0–60")
    return ScheduleSettings(
        instruments=keys,
        planned_infusions=planned,
        before_each_infusion=_bool(doc, "before_each_infusion", True, path),
        after_each_infusion=_bool(doc, "after_each_infusion", True, path),
        weeks_after_last_infusion=_int_list(doc, "weeks_after_last_infusion", (1,), 52, path),
        months_after_last_infusion=_int_list(doc, "months_after_last_infusion", (1, 2, 3, 6, 9, 12), 24, path),
        grace_days=grace,
        source=str(path),
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped at the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One scheduled score: which instrument at which time point, when, and its status."""

    timepoint: str
    instrument: str
    due: dt.date
    status: str  # done / due / overdue
    done_on: dt.date | None = None
    # overdue, but the next time point of the same instrument is already due or done: it can no
    # longer be caught up (a "24 h after" score a week later means nothing), so the due list leaves
    # it out; it stays in the course as overdue
    superseded: bool = False


def infusions_complete(infusion_count: int, planned: int, last_of_course: bool) -> bool:
    return last_of_course or infusion_count >= planned


def schedule(
    opened: dt.date,
    infusion_dates: Sequence[dt.date],
    done: Iterable[tuple[str, str, dt.date]],
    settings: ScheduleSettings,
    today: dt.date,
    planned_infusions: int | None = None,
    last_of_course: bool = False,
) -> list[FollowUp]:
    """The course's follow-ups in due order.

    `infusion_dates`: the course's infusions in order; `done`: (instrument, time point, date) of
    every score recorded; `planned_infusions` overrides the clinic's number for this course.
    """
    planned = planned_infusions or settings.planned_infusions
    recorded: dict[tuple[str, str], dt.date] = {}
    for inst, tp, day in done:
        recorded.setdefault((inst, tp), day)
    slots: list[tuple[str, dt.date]] = [(BASELINE, opened)]
    infusions = sorted(infusion_dates)
    for n, day in enumerate(infusions, start=1):
        if settings.before_each_infusion:
            slots.append((f"before-infusion-{n}", day))
        if settings.after_each_infusion:
            slots.append((f"after-infusion-{n}", day + dt.timedelta(days=1)))
    if infusions and infusions_complete(len(infusions), planned, last_of_course):
        last = infusions[-1]
        slots += [(f"week-{w}", last + dt.timedelta(weeks=w)) for w in settings.weeks_after_last_infusion]
        slots += [(f"month-{m}", add_months(last, m)) for m in settings.months_after_last_infusion]
    out = []
    for tp, due in slots:
        for inst in settings.instruments:
            done_on = recorded.get((inst, tp))
            if done_on is not None:
                status = DONE
            elif today > due + dt.timedelta(days=settings.grace_days):
                status = OVERDUE
            else:
                status = DUE
            out.append(FollowUp(tp, inst, due, status, done_on))
    out.sort(key=lambda f: (f.due, settings.instruments.index(f.instrument)))
    return _mark_superseded(out, today)


def _mark_superseded(items: list[FollowUp], today: dt.date) -> list[FollowUp]:
    """Overdue items followed by a later item of the same instrument that is done or already due."""
    result = []
    for i, f in enumerate(items):
        later = (g for g in items[i + 1:] if g.instrument == f.instrument and g.due > f.due)
        passed = f.status == OVERDUE and any(g.status == DONE or g.due <= today for g in later)
        result.append(replace(f, superseded=True) if passed else f)
    return result


def due_within(items: Iterable[FollowUp], today: dt.date, days: int) -> list[FollowUp]:
    """What needs doing: every overdue item that can still be caught up, and the items due on or
    before today + `days`."""
    horizon = today + dt.timedelta(days=days)
    return [f for f in items if (f.status == OVERDUE and not f.superseded) or (f.status == DUE and f.due <= horizon)]
