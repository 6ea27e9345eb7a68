"""JSON export: one document with the whole session (schema in resources/session_export.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from kapmonitor import __version__
from kapmonitor.export import records
from kapmonitor.export.data import SessionData

JSON_SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "session_export.schema.json"


def session_document(
    data: SessionData, waves: bool = False, exported_at: str | None = None, vitals: records.Table | None = None
) -> dict[str, Any]:
    """The JSON export as plain data; `vitals` reuses a table already built for the CSV."""
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
        "samples": (vitals or records.vitals(data)).records(),
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


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
