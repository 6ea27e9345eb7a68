"""Fonts follow the window's size without walking every widget once a second (an alarm waits
behind a long GUI-thread slice): a resize rescales, a widget added later is caught on the next
trend tick, and a tick with nothing new leaves the widgets alone."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from test_alarm_ui import T0, _nurse_window

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.ui import theme
from kapmonitor.ui.session.common import big_font


def _big_window(qtbot):  # type: ignore[no-untyped-def]
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    window, dock = _nurse_window(qtbot, engine, (1280, 800))
    window.resize(2560, 1600)  # scale 2.0
    qtbot.waitUntil(lambda: window.width() == 2560, timeout=2000)
    return window, dock


def test_a_resize_rescales_the_fonts(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, _ = _big_window(qtbot)
    label = window.clock_label
    big = label.font().pixelSize()
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=2000)
    assert label.font().pixelSize() * 2 == big


def test_a_panel_added_later_gets_the_scaled_font_on_the_next_trend_tick(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, dock = _big_window(qtbot)
    panel = QWidget()
    title = QLabel("Infusion")
    title.setFont(big_font(30))
    QVBoxLayout(panel).addWidget(title)
    dock.setWidget(panel)  # the session panel, built after the window was shown
    assert title.font().pixelSize() == theme.scaled_px(30)
    window.refresh_trend()
    assert title.font().pixelSize() == theme.scaled_px(30, 2.0)
    # a label added inside an existing panel too
    later = QLabel("Observation")
    later.setFont(big_font(20))
    panel.layout().addWidget(later)
    window.refresh_trend()
    assert later.font().pixelSize() == theme.scaled_px(20, 2.0)


def test_a_trend_tick_with_no_new_widget_does_not_walk_them(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window, _ = _big_window(qtbot)
    window.refresh_trend()
    walks: list[float] = []
    real = theme.rescale_fonts
    monkeypatch.setattr(theme, "rescale_fonts", lambda root, scale: walks.append(scale) or real(root, scale))
    for _ in range(3):
        window.refresh_trend()
    assert walks == []
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=2000)
    assert walks and walks[-1] == 1.0
