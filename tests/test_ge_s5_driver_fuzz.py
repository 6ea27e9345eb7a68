"""The ge-s5 driver on a loopback port: own requests echoed back, then arbitrary bytes on the line."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5 import protocol as p
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import is_plausible
from kapmonitor.model.samples import DeviceNotice, Item, LinkEvent, LinkState, RawFrame, VitalSample


def read_all(driver: GeS5Driver, rounds: int = 3) -> list[Item]:
    items: list[Item] = []
    for _ in range(rounds):
        items.extend(driver.read(0.0))
    return items


def test_own_requests_echoed_back_mean_no_monitor() -> None:
    driver = GeS5Driver(DriverOptions(port="loop://"), ManualClock(1_700_000_000))
    driver.open()
    try:
        items = read_all(driver)
    finally:
        driver.close()
    assert not any(isinstance(i, VitalSample) for i in items)
    events = [i for i in items if isinstance(i, LinkEvent)]
    assert [e.state for e in events] == [LinkState.NOT_ANSWERING] and "own requests" in events[0].detail
    assert driver.decoder.echoes == 3
    assert [i.direction for i in items if isinstance(i, RawFrame)][:3] == ["tx", "tx", "tx"]


def test_monitor_clock_offset_is_reported_once() -> None:
    driver = GeS5Driver(DriverOptions(port="loop://"), ManualClock(1_700_000_000))
    driver.open()
    body = p.basic_body(70, 0x0B, (12000, 8000, 9300, 70), 0x0B, 3, 9800, 70, 3)
    try:
        read_all(driver)
        assert driver._port is not None
        for k in range(3):
            rec = p.build_record(p.MT_PHDB, [(p.PH_DISPL, p.phdb_subrecord(1_699_996_000 + k, body))],
                                 r_time=1_699_996_000 + k)
            driver._port.write(p.frame(rec))
            items = read_all(driver, 1)
            notices = [i for i in items if isinstance(i, DeviceNotice) and i.code == "clock-offset"]
            assert len(notices) == (1 if k == 0 else 0)
            if notices:
                assert notices[0].details["offset_s"] == -4000
            events = [i for i in items if isinstance(i, LinkEvent)]
            assert not events
    finally:
        driver.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=400), max_size=8))
def test_arbitrary_bytes_never_raise_out_of_the_driver(chunks: list[bytes]) -> None:
    driver = GeS5Driver(DriverOptions(port="loop://"), ManualClock(1_700_000_000))
    driver.open()
    try:
        for chunk in chunks:
            assert driver._port is not None
            driver._port.write(chunk)
            for item in driver.read(0.0):
                if isinstance(item, VitalSample) and item.value is not None:
                    assert math.isfinite(item.value) and is_plausible(item.parameter, item.value)
    finally:
        driver.close()


def test_damaged_frames_are_reported_as_a_notice() -> None:
    driver = GeS5Driver(DriverOptions(port="loop://"), ManualClock(1_700_000_000))
    driver.open()
    try:
        read_all(driver)
        assert driver._port is not None
        good = p.frame(p.build_record(p.MT_PHDB, [(p.PH_AUX_INFO, p.aux_subrecord(0))], r_time=1_700_000_000))
        bad = bytearray(good)
        bad[10] ^= 0x01  # checksum no longer fits
        driver._port.write(bytes(bad) + bytes(bad) + good)
        items = read_all(driver, 2)
        notices = [i for i in items if isinstance(i, DeviceNotice) and i.code == "checksum-errors"]
        assert len(notices) == 1 and notices[0].details["checksum_errors"] == 2
        driver._port.write(bytes(bad))
        assert not [i for i in read_all(driver, 2) if isinstance(i, DeviceNotice)]  # rate-limited
    finally:
        driver.close()
