"""Wiring the nurse's session into the main window with a few calls from the application.

`offer_resume()` asks modally which unfinished session to resume (the running app asks without
blocking, after monitoring has started: MonitorApplication.offer_resume);
`SessionController` then binds the window to the bedside's `SessionKeeper` (kapmonitor/session/
keeper.py, Qt-free), which creates, resumes and replaces the NurseSession: a right-hand dock with
the nurse-on-duty bar and the session panel (or a "New session" button until there is one), a
Session menu and the markers on the trend. Every alarm acknowledgement and session action is
credited to the nurse on duty (`who()`).

GUI thread only. The NurseSession itself is thread-safe and is also a dispatcher listener.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kapmonitor.session.keeper import NewRecordError, SessionKeeper
from kapmonitor.session.model import SessionSetup
from kapmonitor.session.session import NurseSession
from kapmonitor.session.settings import SessionSettings
from kapmonitor.session.storage import find_unfinished_sessions
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.session.common import apply_session_style
from kapmonitor.ui.session.duty_bar import DutyBar
from kapmonitor.ui.vitals.trend_plot import Marker

if TYPE_CHECKING:
    from kapmonitor.ui.session.panel import SessionSidePanel

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
    from kapmonitor.ui.session.resume import ResumeOfferDialog

    found = find_unfinished_sessions(folder, include_simulated=include_simulated)
    if not found:
        return None
    dialog = ResumeOfferDialog(found, parent)
    dialog.exec()
    return dialog.chosen


class SessionController(QObject):
    """Binds the session dock and menu to the bedside's `SessionKeeper` (which creates, resumes and
    replaces the NurseSession); the keeper's `changed` tells it when to show another one."""

    def __init__(self, window: MainWindow, keeper: SessionKeeper, hold_panel: bool = False) -> None:
        """`hold_panel`: the session's panel (the costliest widget of start-up) is built when
        `release_panel` is called, after the window's first paint; the dock, its duty bar and the
        Session menu are there at once, and a later session change builds its panel at once."""
        super().__init__(window)
        self._hold_panel = hold_panel
        self.window = window
        self.keeper = keeper
        self.panel: SessionSidePanel | None = None
        self.dialog: QWidget | None = None
        self._markers_shown: list[tuple[float, str, str]] | None = None
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
        keeper.changed.add(self._show_session)
        if keeper.session is not None:
            self._show_session(keeper.session)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @property
    def session(self) -> NurseSession | None:
        return self.keeper.session

    @property
    def settings(self) -> SessionSettings:
        return self.keeper.settings

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
        self.vitals_action.triggered.connect(self.open_manual_vitals)
        self.discharge_action = QAction("&Discharge / addendum…", self)
        self.discharge_action.triggered.connect(self.open_discharge)
        self.course_action = QAction("&Course and outcomes…", self)
        self.course_action.triggered.connect(self.open_course)
        for action in (self.new_action, self.vitals_action, self.discharge_action, self.course_action):
            self.menu.addAction(action)
        self._update_actions()

    def can_start_new_session(self) -> bool:
        """No session yet, or the last one discharged, or a simulated one (each in its own record)."""
        return self.keeper.can_start_new_session()

    def _update_actions(self) -> None:
        session = self.session
        self.new_action.setEnabled(self.can_start_new_session())
        self.new_button.setEnabled(self.keeper.resume_error is None)
        self.vitals_action.setEnabled(session is not None and not session.closed)
        self.discharge_action.setEnabled(session is not None)

    # -- the nurse on duty ------------------------------------------------------------------------
    def on_duty(self) -> str | None:
        """Initials of the nurse on duty, None when nobody is signed in."""
        return self.keeper.on_duty()

    def who(self) -> str:
        """Whom an action at the bedside is credited to (alarm acknowledgement, audio pause ...)."""
        return self.keeper.who()

    def sign_in(self, initials: str) -> str:
        """Sign in (or take over as) the nurse on duty. Raises ValidationError for bad initials."""
        done = self.keeper.sign_in(initials)
        self.duty_bar.refresh()
        return done

    def focus_sign_in(self) -> None:
        """Session ▸ Sign in: the initials field of the duty bar, in the panel (no popup)."""
        self.dock.show()
        self.dock.raise_()
        self.duty_bar.focus_sign_in()

    def open_manual_vitals(self) -> None:
        """Session ▸ Manual vitals…: the panel's dialog (nothing without a session)."""
        if self.panel is not None:
            self.panel.open_manual_vitals()

    def open_discharge(self) -> None:
        """Session ▸ Discharge / addendum…: the panel's dialog (nothing without a session)."""
        if self.panel is not None:
            self.panel.open_discharge()

    def open_course(self) -> None:
        from kapmonitor.ui.course.view import CourseView

        pseudonym = self.session.setup.pseudonym if self.session is not None else ""
        dialog = CourseView(pseudonym, self.keeper.folder, self.window)
        self.dialog = dialog
        dialog.open()

    # -- creating a session ----------------------------------------------------------------------
    def open_new_session(self) -> None:
        from kapmonitor.ui.session.setup import NewSessionDialog

        if not self.can_start_new_session():
            return
        dialog = NewSessionDialog(self.window, folder=self.keeper.folder, simulated=self.keeper.simulated)
        if self.on_duty():
            dialog.nurse.setText(self.on_duty() or "")
        dialog.accepted.connect(lambda: self._created(dialog.result_setup))
        self.dialog = dialog
        dialog.open()

    def _created(self, setup: SessionSetup | None) -> None:
        if setup is not None:
            self.start_session(setup)

    def start_session(self, setup: SessionSetup, on_duty: str | None = None) -> NurseSession | None:
        """The set-up form's new session (`SessionKeeper.create_session`); None, with the reason in
        the dock, when its new record cannot be opened."""
        try:
            return self.keeper.create_session(setup, on_duty)
        except NewRecordError as exc:
            self._report(str(exc))
            return None

    def _report(self, message: str) -> None:
        self.status_label.setText(message)
        panel = self.panel
        if panel is not None:
            panel.events.status.setText(message)

    # -- showing the keeper's session ---------------------------------------------------------------
    def release_panel(self) -> None:
        """Build the held session panel now (see `hold_panel`); later changes are shown at once."""
        if self._hold_panel:
            self._hold_panel = False
            if self.keeper.session is not None and self.panel is None:
                self._show_session(self.keeper.session)

    def _show_session(self, session: NurseSession | None) -> None:
        """The keeper has another session (None: set aside, or its record cannot be resumed)."""
        if self._hold_panel and session is not None and self.panel is None:
            self.status_label.setText("Opening the session\u2026")  # its panel comes right after the first paint
            self.duty_bar.refresh()
            self._update_actions()
            return
        self._hold_panel = False
        previous = self.panel
        self._markers_shown = None
        if session is not None:
            from kapmonitor.ui.session.panel import SessionSidePanel  # not needed for the first paint

            self.panel = SessionSidePanel(session, self.keeper.folder)
            self.panel.infusion.request_nibp = self.window.request_nibp
            self.panel.set_now_fn(self._display_now)
            self.stack.addWidget(self.panel)
            self.stack.setCurrentWidget(self.panel)
        else:
            self.panel = None
            self.stack.setCurrentWidget(self.placeholder)
            if self.keeper.resume_error is not None:
                # no new session on that record, so two sessions never mix in one file
                self.status_label.setText(f"This record cannot be resumed: {self.keeper.resume_error}\n"
                                          "Restart kapmonitor to begin a new session in a new record.")
                self.status_label.setObjectName("error")
            else:
                self.status_label.setText("Monitor changed: a new session record. Start the session with New session…")
            self._show_markers([])
        if previous is not None:  # the discharged (or set-aside) session's panel goes; its record is closed
            self.stack.removeWidget(previous)
            previous.deleteLater()
        self.duty_bar.refresh()
        self._update_actions()
        if session is not None:
            self.tick()

    def _display_now(self) -> float:
        return self.window.now_fn()  # the window's clock (frozen for a screenshot)

    # -- periodic -------------------------------------------------------------------------------
    def tick(self) -> None:
        """The keeper's second (the demo's automatic start, the simulator's infusion start), then
        the duty bar, the menu and the markers on the trend."""
        self.duty_bar.refresh()
        self.keeper.tick()
        session = self.session
        if session is None:
            return
        if self.new_action.isEnabled() != self.can_start_new_session():
            self._update_actions()  # e.g. enabled once the session is discharged
        markers = session.markers(self._display_now())
        if markers != self._markers_shown:
            self._markers_shown = markers
            self._show_markers(markers)

    def _show_markers(self, markers: list[tuple[float, str, str]]) -> None:
        colour = MARKER_COLOURS.get
        self.window.trend_plot.set_markers([Marker(t, label, colour(kind, "#c8c8c8")) for t, kind, label in markers])
