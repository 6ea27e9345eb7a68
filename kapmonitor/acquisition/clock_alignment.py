"""Putting a live monitor's timestamps on this computer's clock.

Monitors stamp values with their own clock, which is often minutes off. The nurse's screen judges
"current" and "how long ago" on this computer's clock, and the trend lays values beside the infusion
events entered here, so a live monitor's values are shifted onto this clock when the two differ by
more than `tolerance_s`. The offset is the smallest delay seen between a value's own time and its
arrival over the last `window_s` (delivery adds delay, never removes it), re-estimated when it moves
by more than `rejump_s` (the monitor's clock was set). Each change is announced as a DeviceNotice,
so the record says which clock its times are on. Decoding and replaying a capture keep the
monitor's own time; only live monitor data (`Source.MONITOR`) passes through here.

Used by the reader thread only (not thread-safe on its own).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from kapmonitor.model.parameters import NIBP_PARAMETERS
from kapmonitor.model.samples import DeviceNotice, Item, Source, VitalSample, WaveChunk

log = logging.getLogger(__name__)


class MonitorClockAligner:
    """Estimates a live monitor's clock offset and shifts its data onto this computer's clock."""

    def __init__(self, tolerance_s: float = 1.0, window_s: float = 60.0, rejump_s: float = 2.0,
                 settle_observations: int = 3) -> None:
        self.tolerance_s = tolerance_s
        self.window_s = window_s
        self.rejump_s = rejump_s
        self.settle_observations = settle_observations
        self.offset = 0.0  # seconds added to the monitor's times
        self._lags: deque[tuple[float, float]] = deque()
        self._settled = False

    def align(self, items: Sequence[Item], arrival: float) -> list[Item]:
        """`items` as they arrived at `arrival` (this computer's clock), on this computer's clock."""
        continuous = [
            i.end_time if isinstance(i, WaveChunk) else i.time
            for i in items
            if (isinstance(i, WaveChunk) and i.source is Source.MONITOR)
            or (isinstance(i, VitalSample) and i.source is Source.MONITOR and i.parameter not in NIBP_PARAMETERS)
        ]
        out = list(items)
        if continuous:
            notice = self._observe(arrival, arrival - max(continuous))
            if notice is not None:
                out.append(notice)
        if self.offset == 0.0:
            return out
        return [self._shift(i) for i in out]

    def _observe(self, arrival: float, lag: float) -> DeviceNotice | None:
        self._lags.append((arrival, lag))
        while self._lags and arrival - self._lags[0][0] > self.window_s:
            self._lags.popleft()
        if len(self._lags) < self.settle_observations:
            return None
        estimate = min(lag for _, lag in self._lags)
        wanted = estimate if abs(estimate) > self.tolerance_s else 0.0
        if self._settled and abs(wanted - self.offset) <= self.rejump_s:
            return None
        first = not self._settled
        self._settled = True
        if first and wanted == 0.0:
            return None
        self.offset = wanted
        if wanted == 0.0:
            message = "the monitor's clock now agrees with this computer's; its own times are used"
        else:
            direction = "behind" if wanted > 0 else "ahead of"
            message = (f"the monitor's clock is {abs(wanted):.0f} s {direction} this computer's; "
                       "its values are shown and recorded on this computer's clock")
        log.warning("%s", message)
        return DeviceNotice(arrival, "clock-aligned", message, {"offset_s": wanted})

    def _shift(self, item: Item) -> Item:
        if isinstance(item, VitalSample | WaveChunk) and item.source is Source.MONITOR:
            return replace(item, time=item.time + self.offset)
        return item
