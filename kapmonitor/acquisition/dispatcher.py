"""Hands every item a driver produced to every listener.

Listeners are called in the reader thread, one batch at a time and under one lock, so they see
items in order and never concurrently. A listener must be quick (queue work, update a buffer);
one that raises is logged and kept, so a faulty listener never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from kapmonitor.model.events import Emitter
from kapmonitor.model.samples import Item

log = logging.getLogger(__name__)


class Listener(Protocol):
    """Anything that consumes acquisition items."""

    def on_items(self, items: Sequence[Item]) -> None: ...


class Dispatcher:
    """Thread-safe fan-out of item batches to listeners."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one batch at a time, in order
        self._emitter: Emitter[[Sequence[Item]]] = Emitter("acquisition")
        self.items_dispatched = 0

    @property
    def listener_errors(self) -> int:
        return self._emitter.errors

    def add_listener(self, listener: Listener) -> None:
        self._emitter.add(listener.on_items)

    def remove_listener(self, listener: Listener) -> None:
        self._emitter.remove(listener.on_items)

    def dispatch(self, items: Sequence[Item]) -> None:
        if not items:
            return
        with self._lock:
            self.items_dispatched += len(items)
            self._emitter.emit(items)
