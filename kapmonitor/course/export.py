"""`kapmonitor course export`: a course as JSON, FHIR R4 and CSV files, optionally de-identified.

Files go through kapmonitor.export.staging (private 0600 files, published together only when
every file was written: a failure leaves the output folder as it was). Names: course-<id>.json,
course-<id>.fhir.json, course-<id>-outcomes.csv, course-<id>.pdf, where <id> is the pseudonym (letters, digits,
- and _ kept) or, de-identified, its hash. Thread-safety: one export per call.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kapmonitor.course.deid import deidentify_course
from kapmonitor.course.fhir import course_bundle
from kapmonitor.course.summary import CSV_COLUMNS
from kapmonitor.export.staging import Staging

FORMATS = ("json", "fhir", "csv", "pdf")


class CourseExportError(ValueError):
    """The export cannot be written; nothing was."""


def parse_formats(text: str) -> tuple[str, ...]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not names:
        raise CourseExportError("no format given (json, fhir, csv, pdf or all)")
    out: list[str] = []
    for n in names:
        if n == "all":
            out += FORMATS
        elif n in FORMATS:
            out.append(n)
        else:
            raise CourseExportError(f"unknown course export format {n!r} (json, fhir, csv, pdf or all)")
    return tuple(dict.fromkeys(out))


def csv_text(doc: dict[str, Any]) -> str:
    """The outcomes of a course document, one row per score (CSV_COLUMNS)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for o in doc["outcomes"]:
        row = {k: o.get(k) for k in CSV_COLUMNS}
        row["pseudonym"] = doc["patient"]["pseudonym"]
        for k in ("response", "remission"):
            row[k] = {True: "yes", False: "no"}.get(o.get(k), "") if o.get(k) is not None else ""
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def _stem(pseudonym: str) -> str:
    return "course-" + (re.sub(r"[^A-Za-z0-9_-]+", "_", pseudonym).strip("_") or "patient")


def export_course(doc: dict[str, Any], formats: tuple[str, ...], out_dir: Path, deidentify: bool = False,
                  salt: str | None = None, pdf: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the course's files; returns them. Raises kapmonitor.export.ExportError (nothing written).

    `pdf` paints the course PDF into the path it is given (kapmonitor.report_pdf.course, which
    needs Qt, so the caller passes it); the PDF is never de-identified, so it is refused with
    `deidentify`."""
    if "pdf" in formats and (pdf is None or deidentify):
        raise CourseExportError("the course PDF names the patient: export it without --deidentify"
                                if deidentify else "the course PDF needs its painter")
    data = deidentify_course(doc, salt) if deidentify else doc
    stem = _stem(str(data["patient"]["pseudonym"]))
    with Staging(out_dir) as staging:
        names = []
        if "json" in formats:
            names.append(f"{stem}.json")
            staging.write_text(names[-1], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        if "fhir" in formats:
            names.append(f"{stem}.fhir.json")
            staging.write_text(names[-1], json.dumps(course_bundle(data), indent=2, ensure_ascii=False) + "\n")
        if "csv" in formats:
            names.append(f"{stem}-outcomes.csv")
            staging.write_text(names[-1], csv_text(data))
        if "pdf" in formats and pdf is not None:
            names.append(f"{stem}.pdf")
            pdf(staging.path(names[-1]))
        return staging.commit(names)
