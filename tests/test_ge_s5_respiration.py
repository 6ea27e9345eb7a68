"""GE S/5: respiratory rate and EtCO2 from the basic class (CO2 group, ECG impedance RR), on
hand-built records and the real CARESCAPE capture."""

from __future__ import annotations

import struct
from pathlib import Path

from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.decoder import GeS5Decoder
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, Status, VitalSample

T0 = 1_700_000_000
PRESENT = p.STATUS_EXISTS | p.STATUS_ACTIVE
DB00 = Path(__file__).resolve().parents[2] / "shared" / "monitor-protocols" / "captures" / "ge_s5_carescape_db00.raw"


def record(co2: tuple[int, int, int, int, int, int] | None = None, imp_rr: int = p.DATA_INVALID) -> bytes:
    body = bytearray(p.basic_body(70, PRESENT, (12000, 8000, 9300, 72), 0x0B, PRESENT, 9800, 71, PRESENT))
    struct.pack_into("<h", body, p.ECG_GROUP + p.ECG_IMP_RR, imp_rr)
    if co2 is not None:
        status, label, *values = co2
        body[p.CO2_GROUP:p.CO2_GROUP + 14] = p.group(status, label, values)
    sub = p.phdb_subrecord(T0, bytes(body), p.CLASS_BASIC)
    return p.frame(p.build_record(p.MT_PHDB, [(p.PH_DISPL, sub)], r_time=T0))


def resp(items: list[Item]) -> dict[Parameter, tuple[float | None, Status]]:
    return {i.parameter: (i.value, i.status) for i in items
            if isinstance(i, VitalSample) and i.parameter in (Parameter.RESP_RATE, Parameter.ETCO2)}


def test_etco2_is_the_expired_fraction_times_ambient_pressure_and_rr_from_co2() -> None:
    # et 5.00 %, rr 12 from CO2 (label 1), ambient 750.0 mmHg: 0.05 x 750 = 37.5 mmHg
    out = resp(GeS5Decoder().feed(record((PRESENT, 1, 500, 0, 12, 7500), imp_rr=19), 0.0))
    assert out == {Parameter.ETCO2: (37.5, Status.OK), Parameter.RESP_RATE: (12.0, Status.OK)}


def test_unknown_ambient_pressure_uses_standard_and_invalid_et_is_a_status() -> None:
    out = resp(GeS5Decoder().feed(record((PRESENT, 1, 500, 0, 12, p.DATA_INVALID)), 0.0))
    assert out[Parameter.ETCO2] == (38.0, Status.OK)
    out = resp(GeS5Decoder().feed(record((PRESENT, 1, p.DATA_INVALID, 0, p.DATA_INVALID, 7600)), 0.0))
    assert out == {Parameter.ETCO2: (None, Status.INVALID), Parameter.RESP_RATE: (None, Status.INVALID)}


def test_rr_from_impedance_without_co2_and_nothing_when_neither_measures() -> None:
    assert resp(GeS5Decoder().feed(record(imp_rr=18), 0.0)) == {Parameter.RESP_RATE: (18.0, Status.OK)}
    # a CO2 module that exists but does not measure, and no impedance RR: no sample, so no alarm
    assert resp(GeS5Decoder().feed(record((p.STATUS_EXISTS, 1, 500, 0, 12, 7600)), 0.0)) == {}
    assert resp(GeS5Decoder().feed(record(), 0.0)) == {}


def test_carescape_capture_has_impedance_rr_and_no_etco2() -> None:
    dec = GeS5Decoder()
    items = dec.feed(DB00.read_bytes(), 0.0) + dec.finish()
    rr = [i for i in items if isinstance(i, VitalSample) and i.parameter is Parameter.RESP_RATE]
    assert len(rr) > 1000 and all(i.status is Status.OK and 5 <= (i.value or 0) <= 40 for i in rr)
    assert rr[0].value == 21.0
    assert not any(isinstance(i, VitalSample) and i.parameter is Parameter.ETCO2 for i in items)
