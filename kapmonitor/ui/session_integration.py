"""Wiring the nurse's session into the main window with a few calls from the application.

`offer_resume()` asks modally which unfinished session to resume (the running app asks without
blocking, after monitoring has started: MonitorApplication.offer_resume);
`SessionController` then owns the NurseSession of the running window: a right-hand dock with
the nurse-on-duty bar and the session panel (or a "New session" button until there is one), a
Session menu, the infusion window and markers on the trend, and the link to the simulator's
infusion start. It knows who is on duty (`who()`): every alarm acknowledgement and session
action is credited to that nurse. A new session after a discharge (or on the simulator) goes
into a new record (`new_record`), never into the record of the session before.

GUI thread only. The NurseSession itself is thread-safe and is also a dispatcher listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.session.infusion import Phase
from kapmonitor.session.model import SessionSetup, ValidationError, check_initials, demo_setup
from kapmonitor.session.session import NOT_SIGNED_IN, NurseSession, PrestartCheck, RecordSink, SessionError
from kapmonitor.session.settings import SessionSettings, load_session_settings
from kapmonitor.session.storage import find_unfinished_sessions, suggest_course
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.session_common import apply_session_style
from kapmonitor.ui.session_panel import DutyBar, SessionSidePanel
from kapmonitor.ui.trend_plot import Marker

log = logging.getLogger(__name__)

MARKER_COLOURS = {
    "phase": "#ffb347",
    "pause": "#ffd400",
    "resume": "#4cd964",
    "side_effect": "#ff6b6b",
    "intervention": "#38c8ff",
    "note": "#c8c8c8",
    "addendum": "#c8c8c8",
    "scale": "#b39ddb",
    "recovered": "#ff8c00",
}


def offer_resume(
    folder: Path | None = None, parent: QWidget | None = None, include_simulated: bool = False
) -> Path | None:
    """If unfinished sessions exist, ask (modal) whether to resume one; its path, or None."""
    from kapmonitor.ui.session_resume import ResumeOfferDialog

    found = find_unfinished_sessions(folder, include_simulated=include_simulated)
    if not found:
        return None
    dialog = ResumeOfferDialog(found, parent)
    dialog.exec()
    return dialog.chosen


def is_nurse_session(path: Path) -> bool:
    """True when `path` already holds a nurse's session (then resume it rather than start anew)."""
    from kapmonitor.recording.database import SessionDatabaseError
    from kapmonitor.session.storage import summarize

    try:
        summarize(path)
    except SessionDatabaseError:
        return False
    return True


class SessionController(QObject):
    """Owns the window's NurseSession. `session_changed(session)` fires when one is created or resumed."""

    session_changed = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        recorder: RecordSink,
        clock: Clock,
        *,
        submit_items: Callable[[Sequence[Item]], None] | None = None,
        add_listener: Callable[[Any], None] | None = None,
        prestart_factory: Callable[[NurseSession], PrestartCheck] | None = None,
        on_infusion_started: Callable[[float], None] | None = None,
        folder: Path | None = None,
        simulated: bool = False,
        settings: SessionSettings | None = None,
        new_record: Callable[[], RecordSink] | None = None,
    ) -> None:
        """`new_record()` opens a new session database and returns the sink that now writes into it
        (the pipeline records there from then on); without it a second session cannot be started."""
        super().__init__(window)
        if settings is None:
            settings, warning = load_session_settings()
            if warning:
                log.warning("%s", warning)
        self.settings = settings
        self.window = window
        self.recorder = recorder
        self.clock = clock
        self.submit_items = submit_items
        self.add_listener = add_listener
        self.prestart_factory = prestart_factory
        self.on_infusion_started = on_infusion_started
        self.folder = folder
        self.simulated = simulated
        self.new_record = new_record
        self.session: NurseSession | None = None
        self._on_duty: str | None = None  # before the first session; then the session keeps it
        self.panel: SessionSidePanel | None = None
        self.dialog: QWidget | None = None
        self._markers_shown: list[tuple[float, str, str]] | None = None
        self._started_notified = False
        self._autostart_at: float | None = None
        self.dock = QDockWidget("Session", window)
        self.dock.setObjectName("session_dock")
        # movable and floatable (a second screen), never closable: the record must stay in reach
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.placeholder = QWidget()
        apply_session_style(self.placeholder)
        pl = QVBoxLayout(self.placeholder)
        self.status_label = QLabel("No session yet.")
        self.status_label.setWordWrap(True)
        pl.addWidget(self.status_label)
        self.resume_error: str | None = None
        self.new_button = QPushButton("New session…")
        self.new_button.setObjectName("primary")
        self.new_button.clicked.connect(self.open_new_session)
        pl.addWidget(self.new_button)
        pl.addStretch(1)
        # the duty bar is the dock's title bar: always in sight across sessions, and no extra row
        # taken from the panel (dragging it still moves or floats the dock)
        self.duty_bar = DutyBar(self.on_duty, self.sign_in)
        self.dock.setTitleBarWidget(self.duty_bar)
        self.stack = QStackedWidget()
        apply_session_style(self.stack)  # one background behind the panel and its labels
        self.stack.addWidget(self.placeholder)
        self.body = self.stack
        self.dock.setWidget(self.body)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # as narrow as the panel allows: the trend and the numerics keep the width
        self.dock.setMinimumWidth(470)
        self._build_menu()
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # -- menu --------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        self.menu = QMenu("&Session", bar)
        bar.insertMenu(self.window.help_menu.menuAction(), self.menu)  # Help stays last, as in every program
        self.sign_in_action = QAction("&Sign in / change nurse on duty…", self)
        self.sign_in_action.setShortcut(QKeySequence("Ctrl+I"))
        self.sign_in_action.triggered.connect(self.focus_sign_in)
        self.menu.addAction(self.sign_in_action)
        self.menu.addSeparator()
        self.new_action = QAction("&New session…", self)
        self.new_action.triggered.connect(self.open_new_session)
        self.vitals_action = QAction("&Manual vitals…", self)
        self.vitals_action.triggered.connect(lambda: self._panel_call("open_manual_vitals"))
        self.discharge_action = QAction("&Discharge / addendum…", self)
        self.discharge_action.triggered.connect(lambda: self._panel_call("open_discharge"))
        self.course_action = QAction("&Course of sessions…", self)
        self.course_action.triggered.connect(self.open_course)
        for action in (self.new_action, self.vitals_action, self.discharge_action, self.course_action):
            self.menu.addAction(action)
        self._update_actions()

    def can_start_new_session(self) -> bool:
        """No session yet, or the last one discharged, or a simulated one (each in its own record)."""
        if self.resume_error is not None:
            return False
        session = self.session
        if session is None:
            return True
        return (session.closed or session.simulated) and self.new_record is not None

    def _update_actions(self) -> None:
        has = self.session is not None
        self.new_action.setEnabled(self.can_start_new_session())
        self.vitals_action.setEnabled(self.session is not None and not self.session.closed)
        self.discharge_action.setEnabled(has)

    # -- the nurse on duty ------------------------------------------------------------------------
    def on_duty(self) -> str | None:
        """Initials of the nurse on duty, None when nobody is signed in."""
        return self.session.on_duty if self.session is not None else self._on_duty

    def who(self) -> str:
        """Whom an action at the bedside is credited to (alarm acknowledgement, audio pause ...)."""
        return self.on_duty() or NOT_SIGNED_IN

    def sign_in(self, initials: str) -> str:
        """Sign in (or take over as) the nurse on duty. Raises ValidationError for bad initials."""
        if self.session is not None:
            done = self.session.sign_in(initials)  # audited in the session's record
        else:
            done = check_initials(initials)
            log.info("nurse on duty: %s (no session yet)", done)
        self._on_duty = done
        self.duty_bar.refresh()
        return done

    def focus_sign_in(self) -> None:
        """Session ▸ Sign in: the initials field of the duty bar, in the panel (no popup)."""
        self.dock.show()
        self.dock.raise_()
        self.duty_bar.focus_sign_in()

    def _panel_call(self, name: str) -> None:
        if self.panel is not None:
            getattr(self.panel, name)()

    def open_course(self) -> None:
        from kapmonitor.ui.session_course import CourseView

        pseudonym = self.session.setup.pseudonym if self.session is not None else ""
        dialog = CourseView(pseudonym, self.folder, self.window)
        self.dialog = dialog
        dialog.open()

    # -- creating a session ----------------------------------------------------------------------
    def open_new_session(self) -> None:
        from kapmonitor.ui.session_setup import NewSessionDialog

        if not self.can_start_new_session():
            return
        dialog = NewSessionDialog(self.window, folder=self.folder, simulated=self.simulated)
        if self.on_duty():
            dialog.nurse.setText(self.on_duty() or "")
        dialog.accepted.connect(lambda: self._created(dialog.result_setup))
        self.dialog = dialog
        dialog.open()

    def _created(self, setup: SessionSetup | None) -> None:
        if setup is not None:
            self.start_session(setup)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "submit_items": self.submit_items,
            "nibp_schedule": self.settings.nibp,
            "discharge_items": self.settings.discharge_items,
        }

    def start_session(self, setup: SessionSetup, on_duty: str | None = None) -> NurseSession | None:
        """A new NurseSession, signed in by `on_duty`, else the nurse on duty, else the set-up nurse
        (she typed her initials into the set-up form). A session after another one is recorded in
        a new record (`new_record`); None, with the reason in the dock, when that cannot be opened.
        """
        if self.session is not None:
            if self.new_record is None:
                self._report("A new session needs a new record: restart kapmonitor.")
                return None
            try:
                self.recorder = self.new_record()
            except (SessionDatabaseError, OSError, ValueError) as exc:
                log.error("cannot open a new session record: %s", exc)
                self._report(f"The new session was not started: its record cannot be opened ({exc}).")
                return None
        who = on_duty or self.on_duty() or setup.nurse_initials
        session = NurseSession(self.recorder, setup, self.clock, on_duty=who, **self._kwargs())
        return self._attach(session)

    def _report(self, message: str) -> None:
        self.status_label.setText(message)
        panel = self.panel
        if panel is not None:
            panel.events.status.setText(message)

    def start_demo_session(self, autostart_at: float | None = None) -> NurseSession:
        """The simulated monitor's session (marked simulated); optionally started at `autostart_at`."""
        found = suggest_course("DEMO-001", self.folder)
        setup = demo_setup(course_number=found[0] if found else 1)
        # the demo's made-up set-up nurse is never signed in: the real nurse signs in herself
        session = NurseSession(self.recorder, setup, self.clock, on_duty=self.on_duty(), **self._kwargs())
        self._attach(session)
        self._autostart_at = autostart_at
        return session

    def resume_session(self, path: Path) -> NurseSession | None:
        """Resume the session recorded in `path` (the window's recorder writes to it).

        A record that cannot be resumed is reported in the dock; no new session is then started
        on it, so two sessions never mix in one file.
        """
        try:
            session = NurseSession.resume(path, self.clock, recorder=self.recorder, **self._kwargs())
        except (SessionDatabaseError, ValidationError, OSError) as exc:
            log.error("cannot resume %s: %s", path, exc)
            self.status_label.setText(
                f"This record cannot be resumed: {exc}\nRestart kapmonitor to begin a new session in a new record."
            )
            self.status_label.setObjectName("error")
            self.new_button.setEnabled(False)
            self.new_action.setEnabled(False)
            self.resume_error = str(exc)
            return None
        return self._attach(session)

    def _attach(self, session: NurseSession) -> NurseSession:
        if self.prestart_factory is not None:
            session.prestart_check = self.prestart_factory(session)
        if self.add_listener is not None:
            self.add_listener(session)
        previous = self.panel
        self.session = session
        self._on_duty = session.on_duty
        self._markers_shown = None
        self._autostart_at = None
        started_at = session.infusion.started_at
        self._started_notified = started_at is not None
        if started_at is not None and self.on_infusion_started is not None:
            self.on_infusion_started(started_at)
        self.panel = SessionSidePanel(session, self.folder)
        self.panel.infusion.request_nibp = self.window.request_nibp
        self.panel.set_now_fn(self._display_now)
        self.stack.addWidget(self.panel)
        self.stack.setCurrentWidget(self.panel)
        if previous is not None:  # the discharged session's panel goes; its record is closed
            self.stack.removeWidget(previous)
            previous.deleteLater()
        self.duty_bar.refresh()
        self.window.infusion_window_fn = session.infusion_window
        self._update_actions()
        self.session_changed.emit(session)
        self.tick()
        return session

    def set_aside_session(self, remove_listener: Callable[[Any], None], simulated: bool) -> None:
        """The monitor changed between the simulator and a real one and the pipeline writes a new
        record: the session of the old record is set aside (it stays in its record, unfinished
        or closed, and is never written into the new one) and the dock offers a new session."""
        session = self.session
        if session is not None:
            remove_listener(session)
        self.session = None
        self.simulated = simulated
        self._autostart_at = None
        self._markers_shown = None
        self._started_notified = False
        previous = self.panel
        self.panel = None
        self.stack.setCurrentWidget(self.placeholder)
        if previous is not None:
            self.stack.removeWidget(previous)
            previous.deleteLater()
        self.status_label.setText("Monitor changed: a new session record. Start the session with New session…")
        self.window.infusion_window_fn = lambda _now: None  # no infusion shown from the old record
        self._show_markers([])
        self._update_actions()
        self.session_changed.emit(None)

    def _display_now(self) -> float:
        return self.window.now_fn()  # the window's clock (frozen for a screenshot)

    # -- periodic -------------------------------------------------------------------------------
    def tick(self) -> None:
        """Markers on the trend, the simulator's infusion start, the demo's automatic start."""
        self.duty_bar.refresh()
        session = self.session
        if session is None:
            return
        if self.new_action.isEnabled() != self.can_start_new_session():
            self._update_actions()  # e.g. enabled once the session is discharged
        now = self.clock.now()
        shown = self._display_now()
        if (
            self._autostart_at is not None
            and now >= self._autostart_at
            and session.phase(now) is Phase.BASELINE
            and not session.closed
        ):
            try:
                # the demo never stalls on the pre-start check; a failed check is still recorded
                session.start_infusion(
                    t=self._autostart_at, who="SIM", override_reason="simulated demo: automatic start"
                )
            except SessionError as exc:
                log.warning("demo session could not start the infusion: %s", exc)
            self._autostart_at = None
        started = session.infusion.started_at
        if started is not None and not self._started_notified:
            self._started_notified = True
            if self.on_infusion_started is not None:
                self.on_infusion_started(started)
        markers = session.markers(shown)
        if markers != self._markers_shown:
            self._markers_shown = markers
            self._show_markers(markers)

    def _show_markers(self, markers: list[tuple[float, str, str]]) -> None:
        colour = MARKER_COLOURS.get
        self.window.trend_plot.set_markers([Marker(t, label, colour(kind, "#c8c8c8")) for t, kind, label in markers])
