"""The Monitor connection dialog: wiring notes for every driver, the dialog fits a 1280x800 screen,
and Test connection works for the HL7 client mode (tcp:) and the Ivy 450C over a real PTY."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ge_s5_support import EmulatorThread, PtyPair
from PySide6.QtCore import Qt

from kapmonitor.drivers.hl7.emulator import run_emulator as run_hl7
from kapmonitor.drivers.ivy.emulator import run_emulator as run_ivy
from kapmonitor.drivers.registry import available_drivers
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui.monitor.connection_dialog import WIRING_NOTES, ConnectionChoice, ConnectionDialog

pytestmark = pytest.mark.timeout(90)

# what a technician must find for each monitor (from the README's sections)
MUST_SAY = {
    "ge-s5": ("null-modem", "RTS/CTS", "19200 8E1"),
    "philips-intellivue": ("DtOut1", "Fix 115200", "RJ45"),
    "hl7": ("listen:0.0.0.0:2575", "tcp:UNIT-IP:PORT", "acknowledgement on", "MLLP", ";bed=NAME"),
    "masimo-ascii1": ("ASCII 1", "9600 8N1", "null-modem", "Root"),
    "ivy-450c": ("9600 8N1", "RS-232"),
}


def _choose(dlg: ConnectionDialog, driver: str) -> None:
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData(driver))


def test_every_driver_has_wiring_notes_shown_in_the_dialog(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert set(available_drivers()) <= set(WIRING_NOTES)
    dlg = ConnectionDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    for driver, needles in MUST_SAY.items():
        _choose(dlg, driver)
        qtbot.wait(10)
        text = dlg.wiring_label.text()
        for needle in needles:
            assert needle in text, (driver, needle)
        assert dlg.wiring_label.isVisible()
        # the longest notes still leave the dialog on a 1280x800 screen
        assert dlg.sizeHint().height() <= 760 and dlg.minimumSizeHint().width() <= 1200, driver


@pytest.fixture
def listening_monitor() -> Iterator[int]:
    """An HL7 unit that waits for kapmonitor to connect (as a Nihon Kohden does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    stop = threading.Event()
    t = threading.Thread(target=run_hl7, args=(f"listen:127.0.0.1:{port}", "normal", 5.0, 3, stop),
                         kwargs={"dialect": "nihon-kohden"}, daemon=True)
    t.start()
    yield port
    stop.set()
    t.join(5)


def test_hl7_client_mode_test_connection(qtbot, listening_monitor: int) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(test_seconds=5.0)
    qtbot.addWidget(dlg)
    _choose(dlg, "hl7")
    port = f"tcp:127.0.0.1:{listening_monitor}"
    dlg.port_combo.setEditText(port)
    assert dlg.selection() == ConnectionChoice("hl7", port, None)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=20000)
    result = dlg.last_result
    assert result is not None and result.ok, result.summary()
    assert Parameter.HR in result.values and dlg.result_label.text().startswith("Connected:")


def test_ivy_test_connection_over_a_pty(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pty = PtyPair(tmp_path)
    emulator = EmulatorThread(run_ivy, pty.monitor_end, speed=5.0, seed=2)
    try:
        dlg = ConnectionDialog(test_seconds=3.0)
        qtbot.addWidget(dlg)
        _choose(dlg, "ivy-450c")
        assert [dlg.baud_combo.itemData(i) for i in range(dlg.baud_combo.count())] == [9600]
        dlg.port_combo.setEditText(pty.pc_end)
        qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=15000)
        result = dlg.last_result
        assert result is not None and result.ok, result.summary()
        assert Parameter.SPO2 in result.values
        assert dlg.selection() == ConnectionChoice("ivy-450c", pty.pc_end, 9600)
    finally:
        emulator.halt()
        pty.close()
