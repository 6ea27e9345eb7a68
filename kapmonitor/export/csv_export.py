"""CSV export: one UTF-8 file per table (vitals in long format, alarms, events, ...).

Empty cells mean "no value". Floats are written in Python's shortest round-trip form so a reader
gets exactly the stored number back.
"""

from __future__ import annotations

import csv
import io

from kapmonitor.export import records
from kapmonitor.export.data import SessionData
from kapmonitor.export.records import Table
from kapmonitor.export.staging import Staging
from kapmonitor.export.vitals_text import VitalsText, waves_csv


def table_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.columns)
    w.writerows(table.rows)
    return buf.getvalue()


def session_csv(data: SessionData) -> str:
    """The session facts as key,value rows (nested keys joined with a dot)."""
    facts = records.session_facts(data)
    rows: list[tuple[str, object]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}", v)
        else:
            rows.append((prefix, value))

    walk("", facts)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("key", "value"))
    w.writerows(rows)
    return buf.getvalue()


def csv_tables(data: SessionData, waves: bool = False, vitals: Table | None = None) -> list[Table]:
    tables = [
        vitals or records.vitals(data),
        records.alarms(data),
        records.events(data),
        records.scales(data),
        records.infusion(data),
        records.music(data),
        records.limit_changes(data),
    ]
    if waves:
        tables.append(records.wave_table(data))
    return tables


def write_csv(
    data: SessionData, staging: Staging, base: str, waves: bool = False, vitals: VitalsText | None = None
) -> list[str]:
    """Stage every CSV file; returns their names. The vitals file is encoded in bulk (`VitalsText`,
    shared with the JSON writer), the small tables by csv.writer."""
    name = f"{base}_vitals.csv"
    staging.write_text(name, (vitals or VitalsText.of(data)).csv())
    names = [name]
    for table in csv_tables(data, False, Table("vitals", records.VITALS_COLUMNS, []))[1:]:
        name = f"{base}_{table.name}.csv"
        staging.write_text(name, table_csv(table))
        names.append(name)
    if waves:
        name = f"{base}_waves.csv"
        staging.write_text(name, waves_csv(data))
        names.append(name)
    name = f"{base}_session.csv"
    staging.write_text(name, session_csv(data))
    names.append(name)
    return names
