"""IntelliVue messages byte for byte against the Programming Guide's examples."""

from __future__ import annotations

import re
import struct

import pytest
from shared_paths import CAPTURES

from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.attributes import decode_bcd_time, decode_float

VECTORS = (CAPTURES / "philips_official_vectors.txt").read_text()


def _vector(title: str) -> bytes:
    """The hex bytes following `title` up to the next line that is not hex."""
    lines = VECTORS[VECTORS.index(title) :].splitlines()
    first = lines[0][len(title) :].strip()
    out = first
    if not re.fullmatch(r"[0-9a-f ]*", first):
        out = ""
    for line in lines[1:]:
        s = line.strip()
        if not re.fullmatch(r"[0-9a-f ]+", s):
            break
        out += " " + s
    return bytes.fromhex(out.replace(" ", ""))


def test_mds_create_event_result_matches_guide() -> None:
    expected = _vector("a real client echoes the invoke_id/event_time of the received MDS Create Event):")
    assert m.mds_create_event_result(1, 0x00484700) == expected


def test_extended_poll_request_matches_guide() -> None:
    expected = _vector("EXTENDED POLL DATA REQUEST (NOM_ACT_POLL_MDIB_DATA_EXT=0xF13B) numerics, empty attribute list:")
    assert m.extended_poll_request(0, 1, m.NOM_MOC_VMO_METRIC_NU, None) == expected


def test_extended_poll_request_with_period() -> None:
    req = m.extended_poll_request(7, 3, m.NOM_MOC_VMO_METRIC_NU, 600.0)
    assert req.endswith(bytes.fromhex("0001 0008 f13e 0004 00493e00"))
    msg = m.parse_message(req)
    assert (msg.kind, msg.invoke_id, msg.action_type) == ("action", 7, m.NOM_ACT_POLL_MDIB_DATA_EXT)
    poll = m.parse_poll_request(msg)
    assert poll is not None and (poll.poll_number, poll.obj_code, poll.period_ticks) == (3, 6, 600 * 8000)
    # the ROSE lengths are consistent
    assert struct.unpack_from(">H", req, 6)[0] == len(req) - 8
    assert struct.unpack_from(">H", req, 12)[0] == len(req) - 14


def test_single_poll_request_matches_guide() -> None:
    expected = _vector("SINGLE POLL DATA REQUEST for numerics (NOM_MOC_VMO_METRIC_NU=0x0006, all attribute groups):")
    assert m.single_poll_request(0, 1, m.NOM_MOC_VMO_METRIC_NU) == expected


def test_release_and_abort_match_guide() -> None:
    assert _vector("RELEASE REQUEST:") == m.RELEASE_REQUEST
    assert _vector("ASSOCIATION ABORT (from monitor):") == m.ABORT
    assert m.parse_message(m.RELEASE_REQUEST).kind == "release_request"
    assert m.parse_message(m.RELEASE_RESPONSE).kind == "release_response"
    assert m.parse_message(m.ABORT).kind == "abort"
    assert m.parse_message(m.REFUSE).kind == "refuse"


def test_association_request_layout() -> None:
    req = m.association_request(1.0, waves=True)
    assert req[0] == m.CN_SPDU_SI
    # one-byte LI for the session and for the presentation header (guide: 0xDC for 72 bytes of user info)
    assert req[1] == len(req) - 2
    i = req.index(b"\xc1")
    assert req[i + 1] == 0xDC == len(req) - i - 2
    assert req[i + 2 + 117] == 0x48  # ASN length of MDSEUserInfoStd: 72
    info = m.parse_message(req).extra
    assert info["min_poll_period"] == 8000
    assert info["ext_options"] == m.POLL_EXT_PERIOD_NU_1SEC | m.POLL_EXT_PERIOD_RTSA
    assert req.endswith(bytes(16))
    assert m.parse_message(m.association_response(8000, m.POLL_EXT_PERIOD_NU_1SEC)).kind == "assoc_result"


@pytest.mark.parametrize(
    ("raw", "value", "special"),
    [
        (0xFD007D00, 32.0, ""),
        (0xFF000140, 32.0, ""),
        (0x007FFFFF, None, "nan"),
        (0x00800000, None, "nres"),
        (0x007FFFFE, None, "+inf"),
        (0x00800002, None, "-inf"),
        (0xFFFFFFF6, -1.0, ""),  # exponent -1, mantissa -10
        (0x0200000C, 1200.0, ""),
    ],
)
def test_float(raw: int, value: float | None, special: str) -> None:
    fv = decode_float(raw)
    assert fv.special == special
    if value is None:
        assert fv.value is None
    else:
        assert fv.value == pytest.approx(value)


@pytest.mark.parametrize("value", [0.0, 95.6, 100.0, 62.0, 1.2, -0.5, 2.0, 123456.7, 0.001])
def test_float_roundtrip(value: float) -> None:
    raw = struct.unpack(">I", m.encode_float(value))[0]
    assert decode_float(raw).value == pytest.approx(value)


def test_absolute_time_is_bcd() -> None:
    raw = m.encode_absolute_time(1748000700.0)  # 2025-05-23 11:45:00 UTC
    assert raw == bytes.fromhex("2025052311450000")
    assert decode_bcd_time(raw) == 1748000700.0
    assert decode_bcd_time(raw, utc_offset_s=7200) == 1748000700.0 - 7200
    assert decode_bcd_time(b"\xff" * 8) is None
    assert decode_bcd_time(bytes.fromhex("20250a2311450000")) is None  # not BCD
    assert decode_bcd_time(bytes.fromhex("2025132311450000")) is None  # month 13
