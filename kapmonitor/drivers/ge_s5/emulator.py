"""The monitor's side of the GE S/5 Computer Interface, driven by the simulator's physiology.

`run_emulator` opens a serial port (a pseudo-terminal or USB adapter wired to the PC running
kapmonitor), waits for requests and streams what a CARESCAPE monitor would: one displayed-values
record per monitor second, as the recorded B650 did (basic class filled; ext classes when asked,
empty), the auxiliary NIBP time when asked, and the pleth waveform (100 samples/s) when asked.
Stop requests (interval 0, waveform stop) end the streams. Like the real monitor (which gives up
after 2 s of RTS/CTS hold) it stops waveforms when a write blocks past the port's write timeout
(1 s). It keeps its subscriptions when the cable is pulled (re-opening the port until it
returns) but not when it is restarted.

Runs in the calling thread until `stop` is set.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import serial

from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.drivers.transport import open_port
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

SETTINGS = SerialSettings(baudrate=19200, bytesize=8, parity="E", stopbits=1, rtscts=True)
_NIBP_LABEL_BASE = 0x000B  # bits 0,1 as the recorded CARESCAPE sends them, bit 3 AUTO
_STATUS_ECG = p.STATUS_EXISTS | p.STATUS_ACTIVE | (1 << 3)  # heart rate source: ECG
_STATUS_PRESENT = p.STATUS_EXISTS | p.STATUS_ACTIVE
_DRI_LEVEL = 10  # as the B650 in the reference captures


class GeS5MonitorState:
    """The emulated monitor: subscriptions and what it shows. Pure; used by one thread."""

    def __init__(self, patient: SimulatedPatient) -> None:
        self.patient = patient
        self.displ_on = False
        self.classes = p.CLASS_MASK_ALL
        self.aux_on = False
        self.waves: list[int] = []
        self.r_nbr = 0
        self.hr = p.DATA_INVALID
        self.spo2 = p.DATA_INVALID
        self.pr = p.DATA_INVALID
        self.nibp: tuple[int, int, int, int] = (p.DATA_INVALID,) * 4
        self.nibp_time = 0
        self.measuring = False
        self.pleth: list[int] = []
        self.requests_seen = 0

    # -- requests ------------------------------------------------------------------------------
    def handle(self, record: bytes) -> None:
        """Apply one request record from the PC."""
        hdr = p.parse_header(record)
        for off, typ in hdr.subrecords:
            body = record[p.HEADER_LEN + off:]
            if hdr.r_maintype == p.MT_PHDB and typ == p.PH_REQUEST:
                req = p.parse_phdb_request(body)
                if req is None:
                    continue
                self.requests_seen += 1
                rtype, ival, classes = req
                if rtype == p.PH_DISPL:
                    self.displ_on = ival != 0
                    if ival != 0:
                        self.classes = classes
                elif rtype == p.PH_AUX_INFO:
                    self.aux_on = ival != 0
            elif hdr.r_maintype == p.MT_WAVE and typ == p.WF_CMD:
                wreq = p.parse_waveform_request(body)
                if wreq is None:
                    continue
                self.requests_seen += 1
                kind, types = wreq
                self.waves = [] if kind == p.WF_REQ_CONT_STOP else types

    # -- physiology ----------------------------------------------------------------------------
    def advance(self) -> tuple[int, bool]:
        """Take the patient's next second into the displayed values; (monitor time, silent)."""
        t = self.patient.next_second_time
        items: list[Item] = self.patient.next_second()
        silent = self.patient.is_silent(t)
        self.pleth = []
        for item in items:
            if isinstance(item, WaveChunk) and item.parameter is Parameter.PLETH:
                self.pleth = [p.DATA_INVALID if math.isnan(v) else max(-32000, min(32767, round(v * 100)))
                              for v in item.values.tolist()]
            elif isinstance(item, VitalSample):
                self._vital(item)
        return int(t), silent

    def _vital(self, s: VitalSample) -> None:
        raw = p.DATA_INVALID if s.value is None else round(s.value)
        if s.parameter is Parameter.HR:
            self.hr = raw
        elif s.parameter is Parameter.SPO2:
            self.spo2 = p.DATA_INVALID if s.value is None else round(s.value * 100)
        elif s.parameter is Parameter.PULSE_RATE:
            self.pr = raw
        elif s.parameter is Parameter.NIBP_SYS and s.status is Status.MEASURING:
            self.measuring = True
        elif s.parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE):
            values = list(self.nibp)
            index = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE).index(
                s.parameter)
            scale = 1 if s.parameter is Parameter.NIBP_PULSE else 100
            values[index] = p.DATA_INVALID if s.value is None else round(s.value * scale)
            self.nibp = (values[0], values[1], values[2], values[3])
            self.measuring = False
            self.nibp_time = int(s.time)

    # -- records -------------------------------------------------------------------------------
    def nibp_label(self, t: int) -> int:
        label = _NIBP_LABEL_BASE
        if self.measuring:
            label |= p.NIBP_MEASURING
        if self.nibp_time and t - self.nibp_time > 60:
            label |= p.NIBP_OLDER_60S
        return label

    def displayed_record(self, t: int) -> bytes:
        body = p.basic_body(self.hr, _STATUS_ECG, self.nibp, self.nibp_label(t), _STATUS_PRESENT,
                            self.spo2, self.pr, _STATUS_PRESENT)
        subs: list[tuple[int, bytes]] = []
        if not self.classes & 0x1:  # bit 0 denies the basic class
            subs.append((p.PH_DISPL, p.phdb_subrecord(t, body, p.CLASS_BASIC)))
        for cls, mask in ((p.CLASS_EXT1, 0x2), (p.CLASS_EXT2, 0x4), (p.CLASS_EXT3, 0x8)):
            if self.classes & mask:
                subs.append((p.PH_DISPL, p.phdb_subrecord(t, b"", cls)))
        if self.aux_on:
            subs.append((p.PH_AUX_INFO, p.aux_subrecord(self.nibp_time)))
        return self._record(p.MT_PHDB, subs, t)

    def wave_record(self, t: int) -> bytes | None:
        subs = [(typ, p.wave_subrecord(self.pleth)) for typ in self.waves if typ == p.WF_PLETH and self.pleth]
        return self._record(p.MT_WAVE, subs, t) if subs else None

    def _record(self, maintype: int, subs: list[tuple[int, bytes]], t: int) -> bytes:
        self.r_nbr = (self.r_nbr + 1) & 0xFF
        return p.build_record(maintype, subs, r_time=t, r_nbr=self.r_nbr, dri_level=_DRI_LEVEL)


class _Link:
    """The emulator's port, re-opened whenever it goes away."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        self.url = url
        self.stop = stop
        self.port: serial.SerialBase | None = None
        self.splitter = p.FrameSplitter()
        self._warned = False

    def ensure_open(self) -> bool:
        if self.port is not None:
            return True
        try:
            self.port = open_port(self.url, SETTINGS, timeout=0.02)
        except Exception as exc:  # noqa: BLE001 - PortOpenError, or termios.error while the device vanishes
            if not self._warned:
                log.warning("emulator: %s (retrying)", exc)
                self._warned = True
            self.stop.wait(0.2)
            return False
        self._warned = False
        self.splitter = p.FrameSplitter()
        log.info("GE S/5 emulator on %s", self.url)
        return True

    def drop(self, exc: BaseException) -> None:
        log.info("emulator: port %s lost (%s); waiting for it to return", self.url, exc)
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except Exception:
                log.debug("closing emulator port", exc_info=True)


def run_emulator(port_url: str, scenario: str = "normal", speed: float = 1.0, seed: int = 0,
                 stop: threading.Event | None = None, clock_offset_s: float = 0.0) -> None:
    """Play a GE S/5 monitor on `port_url` until `stop` is set (Ctrl-C in the CLI).

    `clock_offset_s` sets the emulated monitor's clock that far from this computer's (a monitor
    whose clock was never set, as is common).
    """
    stop = stop or threading.Event()
    speed = speed if speed > 0 else 1.0
    start = float(math.floor(time.time() + clock_offset_s))
    state = GeS5MonitorState(SimulatedPatient(start, scenario, seed, source=Source.MONITOR))
    link = _Link(port_url, stop)
    mono0 = time.monotonic()
    while not stop.is_set():
        if not link.ensure_open():
            continue
        port = link.port
        assert port is not None
        try:
            data = port.read(max(1, port.in_waiting))
            if data:
                for record in link.splitter.feed(data):
                    state.handle(record)
            monitor_now = start + (time.monotonic() - mono0) * speed
            while state.patient.next_second_time + 1 <= monitor_now and not stop.is_set():
                t, silent = state.advance()
                if silent:
                    continue
                out = b""
                if state.displ_on:
                    out += p.frame(state.displayed_record(t + 1))
                wave = state.wave_record(t + 1)
                if wave is not None:
                    out += p.frame(wave)
                if out:
                    try:
                        port.write(out)
                    except serial.SerialTimeoutException:
                        log.info("emulator: line blocked for 1 s, waveforms stopped (as the monitor does)")
                        state.waves = []
        except (serial.SerialException, OSError, TypeError) as exc:
            link.drop(exc)
            stop.wait(0.2)
    if link.port is not None:
        try:
            link.port.close()
        except Exception:
            log.debug("closing emulator port", exc_info=True)
