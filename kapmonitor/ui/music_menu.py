"""Puts session music into the main window: the Music menu and the therapist's window.

`install_music_ui(window, ...)` builds the music (kapmonitor.audio.session_music), adds
"Music > Therapist window…" (Ctrl+M) to `window.music_menu` (or a new Music menu), and returns a
`MusicUi` whose `track_bands()` feeds the nurse's trend plot. The therapist's window is its own
top-level window, placed on a second screen when there is one.

GUI thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from kapmonitor.audio.controller import Recorder
from kapmonitor.audio.session_music import SessionMusic, create_session_music
from kapmonitor.audio.timeline import Band, track_bands
from kapmonitor.ui.placement import mark_therapist_window
from kapmonitor.ui.therapist_window import InfusionWindowFn, TherapistWindow

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
    recorder: Recorder | None = None,
    infusion_window_fn: InfusionWindowFn | None = None,
    clock: Callable[[], float] = time.time,
    playlist_path: Path | None = None,
    open_device: bool = False,
) -> MusicUi:
    """See module docstring. The sound card is opened when the therapist's window is first shown
    (or at once with `open_device=True`), so a session without music never touches it."""
    music = create_session_music(recorder=recorder, clock=clock, playlist_path=playlist_path, demo=False,
                                 open_device=open_device)
    ui = MusicUi(music, infusion_window_fn)
    menu = getattr(window, "music_menu", None)
    if not isinstance(menu, QMenu):
        bar = window.menuBar()
        menu = bar.addMenu("M&usic")
    action = QAction("Therapist window…", window)
    action.setShortcut(QKeySequence("Ctrl+M"))
    action.triggered.connect(ui.show_therapist_window)
    menu.addAction(action)
    ui.open_action = action
    return ui
