"""The follow-up schedule: calendar months clamped at month ends and leap years, statuses, the
clinic's settings file (kapmonitor.course.schedule)."""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.course.schedule import (
    DONE,
    DUE,
    OVERDUE,
    ScheduleSettings,
    ScheduleSettingsError,
    add_months,
    due_within,
    load_settings,
    schedule,
)

D = dt.date


@pytest.mark.parametrize(("start", "months", "expected"), [
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
    (D(2027, 11, 30), 3, D(2028, 2, 29)),
    (D(2028, 2, 29), 12, D(2029, 2, 28)),  # from a leap day, a year on
    (D(2026, 8, 31), 1, D(2026, 9, 30)),
    (D(2026, 10, 31), 2, D(2026, 12, 31)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)),  # across the year
    (D(2026, 3, 31), 9, D(2026, 12, 31)),
    (D(2026, 5, 31), 6, D(2026, 11, 30)),
])
def test_calendar_months_clamp_at_month_end(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def test_default_schedule_after_the_last_of_three_infusions_across_a_leap_february() -> None:
    settings = ScheduleSettings(instruments=("bdi-ii",))
    infusions = [D(2027, 12, 20), D(2027, 12, 27), D(2028, 1, 31)]
    items = schedule(D(2027, 12, 1), infusions, [], settings, today=D(2027, 12, 1))
    due = {f.timepoint: f.due for f in items}
    assert due == {
        "baseline": D(2027, 12, 1),
        "before-infusion-1": D(2027, 12, 20), "after-infusion-1": D(2027, 12, 21),
        "before-infusion-2": D(2027, 12, 27), "after-infusion-2": D(2027, 12, 28),
        "before-infusion-3": D(2028, 1, 31), "after-infusion-3": D(2028, 2, 1),
        "week-1": D(2028, 2, 7), "month-1": D(2028, 2, 29), "month-2": D(2028, 3, 31), "month-3": D(2028, 4, 30),
        "month-6": D(2028, 7, 31), "month-9": D(2028, 10, 31), "month-12": D(2029, 1, 31),
    }
    assert [f.due for f in items] == sorted(f.due for f in items)


def test_follow_ups_wait_for_the_last_infusion() -> None:
    settings = ScheduleSettings()
    two = schedule(D(2026, 1, 2), [D(2026, 1, 10), D(2026, 1, 17)], [], settings, today=D(2026, 1, 2))
    assert not any(f.timepoint.startswith(("week", "month")) for f in two)
    # a session recorded as the last of its course ("2 of 2") completes the course early
    early = schedule(D(2026, 1, 2), [D(2026, 1, 10), D(2026, 1, 17)], [], settings, D(2026, 1, 2), last_of_course=True)
    assert {f.timepoint for f in early} >= {"week-1", "month-12"}
    # and a course planned with two infusions too; both instruments at every time point
    planned = schedule(D(2026, 1, 2), [D(2026, 1, 10), D(2026, 1, 17)], [], settings, D(2026, 1, 2), 2)
    assert [f.instrument for f in planned if f.timepoint == "month-3"] == ["bdi-ii", "phq-9"]


def test_status_done_due_overdue_and_the_due_list() -> None:
    settings = ScheduleSettings(instruments=("bdi-ii",), grace_days=3)
    infusions = [D(2026, 1, 10), D(2026, 1, 17), D(2026, 1, 24)]
    done = [("bdi-ii", "baseline", D(2026, 1, 2)), ("phq-9", "week-1", D(2026, 1, 31))]
    today = D(2026, 2, 26)
    items = {f.timepoint: f for f in schedule(D(2026, 1, 2), infusions, done, settings, today)}
    assert items["baseline"].status == DONE and items["baseline"].done_on == D(2026, 1, 2)
    assert items["week-1"].status == OVERDUE  # a PHQ-9 does not do the BDI-II's follow-up
    assert items["month-1"].due == D(2026, 2, 24) and items["month-1"].status == DUE  # within 3 days' grace
    assert items["month-2"].status == DUE
    # the week-1 and infusion-day scores can no longer be caught up: month 1 is due
    assert items["week-1"].superseded and items["before-infusion-1"].superseded
    assert not items["month-1"].superseded and not items["baseline"].superseded
    assert [f.timepoint for f in due_within(items.values(), today, 7)] == ["month-1"]
    assert [f.timepoint for f in due_within(items.values(), today, 30)] == ["month-1", "month-2"]
    # a week after the last infusion, week 1 is overdue and still listed, the infusion days are not
    early = schedule(D(2026, 1, 2), infusions, done, settings, D(2026, 2, 5))
    assert [(f.timepoint, f.status) for f in due_within(early, D(2026, 2, 5), 7)] == [("week-1", OVERDUE)]


def test_clinic_settings_file(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == ScheduleSettings()
    (tmp_path / "course.toml").write_text(
        '[follow_up]\ninstruments = ["BDI-II"]\nmonths_after_last_infusion = [1, 3, 12]\n'
        "weeks_after_last_infusion = []\nafter_each_infusion = false\nplanned_infusions = 2\n", encoding="utf-8")
    s = load_settings(tmp_path)
    assert s.instruments == ("bdi-ii",) and s.months_after_last_infusion == (1, 3, 12) and s.planned_infusions == 2
    items = schedule(D(2026, 1, 2), [D(2026, 1, 10), D(2026, 1, 17)], [], s, D(2026, 1, 2))
    assert [f.timepoint for f in items] == ["baseline", "before-infusion-1", "before-infusion-2", "month-1",
                                            "month-3", "month-12"]
    for text, words in [("[follow_up]\ninstruments = [\"hamd\"]\n", "unknown instrument"),
                        ("[follow_up]\nmonths = [1]\n", "unknown setting"),
                        ("[follow_up]\ngrace_days = -1\n", "grace_days"),
                        ("[follow_up\n", "cannot be read")]:
        (tmp_path / "course.toml").write_text(text, encoding="utf-8")
        with pytest.raises(ScheduleSettingsError, match=words):
            load_settings(tmp_path)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)), st.integers(min_value=0, max_value=120))
def test_add_months_is_calendar_months_clamped(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    last_day = calendar.monthrange(end.year, end.month)[1]
    assert end.day == min(start.day, last_day)
