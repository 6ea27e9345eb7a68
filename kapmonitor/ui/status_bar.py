"""The nurse's status bar: device, link, recording, messages and the session clock.

Every field is a permanent widget, so a message (F2, F5, a menu's status tip) never replaces the
link or recording state: it is mirrored into its own label. The device name gives way first
(shortened at a whole word, full name on hover); the clock is always whole. GUI thread only.
"""

from __future__ import annotations

import math
import time

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QStatusBar

from kapmonitor.model.samples import LinkState
from kapmonitor.ui import theme
from kapmonitor.ui.elided import ElidedLabel

LINK_TEXT = {
    LinkState.CONNECTING: ("connecting\u2026", theme.ALARM_MEDIUM),
    LinkState.CONNECTED: ("connected", "#3dff6e"),
    LinkState.NO_DATA: ("NO DATA", theme.ALARM_HIGH),
    LinkState.NOT_ANSWERING: ("MONITOR NOT ANSWERING", theme.ALARM_HIGH),
    LinkState.DISCONNECTED: ("DISCONNECTED \u2013 reconnecting", theme.ALARM_HIGH),
    LinkState.CLOSED: ("closed", theme.TEXT_DIM),
}


def format_clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def set_label(label: QLabel, text: str, style: str | None = None) -> None:
    """Change a label only when needed: re-applying a style sheet at 25 Hz re-polishes the widget
    each time, a few per cent of a core for nothing."""
    if label.text() != text:
        label.setText(text)
    if style is not None and label.styleSheet() != style:
        label.setStyleSheet(style)


def bold_font(px: int) -> QFont:
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(True)
    return font


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setStyleSheet(f"color: {theme.PANEL_BORDER};")
    return line


class StatusBar(QStatusBar):
    """The status bar's fields; `refresh` redraws them (a label changes only when its text does)."""

    def __init__(self, device_text: str) -> None:
        super().__init__()
        self.setSizeGripEnabled(False)
        self.device_label = ElidedLabel(device_text, min_chars=6)
        self.device_label.setMaximumWidth(theme.scaled_px(360))
        self.link_label = QLabel("")
        self.link_label.setFont(bold_font(theme.scaled_px(15)))
        self.recording_label = ElidedLabel("", min_chars=18)
        # room for "2 alarm(s) acknowledged" before the file name
        self.message_label = ElidedLabel("", min_chars=22)
        self.message_label.setObjectName("statusMessage")
        self.message_label.setStyleSheet(f"color: {theme.ALARM_MEDIUM};")
        for label in (self.device_label, self.recording_label, self.message_label):
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.clock_label = QLabel("")
        self.clock_label.setFont(bold_font(theme.scaled_px(15)))
        self.clock_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        for widget, stretch in ((self.device_label, 0), (_separator(), 0), (self.link_label, 0),
                                (_separator(), 0), (self.recording_label, 0), (self.message_label, 1),
                                (self.clock_label, 0)):
            self.addPermanentWidget(widget, stretch)
        self.messageChanged.connect(self.message_label.setText)

    def refresh(self, link: tuple[LinkState, str], recording: tuple[str, bool] | None, elapsed: float,
                now: float, speed: float) -> None:
        """Link state (its detail on hover), recording state (None: unchanged), session clock, wall
        time and the replay speed."""
        state, detail = link
        text, colour = LINK_TEXT.get(state, (state.value, theme.TEXT))
        set_label(self.link_label, f"\u25cf Link: {text}", f"color: {colour};")
        if self.link_label.toolTip() != detail:
            self.link_label.setToolTip(detail)
        if recording is not None:
            rec_text, ok = recording
            set_label(self.recording_label, rec_text, f"color: {'#3dff6e' if ok else theme.ALARM_HIGH};")
        if math.isinf(speed):
            shown_speed = "   replay"
        elif math.isclose(speed, 1.0):
            shown_speed = ""
        else:
            shown_speed = f"   \u00d7{speed:g}"
        wall = time.strftime("%H:%M", time.localtime(now))
        set_label(self.clock_label, f"Session {format_clock(elapsed)}   {wall}{shown_speed}")
