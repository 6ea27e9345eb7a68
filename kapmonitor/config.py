"""Per-user places: where sessions, settings and caches live (platformdirs), and the monitor
chosen last (`monitor.toml`, used at the next start when no --driver is given).

Pure functions, thread-safe.
"""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MonitorChoice:
    """Which monitor to read: driver name, serial port and baud rate (None: the driver's own)."""

    driver: str
    port: str | None = None
    baudrate: int | None = None


def monitor_config_path() -> Path:
    return config_dir() / "monitor.toml"


def load_monitor_choice(path: Path | None = None) -> tuple[MonitorChoice | None, str | None]:
    """The monitor saved from Monitor ▸ Monitor connection…, and a problem to tell when the file
    could not be used (then None: the program starts on its default)."""
    path = path or monitor_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, f"monitor setting {path} ignored ({exc})"
    section = data.get("monitor")
    if not isinstance(section, dict) or not isinstance(section.get("driver"), str) or not section["driver"]:
        return None, f"monitor setting {path} ignored: it needs [monitor] driver = \"...\""
    port, baud = section.get("port"), section.get("baudrate")
    if port is not None and not isinstance(port, str):
        return None, f"monitor setting {path} ignored: port must be text"
    if baud is not None and (isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0):
        return None, f"monitor setting {path} ignored: baudrate must be a positive whole number"
    return MonitorChoice(section["driver"], port or None, baud), None


def save_monitor_choice(choice: MonitorChoice, path: Path | None = None) -> Path:
    """Write the choice atomically (a half-written file would mean no saved monitor). Raises OSError."""
    import tomli_w

    path = path or monitor_config_path()
    section: dict[str, object] = {"driver": choice.driver}
    if choice.port:
        section["port"] = choice.port
    if choice.baudrate:
        section["baudrate"] = choice.baudrate
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# the monitor kapmonitor reads (Monitor > Monitor connection...)\n"
                   + tomli_w.dumps({"monitor": section}), encoding="utf-8")
    os.replace(tmp, path)
    return path
