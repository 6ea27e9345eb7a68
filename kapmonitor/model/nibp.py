"""One cuff measurement, one value: the systolic, diastolic, mean and pulse of one NIBP reading.

A monitor sends the parts of one measurement as separate samples that share a `measurement_id`
(or, from a monitor without ids, the same time). Every consumer (the alarm engine, the trend
store, the trend plot, the FHIR export, the report) groups them here, with one key, instead of
each rebuilding the reading its own way.

Everything here is immutable or a pure function: safe in any thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kapmonitor.model.parameters import NIBP_PARAMETERS, Parameter
from kapmonitor.model.samples import Source, Status, VitalSample

_FIELD = {
    Parameter.NIBP_SYS: "systolic",
    Parameter.NIBP_DIA: "diastolic",
    Parameter.NIBP_MEAN: "mean",
    Parameter.NIBP_PULSE: "pulse",
}
_BY_ID = {p.value: p for p in NIBP_PARAMETERS}


def nibp_key(measurement_id: str | None, time: float) -> str:
    """The one key that ties the parts of a measurement together: its id, else its time (to the ms)."""
    return measurement_id or f"t{time:.3f}"


@dataclass(frozen=True, slots=True)
class NibpMeasurement:
    """One cuff measurement. A value is None when its part is missing or not valid.

    `time` is the measurement time (the earliest part's); `status` and `source` are the systolic
    part's (else the first part's): MANUAL when the nurse typed it in.
    """

    key: str
    time: float
    systolic: float | None = None
    diastolic: float | None = None
    mean: float | None = None
    pulse: float | None = None
    status: Status = Status.OK
    source: Source = Source.MONITOR

    @classmethod
    def of(cls, sample: VitalSample) -> NibpMeasurement:
        """A measurement holding only `sample` (a part of an NIBP measurement)."""
        empty = cls(nibp_key(sample.measurement_id, sample.time), sample.time, status=sample.status,
                    source=sample.source)
        return empty.with_part(sample)

    def with_part(self, sample: VitalSample) -> NibpMeasurement:
        """This measurement with one more part. Raises ValueError for a sample of another parameter."""
        name = _FIELD.get(sample.parameter)
        if name is None:
            raise ValueError(f"{sample.parameter} is not a part of an NIBP measurement")
        v = sample.value if sample.valid else None
        p = sample.parameter
        is_sys = p is Parameter.NIBP_SYS
        return NibpMeasurement(
            self.key,
            min(self.time, sample.time),
            v if is_sys else self.systolic,
            v if p is Parameter.NIBP_DIA else self.diastolic,
            v if p is Parameter.NIBP_MEAN else self.mean,
            v if p is Parameter.NIBP_PULSE else self.pulse,
            sample.status if is_sys else self.status,
            sample.source if is_sys else self.source,
        )

    def value(self, parameter: Parameter) -> float | None:
        """The value of one part by its parameter (None for a parameter that is not a part)."""
        return {
            Parameter.NIBP_SYS: self.systolic,
            Parameter.NIBP_DIA: self.diastolic,
            Parameter.NIBP_MEAN: self.mean,
            Parameter.NIBP_PULSE: self.pulse,
        }.get(parameter)

    @property
    def manual(self) -> bool:
        return self.source is Source.MANUAL

    @property
    def has_pressure(self) -> bool:
        """Systolic and diastolic both valid: the reading can be drawn as a bar and judged for a rise."""
        return self.systolic is not None and self.diastolic is not None


def group_nibp(samples: Iterable[VitalSample]) -> list[NibpMeasurement]:
    """The NIBP measurements among `samples`, in order of their first part (other parameters ignored)."""
    groups: dict[str, NibpMeasurement] = {}
    for s in samples:
        if s.parameter not in _FIELD:
            continue
        key = nibp_key(s.measurement_id, s.time)
        current = groups.get(key)
        groups[key] = NibpMeasurement.of(s) if current is None else current.with_part(s)
    return list(groups.values())


def nibp_samples(
    t: Sequence[float],
    parameter: Sequence[str],
    value: Sequence[float | None],
    status: Sequence[str],
    source: Sequence[str],
    measurement_id: Sequence[str | None],
) -> list[VitalSample]:
    """The NIBP samples of a record's parallel columns (text ids as stored) as `VitalSample`s.

    A status or source this version does not know makes that part not valid (never a number shown as
    good); a non-finite value is no value.
    """
    out: list[VitalSample] = []
    for i, p in enumerate(parameter):
        param = _BY_ID.get(p)
        if param is None:
            continue
        v = value[i]
        v = None if v is None or not math.isfinite(v) else float(v)
        try:
            st = Status(status[i])
        except ValueError:
            st = Status.INVALID
        try:
            src = Source(source[i])
        except ValueError:
            src = Source.MONITOR
        out.append(VitalSample(float(t[i]), param, v, st, src, measurement_id[i]))
    return out
