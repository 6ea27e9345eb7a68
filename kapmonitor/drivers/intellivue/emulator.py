"""The monitor's side of IntelliVue Data Export over MIB/RS232, for tests and for trying a set-up
without a patient (`kapmonitor emulate philips-intellivue --port PATH`).

It behaves like the monitor as the Programming Guide describes it: answers a Release Request with a
Release Response, an Association Request with an Association Response (or a Refuse while already
associated), then sends the MDS Create Event (with NOM_ATTR_TIME_ABS/TIME_REL) until the client
answers it; an Extended Poll Request is confirmed at once (sequence 0) and then repeated every
second for numerics and every 256 ms for waves until its NOM_ATTR_TIME_PD_POLL period runs out;
after the association time-out of client silence (10 s for a poll period under 3.3 s, else 3x the
period, at most 130 s) it sends an Abort.

The physiology is `SimulatedPatient`'s: HR, SpO2, pleth pulse as numerics, NIBP as the compound
numeric 0x094B with its NOM_ATTR_TIME_STAMP_ABS measurement time (plus the NIBP pulse 0xF0E5), and
the pleth as a sample array (100 samples/s, scaled 12-bit). Protocol timing is real time; the
monitor's clock and the patient run `speed` times faster, so NIBP measurements come sooner.
At high speed the pleth is thinned to what fits one message per 256 ms (gaps, never a backlog).

Thread-safety: `serve` runs in one thread; `abort_now`, `counters` and `stop` may be used from others.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import select
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kapmonitor.drivers.base import SerialSettings
from kapmonitor.drivers.errors import PortOpenError
from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.framing import FrameReader, build_frame
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.drivers.transport import open_port
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

NUMERIC_PERIOD_S = 1.0
WAVE_PERIOD_S = 0.256
MAX_WAVE_SAMPLES = 128
PLETH_PERIOD_TICKS = 80  # 10 ms: 100 samples/s like the simulator
PLETH_SCALE = (-0.5, 2.0, 0, 4000)  # absolute lo/hi, scaled lo/hi

H_HR, H_SPO2, H_PR, H_NIBP, H_NIBP_PR, H_PLETH = 0x0101, 0x0102, 0x0103, 0x0110, 0x0111, 0x0201


class ByteTransport(Protocol):
    """What the emulator talks through: a pseudo-terminal master or a serial port."""

    def read(self, timeout: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class FdTransport:
    """A file descriptor, e.g. the master side of a pseudo-terminal. OSError when it is gone."""

    def __init__(self, fd: int, close_fd: bool = False) -> None:
        self.fd = fd
        self._close_fd = close_fd

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        return os.read(self.fd, 65536)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        if self._close_fd:
            with contextlib.suppress(OSError):
                os.close(self.fd)


class SerialTransport:
    """A pyserial port (a real adapter, or any `serial_for_url` URL)."""

    def __init__(self, url: str, baudrate: int = 115200) -> None:
        self.port = open_port(url, SerialSettings(baudrate=baudrate), baudrate, timeout=0.02)

    def read(self, timeout: float) -> bytes:
        if self.port.timeout != timeout:  # setting it reprograms the line: only when it changes
            self.port.timeout = timeout
        data: bytes = self.port.read(max(1, self.port.in_waiting))
        return data

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def close(self) -> None:
        self.port.close()


@dataclass
class _Poll:
    invoke_id: int
    poll_number: int
    expires: float  # monotonic
    next_send: float
    sequence: int = 0


@dataclass
class EmulatorCounters:
    """What happened, for tests and the emulate command's log."""

    associations: int = 0
    refusals: int = 0
    releases: int = 0
    aborts_sent: int = 0
    create_events: int = 0
    create_results_ok: int = 0
    poll_requests: int = 0
    numeric_results: int = 0
    wave_results: int = 0
    client_aborts: int = 0


def association_timeout(min_poll_period_s: float) -> float:
    """The monitor's association time-out for a negotiated poll period (Programming Guide p. 70)."""
    if min_poll_period_s < 3.3:
        return 10.0
    if min_poll_period_s <= 43.0:
        return 3.0 * min_poll_period_s
    return 130.0


class IntelliVueEmulator:
    """One emulated monitor; `serve` may be called again with a new transport (re-plugged cable)."""

    def __init__(
        self,
        scenario: str = "normal",
        speed: float = 1.0,
        seed: int = 0,
        start_time: float | None = None,
        silence_timeout: float | None = None,
        utc_offset_s: float = 0.0,
        nibp_interval_s: float = 300.0,
        refuse_associations: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`refuse_associations`: refuse that many association requests first (as a monitor does
        whose numeric source is taken by another client); `silence_timeout` overrides the
        association time-out (tests); `monotonic` replaces the real clock (offline recording)."""
        if speed <= 0 or not math.isfinite(speed):
            raise ValueError("speed must be a positive number")
        start = float(math.floor(time.time() if start_time is None else start_time))
        self.patient = SimulatedPatient(start, scenario, seed, nibp_interval_s, source=Source.MONITOR)
        self.speed = speed
        self.utc_offset_s = utc_offset_s
        self.silence_timeout_override = silence_timeout
        self.counters = EmulatorCounters()
        self._refuse_left = refuse_associations
        self._sim0 = start
        self._monotonic = monotonic
        self._mono0 = monotonic()
        self._boot_ticks = 3 * 3600 * m.TICKS_PER_SECOND  # the monitor was switched on 3 h earlier
        self._abort_request = threading.Event()
        self._reset_association()
        # monitor state fed by the patient
        self._numerics: dict[Parameter, tuple[float | None, int]] = {}
        self._nibp: tuple[float, float, float, float, float] | None = None  # sys, dia, mean, pulse, time
        self._nibp_ongoing = False
        self._pleth: list[tuple[float, np.ndarray]] = []
        self._pleth_sent_until = start

    # -- control (any thread) -------------------------------------------------------------------
    def abort_now(self) -> None:
        """Make the monitor abort the association at its next turn (as on a monitor reboot)."""
        self._abort_request.set()

    # -- clocks ---------------------------------------------------------------------------------
    def sim_now(self) -> float:
        return self._sim0 + (self._monotonic() - self._mono0) * self.speed

    def rel_ticks(self, t: float) -> int:
        return int(self._boot_ticks + (t - self._sim0) * m.TICKS_PER_SECOND) & 0xFFFFFFFF

    # -- session --------------------------------------------------------------------------------
    def _reset_association(self) -> None:
        self.associated = False
        self._polls: dict[int, _Poll] = {}
        self._create_pending: tuple[int, int] | None = None  # (invoke id, event time)
        self._create_next = 0.0
        self._min_poll_s = 1.0
        self._last_rx = self._monotonic()

    def serve(self, transport: ByteTransport, stop: threading.Event) -> None:
        """Play the monitor on `transport` until `stop` is set or the transport goes away."""
        reader = FrameReader()
        self._reset_association()
        log.info("IntelliVue emulator serving (scenario %s, speed %g)", self.patient.scenario, self.speed)
        try:
            while not stop.is_set():
                try:
                    data = transport.read(0.02)
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    # no client on the other end of a pseudo-terminal: wait for one
                    if stop.wait(0.05):
                        break
                    continue
                now = self._monotonic()
                for frame in reader.feed(data):
                    self._last_rx = now
                    try:
                        msg = m.parse_message(frame.payload)
                    except (m.ParseError, struct.error):
                        continue
                    self._handle(msg, transport, now)
                self._tick(transport, self._monotonic())
        except OSError as exc:
            log.info("emulator transport closed: %s", exc)

    def _send(self, transport: ByteTransport, payload: bytes) -> None:
        try:
            transport.write(build_frame(payload))
        except BlockingIOError:
            log.debug("emulator output full; frame dropped")
        except OSError:
            if not self.associated:
                return  # nobody listening on the pty yet
            raise

    def _handle(self, msg: m.Message, tr: ByteTransport, now: float) -> None:
        c = self.counters
        if msg.kind == "release_request":
            c.releases += 1
            self._send(tr, m.RELEASE_RESPONSE)
            self._reset_association()
        elif msg.kind == "assoc_request":
            if self.associated or self._refuse_left > 0:
                self._refuse_left = max(0, self._refuse_left - 1)
                c.refusals += 1
                self._send(tr, m.REFUSE)
                return
            period_ticks = msg.extra.get("min_poll_period", m.TICKS_PER_SECOND)
            self._min_poll_s = max(period_ticks / m.TICKS_PER_SECOND, 0.001)
            ext = msg.extra.get("ext_options", 0) & (m.POLL_EXT_PERIOD_NU_1SEC | m.POLL_EXT_PERIOD_RTSA)
            self._send(tr, m.association_response(period_ticks, ext or m.POLL_EXT_PERIOD_NU_1SEC))
            self.associated = True
            c.associations += 1
            t = self.sim_now()
            self._create_pending = (1, self.rel_ticks(t))
            self._create_next = now + 0.05
        elif msg.kind in ("abort", "release_response"):
            c.client_aborts += msg.kind == "abort"
            self._reset_association()
        elif msg.kind == "event_result" and self._create_pending is not None:
            if (msg.invoke_id, msg.event_time) == self._create_pending and msg.event_type == m.NOM_NOTI_MDS_CREAT:
                c.create_results_ok += 1
                self._create_pending = None
        elif msg.kind == "action" and self.associated:
            req = m.parse_poll_request(msg)
            c.poll_requests += 1
            if req is None or req.obj_code not in (m.NOM_MOC_VMO_METRIC_NU, m.NOM_MOC_VMO_METRIC_SA_RT):
                self._send(tr, m.remote_error(msg.invoke_id, 9))  # NO_SUCH_ACTION-like error
                return
            if msg.action_type == m.NOM_ACT_POLL_MDIB_DATA or req.period_ticks is None:
                self._send_result(tr, req.obj_code, msg.invoke_id, req.poll_number, 0)
                return
            poll = self._polls.get(req.obj_code)
            expires = now + req.period_ticks / m.TICKS_PER_SECOND
            if poll is None:
                self._polls[req.obj_code] = _Poll(msg.invoke_id, req.poll_number, expires, now)
            else:  # renewed: confirm at once, keep the basic period going
                poll.invoke_id, poll.poll_number, poll.expires, poll.sequence = (
                    msg.invoke_id,
                    req.poll_number,
                    expires,
                    0,
                )
                self._send_result(tr, req.obj_code, msg.invoke_id, req.poll_number, 0)
                poll.sequence = 1

    def _tick(self, tr: ByteTransport, now: float) -> None:
        self._advance_patient()
        if self.associated and self._abort_request.is_set():
            self._abort_request.clear()
            self._abort(tr)
            return
        self._abort_request.clear()
        if not self.associated:
            return
        timeout = self.silence_timeout_override or association_timeout(self._min_poll_s)
        if now - self._last_rx > timeout:
            log.info("client silent for %.1f s: aborting the association", now - self._last_rx)
            self._abort(tr)
            return
        if self._create_pending is not None and now >= self._create_next:
            invoke_id, ev_time = self._create_pending
            self._send(tr, m.mds_create_event(invoke_id, ev_time, self._create_attributes(ev_time)))
            self.counters.create_events += 1
            self._create_next = now + 2.0
        silent = self.patient.is_silent(self.sim_now())
        for code, poll in list(self._polls.items()):
            if now >= poll.expires:
                del self._polls[code]
                continue
            if now >= poll.next_send:
                if not silent:
                    self._send_result(tr, code, poll.invoke_id, poll.poll_number, poll.sequence)
                poll.sequence = (poll.sequence + 1) & 0xFFFF
                period = NUMERIC_PERIOD_S if code == m.NOM_MOC_VMO_METRIC_NU else WAVE_PERIOD_S
                poll.next_send = max(poll.next_send + period, now - period)

    def _abort(self, tr: ByteTransport) -> None:
        self.counters.aborts_sent += 1
        self._send(tr, m.ABORT)
        self._reset_association()

    def _create_attributes(self, ev_time: int) -> list[bytes]:
        t = self.sim_now()
        return [
            m.attribute(m.ATTR_TIME_ABS, m.encode_absolute_time(t, self.utc_offset_s)),
            m.attribute(m.ATTR_TIME_REL, struct.pack(">I", ev_time)),
            m.attribute(0x0928, b"\x00\x08Philips\x00\x00\x08MP50-EMU"),  # system model (vendor, model)
        ]

    # -- physiology -------------------------------------------------------------------------------
    def _advance_patient(self) -> None:
        now = self.sim_now()
        while self.patient.next_second_time <= now:
            for item in self.patient.next_second():
                if isinstance(item, WaveChunk):
                    self._pleth.append((item.time, item.values))
                elif isinstance(item, VitalSample):
                    self._take(item)
        # the numerics of a silent second simply stay as they were (the poll results stop)
        if len(self._pleth) > 50:
            del self._pleth[:-50]

    def _take(self, s: VitalSample) -> None:
        if s.parameter in (Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE):
            state = 0 if s.status is Status.OK else m.STATE_INVALID
            self._numerics[s.parameter] = (s.value, state)
        elif s.parameter is Parameter.NIBP_SYS and s.status is Status.MEASURING:
            self._nibp_ongoing = True
        elif s.measurement_id is not None and s.value is not None:
            self._nibp_ongoing = False
            sys_, dia, mean, pulse, _ = self._nibp or (math.nan, math.nan, math.nan, math.nan, s.time)
            v = s.value
            if s.parameter is Parameter.NIBP_SYS:
                sys_ = v
            elif s.parameter is Parameter.NIBP_DIA:
                dia = v
            elif s.parameter is Parameter.NIBP_MEAN:
                mean = v
            elif s.parameter is Parameter.NIBP_PULSE:
                pulse = v
            self._nibp = (sys_, dia, mean, pulse, s.time)

    # -- poll results -------------------------------------------------------------------------
    def _send_result(self, tr: ByteTransport, code: int, invoke_id: int, poll_number: int, seq: int) -> None:
        t = self.sim_now()
        if code == m.NOM_MOC_VMO_METRIC_NU:
            observations = self._numeric_observations(t)
            self.counters.numeric_results += 1
        else:
            observations, t = self._wave_observations(t)
            self.counters.wave_results += 1
        info = m.poll_info_list([(0, observations)])
        payload = m.extended_poll_result(
            invoke_id, poll_number, seq, self.rel_ticks(t), m.INVALID_ABSOLUTE_TIME, code, info
        )
        self._send(tr, payload)

    def _numeric_observations(self, t: float) -> list[bytes]:
        obs: list[bytes] = []
        rel = m.attribute(m.ATTR_TIME_STAMP_REL, struct.pack(">I", self.rel_ticks(t)))
        for handle, parameter, physio, unit in (
            (H_HR, Parameter.HR, m.NOM_ECG_CARD_BEAT_RATE, m.NOM_DIM_BEAT_PER_MIN),
            (H_SPO2, Parameter.SPO2, m.NOM_PULS_OXIM_SAT_O2, m.NOM_DIM_PERCENT),
            (H_PR, Parameter.PULSE_RATE, m.NOM_PLETH_PULS_RATE, m.NOM_DIM_BEAT_PER_MIN),
        ):
            value, state = self._numerics.get(parameter, (None, m.STATE_UNAVAILABLE))
            obs.append(
                m.observation(
                    handle,
                    [
                        m.attribute(m.ATTR_ID_TYPE, struct.pack(">HH", m.NOM_PART_SCADA, physio)),
                        m.attribute(m.ATTR_NU_VAL_OBS, m.nu_obs_value(physio, state, unit, value)),
                        rel,
                    ],
                )
            )
        if self._nibp is None:
            values: tuple[float | None, ...] = (None, None, None, None)
            stamp = m.INVALID_ABSOLUTE_TIME
            state = m.STATE_UNAVAILABLE
        else:
            values = tuple(None if math.isnan(v) else v for v in self._nibp[:4])
            stamp = m.encode_absolute_time(self._nibp[4], self.utc_offset_s)
            state = 0
        if self._nibp_ongoing:
            state |= m.STATE_MSMT_ONGOING
        cmp = m.nu_obs_value_cmp(
            [
                m.nu_obs_value(pid, state, m.NOM_DIM_MMHG, v)
                for pid, v in zip(
                    (m.NOM_PRESS_BLD_NONINV_SYS, m.NOM_PRESS_BLD_NONINV_DIA, m.NOM_PRESS_BLD_NONINV_MEAN),
                    values[:3],
                    strict=True,
                )
            ]
        )
        obs.append(
            m.observation(
                H_NIBP,
                [
                    m.attribute(m.ATTR_ID_TYPE, struct.pack(">HH", m.NOM_PART_SCADA, m.NOM_PRESS_BLD_NONINV)),
                    m.attribute(m.ATTR_NU_CMPD_VAL_OBS, cmp),
                    m.attribute(m.ATTR_TIME_STAMP_ABS, stamp),
                ],
            )
        )
        obs.append(
            m.observation(
                H_NIBP_PR,
                [
                    m.attribute(
                        m.ATTR_NU_VAL_OBS,
                        m.nu_obs_value(m.NOM_PRESS_BLD_NONINV_PULS_RATE, state, m.NOM_DIM_BEAT_PER_MIN, values[3]),
                    ),
                    m.attribute(m.ATTR_TIME_STAMP_ABS, stamp),
                ],
            )
        )
        return obs

    def _wave_observations(self, t: float) -> tuple[list[bytes], float]:
        """Pleth samples not sent yet, up to now; returns the observations and their end time."""
        rate = m.TICKS_PER_SECOND / PLETH_PERIOD_TICKS
        sent = self._pleth_sent_until
        end = sent
        parts = []
        for t0, values in self._pleth:
            ts = t0 + np.arange(len(values)) / rate
            keep = (ts >= sent - 1e-9) & (ts <= t)
            if keep.any():
                parts.append(values[keep])
                end = float(ts[keep][-1]) + 1.0 / rate
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        if len(samples) > MAX_WAVE_SAMPLES:
            samples = samples[-MAX_WAVE_SAMPLES:]
        self._pleth_sent_until = end
        lo, hi, slo, shi = PLETH_SCALE
        scaled = np.clip(np.round((samples.astype(np.float64) - lo) / (hi - lo) * (shi - slo) + slo), 0, 4095)
        attrs = [
            m.attribute(m.ATTR_ID_TYPE, struct.pack(">HH", m.NOM_PART_SCADA, m.NOM_PLETH)),
            m.attribute(m.ATTR_SA_SPECN, struct.pack(">HBBH", MAX_WAVE_SAMPLES, 16, 12, 0)),
            m.attribute(m.ATTR_TIME_PD_SAMP, struct.pack(">I", PLETH_PERIOD_TICKS)),
            m.attribute(m.ATTR_SCALE_SPECN_I16, m.encode_float(lo) + m.encode_float(hi) + struct.pack(">HH", slo, shi)),
        ]
        if len(scaled):
            attrs.append(m.attribute(m.ATTR_SA_VAL_OBS, m.sa_obs_value(m.NOM_PLETH, 0, [int(v) for v in scaled])))
        return [m.observation(H_PLETH, attrs)], end


class _Recorder:
    """A transport that keeps what the monitor wrote."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def read(self, timeout: float) -> bytes:
        return b""

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def close(self) -> None:
        pass


def record_session(
    seconds: float,
    scenario: str = "normal",
    seed: int = 0,
    waves: bool = True,
    start_time: float = 1_767_225_600.0,  # 2026-01-01 00:00:00 UTC
) -> bytes:
    """The bytes a monitor sends during `seconds` of a polled session, generated without waiting:
    MDS Create Event, then numerics each second and pleth every 256 ms. For benchmarks and tests
    of `kapmonitor decode`. Deterministic for the same arguments."""
    now = [0.0]
    emu = IntelliVueEmulator(scenario=scenario, seed=seed, start_time=start_time, monotonic=lambda: now[0])
    out = _Recorder()

    def client(payload: bytes) -> None:
        emu._last_rx = now[0]
        emu._handle(m.parse_message(payload), out, now[0])

    client(m.RELEASE_REQUEST)
    client(m.association_request(1.0, waves))
    step = 0.032
    next_renew = 0.2
    k = 0
    while now[0] < seconds:
        if emu._create_pending is not None and now[0] > 0.1:
            emu._tick(out, now[0])
            invoke_id, ev_time = emu._create_pending
            client(m.mds_create_event_result(invoke_id, ev_time))
        if now[0] >= next_renew:
            next_renew += 5.0
            client(m.extended_poll_request(k & 0xFFFF, 1, m.NOM_MOC_VMO_METRIC_NU, 30.0))
            if waves:
                client(m.extended_poll_request((k + 1) & 0xFFFF, 1, m.NOM_MOC_VMO_METRIC_SA_RT, 30.0))
        emu._tick(out, now[0])
        k += 1
        now[0] = k * step
    return b"".join(out.chunks)


def run_emulator(port_url: str, scenario: str, speed: float, seed: int, stop: threading.Event) -> None:
    """Entry point of `kapmonitor emulate philips-intellivue`: serve on `port_url` until `stop`.

    `port_url` is a serial device (connect it to the kapmonitor PC with a null-modem cable), a
    pseudo-terminal path, or any pyserial URL. A port that cannot be opened (or goes away) is
    logged once and retried every second, like a monitor waiting for its cable.
    """
    emulator = IntelliVueEmulator(scenario=scenario, speed=speed, seed=seed)
    reported = False
    while not stop.is_set():
        try:
            transport = SerialTransport(port_url)
        except PortOpenError as exc:
            if not reported:
                log.error("%s; retrying every second", exc)
                reported = True
            stop.wait(1.0)
            continue
        reported = False
        try:
            emulator.serve(transport, stop)
        finally:
            transport.close()
        if not stop.is_set():
            stop.wait(0.5)
