"""IntelliVue fixed-baud framing: the guide's FCS vectors, escaping, the real demographics frame."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_paths import CAPTURES

from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.decoder import IntelliVueDecoder
from kapmonitor.drivers.intellivue.framing import (
    FrameReader,
    build_bare_frame,
    build_frame,
    escape,
    fcs,
    unescape,
)

VECTORS = CAPTURES / "philips_official_vectors.txt"
REAL_FRAME = CAPTURES / "philips_real_frame_patient_demographics.b64.txt"


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def _official_frames() -> list[tuple[bytes, bytes]]:
    """(data, frame) pairs as printed in the vectors file."""
    text = VECTORS.read_text()
    datas = re.findall(r"FCS vector \d[^:]*: data ([0-9a-f ]+?) ->", text)
    frames = re.findall(r"frame: ([0-9a-f ]+)", text)
    assert len(datas) == len(frames) == 2
    return [(_hex(d), _hex(f)) for d, f in zip(datas, frames, strict=True)]


def test_crc_is_x25_not_crc_hqx() -> None:
    assert fcs(b"123456789") == 0x906E
    import binascii

    assert binascii.crc_hqx(b"123456789", 0xFFFF) != fcs(b"123456789")


@pytest.mark.parametrize(("data", "frame"), _official_frames())
def test_official_fcs_vectors(data: bytes, frame: bytes) -> None:
    assert build_bare_frame(data) == frame
    # the guide's intermediate values: CRC, then ones-complement and byte swap
    sent = fcs(data)
    assert bytes((sent & 0xFF, sent >> 8)) == unescape(frame[1 + len(data) : -1])


def test_second_vector_escapes_c1_in_the_fcs() -> None:
    assert build_bare_frame(bytes([0x3A, 0x91])).endswith(b"\x95\x7d\xe1\xc1")


@pytest.mark.parametrize("payload", [b"", b"\xc0", b"\xc1\xc0\x7d", bytes(range(256)), b"\x7d\x5d\x7d"])
def test_escape_roundtrip_and_no_reserved_bytes(payload: bytes) -> None:
    esc = escape(payload)
    assert unescape(esc) == payload
    assert b"\xc0" not in esc and b"\xc1" not in esc
    frame = build_frame(payload)
    reader = FrameReader()
    got = reader.feed(frame)
    assert [f.payload for f in got] == [payload]
    assert got[0].wire == frame


def test_escape_sequences() -> None:
    assert escape(b"\xc0\xc1\x7d\x01") == b"\x7d\xe0\x7d\xe1\x7d\x5d\x01"
    assert unescape(b"\x01\x7d") is None


def test_reader_resyncs_after_noise_and_mid_frame_start() -> None:
    f1, f2 = build_frame(b"first message"), build_frame(b"second")
    reader = FrameReader()
    stream = b"\x55\xaa" + f1[5:] + b"\x00" + f1 + b"junk" + f2
    got = []
    for i in range(0, len(stream), 3):  # arbitrary chunking
        got += reader.feed(stream[i : i + 3])
    assert [f.payload for f in got] == [b"first message", b"second"]
    assert reader.stats.resyncs >= 2
    assert reader.stats.frames == 2


def test_bad_fcs_is_counted_and_skipped() -> None:
    good = build_frame(b"\x01\x02\x03\x04")
    bad = bytearray(good)
    bad[6] ^= 0x01
    reader = FrameReader()
    assert [f.payload for f in reader.feed(bytes(bad) + good)] == [b"\x01\x02\x03\x04"]
    assert reader.stats.checksum_errors == 1


def test_frame_abort_7d_c1() -> None:
    reader = FrameReader()
    got = reader.feed(b"\xc0\x11\x01\x00\x05abc\x7d\xc1" + build_frame(b"ok"))
    assert [f.payload for f in got] == [b"ok"]
    assert reader.aborted == 1


def test_oversized_garbage_is_bounded() -> None:
    reader = FrameReader()
    assert reader.feed(b"\xc0" + b"\x00" * 20000) == []
    assert len(reader._buf) <= 4096
    assert [f.payload for f in reader.feed(build_frame(b"after"))] == [b"after"]


def test_real_frame_fcs_and_bare_c0_inside() -> None:
    wire = base64.b64decode(REAL_FRAME.read_text())
    assert len(wire) == 300 and wire[:5] == bytes.fromhex("c011010124") and wire[-3:] == bytes.fromhex("8265c1")
    assert wire.count(b"\xc0") == 3  # BOF plus two bare C0 bytes inside the frame
    body = wire[1:-3]
    assert fcs(body) == 0x6582  # sent LSB first: 82 65
    for prefix in (b"", b"\x13\x37", build_frame(b"before")):
        reader = FrameReader()
        frames = [f for i in range(0, len(prefix + wire), 7) for f in reader.feed((prefix + wire)[i : i + 7])]
        assert frames[-1].wire == wire
        assert len(frames[-1].payload) == 0x124
        assert reader.stats.checksum_errors == 0


def test_real_frame_demographics_decoded() -> None:
    wire = base64.b64decode(REAL_FRAME.read_text())
    dec = IntelliVueDecoder()
    items = dec.feed(wire, 1000.0)
    assert items == []  # demographics are not vitals
    assert dec.demographics["family_name"] == "Koenig"
    assert dec.demographics["patient_id"] == "123"
    msg = m.parse_message(wire[5:-3])
    assert (msg.kind, msg.action_type) == ("action_result", m.NOM_ACT_POLL_MDIB_DATA)


def _reference_check(chunk: bytes) -> bytes | None:
    """The plain rule, candidate by candidate (quadratic): the earliest C0 whose length and FCS fit."""
    if chunk.find(b"\xc0") < 0 or (len(chunk) >= 2 and chunk[-2] == 0x7D):
        return None
    pos = chunk.find(b"\xc0")
    while pos >= 0:
        body = unescape(chunk[pos + 1 : -1])
        if (body is not None and len(body) >= 6 and ((body[2] << 8) | body[3]) == len(body) - 6
                and fcs(body[:-2]) == body[-2] | (body[-1] << 8)):
            return chunk[pos:]
        pos = chunk.find(b"\xc0", pos + 1)
    return None


_pieces = st.sampled_from([b"\xc0", b"\x7d", b"\x7d\xe0", b"\x7d\x5d", b"\x11\x01", b"\x00", b"\xe0"])


@given(
    st.lists(st.one_of(_pieces, st.binary(max_size=3)), max_size=30),
    st.binary(max_size=40),
    st.lists(st.one_of(_pieces, st.binary(max_size=3)), max_size=10),
)
def test_candidate_scan_matches_the_plain_rule(noise: list[bytes], payload: bytes, inner: list[bytes]) -> None:
    """Garbage, bare C0s and escapes before and inside a frame: the one-pass scan picks the same frame
    (or none) as trying every C0 in turn."""
    frame = build_frame(payload)
    for chunk in (b"".join(noise) + frame, b"".join(noise) + frame[:-1] + b"".join(inner) + b"\xc1"):
        chunk = chunk[: chunk.find(b"\xc1") + 1] if b"\xc1" in chunk else chunk + b"\xc1"
        expected = _reference_check(chunk)
        got = FrameReader()._check(chunk)
        assert (got.wire if got is not None else None) == expected


def test_bare_c0_flood_is_unescaped_once_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream of C0 7D 5D triplets (1,365 candidate starts per C1) costs one unescape per chunk,
    not one per candidate: the scan is linear in the bytes received."""
    from kapmonitor.drivers.intellivue import framing

    calls = []
    real = framing.unescape
    monkeypatch.setattr(framing, "unescape", lambda data: calls.append(len(data)) or real(data))
    reader = FrameReader()
    flood = (b"\xc0\x7d\x5d" * 1365 + b"\xc1") * 8
    assert reader.feed(flood) == []
    assert len(calls) == 8
    assert reader.stats.length_errors == 8
    assert reader.feed(build_frame(b"after the flood"))[0].payload == b"after the flood"
