"""Wiring the nurse's session into the main window with a few calls from the application.

`offer_resume()` runs before the pipeline is built (the chosen file becomes the session path);
`SessionController` then owns the NurseSession of the running window: a right-hand dock with
the session panel (or a "New session" button until there is one), a Session menu, the infusion
window and markers on the trend, and the link to the simulator's infusion start.

GUI thread only. The NurseSession itself is thread-safe and is also a dispatcher listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel, QPushButton, QVBoxLayout, QWidget

from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.session.infusion import Phase
from kapmonitor.session.model import SessionSetup, ValidationError, demo_setup
from kapmonitor.session.session import NurseSession, PrestartCheck, SessionError
from kapmonitor.session.settings import SessionSettings, load_session_settings
from kapmonitor.session.storage import find_unfinished_sessions, suggest_course
from kapmonitor.ui.session_common import apply_session_style

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
        window: Any,
        recorder: Any,
        clock: Clock,
        *,
        submit_items: Callable[[Sequence[Item]], None] | None = None,
        add_listener: Callable[[Any], None] | None = None,
        prestart_factory: Callable[[NurseSession], PrestartCheck] | None = None,
        on_infusion_started: Callable[[float], None] | None = None,
        folder: Path | None = None,
        simulated: bool = False,
        settings: SessionSettings | None = None,
    ) -> None:
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
        self.session: NurseSession | None = None
        self.panel: QWidget | None = None
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
        self.dock.setWidget(self.placeholder)
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
        self.menu = bar.addMenu("&Session")
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

    def _update_actions(self) -> None:
        has = self.session is not None
        self.new_action.setEnabled(not has and self.resume_error is None)
        self.vitals_action.setEnabled(has)
        self.discharge_action.setEnabled(has)

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

        if self.session is not None:
            return
        dialog = NewSessionDialog(self.window, folder=self.folder, simulated=self.simulated)
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

    def start_session(self, setup: SessionSetup) -> NurseSession:
        """A new NurseSession on the window's recorder."""
        session = NurseSession(self.recorder, setup, self.clock, **self._kwargs())
        return self._attach(session)

    def start_demo_session(self, autostart_at: float | None = None) -> NurseSession:
        """The simulated monitor's session (marked simulated); optionally started at `autostart_at`."""
        found = suggest_course("DEMO-001", self.folder)
        setup = demo_setup(course_number=found[0] if found else 1)
        session = self.start_session(setup)
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
        from kapmonitor.ui.session_panel import SessionSidePanel

        if self.prestart_factory is not None:
            session.prestart_check = self.prestart_factory(session)
        if self.add_listener is not None:
            self.add_listener(session)
        self.session = session
        self._started_notified = session.infusion.started_at is not None
        if self._started_notified and self.on_infusion_started is not None:
            self.on_infusion_started(session.infusion.started_at)  # type: ignore[arg-type]
        self.panel = SessionSidePanel(session, self.folder)
        self.panel.infusion.request_nibp = getattr(self.window, "request_nibp", None)
        self.panel.set_now_fn(self._display_now)
        self.dock.setWidget(self.panel)
        self.window.infusion_window_fn = session.infusion_window
        self._update_actions()
        self.session_changed.emit(session)
        self.tick()
        return session

    def _display_now(self) -> float:
        now_fn = getattr(self.window, "now_fn", None)
        return float(now_fn()) if callable(now_fn) else self.clock.now()

    # -- periodic -------------------------------------------------------------------------------
    def tick(self) -> None:
        """Markers on the trend, the simulator's infusion start, the demo's automatic start."""
        session = self.session
        if session is None:
            return
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
        plot = getattr(self.window, "trend_plot", None)
        if plot is None or not hasattr(plot, "set_markers"):
            return
        from kapmonitor.ui.trend_plot import Marker

        plot.set_markers([Marker(t, label, MARKER_COLOURS.get(kind, "#c8c8c8")) for t, kind, label in markers])
