"""The central station window: one tile per chair, most urgent first, the chosen chair's trend, and
the central's own alarms (chair offline, monitor link lost, broker unreachable) in the alarm bar.

A tile shows the chair's name (pseudonym or chair name), phase and infusion clock, HR/SpO2/NIBP
with their age, the highest active bedside alarm in its colour with its marker, what is due next,
and the link state. By default the central cannot acknowledge or silence a bedside alarm: there is
no control for it. Started with --allow-ack (a `CentralCommander`), a tile whose chair accepts it
offers "Acknowledge at chair…" for its unacknowledged alarm; a confirmation names the alarm and the
operator (Cancel is the default: Enter or Escape send nothing), and the tile shows the chair's
answer. Its own alarms can be acknowledged here (they belong to the central); audio pause is not
offered, so nothing silences the chairs' alarms at the central either.

Thread-safety: the model calls its listeners from paho's and its supervisor's threads; `_Bridge`
turns that into a queued Qt signal, and everything here runs in the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QMouseEvent, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.presentation import COLOURS, INOP_COLOURS, flash_on, format_age
from kapmonitor.alarms.profile import Priority
from kapmonitor.central.commands import AckError, CentralCommander
from kapmonitor.central.model import BedsideAlarm, CentralModel, ChairView, Reading
from kapmonitor.central.sound import CentralSound
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui import theme
from kapmonitor.ui.alarms.bar import AlarmBar
from kapmonitor.ui.elided import ElidedLabel, elide_words

log = logging.getLogger(__name__)

STALE_S = 10.0  # a value older than this is shown dimmed with its age
TREND_S = 3600.0  # how much of each chair's trend the central keeps (received vitals only)
MIN_REFRESH_S = 0.1
TREND_REDRAW_S = 1.0
TILE_H = 170
ACK_ROW_H = 40  # the tile's extra row when the central may acknowledge: the button and the chair's answer
HR_C = theme.PARAMETER_COLOURS[Parameter.HR]
SPO2_C = theme.PARAMETER_COLOURS[Parameter.SPO2]


def _font(px: int, bold: bool = False) -> QFont:
    f = QFont(theme.FONT_FAMILY)
    f.setPixelSize(px)
    f.setBold(bold)
    return f


def _num(r: Reading | None) -> str:
    return "--" if r is None or r.value is None else f"{r.value:.0f}"


def _age(age_s: float) -> str:
    return "now" if age_s < STALE_S else format_age(age_s)


def _set(label: QLabel, text: str, sheet: str | None = None) -> None:
    """Change a label only when its text or style changes (a 16-chair central redraws 4 times a second)."""
    if label.text() != text:
        label.setText(text)
    if sheet is not None and label.styleSheet() != sheet:
        label.setStyleSheet(sheet)


_MEASURE = QTextDocument()  # GUI thread only: measures a value's rich text


def _fits(html: str, label: QLabel | None) -> bool:
    """Whether `html` fits `label` on one line (True for no label or one not yet shown: nothing to fit)."""
    if label is None or not label.isVisible():
        return True
    _MEASURE.setDocumentMargin(0)
    _MEASURE.setDefaultFont(label.font())
    _MEASURE.setHtml(html)
    return _MEASURE.idealWidth() <= label.contentsRect().width()


class _Bridge(QObject):
    changed = Signal()


class ChairTile(QFrame):
    """One chair's tile. Click to show its trend."""

    def __init__(self, window: CentralWindow) -> None:
        super().__init__()
        self._window = window
        self.key = ""
        self.ack_target: BedsideAlarm | None = None  # the alarm the button would acknowledge
        self.setObjectName("chairTile")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(TILE_H + (ACK_ROW_H if window.commander is not None else 0))
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 6)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        self.name = ElidedLabel()
        self.name.setFont(_font(24, True))
        self.phase = ElidedLabel()
        self.phase.setFont(_font(20, True))
        self.phase.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.alarm = ElidedLabel()
        self.alarm.setFont(_font(20, True))
        self.alarm.setContentsMargins(6, 0, 6, 0)
        self.hr = QLabel()
        self.spo2 = QLabel()
        self.nibp = QLabel()
        for w in (self.hr, self.spo2, self.nibp):
            w.setTextFormat(Qt.TextFormat.RichText)
        self.due = ElidedLabel()
        self.due.setFont(_font(17))
        self.link = ElidedLabel()
        self.link.setFont(_font(17))
        self.link.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for w in (self.name, self.phase, self.hr, self.spo2, self.nibp, self.due, self.link):
            w.setStyleSheet("background: transparent;")
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # shrink, never scroll
        self.alarm.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.phase, 0, 1, 1, 2)
        grid.addWidget(self.alarm, 1, 0, 1, 3)
        grid.addWidget(self.hr, 2, 0)
        grid.addWidget(self.spo2, 2, 1)
        grid.addWidget(self.nibp, 2, 2)
        grid.addWidget(self.due, 3, 0, 1, 2)
        grid.addWidget(self.link, 3, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        self.answer = ElidedLabel()  # the chair's answer to the last acknowledgement asked here
        self.answer.setFont(_font(16))
        self.answer.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.ack_button = QPushButton("Acknowledge at chair\u2026")
        self.ack_button.setFont(_font(17, True))
        self.ack_button.setMinimumHeight(ACK_ROW_H - 6)
        self.ack_button.setAutoDefault(False)
        self.ack_button.clicked.connect(lambda: self._window.ask_acknowledge(self.key, self.ack_target))
        self.ack_button.hide()
        self.answer.hide()
        if window.commander is not None:
            grid.addWidget(self.answer, 4, 0, 1, 2)
            grid.addWidget(self.ack_button, 4, 2)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._window.select(self.key)
        super().mouseReleaseEvent(event)

    @staticmethod
    def _value(label: str, value: str, unit: str, colour: str, age: float | None, fit: QLabel | None = None) -> str:
        """The value's rich text; when it would not fit `fit`, the unit and then the age give way whole
        (never a cut word such as "nov" for "now"), then the value's size; the value itself always stays whole."""
        stale = age is not None and age >= STALE_S
        c = theme.TEXT_DIM if stale or age is None else colour
        age_txt = "" if age is None else _age(age)
        html = ""
        tails = (f" {unit} {age_txt}", f" {age_txt}", "")
        for size, tail in [(36, t) for t in tails] + [(30, ""), (26, ""), (22, "")]:
            html = (f"<span style='color:{theme.TEXT_DIM};font-size:16px'>{label}</span> "
                    f"<span style='color:{c};font-size:{size}px;font-weight:bold'>{value}</span>"
                    f"<span style='color:{theme.TEXT_DIM};font-size:15px'>{tail.rstrip()}</span>")
            if _fits(html, fit):
                break
        return html

    def show_view(self, v: ChairView, selected: bool, mono: float) -> None:
        self.key = v.key
        _set(self.name, v.name if v.site == self._window.only_site else f"{v.name}  ({v.site})")
        clock = f" {v.clock}" if v.clock else ""
        _set(self.phase, f"{v.phase.replace('-', ' ')}{clock}")
        top = v.top_alarm
        hint = ""
        own = sorted(v.central_alarms, key=lambda a: -int(a[1]))
        if top is not None and (not own or top.priority >= own[0][1]):
            bg, fg = COLOURS[top.priority]
            lit = top.acknowledged or flash_on(top.priority, mono)
            more = f"  (+{len(v.alarms) - 1})" if len(v.alarms) > 1 else ""
            ack = " (acknowledged)" if top.acknowledged else (" (ended)" if top.latched else "")
            text = f"{top.priority.marker} {top.message}"
            tail = ack + more
            hint = text + tail if tail else ""
            if tail:  # "(ended)" and the count of further alarms stay in sight: the message gives way first
                metrics = self.alarm.fontMetrics()
                room = self.alarm.room() - metrics.horizontalAdvance(tail)
                text = elide_words(text, metrics.horizontalAdvance, room) + tail
        elif own:
            _id, prio, message = own[0]
            bg, fg = INOP_COLOURS
            lit = flash_on(prio, mono)
            text = f"{prio.marker} {message}"
        else:
            bg, fg, lit, text = theme.PANEL, theme.TEXT_DIM, True, "no active alarms"
        if not lit:
            bg, fg = "#111111", "#ffffff"
        _set(self.alarm, text, f"background:{bg};color:{fg};border-radius:3px;")
        self.alarm.set_hint(hint)
        hr, spo2 = v.hr, v.spo2
        _set(self.hr, self._value("HR", _num(hr), "/min", HR_C, None if hr is None else hr.age_s, self.hr))
        _set(self.spo2, self._value("SpO\u2082", _num(spo2), "%", SPO2_C, None if spo2 is None else spo2.age_s,
                                         self.spo2))
        # the last complete measurement: while the cuff inflates the monitor sends systolic without a value
        hist = self._window.history.get(v.key, {})
        sys_h, dia_h = hist.get("nibp_sys"), hist.get("nibp_dia")
        if not sys_h or not dia_h:
            _set(self.nibp, self._value("NIBP", "--/--", "mmHg", theme.TEXT, None, self.nibp))
        else:
            (ts, s), (td, d) = sys_h[-1], dia_h[-1]
            paired = abs(ts - td) < 30.0
            text = f"{s:.0f}/{d:.0f}" if paired else f"{s:.0f}/--"
            _set(self.nibp, self._value("NIBP", text, "", theme.TEXT, mono - ts, self.nibp))  # mmHg: room for the age
        due = list(v.due)
        if v.next_nibp_in_s is not None and not any("NIBP" in d for d in due):
            n = v.next_nibp_in_s
            due.append("NIBP due now" if n <= 0 else f"NIBP in {int(n) // 60}:{int(n) % 60:02d}")
        _set(self.due, "Due: " + (" \u00b7 ".join(due) if due else "nothing"))
        link_ok = v.heard == "online" and v.monitor_link not in ("disconnected", "no-data", "not-answering")
        _set(self.link, f"{v.heard} \u00b7 monitor {v.monitor_link}",
             f"background: transparent; color:{theme.TEXT_DIM if link_ok else INOP_COLOURS[0]};")
        self.link.set_hint(v.offline_reason)
        self._show_ack(v)
        border = theme.DEFAULT_MARK if selected else theme.PANEL_BORDER
        sheet = f"QFrame#chairTile {{ background:{theme.PANEL}; border:2px solid {border}; border-radius:6px; }}"
        if sheet != self.styleSheet():  # a style sheet re-polishes the whole tile: only on a change
            self.setStyleSheet(sheet)


    def _show_ack(self, v: ChairView) -> None:
        """The button only where the central may act: enabled here, the chair accepts it, and it has an
        unacknowledged alarm (the most urgent one is the one acknowledged)."""
        commander = self._window.commander
        if commander is None:
            return
        self.ack_target = next((a for a in v.alarms if not a.acknowledged and a.raised_at is not None), None)
        self.ack_button.setVisible(v.accepts_ack and self.ack_target is not None)
        last = commander.last(v.key)
        self.answer.setVisible(last is not None or not v.accepts_ack)
        if last is not None:
            colour = {"accepted": theme.TEXT, "sent": theme.TEXT_DIM}.get(last.state, INOP_COLOURS[0])
            _set(self.answer, last.text, f"background: transparent; color:{colour};")
        elif not v.accepts_ack:
            _set(self.answer, "acknowledged at the chair only (not enabled there)",
                 f"background: transparent; color:{theme.TEXT_DIM};")


class CentralWindow(QMainWindow):
    """Every chair of the clinic, most urgent first. Create in the GUI thread, then `start()`."""

    def __init__(self, model: CentralModel, sound: CentralSound | None = None, site: str | None = None,
                 commander: CentralCommander | None = None) -> None:
        super().__init__()
        self.model = model
        self.commander = commander  # None: the central never acknowledges a chair's alarm (the default)
        self.confirm: QMessageBox | None = None  # the open confirmation, if any
        self.sound = sound
        self.only_site = site or "clinic"
        self.setWindowTitle(f"kapmonitor central \u2014 {site or 'all sites'}")
        self.selected: str | None = None  # the chair whose trend is shown; None: the most urgent
        self.tiles: list[ChairTile] = []
        self.order: list[str] = []  # chair keys as shown, most urgent first
        self.history: dict[str, dict[str, deque[tuple[float, float]]]] = {}
        self._bridge = _Bridge()
        self._bridge.changed.connect(self._on_changed, Qt.ConnectionType.QueuedConnection)
        self._pending = False
        self._last_refresh = 0.0
        self._last_trend: tuple[float, str | None] = (0.0, None)
        self._soon = QTimer(self)  # news from the broker redraws at most 10 times a second
        self._soon.setSingleShot(True)
        self._soon.timeout.connect(self.refresh)

        central = QWidget()
        central.setStyleSheet(f"background:{theme.BACKGROUND}; color:{theme.TEXT};")
        self.setCentralWidget(central)
        root = QVBoxLayout(central)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)
        self.header = QLabel()
        self.header.setFont(_font(18, True))
        root.addWidget(self.header)
        body = QHBoxLayout()
        root.addLayout(body, 1)
        self.tile_box = QWidget()
        self.tile_layout = QVBoxLayout(self.tile_box)
        self.tile_layout.setContentsMargins(0, 0, 0, 0)
        self.tile_layout.setSpacing(6)
        self.tile_layout.addStretch(1)
        self.empty = QLabel("Waiting for chairs\u2026 (none heard on the broker yet)")
        self.empty.setFont(_font(22))
        self.tile_layout.insertWidget(0, self.empty)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.tile_box)
        body.addWidget(scroll, 3)
        right = QVBoxLayout()
        self.trend_title = QLabel("Select a chair to see its trend")
        self.trend_title.setFont(_font(20, True))
        right.addWidget(self.trend_title)
        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "minutes ago")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setYRange(30, 200)
        self.plot.addLegend(offset=(10, 10))
        self.curves = {
            "hr": self.plot.plot(pen=pg.mkPen(HR_C, width=2), name="HR"),
            "spo2": self.plot.plot(pen=pg.mkPen(SPO2_C, width=2), name="SpO2"),
            "nibp_sys": self.plot.plot(pen=None, symbol="t", symbolBrush="#ffffff", symbolSize=10, name="NIBP sys"),
            "nibp_dia": self.plot.plot(pen=None, symbol="t1", symbolBrush="#bbbbbb", symbolSize=10, name="NIBP dia"),
        }
        right.addWidget(self.plot, 1)
        body.addLayout(right, 2)
        self.alarm_bar = AlarmBar(rows=2)
        self.alarm_bar.pause_button.hide()  # the central never silences; its own alarms are acknowledged
        self.alarm_bar.acknowledge_requested.connect(self.acknowledge_own)
        root.addWidget(self.alarm_bar)
        self.timer = QTimer(self)
        self.timer.setInterval(250)  # flashing, ages, and the sound mirror
        self.timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self.model.add_listener(self._changed)
        self.timer.start()
        self.refresh()

    def stop(self) -> None:
        self.timer.stop()
        self.model.remove_listener(self._changed)

    def _changed(self) -> None:  # any thread
        if not self._pending:
            self._pending = True
            self._bridge.changed.emit()

    def _on_changed(self) -> None:
        wait = MIN_REFRESH_S - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self.refresh()
        elif not self._soon.isActive():
            self._soon.start(int(wait * 1000) + 1)

    def acknowledge_own(self) -> None:
        """Acknowledge the central's own alarms (never a chair's: those are acknowledged at the chair)."""
        self.model.alarms.acknowledge(who="central station")
        self.refresh()

    def ask_acknowledge(self, key: str, alarm: BedsideAlarm | None) -> None:
        """Confirm, then ask the chair to acknowledge `alarm` (never without the operator's second click)."""
        if self.commander is None or alarm is None:
            return
        name = next((v.name for v in self.model.chairs() if v.key == key), key)
        box = QMessageBox(QMessageBox.Icon.Warning, "Acknowledge at the chair",
                          f"Acknowledge this alarm at {name}?\n\n{alarm.priority.marker} {alarm.message}\n\n"
                          f"It is credited to {self.commander.operator} at central {self.commander.station} and "
                          "recorded at the chair and here. Nobody at the chair may have seen it yet.", parent=self)
        send = box.addButton("Acknowledge", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)  # Enter cancels; only a click on "Acknowledge" sends
        box.setEscapeButton(cancel)
        send.setAutoDefault(False)

        def done() -> None:
            self.confirm = None
            if box.clickedButton() is send and self.commander is not None:
                try:
                    self.commander.acknowledge(key, alarm)
                except AckError as exc:  # recorded by the commander; the tile shows why
                    log.warning("acknowledgement at %s not sent: %s", key, exc)
            self.refresh()

        box.finished.connect(done)
        self.confirm = box
        box.open()  # window-modal, never blocking the GUI thread

    def select(self, key: str) -> None:
        self.selected = key
        self.refresh()

    def _record(self, v: ChairView, now: float) -> None:
        hist = self.history.setdefault(v.key, {})
        for name, r in (("hr", v.hr), ("spo2", v.spo2)):
            if r is not None and r.value is not None:
                self._append(hist, name, now - r.age_s, r.value)
        if v.nibp is not None:
            s, d, age = v.nibp
            for name, val in (("nibp_sys", s), ("nibp_dia", d)):
                if val is not None:
                    self._append(hist, name, now - age, val)

    @staticmethod
    def _append(hist: dict[str, deque[tuple[float, float]]], name: str, t: float, value: float) -> None:
        d = hist.setdefault(name, deque())
        if d and t - d[-1][0] < 0.9 and d[-1][1] == value:
            return  # the same sample seen again on the next refresh
        if d and t - d[-1][0] < 0.9:
            return
        d.append((t, value))
        while d and d[0][0] < t - TREND_S:
            d.popleft()

    def refresh(self) -> None:
        self._pending = False
        now = time.monotonic()
        self._last_refresh = now
        views = self.model.chairs(now)
        self.order = [v.key for v in views]
        shown = self.selected if self.selected in self.order else (views[0].key if views else None)
        while len(self.tiles) < len(views):
            tile = ChairTile(self)
            self.tiles.append(tile)
            self.tile_layout.insertWidget(self.tile_layout.count() - 1, tile)
        for i, tile in enumerate(self.tiles):
            if i < len(views):
                self._record(views[i], now)
                tile.show_view(views[i], views[i].key == shown, now)
                tile.show()
            else:
                tile.hide()
        self.empty.setVisible(not views)
        chairs = f"{len(views)} chair{'s' if len(views) != 1 else ''}"
        connected = self.model.connected
        _set(self.header, f"Central station \u00b7 {chairs} \u00b7 {self.model.broker_state}")
        _set(self.header, self.header.text(), f"color:{theme.TEXT if connected else INOP_COLOURS[0]};")
        if self.commander is not None:
            self.commander.tick()
        engine = self.model.alarms
        self.alarm_bar.update_from(engine.active_alarms(), None, time.time(), now)  # the engine's RealClock
        self._show_trend(views, shown, now)
        if self.sound is not None:
            self.sound.sync()

    def _show_trend(self, views: list[ChairView], key: str | None, now: float) -> None:
        if key == self._last_trend[1] and now - self._last_trend[0] < TREND_REDRAW_S:
            return  # the trend moves slowly: redrawn once a second or when another chair is chosen
        self._last_trend = (now, key)
        view = next((v for v in views if v.key == key), None)
        if view is None:
            for c in self.curves.values():
                c.setData([], [])
            return
        _set(self.trend_title, f"{view.name}: trend received here")
        hist = self.history.get(view.key, {})
        for name, curve in self.curves.items():
            pts = hist.get(name)
            if not pts:
                curve.setData([], [])
                continue
            curve.setData([(t - now) / 60.0 for t, _ in pts], [v for _, v in pts])

    def tile_texts(self) -> list[str]:
        """What each shown tile says, in order (for tests and logs)."""
        out = []
        for tile in self.tiles[: len(self.order)]:
            parts = [tile.name.text(), tile.phase.text(), tile.alarm.text(), tile.due.text(), tile.link.text()]
            out.append(" | ".join(parts))
        return out

    def sounding(self) -> Priority | None:
        return None if self.sound is None else self.sound.engine.audio_state()
