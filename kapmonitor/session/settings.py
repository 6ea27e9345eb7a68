"""The clinic's session settings: NIBP intervals and the discharge checklist.

Read from `session.toml` in the config folder (`kapmonitor.config.config_dir()`); a missing file
means the defaults. A file that cannot be used is reported in one line and the defaults are
used, so a typo never stops a session. Example::

    [nibp]
    infusion_interval_min = 10
    after_interval_min = 15

    [[discharge]]
    key = "min_observation"            # known keys are assessed by the program
    label = "Minimum observation time elapsed"

    [[discharge]]
    key = "oriented"
    label = "Oriented to time and place"

Pure; thread-safe (immutable results).
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor.session.catalogues import DEFAULT_DISCHARGE_ITEMS, DischargeItem
from kapmonitor.session.rules import NibpSchedule

log = logging.getLogger(__name__)

FILE_NAME = "session.toml"
_AUTO_KEYS = {item.key for item in DEFAULT_DISCHARGE_ITEMS if item.auto}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SessionSettingsError(ValueError):
    """The settings file is not usable; the message says where and why."""


@dataclass(frozen=True)
class SessionSettings:
    nibp: NibpSchedule = field(default_factory=NibpSchedule)
    discharge_items: tuple[DischargeItem, ...] = DEFAULT_DISCHARGE_ITEMS


def parse_session_settings(text: str, source: str = FILE_NAME) -> SessionSettings:
    """Settings from TOML text. Raises SessionSettingsError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SessionSettingsError(f"{source}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"nibp", "discharge"}
    if unknown:
        raise SessionSettingsError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
    nibp = NibpSchedule()
    if "nibp" in data:
        section = data["nibp"]
        if not isinstance(section, dict):
            raise SessionSettingsError(f"{source}: [nibp] must be a table")
        values: dict[str, float] = {}
        for key in ("infusion_interval_min", "after_interval_min"):
            if key in section:
                v = section[key]
                if isinstance(v, bool) or not isinstance(v, int | float) or not 1 <= v <= 120:
                    raise SessionSettingsError(f"{source}: nibp.{key} must be a number of minutes from 1 to 120")
                values[key] = float(v)
        extra = set(section) - {"infusion_interval_min", "after_interval_min"}
        if extra:
            raise SessionSettingsError(f"{source}: unknown nibp setting(s) {', '.join(sorted(extra))}")
        nibp = NibpSchedule(**values)
    items = DEFAULT_DISCHARGE_ITEMS
    if "discharge" in data:
        entries = data["discharge"]
        if not isinstance(entries, list) or not entries:
            raise SessionSettingsError(f"{source}: [[discharge]] must list at least one item")
        parsed: list[DischargeItem] = []
        for i, entry in enumerate(entries, 1):
            if not isinstance(entry, dict):
                raise SessionSettingsError(f"{source}: discharge item {i} must be a table")
            item_key, label = entry.get("key"), entry.get("label")
            if not isinstance(item_key, str) or not _KEY_RE.match(item_key):
                raise SessionSettingsError(f"{source}: discharge item {i} needs a key of lower-case letters, digits, _")
            if not isinstance(label, str) or not label.strip():
                raise SessionSettingsError(f"{source}: discharge item {i} ({item_key}) needs a label")
            if item_key in {p.key for p in parsed}:
                raise SessionSettingsError(f"{source}: discharge item {item_key!r} is listed twice")
            parsed.append(DischargeItem(item_key, label.strip(), auto=item_key in _AUTO_KEYS))
        items = tuple(parsed)
    return SessionSettings(nibp, items)


def load_session_settings(path: Path | None = None) -> tuple[SessionSettings, str | None]:
    """(settings, warning): the defaults with a one-line warning when the file cannot be used."""
    if path is None:
        from kapmonitor.config import config_dir

        path = config_dir() / FILE_NAME
    if not path.is_file():
        return SessionSettings(), None
    try:
        return parse_session_settings(path.read_text(encoding="utf-8"), str(path)), None
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read {path}: {exc}; using the default session settings"
    except SessionSettingsError as exc:
        message = f"{exc}; using the default session settings"
    log.warning("%s", message)
    return SessionSettings(), message
