"""The alarm engine: limits, priorities, delays, latching, acknowledge, audio pause, technical alarms.

Pure Python and deterministic: every decision depends only on the items fed in, the calls made
and the injected clock. Time deadlines (condition delays, link lost, NIBP overdue, escalation,
reminders, the end of an audio pause) are processed at their exact due time even when `tick()`
or the next item comes later, so a replay on a capture's clock raises the same alarms at the
same capture times as the live session did, however coarse the ticking.

Time comes from the clock (never from an item's own stamp, which may be the monitor's clock):
a replay advances its ManualClock to each item's time before dispatching it. The engine's time
never goes backwards.

Rules of behaviour (see the README section "Alarms"):
- continuous values (HR, SpO2, ...) must violate a rule for its `delay_s` before the alarm is
  raised; each NIBP reading is evaluated at once (its delay is ignored);
- one alarm per parameter and direction (`hr.upper`, `spo2.lower`); its priority is the most
  urgent rule whose condition holds;
- high priority latches until acknowledged; medium and low clear with their condition;
- acknowledge silences an alarm; a condition that persists is re-announced every `reminder_s`;
- audio pause silences the alarms active at that moment for `audio_pause_s` (capped); a new
  alarm, a higher priority, or an escalation breaks through;
- a high-priority alarm unacknowledged for `escalation_s` is escalated (once);
- no HR from the monitor (a pulse oximeter alone, or no valid HR for `link_lost_s`): the HR
  limits judge the pulse rate instead (alarms `pulse_rate.*`, text "Pulse rate (PR) ..."), unless
  the profile has limits of its own for the pulse rate; a valid HR ends that at once.

Thread-safety: every public method may be called from any thread; one re-entrant lock guards
the state. Listeners are called under that lock, in event order, so they must be quick (queue
work, emit a queued Qt signal) and must not wait for another thread that calls the engine.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from kapmonitor.alarms.model import ActiveAlarm, AlarmEvent, AlarmEventType, AlarmKind, LimitChange
from kapmonitor.alarms.profile import AlarmProfile, LimitRule, Priority, Threshold, diff_profiles
from kapmonitor.model.clock import Clock
from kapmonitor.model.events import Emitter
from kapmonitor.model.nibp import NibpMeasurement, nibp_key
from kapmonitor.model.parameters import NIBP_PARAMETERS, PARAMETER_INFO, Parameter, is_plausible
from kapmonitor.model.samples import Item, Status, VitalSample, WaveChunk

log = logging.getLogger(__name__)

AlarmListener = Callable[[AlarmEvent], None]

LINK_LOST = "link-lost"
NIBP_OVERDUE = "nibp-overdue"
NIBP_RISE = "nibp.rise"
AUDIO_FAILURE = "alarm-audio-failure"
STORAGE_FAILURE = "storage-failure"

# statuses that are part of normal operation and raise nothing (staleness has its own alarm)
_BENIGN_STATUSES = frozenset({Status.OK, Status.MEASURING, Status.NOT_UPDATED, Status.OLD})
_STATUS_TEXT = {
    Status.INVALID: "invalid data",
    Status.SENSOR_OFF: "sensor off",
    Status.NO_SENSOR: "no sensor connected",
    Status.SENSOR_FAULT: "sensor defective or not recognised",
    Status.ARTIFACT: "artifact",
    Status.UNAVAILABLE: "not available",
    Status.UNDER_RANGE: "below measurable range",
    Status.OVER_RANGE: "above measurable range",
    Status.NOT_CALIBRATED: "not calibrated",
    Status.CALIBRATING: "calibrating",
    Status.DISCONTINUITY: "discontinuity",
    Status.QUESTIONABLE: "questionable data",
    Status.DEMO: "demo data",
    Status.TEST: "test data",
    Status.IMPLAUSIBLE: "implausible value",
}
_DIRECTIONS = ("upper", "lower")
# optional parameters: a monitor may report them as invalid all along (RR with no impedance lead, a
# CO2 module without a line): no technical alarm until they have had a valid value in this session
_OPTIONAL = frozenset({Parameter.RESP_RATE, Parameter.ETCO2})
_EPS = 1e-9
_HISTORY = 10_000


@dataclass
class _Alarm:
    alarm_id: str
    parameter: Parameter | None
    kind: AlarmKind
    priority: Priority  # shown priority (a latched high stays high)
    cond_priority: Priority  # priority of the condition itself
    message: str
    value: float | None
    limit: float | None
    raised_at: float
    high_since: float | None
    condition_present: bool = True
    acknowledged: bool = False
    escalated: bool = False
    silenced: bool = False
    next_reminder: float | None = None
    # the condition that raised it at its most urgent priority (kept while latched or acknowledged)
    raised_priority: Priority | None = None
    raised_value: float | None = None
    raised_limit: float | None = None
    raised_message: str = ""
    remote_ack_by: str | None = None  # acknowledged from the central station, by this operator

    def mark_raised(self, priority: Priority, value: float | None, limit: float | None, message: str) -> None:
        self.raised_priority, self.raised_value, self.raised_limit = priority, value, limit
        self.raised_message = message


def _label(parameter: Parameter) -> str:
    return PARAMETER_INFO[parameter].label


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


class AlarmEngine:
    """Turns acquisition items and nurse actions into alarm states and log events."""

    def __init__(self, profile: AlarmProfile, clock: Clock) -> None:
        self._lock = threading.RLock()
        self._profile = profile
        self._clock = clock
        self._listeners: Emitter[[AlarmEvent]] = Emitter("alarm")
        self._alarms: dict[str, _Alarm] = {}
        self._t = -math.inf
        self._history: deque[AlarmEvent] = deque(maxlen=_HISTORY)
        self.revision = 0  # bumped on every change; lets a GUI skip redrawing an unchanged bar
        # continuous conditions: (parameter, direction, priority) -> onset time
        self._onsets: dict[tuple[Parameter, str, Priority], float] = {}
        self._onset_done: set[tuple[Parameter, str, Priority]] = set()
        self._last_value: dict[Parameter, float] = {}
        self._hr_valid_at = -math.inf  # last valid HR: without one, PR is judged on the HR limits
        self._optional_seen: set[Parameter] = set()  # optional parameters that have had a valid value
        # link supervision
        self._session = False
        self._session_since = -math.inf
        self._last_data_at = -math.inf
        self._link_lost = False
        # NIBP
        self._nibp_interval: float | None = None
        self._nibp_interval_since = -math.inf
        self._last_nibp_at = -math.inf
        self._nibp_overdue = False
        self._nibp: NibpMeasurement | None = None  # the measurement being received (model/nibp.py)
        self._readings: deque[tuple[float, float | None, float | None]] = deque(maxlen=64)
        self._baseline: tuple[float, float] | None = None
        self._baseline_manual = False
        self._infusion_started_at: float | None = None
        # audio
        self._paused_until: float | None = None

    # -- listeners and snapshots -------------------------------------------------------------
    def add_listener(self, callback: AlarmListener) -> None:
        self._listeners.add(callback)

    def remove_listener(self, callback: AlarmListener) -> None:
        self._listeners.remove(callback)

    @property
    def profile(self) -> AlarmProfile:
        with self._lock:
            return self._profile

    @property
    def baseline(self) -> tuple[float, float] | None:
        with self._lock:
            return self._baseline

    def events(self) -> list[AlarmEvent]:
        """The most recent events (up to 10,000), oldest first: to fill a history panel late."""
        with self._lock:
            return list(self._history)

    def active_alarms(self, now: float | None = None) -> list[ActiveAlarm]:
        """Alarms to show: most urgent first, the newest first within a priority."""
        with self._lock:
            t = self._clock.now() if now is None else now
            paused = self._paused_until is not None and t < self._paused_until
            out = [
                ActiveAlarm(
                    alarm_id=a.alarm_id,
                    parameter=a.parameter,
                    kind=a.kind,
                    priority=a.priority,
                    message=a.message,
                    value=a.value,
                    limit=a.limit,
                    raised_at=a.raised_at,
                    acknowledged=a.acknowledged,
                    latched=not a.condition_present,
                    condition_present=a.condition_present,
                    escalated=a.escalated,
                    audio_paused=a.silenced and paused,
                    raised_priority=a.raised_priority,
                    raised_value=a.raised_value,
                    raised_limit=a.raised_limit,
                    raised_message=a.raised_message,
                    acknowledged_remotely_by=a.remote_ack_by if a.acknowledged else None,
                )
                for a in self._alarms.values()
            ]
        out.sort(key=lambda a: (-int(a.priority), -a.raised_at, a.alarm_id))
        return out

    @property
    def audio_paused_until(self) -> float | None:
        """End of the running audio pause (clock time), or None."""
        with self._lock:
            if self._paused_until is not None and self._clock.now() < self._paused_until:
                return self._paused_until
            return None

    def audio_state(self, now: float | None = None) -> Priority | None:
        """The priority that should sound now: the highest unacknowledged, unpaused alarm, or None."""
        with self._lock:
            t = self._clock.now() if now is None else now
            paused = self._paused_until is not None and t < self._paused_until
            best: Priority | None = None
            for a in self._alarms.values():
                if a.acknowledged or (a.silenced and paused):
                    continue
                if best is None or a.priority > best:
                    best = a.priority
            return best

    def escalated(self) -> bool:
        """True while an escalated alarm is unacknowledged (the sounder plays it at full volume)."""
        with self._lock:
            return any(a.escalated and not a.acknowledged for a in self._alarms.values())

    # -- inputs ----------------------------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        """Dispatcher listener (reader thread)."""
        with self._lock:
            t = self._advance(self._clock.now())
            for item in items:
                if isinstance(item, VitalSample):
                    self._on_sample(item, t)
                elif isinstance(item, WaveChunk) and item.values.size and bool(np.isfinite(item.values).any()):
                    self._data_seen(t)

    def tick(self, now: float | None = None) -> None:
        """Process every deadline due by `now` (default: the clock's time)."""
        with self._lock:
            self._advance(self._clock.now() if now is None else now)

    def session_active(self, active: bool) -> None:
        """Link-lost and NIBP-overdue supervision run only during a session."""
        with self._lock:
            t = self._advance(self._clock.now())
            if active and not self._session:
                self._session = True
                self._session_since = t
            elif not active and self._session:
                self._session = False
                self._link_lost = False
                self._nibp_overdue = False
                for alarm_id in (LINK_LOST, NIBP_OVERDUE):
                    self._remove(t, alarm_id, "session ended")

    def set_nibp_interval(self, seconds: float | None) -> None:
        """The NIBP cycle; a reading is overdue after cycle + the profile's grace. None: no cycle."""
        with self._lock:
            t = self._advance(self._clock.now())
            self._nibp_interval = None if seconds is None or seconds <= 0 else float(seconds)
            self._nibp_interval_since = t
            if self._nibp_interval is None:
                self._nibp_overdue = False
                self._set_condition(t, NIBP_OVERDUE, False)

    def report_technical(self, alarm_id: str, message: str, priority: Priority = Priority.HIGH) -> None:
        """Raise (or update) a technical alarm from outside: audio output or storage failure."""
        with self._lock:
            t = self._advance(self._clock.now())
            self._set_condition(t, alarm_id, True, kind=AlarmKind.TECHNICAL, priority=priority, message=message)

    def source_changed(self, reason: str) -> int:
        """The vitals now come from another kind of source (simulator <-> a patient's monitor): the
        physiological alarms of the old source end, latched ones too (logged as cleared with
        `reason`), and no onset or last value carries over; they were never about this patient.
        Technical alarms stay and end by themselves. Returns how many alarms ended."""
        with self._lock:
            t = self._advance(self._clock.now())
            ended = [i for i, a in self._alarms.items() if a.kind is AlarmKind.PHYSIOLOGICAL]
            for alarm_id in ended:
                self._remove(t, alarm_id, reason)
            self._onsets.clear()
            self._onset_done.clear()
            self._last_value.clear()
            self._hr_valid_at = -math.inf
            self._optional_seen.clear()
            self._nibp = None
            self._touch()
            return len(ended)

    def clear_technical(self, alarm_id: str) -> None:
        """The technical condition is gone (a latched high alarm stays until acknowledged)."""
        with self._lock:
            t = self._advance(self._clock.now())
            self._set_condition(t, alarm_id, False)

    # -- nurse actions ---------------------------------------------------------------------------
    def acknowledge(self, who: str | None = None, alarm_id: str | None = None, *, remote: bool = False) -> int:
        """Acknowledge every unacknowledged alarm (or one). Returns how many were acknowledged.
        `remote`: from the central station (the nurse's row then says who, see `ActiveAlarm`)."""
        with self._lock:
            t = self._advance(self._clock.now())
            count = 0
            for a in list(self._alarms.values()):
                if a.acknowledged or (alarm_id is not None and a.alarm_id != alarm_id):
                    continue
                count += 1
                a.acknowledged = True
                a.silenced = False
                a.remote_ack_by = who if remote else None
                self._emit_for(t, a, AlarmEventType.ACKNOWLEDGED, f"{a.message} (acknowledged)", who)
                if not a.condition_present:
                    del self._alarms[a.alarm_id]
                    self._emit_for(t, a, AlarmEventType.CLEARED, f"{a.message} (cleared)")
                    continue
                a.next_reminder = t + self._profile.behaviour.reminder_s
                if a.cond_priority < a.priority:
                    a.priority = a.cond_priority
                    self._emit_for(t, a, AlarmEventType.PRIORITY_CHANGED, f"{a.message} (now {a.priority.label})")
            return count

    def pause_audio(self, seconds: float | None = None, who: str | None = None) -> float:
        """Pause the sound of the alarms active now; returns the pause length (capped by the profile)."""
        with self._lock:
            t = self._advance(self._clock.now())
            beh = self._profile.behaviour
            length = beh.audio_pause_s if seconds is None else float(seconds)
            length = min(max(length, 1.0), beh.audio_pause_max_s)
            self._paused_until = t + length
            for a in self._alarms.values():
                a.silenced = True
            top = max((a.priority for a in self._alarms.values()), default=Priority.LOW)
            self._emit(
                AlarmEvent(t, "audio-pause", None, AlarmKind.SYSTEM, top, AlarmEventType.AUDIO_PAUSED,
                           length, None, f"Alarm audio paused for {length:g} s", who)
            )
            return length

    def resume_audio(self, who: str | None = None) -> None:
        """End a running audio pause now."""
        with self._lock:
            t = self._advance(self._clock.now())
            if self._paused_until is not None:
                self._end_pause(t, who, "Alarm audio resumed")

    def set_profile(self, profile: AlarmProfile, who: str, reason: str) -> list[LimitChange]:
        """Switch to `profile` (a per-session limit change); every changed field is logged."""
        with self._lock:
            t = self._advance(self._clock.now())
            changes = [LimitChange(p, f, old, new, reason) for p, f, old, new in diff_profiles(self._profile, profile)]
            self._profile = profile
            for ch in changes:
                parameter = _parameter_or_none(ch.parameter)
                self._emit(
                    AlarmEvent(t, "limits", parameter, AlarmKind.SYSTEM, Priority.LOW, AlarmEventType.LIMIT_CHANGED,
                               _float_or_none(ch.new_value), _float_or_none(ch.old_value),
                               f"{ch.parameter} {ch.field}: {ch.old_value} \u2192 {ch.new_value} ({reason})",
                               who, ch)
                )
            self._reevaluate(t)
            return changes

    def set_baseline(self, systolic: float, diastolic: float, who: str | None = None) -> None:
        """Set the rise-alarm baseline by hand (then starting the infusion keeps it)."""
        with self._lock:
            t = self._advance(self._clock.now())
            self._baseline = (float(systolic), float(diastolic))
            self._baseline_manual = True
            self._emit(
                AlarmEvent(t, "baseline", Parameter.NIBP_SYS, AlarmKind.SYSTEM, self._profile.rise.priority,
                           AlarmEventType.BASELINE_SET, float(systolic), None,
                           f"Baseline set by hand: {systolic:g}/{diastolic:g} mmHg", who)
            )
            self._evaluate_rise(t)

    def start_infusion(self, t: float | None = None) -> tuple[float, float] | None:
        """The infusion started at `t`: the baseline becomes the last NIBP before it (unless set by hand)."""
        with self._lock:
            now = self._advance(self._clock.now())
            start = now if t is None else t
            self._infusion_started_at = start
            if not self._baseline_manual:
                found = None
                for rt, sys_, dia in reversed(self._readings):
                    if rt <= start + _EPS and sys_ is not None and dia is not None:
                        found = (sys_, dia)
                        break
                self._baseline = found
                msg = (f"Baseline from the last NIBP before the infusion: {found[0]:g}/{found[1]:g} mmHg"
                       if found else "No NIBP before the infusion: set the baseline by hand for the rise alarm")
                self._emit(
                    AlarmEvent(now, "baseline", Parameter.NIBP_SYS, AlarmKind.SYSTEM, self._profile.rise.priority,
                               AlarmEventType.BASELINE_SET, found[0] if found else None, None, msg, None)
                )
            self._evaluate_rise(now)
            return self._baseline

    # -- samples -------------------------------------------------------------------------------
    def _on_sample(self, s: VitalSample, t: float) -> None:
        p = s.parameter
        if p is Parameter.PLETH:
            return
        watched = bool(self._profile.rules_for(p))  # technical alarms only for a parameter with limits
        judged = watched or bool(self._rules_for(p, t))  # PR judged on the HR limits without HR
        if s.status is Status.OK and s.value is not None:
            x = float(s.value)
            if not is_plausible(p, x) or not math.isfinite(x):
                if watched:
                    self._set_condition(t, f"{p.value}.implausible", True, parameter=p, kind=AlarmKind.TECHNICAL,
                                        priority=Priority.MEDIUM, value=x,
                                        message=f"{_label(p)} {x:g}: implausible value, check the monitor")
                    self._set_condition(t, f"{p.value}.invalid", False)
                    self._no_value(p, t)
                return
            self._data_seen(t)
            if p in _OPTIONAL:
                self._optional_seen.add(p)
            if watched:
                self._set_condition(t, f"{p.value}.invalid", False)
                self._set_condition(t, f"{p.value}.implausible", False)
            self._last_value[p] = x
            if p is Parameter.HR:
                self._hr_valid_at = t
                self._end_pr_fallback(t)
            if p in NIBP_PARAMETERS:
                self._on_nibp(p, x, s, t)
            elif judged:
                self._evaluate_continuous(p, x, t)
            return
        if s.status in _BENIGN_STATUSES and s.status is not Status.OK:
            return  # measuring / not updated: nothing to judge
        if p in _OPTIONAL and p not in self._optional_seen:
            return  # never measured here: not a fault of this session
        if watched:
            text = _STATUS_TEXT.get(s.status, "no value")
            self._set_condition(t, f"{p.value}.invalid", True, parameter=p, kind=AlarmKind.TECHNICAL,
                                priority=Priority.MEDIUM, message=f"{_label(p)}: {text}")
            if p not in NIBP_PARAMETERS:
                self._no_value(p, t)
        elif judged:
            self._no_value(p, t)  # PR on the HR limits: no value, no limit condition

    def _rules_for(self, p: Parameter, t: float) -> list[LimitRule]:
        """The rules judging `p` at `t`: the profile's, or for the pulse rate without a valid HR
        for `link_lost_s` (a pulse oximeter alone), the HR rules with their texts saying "PR"."""
        rules = self._profile.rules_for(p)
        if rules or p is not Parameter.PULSE_RATE:
            return rules
        if t - self._hr_valid_at <= self._profile.technical.link_lost_s + _EPS:
            return []
        return [replace(r, parameter=p, message_above=_as_pr(r.message_above, "high"),
                        message_below=_as_pr(r.message_below, "low"))
                for r in self._profile.rules_for(Parameter.HR)]

    def _end_pr_fallback(self, t: float) -> None:
        """HR arrives again: HR rules, the pulse rate's borrowed conditions end (a high latches)."""
        p = Parameter.PULSE_RATE
        if self._profile.rules_for(p):
            return
        for key in [k for k in self._onsets if k[0] is p]:
            del self._onsets[key]
            self._onset_done.discard(key)
        for d in _DIRECTIONS:
            if f"{p.value}.{d}" in self._alarms:
                self._set_condition(t, f"{p.value}.{d}", False)

    def _data_seen(self, t: float) -> None:
        self._last_data_at = t
        if self._link_lost:
            self._link_lost = False
            self._set_condition(t, LINK_LOST, False)

    def _no_value(self, p: Parameter, t: float) -> None:
        """A continuous value is unknown: its limit conditions end (the technical alarm says why)."""
        if p in NIBP_PARAMETERS:
            return
        self._last_value.pop(p, None)
        for key in [k for k in self._onsets if k[0] is p]:
            del self._onsets[key]
            self._onset_done.discard(key)
        for d in _DIRECTIONS:
            self._update_limit_alarm(p, d, t)

    def _evaluate_continuous(self, p: Parameter, x: float, t: float) -> None:
        for rule in self._rules_for(p, t):
            for d in _DIRECTIONS:
                ths = _side(rule, d)
                if not ths:
                    continue
                key = (p, d, rule.priority)
                if any(th.violated_by(x) for th in ths):
                    if key not in self._onsets:
                        self._onsets[key] = t
                        self._onset_done.discard(key)
                else:
                    self._onsets.pop(key, None)
                    self._onset_done.discard(key)
        for d in _DIRECTIONS:
            self._update_limit_alarm(p, d, t)

    def _update_limit_alarm(self, p: Parameter, d: str, t: float) -> None:
        """Set the `p.d` alarm from the rules whose condition has held for their delay by `t`."""
        best: tuple[LimitRule, Threshold] | None = None
        x = self._last_value.get(p)
        for rule in self._rules_for(p, t):  # most urgent first
            key = (p, d, rule.priority)
            onset = self._onsets.get(key)
            if onset is None or x is None:
                continue
            if t - onset + _EPS >= rule.delay_s:
                self._onset_done.add(key)
                th = next((th for th in _side(rule, d) if th.violated_by(x)), None)
                if th is not None and best is None:
                    best = (rule, th)
        alarm_id = f"{p.value}.{d}"
        if best is None:
            self._set_condition(t, alarm_id, False, value=x)
        else:
            rule, th = best
            self._set_condition(t, alarm_id, True, parameter=p, kind=AlarmKind.PHYSIOLOGICAL,
                                priority=rule.priority, message=rule.message_for(th), value=x, limit=th.value)

    def _on_nibp(self, p: Parameter, x: float, s: VitalSample, t: float) -> None:
        if self._nibp is None or self._nibp.key != nibp_key(s.measurement_id, s.time):
            self._nibp = NibpMeasurement.of(s)
            self._readings.append((t, None, None))
        else:
            self._nibp = self._nibp.with_part(s)
        self._readings[-1] = (t, self._nibp.systolic, self._nibp.diastolic)
        self._last_nibp_at = t
        if self._nibp_overdue:
            self._nibp_overdue = False
            self._set_condition(t, NIBP_OVERDUE, False)
        self._evaluate_nibp(p, x, t)
        if p in (Parameter.NIBP_SYS, Parameter.NIBP_DIA):
            self._evaluate_rise(t)

    def _evaluate_nibp(self, p: Parameter, x: float, t: float) -> None:
        """Each reading is judged at once against every rule (NIBP delays are ignored)."""
        for d in _DIRECTIONS:
            best: tuple[LimitRule, Threshold] | None = None
            for rule in self._profile.rules_for(p):
                th = next((th for th in _side(rule, d) if th.violated_by(x)), None)
                if th is not None:
                    best = (rule, th)
                    break
            alarm_id = f"{p.value}.{d}"
            if best is None:
                self._set_condition(t, alarm_id, False, value=x)
            else:
                rule, th = best
                self._set_condition(t, alarm_id, True, parameter=p, kind=AlarmKind.PHYSIOLOGICAL,
                                    priority=rule.priority, message=rule.message_for(th), value=x, limit=th.value)

    def _evaluate_rise(self, t: float) -> None:
        base = self._baseline
        if base is None:
            self._set_condition(t, NIBP_RISE, False)
            return
        rise = self._profile.rise
        sys_ = self._nibp.systolic if self._nibp is not None else None
        dia = self._nibp.diastolic if self._nibp is not None else None
        if sys_ is not None and sys_ - base[0] + _EPS >= rise.systolic:
            self._set_condition(
                t, NIBP_RISE, True, parameter=Parameter.NIBP_SYS, kind=AlarmKind.PHYSIOLOGICAL,
                priority=rise.priority, value=sys_, limit=base[0] + rise.systolic,
                message=f"BP rise from baseline: systolic +{sys_ - base[0]:g} mmHg (baseline {base[0]:g}/{base[1]:g})",
            )
        elif dia is not None and dia - base[1] + _EPS >= rise.diastolic:
            self._set_condition(
                t, NIBP_RISE, True, parameter=Parameter.NIBP_DIA, kind=AlarmKind.PHYSIOLOGICAL,
                priority=rise.priority, value=dia, limit=base[1] + rise.diastolic,
                message=f"BP rise from baseline: diastolic +{dia - base[1]:g} mmHg (baseline {base[0]:g}/{base[1]:g})",
            )
        else:
            self._set_condition(t, NIBP_RISE, False)

    def _reevaluate(self, t: float) -> None:
        """After a profile change: judge the latest values against the new limits (delays restart)."""
        self._onsets.clear()
        self._onset_done.clear()
        params = set(self._last_value) | {a.parameter for a in self._alarms.values()
                                          if a.parameter is not None and a.kind is AlarmKind.PHYSIOLOGICAL}
        for p in sorted(params, key=lambda q: q.value):
            x = self._last_value.get(p)
            if p in NIBP_PARAMETERS:
                if x is not None:
                    self._evaluate_nibp(p, x, t)
                else:
                    for d in _DIRECTIONS:
                        self._set_condition(t, f"{p.value}.{d}", False)
            elif x is not None:
                self._evaluate_continuous(p, x, t)
            else:
                for d in _DIRECTIONS:
                    self._update_limit_alarm(p, d, t)
        self._evaluate_rise(t)

    # -- time ----------------------------------------------------------------------------------
    def _advance(self, now: float) -> float:
        """Process every deadline up to `now` in time order, each at its own due time."""
        t = max(now, self._t)
        for _ in range(1_000_000):
            nxt = self._next_deadline(t)
            if nxt is None:
                break
            nxt[2](nxt[0])
        else:  # pragma: no cover - a bug guard, never expected
            log.error("alarm engine: too many deadlines up to %s", t)
        self._t = t
        return t

    def _next_deadline(self, t: float) -> tuple[float, int, Callable[[float], None]] | None:
        best: tuple[float, int, Callable[[float], None]] | None = None

        def offer(due: float, order: int, action: Callable[[float], None]) -> None:
            nonlocal best
            if due <= t + _EPS and (best is None or (due, order) < (best[0], best[1])):
                best = (due, order, action)

        if self._paused_until is not None:
            offer(self._paused_until, 0, lambda due: self._end_pause(due, None, "Alarm audio pause ended"))
        for key in sorted(self._onsets, key=lambda k: (k[0].value, k[1], int(k[2]))):
            if key in self._onset_done:
                continue
            rule = next((r for r in self._rules_for(key[0], t) if r.priority is key[2]), None)
            delay = rule.delay_s if rule is not None else 0.0
            p, d = key[0], key[1]
            offer(self._onsets[key] + delay, 1, partial(self._update_at, p, d))
        if self._session and not self._link_lost:
            due = max(self._last_data_at, self._session_since) + self._profile.technical.link_lost_s
            offer(due, 2, self._raise_link_lost)
        if self._session and self._nibp_interval is not None and not self._nibp_overdue:
            due = (max(self._last_nibp_at, self._nibp_interval_since) + self._nibp_interval
                   + self._profile.technical.nibp_overdue_grace_s)
            offer(due, 3, self._raise_nibp_overdue)
        beh = self._profile.behaviour
        for a in self._alarms.values():
            if a.priority is Priority.HIGH and not a.acknowledged and not a.escalated and a.high_since is not None:
                offer(a.high_since + beh.escalation_s, 4, partial(self._escalate, a))
            if a.acknowledged and a.condition_present and a.next_reminder is not None:
                offer(a.next_reminder, 5, partial(self._remind, a))
        return best

    def _update_at(self, p: Parameter, d: str, t: float) -> None:
        self._update_limit_alarm(p, d, t)

    def _end_pause(self, t: float, who: str | None, message: str) -> None:
        self._paused_until = None
        for a in self._alarms.values():
            a.silenced = False
        top = max((a.priority for a in self._alarms.values()), default=Priority.LOW)
        self._emit(AlarmEvent(t, "audio-pause", None, AlarmKind.SYSTEM, top, AlarmEventType.AUDIO_RESUMED,
                              None, None, message, who))

    def _raise_link_lost(self, t: float) -> None:
        self._link_lost = True
        s = self._profile.technical.link_lost_s
        self._set_condition(t, LINK_LOST, True, kind=AlarmKind.TECHNICAL, priority=Priority.HIGH,
                            message=f"Link to the monitor lost: no valid data for {s:g} s", limit=s)
        for p in sorted({k[0] for k in self._onsets} | set(self._last_value), key=lambda q: q.value):
            self._no_value(p, t)

    def _raise_nibp_overdue(self, t: float) -> None:
        self._nibp_overdue = True
        interval = self._nibp_interval or 0.0
        self._set_condition(t, NIBP_OVERDUE, True, parameter=Parameter.NIBP_SYS, kind=AlarmKind.TECHNICAL,
                            priority=self._profile.technical.nibp_overdue_priority,
                            message=f"NIBP overdue: no reading for {interval / 60:g} min + grace; measure now",
                            limit=interval + self._profile.technical.nibp_overdue_grace_s)

    def _escalate(self, a: _Alarm, t: float) -> None:
        a.escalated = True
        a.silenced = False
        self._emit_for(t, a, AlarmEventType.ESCALATED, f"{a.message}: unacknowledged for "
                       f"{self._profile.behaviour.escalation_s:g} s, call for help")

    def _remind(self, a: _Alarm, t: float) -> None:
        a.next_reminder = t + self._profile.behaviour.reminder_s
        self._emit_for(t, a, AlarmEventType.REMINDED, f"{a.message} (still present)")

    # -- state changes -------------------------------------------------------------------------
    def _set_condition(
        self,
        t: float,
        alarm_id: str,
        present: bool,
        *,
        parameter: Parameter | None = None,
        kind: AlarmKind = AlarmKind.TECHNICAL,
        priority: Priority = Priority.LOW,
        message: str = "",
        value: float | None = None,
        limit: float | None = None,
    ) -> None:
        a = self._alarms.get(alarm_id)
        if not present:
            if a is None or not a.condition_present:
                return
            if value is not None:
                a.value = value  # the value that ended the condition
            if a.priority is Priority.HIGH and not a.acknowledged:
                a.condition_present = False
                self._touch()
                self._emit_for(t, a, AlarmEventType.CONDITION_ENDED, f"{a.message} (condition ended; latched)")
            else:
                self._remove(t, alarm_id, "cleared")
            return
        if a is None:
            a = _Alarm(alarm_id, parameter, kind, priority, priority, message, value, limit, t,
                       t if priority is Priority.HIGH else None)
            a.mark_raised(priority, value, limit, message)
            self._alarms[alarm_id] = a
            self._emit_for(t, a, AlarmEventType.RAISED, message)
            return
        returned = not a.condition_present
        a.condition_present = True
        a.cond_priority = priority
        a.value = value
        if priority > a.priority:
            a.priority, a.message, a.limit, a.parameter = priority, message, limit, parameter
            a.acknowledged = False
            a.silenced = False
            a.escalated = False
            a.next_reminder = None
            a.high_since = t if priority is Priority.HIGH else None
            self._emit_for(t, a, AlarmEventType.PRIORITY_CHANGED, f"{message} (now {priority.label})")
        elif priority < a.priority and (a.priority is not Priority.HIGH or a.acknowledged):
            a.priority, a.message, a.limit, a.parameter = priority, message, limit, parameter
            if not a.acknowledged:  # an unacknowledged alarm follows its condition down
                a.mark_raised(priority, value, limit, message)
            self._emit_for(t, a, AlarmEventType.PRIORITY_CHANGED, f"{message} (now {priority.label})")
        elif priority == a.priority:
            if a.message != message or a.limit != limit:
                a.message, a.limit = message, limit
            self._touch()
        else:
            self._touch()  # a latched high keeps its priority until acknowledged
        if a.raised_priority is None or priority >= a.raised_priority:
            a.mark_raised(priority, value, limit, message)  # at (or above) its raising band: the current reading
        if returned:  # a new occurrence of a latched condition: logged as raised, like the first
            self._emit_for(t, a, AlarmEventType.RAISED, f"{a.message} (condition returned)")

    def _remove(self, t: float, alarm_id: str, why: str) -> None:
        a = self._alarms.pop(alarm_id, None)
        if a is not None:
            self._emit_for(t, a, AlarmEventType.CLEARED, f"{a.message} ({why})")

    def _touch(self) -> None:
        self.revision += 1

    def _emit_for(self, t: float, a: _Alarm, event: AlarmEventType, message: str, who: str | None = None) -> None:
        self._emit(AlarmEvent(t, a.alarm_id, a.parameter, a.kind, a.priority, event, a.value, a.limit, message, who))

    def _emit(self, ev: AlarmEvent) -> None:
        self.revision += 1
        self._history.append(ev)
        self._listeners.emit(ev)  # a faulty listener is logged and never stops the alarm system
        # logged after the listeners (the screen, the sounder, the record): a slow log handler
        # never stands between a decision and the nurse
        log.info("alarm %s %s %s: %s", ev.event.value, ev.priority.label, ev.alarm_id, ev.message)


def _as_pr(message: str, side: str) -> str:
    """An HR limit's text for the pulse rate judged in its place: always names PR."""
    if not message:
        return f"Pulse rate (PR) {side}"
    if message.startswith("Heart rate"):
        return "Pulse rate (PR)" + message[len("Heart rate"):]
    return f"PR: {message}"


def _side(rule: LimitRule, direction: str) -> list[Threshold]:
    upper = direction == "upper"
    return [th for th in rule.thresholds if th.is_upper == upper]


def _parameter_or_none(text: str) -> Parameter | None:
    try:
        return Parameter(text)
    except ValueError:
        return None


def _float_or_none(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
