"""Trend labels never overlap (issue 11 defect 19): limit labels of close lines merge, close event
labels fold into one, music titles are cut to their band; the whole text is always on hover.
Measured on the real TrendPlot in the nurse's window, offscreen, by the labels' scene rectangles."""

from __future__ import annotations

import itertools

import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QGraphicsRectItem

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.drivers.simulator import SimulatedPatient, run_patient_for
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.vitals.trend_plot import Band, Marker, TrendPlot

T0 = 1_800_000_000.0
MARKERS = [(20, "Nurse JD took over"), (90, "Phase: infusion"), (110, "Nausea (mild)"), (130, "Ondansetron 4 mg IV"),
           (700, "MOAA/S 4"),
           (730, "CADSS 12"), (1400, "Pause")]
BANDS = [(60, 300, "Spiegel im Spiegel"), (300, 330, "Short interlude"),
         (330, 900, "Gymnopédie No. 1 – Erik Satie"), (900, 2000, "Weightless")]


def shown_texts(plot: TrendPlot) -> list[pg.TextItem]:
    """Every text drawn in the plot's scene (limit labels, events, music, infusion), whatever made it."""
    scene = plot.scene()
    return [i for i in scene.items() if isinstance(i, pg.TextItem) and i.isVisible()
            and i.textItem.toPlainText().strip()]


def assert_no_overlap(plot: TrendPlot) -> None:
    plot.grab()  # paint once: text items take their final place when drawn
    texts = shown_texts(plot)
    assert len(texts) >= 8
    for a, b in itertools.combinations(texts, 2):
        ra, rb = a.sceneBoundingRect(), b.sceneBoundingRect()
        assert not ra.intersects(rb), (a.textItem.toPlainText(), b.textItem.toPlainText(), ra, rb)
    for text in texts:  # and none is cut by the edge of its plot
        view = text.getViewBox().sceneBoundingRect()
        assert view.contains(text.sceneBoundingRect()), (text.textItem.toPlainText(), text.sceneBoundingRect(), view)


def hover_texts(plot: TrendPlot) -> str:
    """All a nurse can read on the plot, on screen or on hover."""
    parts = []
    for item in plot.scene().items():
        if isinstance(item, pg.TextItem):
            parts += [item.textItem.toPlainText(), item.toolTip()]
        elif isinstance(item, (QGraphicsRectItem, pg.InfiniteLine)):
            parts.append(item.toolTip())
    return "\n".join(parts)


@pytest.fixture
def window(qtbot):  # type: ignore[no-untyped-def]
    store = TrendStore()
    patient = SimulatedPatient(T0, "normal", seed=8)
    store.on_items(run_patient_for(patient, 42 * 60))
    start = patient.infusion_start
    bands = [Band(T0 + a, T0 + b, label) for a, b, label in BANDS]
    w = MainWindow(WindowFacts(store, default_profile(), session_start=T0, now_fn=lambda: T0 + 42 * 60, simulated=True,
                   device="test", infusion_window_fn=lambda t: (start, start + 2400),
                   bands_fn=lambda t: [(b.start, b.end, b.label) for b in bands]))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.trend_plot.set_markers([Marker(T0 + t, label, "#ffb347") for t, label in MARKERS])
    w.refresh_trend()
    qtbot.wait(30)
    return w


def test_labels_never_overlap_at_1280x800(window) -> None:  # type: ignore[no-untyped-def]
    plot = window.trend_plot
    assert_no_overlap(plot)
    texts = [t.textItem.toPlainText() for t in shown_texts(plot)]
    # DIA 100, SYS 90 and SYS 80 are a few pixels apart: one label, in value order
    assert any("DIA 100" in t for t in texts) and any("SYS 90 \u00b7 SYS 80" in t for t in texts)
    # the events of the first two minutes fold into one label that says more are there, all on hover
    (folded,) = [t for t in shown_texts(plot) if t.textItem.toPlainText().startswith("Nurse JD took over")]
    assert folded.textItem.toPlainText().endswith("+3")
    assert all(label in folded.toolTip() for label in ("Phase: infusion", "Nausea (mild)", "Ondansetron 4 mg IV"))


def test_every_label_is_readable_whole_on_hover(window) -> None:  # type: ignore[no-untyped-def]
    everything = hover_texts(window.trend_plot)
    for _, label in MARKERS:
        assert label in everything
    for _, _, title in BANDS:
        assert title in everything
    for text in ("SYS 180", "SYS 160", "DIA 110", "DIA 100", "SYS 90", "SYS 80"):
        assert text in everything


@pytest.mark.parametrize("size", [(1024, 700), (1920, 1080)])
def test_labels_never_overlap_at_other_sizes(window, qtbot, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    window.resize(*size)
    qtbot.wait(50)
    assert_no_overlap(window.trend_plot)


def test_labels_follow_the_time_axis(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    plot = window.trend_plot
    plot.bp.setXRange(-1.0, 300.0, padding=0)  # five hours on screen: the events crowd together
    qtbot.wait(50)
    assert_no_overlap(plot)
    plot.bp.setXRange(-1.0, 20.0, padding=0)  # twenty minutes: room again, the events separate
    qtbot.wait(50)
    assert_no_overlap(plot)
    texts = [t.textItem.toPlainText() for t in shown_texts(plot)]
    assert any(t.startswith("MOAA/S 4") for t in texts)


def test_hovering_a_band_too_short_for_its_title_shows_the_title(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    plot = window.trend_plot
    texts = [t.textItem.toPlainText() for t in shown_texts(plot)]
    assert not any("interlude" in t for t in texts)  # 30 s of music: no room for its title on the axis
    (band,) = [r for r in plot._band_items if r.toolTip() == "Short interlude"]
    where = plot.mapFromScene(band.sceneBoundingRect().center())
    QApplication.sendEvent(plot.viewport(), QHelpEvent(QEvent.Type.ToolTip, where, plot.viewport().mapToGlobal(where)))
    qtbot.waitUntil(lambda: QToolTip.text() == "Short interlude", timeout=2000)
    QToolTip.hideText()
