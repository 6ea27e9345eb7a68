"""The nurse's documentation of one session: side effects, interventions, notes, addenda and scale
scores, kept in memory and written to the record with an audit row for every create, edit and removal.

An edit or removal never loses what was there: the audit row keeps the values before, and a removed
event stays in the record, marked deleted.

Thread-safety: not locked. `NurseSession` calls it with its own lock held (and gives the row ids).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Any

from kapmonitor.session.entries import ClinicalEvent, ScaleEntry, SessionError, check_event_edit, check_scale_score
from kapmonitor.session.journal import SessionJournal
from kapmonitor.session.model import ValidationError


class EntryBook:
    """`EntryBook(journal, next_id)`: `next_id(table)` numbers new rows (the session keeps the ids)."""

    def __init__(self, journal: SessionJournal, next_id: Callable[[str], int]) -> None:
        self._journal = journal
        self._next_id = next_id
        self.events: dict[int, ClinicalEvent] = {}
        self.scales: dict[int, ScaleEntry] = {}

    # -- events ------------------------------------------------------------------------------------
    def add_event(self, t: float, who: str, fields: Mapping[str, Any]) -> ClinicalEvent:
        event = ClinicalEvent(id=self._next_id("clinical_events"), t=t, who=who, **fields)
        self._journal.insert("clinical_events", {**asdict(event), "deleted": 0})
        self.events[event.id] = event
        self._journal.audit(t, who, "create", "clinical_events", event.id, None, event.fields())
        return event

    def _live(self, event_id: int, verb: str) -> ClinicalEvent:
        old = self.events.get(event_id)
        if old is None or old.deleted:
            raise SessionError(f"no event {event_id} to {verb}")
        return old

    def edit_event(self, event_id: int, who: str, reason: str, changes: dict[str, Any], now: float) -> ClinicalEvent:
        """The event as changed (the same object when nothing changed: nothing is written then)."""
        old = self._live(event_id, "edit")
        if old.category == "addendum":
            raise SessionError("an addendum cannot be edited")
        changes = check_event_edit(old, changes, now)
        new = replace(old, **changes)
        if new == old:
            return old
        self._journal.update("clinical_events", event_id, changes)
        self.events[event_id] = new
        self._journal.audit(now, who, "edit", "clinical_events", event_id, old.fields(), new.fields(), reason or None)
        return new

    def delete_event(self, event_id: int, who: str, reason: str, now: float) -> None:
        old = self._live(event_id, "delete")
        self._journal.update("clinical_events", event_id, {"deleted": 1})
        self.events[event_id] = replace(old, deleted=True)
        self._journal.audit(now, who, "delete", "clinical_events", event_id, old.fields(), None, reason)

    # -- scales --------------------------------------------------------------------------------------
    def add_scale(self, t: float, who: str, scale: str, score: float, detail: str | None) -> ScaleEntry:
        """`score` as the nurse gave it (checked: raises ValidationError)."""
        value = check_scale_score(scale, score)
        entry = ScaleEntry(self._next_id("scales"), t, scale, value, (detail or "").strip() or None, who)
        row = asdict(entry)
        row.pop("deleted")
        self._journal.insert("scales", row)
        self.scales[entry.id] = entry
        self._journal.audit(t, who, "create", "scales", entry.id, None, {"scale": scale, "score": score})
        return entry

    def edit_scale(self, entry_id: int, score: float, who: str, reason: str, now: float) -> ScaleEntry:
        old = self.scales.get(entry_id)
        if old is None:
            raise SessionError(f"no scale entry {entry_id}")
        value = check_scale_score(old.scale, score)
        if not who.strip():
            raise ValidationError("who", "enter your initials to edit the record")
        new = replace(old, score=value)
        self._journal.update("scales", entry_id, {"score": value})
        self.scales[entry_id] = new
        self._journal.audit(now, who.strip(), "edit", "scales", entry_id, {"score": old.score}, {"score": new.score},
                            reason.strip() or None)
        return new
