"""The nurse's view: numeric tiles, the session trend, the pleth strip, link and recording state.

Everything is redrawn on timers from snapshots of the Qt-free `TrendStore` (never per sample):
tiles and pleth at 25 Hz, the trend plot at 1 Hz (its data changes once a second). No worker thread
touches a widget; a label is touched only when its text or colour changes (see benchmarks/).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence, QPainter, QPaintEvent, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from kapmonitor import __version__
from kapmonitor.alarms.model import AlarmEvent, AlarmEventType, is_central_credit
from kapmonitor.alarms.presentation import flash_on, tile_states
from kapmonitor.alarms.profile import AlarmProfile, Priority
from kapmonitor.bedside import BedsideView
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import LinkState, Source
from kapmonitor.ui import theme
from kapmonitor.ui.alarms.bar import AlarmBar, AlarmBridge
from kapmonitor.ui.vitals.pleth_strip import PlethStrip
from kapmonitor.ui.vitals.tiles import NO_VALUE, NumericTile, TileRow
from kapmonitor.ui.vitals.trend_plot import Band, TrendPlot

log = logging.getLogger(__name__)

FAST_REDRAW_MS = 32  # tiles, pleth, alarm bar: ~31 Hz (alarms themselves are shown on their event)
GIL_SWITCH_S = 0.001  # see start()
TREND_REDRAW_MS = 1000  # each trend repaint costs ~20 ms of software rendering
MANUAL_MAX_AGE = 300.0  # a value typed in by the nurse stays on its tile (marked MANUAL) this long
NIBP_NOT_POSSIBLE = "This monitor cannot start a NIBP measurement from kapmonitor \u2014 start it on the monitor"
NO_NIBP_TEXT = "no NIBP from this monitor \u2014 enter manually"  # a pulse oximeter: no cuff at all
NO_NIBP_MESSAGE = "This monitor has no NIBP (a pulse oximeter): measure the blood pressure and enter it manually"

LINK_TEXT = {
    LinkState.CONNECTING: ("connecting\u2026", theme.ALARM_MEDIUM),
    LinkState.CONNECTED: ("connected", "#3dff6e"),
    LinkState.NO_DATA: ("NO DATA", theme.ALARM_HIGH),
    LinkState.NOT_ANSWERING: ("MONITOR NOT ANSWERING", theme.ALARM_HIGH),
    LinkState.DISCONNECTED: ("DISCONNECTED \u2013 reconnecting", theme.ALARM_HIGH),
    LinkState.CLOSED: ("closed", theme.TEXT_DIM),
}


def format_age(seconds: float) -> str:
    """'42 s ago', '7 min ago', '2 h 05 min ago'."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h {minutes % 60:02d} min ago"


def format_clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _set_label(label: QLabel, text: str, style: str | None = None) -> None:
    """Change a label only when needed: re-applying a style sheet at 25 Hz re-polishes the widget
    each time, a few per cent of a core for nothing."""
    if label.text() != text:
        label.setText(text)
    if style is not None and label.styleSheet() != style:
        label.setStyleSheet(style)


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(bold)
    return font


class ElidedLabel(QLabel):
    """A label that gives way: shown elided with "…" when short of room, whole on hover.

    Its minimum width is a few characters (`min_chars`), so it never pushes its neighbours off.
    """

    min_chars = 6

    def __init__(self, text: str = "") -> None:
        super().__init__("")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        fm = self.fontMetrics()
        chars = min(self.min_chars, len(self.text()))
        return QSize(fm.horizontalAdvance("M" * chars) + 4 if chars else 0, hint.height())

    def shown_text(self) -> str:
        """What the label shows now (elided to its width)."""
        width = self.contentsRect().width() - 2 * self.margin()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, max(0, width))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        rect = self.contentsRect()
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.shown_text())
        painter.end()


class Banner(QLabel):
    """A full-width coloured strip (simulated source, profile fallback).

    Never cut: where the whole text does not fit (a 1024-px screen) it shows the part before " \u2014 "
    ("SIMULATED MONITOR"), the whole text on hover; it never widens the window either."""

    def __init__(self, text: str, background: str, foreground: str = "#000000") -> None:
        super().__init__(text)
        self.full_text = text
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFont(_font(20, bold=True))
        self.setStyleSheet(f"background: {background}; color: {foreground}; padding: 4px;")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._fit()

    def _fit(self) -> None:
        if self.wordWrap():
            super().setText(self.full_text)
            return
        room = self.contentsRect().width() - 8  # the 4 px padding each side
        short = self.full_text.split(" \u2014 ", 1)[0]
        fits = self.fontMetrics().horizontalAdvance(self.full_text) <= room
        shown = self.full_text if fits or room <= 0 else short
        if shown != self.text():
            super().setText(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()


class MainWindow(QMainWindow):
    """The nurse's main window. Other parts plug into `alarm_area`, `side_area` and the menus."""

    def __init__(self, bedside: BedsideView) -> None:
        """`bedside` is what the window shows and acts on (kapmonitor.bedside.Bedside when running)."""
        super().__init__()
        self.bedside = bedside
        self.store = bedside.trends  # replaced when the pipeline gets a fresh display store
        self.engine = bedside.alarms
        self.who_fn: Callable[[], str | None] = bedside.who
        self.profile = bedside.profile
        self.session_start = bedside.session_start
        self.now_fn: Callable[[], float] = bedside.now  # frozen for a screenshot
        # the nurse's infusion (a pause extends it); the session dock sets it to its session's
        self.infusion_window_fn: Callable[[float], tuple[float, float] | None] = bedside.infusion_window
        simulated = bedside.simulated
        self.simulated = simulated
        replay_of = bedside.replay_of
        profile_warning = bedside.profile_warning
        engine = self.engine
        self._bands_shown: list[Band] = []
        self.speed = bedside.speed
        self.extra_refreshers: list[Callable[[float], None]] = []  # other panels redrawn with the tiles
        self.request_nibp: Callable[[], object] | None = None  # False back: the monitor cannot
        self.has_nibp = True  # False: the monitor (a pulse oximeter) never sends NIBP
        self.enter_manual_nibp: Callable[[], object] | None = None
        # returns why closing needs the nurse's confirmation (a session in progress), or None
        self.close_guard: Callable[[], str | None] | None = None
        self.close_question: QMessageBox | None = None
        self._close_confirmed = False
        self.setWindowTitle(f"kapmonitor {__version__}" + (" \u2014 SIMULATED MONITOR" if simulated else ""))
        self.setStyleSheet(theme.STYLESHEET)
        self.resize(1280, 800)
        # below 1024x700 so that, with a window manager's frame, the window fits a 1024x700 screen
        self.setMinimumSize(960, 640)

        central = QWidget()
        central.setObjectName("central")
        root = QVBoxLayout(central)
        root.setContentsMargins(6, 4, 6, 4)
        root.setSpacing(4)
        self.simulated_banner: Banner | None = None
        if simulated:
            self.simulated_banner = Banner(
                "SIMULATED MONITOR \u2014 training data, not from a patient", theme.SIMULATED
            )
            root.addWidget(self.simulated_banner)
        self.replay_banner: Banner | None = None
        if replay_of is not None:
            self.replay_banner = Banner(f"REPLAY of {replay_of} \u2014 recorded data, not live", "#2f7bff", "#ffffff")
            root.addWidget(self.replay_banner)
        self.profile_banner: Banner | None = None
        if profile_warning:
            self.profile_banner = Banner(f"ALARM PROFILE: {profile_warning}", theme.ALARM_MEDIUM)
            self.profile_banner.setWordWrap(True)
            self.profile_banner.setFont(_font(16, bold=True))
            root.addWidget(self.profile_banner)
        self.alarm_area = QVBoxLayout()
        self.alarm_area.setSpacing(2)
        root.addLayout(self.alarm_area)
        self.alarm_bar = None
        if engine is not None:
            self.alarm_bar = AlarmBar()
            self.alarm_bar.acknowledge_requested.connect(self.acknowledge_alarms)
            self.alarm_bar.pause_requested.connect(self.pause_alarm_audio)
            self.alarm_bar.history_requested.connect(self.show_alarm_history)
            # the bar spans the whole window above the session dock (a fixed toolbar): rows wide enough
            # for the action and the age at 1280 px, and they never narrow or push the session panel
            self.alarm_toolbar = QToolBar("Alarms")
            self.alarm_toolbar.setObjectName("alarmToolBar")
            self.alarm_toolbar.setMovable(False)
            self.alarm_toolbar.setFloatable(False)
            self.alarm_toolbar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
            self.alarm_toolbar.toggleViewAction().setEnabled(False)  # nobody can hide the alarm bar
            self.alarm_toolbar.toggleViewAction().setVisible(False)
            self.alarm_toolbar.setStyleSheet("QToolBar { background: #111111; border: 0; padding: 0; spacing: 0; }")
            self.alarm_toolbar.addWidget(self.alarm_bar)
            self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.alarm_toolbar)

        body = QHBoxLayout()
        body.setSpacing(6)
        left = QVBoxLayout()
        left.setSpacing(4)
        self.trend_plot = TrendPlot(self.profile)
        self.trend_plot.t0 = self.session_start
        left.addWidget(self.trend_plot, 5)
        self.pleth = PlethStrip()
        self.pleth.setMinimumHeight(90)
        left.addWidget(self.pleth, 1)
        body.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(6)
        self.hr_tile = NumericTile("HR", "/min", theme.PARAMETER_COLOURS[Parameter.HR])
        self.spo2_tile = NumericTile("SpO\u2082", "%", theme.PARAMETER_COLOURS[Parameter.SPO2])
        self.nibp_tile = NumericTile("NIBP", "mmHg", theme.PARAMETER_COLOURS[Parameter.NIBP_SYS], value_px=72)
        self.tiles = {"hr": self.hr_tile, "spo2": self.spo2_tile, "nibp": self.nibp_tile}
        for tile in self.tiles.values():
            right.addWidget(tile, 1)
        # respiration: two compact tiles side by side, shown once the monitor sends RR or EtCO2
        self.rr_tile = NumericTile("RR", "/min", theme.PARAMETER_COLOURS[Parameter.RESP_RATE], value_px=48,
                                   compact=True)
        self.etco2_tile = NumericTile("EtCO\u2082", "mmHg", theme.PARAMETER_COLOURS[Parameter.ETCO2], value_px=48,
                                      compact=True)
        self.resp_row = TileRow([self.rr_tile, self.etco2_tile])  # stacked when the column is narrow
        for tile in (self.rr_tile, self.etco2_tile):
            tile.setVisible(False)
        self.resp_row.setVisible(False)
        right.addWidget(self.resp_row, 1)
        self.side_area = QVBoxLayout()
        right.addLayout(self.side_area)
        right_box = QWidget()
        right_box.setLayout(right)
        right_box.setMinimumWidth(262)
        right_box.setMaximumWidth(720)
        self.vitals_box = right_box  # the tiles: no other window may cover them (ui/placement.py)
        body.addWidget(right_box, 1)
        root.addLayout(body, 1)
        self.setCentralWidget(central)
        self._set_limit_texts()

        self._build_status_bar(bedside.device_text())
        self._build_menus()

        self.fast_timer = QTimer(self)
        self.fast_timer.setInterval(FAST_REDRAW_MS)
        self.fast_timer.timeout.connect(self.refresh_fast)
        self.trend_timer = QTimer(self)
        self.trend_timer.setInterval(TREND_REDRAW_MS)
        self.trend_timer.timeout.connect(self.refresh_trend)
        self.redraws = 0
        self._alarm_states: dict[Parameter, tuple[Priority, bool]] = {}
        # alarm to screen within a frame: an engine event (any thread) is queued into the GUI thread
        # and redraws the bar and the tiles' colours at once, not at the next redraw tick. The bridge
        # has no Qt parent: once the window is gone the queued connection simply has no receiver.
        self._alarm_bridge: AlarmBridge | None = None
        if engine is not None:
            self._alarm_bridge = AlarmBridge()
            self._alarm_bridge.event_received.connect(self._on_alarm_event)
            engine.add_listener(self._alarm_bridge.listener)

    # -- construction -------------------------------------------------------------------------
    def _build_status_bar(self, device_text: str) -> None:
        """Device, link, recording, messages and the session clock. Every one is a permanent widget,
        so a message (F2, F5, a menu's status tip) never replaces the link or recording state: it is
        mirrored into its own label. The device name gives way first (elided, full name on hover);
        the clock is always whole."""
        bar = QStatusBar()
        bar.setSizeGripEnabled(False)
        self.device_label = ElidedLabel(device_text)
        self.device_label.setMaximumWidth(theme.scaled_px(360))
        self.link_label = QLabel("")
        self.link_label.setFont(_font(theme.scaled_px(15), bold=True))
        self.recording_label = ElidedLabel("")
        self.recording_label.min_chars = 18
        self.message_label = ElidedLabel("")
        self.message_label.setObjectName("statusMessage")
        self.message_label.min_chars = 22  # room for "2 alarm(s) acknowledged" before the file name
        self.message_label.setStyleSheet(f"color: {theme.ALARM_MEDIUM};")
        self.clock_label = QLabel("")
        self.clock_label.setFont(_font(theme.scaled_px(15), bold=True))
        self.clock_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        for widget, stretch in ((self.device_label, 0), (self._separator(), 0), (self.link_label, 0),
                                (self._separator(), 0), (self.recording_label, 0), (self.message_label, 1),
                                (self.clock_label, 0)):
            bar.addPermanentWidget(widget, stretch)
        bar.messageChanged.connect(self.message_label.setText)
        self.setStatusBar(bar)

    def show_message(self, text: str, timeout_ms: int = 4000) -> None:
        """A short-lived message in its own status-bar label (the link and recording state stay)."""
        self.statusBar().showMessage(text, timeout_ms)

    @staticmethod
    def _separator() -> QFrame:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setStyleSheet(f"color: {theme.PANEL_BORDER};")
        return line

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.monitor_menu = bar.addMenu("&Monitor")
        self.alarms_menu = bar.addMenu("&Alarms")
        self.music_menu = bar.addMenu("M&usic")
        self.help_menu = bar.addMenu("&Help")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.file_menu.addAction(quit_action)
        self.nibp_action = QAction("Measure &NIBP now", self)
        self.nibp_action.setShortcut(QKeySequence("F5"))
        self.nibp_action.triggered.connect(self._on_nibp_now)
        self.monitor_menu.addAction(self.nibp_action)
        self.monitor_menu.setToolTipsVisible(True)
        # F5 while the monitor cannot start the cuff: say so instead of nothing happening
        self._nibp_not_possible = QShortcut(QKeySequence("F5"), self)
        self._nibp_not_possible.activated.connect(self._on_nibp_now)
        self._nibp_not_possible.setEnabled(False)
        about = QAction("&About kapmonitor", self)
        about.triggered.connect(self._about)
        self.help_menu.addAction(about)

    def _set_limit_texts(self) -> None:
        def medium_limits(parameter: Parameter) -> str:
            values = [
                f"{th.symbol}{th.value:g}"
                for rule in self.profile.rules_for(parameter)
                if rule.priority is Priority.MEDIUM
                for th in rule.thresholds
            ]
            return " ".join(values)

        self.hr_tile.set_limits_text(medium_limits(Parameter.HR))
        self.spo2_tile.set_limits_text(medium_limits(Parameter.SPO2))
        self.nibp_tile.set_limits_text(medium_limits(Parameter.NIBP_SYS))
        # the compact respiration tiles have no room on top: their limits go on the detail line
        self._resp_limits = {p: medium_limits(p) for p in (Parameter.RESP_RATE, Parameter.ETCO2)}

    def alarm_area_rect(self) -> QRect:
        """The banners and the alarm bar, in global coordinates (never covered by another window)."""
        central = self.centralWidget()
        assert central is not None
        top = central.mapToGlobal(QPoint(0, 0))
        bottom = self.alarm_area.geometry().bottom()
        rect = QRect(top, QSize(central.width(), max(0, bottom + 1)))
        if self.alarm_bar is not None:  # the bar sits above the central widget, across the window
            rect = rect.united(QRect(self.alarm_bar.mapToGlobal(QPoint(0, 0)), self.alarm_bar.size()))
        return rect

    def protected_rects(self) -> list[QRect]:
        """What no other kapmonitor window may cover: the alarm area first, then the tiles."""
        box = self.vitals_box
        return [self.alarm_area_rect(), QRect(box.mapToGlobal(QPoint(0, 0)), box.size())]

    def set_profile(self, profile: AlarmProfile) -> None:
        """Show new limits (after a limit change) on the tiles and the trend."""
        self.profile = profile
        self.trend_plot.set_profile(profile)
        self._set_limit_texts()

    # -- behaviour ------------------------------------------------------------------------------
    def start(self) -> None:
        # the GUI thread's Python (a trend redraw) hands the GIL to the monitor's reader thread after
        # 1 ms instead of Python's 5 ms: an alarm waits less behind a redraw (benchmarks/alarm_latency)
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self.refresh_trend()
        self.refresh_fast()
        self.fast_timer.start()
        self.trend_timer.start()

    def acknowledge_alarms(self) -> None:
        if self.engine is not None:
            count = self.engine.acknowledge(who=self.who_fn())
            self.show_message(f"{count} alarm(s) acknowledged" if count else "nothing to acknowledge", 4000)
            self.refresh_fast()

    def show_alarm_history(self) -> None:
        """Alarms ▸ Alarm history… (the "+N more" badge of the alarm bar): every alarm, not only the rows."""
        for action in self.alarms_menu.actions():
            if action.text().replace("&", "").startswith("Alarm history") and action.isEnabled():
                action.trigger()
                return
        self.show_message("The alarm history is in the Alarms menu")

    def pause_alarm_audio(self) -> None:
        if self.engine is not None:
            self.engine.pause_audio(who=self.who_fn())
            self.refresh_fast()

    def _on_nibp_now(self) -> None:
        if self.request_nibp is not None and self.request_nibp() is not False:
            self.show_message("NIBP measurement requested", 4000)
        else:
            self.show_message(NIBP_NOT_POSSIBLE if self.has_nibp else NO_NIBP_MESSAGE, 6000)

    def set_nibp_source(self, has_nibp: bool, enter_manual: Callable[[], object] | None = None) -> None:
        """A monitor without NIBP (a pulse oximeter): the NIBP tile says so and offers manual entry
        (`enter_manual` opens the manual vitals dialog); a monitor with NIBP shows the tile as usual."""
        self.has_nibp = has_nibp
        self.enter_manual_nibp = enter_manual
        if has_nibp:
            self.nibp_tile.set_note("")
        else:
            self.nibp_tile.set_note(NO_NIBP_TEXT, "Enter NIBP manually\u2026", self._on_enter_manual_nibp)
            self.nibp_action.setText("Measure NIBP now \u2014 this monitor has no NIBP")
            self.nibp_action.setToolTip(NO_NIBP_MESSAGE)
            self.nibp_action.setStatusTip(NO_NIBP_MESSAGE)

    def _on_enter_manual_nibp(self) -> None:
        if self.enter_manual_nibp is None or self.enter_manual_nibp() is False:
            self.show_message("Start or resume a session first: manual vitals belong to a session", 6000)

    def set_nibp_request(self, request: Callable[[], object] | None) -> None:
        """Offer "Measure NIBP now" (F5) only when the monitor can start the cuff (`request`);
        otherwise the item is disabled and says why, and F5 tells the nurse to use the monitor."""
        self.request_nibp = request
        capable = request is not None
        self.nibp_action.setEnabled(capable)
        self.nibp_action.setText("Measure &NIBP now" if capable else "Measure NIBP now \u2014 start it on the monitor")
        tip = "Start a NIBP measurement on the monitor now (F5)" if capable else NIBP_NOT_POSSIBLE
        self.nibp_action.setToolTip(tip)
        self.nibp_action.setStatusTip(tip)
        self._nibp_not_possible.setEnabled(not capable)

    def set_source(self, simulated: bool, device_text: str) -> None:
        """Another monitor is read (Monitor ▸ Monitor connection…): the SIMULATED banner and the
        title follow the source, the status bar names the device."""
        self.simulated = simulated
        self.setWindowTitle(f"kapmonitor {__version__}" + (" \u2014 SIMULATED MONITOR" if simulated else ""))
        if simulated and self.simulated_banner is None:
            self.simulated_banner = Banner(
                "SIMULATED MONITOR \u2014 training data, not from a patient", theme.SIMULATED
            )
            central = self.centralWidget()
            layout = central.layout() if central is not None else None
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(0, self.simulated_banner)
        if self.simulated_banner is not None:
            self.simulated_banner.setVisible(simulated)
        self.device_label.setText(device_text)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About kapmonitor",
            f"kapmonitor {__version__}\n\nA secondary display for ketamine-assisted psychotherapy sessions. "
            "The patient monitor's own alarms stay on and remain the primary alarm system.",
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fonts grow with the window (maximised on a large screen), never below their 1280x800 size."""
        super().resizeEvent(event)
        self.rescale_fonts()

    def rescale_fonts(self) -> None:
        """Fonts for the window's size (also run once a second: panels built later follow)."""
        theme.rescale_fonts(self, theme.scale_for(self.width(), self.height()))
        if self.alarm_bar is not None:
            self.alarm_bar.set_rows_for_height(self.height())  # 2 rows 800 px high, 3 from 1000

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing ends monitoring: during an infusion or observation the nurse confirms it first.

        The question is non-modal (nothing blocks, alarms keep running while it is open)."""
        reason = self.close_guard() if self.close_guard is not None and not self._close_confirmed else None
        if reason:
            event.ignore()
            self._ask_before_closing(reason)
            return
        self.fast_timer.stop()
        self.trend_timer.stop()
        if self.engine is not None and self._alarm_bridge is not None:
            self.engine.remove_listener(self._alarm_bridge.listener)
        super().closeEvent(event)

    def _ask_before_closing(self, reason: str) -> None:
        if self.close_question is not None and self.close_question.isVisible():
            self.close_question.raise_()
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("End monitoring?")
        box.setText(f"{reason}\n\nClosing kapmonitor stops monitoring and alarms on this computer.")
        quit_button = box.addButton("Quit monitoring", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep monitoring", QMessageBox.ButtonRole.RejectRole)
        # the keyboard never quits by itself: Enter, Space and Escape keep monitoring; Enter on a
        # tabbed-to Quit still means Keep (no auto-default); quitting is a click or Space on Quit
        quit_button.setAutoDefault(False)
        quit_button.setDefault(False)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        keep.setFocus()

        def done() -> None:
            if box.clickedButton() is quit_button:
                self._close_confirmed = True
                self.close()

        box.finished.connect(lambda _result: done())
        self.close_question = box
        box.open()

    # -- redraw -----------------------------------------------------------------------------------
    def refresh_trend(self) -> None:
        self.rescale_fonts()
        now = self.now_fn()
        window = self.infusion_window_fn(now)
        if window is not None:  # minutes count from the infusion start, as in the PDF report
            self.trend_plot.set_origin(window[0])
        self.trend_plot.set_infusion_window(window)
        bands = [Band(start, end, title) for start, end, title in self.bedside.music_bands(now)]
        if bands != self._bands_shown:
            self._bands_shown = bands
            self.trend_plot.set_bands(bands)
        self.trend_plot.refresh(self.store, now)

    def refresh_fast(self) -> None:
        now = self.now_fn()
        self.redraws += 1
        self.pleth.refresh(self.store.pleth)
        alarms = self.engine.active_alarms(now) if self.engine is not None else []
        if self.alarm_bar is not None and self.engine is not None:
            self.alarm_bar.update_from(alarms, self.engine.audio_paused_until, now)
        self._alarm_states = tile_states(alarms)
        self._refresh_tiles(now)
        self._refresh_status(now)
        for refresher in self.extra_refreshers:
            refresher(now)

    def _on_alarm_event(self, _event: object) -> None:
        """An engine event, delivered in the GUI thread: the alarm bar and the tiles show it now."""
        if isinstance(_event, AlarmEvent) and _event.event is AlarmEventType.ACKNOWLEDGED \
                and is_central_credit(_event.who):  # nobody at the chair acted: say who did, for two minutes
            self.show_message(f"{_event.message} by {_event.who}", 120_000)
        if self.engine is None or not self.fast_timer.isActive():
            return  # not started (or closing): the first redraw shows the alarms
        now = self.now_fn()
        alarms = self.engine.active_alarms(now)
        if self.alarm_bar is not None:
            self.alarm_bar.update_from(alarms, self.engine.audio_paused_until, now)
            self.alarm_bar.repaint()  # now, not behind other queued work (a pending redraw)
        self._alarm_states = tile_states(alarms)
        self._refresh_tiles(now)

    def _value_text(self, parameter: Parameter, now: float, max_age: float = 10.0) -> tuple[str, bool]:
        """The tile text and whether it was entered by hand (a manual value stays up to MANUAL_MAX_AGE)."""
        latest = self.store.latest(parameter)
        manual = latest is not None and latest.source is Source.MANUAL
        limit = MANUAL_MAX_AGE if manual else max_age
        if latest is None or latest.value is None or now - latest.time > limit:
            return NO_VALUE, False
        return f"{latest.value:.0f}", manual

    def _show_tile_alarm(self, tile: NumericTile, parameters: tuple[Parameter, ...]) -> None:
        """Colour a tile as the alarm system says (alarms/presentation.py): the colour of its highest
        active alarm, flashing while unacknowledged; the tile never re-checks limits itself."""
        priority: Priority | None = None
        flashing = False
        for p in parameters:
            state = self._alarm_states.get(p)
            if state is not None and (priority is None or state[0] >= priority):
                flashing = state[1] or (flashing and state[0] == priority)
                priority = state[0]
        lit = flash_on(priority, time.monotonic()) if flashing else True
        tile.set_alarm(priority, lit)

    def _refresh_tiles(self, now: float) -> None:
        text, manual = self._value_text(Parameter.HR, now)
        pr_text, _ = self._value_text(Parameter.PULSE_RATE, now)
        latest_hr = self.store.latest(Parameter.HR)
        if text == NO_VALUE and pr_text != NO_VALUE:
            # no HR (a pulse oximeter alone): the pulse rate, labelled PR, judged on the HR limits
            self.hr_tile.set_label("PR", "pulse rate from the oximeter: no HR from the monitor; the HR limits apply")
            self.hr_tile.set_value(pr_text)
            self.hr_tile.set_manual(False)
            self._show_tile_alarm(self.hr_tile, (Parameter.HR, Parameter.PULSE_RATE))
            hr_status = latest_hr.status.value if latest_hr is not None and latest_hr.value is None else ""
            self.hr_tile.set_detail(f"HR {hr_status}" if hr_status and hr_status != "ok" else "no HR from monitor")
            self._refresh_rest(now, pr_text)
            return
        self.hr_tile.set_label("HR")
        self.hr_tile.set_value(text)
        self.hr_tile.set_manual(manual)
        self._show_tile_alarm(self.hr_tile, (Parameter.HR,))
        if latest_hr is not None and latest_hr.value is None and latest_hr.status.value != "ok":
            self.hr_tile.set_detail(latest_hr.status.value)
        elif manual and latest_hr is not None:
            self.hr_tile.set_detail(f"entered {format_age(now - latest_hr.time)}")
        else:
            self.hr_tile.set_detail("")
        self._refresh_rest(now, pr_text)

    def _refresh_rest(self, now: float, pr_text: str) -> None:
        """The SpO2, NIBP and respiration tiles (after the HR tile)."""
        text, manual = self._value_text(Parameter.SPO2, now)
        self.spo2_tile.set_value(text)
        self.spo2_tile.set_manual(manual)
        self._show_tile_alarm(self.spo2_tile, (Parameter.SPO2,))
        latest_spo2 = self.store.latest(Parameter.SPO2)
        if latest_spo2 is not None and latest_spo2.value is None and latest_spo2.status.value != "ok":
            self.spo2_tile.set_detail(latest_spo2.status.value)
        elif manual and latest_spo2 is not None:
            self.spo2_tile.set_detail(f"entered {format_age(now - latest_spo2.time)}")
        else:
            self.spo2_tile.set_detail(f"PR {pr_text}")

        nibp = self.store.last_nibp()
        measuring = self.store.nibp_measuring_since()
        if nibp is None or nibp.systolic is None or nibp.diastolic is None:
            self.nibp_tile.set_value(f"{NO_VALUE}/{NO_VALUE}")
            self.nibp_tile.set_manual(False)
            detail = "no measurement yet" if self.has_nibp else "none entered yet"
        else:
            self.nibp_tile.set_value(f"{nibp.systolic:.0f}/{nibp.diastolic:.0f}")
            self.nibp_tile.set_manual(nibp.source is Source.MANUAL)
            mean = f"({nibp.mean:.0f})  " if nibp.mean is not None else ""
            detail = f"{mean}{format_age(now - nibp.time)}"
        if measuring is not None:
            detail = f"cuff {now - measuring:.0f} s\u2026"
        self.nibp_tile.set_detail(detail)
        self._show_tile_alarm(self.nibp_tile, (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN))
        self._refresh_resp(now)

    def _refresh_resp(self, now: float) -> None:
        """RR and EtCO2: hidden until the monitor sends them, then kept (a lost value shows a dash)."""
        for tile, parameter in ((self.rr_tile, Parameter.RESP_RATE), (self.etco2_tile, Parameter.ETCO2)):
            latest = self.store.latest(parameter)
            if latest is None or (tile.isHidden() and latest.value is None):
                continue  # shown from its first valid value: a monitor reporting it invalid all along has none
            if tile.isHidden():
                tile.setVisible(True)
                self.resp_row.setVisible(True)
                self.resp_row.relayout()
            text, manual = self._value_text(parameter, now)
            tile.set_value(text)
            tile.set_manual(manual)
            self._show_tile_alarm(tile, (parameter,))
            if latest.value is None and latest.status.value != "ok":
                tile.set_detail(latest.status.value)
            elif manual:
                tile.set_detail(f"entered {format_age(now - latest.time)}")
            else:
                tile.set_detail(self._resp_limits.get(parameter, ""))

    def _refresh_status(self, now: float) -> None:
        state, detail = self.store.link()
        text, colour = LINK_TEXT.get(state, (state.value, theme.TEXT))
        _set_label(self.link_label, f"\u25cf Link: {text}", f"color: {colour};")
        if self.link_label.toolTip() != detail:
            self.link_label.setToolTip(detail)
        recording = self.bedside.recording_text()
        if recording is not None:
            rec_text, ok = recording
            _set_label(self.recording_label, rec_text, f"color: {'#3dff6e' if ok else theme.ALARM_HIGH};")
        elapsed = now - self.session_start
        if math.isinf(self.speed):
            speed = "   replay"
        else:
            speed = "" if math.isclose(self.speed, 1.0) else f"   \u00d7{self.speed:g}"
        wall = time.strftime("%H:%M", time.localtime(now))
        _set_label(self.clock_label, f"Session {format_clock(elapsed)}   {wall}{speed}")
