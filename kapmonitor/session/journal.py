"""How the nurse's session is written into its record: the set-up facts, the rows (with the ids the
session gives them) and an audit row for every change, each as it happens.

`NurseSession` decides what changed; this module knows which table, column and `session_info` key
says so (the SQL itself is in recording/session_rows.py). Changing the record's layout of the
session touches this file, not the session's logic.

Thread-safety: not locked. `NurseSession` calls it with its own lock held, so rows reach the
recorder's queue in the order the changes happened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from kapmonitor.recording.session_rows import set_session_info, update_row
from kapmonitor.session.catalogues import DischargeItem
from kapmonitor.session.entries import PrestartOutcome, RecordSink
from kapmonitor.session.infusion import Phase
from kapmonitor.session.model import DosePlan, SessionSetup
from kapmonitor.session.rules import NibpSchedule
from kapmonitor.session.storage import STATUS_DISCHARGED, STATUS_OPEN


def as_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class SessionJournal:
    """`SessionJournal(recorder)`: the session's writes, in the record's terms."""

    def __init__(self, sink: RecordSink) -> None:
        self.sink = sink

    def info(self, key: str, value: object) -> None:
        set_session_info(self.sink, key, value)

    def insert(self, table: str, row: Mapping[str, object]) -> None:
        self.sink.insert(table, row)

    def update(self, table: str, row_id: int, changes: Mapping[str, object]) -> None:
        update_row(self.sink, table, row_id, changes)

    def audit(
        self, t: float, who: str | None, action: str, table: str, row_id: int | None, before: object, after: object,
        reason: str | None = None,
    ) -> None:
        """One audit row: who did what to which row, when and why, with the values before and after."""
        self.sink.insert("audit", {
            "t": t, "who": who, "action": action, "table_name": table, "row_id": row_id,
            "before": None if before is None else as_json(before),
            "after": None if after is None else as_json(after),
            "reason": reason,
        })

    def on_duty(self, t: float, who: str, previous: str | None, now_on_duty: str | None) -> None:
        """A sign-in, change of nurse or sign-out: the nurse on duty kept in the record, and audited."""
        self.info("on_duty", now_on_duty or "")
        action = "sign_out" if now_on_duty is None else "sign_in" if previous is None else "change_nurse"
        self.audit(t, who, action, "session_info", None, {"on_duty": previous}, {"on_duty": now_on_duty})

    def resumed(self, t: float, who: str, phase: Phase, elapsed_s: float) -> None:
        """The program restarted and reopened the session (audited; the infusion event is written apart)."""
        self.audit(t, who, "resume", "session_info", None, None, {"phase": phase.value, "elapsed_s": elapsed_s},
                   "program restarted; session resumed")

    def infusion_event(self, row_id: int, t: float, action: str, reason: str | None, who: str | None) -> None:
        self.sink.insert("infusion_events", {"id": row_id, "t": t, "action": action, "reason": reason, "who": who})

    def setup(
        self, t: float, setup: SessionSetup, plan: DosePlan, observation_min: float, schedule: NibpSchedule,
        discharge_items: Sequence[DischargeItem],
    ) -> None:
        """The set-up as entered, the facts derived from it (plan, schedule, checklist), and its audit row."""
        entered = setup.to_info()
        facts = {
            "created_at": repr(t), "observation_min": repr(observation_min),
            "plan_total_mg": repr(plan.total_mg), "plan_volume_ml": repr(plan.volume_ml),
            "plan_rate_ml_per_h": repr(plan.rate_ml_per_h),
            "nibp_interval_infusion_min": repr(schedule.infusion_interval_min),
            "nibp_interval_after_min": repr(schedule.after_interval_min),
            "discharge_items": ",".join(i.key for i in discharge_items),
            "status": STATUS_OPEN, "phase": Phase.BASELINE.value,
        }
        for key, value in {**entered, **facts}.items():
            self.info(key, value)
        self.audit(t, setup.nurse_initials, "create", "session_info", None, None, setup.to_info())

    def started(self, t: float, baseline: Mapping[str, float], outcome: PrestartOutcome | None) -> None:
        """The infusion start: phase, time, the baseline vitals and the pre-start outcome (an override audited)."""
        self.info("phase", Phase.INFUSION.value)
        self.info("infusion_start", repr(t))
        for key, v in baseline.items():
            self.info(f"baseline_{key}", repr(v))
        if outcome is None:
            return
        self.info("prestart_ok", "1" if outcome.ok else "0")
        self.info("prestart_message", outcome.message)
        if not outcome.ok:
            self.info("prestart_override_by", outcome.override_by)
            self.info("prestart_override_reason", outcome.override_reason)
            self.audit(t, outcome.override_by, "override", "session_info", None, None, {"prestart": outcome.message},
                       outcome.override_reason)

    def stopped(self, t: float, who: str, computed_ml: float, read_back_ml: float | None) -> None:
        """The infusion stop: the volume computed and, when the nurse read it from the pump, the one
        given (audited); without a read-back the computed volume stands, marked unconfirmed."""
        given = computed_ml if read_back_ml is None else read_back_ml
        self.info("phase", Phase.OBSERVATION.value)
        self.info("infusion_stop", repr(t))
        self.info("volume_computed_ml", repr(computed_ml))
        self.info("volume_infused_ml", repr(given))
        self.info("volume_infused_confirmed", "1" if read_back_ml is not None else "0")
        if read_back_ml is not None:
            self.audit(t, who, "confirm_volume", "session_info", None,
                       {"volume_infused_ml": round(computed_ml, 3), "source": "computed"},
                       {"volume_infused_ml": round(given, 3), "source": "pump read-back"},
                       "volume read back from the pump at stop")

    def discharged(self, row_id: int, t: float, who: str, checklist: Mapping[str, object], reason: str | None) -> None:
        """The signed discharge row, the session closed, and its audit row (the infusion event is written
        by the session, which numbers it)."""
        self.insert("discharge", {"id": row_id, "t": t, "who": who, "checklist": as_json(checklist)})
        self.info("status", STATUS_DISCHARGED)
        self.info("phase", Phase.DISCHARGED.value)
        self.info("discharged_at", repr(t))
        self.audit(t, who, "discharge", "discharge", row_id, None, checklist, reason)
