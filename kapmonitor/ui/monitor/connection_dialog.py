"""Choosing the monitor: driver, serial port and baud rate, with a "Test connection" button.

The test runs `probe_connection` on a worker thread for a few seconds (the GUI stays responsive)
and reports what it found: frames decoded and values seen, or a clear reason (port cannot be
opened, monitor not answering, bytes but no frames, nothing at all). Listing ports opens none.
`selection()` gives the chosen driver, port and baud rate; in the running app, OK switches to it
at once and saves it for the next start (ui/monitor/connection_menu.py). GUI thread only, except
the worker, which only emits `_ProbeSignals.finished`.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.config import MonitorChoice
from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.errors import DriverError
from kapmonitor.drivers.ports import list_serial_ports
from kapmonitor.drivers.probe import ProbeResult, probe_connection
from kapmonitor.drivers.registry import available_drivers, driver_class

log = logging.getLogger(__name__)


ConnectionChoice = MonitorChoice  # what the dialog returns: driver, port, baud rate (saved in monitor.toml)

# How to wire and set up each monitor, shown under the driver (the README's "Connecting a monitor" in short)
WIRING_NOTES: dict[str, str] = {
    "simulated": "No cable: training data from the built-in simulator, never a patient's.",
    "ge-s5": (
        "<b>Cable:</b> null-modem with RTS/CTS into the rear \u201cComputer Interface\u201d 9-pin port "
        "(B20\u2013B125: female, TxD/RxD and RTS/CTS swapped; CARESCAPE B450\u2013B850: a USB-serial adapter "
        "in the monitor). <b>Settings:</b> 19200 8E1, RTS/CTS, fixed on the monitor (CARESCAPE sw 3+: 115200). "
        "Nothing to set on the monitor: kapmonitor requests the data."),
    "philips-intellivue": (
        "<b>Cable:</b> CAT-5 straight-through from the MIB/RS232 RJ45 jack into an RS-232 port or an FTDI "
        "USB adapter (MP20\u2013MP90: pin 4 GND, 5 TxD, 7 RxD; leave pin 1 (5 V) unconnected). "
        "<b>On the monitor</b> (Configuration/Service Mode): Main Setup \u2192 Hardware \u2192 Data Export: "
        "port <b>DtOut1</b>, <b>Fix 115200</b> (or Fix 19200). No flow control."),
    "hl7": (
        "<b>Network:</b> the monitor or gateway and this computer on one wired network, a fixed IP for this "
        "computer, incoming TCP allowed. <b>Monitor sends</b> (GE, Mindray, Philips Efficia, Comen, Edan): "
        "port <b>listen:0.0.0.0:2575</b>; on the monitor/gateway set server IP = this computer, port 2575, "
        "HL7 v2 with MLLP, <b>acknowledgement on</b>, periodic vitals. <b>kapmonitor connects</b> (Nihon "
        "Kohden): <b>tcp:UNIT-IP:PORT</b> (e.g. 7998, NK gateway 9001). A gateway with several beds: add "
        "<b>;bed=NAME</b> (PV1-3) to the port."),
    "masimo-ascii1": (
        "<b>Cable:</b> Rad-8/Rad-87: null-modem (2\u20133 crossed) from the rear 9-pin socket; Radical-7: the "
        "docking station\u2019s serial port; Root: Masimo USB data cable in USB port 1 or 2. "
        "<b>On the device:</b> serial output = <b>ASCII 1</b> (Rad-8 ships as ASCII 2: setup level 3, "
        "Serial Output; Root: Device Output \u2192 USB Port = ASCII 1, restart). <b>Settings:</b> 9600 8N1, "
        "no handshake (Root USB: 19200). No NIBP: enter it by hand."),
    "ivy-450c": (
        "<b>Cable:</b> the monitor\u2019s RS-232 serial output (cable from Ivy or the service manual; no "
        "published pinout) into a serial port or USB adapter. <b>Settings:</b> 9600 8N1, no handshake. "
        "The monitor streams by itself: nothing to set, nothing is sent to it."),
}


class _ProbeSignals(QObject):
    finished = Signal(object)  # ProbeResult, emitted from the worker thread (queued to the GUI)


def _settings_of(driver: str) -> tuple[SerialSettings | None, str, str]:
    """(serial settings, description, error) of a driver without creating it."""
    try:
        cls = driver_class(driver)
    except (DriverError, ImportError, AttributeError) as exc:  # a missing driver must not break the dialog
        return None, "", f"driver {driver} is not available: {exc}"
    return cls.serial_settings, cls.description, ""


def _network_port(driver: str) -> str | None:
    """The example port of a network driver (e.g. hl7: `listen:0.0.0.0:2575`), None for others."""
    try:
        cls = driver_class(driver)
    except (DriverError, ImportError, AttributeError):
        return None
    if not cls.network_port:
        return None
    return cls.default_port or None


class ConnectionDialog(QDialog):
    """Modal dialog; accepted with OK. `test_seconds` is how long "Test connection" listens."""

    def __init__(
        self,
        parent: QWidget | None = None,
        initial: ConnectionChoice | None = None,
        test_seconds: float = 4.0,
        busy_port: str | None = None,
    ) -> None:
        """`busy_port`: the port the running session reads; testing it would steal its bytes."""
        super().__init__(parent)
        self.busy_port = busy_port
        self.setWindowTitle("Monitor connection")
        self.setMinimumWidth(560)
        self.test_seconds = test_seconds
        self.last_result: ProbeResult | None = None
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._signals = _ProbeSignals(self)
        self._signals.finished.connect(self._on_probe_finished)

        self.driver_combo = QComboBox()
        for name in available_drivers():
            self.driver_combo.addItem(name, name)
        self.driver_info = QLabel()
        self.driver_info.setWordWrap(True)
        self.wiring_label = QLabel()  # cable, port settings, what to set on the monitor or gateway
        self.wiring_label.setWordWrap(True)
        self.wiring_label.setTextFormat(Qt.TextFormat.RichText)
        self.wiring_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.wiring_label.setObjectName("wiring")
        self.port_combo = QComboBox()
        self.port_combo.setEditable(True)
        self.port_combo.setToolTip("Serial port, e.g. /dev/ttyUSB0 or COM3; pseudo-terminals can be typed in")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_ports)
        self.baud_combo = QComboBox()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.start_test)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setMinimumHeight(60)

        port_row = QHBoxLayout()
        port_row.addWidget(self.port_combo, 1)
        port_row.addWidget(self.refresh_button)
        form = QFormLayout()
        form.addRow("Monitor driver", self.driver_combo)
        form.addRow("", self.driver_info)
        form.addRow("How to connect", self.wiring_label)
        self.port_label = QLabel("Serial port")  # "Network port" for a network driver (hl7)
        form.addRow(self.port_label, port_row)
        form.addRow("Baud rate", self.baud_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)

        self.driver_combo.currentIndexChanged.connect(self._driver_changed)
        self.refresh_ports()
        if initial is not None:
            i = self.driver_combo.findData(initial.driver)
            if i >= 0:
                self.driver_combo.setCurrentIndex(i)
            if initial.port:
                self.port_combo.setEditText(initial.port)
        self._driver_changed()
        if initial is not None and initial.baudrate:
            j = self.baud_combo.findData(initial.baudrate)
            if j >= 0:
                self.baud_combo.setCurrentIndex(j)

    # -- choices ---------------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        """Re-list the serial ports (opens none), keeping what was typed."""
        typed = self.port_combo.currentText()
        self.port_combo.clear()
        for p in list_serial_ports():
            self.port_combo.addItem(p.label(), p.device)
        if typed:
            self.port_combo.setEditText(typed)

    def _driver_changed(self) -> None:
        settings, description, error = _settings_of(self.current_driver())
        self.baud_combo.clear()
        serial_needed = settings is not None
        network = _network_port(self.current_driver())
        self.port_combo.setEnabled(serial_needed or network is not None)
        self.refresh_button.setEnabled(serial_needed)
        self.baud_combo.setEnabled(serial_needed)
        self.port_label.setText("Network port" if network is not None else "Serial port")
        network_text = self.port_combo.currentText().startswith(("listen:", "tcp:"))
        if network is not None and not network_text:
            self.port_combo.setEditText(network)
        elif network is None and network_text:
            self.port_combo.setEditText("")  # a network address is no serial port
        if settings is not None:
            for rate in (settings.baudrate, *settings.alternative_baudrates):
                self.baud_combo.addItem(f"{rate}", rate)
            flow = ", RTS/CTS" if settings.rtscts else ""
            bits = f"{settings.bytesize}{settings.parity}{settings.stopbits:g}"
            self.driver_info.setText(f"{description} ({bits}{flow})")
        elif network is not None:
            self.driver_info.setText(f"{description}: port listen:0.0.0.0:2575 (the monitor or gateway sends "
                                     "to this computer) or tcp:HOST:PORT (kapmonitor connects to the monitor)")
        else:
            self.driver_info.setText(error or description)
        notes = WIRING_NOTES.get(self.current_driver(), "See the README, \u201cConnecting a monitor\u201d.")
        self.wiring_label.setText(notes)
        self.result_label.setText("")

    def current_driver(self) -> str:
        return str(self.driver_combo.currentData() or self.driver_combo.currentText())

    def current_port(self) -> str | None:
        text = self.port_combo.currentText().strip()
        if not text:
            return None
        i = self.port_combo.findText(text)
        if i >= 0 and self.port_combo.itemData(i):
            return str(self.port_combo.itemData(i))  # a listed port: its device, not the label
        return text

    def selection(self) -> ConnectionChoice:
        """The driver, port and baud rate chosen (port/baud None for the simulator)."""
        settings, _, _ = _settings_of(self.current_driver())
        if settings is None and _network_port(self.current_driver()) is not None:
            return ConnectionChoice(self.current_driver(), self.current_port(), None)
        if settings is None:
            return ConnectionChoice(self.current_driver(), None, None)
        baud = self.baud_combo.currentData()
        return ConnectionChoice(self.current_driver(), self.current_port(), int(baud) if baud else None)

    # -- test connection -------------------------------------------------------------------------
    @property
    def testing(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start_test(self) -> None:
        if self.testing:
            return
        choice = self.selection()
        settings, _, error = _settings_of(choice.driver)
        if error:
            self.result_label.setText(error)
            return
        if (settings is not None or _network_port(choice.driver) is not None) and not choice.port:
            self.result_label.setText("Choose or type a serial port first.")
            return
        if choice.port and choice.port == self.busy_port:
            self.result_label.setText(
                f"{choice.port} is in use by the running session (its link state is shown in the status bar); "
                "a test would disturb it."
            )
            return
        self.test_button.setEnabled(False)
        self.buttons.setEnabled(False)
        self.result_label.setText(f"Testing {choice.port or choice.driver} for {self.test_seconds:.0f} s ...")
        self._stop.clear()
        signals = self._signals
        seconds = self.test_seconds
        stop = self._stop

        def work() -> None:
            result = probe_connection(choice.driver, choice.port, choice.baudrate, seconds, stop)
            signals.finished.emit(result)

        self._worker = threading.Thread(target=work, name="connection-test", daemon=True)
        self._worker.start()

    @Slot(object)
    def _on_probe_finished(self, result: ProbeResult) -> None:
        self.last_result = result
        self.result_label.setText(result.summary())
        color = "#1a8f1a" if result.ok else "#c02020"
        self.result_label.setStyleSheet(f"color: {color};")
        self.test_button.setEnabled(True)
        self.buttons.setEnabled(True)
        log.info("connection test: %s", result.summary())

    def done(self, r: int) -> None:
        """Closing stops a running test (its worker ends within a read timeout)."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(2.0)
        super().done(r)
