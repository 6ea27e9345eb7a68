"""One typed way to tell listeners: `Emitter[P]`, used by the dispatcher, the alarm engine, the
nurse session and the music controller instead of four hand-written listener lists.

`Emitter[[AlarmEvent]]` calls `listener(event)`; `Emitter[[]]` calls `listener()`. A listener that
raises is logged (with the emitter's name), counted in `errors` and kept: a faulty view never stops
the others, and an alarm reaches every listener after it.

Thread-safety: `add`, `remove` and `emit` may be called from any thread, also from inside a
listener. The list is copied on write, so `emit` calls the listeners registered when it started,
without holding a lock while they run (a listener may take its owner's lock without deadlock). A
caller that needs its batches delivered in order and never concurrently (the dispatcher) emits under
its own lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Emitter(Generic[P]):
    """Listeners in the order they were added; the same listener added twice is called twice."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._guard = threading.Lock()
        self._listeners: tuple[Callable[P, object], ...] = ()
        self._errors = 0

    def add(self, listener: Callable[P, object]) -> None:
        with self._guard:
            self._listeners = (*self._listeners, listener)

    def remove(self, listener: Callable[P, object]) -> None:
        """Remove the first registration of `listener` (equal bound methods count); none: nothing."""
        with self._guard:
            for i, known in enumerate(self._listeners):
                if known == listener:
                    self._listeners = self._listeners[:i] + self._listeners[i + 1:]
                    return

    def __contains__(self, listener: object) -> bool:
        return listener in self._listeners

    def __len__(self) -> int:
        return len(self._listeners)

    @property
    def errors(self) -> int:
        """How many listener calls have raised so far."""
        return self._errors

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> int:
        """Call every listener; returns how many raised (each is logged, none stops the others)."""
        failed = 0
        for listener in self._listeners:  # the tuple is never changed in place: a consistent snapshot
            try:
                listener(*args, **kwargs)
            except Exception:
                failed += 1
                log.exception("%s listener %r failed", self.name, listener)
        if failed:
            with self._guard:
                self._errors += failed
        return failed
