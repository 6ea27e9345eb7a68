"""Opening serial ports through `serial.serial_for_url`, so tests and users can name a device
(/dev/ttyUSB0, COM3), a pseudo-terminal, `loop://` or `socket://host:port` alike."""

from __future__ import annotations

import logging

import serial

from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.errors import PortOpenError

log = logging.getLogger(__name__)

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


def open_port(
    url: str, settings: SerialSettings, baudrate: int | None = None, timeout: float = 0.05
) -> serial.SerialBase:
    """Open `url` with the driver's settings. Raises PortOpenError with a one-line reason."""
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baudrate or settings.baudrate,
            bytesize=settings.bytesize,
            parity=_PARITY[settings.parity],
            stopbits=settings.stopbits,
            rtscts=settings.rtscts,
            timeout=timeout,
            write_timeout=1.0,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortOpenError(f"cannot open port {url}: {exc}") from exc
    log.info("opened %s at %s baud", url, port.baudrate)
    return port
