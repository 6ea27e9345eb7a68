"""The infusion clock with pauses, on explicit times (no real clock)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError, Phase, format_duration

T0 = 1_700_000_000.0


def test_phases_through_a_session() -> None:
    c = InfusionClock(2400.0, observation_s=3600.0)
    assert c.phase_at(T0) is Phase.BASELINE
    c.start(T0)
    assert c.phase_at(T0 - 1) is Phase.BASELINE
    assert c.phase_at(T0 + 10) is Phase.INFUSION
    c.stop(T0 + 2400)
    assert c.phase_at(T0 + 2400) is Phase.OBSERVATION
    assert c.phase_at(T0 + 2400 + 3599) is Phase.OBSERVATION
    assert c.phase_at(T0 + 2400 + 3600) is Phase.READY_FOR_DISCHARGE
    c.discharge(T0 + 7000)
    assert c.phase_at(T0 + 7000) is Phase.DISCHARGED
    assert c.phase_at(T0 + 6500) is Phase.READY_FOR_DISCHARGE


def test_pause_extends_remaining_time_and_window() -> None:
    c = InfusionClock(2400.0)
    c.start(T0)
    assert c.remaining_s(T0 + 600) == 1800.0
    c.pause(T0 + 600, "nausea")
    # during the pause nothing is infused, the planned end moves with the pause
    assert c.elapsed_s(T0 + 900) == 600.0
    assert c.remaining_s(T0 + 900) == 1800.0
    assert c.infusion_window(T0 + 900) == (T0, T0 + 2400 + 300)
    assert c.paused and c.paused_at(T0 + 700) and not c.paused_at(T0 + 500)
    c.resume(T0 + 1000)
    assert c.elapsed_s(T0 + 1100) == 700.0
    assert c.infusion_window(T0 + 1100) == (T0, T0 + 2800)
    assert c.pauses == [(T0 + 600, T0 + 1000, "nausea")]
    assert c.progress(T0 + 1100) == pytest.approx(700 / 2400)
    assert c.volume_infused_ml(T0 + 1100, 5.25) == pytest.approx(5.25 * 700 / 3600)
    c.stop(T0 + 2800)
    assert c.elapsed_s(T0 + 5000) == 2400.0
    assert c.remaining_s(T0 + 5000) == 0.0
    assert c.progress(T0 + 5000) == 1.0
    assert c.infusion_window(T0 + 5000) == (T0, T0 + 2800)


def test_stop_while_paused_closes_the_pause() -> None:
    c = InfusionClock(2400.0)
    c.start(T0)
    c.pause(T0 + 100, "line check")
    c.stop(T0 + 400)
    assert c.pauses == [(T0 + 100, T0 + 400, "line check")]
    assert c.elapsed_s(T0 + 1000) == 100.0
    assert c.phase_at(T0 + 400) is Phase.OBSERVATION


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([("pause", 1)], "not been started"),
        ([("resume", 1)], "not paused"),
        ([("stop", 1)], "not been started"),
        ([("start", 0), ("start", 1)], "already been started"),
        ([("start", 0), ("pause", 1), ("pause", 2)], "already paused"),
        ([("start", 0), ("stop", 5), ("pause", 6)], "has been stopped"),
        ([("start", 0), ("stop", 5), ("stop", 6)], "already been stopped"),
        ([("start", 10), ("pause", 5)], "earlier than the previous"),
        ([("start", 0), ("discharge", 5)], "not been stopped"),
    ],
)
def test_invalid_transitions_raise_with_a_clear_message(actions: list[tuple[str, float]], message: str) -> None:
    c = InfusionClock()
    *ok, (bad, t) = actions
    for action, when in ok:
        c.apply(action, T0 + when, "r")
    with pytest.raises(InfusionTransitionError, match=message):
        c.apply(bad, T0 + t, "r")


def test_pause_needs_a_reason() -> None:
    c = InfusionClock()
    c.start(T0)
    with pytest.raises(InfusionTransitionError, match="reason"):
        c.pause(T0 + 1, "   ")


def test_unknown_recorded_actions_do_not_change_the_clock() -> None:
    c = InfusionClock()
    c.apply("start", T0)
    c.apply("recovered", T0 + 5, "restart")
    assert c.running and c.elapsed_s(T0 + 10) == 10.0


@given(
    st.lists(st.tuples(st.floats(1, 600, allow_nan=False), st.floats(1, 600, allow_nan=False)), min_size=0, max_size=6),
    st.floats(0, 5000, allow_nan=False),
)
def test_elapsed_plus_paused_is_wall_time(segments: list[tuple[float, float]], extra: float) -> None:
    """Infusing time + pause time = time since start, for any pause pattern, at any moment."""
    c = InfusionClock(2400.0)
    c.start(T0)
    t = T0
    for run, pause in segments:
        t += run
        c.pause(t, "p")
        t += pause
        c.resume(t)
    probe = t + extra
    assert c.elapsed_s(probe) + c.paused_s(probe) == pytest.approx(probe - T0, abs=1e-6)
    assert c.elapsed_s(probe) == pytest.approx(sum(r for r, _ in segments) + extra, abs=1e-6)
    window = c.infusion_window(probe)
    assert window is not None
    assert window[1] == pytest.approx(T0 + 2400 + sum(p for _, p in segments), abs=1e-6)
    assert 0.0 <= c.progress(probe) <= 1.0


def test_format_duration() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(65) == "1:05"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-30) == "-0:30"


def test_overrun_counts_only_while_the_pump_runs_past_the_plan() -> None:
    c = InfusionClock(2400.0)
    assert c.overrun_s(T0) == 0.0  # not started
    c.start(T0)
    assert c.overrun_s(T0 + 2400) == 0.0
    assert c.overrun_s(T0 + 2400 + 90) == 90.0
    c.pause(T0 + 2500, "line check")
    assert c.overrun_s(T0 + 2600) == 0.0  # paused: not infusing
    c.resume(T0 + 2700)
    assert c.overrun_s(T0 + 2800) == 200.0  # pauses do not count
    c.stop(T0 + 2800)
    assert c.overrun_s(T0 + 3000) == 0.0
