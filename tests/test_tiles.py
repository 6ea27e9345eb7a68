"""The numeric tiles in the real nurse's window (offscreen): no text collides with or is cut by
another, a long text is elided with its full text on hover, and hand-entered values say MANUAL
(issue 11 defect 20)."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel

from kapmonitor.alarms.profile import default_profile
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.elided import ElidedLabel
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.vitals.tile_panel import MANUAL_MAX_AGE
from kapmonitor.ui.vitals.tiles import NumericTile

T0 = 1_800_000_000.0


class Now:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def text_rect(label: QLabel, tile: NumericTile) -> QRect:
    """Where the label's painted text lies, in tile coordinates (its alignment inside its geometry)."""
    shown = label.shown_text() if isinstance(label, ElidedLabel) else label.text()
    width = label.fontMetrics().horizontalAdvance(shown)
    geo = QRect(label.mapTo(tile, label.contentsRect().topLeft()), label.contentsRect().size())
    if label.alignment() & Qt.AlignmentFlag.AlignRight:
        return QRect(geo.right() - width + 1, geo.top(), width, geo.height())
    return QRect(geo.left(), geo.top(), width, geo.height())


def assert_texts_apart(tile: NumericTile) -> None:
    labels = [w for w in tile.findChildren(QLabel) if w.isVisible() and w.text() and w is not tile.value_label]
    assert len(labels) >= 3
    for label in labels:
        shown = label.shown_text() if isinstance(label, ElidedLabel) else label.text()
        # the whole painted text fits its label: nothing is clipped mid-letter
        assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width(), label.text()
        if shown != label.text():
            assert shown.endswith("\u2026") and label.toolTip() == label.text()  # elided: whole on hover
        assert tile.contentsRect().contains(text_rect(label, tile)), label.text()
    for a, b in itertools.combinations(labels, 2):
        assert not text_rect(a, tile).intersects(text_rect(b, tile)), (a.text(), b.text())


def window_at(qtbot, width: int, height: int, now: Now) -> tuple[MainWindow, TrendStore]:  # type: ignore[no-untyped-def]
    store = TrendStore()
    window = MainWindow(WindowFacts(
            store, default_profile(), session_start=T0, now_fn=now, simulated=True, device="test"))
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    return window, store


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)])
def test_nibp_tile_texts_never_collide(qtbot, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 600)
    window, store = window_at(qtbot, *size, now)
    window.refresh_fast()
    qtbot.wait(20)  # layouts settle
    tile = window.nibp_tile
    assert tile.detail_label.text() == "no measurement yet" and tile.limits_text() == "\u2265160 <90"
    assert_texts_apart(tile)
    store.on_items([VitalSample(T0 + 30, p, v, Status.OK, Source.MANUAL, "m1") for p, v in
                    ((Parameter.NIBP_SYS, 182.0), (Parameter.NIBP_DIA, 104.0), (Parameter.NIBP_MEAN, 130.0))])
    window.refresh_fast()
    qtbot.wait(20)
    assert tile.manual_label.isVisible() and tile.detail_label.text() == "(130)  9 min ago"
    assert_texts_apart(tile)
    for other in (window.hr_tile, window.spo2_tile):
        assert_texts_apart(other)


def test_the_narrowest_tile_elides_and_shows_the_whole_text_on_hover(qtbot) -> None:  # type: ignore[no-untyped-def]
    tile = NumericTile("NIBP", "mmHg", "#ffffff", value_px=72)
    qtbot.addWidget(tile)
    tile.set_limits_text("\u2265160 <90 \u2265100")
    tile.set_manual(True)
    tile.set_value("182/104")
    tile.set_detail("(130)  2 h 05 min ago, entered by hand")
    tile.resize(230, 200)  # narrower than the window ever makes it
    tile.show()
    qtbot.waitExposed(tile)
    assert_texts_apart(tile)
    assert tile.detail_label.shown_text().endswith("\u2026")
    assert tile.detail_label.toolTip() == "(130)  2 h 05 min ago, entered by hand"
    tile.resize(700, 300)
    qtbot.wait(10)
    assert tile.detail_label.shown_text() == tile.detail_label.text()  # room again: whole, no tooltip needed
    assert tile.detail_label.toolTip() == ""
    assert_texts_apart(tile)


def test_manual_values_are_marked_manual(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 100, Parameter.HR, 72.0, source=Source.MANUAL),
                    VitalSample(T0 + 100, Parameter.SPO2, 97.0, source=Source.MANUAL)])
    now.t = T0 + 160
    window.refresh_fast()
    for tile, value in ((window.hr_tile, "72"), (window.spo2_tile, "97")):
        assert tile.value_label.text() == value  # a spot check stays up, marked, with its age
        assert tile.manual_label.isVisible() and tile.manual_label.text() == "MANUAL"
        assert tile.detail_label.text() == "entered 60 s ago"
    assert not window.nibp_tile.manual_label.isVisible()
    now.t = T0 + 100 + MANUAL_MAX_AGE + 1
    window.refresh_fast()
    assert window.hr_tile.value_label.text() == "\u2014" and not window.hr_tile.manual_label.isVisible()
    store.on_items([VitalSample(now.t, Parameter.HR, 75.0)])  # the monitor again
    window.refresh_fast()
    assert window.hr_tile.value_label.text() == "75" and not window.hr_tile.manual_label.isVisible()
    store.on_items([VitalSample(now.t, p, v, Status.OK, Source.MONITOR, "m2") for p, v in
                    ((Parameter.NIBP_SYS, 120.0), (Parameter.NIBP_DIA, 80.0))])
    window.refresh_fast()
    assert not window.nibp_tile.manual_label.isVisible()
    store.on_items([VitalSample(now.t + 5, p, v, Status.OK, Source.MANUAL, "m3") for p, v in
                    ((Parameter.NIBP_SYS, 125.0), (Parameter.NIBP_DIA, 85.0))])
    window.refresh_fast()
    assert window.nibp_tile.manual_label.isVisible() and window.nibp_tile.value_label.text() == "125/85"


def test_tiles_keep_a_readable_value_when_something_above_takes_room(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 100)
    window, store = window_at(qtbot, 1280, 800, now)
    notice = QLabel("\n".join(["a long notice above the vitals"] * 30))  # e.g. a wrapped banner
    window.alarm_area.addWidget(notice)
    store.on_items([VitalSample(T0 + 100, Parameter.HR, 72.0)])
    window.refresh_fast()
    qtbot.wait(30)
    for tile in window.tiles.values():
        value = tile.value_label
        assert value.height() >= value.fontMetrics().height(), (tile._label.text(), value.height())
        assert value.font().pixelSize() >= 40
        assert_texts_apart(tile)


def test_manual_values_are_ringed_on_the_trend_and_say_so_on_hover(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = Now(T0 + 600)
    window, store = window_at(qtbot, 1280, 800, now)
    store.on_items([VitalSample(T0 + 300, p, v, Status.OK, Source.MANUAL, "m1") for p, v in
                    ((Parameter.NIBP_SYS, 150.0), (Parameter.NIBP_DIA, 95.0))])
    store.on_items([VitalSample(T0 + 360, Parameter.HR, 64.0, source=Source.MANUAL),
                    VitalSample(T0 + 361, Parameter.HR, 70.0)])  # the monitor's own value is not ringed
    window.refresh_trend()
    rings = window.trend_plot.manual_marks
    bp_x, bp_y = rings["bp"].getData()
    assert list(bp_x) == pytest.approx([5.0, 5.0]) and sorted(bp_y) == [95.0, 150.0]
    hr_x, hr_y = rings["hr"].getData()
    assert list(hr_x) == pytest.approx([6.0]) and list(hr_y) == [64.0]
    assert len(rings["spo2"].getData()[0]) == 0
    tips = [rings["bp"].opts["tip"](x=p.pos().x(), y=p.pos().y(), data=p.data()) for p in rings["bp"].points()]
    assert sorted(tips) == ["NIBP dia 95 entered by hand", "NIBP sys 150 entered by hand"]



def test_tiles_coloured_once_in_the_window_look_as_if_coloured_when_made(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The window colours its tiles once they sit in it (their style sheets matched once before the
    first paint): before it shows, every tile has the colours and the readable minimum height of a tile
    coloured when made; a tile shown before its owner coloured it colours itself."""
    from kapmonitor.ui import theme

    window = MainWindow(WindowFacts(TrendStore(), default_profile(), session_start=T0, now_fn=Now(T0 + 60),
                                    simulated=True, device="test"))
    qtbot.addWidget(window)
    tiles = {"hr": window.hr_tile, "spo2": window.spo2_tile, "nibp": window.nibp_tile, "rr": window.rr_tile,
             "etco2": window.etco2_tile}
    for name, tile in tiles.items():
        assert theme.PANEL_BORDER in tile.styleSheet(), name  # coloured before the window shows
        twin = NumericTile(tile._label.text(), tile._unit.text(), tile.colour, value_px=tile._min_value_px,
                           compact=name in ("rr", "etco2"))
        qtbot.addWidget(twin)
        assert twin.styleSheet() == tile.styleSheet(), name
        assert twin.minimumHeight() == tile.minimumHeight(), name
        assert tile.value_label.palette().color(tile.value_label.foregroundRole()).name() == tile.colour.lower()

    early = NumericTile("HR", "/min", "#00ff00", defer_style=True)
    qtbot.addWidget(early)
    assert early.styleSheet() == ""
    early.show()  # never drawn without its colours
    assert theme.PANEL_BORDER in early.styleSheet() and "#00ff00" in early.styleSheet()
