"""Without HR from the monitor (a pulse oximeter alone) the HR limits judge the pulse rate, labelled PR."""

from __future__ import annotations

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import AlarmEvent, AlarmEventType
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import ManualClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Status, VitalSample

T0 = 1_700_000_000.0


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.engine = AlarmEngine(default_profile(), self.clock)
        self.events: list[AlarmEvent] = []
        self.engine.add_listener(self.events.append)

    def feed(self, dt: float, *pairs: tuple[Parameter, float | None, Status]) -> None:
        self.clock.advance_to(T0 + dt)
        t = self.clock.now()
        self.engine.on_items([VitalSample(t, p, v, st) for p, v, st in pairs])

    def active(self) -> dict[str, tuple[Priority, str]]:
        return {a.alarm_id: (a.priority, a.message) for a in self.engine.active_alarms()}


PR, HR, OK = Parameter.PULSE_RATE, Parameter.HR, Status.OK


def test_pulse_oximeter_alone_low_pulse_rate_raises_pr_alarm_after_the_hr_delay() -> None:
    rig = Rig()
    for s in range(0, 9):
        rig.feed(s, (PR, 45.0, OK), (Parameter.SPO2, 97.0, OK))
    assert rig.active() == {}  # the HR delay (10 s) still runs
    for s in range(9, 12):
        rig.feed(s, (PR, 45.0, OK), (Parameter.SPO2, 97.0, OK))
    assert rig.active() == {"pulse_rate.lower": (Priority.MEDIUM, "Pulse rate (PR) low")}
    raised = [e for e in rig.events if e.event is AlarmEventType.RAISED]
    assert raised[0].parameter is PR and raised[0].time == T0 + 10 and raised[0].limit == 50


def test_pulse_oximeter_alone_very_high_pulse_rate_is_high_priority() -> None:
    rig = Rig()
    for s in range(0, 12):
        rig.feed(s, (PR, 160.0, OK))
    assert rig.active() == {"pulse_rate.upper": (Priority.HIGH, "Pulse rate (PR) very high")}


def test_with_hr_present_the_pulse_rate_is_not_judged() -> None:
    rig = Rig()
    for s in range(0, 30):
        rig.feed(s, (HR, 70.0, OK), (PR, 45.0, OK))
    assert rig.active() == {}


def test_hr_arriving_again_ends_the_pr_alarm_and_hr_rules() -> None:
    rig = Rig()
    for s in range(0, 12):
        rig.feed(s, (PR, 45.0, OK))
    assert "pulse_rate.lower" in rig.active()
    for s in range(12, 25):
        rig.feed(s, (HR, 45.0, OK), (PR, 45.0, OK))
    assert rig.active() == {"hr.lower": (Priority.MEDIUM, "Heart rate low")}
    cleared = [e for e in rig.events if e.alarm_id == "pulse_rate.lower" and e.event is AlarmEventType.CLEARED]
    assert [e.time for e in cleared] == [T0 + 12]


def test_hr_lost_for_the_link_lost_time_hands_over_to_pr() -> None:
    rig = Rig()
    for s in range(0, 5):
        rig.feed(s, (HR, 70.0, OK), (PR, 70.0, OK))
    # ECG leads off: HR invalid from now, the pulse oximeter still reads a low pulse rate
    for s in range(5, 40):
        rig.feed(s, (HR, None, Status.SENSOR_OFF), (PR, 38.0, OK))
    active = rig.active()
    assert active["pulse_rate.lower"] == (Priority.HIGH, "Pulse rate (PR) very low")
    assert "hr.invalid" in active
    raised = [e for e in rig.events if e.alarm_id == "pulse_rate.lower" and e.event is AlarmEventType.RAISED]
    # HR last valid at 4 s; PR judged from 15 s (after 10 s without HR), raised after the 10 s delay
    assert raised[0].time == T0 + 25


def test_default_profile_low_respiratory_rate_and_high_etco2_alarm() -> None:
    rig = Rig()
    for s in range(0, 20):
        rig.feed(s, (HR, 70.0, OK), (Parameter.RESP_RATE, 7.0, OK), (Parameter.ETCO2, 52.0, OK))
    assert rig.active() == {
        "resp_rate.lower": (Priority.MEDIUM, "Respiratory rate low: check breathing"),
        "etco2.upper": (Priority.MEDIUM, "EtCO2 high: hypoventilation?"),
    }
    for s in range(20, 35):
        rig.feed(s, (HR, 70.0, OK), (Parameter.RESP_RATE, 5.0, OK), (Parameter.ETCO2, 61.0, OK))
    assert {k: v[0] for k, v in rig.active().items()} == {"resp_rate.lower": Priority.HIGH,
                                                         "etco2.upper": Priority.HIGH}


def test_no_respiration_from_the_monitor_raises_nothing() -> None:
    rig = Rig()
    for s in range(0, 40):
        rig.feed(s, (HR, 70.0, OK), (Parameter.SPO2, 97.0, OK))
    assert rig.active() == {}


def test_respiration_invalid_all_along_raises_nothing_until_it_had_a_value() -> None:
    rig = Rig()
    for s in range(0, 5):  # an IntelliVue without impedance RR: RR invalid in every poll
        rig.feed(s, (HR, 70.0, OK), (Parameter.RESP_RATE, None, Status.INVALID))
    assert rig.active() == {}
    rig.feed(5, (HR, 70.0, OK), (Parameter.RESP_RATE, 14.0, OK))
    rig.feed(6, (HR, 70.0, OK), (Parameter.RESP_RATE, None, Status.INVALID))
    assert rig.active() == {"resp_rate.invalid": (Priority.MEDIUM, "RR: invalid data")}
