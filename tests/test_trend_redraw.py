"""The live trend redraws only what changed: a new second of data does not repaint the axes' ticks,
grid and labels (cached), while a change of range does, so the scale shown is always the current one.
Real TrendPlot in the nurse's window, offscreen; counts the axes' own paint calls."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow

T0 = 1_800_000_000.0


def _settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)


def test_new_trend_data_repaints_the_curves_not_the_axes(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=3)
    store.on_items(run_patient_for(patient, 600))
    now = T0 + 600
    window = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=lambda: now, simulated=True,
                                    device="test"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.refresh_trend()
    _settle(qtbot)

    painted: list[pg.AxisItem] = []
    original = pg.AxisItem.paint

    def counting_paint(self: pg.AxisItem, *args: object) -> None:
        painted.append(self)
        original(self, *args)

    monkeypatch.setattr(pg.AxisItem, "paint", counting_paint)
    viewport_paints = 0

    def count_viewport(*_args: object) -> None:
        nonlocal viewport_paints
        viewport_paints += 1

    plot = window.trend_plot
    plot.scene().changed.connect(count_viewport)
    curve_before = plot.hr_curve.getData()[0]
    assert curve_before is not None
    for _ in range(3):  # three more seconds of data: the curves grow, the scale stays
        store.on_items(run_patient_for(patient, 1))
        now += 1
        window.refresh_trend()
        _settle(qtbot)
    assert viewport_paints > 0  # the scene did change (the new data is drawn)
    assert len(plot.hr_curve.getData()[0]) > len(curve_before)
    assert painted == []  # the axes came from their cache

    now = T0 + 3 * 3600  # hours later: the minutes axis widens and is drawn again with its new ticks
    window.refresh_trend()
    _settle(qtbot)
    bottom = plot.bp.getAxis("bottom")
    assert any(a is bottom for a in painted)
    assert plot.bp.viewRange()[0][1] >= 180
