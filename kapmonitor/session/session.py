"""The nurse's session: the facade the GUI uses for the infusion record.

`NurseSession` owns the infusion clock, the events, scales and discharge of one session, and
writes every change to the session recorder as it happens (the recorder commits at least every
half second, so a crash loses at most that). Row ids are assigned here, so edits and the audit
trail can name the row they change.

Thread-safety: every public method may be called from any thread; state is guarded by one
re-entrant lock. Listeners (`add_listener`) are called after a change, outside the lock, in the
thread that made the change: a GUI listener must hand over to the GUI thread (queued signal).
`on_items` is a dispatcher listener (reader thread); it only updates the latest readings and
does not call listeners. Items of manual vitals are handed to `submit_items` outside the lock,
so the dispatcher's lock and this one are never taken in the opposite order.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from kapmonitor.model.clock import Clock
from kapmonitor.model.events import Emitter
from kapmonitor.model.parameters import NIBP_PARAMETERS, PARAMETER_INFO, Parameter
from kapmonitor.model.samples import Item, Source, Status, VitalSample
from kapmonitor.session.infusion import InfusionClock, InfusionTransitionError, Phase, format_duration
from kapmonitor.session.model import SessionSetup, ValidationError, check_initials, dose_plan
from kapmonitor.session.storage import STATUS_DISCHARGED, STATUS_OPEN, read_info

log = logging.getLogger(__name__)

SIDE_EFFECTS: tuple[str, ...] = (
    "nausea",
    "vomiting",
    "dizziness",
    "dissociation",
    "anxiety",
    "headache",
    "hypertension",
    "other",
)
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
ROUTES: tuple[str, ...] = ("IV", "PO", "SL", "IM", "SC", "IN")

# Who an action is credited to when no nurse is signed in: the action is never blocked for it.
NOT_SIGNED_IN = "not signed in"


@dataclass(frozen=True, slots=True)
class QuickIntervention:
    drug: str
    dose: str
    route: str

    @property
    def label(self) -> str:
        return f"{self.drug} {self.dose} {self.route}"


QUICK_INTERVENTIONS: tuple[QuickIntervention, ...] = (
    QuickIntervention("Ondansetron", "4 mg", "IV"),
    QuickIntervention("Ondansetron", "4 mg", "PO"),
    QuickIntervention("Metoclopramide", "10 mg", "IV"),
    QuickIntervention("Lorazepam", "1 mg", "SL"),
    QuickIntervention("Midazolam", "1 mg", "IV"),
    QuickIntervention("Clonidine", "0.1 mg", "PO"),
    QuickIntervention("Labetalol", "10 mg", "IV"),
)


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    key: str
    label: str
    minimum: int
    maximum: int


SCALES: dict[str, ScaleSpec] = {
    "moaas": ScaleSpec("moaas", "MOAA/S", 0, 5),
    "cadss": ScaleSpec("cadss", "CADSS", 0, 92),  # 23 items scored 0-4
    "bprs": ScaleSpec("bprs", "BPRS", 18, 126),  # 18 items scored 1-7
}

MOAAS_INTERVAL_S = 15 * 60.0
CADSS_WINDOW_BEFORE_END_S = 5 * 60.0
CADSS_WINDOW_AFTER_END_S = 30 * 60.0

# Manual entry bounds: tighter than "plausible" only where a typing slip is likely.
MANUAL_PARAMETERS: tuple[Parameter, ...] = (
    Parameter.HR,
    Parameter.SPO2,
    Parameter.NIBP_SYS,
    Parameter.NIBP_DIA,
    Parameter.NIBP_MEAN,
)


class SessionError(Exception):
    """A session action that cannot be done now; the message says why in one line."""


class SessionClosedError(SessionError):
    """The session has been discharged: only audited addenda may be added."""


class PrestartBlockedError(SessionError):
    """The pre-start check failed and nobody overrode it."""


class DischargeError(SessionError):
    """Discharge criteria are not met (and no override was given)."""


class RecordSink(Protocol):
    """What the session needs of `SessionRecorder`."""

    def insert(self, table: str, row: Mapping[str, object]) -> None: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> None: ...

    def on_items(self, items: Sequence[Item]) -> None: ...


@dataclass(frozen=True, slots=True)
class PrestartOutcome:
    """The pre-start check as recorded: its verdict and, if overridden, who and why."""

    ok: bool
    message: str
    override_by: str | None = None
    override_reason: str | None = None


PrestartCheck = Callable[[], object]


def interpret_prestart(result: object) -> PrestartOutcome:
    """Accept what a pre-start hook returns: a bool, (ok, message), or an object with `ok`.

    An object may also carry `override_by`/`who` and `override_reason`/`reason` when the hook
    asked the nurse to override, and `message`/`summary` describing the findings.
    """
    if isinstance(result, PrestartOutcome):
        return result
    if isinstance(result, bool):
        return PrestartOutcome(result, "pre-start check passed" if result else "pre-start check failed")
    if isinstance(result, tuple) and len(result) >= 1:
        return PrestartOutcome(bool(result[0]), str(result[1]) if len(result) > 1 else "")
    ok = bool(getattr(result, "ok", False))
    message = getattr(result, "message", None) or getattr(result, "summary", None)
    if callable(message):
        message = message()
    if message is None:
        problems = getattr(result, "problems", None) or getattr(result, "findings", None)
        message = "; ".join(str(p) for p in problems) if problems else ""
    who = getattr(result, "override_by", None) or getattr(result, "who", None)
    reason = getattr(result, "override_reason", None) or getattr(result, "reason", None)
    return PrestartOutcome(ok, str(message), None if who is None else str(who), None if reason is None else str(reason))


@dataclass(frozen=True, slots=True)
class ClinicalEvent:
    id: int
    t: float
    category: str  # side_effect, intervention, note, addendum
    name: str
    severity: str | None = None
    drug: str | None = None
    dose: str | None = None
    route: str | None = None
    note: str | None = None
    who: str | None = None
    deleted: bool = False

    @property
    def label(self) -> str:
        if self.category == "side_effect":
            text = self.name.capitalize() + (f" ({self.severity})" if self.severity else "")
            return text + (f": {self.note}" if self.note else "")
        if self.category == "intervention":
            return " ".join(x for x in (self.drug or self.name, self.dose, self.route) if x)
        prefix = "Addendum" if self.category == "addendum" else "Note"
        return f"{prefix}: {self.note or self.name}"


@dataclass(frozen=True, slots=True)
class ScaleEntry:
    id: int
    t: float
    scale: str
    score: float
    detail: str | None = None
    who: str | None = None
    deleted: bool = False

    @property
    def label(self) -> str:
        spec = SCALES.get(self.scale)
        return f"{spec.label if spec else self.scale} {self.score:g}"


@dataclass(frozen=True, slots=True)
class Prompt:
    """Something the nurse should do now (shown in the panel, with a sound if the GUI wants)."""

    kind: str  # nibp, moaas, cadss, stop, discharge
    due_at: float
    message: str


@dataclass(frozen=True, slots=True)
class NibpSchedule:
    """NIBP every `infusion_interval_min` during the infusion, every `after_interval_min` after."""

    infusion_interval_min: float = 10.0
    after_interval_min: float = 15.0

    def __post_init__(self) -> None:
        if not (self.infusion_interval_min > 0 and self.after_interval_min > 0):
            raise ValueError("NIBP intervals must be positive")

    def next_due(
        self,
        t: float,
        phase: Phase,
        last_measurement: float | None,
        infusion_start: float | None = None,
        infusion_stop: float | None = None,
    ) -> float | None:
        """When the next NIBP is due (may be <= t: due now); None when none is scheduled."""
        if phase is Phase.DISCHARGED:
            return None
        if phase is Phase.BASELINE:
            return t if last_measurement is None else None  # a baseline reading is needed
        if phase is Phase.INFUSION:
            ref = infusion_start if infusion_start is not None else t
            if last_measurement is not None:
                ref = max(ref, last_measurement)
            return ref + self.infusion_interval_min * 60.0
        ref = infusion_stop if infusion_stop is not None else t
        if last_measurement is not None:
            ref = last_measurement
        return ref + self.after_interval_min * 60.0


@dataclass(frozen=True, slots=True)
class DischargeItem:
    key: str
    label: str
    auto: bool = False  # the program can assess it (the nurse still ticks it)


DEFAULT_DISCHARGE_ITEMS: tuple[DischargeItem, ...] = (
    DischargeItem("min_observation", "Minimum observation time elapsed", auto=True),
    DischargeItem("vitals_baseline", "Vitals back near baseline", auto=True),
    DischargeItem("moaas_5", "Alert: MOAA/S 5", auto=True),
    DischargeItem("walking", "Walks steadily"),
    DischargeItem("no_nausea_dizziness", "No nausea or dizziness", auto=True),
    DischargeItem("escort", "Escort present"),
)


@dataclass(frozen=True, slots=True)
class DischargeCheck:
    item: DischargeItem
    met: bool | None  # None: cannot be assessed by the program
    detail: str


@dataclass
class _Restored:
    """State read back from a database for `NurseSession.resume`."""

    info: dict[str, str]
    infusion_events: list[tuple[int, float, str, str | None]]
    events: list[ClinicalEvent]
    scales: list[ScaleEntry]
    discharged: bool
    last_nibp: float | None
    latest: dict[Parameter, tuple[float, float]]
    max_ids: dict[str, int] = field(default_factory=dict)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class NurseSession:
    """One session's infusion record. See the module docstring for threads."""

    def __init__(
        self,
        recorder: RecordSink,
        setup: SessionSetup,
        clock: Clock,
        observation_min: float | None = None,
        *,
        prestart_check: PrestartCheck | None = None,
        submit_items: Callable[[Sequence[Item]], None] | None = None,
        nibp_schedule: NibpSchedule | None = None,
        discharge_items: Sequence[DischargeItem] = DEFAULT_DISCHARGE_ITEMS,
        path: Path | None = None,
        on_duty: str | None = None,
        _restored: _Restored | None = None,
    ) -> None:
        """`on_duty`: the nurse signed in at the start (audited); otherwise nobody is until `sign_in`."""
        if _restored is None:
            setup.validate()
        self.setup = setup
        self.plan = dose_plan(setup)
        self.path = path if path is not None else getattr(recorder, "path", None)
        self._recorder = recorder
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
        self._events: dict[int, ClinicalEvent] = {}
        self._scales: dict[int, ScaleEntry] = {}
        self._infusion_log: list[tuple[float, str, str | None]] = []
        self._ids: dict[str, int] = {"infusion_events": 0, "clinical_events": 0, "scales": 0, "discharge": 0}
        self._last_nibp: float | None = None
        self._latest: dict[Parameter, tuple[float, float]] = {}
        self._baseline: dict[Parameter, float] = {}
        self._closed = False
        self._confirmed_volume: float | None = None  # the pump's read-back at Stop
        self._on_duty: str | None = None
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
        cls,
        setup: SessionSetup,
        clock: Clock,
        path: Path | None = None,
        meta: Mapping[str, object] | None = None,
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
        cls,
        path: Path,
        clock: Clock,
        recorder: RecordSink | None = None,
        who: str | None = None,
        **kwargs: Any,
    ) -> NurseSession:
        """Reopen an unfinished session: clock, phase, pauses, events and scales from the database.

        Starts a recorder on `path` unless one is given. Records the recovery (infusion_events
        action 'recovered' and an audit row). Raises SessionDatabaseError / ValidationError.
        """
        from kapmonitor.recording.database import open_read_only
        from kapmonitor.recording.recorder import SessionRecorder

        conn = open_read_only(path)
        try:
            restored = _read_restored(conn)
        finally:
            conn.close()
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
            session._audit(
                t,
                session.acting(who),
                "resume",
                "session_info",
                None,
                None,
                {"phase": phase.value, "elapsed_s": session.infusion.elapsed_s(t)},
                "program restarted; session resumed",
            )
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

    # -- the nurse on duty -------------------------------------------------------------------------
    @property
    def on_duty(self) -> str | None:
        """Initials of the nurse signed in at the bedside now; None when nobody is."""
        with self._lock:
            return self._on_duty

    def acting(self, who: str | None = None) -> str:
        """Who an action is credited to: `who` if given, else the nurse on duty, else NOT_SIGNED_IN.

        Never the set-up nurse by default: a nurse who took over must be credited, not her colleague.
        """
        if who is not None and who.strip():
            return who.strip()
        with self._lock:
            return self._on_duty or NOT_SIGNED_IN

    def sign_in(self, initials: str, t: float | None = None) -> str:
        """The nurse on duty signs in (a change of nurse when another one was): audited, kept in the record.

        Allowed after discharge too (alarms are still acknowledged then). Raises ValidationError.
        """
        initials = check_initials(initials)
        with self._lock:
            previous = self._on_duty
            if previous == initials:
                return initials
            t = self.now() if t is None else t
            self._on_duty = initials
            self._info("on_duty", initials)
            action = "sign_in" if previous is None else "change_nurse"
            self._audit(t, initials, action, "session_info", None, {"on_duty": previous}, {"on_duty": initials})
        log.info("nurse on duty: %s (was %s)", initials, previous or "nobody")
        self._notify()
        return initials

    def sign_out(self, t: float | None = None) -> None:
        """Nobody is on duty any more: later actions are credited NOT_SIGNED_IN until someone signs in."""
        with self._lock:
            previous = self._on_duty
            if previous is None:
                return
            t = self.now() if t is None else t
            self._on_duty = None
            self._info("on_duty", "")
            self._audit(t, previous, "sign_out", "session_info", None, {"on_duty": previous}, {"on_duty": None})
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
        with self._lock:
            return dict(self._latest)

    def infusion_window(self, t: float | None = None) -> tuple[float, float] | None:
        """(start, actual or planned end) for shading the trend; None before the start."""
        with self._lock:
            return self.infusion.infusion_window(self.now() if t is None else t)

    def volume_infused_ml(self, t: float | None = None) -> float:
        """The volume read back from the pump once confirmed at Stop, else rate × infusing time."""
        with self._lock:
            t = self.now() if t is None else t
            stop = self.infusion.stopped_at
            if self._confirmed_volume is not None and stop is not None and t >= stop:
                return self._confirmed_volume
            return self.infusion.volume_infused_ml(t, self.plan.rate_ml_per_h)

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

    def _info(self, key: str, value: object) -> None:
        self._recorder.execute(
            "INSERT OR REPLACE INTO session_info (key, value) VALUES (?, ?)",
            (key, None if value is None else str(value)),
        )

    def _audit(
        self,
        t: float,
        who: str | None,
        action: str,
        table: str,
        row_id: int | None,
        before: object,
        after: object,
        reason: str | None = None,
    ) -> None:
        self._recorder.insert(
            "audit",
            {
                "t": t,
                "who": who,
                "action": action,
                "table_name": table,
                "row_id": row_id,
                "before": None if before is None else _json(before),
                "after": None if after is None else _json(after),
                "reason": reason,
            },
        )

    def _write_infusion_event(self, t: float, action: str, reason: str | None, who: str | None) -> None:
        row_id = self._next_id("infusion_events")
        self._recorder.insert("infusion_events", {"id": row_id, "t": t, "action": action, "reason": reason, "who": who})
        self._infusion_log.append((t, action, reason))

    def _write_setup(self) -> None:
        with self._lock:
            t = self.created_at
            info = self.setup.to_info()
            info.update(
                {
                    "created_at": repr(t),
                    "observation_min": repr(self.observation_min),
                    "plan_total_mg": repr(self.plan.total_mg),
                    "plan_volume_ml": repr(self.plan.volume_ml),
                    "plan_rate_ml_per_h": repr(self.plan.rate_ml_per_h),
                    "nibp_interval_infusion_min": repr(self.nibp_schedule.infusion_interval_min),
                    "nibp_interval_after_min": repr(self.nibp_schedule.after_interval_min),
                    "discharge_items": ",".join(i.key for i in self.discharge_items),
                    "status": STATUS_OPEN,
                    "phase": Phase.BASELINE.value,
                }
            )
            for key, value in info.items():
                self._info(key, value)
            self._audit(t, self.setup.nurse_initials, "create", "session_info", None, None, self.setup.to_info())

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError("the session has been discharged and is closed; add an addendum instead")

    # -- infusion ------------------------------------------------------------------------------
    def start_infusion(
        self,
        t: float | None = None,
        who: str | None = None,
        override_reason: str | None = None,
    ) -> PrestartOutcome | None:
        """Run the pre-start check, then start the clock. Raises PrestartBlockedError unless ok or overridden."""
        who = self.acting(who)
        outcome: PrestartOutcome | None = None
        if self.prestart_check is not None:
            outcome = interpret_prestart(self.prestart_check())
            if not outcome.ok:
                reason = outcome.override_reason or override_reason
                if not reason or not reason.strip():
                    raise PrestartBlockedError(f"pre-start check failed: {outcome.message or 'see the check'}")
                outcome = replace(outcome, override_by=outcome.override_by or who, override_reason=reason.strip())
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            try:
                self.infusion.start(t)
            except InfusionTransitionError as exc:
                raise SessionError(str(exc)) from exc
            self._write_infusion_event(t, "start", None, who)
            self._info("phase", Phase.INFUSION.value)
            self._info("infusion_start", repr(t))
            self._capture_baseline(t)
            if outcome is not None:
                self.prestart = outcome
                self._info("prestart_ok", "1" if outcome.ok else "0")
                self._info("prestart_message", outcome.message)
                if not outcome.ok:
                    self._info("prestart_override_by", outcome.override_by)
                    self._info("prestart_override_reason", outcome.override_reason)
                    self._audit(
                        t,
                        outcome.override_by,
                        "override",
                        "session_info",
                        None,
                        None,
                        {"prestart": outcome.message},
                        outcome.override_reason,
                    )
        self._notify()
        return outcome

    def _capture_baseline(self, t: float) -> None:
        self._baseline = {p: v for p, (_, v) in self._latest.items() if p in MANUAL_PARAMETERS}
        for p, v in self._baseline.items():
            self._info(f"baseline_{p.value}", repr(v))

    def pause_infusion(self, reason: str, t: float | None = None, who: str | None = None) -> None:
        self._infusion_action("pause", t, who, reason)

    def resume_infusion(self, t: float | None = None, who: str | None = None) -> None:
        self._infusion_action("resume", t, who, None)

    def stop_infusion(
        self,
        t: float | None = None,
        who: str | None = None,
        reason: str | None = None,
        volume_ml: float | None = None,
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
        with self._lock:
            return self.infusion.volume_infused_ml(self.now() if t is None else t, self.plan.rate_ml_per_h)

    def check_infused_volume(self, volume_ml: object, computed_ml: float | None = None) -> float:
        """The pump's read-back volume as a float, or ValidationError('volume_ml', why)."""
        if not isinstance(volume_ml, int | float) or isinstance(volume_ml, bool) or not math.isfinite(volume_ml):
            raise ValidationError("volume_ml", "enter the volume infused in mL, as the pump shows it")
        if volume_ml < 0:
            raise ValidationError("volume_ml", "the volume infused cannot be negative")
        computed = self.computed_volume_ml() if computed_ml is None else computed_ml
        ceiling = max(3.0 * self.plan.volume_ml, 1.5 * computed)
        if volume_ml > ceiling:
            raise ValidationError(
                "volume_ml",
                f"{volume_ml:g} mL is far more than planned ({self.plan.volume_ml:.2f} mL): check the decimal point",
            )
        return float(volume_ml)

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
                self._info("phase", Phase.OBSERVATION.value)
                self._info("infusion_stop", repr(t))
                computed = self.infusion.volume_infused_ml(t, self.plan.rate_ml_per_h)
                self._info("volume_computed_ml", repr(computed))
                given = computed if volume_ml is None else float(volume_ml)
                self._info("volume_infused_ml", repr(given))
                self._info("volume_infused_confirmed", "1" if volume_ml is not None else "0")
                self._confirmed_volume = None if volume_ml is None else given
                if volume_ml is not None:
                    self._audit(
                        t,
                        self.acting(who),
                        "confirm_volume",
                        "session_info",
                        None,
                        {"volume_infused_ml": round(computed, 3), "source": "computed"},
                        {"volume_infused_ml": round(given, 3), "source": "pump read-back"},
                        "volume read back from the pump at stop",
                    )
        self._notify()

    # -- acquisition listener ---------------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        """Dispatcher listener: keeps the latest valid readings and the last NIBP time."""
        with self._lock:
            for item in items:
                if isinstance(item, VitalSample) and item.valid and item.value is not None:
                    prev = self._latest.get(item.parameter)
                    if prev is None or item.time >= prev[0]:
                        self._latest[item.parameter] = (item.time, item.value)
                    if item.parameter is Parameter.NIBP_SYS and (
                        self._last_nibp is None or item.time > self._last_nibp
                    ):
                        self._last_nibp = item.time

    def last_nibp(self) -> float | None:
        with self._lock:
            return self._last_nibp

    def nibp_next_due(self, t: float | None = None) -> float | None:
        with self._lock:
            t = self.now() if t is None else t
            return self.nibp_schedule.next_due(
                t, self.infusion.phase_at(t), self._last_nibp, self.infusion.started_at, self.infusion.stopped_at
            )

    # -- manual vitals ------------------------------------------------------------------------------
    def submit_manual_vitals(
        self,
        values: Mapping[Parameter, float],
        t: float | None = None,
        who: str | None = None,
    ) -> list[VitalSample]:
        """Validate and hand manual readings to the pipeline (alarms, plot, record), marked MANUAL."""
        if not values:
            raise ValidationError("vitals", "enter at least one value")
        for p, v in values.items():
            if p not in MANUAL_PARAMETERS:
                raise ValidationError(p.value, f"{p.value} cannot be entered by hand")
            info = PARAMETER_INFO[p]
            if not isinstance(v, int | float) or isinstance(v, bool) or v != v:
                raise ValidationError(p.value, "must be a number")
            if not info.plausible_min <= v <= info.plausible_max:
                raise ValidationError(
                    p.value,
                    f"{info.label} {v:g} is outside {info.plausible_min:g}–{info.plausible_max:g} {info.display_unit}",
                )
        sys_, dia = values.get(Parameter.NIBP_SYS), values.get(Parameter.NIBP_DIA)
        if (sys_ is None) != (dia is None):
            raise ValidationError("nibp_dia" if dia is None else "nibp_sys", "enter both systolic and diastolic")
        if sys_ is not None and dia is not None and dia >= sys_:
            raise ValidationError("nibp_dia", "diastolic must be lower than systolic")
        with self._lock:
            t = self.now() if t is None else t
            mid = f"manual-{uuid.uuid4().hex[:12]}" if sys_ is not None else None
            samples = [
                VitalSample(t, p, float(v), Status.OK, Source.MANUAL, mid if p in NIBP_PARAMETERS else None)
                for p, v in values.items()
            ]
            self._audit(
                t,
                self.acting(who),
                "manual_entry",
                "samples",
                None,
                None,
                {p.value: v for p, v in values.items()},
            )
        if self.submit_items is not None:
            self.submit_items(samples)
        else:
            self._recorder.on_items(samples)
        self.on_items(samples)
        self._notify()
        return samples

    # -- events ------------------------------------------------------------------------------------
    def _add_event(self, t: float | None, who: str | None, **fields_: Any) -> ClinicalEvent:
        with self._lock:
            if fields_["category"] != "addendum":
                self._check_open()
            t = self.now() if t is None else t
            event = ClinicalEvent(
                id=self._next_id("clinical_events"), t=t, who=self.acting(who), **fields_
            )
            row = asdict(event)
            row["deleted"] = 0
            self._recorder.insert("clinical_events", row)
            self._events[event.id] = event
            self._audit(t, event.who, "create", "clinical_events", event.id, None, _event_fields(event))
        self._notify()
        return event

    def add_side_effect(
        self,
        name: str,
        severity: str,
        note: str | None = None,
        t: float | None = None,
        who: str | None = None,
    ) -> ClinicalEvent:
        name = name.strip().lower()
        if name not in SIDE_EFFECTS:
            raise ValidationError("name", f"unknown side effect {name!r}; choose one of {', '.join(SIDE_EFFECTS)}")
        if severity not in SEVERITIES:
            raise ValidationError("severity", f"severity must be one of {', '.join(SEVERITIES)}")
        note = (note or "").strip() or None
        if name == "other" and not note:
            raise ValidationError("note", "describe the side effect")
        return self._add_event(t, who, category="side_effect", name=name, severity=severity, note=note)

    def add_intervention(
        self,
        drug: str,
        dose: str,
        route: str,
        note: str | None = None,
        t: float | None = None,
        who: str | None = None,
    ) -> ClinicalEvent:
        drug, dose, route = drug.strip(), dose.strip(), route.strip()
        if not drug:
            raise ValidationError("drug", "enter the drug given")
        if not dose:
            raise ValidationError("dose", "enter the dose with its unit (e.g. 4 mg)")
        if not any(ch.isdigit() for ch in dose):
            raise ValidationError("dose", "the dose needs a number (e.g. 4 mg)")
        if not route:
            raise ValidationError("route", "enter the route (e.g. IV)")
        return self._add_event(
            t,
            who,
            category="intervention",
            name=drug.lower(),
            drug=drug,
            dose=dose,
            route=route,
            note=(note or "").strip() or None,
        )

    def add_note(self, text: str, t: float | None = None, who: str | None = None) -> ClinicalEvent:
        if not text.strip():
            raise ValidationError("note", "the note is empty")
        return self._add_event(t, who, category="note", name="note", note=text.strip())

    def add_addendum(self, text: str, who: str, t: float | None = None) -> ClinicalEvent:
        """Allowed after discharge too; always audited."""
        if not text.strip():
            raise ValidationError("note", "the addendum is empty")
        if not who.strip():
            raise ValidationError("who", "an addendum needs the initials of who writes it")
        return self._add_event(t, who.strip(), category="addendum", name="addendum", note=text.strip())

    def events(self, include_deleted: bool = False) -> list[ClinicalEvent]:
        with self._lock:
            return sorted((e for e in self._events.values() if include_deleted or not e.deleted), key=lambda e: e.t)

    def edit_event(self, event_id: int, who: str, reason: str, **changes: Any) -> ClinicalEvent:
        """Change an event; the audit row keeps who, when, why and what it was before."""
        allowed = {"t", "name", "severity", "drug", "dose", "route", "note"}
        bad = set(changes) - allowed
        if bad:
            raise ValidationError(sorted(bad)[0], "this field cannot be edited")
        if not who.strip():
            raise ValidationError("who", "enter your initials to edit the record")
        with self._lock:
            self._check_open()
            old = self._events.get(event_id)
            if old is None or old.deleted:
                raise SessionError(f"no event {event_id} to edit")
            if old.category == "addendum":
                raise SessionError("an addendum cannot be edited")
            if "severity" in changes and changes["severity"] not in SEVERITIES and old.category == "side_effect":
                raise ValidationError("severity", f"severity must be one of {', '.join(SEVERITIES)}")
            if "t" in changes:
                changes["t"] = float(changes["t"])
                if changes["t"] > self.now() + 1.0:
                    raise ValidationError("t", "the time is in the future")
            bad_dose = "dose" in changes and not any(ch.isdigit() for ch in str(changes["dose"] or ""))
            if old.category == "intervention" and bad_dose:
                raise ValidationError("dose", "the dose needs a number (e.g. 4 mg)")
            if old.category == "side_effect" and "name" in changes and changes["name"] not in SIDE_EFFECTS:
                raise ValidationError("name", f"unknown side effect {changes['name']!r}")
            new = replace(old, **changes)
            if new == old:
                return old
            sets = ", ".join(f"{k} = ?" for k in changes)
            self._recorder.execute(f"UPDATE clinical_events SET {sets} WHERE id = ?", (*changes.values(), event_id))
            self._events[event_id] = new
            self._audit(
                self.now(),
                who.strip(),
                "edit",
                "clinical_events",
                event_id,
                _event_fields(old),
                _event_fields(new),
                reason.strip() or None,
            )
        self._notify()
        return new

    def delete_event(self, event_id: int, who: str, reason: str) -> None:
        """Mark an event deleted (the row stays, with an audit row)."""
        if not reason.strip():
            raise ValidationError("reason", "say why the entry is removed")
        if not who.strip():
            raise ValidationError("who", "enter your initials to edit the record")
        with self._lock:
            self._check_open()
            old = self._events.get(event_id)
            if old is None or old.deleted:
                raise SessionError(f"no event {event_id} to delete")
            self._recorder.execute("UPDATE clinical_events SET deleted = 1 WHERE id = ?", (event_id,))
            self._events[event_id] = replace(old, deleted=True)
            self._audit(
                self.now(), who.strip(), "delete", "clinical_events", event_id, _event_fields(old), None, reason.strip()
            )
        self._notify()

    # -- scales --------------------------------------------------------------------------------------
    def record_scale(
        self,
        scale: str,
        score: float,
        detail: str | None = None,
        t: float | None = None,
        who: str | None = None,
    ) -> ScaleEntry:
        spec = SCALES.get(scale)
        if spec is None:
            raise ValidationError("scale", f"unknown scale {scale!r}")
        if not isinstance(score, int | float) or isinstance(score, bool) or score != score:
            raise ValidationError("score", "the score must be a number")
        if not spec.minimum <= score <= spec.maximum or score != int(score):
            raise ValidationError("score", f"{spec.label} is a whole number from {spec.minimum} to {spec.maximum}")
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            entry = ScaleEntry(
                self._next_id("scales"),
                t,
                scale,
                float(score),
                (detail or "").strip() or None,
                self.acting(who),
            )
            self._recorder.insert(
                "scales",
                {
                    "id": entry.id,
                    "t": entry.t,
                    "scale": entry.scale,
                    "score": entry.score,
                    "detail": entry.detail,
                    "who": entry.who,
                },
            )
            self._scales[entry.id] = entry
            self._audit(t, entry.who, "create", "scales", entry.id, None, {"scale": scale, "score": score})
        self._notify()
        return entry

    def edit_scale(self, entry_id: int, score: float, who: str, reason: str) -> ScaleEntry:
        with self._lock:
            self._check_open()
            old = self._scales.get(entry_id)
            if old is None:
                raise SessionError(f"no scale entry {entry_id}")
            spec = SCALES[old.scale]
            if not spec.minimum <= score <= spec.maximum or score != int(score):
                raise ValidationError("score", f"{spec.label} is a whole number from {spec.minimum} to {spec.maximum}")
            if not who.strip():
                raise ValidationError("who", "enter your initials to edit the record")
            new = replace(old, score=float(score))
            self._recorder.execute("UPDATE scales SET score = ? WHERE id = ?", (float(score), entry_id))
            self._scales[entry_id] = new
            self._audit(
                self.now(),
                who.strip(),
                "edit",
                "scales",
                entry_id,
                {"score": old.score},
                {"score": new.score},
                reason.strip() or None,
            )
        self._notify()
        return new

    def scales(self, scale: str | None = None) -> list[ScaleEntry]:
        with self._lock:
            return sorted((s for s in self._scales.values() if scale is None or s.scale == scale), key=lambda s: s.t)

    def _last_scale(self, scale: str, since: float | None = None) -> ScaleEntry | None:
        entries = [s for s in self._scales.values() if s.scale == scale and (since is None or s.t >= since)]
        return max(entries, key=lambda s: s.t) if entries else None

    def moaas_next_due(self, t: float | None = None) -> float | None:
        with self._lock:
            t = self.now() if t is None else t
            phase = self.infusion.phase_at(t)
            start = self.infusion.started_at
            if start is None or phase in (Phase.BASELINE, Phase.DISCHARGED):
                return None
            last = self._last_scale("moaas", since=start)
            ref = last.t if last is not None else start
            return ref + MOAAS_INTERVAL_S

    def cadss_due(self, t: float | None = None) -> bool:
        """True near the end of the infusion (last 5 min to 30 min after) until a CADSS is recorded."""
        with self._lock:
            t = self.now() if t is None else t
            start = self.infusion.started_at
            if start is None or self._last_scale("cadss", since=start) is not None:
                return False
            phase = self.infusion.phase_at(t)
            if phase is Phase.INFUSION:
                return self.infusion.remaining_s(t) <= CADSS_WINDOW_BEFORE_END_S
            stop = self.infusion.stopped_at
            return phase is Phase.OBSERVATION and stop is not None and t - stop <= CADSS_WINDOW_AFTER_END_S

    def due_prompts(self, t: float | None = None) -> list[Prompt]:
        """What is due now: NIBP, MOAA/S, CADSS, stopping the pump, discharge."""
        with self._lock:
            t = self.now() if t is None else t
            out: list[Prompt] = []
            phase = self.infusion.phase_at(t)
            if phase is Phase.DISCHARGED:
                return out
            nibp = self.nibp_next_due(t)
            if nibp is not None and nibp <= t:
                msg = "Baseline NIBP needed" if phase is Phase.BASELINE else "NIBP measurement due"
                out.append(Prompt("nibp", nibp, msg))
            moaas = self.moaas_next_due(t)
            if moaas is not None and moaas <= t:
                out.append(Prompt("moaas", moaas, "MOAA/S assessment due"))
            if self.cadss_due(t):
                out.append(Prompt("cadss", t, "CADSS assessment due (end of infusion)"))
            if phase is Phase.INFUSION and not self.infusion.paused and self.infusion.remaining_s(t) <= 0:
                window = self.infusion.infusion_window(t)
                out.append(Prompt("stop", window[1] if window else t, "Planned infusion time reached: stop the pump"))
            if phase is Phase.READY_FOR_DISCHARGE:
                stop = self.infusion.stopped_at or t
                out.append(
                    Prompt(
                        "discharge",
                        stop + self.infusion.observation_s,
                        "Minimum observation complete: assess for discharge",
                    )
                )
            return out

    # -- markers for the trend plot --------------------------------------------------------------------
    def markers(self, t: float | None = None) -> list[tuple[float, str, str]]:
        """(time, kind, label) of phase changes, pauses, events and scales, in time order."""
        with self._lock:
            t = self.now() if t is None else t
            out: list[tuple[float, str, str]] = []
            for when, action, reason in self._infusion_log:
                if action == "start":
                    out.append((when, "phase", "Infusion start"))
                elif action == "stop":
                    out.append((when, "phase", "Infusion stop"))
                elif action == "pause":
                    out.append((when, "pause", f"Pause: {reason}" if reason else "Pause"))
                elif action == "resume":
                    out.append((when, "resume", "Resume"))
                elif action == "discharge":
                    out.append((when, "phase", "Discharged"))
                elif action == "recovered":
                    out.append((when, "recovered", "Session resumed after restart"))
            stop = self.infusion.stopped_at
            if stop is not None:
                ready = stop + self.infusion.observation_s
                discharged = self.infusion.discharged_at
                if ready <= t and (discharged is None or ready <= discharged):
                    out.append((ready, "phase", "Observation complete"))
            for e in self._events.values():
                if not e.deleted:
                    out.append((e.t, e.category, e.label))
            for s in self._scales.values():
                out.append((s.t, "scale", s.label))
            out.sort(key=lambda m: m[0])
            return out

    # -- discharge -------------------------------------------------------------------------------------------
    def discharge_assessment(self, t: float | None = None) -> list[DischargeCheck]:
        """What the program can tell about each checklist item (the nurse decides)."""
        with self._lock:
            t = self.now() if t is None else t
            return [self._assess(item, t) for item in self.discharge_items]

    def _assess(self, item: DischargeItem, t: float) -> DischargeCheck:
        stop = self.infusion.stopped_at
        if item.key == "min_observation":
            remaining = self.infusion.observation_remaining_s(t)
            if remaining is None:
                return DischargeCheck(item, False, "the infusion has not been stopped")
            if remaining > 0:
                return DischargeCheck(
                    item, False, f"{format_duration(remaining)} of {self.observation_min:g} min to go"
                )
            return DischargeCheck(item, True, f"{self.observation_min:g} min observed")
        if item.key == "vitals_baseline":
            return self._assess_vitals(item, stop)
        if item.key == "moaas_5":
            last = self._last_scale("moaas", since=stop) if stop is not None else None
            if last is None:
                return DischargeCheck(item, False, "no MOAA/S recorded since the end of the infusion")
            return DischargeCheck(item, last.score == 5, f"last MOAA/S {last.score:g}")
        if item.key == "no_nausea_dizziness":
            recent = [
                e
                for e in self._events.values()
                if not e.deleted
                and e.category == "side_effect"
                and e.name in ("nausea", "vomiting", "dizziness")
                and e.t >= t - 30 * 60
            ]
            if recent:
                return DischargeCheck(item, False, f"{recent[-1].label} recorded in the last 30 min")
            return DischargeCheck(item, None, "none recorded in the last 30 min: ask the patient")
        if item.key == "escort":
            return DischargeCheck(
                item, None, "escort confirmed at set-up" if self.setup.escort else "no escort at set-up"
            )
        return DischargeCheck(item, None, "")

    def _assess_vitals(self, item: DischargeItem, stop: float | None) -> DischargeCheck:
        if not self._baseline:
            return DischargeCheck(item, None, "no baseline vitals were recorded: compare by hand")
        problems: list[str] = []
        for p, base in self._baseline.items():
            latest = self._latest.get(p)
            label = PARAMETER_INFO[p].label
            if latest is None or (stop is not None and latest[0] < stop):
                problems.append(f"no {label} since the end of the infusion")
                continue
            value = latest[1]
            if p is Parameter.SPO2:
                if value < base - 3:
                    problems.append(f"{label} {value:g} vs baseline {base:g}")
            elif value > base * 1.2 or value < base * 0.8:
                problems.append(f"{label} {value:g} vs baseline {base:g}")
        if problems:
            return DischargeCheck(item, False, "; ".join(problems))
        return DischargeCheck(item, True, "within 20 % of baseline")

    def discharge(
        self,
        who: str,
        checked: Mapping[str, bool],
        t: float | None = None,
        override_reason: str | None = None,
    ) -> None:
        """Sign the discharge: every item ticked (or an override reason), then the session closes."""
        if not who.strip():
            raise ValidationError("who", "sign the discharge with your initials")
        with self._lock:
            self._check_open()
            t = self.now() if t is None else t
            if self.infusion.stopped_at is None:
                raise DischargeError("stop the infusion before discharge")
            assessment = {c.item.key: c for c in self._assess_all(t)}
            unmet = [i.label for i in self.discharge_items if not checked.get(i.key, False)]
            reason = (override_reason or "").strip()
            if unmet and not reason:
                raise DischargeError("not met: " + "; ".join(unmet))
            # the minimum observation time is a fact, not a judgement: ticking it does not make it so
            obs_left = self.infusion.observation_remaining_s(t) or 0.0
            if obs_left > 0 and not reason:
                raise DischargeError(
                    f"the minimum observation time has not elapsed ({format_duration(obs_left)} of "
                    f"{self.observation_min:g} min to go): give the reason for discharging early"
                )
            items: dict[str, dict[str, object]] = {}
            for i in self.discharge_items:
                ticked = bool(checked.get(i.key, False))
                met = assessment[i.key].met
                items[i.key] = {
                    "label": i.label,
                    "checked": ticked,
                    "assessed": met,
                    "detail": assessment[i.key].detail,
                    # ticked by the nurse although the program found it not met (the reason covers it)
                    "overridden": ticked and met is False,
                }
            checklist = {
                "items": items,
                "override_reason": reason or None,
                "observation_s": self.infusion.observation_elapsed_s(t),
                "observation_min": self.observation_min,
                "early": obs_left > 0,
                "unmet": unmet,
            }
            try:
                self.infusion.discharge(t)
            except InfusionTransitionError as exc:
                raise DischargeError(str(exc)) from exc
            row_id = self._next_id("discharge")
            self._recorder.insert(
                "discharge", {"id": row_id, "t": t, "who": who.strip(), "checklist": _json(checklist)}
            )
            self._write_infusion_event(t, "discharge", reason or None, who.strip())
            self._info("status", STATUS_DISCHARGED)
            self._info("phase", Phase.DISCHARGED.value)
            self._info("discharged_at", repr(t))
            self._audit(t, who.strip(), "discharge", "discharge", row_id, None, checklist, reason or None)
            self._closed = True
        self._notify()

    def _assess_all(self, t: float) -> list[DischargeCheck]:
        return [self._assess(item, t) for item in self.discharge_items]

    # -- restore -----------------------------------------------------------------------------------------------
    def _restore(self, r: _Restored) -> None:
        for _id, t, action, reason in r.infusion_events:
            try:
                self.infusion.apply(action, t, reason)
            except InfusionTransitionError as exc:
                log.warning("ignoring inconsistent infusion record %r at %s: %s", action, t, exc)
            self._infusion_log.append((t, action, reason))
        self._events = {e.id: e for e in r.events}
        self._scales = {s.id: s for s in r.scales}
        self._ids.update(r.max_ids)
        self._last_nibp = r.last_nibp
        self._latest = dict(r.latest)
        self._closed = r.discharged
        if r.info.get("volume_infused_confirmed") == "1":
            try:
                self._confirmed_volume = float(r.info["volume_infused_ml"])
            except (KeyError, ValueError):
                log.warning("confirmed volume missing or unreadable in the record")
        self._on_duty = r.info.get("on_duty") or None  # still on duty after a restart (shown, changeable)
        for p in MANUAL_PARAMETERS:
            raw = r.info.get(f"baseline_{p.value}")
            if raw is not None:
                try:
                    self._baseline[p] = float(raw)
                except ValueError:
                    log.warning("bad baseline %s=%r in the record", p.value, raw)
        if "prestart_ok" in r.info:
            self.prestart = PrestartOutcome(
                r.info["prestart_ok"] == "1",
                r.info.get("prestart_message", ""),
                r.info.get("prestart_override_by"),
                r.info.get("prestart_override_reason"),
            )


def _event_fields(e: ClinicalEvent) -> dict[str, object]:
    d = asdict(e)
    d.pop("id")
    d.pop("deleted")
    return {k: v for k, v in d.items() if v is not None}


def _read_restored(conn: Any) -> _Restored:
    info = read_info(conn)
    if "pseudonym" not in info:
        from kapmonitor.recording.database import SessionDatabaseError

        raise SessionDatabaseError("the database holds no nurse's session")
    infusion = [
        (int(i), float(t), str(a), None if r is None else str(r))
        for i, t, a, r in conn.execute("SELECT id, t, action, reason FROM infusion_events ORDER BY id")
    ]
    events = [
        ClinicalEvent(
            id=int(row[0]),
            t=float(row[1]),
            category=str(row[2]),
            name=str(row[3]),
            severity=row[4],
            drug=row[5],
            dose=row[6],
            route=row[7],
            note=row[8],
            who=row[9],
            deleted=bool(row[10]),
        )
        for row in conn.execute(
            "SELECT id, t, category, name, severity, drug, dose, route, note, who, deleted "
            "FROM clinical_events ORDER BY id"
        )
    ]
    scales = [
        ScaleEntry(int(i), float(t), str(s), float(sc), d, w)
        for i, t, s, sc, d, w in conn.execute("SELECT id, t, scale, score, detail, who FROM scales ORDER BY id")
    ]
    discharged = conn.execute("SELECT count(*) FROM discharge").fetchone()[0] > 0
    last_nibp_row = conn.execute(
        "SELECT max(t) FROM samples WHERE parameter = 'nibp_sys' AND status = 'ok' AND value IS NOT NULL"
    ).fetchone()
    latest: dict[Parameter, tuple[float, float]] = {}
    for p in MANUAL_PARAMETERS:
        row = conn.execute(
            "SELECT t, value FROM samples WHERE parameter = ? AND status = 'ok' AND value IS NOT NULL "
            "ORDER BY t DESC LIMIT 1",
            (p.value,),
        ).fetchone()
        if row is not None:
            latest[p] = (float(row[0]), float(row[1]))
    max_ids = {
        table: int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
        for table in ("infusion_events", "clinical_events", "scales", "discharge")
    }
    return _Restored(
        info=info,
        infusion_events=infusion,
        events=events,
        scales=scales,
        discharged=discharged,
        last_nibp=None if last_nibp_row[0] is None else float(last_nibp_row[0]),
        latest=latest,
        max_ids=max_ids,
    )


def prestart_hook(profile: object, session: NurseSession) -> PrestartCheck:
    """The alarm profile's pre-start check on the session's latest readings, as a start hook.

    Needs the session registered as a dispatcher listener (it keeps the latest values).
    """
    from kapmonitor.alarms.prestart import check_prestart

    def check() -> object:
        latest: dict[Parameter, float | None] = {p: v for p, (_, v) in session.latest().items()}
        return check_prestart(profile, latest)  # type: ignore[arg-type]

    return check
