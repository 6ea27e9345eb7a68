"""The Qt-free alarm row rule: what a row says, in which order, and how it is shortened to a width."""

from __future__ import annotations

import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import ActiveAlarm, AlarmKind
from kapmonitor.alarms.presentation import (
    COLOURS,
    ELLIPSIS,
    INOP_COLOURS,
    alarm_parts,
    display_priority,
    full_text,
    is_word_boundary_prefix,
    row_colours,
    shorten,
    sort_for_display,
)
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample

T0 = 1_700_000_000.0


def _engine() -> AlarmEngine:
    return AlarmEngine(default_profile(), ManualClock(T0))


def _nibp(engine: AlarmEngine, sys_: float, dia: float, mid: str) -> None:
    t = engine._clock.now()
    engine.on_items([VitalSample(t, Parameter.NIBP_SYS, sys_, measurement_id=mid),
                     VitalSample(t, Parameter.NIBP_DIA, dia, measurement_id=mid)])


def _alarm(engine: AlarmEngine, alarm_id: str) -> ActiveAlarm:
    return next(a for a in engine.active_alarms() if a.alarm_id == alarm_id)


def _proportional(text: str) -> float:
    """A crude proportional font: narrow punctuation, wide capitals."""
    return sum(6.0 if c in " .,:;·/" else 14.0 if c.isupper() else 10.0 for c in text)


def test_high_bp_row_reads_like_a_monitor() -> None:
    engine = _engine()
    _nibp(engine, 195, 85, "m1")
    engine._clock.advance(65)
    parts = alarm_parts(_alarm(engine, "nibp_sys.upper"), engine._clock.now())
    assert parts[:3] == ["*** NIBP sys 195 > 180", "pause infusion / call physician", "1:05"]
    assert parts[-1] == "Systolic BP very high"  # the title repeats the numbers: last to be shown
    assert full_text(parts).startswith("*** NIBP sys 195 > 180 \u00b7 pause infusion")


def test_value_at_the_limit_uses_or_equal_and_lower_limits_point_down() -> None:
    engine = _engine()
    _nibp(engine, 180, 85, "m1")
    assert alarm_parts(_alarm(engine, "nibp_sys.upper"), T0)[0] == "*** NIBP sys 180 \u2265 180"
    _nibp(engine, 75, 50, "m2")
    assert alarm_parts(_alarm(engine, "nibp_sys.lower"), T0)[0] == "*** NIBP sys 75 < 80"


def test_acknowledged_high_stays_high_with_its_raising_value_and_limit() -> None:
    engine = _engine()
    _nibp(engine, 195, 85, "m1")
    engine.acknowledge("AB")
    _nibp(engine, 166, 85, "m2")  # the engine's priority is medium now
    a = _alarm(engine, "nibp_sys.upper")
    assert a.priority is Priority.MEDIUM and display_priority(a) is Priority.HIGH
    parts = alarm_parts(a, T0)
    assert parts[0] == "*** NIBP sys 195 > 180"  # never "** NIBP sys 166 ... 180"
    assert "acknowledged" in parts and "now 166" in parts
    assert row_colours(a)[0] == COLOURS[Priority.HIGH][0]


def test_latched_link_alarm_says_what_it_is_before_its_state() -> None:
    engine = _engine()
    engine.session_active(True)
    engine._clock.advance(11)
    engine.tick()
    engine.on_items([VitalSample(engine._clock.now(), Parameter.HR, 80)])  # data back: latched
    a = _alarm(engine, "link-lost")
    assert a.latched and a.kind is AlarmKind.TECHNICAL
    parts = alarm_parts(a, engine._clock.now())
    assert parts[0] == "*** Link to the monitor lost"
    assert parts.index("ended, acknowledge") > 0
    shown = shorten(parts, len, 34)
    assert shown.startswith("*** Link to the monitor lost") and shown.endswith(ELLIPSIS)


def test_inop_colour_is_cyan_and_distinct_from_every_clinical_priority() -> None:
    engine = _engine()
    engine.report_technical("storage-failure", "Session record failing: disk full", Priority.HIGH)
    a = _alarm(engine, "storage-failure")
    bg, fg, border = row_colours(a)
    assert bg == INOP_COLOURS[0] == "#00e5ff" and fg == "#000000"
    assert border == COLOURS[Priority.HIGH][0]  # the border still tells its priority
    assert bg not in {c[0] for c in COLOURS.values()}
    assert alarm_parts(a, T0)[0] == "*** Session record failing"
    unlit = row_colours(a, lit=False)
    assert unlit[1] == INOP_COLOURS[0] and unlit[0] != INOP_COLOURS[0]


def test_parameter_only_inop_keeps_its_whole_message_as_subject() -> None:
    engine = _engine()
    engine.report_technical("hr.invalid", "HR: sensor off", Priority.MEDIUM)
    assert alarm_parts(_alarm(engine, "hr.invalid"), T0)[0] == "** HR: sensor off"


@pytest.mark.parametrize("width_of", [len, _proportional])
def test_shortening_never_cuts_a_word(width_of) -> None:  # type: ignore[no-untyped-def]
    engine = _engine()
    _nibp(engine, 195, 115, "m1")
    engine._clock.advance(200)
    engine.tick()
    now = engine._clock.now()
    for a in engine.active_alarms():
        parts = alarm_parts(a, now)
        full = full_text(parts)
        previous = ""
        for available in range(10, int(width_of(full)) + 40, 3):
            shown = shorten(parts, width_of, available)
            assert is_word_boundary_prefix(shown, full), (available, shown)
            assert not shown.endswith("\u00b7 " + ELLIPSIS)
            if width_of(shown) > available:  # only the floor may overflow: marker and first word
                assert shown == " ".join(full.split(" ")[:2]) + " " + ELLIPSIS
            assert len(shown.rstrip(ELLIPSIS)) >= len(previous.rstrip(ELLIPSIS))  # wider never shows less
            previous = shown
        assert shorten(parts, width_of, width_of(full)) == full


def test_shortening_drops_from_the_end_in_rule_order() -> None:
    parts = ["*** NIBP sys 195 > 180", "pause infusion / call physician", "3:07", "ESCALATED"]
    full = full_text(parts)
    assert shorten(parts, len, len(full)) == full
    assert shorten(parts, len, len(full) - 1) == full_text(parts[:3]) + " \u2026"
    assert shorten(parts, len, 45) == "*** NIBP sys 195 > 180 \u00b7 pause infusion \u2026"
    assert shorten(parts, len, 26) == "*** NIBP sys 195 > 180 \u2026"
    assert shorten(parts, len, 3) == "*** NIBP \u2026"


def test_is_word_boundary_prefix_rejects_cut_words() -> None:
    full = "*** NIBP sys 195 > 180 \u00b7 pause infusion"
    assert is_word_boundary_prefix(full, full)
    assert is_word_boundary_prefix("*** NIBP sys 195 > 180 \u2026", full)
    assert not is_word_boundary_prefix("*** NIBP sys 195 > 180 \u00b7 pau \u2026", full)
    assert not is_word_boundary_prefix("*** NIBP sys 195 > 18", full)
    assert not is_word_boundary_prefix("*** NIBP sys 195 > 180 \u00b7 \u2026", full)


def test_display_order_keeps_an_acknowledged_high_above_mediums() -> None:
    engine = _engine()
    _nibp(engine, 195, 85, "m1")
    engine.acknowledge("AB")
    _nibp(engine, 166, 85, "m2")
    engine.report_technical("tech", "Alarm sound cannot be played: no output", Priority.MEDIUM)
    engine.report_technical("storage-failure", "Session record failing: disk full", Priority.HIGH)
    _nibp(engine, 166, 112, "m3")  # a new high diastolic alarm, older than the storage INOP below
    engine._clock.advance(5)
    engine.report_technical("late", "Session record failing: again", Priority.HIGH)
    order = [a.alarm_id for a in sort_for_display(engine.active_alarms())]
    # unacknowledged highs, the patient's first; then the acknowledged high; then the medium
    assert order == ["nibp_dia.upper", "late", "storage-failure", "nibp_sys.upper", "tech"]


def test_the_age_keeps_its_own_column_while_the_action_is_abbreviated_at_whole_words() -> None:
    """Issue 11: "action and age visible at 1280x800": the age is right-aligned in a column of its own;
    the text before it gives way first (whole words), the age only when the alarm's subject needs the room."""
    from kapmonitor.alarms.presentation import row_parts, shorten_row

    engine = _engine()
    _nibp(engine, 195, 85, "m1")
    engine._clock.advance(187)
    engine.tick()
    a = _alarm(engine, "nibp_sys.upper")
    parts, age = row_parts(a, engine._clock.now())
    assert age == "3:07" and age not in parts
    # what the numbers already say stays in the tooltip (the whole text), never takes row room
    assert "Systolic BP very high" in alarm_parts(a, engine._clock.now()) and "Systolic BP very high" not in parts
    assert parts[:2] == ["*** NIBP sys 195 > 180", "pause infusion / call physician"]
    text = full_text(parts)
    assert shorten_row(parts, age, len, len(text) + 2 + len(age), 2) == (text, age)  # all of it fits
    shown, shown_age = shorten_row(parts, age, len, 48, 2)
    assert shown_age == "3:07" and shown == "*** NIBP sys 195 > 180 \u00b7 pause infusion \u2026"
    assert len(shown) + 2 + len(shown_age) <= 48
    # room for the subject alone: the age gives way, what the alarm is stays
    assert shorten_row(parts, age, len, 26, 2) == ("*** NIBP sys 195 > 180 \u2026", "")
