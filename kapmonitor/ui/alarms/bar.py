"""The alarm bar at the top of the nurse's screen, and the bridge from the engine to the GUI.

The bar lists the active alarms by priority with `***`/`**`/`*` markers (colour is never the
only cue) in monitor wording: "*** NIBP sys 195 > 180 · pause infusion / call physician   1:05", the
alarm's age right-aligned in a column of its own. A row is never cut mid-word: the Qt-free rule in
`kapmonitor.alarms.presentation` shortens its text at word boundaries (marker, parameter, value and
limit first, then the action, the state) so that the age keeps its column, to the width measured
here with QFontMetrics; the full text is on hover and on a tap or click.
High-priority rows flash red at 2 Hz, medium yellow at 0.625 Hz, low is steady; technical alarms
(INOPs) are cyan with a border in their priority's colour; an acknowledged alarm stops flashing
and keeps the priority, value and limit that raised it.

The bar's geometry never changes with the alarms: a fixed number of rows is reserved (the rest
is counted as "+N more", the full list is in Alarm history) and a long text never widens a row,
so nothing around the bar moves or narrows. Fonts scale with the screen (28 px at 1280x800).

The main window's redraw timer calls `update_from(...)`; a row only touches its label when its
text or colour changed, so a redraw at 25 Hz costs next to nothing. GUI thread only.
"""

from __future__ import annotations

import html
import threading
import time
from collections import deque
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, QRect, Qt, Signal, SignalInstance
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.model import ActiveAlarm, AlarmEvent
from kapmonitor.alarms.presentation import (
    alarm_parts,
    display_priority,
    flash_on,
    format_countdown,
    full_text,
    row_colours,
    row_parts,
    shorten_row,
    sort_for_display,
)
from kapmonitor.ui import theme
from kapmonitor.ui.elided import ElidedLabel

MAX_ROWS = 3  # reserved rows on a tall screen: the bar keeps its height with no alarm or with ten
TALL_SCREEN_PX = 1000  # below this (logical) screen height two rows are reserved, so the session panel fits
ACK_KEY = "F2"
PAUSE_KEY = "F3"
TAP_TEXT_MS = 10_000  # a tapped row's whole text stays this long
_PADDING_PX = 5
_BORDER_PX = 2
_AGE_GAP_PX = 14  # between a row's text and its age column


def _font(px: int, bold: bool = False, narrow: bool = False) -> QFont:
    font = QFont(theme.FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(bold)
    if narrow:
        font.setStretch(QFont.Stretch.SemiCondensed)  # DejaVu Sans Condensed: ~10 % more words per row
    return font


def rows_for_screen(height: float) -> int:
    """Alarm rows reserved on a screen (or in a window) `height` logical pixels tall (2 at 800, 3 from 1000)."""
    return MAX_ROWS if height >= TALL_SCREEN_PX else MAX_ROWS - 1


def alarm_text(a: ActiveAlarm, now: float) -> str:
    """The whole text of one alarm row (what its tooltip and a tap show)."""
    return full_text(alarm_parts(a, now))


_ALARM_WAKE = QEvent.Type(QEvent.registerEventType())


class AlarmBridge(QObject):
    """Carries engine events (any thread) into the GUI thread, in order, as `event_received`.

    `engine.add_listener(bridge.listener)`; connect `event_received` to the alarm bar or the history
    panel. An event from another thread waits in a queue and wakes the GUI thread with a
    high-priority posted event (one per event, each handled on its own), so it is handled before
    redraw work already queued (a trend repaint posted by its timer) and the nurse sees the alarm
    within one slice of GUI work. An event raised
    in the GUI thread itself (an acknowledgement) is delivered at once, after any still queued.
    `listener` is thread-safe; `event_received` is emitted in the thread that made the bridge.
    """

    event_received = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._home = threading.get_ident()
        self._pending: deque[AlarmEvent] = deque()  # append and popleft are atomic: no lock needed

    def listener(self, ev: AlarmEvent) -> None:
        if threading.get_ident() == self._home:
            self._deliver()
            self.event_received.emit(ev)
            return
        self._pending.append(ev)
        QCoreApplication.postEvent(self, QEvent(_ALARM_WAKE), Qt.EventPriority.HighEventPriority.value)

    def _deliver(self) -> None:
        while self._pending:
            self.event_received.emit(self._pending.popleft())

    def event(self, event: QEvent) -> bool:
        if event.type() == _ALARM_WAKE:  # one event per wake: each is its own short piece of GUI work
            if self._pending:
                self.event_received.emit(self._pending.popleft())
            return True
        return super().event(event)


class _Row(QLabel):
    """One alarm line: the longest word-boundary prefix of its parts that fits its width, and the
    alarm's age right-aligned in a column of its own (painted by the row, in the row's colours)."""

    def __init__(self, px: int) -> None:
        super().__init__("")
        self._style = ""
        self._fg = "#000000"
        self._parts: list[str] = []  # the text parts, without the age
        self.age = ""  # the alarm's age ("3:07")
        self.shown_age = ""  # the age as shown ("" when even the alarm's subject needs the room)
        self.full = ""
        self.right_reserve = 0  # pixels at the right kept free (the "+N more" badge of the last row)
        self.set_text_px(px)
        # a long text never asks for more width: the row takes what the bar gives it
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setTextFormat(Qt.TextFormat.PlainText)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # a hidden row keeps its place: the bar never changes height
        self.setSizePolicy(policy)

    def show_style(self, bg: str, fg: str, border: str) -> None:
        style = (f"QLabel {{ background: {bg}; color: {fg}; border: {_BORDER_PX}px solid {border}; "
                 f"border-radius: 4px; padding: 0 {_PADDING_PX}px; }}")
        if style != self._style:
            self._style = style
            self._fg = fg
            self.setStyleSheet(style)

    def set_text_px(self, px: int) -> None:
        self.setFont(_font(px, bold=True, narrow=True))
        fm = QFontMetricsF(self.font())
        # the line height less a pixel of leading plus the frame: every pixel counts 800 px high
        self.setFixedHeight(round(fm.height()) - 1 + 2 * _BORDER_PX)
        if self._parts:
            self._fit()

    def available_width(self) -> float:
        return float(self.width() - 2 * (_PADDING_PX + _BORDER_PX) - 2 - self.right_reserve)

    def set_right_reserve(self, px: int) -> None:
        if px != self.right_reserve:
            self.right_reserve = px
            self._fit()

    def show_parts(self, full: list[str], parts: list[str], age: str) -> None:
        """`full`: every part in reading order (tooltip); `parts` and `age`: the row's two columns."""
        if parts != self._parts or age != self.age:
            self._parts = parts
            self.age = age
            self.full = full_text(full)
            self.setToolTip(f"<p style='white-space:pre-wrap'>{html.escape(self.full)}</p>")
            if QToolTip.isVisible() and self.underMouse():  # an open tooltip follows the alarm
                QToolTip.showText(QCursor.pos(), self.toolTip(), self, self.rect(), TAP_TEXT_MS)
            self._fit()

    def clear_parts(self) -> None:
        self._parts = []
        self.age = self.shown_age = ""
        self.full = ""
        self.setToolTip("")
        self.setText("")

    def _fit(self) -> None:
        fm = QFontMetricsF(self.font())
        shown, age = (shorten_row(self._parts, self.age, fm.horizontalAdvance, self.available_width(), _AGE_GAP_PX)
                      if self._parts else ("", ""))
        if age != self.shown_age:
            self.shown_age = age
            self.update()
        if shown != self.text():
            self.setText(shown)

    def shown_text(self) -> str:
        """What the row shows: its text, then its age column (separated by two spaces)."""
        return f"{self.text()}  {self.shown_age}" if self.shown_age else self.text()

    def fit_report(self) -> tuple[float, float]:
        """(pixels the text and the age need, pixels the row has for them) — for the geometry dump."""
        fm = QFontMetricsF(self.font())
        needed = fm.horizontalAdvance(self.text())
        if self.shown_age:
            needed += _AGE_GAP_PX + fm.horizontalAdvance(self.shown_age)
        return needed, self.available_width()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.shown_age:
            return
        painter = QPainter(self)
        painter.setFont(self.font())
        painter.setPen(QColor(self._fg))
        inset = _PADDING_PX + _BORDER_PX + 1
        column = QRect(inset, 0, self.width() - 2 * inset - self.right_reserve, self.height())
        painter.drawText(column, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self.shown_age)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A tap or click shows the whole text (a touch screen has no hover); on release, as a
        tooltip hides itself on a press."""
        super().mouseReleaseEvent(event)
        if self.full:
            QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())), self.toolTip(), self, self.rect(),
                              TAP_TEXT_MS)


class _Badge(QLabel):
    """The "+N more" badge: a tap opens the alarm history (every alarm, not only the rows)."""

    def __init__(self, clicked: SignalInstance) -> None:
        super().__init__("")
        self._clicked = clicked
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self._clicked.emit()


class AlarmBar(QFrame):
    """Alarm list with Acknowledge and Audio pause. Emits the requests; the owner calls the engine."""

    acknowledge_requested = Signal()
    pause_requested = Signal()
    history_requested = Signal()  # the "+N more" badge was tapped

    def __init__(self, parent: QWidget | None = None, scale: float = 1.0, rows: int | None = None) -> None:
        """`scale`: font scale (1.0: as designed for 1280x800; the window calls `apply_scale` when it
        grows); `rows`: reserved rows (default: by the primary screen's height)."""
        super().__init__(parent)
        self.setObjectName("alarmBar")
        self.setStyleSheet("QFrame#alarmBar { background: #111111; }")
        if rows is None:
            screen = QGuiApplication.primaryScreen()
            rows = rows_for_screen(screen.geometry().height()) if screen is not None else MAX_ROWS
        self.scale = scale
        self.text_px = theme.scaled_px(theme.ALARM_TEXT_PX, scale)
        self._all_rows = [_Row(self.text_px) for _ in range(max(MAX_ROWS, rows))]
        self._rows = self._all_rows  # the reserved ones (set_row_count)
        self.row_count = len(self._rows)
        self._grid = grid = QGridLayout()
        grid.setSpacing(2)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, r in enumerate(self._all_rows):
            grid.addWidget(r, i, 0)
            r.hide()
        # "No active alarms" shares the first row's cell: the bar does not move when alarms come
        self.idle_label = QLabel("No active alarms")
        self.idle_label.setStyleSheet("color: #9aa4ad; padding: 2px 8px;")
        self.idle_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        grid.addWidget(self.idle_label, 0, 0)
        # one line that never grows the bar: cut with "…", the whole text on hover (a wrapped notice
        # once took half the window and pushed the session panel down)
        self.notice_label = ElidedLabel("")
        self.notice_label.setStyleSheet("color: #ffd400; padding: 0 8px;")
        self.notice_label.hide()
        grid.addWidget(self.notice_label, len(self._all_rows), 0)
        # "+N more" sits at the right end of the last row (its text is shortened to leave room)
        self.more_label = _Badge(self.history_requested)
        self.more_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.more_label.setStyleSheet("QLabel { color: #ffffff; background: #111111; border: 1px solid #9aa4ad; "
                                      "border-radius: 4px; padding: 0 4px; }")
        self.more_label.setToolTip("More alarms than rows: tap for the alarm history (Alarms \u25b8 Alarm history)")
        self.more_label.hide()

        self.ack_button = QPushButton(f"Acknowledge ({ACK_KEY})")
        self.pause_button = QPushButton(f"Audio pause ({PAUSE_KEY})")
        for b in (self.ack_button, self.pause_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.ack_button.clicked.connect(self.acknowledge_requested)
        self.pause_button.clicked.connect(self.pause_requested)
        self._pause_text = self.pause_button.text()
        self.set_row_count(rows)
        self.apply_scale(scale)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.pause_button)
        buttons.addStretch(1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(6)
        layout.addLayout(grid, 1)
        layout.addLayout(buttons)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        # keys of the nurse's window only: pressed in the therapist's window they must do nothing
        self._ack_shortcut = QShortcut(QKeySequence(ACK_KEY), self)
        self._ack_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self._ack_shortcut.activated.connect(self.acknowledge_requested)
        self._pause_shortcut = QShortcut(QKeySequence(PAUSE_KEY), self)
        self._pause_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self._pause_shortcut.activated.connect(self.pause_requested)
        self.shown_alarms: list[ActiveAlarm] = []

    def apply_scale(self, scale: float) -> None:
        """Fonts and row heights for a window `scale` times the designed 1280x800 (28 px alarm text at
        1.0). Called by the window when its size changes; the bar's height follows its font only."""
        self.scale = scale
        self.text_px = theme.scaled_px(theme.ALARM_TEXT_PX, scale)
        small_px = theme.scaled_px(17, scale)
        badge_px = theme.scaled_px(15, scale)  # narrow: the last row keeps room for its action and age
        for r in self._all_rows:
            r.set_text_px(self.text_px)
        self.idle_label.setFont(_font(theme.scaled_px(20, scale)))
        self.notice_label.setFont(_font(small_px, bold=True))
        self.more_label.setFont(_font(badge_px, bold=True))
        row_h = self._rows[0].height()
        self.more_label.setFixedSize(round(QFontMetricsF(self.more_label.font()).horizontalAdvance("+88 more")) + 16,
                                     row_h - 2 * _BORDER_PX - 2)
        for b in (self.ack_button, self.pause_button):  # condensed: the alarm rows keep the width
            b.setFont(_font(theme.scaled_px(18, scale), bold=True, narrow=True))
            b.setFixedHeight(row_h)
        # a running pause shows its countdown on the pause button itself (no extra line)
        self.pause_button.setMinimumWidth(
            round(QFontMetricsF(self.pause_button.font()).horizontalAdvance("AUDIO PAUSED 88:88")) + 32)
        if self.more_label.isVisible():
            self._rows[-1].set_right_reserve(self.more_label.width() + 4)

    def set_row_count(self, rows: int) -> None:
        """Reserve `rows` alarm rows (1..MAX_ROWS): 2 in an 800-px-high window, 3 in a tall one. The
        bar's height changes only with this (a window resize), never with the alarms shown."""
        rows = max(1, min(rows, len(self._all_rows)))
        if rows == self.row_count and self._grid.indexOf(self.more_label) >= 0:
            return
        self.row_count = rows
        self._rows = self._all_rows[:rows]
        for i, r in enumerate(self._all_rows):
            policy = r.sizePolicy()
            policy.setRetainSizeWhenHidden(i < rows)  # a reserved row keeps its place while empty
            r.setSizePolicy(policy)
            r.set_right_reserve(0)
            if i >= rows and r.isVisible():
                r.hide()
                r.clear_parts()
        self._grid.removeWidget(self.more_label)
        self._grid.addWidget(self.more_label, rows - 1, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def set_rows_for_height(self, window_height: float) -> None:
        self.set_row_count(rows_for_screen(window_height))

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
        alarms = sort_for_display(active_alarms)
        self.shown_alarms = alarms[: self.row_count]
        for i, row in enumerate(self._rows):
            if i >= len(alarms):
                if row.isVisible():
                    row.hide()
                    row.clear_parts()
                continue
            a = alarms[i]
            lit = a.acknowledged or flash_on(display_priority(a), mono)
            bg, fg, border = row_colours(a, lit)
            if a.escalated and not a.acknowledged:
                border = "#ffffff"  # escalated: a white frame on top of the flashing
            row.show_style(bg, fg, border)
            parts, age = row_parts(a, now)
            row.show_parts(alarm_parts(a, now), parts, age)
            if not row.isVisible():
                row.show()
        extra = len(alarms) - self.row_count
        self.more_label.setText(f"+{extra} more" if extra > 0 else "")
        self.more_label.setVisible(extra > 0)
        self._rows[-1].set_right_reserve(self.more_label.width() + 4 if extra > 0 else 0)
        self.idle_label.setVisible(not alarms)
        self.ack_button.setEnabled(any(not a.acknowledged for a in alarms))
        paused = audio_paused_until is not None and audio_paused_until > now
        text = (f"AUDIO PAUSED {format_countdown(audio_paused_until - now)}"
                if paused and audio_paused_until is not None else self._pause_text)
        if text != self.pause_button.text():
            self.pause_button.setText(text)
            self.pause_button.setStyleSheet(
                "QPushButton { background: #ffd400; color: #000000; border-color: #ffd400; }" if paused else "")

    def paused_text(self) -> str:
        """The running pause's countdown ("AUDIO PAUSED 1:45"), or "" when no pause runs."""
        text = self.pause_button.text()
        return text if text.startswith("AUDIO PAUSED") else ""

    def rows(self) -> list[tuple[str, str]]:
        """(full text, shown text: the row's text, two spaces and its age column) of each alarm row on
        screen, top first (for tests and dumps)."""
        return [(r.full, r.shown_text()) for r in self._rows if r.isVisible()]

    def dump(self) -> str:
        """The rows as text lines, "shown  <=  full" when shortened (for a log or a test report)."""
        return "\n".join(shown if shown == full else f"{shown}  <=  {full}" for full, shown in self.rows())

    def row_texts(self) -> list[str]:
        """The full text of each alarm row on screen, top first."""
        return [full for full, _ in self.rows()]

    def shown_texts(self) -> list[str]:
        """What each alarm row shows on screen (possibly shortened at a word boundary with " …")."""
        return [shown for _, shown in self.rows()]

    def shown_ages(self) -> list[str]:
        """The age column of each alarm row on screen ("" where the row needed the room)."""
        return [r.shown_age for r in self._rows if r.isVisible()]

    def row_styles(self) -> list[str]:
        return [r.styleSheet() for r in self._rows if r.isVisible()]

    def row_font_px(self) -> int:
        return self._rows[0].font().pixelSize()
