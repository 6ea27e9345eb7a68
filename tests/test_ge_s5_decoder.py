"""GE S/5 decoder rules on hand-built records: classes, special values, NIBP once, aux time."""

from __future__ import annotations

import struct

import pytest

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Status, VitalSample

T0 = 1_700_000_000
NIBP_OK = (12000, 8000, 9300, 72)
PRESENT = p.STATUS_EXISTS | p.STATUS_ACTIVE


def basic(t: int, hr: int = 70, nibp: tuple[int, int, int, int] = NIBP_OK, label: int = 0x0B,
          spo2: int = 9800, pr: int = 71, hr_status: int = PRESENT | (1 << 3), spo2_status: int = PRESENT) -> bytes:
    body = p.basic_body(hr, hr_status, nibp, label, PRESENT, spo2, pr, spo2_status)
    return p.phdb_subrecord(t, body, p.CLASS_BASIC)


def displ(t: int, *subs: tuple[int, bytes]) -> bytes:
    return p.frame(p.build_record(p.MT_PHDB, list(subs), r_time=t))


def run(*frames: bytes) -> list[Item]:
    dec = GeS5Decoder()
    out: list[Item] = []
    for f in frames:
        out.extend(dec.feed(f, 0.0))
    return out


def vitals(items: list[Item], parameter: Parameter) -> list[VitalSample]:
    return [i for i in items if isinstance(i, VitalSample) and i.parameter is parameter]


def test_class_comes_from_cl_drilvl_subt_not_from_position() -> None:
    # an ext1 subrecord first whose bytes would read as HR 200 if taken for the basic class
    fake = bytearray(basic(T0, hr=200))
    struct.pack_into("<H", fake, p.PHDB_SUBRECORD_LEN - 2, p.CLASS_EXT1 << 8)
    items = run(displ(T0, (p.PH_DISPL, bytes(fake)), (p.PH_DISPL, basic(T0, hr=64))))
    assert [s.value for s in vitals(items, Parameter.HR)] == [64.0]
    # and a basic subrecord in the last position is still found
    ext = p.phdb_subrecord(T0, b"\x01" * 40, p.CLASS_EXT2)
    items = run(displ(T0, (p.PH_DISPL, ext), (p.PH_DISPL, ext), (p.PH_DISPL, basic(T0, hr=66))))
    assert [s.value for s in vitals(items, Parameter.HR)] == [66.0]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (p.DATA_INVALID, Status.INVALID), (p.DATA_NOT_UPDATED, Status.NOT_UPDATED),
        (p.DATA_DISCONTINUITY, Status.DISCONTINUITY), (p.DATA_UNDER_RANGE, Status.UNDER_RANGE),
        (p.DATA_OVER_RANGE, Status.OVER_RANGE), (p.DATA_NOT_CALIBRATED, Status.NOT_CALIBRATED),
        (-32001, Status.INVALID), (-32768, Status.INVALID),
    ],
)
def test_special_values_become_a_status_never_a_number(raw: int, status: Status) -> None:
    items = run(displ(T0, (p.PH_DISPL, basic(T0, hr=raw, spo2=raw, pr=raw))))
    for parameter in (Parameter.HR, Parameter.SPO2, Parameter.PULSE_RATE):
        (s,) = vitals(items, parameter)
        assert s.value is None and s.status is status


def test_absent_module_and_implausible_values() -> None:
    items = run(displ(T0, (p.PH_DISPL, basic(T0, hr=400, spo2=9700, spo2_status=0))))
    (hr,) = vitals(items, Parameter.HR)
    assert hr.value is None and hr.status is Status.IMPLAUSIBLE
    (spo2,) = vitals(items, Parameter.SPO2)
    assert spo2.value is None and spo2.status is Status.UNAVAILABLE


def test_nibp_emitted_once_per_measurement_without_aux() -> None:
    frames = [displ(T0 + k, (p.PH_DISPL, basic(T0 + k, nibp=NIBP_OK))) for k in range(5)]
    frames.append(displ(T0 + 5, (p.PH_DISPL, basic(T0 + 5, nibp=NIBP_OK, label=0x2B))))  # cuff starts
    new = (13000, 8500, 10000, p.DATA_INVALID)
    frames += [displ(T0 + k, (p.PH_DISPL, basic(T0 + k, nibp=new, label=0x0B))) for k in range(6, 10)]
    frames.append(displ(T0 + 80, (p.PH_DISPL, basic(T0 + 80, nibp=new, label=0x10B))))
    items = run(*frames)
    sys_ = vitals(items, Parameter.NIBP_SYS)
    assert [(s.time, s.value, s.status) for s in sys_] == [
        (T0, 120.0, Status.OLD), (T0 + 5, None, Status.MEASURING), (T0 + 6, 130.0, Status.OK),
    ]
    pulse = vitals(items, Parameter.NIBP_PULSE)
    assert [(x.value, x.status) for x in pulse] == [(72.0, Status.OLD), (None, Status.INVALID)]
    assert pulse[1].measurement_id == sys_[2].measurement_id


def test_nibp_time_from_aux_and_identical_repeat_detected_by_aux() -> None:
    aux = lambda t: (p.PH_AUX_INFO, p.aux_subrecord(t))  # noqa: E731
    frames = [
        displ(T0, (p.PH_DISPL, basic(T0)), aux(T0 - 300)),
        displ(T0 + 1, (p.PH_DISPL, basic(T0 + 1)), aux(T0 - 300)),
        # new values, measured 20 s before they were shown
        displ(T0 + 40, (p.PH_DISPL, basic(T0 + 40, nibp=(11000, 7000, 8300, 66))), aux(T0 + 20)),
        displ(T0 + 41, (p.PH_DISPL, basic(T0 + 41, nibp=(11000, 7000, 8300, 66))), aux(T0 + 20)),
        # the next measurement gives exactly the same numbers: only nibp_time changes
        displ(T0 + 340, (p.PH_DISPL, basic(T0 + 340, nibp=(11000, 7000, 8300, 66))), aux(T0 + 330)),
        displ(T0 + 341, (p.PH_DISPL, basic(T0 + 341, nibp=(11000, 7000, 8300, 66))), aux(T0 + 330)),
    ]
    sys_ = [s for s in vitals(run(*frames), Parameter.NIBP_SYS) if s.value is not None]
    assert [(s.time, s.value, s.status) for s in sys_] == [
        (T0 - 300, 120.0, Status.OLD), (T0 + 20, 110.0, Status.OK), (T0 + 330, 110.0, Status.OK),
    ]
    assert len({s.measurement_id for s in sys_}) == 3


def test_nibp_failed_measurement_reported_once_then_next_value() -> None:
    bad = (p.DATA_INVALID,) * 4
    frames = [displ(T0, (p.PH_DISPL, basic(T0)))]
    frames += [displ(T0 + k, (p.PH_DISPL, basic(T0 + k, nibp=bad))) for k in (1, 2, 3)]
    frames.append(displ(T0 + 4, (p.PH_DISPL, basic(T0 + 4))))
    sys_ = vitals(run(*frames), Parameter.NIBP_SYS)
    assert [(s.time, s.value, s.status) for s in sys_] == [
        (T0, 120.0, Status.OLD), (T0 + 1, None, Status.INVALID), (T0 + 4, 120.0, Status.OK),
    ]


def test_nonsense_times_fall_back_to_arrival_time_and_wave_gap_restarts() -> None:
    dec = GeS5Decoder()
    items = dec.feed(displ(0, (p.PH_DISPL, basic(0))), 1234567890.5)
    assert {i.time for i in vitals(items, Parameter.HR)} == {1234567890.5}
    wave = lambda t, status: p.frame(p.build_record(  # noqa: E731
        p.MT_WAVE, [(p.WF_PLETH, p.wave_subrecord([100] * 100, status=status))], r_time=t))
    chunks = [dec.feed(wave(T0 + k, 0), 0.0)[0] for k in range(3)]
    assert [c.time for c in chunks] == [T0 - 1, T0, T0 + 1]
    (restart,) = dec.feed(wave(T0 + 10, p.WF_STATUS_GAP), 0.0)
    assert restart.time == T0 + 9
    (nan_chunk,) = dec.feed(p.frame(p.build_record(
        p.MT_WAVE, [(p.WF_PLETH, p.wave_subrecord([5, -32767, 7]))], r_time=T0 + 11)), 0.0)
    assert nan_chunk.values[0] == pytest.approx(0.05) and nan_chunk.values[1] != nan_chunk.values[1]


def test_subrecord_offsets_outside_the_record_are_counted_not_raised() -> None:
    record = bytearray(p.build_record(p.MT_PHDB, [(p.PH_DISPL, basic(T0))], r_time=T0))
    struct.pack_into("<hB", record, 19, 5000, p.PH_DISPL)  # a 2nd descriptor pointing far outside
    struct.pack_into("<hB", record, 22, 0, p.EOL_SUBR_LIST)
    dec = GeS5Decoder()
    items = dec.feed(p.frame(bytes(record)), 0.0)
    assert dec.stats.length_errors == 1
    assert [s.value for s in vitals(items, Parameter.HR)] == []  # first subrecord now ends at the bogus one
