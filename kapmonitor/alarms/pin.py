"""The clinic PIN that protects the alarm profile: a salted PBKDF2 hash in the user config dir.

The PIN itself is never stored. The first use sets it; later uses verify it. This is a guard
against a casual change of the signed-off limits, not a security boundary against someone with
access to the user account. Thread-safety: instances are not shared; file writes are atomic.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

_ITERATIONS = 200_000
MIN_PIN_LENGTH = 4


class PinError(Exception):
    """The PIN is unusable (too short) or the PIN file is unreadable."""


def default_pin_path() -> Path:
    from kapmonitor.config import config_dir

    return config_dir() / "clinic_pin.json"


class PinStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_pin_path()

    def is_set(self) -> bool:
        return self._load() is not None

    def set_pin(self, pin: str) -> None:
        pin = pin.strip()
        if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
            raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits")
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, _ITERATIONS)
        data = {"salt": salt.hex(), "hash": digest.hex(), "iterations": _ITERATIONS}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        log.info("clinic PIN set (%s)", self.path)

    def verify(self, pin: str) -> bool:
        data = self._load()
        if data is None:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.strip().encode(), bytes.fromhex(data["salt"]),
                                     int(data["iterations"]))
        return hmac.compare_digest(digest.hex(), data["hash"])

    def _load(self) -> dict[str, str] | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise PinError(f"cannot read the clinic PIN file {self.path}: {exc}") from exc
        if not isinstance(raw, dict) or not {"salt", "hash", "iterations"} <= set(raw):
            raise PinError(f"the clinic PIN file {self.path} is damaged; remove it to set a new PIN")
        return {k: str(v) for k, v in raw.items()}
