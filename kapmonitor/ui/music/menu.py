"""Puts session music into the main window: the Music menu and the therapist's window.

`install_music_ui(window, music, ...)` takes the bedside's music (kapmonitor.audio.session_music), adds
"Music > Therapist window…" (Ctrl+M) to the window's Music menu (or a new one), and returns a
`MusicUi` whose `track_bands()` feeds the nurse's trend plot. The therapist's window is its own
top-level window, placed on a second screen when there is one.

GUI thread only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from kapmonitor.audio.session_music import SessionMusic
from kapmonitor.audio.timeline import Band, track_bands
from kapmonitor.ui.placement import mark_therapist_window

if TYPE_CHECKING:  # the window itself is imported when first shown, not at start-up
    from kapmonitor.ui.music.therapist_window import InfusionWindowFn, TherapistWindow

log = logging.getLogger(__name__)


class MusicUi:
    def __init__(self, music: SessionMusic, infusion_window_fn: InfusionWindowFn | None) -> None:
        self.music = music
        self.controller = music.controller
        self._infusion_window_fn = infusion_window_fn
        self.therapist_window: TherapistWindow | None = None
        self.open_action: QAction | None = None

    def show_therapist_window(self) -> TherapistWindow:
        """Show (and on first use build) the therapist's window; the music output opens now."""
        self.music.player.open()
        self.music.load_demo_if_empty()  # the demo plays out of the box
        if self.therapist_window is None:
            from kapmonitor.ui.music.therapist_window import TherapistWindow

            self.therapist_window = TherapistWindow(self.controller, self._infusion_window_fn)
            # a second screen when there is one, else beside the nurse's window (ui/placement.py)
            mark_therapist_window(self.therapist_window)  # and no alarm keys in it
            for problem in self.music.problems:
                self.therapist_window.show_message(problem)
            if not self.therapist_window.place_on_second_screen():
                log.info("one screen only: the therapist window opens on it")
        self.therapist_window.show()
        self.therapist_window.raise_()
        self.therapist_window.activateWindow()
        return self.therapist_window

    def track_bands(self, now: float | None = None) -> list[Band]:
        """(start, end, title, phase) of every track heard so far, for the trend plot."""
        return track_bands(self.controller.timeline_rows(), now=now)

    def close(self) -> None:
        if self.therapist_window is not None:
            self.therapist_window.close()
            self.therapist_window = None
        self.music.close()


def install_music_ui(
    window: QMainWindow,
    music: SessionMusic,
    infusion_window_fn: InfusionWindowFn | None = None,
    menu: QMenu | None = None,
) -> MusicUi:
    """See module docstring. `music` is the bedside's (kapmonitor.bedside.Bedside.music); its sound
    card is opened when the therapist's window is first shown, so a session without music never
    touches it. The action goes into `menu` (the window's Music menu), else a new Music menu."""
    ui = MusicUi(music, infusion_window_fn)
    if menu is None:
        menu = window.menuBar().addMenu("M&usic")
    action = QAction("Therapist window…", window)
    action.setShortcut(QKeySequence("Ctrl+M"))
    action.triggered.connect(ui.show_therapist_window)
    menu.addAction(action)
    ui.open_action = action
    return ui
