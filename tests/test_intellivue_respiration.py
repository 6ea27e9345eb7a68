"""IntelliVue: respiratory rate (airway preferred over impedance) and EtCO2 (mmHg, kPa converted),
through the real decoder on polls encoded from the guide's type definitions."""

from __future__ import annotations

import copy
from typing import Any

from test_intellivue_decoder import ORACLE, PHYSIO, encode_message

from kapmonitor.drivers.intellivue.decoder import IntelliVueDecoder
from kapmonitor.drivers.intellivue.framing import build_frame
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Status, VitalSample

PHYSIO.update({"NOM_AWAY_RESP_RATE": 0x5012, "NOM_AWAY_CO2_ET": 0x50B0})
RESP_PER_MIN, MMHG, KPA = 0x0AE0, 0x0F20, 0x0F03


def _nu(name: str, value: Any, unit: int, state: str = "VALID") -> dict[str, Any]:
    return {"AttributeId": 0x0950, "AttributeValue": {"PhysioId": name, "State": state, "UnitCode": unit,
                                                     "Value": {"Value": value}}}


def _decode(extra: list[dict[str, Any]]) -> list[VitalSample]:
    """The oracle session with `extra` numerics added to the first observation of every poll."""
    dec = IntelliVueDecoder()
    out: list[VitalSample] = []
    for msg in ORACLE:
        msg = copy.deepcopy(msg)
        ro = msg.get("RemoteOperationData")
        if ro is not None and ro["CommandType"] != "ConfirmedEventReport":
            ctx = ro["Data"]["Data"]["PollContexts"]["Values"]
            if ctx and ctx[0]["Observations"]["Values"]:
                ctx[0]["Observations"]["Values"][0]["Attributes"]["Values"].extend(copy.deepcopy(extra))
        payload = encode_message(msg)
        assert payload is not None
        out += [i for i in dec.feed(build_frame(payload), 0.0) if isinstance(i, VitalSample)]
    assert dec.parse_errors == 0
    return out


def _of(vitals: list[VitalSample], p: Parameter) -> list[tuple[float | None, Status]]:
    return [(v.value, v.status) for v in vitals if v.parameter is p]


def test_the_real_session_reports_its_invalid_impedance_rr_as_invalid() -> None:
    rr = _of(_decode([]), Parameter.RESP_RATE)
    assert rr and set(rr) == {(None, Status.INVALID)}  # NOM_RESP_RATE NaN, state INVALID, in every poll


def test_airway_rr_is_preferred_and_etco2_in_kpa_is_converted() -> None:
    vitals = _decode([_nu("NOM_AWAY_RESP_RATE", 11, RESP_PER_MIN), _nu("NOM_AWAY_CO2_ET", 5.2, KPA)])
    rr = _of(vitals, Parameter.RESP_RATE)
    assert rr and set(rr) == {(11.0, Status.OK)}  # one RR per poll: airway, not the invalid impedance one
    assert set(_of(vitals, Parameter.ETCO2)) == {(39.0, Status.OK)}  # 5.2 kPa = 39.0 mmHg


def test_no_rr_from_either_source_is_invalid_and_etco2_in_mmhg_as_is() -> None:
    vitals = _decode([_nu("NOM_AWAY_RESP_RATE", "NaN", RESP_PER_MIN, "INVALID"), _nu("NOM_AWAY_CO2_ET", 41, MMHG)])
    assert set(_of(vitals, Parameter.RESP_RATE)) == {(None, Status.INVALID)}
    assert set(_of(vitals, Parameter.ETCO2)) == {(41.0, Status.OK)}
