"""`kapmonitor ports`: the serial ports this computer has, with description and USB ids.

Lists what the operating system reports (serial.tools.list_ports) and opens nothing, so it is safe
while a monitor is connected and in use. Pseudo-terminals (/dev/pts/N, e.g. from socat or the
emulators) are not listed; name them with --port directly.
"""

from __future__ import annotations

import argparse
import sys

from kapmonitor.drivers.ports import NO_PTY_NOTE, list_serial_ports


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
