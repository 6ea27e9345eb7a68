"""FHIR R4 export of a course: a `collection` Bundle with the Patient (pseudonym only), one
Observation per score total with its LOINC code, and each PHQ-9 also as a QuestionnaireResponse.

- BDI-II total: LOINC 89209-1; PHQ-9 total: LOINC 44261-6 (instruments.py cites the sources).
  MADRS: no verified LOINC code, so a local code (urn:kapmonitor:instrument) and the text.
- Category `survey`; value in UCUM `{score}`; the severity band as the interpretation text;
  item 9 as a component (PHQ-9: LOINC 44260-8).
- PHQ-9 QuestionnaireResponse against the LOINC panel 44249-1: the nine answers with their LOINC
  answer codes when entered item by item (else item 9 when known) and the total (44261-6).
Ids are UUIDs derived from the pseudonym and score ids: the same course gives the same bundle.
Works on summary.to_json's data (de-identified or not). Pure; thread-safe.
"""

from __future__ import annotations

import uuid
from typing import Any

from kapmonitor.course.instruments import INSTRUMENTS, LOINC_PHQ9_PANEL, LOINC_PHQ9_TOTAL, PHQ9_ANSWERS, PHQ9_ITEMS

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:kapmonitor:instrument"
_NS = uuid.UUID("2c1d8a4e-7b35-4e0f-9a61-5d0c3e7f8b21")
SURVEY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                       "code": "survey", "display": "Survey"}]}]


def _code(instrument: str) -> dict[str, Any]:
    inst = INSTRUMENTS[instrument]
    if inst.loinc is not None:
        return {"coding": [{"system": LOINC, "code": inst.loinc, "display": inst.loinc_display}],
                "text": f"{inst.name} total score"}
    return {"coding": [{"system": LOCAL, "code": f"{inst.key}-total", "display": inst.loinc_display}],
            "text": f"{inst.name} total score"}


def _item9_code(instrument: str) -> dict[str, Any]:
    if instrument == "phq-9":
        code, text = PHQ9_ITEMS[8]
        return {"coding": [{"system": LOINC, "code": code, "display": text}], "text": "PHQ-9 item 9"}
    return {"coding": [{"system": LOCAL, "code": f"{instrument}-item9"}], "text": f"{INSTRUMENTS[instrument].name} "
            "item 9 (suicidal thoughts)"}


def course_bundle(doc: dict[str, Any]) -> dict[str, Any]:
    """The FHIR R4 Bundle (plain JSON data) of a course document."""
    pseudonym = str(doc["patient"]["pseudonym"])
    deidentified = "deidentified" in doc

    def uid(key: str) -> str:
        return str(uuid.uuid5(_NS, f"{pseudonym}|{key}"))

    entries: list[dict[str, Any]] = []

    def add(key: str, resource: dict[str, Any]) -> str:
        rid = uid(key)
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": resource.pop("resourceType"),
                                                                    "id": rid, **resource}})
        return f"urn:uuid:{rid}"

    system = "urn:kapmonitor:anonymous-id" if deidentified else "urn:kapmonitor:pseudonym"
    patient = add("patient", {"resourceType": "Patient", "active": True,
                              "identifier": [{"system": system, "value": pseudonym}]})
    for o in doc["outcomes"]:
        obs: dict[str, Any] = {
            "resourceType": "Observation", "status": "final", "category": SURVEY, "code": _code(o["instrument"]),
            "subject": {"reference": patient}, "effectiveDateTime": o["date"],
            "valueQuantity": {"value": o["total"], "unit": "{score}", "system": UCUM, "code": "{score}"},
            "interpretation": [{"text": o["severity"]}],
        }
        if o.get("item9") is not None:
            obs["component"] = [{"code": _item9_code(o["instrument"]), "valueInteger": o["item9"]}]
        if o.get("note"):
            obs["note"] = [{"text": o["note"]}]
        if o["instrument"] == "phq-9":
            obs["derivedFrom"] = [{"reference": f"urn:uuid:{uid('qr-' + str(o['id']))}"}]
        add(f"obs-{o['id']}", obs)
        if o["instrument"] != "phq-9":
            continue
        items: list[dict[str, Any]] = []
        answers = o.get("items")
        if answers:
            for (code, text), value in zip(PHQ9_ITEMS, answers, strict=True):
                la, display = PHQ9_ANSWERS[value]
                items.append({"linkId": code, "text": text,
                              "answer": [{"valueCoding": {"system": LOINC, "code": la, "display": display}}]})
        elif o.get("item9") is not None:
            code, text = PHQ9_ITEMS[8]
            la, display = PHQ9_ANSWERS[o["item9"]]
            items.append({"linkId": code, "text": text,
                          "answer": [{"valueCoding": {"system": LOINC, "code": la, "display": display}}]})
        items.append({"linkId": LOINC_PHQ9_TOTAL, "text": "Total score", "answer": [{"valueInteger": o["total"]}]})
        add(f"qr-{o['id']}", {
            "resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": f"http://loinc.org/q/{LOINC_PHQ9_PANEL}", "subject": {"reference": patient},
            "authored": o["date"], "item": items,
        })
    return {"resourceType": "Bundle", "id": uid("bundle"), "type": "collection", "entry": entries}
