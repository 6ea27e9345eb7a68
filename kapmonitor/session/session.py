"""The nurse's session: the facade the GUI uses for the infusion record.

`NurseSession` owns the infusion clock, the events, scales and discharge of one session, and
writes every change to the session recorder as it happens (the recorder commits at least every
half second, so a crash loses at most that). Row ids are assigned here, so edits and the audit
trail can name the row they change. What may be entered is in catalogues.py and entries.py, when
things are due and what discharge needs in rules.py, asked of one `snapshot()` (snapshot.py); the
nurse on duty in duty.py, the latest readings in readings.py, the SQL in recording/.

Thread-safety: every public method may be called from any thread; state is guarded by one
re-entrant lock. Listeners (`add_listener`) are called after a change, outside the lock, in the
thread that made the change: a GUI listener must hand over to the GUI thread (queued signal).
`on_items` is a dispatcher listener (reader thread); it only updates the latest readings and
does not call listeners. Items of manual vitals are handed to `submit_items` outside the lock,
so the dispatcher's lock and this one are never taken in the opposite order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kapmonitor.model.clock import Clock
from kapmonitor.model.events import Emitter
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, VitalSample
from kapmonitor.session import rules, snapshot
from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS, MANUAL_PARAMETERS, DischargeItem
from kapmonitor.session.duty import OnDuty
from kapmonitor.session.entries import (
    ClinicalEvent,
    DischargeError,
    PrestartCheck,
    PrestartOutcome,
    RecordSink,
    ScaleEntry,
    SessionClosedError,
    SessionError,
    addendum_fields,
    check_change,
    check_scale_score,
    intervention_fields,
    note_fields,
    resolve_prestart,
    side_effect_fields,
)
from kapmonitor.session.entry_book import EntryBook
from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError, Phase
from kapmonitor.session.journal import SessionJournal
from kapmonitor.session.model import SessionSetup, ValidationError, dose_plan
from kapmonitor.session.readings import LatestReadings
from kapmonitor.session.restore import ID_TABLES, Restored, read_restored, replay_infusion
from kapmonitor.session.rules import DischargeCheck, NibpSchedule, Prompt
from kapmonitor.session.snapshot import SessionSnapshot

log = logging.getLogger(__name__)

class NurseSession:
    """One session's infusion record. See the module docstring for threads."""

    def __init__(
        self, recorder: RecordSink, setup: SessionSetup, clock: Clock, observation_min: float | None = None, *,
        prestart_check: PrestartCheck | None = None, submit_items: Callable[[Sequence[Item]], None] | None = None,
        nibp_schedule: NibpSchedule | None = None, discharge_items: Sequence[DischargeItem] = DEFAULT_DISCHARGE_ITEMS,
        path: Path | None = None, on_duty: str | None = None, _restored: Restored | None = None,
    ) -> None:
        """`on_duty`: the nurse signed in at the start (audited); otherwise nobody is until `sign_in`."""
        if _restored is None:
            setup.validate()
        self.setup = setup
        self.plan = dose_plan(setup)
        self.path = path if path is not None else getattr(recorder, "path", None)
        self._recorder = recorder
        self._journal = SessionJournal(recorder)
        self._book = EntryBook(self._journal, self._next_id)
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: Emitter[[]] = Emitter("session")
        self.prestart_check = prestart_check
        self.submit_items = submit_items
        self.nibp_schedule = nibp_schedule or NibpSchedule()
        self.discharge_items: tuple[DischargeItem, ...] = tuple(discharge_items)
        self.owns_recorder = False
        obs_min = setup.observation_min if observation_min is None else observation_min
        self.observation_min = float(obs_min)
        self.infusion = InfusionClock(setup.duration_min * 60.0, self.observation_min * 60.0)
        self._infusion_log: list[tuple[float, str, str | None]] = []
        self._ids: dict[str, int] = dict.fromkeys(ID_TABLES, 0)
        self._readings = LatestReadings(self._lock)
        self._baseline: dict[Parameter, float] = {}
        self._closed = False
        self._confirmed_volume: float | None = None  # the pump's read-back at Stop
        self._duty = OnDuty(self._journal, self._lock)
        self.prestart: PrestartOutcome | None = None
        if _restored is None:
            self.created_at = clock.now()
            self._write_setup()
        else:
            self.created_at = float(_restored.info.get("created_at", clock.now()))
            self._restore(_restored)
        if on_duty is not None and on_duty.strip():
            self.sign_in(on_duty, t=self.created_at if _restored is None else None)

    # -- construction helpers ---------------------------------------------------------------
    @classmethod
    def create(
        cls, setup: SessionSetup, clock: Clock, path: Path | None = None, meta: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> NurseSession:
        """Start a recorder on a new file in the sessions folder and a session on it."""
        from kapmonitor.recording.recorder import SessionRecorder
        from kapmonitor.session.storage import new_session_path

        setup.validate()
        path = new_session_path(setup.pseudonym, clock.now()) if path is None else path
        recorder = SessionRecorder(path, meta).start()
        session = cls(recorder, setup, clock, path=path, **kwargs)
        session.owns_recorder = True
        return session

    @classmethod
    def resume(
        cls, path: Path, clock: Clock, recorder: RecordSink | None = None, who: str | None = None, **kwargs: Any,
    ) -> NurseSession:
        """Reopen an unfinished session: clock, phase, pauses, events and scales from the database.

        Starts a recorder on `path` unless one is given. Records the recovery (infusion_events
        action 'recovered' and an audit row). Raises SessionDatabaseError / ValidationError.
        """
        from kapmonitor.recording.recorder import SessionRecorder

        restored = read_restored(path)
        setup = SessionSetup.from_info(restored.info)
        owns = recorder is None
        if recorder is None:
            recorder = SessionRecorder(path).start()
        obs = restored.info.get("observation_min")
        session = cls(recorder, setup, clock, float(obs) if obs else None, path=path, _restored=restored, **kwargs)
        session.owns_recorder = owns
        t = clock.now()
        with session._lock:
            phase = session.infusion.phase_at(t)
            session._write_infusion_event(t, "recovered", f"session reopened in phase {phase.value}", who)
            session._journal.resumed(t, session.acting(who), phase, session.infusion.elapsed_s(t))
        log.info("resumed session %s in phase %s", path, phase.value)
        return session

    def shutdown(self) -> None:
        """Stop the recorder if this session started it (flushes everything)."""
        if self.owns_recorder:
            stop = getattr(self._recorder, "stop", None)
            if callable(stop):
                stop()

    def flush(self) -> bool:
        flush = getattr(self._recorder, "flush", None)
        return bool(flush()) if callable(flush) else True

    # -- listeners -----------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.add(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.remove(callback)

    def _notify(self) -> None:
        self._listeners.emit()  # a failing view is logged and never stops the others

    # -- the nurse on duty (duty.py) ------------------------------------------------------------------
    @property
    def on_duty(self) -> str | None:
        """Initials of the nurse signed in at the bedside now; None when nobody is."""
        return self._duty.initials

    def acting(self, who: str | None = None) -> str:
        """Who an action is credited to: `who` if given, else the nurse on duty, else NOT_SIGNED_IN."""
        return self._duty.acting(who)

    def sign_in(self, initials: str, t: float | None = None) -> str:
        """The nurse on duty signs in (a change of nurse when another one was): audited, kept in the record.

        Allowed after discharge too (alarms are still acknowledged then). Raises ValidationError.
        """
        initials, changed = self._duty.sign_in(initials, self.now() if t is None else t)
        if changed:
            self._notify()
        return initials

    def sign_out(self, t: float | None = None) -> None:
        """Nobody is on duty any more: later actions are credited NOT_SIGNED_IN until someone signs in."""
        if self._duty.sign_out(self.now() if t is None else t):
            self._notify()

    # -- time and state ---------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock.now()

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def simulated(self) -> bool:
        return self.setup.simulated

    def phase(self, t: float | None = None) -> Phase:
        with self._lock:
            return self.infusion.phase_at(self.now() if t is None else t)

    def baseline(self) -> dict[Parameter, float]:
        with self._lock:
            return dict(self._baseline)

    def latest(self) -> dict[Parameter, tuple[float, float]]:
        """Latest valid value of each parameter as (time, value)."""
        return self._readings.latest()

    def infusion_window(self, t: float | None = None) -> tuple[float, float] | None:
        """(start, actual or planned end) for shading the trend; None before the start."""
        with self._lock:
            return self.infusion.infusion_window(self.now() if t is None else t)

    def volume_infused_ml(self, t: float | None = None) -> float:
        """The volume read back from the pump once confirmed at Stop, else rate × infusing time."""
        return snapshot.volume_given(self.snapshot(t))

    def infusion_overrun_s(self, t: float | None = None) -> float:
        """Seconds the pump has run past the planned infusion time (0 when not infusing)."""
        with self._lock:
            return self.infusion.overrun_s(self.now() if t is None else t)

    def infusion_log(self) -> list[tuple[float, str, str | None]]:
        with self._lock:
            return list(self._infusion_log)

    # -- recording helpers (call with the lock held) ----------------------------------------------
    def _next_id(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def _write_infusion_event(self, t: float, action: str, reason: str | None, who: str | None) -> None:
        self._journal.infusion_event(self._next_id("infusion_events"), t, action, reason, who)
        self._infusion_log.append((t, action, reason))

    def _write_setup(self) -> None:
        with self._lock:
            self._journal.setup(self.created_at, self.setup, self.plan, self.observation_min, self.nibp_schedule,
                                self.discharge_items)

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError("the session has been discharged and is closed; add an addendum instead")

    # -- infusion ------------------------------------------------------------------------------
    def start_infusion(
        self, t: float | None = None, who: str | None = None, override_reason: str | None = None,
    ) -> PrestartOutcome | None:
        """Run the pre-start check, then start the clock. Raises PrestartBlockedError unless ok or overridden."""
        who = self.acting(who)
        outcome = None if self.prestart_check is None else resolve_prestart(self.prestart_check(), who, override_reason)
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            try:
                self.infusion.start(t)
            except InfusionTransitionError as exc:
                raise SessionError(str(exc)) from exc
            self._write_infusion_event(t, "start", None, who)
            self._baseline = {p: v for p, (_, v) in self._readings.latest().items() if p in MANUAL_PARAMETERS}
            self._journal.started(t, {p.value: v for p, v in self._baseline.items()}, outcome)
            if outcome is not None:
                self.prestart = outcome
        self._notify()
        return outcome

    def pause_infusion(self, reason: str, t: float | None = None, who: str | None = None) -> None:
        self._infusion_action("pause", t, who, reason)

    def resume_infusion(self, t: float | None = None, who: str | None = None) -> None:
        self._infusion_action("resume", t, who, None)

    def stop_infusion(
        self, t: float | None = None, who: str | None = None, reason: str | None = None, volume_ml: float | None = None,
    ) -> None:
        """Stop the pump. `volume_ml` is the volume the nurse read back from the pump: it becomes the
        record's volume (and dose) given; without it the computed volume is kept, marked unconfirmed.
        Raises ValidationError for an implausible volume (nothing is recorded then)."""
        if volume_ml is not None:
            with self._lock:
                t_check = self.now() if t is None else t
                self.check_infused_volume(volume_ml, self.computed_volume_ml(t_check))
        self._infusion_action("stop", t, who, reason, volume_ml)

    def computed_volume_ml(self, t: float | None = None) -> float:
        """Planned rate × infusing time: what the pump should have given by `t` (no cap at the plan)."""
        return self.snapshot(t).computed_ml

    def check_infused_volume(self, volume_ml: object, computed_ml: float | None = None) -> float:
        """The pump's read-back volume as a float, or ValidationError('volume_ml', why)."""
        computed = self.computed_volume_ml() if computed_ml is None else computed_ml
        return rules.check_infused_volume(volume_ml, self.plan.volume_ml, computed)

    def _infusion_action(
        self, action: str, t: float | None, who: str | None, reason: str | None, volume_ml: float | None = None
    ) -> None:
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            try:
                self.infusion.apply(action, t, reason)
            except InfusionTransitionError as exc:
                raise SessionError(str(exc)) from exc
            self._write_infusion_event(t, action, reason.strip() if reason else None, self.acting(who))
            if action == "stop":
                computed = self.infusion.volume_infused_ml(t, self.plan.rate_ml_per_h)
                self._confirmed_volume = None if volume_ml is None else float(volume_ml)
                self._journal.stopped(t, self.acting(who), computed, self._confirmed_volume)
        self._notify()

    # -- acquisition listener ---------------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        """Dispatcher listener: keeps the latest valid readings and the last NIBP time (readings.py)."""
        self._readings.on_items(items)

    def last_nibp(self) -> float | None:
        return self._readings.last_nibp

    def nibp_next_due(self, t: float | None = None) -> float | None:
        return snapshot.nibp_next_due(self.snapshot(t), self.nibp_schedule)

    # -- manual vitals ------------------------------------------------------------------------------
    def submit_manual_vitals(
        self, values: Mapping[Parameter, float], t: float | None = None, who: str | None = None,
    ) -> list[VitalSample]:
        """Validate and hand manual readings to the pipeline (alarms, plot, record), marked MANUAL."""
        rules.check_manual_vitals(values)
        with self._lock:
            t = self.now() if t is None else t
            samples = rules.manual_samples(values, t)
            self._journal.audit(
                t, self.acting(who), "manual_entry", "samples", None, None, {p.value: v for p, v in values.items()},
            )
        if self.submit_items is not None:
            self.submit_items(samples)
        else:
            self._recorder.on_items(samples)
        self.on_items(samples)
        self._notify()
        return samples

    # -- events and scales (entry_book.py) ----------------------------------------------------------
    def _add_event(self, t: float | None, who: str | None, **fields_: Any) -> ClinicalEvent:
        with self._lock:
            if fields_["category"] != "addendum":
                self._check_open()
            event = self._book.add_event(self.now() if t is None else t, self.acting(who), fields_)
        self._notify()
        return event

    def add_side_effect(
        self, name: str, severity: str, note: str | None = None, t: float | None = None, who: str | None = None,
    ) -> ClinicalEvent:
        return self._add_event(t, who, **side_effect_fields(name, severity, note))

    def add_intervention(
        self, drug: str, dose: str, route: str, note: str | None = None, t: float | None = None, who: str | None = None,
    ) -> ClinicalEvent:
        return self._add_event(t, who, **intervention_fields(drug, dose, route, note))

    def add_note(self, text: str, t: float | None = None, who: str | None = None) -> ClinicalEvent:
        return self._add_event(t, who, **note_fields(text))

    def add_addendum(self, text: str, who: str, t: float | None = None) -> ClinicalEvent:
        """Allowed after discharge too; always audited."""
        return self._add_event(t, who.strip(), **addendum_fields(text, who))

    def events(self, include_deleted: bool = False) -> list[ClinicalEvent]:
        with self._lock:
            return sorted((e for e in self._book.events.values() if include_deleted or not e.deleted),
                          key=lambda e: e.t)

    def edit_event(self, event_id: int, who: str, reason: str, **changes: Any) -> ClinicalEvent:
        """Change an event; the audit row keeps who, when, why and what it was before."""
        check_change(who, reason, fields=changes)
        with self._lock:
            self._check_open()
            old = self._book.events.get(event_id)
            new = self._book.edit_event(event_id, who.strip(), reason.strip(), changes, self.now())
        if new is not old:
            self._notify()
        return new

    def delete_event(self, event_id: int, who: str, reason: str) -> None:
        """Mark an event deleted (the row stays, with an audit row)."""
        check_change(who, reason, reason_needed=True)
        with self._lock:
            self._check_open()
            self._book.delete_event(event_id, who.strip(), reason.strip(), self.now())
        self._notify()

    def record_scale(
        self, scale: str, score: float, detail: str | None = None, t: float | None = None, who: str | None = None,
    ) -> ScaleEntry:
        check_scale_score(scale, score)  # before the lock: a slip is told even on a closed session
        with self._lock:
            self._check_open()
            entry = self._book.add_scale(self.now() if t is None else t, self.acting(who), scale, score, detail)
        self._notify()
        return entry

    def edit_scale(self, entry_id: int, score: float, who: str, reason: str) -> ScaleEntry:
        with self._lock:
            self._check_open()
            new = self._book.edit_scale(entry_id, score, who, reason, self.now())
        self._notify()
        return new

    def scales(self, scale: str | None = None) -> list[ScaleEntry]:
        with self._lock:
            return sorted((s for s in self._book.scales.values() if scale is None or s.scale == scale),
                          key=lambda s: s.t)

    # -- what is due, markers, discharge assessment (snapshot.py, rules.py) -----------------------------
    def snapshot(self, t: float | None = None) -> SessionSnapshot:
        """The session's facts at `t` (default now), frozen: what the clinical rules are asked about."""
        with self._lock:
            return SessionSnapshot.of(
                self.now() if t is None else t, self.infusion, observation_min=self.observation_min,
                last_nibp=self._readings.last_nibp, latest=self._readings.latest(), baseline=self._baseline,
                scales=list(self._book.scales.values()), events=list(self._book.events.values()),
                infusion_log=self._infusion_log, escort=bool(self.setup.escort),
                rate_ml_per_h=self.plan.rate_ml_per_h, confirmed_ml=self._confirmed_volume,
            )

    def moaas_next_due(self, t: float | None = None) -> float | None:
        return snapshot.moaas_next_due(self.snapshot(t))

    def cadss_due(self, t: float | None = None) -> bool:
        """True near the end of the infusion (last 5 min to 30 min after) until a CADSS is recorded."""
        return snapshot.cadss_due(self.snapshot(t))

    def due_prompts(self, t: float | None = None) -> list[Prompt]:
        """What is due now: NIBP, MOAA/S, CADSS, stopping the pump, discharge, watching breathing."""
        return snapshot.due_prompts(self.snapshot(t), self.nibp_schedule)

    def markers(self, t: float | None = None) -> list[tuple[float, str, str]]:
        """(time, kind, label) of phase changes, pauses, events and scales for the trend, in time order."""
        return snapshot.markers(self.snapshot(t))

    # -- discharge -------------------------------------------------------------------------------------------
    def discharge_assessment(self, t: float | None = None) -> list[DischargeCheck]:
        """What the program can tell about each checklist item (the nurse decides)."""
        return snapshot.discharge_assessment(self.snapshot(t), self.discharge_items)

    def discharge(
        self, who: str, checked: Mapping[str, bool], t: float | None = None, override_reason: str | None = None,
    ) -> None:
        """Sign the discharge: every item ticked (or an override reason), then the session closes."""
        if not who.strip():
            raise ValidationError("who", "sign the discharge with your initials")
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            if self.infusion.stopped_at is None:
                raise DischargeError("stop the infusion before discharge")
            assessment = {c.item.key: c for c in self.discharge_assessment(t)}
            reason = (override_reason or "").strip()
            checklist = rules.signed_checklist(
                self.discharge_items, checked, assessment, reason, self.infusion.observation_elapsed_s(t),
                self.observation_min, self.infusion.observation_remaining_s(t) or 0.0,
            )
            try:
                self.infusion.discharge(t)
            except InfusionTransitionError as exc:
                raise DischargeError(str(exc)) from exc
            self._write_infusion_event(t, "discharge", reason or None, who.strip())
            self._journal.discharged(self._next_id("discharge"), t, who.strip(), checklist, reason or None)
            self._closed = True
        self._notify()

    # -- restore -----------------------------------------------------------------------------------------------
    def _restore(self, r: Restored) -> None:
        self._infusion_log = replay_infusion(self.infusion, r.infusion_events)
        self._book.events = {e.id: e for e in r.events}
        self._book.scales = {s.id: s for s in r.scales}
        self._ids.update(r.max_ids)
        self._readings.restore(r.latest, r.last_nibp)
        self._closed = r.discharged
        self._confirmed_volume, self.prestart = r.confirmed_volume, r.prestart
        self._duty.restore(r.on_duty)
        self._baseline = dict(r.baseline)
