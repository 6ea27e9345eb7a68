"""The Ivy 450C "ANSAR-B" decoder: one frame a second → HR, SpO2, pulse, NIBP, RR, EtCO2, pleth.

Pure (no I/O, no clock); one instance per stream, not thread-safe.

Frame (from the MD PnP OpenICE driver and its 27-frame capture; no Ivy document exists publicly):
`0xFF "ANSAR-B "` + 400 waveform bytes (ECG 200 @200 Hz, resp 50, pleth 50 @50 Hz at block
offset 250 with baseline 86, P1 50, P2 50) + text lines ending CR (`HR=1;80;ECG-II-DIAG;`,
`SPO2=1;100;PR=80 ;`, `NIBP=4;121;75;92;80;;` …) + `0xFE`. Waveform bytes can take any value,
so the decoder resyncs on the 9-byte header and looks for `0xFE` only after the fixed 409 bytes.

Assumptions (said here because nothing official confirms them): fields are split on `;`, the
first is an unknown count, an empty field is "no value", units are /min, % and mmHg. The stream
carries no clock and no NIBP measurement time, so:
* frames are timed by counting (each is one second of waveform), anchored at the arrival time of
  the first frame and re-anchored when the arrival clock has moved more than 2 s away (a gap, or
  a monitor slightly off its second);
* a NIBP measurement is new when its four values (sys, dia, mean, pulse) change; the values
  already shown when the stream starts are emitted once with `Status.OLD` (their age is unknown);
  a later measurement with exactly the same four values is not seen as new.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np

from kapmonitor.drivers.base import Decoder
from kapmonitor.model.parameters import Parameter, is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

HEADER = b"\xffANSAR-B "
WAVE_BYTES = 400
FIXED = len(HEADER) + WAVE_BYTES  # 409
END = 0xFE
MAX_TEXT = 2048  # the capture's text part is 144 bytes; far longer means a lost end byte
PLETH_AT, PLETH_N, PLETH_BASE, PLETH_HZ = 250, 50, 86, 50.0
REANCHOR_S = 2.0

# always reported (an empty field is a lost value); RR and EtCO2 only once the monitor has sent them
_CORE = frozenset({Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE})
_NIBP = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE)


def parse_number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def parse_text(text: str) -> dict[str, list[str]]:
    """`NAME=n;f1;f2;…` lines → {NAME: [f1, f2, …]} (the count n dropped)."""
    out: dict[str, list[str]] = {}
    for line in text.replace("\n", "\r").split("\r"):
        name, sep, rest = line.strip().partition("=")
        if not sep or not name:
            continue
        out[name] = rest.split(";")[1:]
    return out


class IvyDecoder(Decoder):
    """ANSAR-B bytes in, samples, pleth chunks and notices out."""

    name: ClassVar[str] = "ivy-450c"

    def __init__(self, waves: bool = True) -> None:
        super().__init__()
        self.waves = waves
        self._buf = bytearray()
        self._skipped = False
        self._anchor: float | None = None
        self._count = 0
        self._last_arrival: float | None = None
        self._nibp: tuple[float, ...] | None = None
        self._nibp_started = False
        self._seen: set[Parameter] = set()
        self._alarm_texts: dict[str, str] = {}

    def reset_stream(self) -> None:
        """Forget a partial frame and the time anchor (the port was re-opened); the NIBP shown stays."""
        self._buf.clear()
        self._anchor = None

    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        out: list[Item] = []
        self._buf += data
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = len(HEADER) - 1  # a tail that may be the start of a header
                if len(self._buf) > keep:
                    del self._buf[:-keep]
                    self._skipped = True
                break
            if start > 0 or self._skipped:
                self.stats.resyncs += 1
                self._skipped = False
                del self._buf[:start]
            if len(self._buf) < FIXED + 1:
                break
            end = self._buf.find(bytes([END]), FIXED)
            nxt = self._buf.find(HEADER, 1)
            if nxt > 0 and (end < 0 or nxt < end):
                self.stats.length_errors += 1  # a new frame began before this one ended
                del self._buf[:nxt]
                continue
            if end < 0:
                if len(self._buf) > FIXED + MAX_TEXT:
                    self.stats.length_errors += 1  # the end byte was lost: look for the next header
                    del self._buf[:1]
                    self._skipped = True
                    continue
                break
            frame = bytes(self._buf[:end + 1])
            del self._buf[:end + 1]
            out.extend(self._frame(frame, arrival_time))
        return out

    # -- one frame ----------------------------------------------------------------------------
    def _time(self, arrival_time: float) -> float:
        if self._anchor is None:
            self._anchor, self._count = arrival_time, 0
        else:
            self._count += 1
            t = self._anchor + self._count
            if arrival_time != self._last_arrival and abs(t - arrival_time) > REANCHOR_S:
                self._anchor, self._count = arrival_time, 0
        self._last_arrival = arrival_time
        return self._anchor + self._count

    def _frame(self, frame: bytes, arrival_time: float) -> list[Item]:
        try:
            text = frame[FIXED:-1].decode("ascii")
        except UnicodeDecodeError:
            self.stats.length_errors += 1
            return []
        fields = parse_text(text)
        if not fields:
            self.stats.length_errors += 1
            return []
        self.stats.frames += 1
        t = self._time(arrival_time)
        out: list[Item] = []
        if self.waves:
            block = np.frombuffer(frame, dtype=np.uint8, count=PLETH_N, offset=len(HEADER) + PLETH_AT)
            out.append(WaveChunk(t, Parameter.PLETH, PLETH_HZ, block.astype(np.float32) - PLETH_BASE))
        hr = fields.get("HR")
        if hr is not None:
            out.extend(self._value(t, Parameter.HR, hr[0] if hr else ""))
            self._alarm(t, "HR", hr, 2, out)
        spo2 = fields.get("SPO2")
        if spo2 is not None:
            out.extend(self._value(t, Parameter.SPO2, spo2[0] if spo2 else ""))
            pr = spo2[1].strip() if len(spo2) > 1 else ""
            out.extend(self._value(t, Parameter.PULSE_RATE, pr[3:] if pr.startswith("PR=") else ""))
            self._alarm(t, "SPO2", spo2, 2, out)
        for name, parameter in (("RR", Parameter.RESP_RATE), ("ETCO2", Parameter.ETCO2)):
            f = fields.get(name)
            if f is not None:
                out.extend(self._value(t, parameter, f[0] if f else ""))
                self._alarm(t, name, f, 2, out)
        nibp = fields.get("NIBP")
        if nibp is not None:
            out.extend(self._nibp_update(t, nibp))
            self._alarm(t, "NIBP", nibp, 5, out)
        return out

    def _value(self, t: float, parameter: Parameter, text: str) -> list[Item]:
        value = parse_number(text)
        if value is None:
            if parameter in _CORE or parameter in self._seen:
                return [VitalSample(t, parameter, None, Status.INVALID)]
            return []
        self._seen.add(parameter)
        if not is_plausible(parameter, value):
            return [VitalSample(t, parameter, None, Status.IMPLAUSIBLE)]
        return [VitalSample(t, parameter, value, Status.OK)]

    def _alarm(self, t: float, name: str, fields: list[str], index: int, out: list[Item]) -> None:
        """The monitor's alarm text for a line, noted when it changes (advisory: own alarms come from values)."""
        text = fields[index].strip() if len(fields) > index else ""
        if text != self._alarm_texts.get(name, ""):
            self._alarm_texts[name] = text
            message = f"Ivy {name} alarm: {text}" if text else f"Ivy {name} alarm cleared"
            out.append(DeviceNotice(t, "ivy-alarm", message, {"line": name, "text": text}))

    def _nibp_update(self, t: float, fields: list[str]) -> list[Item]:
        values = [parse_number(f) for f in fields[:4]]
        first = not self._nibp_started
        self._nibp_started = True
        if len(values) < 3 or values[0] is None or values[1] is None:
            return []  # no result shown (cleared, or measuring)
        key = tuple(v if v is not None else -1.0 for v in values)
        if key == self._nibp:
            return []
        self._nibp = key
        status = Status.OLD if first else Status.OK
        mid = f"ivy-{t:.0f}"
        out: list[Item] = []
        for parameter, value in zip(_NIBP, values + [None] * (4 - len(values)), strict=True):
            if value is None:
                out.append(VitalSample(t, parameter, None, Status.UNAVAILABLE, measurement_id=mid))
            elif not is_plausible(parameter, value):
                out.append(VitalSample(t, parameter, None, Status.IMPLAUSIBLE, measurement_id=mid))
            else:
                out.append(VitalSample(t, parameter, value, status, measurement_id=mid))
        return out
