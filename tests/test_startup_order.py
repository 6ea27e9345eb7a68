"""Start-up order: monitoring and alarms run before the window is built, the window is painted
before the alarm sound device is opened (PortAudio's start-up no longer delays the first paint), and
the alarm sound is then opened without anyone asking. Real MonitorApplication offscreen; the sound
device is a stand-in stream (the real device is exercised by the sound tests on the null sink)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import RealClock


class _Stream:
    def __init__(self, **kwargs: Any) -> None:
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        pass


def test_the_window_paints_before_the_alarm_sound_opens_and_the_sound_then_opens(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, monkeypatch) -> None:
    from kapmonitor.ui.app import MonitorApplication

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = RealClock()
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", None)
    order: list[str] = []
    opened: list[_Stream] = []

    def factory(**kwargs: Any) -> _Stream:
        order.append("sound opened")
        opened.append(_Stream(**kwargs))
        return opened[-1]

    monkeypatch.setattr(app.bedside.sounder, "_factory", factory)

    class Painted(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "painted" not in order:
                order.append("painted")
            return False

    watcher = Painted()
    app.qt_app.installEventFilter(watcher)
    try:
        app.start(sound=True)
        assert app.window is not None
        qtbot.addWidget(app.window)
        assert app.bedside.pipeline.alarms is not None and app.bedside.supervisor is not None
        qtbot.waitUntil(lambda: "sound opened" in order, timeout=5000)
        assert order[:2] == ["painted", "sound opened"]
        assert opened[0].active and app.bedside.sounder.failure is None
    finally:
        app.qt_app.removeEventFilter(watcher)
        app.stop()
    app.bedside.start_sound()  # a late call after stop opens nothing
    assert len(opened) == 1


def test_start_up_imports_leave_the_course_view_for_when_it_is_opened() -> None:
    """The course view (course report, export tables), the session panel and the dialogs are imported
    when first opened, not before the first paint; a fresh interpreter importing the application shows it."""
    import subprocess
    import sys

    later = ("kapmonitor.ui.course.view", "kapmonitor.course.report", "kapmonitor.ui.export.dialog",
             "kapmonitor.ui.monitor.connection_dialog", "kapmonitor.ui.music.therapist_window",
             "kapmonitor.ui.session.panel", "kapmonitor.ui.alarms.output_dialog", "kapmonitor.ui.session.resume")
    code = f"import sys, kapmonitor.ui.app; print(sorted(m for m in {later!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}, check=True)
    assert out.stdout.strip() == "[]"


def test_the_course_button_still_opens_the_course_view(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.model.clock import ManualClock
    from kapmonitor.session import NurseSession, demo_setup
    from kapmonitor.ui.session.panel import SessionSidePanel

    session = NurseSession.create(demo_setup().with_changes(simulated=False), ManualClock(1_700_000_000.0),
                                  path=tmp_path / "s.kapsession")
    try:
        panel = SessionSidePanel(session, folder=tmp_path)
        qtbot.addWidget(panel)
        dialog = panel.open_course()
        qtbot.addWidget(dialog)
        assert type(dialog).__name__ == "CourseView"
        dialog.close()
    finally:
        session.shutdown()


def test_an_alarm_raised_at_start_up_is_on_the_first_painted_screen_and_the_panel_follows(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, monkeypatch) -> None:
    """Start-up defers the session panel to after the first paint, never the alarms: an alarm raised
    right after start() is in the alarm bar when the bar is first painted; the panel comes after."""
    from kapmonitor.alarms.profile import Priority
    from kapmonitor.ui.app import MonitorApplication
    from kapmonitor.ui.session.panel import SessionSidePanel

    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = RealClock()
    app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, tmp_path / "s.db", None)
    seen: dict[str, object] = {}

    class FirstBarPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            window = app.window
            bar = None if window is None else window.alarm_bar
            if (event.type() == QEvent.Type.Paint and "rows" not in seen and bar is not None
                    and (watched is bar or bar.isAncestorOf(watched))):  # type: ignore[arg-type]
                seen["rows"] = bar.row_texts()
                seen["panel"] = app.session_controller.panel if app.session_controller is not None else None
            return False

    watcher = FirstBarPaint()
    app.qt_app.installEventFilter(watcher)
    try:
        app.start(sound=False)
        assert app.window is not None and app.session_controller is not None
        qtbot.addWidget(app.window)
        app.bedside.alarms.report_technical("startup-test", "alarm raised at start-up", Priority.HIGH)
        assert app.session_controller.menu is not None  # the Session menu is there at once
        qtbot.waitUntil(lambda: "rows" in seen, timeout=5000)
        assert any("alarm raised at start-up" in text for text in seen["rows"])  # type: ignore[attr-defined]
        assert seen["panel"] is None  # the panel was not yet built when the alarm bar was first painted
        qtbot.waitUntil(lambda: isinstance(app.session_controller.panel, SessionSidePanel), timeout=5000)
        assert app.session_controller.stack.currentWidget() is app.session_controller.panel
    finally:
        app.qt_app.removeEventFilter(watcher)
        app.stop()


def test_garbage_is_collected_rarely_while_starting_and_as_usual_once_painted(tmp_path: Path) -> None:
    """The collector's threshold is raised from the GUI's import to the first paint (~40 ms less
    start-up), then Python's own again; a fresh interpreter shows both."""
    import os
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from pathlib import Path\n"
        "usual = gc.get_threshold()\n"
        "from kapmonitor.ui.app import MonitorApplication\n"
        "from kapmonitor.drivers.base import DriverOptions\n"
        "from kapmonitor.drivers.simulator import SimulatedMonitor\n"
        "from kapmonitor.model.clock import RealClock\n"
        "from PySide6.QtCore import QTimer\n"
        "starting = gc.get_threshold()\n"
        "clock = RealClock()\n"
        "app = MonitorApplication(SimulatedMonitor(DriverOptions(), clock), clock, Path(sys.argv[1]), None)\n"
        "app.start(sound=False)\n"
        "while_building = gc.get_threshold()\n"
        "seen = []\n"
        "def check():\n"
        "    if app.session_controller.panel is not None:\n"  # built right after the first paint
        "        seen.append(gc.get_threshold()); app.qt_app.exit(0)\n"
        "timer = QTimer(); timer.timeout.connect(check); timer.start(20)\n"
        "QTimer.singleShot(10000, lambda: app.qt_app.exit(1))\n"
        "app.exec()\n"
        "import json; print(json.dumps([usual, starting, while_building, seen]))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(tmp_path / "data"),
               KAPMONITOR_CONFIG_DIR=str(tmp_path / "config"))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.db")], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    usual, starting, while_building, seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert starting[0] == while_building[0] == 200_000 > usual[0]
    assert seen == [usual]  # Python's own threshold once the window is painted


def test_without_the_application_the_usual_collection_returns_after_the_first_one() -> None:
    """A process importing the GUI without the nurse's window (the central station) is not left with
    the start-up threshold: the first collection puts Python's own back."""
    import json
    import subprocess
    import sys

    code = (
        "import gc, json\n"
        "usual = gc.get_threshold()\n"
        "import kapmonitor.ui\n"
        "raised = gc.get_threshold()\n"
        "keep = [[i] for i in range(250_000)]\n"  # more allocations than the start-up threshold
        "print(json.dumps([usual, raised, gc.get_threshold(), len(gc.callbacks)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    usual, raised, after, callbacks = json.loads(out.stdout.strip().splitlines()[-1])
    assert raised[0] == 200_000 > usual[0]
    assert after == usual and callbacks == 0
