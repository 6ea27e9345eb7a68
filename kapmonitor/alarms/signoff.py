"""The clinic's sign-off of its alarm profile: the signed-off profile's hash with a keyed tag.

The profile editor (behind the administrator PIN) writes `alarm_profile_signoff.json` beside the
PIN file when it saves: name, version, hash, who and when, tagged with HMAC(machine key). At every
start `signoff_problem` compares the profile in force with it; a profile edited with a text editor
(SBP limits 160/180 -> 240/250, no PIN) has another hash and is named on screen and in the log,
and a rewritten sign-off record fails its tag. The built-in default needs no sign-off.

Thread-safety: plain functions on small files; call from one thread at a time.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from kapmonitor.alarms.pin import PinError, PinStore, _write_private
from kapmonitor.alarms.profile import AlarmProfile, is_builtin

log = logging.getLogger(__name__)

SIGNOFF_NAME = "alarm_profile_signoff.json"


def signoff_path(store: PinStore) -> Path:
    return store.path.parent / SIGNOFF_NAME


def _message(data: dict[str, object]) -> bytes:
    return "|".join(str(data.get(k, "")) for k in ("hash", "name", "version", "by", "t")).encode()


def sign_off(profile: AlarmProfile, store: PinStore, who: str) -> dict[str, object]:
    """Record `profile` as the clinic's signed-off profile (after the PIN was verified). Raises PinError."""
    data: dict[str, object] = {
        "hash": profile.digest, "name": profile.name, "version": profile.version, "by": who,
        "t": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    data["mac"] = store.tag(_message(data))
    _write_private(signoff_path(store), json.dumps(data, indent=1))
    log.info("alarm profile %r v%s signed off by %s (hash %s)", profile.name, profile.version, who, profile.digest)
    return data


def read_signoff(store: PinStore) -> dict[str, object] | None:
    """The checked sign-off record; None when there is none. Raises PinError when it fails its check."""
    path = signoff_path(store)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise PinError(f"the sign-off record {path} is unreadable ({exc})") from exc
    if not isinstance(data, dict) or not store.check_tag(_message(data), str(data.get("mac"))):
        raise PinError(f"the sign-off record {path} fails its integrity check (changed outside kapmonitor)")
    return data


def signoff_problem(profile: AlarmProfile, store: PinStore | None = None) -> str | None:
    """Why `profile` is not the clinic's signed-off profile (one line for the screen), or None."""
    if is_builtin(profile):
        return None
    store = store or PinStore()
    try:
        record = read_signoff(store)
    except PinError as exc:
        return f"{profile.source} cannot be checked against the sign-off: {exc}"
    what = f"\u201c{profile.name}\u201d v{profile.version} ({profile.source}, hash {profile.digest[:12]})"
    if record is None:
        return f"{what} is not signed off"
    if record.get("hash") != profile.digest:
        return (f"{what} differs from "
                f"the signed-off one (\u201c{record.get('name')}\u201d v{record.get('version')} by {record.get('by')}, "
                f"{str(record.get('hash'))[:12]}): changed outside the profile editor \u2014 check the limits")
    return None
