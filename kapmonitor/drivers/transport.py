"""Opening serial ports through `serial.serial_for_url`, so tests and users can name a device
(/dev/ttyUSB0, COM3), a pseudo-terminal, `loop://` or `socket://host:port` alike.

One work-around lives here for every driver: on Linux, re-opening a pseudo-terminal whose
terminal settings are already exactly the ones asked for can fail with EINVAL from tcsetattr
(open, close, open again). Changing one flag first and retrying once makes it succeed; real
serial devices never take that path. Thread-safe (no shared state).
"""

from __future__ import annotations

import logging
import os

import serial

from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.errors import LinkLostError, PortOpenError

log = logging.getLogger(__name__)

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


def _open_once(url: str, settings: SerialSettings, baudrate: int | None, timeout: float) -> serial.SerialBase:
    return serial.serial_for_url(
        url,
        baudrate=baudrate or settings.baudrate,
        bytesize=settings.bytesize,
        parity=_PARITY[settings.parity],
        stopbits=settings.stopbits,
        rtscts=settings.rtscts,
        timeout=timeout,
        write_timeout=1.0,
    )


def _nudge(path: str) -> None:
    """Flip one terminal flag so the next open's tcsetattr changes something."""
    import termios

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        attrs = termios.tcgetattr(fd)
        attrs[2] ^= termios.CSTOPB
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    finally:
        os.close(fd)


def open_port(
    url: str, settings: SerialSettings, baudrate: int | None = None, timeout: float = 0.05
) -> serial.SerialBase:
    """Open `url` with the driver's settings. Raises PortOpenError (only) with a one-line reason."""
    for attempt in (1, 2):
        try:
            port = _open_once(url, settings, baudrate, timeout)
        except Exception as exc:
            retry = attempt == 1 and os.name == "posix" and "://" not in url and os.path.exists(url)
            if not retry:
                raise PortOpenError(f"cannot open port {url}: {exc}") from exc
            log.debug("re-opening %s after %s", url, exc)
            try:
                _nudge(url)
            except Exception as nudge_exc:
                raise PortOpenError(f"cannot open port {url}: {exc}") from nudge_exc
            continue
        log.info("opened %s at %s baud", url, port.baudrate)
        return port
    raise PortOpenError(f"cannot open port {url}")  # pragma: no cover - the loop returns or raises


def read_available(port: serial.SerialBase, name: str | None) -> bytes:
    """What the port has now (at least one byte, or b"" when its read timeout passes first).

    The port's own read timeout bounds the call. A port that fails, or that another thread closed
    (pyserial then raises TypeError/AttributeError), raises LinkLostError naming `name`.
    """
    try:
        data = port.read(max(1, port.in_waiting))
        if data and port.in_waiting:
            data += port.read(port.in_waiting)
    except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
        raise LinkLostError(f"port {name} lost: {exc}") from exc
    return bytes(data)
