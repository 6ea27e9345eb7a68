"""Where kapmonitor's windows open: never over the nurse's alarm area, the vital-sign tiles or the
status bar (link, recording, clock).

One mechanism for every window: `install_window_placement(main_window)` puts a `WindowPlacer` on
the application. Each time a top-level window other than the nurse's (a dialog, a QMessageBox, a
non-native QFileDialog, the therapist's window) is shown, it is placed before it is mapped:

1. a window marked with `prefer_other_screen()` (the therapist's) fills a second screen if there is one;
2. otherwise the first free region where it fits: beside the nurse's window on the same screen
   (right, left, below), then inside it next to the tiles (over the session panel or the trend),
   bottom-aligned, as far as possible from the alarm bar;
3. if it fits nowhere, it is shrunk into the largest free region (never above the alarm area's bottom).

When the alarm area grows (more alarm rows) the windows it would now reach are placed again, and
each window is checked once more after the window manager has drawn its frame.

The nurse's window itself is fitted to the screen it opens on (title and status bar included). The
nurse's dialogs get the alarm keys F2/F3 (a modal dialog blocks her window's own); the therapist's
window (`mark_therapist_window()`) and whatever it opens never do.
`KAPMONITOR_GEOMETRY_JSON=path` makes the placer write the global rectangles of the alarm area, the
tiles and every window, and the alarm rows' full and shown text, twice a second (the real-desktop
tests read it). GUI thread only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence, QScreen, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QTabBar, QWidget

log = logging.getLogger(__name__)

GAP = 6  # pixels kept free around the protected areas
GEOMETRY_ENV = "KAPMONITOR_GEOMETRY_JSON"
PREFER_OTHER_SCREEN = "kapmonitorPreferOtherScreen"
THERAPIST_WINDOW = "kapmonitorTherapistWindow"
ALARM_KEYS = "kapmonitorAlarmKeys"  # set on a dialog once it has F2/F3
# frame of a window the window manager has not decorated yet (title bar and borders of a typical WM)
DEFAULT_FRAME = QMargins(4, 32, 4, 6)
PLACED_TYPES = (Qt.WindowType.Window, Qt.WindowType.Dialog, Qt.WindowType.Sheet)


class NurseWindow(Protocol):
    """What the placer needs from the nurse's window (kapmonitor.ui.main_window.MainWindow)."""

    def protected_rects(self) -> list[QRect]: ...


def prefer_other_screen(window: QWidget) -> None:
    """Mark a window (the therapist's) to open on a second screen when there is one."""
    window.setProperty(PREFER_OTHER_SCREEN, True)


def mark_therapist_window(window: QWidget) -> None:
    """The therapist's window: a second screen when there is one, and no alarm keys in it or in
    any dialog it opens (F2/F3 pressed there do nothing)."""
    prefer_other_screen(window)
    window.setProperty(THERAPIST_WINDOW, True)


def is_therapists(window: QWidget) -> bool:
    """True for the therapist's window and every window it owns."""
    w: QWidget | None = window
    while w is not None:
        if w.property(THERAPIST_WINDOW):
            return True
        w = w.parentWidget()
    return False


def frame_margins(window: QWidget, fallback: QWidget | None = None) -> QMargins:
    """The window manager's frame around `window` (title bar, borders). Before it is mapped the
    frame is unknown: take the one of `fallback` (an already decorated window), else a typical one."""
    for w in (window, fallback):
        if w is None or not w.isVisible():
            continue
        frame, inner = w.frameGeometry(), w.geometry()
        if frame != inner:
            return QMargins(inner.left() - frame.left(), inner.top() - frame.top(),
                            frame.right() - inner.right(), frame.bottom() - inner.bottom())
    return QMargins(DEFAULT_FRAME)


def _subtract(region: QRect, blocked: QRect) -> list[QRect]:
    """The up to four largest axis-aligned rectangles of `region` outside `blocked`."""
    if not region.intersects(blocked):
        return [QRect(region)]
    parts = []
    if blocked.top() > region.top():
        parts.append(QRect(region.left(), region.top(), region.width(), blocked.top() - region.top()))
    if blocked.bottom() < region.bottom():
        parts.append(QRect(region.left(), blocked.bottom() + 1, region.width(), region.bottom() - blocked.bottom()))
    if blocked.left() > region.left():
        parts.append(QRect(region.left(), region.top(), blocked.left() - region.left(), region.height()))
    if blocked.right() < region.right():
        parts.append(QRect(blocked.right() + 1, region.top(), region.right() - blocked.right(), region.height()))
    return [p for p in parts if p.width() > 0 and p.height() > 0]


def free_regions(available: QRect, blocked: list[QRect]) -> list[QRect]:
    """Maximal rectangles of `available` that touch none of `blocked`, largest first."""
    regions = [QRect(available)]
    for b in blocked:
        regions = [part for r in regions for part in _subtract(r, b)]
    # drop regions contained in a larger one
    regions.sort(key=lambda r: r.width() * r.height(), reverse=True)
    kept: list[QRect] = []
    for r in regions:
        if not any(k.contains(r) for k in kept):
            kept.append(r)
    return kept


def _shrunk(size: QSize, minimum: QSize, room: QSize) -> QSize:
    """`size` made to fit `room`, but never below `minimum`."""
    return size.boundedTo(room).expandedTo(minimum)


def choose_frame(size: QSize, minimum: QSize, available: QRect, nurse_frame: QRect,
                 protected: list[QRect]) -> QRect:
    """Where a window whose frame is `size` (at least `minimum`) goes on the screen `available`.

    `protected[0]` is the alarm area, the others the tiles and the status bar. In order: a region outside the nurse's
    window where it fits; a region inside it that avoids everything protected (as is, then shrunk);
    last, shrunk into the band below the alarm area, covering as little of the tiles as it can.
    Over the nurse's window it never starts above the bottom of the alarm area."""
    blocked = [r.adjusted(-GAP, -GAP, GAP, GAP) for r in protected]
    outside = [r for r in free_regions(available, [nurse_frame]) if not r.intersects(nurse_frame)]
    inside = free_regions(available, blocked)
    for region in outside:
        if region.width() >= size.width() and region.height() >= size.height():
            # next to the nurse's window, level with its top
            x = region.left() if region.left() > nurse_frame.left() else region.right() - size.width() + 1
            y = max(region.top(), min(nurse_frame.top(), region.bottom() - size.height() + 1))
            return QRect(QPoint(x, y), size)
    for shrink in (False, True):
        for region in inside:
            fitted = _shrunk(size, minimum, region.size()) if shrink else size
            if region.width() >= fitted.width() and region.height() >= fitted.height():
                # bottom-aligned: as far as possible from the alarm bar, which grows downwards
                x = region.left() + (region.width() - fitted.width()) // 2
                return QRect(QPoint(x, region.bottom() - fitted.height() + 1), fitted)
    top = blocked[0].bottom() + 1 if blocked else available.top()
    band = QRect(available.left(), top, available.width(), max(1, available.bottom() - top + 1))
    fitted = _shrunk(size, minimum, band.size())
    y = band.top() if fitted.height() >= band.height() else band.bottom() - fitted.height() + 1

    def covered(x: int) -> int:
        frame = QRect(QPoint(x, y), fitted)
        return sum((frame & r).width() * (frame & r).height() for r in blocked[1:])

    xs = (band.left(), max(band.left(), band.right() - fitted.width() + 1))
    return QRect(QPoint(min(xs, key=covered), y), fitted)


class WindowPlacer(QObject):
    """The application-wide placement of kapmonitor's windows (see module docstring)."""

    def __init__(self, nurse_window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.nurse_window = nurse_window
        self.designed_size = nurse_window.size()  # what the nurse's window grows back to when it can
        self.placed: list[QWidget] = []  # windows placed so far (re-checked when the alarm area grows)
        self._geometry_path = os.environ.get(GEOMETRY_ENV) or None
        self._dump_timer: QTimer | None = None
        if self._geometry_path:
            self._dump_timer = QTimer(self)
            self._dump_timer.setInterval(500)
            self._dump_timer.timeout.connect(self.write_geometry)
            self._dump_timer.start()

    # -- the nurse's window --------------------------------------------------------------------
    def protected_rects(self) -> list[QRect]:
        """The alarm area first, then the tiles, then the status bar (link, recording, clock)."""
        rects = getattr(self.nurse_window, "protected_rects", None)
        found = list(rects()) if callable(rects) else []
        status = self._status_bar()
        if status is not None and status.isVisible():
            found.append(QRect(status.mapToGlobal(QPoint(0, 0)), status.size()))
        return found

    def _status_bar(self) -> QWidget | None:
        status_fn = getattr(self.nurse_window, "statusBar", None)
        bar = status_fn() if callable(status_fn) else None
        return bar if isinstance(bar, QWidget) else None

    def nurse_frame(self) -> QRect:
        w = self.nurse_window
        if w.frameGeometry() != w.geometry():
            return w.frameGeometry()
        return w.geometry().marginsAdded(frame_margins(w))

    def fit_nurse_window(self, screen: QScreen | None = None) -> None:
        """Make the nurse's window, frame included, fit the screen it opens on (at most its
        designed 1280×800, never below its minimum size)."""
        w = self.nurse_window
        screen = screen or w.screen() or QGuiApplication.primaryScreen()
        if screen is None or QGuiApplication.platformName() == "offscreen":
            return  # no real screen (tests, --screenshot): keep the designed size
        available = screen.availableGeometry()
        margins = frame_margins(w)
        room = available.marginsRemoved(margins)
        size = self.designed_size.boundedTo(room.size()).expandedTo(w.minimumSize())
        if w.isMaximized() or w.isFullScreen():
            return
        if size != w.size():
            w.resize(size)
        frame = QRect(w.pos(), size.grownBy(margins)) if w.isVisible() else None
        if frame is not None and not available.contains(frame):
            w.move(available.topLeft())  # move() positions the frame
        log.debug("nurse window %dx%d on a %dx%d screen", size.width(), size.height(),
                  available.width(), available.height())

    # -- every other window ----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            if self._is_placed_kind(watched):
                self.place(watched)
                # the window is the timer's context: deleted meanwhile, the re-check never runs
                QTimer.singleShot(250, watched, lambda w=watched: self._recheck(w))
                self._give_alarm_keys(watched)
        elif kind == QEvent.Type.Resize and watched is self._alarm_widget():
            QTimer.singleShot(0, self, self.recheck_all)
        return False

    def _is_placed_kind(self, window: QWidget) -> bool:
        if window is self.nurse_window or window.windowType() not in PLACED_TYPES:
            return False
        return self.nurse_window.isVisible()

    def _give_alarm_keys(self, window: QWidget) -> None:
        """F2/F3 in the nurse's own dialogs too (a modal one blocks her window's keys); never in the
        therapist's window or anything it opens."""
        if window.property(ALARM_KEYS) or is_therapists(window):
            return
        acknowledge = getattr(self.nurse_window, "acknowledge_alarms", None)
        pause = getattr(self.nurse_window, "pause_alarm_audio", None)
        if not callable(acknowledge) or not callable(pause):
            return
        from kapmonitor.ui.alarms.bar import ACK_KEY, PAUSE_KEY

        for key, slot in ((ACK_KEY, acknowledge), (PAUSE_KEY, pause)):
            shortcut = QShortcut(QKeySequence(key), window)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
        window.setProperty(ALARM_KEYS, True)

    def _alarm_widget(self) -> QWidget | None:
        bar = getattr(self.nurse_window, "alarm_bar", None)
        return bar if isinstance(bar, QWidget) else None

    def place(self, window: QWidget) -> None:
        """Place `window` (about to be shown) by the rules of the module docstring."""
        margins = frame_margins(window, self.nurse_window)
        nurse_screen = self.nurse_window.screen()
        if window.property(PREFER_OTHER_SCREEN):
            for screen in QGuiApplication.screens():
                if screen is not nurse_screen:
                    window.setGeometry(screen.availableGeometry().marginsRemoved(margins))
                    self._remember(window)
                    return
        if nurse_screen is None:
            return
        frame = choose_frame(window.size().grownBy(margins), window.minimumSize().grownBy(margins),
                             nurse_screen.availableGeometry(), self.nurse_frame(), self.protected_rects())
        window.setGeometry(frame.marginsRemoved(margins))
        self._remember(window)
        log.debug("%s placed at %s", window.windowTitle() or type(window).__name__, frame)

    def _remember(self, window: QWidget) -> None:
        if window not in self.placed:
            self.placed.append(window)
            window.destroyed.connect(lambda *_a, w=window: self._forget(w))

    def _forget(self, window: QWidget) -> None:
        self.placed = [w for w in self.placed if w is not window]

    def overlaps(self, window: QWidget) -> bool:
        """True when `window` (its frame) covers part of the alarm area or the tiles."""
        if not window.isVisible() or window.screen() is not self.nurse_window.screen():
            return False
        frame = window.frameGeometry()
        return any(frame.intersects(r) for r in self.protected_rects())

    def _recheck(self, window: QWidget) -> None:
        if self.overlaps(window):
            self.place(window)

    def recheck_all(self) -> None:
        """Place again every open window the alarm area or tiles now reach."""
        for window in list(self.placed):
            self._recheck(window)

    # -- geometry report for the real-desktop tests ------------------------------------------------
    def geometry_report(self) -> dict[str, object]:
        def rect(r: QRect) -> list[int]:
            return [r.x(), r.y(), r.width(), r.height()]

        protected = self.protected_rects()
        rows = []
        bar = self._alarm_widget()
        for label in bar.findChildren(QLabel) if bar is not None else []:
            if not label.isVisible() or not label.text() or label.wordWrap():
                continue
            report = getattr(label, "fit_report", None)  # an alarm row: its text and its age column
            if callable(report):
                needed, room = report()
            else:
                room = label.contentsRect().width() - 2 * label.margin()
                needed = label.fontMetrics().horizontalAdvance(label.text())
            shown_fn = getattr(label, "shown_text", None)
            shown = shown_fn() if callable(shown_fn) else label.text()
            full = getattr(label, "full", None)  # an alarm row keeps its whole text (the tooltip is HTML)
            rows.append({"shown": shown, "full": full if isinstance(full, str) and full else label.text(),
                         "fits": needed <= room, "needed": round(needed), "room": round(room)})
        cut = []  # banners and status-bar texts wider than their label (cut on screen)
        status_fn = getattr(self.nurse_window, "statusBar", None)
        status_bar = status_fn() if callable(status_fn) else None
        banners = [b for b in (getattr(self.nurse_window, n, None) for n in
                               ("simulated_banner", "replay_banner", "profile_banner")) if isinstance(b, QLabel)]
        status_labels = status_bar.findChildren(QLabel) if isinstance(status_bar, QWidget) else []
        for label in [*banners, *status_labels]:
            shown_fn = getattr(label, "shown_text", None)  # a label that elides itself ("…") is never cut
            text = shown_fn() if callable(shown_fn) else label.text()
            visible = label.isVisible() and text and not label.wordWrap()
            if visible and label.fontMetrics().horizontalAdvance(text) > label.contentsRect().width():
                cut.append(text)
        windows = [{"title": w.windowTitle(), "frame": rect(w.frameGeometry())}
                   for w in QApplication.topLevelWidgets() if w.isVisible() and w.windowType() in PLACED_TYPES]
        tabs = [rect(QRect(t.mapToGlobal(QPoint(0, 0)), t.size()))
                for w in QApplication.topLevelWidgets() if w.isVisible()
                for t in w.findChildren(QTabBar) if t.isVisible()]
        status = getattr(self.nurse_window, "statusBar", None)
        bar = status() if callable(status) else None
        return {"alarm_area": rect(protected[0]) if protected else None,
                "protected": [rect(r) for r in protected],
                "nurse_frame": rect(self.nurse_frame()),
                "status_bar": rect(QRect(bar.mapToGlobal(QPoint(0, 0)), bar.size()))
                if isinstance(bar, QWidget) and bar.isVisible() else None,
                "windows": windows, "tab_bars": tabs, "alarm_labels": rows, "cut_labels": cut}

    def write_geometry(self) -> None:
        if not self._geometry_path:
            return
        path = Path(self._geometry_path)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.geometry_report()))
            tmp.replace(path)
        except OSError as exc:
            log.warning("cannot write the window geometry to %s: %s", path, exc)
            self._geometry_path = None


def install_window_placement(nurse_window: QWidget) -> WindowPlacer:
    """Fit the nurse's window to its screen and place every other window from now on."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    # owned by the window: when it goes, its application-wide event filter goes with it
    placer = WindowPlacer(nurse_window, nurse_window)
    app.installEventFilter(placer)
    placer.fit_nurse_window()
    screen = nurse_window.screen() or QGuiApplication.primaryScreen()
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        # top-left: on a large screen the free room is one block beside the window, where dialogs go
        nurse_window.move(screen.availableGeometry().topLeft())
    # once the window manager has framed the window, its real frame is known: fit again
    for delay in (200, 1000):  # the placer is the context: gone with the window, the timer never fires
        QTimer.singleShot(delay, placer, placer.fit_nurse_window)
    return placer
