"""Driver `hl7`: a monitor or gateway sending IHE PCD-01 (HL7 v2 ORU^R01) over MLLP/TCP.

Port forms (options.port):
- `listen:HOST:PORT` — kapmonitor listens and the monitors/gateways connect to it (Philips
  Efficia, GE, Mindray, Comen push to a configured receiver; usually port 2575). Several
  connections at once are served (up to MAX_CONNECTIONS).
- `tcp:HOST:PORT` — kapmonitor connects to the unit (Nihon Kohden); a lost connection raises
  LinkLostError and the reader thread reconnects with backoff.
Either may end in `;bed=NAME` (PV1-3 or its bed component) or `;device=ID` (EUI-64 or name in
MSH-3/OBX-18) to choose one bed on a gateway that sends several.

Every message gets an original-mode ACK on its own connection (AA; AE/AR with the reason), so
monitors keep sending. Memory is bounded per connection: frames over 1 MiB are discarded, and a
peer that does not read its ACKs is not read from either until they drain (TCP then slows it).

Used from one reader thread; `close()` may be called from another thread.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

from kapmonitor.drivers.base import Driver, DriverOptions
from kapmonitor.drivers.errors import LinkLostError, PortOpenError
from kapmonitor.drivers.hl7.decoder import Hl7Decoder
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, VitalSample

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 16
READ_CHUNK = 65536
MAX_PENDING_ACKS = 256 * 1024  # bytes of unsent ACKs before a connection is no longer read
NO_GATEWAY_AFTER_S = 10.0
NO_PATIENT_VALUE_AFTER_S = 5.0  # messages arrive, but none with a patient's value (demo mode, other beds)
JUNK_LIMIT = 4096


@dataclass(frozen=True)
class Endpoint:
    """Where to listen or connect, and which bed to show."""

    mode: str  # "listen" or "tcp"
    host: str
    port: int
    bed: str | None = None
    device: str | None = None

    def __str__(self) -> str:
        return f"{self.mode}:{self.host}:{self.port}"


def parse_port(spec: str | None) -> Endpoint:
    """`listen:HOST:PORT` or `tcp:HOST:PORT`, optionally `;bed=NAME` / `;device=ID`. Raises PortOpenError."""
    if not spec:
        raise PortOpenError("hl7 needs --port listen:0.0.0.0:2575 (monitor connects to us) "
                            "or --port tcp:HOST:PORT (we connect to the monitor)")
    head, *opts = spec.split(";")
    mode, sep, rest = head.partition(":")
    host, sep2, port_text = rest.rpartition(":")
    if mode not in ("listen", "tcp") or not sep or not sep2:
        raise PortOpenError(f"bad hl7 port {spec!r}: use listen:HOST:PORT or tcp:HOST:PORT")
    host = host.strip("[]") or ("0.0.0.0" if mode == "listen" else "")
    try:
        port = int(port_text)
    except ValueError:
        raise PortOpenError(f"bad hl7 port {spec!r}: {port_text!r} is not a port number") from None
    if not 0 <= port <= 65535 or (mode == "tcp" and (port == 0 or not host)):
        raise PortOpenError(f"bad hl7 port {spec!r}: needs a host and a port 1-65535")
    bed = device = None
    for opt in opts:
        key, _, value = opt.partition("=")
        if key.strip() == "bed" and value.strip():
            bed = value.strip()
        elif key.strip() == "device" and value.strip():
            device = value.strip()
        elif opt.strip():
            raise PortOpenError(f"bad hl7 port option {opt!r}: use ;bed=NAME or ;device=ID")
    return Endpoint(mode, host, port, bed, device)


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    peer: str
    framer: MllpFramer = field(default_factory=MllpFramer)
    out: bytearray = field(default_factory=bytearray)
    messages: int = 0
    reading: bool = True
    not_hl7_reported: bool = False


class Hl7Driver(Driver):
    """HL7 v2 PCD-01 over MLLP, as listener or client."""

    name: ClassVar[str] = "hl7"
    description: ClassVar[str] = "HL7 v2 (IHE PCD-01) monitor or gateway over the network (MLLP)"
    can_start_nibp: ClassVar[bool] = False
    # a network driver: the connection dialog asks for this kind of port instead of a serial one
    network_port: ClassVar[bool] = True
    default_port: ClassVar[str] = "listen:0.0.0.0:2575"

    def __init__(self, options: DriverOptions, clock: Clock) -> None:
        super().__init__(options, clock)
        self.endpoint = parse_port(options.port)
        bed = options.extra.get("bed")
        device = options.extra.get("device")
        self.decoder = Hl7Decoder(bed=str(bed) if bed else self.endpoint.bed,
                                  device=str(device) if device else self.endpoint.device)
        self.stats = self.decoder.stats
        self._lock = threading.Lock()
        self._sel: selectors.BaseSelector | None = None
        self._server: socket.socket | None = None
        self._conns: dict[socket.socket, _Conn] = {}
        self._pending: list[Item] = []
        self._lost: str | None = None
        self._acks = 0
        self._opened_mono = 0.0
        self._waiting_reported = False
        self._first_unusable_mono: float | None = None
        self._unusable_reported = False
        self.bound_port: int | None = None  # the port really listened on (listen:…:0 picks one)

    # -- Driver ---------------------------------------------------------------------------------
    def open(self) -> None:
        ep = self.endpoint
        sel = selectors.DefaultSelector()
        if ep.mode == "listen":
            try:
                server = socket.create_server((ep.host, ep.port), reuse_port=False, backlog=8)
            except OSError as exc:
                sel.close()
                raise PortOpenError(f"cannot listen on {ep.host}:{ep.port}: {exc}") from exc
            server.setblocking(False)
            sel.register(server, selectors.EVENT_READ, None)
            self.bound_port = server.getsockname()[1]
            with self._lock:
                self._server, self._sel = server, sel
            log.info("HL7: listening on %s:%s", ep.host, self.bound_port)
        else:
            try:
                sock = socket.create_connection((ep.host, ep.port), timeout=3.0)
            except OSError as exc:
                sel.close()
                raise PortOpenError(f"cannot connect to the monitor at {ep.host}:{ep.port}: {exc}") from exc
            with self._lock:
                self._sel = sel
            self._add(sock, f"{ep.host}:{ep.port}")
            log.info("HL7: connected to %s:%s", ep.host, ep.port)
        self._pending = []
        self._lost = None
        self._opened_mono = time.monotonic()
        self._waiting_reported = False
        self._first_unusable_mono = None
        self._unusable_reported = False

    def read(self, timeout: float) -> list[Item]:
        sel = self._sel
        if sel is None:
            raise LinkLostError("connection closed")
        if self._lost is not None:
            raise LinkLostError(self._lost)
        try:
            events = sel.select(timeout)
        except (OSError, ValueError) as exc:  # closed from another thread
            raise LinkLostError(f"connection closed: {exc}") from exc
        items = self._pending
        self._pending = []
        now = self.clock.now()
        for key, mask in events:
            if key.data is None:
                self._accept(now, items)
                continue
            conn: _Conn = key.data
            if mask & selectors.EVENT_WRITE:
                self._flush(conn, now, items)
            if mask & selectors.EVENT_READ and conn.sock in self._conns:
                self._receive(conn, now, items)
        self._check_usable(items, now)
        if (self.endpoint.mode == "listen" and not self._conns and not self._waiting_reported
                and time.monotonic() - self._opened_mono > NO_GATEWAY_AFTER_S):
            self._waiting_reported = True
            items.append(LinkEvent(now, LinkState.NO_DATA,
                                   f"listening on port {self.bound_port}: no monitor or gateway has connected"))
        return items

    def _check_usable(self, items: list[Item], now: float) -> None:
        """Say so when messages keep coming but none holds a value for this patient: the link is
        up, yet the nurse sees no data (monitor in demo mode, or only other beds on the gateway)."""
        valid = any(isinstance(i, VitalSample) and i.valid for i in items)
        received = any(isinstance(i, RawFrame) and i.direction == "rx" for i in items)
        mono = time.monotonic()
        if valid:
            self._first_unusable_mono = None
            self._unusable_reported = False
            return
        if not received or self._unusable_reported:
            return
        if self._first_unusable_mono is None:
            self._first_unusable_mono = mono
        elif mono - self._first_unusable_mono >= NO_PATIENT_VALUE_AFTER_S:
            self._unusable_reported = True
            if self.decoder.in_demo_mode:
                detail = "the monitor is in DEMO mode: no patient values"
            elif self.decoder.ignored_messages:
                detail = "HL7 messages arrive, but only for other beds (choose the bed: ;bed=NAME)"
            else:
                detail = "HL7 messages arrive, but without valid values"
            items.append(LinkEvent(now, LinkState.NO_DATA, detail))

    def close(self) -> None:
        with self._lock:
            sel, self._sel = self._sel, None
            server, self._server = self._server, None
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            _close_quietly(conn.sock)
        if server is not None:
            _close_quietly(server)
        if sel is not None:
            try:
                sel.close()
            except Exception:
                log.debug("HL7: closing selector", exc_info=True)

    # -- connections ----------------------------------------------------------------------------
    def _add(self, sock: socket.socket, peer: str) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock, peer)
        self._conns[sock] = conn
        if self._sel is not None:
            self._sel.register(sock, selectors.EVENT_READ, conn)

    def _accept(self, now: float, items: list[Item]) -> None:
        server = self._server
        if server is None:
            return
        while True:
            try:
                sock, addr = server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("HL7: accepting a connection failed: %s", exc)
                return
            peer = f"{addr[0]}:{addr[1]}"
            if len(self._conns) >= MAX_CONNECTIONS:
                log.warning("HL7: %d connections already open: refusing %s", MAX_CONNECTIONS, peer)
                _close_quietly(sock)
                continue
            self._add(sock, peer)
            log.info("HL7: %s connected", peer)
            items.append(DeviceNotice(now, "hl7-connected", f"HL7 sender {peer} connected", {"peer": peer}))

    def _drop(self, conn: _Conn, now: float, items: list[Item], reason: str) -> None:
        if self._conns.pop(conn.sock, None) is None:
            return
        if self._sel is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(conn.sock)
        _close_quietly(conn.sock)
        if conn.framer.in_frame:
            log.info("HL7: %s left in the middle of a message (%d bytes dropped)", conn.peer, conn.framer.buffered)
        log.info("HL7: %s %s", conn.peer, reason)
        if self.endpoint.mode == "tcp":
            self._lost = f"the monitor at {conn.peer} {reason}"
        elif not self._conns:
            items.append(LinkEvent(now, LinkState.DISCONNECTED,
                                   f"the HL7 sender {conn.peer} {reason}; waiting for it on port {self.bound_port}"))
        else:
            items.append(DeviceNotice(now, "hl7-disconnected", f"HL7 sender {conn.peer} {reason}",
                                      {"peer": conn.peer}))

    def _receive(self, conn: _Conn, now: float, items: list[Item]) -> None:
        try:
            data = conn.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._drop(conn, now, items, f"connection failed: {exc}")
            return
        if not data:
            self._drop(conn, now, items, "closed the connection")
            return
        self.stats.bytes_in += len(data)
        before = conn.framer.oversized
        for message in conn.framer.feed(data):
            conn.messages += 1
            wire = frame(message)
            items.append(RawFrame(now, "rx", wire))
            result = self.decoder.decode_message(message, now)
            items.extend(result.items)
            self._acks += 1
            ack = frame(result.ack(f"KAP{self._acks}", now))
            if result.ack_code != "AA":
                log.warning("HL7: message from %s answered %s: %s", conn.peer, result.ack_code, result.reason)
            conn.out += ack
            self.stats.bytes_out += len(ack)
            items.append(RawFrame(now, "tx", ack))
        self.stats.length_errors += conn.framer.oversized - before
        if conn.messages == 0 and conn.framer.junk_bytes + conn.framer.buffered > JUNK_LIMIT and \
                not conn.not_hl7_reported:
            conn.not_hl7_reported = True
            items.append(LinkEvent(now, LinkState.NOT_ANSWERING,
                                   f"bytes arrive from {conn.peer} but no HL7 message (MLLP): check that the "
                                   "monitor or gateway sends HL7 over MLLP to this port"))
        self._flush(conn, now, items)

    def _flush(self, conn: _Conn, now: float, items: list[Item]) -> None:
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
                del conn.out[:sent]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                self._drop(conn, now, items, f"connection failed while acknowledging: {exc}")
                return
        reading = len(conn.out) <= MAX_PENDING_ACKS
        events = (selectors.EVENT_READ if reading else 0) | (selectors.EVENT_WRITE if conn.out else 0)
        if self._sel is not None and conn.sock in self._conns:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.modify(conn.sock, events, conn)
        conn.reading = reading


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        log.debug("HL7: closing socket", exc_info=True)
