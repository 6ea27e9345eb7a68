"""Monitor ▸ Monitor connection… in the running app: test a GE S/5 (emulated on a real pty pair),
switch to it without a restart, back to the simulator, and start with it next time. NIBP on demand
(F5) only where the monitor can start the cuff."""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair, wait_for
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from kapmonitor.config import MonitorChoice, load_monitor_choice, save_monitor_choice
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.emulator import run_emulator
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def shut(app) -> None:  # type: ignore[no-untyped-def]
    """Stop the app and take its window placer (an application-wide event filter) off the application;
    the placer's delayed re-fits have the placer as context, so none runs after the window is gone."""
    app.stop()
    placer = getattr(app, "placer", None)
    if placer is not None:
        app.qt_app.removeEventFilter(placer)


@pytest.fixture
def ge_monitor(tmp_path: Path) -> Iterator[str]:
    pair = PtyPair(tmp_path)
    emu = EmulatorThread(run_emulator, pair.monitor_end, speed=1.0)
    yield pair.pc_end
    emu.halt()
    pair.close()


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


def choose(qtbot, app, driver: str, port: str | None, test: bool = False):  # type: ignore[no-untyped-def]
    """Open the dialog from the menu, pick `driver` and `port`, optionally test, press OK."""
    app.connection_menu.action.trigger()
    dlg = app.connection_menu.dialog
    assert dlg.isVisible() and not dlg.isModal()  # alarms can be acknowledged meanwhile
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData(driver))
    if port is not None:
        dlg.port_combo.setEditText(port)
    if test:
        dlg.test_seconds = 8.0  # room for a busy machine
        qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=20000)
        assert dlg.last_result.ok, dlg.last_result.summary()
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    return dlg


def test_switch_simulator_to_ge_and_back_from_the_gui(qtbot, dirs: Path, ge_monitor: str) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.ui.app import MonitorApplication
    from kapmonitor.ui.main_window import NIBP_NOT_POSSIBLE

    clock = RealClock()
    app = MonitorApplication(SimulatedMonitor(DriverOptions(seed=1), clock), clock, None, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        sim_record = app.bedside.pipeline.recorder.path
        demo = app.session_controller.session
        assert demo is not None and demo.simulated and window.nibp_action.isEnabled()
        assert window.simulated_banner is not None and window.simulated_banner.isVisible()

        choose(qtbot, app, "ge-s5", ge_monitor, test=True)
        assert app.bedside.driver.name == "ge-s5" and app.bedside.pipeline.reader.driver is app.bedside.driver
        real_record = app.bedside.pipeline.recorder.path
        assert real_record != sim_record and not real_record.name.endswith("-sim.db")
        assert not window.simulated_banner.isVisible() and "SIMULATED" not in window.windowTitle()
        assert "GE Datex-Ohmeda" in window.device_label.text() and ge_monitor in window.device_label.text()
        assert app.session_controller.session is None  # the demo stays in its own record
        assert window.store is app.bedside.pipeline.trends and window.store.latest(Parameter.HR) is None
        assert "new session record" in app.connection_menu.message.text()
        # NIBP on demand is not offered: a GE S/5 cannot start the cuff from kapmonitor
        assert not window.nibp_action.isEnabled() and window.nibp_action.toolTip() == NIBP_NOT_POSSIBLE
        assert load_monitor_choice() == (MonitorChoice("ge-s5", ge_monitor, 19200), None)
        assert wait_for(lambda: (qtbot.wait(50) or True) and window.store.latest(Parameter.HR) is not None, 20)

        choose(qtbot, app, "simulated", None)
        assert app.bedside.driver.is_simulated and window.simulated_banner.isVisible()
        assert "SIMULATED" in window.windowTitle() and window.nibp_action.isEnabled()
        back = app.bedside.pipeline.recorder.path
        assert back.name.endswith("-sim.db") and back not in (sim_record, real_record)
        session = app.session_controller.session
        assert session is not None and session.simulated and session is not demo
        assert load_monitor_choice() == (MonitorChoice("simulated", None, None), None)
    finally:
        shut(app)
    con = sqlite3.connect(real_record)
    try:
        assert {r[0] for r in con.execute("SELECT DISTINCT source FROM samples")} == {"monitor"}
        assert con.execute("SELECT count(*) FROM session_info").fetchone()[0] == 0  # the demo never wrote here
    finally:
        con.close()


def test_f5_on_a_monitor_that_cannot_start_the_cuff_says_so(qtbot, dirs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.drivers.ge_s5.driver import GeS5Driver
    from kapmonitor.ui.app import MonitorApplication
    from kapmonitor.ui.main_window import NIBP_NOT_POSSIBLE

    clock = RealClock()
    app = MonitorApplication(GeS5Driver(DriverOptions(port=str(tmp_path / "no-port")), clock), clock, None, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        assert not window.nibp_action.isEnabled() and "start it on the monitor" in window.nibp_action.text()
        qtbot.keyClick(window, Qt.Key.Key_F5)
        assert window.statusBar().currentMessage() == NIBP_NOT_POSSIBLE
        assert "requested" not in window.statusBar().currentMessage()
    finally:
        shut(app)


def test_f5_on_the_simulator_starts_the_cuff(qtbot, dirs: Path) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.ui.app import MonitorApplication

    clock = RealClock()
    driver = SimulatedMonitor(DriverOptions(seed=1), clock)
    app = MonitorApplication(driver, clock, None, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        assert wait_for(lambda: driver.patient is not None, 5)
        qtbot.keyClick(window, Qt.Key.Key_F5)
        assert window.statusBar().currentMessage() == "NIBP measurement requested"
        assert wait_for(lambda: (qtbot.wait(50) or True) and window.store.nibp_measuring_since() is not None, 10)
    finally:
        shut(app)


def test_the_saved_monitor_is_used_at_the_next_start(dirs: Path, ge_monitor: str) -> None:
    from kapmonitor.cli import apply_saved_monitor, build_parser

    save_monitor_choice(MonitorChoice("ge-s5", ge_monitor, None))

    def parsed(*argv: str) -> argparse.Namespace:
        args = build_parser().parse_args(["run", *argv])
        apply_saved_monitor(args)
        return args

    assert (parsed().driver, parsed().port) == ("ge-s5", ge_monitor)
    assert parsed("--driver", "simulated").driver == "simulated"  # --driver wins
    assert parsed("--scenario", "hypertensive").driver == "simulated"  # a scenario means the simulator
    # the real program: no --driver, and it reads the saved GE S/5 into a patient's record
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(dirs / "data"),
               KAPMONITOR_CONFIG_DIR=str(dirs / "config"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--screenshot", str(dirs / "shot.png"),
                           "--screenshot-after", "4"], env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    (record,) = (dirs / "data" / "sessions").glob("*.db")
    con = sqlite3.connect(record)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta"))
        assert meta["driver"] == "ge-s5" and meta["port"] == ge_monitor and meta["simulated"] == "0"
        assert con.execute("SELECT count(*) FROM samples WHERE source = 'monitor'").fetchone()[0] > 0
    finally:
        con.close()


def test_a_broken_saved_monitor_falls_back_to_the_simulator(dirs: Path) -> None:
    from kapmonitor.cli import apply_saved_monitor, build_parser

    (dirs / "config").mkdir()
    (dirs / "config" / "monitor.toml").write_text("[monitor]\nport = 5\n")
    choice, problem = load_monitor_choice()
    assert choice is None and problem is not None and "driver" in problem
    args = build_parser().parse_args(["run"])
    assert apply_saved_monitor(args) is False and args.driver == "simulated"


def test_leaving_a_patient_mid_infusion_for_the_simulator_is_confirmed(qtbot, dirs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from PySide6.QtWidgets import QMessageBox

    from kapmonitor.drivers.ge_s5.driver import GeS5Driver
    from kapmonitor.session.model import demo_setup
    from kapmonitor.ui.app import MonitorApplication

    clock = RealClock()
    app = MonitorApplication(GeS5Driver(DriverOptions(port=str(tmp_path / "no-port")), clock), clock, None, None)
    app.start(sound=False)
    try:
        window = app.window
        qtbot.addWidget(window)
        setup = dataclasses.replace(demo_setup(), pseudonym="KAP-0007", simulated=False)
        session = app.session_controller.start_session(setup, on_duty="AB")
        session.start_infusion(who="AB", override_reason="test")
        record = app.bedside.pipeline.recorder.path

        choose(qtbot, app, "simulated", None)
        box = app.connection_menu.question
        qtbot.waitUntil(box.isVisible)
        assert "infusion is running" in box.text() and box.defaultButton().text() == "Keep this monitor"
        qtbot.keyClick(box.focusWidget() or box, Qt.Key.Key_Return)  # Enter keeps the patient's monitor
        qtbot.waitUntil(lambda: not box.isVisible())
        assert app.bedside.driver.name == "ge-s5" and app.bedside.pipeline.recorder.path == record
        assert app.session_controller.session is session

        choose(qtbot, app, "simulated", None)
        box = app.connection_menu.question
        qtbot.waitUntil(box.isVisible)
        go = next(b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.DestructiveRole)
        qtbot.mouseClick(go, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: app.bedside.driver.is_simulated)
        assert app.bedside.pipeline.recorder.path != record and window.simulated_banner.isVisible()
        assert app.session_controller.session is not session  # set aside in its own record
    finally:
        shut(app)
    from kapmonitor.session.storage import find_unfinished_sessions

    assert [s.path for s in find_unfinished_sessions(record.parent)] == [record]  # offered at the next start


def test_a_saved_monitor_that_is_unplugged_still_starts_monitoring(dirs: Path) -> None:
    """The saved monitor's adapter is missing at the start: the window opens anyway (reconnecting),
    where an explicit --port that cannot be opened is refused."""
    save_monitor_choice(MonitorChoice("philips-intellivue", str(dirs / "ttyUSB-gone"), None))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KAPMONITOR_DATA_DIR=str(dirs / "data"),
               KAPMONITOR_CONFIG_DIR=str(dirs / "config"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "kapmonitor", "run", "--screenshot", str(dirs / "shot.png"),
                           "--screenshot-after", "1"], env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert "ttyUSB-gone" in done.stderr and "retrying while the window runs" in done.stderr
    (record,) = (dirs / "data" / "sessions").glob("*.db")
    con = sqlite3.connect(record)
    try:
        assert dict(con.execute("SELECT key, value FROM meta"))["driver"] == "philips-intellivue"
        assert con.execute("SELECT count(*) FROM link_events WHERE state = 'disconnected'").fetchone()[0] >= 1
    finally:
        con.close()
