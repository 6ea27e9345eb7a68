"""HL7 out: each NIBP measurement and one-minute vitals as IHE PCD-01 ORU^R01 over MLLP to the
clinic's interface engine (`--hl7-out tcp:HOST:PORT`), with a durable outbox in the session record.

Every message is written to the record's `hl7_outbox` table (through the recorder, the one writer)
before it is sent, with a control id (MSH-10) made from the chair and the time, so a resend is the
same message. The sender thread sends the oldest unacknowledged message, waits for its ACK (MSA-2
= our control id), and only then marks it acknowledged in the record and moves on: after a lost
connection, a receiver restart or a restart of kapmonitor (`pending` from
`recording.reader.read_hl7_pending`) it resends what was not acknowledged; an acknowledged
message is never sent again. AE (application error) is retried; AR (rejected) is recorded with its
reason and not retried. Only the chair name (or pseudonym) identifies the patient.

Thread-safety: `on_items` (dispatcher thread) only builds and queues; `start`/`stop` from the
owning thread; the socket belongs to the sender thread.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kapmonitor.drivers.hl7.message import HL7Error, escape, format_ts, parse_message
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.model.clock import Clock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Status, VitalSample
from kapmonitor.recording.session_rows import mark_hl7_acknowledged

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 10.0
RETRY_S = 1.0
MAX_PENDING = 100_000  # ~70 days of one message a minute; beyond that the oldest stay in the record only
_NIBP = (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)
# MDC codes as in the IHE PCD Rosetta terminology (and the HL7 emulator)
_CODES: dict[Parameter, tuple[str, str]] = {
    Parameter.HR: ("147842^MDC_ECG_HEART_RATE^MDC", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
    Parameter.PULSE_RATE: ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
    Parameter.SPO2: ("150456^MDC_PULS_OXIM_SAT_O2^MDC", "262688^MDC_DIM_PERCENT^MDC"),
    Parameter.NIBP_SYS: ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "266016^MDC_DIM_MMHG^MDC"),
    Parameter.NIBP_DIA: ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "266016^MDC_DIM_MMHG^MDC"),
    Parameter.NIBP_MEAN: ("150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "266016^MDC_DIM_MMHG^MDC"),
}


class OutboxSink(Protocol):
    """The recorder's write side (kapmonitor.recording.recorder.SessionRecorder)."""

    def insert(self, table: str, row: dict[str, object]) -> None: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...


def parse_target(text: str) -> tuple[str, int]:
    """`tcp:HOST:PORT` -> (host, port); ValueError with what to write otherwise."""
    kind, _, rest = text.partition(":")
    host, _, port = rest.rpartition(":")
    if kind != "tcp" or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--hl7-out {text!r}: write tcp:HOST:PORT, e.g. tcp:interface-engine:2575")
    return host.strip("[]"), int(port)


def build_oru(chair: str, t: float, control_id: str, values: dict[Parameter, float]) -> bytes:
    """One PCD-01 ORU^R01 (segments ending in CR, without MLLP bytes) with `values` observed at `t`."""
    ts = format_ts(t)
    cid = escape(control_id)
    who = escape(chair)
    lines = [
        f"MSH|^~\\&|KAPMONITOR^{who}^L||||{format_ts(time.time())}||ORU^R01^ORU_R01|{cid}|P|2.6|||NE|AL||"
        "UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"PID|||{who}^^^KAPMONITOR^PI",
        f"PV1||O|{who}",
        f"OBR|1|{cid}^KAPMONITOR|{cid}^KAPMONITOR|182777000^monitoring of patient^SCT|||{ts}",
    ]
    for n, (p, v) in enumerate(sorted(values.items(), key=lambda kv: kv[0].value), 1):
        code, unit = _CODES[p]
        number = f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"
        lines.append(f"OBX|{n}|NM|{code}|1.1.1.{n}|{number}|{unit}|||||R|||{ts}")
    return ("\r".join(lines) + "\r").encode("utf-8")


@dataclass
class _Pending:
    control_id: str
    kind: str
    t: float
    message: bytes


class Hl7Outbox:
    """Dispatcher listener that queues NIBP and one-minute vitals and sends them with ACKs."""

    def __init__(self, target: str, chair: str, clock: Clock, sink: Callable[[], OutboxSink], *,
                 pending: Sequence[tuple[str, str, float, bytes]] = (), ack_timeout_s: float = ACK_TIMEOUT_S,
                 retry_s: float = RETRY_S) -> None:
        self.host, self.port = parse_target(target)
        self.chair = chair
        self._clock = clock
        self._sink = sink
        self.ack_timeout_s = ack_timeout_s
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque(_Pending(*p) for p in pending)
        self._latest: dict[Parameter, float] = {}
        self._minute: int | None = None
        self._nibp: dict[Parameter, float] = {}
        self._nibp_t: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.acked = 0
        self.rejected = 0
        self.connected = False
        self.last_error = ""

    # -- inputs (dispatcher thread) ----------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        for item in items:
            if not isinstance(item, VitalSample) or item.status is not Status.OK or item.value is None:
                continue
            if not math.isfinite(item.value):
                continue
            p = item.parameter
            if p in _NIBP:
                if self._nibp_t is not None and abs(item.time - self._nibp_t) > 1.0:
                    self._flush_nibp()
                self._nibp_t = item.time
                self._nibp[p] = item.value
                if len(self._nibp) == len(_NIBP):
                    self._flush_nibp()
            elif p in (Parameter.HR, Parameter.PULSE_RATE, Parameter.SPO2):
                minute = int(item.time // 60)
                if self._minute is not None and minute != self._minute and self._latest:
                    self._enqueue("vitals", self._minute * 60.0 + 60.0, dict(self._latest))
                    self._latest.clear()
                self._minute = minute
                self._latest[p] = item.value

    def _flush_nibp(self) -> None:
        if self._nibp and self._nibp_t is not None and Parameter.NIBP_SYS in self._nibp:
            self._enqueue("nibp", self._nibp_t, dict(self._nibp))
        self._nibp.clear()
        self._nibp_t = None

    def _enqueue(self, kind: str, t: float, values: dict[Parameter, float]) -> None:
        control_id = f"{self.chair}-{kind[0]}{round(t * 1000)}"[:50]
        message = build_oru(self.chair, t, control_id, values)
        # durable first: the row is in the recorder's queue before the sender can send it
        self._sink().insert("hl7_outbox", {"t": t, "kind": kind, "control_id": control_id, "message": message})
        with self._lock:
            self._queue.append(_Pending(control_id, kind, t, message))
            while len(self._queue) > MAX_PENDING:
                dropped = self._queue.popleft()
                log.warning("HL7 outbox full: %s stays in the record only", dropped.control_id)
        self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            log.info("HL7 out to %s:%d (%d waiting)", self.host, self.port, self.pending)
            self._thread = threading.Thread(target=self._run, name="hl7-out", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop sending; what is not acknowledged stays in the record for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- sender thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        sock: socket.socket | None = None
        framer = MllpFramer()
        while not self._stop.is_set():
            with self._lock:
                head = self._queue[0] if self._queue else None
            if head is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                if sock is None:
                    sock = socket.create_connection((self.host, self.port), timeout=3.0)
                    framer = MllpFramer()
                    self.connected = True
                    log.info("HL7 out connected to %s:%d", self.host, self.port)
                sock.sendall(frame(head.message))
                self.sent += 1
                code, text = self._await_ack(sock, framer, head.control_id)
            except (OSError, TimeoutError) as exc:
                if self.connected or self.last_error != str(exc):
                    log.warning("HL7 out to %s:%d: %s; resending after reconnect", self.host, self.port, exc)
                self.last_error = str(exc)
                self.connected = False
                if sock is not None:
                    sock.close()
                    sock = None
                self._stop.wait(self.retry_s)
                continue
            if code in ("AA", "CA", "AR", "CR"):
                refused = code in ("AR", "CR")
                mark_hl7_acknowledged(self._sink(), head.control_id, self._clock.now(), code, text or None)
                with self._lock:
                    if self._queue and self._queue[0].control_id == head.control_id:
                        self._queue.popleft()
                if refused:
                    self.rejected += 1
                    log.error("HL7 message %s rejected by the interface engine: %s", head.control_id, text)
                else:
                    self.acked += 1
            else:  # AE/CE: the receiver could not take it now; the same message again shortly
                log.warning("HL7 message %s: %s %s; retrying", head.control_id, code, text)
                self._stop.wait(self.retry_s)
        if sock is not None:
            sock.close()

    def _await_ack(self, sock: socket.socket, framer: MllpFramer, control_id: str) -> tuple[str, str]:
        deadline = time.monotonic() + self.ack_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no ACK for {control_id} in {self.ack_timeout_s:.0f} s")
            sock.settimeout(min(left, 0.5))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if self._stop.is_set():
                    raise
                continue
            if not data:
                raise ConnectionError("the interface engine closed the connection")
            for raw in framer.feed(data):
                try:
                    ack = parse_message(raw)
                    msa = ack.first("MSA")
                except HL7Error as exc:
                    log.warning("HL7 out: unreadable ACK ignored: %s", exc)
                    continue
                if msa is None or msa.field(2) != control_id:
                    continue  # an ACK of an earlier send (a resend after a lost ACK): already handled
                return msa.field(1), msa.field(3)
