"""The Ivy 450C ANSAR-B decoder against the 27-frame capture, broken streams, the emulator, and fuzzing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_paths import PROTOCOLS

from kapmonitor.drivers.ivy.decoder import HEADER, IvyDecoder
from kapmonitor.drivers.ivy.emulator import IvyEmulatorState
from kapmonitor.drivers.registry import create_decoder
from kapmonitor.drivers.simulator import SimulatedPatient
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Status, VitalSample, WaveChunk

CAPTURE = PROTOCOLS / "ivy" / "Ivy450C.1.data"


def samples(items: list[Item], parameter: Parameter) -> list[VitalSample]:
    return [i for i in items if isinstance(i, VitalSample) and i.parameter is parameter]


def test_capture_gives_27_frames_with_the_documented_values() -> None:
    decoder = IvyDecoder()
    items = decoder.feed(CAPTURE.read_bytes(), 1_800_000_000.0)
    assert decoder.stats.frames == 27
    assert decoder.stats.resyncs == 1  # the file starts mid-frame
    assert decoder.stats.length_errors == 0
    for parameter, value in ((Parameter.HR, 80.0), (Parameter.SPO2, 100.0), (Parameter.PULSE_RATE, 80.0),
                             (Parameter.RESP_RATE, 35.0)):
        got = samples(items, parameter)
        assert [s.value for s in got] == [value] * 27, parameter
        assert {s.status for s in got} == {Status.OK}
    assert samples(items, Parameter.ETCO2) == []  # `ETCO2=1;;;`: no CO2 module, no value, no alarm
    # NIBP 121/75 (92), pulse 80: once, not 27 times; its age is unknown, so it is marked old
    nibp = [(s.parameter, s.value, s.status) for s in items if isinstance(s, VitalSample)
            and s.parameter.value.startswith("nibp")]
    assert nibp == [(Parameter.NIBP_SYS, 121.0, Status.OLD), (Parameter.NIBP_DIA, 75.0, Status.OLD),
                    (Parameter.NIBP_MEAN, 92.0, Status.OLD), (Parameter.NIBP_PULSE, 80.0, Status.OLD)]
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert len(waves) == 27 and all(w.rate_hz == 50.0 and len(w.values) == 50 for w in waves)
    assert [w.time for w in waves] == [1_800_000_000.0 + k for k in range(27)]  # one second per frame
    first = waves[0].values
    assert first[0] == 0x98 - 86 and np.ptp(first) > 20  # a pulse wave, baseline 86 removed


def test_capture_fed_in_small_pieces_decodes_the_same() -> None:
    data = CAPTURE.read_bytes()
    whole = IvyDecoder()
    expected = [(type(i).__name__, getattr(i, "parameter", None), getattr(i, "value", None))
                for i in whole.feed(data, 0.0)]
    pieces = IvyDecoder()
    got: list[Item] = []
    for k in range(0, len(data), 13):
        got += pieces.feed(data[k:k + 13], 0.0)
    assert [(type(i).__name__, getattr(i, "parameter", None), getattr(i, "value", None)) for i in got] == expected


def test_a_frame_without_its_end_byte_is_skipped_and_the_next_decodes() -> None:
    data = CAPTURE.read_bytes()
    start = data.find(HEADER)
    frame = data[start:start + 562]
    broken = frame[:-1]  # end byte lost
    decoder = IvyDecoder()
    items = decoder.feed(broken + frame + frame, 0.0)
    assert decoder.stats.length_errors == 1 and decoder.stats.frames == 2
    assert len(samples(items, Parameter.HR)) == 2


def test_new_nibp_only_when_the_values_change() -> None:
    data = CAPTURE.read_bytes()
    start = data.find(HEADER)
    frame = data[start:start + 562]
    newer = frame.replace(b"NIBP=4;121;75;92;80;;", b"NIBP=4;131;85;99;82;;")
    decoder = IvyDecoder()
    items = decoder.feed(frame + frame + newer + newer + frame, 0.0)
    sys_ = samples(items, Parameter.NIBP_SYS)
    assert [(s.value, s.status) for s in sys_] == [(121.0, Status.OLD), (131.0, Status.OK), (121.0, Status.OK)]
    ids = {s.measurement_id for s in items if isinstance(s, VitalSample) and s.parameter.value.startswith("nibp")}
    assert len(ids) == 3


def test_emulator_frames_decode_to_its_physiology() -> None:
    state = IvyEmulatorState(SimulatedPatient(1_900_000_000.0, "normal", 2))
    decoder = IvyDecoder()
    items: list[Item] = []
    for k in range(60):
        frame = state.next_frame()
        assert frame is not None
        items += decoder.feed(frame, 1_900_000_000.0 + k)
    assert decoder.stats.frames == 60 and decoder.stats.length_errors == 0
    assert all(60 <= (s.value or 0) <= 110 for s in samples(items, Parameter.HR))
    assert all(10 <= (s.value or 0) <= 20 for s in samples(items, Parameter.RESP_RATE))
    assert all(30 <= (s.value or 0) <= 45 for s in samples(items, Parameter.ETCO2))
    assert [s.status for s in samples(items, Parameter.NIBP_SYS)] == [Status.OK]  # the baseline measurement


def test_decode_cli_reads_the_capture() -> None:
    run = subprocess.run([sys.executable, "-m", "kapmonitor", "decode", str(CAPTURE), "--driver", "ivy-450c",
                          "--format", "csv"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    assert sum(1 for r in rows if ",resp_rate,35,/min,ok" in r) == 27
    assert sum(1 for r in rows if ",nibp_sys,121,mmHg,old" in r) == 1
    assert "frames decoded: 27" in run.stderr


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=600),
    st.sampled_from([HEADER, b"\xfe", b"\xff", b"HR=1;80;;\r", b"NIBP=4;1;2;3;4;;\r", b"SPO2=1;x;PR=;\r",
                     b"RR=1;1e400;;\r", b"ETCO2=1;nan;;\r", b"\r", bytes(409)]),
), max_size=30))
def test_fuzzed_bytes_never_raise(chunks: list[bytes]) -> None:
    decoder = create_decoder("ivy-450c")
    for chunk in chunks:
        for item in decoder.feed(chunk, 5.0):
            if isinstance(item, VitalSample) and item.value is not None:
                assert np.isfinite(item.value)
    decoder.finish()
