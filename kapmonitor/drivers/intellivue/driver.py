"""Driver `philips-intellivue`: the Data Export session over the MIB/RS232 port.

Session (Programming Guide ch. 5-6): Release Request first (a stale association from an earlier
client may still exist), Association Request, Association Result, answer the MDS Create Event
(same invoke id and event time), then Extended Poll Requests for numerics (and, with waves on,
real-time sample arrays) with NOM_ATTR_TIME_PD_POLL, renewed every `renew_s` seconds, well before
the period runs out and well inside the monitor's 10 s association time-out. Abort, Refuse, a
Release from the monitor or results that stop coming restart the session. Release on close.

Outgoing frames go through a limiter: at most 4 frames in any 128 ms (the monitor ignores more).
Every frame is also returned as a RawFrame ('rx'/'tx') so the session can be replayed.

The monitor's wall clock is local time: on the MDS Create Event the driver compares it with the
host clock and takes the difference, rounded to 15 minutes, as the monitor's UTC offset.

Not answering: when our own requests come back (wrong cable) or nothing valid comes back after two
association attempts, a NOT_ANSWERING LinkEvent and a DeviceNotice say so; the driver keeps
trying quietly. Used by one reader thread; `close` may come from another.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from typing import ClassVar

import serial

from kapmonitor.drivers.base import Driver, DriverOptions, SerialSettings
from kapmonitor.drivers.errors import LinkLostError
from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.decoder import NOT_ANSWERING_TEXT, IntelliVueDecoder
from kapmonitor.drivers.intellivue.framing import build_frame
from kapmonitor.drivers.transport import open_port
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame

log = logging.getLogger(__name__)

MAX_FRAMES_PER_WINDOW = 4
RATE_WINDOW_S = 0.128



class IntelliVueDriver(Driver):
    """Philips IntelliVue MP/MX/X2 Data Export over MIB/RS232, fixed baud rate."""

    name: ClassVar[str] = "philips-intellivue"
    description: ClassVar[str] = "Philips IntelliVue (MIB/RS232 Data Export, 115200 or 19200 8N1)"
    serial_settings: ClassVar[SerialSettings | None] = SerialSettings(
        baudrate=115200, bytesize=8, parity="N", stopbits=1, rtscts=False, alternative_baudrates=(19200,)
    )
    can_start_nibp: ClassVar[bool] = False  # Data Export reads; it cannot start a cuff measurement

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        self.poll_period_s = options.float_option("poll_period_s", 30.0)  # NOM_ATTR_TIME_PD_POLL
        self.renew_s = options.float_option("renew_s", 5.0)
        self.answer_timeout_s = options.float_option("answer_timeout_s", 3.0)
        self.result_timeout_s = options.float_option("result_timeout_s", 8.0)
        self._port: serial.SerialBase | None = None
        self._decoder = IntelliVueDecoder(collect_events=True, emit_raw=True)
        self._tx_queue: collections.deque[bytes] = collections.deque()
        self._tx_times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._state: str = "idle"
        self._out: list[Item] = []
        self._reported_not_answering = False
        self._reset_session_state()
        self.sessions_started = 0
        self.associations = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> None:
        settings = self.serial_settings
        assert settings is not None
        url = self.options.port
        if not url:
            from kapmonitor.drivers.errors import PortOpenError

            raise PortOpenError("no serial port chosen for the Philips IntelliVue driver")
        port = open_port(url, settings, self.options.baudrate, timeout=0.02)
        with self._lock:
            self._port = port
        previous = self._decoder
        self._decoder = IntelliVueDecoder(collect_events=True, emit_raw=True)
        self._decoder.carry_over(previous)
        self._decoder.stats = self.stats
        self._decoder.frames.stats = self.stats
        self._tx_queue.clear()
        self._reset_session_state()
        self._begin_session()

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is None:
            return
        try:
            if self._state in ("associated", "polling"):
                port.write(build_frame(m.RELEASE_REQUEST))
                port.flush()
                deadline = time.monotonic() + 0.3
                while time.monotonic() < deadline:  # give the Release Response a moment
                    if port.read(max(1, port.in_waiting)).find(b"\xc1") >= 0:
                        break
        except (serial.SerialException, OSError, ValueError, TypeError):
            log.debug("no polite release: the port is gone")
        finally:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            self._state = "closed"

    def request_nibp(self) -> bool:
        return False  # Data Export cannot start a cuff measurement

    # -- session state ------------------------------------------------------------------------------
    def _reset_session_state(self) -> None:
        self._state = "idle"
        self._state_since = time.monotonic()
        self._attempts = 0
        self._invoke = 0
        self._poll_number = 0
        self._last_renew = 0.0
        self._last_result = 0.0
        self._offset_set = False
        self._reported_not_answering = False
        self._frames_at_begin = 0
        self._out = []

    def _set_state(self, state: str) -> None:
        self._state = state
        self._state_since = time.monotonic()

    def _queue(self, payload: bytes) -> None:
        self._tx_queue.append(build_frame(payload))
        if payload not in self._decoder.own_payloads:
            self._decoder.own_payloads.append(payload)

    def _begin_session(self) -> None:
        """Release whatever association may exist, then associate."""
        self.sessions_started += 1
        self._frames_at_begin = self._decoder.monitor_frames
        self._tx_queue.clear()
        self._queue(m.RELEASE_REQUEST)
        self._set_state("releasing")

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) & 0xFFFF
        return self._invoke

    def _send_polls(self, now: float) -> None:
        self._poll_number = (self._poll_number + 1) & 0xFFFF
        self._queue(
            m.extended_poll_request(self._next_invoke(), self._poll_number, m.NOM_MOC_VMO_METRIC_NU, self.poll_period_s)
        )
        if self.options.waves:
            self._queue(
                m.extended_poll_request(
                    self._next_invoke(), self._poll_number, m.NOM_MOC_VMO_METRIC_SA_RT, self.poll_period_s
                )
            )
        self._last_renew = now

    def _notice(self, code: str, message: str) -> None:
        log.info("%s: %s", code, message)
        self._out.append(DeviceNotice(self.clock.now(), code, message))

    def _restart(self, code: str, message: str) -> None:
        self._notice(code, message)
        self._begin_session()

    # -- reading ------------------------------------------------------------------------------------
    def read(self, timeout: float) -> list[Item]:
        port = self._port
        if port is None:
            time.sleep(min(timeout, 0.05))
            return []
        deadline = time.monotonic() + timeout
        while True:
            self._flush_tx(port)
            try:
                # the port's timeout (0.02 s, set at open) bounds this wait; changing it would
                # reprogram the line on every call
                data = port.read(max(1, port.in_waiting))
                if data and port.in_waiting:
                    data += port.read(port.in_waiting)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                raise LinkLostError(f"port {self.options.port} lost: {exc}") from exc
            if data:
                for item in self._decoder.feed(data, self.clock.now()):
                    self._out.append(item)
                self._handle_events()
            self._timers()
            if self._out or time.monotonic() >= deadline:
                out, self._out = self._out, []
                return out

    def _flush_tx(self, port: serial.SerialBase) -> None:
        now = time.monotonic()
        while self._tx_times and now - self._tx_times[0] >= RATE_WINDOW_S:
            self._tx_times.popleft()
        while self._tx_queue and len(self._tx_times) < MAX_FRAMES_PER_WINDOW:
            frame = self._tx_queue.popleft()
            try:
                port.write(frame)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                raise LinkLostError(f"port {self.options.port} lost: {exc}") from exc
            self._tx_times.append(now)
            self.stats.bytes_out += len(frame)
            self._out.append(RawFrame(self.clock.now(), "tx", frame))

    def _handle_events(self) -> None:
        for ev in self._decoder.take_events():
            kind = ev.kind
            if kind == "echo":
                if self._decoder.echo_detected and not self._reported_not_answering:
                    self._reported_not_answering = True  # the decoder emitted notice + link event
                continue
            if kind == "assoc_result":
                if self._state == "associating":
                    self.associations += 1
                    self._set_state("associated")
                    self._reported_not_answering = False
                    self._attempts = 0
            elif kind == "mds_create":
                self._queue(m.mds_create_event_result(ev.invoke_id, ev.event_time))
                self._estimate_utc_offset()
                if self._state == "associating":  # the Association Result was lost on the line
                    self.associations += 1
                    self._state = "associated"
                if self._state == "associated":
                    self._start_polling()
            elif kind == "poll_result":
                self._last_result = time.monotonic()
                if self._state == "associated":
                    self._set_state("polling")
            elif kind == "refuse":
                if self._state in ("associating", "associated", "polling"):
                    self._restart("association-refused", "the monitor refused the association; retrying")
            elif kind == "abort":
                if self._state in ("associating", "associated", "polling"):
                    self._restart("association-aborted", "the monitor aborted the association; re-associating")
            elif kind == "release_request":
                self._queue(m.RELEASE_RESPONSE)
                self._restart("association-released", "the monitor released the association; re-associating")
            elif kind == "release_response":
                if self._state == "releasing":
                    self._associate()
                elif self._state in ("associated", "polling"):
                    self._restart("association-released", "the association ended; re-associating")
            elif kind == "error":
                log.info("monitor returned %s for invoke %d", ev.detail, ev.invoke_id)

    def _associate(self) -> None:
        self._attempts += 1
        self._queue(m.association_request(1.0, self.options.waves))
        self._set_state("associating")

    def _start_polling(self) -> None:
        self._set_state("polling")
        self._last_result = time.monotonic()
        self._send_polls(time.monotonic())

    def _estimate_utc_offset(self) -> None:
        anchor = self._decoder.anchor
        if anchor is None or self._offset_set:
            return
        self._offset_set = True
        diff = anchor[1] - self.clock.now()
        offset = round(diff / 900.0) * 900.0
        if abs(offset) > 14 * 3600:
            self._notice("monitor-clock", "the monitor's clock differs from this computer's by more than 14 h")
            offset = 0.0
        if offset:
            self._decoder.utc_offset_s += offset
            self._decoder.set_anchor(anchor[0], anchor[1] - offset)
            log.info("monitor clock runs at UTC%+.2f h", offset / 3600)

    def _timers(self) -> None:
        now = time.monotonic()
        age = now - self._state_since
        if self._state == "releasing" and age > 0.3:
            self._associate()
        elif self._state == "associating" and age > self.answer_timeout_s:
            # no valid frame since this attempt began: silence or garbage, on a first connection or after
            # an earlier good one (a monitor that answered before may be off or sending noise now)
            answered = self._decoder.monitor_frames > self._frames_at_begin
            if self._attempts >= 2 and not self._reported_not_answering and not answered:
                self._reported_not_answering = True
                t = self.clock.now()
                self._out.append(DeviceNotice(t, "not-answering", NOT_ANSWERING_TEXT))
                self._out.append(LinkEvent(t, LinkState.NOT_ANSWERING, NOT_ANSWERING_TEXT))
            self._begin_session()
        elif self._state == "associated" and age > self.answer_timeout_s:
            self._start_polling()  # no MDS Create Event came: poll anyway
        elif self._state == "polling":
            if now - self._last_renew >= self.renew_s:
                self._send_polls(now)
            if now - self._last_result > self.result_timeout_s:
                self._restart("no-poll-results", "no poll results from the monitor; re-associating")
