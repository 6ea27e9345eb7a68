"""Time points of a course score: baseline (screening), before / 24 h after infusion n, the
follow-ups after the last infusion (week-N, month-N), or unscheduled.

Names are stable keys (stored, exported, typed at the command line): `baseline`,
`before-infusion-2`, `after-infusion-2` (24 h after), `week-1`, `month-3`, `unscheduled`;
`screening` is read as `baseline`. Pure functions; thread-safe.
"""

from __future__ import annotations

import re

BASELINE = "baseline"
UNSCHEDULED = "unscheduled"
_PATTERN = re.compile(r"^(before-infusion|after-infusion|week|month)-(\d{1,2})$")
_LIMITS = {"before-infusion": 20, "after-infusion": 20, "week": 52, "month": 24}


class TimepointError(ValueError):
    """Not a time point name; the message lists the forms."""


def parse(name: str) -> str:
    """The canonical key of `name`. Raises TimepointError."""
    text = name.strip().lower().replace("_", "-").replace(" ", "-")
    if text in (BASELINE, "screening"):
        return BASELINE
    if text == UNSCHEDULED:
        return UNSCHEDULED
    text = text.replace("24h-after-infusion", "after-infusion")
    m = _PATTERN.match(text)
    if m and 1 <= int(m.group(2)) <= _LIMITS[m.group(1)]:
        return f"{m.group(1)}-{int(m.group(2))}"
    raise TimepointError(
        f"unknown time point {name!r} (use baseline, before-infusion-N, after-infusion-N, week-N, month-N "
        "or unscheduled)"
    )


def label(key: str) -> str:
    """'24 h after infusion 2', 'follow-up month 3', 'baseline (screening)'."""
    if key == BASELINE:
        return "baseline (screening)"
    m = _PATTERN.match(key)
    if not m:
        return key
    kind, n = m.group(1), int(m.group(2))
    return {
        "before-infusion": f"before infusion {n}",
        "after-infusion": f"24 h after infusion {n}",
        "week": f"follow-up week {n}",
        "month": f"follow-up month {n}",
    }[kind]
