"""The clinic's setting that lets the central station acknowledge this computer's alarms (off by default).

The setting lives beside the administrator PIN (`central_ack.json`, 0600) with a keyed tag
(HMAC with the machine key), so it can be switched on only by `kapmonitor admin central-ack on`
after the PIN, and a file written by hand fails its check and counts as off. A bedside accepts
remote acknowledgements only when it is started with `--allow-central-ack` AND this setting is on:
one person at one chair cannot enable it alone, nor can the central.

Thread-safety: plain functions on a small file; call from one thread at a time.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from kapmonitor.alarms.pin import PinError, PinStore, _write_private

log = logging.getLogger(__name__)

POLICY_NAME = "central_ack.json"


def policy_path(store: PinStore) -> Path:
    return store.path.parent / POLICY_NAME


def _message(data: dict[str, object]) -> bytes:
    return "|".join(str(data.get(k, "")) for k in ("enabled", "by", "t")).encode()


def set_central_ack(store: PinStore, enabled: bool, who: str) -> dict[str, object]:
    """Write the setting (after the PIN was verified by the caller) and log it. Raises PinError."""
    data: dict[str, object] = {"enabled": bool(enabled), "by": who,
                               "t": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data["mac"] = store.tag(_message(data))
    _write_private(policy_path(store), json.dumps(data, indent=1))
    store._record("central_ack_on" if enabled else "central_ack_off", who, str(policy_path(store)))
    log.info("acknowledgement from the central station %s by %s", "enabled" if enabled else "disabled", who)
    return data


def central_ack_allowed(store: PinStore | None = None) -> tuple[bool, str]:
    """(allowed, why not): on only with a setting that passes its check; a missing file is off."""
    store = store if store is not None else PinStore()
    path = policy_path(store)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, ("this clinic has not enabled acknowledgement from the central station "
                       "(an administrator runs `kapmonitor admin central-ack on --who NAME`)")
    except (OSError, ValueError) as exc:
        return False, f"the central acknowledgement setting {path} is unreadable ({exc}); it counts as off"
    if not isinstance(data, dict) or not store.check_tag(_message(data), str(data.get("mac"))):
        return False, f"the central acknowledgement setting {path} fails its integrity check; it counts as off"
    if data.get("enabled") is not True:
        return False, f"acknowledgement from the central station was switched off by {data.get('by')}"
    return True, ""


def describe(store: PinStore | None = None) -> str:
    """One line for `kapmonitor admin status`."""
    allowed, why = central_ack_allowed(store)
    return "enabled (chairs started with --allow-central-ack accept it)" if allowed else f"off: {why}"


__all__ = ["PinError", "central_ack_allowed", "describe", "policy_path", "set_central_ack"]
