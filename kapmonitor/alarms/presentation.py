"""How alarms look: colours, markers and flash phases, shared by the alarm bar and the tiles.

Pure functions of a monotonic time, so the flashing is testable without waiting:
high flashes at 2 Hz with a 50 % duty (band 1.4-2.8 Hz, 20-60 %), medium at 0.625 Hz (band
0.4-0.8 Hz), low is steady.

The text of an alarm row is built here too (`alarm_parts`, `row_parts`, `shorten`, `shorten_row`): a
Qt-free rule that shortens a row at word boundaries to the width the GUI measures, so alarm text is
never cut mid-word, and keeps the alarm's age in a column of its own at the right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from kapmonitor.alarms.model import ActiveAlarm, AlarmKind
from kapmonitor.alarms.profile import Priority
from kapmonitor.model.parameters import PARAMETER_INFO, Parameter

FLASH_HZ: dict[Priority, float] = {Priority.HIGH: 2.0, Priority.MEDIUM: 0.625, Priority.LOW: 0.0}
FLASH_DUTY: dict[Priority, float] = {Priority.HIGH: 0.5, Priority.MEDIUM: 0.5, Priority.LOW: 1.0}

# (background, text) per priority of clinical alarms; high and medium are the IEC 60601-1-8 red and
# yellow, low a pale yellow (steady): cyan belongs to technical alarms (INOP_COLOURS)
COLOURS: dict[Priority, tuple[str, str]] = {
    Priority.HIGH: ("#ff2020", "#000000"),
    Priority.MEDIUM: ("#ffd400", "#000000"),
    Priority.LOW: ("#fff176", "#000000"),
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


# -- alarm row text ------------------------------------------------------------------------------
# Technical alarms (INOPs: link lost, NIBP overdue, storage, audio, invalid data) are cyan, as on central
# stations; their marker and flash rate still give the priority. Clinical low is a pale yellow so that
# no clinical alarm can be mistaken for an INOP.
INOP_COLOURS = ("#00e5ff", "#000000")
ELLIPSIS = "\u2026"
SEPARATOR = "\u00b7"


def display_priority(a: ActiveAlarm) -> Priority:
    """The priority the row shows: the one that raised the alarm (an acknowledged high stays `***`)."""
    return a.raised_priority if a.raised_priority is not None else a.priority


def row_colours(a: ActiveAlarm, lit: bool = True) -> tuple[str, str, str]:
    """(background, text, border) of an alarm row; unlit: the alarm colour as text on black."""
    prio = display_priority(a)
    bg = INOP_COLOURS[0] if a.kind is AlarmKind.TECHNICAL else COLOURS[prio][0]
    fg = INOP_COLOURS[1] if a.kind is AlarmKind.TECHNICAL else COLOURS[prio][1]
    border = COLOURS[prio][0] if a.kind is AlarmKind.TECHNICAL else bg  # an INOP's border tells its priority
    if not lit:
        return IDLE_COLOURS[0], bg, border
    return bg, fg, border


def sort_for_display(alarms: Iterable[ActiveAlarm]) -> list[ActiveAlarm]:
    """Most urgent shown priority first; within it unacknowledged, then the patient's (physiological)
    before the equipment's (technical), then the newest. The bar has few rows: a storage or audio INOP
    must not hide a high blood pressure of the same priority."""
    return sorted(alarms, key=lambda a: (-int(display_priority(a)), a.acknowledged,
                                         a.kind is AlarmKind.TECHNICAL, -a.raised_at))


def _split_message(message: str) -> tuple[str, str]:
    head, sep, tail = message.partition(": ")
    return (head, tail) if sep else (message, "")


def _comparison(a: ActiveAlarm, value: float, limit: float) -> str:
    upper = not a.alarm_id.endswith(".lower")
    if value == limit:
        return "\u2265" if upper else "\u2264"
    return ">" if upper else "<"


def alarm_parts(a: ActiveAlarm, now: float) -> list[str]:
    """The parts of one alarm row, most important first; the shortening rule drops from the end.

    What the alarm is (marker, parameter, value, limit: "*** NIBP sys 195 > 180"; for an INOP its
    subject: "*** Link to the monitor lost"), then the action, the age, the state words and the rest.
    An acknowledged or latched alarm shows the value and limit that raised it.
    """
    lead, age, state, extra = _pieces(a, now)
    return [*lead, age, *state, *extra]


def row_parts(a: ActiveAlarm, now: float) -> tuple[list[str], str]:
    """(the row's text parts, the age): the bar shows the age right-aligned in a column of its own,
    so it stays visible when the words before it are shortened. The rest ("Systolic BP very high",
    what the numbers already say) is left to the tooltip: the row has no room to spare at 1280x800."""
    lead, age, state, _extra = _pieces(a, now)
    return [*lead, *state], age


def _pieces(a: ActiveAlarm, now: float) -> tuple[list[str], str, list[str], list[str]]:
    """(what and action, age, state words, the rest) of an alarm row."""
    prio = display_priority(a)
    value = a.raised_value if a.raised_priority is not None else a.value
    limit = a.raised_limit if a.raised_priority is not None else a.limit
    message = a.raised_message if a.raised_priority is not None and a.raised_message else a.message
    head, tail = _split_message(message)
    info = PARAMETER_INFO[a.parameter] if a.parameter is not None else None
    extra: list[str] = []
    if a.kind is AlarmKind.PHYSIOLOGICAL and info is not None and value is not None:
        what = f"{info.label} {value:g}"
        if limit is not None:
            what += f" {_comparison(a, value, limit)} {limit:g}"
        if a.alarm_id.endswith((".upper", ".lower")):
            action = tail or head  # the head ("Systolic BP very high") repeats what the numbers say
            if tail:
                extra.append(head)
        else:
            action = message  # e.g. the rise alarm: "BP rise from baseline: systolic +42 mmHg ..."
    elif len(head.split()) < 2 and tail:
        what, action = message, ""  # "HR: sensor off" says what it is only as a whole
    else:
        what, action = head, tail
    state: list[str] = []
    if a.escalated and not a.acknowledged:
        state.append("ESCALATED")
    if a.latched:
        state.append("ended, acknowledge")
    elif a.acknowledged:
        by = a.acknowledged_remotely_by
        state.append(f"acknowledged by {by}" if by else "acknowledged")
    if a.audio_paused:
        state.append("audio paused")
    if (a.condition_present and a.raised_priority is not None and a.value is not None
            and a.value != value and info is not None):
        state.append(f"now {a.value:g}")
    lead = [f"{prio.marker} {what}"]
    if action:
        lead.append(action)
    return lead, format_age(now - a.raised_at), state, extra


def full_text(parts: Sequence[str]) -> str:
    """The whole row: its parts joined with a middle dot (what the tooltip and a tap show)."""
    return f" {SEPARATOR} ".join(parts)


def word_prefix(words: Sequence[str], n: int, floor: int = 0) -> str:
    """The first `n` words + " …", never ending on a bare symbol ("/", ">", "·") unless only `floor`
    words are left; "…" alone when no word is kept."""
    kept = list(words[:n])
    while len(kept) > floor and not any(c.isalnum() for c in kept[-1]):
        kept.pop()
    return " ".join(kept) + " " + ELLIPSIS if kept else ELLIPSIS


def longest_word_prefix(words: Sequence[str], width_of: Callable[[str], float], available: float,
                        lo: int, hi: int, floor: int = 0) -> str | None:
    """The longest `word_prefix` of lo..hi words that fits `available`, or None (binary search: a
    longer prefix is never narrower). Shared by the alarm rows and every elided label."""
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        text = word_prefix(words, mid, floor)
        if width_of(text) <= available:
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    return best


def shorten(parts: Sequence[str], width_of: Callable[[str], float], available: float) -> str:
    """The longest text that fits `available`: the full text, or a word-boundary prefix + " …".

    Never cuts inside a word, never ends on a separator or a bare symbol ("/", ">"), and cuts into the
    first part (what the alarm is) only when that part alone does not fit. The priority marker and
    the word after it are always kept, even when they do not fit.
    `width_of` measures a string (QFontMetrics in the GUI; a pure function in tests).
    """
    full = full_text(parts)
    if not parts or width_of(full) <= available:
        return full
    words = full.split(" ")
    floor = min(2, len(words))
    first = len(parts[0].split(" "))

    def longest(lo: int, hi: int) -> str | None:
        return longest_word_prefix(words, width_of, available, lo, hi, floor)

    at_first = word_prefix(words, first, floor)
    if first < len(words) and width_of(at_first) <= available:
        return longest(first, len(words) - 1) or at_first
    return longest(floor, first - 1) or word_prefix(words, floor, floor)


def shorten_row(parts: Sequence[str], age: str, width_of: Callable[[str], float], available: float,
                gap: float) -> tuple[str, str]:
    """(text, age) of a row `available` wide whose age sits right-aligned in its own column, `gap`
    from the text. The text (`parts`, without the age) is shortened by `shorten` to leave room for the
    age: the action is abbreviated at whole words before the age goes. Only when what the alarm is
    (its first part) would not fit beside the age does the age give way ("" returned)."""
    if not age:
        return shorten(parts, width_of, available), ""
    room = available - width_of(age) - gap
    full = full_text(parts)
    if parts and width_of(full) > room:
        first = parts[0] if len(parts) == 1 else parts[0] + " " + ELLIPSIS
        if width_of(first) > room:
            return shorten(parts, width_of, available), ""
    return shorten(parts, width_of, room), age


def is_word_boundary_prefix(shown: str, full: str) -> bool:
    """True when `shown` is `full`, or a prefix of it ending at a word boundary followed by " …"."""
    if shown == full:
        return True
    suffix = " " + ELLIPSIS
    if not shown.endswith(suffix):
        return False
    stem = shown[: -len(suffix)]
    last = stem.rsplit(" ", 1)[-1]
    return full.startswith(stem) and full[len(stem): len(stem) + 1] == " " and any(c.isalnum() for c in last)
