"""How alarms look: colours, markers and flash phases, shared by the alarm bar and the tiles.

Pure functions of a monotonic time, so the flashing is testable without waiting:
high flashes at 2 Hz with a 50 % duty (band 1.4-2.8 Hz, 20-60 %), medium at 0.625 Hz (band
0.4-0.8 Hz), low is steady.
"""

from __future__ import annotations

from collections.abc import Iterable

from kapmonitor.alarms.model import ActiveAlarm, AlarmKind
from kapmonitor.alarms.profile import Priority
from kapmonitor.model.parameters import Parameter

FLASH_HZ: dict[Priority, float] = {Priority.HIGH: 2.0, Priority.MEDIUM: 0.625, Priority.LOW: 0.0}
FLASH_DUTY: dict[Priority, float] = {Priority.HIGH: 0.5, Priority.MEDIUM: 0.5, Priority.LOW: 1.0}

# (background, text) per priority; high and medium colours are the IEC 60601-1-8 red and yellow
COLOURS: dict[Priority, tuple[str, str]] = {
    Priority.HIGH: ("#ff2020", "#000000"),
    Priority.MEDIUM: ("#ffd400", "#000000"),
    Priority.LOW: ("#00e5ff", "#000000"),
}
IDLE_COLOURS = ("#111111", "#ffffff")


def flash_on(priority: Priority | None, monotonic_t: float) -> bool:
    """Whether the alarm colour is lit at `monotonic_t` (seconds). None (no alarm) is never lit."""
    if priority is None:
        return False
    hz = FLASH_HZ[priority]
    if hz <= 0:
        return True
    phase = (monotonic_t * hz) % 1.0
    return phase < FLASH_DUTY[priority]


def colours(priority: Priority | None, lit: bool = True) -> tuple[str, str]:
    """(background, text) colours for `priority`; the idle colours when not lit."""
    if priority is None or not lit:
        return IDLE_COLOURS
    return COLOURS[priority]


def tile_priorities(alarms: Iterable[ActiveAlarm]) -> dict[Parameter, Priority]:
    """The highest priority of the unacknowledged physiological alarms per parameter (tiles flash these).

    An acknowledged alarm keeps its tile coloured but steady: use `tile_states` for both.
    """
    return {p: prio for p, (prio, flashing) in tile_states(alarms).items() if flashing}


def tile_states(alarms: Iterable[ActiveAlarm]) -> dict[Parameter, tuple[Priority, bool]]:
    """Per parameter: (highest priority, flashing?); flashing stops once every alarm on it is acknowledged."""
    out: dict[Parameter, tuple[Priority, bool]] = {}
    for a in alarms:
        if a.parameter is None or a.kind is not AlarmKind.PHYSIOLOGICAL:
            continue
        prio, flashing = out.get(a.parameter, (a.priority, False))
        if a.priority > prio:
            prio, flashing = a.priority, False
        if a.priority == prio and not a.acknowledged:
            flashing = True
        out[a.parameter] = (prio, flashing)

    return out


def format_age(seconds: float) -> str:
    """Age of an alarm as the bar shows it: 45 s, 3:07, 1:02:03."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}:{s:02d}"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def format_countdown(seconds: float) -> str:
    s = max(0, int(seconds + 0.999))
    return f"{s // 60}:{s % 60:02d}"
