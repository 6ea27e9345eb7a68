"""Command-line pieces shared by `run` and the other commands: number types for options, whether a
window can open here, where an accelerated clock starts. Thread-safety: pure functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more: {text!r}")
    return value


def has_display() -> bool:
    """Whether Qt can open a window here (Linux without X or Wayland cannot; Qt would abort)."""
    if not sys.platform.startswith("linux"):
        return True
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def accelerated_start(session: Path | None) -> float:
    """An accelerated clock resuming a record starts after the record's end: an earlier accelerated run
    may have recorded far ahead of the wall clock, and time in one record never runs backwards."""
    import time

    from kapmonitor.recording.reader import last_record_time

    end = last_record_time(session) if session is not None else None
    return max(time.time(), end + 1.0) if end is not None else time.time()
