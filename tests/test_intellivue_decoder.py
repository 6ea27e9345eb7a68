"""IntelliVue decoder against real data: the decoded M8000 session (an independent oracle), the
partial NIBP poll result, the echo capture; states, FLOAT specials, NIBP once; fuzzing."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_paths import CAPTURES

from kapmonitor.drivers.intellivue import messages as m
from kapmonitor.drivers.intellivue.attributes import NuObs, decode_attribute
from kapmonitor.drivers.intellivue.decoder import NOT_ANSWERING_TEXT, IntelliVueDecoder
from kapmonitor.drivers.intellivue.framing import build_frame
from kapmonitor.model.parameters import Parameter, is_plausible
from kapmonitor.model.samples import DeviceNotice, LinkEvent, LinkState, Status, VitalSample, WaveChunk

ORACLE = [json.loads(line) for line in (CAPTURES / "philips_real_session_decoded_messages.jsonl").open()]

PHYSIO = {  # names used by the oracle -> codes from the Programming Guide's nomenclature tables
    "NOM_ECG_ELEC_POTL_II": 0x0102,
    "NOM_PLETH": 0x4BB4,
    "NOM_RESP": 0x5000,
    "NOM_PULS_OXIM_SAT_O2": 0x4BB8,
    "NOM_PLETH_PULS_RATE": 0x4822,
    "NOM_PULS_OXIM_PERF_REL": 0x4BB0,
    "NOM_ECG_CARD_BEAT_RATE": 0x4182,
    "NOM_RESP_RATE": 0x500A,
    "NOM_PRESS_BLD_NONINV_SYS": 0x4A05,
    "NOM_PRESS_BLD_NONINV_DIA": 0x4A06,
    "NOM_PRESS_BLD_NONINV_MEAN": 0x4A07,
    "NOM_PRESS_BLD_NONINV_PULS_RATE": 0xF0E5,
}
STATES = {"VALID": 0, "INVALID": 0x8000, "UNAVAILABLE": 0x2000}


# -- an encoder written from the guide's type definitions, independent of the code under test --
def _float(v: Any) -> bytes:
    if v == "NaN":
        return b"\x00\x7f\xff\xff"
    for e in (0, -1, -2, -3):
        mant = round(float(v) * 10**-e)
        if abs(mant * 10**e - float(v)) < 1e-9:
            return struct.pack(">bI", e, mant & 0xFFFFFF)[0:1] + (mant & 0xFFFFFF).to_bytes(3, "big")
    raise AssertionError(v)


def _state(s: Any) -> int:
    return STATES[s] if isinstance(s, str) else int(s)


def _nu(v: dict[str, Any]) -> bytes:
    return struct.pack(">HHH", PHYSIO[v["PhysioId"]], _state(v["State"]), v["UnitCode"]) + _float(v["Value"]["Value"])


def _sa(v: dict[str, Any]) -> bytes:
    samples = v["Values"]["Values"]
    arr = struct.pack(f">{len(samples)}H", *samples)
    return struct.pack(">HHH", PHYSIO[v["PhysioId"]], _state(v["State"]), len(arr)) + arr


def _bcd_from_oracle(v: dict[str, int]) -> bytes:
    # the oracle printed each BCD byte as a decimal number: Day 35 is the byte 0x23
    keys = ("Century", "Year", "Month", "Day", "Hour", "Minute", "Second", "Milliseconds")
    return bytes(v[k] for k in keys)


def encode_attribute(a: dict[str, Any]) -> bytes | None:
    aid, val = a["AttributeId"], a["AttributeValue"]
    if "Data" in val:
        return base64.b64decode(val["Data"])
    if aid == 0x0950:
        return _nu(val)
    if aid == 0x094B:
        body = b"".join(_nu(x) for x in val["Values"])
        return struct.pack(">HH", len(val["Values"]), len(body)) + body
    if aid == 0x096E:
        return _sa(val)
    if aid == 0x0967:
        body = b"".join(_sa(x) for x in val["Values"])
        return struct.pack(">HH", len(val["Values"]), len(body)) + body
    if aid == 0x0990:
        return _bcd_from_oracle(val)
    return None  # alert lists etc.: not needed here


def _attr_list(attrs: list[dict[str, Any]]) -> bytes:
    enc = [(a["AttributeId"], encode_attribute(a)) for a in attrs]
    parts = [struct.pack(">HH", aid, len(v)) + v for aid, v in enc if v is not None]
    body = b"".join(parts)
    return struct.pack(">HH", len(parts), len(body)) + body


def encode_message(msg: dict[str, Any]) -> bytes | None:
    if "SessionHeader" in msg:
        kind = msg["SessionHeader"]["Type"]
        return m.RELEASE_RESPONSE if kind == "Released" else m.association_response(8000, m.POLL_EXT_PERIOD_NU_1SEC)
    ro = msg["RemoteOperationData"]
    data = ro["Data"]
    if ro["CommandType"] == "ConfirmedEventReport":
        info = struct.pack(">HHH", 0x21, 0, 0) + _attr_list(data["Data"]["AttributeList"]["Values"])
        body = struct.pack(">HHHIHH", 0x21, 0, 0, data["EventTime"]["Ticks"], 0x0D06, len(info)) + info
        inner = struct.pack(">HHH", ro["InvokeId"], 1, len(body)) + body
        return b"\xe1\x00\x00\x02" + struct.pack(">HH", 1, len(inner)) + inner
    reply = data["Data"]
    contexts = []
    for ctx in reply["PollContexts"]["Values"]:
        obs = [
            struct.pack(">H", o["Handle"]) + _attr_list(o["Attributes"]["Values"])
            for o in ctx["Observations"]["Values"]
        ]
        ob = b"".join(obs)
        contexts.append(struct.pack(">HHH", ctx["ContextId"], len(obs), len(ob)) + ob)
    cb = b"".join(contexts)
    abs_t = _bcd_from_oracle({**reply["AbsoluteTimeStamp"]})
    rb = struct.pack(">HHI", reply["PollNumber"], reply["SequenceNumber"], reply["RelativeTimeStamp"]["Ticks"]) + abs_t
    rb += struct.pack(">HHH", 1, reply["ObjectType"]["Code"], 0) + struct.pack(">HH", len(contexts), len(cb)) + cb
    body = struct.pack(">HHHHH", 0x21, 0, 0, 0xF13B, len(rb)) + rb
    inner = struct.pack(">HHH", ro["InvokeId"], 7, len(body)) + body
    return b"\xe1\x00\x00\x02" + struct.pack(">HH", 2, len(inner)) + inner


def _oracle_attributes() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if "AttributeId" in o:
                out.append(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    for msg in ORACLE:
        walk(msg)
    return out


# -- the oracle ---------------------------------------------------------------------------------------------
def test_oracle_has_133_messages() -> None:
    assert len(ORACLE) == 133


def test_every_numeric_attribute_agrees_with_the_oracle() -> None:
    checked = 0
    for a in _oracle_attributes():
        aid = a["AttributeId"]
        if aid not in (0x0950, 0x094B):
            continue
        raw = encode_attribute(a)
        assert raw is not None and len(raw) == a["Length"]
        got = decode_attribute(aid, raw)
        expected = [a["AttributeValue"]] if aid == 0x0950 else a["AttributeValue"]["Values"]
        got_list = [got] if isinstance(got, NuObs) else got
        assert isinstance(got_list, list) and len(got_list) == len(expected)
        for g, e in zip(got_list, expected, strict=True):
            assert isinstance(g, NuObs)
            assert g.physio_id == PHYSIO[e["PhysioId"]]
            assert g.state == _state(e["State"])
            assert g.unit == e["UnitCode"]
            if e["Value"]["Value"] == "NaN":
                assert g.value.value is None and g.value.special == "nan"
            else:
                assert g.value.value is not None
                assert math.isclose(g.value.value, e["Value"]["Value"], abs_tol=1e-9)
            checked += 1
    assert checked == 144 + 24 * 3


def test_sample_arrays_agree_with_the_oracle() -> None:
    checked = 0
    for a in _oracle_attributes():
        if a["AttributeId"] != 0x096E:
            continue
        raw = encode_attribute(a)
        assert raw is not None and len(raw) == a["Length"]
        physio, state, samples = decode_attribute(0x096E, raw)  # type: ignore[misc]
        assert physio == PHYSIO[a["AttributeValue"]["PhysioId"]]
        assert state == _state(a["AttributeValue"]["State"])
        assert samples == a["AttributeValue"]["Values"]["Values"]
        checked += 1
    assert checked == 204


def test_raw_mds_attributes_and_bcd_times() -> None:
    creates = [msg for msg in ORACLE if msg.get("RemoteOperationData", {}).get("CommandType") == "ConfirmedEventReport"]
    assert len(creates) == 3
    for msg in creates:
        data = msg["RemoteOperationData"]["Data"]
        attrs = {
            a["AttributeId"]: base64.b64decode(a["AttributeValue"]["Data"])
            for a in data["Data"]["AttributeList"]["Values"]
        }
        # relative time attribute == the event's time
        assert decode_attribute(0x098F, attrs[0x098F]) == data["EventTime"]["Ticks"]
        # absolute time: the BCD digits read as a date (independently via the hex text)
        expected = datetime.strptime(attrs[0x0987].hex()[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
        assert decode_attribute(0x0987, attrs[0x0987]) == expected
    # the NIBP time stamps: the oracle's "Day 35" is the BCD byte 0x23 = day 23 (not day 35)
    stamps = [a for a in _oracle_attributes() if a["AttributeId"] == 0x0990]
    assert len(stamps) == 48
    for a in stamps:
        raw = encode_attribute(a)
        assert raw is not None
        t = decode_attribute(0x0990, raw)
        assert t == datetime(2025, 2, 23, 9, 0, 51, tzinfo=UTC).timestamp()


def test_whole_oracle_session_through_the_decoder() -> None:
    dec = IntelliVueDecoder()
    items = []
    for msg in ORACLE:
        payload = encode_message(msg)
        assert payload is not None
        items += dec.feed(build_frame(payload), 0.0)
    assert dec.stats.frames == 133 and dec.parse_errors == 0 and dec.echo_frames == 0
    vitals = [i for i in items if isinstance(i, VitalSample)]

    def values(p: Parameter) -> list[float]:
        return [v.value for v in vitals if v.parameter is p and v.valid and v.value is not None]

    # the oracle's own decoded values, as the expectation
    exp: dict[str, list[float]] = {"NOM_PULS_OXIM_SAT_O2": [], "NOM_PLETH_PULS_RATE": []}
    for a in _oracle_attributes():
        v = a["AttributeValue"]
        if a["AttributeId"] == 0x0950 and v["PhysioId"] in exp and v["State"] == "VALID":
            exp[v["PhysioId"]].append(v["Value"]["Value"])
    assert values(Parameter.SPO2) == exp["NOM_PULS_OXIM_SAT_O2"]
    assert values(Parameter.PULSE_RATE) == exp["NOM_PLETH_PULS_RATE"]
    assert min(values(Parameter.SPO2)) == 95.6 and max(values(Parameter.SPO2)) == 100.0
    assert min(values(Parameter.PULSE_RATE)) == 50.0 and max(values(Parameter.PULSE_RATE)) == 62.0
    # HR is invalid throughout (state 0x8201, NaN); NIBP is "unavailable" and reported once per session state
    assert values(Parameter.HR) == [] and {v.status for v in vitals if v.parameter is Parameter.HR} == {Status.INVALID}
    nibp = [v for v in vitals if v.parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN)]
    assert nibp and all(v.status is Status.UNAVAILABLE and v.value is None for v in nibp)
    assert len(nibp) == 3
    # times: the MDS create event's absolute time 2025-03-01 04:20:48 plus relative-time deltas
    first_spo2 = next(v for v in vitals if v.parameter is Parameter.SPO2)
    first_poll_ticks = ORACLE[2]["RemoteOperationData"]["Data"]["Data"]["RelativeTimeStamp"]["Ticks"]
    create_ticks = ORACLE[1]["RemoteOperationData"]["Data"]["EventTime"]["Ticks"]
    t0 = datetime(2025, 3, 1, 4, 20, 48, tzinfo=UTC).timestamp()
    assert first_spo2.time == t0 + (first_poll_ticks - create_ticks) / 8000
    # pleth waves at the IntelliVue's 125 samples/s, contiguous within a run
    waves = [i for i in items if isinstance(i, WaveChunk)]
    assert waves and all(w.rate_hz == 125.0 for w in waves)


# -- the partial NIBP poll result (LAN, unframed) ----------------------------------------------------------
def _partial_poll_result() -> bytes:
    toks: list[int] = []
    for line in (CAPTURES / "philips_partial_pollresult_nibp.txt").read_text().splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-f]{4}", parts[0]):
            parts = parts[1:]
        for t in parts:
            if not re.fullmatch(r"[0-9a-f]{2}", t):
                break
            toks.append(int(t, 16))
    return bytes(toks)


def test_partial_poll_result_nibp_unavailable() -> None:
    raw = _partial_poll_result()
    assert len(raw) == 976
    msg = m.parse_message(raw)
    assert (msg.kind, msg.linked_state, msg.action_type) == ("linked_result", 1, m.NOM_ACT_POLL_MDIB_DATA)
    dec = IntelliVueDecoder()
    items = dec.feed_message(raw, 1000.0)
    nibp = {i.parameter: i for i in items if isinstance(i, VitalSample) and i.parameter.value.startswith("nibp")}
    assert set(nibp) == {Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN}
    assert all(v.value is None and v.status is Status.UNAVAILABLE for v in nibp.values())
    # the compound attribute itself: state 0x2000, unit 0x0F20 mmHg, NaN
    i = raw.index(bytes.fromhex("094b0022"))
    cmp = decode_attribute(0x094B, raw[i + 4 : i + 4 + 0x22])
    assert isinstance(cmp, list)
    assert [(o.physio_id, o.state, o.unit, o.value.special) for o in cmp] == [
        (pid, 0x2000, 0x0F20, "nan") for pid in (0x4A05, 0x4A06, 0x4A07)
    ]
    j = raw.index(bytes.fromhex("09900008"))
    assert decode_attribute(0x0990, raw[j + 4 : j + 12]) == datetime(2025, 5, 23, 11, 45, tzinfo=UTC).timestamp()
    # the same message again: the unavailable state is not repeated
    again = dec.feed_message(raw, 1001.0)
    assert not [i for i in again if isinstance(i, VitalSample) and i.parameter.value.startswith("nibp")]


# -- echo ---------------------------------------------------------------------------------------------------
def test_echo_capture_yields_no_samples_and_is_recognised() -> None:
    dec = IntelliVueDecoder()
    data = (CAPTURES / "philips_client_echo_MPRawoutput1.raw").read_bytes()
    items = []
    for i in range(0, len(data), 100):
        items += dec.feed(data[i : i + 100], 50.0)
    assert dec.stats.frames == 182 and dec.stats.checksum_errors == 0
    assert dec.echo_frames == 182 and dec.monitor_frames == 0
    assert not [i for i in items if isinstance(i, VitalSample | WaveChunk)]
    notices = [i for i in items if isinstance(i, DeviceNotice)]
    links = [i for i in items if isinstance(i, LinkEvent)]
    assert [n.code for n in notices] == ["echo-detected"]
    assert [(e.state, e.detail) for e in links] == [(LinkState.NOT_ANSWERING, NOT_ANSWERING_TEXT)]


# -- states, specials, NIBP ---------------------------------------------------------------------------------
def _numeric_result(observations: list[bytes], rel: int = 8000, abs_time: bytes = m.INVALID_ABSOLUTE_TIME) -> bytes:
    info = m.poll_info_list([(0, observations)])
    return build_frame(m.extended_poll_result(0, 1, 0, rel, abs_time, 6, info))


def _nu_obj(
    handle: int, physio: int, state: int, value: float | None, special: int = m.FLOAT_NAN, unit: int = 0
) -> bytes:
    return m.observation(handle, [m.attribute(m.ATTR_NU_VAL_OBS, m.nu_obs_value(physio, state, unit, value, special))])


def test_state_and_special_values_become_status() -> None:
    cases = [
        (0x0000, 72.0, m.FLOAT_NAN, Status.OK, 72.0),
        (0x8000, 72.0, m.FLOAT_NAN, Status.INVALID, None),
        (0x4000, 72.0, m.FLOAT_NAN, Status.QUESTIONABLE, 72.0),
        (0x2000, 72.0, m.FLOAT_NAN, Status.UNAVAILABLE, None),
        (0x1000, 72.0, m.FLOAT_NAN, Status.CALIBRATING, None),
        (0x0800, 72.0, m.FLOAT_NAN, Status.TEST, 72.0),
        (0x0400, 72.0, m.FLOAT_NAN, Status.DEMO, 72.0),
        (0x0000, None, m.FLOAT_NAN, Status.INVALID, None),
        (0x0000, None, m.FLOAT_NRES, Status.INVALID, None),
        (0x0000, None, m.FLOAT_PINF, Status.OVER_RANGE, None),
        (0x0000, None, m.FLOAT_NINF, Status.UNDER_RANGE, None),
        (0x0000, 900.0, m.FLOAT_NAN, Status.IMPLAUSIBLE, None),
        (0x0022, 72.0, m.FLOAT_NAN, Status.OK, 72.0),  # low-byte flags (ongoing, in alarm) keep it valid
    ]
    for state, value, special, status, expected in cases:
        dec = IntelliVueDecoder()
        (hr,) = dec.feed(_numeric_result([_nu_obj(1, m.NOM_ECG_CARD_BEAT_RATE, state, value, special)]), 0.0)
        assert isinstance(hr, VitalSample)
        assert (hr.parameter, hr.status, hr.value) == (Parameter.HR, status, expected), hex(state)


def _nibp_obj(
    state: int, values: tuple[float | None, float | None, float | None], stamp: bytes, unit: int = m.NOM_DIM_MMHG
) -> bytes:
    cmp = m.nu_obs_value_cmp(
        [m.nu_obs_value(pid, state, unit, v) for pid, v in zip((0x4A05, 0x4A06, 0x4A07), values, strict=True)]
    )
    return m.observation(0x110, [m.attribute(m.ATTR_NU_CMPD_VAL_OBS, cmp), m.attribute(m.ATTR_TIME_STAMP_ABS, stamp)])


def test_nibp_emitted_once_per_measurement_time() -> None:
    dec = IntelliVueDecoder()
    t1 = m.encode_absolute_time(1_700_000_000.0)
    t2 = m.encode_absolute_time(1_700_000_300.0)
    pulse = m.observation(
        0x111,
        [
            m.attribute(m.ATTR_NU_VAL_OBS, m.nu_obs_value(0xF0E5, 0, m.NOM_DIM_BEAT_PER_MIN, 71.0)),
            m.attribute(m.ATTR_TIME_STAMP_ABS, t1),
        ],
    )
    out = []
    out += dec.feed(_numeric_result([_nibp_obj(0x2000, (None, None, None), m.INVALID_ABSOLUTE_TIME)], rel=8000), 0.0)
    out += dec.feed(_numeric_result([_nibp_obj(0x0020, (None, None, None), m.INVALID_ABSOLUTE_TIME)], rel=16000), 0.0)
    out += dec.feed(_numeric_result([_nibp_obj(0x0020, (None, None, None), m.INVALID_ABSOLUTE_TIME)], rel=24000), 0.0)
    for rel in (32000, 40000, 48000):
        out += dec.feed(_numeric_result([_nibp_obj(0, (120.0, 80.0, 93.0), t1), pulse], rel=rel), 0.0)
    out += dec.feed(_numeric_result([_nibp_obj(0, (16.0, 10.6, 12.4), t2, unit=m.NOM_DIM_KILO_PASCAL)], rel=56000), 0.0)
    rows = [
        (v.parameter.value, v.value, v.status.value, v.time, v.measurement_id)
        for v in out
        if isinstance(v, VitalSample)
    ]
    assert rows[0][:3] == ("nibp_sys", None, "unavailable")
    assert [r[:3] for r in rows[3:4]] == [("nibp_sys", None, "measuring")]
    first = [r for r in rows if r[2] == "ok" and r[3] == 1_700_000_000.0]
    assert [r[:2] for r in first] == [
        ("nibp_sys", 120.0),
        ("nibp_dia", 80.0),
        ("nibp_mean", 93.0),
        ("nibp_pulse", 71.0),
    ]
    assert len({r[4] for r in first}) == 1
    second = [r for r in rows if r[3] == 1_700_000_300.0]
    assert [(r[0], r[1]) for r in second] == [("nibp_sys", 120.0), ("nibp_dia", 79.5), ("nibp_mean", 93.0)]
    assert len(rows) == 4 + 4 + 3


def test_time_mapping_from_create_event_and_wraparound() -> None:
    dec = IntelliVueDecoder(utc_offset_s=3600)  # monitor clock is UTC+1
    abs_attr = m.attribute(m.ATTR_TIME_ABS, m.encode_absolute_time(1_700_000_000.0, 3600))
    rel_attr = m.attribute(m.ATTR_TIME_REL, struct.pack(">I", 0xFFFFF000))
    dec.feed(build_frame(m.mds_create_event(1, 0xFFFFF000, [abs_attr, rel_attr])), 5.0)
    (hr,) = dec.feed(_numeric_result([_nu_obj(1, m.NOM_ECG_CARD_BEAT_RATE, 0, 60.0)], rel=0x00001000), 0.0)
    assert isinstance(hr, VitalSample)
    assert hr.time == 1_700_000_000.0 + 0x2000 / 8000


# -- fuzzing ------------------------------------------------------------------------------------------------
def _check_items(items: list[Any]) -> None:
    for it in items:
        if isinstance(it, VitalSample):
            assert it.value is None or (math.isfinite(it.value) and is_plausible(it.parameter, it.value))
            assert it.value is None or it.status in (Status.OK, Status.QUESTIONABLE, Status.TEST, Status.DEMO)
            assert math.isfinite(it.time)
        elif isinstance(it, WaveChunk):
            finite = it.values[np.isfinite(it.values)]
            assert np.all(np.abs(finite) <= 1e9)
            assert it.rate_hz > 0 and math.isfinite(it.time)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    dec = IntelliVueDecoder()
    _check_items(dec.feed(data, 0.0))
    _check_items(dec.feed(data, 1.0))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from([1, 2, 5]), st.sampled_from([0x0C16, 0xF13B, 0x0D06]))
def test_fuzz_well_framed_random_bodies(body: bytes, ro_type: int, action: int) -> None:
    """Random content behind a valid frame and plausible headers reaches the deep parsers."""
    inner = struct.pack(">HHH", 0, 7, len(body) + 10) + struct.pack(">HHHHH", 0x21, 0, 0, action, len(body)) + body
    if ro_type == 5:
        inner = b"\x01\x01" + inner
    payload = b"\xe1\x00\x00\x02" + struct.pack(">HH", ro_type, len(inner)) + inner
    dec = IntelliVueDecoder()
    _check_items(dec.feed(build_frame(payload), 0.0))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_results(data: st.DataObject) -> None:
    """Bit flips and truncations of a realistic poll result (FCS recomputed) never raise."""
    obs = [
        _nu_obj(1, m.NOM_ECG_CARD_BEAT_RATE, 0, 72.0),
        _nibp_obj(0, (120.0, 80.0, 93.0), m.encode_absolute_time(1.7e9)),
        m.observation(
            9,
            [
                m.attribute(m.ATTR_TIME_PD_SAMP, struct.pack(">I", 80)),
                m.attribute(
                    m.ATTR_SCALE_SPECN_I16, m.encode_float(-0.5) + m.encode_float(2.0) + struct.pack(">HH", 0, 4000)
                ),
                m.attribute(m.ATTR_SA_VAL_OBS, m.sa_obs_value(m.NOM_PLETH, 0, list(range(0, 4000, 100)))),
            ],
        ),
    ]
    payload = bytearray(m.extended_poll_result(0, 1, 0, 8000, m.INVALID_ABSOLUTE_TIME, 6, m.poll_info_list([(0, obs)])))
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    dec = IntelliVueDecoder()
    _check_items(dec.feed(build_frame(bytes(payload[:cut])), 0.0))


def test_poll_absolute_time_anchors_without_jitter() -> None:
    """Valid absolute stamps in poll results (whole seconds) anchor the clock once; later ones only when the
    monitor's clock jumps by more than 2 s."""
    dec = IntelliVueDecoder()
    hr = [_nu_obj(1, m.NOM_ECG_CARD_BEAT_RATE, 0, 60.0)]
    (a,) = dec.feed(_numeric_result(hr, rel=8000, abs_time=m.encode_absolute_time(1_700_000_000.7)), 0.0)
    (b,) = dec.feed(_numeric_result(hr, rel=8000 + 8100, abs_time=m.encode_absolute_time(1_700_000_001.7)), 0.0)
    (c,) = dec.feed(_numeric_result(hr, rel=8000 + 16200, abs_time=m.encode_absolute_time(1_700_003_600.0)), 0.0)
    assert isinstance(a, VitalSample) and isinstance(b, VitalSample) and isinstance(c, VitalSample)
    assert a.time == 1_700_000_000.0 and b.time == 1_700_000_000.0 + 8100 / 8000
    assert c.time == 1_700_003_600.0  # the monitor's clock was set forward: re-anchored
