"""Builds the QApplication and wires the parts of a live (or simulated, or replayed) session together.

Order matters for safety: the alarm profile is loaded first (never run without limits), then
the session database is opened (fail before showing vitals that would not be recorded), then the
monitor is read, then the window is shown. Only then is anything asked (an unfinished session to
resume), never blocking: monitoring and alarms run from the first second.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from kapmonitor.alarms.profile import AlarmProfile, load_clinic_profile
from kapmonitor.alarms.session_link import SessionAlarmLink
from kapmonitor.alarms.sound_config import load_alarm_sound_config, same_output
from kapmonitor.alarms.sounder import AlarmSounder
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.config import MonitorChoice, new_session_path, save_monitor_choice
from kapmonitor.drivers.base import Driver
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Source, VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.pipeline import MonitoringPipeline
from kapmonitor.recording.reader import read_history
from kapmonitor.session.session import RecordSink
from kapmonitor.session.storage import SessionSummary
from kapmonitor.ui.trend_plot import Band

log = logging.getLogger(__name__)

class MonitorApplication:
    """One running kapmonitor window with its pipeline. Create in the GUI thread."""

    def __init__(self, driver: Driver, clock: Clock, session_path: Path | None, profile_path: Path | None) -> None:
        from PySide6.QtWidgets import QApplication

        self.qt_app = QApplication.instance() or QApplication(sys.argv[:1])
        self.qt_app.setApplicationName("kapmonitor")
        from kapmonitor.ui.theme import apply_application_font

        apply_application_font(self.qt_app)
        self.driver = driver
        self.clock = clock
        # --profile, else the clinic's signed-off profile, else the built-in default (never no limits)
        self.profile, self.profile_warning = load_clinic_profile(profile_path)
        path = session_path or new_session_path(driver.is_simulated, clock.now())
        # a record that already exists is being resumed: its vitals are shown again (read before writing)
        self.history, self.history_start = load_history(path)
        self.pipeline = MonitoringPipeline(driver, path, alarm_profile=self.profile)
        from kapmonitor.alarms.profile_record import ProfileRecord

        # the profile in force (name, version, hash; signed off or why not) and every PIN use into the record
        self.profile_record = ProfileRecord(lambda: self.pipeline.recorder, clock.now)
        self.profile_record.started(self.profile, self.profile_warning)
        assert self.pipeline.alarms is not None
        self.alarms = self.pipeline.alarms
        self.supervisor = AlarmSupervisor(self.alarms)
        self.sound_config, self.sound_config_problem = load_alarm_sound_config()
        self.sounder = AlarmSounder(self.alarms, device=self.sound_config.device, volume=self.sound_config.volume)
        self._sound_on = False
        self.window: object = None
        self.alarm_link: SessionAlarmLink | None = None

    @property
    def active_profile(self) -> AlarmProfile:
        return self.profile

    def start(self, sound: bool = True) -> None:
        """Open the record and the monitor, then build and show the window.

        `sound` False (screenshots) leaves the alarm sound off; nothing else changes.
        """
        from kapmonitor.ui.main_window import MainWindow

        if self.history:  # resumed: the recorded vitals first, so the trend stays in time order
            self.pipeline.trends.on_items(self.history)
            self.history = []
        self.pipeline.start()
        self.supervisor.start()
        if sound:
            self.sounder.start()  # a sound device that cannot play is raised as a technical alarm
            self._sound_on = True
        self.session_start = self.clock.now()
        if self.history_start is not None:  # the session clock spans the whole record
            self.session_start = min(self.session_start, self.history_start)
        simulated = self.driver.is_simulated
        replay_of = getattr(self.driver, "capture_path", None)
        device = self._device_text()
        window = MainWindow(
            self.pipeline.trends,
            self.profile,
            session_start=self.session_start,
            now_fn=self.clock.now,
            simulated=simulated,
            device_text=device,
            recording_text_fn=self._recording_text,
            infusion_window_fn=self._infusion_window,
            profile_warning=self.profile_warning,
            speed=self.clock.speed,
            engine=self.alarms,
            replay_of=replay_of.name if replay_of is not None else None,
            who_fn=self._who,
            bands_fn=self._music_bands,
        )
        # F5 only where the monitor can start the cuff; otherwise the menu says to use the monitor
        window.set_nibp_request(self.pipeline.request_nibp if self.driver.can_start_nibp else None)
        window.set_nibp_source(self.driver.has_nibp, self._enter_manual_vitals)  # a pulse oximeter: by hand
        self.window = window
        self.pipeline.on_trends_replaced.append(self._show_store)
        from kapmonitor.ui.connection_dialog import install_connection_action

        # Monitor > Monitor connection...: driver, port, test; switches at once and is remembered
        self.connection_menu = install_connection_action(window, self, window.monitor_menu)
        from kapmonitor.ui.alarm_menu import install_alarm_ui

        # Alarms > history, per-session limit change, BP baseline, resume audio, clinic profile (PIN)
        self.alarm_ui = install_alarm_ui(window, self.alarms, who_fn=self._who, on_profile_changed=window.set_profile,
                                         record=self.profile_record)
        from kapmonitor.ui.export_dialog import install_export_action

        install_export_action(window, lambda: self.pipeline.recorder.path)  # File > Export session... (Ctrl+E)
        if replay_of is None:
            self._start_nurse_session(window, simulated)  # Session menu and dock (not for replays)
            from kapmonitor.ui.music_menu import install_music_ui

            # Music > Therapist window... (Ctrl+M): own output device, every action into music_events
            self.music_ui = install_music_ui(
                window, recorder=self.pipeline.recorder, clock=self.clock.now,
                infusion_window_fn=lambda: self._infusion_window(self.clock.now()))
        window.extra_refreshers.append(self._update_output_notice)
        from kapmonitor.ui.demo_banner import install_demo_banner

        # a monitor in demo mode (its values marked `demo`): an orange banner, like the simulator's
        install_demo_banner(window, self.pipeline.dispatcher)
        self._install_alarm_output_action(window)
        window.close_guard = self._close_guard
        from kapmonitor.ui.placement import install_window_placement

        # fits the window to its screen; dialogs and the therapist window never cover alarms or tiles
        self.placer = install_window_placement(window)
        window.show()
        window.start()

    def _enter_manual_vitals(self) -> bool:
        """Open the Session menu's manual vitals dialog; False when no session is open to take them."""
        controller = getattr(self, "session_controller", None)
        action = getattr(controller, "vitals_action", None)
        if action is None or not action.isEnabled():
            return False
        action.trigger()
        return True

    def _device_text(self) -> str:
        """The status bar's name of the monitor read now."""
        replay_of = getattr(self.driver, "capture_path", None)
        if self.driver.is_simulated:
            return f"Simulated monitor \u2014 scenario {self.driver.options.scenario}"
        if replay_of is not None:
            return f"Replay of {replay_of.name} ({getattr(self.driver, 'decoder_name', '')})"
        return f"{self.driver.description} on {self.driver.options.port}"

    def _show_store(self, store: TrendStore) -> None:
        """The pipeline has a fresh display store (another kind of monitor, a resumed record)."""
        from kapmonitor.ui.main_window import MainWindow

        if isinstance(self.window, MainWindow):
            self.window.store = store
            self.window.refresh_trend()
            self.window.refresh_fast()

    # -- monitoring first: the unfinished-session question comes after the window ------------------
    def offer_resume_soon(self, folder: Path | None = None) -> threading.Thread:
        """Look for unfinished sessions on a worker thread (reading every record takes a while),
        then ask in the GUI thread. The window and the alarms are running already."""
        from PySide6.QtCore import QObject, Signal

        from kapmonitor.session.storage import find_unfinished_sessions

        class _Found(QObject):
            ready = Signal(object)  # list[SessionSummary], emitted from the worker (queued to the GUI)

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
                     found: Sequence[SessionSummary] | None = None) -> object:
        """Ask, without blocking, whether to resume an unfinished session (`found`, else looked up
        now); monitoring and alarms run meanwhile into a fresh record. Returns the question (None
        when nothing is unfinished)."""
        from kapmonitor.session.storage import find_unfinished_sessions
        from kapmonitor.ui.main_window import MainWindow
        from kapmonitor.ui.session_resume import ResumeOfferDialog

        here = self.pipeline.recorder.path
        found = [s for s in (find_unfinished_sessions(folder) if found is None else found) if s.path != here]
        if not found:
            if tell_if_none and isinstance(self.window, MainWindow):
                self.window.show_message("No unfinished session to resume", 6000)
            return None
        dialog = ResumeOfferDialog(found, self.window if isinstance(self.window, MainWindow) else None)
        dialog.setModal(False)  # the nurse can still acknowledge alarms while it is open
        from PySide6.QtWidgets import QLabel

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
        from PySide6.QtWidgets import QMessageBox, QWidget

        from kapmonitor.recording.database import SessionDatabaseError
        from kapmonitor.ui.main_window import MainWindow

        controller = getattr(self, "session_controller", None)
        problem = None
        if controller is None:
            problem = "this window has no nurse's session"
        elif controller.session is not None:
            problem = "a session was started in this window meanwhile; finish it first"
        else:
            try:
                self.pipeline.switch_record(path)
            except (SessionDatabaseError, OSError, ValueError) as exc:
                problem = str(exc)
        if problem is not None:
            log.error("cannot resume %s: %s", path, problem)
            box = QMessageBox(self.window if isinstance(self.window, QWidget) else None)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("Unfinished session")
            box.setText(f"{path.name} was not resumed: {problem}.")
            box.setModal(False)
            box.show()
            self.resume_problem = box
            return False
        self.pipeline.recorder.flush()
        history, start = load_history(path)
        self.pipeline.show_history(history)
        if start is not None:  # the session clock and the trend span the whole record
            self.session_start = min(self.session_start, start)
            if isinstance(self.window, MainWindow):
                self.window.session_start = self.session_start
                self.window.trend_plot.t0 = self.session_start
        assert controller is not None
        controller.resume_session(path)
        log.info("resumed the unfinished session in %s while monitoring", path)
        return True

    # -- Monitor > Monitor connection... -----------------------------------------------------------------
    def current_monitor(self) -> MonitorChoice:
        return MonitorChoice(self.driver.name, self.driver.options.port, self.driver.options.baudrate)

    def can_switch_monitor(self) -> str | None:
        """Why the monitor cannot be changed in this window (a replay), or None."""
        if getattr(self.driver, "capture_path", None) is not None:
            return "a replay shows a recorded capture; start kapmonitor without --replay to read a monitor"
        return None

    def switch_warning(self, choice: MonitorChoice) -> str | None:
        """What the nurse must confirm before `choice` replaces a real monitor mid-session, or None."""
        from kapmonitor.drivers.registry import driver_class

        reason = self._close_guard()
        leaves_patient = not self.driver.is_simulated and driver_class(choice.driver).source is Source.SIMULATED
        if reason and leaves_patient:
            return (f"{reason}\n\nThe simulated monitor starts a new record: this patient's vitals are no longer "
                    "shown or alarmed here, and her session is set aside (unfinished; it is offered again at the "
                    "next start).")
        return None

    def switch_monitor(self, choice: MonitorChoice) -> str:
        """Read the chosen monitor from now on, without a restart, and remember it for the next start.

        A real monitor after a real one continues the record and the session. Between the
        simulator and a real monitor a new record starts (never simulated and patient data in one
        record): the session in the old record is set aside, the SIMULATED banner follows the
        source. Returns what happened, for the nurse. Raises DriverError, ValueError or OSError,
        changing nothing. GUI thread.
        """
        from kapmonitor.drivers.base import DriverOptions
        from kapmonitor.drivers.errors import DriverError
        from kapmonitor.drivers.registry import create_driver, driver_class

        why_not = self.can_switch_monitor()
        if why_not:
            raise DriverError(why_not)
        if driver_class(choice.driver).source is not Source.SIMULATED and self.clock.speed != 1.0:
            raise DriverError("a real monitor runs in real time: start kapmonitor without --speed to read one")
        old = self.driver
        options = DriverOptions(port=choice.port, baudrate=choice.baudrate, scenario=old.options.scenario,
                                seed=old.options.seed, waves=old.options.waves)
        new = create_driver(choice.driver, options, self.clock)
        started = self.pipeline.replace_driver(new)
        self.driver = new
        from kapmonitor.ui.main_window import MainWindow

        window = self.window
        if isinstance(window, MainWindow):
            window.set_source(new.is_simulated, self._device_text())
            window.set_nibp_request(self.pipeline.request_nibp if new.can_start_nibp else None)
            window.set_nibp_source(new.has_nibp, self._enter_manual_vitals)
        controller = getattr(self, "session_controller", None)
        if controller is not None:
            controller.on_infusion_started = getattr(new, "set_infusion_start", None)
            if controller.panel is not None and isinstance(window, MainWindow):
                controller.panel.infusion.request_nibp = window.request_nibp
        if started is not None:
            self.profile_record.started(self.alarms.profile, self.profile_warning)  # the new record names its profile
            self.session_start = self.clock.now()
            if isinstance(window, MainWindow):
                window.session_start = self.session_start
                window.trend_plot.t0 = self.session_start
            if controller is not None:
                controller.set_aside_session(self.pipeline.dispatcher.remove_listener, simulated=new.is_simulated)
                if new.is_simulated:
                    patient = getattr(new, "patient", None)
                    controller.start_demo_session(None if patient is None else patient.infusion_start)
        try:
            save_monitor_choice(choice)
            saved = "; it is used at the next start"
        except OSError as exc:
            saved = f"; the choice could not be saved ({exc})"
        where = f" on {choice.port}" if choice.port else ""
        if started is not None:
            return f"Now reading {new.description}{where}, into a new session record ({started.name}){saved}."
        return f"Now reading {new.description}{where}; the session record continues{saved}."

    def _start_nurse_session(self, window: object, simulated: bool) -> None:
        """The nurse's session: resumed when the record already holds one (--session, the resume
        offer), the demo session for the simulator, otherwise created from the Session menu."""
        from kapmonitor.session.session import prestart_hook
        from kapmonitor.ui.session_integration import SessionController, is_nurse_session

        resume = is_nurse_session(self.pipeline.recorder.path)  # before anything of ours is written
        self.session_controller = SessionController(
            window,
            self.pipeline.recorder,
            self.clock,
            submit_items=self.pipeline.submit,  # manual vitals through alarms, plot and record
            add_listener=self.pipeline.dispatcher.add_listener,
            # the engine's profile at the moment of the start (limits may change during the session)
            prestart_factory=lambda session: lambda: prestart_hook(self.alarms.profile, session)(),
            on_infusion_started=getattr(self.driver, "set_infusion_start", None),
            simulated=simulated,
            new_record=self._new_record,  # a session after a discharge gets its own record
        )
        self.session_controller.session_changed.connect(self._on_session_changed)
        if not simulated:  # the start-up question may have been put off ("Later"): ask again from the menu
            from PySide6.QtGui import QAction

            self.resume_action = QAction("&Resume an unfinished session\u2026", self.session_controller)
            self.resume_action.triggered.connect(lambda: self.offer_resume(tell_if_none=True))
            self.session_controller.menu.addAction(self.resume_action)
        if resume:
            self.session_controller.resume_session(self.pipeline.recorder.path)
        elif simulated:
            patient = getattr(self.driver, "patient", None)
            self.session_controller.start_demo_session(None if patient is None else patient.infusion_start)

    def _on_session_changed(self, session: object) -> None:
        """Keep the alarm engine in step with the session: rise baseline, NIBP-overdue cycle."""
        from kapmonitor.session.session import NurseSession

        if self.alarm_link is not None:
            self.alarm_link.close()
        self.alarm_link = (  # the supervisor also times the infusion-overrun alarm
            SessionAlarmLink(self.alarms, session, self.supervisor) if isinstance(session, NurseSession) else None
        )

    def _session(self) -> object:
        controller = getattr(self, "session_controller", None)
        return None if controller is None else controller.session

    def _infusion_window(self, now: float) -> tuple[float, float] | None:
        """The nurse's infusion as recorded (a pause extends it); None before it starts."""
        session = self._session()
        if session is None:
            return None
        window: tuple[float, float] | None = session.infusion_window(now)  # type: ignore[attr-defined]
        return window

    def _install_alarm_output_action(self, window: object) -> None:
        from PySide6.QtGui import QAction

        action = QAction("Alarm sound &output\u2026", self.qt_app)
        action.triggered.connect(self.choose_alarm_output)
        window.alarms_menu.addAction(action)  # type: ignore[attr-defined]

    def choose_alarm_output(self) -> None:
        """Alarms ▸ Alarm sound output…: save the choice and move the alarm sound there at once."""
        from kapmonitor.alarms.sound_config import restart_sounder, save_alarm_sound_config
        from kapmonitor.ui.alarm_output_dialog import AlarmOutputDialog

        music_ui = getattr(self, "music_ui", None)
        music_device = music_ui.music.player.device if music_ui is not None else None
        dialog = AlarmOutputDialog(self.sound_config, music_device=music_device, parent=self.window)  # type: ignore[arg-type]
        if dialog.exec() != dialog.DialogCode.Accepted:
            return
        self.sound_config = dialog.config()
        self.sound_config_problem = None
        try:
            save_alarm_sound_config(self.sound_config)
        except OSError as exc:
            self.sound_config_problem = f"alarm sound setting not saved ({exc}); it applies until kapmonitor closes"
        if self._sound_on:
            self.sounder = restart_sounder(self.sounder, self.alarms, self.sound_config)

    def _update_output_notice(self, now: float) -> None:
        """Say so on screen while music plays on the alarms' own output: alarms could reach the
        patient's headphones, and the patient's music could cover the alarms."""
        # an alarm switched off for this session (PIN and reason) stays named in the alarm area, first:
        # the notice line is cut with "…" when it is too long for the window
        notices = list(self.alarms.profile.alarms_off())
        if self.sound_config_problem:
            notices.append(self.sound_config_problem)
        music_ui = getattr(self, "music_ui", None)
        if music_ui is not None and music_ui.controller.state.value == "playing":
            music_device = music_ui.music.player.device
            if same_output(music_device, self.sound_config.device):
                name = music_device if music_device is not None else "the system default"
                notices.append(
                    f"Music and alarm sound share one output ({name}): choose the patient's headphones under "
                    "Music output, or set the alarm output in alarm_sound.toml"
                )
        bar = getattr(self.window, "alarm_bar", None)
        if bar is not None:
            text = "  \u2022  ".join(notices)
            if bar.notice_label.text() != text:
                bar.set_notice(text)

    def _music_bands(self, now: float) -> list[Band]:
        """The tracks heard so far, as bands along the bottom of the trend."""
        music_ui = getattr(self, "music_ui", None)
        if music_ui is None:
            return []
        return [Band(start, end, title) for start, end, title, _phase in music_ui.track_bands(now)]

    def _close_guard(self) -> str | None:
        """Why closing now needs confirmation: an infusion running or a patient under observation."""
        from kapmonitor.session.infusion import Phase

        session = self._session()
        if session is None or session.closed:  # type: ignore[attr-defined]
            return None
        phase = session.phase()  # type: ignore[attr-defined]
        if phase is Phase.INFUSION:
            return "The infusion is running."
        if phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE):
            return "The patient is under observation and has not been discharged."
        return None

    def _who(self) -> str | None:
        """Who acts at the bedside: the nurse on duty (Session ▸ Sign in), else "not signed in"."""
        controller = getattr(self, "session_controller", None)
        return None if controller is None else str(controller.who())

    def _new_record(self) -> RecordSink:
        """A new session database for the next session; the pipeline records into it from now on."""
        self.pipeline.start_new_record(new_session_path(self.driver.is_simulated, self.clock.now()))
        self.profile_record.started(self.alarms.profile, self.profile_warning)  # the new record names its profile
        return self.pipeline.recorder

    def _recording_text(self) -> tuple[str, bool]:
        # recording, recording into a recovery file, or not recording (and why): the recorder knows
        return self.pipeline.recorder.status()

    def stop(self) -> None:
        music_ui = getattr(self, "music_ui", None)
        if music_ui is not None:
            music_ui.close()
        self.sounder.stop()
        self.supervisor.stop()
        self.pipeline.stop()

    def exec(self) -> int:
        """Run the event loop; stop everything (flushing the record) however it ends."""
        from PySide6.QtCore import QTimer

        def terminate(*_: object) -> None:  # SIGTERM (shutdown, service manager): end cleanly
            # exit(), not quit(): Qt 6's quit() first asks the windows, and the nurse's window
            # rightly refuses to close during an infusion
            self.qt_app.exit(0)

        def interrupt(*_: object) -> None:  # Ctrl-C in the terminal: like closing the window
            close = getattr(self.window, "close", None)
            if callable(close):
                close()
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
        from PySide6.QtCore import QTimer

        real_deadline = time.monotonic() + after_s / max(self.clock.speed, 1e-9) + 60.0
        result = {"code": 1}

        def save() -> None:
            image = self.window.grab()  # type: ignore[attr-defined]
            png.parent.mkdir(parents=True, exist_ok=True)
            if image.save(str(png)):
                log.info("screenshot saved to %s (%dx%d)", png, image.width(), image.height())
                result["code"] = 0
            else:
                print(f"kapmonitor: error: cannot write screenshot {png}", file=sys.stderr)
                result["code"] = 2
            self.qt_app.exit(0)

        def check() -> None:
            if self.clock.now() - self.session_start >= after_s:
                timer.stop()
                # freeze the picture at the requested moment: the record goes on, the display stops
                self.pipeline.dispatcher.remove_listener(self.pipeline.trends)
                self.pipeline.dispatcher.remove_listener(self.pipeline.alarm_listener)
                self.supervisor.stop()
                frozen = self.session_start + after_s
                self.window.now_fn = lambda: frozen  # type: ignore[attr-defined]
                controller = getattr(self, "session_controller", None)
                if controller is not None:
                    controller.tick()
                    panel = controller.panel
                    if panel is not None:
                        panel.refresh()
                        panel.infusion.refresh()
                        panel.scales.refresh()
                self.window.refresh_trend()  # type: ignore[attr-defined]
                self.window.refresh_fast()  # type: ignore[attr-defined]
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


def load_history(path: Path) -> tuple[list[VitalSample], float | None]:
    """The vitals already in an existing session record, oldest first, and its start time.

    A missing, empty or unreadable file gives nothing: opening it for writing reports the problem.
    """
    return read_history(path)


def run_gui(args: argparse.Namespace, driver: Driver, clock: Clock) -> int:
    """Entry point of `kapmonitor run`."""
    from kapmonitor.recording.database import SessionDatabaseError

    session_path = args.session
    app = MonitorApplication(driver, clock, session_path, args.profile)
    try:
        app.start(sound=not args.screenshot)  # monitoring and alarms first, into a fresh record
    except SessionDatabaseError as exc:
        print(f"kapmonitor: error: {exc}", file=sys.stderr)
        return 2
    if session_path is None and not args.screenshot and not driver.is_simulated and args.replay is None:
        from PySide6.QtCore import QTimer

        # then, without blocking, an unfinished session (crash) is offered for resumption
        QTimer.singleShot(0, app.offer_resume_soon)
    if args.screenshot:
        window = app.window
        window.resize(1280, 800)  # type: ignore[attr-defined]
        return app.take_screenshot(Path(args.screenshot), args.screenshot_after)
    return app.exec()
