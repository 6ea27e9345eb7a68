"""Opening the serial port with one work-around: re-opening a Linux pseudo-terminal.

On Linux, re-opening a pty whose terminal settings are already exactly the ones asked for can
fail with EINVAL from tcsetattr (seen with socat ptys: open, close, open again). Changing one
flag first and retrying once makes it succeed. Real serial devices never take that path.
Thread-safe (no shared state).
"""

from __future__ import annotations

import logging
import os

import serial

from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.errors import PortOpenError
from kapmonitor.drivers.transport import open_port

log = logging.getLogger(__name__)


def _nudge(path: str) -> None:
    import termios

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        attrs = termios.tcgetattr(fd)
        attrs[2] ^= termios.CSTOPB
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    finally:
        os.close(fd)


def open_serial(url: str, settings: SerialSettings, baudrate: int | None = None,
                timeout: float = 0.05) -> serial.SerialBase:
    """`transport.open_port`, retried once after the pty work-around. Raises PortOpenError only."""
    for attempt in (1, 2):
        try:
            return open_port(url, settings, baudrate, timeout=timeout)
        except PortOpenError:
            raise
        except Exception as exc:
            if attempt == 2 or os.name != "posix" or "://" in url or not os.path.exists(url):
                raise PortOpenError(f"cannot open port {url}: {exc}") from exc
            log.debug("re-opening %s after %s", url, exc)
            try:
                _nudge(url)
            except Exception as nudge_exc:
                raise PortOpenError(f"cannot open port {url}: {exc}") from nudge_exc
    raise PortOpenError(f"cannot open port {url}")  # pragma: no cover - loop always returns or raises
