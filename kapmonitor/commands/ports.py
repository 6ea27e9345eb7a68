"""`kapmonitor ports`: the serial ports this computer has, with description and USB ids.

Lists what the operating system reports (serial.tools.list_ports) and opens nothing, so it is safe
while a monitor is connected and in use. Pseudo-terminals (/dev/pts/N, e.g. from socat or the
emulators) are not listed; name them with --port directly.
"""

from __future__ import annotations

import argparse
import sys
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true", help="also show manufacturer and serial number")


def run(args: argparse.Namespace) -> int:
    ports = list_serial_ports()
    if not ports:
        print(
            "no serial ports found: is the USB-serial adapter plugged in (and its driver installed)?", file=sys.stderr
        )
        print(f"note: {NO_PTY_NOTE}", file=sys.stderr)
        return 0
    rows = [("PORT", "DESCRIPTION", "USB VID:PID")] + [(p.device, p.description, p.usb_id or "-") for p in ports]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for k, row in enumerate(rows):
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        if args.verbose and k > 0:
            p = ports[k - 1]
            extra = [x for x in (p.manufacturer, f"serial {p.serial_number}" if p.serial_number else None) if x]
            if extra:
                line += "  (" + ", ".join(extra) + ")"
        print(line)
    print(f"note: {NO_PTY_NOTE}", file=sys.stderr)
    return 0
