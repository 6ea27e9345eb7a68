"""JSON export: one document with the whole session (schema in resources/session_export.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from kapmonitor import __version__
from kapmonitor.export import records
from kapmonitor.export.data import SessionData
from kapmonitor.export.vitals_text import VitalsText

JSON_SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "session_export.schema.json"


def session_document(
    data: SessionData, waves: bool = False, exported_at: str | None = None, vitals: records.Table | None = None
) -> dict[str, Any]:
    """The JSON export as plain data; `vitals` reuses a table already built for the CSV."""
    return _document(data, waves, exported_at, (vitals or records.vitals(data)).records())


def session_json(data: SessionData, waves: bool = False, exported_at: str | None = None,
                 vitals: VitalsText | None = None) -> str:
    """`to_json(session_document(...))` byte for byte, with the samples (nearly all of the file)
    encoded in bulk by `VitalsText`, which the CSV writer shares."""
    samples = (vitals or VitalsText.of(data)).json_array()
    doc = _document(data, waves, exported_at, _SAMPLES)
    items = (f"{_dumps(k)}:{samples if v is _SAMPLES else _dumps(v)}" for k, v in doc.items())
    return "{" + ",".join(items) + "}\n"


_SAMPLES: Any = object()  # where session_json puts the bulk-encoded samples


def _document(data: SessionData, waves: bool, exported_at: str | None, samples: Any) -> dict[str, Any]:
    generator: dict[str, Any] = {"name": "kapmonitor", "version": __version__}
    if exported_at and not data.deidentified:
        generator["exported_at"] = exported_at
    doc: dict[str, Any] = {
        "schema_version": JSON_SCHEMA_VERSION,
        "generator": generator,
        "simulated": data.simulated,
        "deidentified": data.deidentified,
        "session": records.session_facts(data),
        "meta": dict(data.meta),
        "samples": samples,
        "alarms": records.alarms(data).records(),
        "limit_changes": records.limit_changes(data).records(),
        "infusion": records.infusion(data).records(),
        "events": records.events(data).records(),
        "scales": records.scales(data).records(),
        "music": records.music(data).records(),
        "link_events": records.link_events(data).records(),
        "discharge": records.discharge(data).records(),
    }
    if waves:
        doc["waves"] = records.wave_chunks(data)
    return doc


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def to_json(doc: dict[str, Any]) -> str:
    return _dumps(doc) + "\n"
