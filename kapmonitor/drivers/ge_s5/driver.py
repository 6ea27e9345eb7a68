"""Driver `ge-s5`: a GE S/5 / CARESCAPE monitor on its Computer Interface serial port.

Session: on open, ask for the displayed values (all four classes; basic is decoded), the
auxiliary information (NIBP measurement time) and the pleth waveform; the monitor then streams
without further requests. The requests are re-sent periodically (harmless, and they re-subscribe
after a monitor reboot) and more often while nothing valid arrives. On close, stop requests are
sent so the monitor does not keep streaming into an unplugged cable.

Used from one reader thread; `close()` may be called from another thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import ClassVar

import serial

from kapmonitor.drivers.base import Driver, DriverOptions, SerialSettings
from kapmonitor.drivers.errors import LinkLostError, PortOpenError
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.drivers.transport import open_port, read_available
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, VitalSample

log = logging.getLogger(__name__)

CLOCK_TOLERANCE_S = 120.0
ERROR_NOTICE_S = 60.0  # at most one damaged-frames notice a minute



class GeS5Driver(Driver):
    """GE Datex-Ohmeda S/5 Computer Interface (19200 8E1 by default, 115200 on CARESCAPE v3+, RTS/CTS)."""

    name: ClassVar[str] = "ge-s5"
    description: ClassVar[str] = "GE Datex-Ohmeda S/5, Cardiocap 5, B20-B125, CARESCAPE B450/B650/B850 (serial)"
    serial_settings: ClassVar[SerialSettings | None] = SerialSettings(
        baudrate=19200, bytesize=8, parity="E", stopbits=1, rtscts=True, alternative_baudrates=(115200,)
    )
    # the Computer Interface (M1017617) only carries transmission requests (physiological data,
    # waves, alarms): no record starts a measurement, so the cuff is started on the monitor
    can_start_nibp: ClassVar[bool] = False

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        self.decoder = GeS5Decoder(waves=options.waves)
        self.stats = self.decoder.stats
        self.interval_s = max(5, int(options.float_option("interval_s", 5)))
        self.resend_s = options.float_option("resend_s", 30.0)
        self.silent_resend_s = options.float_option("silent_resend_s", 1.0)
        # one expected frame late: the monitor may have rebooted and forgotten our requests, so ask again
        # every second until it answers (a rebooted monitor relinks within about 5 s of its return)
        self.silent_after_s = options.float_option("silent_after_s", self.interval_s + 1.0)
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self._pending: list[Item] = []
        self._last_sent = 0.0
        self._last_frames = 0
        self._last_frame_mono = 0.0
        self._noise_bytes = 0
        self._not_answering = False
        self._echoes_at_open = 0
        self._clock_checked = False
        self._bad_reported = 0
        self._bad_reported_mono = -ERROR_NOTICE_S

    # -- requests -----------------------------------------------------------------------------
    def requests(self) -> list[bytes]:
        """The wire frames that start the streams this driver wants."""
        out = [
            p.frame(p.phdb_request(p.PH_DISPL, self.interval_s, p.CLASS_MASK_ALL)),
            p.frame(p.phdb_request(p.PH_AUX_INFO, self.interval_s, p.CLASS_MASK_ALL)),
        ]
        if self.options.waves:
            out.append(p.frame(p.waveform_request([p.WF_PLETH])))
        return out

    @staticmethod
    def stop_requests() -> list[bytes]:
        return [
            p.frame(p.phdb_request(p.PH_DISPL, 0, 0)),
            p.frame(p.phdb_request(p.PH_AUX_INFO, 0, 0)),
            p.frame(p.waveform_request([], stop=True)),
        ]

    def _send(self, frames: list[bytes]) -> None:
        port = self._port
        if port is None:
            return
        for data in frames:
            try:
                port.write(data)
            except serial.SerialTimeoutException:
                # CTS held low: nothing listening on the monitor side (or a cable without handshake)
                log.warning("GE S/5: request not sent within the write timeout (CTS low?)")
                return
            except (serial.SerialException, OSError) as exc:
                raise LinkLostError(f"port {self.options.port} failed while writing: {exc}") from exc
            self.stats.bytes_out += len(data)
            self._pending.append(RawFrame(self.clock.now(), "tx", data))

    # -- Driver ---------------------------------------------------------------------------------
    def open(self) -> None:
        if not self.options.port:
            raise PortOpenError("ge-s5 needs a serial port (--port)")
        port = open_port(self.options.port, self.serial_settings or SerialSettings(), self.options.baudrate)
        with self._lock:
            self._port = port
        self.decoder.reset_stream()
        self._pending = []
        self._last_frames = self.stats.frames - self.decoder.echoes
        self._last_frame_mono = time.monotonic()
        self._noise_bytes = 0
        self._not_answering = False
        self._echoes_at_open = self.decoder.echoes
        self._clock_checked = False
        self._send(self.requests())
        self._last_sent = time.monotonic()

    def read(self, timeout: float) -> list[Item]:
        port = self._port
        if port is None:
            raise LinkLostError("port closed")
        data = read_available(port, self.options.port)
        now = self.clock.now()
        items = self._pending
        self._pending = []
        if data:
            items.append(RawFrame(now, "rx", bytes(data)))
            items.extend(self.decoder.feed(bytes(data), now))
        mono = time.monotonic()
        real_frames = self.stats.frames - self.decoder.echoes
        if real_frames != self._last_frames:
            self._last_frames = real_frames
            self._last_frame_mono = mono
            self._noise_bytes = 0
            self._not_answering = False
            self._check_clock(items, now)
        elif data and not self._not_answering:
            self._noise_bytes += len(data)
            if self.decoder.echoes > self._echoes_at_open:
                self._not_answering = True
                items.append(LinkEvent(now, LinkState.NOT_ANSWERING, "only our own requests come back "
                                       "(loopback or wrong cable): monitor not answering"))
            elif self._noise_bytes > 4096:
                self._not_answering = True
                items.append(LinkEvent(now, LinkState.NOT_ANSWERING,
                                       "bytes arrive but no valid GE S/5 frame: check baud rate and cable"))
        bad = self.stats.checksum_errors + self.stats.length_errors
        if bad > self._bad_reported and mono - self._bad_reported_mono >= ERROR_NOTICE_S:
            items.append(DeviceNotice(now, "checksum-errors",
                                      f"{bad - self._bad_reported} damaged frame(s) from the monitor skipped "
                                      f"({self.stats.checksum_errors} checksum, {self.stats.length_errors} length "
                                      "errors in total)", {"checksum_errors": self.stats.checksum_errors,
                                                           "length_errors": self.stats.length_errors}))
            self._bad_reported = bad
            self._bad_reported_mono = mono
        silent = mono - self._last_frame_mono > self.silent_after_s
        if mono - self._last_sent >= (self.silent_resend_s if silent else self.resend_s):
            self._last_sent = mono
            self._send(self.requests())
            items.extend(self._pending)
            self._pending = []
        return items

    def _check_clock(self, items: list[Item], now: float) -> None:
        """Once per connection: say so when the monitor's clock (which stamps the values) is off."""
        if self._clock_checked:
            return
        times = [i.time for i in items if isinstance(i, VitalSample)]
        if not times:
            return
        self._clock_checked = True
        offset = max(times) - now
        if abs(offset) > CLOCK_TOLERANCE_S:
            items.append(DeviceNotice(now, "clock-offset",
                                      f"the monitor's clock differs from this computer's by {offset:+.0f} s",
                                      {"offset_s": offset}))

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is None:
            return
        try:
            for data in self.stop_requests():
                port.write(data)
        except Exception:
            log.debug("GE S/5: stop requests not sent", exc_info=True)
        try:
            port.close()
        except Exception:
            log.debug("GE S/5: closing port", exc_info=True)
