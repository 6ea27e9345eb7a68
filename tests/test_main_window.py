"""The nurse's window with real widgets offscreen: rising trends, alarm colours, gaps, the banner."""

from __future__ import annotations

import numpy as np
import pytest

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.presentation import tile_states
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkEvent, LinkState, Source, Status, VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.vitals.tiles import ALARM_COLOURS

T0 = 1_800_000_000.0


class Now:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_window(qtbot, store: TrendStore, now: Now, simulated: bool = True, infusion=None) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=now, simulated=simulated,
                        device="test", infusion_window_fn=infusion))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return window


def test_window_shows_rising_trends_through_a_simulated_infusion(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=8)
    store.on_items(run_patient_for(patient, 42 * 60))
    now = Now(T0 + 42 * 60)
    start = patient.infusion_start
    window = make_window(qtbot, store, now, infusion=lambda t: (start, start + 2400))
    window.refresh_trend()
    window.refresh_fast()

    x, y = window.trend_plot.hr_curve.getData()
    early = np.nanmean(y[(x >= 0) & (x < 5)])
    late = np.nanmean(y[(x >= 35) & (x < 42)])
    assert late - early > 6  # HR rises through the infusion
    sx, sy = window.trend_plot.nibp_sys.getData()
    assert len(sx) == 9 and sy[-1] > sy[0]
    # minutes count from the infusion start, as in the PDF report; the baseline before it stays in view
    assert window.trend_plot.t0 == start
    assert window.trend_plot._regions and window.trend_plot._regions[0].getRegion() == pytest.approx((0.0, 40.0))
    assert window.trend_plot.bp.viewRange()[0][0] <= (T0 - start) / 60
    assert "infusion start" in window.trend_plot.spo2.getAxis("bottom").labelText
    # numerics show the latest values
    assert window.hr_tile.value_label.text() == f"{store.latest(Parameter.HR).value:.0f}"
    nibp = store.last_nibp()
    assert window.nibp_tile.value_label.text() == f"{nibp.systolic:.0f}/{nibp.diastolic:.0f}"
    assert "ago" in window.nibp_tile.detail_label.text()
    assert window.simulated_banner is not None and window.simulated_banner.isVisible()
    assert "SIMULATED" in window.simulated_banner.text()


def test_tile_takes_its_alarm_colour_from_the_alarm_system(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The tile and the alarm bar agree: the tile is coloured by the engine's alarms (presentation.py),
    not by the widget re-checking limits (an HR of 155 during the 10 s alarm delay is no alarm yet)."""
    clock = ManualClock(T0 + 100)
    engine = AlarmEngine(default_profile(), clock)
    store = TrendStore()
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=clock.now, simulated=False,
                        device="test", engine=engine))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()

    def feed(*items: VitalSample) -> None:
        store.on_items(list(items))
        engine.on_items(list(items))
        window.refresh_fast()

    feed(VitalSample(T0 + 100, Parameter.HR, 80.0))
    assert window.hr_tile.alarm_priority is None
    feed(VitalSample(T0 + 100, Parameter.HR, 155.0))
    assert window.hr_tile.alarm_priority is None  # within the condition delay: no alarm, no colour
    for k in range(1, 12):
        clock.advance(1.0)
        feed(VitalSample(T0 + 100 + k, Parameter.HR, 155.0))
    assert window.hr_tile.alarm_priority is Priority.HIGH  # raised: tile and alarm bar together
    assert ALARM_COLOURS[Priority.HIGH] in window.hr_tile.styleSheet()
    feed(*[VitalSample(clock.now(), p, v, Status.OK, Source.MONITOR, "m1") for p, v in
           ((Parameter.NIBP_SYS, 165.0), (Parameter.NIBP_DIA, 95.0), (Parameter.NIBP_MEAN, 118.0))])
    assert window.nibp_tile.alarm_priority is Priority.MEDIUM
    engine.acknowledge("AB")
    feed(VitalSample(clock.now(), Parameter.HR, 90.0))
    # acknowledged alarms keep their colour steady while latched or present, as the alarm bar shows them
    states = tile_states(engine.active_alarms(clock.now()))
    assert window.hr_tile.alarm_priority == (states[Parameter.HR][0] if Parameter.HR in states else None)
    assert window.nibp_tile.alarm_priority is Priority.MEDIUM and window.nibp_tile.flash_on
    assert window.simulated_banner is None


def test_without_an_alarm_system_no_tile_claims_an_alarm(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    window = make_window(qtbot, store, Now(T0 + 100), simulated=False)
    store.on_items([VitalSample(T0 + 100, Parameter.HR, 170.0), VitalSample(T0 + 100, Parameter.SPO2, 80.0)])
    window.refresh_fast()
    assert window.hr_tile.value_label.text() == "170"
    assert window.hr_tile.alarm_priority is None and window.spo2_tile.alarm_priority is None


def test_a_stale_or_invalid_value_is_not_shown_as_a_number(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    now = Now(T0 + 100)
    window = make_window(qtbot, store, now, simulated=False)
    store.on_items([VitalSample(T0 + 100, Parameter.SPO2, None, Status.SENSOR_OFF)])
    store.on_items([VitalSample(T0 + 80, Parameter.HR, 70.0)])
    window.refresh_fast()
    assert window.spo2_tile.value_label.text() == "\u2014"
    assert window.spo2_tile.detail_label.text() == "sensor-off"
    assert window.hr_tile.value_label.text() == "\u2014"  # 20 s old: not a current value


def test_a_gap_is_drawn_as_a_gap(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "link-loss", seed=1)
    items = run_patient_for(patient, 20 * 60)
    store.on_items(items)
    window = make_window(qtbot, store, Now(T0 + 20 * 60))
    window.refresh_trend()
    silent = (patient.infusion_start + 15 * 60 - T0) / 60
    curve = window.trend_plot.hr_curve
    for x, y in ((curve.xData, curve.yData), curve.getData()):  # the data, and as drawn per pixel column
        gap_x = np.unique(x[np.isnan(y)])
        assert len(gap_x) == 1 and silent - 0.1 < gap_x[0] < silent + 0.6


def test_link_state_is_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    window = make_window(qtbot, store, Now(T0), simulated=False)
    store.on_items([LinkEvent(T0, LinkState.DISCONNECTED, "cable unplugged")])
    window.refresh_fast()
    assert "DISCONNECTED" in window.link_label.text()
    assert window.link_label.toolTip() == "cable unplugged"


def test_music_bands_are_drawn_and_follow_the_track(qtbot) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.ui.vitals.trend_plot import Band

    store = TrendStore()
    now = Now(T0 + 600)
    bands = [Band(T0 + 60, T0 + 300, "Track A")]
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=now, simulated=True,
                        device="test", bands_fn=lambda t: [(b.start, b.end, b.label) for b in bands]))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.refresh_trend()
    assert [t.textItem.toPlainText() for t in window.trend_plot._band_labels] == ["Track A"]
    bands.append(Band(T0 + 300, T0 + 600, "Track B"))
    window.refresh_trend()
    assert [t.textItem.toPlainText() for t in window.trend_plot._band_labels] == ["Track A", "Track B"]
    assert [r.toolTip() for r in window.trend_plot._band_items] == ["Track A", "Track B"]  # whole title on hover


def test_closing_during_an_infusion_asks_first_and_never_blocks(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    window = make_window(qtbot, TrendStore(), Now(T0))
    window.start()
    reason: list[str | None] = ["The infusion is running."]
    window.close_guard = lambda: reason[0]
    assert not window.close()  # refused, and nothing modal blocks this call
    box = window.close_question
    assert box is not None and box.isVisible() and "infusion is running" in box.text()
    assert window.isVisible() and window.fast_timer.isActive()  # still monitoring while it asks
    keep = next(b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.RejectRole)
    keep.click()
    assert window.isVisible()
    window.close()
    box = window.close_question
    quit_button = next(b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.DestructiveRole)
    quit_button.click()
    assert not window.isVisible()


def test_closing_without_a_session_in_progress_just_closes(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, TrendStore(), Now(T0))
    window.close_guard = lambda: None
    assert window.close() and not window.isVisible()
