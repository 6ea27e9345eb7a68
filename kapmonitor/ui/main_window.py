"""The nurse's view: numeric tiles, the session trend, the pleth strip, link and recording state.

Everything is redrawn on timers from snapshots of the Qt-free `TrendStore` (never per sample):
tiles and pleth at 25 Hz, the trend plot at 1 Hz (its data changes once a second). No worker thread
touches a widget; a label is touched only when its text or colour changes (see benchmarks/).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMessageBox, QToolBar, QVBoxLayout, QWidget

from kapmonitor import __version__
from kapmonitor.alarms.model import AlarmEvent, AlarmEventType, is_central_credit
from kapmonitor.alarms.presentation import tile_states
from kapmonitor.alarms.profile import AlarmProfile
from kapmonitor.bedside import BedsideView
from kapmonitor.ui import banners, theme
from kapmonitor.ui.alarms.bar import AlarmBar, AlarmBridge
from kapmonitor.ui.status_bar import StatusBar
from kapmonitor.ui.vitals.pleth_strip import PlethStrip
from kapmonitor.ui.vitals.tile_panel import TilePanel
from kapmonitor.ui.vitals.trend_plot import Band, TrendPlot

log = logging.getLogger(__name__)

FAST_REDRAW_MS = 32  # tiles, pleth, alarm bar: ~31 Hz (alarms themselves are shown on their event)
GIL_SWITCH_S = 0.001  # see start()
TREND_REDRAW_MS = 1000  # each trend repaint costs ~20 ms of software rendering
NIBP_NOT_POSSIBLE = "This monitor cannot start a NIBP measurement from kapmonitor \u2014 start it on the monitor"
NO_NIBP_TEXT = "no NIBP from this monitor \u2014 enter manually"  # a pulse oximeter: no cuff at all
NO_NIBP_MESSAGE = "This monitor has no NIBP (a pulse oximeter): measure the blood pressure and enter it manually"


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
        self._widget_count = -1  # widgets under the window at the last font rescale
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
        self.simulated_banner = banners.simulated_banner() if simulated else None
        self.replay_banner = banners.replay_banner(replay_of) if replay_of is not None else None
        self.profile_banner = banners.profile_banner(profile_warning) if profile_warning else None
        for banner in (self.simulated_banner, self.replay_banner, self.profile_banner):
            if banner is not None:
                root.addWidget(banner)
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

        self.tile_panel = TilePanel(self.profile)
        panel = self.tile_panel
        self.hr_tile, self.spo2_tile, self.nibp_tile = panel.hr_tile, panel.spo2_tile, panel.nibp_tile
        self.rr_tile, self.etco2_tile, self.resp_row = panel.rr_tile, panel.etco2_tile, panel.resp_row
        self.tiles = panel.tiles
        self.side_area = panel.side_area
        self.vitals_box = panel  # the tiles: no other window may cover them (ui/placement.py)
        body.addWidget(panel, 1)
        root.addLayout(body, 1)
        self.setCentralWidget(central)
        panel.apply_styles()  # the tiles' colours once they sit in the window: their sheets matched once

        self._build_status_bar(bedside.device_text())
        self._build_menus()

        self.fast_timer = QTimer(self)
        self.fast_timer.setInterval(FAST_REDRAW_MS)
        self.fast_timer.timeout.connect(self.refresh_fast)
        self.trend_timer = QTimer(self)
        self.trend_timer.setInterval(TREND_REDRAW_MS)
        self.trend_timer.timeout.connect(self.refresh_trend)
        self.redraws = 0
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
        """The status bar (ui/status_bar.py); its fields keep their names on the window."""
        self.status = StatusBar(device_text)
        self.device_label, self.link_label = self.status.device_label, self.status.link_label
        self.recording_label, self.message_label = self.status.recording_label, self.status.message_label
        self.clock_label = self.status.clock_label
        self.setStatusBar(self.status)

    def show_message(self, text: str, timeout_ms: int = 4000) -> None:
        """A short-lived message in its own status-bar label (the link and recording state stay)."""
        self.statusBar().showMessage(text, timeout_ms)

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
        self.tile_panel.set_profile(profile)

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
        self.tile_panel.set_no_nibp_note(has_nibp, NO_NIBP_TEXT, "Enter NIBP manually\u2026",
                                         self._on_enter_manual_nibp)
        if not has_nibp:
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
            self.simulated_banner = banners.simulated_banner()
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
        """Fonts for the window's size: on every resize, and when widgets were added since (a
        panel or a dock's contents built later: `_rescale_new_widgets`)."""
        self._widget_count = len(self.findChildren(QWidget))
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
    def _rescale_new_widgets(self) -> None:
        """Rescale only when the window holds more or fewer widgets than at the last rescale: a
        count costs ~0.02 ms, a full walk ~3 ms of the GUI thread (an alarm waits behind it)."""
        if len(self.findChildren(QWidget)) != self._widget_count:
            self.rescale_fonts()

    def refresh_trend(self) -> None:
        self._rescale_new_widgets()
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
        self.tile_panel.refresh(self.store, tile_states(alarms), now)
        self._refresh_status(now)
        for refresher in self.extra_refreshers:
            refresher(now)

    def _on_alarm_event(self, _event: object) -> None:
        """An engine event, delivered in the GUI thread: the alarm bar and the tiles show it now."""
        if isinstance(_event, AlarmEvent) and _event.event is AlarmEventType.ACKNOWLEDGED \
                and is_central_credit(_event.who):  # nobody at the chair acted: say who did, for two minutes
            what = _event.message.removesuffix(" (acknowledged)")
            self.show_message(f"{_event.who} acknowledged: {what}", 120_000)  # who first: the label elides
        if self.engine is None or not self.fast_timer.isActive():
            return  # not started (or closing): the first redraw shows the alarms
        now = self.now_fn()
        alarms = self.engine.active_alarms(now)
        if self.alarm_bar is not None:
            self.alarm_bar.update_from(alarms, self.engine.audio_paused_until, now)
            self.alarm_bar.repaint()  # now, not behind other queued work (a pending redraw)
        self.tile_panel.refresh(self.store, tile_states(alarms), now)

    def _refresh_status(self, now: float) -> None:
        self.status.refresh(self.store.link(), self.bedside.recording_text(), now - self.session_start, now,
                            self.speed)
