"""The writers of the Qt-free export formats (CSV, JSON, FHIR), as `kapmonitor.export.formats`
registers them: each stages its files for one `ExportJob` and returns their names.

Thread-safety: a writer uses only its job; run each job on one thread.
"""

from __future__ import annotations

from kapmonitor.export.csv_export import write_csv
from kapmonitor.export.fhir_export import fhir_bundle
from kapmonitor.export.formats import ExportJob
from kapmonitor.export.json_export import session_json, to_json


def write_csv_files(job: ExportJob) -> list[str]:
    """One CSV file per table, and the session facts."""
    return write_csv(job.data, job.staging, job.base, waves=job.waves, vitals=job.vitals_text())


def write_json_file(job: ExportJob) -> list[str]:
    """The whole session as one JSON document."""
    name = f"{job.base}.json"
    job.staging.write_text(name, session_json(job.data, job.waves, job.exported_at, job.vitals_text()))
    return [name]


def write_fhir_file(job: ExportJob) -> list[str]:
    """A FHIR R4 bundle of the session."""
    name = f"{job.base}_fhir.json"
    job.staging.write_text(name, to_json(fhir_bundle(job.data)))
    return [name]
