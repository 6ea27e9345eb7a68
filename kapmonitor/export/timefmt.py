"""ISO 8601 times with the session's UTC offset, formatted in bulk.

Millisecond precision: monitors stamp their values to the millisecond at best, and a spreadsheet
shows no more. Formatting goes through numpy's datetime64 so 50,000 samples take a few ms.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def offset_suffix(offset_minutes: int) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def iso_many(t: npt.NDArray[np.float64], offset_minutes: int) -> list[str]:
    """ISO 8601 strings (ms, with offset) of epoch seconds `t`."""
    suffix = offset_suffix(offset_minutes)
    return [s + suffix for s in local_iso_many(t, offset_minutes)]


def local_iso_many(t: npt.NDArray[np.float64], offset_minutes: int) -> list[str]:
    """`iso_many` without the offset suffix (a bulk writer appends the one suffix itself)."""
    if len(t) == 0:
        return []
    ms = np.round((np.asarray(t, dtype=np.float64) + offset_minutes * 60.0) * 1000.0).astype(np.int64)
    text: list[str] = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").tolist()
    return text


def iso(t: float | None, offset_minutes: int) -> str | None:
    """One ISO 8601 string, or None for no time."""
    if t is None:
        return None
    return iso_many(np.array([t], dtype=np.float64), offset_minutes)[0]


def minutes_many(t: npt.NDArray[np.float64], origin: float) -> list[float]:
    """Session minutes rounded to 4 decimals (6 ms)."""
    return np.round((np.asarray(t, dtype=np.float64) - origin) / 60.0, 4).tolist()  # type: ignore[no-any-return]


def minute(t: float, origin: float) -> float:
    return round((t - origin) / 60.0, 4)
