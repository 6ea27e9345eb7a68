"""Which OBX-3 codes and OBX-6 units kapmonitor understands (see hl7/SOURCES.md for the origins).

An observation is identified by its code *and* coding system, never by its position in the
message. Several codes can mean the same parameter (e.g. every pulse-rate code); a lower rank
wins when one message carries more than one of them. Constant tables; thread-safe.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from kapmonitor.model.parameters import Parameter

log = logging.getLogger(__name__)

# respiratory rate and EtCO2 are new parameters: decoded once kapmonitor.model has them
RESP_RATE: Parameter | None = getattr(Parameter, "RESP_RATE", None)
ETCO2: Parameter | None = getattr(Parameter, "ETCO2", None)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What one code means: a parameter (or the name of one not supported yet) and its rank."""

    parameter: Parameter | None
    rank: int = 0
    unsupported: str = ""  # "respiratory rate", ...: a known quantity kapmonitor does not show yet


def _p(parameter: Parameter | None, rank: int = 0, name: str = "") -> CodeInfo:
    return CodeInfo(parameter, rank, name if parameter is None else "")


_RR = _p(RESP_RATE, 0, "respiratory rate")

# IEEE 11073-10101 (coding system MDC)
MDC: dict[str, CodeInfo] = {
    "147842": _p(Parameter.HR),  # MDC_ECG_HEART_RATE
    "150456": _p(Parameter.SPO2),  # MDC_PULS_OXIM_SAT_O2
    "149530": _p(Parameter.PULSE_RATE, 0),  # MDC_PULS_OXIM_PULS_RATE
    "149514": _p(Parameter.PULSE_RATE, 1),  # MDC_PULS_RATE
    "149522": _p(Parameter.PULSE_RATE, 2),  # MDC_BLD_PULS_RATE_INV (Comen sends it as "MDC_PULS_RATE")
    "150021": _p(Parameter.NIBP_SYS, 0),  # MDC_PRESS_BLD_NONINV_SYS
    "150022": _p(Parameter.NIBP_DIA, 0),
    "150023": _p(Parameter.NIBP_MEAN, 0),
    "150301": _p(Parameter.NIBP_SYS, 1),  # MDC_PRESS_CUFF_SYS (Mindray)
    "150302": _p(Parameter.NIBP_DIA, 1),
    "150303": _p(Parameter.NIBP_MEAN, 1),
    "149546": _p(Parameter.NIBP_PULSE),  # MDC_PULS_RATE_NON_INV
    "151562": _p(RESP_RATE, 0, "respiratory rate"),  # MDC_RESP_RATE
    "151570": _p(RESP_RATE, 1, "respiratory rate"),  # MDC_AWAY_RESP_RATE
    "151594": _p(RESP_RATE, 2, "respiratory rate"),  # MDC_CO2_RESP_RATE
    "151578": _p(RESP_RATE, 3, "respiratory rate"),  # MDC_TTHOR_RESP_RATE (impedance)
    "151658": _p(RESP_RATE, 4, "respiratory rate"),  # MDC_PULS_OXIM_PLETH_RESP_RATE
    "151708": _p(ETCO2, 0, "EtCO2"),  # MDC_AWAY_CO2_ET
    "151712": _p(ETCO2, 1, "EtCO2"),  # MDC_CONC_AWAY_CO2_EXP, as GE sends it
}

# the same quantities by reference id, for senders that give only the text
MDC_REFIDS: dict[str, str] = {
    "MDC_ECG_HEART_RATE": "147842",
    "MDC_PULS_OXIM_SAT_O2": "150456",
    "MDC_PULS_OXIM_PULS_RATE": "149530",
    "MDC_PULS_RATE": "149514",
    "MDC_PRESS_BLD_NONINV_SYS": "150021",
    "MDC_PRESS_BLD_NONINV_DIA": "150022",
    "MDC_PRESS_BLD_NONINV_MEAN": "150023",
    "MDC_PRESS_CUFF_SYS": "150301",
    "MDC_PRESS_CUFF_DIA": "150302",
    "MDC_PRESS_CUFF_MEAN": "150303",
    "MDC_PULS_RATE_NON_INV": "149546",
    "MDC_RESP_RATE": "151562",
    "MDC_AWAY_CO2_ET": "151708",
}

# Philips MDIL (IntelliVue Information Center, Efficia)
MDIL: dict[str, CodeInfo] = {
    "0002-4182": _p(Parameter.HR),
    "0002-4bb8": _p(Parameter.SPO2),
    "0002-480a": _p(Parameter.PULSE_RATE, 0),
    "0002-4822": _p(Parameter.PULSE_RATE, 1),
    "0002-4a05": _p(Parameter.NIBP_SYS),
    "0002-4a06": _p(Parameter.NIBP_DIA),
    "0002-4a07": _p(Parameter.NIBP_MEAN),
    "0002-5000": _RR,
}

# Nihon Kohden: 6-digit codes without a coding system
NIHON_KOHDEN: dict[str, CodeInfo] = {
    "001000": _p(Parameter.HR),
    "007000": _p(Parameter.SPO2),
    "007001": _p(Parameter.PULSE_RATE, 0),
    "072007": _p(Parameter.PULSE_RATE, 1),
    "009000": _p(Parameter.NIBP_SYS),
    "009001": _p(Parameter.NIBP_DIA),
    "009002": _p(Parameter.NIBP_MEAN),
}

# Edan (coding system EHC)
EDAN: dict[str, CodeInfo] = {
    "131072": _p(Parameter.HR),
    "327680": _p(Parameter.SPO2),
    "327681": _p(Parameter.PULSE_RATE),
    "393216": _p(Parameter.NIBP_SYS),
    "393217": _p(Parameter.NIBP_DIA),
    "393218": _p(Parameter.NIBP_MEAN),
    "393219": _p(Parameter.NIBP_PULSE),
}

# vendor systems whose own codes name only quantities kapmonitor does not show (arrhythmia
# counters, ...); their vital signs come as MDC codes, so the MDC table is consulted too
_VENDOR_WITH_MDC = frozenset({"99MNDRY", "99COMEN", "MNDRY", "COMEN"})


@functools.lru_cache(maxsize=1024)
def lookup(code: str, text: str, system: str) -> CodeInfo | None:
    """What an OBX-3 (identifier, text, coding system) means, None when not a shown quantity."""
    code = code.strip()
    system = system.strip().upper()
    refid = text.strip().upper()
    if system == "MDC" or system in _VENDOR_WITH_MDC or system.startswith("MDC"):
        info = MDC.get(code)
        if info is None and refid in MDC_REFIDS and system == "MDC":
            info = MDC.get(MDC_REFIDS[refid])
        if info is not None and code == "149522" and refid.endswith("_INV"):
            # an invasive line's pulse rate: used only when nothing better is in the message
            return CodeInfo(info.parameter, 5, info.unsupported)
        return info
    if system == "MDIL":
        return MDIL.get(code.lower())
    if system == "EHC":
        return EDAN.get(code)
    if system in ("", "NK", "NIHON KOHDEN", "99NK"):
        if code in NIHON_KOHDEN:
            return NIHON_KOHDEN[code]
        if refid.startswith("MDC_"):  # an MDC code sent without its coding system
            return MDC.get(code) or MDC.get(MDC_REFIDS.get(refid, ""))
        if code.upper().startswith("MDC_"):
            return MDC.get(MDC_REFIDS.get(code.upper(), ""))
    return None


# -- units ---------------------------------------------------------------------------------------
MMHG_PER_KPA = 7.500617

_PER_MIN = frozenset({"264864", "mdc_dim_beat_per_min", "/min", "1/min", "{beat}/min", "{beats}/min",
                      "{pulse}/min", "bpm", "beats/min", "0004-0aa0", "min-1", "/m"})
_RESP_PER_MIN = frozenset({"264928", "mdc_dim_resp_per_min", "/min", "1/min", "{breath}/min",
                           "{breaths}/min", "{resp}/min", "rpm", "bpm", "brpm", "0004-0ae0", "min-1"})
_PERCENT = frozenset({"262688", "mdc_dim_percent", "%", "0004-0220", "pct"})
_MMHG = frozenset({"266016", "mdc_dim_mmhg", "mm[hg]", "mmhg", "mm hg", "0004-0f20", "torr"})
_KPA = frozenset({"268800", "mdc_dim_kilo_pa", "mdc_dim_kilo_pascal", "kpa"})


def _unit_names(unit: tuple[str, str, str]) -> list[str]:
    return [u.strip().lower() for u in unit[:2] if u.strip()]


def convert(parameter: Parameter, value: float, unit: tuple[str, str, str]) -> float | None:
    """`value` in kapmonitor's unit for `parameter`; None when the unit is unknown or wrong.

    `unit` is OBX-6 (identifier, text, system). An empty unit means the parameter's usual unit
    (Nihon Kohden and some gateways leave it out).
    """
    factor = unit_factor(parameter, unit)
    return None if factor is None else value * factor


@functools.lru_cache(maxsize=256)
def unit_factor(parameter: Parameter, unit: tuple[str, str, str]) -> float | None:
    """The factor from `unit` to kapmonitor's unit of `parameter`, None when not convertible."""
    names = _unit_names(unit)
    if not names:
        return 1.0
    if parameter in (Parameter.HR, Parameter.PULSE_RATE, Parameter.NIBP_PULSE):
        return 1.0 if any(n in _PER_MIN for n in names) else None
    if parameter is Parameter.SPO2:
        return 1.0 if any(n in _PERCENT for n in names) else None
    if parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN) or (
            ETCO2 is not None and parameter is ETCO2):
        if any(n in _MMHG for n in names):
            return 1.0
        if any(n in _KPA for n in names):
            return MMHG_PER_KPA
        return None
    if RESP_RATE is not None and parameter is RESP_RATE:
        return 1.0 if any(n in _RESP_PER_MIN for n in names) else None
    return None
