"""The only package that imports PySide6 and pyqtgraph.

The Qt-free bedside core is imported first, before PySide6: once loaded, PySide6 reads the source
of every module imported after it (looking for `from __feature__ import`), which costs start-up
time for modules that never use Qt.

Start-up creates ~120,000 long-lived objects (modules, classes, Qt wrappers); the cyclic garbage
collector would walk them again and again (~40 ms before the first paint). Its first generation's
threshold is raised here, so it rarely runs while the window is built, and `end_startup_collection()`
puts it back once the window is painted (the application calls it; the first collection then walks
what start-up built, once, while the session panel is being built anyway). Garbage is still
collected meanwhile, only less often. Thread-safe.
"""

import gc

_STARTUP_THRESHOLD = 200_000  # allocations between collections while starting (Python's default: 700)
_saved_threshold: tuple[int, int, int] | None = None


def end_startup_collection() -> None:
    """Python's usual collection thresholds again (idempotent)."""
    global _saved_threshold
    saved, _saved_threshold = _saved_threshold, None
    if saved is not None:
        gc.set_threshold(*saved)
    if _after_first_collection in gc.callbacks:
        gc.callbacks.remove(_after_first_collection)


def _after_first_collection(phase: str, info: dict[str, int]) -> None:
    """A process that never calls `end_startup_collection` (the central station, a test) gets the
    usual thresholds back after the first collection."""
    if phase == "stop":
        end_startup_collection()


if gc.get_threshold()[0] < _STARTUP_THRESHOLD:
    _saved_threshold = gc.get_threshold()
    gc.set_threshold(_STARTUP_THRESHOLD, *_saved_threshold[1:])
    gc.callbacks.append(_after_first_collection)

import kapmonitor.bedside  # noqa: E402, F401  (see above)
