"""The live picture of the patient that the GUI draws: trend buffers, the pleth wave, the last NIBP.

`TrendStore` is a dispatcher listener. It is written by the reader thread and read by the GUI
timer; every buffer has its own lock and the small state here is guarded by one lock, so a
snapshot is always consistent and never blocks the reader for long.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.model.buffers import TrendBuffer, WaveBuffer
from kapmonitor.model.nibp import NibpMeasurement, nibp_key
from kapmonitor.model.parameters import TREND_PARAMETERS, Parameter
from kapmonitor.model.samples import Item, LinkEvent, LinkState, Source, Status, VitalSample, WaveChunk

TREND_CAPACITY = 24 * 3600  # a day of 1 Hz values per parameter
PLETH_SECONDS = 8.0
MANUAL_POINTS = 1000  # hand-entered values kept per parameter (the trend marks them)


NibpReading = NibpMeasurement  # the tile's name for one cuff measurement (model/nibp.py)
NIBP_KEPT = 2000  # measurements kept for the trend plot (a long session measures every 5 min: ~100)


@dataclass(frozen=True)
class LatestValue:
    time: float
    value: float | None
    status: Status
    source: Source = Source.MONITOR


class TrendStore:
    """Thread-safe store of everything needed to draw the nurse's screen."""

    def __init__(self, pleth_rate_hz: float = 100.0) -> None:
        self.trends: dict[Parameter, TrendBuffer] = {p: TrendBuffer(TREND_CAPACITY) for p in TREND_PARAMETERS}
        self.pleth = WaveBuffer(pleth_rate_hz, PLETH_SECONDS)
        self._lock = threading.Lock()
        self._latest: dict[Parameter, LatestValue] = {}
        self._nibp: NibpMeasurement | None = None
        self._nibp_all: dict[str, NibpMeasurement] = {}  # by key, oldest first
        self._nibp_measuring_since: float | None = None
        self._link = LinkState.CLOSED
        self._link_detail = ""
        self._last_time = 0.0
        self._manual: dict[Parameter, deque[tuple[float, float]]] = {}
        self.version = 0  # bumps on every batch: lets the GUI skip redraws when nothing changed

    # -- writer (reader thread) -------------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        for item in items:
            if isinstance(item, VitalSample):
                self._on_sample(item)
            elif isinstance(item, WaveChunk):
                if item.parameter is Parameter.PLETH:
                    self.pleth.write(item.time, item.values)
                    with self._lock:
                        self._last_time = max(self._last_time, item.end_time)
            elif isinstance(item, LinkEvent):
                with self._lock:
                    self._link = item.state
                    self._link_detail = item.detail
                if item.state is not LinkState.CONNECTED:
                    self.pleth.mark_gap_until(item.time)
        with self._lock:
            self.version += 1

    def _on_sample(self, s: VitalSample) -> None:
        buf = self.trends.get(s.parameter)
        with self._lock:
            self._last_time = max(self._last_time, s.time)
            if s.parameter is Parameter.NIBP_SYS and s.status is Status.MEASURING:
                self._nibp_measuring_since = s.time
                return
            self._latest[s.parameter] = LatestValue(s.time, s.value if s.valid else None, s.status, s.source)
            if s.source is Source.MANUAL and s.valid and s.value is not None:
                self._manual.setdefault(s.parameter, deque(maxlen=MANUAL_POINTS)).append((s.time, s.value))
        if buf is not None:
            buf.append(s.time, s.value if s.valid else None)
        if s.parameter in (Parameter.NIBP_SYS, Parameter.NIBP_DIA, Parameter.NIBP_MEAN, Parameter.NIBP_PULSE):
            self._on_nibp_part(s)

    def _on_nibp_part(self, s: VitalSample) -> None:
        key = nibp_key(s.measurement_id, s.time)
        with self._lock:
            self._nibp_measuring_since = None
            current = self._nibp_all.get(key)
            reading = NibpMeasurement.of(s) if current is None else current.with_part(s)
            self._nibp_all[key] = reading
            if self._nibp is None or self._nibp.key == key or reading.time >= self._nibp.time:
                self._nibp = reading
            if len(self._nibp_all) > NIBP_KEPT:
                del self._nibp_all[next(iter(self._nibp_all))]

    # -- readers (GUI thread) -----------------------------------------------------------------
    def latest(self, parameter: Parameter) -> LatestValue | None:
        with self._lock:
            return self._latest.get(parameter)

    def manual_points(self, parameter: Parameter) -> list[tuple[float, float]]:
        """(time, value) of the values the nurse entered by hand, oldest first."""
        with self._lock:
            return list(self._manual.get(parameter, ()))

    def last_nibp(self) -> NibpMeasurement | None:
        with self._lock:
            return self._nibp

    def nibp_measurements(self) -> list[NibpMeasurement]:
        """The cuff measurements seen, oldest first (one item per measurement, parts grouped)."""
        with self._lock:
            return list(self._nibp_all.values())

    def nibp_measuring_since(self) -> float | None:
        with self._lock:
            return self._nibp_measuring_since

    def link(self) -> tuple[LinkState, str]:
        with self._lock:
            return self._link, self._link_detail

    @property
    def last_time(self) -> float:
        """Time of the newest item seen (the data's clock, which may run ahead in a simulation)."""
        with self._lock:
            return self._last_time
