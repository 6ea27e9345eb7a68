"""FHIR R4 export: a `collection` Bundle with Patient (pseudonym only), Encounter, vital-sign
Observations and MedicationAdministrations.

- NIBP: one blood-pressure panel (LOINC 85354-9) per cuff measurement, with components systolic
  8480-6, diastolic 8462-4 and mean 8478-0, as the FHIR vital-signs profile asks.
- HR (8867-4), SpO2 (59408-5 with 2708-6), and when the monitor sent them respiratory rate
  (9279-1, the FHIR vital-signs respiratory-rate code) and EtCO2 (19889-5, "Carbon dioxide [Partial
  pressure] in Exhaled gas --at end expiration"): 1-s values would be thousands of resources, so
  each minute with valid values becomes one Observation: the median over `effectivePeriod`.
- The infusion is one MedicationAdministration (dose, rate, route, period, pauses in a note);
  every intervention with a drug is another.
- Simulated data carries a `SIMULATED` meta tag on the bundle and every resource.

Ids are UUIDs derived from the session, so the same database always gives the same bundle.
"""

from __future__ import annotations

import uuid
from hashlib import sha1
from typing import Any

import numpy as np
import numpy.typing as npt

from kapmonitor.export.data import SessionData
from kapmonitor.export.timefmt import iso, iso_many
from kapmonitor.model.parameters import Parameter

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
_NS = uuid.UUID("6f1b7a52-0c55-4c1e-9d7a-3f6ad3c0e1a1")
VITAL_SIGNS = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
                "display": "Vital Signs",
            }
        ]
    }
]
_BP_PARTS = (
    (Parameter.NIBP_SYS, "8480-6", "Systolic blood pressure"),
    (Parameter.NIBP_DIA, "8462-4", "Diastolic blood pressure"),
    (Parameter.NIBP_MEAN, "8478-0", "Mean blood pressure"),
)
SIMULATED_TAG = {"system": "urn:kapmonitor:tag", "code": "simulated", "display": "SIMULATED DATA"}


def _qty(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": unit, "system": UCUM, "code": code}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"system": LOINC, "code": code, "display": display}


class _Builder:
    def __init__(self, data: SessionData) -> None:
        self.data = data
        self.seed = f"{data.fields.get('pseudonym')}|{data.first_time}|{data.fields.get('course_number')}"
        self.entries: list[dict[str, Any]] = []

    def uid(self, key: str) -> str:
        # uuid.uuid5 itself, without its import statement per call (slow once Qt's import hook is in)
        b = bytearray(sha1(_NS.bytes + f"{self.seed}|{key}".encode(), usedforsecurity=False).digest()[:16])
        b[6] = (b[6] & 0x0F) | 0x50  # version 5
        b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = b.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def add(self, key: str, resource: dict[str, Any]) -> str:
        rid = self.uid(key)
        resource = {"resourceType": resource.pop("resourceType"), "id": rid, **resource}
        if self.data.simulated:
            resource["meta"] = {"tag": [SIMULATED_TAG]}
        self.entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource})
        return f"urn:uuid:{rid}"

    def t(self, x: float | None) -> str | None:
        return iso(x, self.data.utc_offset_minutes)


def _patient(b: _Builder) -> str:
    patient: dict[str, Any] = {"resourceType": "Patient", "active": True}
    pseudonym = b.data.fields.get("pseudonym")
    if pseudonym:
        system = "urn:kapmonitor:anonymous-id" if b.data.deidentified else "urn:kapmonitor:pseudonym"
        patient["identifier"] = [{"system": system, "value": str(pseudonym)}]
    return b.add("patient", patient)


def _encounter(b: _Builder, patient: str) -> str:
    d = b.data
    period: dict[str, str] = {}
    if d.first_time is not None:
        period["start"] = b.t(d.first_time) or ""
    finished = bool(d.discharge) or d.infusion_stop is not None
    if d.last_time is not None and finished:
        period["end"] = b.t(d.last_time) or ""
    n, total = d.fields.get("course_number"), d.fields.get("course_total")
    label = "Ketamine-assisted psychotherapy session"
    if n is not None:
        label += f" {n}" + (f" of {total}" if total is not None else "")
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished" if finished else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "type": [{"text": label}],
        "subject": {"reference": patient},
    }
    if period:
        enc["period"] = period
    return b.add("encounter", enc)


def _blood_pressure(b: _Builder, patient: str, encounter: str) -> None:
    for m in b.data.samples.nibp():
        components = [
            {
                "code": {"coding": [_loinc(code, display)], "text": display},
                "valueQuantity": _qty(value, "mmHg", "mm[Hg]"),
            }
            for p, code, display in _BP_PARTS
            if (value := m.value(p)) is not None
        ]
        if not components:
            continue
        key, t = m.key, m.time
        b.add(
            f"bp|{key}",
            {
                "resourceType": "Observation",
                "status": "final",
                "category": VITAL_SIGNS,
                "code": {
                    "coding": [_loinc("85354-9", "Blood pressure panel with all children optional")],
                    "text": "Blood pressure (NIBP)",
                },
                "subject": {"reference": patient},
                "encounter": {"reference": encounter},
                "effectiveDateTime": b.t(t),
                "component": components,
            },
        )


def _minute_series(
    b: _Builder, patient: str, encounter: str, parameter: str, code: dict[str, Any], unit: str, ucum: str
) -> None:
    t, v = b.data.samples.series(parameter)
    if not len(t):
        return
    minute = np.floor(t / 60.0).astype(np.int64)
    bounds = np.nonzero(np.diff(minute))[0] + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(t)]))
    period_start = iso_many((minute[starts] * 60.0).astype(np.float64), b.data.utc_offset_minutes)
    period_end = iso_many((minute[starts] * 60.0 + 60.0).astype(np.float64), b.data.utc_offset_minutes)
    medians = _medians(v, minute, starts, ends)
    for k, (a, z) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        b.add(
            f"{parameter}|{minute[a]}",
            {
                "resourceType": "Observation",
                "status": "final",
                "category": VITAL_SIGNS,
                "code": code,
                "subject": {"reference": patient},
                "encounter": {"reference": encounter},
                "effectivePeriod": {"start": period_start[k], "end": period_end[k]},
                "valueQuantity": _qty(medians[k], unit, ucum),
                "note": [{"text": f"median of {z - a} values in this minute"}],
            },
        )


def _medians(
    v: npt.NDArray[np.float64], group: npt.NDArray[np.int64], starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]
) -> list[float]:
    """The median of each group of `v` (groups are runs of equal `group`), what np.median gives for
    each one (the middle value, or the mean of the two middle ones), in one sort for all groups."""
    ordered = v[np.lexsort((v, group))]
    n = ends - starts
    mid = starts + n // 2
    odd = n % 2 == 1
    below = ordered[np.where(odd, mid, mid - 1)]
    medians = np.where(odd, ordered[mid], (below + ordered[mid]) / 2)
    return [float(x) for x in medians.tolist()]


def _infusion(b: _Builder, patient: str, encounter: str) -> None:
    d = b.data
    f = d.fields
    if d.infusion_start is None and not f.get("drug"):
        return
    drug = str(f.get("drug") or "ketamine")
    concept: dict[str, Any] = {"text": drug}
    if "ketamine" in drug.lower() and "esketamine" not in drug.lower():
        concept["coding"] = [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6130", "display": "ketamine"}
        ]
    nasal = "esketamine" in drug.lower() or "nasal" in drug.lower()
    route = (
        {"coding": [{"system": SNOMED, "code": "46713006", "display": "Nasal route"}]}
        if nasal
        else {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]}
    )
    text = []
    if f.get("dose_mg_per_kg") is not None:
        text.append(f"{f['dose_mg_per_kg']} mg/kg")
    if f.get("duration_min") is not None:
        text.append(f"over {f['duration_min']} min")
    if f.get("concentration_mg_per_ml") is not None:
        text.append(f"{f['concentration_mg_per_ml']} mg/mL")
    dosage: dict[str, Any] = {"route": route}
    if text:
        dosage["text"] = ", ".join(text)
    if f.get("total_mg") is not None:
        dosage["dose"] = _qty(float(f["total_mg"]), "mg", "mg")
    if f.get("rate_ml_per_h") is not None:
        dosage["rateQuantity"] = _qty(float(f["rate_ml_per_h"]), "mL/h", "mL/h")
    if d.infusion_start is None:
        status = "not-done"
    elif d.infusion_stop is None:
        status = "in-progress"
    else:
        status = "completed"
    res: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": {"reference": patient},
        "context": {"reference": encounter},
        "dosage": dosage,
    }
    if d.infusion_start is not None:
        period = {"start": b.t(d.infusion_start)}
        if d.infusion_stop is not None:
            period["end"] = b.t(d.infusion_stop)
        res["effectivePeriod"] = period
    else:
        res["effectiveDateTime"] = b.t(d.first_time if d.first_time is not None else d.origin)
    if d.pauses:
        parts = [f"paused {b.t(p.start)} to {b.t(p.end) if p.end is not None else 'end'}" for p in d.pauses]
        res["note"] = [{"text": "; ".join(parts)}]
    b.add("infusion", res)


def _interventions(b: _Builder, patient: str, encounter: str) -> None:
    for e in b.data.events:
        if not e.get("drug"):
            continue
        dosage_text = " ".join(str(x) for x in (e.get("dose"), e.get("route")) if x)
        res: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "medicationCodeableConcept": {"text": str(e["drug"])},
            "subject": {"reference": patient},
            "context": {"reference": encounter},
            "effectiveDateTime": b.t(float(e["t"])),
        }
        if dosage_text:
            res["dosage"] = {"text": dosage_text}
        b.add(f"intervention|{e.get('id')}|{e['t']}", res)


def fhir_bundle(data: SessionData) -> dict[str, Any]:
    """The FHIR R4 Bundle (as plain JSON data) of one session."""
    b = _Builder(data)
    patient = _patient(b)
    encounter = _encounter(b, patient)
    _infusion(b, patient, encounter)
    _interventions(b, patient, encounter)
    _blood_pressure(b, patient, encounter)
    _minute_series(
        b, patient, encounter, "hr", {"coding": [_loinc("8867-4", "Heart rate")], "text": "Heart rate"}, "/min", "/min"
    )
    _minute_series(
        b,
        patient,
        encounter,
        "spo2",
        {
            "coding": [
                _loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
                _loinc("2708-6", "Oxygen saturation in Arterial blood"),
            ],
            "text": "SpO2",
        },
        "%",
        "%",
    )
    _minute_series(
        b, patient, encounter, "resp_rate",
        {"coding": [_loinc("9279-1", "Respiratory rate")], "text": "Respiratory rate"}, "/min", "/min",
    )
    _minute_series(
        b, patient, encounter, "etco2",
        {"coding": [_loinc("19889-5", "Carbon dioxide [Partial pressure] in Exhaled gas --at end expiration")],
         "text": "EtCO2"},
        "mmHg", "mm[Hg]",
    )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": b.uid("bundle"),
        "type": "collection",
        "entry": b.entries,
    }
    if data.simulated:
        bundle["meta"] = {"tag": [SIMULATED_TAG]}
    return bundle
