"""The nurse's session side panel: infusion clock and controls on top, events and scales in tabs,
and buttons for manual vitals, discharge (then addenda) and the course view. The duty bar above it,
where the nurse on duty signs in with her initials (or a colleague takes over), is ui/session/duty_bar.py.

Build it with a NurseSession and put it in the main window's side dock. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.infusion import Phase
from kapmonitor.session.session import NurseSession
from kapmonitor.ui.session.common import SessionBridge, apply_session_style
from kapmonitor.ui.session.discharge import AddendumDialog, DischargeDialog
from kapmonitor.ui.session.events import EventsPanel
from kapmonitor.ui.session.infusion import InfusionPanel
from kapmonitor.ui.session.scales import ScalesPanel
from kapmonitor.ui.session.vitals import ManualVitalsDialog

log = logging.getLogger(__name__)


class SessionSidePanel(QWidget):
    def __init__(self, session: NurseSession, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.folder = folder
        apply_session_style(self)
        self.setMinimumWidth(400)
        self.bridge = SessionBridge(session, self)
        self.bridge.changed.connect(self.refresh)
        self.dialog: QDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.infusion = InfusionPanel(session)
        layout.addWidget(self.infusion)
        self.tabs = QTabWidget()
        self.events = EventsPanel(session)
        self.scales = ScalesPanel(session)
        for widget, title in ((self.events, "Events"), (self.scales, "Scales")):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(widget)
            page = QWidget()
            pl = QVBoxLayout(page)
            pl.setContentsMargins(0, 0, 0, 0)
            if widget is self.events:  # what was just recorded stays in sight, above the scrolling part
                pl.addWidget(self.events.status)
            pl.addWidget(scroll, 1)
            self.tabs.addTab(page, title)
        layout.addWidget(self.tabs, 1)
        row = QHBoxLayout()
        self.vitals_button = QPushButton("Manual vitals…")
        self.discharge_button = QPushButton("Discharge…")
        self.course_button = QPushButton("Course…")
        self.vitals_button.clicked.connect(self.open_manual_vitals)
        self.discharge_button.clicked.connect(self.open_discharge)
        self.course_button.clicked.connect(self.open_course)
        for b in (self.vitals_button, self.discharge_button, self.course_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.refresh()

    def set_now_fn(self, now_fn: Callable[[], float]) -> None:
        """Display time for the panels (recording always uses the session's clock)."""
        self.infusion.now_fn = now_fn
        self.scales.now_fn = now_fn

    def _show(self, dialog: QDialog) -> QDialog:
        dialog.finished.connect(lambda _r: self._closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        self.refresh()

    def open_manual_vitals(self) -> QDialog:
        return self._show(ManualVitalsDialog(self.session, self))

    def open_discharge(self) -> QDialog:
        if self.session.closed:
            return self._show(AddendumDialog(self.session, self))
        return self._show(DischargeDialog(self.session, self))

    def open_course(self) -> QDialog:
        # imported on first use: the course view pulls in the course report and export modules (~60 ms
        # of imports that would otherwise delay the nurse's window at start-up)
        from kapmonitor.ui.course.view import CourseView

        return self._show(CourseView(self.session.setup.pseudonym, self.folder, self))

    def refresh(self) -> None:
        closed = self.session.closed
        self.vitals_button.setEnabled(not closed)
        phase = self.session.phase()
        self.discharge_button.setText("Addendum…" if closed else "Discharge…")
        self.discharge_button.setEnabled(closed or phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE))
