"""Window placement and alarm keys with real widgets offscreen (the real-desktop layer in tests/desktop/
checks the same under a window manager): dialogs and the therapist's window never cover the alarm
area or the tiles; F2/F3 act only in the nurse's window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from music_fixtures import FakePlayer
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox, QVBoxLayout

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import AlarmEventType
from kapmonitor.alarms.profile import default_profile
from kapmonitor.audio.controller import MusicController, MusicSettings
from kapmonitor.audio.playlist import Playlist
from kapmonitor.bedside import WindowFacts
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.model.trends import TrendStore
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.music.therapist_window import TherapistWindow
from kapmonitor.ui.placement import WindowPlacer, choose_frame, mark_therapist_window

T0 = 1_800_000_000.0


def _desk(width: int, height: int, nurse: QSize) -> tuple[QRect, QRect, list[QRect]]:
    """A screen, the nurse's window frame at its top-left, and its protected areas (the layout
    of the real window: alarm area across the top of the vitals, tiles right of the trend)."""
    available = QRect(0, 0, width, height)
    frame = QRect(QPoint(0, 0), nurse)
    alarm = QRect(1, 43, 805, 138)
    tiles = QRect(538, 185, 262, nurse.height() - 217)
    return available, frame, [alarm, tiles]


@pytest.mark.parametrize("screen", [(1280, 800), (1920, 1080), (1024, 700)])
@pytest.mark.parametrize("dialog", [(420, 300), (640, 520), (900, 700)])
def test_a_dialog_never_lands_on_the_alarm_area_or_the_tiles(screen: tuple[int, int], dialog: tuple[int, int]) -> None:
    available, nurse, protected = _desk(*screen, nurse=QSize(min(1280, screen[0]), min(800, screen[1])))
    size = QSize(*dialog)
    frame = choose_frame(size, QSize(300, 200), available, nurse, protected)
    assert not frame.intersects(protected[0])  # the alarm area, always
    if frame.size() == size and dialog != (900, 700):  # a dialog that fits beside the vitals
        assert not frame.intersects(protected[1])
    assert available.contains(frame) or frame.size() == frame.size().expandedTo(QSize(300, 200))


def test_at_1920_a_dialog_opens_beside_the_nurses_window() -> None:
    available, nurse, protected = _desk(1920, 1080, QSize(1280, 800))
    frame = choose_frame(QSize(600, 500), QSize(300, 200), available, nurse, protected)
    assert not frame.intersects(nurse) and available.contains(frame)


def test_a_window_too_big_for_the_free_room_is_shrunk_below_the_alarm_area() -> None:
    available, nurse, protected = _desk(1280, 800, QSize(1280, 800))
    frame = choose_frame(QSize(1000, 780), QSize(900, 500), available, nurse, protected)
    assert frame.top() > protected[0].bottom() and available.contains(frame)
    assert frame.width() >= 900 and frame.height() >= 500


def _engine_with_high_alarm() -> AlarmEngine:
    engine = AlarmEngine(default_profile(), ManualClock(T0))
    engine.on_items([VitalSample(T0, Parameter.NIBP_SYS, 195, measurement_id="m1"),
                     VitalSample(T0, Parameter.NIBP_DIA, 90, measurement_id="m1")])
    return engine


@pytest.fixture
def nurse(qtbot):  # type: ignore[no-untyped-def]
    engine = _engine_with_high_alarm()
    window = MainWindow(WindowFacts(
            TrendStore(), default_profile(), session_start=T0, now_fn=lambda: T0, simulated=True,
                        device="test", engine=engine, who_fn=lambda: "AB"))
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.move(0, 0)
    window.show()
    qtbot.waitExposed(window)
    window.refresh_fast()
    placer = WindowPlacer(window)
    QApplication.instance().installEventFilter(placer)  # type: ignore[union-attr]
    yield window, engine, placer
    QApplication.instance().removeEventFilter(placer)  # type: ignore[union-attr]


def _covers(window: MainWindow, frame: QRect) -> list[QRect]:
    return [r for r in window.protected_rects() if frame.intersects(r)]


def test_dialogs_and_message_boxes_open_clear_of_alarms_and_tiles(nurse, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, _engine, _placer = nurse
    dialog = QDialog(window)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("A limit change, say"))
    dialog.resize(600, 450)
    dialog.open()  # Qt centres it over the window: over the tiles and the alarm bar without the placer
    qtbot.waitExposed(dialog)
    assert _covers(window, dialog.frameGeometry()) == []
    box = QMessageBox(QMessageBox.Icon.Warning, "End monitoring?", "Closing stops monitoring.", parent=window)
    box.open()
    qtbot.waitExposed(box)
    assert _covers(window, box.frameGeometry()) == []


def test_dialogs_stay_clear_when_more_alarms_arrive(nurse, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, engine, _placer = nurse
    dialog = QDialog(window)
    dialog.resize(300, 200)
    dialog.open()
    qtbot.waitExposed(dialog)
    clock = engine._clock  # type: ignore[attr-defined]
    for _ in range(30):  # two more alarm rows
        clock.advance(1.0)
        engine.on_items([VitalSample(clock.now(), Parameter.HR, 30), VitalSample(clock.now(), Parameter.SPO2, 70)])
    window.refresh_fast()
    qtbot.waitUntil(lambda: len(window.alarm_bar.row_texts()) >= 2)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: _covers(window, dialog.frameGeometry()) == [], timeout=2000)


@pytest.fixture
def therapist(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    controller = MusicController(Playlist(), FakePlayer(), MusicSettings())
    start = time.time()
    w = TherapistWindow(controller, lambda: (start, start + 2400))
    mark_therapist_window(w)
    qtbot.addWidget(w)
    return w


def test_the_therapist_window_keeps_off_the_alarm_area(nurse, therapist, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, _engine, _placer = nurse
    therapist.show()
    qtbot.waitExposed(therapist)
    assert not therapist.frameGeometry().intersects(window.alarm_area_rect())


def _activate(qtbot, w) -> None:  # type: ignore[no-untyped-def]
    w.raise_()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)


def test_f2_f3_in_the_therapist_window_change_nothing(nurse, therapist, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, engine, _placer = nurse
    therapist.show()
    qtbot.waitExposed(therapist)
    _activate(qtbot, therapist)
    qtbot.keyClick(therapist, Qt.Key.Key_F2)
    qtbot.keyClick(therapist, Qt.Key.Key_F3)
    assert not any(a.acknowledged for a in engine.active_alarms())
    assert engine.audio_paused_until is None
    assert not [e for e in engine.events() if e.event in (AlarmEventType.ACKNOWLEDGED, AlarmEventType.AUDIO_PAUSED)]
    # in the nurse's window the same keys act
    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F2)
    qtbot.keyClick(window, Qt.Key.Key_F3)
    assert all(a.acknowledged for a in engine.active_alarms())
    assert engine.audio_paused_until is not None



def test_f2_acts_in_the_nurses_dialogs_but_not_in_the_therapists(nurse, therapist, qtbot) -> None:  # type: ignore[no-untyped-def]
    window, engine, _placer = nurse
    therapist.show()
    qtbot.waitExposed(therapist)
    theirs = QMessageBox(QMessageBox.Icon.Question, "Take-home playlist", "Export?", parent=therapist)
    theirs.open()
    qtbot.waitExposed(theirs)
    _activate(qtbot, theirs)
    qtbot.keyClick(theirs, Qt.Key.Key_F2)
    qtbot.keyClick(theirs, Qt.Key.Key_F3)
    assert not any(a.acknowledged for a in engine.active_alarms()) and engine.audio_paused_until is None
    theirs.close()
    ours = QDialog(window)  # a modal dialog of the nurse's blocks her window: the keys go with it
    ours.setModal(True)
    ours.open()
    qtbot.waitExposed(ours)
    _activate(qtbot, ours)
    qtbot.keyClick(ours, Qt.Key.Key_F2)
    qtbot.keyClick(ours, Qt.Key.Key_F3)
    assert all(a.acknowledged for a in engine.active_alarms())
    assert engine.audio_paused_until is not None


def test_with_a_second_screen_the_therapist_window_goes_there(tmp_path: Path) -> None:
    """A real two-screen layout of Qt's offscreen platform, in a child process (the platform is per process)."""
    screen = {"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1, "width": 1280, "height": 800, "y": 0}
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [{**screen, "name": "nurse", "x": 0},
                                              {**screen, "name": "therapist", "x": 1280}]}))
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(tests / "placement_screens_worker.py")], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    placed = json.loads(done.stdout.strip().splitlines()[-1])
    assert placed["nurse"]["screen"] == "nurse"
    assert placed["therapist"]["screen"] == "therapist"
    x, _y, w, _h = placed["therapist"]["frame"]
    assert x >= 1280 and x + w <= 2560  # wholly on the second screen
    assert placed["dialog"]["screen"] == "nurse"  # the nurse's dialogs stay with her


def test_the_placers_delayed_fits_never_run_after_the_window_is_gone(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: the re-fit timers (200 ms, 1 s) and a dialog's 250-ms re-check ran after their window
    was deleted (a second app in one test process raised RuntimeError, once segfaulted). Each timer has
    its window or placer as context now: deleted with it, it never fires (pytest-qt fails the test on
    an exception in a timer callback)."""
    from PySide6.QtWidgets import QMainWindow

    from kapmonitor.ui.placement import install_window_placement

    window = QMainWindow()
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    placer = install_window_placement(window)
    dialog = QDialog(window)
    dialog.resize(300, 200)
    dialog.show()  # placed, and a re-check 250 ms later
    qtbot.waitExposed(dialog)
    destroyed: list[bool] = []
    placer.destroyed.connect(lambda *_a: destroyed.append(True))
    window.deleteLater()  # the placer and the dialog go with it
    qtbot.waitUntil(lambda: destroyed == [True], timeout=2000)
    qtbot.wait(1200)  # past every delayed fit and re-check


def test_no_dialog_covers_the_status_bar(nurse, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: the status bar (link, recording, clock) is protected like the alarm area: the
    1000-px Alarm history once covered the clock."""
    window, _engine, placer = nurse
    status = window.statusBar()
    bar = QRect(status.mapToGlobal(QPoint(0, 0)), status.size())
    assert status.isVisible() and bar in placer.protected_rects()
    for size in ((1000, 500), (600, 450), (420, 300)):
        dialog = QDialog(window)
        dialog.resize(*size)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert not dialog.frameGeometry().intersects(bar), (size, dialog.frameGeometry(), bar)
        assert _covers(window, dialog.frameGeometry()) == []
        dialog.close()
