"""One NIBP measurement, one value (issue 12 item 5): the parts of a cuff measurement are grouped once,
by one key, in model/nibp.py, and the trend store, the trend plot, the alarm engine and the FHIR export
all see the same measurements."""

from __future__ import annotations

import numpy as np

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.nibp import NibpMeasurement, group_nibp, nibp_key, nibp_samples
from kapmonitor.model.parameters import Parameter as P  # noqa: N817
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.model.trends import TrendStore

T0 = 1_800_000_000.0


def cuff(t: float, sys_: float, dia: float, mean: float, mid: str | None, dt: float = 0.0,
         source: Source = Source.MONITOR) -> list[VitalSample]:
    """The parts of one measurement as a monitor sends them; `dt` spreads their times."""
    return [VitalSample(t + i * dt, p, v, Status.OK, source, mid)
            for i, (p, v) in enumerate(((P.NIBP_SYS, sys_), (P.NIBP_DIA, dia), (P.NIBP_MEAN, mean)))]


def test_parts_with_one_id_are_one_measurement_even_at_different_times() -> None:
    ms = group_nibp([*cuff(T0, 120, 80, 93, "m1", dt=0.4), VitalSample(T0, P.HR, 70.0),
                     *cuff(T0 + 300, 150, 95, 113, "m2")])
    assert [(m.key, m.time, m.systolic, m.diastolic, m.mean) for m in ms] == [
        ("m1", T0, 120, 80, 93), ("m2", T0 + 300, 150, 95, 113)]
    assert all(m.has_pressure and m.pulse is None for m in ms)


def test_without_id_the_time_is_the_key_and_invalid_parts_are_no_value() -> None:
    parts = [VitalSample(T0, P.NIBP_SYS, 300.0, Status.ARTIFACT), VitalSample(T0, P.NIBP_DIA, 70.0),
             VitalSample(T0 + 60, P.NIBP_SYS, 118.0, source=Source.MANUAL)]
    first, second = group_nibp(parts)
    assert first.key == nibp_key(None, T0) == f"t{T0:.3f}"
    assert first.systolic is None and first.diastolic == 70 and first.status is Status.ARTIFACT
    assert not first.has_pressure
    assert second.manual and second.value(P.NIBP_SYS) == 118 and second.value(P.HR) is None


def test_columns_as_recorded_become_samples_and_unknown_statuses_are_not_valid() -> None:
    samples = nibp_samples([T0, T0, T0, T0], ["nibp_sys", "nibp_dia", "hr", "nibp_mean"],
                           [120.0, float("nan"), 70.0, 90.0], ["ok", "ok", "ok", "from-the-future"],
                           ["monitor", "manual", "monitor", "monitor"], ["a", "a", None, "a"])
    (m,) = group_nibp(samples)
    assert (m.systolic, m.diastolic, m.mean) == (120, None, None)


def test_trend_store_holds_one_item_per_measurement() -> None:
    store = TrendStore()
    store.on_items(cuff(T0, 120, 80, 93, "m1", dt=0.4))
    store.on_items(cuff(T0 + 300, 150, 95, 113, None))
    last = store.last_nibp()
    assert isinstance(last, NibpMeasurement)
    assert (last.systolic, last.diastolic, last.mean) == (150, 95, 113)
    assert [m.key for m in store.nibp_measurements()] == ["m1", f"t{T0 + 300:.3f}"]


def test_trend_plot_draws_a_bar_for_a_measurement_whose_parts_arrive_apart(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Defect: the plot paired systolic and diastolic by identical time, so a monitor that stamps
    the parts of one measurement a few hundred ms apart got no bar at all."""
    from kapmonitor.ui.vitals.trend_plot import TrendPlot

    plot = TrendPlot(default_profile())
    qtbot.addWidget(plot)
    plot.t0 = T0
    store = TrendStore()
    store.on_items(cuff(T0 + 60, 120, 80, 93, "m1", dt=0.4))
    store.on_items(cuff(T0 + 360, 150, 95, 113, "m2"))
    plot.refresh(store, T0 + 400)
    xs, ys = plot.nibp_bars.getData()
    assert xs is not None and ys is not None
    assert np.allclose(xs, [1, 1, 6, 6]) and np.allclose(ys, [120, 80, 150, 95])


def test_engine_judges_the_rise_on_the_measurement_of_the_store() -> None:
    clock = ManualClock(T0)
    engine = AlarmEngine(default_profile(), clock)
    engine.on_items(cuff(T0, 120, 80, 93, "base"))
    engine.start_infusion(T0 + 10)
    rise = default_profile().rise
    clock.advance_to(T0 + 600)
    engine.on_items(cuff(T0 + 600, 120 + rise.systolic, 80, 100, "m2", dt=0.4))
    assert "nibp.rise" in {a.alarm_id for a in engine.active_alarms()}
