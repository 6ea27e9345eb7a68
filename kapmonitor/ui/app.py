"""Builds the QApplication and the windows, and binds them to the bedside (kapmonitor.bedside).

The `Bedside` owns and runs everything (pipeline, alarms, sound, session, music) without Qt; this
module only shows it: the nurse's main window, its menus and the session dock, the therapist's
window, and the questions asked of the nurse. Monitoring and alarms run from the first second;
only then is anything asked (an unfinished session to resume), never blocking.

GUI thread only, except the unfinished-session scan (a worker thread; its result is queued).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from kapmonitor.bedside import Bedside, MonitorSwitch
from kapmonitor.drivers.base import Driver
from kapmonitor.model.clock import Clock
from kapmonitor.model.trends import TrendStore
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.session.entries import SessionError
from kapmonitor.session.model import ValidationError
from kapmonitor.session.storage import SessionSummary, find_unfinished_sessions
from kapmonitor.ui import end_startup_collection
from kapmonitor.ui.alarms.menu import AlarmUi, install_alarm_ui
from kapmonitor.ui.export.action import install_export_action
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.monitor.connection_menu import ConnectionMenu, install_connection_action
from kapmonitor.ui.monitor.demo_banner import install_demo_banner
from kapmonitor.ui.monitor.publish_menu import PublishMenu, install_publish_action
from kapmonitor.ui.music.menu import MusicUi, install_music_ui
from kapmonitor.ui.placement import WindowPlacer, install_window_placement
from kapmonitor.ui.session.integration import SessionController
from kapmonitor.ui.theme import apply_application_font

if TYPE_CHECKING:
    from kapmonitor.ui.session.resume import ResumeOfferDialog

log = logging.getLogger(__name__)


class _Found(QObject):
    """Carries the unfinished sessions found by the worker thread into the GUI thread (queued)."""

    ready = Signal(object)  # list[SessionSummary]


class _AfterFirstPaint(QObject):
    """Calls `callback` once, just after the first paint of any widget (or after `latest_ms` if none
    comes, so the call is never lost). GUI thread only."""

    def __init__(self, app: QApplication, callback: Callable[[], None], latest_ms: int = 1000) -> None:
        super().__init__()
        self._app = app
        self._callback = callback
        self._done = False
        app.installEventFilter(self)
        QTimer.singleShot(latest_ms, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._done:
            self._app.removeEventFilter(self)
            QTimer.singleShot(0, self._fire)  # once the painting has finished
        return False

    def _fire(self) -> None:
        if not self._done:
            self._done = True
            self._app.removeEventFilter(self)
            self._callback()


class MonitorApplication:
    """One running kapmonitor window bound to its `bedside`. Create in the GUI thread."""

    def __init__(self, driver: Driver, clock: Clock, session_path: Path | None, profile_path: Path | None) -> None:
        existing = QApplication.instance()
        self.qt_app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
        self.qt_app.setApplicationName("kapmonitor")
        apply_application_font(self.qt_app)
        # profile first (never without limits), then the record: a record that cannot be opened fails here
        self.bedside = Bedside(driver, clock, session_path, profile_path)
        self.window: MainWindow | None = None
        self.session_controller: SessionController | None = None
        self.music_ui: MusicUi | None = None
        self.alarm_ui: AlarmUi | None = None
        self.connection_menu: ConnectionMenu | None = None
        self.publish_menu: PublishMenu | None = None
        self.placer: WindowPlacer | None = None
        self.resume_action: QAction | None = None
        self.resume_question: ResumeOfferDialog | None = None
        self.resume_problem: QMessageBox | None = None
        self._resume_found: _Found | None = None
        self._after_paint: _AfterFirstPaint | None = None
        self._stopped = False

    def start(self, sound: bool = True) -> None:
        """Start the bedside (record, monitor, alarms), then build and show the window.

        `sound` False (screenshots) leaves the alarm sound off; nothing else changes.
        """
        bedside = self.bedside
        # the alarm sound opens right after the first paint (below); the record's file opens in its
        # writer thread while the window is built (what the monitor sends meanwhile is queued for it)
        bedside.start(sound=False, wait_for_record=False)
        window = MainWindow(bedside)
        bedside.wait_for_record()  # a record that cannot be opened still fails here, before the window shows
        self.window = window
        self._follow_monitor(source_changed=False)
        bedside.pipeline.on_trends_replaced.append(self._show_store)
        bedside.on_monitor_switched.append(self._monitor_switched)
        # Monitor > Monitor connection...: driver, port, test; switches at once and is remembered
        self.connection_menu = install_connection_action(window, bedside, window.monitor_menu)
        # Monitor > Central station publishing...: broker, chair, TLS, HL7 out; applied live and remembered
        self.publish_menu = install_publish_action(window, bedside, window.monitor_menu)
        # Alarms > history, per-session limit change, BP baseline, resume audio, clinic profile (PIN)
        self.alarm_ui = install_alarm_ui(window, bedside.alarms, who_fn=bedside.who,
                                         on_profile_changed=window.set_profile, record=bedside.profile_record)
        install_export_action(window, lambda: bedside.pipeline.recorder.path)  # File > Export session... (Ctrl+E)
        if not bedside.is_replay:
            self._start_nurse_session(window)  # Session menu and dock (not for replays)
        if bedside.music is not None:
            # Music > Therapist window... (Ctrl+M): own output device, every action into music_events
            self.music_ui = install_music_ui(window, bedside.music, menu=window.music_menu,
                                             infusion_window_fn=lambda: bedside.infusion_window(bedside.now()))
        window.extra_refreshers.append(self._update_output_notice)
        # a monitor in demo mode (its values marked `demo`): an orange banner, like the simulator's
        install_demo_banner(window, bedside.pipeline.dispatcher)
        output = QAction("Alarm sound &output\u2026", window)
        output.triggered.connect(self.choose_alarm_output)
        window.alarms_menu.addAction(output)
        window.close_guard = bedside.close_reason
        # fits the window to its screen; dialogs and the therapist window never cover alarms or tiles
        self.placer = install_window_placement(window)
        window.show()
        window.start()  # the alarm bar and tiles follow the engine from the first paint on
        # after the first paint: PortAudio's start-up (~0.1 s) and the session panel no longer delay the window
        self._after_paint = _AfterFirstPaint(self.qt_app, lambda: self._after_first_paint(sound))

    def _after_first_paint(self, sound: bool) -> None:
        """The alarm sound opens first, then the session panel is built (nothing once stopped)."""
        end_startup_collection()  # garbage collected as usual from now on
        if self._stopped:
            return
        try:
            if sound:
                self.bedside.start_sound()
        finally:
            if self.session_controller is not None:
                self.session_controller.release_panel()

    def _follow_monitor(self, source_changed: bool = True) -> None:
        """The window follows the monitor read now: banner and device (after a switch), NIBP (F5 only
        where the monitor can start the cuff; a pulse oximeter's NIBP is entered by hand)."""
        window, pipeline = self.window, self.bedside.pipeline
        if window is None:
            return
        driver = self.bedside.driver
        if source_changed:
            window.set_source(driver.is_simulated, self.bedside.device_text())
        window.set_nibp_request(pipeline.request_nibp if driver.can_start_nibp else None)
        window.set_nibp_source(driver.has_nibp, self._enter_manual_vitals)

    def _enter_manual_vitals(self) -> bool:
        """Open the Session menu's manual vitals dialog; False when no session is open to take them."""
        controller = self.session_controller
        if controller is None or not controller.vitals_action.isEnabled():
            return False
        controller.vitals_action.trigger()
        return True

    def _show_store(self, store: TrendStore) -> None:
        """The pipeline has a fresh display store (another kind of monitor, a resumed record)."""
        if self.window is not None:
            self.window.store = store
            self.window.refresh_trend()
            self.window.refresh_fast()

    def _show_session_start(self) -> None:
        """The session clock and the trend start where the bedside's session starts."""
        if self.window is not None:
            self.window.session_start = self.bedside.session_start
            self.window.trend_plot.t0 = self.bedside.session_start

    # -- monitoring first: the unfinished-session question comes after the window ------------------
    def offer_resume_soon(self, folder: Path | None = None) -> threading.Thread:
        """Look for unfinished sessions on a worker thread (reading every record takes a while),
        then ask in the GUI thread. The window and the alarms are running already."""
        self._resume_found = found_signal = _Found()
        found_signal.ready.connect(lambda found: self.offer_resume(folder, found=found))

        def scan() -> None:
            try:
                found = find_unfinished_sessions(folder)
            except Exception:  # never lose the question to a scan error: the menu can ask again
                log.exception("looking for unfinished sessions failed")
                return
            found_signal.ready.emit(found)

        worker = threading.Thread(target=scan, name="find-unfinished", daemon=True)
        worker.start()
        return worker

    def offer_resume(self, folder: Path | None = None, tell_if_none: bool = False,
                     found: Sequence[SessionSummary] | None = None) -> ResumeOfferDialog | None:
        """Ask, without blocking, whether to resume an unfinished session (`found`, else looked up
        now); monitoring and alarms run meanwhile into a fresh record. Returns the question (None
        when nothing is unfinished)."""
        from kapmonitor.ui.session.resume import ResumeOfferDialog

        here = self.bedside.pipeline.recorder.path
        found = [s for s in (find_unfinished_sessions(folder) if found is None else found) if s.path != here]
        if not found:
            if tell_if_none and self.window is not None:
                self.window.show_message("No unfinished session to resume", 6000)
            return None
        dialog = ResumeOfferDialog(found, self.window)
        dialog.setModal(False)  # the nurse can still acknowledge alarms while it is open
        for label in dialog.findChildren(QLabel):  # wrapped texts: it fits beside the tiles, not over them
            label.setWordWrap(True)
        dialog.resize(460, 420)
        dialog.accepted.connect(lambda: self.resume_record(dialog.chosen) if dialog.chosen else None)
        self.resume_question = dialog
        dialog.show()
        return dialog

    def resume_record(self, path: Path) -> bool:
        """Continue the unfinished session in `path`: the record switches to it (the vitals since the
        start are copied in), its earlier vitals are shown and its session resumes. Monitoring and
        alarms never stop. False, with the reason on screen, when it cannot be done."""
        controller = self.session_controller
        problem = None
        if controller is None:
            problem = "this window has no nurse's session"
        else:
            try:
                self.bedside.resume_unfinished(path)
            except (SessionError, SessionDatabaseError, OSError, ValueError) as exc:
                problem = str(exc)
        if problem is not None:
            log.error("cannot resume %s: %s", path, problem)
            box = QMessageBox(self.window)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("Unfinished session")
            box.setText(f"{path.name} was not resumed: {problem}.")
            box.setModal(False)
            box.show()
            self.resume_problem = box
            return False
        self._show_session_start()  # the session clock and the trend span the whole record
        log.info("resumed the unfinished session in %s while monitoring", path)
        return True

    # -- Monitor > Monitor connection... (the menu calls bedside.switch_monitor) ------------------------
    def _monitor_switched(self, switch: MonitorSwitch) -> None:
        """Another monitor is read: the window follows it; after a new record (simulated <-> real)
        the session of the old record is set aside (the demo session starts on the simulator)."""
        self._follow_monitor()
        controller = self.session_controller
        if controller is not None and controller.panel is not None and self.window is not None:
            controller.panel.infusion.request_nibp = self.window.request_nibp
        if switch.new_record is not None:  # the bedside set the old record's session aside
            self._show_session_start()

    # -- the nurse's session -------------------------------------------------------------------------
    def _start_nurse_session(self, window: MainWindow) -> None:
        """The nurse's session: resumed when the record already holds one (--session, the resume
        offer), the demo session for the simulator, otherwise created from the Session menu."""
        bedside = self.bedside
        controller = SessionController(window, bedside.sessions, hold_panel=True)  # its panel: after the first paint
        self.session_controller = controller
        if not bedside.simulated:  # the start-up question may have been put off ("Later"): ask again from the menu
            self.resume_action = QAction("&Resume an unfinished session\u2026", controller)
            self.resume_action.triggered.connect(lambda: self.offer_resume(tell_if_none=True))
            controller.menu.addAction(self.resume_action)
        try:
            bedside.begin_session()  # the record's own session resumed, or the simulator's demo session
        except (SessionDatabaseError, ValidationError, OSError) as exc:
            log.error("the session in %s cannot be resumed: %s", bedside.pipeline.recorder.path, exc)  # in the dock

    # -- alarm sound -----------------------------------------------------------------------------------
    def choose_alarm_output(self) -> None:
        """Alarms ▸ Alarm sound output…: save the choice and move the alarm sound there at once."""
        from kapmonitor.ui.alarms.output_dialog import AlarmOutputDialog  # dialogs load when first opened

        music = self.bedside.music
        dialog = AlarmOutputDialog(self.bedside.sound_config, music_device=None if music is None else
                                   music.player.device, parent=self.window)
        if dialog.exec() != dialog.DialogCode.Accepted:
            return
        self.bedside.set_alarm_sound(dialog.config())

    def _update_output_notice(self, now: float) -> None:
        """The bedside's output notices in the alarm area (alarm off, sound setting, shared output)."""
        bar = None if self.window is None else self.window.alarm_bar
        if bar is not None:
            text = "  \u2022  ".join(self.bedside.output_notices())
            if bar.notice_label.text() != text:
                bar.set_notice(text)

    # -- running ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopped = True  # a late after-first-paint call builds nothing
        end_startup_collection()
        if self.music_ui is not None:
            self.music_ui.close()
        self.bedside.stop()

    def exec(self) -> int:
        """Run the event loop; stop everything (flushing the record) however it ends."""

        def terminate(*_: object) -> None:  # SIGTERM (shutdown, service manager): end cleanly
            # exit(), not quit(): Qt 6's quit() first asks the windows, and the nurse's window
            # rightly refuses to close during an infusion
            self.qt_app.exit(0)

        def interrupt(*_: object) -> None:  # Ctrl-C in the terminal: like closing the window
            if self.window is not None:
                self.window.close()
            else:
                self.qt_app.exit(0)

        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, terminate)
        signal.signal(signal.SIGINT, interrupt)
        wake = QTimer()  # Qt's loop is C++: let Python look at signals four times a second
        wake.timeout.connect(lambda: None)
        wake.start(250)
        try:
            return int(self.qt_app.exec())
        finally:
            wake.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def take_screenshot(self, png: Path, after_s: float) -> int:
        """Run until `after_s` clock seconds into the session, save the window to `png`, exit 0."""
        window = self.window
        assert window is not None, "start() first"
        bedside = self.bedside
        real_deadline = time.monotonic() + after_s / max(bedside.clock.speed, 1e-9) + 60.0
        result = {"code": 1}

        def save() -> None:
            image = window.grab()
            png.parent.mkdir(parents=True, exist_ok=True)
            if image.save(str(png)):
                log.info("screenshot saved to %s (%dx%d)", png, image.width(), image.height())
                result["code"] = 0
            else:
                print(f"kapmonitor: error: cannot write screenshot {png}", file=sys.stderr)
                result["code"] = 2
            self.qt_app.exit(0)

        def check() -> None:
            if bedside.now() - bedside.session_start >= after_s:
                timer.stop()
                # freeze the picture at the requested moment: the record goes on, the display stops
                bedside.pipeline.dispatcher.remove_listener(bedside.pipeline.trends)
                bedside.pipeline.dispatcher.remove_listener(bedside.pipeline.alarm_listener)
                bedside.supervisor.stop()
                frozen = bedside.session_start + after_s
                window.now_fn = lambda: frozen
                controller = self.session_controller
                if controller is not None:
                    controller.release_panel()
                    controller.tick()
                    panel = controller.panel
                    if panel is not None:
                        panel.refresh()
                        panel.infusion.refresh()
                        panel.scales.refresh()
                window.refresh_trend()
                window.refresh_fast()
                QTimer.singleShot(200, save)  # let layouts settle after the last update
            elif time.monotonic() > real_deadline:
                print("kapmonitor: error: screenshot timed out", file=sys.stderr)
                self.qt_app.exit(0)

        timer = QTimer()
        timer.setInterval(50)
        timer.timeout.connect(check)
        timer.start()
        self.exec()
        return result["code"]


def run_gui(args: argparse.Namespace, driver: Driver, clock: Clock,
            on_started: Callable[[Bedside], None] | None = None) -> int:
    """Entry point of `kapmonitor run`. `on_started(bedside)` runs once monitoring runs (the command
    line attaches publishing and HL7 out there)."""
    session_path = args.session
    app = MonitorApplication(driver, clock, session_path, args.profile)
    try:
        app.start(sound=not args.screenshot)  # monitoring and alarms first, into a fresh record
    except SessionDatabaseError as exc:
        print(f"kapmonitor: error: {exc}", file=sys.stderr)
        return 2
    if on_started is not None:
        on_started(app.bedside)
    if session_path is None and not args.screenshot and not driver.is_simulated and args.replay is None:
        # then, without blocking, an unfinished session (crash) is offered for resumption
        QTimer.singleShot(0, app.offer_resume_soon)
    if args.screenshot:
        assert app.window is not None
        app.window.resize(1280, 800)
        return app.take_screenshot(Path(args.screenshot), args.screenshot_after)
    return app.exec()
