"""A session read back from its record, to resume it after the program restarted.

`read_restored` reads through the record's reader (recording/reader.py) and turns the rows and set-up
facts into the session's own values; `NurseSession.resume` applies them. A fact that cannot be read
is logged and left out, never guessed.

Thread-safety: `read_restored` opens and closes its own read-only connection; call it from any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor.model.parameters import Parameter
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.recording.reader import RecordReader, latest_valid, max_row_ids
from kapmonitor.session.catalogues import MANUAL_PARAMETERS
from kapmonitor.session.entries import ClinicalEvent, PrestartOutcome, ScaleEntry
from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError
from kapmonitor.session.storage import read_info

log = logging.getLogger(__name__)

ID_TABLES = ("infusion_events", "clinical_events", "scales", "discharge")  # the tables whose ids the session gives


@dataclass
class Restored:
    """What `NurseSession.resume` needs of a record."""

    info: dict[str, str]
    infusion_events: list[tuple[int, float, str, str | None]]  # (id, t, action, reason) in recording order
    events: list[ClinicalEvent]
    scales: list[ScaleEntry]
    discharged: bool
    last_nibp: float | None
    latest: dict[Parameter, tuple[float, float]]
    max_ids: dict[str, int] = field(default_factory=dict)
    baseline: dict[Parameter, float] = field(default_factory=dict)
    confirmed_volume: float | None = None
    on_duty: str | None = None
    prestart: PrestartOutcome | None = None


def read_restored(path: Path) -> Restored:
    """The session's state in the record at `path`. Raises SessionDatabaseError (not a nurse's
    session) or sqlite3.Error (a damaged record)."""
    with RecordReader.open(path) as reader:
        info = read_info(reader)
        if "pseudonym" not in info:
            raise SessionDatabaseError("the database holds no nurse's session")
        last_nibp = latest_valid(reader, Parameter.NIBP_SYS)
        restored = Restored(
            info=info,
            infusion_events=sorted((e.id, e.t, e.action, e.reason) for e in reader.infusion_events()),
            events=[
                ClinicalEvent(e.id, e.t, e.category, e.name, e.severity, e.drug, e.dose, e.route, e.note, e.who,
                              e.deleted)
                for e in sorted(reader.clinical_events(), key=lambda e: e.id)
            ],
            scales=[ScaleEntry(s.id, s.t, s.scale, s.score, s.detail, s.who)
                    for s in sorted(reader.scales(), key=lambda s: s.id)],
            discharged=bool(reader.discharges()),
            last_nibp=None if last_nibp is None else last_nibp[0],
            latest={p: v for p in MANUAL_PARAMETERS if (v := latest_valid(reader, p)) is not None},
            max_ids=max_row_ids(reader, ID_TABLES),
        )
    _read_facts(restored)
    return restored


def replay_infusion(
    clock: InfusionClock, events: Iterable[tuple[int, float, str, str | None]],
) -> list[tuple[float, str, str | None]]:
    """Apply the recorded infusion actions to `clock` in order and return them as the session's
    infusion log; an inconsistent action is logged and skipped by the clock (kept in the log)."""
    out: list[tuple[float, str, str | None]] = []
    for _id, t, action, reason in events:
        try:
            clock.apply(action, t, reason)
        except InfusionTransitionError as exc:
            log.warning("ignoring inconsistent infusion record %r at %s: %s", action, t, exc)
        out.append((t, action, reason))
    return out


def _read_facts(r: Restored) -> None:
    """The set-up facts the session keeps as values: baseline, confirmed volume, nurse, pre-start."""
    info = r.info
    if info.get("volume_infused_confirmed") == "1":
        try:
            r.confirmed_volume = float(info["volume_infused_ml"])
        except (KeyError, ValueError):
            log.warning("confirmed volume missing or unreadable in the record")
    r.on_duty = info.get("on_duty") or None  # still on duty after a restart (shown, changeable)
    for p in MANUAL_PARAMETERS:
        raw = info.get(f"baseline_{p.value}")
        if raw is not None:
            try:
                r.baseline[p] = float(raw)
            except ValueError:
                log.warning("bad baseline %s=%r in the record", p.value, raw)
    if "prestart_ok" in info:
        r.prestart = PrestartOutcome(
            info["prestart_ok"] == "1",
            info.get("prestart_message", ""),
            info.get("prestart_override_by"),
            info.get("prestart_override_reason"),
        )
