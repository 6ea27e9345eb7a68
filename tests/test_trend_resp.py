"""The trend's RR / EtCO2 row appears with the first value and keeps every label apart; without HR the
HR row draws the pulse rate, labelled PR (the real nurse's window, offscreen)."""

from __future__ import annotations

import numpy as np
from test_trend_labels import BANDS, MARKERS, T0, assert_no_overlap

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.vitals.trend_plot import Band, Marker


def _window(qtbot, store: TrendStore) -> MainWindow:  # type: ignore[no-untyped-def]
    bands = [Band(T0 + a, T0 + b, label) for a, b, label in BANDS]
    w = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=lambda: T0 + 42 * 60, simulated=True,
                   device="test", infusion_window_fn=lambda t: (T0 + 600, T0 + 3000),
                   bands_fn=lambda t: [(b.start, b.end, b.label) for b in bands]))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.trend_plot.set_markers([Marker(T0 + t, label, "#ffb347") for t, label in MARKERS])
    w.refresh_trend()
    qtbot.wait(30)
    return w


def test_resp_row_appears_with_the_first_value(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    store.on_items(run_patient_for(SimulatedPatient(T0, "normal", seed=8), 42 * 60))
    w = _window(qtbot, store)
    plot = w.trend_plot
    assert plot.resp is None  # the monitor sends no respiration: no empty row
    store.on_items([VitalSample(T0 + s, p, v) for s in range(0, 42 * 60, 5)
                    for p, v in ((Parameter.RESP_RATE, 14.0), (Parameter.ETCO2, 36.0))])
    w.refresh_trend()
    qtbot.wait(30)
    assert plot.resp is not None and plot.rr_curve is not None and plot.etco2_curve is not None
    _, y = plot.rr_curve.getData()
    assert y is not None and np.nanmax(y) == 14.0
    _, y = plot.etco2_curve.getData()
    assert y is not None and np.nanmax(y) == 36.0
    texts = {t.textItem.toPlainText() for t in plot.labels()}
    assert any("RR 24" in t for t in texts) and any("EtCO\u2082 50" in t for t in texts)
    assert not any("RR 30" in t for t in texts)  # the shared row draws the medium limits only
    assert plot.resp.getAxis("bottom").labelText == "minutes from the infusion start"  # the time axis moved down
    assert plot.spo2.getAxis("bottom").labelText == ""
    assert_no_overlap(plot)


def test_hr_row_draws_the_pulse_rate_as_pr_without_hr(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    items: list[Item] = [VitalSample(T0 + s, Parameter.PULSE_RATE, 61.0) for s in range(0, 600, 2)]
    store.on_items(items)
    w = _window(qtbot, store)
    _, y = w.trend_plot.hr_curve.getData()
    assert y is not None and np.nanmax(y) == 61.0
    assert w.trend_plot.hr.getAxis("left").labelText == "PR /min"
