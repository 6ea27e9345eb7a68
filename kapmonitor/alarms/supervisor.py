"""A small thread that ticks the alarm engine so time-driven alarms fire without new data.

Other time-driven checks that feed the engine (the infusion-overrun alarm of the session link)
add themselves with `add_task`; they run on the same thread after each engine tick.

Link lost, condition delays, NIBP overdue, reminders, escalation and the end of an audio pause
are all deadlines; the engine processes each at its exact due time, so the tick period (about
100 ms of real time) only bounds how late the nurse sees it, never what is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kapmonitor.alarms.engine import AlarmEngine

log = logging.getLogger(__name__)


class AlarmSupervisor:
    """Calls `engine.tick()` every `period` real seconds until `stop()`. Thread-safe start/stop."""

    def __init__(self, engine: AlarmEngine, period: float = 0.1) -> None:
        self._engine = engine
        self._period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.errors = 0
        self._tasks: list[Callable[[], None]] = []
        self._tasks_lock = threading.Lock()

    def add_task(self, task: Callable[[], None]) -> None:
        """Also call `task()` on every tick (thread-safe; a failing task is logged, never fatal)."""
        with self._tasks_lock:
            self._tasks.append(task)

    def remove_task(self, task: Callable[[], None]) -> None:
        with self._tasks_lock:
            if task in self._tasks:
                self._tasks.remove(task)

    def start(self) -> AlarmSupervisor:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="alarm-supervisor", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop ticking and join the thread. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> AlarmSupervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self._engine.tick()
                self.ticks += 1
            except Exception:  # keep supervising; a failure is logged
                self.errors += 1
                log.exception("alarm engine tick failed")
            with self._tasks_lock:
                tasks = list(self._tasks)
            for task in tasks:
                try:
                    task()
                except Exception:
                    self.errors += 1
                    log.exception("supervised task %r failed", task)
