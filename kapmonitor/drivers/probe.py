"""Test connection": open a driver on a port for a few seconds and say what came back.

Used by the GUI's connection dialog (on a worker thread) and usable from scripts. Pure core: no Qt.
Thread-safe in the sense that each call owns its own driver; `stop` may be set from another thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.errors import DriverError, LinkLostError, PortOpenError
from kapmonitor.drivers.registry import create_driver
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import PARAMETER_INFO, Parameter
from kapmonitor.model.samples import DeviceNotice, LinkEvent, LinkState, VitalSample, WaveChunk

log = logging.getLogger(__name__)


@dataclass
class ProbeResult:
    """What a short connection test found."""

    driver: str
    port: str | None
    baudrate: int | None
    seconds: float = 0.0
    error: str = ""
    frames: int = 0
    checksum_errors: int = 0
    bytes_in: int = 0
    values: dict[Parameter, float] = field(default_factory=dict)
    wave_chunks: int = 0
    not_answering: str = ""
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and not self.not_answering and bool(self.values)

    def summary(self) -> str:
        """A sentence or two for the nurse."""
        where = self.port or self.driver
        if self.error:
            return f"Could not test {where}: {self.error}"
        if self.not_answering:
            return f"{where}: {self.not_answering}"
        if self.values:
            shown = ", ".join(
                f"{PARAMETER_INFO[p].label} {v:g}" for p, v in sorted(self.values.items(), key=lambda kv: kv[0].value)
            )
            waves = f", {self.wave_chunks} pleth wave chunks" if self.wave_chunks else ""
            return f"Connected: {self.frames} frames decoded in {self.seconds:.0f} s{waves}. Values seen: {shown}."
        if self.frames:
            return (
                f"{self.frames} frames decoded but no valid values yet: is the patient connected and the "
                "measurement switched on?"
            )
        if self.bytes_in:
            return (
                f"{self.bytes_in} bytes arrived but no valid frame ({self.checksum_errors} checksum errors): "
                "wrong driver or baud rate?"
            )
        return (
            f"Nothing received from {where} in {self.seconds:.0f} s: check the cable, the port and the "
            "monitor's data export setting."
        )


def probe_connection(
    driver: str,
    port: str | None,
    baudrate: int | None = None,
    seconds: float = 4.0,
    stop: threading.Event | None = None,
) -> ProbeResult:
    """Run `driver` on `port` for about `seconds`; never raises for a bad port or a broken link."""
    result = ProbeResult(driver, port, baudrate)
    stop = stop or threading.Event()
    t0 = time.monotonic()
    try:
        drv = create_driver(driver, DriverOptions(port=port, baudrate=baudrate, waves=True), RealClock())
    except (DriverError, ImportError, ValueError) as exc:
        result.error = str(exc)
        return result
    try:
        drv.open()
    except PortOpenError as exc:
        result.error = str(exc)
        return result
    except (DriverError, OSError, ValueError) as exc:
        result.error = f"cannot start the driver: {exc}"
        return result
    try:
        while time.monotonic() - t0 < seconds and not stop.is_set():
            for item in drv.read(0.1):
                if isinstance(item, VitalSample) and item.valid and item.value is not None:
                    result.values[item.parameter] = item.value
                elif isinstance(item, WaveChunk):
                    result.wave_chunks += 1
                elif isinstance(item, LinkEvent) and item.state is LinkState.NOT_ANSWERING:
                    result.not_answering = item.detail or "not answering"
                elif isinstance(item, DeviceNotice):
                    result.notices.append(item.message)
            if result.not_answering and not result.values:
                break
    except LinkLostError as exc:
        result.error = f"the port went away during the test: {exc}"
    except Exception as exc:  # a test must report, never crash the GUI
        log.exception("connection test failed")
        result.error = f"driver error: {exc}"
    finally:
        try:
            drv.close()
        except Exception:
            log.exception("closing the tested driver")
    result.seconds = time.monotonic() - t0
    result.frames = drv.stats.frames
    result.checksum_errors = drv.stats.checksum_errors
    result.bytes_in = drv.stats.bytes_in
    return result
