"""The one typed listener list (model/events.py) and its four users: a failing listener is logged and
never stops the others, listeners may come and go from any thread, also from inside a call."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import AlarmEvent
from kapmonitor.alarms.profile import default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.events import Emitter
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, VitalSample


def test_listeners_are_called_in_order_with_the_arguments() -> None:
    calls: list[tuple[str, int, str]] = []
    e: Emitter[[int, str]] = Emitter("test")

    def first(n: int, s: str) -> None:
        calls.append(("first", n, s))

    def second(n: int, s: str) -> None:
        calls.append(("second", n, s))

    e.add(first)
    e.add(second)
    assert e.emit(1, "a") == 0
    e.remove(first)
    e.remove(first)  # not there any more: nothing happens
    e.emit(2, "b")
    assert calls == [("first", 1, "a"), ("second", 1, "a"), ("second", 2, "b")]
    assert first not in e and second in e and len(e) == 1


def test_a_failing_listener_is_logged_counted_and_never_stops_the_others(caplog: pytest.LogCaptureFixture) -> None:
    got: list[int] = []
    e: Emitter[[int]] = Emitter("alarm")

    def broken(n: int) -> None:
        raise RuntimeError("view bug")

    e.add(broken)
    e.add(got.append)
    with caplog.at_level(logging.ERROR, logger="kapmonitor.model.events"):
        assert e.emit(7) == 1
        assert e.emit(8) == 1
    assert got == [7, 8] and e.errors == 2
    assert "alarm listener" in caplog.text and "view bug" in caplog.text


def test_listeners_added_and_removed_inside_a_call_and_from_other_threads() -> None:
    e: Emitter[[]] = Emitter("session")
    late: list[str] = []

    def adds_and_leaves() -> None:
        e.remove(adds_and_leaves)
        e.add(lambda: late.append("late"))

    e.add(adds_and_leaves)
    e.emit()  # the snapshot taken when the call started: the new listener is not called yet
    assert late == [] and adds_and_leaves not in e
    e.emit()
    assert late == ["late"]

    counts = [0] * 8
    stop = threading.Event()

    def emitter() -> None:
        while not stop.is_set():
            e.emit()

    def adder(k: int) -> None:
        def listener() -> None:
            counts[k] += 1

        for _ in range(200):
            e.add(listener)
            e.remove(listener)
        e.add(listener)

    runner = threading.Thread(target=emitter)
    runner.start()
    threads = [threading.Thread(target=adder, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    runner.join()
    assert len(e) == 1 + 8  # every add and remove kept, none lost to a race
    before = list(counts)
    e.emit()
    assert [c - b for c, b in zip(counts, before, strict=True)] == [1] * 8


def test_the_dispatcher_counts_a_failing_listener_and_feeds_the_rest() -> None:
    class Broken:
        def on_items(self, items: Sequence[Item]) -> None:
            raise ValueError("bug")

    class Keeps:
        def __init__(self) -> None:
            self.items: list[Item] = []

        def on_items(self, items: Sequence[Item]) -> None:
            self.items.extend(items)

    d = Dispatcher()
    broken, keeps = Broken(), Keeps()
    d.add_listener(broken)
    d.add_listener(keeps)
    item = VitalSample(1.0, Parameter.HR, 80.0)
    d.dispatch([item])
    d.remove_listener(broken)
    d.dispatch([item])
    assert keeps.items == [item, item] and d.listener_errors == 1 and d.items_dispatched == 2


def test_an_alarm_reaches_every_listener_after_a_failing_one() -> None:
    clock = ManualClock(1_700_000_000.0)
    engine = AlarmEngine(default_profile(), clock)
    seen: list[AlarmEvent] = []

    def broken(ev: AlarmEvent) -> None:
        raise RuntimeError("bar bug")

    engine.add_listener(broken)
    engine.add_listener(seen.append)
    engine.on_items([VitalSample(clock.now(), Parameter.SPO2, 80.0)])
    clock.advance(30)
    engine.on_items([VitalSample(clock.now(), Parameter.SPO2, 80.0)])
    assert any(ev.alarm_id.startswith("spo2") and ev.event.value == "raised" for ev in seen)
    engine.remove_listener(seen.append)
    n = len(seen)
    engine.on_items([VitalSample(clock.now() + 1, Parameter.SPO2, 99.0)])
    clock.advance(60)
    engine.on_items([VitalSample(clock.now(), Parameter.SPO2, 99.0)])
    assert len(seen) == n  # removed: no more calls
