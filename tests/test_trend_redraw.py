"""The live trend redraws only what changed: a new second of data does not repaint the axes' ticks,
grid and labels (cached), while a change of range does, so the scale shown is always the current one;
the curves are redrawn once per pixel column (at most CURVE_REDRAW_S apart) and then show exactly
what a full redraw shows; a NIBP measurement is drawn at once.
Real TrendPlot in the nurse's window, offscreen; counts the axes' own paint calls."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.vitals.trend_plot import CURVE_REDRAW_S, TrendPlot

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
    for _ in range(int(CURVE_REDRAW_S) + 1):  # seconds of data up to the next curve redraw: the scale stays
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


def _curves(plot: TrendPlot) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for item in (plot.hr_curve, plot.spo2_curve, plot.nibp_sys, plot.nibp_dia, plot.nibp_mean, plot.nibp_bars):
        # the data given to each item (a curve draws it per pixel column, which one new second may not move)
        x, y = (item.xData, item.yData) if isinstance(item, pg.PlotDataItem) else item.getData()
        out.append((np.asarray(x if x is not None else [], dtype=float), np.asarray(y if y is not None else [],
                                                                                   dtype=float)))
    return out


def _same(a: list[tuple[np.ndarray, np.ndarray]], b: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    return all(np.array_equal(xa, xb, equal_nan=True) and np.array_equal(ya, yb, equal_nan=True)
               for (xa, ya), (xb, yb) in zip(a, b, strict=True))


def test_curves_wait_for_their_pixel_column_then_equal_a_full_redraw(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=4)
    store.on_items(run_patient_for(patient, 3 * 3600 + 120))  # 3 h: a second is far below one pixel column
    now = T0 + 3 * 3600 + 120  # and the scale steps to its next 5 minutes only in minutes
    live = TrendPlot(default_profile())
    qtbot.addWidget(live)
    live.resize(900, 500)
    live.show()
    live.t0 = T0
    live.refresh(store, now)
    _settle(qtbot)
    drawn = _curves(live)
    changes = 0

    def count(*_args: object) -> None:
        nonlocal changes
        changes += 1

    live.scene().changed.connect(count)
    for _ in range(int(CURVE_REDRAW_S) - 1):  # new seconds that move nothing on screen: nothing redrawn
        store.on_items(run_patient_for(patient, 1))
        now += 1
        live.refresh(store, now)
        _settle(qtbot)
    assert _same(_curves(live), drawn) and changes == 0

    store.on_items(run_patient_for(patient, 1))  # the next pixel column: drawn again, with every second
    now += 1
    live.refresh(store, now)
    _settle(qtbot)
    full = TrendPlot(default_profile())  # a fresh plot drawing the same store in one go
    qtbot.addWidget(full)
    full.resize(900, 500)
    full.show()
    full.t0 = T0
    full.refresh(store, now)
    assert not _same(_curves(live), drawn)
    assert _same(_curves(live), _curves(full))
    assert changes > 0


def test_a_nibp_measurement_is_drawn_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=4)
    store.on_items(run_patient_for(patient, 3600))
    now = T0 + 3600
    plot = TrendPlot(default_profile())
    qtbot.addWidget(plot)
    plot.resize(900, 500)
    plot.show()
    plot.t0 = T0
    plot.refresh(store, now)
    before = len(plot.nibp_sys.getData()[0])
    now += 1
    store.on_items([VitalSample(now, Parameter.NIBP_SYS, 185.0, measurement_id="late"),
                    VitalSample(now, Parameter.NIBP_DIA, 95.0, measurement_id="late"),
                    VitalSample(now, Parameter.NIBP_MEAN, 125.0, measurement_id="late")])
    plot.refresh(store, now)  # one second after the last redraw: the curves wait, the cuff does not
    x, y = plot.nibp_sys.getData()
    assert len(x) == before + 1 and y[-1] == 185.0 and x[-1] == (now - T0) / 60.0
    _bx, by = plot.nibp_bars.getData()
    assert list(by[-2:]) == [185.0, 95.0]


def _marks(item: pg.ScatterPlotItem) -> list[tuple[float, float, str, int, str]]:
    """Each drawn mark: where, its symbol, size and fill colour (what the nurse sees)."""
    return [(s.pos().x(), s.pos().y(), str(s.symbol()), int(s.size()), s.brush().color().name())
            for s in item.points()]


def test_new_nibp_marks_are_appended_and_equal_a_full_redraw(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A new cuff reading adds its marks to the drawn ones (not all redrawn); the result is the
    same as a fresh plot drawing the whole store, also after a new origin moves every mark."""
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=4)
    store.on_items(run_patient_for(patient, 3600))
    now = T0 + 3600
    live = TrendPlot(default_profile())
    qtbot.addWidget(live)
    live.resize(900, 500)
    live.show()
    live.t0 = T0
    live.refresh(store, now)
    redrawn_all: list[object] = []
    for item in (live.nibp_sys, live.nibp_dia, live.nibp_mean):
        whole = item.setData
        item.setData = lambda *a, _whole=whole, **kw: redrawn_all.append(a) or _whole(*a, **kw)  # type: ignore[method-assign]
    for k in range(3):
        now += 20
        store.on_items([VitalSample(now, p, v + k, measurement_id=f"extra{k}") for p, v in
                        ((Parameter.NIBP_SYS, 150.0), (Parameter.NIBP_DIA, 90.0), (Parameter.NIBP_MEAN, 110.0))])
        live.refresh(store, now)
    assert redrawn_all == []  # the new marks were added to the drawn ones
    full = TrendPlot(default_profile())
    qtbot.addWidget(full)
    full.resize(900, 500)
    full.show()
    full.t0 = T0
    full.refresh(store, now)
    for item, same in ((live.nibp_sys, full.nibp_sys), (live.nibp_dia, full.nibp_dia),
                       (live.nibp_mean, full.nibp_mean)):
        assert len(_marks(item)) >= 4 and _marks(item) == _marks(same)
    assert _same(_curves(live), _curves(full))
    live.t0 = full.t0 = T0 + 600  # the infusion starts: minutes count from it, every mark moves
    live.refresh(store, now)
    full.refresh(store, now)
    assert len(redrawn_all) == 3  # each item drawn again in full
    for item, same in ((live.nibp_sys, full.nibp_sys), (live.nibp_mean, full.nibp_mean)):
        assert _marks(item) == _marks(same)


def test_a_new_store_is_drawn_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Another kind of monitor brings a fresh, empty store: the old curves go at the next redraw,
    not a pixel column later (simulated values are never shown beside a patient's)."""
    store = TrendStore()
    store.on_items(run_patient_for(SimulatedPatient(T0, "normal", seed=4), 3720))
    now = T0 + 3720  # the scale keeps its 5 minutes over the next second
    plot = TrendPlot(default_profile())
    qtbot.addWidget(plot)
    plot.resize(900, 500)
    plot.show()
    plot.t0 = T0
    plot.refresh(store, now)
    assert len(plot.hr_curve.xData) > 3000
    plot.refresh(TrendStore(), now + 1)
    x, _ = plot.hr_curve.getData()
    assert x is None or len(x) == 0
    assert len(plot.nibp_sys.getData()[0]) == 0


def test_a_4h_curve_is_drawn_per_pixel_column_keeping_every_peak(qtbot) -> None:  # type: ignore[no-untyped-def]
    """4 h of 1-s HR: the curve paints the highest and lowest value of each pixel column (not all
    14,400 points on every paint), so a one-second spike and a one-second dip are still drawn."""
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=5)
    store.on_items(run_patient_for(patient, 3600))
    store.on_items([VitalSample(T0 + 3600.5, Parameter.HR, 171.0)])  # a spike after 1 h
    store.on_items(run_patient_for(patient, 3600))
    store.on_items([VitalSample(T0 + 7200.5, Parameter.HR, 31.0)])  # a dip after 2 h
    store.on_items(run_patient_for(patient, 2 * 3600))
    now = T0 + 4 * 3600
    plot = TrendPlot(default_profile())
    qtbot.addWidget(plot)
    plot.resize(900, 500)
    plot.show()
    plot.t0 = T0
    plot.refresh(store, now)
    _settle(qtbot)
    width_px = plot.hr.getViewBox().width()
    assert len(plot.hr_curve.xData) > 14_000
    for curve in (plot.hr_curve, plot.spo2_curve):
        x, y = curve.getData()
        assert len(x) <= 2 * width_px + 8  # two points (highest, lowest) per pixel column
        raw = curve.yData[np.isfinite(curve.yData)]
        assert np.nanmax(y) == raw.max() and np.nanmin(y) == raw.min()
    x, y = plot.hr_curve.getData()
    assert abs(x[np.nanargmax(y)] - 60.0) < 0.5 and abs(x[np.nanargmin(y)] - 120.0) < 0.5
