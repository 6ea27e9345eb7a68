"""Per-user places: where sessions, settings and caches live (platformdirs)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import platformdirs

APP_NAME = "kapmonitor"


def data_dir() -> Path:
    """The user data folder; KAPMONITOR_DATA_DIR overrides it (tests, kiosk set-ups)."""
    override = os.environ.get("KAPMONITOR_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    override = os.environ.get("KAPMONITOR_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("KAPMONITOR_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def sessions_dir() -> Path:
    """Where session databases are kept, one file per session (owner-only)."""
    return data_dir() / "sessions"


def new_session_path(simulated: bool, now: float | None = None) -> Path:
    """A fresh, sortable session file name, e.g. 20261121-154900-sim.db."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    suffix = "-sim" if simulated else ""
    path = sessions_dir() / f"{stamp}{suffix}.db"
    n = 1
    while path.exists():
        n += 1
        path = sessions_dir() / f"{stamp}{suffix}-{n}.db"
    return path
