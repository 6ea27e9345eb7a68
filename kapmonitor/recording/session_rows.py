"""The writes beyond plain inserts: the session's set-up facts and audited edits, the HL7 outbox's
acknowledgements.

The session (session/session.py) names what changes; the SQL lives here, beside the recorder and
the schema, so a column is renamed in one place. Every write goes through the sink's queue
(`SessionRecorder.execute`), in order with the rows inserted before it.

Thread-safety: the functions only queue statements on the sink; they are as thread-safe as it is
(`SessionRecorder` is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

# the columns an audited edit may change, per table (a column name never comes from outside these)
_EDITABLE: dict[str, frozenset[str]] = {
    "clinical_events": frozenset({"t", "name", "severity", "drug", "dose", "route", "note", "deleted"}),
    "scales": frozenset({"score"}),
}


class StatementSink(Protocol):
    """What these writes need of `SessionRecorder`."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...


def set_session_info(sink: StatementSink, key: str, value: object) -> None:
    """Set one session fact (`session_info` key/value); None stores no value."""
    sink.execute(
        "INSERT OR REPLACE INTO session_info (key, value) VALUES (?, ?)",
        (key, None if value is None else str(value)),
    )


def update_row(sink: StatementSink, table: str, row_id: int, changes: Mapping[str, object]) -> None:
    """Change columns of one row by id (the caller writes the audit row). Raises ValueError for a
    table or column that is not editable."""
    allowed = _EDITABLE.get(table)
    if allowed is None:
        raise ValueError(f"rows of {table} cannot be edited")
    bad = sorted(set(changes) - allowed)
    if bad:
        raise ValueError(f"{table}.{bad[0]} cannot be edited")
    if not changes:
        return
    sets = ", ".join(f"{k} = ?" for k in changes)
    sink.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*changes.values(), row_id))


def mark_hl7_acknowledged(sink: StatementSink, control_id: str, t: float, ack_code: str, detail: str | None) -> None:
    """Record the interface engine's answer to one outbox message (MSA-1 code and its text)."""
    sink.execute(
        "UPDATE hl7_outbox SET acked_at = ?, ack_code = ?, detail = ? WHERE control_id = ?",
        (t, ack_code, detail, control_id),
    )
