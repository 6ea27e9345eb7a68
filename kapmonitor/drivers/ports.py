"""The serial ports this computer has, as the operating system reports them (for `kapmonitor ports`
and the Monitor connection dialog).

Opens nothing, so it is safe while a monitor is connected and in use. Pseudo-terminals (/dev/pts/N,
e.g. from socat or the emulators) are not listed; name them with --port directly. Thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_PTY_NOTE = (
    "pseudo-terminals (/dev/pts/N, e.g. from socat or `kapmonitor emulate`) are not listed; pass them with --port"
)

# USB-serial chips often found in monitor cables and adapters (informational only)
KNOWN_CHIPS: dict[int, str] = {
    0x0403: "FTDI",
    0x067B: "Prolific",
    0x10C4: "Silicon Labs CP210x",
    0x1A86: "WCH CH340",
}


@dataclass(frozen=True)
class PortInfo:
    """One serial port as the OS describes it."""

    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else ""

    def label(self) -> str:
        """One line for a combo box or a listing."""
        parts = [self.device]
        if self.description and self.description != "n/a" and self.description != self.device:
            parts.append(self.description)
        if self.usb_id:
            chip = KNOWN_CHIPS.get(self.vid or -1)
            parts.append(f"USB {self.usb_id}" + (f" ({chip})" if chip else ""))
        return " - ".join(parts)


def list_serial_ports() -> list[PortInfo]:
    """The serial ports the OS reports, sorted by device name. Opens none of them. Thread-safe."""
    from serial.tools import list_ports

    ports = [
        PortInfo(
            device=p.device,
            description=p.description or "",
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            manufacturer=p.manufacturer,
        )
        for p in list_ports.comports()
    ]
    return sorted(ports, key=lambda p: p.device)
