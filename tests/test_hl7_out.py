"""HL7 out: NIBP and one-minute vitals as PCD-01 ORU^R01 over MLLP to a real TCP receiver that
crashes mid-stream (a message received but not acknowledged) and restarts: nothing lost, nothing
acknowledged twice; what was not acknowledged survives a restart of kapmonitor in the record."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from mqtt_support import free_port, wait_for

from kapmonitor.drivers.hl7.message import build_ack, parse_message
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Source, Status, VitalSample
from kapmonitor.publish.hl7_out import Hl7Outbox, parse_target
from kapmonitor.recording.reader import RecordReader, read_hl7_pending
from kapmonitor.recording.recorder import SessionRecorder

T0 = 1_790_000_040.0  # on a minute boundary


class Receiver:
    """An interface engine on a loopback port: ACKs every ORU, except that it can crash once on the
    n-th message (received, never acknowledged) and stay down until `restart`."""

    def __init__(self, port: int, crash_on: int | None = None) -> None:
        self.port = port
        self.crash_on = crash_on
        self.received: list[str] = []
        self.acked: list[str] = []
        self.messages: list[bytes] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._srv: socket.socket | None = None

    def start(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen()
        srv.settimeout(0.2)
        self._srv = srv
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._srv is not None:
            self._srv.close()
            self._srv = None

    restart = start

    def _serve(self) -> None:
        assert self._srv is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.2)
                framer = MllpFramer()
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    for raw in framer.feed(data):
                        msg = parse_message(raw)
                        self.received.append(msg.control_id)
                        self.messages.append(raw)
                        if self.crash_on is not None and len(self.received) == self.crash_on:
                            self.crash_on = None
                            self._stop.set()  # crash: the connection drops, no ACK, nobody listens
                            break
                        conn.sendall(frame(build_ack(msg, "AA", f"ACK{len(self.acked)}", time.time())))
                        self.acked.append(msg.control_id)


def feed(outbox: Hl7Outbox, start: float, minutes: int) -> None:
    """`minutes` of 1-Hz HR/SpO2 and an NIBP measurement every 2 minutes."""
    for s in range(int(minutes * 60)):
        t = start + s
        batch = [VitalSample(t, Parameter.HR, 70.0 + s % 7, Status.OK, Source.SIMULATED),
                 VitalSample(t, Parameter.SPO2, 97.0, Status.OK, Source.SIMULATED)]
        if s % 120 == 30:
            batch += [VitalSample(t, p, v, Status.OK, Source.SIMULATED)
                      for p, v in ((Parameter.NIBP_SYS, 150.0 + s / 60), (Parameter.NIBP_DIA, 90.0),
                                   (Parameter.NIBP_MEAN, 110.0))]
        outbox.on_items(batch)


def outbox_rows(path: Path) -> list[dict[str, object]]:
    with RecordReader.open(path) as reader:
        return reader.rows("hl7_outbox", "id")


def test_receiver_restart_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    port = free_port()
    receiver = Receiver(port, crash_on=4)
    receiver.start()
    path = tmp_path / "s.db"
    with SessionRecorder(path) as rec:
        outbox = Hl7Outbox(f"tcp:127.0.0.1:{port}", "room-3", ManualClock(T0), lambda: rec, ack_timeout_s=2,
                           retry_s=0.1)
        outbox.start()
        feed(outbox, T0, 5)
        assert wait_for(lambda: len(receiver.received) >= 4 and receiver._stop.is_set(), 10)
        time.sleep(0.5)  # the engine is down a while; the bedside goes on queueing
        feed(outbox, T0 + 300, 5)
        receiver.stop()
        receiver.restart()
        assert wait_for(lambda: outbox.pending == 0, 20), (outbox.pending, outbox.last_error)
        outbox.stop()
        assert rec.flush()
    receiver.stop()
    rows = outbox_rows(path)
    ids = [str(r["control_id"]) for r in rows]
    assert len(ids) == 9 + 6  # a vitals message per finished minute (9 of 10) and 6 NIBP measurements
    assert sorted(receiver.acked) == sorted(ids)  # no loss: every message acknowledged ...
    assert len(set(receiver.acked)) == len(receiver.acked)  # ... once
    crashed = receiver.received[3]
    assert receiver.received.count(crashed) == 2  # the unacknowledged one was sent again, same MSH-10
    assert all(receiver.received.count(i) == 1 for i in ids if i != crashed)
    assert all(r["acked_at"] is not None and r["ack_code"] == "AA" for r in rows)
    assert read_hl7_pending(path) == []
    # what went out: PCD-01 ORU^R01, NIBP with the MDC codes, no identifier beyond the chair name
    nibp = next(m for m in receiver.messages if b"MDC_PRESS_BLD_NONINV_SYS" in m)
    msg = parse_message(nibp)
    assert msg.message_type[:2] == ("ORU", "R01")
    pid = msg.first("PID")
    assert pid is not None and pid.component(3, 1) == "room-3" and pid.raw(5) == ""  # no name, only the chair


def test_unacknowledged_messages_survive_a_restart_in_the_record(tmp_path: Path) -> None:
    port = free_port()  # nobody listens yet
    path = tmp_path / "s.db"
    with SessionRecorder(path) as rec:
        outbox = Hl7Outbox(f"tcp:127.0.0.1:{port}", "room-1", ManualClock(T0), lambda: rec, retry_s=0.1)
        outbox.start()
        feed(outbox, T0, 4)
        time.sleep(0.3)
        outbox.stop()
        assert rec.flush()
    pending = read_hl7_pending(path)
    assert len(pending) == 3 + 2
    receiver = Receiver(port)
    receiver.start()
    try:
        with SessionRecorder(path) as rec:  # kapmonitor started again on the same record
            outbox = Hl7Outbox(f"tcp:127.0.0.1:{port}", "room-1", ManualClock(T0), lambda: rec, pending=pending,
                               retry_s=0.1)
            outbox.start()
            assert wait_for(lambda: outbox.pending == 0, 10)
            outbox.stop()
            assert rec.flush()
    finally:
        receiver.stop()
    assert receiver.acked == [p[0] for p in pending]  # in order, each once
    assert read_hl7_pending(path) == []


def test_a_bad_target_is_refused_with_what_to_write() -> None:
    assert parse_target("tcp:engine.clinic:2575") == ("engine.clinic", 2575)
    for bad in ("engine:2575", "tcp:engine", "tcp::2575", "udp:engine:2575", "tcp:engine:99999"):
        try:
            parse_target(bad)
        except ValueError as exc:
            assert "tcp:HOST:PORT" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
