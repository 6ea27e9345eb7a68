"""The Monitor connection dialog with the hl7 driver: a network port instead of a serial one, and
"Test connection" against the HL7 emulator over loopback TCP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from kapmonitor.drivers.hl7.emulator import run_emulator
from kapmonitor.model.parameters import Parameter
from kapmonitor.ui.monitor.connection_dialog import ConnectionChoice, ConnectionDialog

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sending_monitor() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    stop = threading.Event()
    t = threading.Thread(target=run_emulator, args=(f"tcp:127.0.0.1:{port}", "normal", 5.0, 2, stop),
                         kwargs={"dialect": "philips"}, daemon=True)
    t.start()
    yield port
    stop.set()
    t.join(5)


def test_hl7_asks_for_a_network_port_and_tests_it(qtbot, sending_monitor: int) -> None:  # type: ignore[no-untyped-def]
    dlg = ConnectionDialog(test_seconds=5.0)
    qtbot.addWidget(dlg)
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData("hl7"))
    assert dlg.port_combo.isEnabled() and not dlg.baud_combo.isEnabled()
    assert dlg.port_combo.currentText() == "listen:0.0.0.0:2575"
    assert dlg.port_label.text() == "Network port"
    assert "listen:" in dlg.driver_info.text() and "tcp:" in dlg.driver_info.text()
    port = f"listen:127.0.0.1:{sending_monitor}"
    dlg.port_combo.setEditText(port)
    assert dlg.selection() == ConnectionChoice("hl7", port, None)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.last_result is not None, timeout=20000)
    result = dlg.last_result
    assert result is not None
    assert result.ok, result.summary()
    assert Parameter.HR in result.values and Parameter.SPO2 in result.values
    assert dlg.result_label.text().startswith("Connected:")
    dlg.driver_combo.setCurrentIndex(dlg.driver_combo.findData("ge-s5"))
    assert dlg.port_combo.currentText() == ""  # a network address is not offered as a serial port
    assert dlg.port_label.text() == "Serial port"
