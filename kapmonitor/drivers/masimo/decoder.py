"""The Masimo serial "ASCII 1" decoder: text lines of `KEY=VALUE` tokens → SpO2 and pulse rate.

Pure (no I/O, no clock); one instance per stream, not thread-safe.

One line a second (Rad-8, Radical-7, Rad-97, Root), e.g.
`02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ... ALARM=0000 EXC=000800`.
Tokens are read by key, never by position (the field set differs by model). Rules:

* A value containing `-` (`---`, `--.-`, `+--`) is "no value".
* The EXC bit field is checked before a value is trusted: no sensor (0x001), defective sensor
  (0x002), sensor off the patient (0x020) and unrecognised sensor (0x080) turn SpO2 and pulse into
  samples without a number and with their own status (the alarm engine makes that a technical
  alarm). Low perfusion, pulse search, interference, ambient light and low signal IQ are noted
  (DeviceNotice) but the numbers stay: Masimo itself shows them, and hiding a real desaturation
  because the signal is poor would be worse.
* ALARM bits are proprietary (reverse-engineered meanings only): noted, never turned into alarms;
  kapmonitor derives its own alarms from the values.
* Times: with `device_time=False` (the live driver) every value is stamped with the arrival time,
  because the oximeter's clock is not reliable; with `device_time=True` (offline `decode` of a
  file, the default) the line's own date and time are used as written (no zone in the line).
* A line without `SPO2=` and `BPM=` is not ASCII 1 (e.g. the trend-dump format `SpO2=… PR=…`
  printed by the Rad-8's trend output): it is counted, announced once, and never decoded as values.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import ClassVar

from kapmonitor.drivers.base import Decoder
from kapmonitor.model.parameters import Parameter, is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, Status, VitalSample

log = logging.getLogger(__name__)

MAX_LINE = 512  # a real line is under 200 characters; longer means this is not ASCII 1

# EXC bits (Rad-8 operator's manual, "Trend data format")
EXC_NO_SENSOR = 0x001
EXC_DEFECTIVE = 0x002
EXC_LOW_PERFUSION = 0x004
EXC_PULSE_SEARCH = 0x008
EXC_INTERFERENCE = 0x010
EXC_SENSOR_OFF = 0x020
EXC_AMBIENT_LIGHT = 0x040
EXC_UNRECOGNISED = 0x080
EXC_LOW_SIQ = 0x400
EXC_SET = 0x800

# bits that make the numbers untrustworthy, in the order their text is preferred
_BLOCKING: tuple[tuple[int, Status, str], ...] = (
    (EXC_NO_SENSOR, Status.NO_SENSOR, "no sensor connected to the pulse oximeter"),
    (EXC_SENSOR_OFF, Status.SENSOR_OFF, "pulse oximeter sensor off the patient"),
    (EXC_DEFECTIVE, Status.SENSOR_FAULT, "pulse oximeter sensor defective: replace it"),
    (EXC_UNRECOGNISED, Status.SENSOR_FAULT, "pulse oximeter sensor not recognised: use a Masimo sensor"),
)
_ADVISORY: tuple[tuple[int, str], ...] = (
    (EXC_LOW_PERFUSION, "low perfusion"),
    (EXC_PULSE_SEARCH, "pulse search"),
    (EXC_INTERFERENCE, "interference"),
    (EXC_AMBIENT_LIGHT, "ambient light"),
    (EXC_LOW_SIQ, "low signal quality (SIQ)"),
)
# ALARM bits as reverse-engineered on a Rad-8 (nmenon/masimo-datacapture); advisory only
_ALARM_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "SpO2 above high limit"),
    (0x02, "SpO2 below low limit"),
    (0x04, "pulse above high limit"),
    (0x08, "pulse below low limit"),
    (0x10, "alarm active"),
    (0x20, "alarm silenced"),
)

_FIELDS: tuple[tuple[str, Parameter], ...] = (("SPO2", Parameter.SPO2), ("BPM", Parameter.PULSE_RATE))
_DATE = re.compile(r"^(\d\d)/(\d\d)/(\d\d)$")
_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)$")
_NUMBER = re.compile(r"^[+]?\d+(\.\d+)?$")
_EOL = re.compile(rb"[\r\n]")


def parse_value(text: str) -> float | None:
    """The number in a token value (`098%` → 98.0), None for the invalid markers or anything else."""
    text = text.strip().rstrip("%")
    if "-" in text or not _NUMBER.match(text):
        return None
    return float(text)


def parse_hex(text: str) -> int | None:
    try:
        return int(text, 16) if text and len(text) <= 10 else None
    except ValueError:
        return None


def exception_texts(exc: int) -> list[str]:
    """Human-readable meanings of the set EXC bits (SET mode is normal and not listed)."""
    texts = [text for bit, _, text in _BLOCKING if exc & bit]
    texts += [text for bit, text in _ADVISORY if exc & bit]
    return texts


def blocking_status(exc: int) -> tuple[Status, str] | None:
    """The status that replaces the numbers under this EXC value, with its text; None when usable."""
    for bit, status, text in _BLOCKING:
        if exc & bit:
            return status, text
    return None


def alarm_texts(alarm: int) -> list[str]:
    return [text for bit, text in _ALARM_BITS if alarm & bit]


class MasimoDecoder(Decoder):
    """Lines in, `VitalSample`s (SpO2, pulse rate) and `DeviceNotice`s out."""

    name: ClassVar[str] = "masimo-ascii1"

    def __init__(self, device_time: bool = True) -> None:
        super().__init__()
        self.device_time = device_time
        self._buf = bytearray()
        self._exc: int | None = None
        self._alarm: int | None = None
        self._serial: str | None = None
        self._foreign_reported: set[str] = set()
        self.rejected_lines = 0

    def reset_stream(self) -> None:
        """Forget a partial line (the port was re-opened); remembered states stay."""
        self._buf.clear()

    def feed(self, data: bytes, arrival_time: float) -> list[Item]:
        out: list[Item] = []
        self._buf += data
        while True:
            m = _EOL.search(self._buf)
            if m is None:
                if len(self._buf) > MAX_LINE:
                    self.stats.length_errors += 1
                    self.stats.resyncs += 1
                    self._buf.clear()
                break
            cut = m.start()
            line = bytes(self._buf[:cut])
            del self._buf[:cut + 1]
            if line.strip():
                out.extend(self._line(line, arrival_time))
        return out

    def finish(self) -> list[Item]:
        """A last line without its line end (a file cut after the final record)."""
        line, self._buf = bytes(self._buf), bytearray()
        return self._line(line, 0.0) if line.strip() and self.device_time else []

    # -- one line -----------------------------------------------------------------------------
    def _reject(self, kind: str, message: str, t: float, line: str) -> list[Item]:
        self.rejected_lines += 1
        self.stats.length_errors += 1
        if kind in self._foreign_reported:
            return []
        self._foreign_reported.add(kind)
        log.info("Masimo: %s", message)
        return [DeviceNotice(t, f"masimo-{kind}", message, {"line": line[:120], "refused": True})]

    def _line(self, raw: bytes, arrival_time: float) -> list[Item]:
        if len(raw) > MAX_LINE:
            self.stats.length_errors += 1
            return []
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return self._reject("not-ascii1", "bytes that are not ASCII 1 text arrive: check the baud rate "
                                "(9600; Root: 19200) and set the device's serial output to ASCII 1", arrival_time,
                                raw.decode("ascii", "replace"))
        tokens = line.split()
        fields: dict[str, str] = {}
        for token in tokens:
            key, sep, value = token.partition("=")
            if sep and key:
                fields[key] = value
        device_t = self._device_time(tokens)
        t = device_t if self.device_time and device_t is not None else arrival_time
        if "SPO2" not in fields or "BPM" not in fields:
            if "SpO2" in fields or "PR" in fields:
                return self._reject("trend-dump", "the pulse oximeter sends its trend-dump format (SpO2=/PR=), "
                                    "not live ASCII 1: no values taken; set its serial output to ASCII 1", t, line)
            return self._reject("not-ascii1", "a line that is not Masimo ASCII 1 arrived: no values taken; set "
                                "the device's serial output to ASCII 1", t, line)
        self.stats.frames += 1
        out: list[Item] = []
        serial_no = fields.get("SN")
        if serial_no and "-" not in serial_no and serial_no != self._serial:
            self._serial = serial_no
            out.append(DeviceNotice(t, "masimo-device", f"Masimo pulse oximeter, serial number {serial_no}",
                                    {"serial_number": serial_no, "fields": sorted(fields)}))
        exc = parse_hex(fields.get("EXC", ""))
        blocked: tuple[Status, str] | None
        if exc is None:
            blocked = (Status.INVALID, "pulse oximeter line without a readable EXC field: values not trusted")
        else:
            blocked = blocking_status(exc)
        if exc != self._exc:
            texts = exception_texts(exc) if exc is not None else ["EXC field missing or unreadable"]
            if self._exc is not None or texts:
                message = ("Masimo: " + ", ".join(texts)) if texts else "Masimo: sensor exceptions cleared"
                out.append(DeviceNotice(t, "masimo-exception", message, {"exc": exc}))
            self._exc = exc
        alarm = parse_hex(fields.get("ALARM", ""))
        if alarm is not None and alarm != self._alarm:
            if self._alarm is not None or alarm:
                texts = alarm_texts(alarm)
                message = ("Masimo alarm bits (advisory): " + ", ".join(texts)) if texts else \
                    f"Masimo alarm bits cleared (ALARM={fields['ALARM']})"
                out.append(DeviceNotice(t, "masimo-alarm-bits", message, {"alarm": alarm}))
            self._alarm = alarm
        for key, parameter in _FIELDS:
            if blocked is not None:
                out.append(VitalSample(t, parameter, None, blocked[0]))
                continue
            number = parse_value(fields[key])
            if number is None:
                out.append(VitalSample(t, parameter, None, Status.INVALID))
            elif not is_plausible(parameter, number):
                out.append(VitalSample(t, parameter, None, Status.IMPLAUSIBLE))
            else:
                out.append(VitalSample(t, parameter, number, Status.OK))
        return out

    @staticmethod
    def _device_time(tokens: list[str]) -> float | None:
        """The line's MM/DD/YY HH:MM:SS as seconds (taken as written: the line has no zone)."""
        if len(tokens) < 2:
            return None
        d, tm = _DATE.match(tokens[0]), _TIME.match(tokens[1])
        if d is None or tm is None:
            return None
        try:
            dt = datetime(2000 + int(d.group(3)), int(d.group(1)), int(d.group(2)),
                          int(tm.group(1)), int(tm.group(2)), int(tm.group(3)), tzinfo=UTC)
        except ValueError:
            return None
        return dt.timestamp()
