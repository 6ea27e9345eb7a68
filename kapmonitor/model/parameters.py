"""The vital-sign parameters kapmonitor knows, with units and plausible ranges.

Parameter ids are short stable strings: they appear in the session database, the CSV/JSON
exports and the `decode` output, so they must never be renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Parameter(str, Enum):
    """A measured quantity. The value is the id used in files and databases."""

    HR = "hr"
    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    NIBP_SYS = "nibp_sys"
    NIBP_DIA = "nibp_dia"
    NIBP_MEAN = "nibp_mean"
    NIBP_PULSE = "nibp_pulse"
    PLETH = "pleth"
    RESP_RATE = "resp_rate"
    ETCO2 = "etco2"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ParameterInfo:
    """Display and validation facts of one parameter."""

    label: str
    unit: str  # UCUM code
    display_unit: str
    plausible_min: float  # values outside are technically implausible, never shown as valid
    plausible_max: float


PARAMETER_INFO: dict[Parameter, ParameterInfo] = {
    Parameter.HR: ParameterInfo("HR", "/min", "/min", 15.0, 300.0),
    Parameter.SPO2: ParameterInfo("SpO\u2082", "%", "%", 40.0, 100.0),
    Parameter.PULSE_RATE: ParameterInfo("Pulse", "/min", "/min", 15.0, 300.0),
    Parameter.NIBP_SYS: ParameterInfo("NIBP sys", "mm[Hg]", "mmHg", 30.0, 300.0),
    Parameter.NIBP_DIA: ParameterInfo("NIBP dia", "mm[Hg]", "mmHg", 10.0, 250.0),
    Parameter.NIBP_MEAN: ParameterInfo("NIBP mean", "mm[Hg]", "mmHg", 15.0, 270.0),
    Parameter.NIBP_PULSE: ParameterInfo("NIBP pulse", "/min", "/min", 15.0, 300.0),
    Parameter.PLETH: ParameterInfo("Pleth", "1", "", -1e9, 1e9),
    # respiration: 0 /min is a real reading (apnoea); EtCO2 up to 150 mmHg covers severe hypercapnia
    Parameter.RESP_RATE: ParameterInfo("RR", "/min", "/min", 0.0, 150.0),
    Parameter.ETCO2: ParameterInfo("EtCO\u2082", "mm[Hg]", "mmHg", 0.0, 150.0),
}

NIBP_PARAMETERS: tuple[Parameter, ...] = (
    Parameter.NIBP_SYS,
    Parameter.NIBP_DIA,
    Parameter.NIBP_MEAN,
    Parameter.NIBP_PULSE,
)

TREND_PARAMETERS: tuple[Parameter, ...] = (
    Parameter.HR,
    Parameter.SPO2,
    Parameter.PULSE_RATE,
    Parameter.NIBP_SYS,
    Parameter.NIBP_DIA,
    Parameter.NIBP_MEAN,
    Parameter.NIBP_PULSE,
    Parameter.RESP_RATE,
    Parameter.ETCO2,
)


def is_plausible(parameter: Parameter, value: float) -> bool:
    """True when `value` lies in the physiologically possible range of `parameter`."""
    info = PARAMETER_INFO[parameter]
    return info.plausible_min <= value <= info.plausible_max
