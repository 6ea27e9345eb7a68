"""GE S/5 framing and requests against the official examples (spec M1017617, Appendix A)."""

from __future__ import annotations

import re

import pytest
from shared_paths import CAPTURES

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.model.clock import ManualClock

VECTORS = CAPTURES / "ge_s5_official_request_vectors.txt"


def _vectors() -> list[bytes]:
    """Every hex line of the vectors file, in order (6 requests; the ECG start appears twice)."""
    lines = [ln for ln in VECTORS.read_text().splitlines() if re.fullmatch(r"7e( [0-9a-f]{2})+", ln.strip())]
    return [bytes.fromhex(ln) for ln in lines]


@pytest.fixture(scope="module")
def vectors() -> list[bytes]:
    assert VECTORS.exists(), f"shared fixture missing: {VECTORS}"
    v = _vectors()
    assert len(v) == 7
    return v


def test_displayed_values_request_is_byte_exact(vectors: list[bytes]) -> None:
    assert p.frame(p.phdb_request(p.PH_DISPL, 10, p.CLASS_MASK_ALL)) == vectors[0]
    assert p.frame(p.phdb_request(p.PH_DISPL, 0, 0)) == vectors[1]


def test_trend_request_escapes_a_7d_checksum(vectors: list[bytes]) -> None:
    record = p.phdb_request(p.PH_60S_TREND, 60, p.CLASS_MASK_ALL)
    assert p.checksum(record) == 0x7D
    wire = p.frame(record)
    assert wire == vectors[2]
    assert wire.endswith(b"\x7d\x5d\x7e")
    assert p.frame(p.phdb_request(p.PH_60S_TREND, 0, 0)) == vectors[3]


def test_waveform_requests_match_the_corrected_example(vectors: list[bytes]) -> None:
    printed, corrected = vectors[4], vectors[5]
    ours = p.frame(p.waveform_request([p.WF_ECG1]))
    assert ours == corrected
    # the PDF's example has one extra 0x00 byte (documented typo): r_len says 72, it carries 73
    assert len(printed) == len(corrected) + 1 and ours != printed


def test_waveform_stop_request_and_the_short_printed_example(vectors: list[bytes]) -> None:
    ours = p.frame(p.waveform_request([], stop=True))
    assert len(ours) == 2 + 72 + 1  # flags, r_len 72, checksum 0x48
    assert ours[-2] == 0x48
    # the printed stop example carries only 71 record bytes for r_len 72: one zero of the
    # reserved tail is missing; otherwise it is byte for byte ours
    printed = vectors[6]
    assert len(printed) == len(ours) - 1
    assert ours == printed[:-2] + b"\x00" + printed[-2:]


def test_end_of_list_marker_sits_in_the_second_descriptor_type_byte() -> None:
    record = p.phdb_request()
    assert record[16:19] == b"\x00\x00\x00"  # sr_desc[0]: offset 0, type 0 (request)
    assert record[21] == 0xFF  # sr_desc[1].sr_type, not its offset
    assert p.parse_header(record).subrecords == ((0, p.PH_REQUEST),)


def test_splitter_accepts_every_official_vector_and_reads_the_request(vectors: list[bytes]) -> None:
    splitter = p.FrameSplitter()
    good = [v for i, v in enumerate(vectors) if i not in (4, 6)] + [p.frame(p.waveform_request([], stop=True))]
    records = splitter.feed(b"".join(good))
    assert len(records) == 6 and splitter.stats.checksum_errors == 0
    assert p.parse_phdb_request(records[0][p.HEADER_LEN:]) == (p.PH_DISPL, 10, 0x0E)
    assert p.parse_waveform_request(records[4][p.HEADER_LEN:]) == (p.WF_REQ_CONT_START, [p.WF_ECG1])
    # the typo'd vector: checksum still fits, but r_len does not match the bytes carried
    splitter.feed(vectors[4] + vectors[6])
    assert splitter.stats.length_errors == 2 and splitter.stats.checksum_errors == 0


def test_escape_round_trip_and_checksum_over_unescaped_bytes() -> None:
    raw = bytes([0x7E, 0x7D, 0x5E, 0x5D, 0x7D, 0x5E, 0x00, 0x7E])
    assert p.escape(raw) == bytes.fromhex("7d5e 7d5d 5e 5d 7d5d 5e 00 7d5e")
    assert p.unescape(p.escape(raw)) == raw
    record = p.build_record(p.MT_PHDB, [(p.PH_AUX_INFO, bytes([0x7E] * 10 + [0x7D] * 10))])
    wire = p.frame(record)
    assert wire.count(b"\x7e") == 2
    splitter = p.FrameSplitter()
    assert splitter.feed(wire) == [record]


def test_splitter_resyncs_after_mid_frame_start_noise_and_split_reads() -> None:
    rec = p.build_record(p.MT_PHDB, [(p.PH_AUX_INFO, p.aux_subrecord(1_533_220_000))], r_time=1_533_220_000)
    wire = p.frame(rec)
    splitter = p.FrameSplitter()
    stream = wire[17:] + b"\x01\x02garbage" + wire + b"\x7e\x7e" + wire
    got = []
    for i in range(0, len(stream), 7):  # arbitrary read boundaries
        got.extend(splitter.feed(stream[i:i + 7]))
    assert got == [rec, rec]
    assert splitter.stats.resyncs == 1  # the partial first frame
    assert splitter.stats.length_errors == 1  # "garbage" between flags is a bad frame, counted
    assert splitter.stats.frames == 2


def test_splitter_drops_an_endless_flagless_stream() -> None:
    splitter = p.FrameSplitter()
    for _ in range(10):
        assert splitter.feed(b"\x55" * 1000) == []
    assert splitter.pending < 2 * p.MAX_RECORD_LEN + 1008
    assert splitter.stats.resyncs >= 1


def test_driver_serial_settings_and_requests() -> None:
    s = GeS5Driver.serial_settings
    assert s is not None
    assert (s.baudrate, s.bytesize, s.parity, s.stopbits, s.rtscts) == (19200, 8, "E", 1, True)
    assert 115200 in s.alternative_baudrates
    driver = GeS5Driver(DriverOptions(port="loop://"), ManualClock(0))
    splitter = p.FrameSplitter()
    records = splitter.feed(b"".join(driver.requests()))
    kinds = [(p.parse_header(r).r_maintype, r[p.HEADER_LEN]) for r in records]
    assert kinds == [(p.MT_PHDB, p.PH_DISPL), (p.MT_PHDB, p.PH_AUX_INFO), (p.MT_WAVE, 0)]
    assert p.parse_waveform_request(records[2][p.HEADER_LEN:]) == (0, [p.WF_PLETH])
    assert p.parse_phdb_request(records[0][p.HEADER_LEN:]) == (p.PH_DISPL, 5, 0x0E)
