"""The Masimo ASCII 1 decoder against every shared capture (a test per file), the EXC rules, and fuzzing."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_paths import CAPTURES, PROTOCOLS

from kapmonitor.drivers.masimo.decoder import MasimoDecoder
from kapmonitor.drivers.masimo.emulator import MasimoEmulatorState
from kapmonitor.drivers.registry import create_decoder
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, Status, VitalSample

MASIMO = PROTOCOLS / "masimo"


def decode(data: bytes, device_time: bool = True, arrival: float = 0.0) -> tuple[list[Item], MasimoDecoder]:
    decoder = MasimoDecoder(device_time=device_time)
    items = decoder.feed(data, arrival)
    items += decoder.finish()
    return items, decoder


def values(items: list[Item], parameter: Parameter) -> list[float | None]:
    return [i.value for i in items if isinstance(i, VitalSample) and i.parameter is parameter]


def statuses(items: list[Item], parameter: Parameter) -> list[Status]:
    return [i.status for i in items if isinstance(i, VitalSample) and i.parameter is parameter]


def test_rad8_2016_capture() -> None:
    items, decoder = decode((MASIMO / "rad8_ascii1_2016.txt").read_bytes())
    assert values(items, Parameter.SPO2) == [98.0] * 5
    assert values(items, Parameter.PULSE_RATE) == [97.0, 96.0, 96.0, 96.0, 97.0]
    assert set(statuses(items, Parameter.SPO2)) == {Status.OK}
    assert decoder.stats.frames == 5 and decoder.stats.length_errors == 0
    # offline decode keeps the line's own clock: 02/22/16 22:47:45, one line a second
    times = [i.time for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.SPO2]
    assert times[0] == 1456181265.0 and [b - a for a, b in itertools.pairwise(times)] == [1.0] * 4
    assert not [i for i in items if isinstance(i, DeviceNotice) and i.code == "masimo-exception"]  # 0x800 = SET


def test_rad8_2018_capture() -> None:
    items, _decoder = decode((MASIMO / "rad8_ascii1_2018.txt").read_bytes())
    assert values(items, Parameter.SPO2) == [97.0] * 6
    assert values(items, Parameter.PULSE_RATE) == [80.0, 81.0, 81.0, 81.0, 80.0, 80.0]
    notices = [i for i in items if isinstance(i, DeviceNotice) and i.code == "masimo-device"]
    assert notices and notices[0].details["serial_number"] == "0000145838"


def test_radical7_service_manual_line_has_no_values() -> None:
    items, decoder = decode((MASIMO / "radical7_service_manual_example.txt").read_bytes())
    assert decoder.stats.frames == 1
    assert values(items, Parameter.SPO2) == [None] and values(items, Parameter.PULSE_RATE) == [None]
    assert statuses(items, Parameter.SPO2) == [Status.INVALID]


def test_trend_dump_is_refused_not_decoded() -> None:
    items, decoder = decode((MASIMO / "rad8_trend_dump_manual_NOT_ASCII1.txt").read_bytes())
    assert not [i for i in items if isinstance(i, VitalSample)]  # SpO2=097 PR=069 lines never become values
    assert decoder.stats.frames == 0 and decoder.rejected_lines == 8
    notices = [i for i in items if isinstance(i, DeviceNotice)]
    assert len(notices) == 1 and notices[0].code == "masimo-trend-dump" and "ASCII 1" in notices[0].message


def test_example_lines_capture_no_sensor_rainbow_and_blue() -> None:
    items, decoder = decode((CAPTURES / "masimo_ascii1_example_lines.txt").read_bytes())
    assert decoder.stats.frames == 3  # the three device lines; the prose lines are refused
    assert values(items, Parameter.SPO2) == [None, 98.0, None]
    assert values(items, Parameter.PULSE_RATE) == [None, 123.0, None]
    assert statuses(items, Parameter.SPO2) == [Status.NO_SENSOR, Status.OK, Status.INVALID]
    texts = [i.message for i in items if isinstance(i, DeviceNotice) and i.code == "masimo-exception"]
    assert texts[0] == "Masimo: no sensor connected to the pulse oximeter"
    assert "low signal quality" in texts[1]  # EXC 0000C00: noted, the numbers stay


@pytest.mark.parametrize(("exc", "status"), [
    ("000001", Status.NO_SENSOR), ("000820", Status.SENSOR_OFF), ("000802", Status.SENSOR_FAULT),
    ("000880", Status.SENSOR_FAULT), ("000821", Status.NO_SENSOR), ("ZZZ", Status.INVALID),
])
def test_exc_bits_are_checked_before_numbers_are_trusted(exc: str, status: Status) -> None:
    line = f"03/19/16 13:37:12 SN=0000093112 SPO2=097% BPM=072 PI=01.00% ALARM=0000 EXC={exc}\r\n".encode()
    items, _ = decode(line)
    assert values(items, Parameter.SPO2) == [None] and values(items, Parameter.PULSE_RATE) == [None]
    assert statuses(items, Parameter.SPO2) == [status]


def test_live_lines_are_stamped_with_host_time_and_split_anywhere() -> None:
    line = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0018 EXC=000800\r\n"
    decoder = MasimoDecoder(device_time=False)
    items: list[Item] = []
    for k, byte in enumerate(line * 2):
        items += decoder.feed(bytes([byte]), 2_000_000_000.0 + k)
    spo2 = [i for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.SPO2]
    assert [s.value for s in spo2] == [98.0, 98.0]
    assert spo2[0].time > 2_000_000_000.0  # the host's time, never the device's 2016 clock
    alarm = [i for i in items if isinstance(i, DeviceNotice) and i.code == "masimo-alarm-bits"]
    assert len(alarm) == 1 and "pulse below low limit" in alarm[0].message


def test_emulated_cycle_plays_sensor_off_and_no_sensor() -> None:
    state = MasimoEmulatorState(SimulatedPatient(1_900_000_000.0, "normal", 3), "cycle")
    items, decoder = decode(b"".join(state.next_line() or b"" for _ in range(80)), device_time=False)
    seen = statuses(items, Parameter.SPO2)
    assert seen[:30] == [Status.OK] * 30 and seen[30:40] == [Status.SENSOR_OFF] * 10
    assert seen[70:80] == [Status.NO_SENSOR] * 10
    assert all(v is not None and 90 <= v <= 100 for v in values(items, Parameter.SPO2)[:30])
    assert decoder.stats.frames == 80


def test_decode_cli_refuses_the_trend_dump_with_a_clear_message(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "kapmonitor", "decode",
                          str(MASIMO / "rad8_trend_dump_manual_NOT_ASCII1.txt"), "--driver", "masimo-ascii1"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "trend-dump format" in run.stderr and "ASCII 1" in run.stderr
    ok = subprocess.run([sys.executable, "-m", "kapmonitor", "decode", str(MASIMO / "rad8_ascii1_2018.txt"),
                         "--driver", "masimo-ascii1"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[1] == "2018-02-24T04:48:53Z,spo2,97,%,ok"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"SPO2=", b"BPM=", b"EXC=", b"ALARM=", b"---", b"%", b"\r\n", b"\n", b" ", b"SN=",
                     b"02/22/16 22:47:45 ", b"99/99/99 99:99:99 ", b"=", b"FFFFFFFFFFFFFFFFFFFF"]),
), max_size=40))
def test_fuzzed_bytes_never_raise(chunks: list[bytes]) -> None:
    decoder = create_decoder("masimo-ascii1")
    for chunk in chunks:
        for item in decoder.feed(chunk, 1.0):
            if isinstance(item, VitalSample) and item.value is not None:
                assert item.status is Status.OK and 0 <= item.value <= 300
    decoder.finish()
