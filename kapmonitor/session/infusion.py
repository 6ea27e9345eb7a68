"""The infusion clock: phases, pauses, elapsed and remaining infusing time.

Pure and deterministic: no clock inside, every method takes the time as an argument, so the
same object serves live monitoring, replay on a recording's time, and tests. Questions about a
time `t` are answered from the history as it stands (a pause that began before `t` counts up to
`t`). Transitions must come in time order.

Not thread-safe on its own; `NurseSession` guards it with its lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)

DEFAULT_PLANNED_DURATION_S = 2400.0
DEFAULT_OBSERVATION_S = 3600.0


class Phase(StrEnum):
    """Where the session stands. The order of the members is the order of a session."""

    BASELINE = "baseline"
    INFUSION = "infusion"
    OBSERVATION = "observation"
    READY_FOR_DISCHARGE = "ready-for-discharge"
    DISCHARGED = "discharged"

    @property
    def label(self) -> str:
        return _PHASE_LABELS[self]


_PHASE_LABELS = {
    Phase.BASELINE: "Baseline",
    Phase.INFUSION: "Infusion",
    Phase.OBSERVATION: "Observation",
    Phase.READY_FOR_DISCHARGE: "Ready for discharge",
    Phase.DISCHARGED: "Discharged",
}


class InfusionTransitionError(Exception):
    """An infusion action that does not fit the current state or time (message says why)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """One pause of the infusion; `end` is None while it lasts."""

    start: float
    end: float | None
    reason: str

    def overlap(self, t0: float, t1: float) -> float:
        """Seconds of this pause inside [t0, t1] (an open pause lasts up to t1)."""
        end = t1 if self.end is None else min(self.end, t1)
        return max(0.0, end - max(self.start, t0))


class InfusionClock:
    """Baseline → infusion (with pauses) → observation → ready for discharge → discharged."""

    def __init__(
        self,
        planned_duration_s: float = DEFAULT_PLANNED_DURATION_S,
        observation_s: float = DEFAULT_OBSERVATION_S,
    ) -> None:
        if not planned_duration_s > 0:
            raise ValueError("planned infusion duration must be positive")
        if observation_s < 0:
            raise ValueError("observation time cannot be negative")
        self.planned_duration_s = float(planned_duration_s)
        self.observation_s = float(observation_s)
        self._started_at: float | None = None
        self._stopped_at: float | None = None
        self._discharged_at: float | None = None
        self._pauses: list[Pause] = []
        self._last_t: float | None = None

    # -- state ---------------------------------------------------------------------------
    @property
    def started_at(self) -> float | None:
        return self._started_at

    @property
    def stopped_at(self) -> float | None:
        return self._stopped_at

    @property
    def discharged_at(self) -> float | None:
        return self._discharged_at

    @property
    def pauses(self) -> list[tuple[float, float | None, str]]:
        """Every pause as (start, end or None while it lasts, reason)."""
        return [(p.start, p.end, p.reason) for p in self._pauses]

    @property
    def running(self) -> bool:
        """Infusing right now (started, not stopped, not paused)."""
        return self._started_at is not None and self._stopped_at is None and not self.paused

    @property
    def paused(self) -> bool:
        return bool(self._pauses) and self._pauses[-1].end is None

    # -- transitions ------------------------------------------------------------------------
    def _check_time(self, t: float, action: str) -> None:
        if self._last_t is not None and t < self._last_t:
            raise InfusionTransitionError(
                f"cannot {action} at a time earlier than the previous infusion action "
                f"({t - self._last_t:.1f} s before it)"
            )

    def start(self, t: float) -> None:
        if self._started_at is not None:
            raise InfusionTransitionError("the infusion has already been started")
        self._check_time(t, "start the infusion")
        self._started_at = t
        self._last_t = t

    def pause(self, t: float, reason: str) -> None:
        if self._started_at is None:
            raise InfusionTransitionError("cannot pause: the infusion has not been started")
        if self._stopped_at is not None:
            raise InfusionTransitionError("cannot pause: the infusion has been stopped")
        if self.paused:
            raise InfusionTransitionError("the infusion is already paused")
        if not reason.strip():
            raise InfusionTransitionError("a pause needs a reason")
        self._check_time(t, "pause")
        self._pauses.append(Pause(t, None, reason.strip()))
        self._last_t = t

    def resume(self, t: float) -> None:
        if not self.paused:
            raise InfusionTransitionError("cannot resume: the infusion is not paused")
        self._check_time(t, "resume")
        last = self._pauses[-1]
        self._pauses[-1] = Pause(last.start, t, last.reason)
        self._last_t = t

    def stop(self, t: float) -> None:
        """End the infusion (also from a pause, which then ends at `t`)."""
        if self._started_at is None:
            raise InfusionTransitionError("cannot stop: the infusion has not been started")
        if self._stopped_at is not None:
            raise InfusionTransitionError("the infusion has already been stopped")
        self._check_time(t, "stop")
        if self.paused:
            last = self._pauses[-1]
            self._pauses[-1] = Pause(last.start, t, last.reason)
        self._stopped_at = t
        self._last_t = t

    def discharge(self, t: float) -> None:
        """The patient has been discharged (after the infusion has been stopped)."""
        if self._stopped_at is None:
            raise InfusionTransitionError("cannot discharge: the infusion has not been stopped")
        if self._discharged_at is not None:
            raise InfusionTransitionError("the patient has already been discharged")
        self._check_time(t, "discharge")
        self._discharged_at = t
        self._last_t = t

    # -- questions ----------------------------------------------------------------------------
    def phase_at(self, t: float) -> Phase:
        if self._started_at is None or t < self._started_at:
            return Phase.BASELINE
        if self._stopped_at is None or t < self._stopped_at:
            return Phase.INFUSION
        if self._discharged_at is not None and t >= self._discharged_at:
            return Phase.DISCHARGED
        if t >= self._stopped_at + self.observation_s:
            return Phase.READY_FOR_DISCHARGE
        return Phase.OBSERVATION

    def paused_at(self, t: float) -> bool:
        return any(p.start <= t and (p.end is None or t < p.end) for p in self._pauses)

    def paused_s(self, t: float) -> float:
        """Seconds of pause between the start and `t`."""
        if self._started_at is None or t <= self._started_at:
            return 0.0
        return sum(p.overlap(self._started_at, t) for p in self._pauses)

    def elapsed_s(self, t: float) -> float:
        """Infusing time up to `t`, pauses excluded."""
        if self._started_at is None or t <= self._started_at:
            return 0.0
        end = t if self._stopped_at is None else min(t, self._stopped_at)
        return max(0.0, end - self._started_at - self.paused_s(end))

    def remaining_s(self, t: float) -> float:
        """Planned infusing time still to go; 0 once stopped or once the plan is reached."""
        if self._stopped_at is not None and t >= self._stopped_at:
            return 0.0
        return max(0.0, self.planned_duration_s - self.elapsed_s(t))

    def overrun_s(self, t: float) -> float:
        """Seconds infused beyond the planned duration while the pump runs (0 when paused or stopped)."""
        if self._started_at is None or self._stopped_at is not None or self.paused_at(t):
            return 0.0
        return max(0.0, self.elapsed_s(t) - self.planned_duration_s)

    def progress(self, t: float) -> float:
        """Fraction of the planned infusion delivered, 0..1."""
        return min(1.0, self.elapsed_s(t) / self.planned_duration_s)

    def infusion_window(self, t: float) -> tuple[float, float] | None:
        """(start, end): the actual end once stopped, else the planned end extended by the pauses."""
        if self._started_at is None or t < self._started_at:
            return None
        if self._stopped_at is not None and t >= self._stopped_at:
            return (self._started_at, self._stopped_at)
        return (self._started_at, self._started_at + self.planned_duration_s + self.paused_s(t))

    def observation_elapsed_s(self, t: float) -> float:
        """Seconds since the infusion was stopped (0 before)."""
        if self._stopped_at is None or t < self._stopped_at:
            return 0.0
        end = t if self._discharged_at is None else min(t, self._discharged_at)
        return end - self._stopped_at

    def observation_remaining_s(self, t: float) -> float | None:
        """Seconds of the minimum observation still to go; None before the infusion stopped."""
        if self._stopped_at is None or t < self._stopped_at:
            return None
        return max(0.0, self.observation_s - self.observation_elapsed_s(t))

    def volume_infused_ml(self, t: float, rate_ml_h: float) -> float:
        return rate_ml_h * self.elapsed_s(t) / 3600.0

    # -- rebuilding from the record ---------------------------------------------------------------
    def apply(self, action: str, t: float, reason: str | None = None) -> None:
        """Apply a recorded infusion action ('start', 'pause', 'resume', 'stop', 'discharge').

        Other actions (e.g. 'recovered') are ignored, so records can carry notes about the clock.
        """
        if action == "start":
            self.start(t)
        elif action == "pause":
            self.pause(t, reason or "not recorded")
        elif action == "resume":
            self.resume(t)
        elif action == "stop":
            self.stop(t)
        elif action == "discharge":
            self.discharge(t)
        else:
            log.debug("infusion action %r does not change the clock", action)


def format_duration(seconds: float) -> str:
    """'m:ss' below an hour, else 'h:mm:ss'; negative values shown with a minus sign."""
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"
