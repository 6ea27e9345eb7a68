"""Pure decoder of the bytes an IntelliVue monitor sends over MIB/RS232 (no I/O, no clock).

What it decodes: Extended/Single Poll Data Results (also linked results) of numerics (HR 0x4182,
SpO2 0x4BB8, pleth pulse 0x4822, NIBP 0x4A05/06/07 compound 0x094B or single, NIBP pulse 0xF0E5)
and real-time waves (pleth 0x4BB4), the MDS Create Event (for the clock), association control
messages (reported to the driver as `ProtocolEvent`s) and patient demographics (kept in
`demographics`, never emitted: names do not belong in the vitals record).

Time mapping: the monitor's RelativeTime (1/8 ms ticks since its boot, wrapping at 2**32) is
turned into epoch seconds through an anchor: the MDS Create Event's NOM_ATTR_TIME_ABS (BCD wall
clock) paired with its NOM_ATTR_TIME_REL; a poll result with a valid absolute time stamp gives the
anchor when there is none from the monitor yet, or renews it when the two disagree by more than 2 s
(the monitor's clock was set), keeping the relative time's 2 ms precision otherwise. Without
either, the first relative time seen is anchored at its arrival time. The monitor's wall clock is
local time: `utc_offset_s` (monitor local minus UTC) converts it; the live driver estimates it from
the host clock, offline decoding assumes 0 unless told.

NIBP: emitted once per measurement, keyed by the numeric's NOM_ATTR_TIME_STAMP_ABS (0x0990), and
stamped with that time; the pulse (0xF0E5) joins by the same key. MSMT_ONGOING gives one
NIBP_SYS `MEASURING` sample per cuff cycle. A non-valid NIBP state is emitted when it changes.

Echo: frames only a client sends (association request, poll/get/set invocations, event-report
results) mean the line echoes our own requests (wrong cable or port): reported once as a
DeviceNotice plus a NOT_ANSWERING LinkEvent, never decoded as monitor data.

The attribute layouts, the code tables and a numeric's value and status are in attributes.py.

Not thread-safe: one decoder per stream.
"""

from __future__ import annotations

import collections
import logging
import math
import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from kapmonitor.drivers.base import Decoder
from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.attributes import (
    NIBP_PARAMETERS,
    NUMERIC_PARAMETERS,
    RESP_RATE_IDS,
    NuObs,
    PollReply,
    decode_bcd_time,
    decode_float,
    decode_nu_obs,
    decode_string,
    iter_attributes,
    parse_poll_reply,
    value_status,
)
from kapmonitor.drivers.intellivue.framing import FrameReader
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

NOT_ANSWERING_TEXT = "monitor not answering (are you connected to the right port / cable?)"
ECHO_FRAMES_TO_REPORT = 3
DEFAULT_PLETH_PERIOD_TICKS = 64  # 8 ms: 125 samples/s, the IntelliVue pleth rate
@dataclass(frozen=True, slots=True)
class ProtocolEvent:
    """What the live driver must react to; the decoder only reports it."""

    kind: str  # assoc_result, refuse, release_request, release_response, abort, mds_create, poll_result, error, echo
    invoke_id: int = 0
    event_time: int = 0
    detail: str = ""


@dataclass(slots=True)
class _WaveMeta:
    period_ticks: int = DEFAULT_PLETH_PERIOD_TICKS
    mask: int = 0xFFFF
    scale: tuple[float, float] | None = None  # value = k * sample + b
    raw: dict[int, bytes] = field(default_factory=dict)
    last_end: float | None = None


@dataclass(slots=True)
class _NibpState:
    seen: list[str] = field(default_factory=list)
    ongoing: bool = False
    last_status: dict[Parameter, Status] = field(default_factory=dict)


class IntelliVueDecoder(Decoder):
    """Decoder `philips-intellivue` (see the module docstring)."""

    name: ClassVar[str] = "philips-intellivue"

    def __init__(self, utc_offset_s: float = 0.0, collect_events: bool = False, emit_raw: bool = False) -> None:
        super().__init__()
        self.utc_offset_s = utc_offset_s
        self.collect_events = collect_events
        self.emit_raw = emit_raw
        self.frames = FrameReader(self.stats)
        self.events: list[ProtocolEvent] = []
        # what the live driver sent lately: the same bytes coming back are an echo, whatever they are
        self.own_payloads: collections.deque[bytes] = collections.deque(maxlen=32)
        self.demographics: dict[str, str] = {}
        self.parse_errors = 0
        self.echo_frames = 0
        self.monitor_frames = 0
        self.echo_detected = False
        self._echo_run = 0
        self._anchor: tuple[int, float] | None = None  # (relative ticks, epoch)
        self._anchor_from_monitor = False
        self._waves: dict[tuple[int, int], _WaveMeta] = {}
        self._nibp = _NibpState()
        self._numeric_status: dict[Parameter, Status] = {}

    def carry_over(self, previous: IntelliVueDecoder) -> None:
        """Keep what must survive a reconnect: the NIBP measurements already emitted (the monitor
        still shows the last one after a cable is re-plugged; it is not a new measurement) and
        the monitor's UTC offset."""
        self._nibp = previous._nibp
        self.utc_offset_s = previous.utc_offset_s

    # -- time ---------------------------------------------------------------------------------
    @property
    def anchor(self) -> tuple[int, float] | None:
        """(relative ticks, epoch seconds) the monitor's relative time is mapped through."""
        return self._anchor

    def set_anchor(self, rel_ticks: int, epoch: float, from_monitor: bool = True) -> None:
        self._anchor = (rel_ticks & 0xFFFFFFFF, epoch)
        self._anchor_from_monitor = from_monitor

    def rel_to_epoch(self, rel_ticks: int, arrival_time: float) -> float:
        if self._anchor is None:
            self.set_anchor(rel_ticks, arrival_time, from_monitor=False)
        assert self._anchor is not None
        rel0, t0 = self._anchor
        delta = (rel_ticks - rel0) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        return t0 + delta / m.TICKS_PER_SECOND

    # -- feeding ------------------------------------------------------------------------------
    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        out: list[Item] = []
        for frame in self.frames.feed(data):
            if self.emit_raw:
                out.append(RawFrame(arrival_time, "rx", frame.wire))
            if frame.protocol_id != 0x11 or frame.msg_type != 0x01:
                continue
            out.extend(self.feed_message(frame.payload, arrival_time))
        return out

    def feed_message(self, payload: bytes, arrival_time: float) -> list[Item]:
        """Decode one unframed message (user data of a frame, or a LAN datagram)."""
        try:
            msg = m.parse_message(payload)
        except (m.ParseError, struct.error) as exc:
            self.parse_errors += 1
            log.debug("unparsable message: %s", exc)
            return []
        out: list[Item] = []
        if payload in self.own_payloads or _is_client_message(msg):
            self.echo_frames += 1
            self._echo_run += 1
            self._event(ProtocolEvent("echo", detail=msg.kind))
            if self._echo_run >= ECHO_FRAMES_TO_REPORT and not self.echo_detected:
                self.echo_detected = True
                out.append(
                    DeviceNotice(
                        arrival_time,
                        "echo-detected",
                        "the port returns our own requests: " + NOT_ANSWERING_TEXT,
                        {"echo_frames": self._echo_run},
                    )
                )
                out.append(LinkEvent(arrival_time, LinkState.NOT_ANSWERING, NOT_ANSWERING_TEXT))
            return out
        if msg.kind in ("unknown", "other") and msg.ro_type == 0:
            return out
        self.monitor_frames += 1
        self._echo_run = 0
        self.echo_detected = False
        try:
            out.extend(self._dispatch(msg, arrival_time))
        except (struct.error, ValueError, IndexError) as exc:
            self.parse_errors += 1
            log.debug("bad message content: %s", exc)
        return out

    def _event(self, ev: ProtocolEvent) -> None:
        if self.collect_events:
            self.events.append(ev)

    def take_events(self) -> list[ProtocolEvent]:
        ev, self.events = self.events, []
        return ev

    def _dispatch(self, msg: m.Message, arrival_time: float) -> list[Item]:
        kind = msg.kind
        if kind in ("assoc_result", "refuse", "release_request", "release_response", "abort"):
            self._event(ProtocolEvent(kind))
            return []
        if kind == "error":
            self._event(ProtocolEvent("error", msg.invoke_id, detail=f"error {msg.error_value}"))
            return []
        if kind == "event_report" and msg.event_type == m.NOM_NOTI_MDS_CREAT:
            self._mds_create(msg)
            self._event(ProtocolEvent("mds_create", msg.invoke_id, msg.event_time))
            return []
        if kind in ("action_result", "linked_result") and msg.action_type in (
            m.NOM_ACT_POLL_MDIB_DATA,
            m.NOM_ACT_POLL_MDIB_DATA_EXT,
        ):
            reply = parse_poll_reply(msg.body, msg.action_type == m.NOM_ACT_POLL_MDIB_DATA_EXT)
            if reply is None:
                self.parse_errors += 1
                return []
            self._event(ProtocolEvent("poll_result", msg.invoke_id, reply.rel_time, str(reply.obj_code)))
            return self._poll_reply(reply, arrival_time)
        return []

    def _mds_create(self, msg: m.Message) -> None:
        if len(msg.body) < 6:
            return
        attrs, _ = iter_attributes(msg.body, 6, len(msg.body))
        abs_t: float | None = None
        rel: int | None = None
        for aid, raw in attrs:
            if aid == m.ATTR_TIME_ABS:
                abs_t = decode_bcd_time(raw, self.utc_offset_s)
            elif aid == m.ATTR_TIME_REL and len(raw) >= 4:
                rel = struct.unpack_from(">I", raw, 0)[0]
        if abs_t is not None:
            self.set_anchor(msg.event_time if rel is None else rel, abs_t)

    # -- poll results -----------------------------------------------------------------------
    def _poll_reply(self, reply: PollReply, arrival_time: float) -> list[Item]:
        abs_t = decode_bcd_time(reply.abs_time, self.utc_offset_s)
        if abs_t is not None and (
            not self._anchor_from_monitor or abs(self.rel_to_epoch(reply.rel_time, arrival_time) - abs_t) > 2.0
        ):
            # a whole-second wall clock: re-anchor only when needed, so times keep their 2 ms precision
            self.set_anchor(reply.rel_time, abs_t)
        t = self.rel_to_epoch(reply.rel_time, arrival_time)
        out: list[Item] = []
        nibp: dict[int, NuObs] = {}
        nibp_time: bytes | None = None
        pulse: NuObs | None = None
        pulse_time: bytes | None = None
        rr: dict[int, NuObs] = {}
        for ctx, handle, attrs in reply.observations:
            has_bp = has_pulse = False
            stamp: bytes | None = None
            for aid, raw in attrs:
                if aid == m.ATTR_NU_VAL_OBS and len(raw) >= 10:
                    obs = decode_nu_obs(raw)
                    if obs.physio_id in NIBP_PARAMETERS:
                        nibp[obs.physio_id] = obs
                        has_bp = True
                    elif obs.physio_id == m.NOM_PRESS_BLD_NONINV_PULS_RATE:
                        pulse = obs
                        has_pulse = True
                    elif obs.physio_id in RESP_RATE_IDS:
                        rr[obs.physio_id] = obs
                    elif obs.physio_id in NUMERIC_PARAMETERS:
                        out.append(self._numeric(t, NUMERIC_PARAMETERS[obs.physio_id], obs))
                elif aid == m.ATTR_NU_CMPD_VAL_OBS and len(raw) >= 4:
                    count = struct.unpack_from(">H", raw, 0)[0]
                    for i in range(count):
                        if 4 + 10 * (i + 1) > len(raw):
                            break
                        obs = decode_nu_obs(raw, 4 + 10 * i)
                        if obs.physio_id in NIBP_PARAMETERS:
                            nibp[obs.physio_id] = obs
                            has_bp = True
                        elif obs.physio_id in RESP_RATE_IDS:
                            rr[obs.physio_id] = obs
                        elif obs.physio_id in NUMERIC_PARAMETERS:
                            out.append(self._numeric(t, NUMERIC_PARAMETERS[obs.physio_id], obs))
                elif aid == m.ATTR_TIME_STAMP_ABS and len(raw) >= 8:
                    stamp = raw[:8]
                elif aid in (
                    m.ATTR_SA_VAL_OBS,
                    m.ATTR_SA_CMPD_VAL_OBS,
                    m.ATTR_SA_SPECN,
                    m.ATTR_SCALE_SPECN_I16,
                    m.ATTR_TIME_PD_SAMP,
                ):
                    out.extend(self._wave_attr(ctx, handle, aid, raw, t))
                elif aid in (m.ATTR_PT_NAME_FAMILY, m.ATTR_PT_NAME_GIVEN, m.ATTR_PT_ID):
                    key = {
                        m.ATTR_PT_NAME_FAMILY: "family_name",
                        m.ATTR_PT_NAME_GIVEN: "given_name",
                        m.ATTR_PT_ID: "patient_id",
                    }[aid]
                    self.demographics[key] = decode_string(raw)
            if stamp is not None:
                if has_bp:
                    nibp_time = stamp
                if has_pulse:
                    pulse_time = stamp
        if rr:
            samples = [self._numeric(t, Parameter.RESP_RATE, rr[i]) for i in RESP_RATE_IDS if i in rr]
            out.append(next((s for s in samples if s.value is not None), samples[0]))
        if nibp:
            out.extend(self._nibp_result(t, nibp, nibp_time, pulse, pulse_time))
        return out

    def _numeric(self, t: float, parameter: Parameter, obs: NuObs) -> VitalSample:
        value, status = value_status(parameter, obs)
        return VitalSample(t, parameter, value, status)

    def _nibp_result(
        self, t: float, nibp: dict[int, NuObs], stamp: bytes | None, pulse: NuObs | None, pulse_stamp: bytes | None
    ) -> list[Item]:
        st = self._nibp
        out: list[Item] = []
        if any(o.state & m.STATE_MSMT_ONGOING for o in nibp.values()):
            if not st.ongoing:
                st.ongoing = True
                out.append(VitalSample(t, Parameter.NIBP_SYS, None, Status.MEASURING))
                st.last_status[Parameter.NIBP_SYS] = Status.MEASURING
            return out
        st.ongoing = False
        decoded = {NIBP_PARAMETERS[pid]: value_status(NIBP_PARAMETERS[pid], o) for pid, o in nibp.items()}
        all_valid = len(decoded) == 3 and all(s is Status.OK and v is not None for v, s in decoded.values())
        meas_t = decode_bcd_time(stamp, self.utc_offset_s) if stamp is not None else None
        if all_valid:
            if stamp is not None and meas_t is not None:
                key = stamp.hex()
            else:
                key = "v" + "/".join(f"{decoded[p][0]}" for p in sorted(decoded))
            if key not in st.seen:
                st.seen.append(key)
                del st.seen[:-64]
                when = meas_t if meas_t is not None else t
                mid = f"ivue-{int(when)}" if meas_t is not None else f"ivue-{int(t)}"
                for p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN):
                    out.append(VitalSample(when, p, decoded[p][0], Status.OK, measurement_id=mid))
                    st.last_status[p] = Status.OK
                if pulse is not None and (pulse_stamp is None or pulse_stamp == stamp):
                    pv, ps = value_status(Parameter.NIBP_PULSE, pulse)
                    out.append(VitalSample(when, Parameter.NIBP_PULSE, pv, ps, measurement_id=mid))
            return out
        for p, (_v, s) in decoded.items():
            if s is Status.OK:
                continue  # a partial result: wait for all three
            if st.last_status.get(p) is not s:
                st.last_status[p] = s
                out.append(VitalSample(t, p, None, s))
        return out

    # -- waves ---------------------------------------------------------------------------------
    def _wave_attr(self, ctx: int, handle: int, aid: int, raw: bytes, t: float) -> list[Item]:
        meta = self._waves.get((ctx, handle))
        if meta is None:
            if len(self._waves) > 256:
                self._waves.clear()
            meta = self._waves[(ctx, handle)] = _WaveMeta()
        if aid in _WAVE_META_ATTRS:
            if meta.raw.get(aid) != raw:  # static attributes repeat in every result: decode once
                meta.raw[aid] = raw
                _update_wave_meta(meta, aid, raw)
            return []
        arrays: list[tuple[int, int, bytes]] = []
        if aid == m.ATTR_SA_VAL_OBS and len(raw) >= 6:
            physio, state, n = struct.unpack_from(">HHH", raw, 0)
            arrays.append((physio, state, raw[6 : 6 + n]))
        elif aid == m.ATTR_SA_CMPD_VAL_OBS and len(raw) >= 4:
            count = struct.unpack_from(">H", raw, 0)[0]
            p = 4
            for _ in range(count):
                if p + 6 > len(raw):
                    break
                physio, state, n = struct.unpack_from(">HHH", raw, p)
                arrays.append((physio, state, raw[p + 6 : p + 6 + n]))
                p += 6 + n
        out: list[Item] = []
        for physio, state, data in arrays:
            n = len(data) // 2
            if physio != m.NOM_PLETH or n == 0:
                continue
            if state & 0xFF00:
                values = np.full(n, np.nan, dtype=np.float32)
            else:
                samples = np.frombuffer(data, dtype=">u2", count=n)
                if meta.mask != 0xFFFF:
                    samples = samples & meta.mask
                if meta.scale is not None:
                    k, b = meta.scale  # bounded when set: |k * 65535 + b| <= 1e9
                    values = (samples * k + b).astype(np.float32)
                else:
                    values = samples.astype(np.float32)
            rate = m.TICKS_PER_SECOND / meta.period_ticks
            start = t - n / rate
            if meta.last_end is not None and abs(start - meta.last_end) < 0.5:
                start = meta.last_end  # keep consecutive chunks contiguous despite 2 ms time jitter
            meta.last_end = start + n / rate
            out.append(WaveChunk(start, Parameter.PLETH, rate, values))
        return out


_WAVE_META_ATTRS = frozenset((m.ATTR_TIME_PD_SAMP, m.ATTR_SA_SPECN, m.ATTR_SCALE_SPECN_I16))


def _update_wave_meta(meta: _WaveMeta, aid: int, raw: bytes) -> None:
    """Sample period, significant bits, or the scale as value = k * sample + b."""
    if aid == m.ATTR_TIME_PD_SAMP and len(raw) >= 4:
        period = struct.unpack_from(">I", raw, 0)[0]
        if 8 <= period <= 8000:  # 1 kHz .. 1 Hz
            meta.period_ticks = period
    elif aid == m.ATTR_SA_SPECN and len(raw) >= 6:
        sig = raw[3]
        if 1 <= sig <= 16:
            meta.mask = (1 << sig) - 1
    elif aid == m.ATTR_SCALE_SPECN_I16 and len(raw) >= 12:
        lo = decode_float(struct.unpack_from(">I", raw, 0)[0]).value
        hi = decode_float(struct.unpack_from(">I", raw, 4)[0]).value
        slo, shi = struct.unpack_from(">HH", raw, 8)
        meta.scale = None
        if lo is not None and hi is not None and shi != slo:
            k = (hi - lo) / (shi - slo)
            b = lo - slo * k
            if math.isfinite(k) and math.isfinite(b) and abs(k) * 65535 + abs(b) <= 1e9:
                meta.scale = (k, b)


def _is_client_message(msg: m.Message) -> bool:
    """Messages only a Computer Client sends; seeing them come in means an echo."""
    if msg.kind in ("assoc_request", "action", "event_result"):
        return True
    return (
        msg.kind == "other"
        and msg.ro_type == m.ROIV_APDU
        and msg.command
        in (
            m.CMD_GET,
            m.CMD_SET,
            m.CMD_CONFIRMED_SET,
        )
    )
