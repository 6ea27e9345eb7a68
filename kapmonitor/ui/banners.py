"""Full-width coloured strips above the nurse's alarm bar: simulated source, replay, profile fallback.

A banner says what the screen is *not* (live data from a patient, the clinic's limits), so it is
never cut and never hidden by a narrow screen. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy

from kapmonitor.ui import theme

SIMULATED_TEXT = "SIMULATED MONITOR \u2014 training data, not from a patient"


def _font(px: int) -> QFont:
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(True)
    return font


class Banner(QLabel):
    """A full-width coloured strip (simulated source, profile fallback).

    Never cut: where the whole text does not fit (a 1024-px screen) it shows the part before " \u2014 "
    ("SIMULATED MONITOR"), the whole text on hover; it never widens the window either."""

    def __init__(self, text: str, background: str, foreground: str = "#000000") -> None:
        super().__init__(text)
        self.full_text = text
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFont(_font(20))
        self.setStyleSheet(f"background: {background}; color: {foreground}; padding: 4px;")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._fit()

    def _fit(self) -> None:
        if self.wordWrap():
            super().setText(self.full_text)
            return
        room = self.contentsRect().width() - 8  # the 4 px padding each side
        short = self.full_text.split(" \u2014 ", 1)[0]
        fits = self.fontMetrics().horizontalAdvance(self.full_text) <= room
        shown = self.full_text if fits or room <= 0 else short
        if shown != self.text():
            super().setText(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()


def simulated_banner() -> Banner:
    return Banner(SIMULATED_TEXT, theme.SIMULATED)


def replay_banner(replay_of: str) -> Banner:
    return Banner(f"REPLAY of {replay_of} \u2014 recorded data, not live", "#2f7bff", "#ffffff")


def profile_banner(warning: str) -> Banner:
    """The alarm profile could not be used as written: wrapped, never shortened (the nurse must read why)."""
    banner = Banner(f"ALARM PROFILE: {warning}", theme.ALARM_MEDIUM)
    banner.setWordWrap(True)
    banner.setFont(_font(16))
    return banner
