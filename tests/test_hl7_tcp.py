"""The hl7 driver over real loopback TCP (127.0.0.1, ephemeral ports): framing across reads, ACKs,
a sender leaving mid-message, a flooding gateway, demo mode, two beds, client mode and the emulator."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from shared_paths import PROTOCOLS

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.acquisition.reader import ReaderThread
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.errors import LinkLostError, PortOpenError
from kapmonitor.drivers.hl7 import driver as hl7_driver
from kapmonitor.drivers.hl7.driver import Hl7Driver, parse_port
from kapmonitor.drivers.hl7.emulator import DIALECTS, run_emulator
from kapmonitor.drivers.hl7.message import parse_message
from kapmonitor.drivers.hl7.mllp import MllpFramer, frame
from kapmonitor.drivers.registry import create_driver
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, Status, VitalSample

HL7 = PROTOCOLS / "hl7"
EXAMPLES = sorted(HL7.glob("*.hl7"))


@pytest.fixture
def listener() -> Iterator[Hl7Driver]:
    driver = create_driver("hl7", DriverOptions(port="listen:127.0.0.1:0"), RealClock())
    assert isinstance(driver, Hl7Driver)
    driver.open()
    yield driver
    driver.close()


def pump(driver: Hl7Driver, until: Callable[[list[Item]], bool], seconds: float = 10.0) -> list[Item]:
    items: list[Item] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        items.extend(driver.read(0.02))
        if until(items):
            break
    return items


def vitals(items: list[Item]) -> list[VitalSample]:
    return [i for i in items if isinstance(i, VitalSample)]


def acks_of(sock: socket.socket, count: int, seconds: float = 10.0) -> list[tuple[str, str, str]]:
    """(MSA-1, MSA-2, MSA-3) of the next `count` ACKs on `sock`."""
    framer = MllpFramer()
    out: list[tuple[str, str, str]] = []
    sock.settimeout(seconds)
    while len(out) < count:
        data = sock.recv(65536)
        assert data, "connection closed before every ACK came"
        for ack in framer.feed(data):
            msa = parse_message(ack).first("MSA")
            assert msa is not None
            out.append((msa.field(1), msa.field(2), msa.field(3)))
    return out


def connect(driver: Hl7Driver) -> socket.socket:
    assert driver.bound_port
    return socket.create_connection(("127.0.0.1", driver.bound_port), timeout=5)


def single_sender_examples() -> list[bytes]:
    """The shared examples made to come from one bed (so the first-sender rule keeps them all)."""
    out = []
    for path in EXAMPLES:
        segments = [s if not s.startswith(b"OBX") else b"|".join(s.split(b"|")[:18])  # no OBX-18 device
                    for s in path.read_bytes().split(b"\r") if s and not s.startswith(b"PV1")]
        msh = segments[0].split(b"|")
        msh[2], msh[3] = b"ONE", b""  # MSH-3, MSH-4
        out.append(b"\r".join([b"|".join(msh), *segments[1:]]) + b"\r")
    return out


def test_port_forms() -> None:
    assert parse_port("listen:0.0.0.0:2575").port == 2575
    ep = parse_port("tcp:monitor.local:7998;bed=BED-001")
    assert (ep.mode, ep.host, ep.port, ep.bed) == ("tcp", "monitor.local", 7998, "BED-001")
    for bad in (None, "", "/dev/ttyUSB0", "tcp:host", "tcp::2575", "listen:0.0.0.0:x", "tcp:h:1;colour=red"):
        with pytest.raises(PortOpenError):
            parse_port(bad)


def test_a_port_in_use_is_a_clear_open_error(listener: Hl7Driver) -> None:
    other = Hl7Driver(DriverOptions(port=f"listen:127.0.0.1:{listener.bound_port}"), RealClock())
    with pytest.raises(PortOpenError, match="cannot listen"):
        other.open()


def test_messages_split_into_tiny_reads_are_all_decoded_and_acked(listener: Hl7Driver) -> None:
    messages = single_sender_examples()
    stream = b"".join(frame(m) for m in messages)
    with connect(listener) as sock:
        def send() -> None:
            for i in range(0, len(stream), 7):
                sock.sendall(stream[i:i + 7])
                time.sleep(0.0005)
        sender = threading.Thread(target=send)
        sender.start()
        items = pump(listener, lambda its: sum(isinstance(i, RawFrame) and i.direction == "tx" for i in its)
                     >= len(messages))
        sender.join()
        acks = acks_of(sock, len(messages))
    ids = [parse_message(m).control_id for m in messages]
    assert acks == [("AA", i, "") for i in ids]
    rx = [i.data for i in items if isinstance(i, RawFrame) and i.direction == "rx"]
    assert rx == [frame(m) for m in messages]  # each message recorded whole, replayable
    assert {s.parameter for s in vitals(items)} >= {Parameter.HR, Parameter.SPO2, Parameter.NIBP_SYS}


def test_several_messages_in_one_read(listener: Hl7Driver) -> None:
    messages = single_sender_examples()
    with connect(listener) as sock:
        sock.sendall(b"".join(frame(m) for m in messages))
        pump(listener, lambda its: sum(isinstance(i, RawFrame) and i.direction == "tx" for i in its)
             >= len(messages))
        assert [a[0] for a in acks_of(sock, len(messages))] == ["AA"] * len(messages)


def test_bad_messages_get_ae_and_ar_with_a_reason(listener: Hl7Driver) -> None:
    good = (HL7 / "ge_b40_vsp_capture.hl7").read_bytes()
    adt = good.replace(b"ORU^R01^ORU_R01", b"ADT^A01^ADT_A01").replace(b"0040971443EC", b"ADT1")
    no_obx = b"\r".join(s for s in good.split(b"\r") if not s.startswith(b"OBX")).replace(b"0040971443EC", b"N1")
    with connect(listener) as sock:
        sock.sendall(frame(adt) + frame(b"this is not HL7") + frame(no_obx) + frame(good))
        pump(listener, lambda its: sum(isinstance(i, RawFrame) and i.direction == "tx" for i in its) >= 4)
        acks = acks_of(sock, 4)
    assert acks[0][:2] == ("AR", "ADT1") and "ADT^A01" in acks[0][2]
    assert acks[1][0] == "AR" and acks[1][2]
    assert acks[2][:2] == ("AE", "N1") and "OBX" in acks[2][2]
    assert acks[3] == ("AA", "0040971443EC", "")


def test_sender_leaving_mid_message_loses_only_that_message(listener: Hl7Driver) -> None:
    b40 = (HL7 / "ge_b40_vsp_capture.hl7").read_bytes()
    with connect(listener) as sock:
        sock.sendall(frame(b40) + frame(b40.replace(b"|68|", b"|99|"))[:200])
    items = pump(listener, lambda its: any(isinstance(i, LinkEvent) for i in its))
    hr = [s.value for s in vitals(items) if s.parameter is Parameter.HR]
    assert hr == [68.0]
    [event] = [i for i in items if isinstance(i, LinkEvent)]
    assert event.state is LinkState.DISCONNECTED and "waiting for it" in event.detail
    with connect(listener) as sock:  # the gateway comes back: the listener still serves it
        sock.sendall(frame(b40.replace(b"|68|", b"|71|")))
        items = pump(listener, lambda its: bool(vitals(its)))
        assert acks_of(sock, 1)[0][0] == "AA"
    assert [s.value for s in vitals(items) if s.parameter is Parameter.HR] == [71.0]


def test_flooding_gateway_is_acked_completely_with_bounded_memory(listener: Hl7Driver) -> None:
    b40 = (HL7 / "ge_b40_vsp_capture.hl7").read_bytes()
    n = 20000
    stream = b"".join(frame(b40.replace(b"0040971443EC", f"F{k:06d}".encode())) for k in range(n))
    peak = {"out": 0, "buffered": 0}
    acks: list[tuple[str, str, str]] = []
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: ACKs back up here
    sock.connect(("127.0.0.1", listener.bound_port or 0))
    pump(listener, lambda its: bool(listener._conns))
    for conn in listener._conns.values():  # small kernel buffers, so unsent ACKs show in kapmonitor's memory
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with sock:
        sender = threading.Thread(target=sock.sendall, args=(stream,))
        sender.start()

        def late_reader() -> None:
            time.sleep(1.0)  # the gateway reads its ACKs late: kapmonitor must not pile them up
            acks.extend(acks_of(sock, n, 60))
        reader = threading.Thread(target=late_reader)
        reader.start()
        end = time.monotonic() + 60
        while reader.is_alive() and time.monotonic() < end:
            listener.read(0.02)
            for conn in list(listener._conns.values()):
                peak["out"] = max(peak["out"], len(conn.out))
                peak["buffered"] = max(peak["buffered"], conn.framer.buffered)
        sender.join(5)
        reader.join(5)
    assert len(acks) == n and {a[0] for a in acks} == {"AA"}
    assert [a[1] for a in acks] == [f"F{k:06d}" for k in range(n)]
    assert peak["out"] <= hl7_driver.MAX_PENDING_ACKS + 64 * 1024
    assert peak["buffered"] <= len(frame(b40)) + 16


def test_endless_frame_is_dropped_and_the_next_message_still_acked(listener: Hl7Driver) -> None:
    b40 = (HL7 / "ge_b40_vsp_capture.hl7").read_bytes()
    with connect(listener) as sock:
        junk = b"\x0b" + b"x" * (2 << 20)
        threading.Thread(target=sock.sendall, args=(junk + frame(b40),)).start()
        items = pump(listener, lambda its: bool(vitals(its)), 20)
        assert acks_of(sock, 1)[0][0] == "AA"
    assert listener.stats.length_errors >= 1
    assert [s.value for s in vitals(items) if s.parameter is Parameter.HR] == [68.0]


def test_not_hl7_is_reported_as_monitor_not_answering(listener: Hl7Driver) -> None:
    with connect(listener) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n" * 400)
        items = pump(listener, lambda its: any(isinstance(i, LinkEvent) for i in its))
    assert next(i.state for i in items if isinstance(i, LinkEvent)) is LinkState.NOT_ANSWERING


def test_demo_mode_monitor_is_acked_but_never_a_patient_value(listener: Hl7Driver,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hl7_driver, "NO_PATIENT_VALUE_AFTER_S", 0.3)
    demo = (HL7 / "mindray_vs900_demo_mode.hl7").read_bytes()
    with connect(listener) as sock:
        sock.sendall(frame(demo))
        items = pump(listener, lambda its: bool(vitals(its)))
        assert acks_of(sock, 1) == [("AA", "13", "")]
        time.sleep(0.4)
        sock.sendall(frame(demo.replace(b"|13|P|", b"|14|P|")))
        items += pump(listener, lambda its: any(isinstance(i, LinkEvent) for i in its), 5)
    samples = vitals(items)
    assert samples and all(s.status is Status.DEMO and not s.valid for s in samples)
    assert "demo-mode" in [i.code for i in items if isinstance(i, DeviceNotice)]
    # the link is up but shows no patient data, and says why
    [event] = [i for i in items if isinstance(i, LinkEvent)]
    assert event.state is LinkState.NO_DATA and "DEMO" in event.detail


def test_two_beds_on_one_gateway_only_the_chosen_bed_is_read() -> None:
    b40 = (HL7 / "ge_b40_vsp_capture.hl7").read_bytes()
    bed_a = b40.replace(b"PV1||E|X^^443EC", b"PV1||I|ICU^^BED-A")
    bed_b = b40.replace(b"PV1||E|X^^443EC", b"PV1||I|ICU^^BED-B").replace(b"|68|", b"|120|")
    driver = Hl7Driver(DriverOptions(port="listen:127.0.0.1:0;bed=BED-B"), RealClock())
    driver.open()
    try:
        with connect(driver) as sock:
            sock.sendall(b"".join(frame(m) for m in (bed_a, bed_b, bed_a, bed_b)))
            items = pump(driver, lambda its: sum(isinstance(i, RawFrame) and i.direction == "tx" for i in its) >= 4)
            assert [a[0] for a in acks_of(sock, 4)] == ["AA"] * 4  # the other bed's monitor keeps sending
    finally:
        driver.close()
    assert [s.value for s in vitals(items) if s.parameter is Parameter.HR] == [120.0, 120.0]
    notices = [i for i in items if isinstance(i, DeviceNotice) and i.code == "hl7-other-bed"]
    assert len(notices) == 1 and "BED-A" in notices[0].message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_client_mode_reads_a_listening_monitor_and_reports_a_lost_link() -> None:
    port = _free_port()
    stop = threading.Event()
    emu = threading.Thread(target=run_emulator, args=(f"listen:127.0.0.1:{port}", "normal", 5.0, 3, stop),
                           kwargs={"dialect": "nihon-kohden"})
    emu.start()
    driver = Hl7Driver(DriverOptions(port=f"tcp:127.0.0.1:{port}"), RealClock())
    try:
        end = time.monotonic() + 10
        while True:
            try:
                driver.open()
                break
            except PortOpenError:
                assert time.monotonic() < end
                time.sleep(0.1)
        items = pump(driver, lambda its: {Parameter.HR, Parameter.SPO2} <= {s.parameter for s in vitals(its)})
        assert {Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE} <= {s.parameter for s in vitals(items)}
        stop.set()
        emu.join(5)
        with pytest.raises(LinkLostError):
            pump(driver, lambda its: False, 5)
    finally:
        stop.set()
        driver.close()
    with pytest.raises(PortOpenError, match="cannot connect"):
        driver.open()  # nothing listens any more: the reader thread retries with backoff


@pytest.mark.parametrize("dialect", DIALECTS)
def test_emulator_dialects_give_vitals_and_each_nibp_once(listener: Hl7Driver, dialect: str) -> None:
    stop = threading.Event()
    emu = threading.Thread(target=run_emulator, args=(f"tcp:127.0.0.1:{listener.bound_port}", "normal", 30.0, 1, stop),
                           kwargs={"dialect": dialect})
    emu.start()
    try:
        items = pump(listener, lambda its: sum(s.parameter is Parameter.HR for s in vitals(its)) >= 40, 15)
    finally:
        stop.set()
        emu.join(5)
    samples = vitals(items)
    assert {Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE, Parameter.NIBP_SYS} <= {s.parameter for s in samples}
    assert all(s.valid for s in samples)
    nibp = [s for s in samples if s.parameter is Parameter.NIBP_SYS]
    assert len(nibp) == 1  # repeated in ~40 messages, recorded once
    assert 100 <= (nibp[0].value or 0) <= 160


class Collect:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self.lock = threading.Lock()

    def on_items(self, items: Sequence[Item]) -> None:
        with self.lock:
            self.items.extend(items)

    def hr_count(self) -> int:
        with self.lock:
            return sum(isinstance(i, VitalSample) and i.parameter is Parameter.HR and i.valid for i in self.items)


def test_client_mode_reconnects_by_itself_when_the_monitor_returns() -> None:
    port = _free_port()
    collect = Collect()
    dispatcher = Dispatcher()
    dispatcher.add_listener(collect)
    driver = Hl7Driver(DriverOptions(port=f"tcp:127.0.0.1:{port}"), RealClock())
    reader = ReaderThread(driver, dispatcher, backoff_min=0.1, backoff_max=0.3)

    def monitor(stop: threading.Event) -> threading.Thread:
        t = threading.Thread(target=run_emulator, args=(f"listen:127.0.0.1:{port}", "normal", 5.0, 3, stop),
                             kwargs={"dialect": "nihon-kohden"})
        t.start()
        return t

    reader.start()
    stop1 = threading.Event()
    emu = monitor(stop1)
    try:
        assert wait_until(lambda: collect.hr_count() >= 3)
        stop1.set()  # the unit reboots: its connection goes
        emu.join(5)
        assert wait_until(lambda: reader.link_state is LinkState.DISCONNECTED)
        before = collect.hr_count()
        stop2 = threading.Event()
        emu = monitor(stop2)
        try:
            assert wait_until(lambda: collect.hr_count() >= before + 3)  # data resume without anyone's help
            assert reader.reconnects >= 1
        finally:
            stop2.set()
            emu.join(5)
    finally:
        stop1.set()
        reader.stop()


def wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False
