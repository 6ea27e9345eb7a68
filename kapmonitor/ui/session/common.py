"""Shared pieces of the nurse's session widgets: style, number fields with messages at the field,
and a bridge that turns NurseSession listener calls (any thread) into a GUI-thread signal.

GUI thread only, except `SessionBridge.notify`, which may be called from any thread.
"""

from __future__ import annotations

import functools
import logging
import math
import time

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.session.session import NurseSession
from kapmonitor.ui import theme
from kapmonitor.ui.elided import elide_words

log = logging.getLogger(__name__)

BACKGROUND = "#111111"
TEXT = "#ffffff"
DIM = "#a0a8b0"
ERROR = "#ff6b6b"
WARN = "#ffd400"
OK = "#4cd964"
ACCENT = "#d77a00"

SESSION_STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QLabel#error {{ color: {ERROR}; font-size: 15px; }}
QLabel#dim {{ color: {DIM}; font-size: 15px; }}
QLabel#prompt {{ color: #000000; background: {WARN}; font-weight: bold; padding: 6px; border-radius: 4px; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QPlainTextEdit {{
    background: #000000; color: {TEXT}; border: 1px solid #4a5560; border-radius: 4px; padding: 5px; }}
QLineEdit[invalid="true"] {{ border: 2px solid {ERROR}; }}
QPushButton {{ background: #222a32; color: {TEXT}; border: 1px solid #4a5560; border-radius: 6px;
              padding: 6px 8px; min-height: 28px; }}
QPushButton:hover {{ background: #2c3640; }}
QPushButton:checked {{ background: {ACCENT}; color: #000000; }}
QPushButton:disabled {{ color: #5d6670; border-color: #2a3138; }}
QPushButton#primary {{ background: #0d5c2e; border-color: #1e8f4c; font-weight: bold; }}
QPushButton#danger {{ background: #6b1010; border-color: #a02020; font-weight: bold; }}
QPushButton#primary:disabled, QPushButton#danger:disabled {{ background: #1a1f24; border-color: #2a3138;
    color: #5d6670; }}
QProgressBar {{ background: #000000; border: 1px solid #4a5560; border-radius: 4px; text-align: center;
               color: {TEXT}; min-height: 26px; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QCheckBox {{ spacing: 10px; }}
QCheckBox::indicator {{ width: 20px; height: 20px; border: 2px solid {DIM}; border-radius: 3px;
                       background: #000000; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QTableWidget, QListWidget {{ background: #000000; gridline-color: #2a3138; }}
QHeaderView::section {{ background: #1a2026; color: {DIM}; border: 0; padding: 4px; }}
QGroupBox {{ border: 1px solid #2a3138; border-radius: 6px; margin-top: 14px; padding-top: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; color: {DIM}; }}
"""


BASE_FONT_PX = 17


def apply_session_style(widget: QWidget) -> None:
    """Dark bedside style and a large base font; `big_font` labels keep their own size."""
    widget.setStyleSheet(SESSION_STYLE.replace("font-size: 15px", f"font-size: {theme.scaled_px(15)}px"))
    font = QFont(widget.font())
    font.setPixelSize(theme.scaled_px(BASE_FONT_PX))  # grows with the screen (4K: as large as the window)
    widget.setFont(font)


def big_font(px: int = 30, bold: bool = True) -> QFont:
    font = QFont()
    font.setPixelSize(theme.scaled_px(px))
    font.setBold(bold)
    return font


def clock_text(t: float) -> str:
    """Local wall-clock time of an epoch time, as the nurse reads it on the wall."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def enter_presses(default: QPushButton | None, *others: QPushButton) -> None:
    """Which button Enter presses in a dialog: `default` (a safe one: Save, Record, Create) or, with
    None, none at all. Qt otherwise makes the first button after the focused field the default,
    so Enter in a form could Cancel it (losing what was typed) or sign or stop something."""
    for button in others:
        button.setAutoDefault(False)
        button.setDefault(False)
    if default is not None:
        default.setAutoDefault(True)
        default.setDefault(True)


class NumberInputError(ValueError):
    """Text that is not a number the field accepts; the message is shown at the field."""


def parse_number(text: str, what: str, allow_empty: bool = False) -> float | None:
    """A decimal number from a field ("," accepted as decimal mark). Raises NumberInputError."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        if allow_empty:
            return None
        raise NumberInputError(f"enter the {what}")
    try:
        value = float(cleaned)
    except ValueError:
        raise NumberInputError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise NumberInputError(f"{text.strip()!r} is not a usable number")
    return value


def parse_clock_time(text: str, reference: float) -> float:
    """'HH:MM' or 'HH:MM:SS' (local time) on the day of `reference`, as epoch seconds.

    Raises NumberInputError with a message for the field.
    """
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts):
        raise NumberInputError(f"{text.strip()!r} is not a time; use HH:MM or HH:MM:SS")
    h, m = int(parts[0]), int(parts[1])
    sec = int(parts[2]) if len(parts) == 3 else 0
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= sec < 60):
        raise NumberInputError(f"{text.strip()!r} is not a time of day")
    day = time.localtime(reference)
    return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, h, m, sec, 0, 0, -1))


UNITS = frozenset({"mg", "mL", "ml", "kg", "g", "h", "min", "s", "%", "mmHg", "bpm", "µg", "mcg", "IU"})


def keep_units_together(text: str) -> str:
    """`text` with no line break inside a number and its unit ("5.25 mL/h", "0.5 mg/kg").

    A space before a unit becomes a no-break space and a "/" inside a unit is bound by word
    joiners, so a narrow label wraps between quantities, never as "5.25 mL/" + "h".
    """
    out: list[str] = []
    words = text.split(" ")
    for i, word in enumerate(words):
        if "/" in word and any(ch.isalpha() for ch in word):
            word = word.replace("/", "\u2060/\u2060")
        out.append(word)
        if i < len(words) - 1:
            nxt = words[i + 1]
            unit_follows = word[-1:].isdigit() and nxt.split("/")[0].rstrip(".,;:)") in UNITS
            out.append("\u00a0" if unit_follows else " ")
    return "".join(out)


class ReservedLabel(QLabel):
    """A word-wrapped message line that keeps room for `lines` lines even while empty or hidden,
    so a message that appears or goes never moves the buttons and fields below it under the
    nurse's finger. The room follows the label's own font (style sheet included)."""

    def __init__(
        self,
        text: str = "",
        lines: int = 1,
        name: str | None = None,
        parent: QWidget | None = None,
        elide: bool = False,
    ) -> None:
        """`elide`: exactly one line, never more; a longer text is shortened at a whole word with "…"
        (ui/elided.py) and shows whole on hover."""
        super().__init__("", parent)
        self.lines = 1 if elide else lines
        self.elide = elide
        self._full = ""
        # an invisible twin with the same name (so the same style) and `lines` lines of text: its
        # height is the room to keep, whatever font and padding the style sheet gives
        self._probe = QLabel("\n".join(["Ag"] * lines), self)
        self._probe.setWordWrap(True)
        self._probe.hide()
        if name:
            self.setObjectName(name)
            self._probe.setObjectName(name)
        self.setWordWrap(not elide)
        self._probe.setWordWrap(not elide)
        for label in (self, self._probe):  # the alignment changes Qt's height for the text
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        if elide:
            policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.setSizePolicy(policy)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text if self.elide else self.toolTip())
        self._show()

    def text(self) -> str:  # the whole text, also when it is elided on screen
        return self._full

    def _show(self) -> None:
        if not self.elide:
            super().setText(self._full)
            return
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        width = max(10, self.width() - margins.left() - margins.right() - 2)
        super().setText(elide_words(self._full, metrics.horizontalAdvance, width))  # whole words, as ElidedLabel

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.elide:
            self._show()

    def reserved_height(self, width: int | None = None) -> int:
        """The room for `lines` lines at `width` (the label's own width when None)."""
        self._probe.ensurePolished()
        w = self.width() if width is None else width
        return int(self._probe.heightForWidth(max(w, 40)))

    def hasHeightForWidth(self) -> bool:
        return not self.elide

    def heightForWidth(self, width: int) -> int:
        if self.elide:
            return self.reserved_height(width)
        return max(super().heightForWidth(width), self.reserved_height(width))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.elide:
            return QSize(hint.width(), self.reserved_height())
        return QSize(hint.width(), max(hint.height(), self.reserved_height()))

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self.elide:
            return QSize(0, self.reserved_height())
        return QSize(hint.width(), max(hint.height(), self.reserved_height()))


class FieldBox(QWidget):
    """A labelled input with its message line underneath (empty when the value is fine).

    The message line has its room reserved (`message_lines`, default one line): a message that
    appears or is cleared does not move anything; only a message longer than that grows the box.
    """

    def __init__(
        self, label: str, editor: QWidget, hint: str = "", parent: QWidget | None = None, message_lines: int = 1
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.label = QLabel(label)
        layout.addWidget(self.label)
        if not label:
            self.label.setVisible(False)
        layout.addWidget(editor)
        self.error = ReservedLabel("", message_lines, "error")
        layout.addWidget(self.error)
        if hint:
            h = QLabel(hint)
            h.setObjectName("dim")
            h.setWordWrap(True)
            layout.addWidget(h)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setToolTip(message or "")
        if isinstance(self.editor, QLineEdit):
            self.editor.setProperty("invalid", "true" if message else "false")
            self.editor.style().unpolish(self.editor)
            self.editor.style().polish(self.editor)

    @property
    def message(self) -> str:
        return self.error.text()


class SessionBridge(QObject):
    """Re-emits NurseSession changes as `changed` in the GUI thread (queued when needed)."""

    changed = Signal()

    def __init__(self, session: NurseSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.add_listener(self.notify)
        # stop listening when the owning widget goes away (the session outlives its panels)
        self.destroyed.connect(functools.partial(session.remove_listener, self.notify))

    def notify(self) -> None:
        try:
            self.changed.emit()
        except RuntimeError:  # the bridge's C++ object is gone (window closed)
            log.debug("session change after the bridge was deleted")

    def detach(self) -> None:
        self.session.remove_listener(self.notify)


def make_label(text: str, name: str | None = None, align: Qt.AlignmentFlag | None = None) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    if align is not None:
        label.setAlignment(align)
    return label
