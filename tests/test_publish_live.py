"""`Bedside.configure_publishing` without a window: changes made in quick succession end with exactly
one HL7 sender (none left running behind), a certificate file that is no certificate is refused with a
clear reason and changes nothing, and a bedside asked to publish nothing starts nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mqtt_support import MosquittoBroker, free_port, wait_for
from test_hl7_out import Receiver
from test_publish_settings import retained_topics

from kapmonitor.bedside import Bedside
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import AcceleratedClock
from kapmonitor.publish.broker import BrokerConfigError
from kapmonitor.publish.hl7_out import Hl7Outbox
from kapmonitor.publish.settings import PublishSettings

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def bedside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bedside]:
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "config"))
    clock = AcceleratedClock(60, time.time())  # one-minute vitals every second
    running = Bedside(SimulatedMonitor(DriverOptions(seed=2, waves=False), clock), clock, tmp_path / "r.db",
                      music=False)
    running.start(sound=False)
    yield running
    running.stop()


def listening_outboxes(bedside: Bedside) -> list[Hl7Outbox]:
    listeners = bedside.pipeline.dispatcher._emitter._listeners  # what the monitor's items reach
    return [fn.__self__ for fn in listeners if isinstance(getattr(fn, "__self__", None), Hl7Outbox)]


def test_quick_changes_leave_exactly_one_hl7_sender(bedside: Bedside) -> None:
    receivers = [Receiver(free_port()) for _ in range(3)]
    for r in receivers:
        r.start()
    try:
        for r in receivers:  # three targets in a row, faster than the worker carries them out
            bedside.configure_publishing(PublishSettings(chair="chair-2", hl7_out=f"tcp:127.0.0.1:{r.port}"))
        assert bedside.publishing.wait(20)
        boxes = listening_outboxes(bedside)
        assert boxes == [bedside.hl7_outbox] and boxes[0].port == receivers[-1].port
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receivers[-1].acked) < 2:
            time.sleep(0.1)
        assert len(receivers[-1].acked) >= 2
        bedside.configure_publishing(None)
        assert bedside.publishing.wait(20)
        assert listening_outboxes(bedside) == [] and bedside.hl7_outbox is None
    finally:
        for r in receivers:
            r.stop()


def test_a_file_that_is_no_certificate_is_refused_and_nothing_changes(bedside: Bedside, tmp_path: Path) -> None:
    junk = tmp_path / "ca.crt"
    junk.write_text("this is not a certificate\n")
    with pytest.raises(BrokerConfigError, match="cannot be used"):
        bedside.configure_publishing(PublishSettings(enabled=True, broker_url=f"mqtts://127.0.0.1:{free_port()}",
                                                     chair="chair-2", ca_file=junk))
    assert bedside.publisher is None and bedside.publish_settings() is None


def test_publishing_nothing_starts_nothing(bedside: Bedside) -> None:
    bedside.configure_publishing(None)
    bedside.configure_publishing(PublishSettings(chair="chair-2"))  # a chair name alone publishes nothing
    assert bedside._publishing is None and bedside.publisher is None and bedside.hl7_outbox is None


def test_a_chair_moved_to_another_broker_is_forgotten_on_the_old_one(bedside: Bedside, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old, new = MosquittoBroker(tmp_path / "a"), MosquittoBroker(tmp_path / "b")
    old.start()
    new.start()
    try:
        settings = PublishSettings(enabled=True, broker_url=old.url, chair="chair-2", show_as="chair")
        bedside.configure_publishing(settings)
        assert bedside.publishing.wait(10)
        assert wait_for(lambda: "kapmonitor/v1/clinic/chair-2/status" in retained_topics(old.url), 10)
        bedside.configure_publishing(replace(settings, broker_url=new.url))
        assert bedside.publishing.wait(15)
        assert wait_for(lambda: "kapmonitor/v1/clinic/chair-2/status" in retained_topics(new.url), 10)
        assert retained_topics(old.url) == {}  # nothing left there for a central to call "offline"
    finally:
        bedside.configure_publishing(None)
        bedside.publishing.wait(10)
        old.stop()
        new.stop()
