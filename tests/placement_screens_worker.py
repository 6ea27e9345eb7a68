"""Run in a child process by tests/test_window_placement.py with an offscreen platform of two screens
(QT_QPA_PLATFORM=offscreen:configfile=...): opens the nurse's window, the therapist's window and a
dialog, and prints where each went as JSON."""

from __future__ import annotations

import json
import sys
import time

from music_fixtures import FakePlayer
from PySide6.QtWidgets import QApplication, QDialog

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import default_profile
from kapmonitor.audio.controller import MusicController, MusicSettings
from kapmonitor.audio.playlist import Playlist
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.music.therapist_window import TherapistWindow
from kapmonitor.ui.placement import install_window_placement, mark_therapist_window


def main() -> int:
    app = QApplication(sys.argv[:1])
    t0 = 1_800_000_000.0
    engine = AlarmEngine(default_profile(), ManualClock(t0))
    nurse = MainWindow(WindowFacts(TrendStore(), default_profile(), session_start=t0, now_fn=lambda: t0, simulated=True,
                       device="test", engine=engine))
    install_window_placement(nurse)
    nurse.move(0, 0)
    nurse.show()
    therapist = TherapistWindow(MusicController(Playlist(), FakePlayer(), MusicSettings()), None)
    mark_therapist_window(therapist)
    therapist.show()
    dialog = QDialog(nurse)
    dialog.resize(400, 300)
    dialog.show()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        app.processEvents()

    def where(w: object) -> dict[str, object]:
        assert isinstance(w, (MainWindow, TherapistWindow, QDialog))
        g = w.frameGeometry()
        screen = w.screen()
        return {"screen": screen.name() if screen is not None else None, "frame": [g.x(), g.y(), g.width(), g.height()]}

    print(json.dumps({"nurse": where(nurse), "therapist": where(therapist), "dialog": where(dialog)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
