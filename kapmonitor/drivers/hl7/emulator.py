"""A monitor sending IHE PCD-01 over MLLP, driven by the simulator's physiology.

`run_emulator("tcp:HOST:PORT", …)` connects to a listening kapmonitor (as Philips Efficia, GE and
Mindray monitors do); `run_emulator("listen:HOST:PORT", …)` waits for kapmonitor to connect (as
a Nihon Kohden unit does). One ORU^R01 per monitor second with HR, SpO2, pulse rate and the last
NIBP measurement at its cuff time (repeated in every message, as real monitors do), in one of
the vendor dialects seen in the shared captures: `mdc` (GE/IHE), `mindray`, `philips` (MDIL),
`nihon-kohden`. ACKs are read and anything but AA is logged. Reconnects with backoff until `stop`.

Runs in the calling thread until `stop` is set.
"""

from __future__ import annotations

import contextlib
import logging
import math
import select
import socket
import threading
import time
from dataclasses import dataclass

from kapmonitor.drivers.hl7.message import format_ts
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample

log = logging.getLogger(__name__)

DIALECTS = ("mdc", "mindray", "philips", "nihon-kohden")
DEVICE_EUI = "0000000000C0FFEE"


@dataclass
class MonitorShown:
    """What the emulated monitor shows: the latest values and the last NIBP measurement."""

    hr: float | None = None
    spo2: float | None = None
    pr: float | None = None
    nibp: tuple[float | None, float | None, float | None, float | None] | None = None
    nibp_time: float = 0.0

    def take(self, s: VitalSample) -> None:
        if s.parameter is Parameter.HR:
            self.hr = s.value if s.status is Status.OK else None
        elif s.parameter is Parameter.SPO2:
            self.spo2 = s.value if s.status is Status.OK else None
        elif s.parameter is Parameter.PULSE_RATE:
            self.pr = s.value if s.status is Status.OK else None
        elif s.parameter is Parameter.NIBP_SYS and s.status is Status.MEASURING:
            return
        elif s.parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE):
            values = list(self.nibp or (None, None, None, None))
            index = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN,
                     Parameter.NIBP_PULSE).index(s.parameter)
            values[index] = s.value
            self.nibp = (values[0], values[1], values[2], values[3])
            self.nibp_time = s.time


def _num(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return ""
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def _obx_status(v: float | None, ok: str) -> str:
    return ok if v is not None else "X"


def build_message(shown: MonitorShown, t: float, control_id: int, dialect: str = "mdc") -> bytes:
    """One ORU^R01 in `dialect` (segments ending in CR, no MLLP bytes)."""
    ts = format_ts(t)
    cid = str(control_id)
    lines: list[str]
    if dialect == "mindray":
        lines = [
            f"MSH|^~\\&|MINDRAY_VS900^{DEVICE_EUI}^EUI-64||||{ts}||ORU^R01^ORU_R01|{cid}|P|2.6|||AL|NE||"
            "UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            "PID|||^^^Hospital^PI||^^^^^^L",
            "PV1||I|KAP^^1",
            f"OBR|1|{cid}^MINDRAY_VS900^{DEVICE_EUI}^EUI-64|{cid}^MINDRAY_VS900^{DEVICE_EUI}^EUI-64|"
            f"182777000^monitoring of patient^SCT|||{ts}",
        ]
        rows = [
            ("150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.3.1.150456", shown.spo2, "262688^MDC_DIM_PERCENT^MDC", ts, ""),
            ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", "1.3.1.149530", shown.pr, "264864^MDC_DIM_BEAT_PER_MIN^MDC", ts, ""),
            ("147842^MDC_ECG_HEART_RATE^MDC", "1.7.4.147842", shown.hr, "264864^MDC_DIM_BEAT_PER_MIN^MDC", ts, ""),
        ]
        if shown.nibp is not None:
            cuff = format_ts(shown.nibp_time)
            sys_bp, dia, mean, _pulse = shown.nibp
            mmhg, aperiodic = "266016^MDC_DIM_MMHG^MDC", "^APERIODIC"
            rows += [  # MEAN before DIA, as the VS-900 sends them
                ("150301^MDC_PRESS_CUFF_SYS^MDC", "1.1.9.150301", sys_bp, mmhg, cuff, aperiodic),
                ("150303^MDC_PRESS_CUFF_MEAN^MDC", "1.1.9.150303", mean, mmhg, cuff, aperiodic),
                ("150302^MDC_PRESS_CUFF_DIA^MDC", "1.1.9.150302", dia, mmhg, cuff, aperiodic),
            ]
        for n, (code, obx4, v, unit, when, obx17) in enumerate(rows, 1):
            lines.append(f"OBX|{n}|NM|{code}|{obx4}|{_num(v)}|{unit}|||||{_obx_status(v, 'R')}|||{when}|||{obx17}")
    elif dialect == "philips":
        lines = [
            f"MSH|^~\\&|^EfficiaCM||||{ts}||ORU^R01^ORU_R01|KAPEMU{cid}|P|2.4|||||||||2.16.840.1.113883.9.2.1",
            "PID|||SIM0001||SIMULATED^PATIENT",
            "PV1|||^^BED1",
            f"OBR||||MONITOR|||{ts}",
            f"OBX||NM|0002-4182^HR^MDIL||{_num(shown.hr)}|0004-0aa0^bpm^MDIL|||||{_obx_status(shown.hr, 'F')}",
            f"OBX||NM|0002-4bb8^SpO2^MDIL||{_num(shown.spo2)}|0004-0220^%^MDIL|||||{_obx_status(shown.spo2, 'F')}",
            f"OBX||NM|0002-480a^Pulse^MDIL||{_num(shown.pr)}|0004-0aa0^bpm^MDIL|||||{_obx_status(shown.pr, 'F')}"
            "||||||0002-4bb8^SpO2^MDIL",
        ]
        if shown.nibp is not None:
            cuff = format_ts(shown.nibp_time, with_zone=False)
            for code, v in zip(("0002-4a05^NBPs", "0002-4a06^NBPd", "0002-4a07^NBPm"), shown.nibp[:3], strict=True):
                lines.append(f"OBX||NM|{code}^MDIL||{_num(v)}|0004-0f20^mmHg^MDIL|||||{_obx_status(v, 'F')}|||{cuff}")
    elif dialect == "nihon-kohden":
        local = format_ts(t, with_zone=False)
        lines = [
            f"MSH|^~\\&|NIHON KOHDEN|NIHON KOHDEN|KAPMONITOR|KAPMONITOR|{local}||ORU^R01^ORU_R01|{cid}|P|2.4|||"
            "NE|AL||ASCII",
            "PID||||||||O",
            "PV1||I|^^BED-001^127.0.0.1:1",
            "ORC|RE",
            f"OBR|1|||VITAL|||{local}",
            f"OBX|1|NM|001000^VITAL HR|1|{_num(shown.hr)}|/min|||||{_obx_status(shown.hr, 'F')}|||{local}",
            f"OBX|2|NM|007001^VITAL PR(spo2)|1|{_num(shown.pr)}|/min|||||{_obx_status(shown.pr, 'F')}|||{local}",
            f"OBX|3|NM|007000^VITAL SpO2|1|{_num(shown.spo2)}|%|||||{_obx_status(shown.spo2, 'F')}|||{local}",
        ]
        if shown.nibp is not None:
            cuff = format_ts(shown.nibp_time, with_zone=False)
            lines.append(f"OBR|2|||NIBP|||{cuff}")
            for n, (code, v) in enumerate(zip(("009000^NIBP SYS", "009001^NIBP DIAS", "009002^NIBP MEAN"),
                                              shown.nibp[:3], strict=True), 1):
                lines.append(f"OBX|{n}|NM|{code}|1|{_num(v)}|mmHg|||||{_obx_status(v, 'F')}|||{cuff}")
    else:
        eui = DEVICE_EUI
        lines = [
            f"MSH|^~\\&|KAPEMU^{eui}^EUI-64|KAPMONITOR|||{ts}||ORU^R01^ORU_R01|{cid}|P|2.6|||NE|AL||UNICODE UTF-8|||"
            "PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            "PID|||SIM0001^^^KAP^PI||SIMULATED^PATIENT^^^^^L",
            "PV1||I|KAP^^1",
            f"OBR|1|{cid}^KAPEMU^{eui}^EUI-64|{cid}^KAPEMU^{eui}^EUI-64|182777000^monitoring of patient^SCT|||{ts}",
            "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
            f"OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|{_num(shown.hr)}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||"
            f"{_obx_status(shown.hr, 'R')}|||||||{eui}^KAPEMU",
            f"OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.22.1.1|{_num(shown.pr)}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||"
            f"{_obx_status(shown.pr, 'R')}|||||||{eui}^KAPEMU",
            f"OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.22.1.2|{_num(shown.spo2)}|262688^MDC_DIM_PERCENT^MDC|||||"
            f"{_obx_status(shown.spo2, 'R')}|||||||{eui}^KAPEMU",
        ]
        if shown.nibp is not None:
            cuff = format_ts(shown.nibp_time)
            names = ("150021^MDC_PRESS_BLD_NONINV_SYS", "150022^MDC_PRESS_BLD_NONINV_DIA",
                     "150023^MDC_PRESS_BLD_NONINV_MEAN", "149546^MDC_PULS_RATE_NON_INV")
            units = ("266016^MDC_DIM_MMHG",) * 3 + ("264864^MDC_DIM_BEAT_PER_MIN",)
            for n, (code, unit, v) in enumerate(zip(names, units, shown.nibp, strict=True), 1):
                lines.append(f"OBX|{4 + n}|NM|{code}^MDC|1.1.1.{n}|{_num(v)}|{unit}^MDC|||||{_obx_status(v, 'R')}|||"
                             f"{cuff}||||{eui}^KAPEMU")
    return ("\r".join(lines) + "\r").encode("utf-8")


class _Link:
    """The emulator's one connection, opened (or waited for) again when it breaks."""

    def __init__(self, port_url: str, stop: threading.Event) -> None:
        mode, _, rest = port_url.partition(":")
        host, _, port = rest.rpartition(":")
        if mode not in ("tcp", "listen") or not port.isdigit():
            raise ValueError(f"bad port {port_url!r}: use tcp:HOST:PORT or listen:HOST:PORT")
        self.mode, self.host, self.port = mode, host or "127.0.0.1", int(port)
        self.stop = stop
        self.sock: socket.socket | None = None
        self.server: socket.socket | None = None
        self.framer = MllpFramer()
        self.backoff = 0.2
        self.acks: dict[str, int] = {}

    def ensure(self) -> bool:
        if self.sock is not None:
            return True
        try:
            if self.mode == "tcp":
                self.sock = socket.create_connection((self.host, self.port), timeout=2.0)
            else:
                if self.server is None:
                    self.server = socket.create_server((self.host, self.port))
                    log.info("HL7 emulator: listening on %s:%s", self.host, self.server.getsockname()[1])
                self.server.settimeout(0.2)
                try:
                    self.sock, _ = self.server.accept()
                except TimeoutError:
                    return False
            self.sock.settimeout(2.0)
            self.framer = MllpFramer()
            self.backoff = 0.2
            log.info("HL7 emulator: connected (%s:%s)", self.host, self.port)
            return True
        except OSError as exc:
            log.debug("HL7 emulator: no connection to %s:%s: %s", self.host, self.port, exc)
            self.stop.wait(self.backoff)
            self.backoff = min(self.backoff * 2, 2.0)
            return False

    def send(self, data: bytes) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendall(frame(data))
        except OSError as exc:
            self.drop(exc)

    def read_acks(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            while select.select([sock], [], [], 0)[0]:
                data = sock.recv(65536)
                if not data:
                    self.drop(ConnectionError("closed by kapmonitor"))
                    return
                for ack in self.framer.feed(data):
                    code = "?"
                    for seg in ack.split(b"\r"):
                        if seg.startswith(b"MSA|"):
                            code = seg.split(b"|")[1].decode("ascii", "replace") if seg.count(b"|") >= 1 else "?"
                    self.acks[code] = self.acks.get(code, 0) + 1
                    if code != "AA":
                        log.warning("HL7 emulator: got %s ACK: %r", code, ack[:200])
        except OSError as exc:
            self.drop(exc)

    def drop(self, exc: BaseException) -> None:
        log.info("HL7 emulator: connection lost: %s", exc)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None

    def close(self) -> None:
        for s in (self.sock, self.server):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        self.sock = self.server = None


def run_emulator(port_url: str, scenario: str = "normal", speed: float = 1.0, seed: int = 0,
                 stop: threading.Event | None = None, dialect: str = "mdc") -> None:
    """Play an HL7 monitor on `port_url` (tcp:HOST:PORT or listen:HOST:PORT) until `stop` is set."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r} (known: {', '.join(DIALECTS)})")
    stop = stop or threading.Event()
    speed = speed if speed > 0 else 1.0
    start = float(math.floor(time.time()))
    patient = SimulatedPatient(start, scenario, seed, source=Source.MONITOR)
    shown = MonitorShown()
    link = _Link(port_url, stop)
    mono0 = time.monotonic()
    control_id = 0
    try:
        while not stop.is_set():
            if not link.ensure():
                continue
            link.read_acks()
            monitor_now = start + (time.monotonic() - mono0) * speed
            sent = False
            while patient.next_second_time + 1 <= monitor_now and not stop.is_set():
                t = patient.next_second_time
                for item in patient.next_second():
                    if isinstance(item, VitalSample):
                        shown.take(item)
                if patient.is_silent(t):
                    continue
                control_id += 1
                link.send(build_message(shown, t + 1, control_id, dialect))
                sent = True
            if not sent:
                stop.wait(min(0.05, 0.5 / speed))
    finally:
        link.close()
