"""The duty bar, the title of the nurse's session dock: who is on duty, and the quick sign-in.

Its own module so that the dock (and the Session menu) are built at start-up without importing the
session panel and its dialogs, which come right after the first paint. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QWidget

from kapmonitor.session.model import ValidationError
from kapmonitor.ui.session.common import ERROR, WARN, apply_session_style


class DutyBar(QWidget):
    """Who is on duty, and the quick sign-in: initials + Enter (or "Sign in"), also to take over.

    One row that never changes its height: the "not signed in" prompt and a refused entry are
    shown in the row's own label, so nothing below moves. Alarm actions are never blocked by it:
    with nobody signed in they are recorded as "not signed in". GUI thread only.
    """

    def __init__(
        self,
        current: Callable[[], str | None],
        sign_in: Callable[[str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._current = current
        self._sign_in = sign_in
        apply_session_style(self)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel("")
        self.label.setObjectName("duty")
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.edit = QLineEdit()
        self.edit.setObjectName("duty_initials")
        self.edit.setMaxLength(4)
        self.edit.setPlaceholderText("initials")
        self.edit.setFixedWidth(96)
        self.edit.setAccessibleName("Initials of the nurse on duty")
        self.button = QPushButton("Sign in")
        self.button.setToolTip("Sign in as the nurse on duty (also to take over from a colleague)")
        row.addWidget(self.label, 1)
        row.addWidget(self.edit)
        row.addWidget(self.button)
        self.edit.returnPressed.connect(self.submit)
        self.button.clicked.connect(self.submit)
        self.edit.textEdited.connect(lambda _t: self.refresh())  # a corrected entry clears the message
        self.error = ""
        self._shown: tuple[str, str] | None = None
        self.refresh()

    def submit(self) -> bool:
        """Sign in the initials typed; a refusal is shown in the row and the entry is kept to correct."""
        text = self.edit.text()
        try:
            self._sign_in(text)
        except ValidationError as exc:
            self.error = exc.message
            self._show(f"{exc.message}", f"color: {ERROR}; font-weight: bold;")
            self.edit.setProperty("invalid", "true")
            self._repolish()
            return False
        self.edit.clear()
        self.refresh()
        return True

    def focus_sign_in(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """A double tap on the bar (it is the dock's title) goes to the initials field instead of
        floating the session panel over the vitals; dragging still moves the dock."""
        event.accept()
        self.focus_sign_in()

    def refresh(self) -> None:
        self.error = ""
        if self.edit.property("invalid") == "true":
            self.edit.setProperty("invalid", "false")
            self._repolish()
        who = self._current()
        if who:
            self._show(f"Nurse on duty: {who}", "font-weight: bold;")
        else:
            self._show("Not signed in: your initials \u2192",
                       f"color: #000000; background: {WARN}; font-weight: bold; padding: 2px 6px;")

    @property
    def text(self) -> str:
        return self.label.text()

    def _show(self, text: str, style: str) -> None:
        if self._shown != (text, style):
            self._shown = (text, style)
            self.label.setText(text)
            self.label.setToolTip(text)
            self.label.setStyleSheet(style)

    def _repolish(self) -> None:
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)
