"""The alarm bar at the top of the nurse's screen, and the bridge from the engine to the GUI.

The bar lists the active alarms by priority with `***`/`**`/`*` markers (colour is never the
only cue), message, value, limit and age. High-priority rows flash red at 2 Hz, medium yellow
at 0.625 Hz, low cyan is steady; an acknowledged alarm stops flashing. Acknowledge (F2) and
Audio pause (F3) are one click or one key away; a running pause shows its countdown.

The main window's redraw timer calls `update_from(...)`; the bar only touches a label when its
text or colour changed, so a redraw at 25 Hz costs next to nothing. GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.alarms.model import ActiveAlarm, AlarmEvent, AlarmKind
from kapmonitor.alarms.presentation import colours, flash_on, format_age, format_countdown
from kapmonitor.model.parameters import PARAMETER_INFO

MAX_ROWS = 4
ACK_KEY = "F2"
PAUSE_KEY = "F3"


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(px)
    font.setBold(bold)
    return font


def alarm_text(a: ActiveAlarm, now: float) -> str:
    """One line of the bar: marker, value, limit and state first (they must survive a narrow
    screen), then the message and the age."""
    parts = [a.priority.marker.ljust(3)]
    info = PARAMETER_INFO[a.parameter] if a.parameter is not None else None
    unit = info.display_unit if info is not None else ""
    if a.value is not None:
        label = f"{info.label} " if info is not None else ""
        parts.append(f"{label}{a.value:g} {unit}".rstrip())
    if a.limit is not None and a.kind is AlarmKind.PHYSIOLOGICAL:
        parts.append(f"(limit {a.limit:g})")
    state = []
    if a.escalated and not a.acknowledged:
        state.append("ESCALATED")
    if a.latched:
        state.append("ended, acknowledge")
    elif a.acknowledged:
        state.append("acknowledged")
    if a.audio_paused:
        state.append("audio paused")
    if state:
        parts.append(f"[{', '.join(state)}]")
    if len(parts) > 1:
        parts.append("\u2014")
    parts.append(a.message)
    parts.append(f"\u00b7 {format_age(now - a.raised_at)}")
    return " ".join(parts)


class AlarmBridge(QObject):
    """Carries engine events (any thread) into the GUI thread as a queued signal.

    `engine.add_listener(bridge.listener)`; connect `event_received` to the history panel.
    """

    event_received = Signal(object)

    def listener(self, ev: AlarmEvent) -> None:
        self.event_received.emit(ev)


class _Row(QLabel):
    def __init__(self) -> None:
        super().__init__("")
        self.setFont(_font(22, bold=True))
        self.setMinimumHeight(38)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._style = ""

    def show_style(self, bg: str, fg: str, border: str) -> None:
        style = (f"QLabel {{ background: {bg}; color: {fg}; border: 2px solid {border}; "
                 "border-radius: 4px; padding: 2px 8px; }")
        if style != self._style:
            self._style = style
            self.setStyleSheet(style)

    def show_text(self, text: str) -> None:
        if text != self.text():
            self.setText(text)
            self.setToolTip(text)


class AlarmBar(QFrame):
    """Alarm list with Acknowledge and Audio pause. Emits the requests; the owner calls the engine."""

    acknowledge_requested = Signal()
    pause_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBar")
        self.setStyleSheet("QFrame#alarmBar { background: #111111; }")
        self._rows = [_Row() for _ in range(MAX_ROWS)]
        rows = QVBoxLayout()
        rows.setSpacing(2)
        rows.setContentsMargins(0, 0, 0, 0)
        for r in self._rows:
            rows.addWidget(r)
            r.hide()
        self.idle_label = QLabel("No active alarms")
        self.idle_label.setFont(_font(20))
        self.idle_label.setStyleSheet("color: #9aa4ad; padding: 2px 8px;")
        rows.addWidget(self.idle_label)
        self.more_label = QLabel("")
        self.more_label.setFont(_font(16, bold=True))
        self.more_label.setStyleSheet("color: #ffffff; padding: 0 8px;")
        self.more_label.hide()
        rows.addWidget(self.more_label)
        self.notice_label = QLabel("")
        self.notice_label.setFont(_font(16, bold=True))
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #ffd400; padding: 0 8px;")
        self.notice_label.hide()
        rows.addWidget(self.notice_label)

        self.ack_button = QPushButton(f"Acknowledge ({ACK_KEY})")
        self.pause_button = QPushButton(f"Audio pause ({PAUSE_KEY})")
        for b in (self.ack_button, self.pause_button):
            b.setFont(_font(18, bold=True))
            b.setMinimumHeight(44)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.ack_button.clicked.connect(self.acknowledge_requested)
        self.pause_button.clicked.connect(self.pause_requested)
        self.paused_label = QLabel("")
        self.paused_label.setFont(_font(18, bold=True))
        self.paused_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.paused_label.setStyleSheet(
            "QLabel { color: #000000; background: #ffd400; border-radius: 4px; padding: 2px 8px; }")
        self.paused_label.hide()
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.paused_label)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(8)
        layout.addLayout(rows, 1)
        layout.addLayout(buttons)

        # keys of the nurse's window only: pressed in the therapist's window they must do nothing
        self._ack_shortcut = QShortcut(QKeySequence(ACK_KEY), self)
        self._ack_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self._ack_shortcut.activated.connect(self.acknowledge_requested)
        self._pause_shortcut = QShortcut(QKeySequence(PAUSE_KEY), self)
        self._pause_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self._pause_shortcut.activated.connect(self.pause_requested)
        self.shown_alarms: list[ActiveAlarm] = []

    def set_notice(self, text: str) -> None:
        """A permanent line under the alarms (e.g. running on the built-in default profile)."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    def update_from(
        self,
        active_alarms: Sequence[ActiveAlarm],
        audio_paused_until: float | None,
        now: float,
        monotonic_t: float | None = None,
    ) -> None:
        """Redraw from an engine snapshot. `now` is the engine clock (ages, countdown);
        `monotonic_t` drives the flash phase (default: time.monotonic())."""
        mono = time.monotonic() if monotonic_t is None else monotonic_t
        self.shown_alarms = list(active_alarms)
        for i, row in enumerate(self._rows):
            if i >= len(active_alarms):
                if row.isVisible():
                    row.hide()
                continue
            a = active_alarms[i]
            lit = a.acknowledged or flash_on(a.priority, mono)
            bg, fg = colours(a.priority, lit)
            border = colours(a.priority)[0]
            if not lit:
                fg = colours(a.priority)[0]  # off phase: alarm-coloured text on black, still legible
            row.show_style(bg, fg, border)
            row.show_text(alarm_text(a, now))
            if not row.isVisible():
                row.show()
        extra = len(active_alarms) - MAX_ROWS
        self.more_label.setText(f"+{extra} more (see alarm history)" if extra > 0 else "")
        self.more_label.setVisible(extra > 0)
        self.idle_label.setVisible(not active_alarms)
        self.ack_button.setEnabled(any(not a.acknowledged for a in active_alarms))
        if audio_paused_until is not None and audio_paused_until > now:
            self.paused_label.setText(f"AUDIO PAUSED {format_countdown(audio_paused_until - now)}")
            self.paused_label.setVisible(True)
        else:
            self.paused_label.setVisible(False)

    def row_texts(self) -> list[str]:
        return [r.text() for r in self._rows if r.isVisible()]

    def row_styles(self) -> list[str]:
        return [r.styleSheet() for r in self._rows if r.isVisible()]
