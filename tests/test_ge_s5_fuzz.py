"""Property-based fuzzing of the GE S/5 decoder: nothing raises, nothing out of range comes out."""

from __future__ import annotations

import math
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.model.parameters import is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, Status, VitalSample, WaveChunk

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(items: list[Item]) -> None:
    for item in items:
        if isinstance(item, VitalSample):
            if item.value is None:
                assert item.status is not Status.OK
            else:
                assert math.isfinite(item.value) and is_plausible(item.parameter, item.value)
                assert item.status in (Status.OK, Status.OLD)
            assert math.isfinite(item.time)
        elif isinstance(item, WaveChunk):
            finite = item.values[~(item.values != item.values)]
            assert (abs(finite) <= 327.67).all() and item.rate_hz > 0
        else:
            assert isinstance(item, DeviceNotice)


def feed_all(chunks: list[bytes]) -> GeS5Decoder:
    dec = GeS5Decoder()
    for c in chunks:
        check(dec.feed(c, 1_700_000_000.0))
    check(dec.finish())
    return dec


@FUZZ
@given(st.lists(st.binary(max_size=600), max_size=12))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    feed_all(chunks)


@FUZZ
@given(st.lists(st.sampled_from([b"\x7e", b"\x7d", b"\x7d\x5e", b"\x7d\x5d", b"\x00", b"\xff", b"\x7e\x7e"]),
                max_size=400))
def test_flag_and_escape_soup_never_raises(parts: list[bytes]) -> None:
    feed_all([b"".join(parts)])


@st.composite
def valid_frames(draw: st.DrawFn) -> bytes:
    """Frames with a correct checksum and r_len but random contents: reach the record parsers."""
    maintype = draw(st.sampled_from([p.MT_PHDB, p.MT_WAVE, 2, -1]))
    body = bytearray(draw(st.binary(min_size=0, max_size=1400)))
    n = draw(st.integers(0, 8))
    descs = bytearray()
    for _ in range(n):
        descs += struct.pack("<hB", draw(st.integers(-50, 1500)), draw(st.sampled_from([0, 1, 2, 3, 4, 8, 32, 255])))
    descs += bytes(24 - len(descs))
    head = struct.pack("<hBBHIBBHh", 40 + len(body), 0, 10, 0, draw(st.integers(0, 2**32 - 1)), 0, 0, 0, maintype)
    return p.frame(head + bytes(descs) + bytes(body))


@FUZZ
@given(st.lists(valid_frames(), min_size=1, max_size=6), st.binary(max_size=50))
def test_checksummed_random_records_never_raise(frames: list[bytes], noise: bytes) -> None:
    dec = feed_all([noise + b"".join(frames)])
    assert dec.stats.checksum_errors + dec.stats.length_errors + dec.stats.frames >= 1


@FUZZ
@given(
    st.lists(st.tuples(st.integers(-32768, 32767), st.integers(-32768, 32767), st.integers(-32768, 32767)),
             min_size=1, max_size=8),
    st.integers(0, 0xFFFF),
)
def test_basic_records_with_any_numbers(values: list[tuple[int, int, int]], label: int) -> None:
    frames = []
    for k, (a, b, c) in enumerate(values):
        body = p.basic_body(a, 0xFFFFFFFF, (a, b, c, b), label, 3, b, c, 3)
        rec = p.build_record(p.MT_PHDB, [(p.PH_DISPL, p.phdb_subrecord(1_700_000_000 + k, body))],
                             r_time=1_700_000_000 + k)
        frames.append(p.frame(rec))
    feed_all(frames)
