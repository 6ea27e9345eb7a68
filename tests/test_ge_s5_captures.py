"""The real CARESCAPE captures decode to what the fixtures' README states."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from shared_paths import CAPTURES

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import DeviceNotice, Item, Status, VitalSample, WaveChunk

DB00 = CAPTURES / "ge_s5_carescape_db00.raw"
DB01 = CAPTURES / "ge_s5_carescape_db01_damaged.raw"



def _t(hms: str) -> float:
    return datetime.fromisoformat(f"2018-08-02T{hms}+00:00").timestamp()


def _decode(path: Path, chunk: int | None = None) -> tuple[GeS5Decoder, list[Item]]:
    data = path.read_bytes()
    dec = GeS5Decoder()
    items: list[Item] = []
    step = chunk or len(data)
    for i in range(0, len(data), step):
        items.extend(dec.feed(data[i:i + step], 0.0))
    items.extend(dec.finish())
    return dec, items


@pytest.fixture(scope="module")
def db00() -> tuple[GeS5Decoder, list[Item]]:
    return _decode(DB00)


def _samples(items: list[Item], parameter: Parameter) -> list[VitalSample]:
    return [i for i in items if isinstance(i, VitalSample) and i.parameter is parameter]


def test_db00_all_frames_no_checksum_errors(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    dec, _ = db00
    assert dec.stats.frames == 3520
    assert dec.stats.checksum_errors == 0
    assert dec.stats.resyncs == 1  # starts mid-frame
    _, items = db00
    times = [i.time for i in items if isinstance(i, VitalSample)]
    assert (min(times), max(times)) == (_t("14:30:20"), _t("14:59:39"))


def test_db00_nibp_initial_old_value_then_nine_measurements_once(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    _, items = db00
    expected = [
        ("14:30:20", 87, 61, 73, Status.OLD),
        ("14:30:28", 86, 58, 71, Status.OK), ("14:32:59", 91, 57, 69, Status.OK),
        ("14:35:29", 79, 55, 65, Status.OK), ("14:36:57", 94, 63, 77, Status.OK),
        ("14:37:56", 90, 62, 74, Status.OK), ("14:40:29", 85, 62, 71, Status.OK),
        ("14:45:32", 84, 57, 69, Status.OK), ("14:50:30", 90, 58, 71, Status.OK),
        ("14:55:34", 81, 52, 64, Status.OK),
    ]
    sys_ = [s for s in _samples(items, Parameter.NIBP_SYS) if s.value is not None]
    dia = [s for s in _samples(items, Parameter.NIBP_DIA) if s.value is not None]
    mean = [s for s in _samples(items, Parameter.NIBP_MEAN) if s.value is not None]
    got = [(s.time, s.value, d.value, m.value, s.status) for s, d, m in zip(sys_, dia, mean, strict=True)]
    assert got == [(_t(h), float(a), float(b), float(c), st) for h, a, b, c, st in expected]
    for s, d, m in zip(sys_, dia, mean, strict=True):
        assert s.measurement_id is not None and s.measurement_id == d.measurement_id == m.measurement_id
    pulses = _samples(items, Parameter.NIBP_PULSE)
    assert len(pulses) == 10 and all(x.value is None and x.status is Status.INVALID for x in pulses)
    assert len({x.measurement_id for x in pulses}) == 10


def test_db00_measuring_label_reported_at_each_cuff_start(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    _, items = db00
    measuring = [s.time for s in _samples(items, Parameter.NIBP_SYS) if s.status is Status.MEASURING]
    # label 0x12b at the start (measuring already), then every rise of bit 5
    assert measuring[0] == _t("14:30:20")
    assert _t("14:36:09") in measuring and _t("14:55:01") in measuring
    assert len(measuring) == 9


def test_db00_hr_spo2_ranges_and_source(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    _, items = db00
    hr = [s.value for s in _samples(items, Parameter.HR) if s.valid]
    spo2 = [s.value for s in _samples(items, Parameter.SPO2) if s.valid]
    pr = [s.value for s in _samples(items, Parameter.PULSE_RATE) if s.valid]
    assert len(hr) == len(spo2) == 1760
    assert (min(hr), max(hr)) == (68.0, 98.0)
    assert (min(spo2), max(spo2)) == (95.16, 100.0)
    assert pr and all(30 <= x <= 200 for x in pr if x is not None)
    notices = [i for i in items if isinstance(i, DeviceNotice)]
    assert [n.code for n in notices if n.code == "hr-source"] == ["hr-source"] and "ECG" in notices[0].message
    modes = [(n.time, n.message) for n in notices if n.code == "nibp-mode"]
    # label 0x000b AUTO; 0x0003 at 14:35:53 (auto cycling off), AUTO again with the cuff at 14:36:09
    assert modes == [(_t("14:30:20"), "NIBP mode: AUTO"), (_t("14:35:53"), "NIBP mode: manual"),
                     (_t("14:36:09"), "NIBP mode: AUTO")]


def test_db00_pleth_is_continuous_100_hz(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    _, items = db00
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert len(waves) == 1760 and all(w.parameter is Parameter.PLETH and w.rate_hz == 100.0 for w in waves)
    assert all(99 <= len(w.values) <= 101 for w in waves)  # the monitor's packets vary by a sample
    total = sum(len(w.values) for w in waves)
    assert abs(total - 100 * 1760) < 100
    joins = np.array([b.time - a.end_time for a, b in itertools.pairwise(waves)])
    assert np.abs(joins).max() < 1e-6  # each chunk starts where the previous ended
    assert waves[0].values[0] == pytest.approx(0.21)


def test_db00_same_items_whatever_the_read_boundaries(db00: tuple[GeS5Decoder, list[Item]]) -> None:
    _, whole = db00
    _, chunked = _decode(DB00, chunk=333)
    vitals = [i for i in whole if isinstance(i, VitalSample)]
    assert [i for i in chunked if isinstance(i, VitalSample)] == vitals


def _independent_good_frames(data: bytes) -> int:
    """Frames with a valid checksum and matching r_len, counted without the decoder."""
    good = 0
    for part in data.split(b"\x7e")[1:-1]:
        u = part.replace(b"\x7d\x5e", b"\x7e").replace(b"\x7d\x5d", b"\x7d")
        if len(u) > p.HEADER_LEN and sum(u[:-1]) & 0xFF == u[-1] and int.from_bytes(u[:2], "little") == len(u) - 1:
            good += 1
    return good


def test_db01_damaged_never_crashes_counts_bad_frames_keeps_good_ones() -> None:
    data = DB01.read_bytes()
    dec, items = _decode(DB01, chunk=1000)
    assert dec.stats.frames == _independent_good_frames(data) > 2000
    bad = dec.stats.checksum_errors + dec.stats.length_errors
    assert 250 <= bad <= 400
    assert dec.records == dec.stats.frames
    for s in items:
        if isinstance(s, VitalSample) and s.value is not None:
            assert s.status in (Status.OK, Status.OLD)
            assert 0 < s.value <= 300
    hr = [s for s in items if isinstance(s, VitalSample) and s.parameter is Parameter.HR]
    assert len(hr) > 500
