"""The clinic's administrator PIN that protects the alarm profile, and the machine key behind it.

Files (all 0600, in the user config folder):
- `clinic.key`: 32 random bytes, this computer's key. Made by the administrator step
  (`kapmonitor admin set-pin`), never by the bedside program. It keys three checks: the PIN hash
  (a pepper), the PIN file's integrity tag and the profile sign-off tag.
- `clinic_pin.json`: scrypt(HMAC(key, PIN), salt) with its parameters and an HMAC tag over all of
  it. A file below the parameter floor (e.g. a rewritten "1 iteration" file), with a wrong tag or
  in an old format is refused: nobody can plant a PIN they know by editing the file.
- `clinic_pin_attempts.json`: failed attempts in a row; after 3, each further try waits, doubling
  from 30 s up to 1 h (lockout with backoff), across restarts.
- `admin_audit.log`: one JSON line per PIN set, reset, use, failure and lockout.

What this protects against: a person at the bedside changing the signed-off limits or switching an
alarm off without the PIN; guessing the PIN in the program; editing or replacing the PIN file;
deleting it to set a new PIN (only the administrator step can, and that is logged); an offline
guess from a copy of the PIN file alone (the key is needed too). What it does not: someone with the
user account's files (both the key and the PIN file) can guess a PIN offline at about 4 guesses per
second per core, and can delete the attempts file; an operating-system account of its own for
kapmonitor, or full-disk encryption, is the boundary against that.

Thread-safety: a PinStore may be used from one thread at a time; `verify` takes ~0.3 s (the slow
hash) and is meant for a worker thread in the GUI. File writes are atomic (temporary file renamed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_PIN_LENGTH = 6
FORMAT = 2
# scrypt cost: OWASP's N=2^14, r=8, p=5 (~0.3 s here); the floor refuses anything cheaper
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
_MIN_COST = 2**14 * 8 * 5
_MAXMEM = 256 * 1024 * 1024
FREE_ATTEMPTS = 3
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0

AuditFn = Callable[[str, str, str], None]  # (event, who, detail)


class PinError(Exception):
    """The PIN is unusable, not set, or its files are missing, damaged or tampered with."""


class PinLockedError(PinError):
    """Too many wrong PINs: try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"too many wrong PINs: try again in {max(1, round(seconds))} s")
        self.seconds = seconds


def default_pin_path() -> Path:
    from kapmonitor.config import config_dir

    return config_dir() / "clinic_pin.json"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in data.items() if k != "mac"}, sort_keys=True).encode()


class PinStore:
    """The PIN, its key, its lockout counter and its audit log, all in one folder."""

    def __init__(self, path: Path | None = None, audit: AuditFn | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else default_pin_path()
        folder = self.path.parent
        self.key_path = folder / "clinic.key"
        self.attempts_path = folder / "clinic_pin_attempts.json"
        self.audit_path = folder / "admin_audit.log"
        self.audit = audit
        self._clock = clock

    # -- state --------------------------------------------------------------------------------
    def is_set(self) -> bool:
        """True when a valid PIN is set. Raises PinError when its files are damaged or tampered with."""
        return self._load() is not None

    def status(self) -> str:
        """One line for the administrator and the editor: set, not set, missing, or refused (why)."""
        try:
            if self._load() is not None:
                return "set"
        except PinError as exc:
            return str(exc)
        if self.key_path.exists():
            return (f"the PIN file {self.path} is missing although a PIN was set on this computer "
                    "(deleted?); an administrator sets a new one with `kapmonitor admin set-pin --reset`")
        return "no administrator PIN is set; an administrator sets it with `kapmonitor admin set-pin`"

    # -- the administrator step -----------------------------------------------------------------
    def set_pin(self, pin: str, who: str, current_pin: str | None = None, reset: bool = False) -> None:
        """Set the PIN (the administrator step; never offered at the bedside).

        A first PIN needs nothing more. Changing it needs the current PIN. `reset` (forgotten PIN,
        PIN file deleted or damaged) makes a new machine key: the old sign-off no longer checks, so
        the clinic profile must be signed off again. Every outcome goes to the audit log.
        """
        pin = pin.strip()
        if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
            raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits")
        if not who.strip():
            raise PinError("say who sets the PIN (--who)")
        if reset:
            self._record("pin_reset", who, f"new machine key; previous state: {self.status()}")
            _write_private(self.key_path, secrets.token_hex(32))
            self._clear_attempts()
        else:
            try:
                loaded = self._load()
            except PinError as exc:
                self._record("pin_set_refused", who, str(exc))
                raise PinError(f"{exc}; use --reset to set a new PIN (logged)") from exc
            if loaded is None and self.key_path.exists():
                self._record("pin_set_refused", who, "PIN file missing while the key exists")
                raise PinError(self.status())
            if loaded is not None:
                if current_pin is None:
                    raise PinError("a PIN is already set: give the current PIN to change it, or --reset")
                if not self.verify(current_pin, who, "change the PIN"):
                    raise PinError("the current PIN is wrong")
            if not self.key_path.exists():
                _write_private(self.key_path, secrets.token_hex(32))
        key = self._key()
        salt = secrets.token_bytes(16)
        data: dict[str, Any] = {
            "format": FORMAT, "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
            "salt": salt.hex(), "hash": _derive(key, pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).hex(),
            "set_by": who.strip(), "set_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
        }
        data["mac"] = hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()
        _write_private(self.path, json.dumps(data, indent=1))
        self._record("pin_set", who, str(self.path))

    # -- use ----------------------------------------------------------------------------------------
    def locked_for(self) -> float:
        """Seconds until the next try is allowed (0 when not locked)."""
        failures, last = self._attempts()
        if failures < FREE_ATTEMPTS:
            return 0.0
        wait = min(BACKOFF_FIRST_S * 2.0 ** (failures - FREE_ATTEMPTS), BACKOFF_MAX_S)
        return float(max(0.0, last + wait - self._clock()))

    def verify(self, pin: str, who: str = "", purpose: str = "") -> bool:
        """True for the right PIN. Raises PinLockedError while locked, PinError when no valid PIN is set.

        Every use, failure and lockout is written to the audit log (and `audit`). Slow (~0.3 s).
        """
        data = self._load()
        if data is None:
            raise PinError(self.status())
        wait = self.locked_for()
        if wait > 0:
            self._record("pin_locked", who, f"{purpose}; {wait:.0f} s left")
            raise PinLockedError(wait)
        key = self._key()
        digest = _derive(key, pin.strip(), bytes.fromhex(data["salt"]), data["n"], data["r"], data["p"])
        if hmac.compare_digest(digest.hex(), data["hash"]):
            self._clear_attempts()
            self._record("pin_ok", who, purpose)
            return True
        failures, _last = self._attempts()
        self._save_attempts(failures + 1, self._clock())
        self._record("pin_failed", who, f"{purpose}; {failures + 1} wrong in a row")
        return False

    # -- keyed checks for other files (the profile sign-off) ---------------------------------------
    def tag(self, message: bytes) -> str:
        """HMAC-SHA256 of `message` with this computer's key. Raises PinError without a key."""
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def check_tag(self, message: bytes, tag: str) -> bool:
        try:
            return hmac.compare_digest(self.tag(message), str(tag))
        except PinError:
            return False

    # -- internals ----------------------------------------------------------------------------------
    def _key(self) -> bytes:
        try:
            text = self.key_path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except FileNotFoundError:
            raise PinError(f"the machine key {self.key_path} is missing; an administrator must set the PIN "
                           "again with `kapmonitor admin set-pin --reset`") from None
        except (OSError, ValueError) as exc:
            raise PinError(f"the machine key {self.key_path} is unreadable ({exc}); an administrator must set "
                           "the PIN again with `kapmonitor admin set-pin --reset`") from exc
        if len(key) < 32:
            raise PinError(f"the machine key {self.key_path} is too short; set the PIN again with --reset")
        return key

    def _load(self) -> dict[str, Any] | None:
        """The checked PIN record, None when there is no PIN file. Raises PinError when refused."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise PinError(f"cannot read the PIN file {self.path}: {exc}") from exc
        refuse = f"the PIN file {self.path} is refused"
        if not isinstance(raw, dict) or raw.get("format") != FORMAT or raw.get("kdf") != "scrypt":
            raise PinError(f"{refuse}: not a kapmonitor PIN file of format {FORMAT}; set the PIN again with "
                           "`kapmonitor admin set-pin --reset`")
        try:
            n, r, p = (int(raw[k]) for k in ("n", "r", "p"))
            salt, digest = bytes.fromhex(str(raw["salt"])), bytes.fromhex(str(raw["hash"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise PinError(f"{refuse}: damaged ({exc})") from exc
        if n < 2**14 or n & (n - 1) or r < 8 or n * r * p < _MIN_COST or n > 2**20 or p > 64:
            raise PinError(f"{refuse}: its key-derivation cost (n={n}, r={r}, p={p}) is below the floor")
        if len(salt) < 16 or len(digest) != 32:
            raise PinError(f"{refuse}: salt or hash of the wrong size")
        key = self._key()
        if not hmac.compare_digest(hmac.new(key, _canonical(raw), hashlib.sha256).hexdigest(), str(raw.get("mac"))):
            raise PinError(f"{refuse}: its integrity check fails (changed outside kapmonitor)")
        return {"n": n, "r": r, "p": p, "salt": salt.hex(), "hash": digest.hex()}

    def _attempts(self) -> tuple[int, float]:
        try:
            raw = json.loads(self.attempts_path.read_text(encoding="utf-8"))
            failures, last = int(raw["failures"]), float(raw["last"])
            if not self.check_tag(f"{failures}:{last!r}".encode(), str(raw.get("mac"))):
                raise ValueError("integrity check fails")
            return failures, last
        except FileNotFoundError:
            return 0, 0.0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # a damaged or edited counter locks (from when it was written), it never unlocks
            log.warning("PIN attempt counter %s refused (%s): treated as locked", self.attempts_path, exc)
            try:
                since = self.attempts_path.stat().st_mtime
            except OSError:
                since = self._clock()
            return FREE_ATTEMPTS + 2, since

    def _save_attempts(self, failures: int, last: float) -> None:
        try:
            mac = self.tag(f"{failures}:{last!r}".encode())
            _write_private(self.attempts_path, json.dumps({"failures": failures, "last": last, "mac": mac}))
        except (OSError, PinError) as exc:
            log.error("cannot save the PIN attempt counter: %s", exc)

    def _clear_attempts(self) -> None:
        try:
            self.attempts_path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot clear the PIN attempt counter: %s", exc)

    def _record(self, event: str, who: str, detail: str) -> None:
        """Audit: the admin log file, the program log and the session record (via `audit`)."""
        level = logging.INFO if event in ("pin_ok", "pin_set") else logging.WARNING
        log.log(level, "PIN %s by %s: %s", event, who or "?", detail)
        line = json.dumps({"t": self._clock(), "event": event, "who": who, "detail": detail})
        try:
            self.audit_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.audit_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            log.error("cannot write the administrator audit log %s: %s", self.audit_path, exc)
        if self.audit is not None:
            try:
                self.audit(event, who, detail)
            except Exception:
                log.exception("PIN audit listener")


def _derive(key: bytes, pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    peppered = hmac.new(key, pin.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
