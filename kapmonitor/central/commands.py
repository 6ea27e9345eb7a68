"""The central operator's acknowledgements of bedside alarms, and their durable audit trail.

Only when the clinic enabled it (`kapmonitor central --allow-ack --operator NAME`; never anonymous)
and only for a chair whose status says it accepts them. Every command sent and every result
received (accepted, refused with the chair's reason, or no answer within `ANSWER_S`) is appended
to `central_audit.jsonl` in the central's data folder (one JSON object a line, 0600, flushed and
fsynced per line), so the clinic can show who acknowledged what from where, and what the chair said.

Thread-safety: `acknowledge` and `tick` from the GUI thread; results arrive in paho's thread;
one lock guards the pending requests, the last outcome per chair and the file.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kapmonitor.central.model import BedsideAlarm, CentralModel
from kapmonitor.config import data_dir
from kapmonitor.publish.commands import check_operator, command_payload
from kapmonitor.publish.payloads import ChairTopic

log = logging.getLogger(__name__)

ANSWER_S = 10.0  # a chair that has not answered by then is reported as not answering
FORGET_S = 600.0  # a late answer within this still updates the tile (and is in the audit file anyway)
AUDIT_NAME = "central_audit.jsonl"


class AckError(Exception):
    """The command cannot be sent; the message says why (for the operator)."""


def default_audit_path() -> Path:
    return data_dir() / "central" / AUDIT_NAME


@dataclass(frozen=True)
class Outcome:
    """The last acknowledgement asked for at one chair, as the tile shows it."""

    request_id: str
    alarm_id: str
    message: str  # the alarm's text at the central
    state: str  # sent / accepted / refused / no answer / not sent
    reason: str = ""
    at: float = 0.0  # our monotonic time of the last change

    @property
    def text(self) -> str:
        if self.state == "sent":
            return f"Acknowledge sent: {self.message}\u2026"
        if self.state == "accepted":
            return f"Acknowledged at the chair: {self.message}"
        if self.state == "refused":
            return f"Chair refused the acknowledgement: {self.reason}"
        if self.state == "not sent":
            return f"Acknowledgement not sent: {self.reason}"
        return f"No answer from the chair about: {self.message}"


class CentralCommander:
    """Sends acknowledgements for one signed-in operator at one station; see the module docstring."""

    def __init__(self, model: CentralModel, operator: str, station: str, audit_path: Path | None = None) -> None:
        try:
            self.operator = check_operator(operator)
            self.station = check_operator(station)
        except ValueError as exc:
            raise AckError(f"{exc}: the central's acknowledgements are credited to a named operator") from None
        if not model.allow_commands:
            raise AckError("the central was not started with acknowledgements allowed")
        self.model = model
        self.audit_path = audit_path or default_audit_path()
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, str, str, float]] = {}  # request id -> (chair key, alarm id, text, sent)
        self._late: set[str] = set()  # reported as not answered; a late answer still counts
        self._last: dict[str, Outcome] = {}
        self._file = self._open(self.audit_path)
        model.results.add(self._on_result)
        self._write({"event": "signed_in", "operator": self.operator, "station": self.station})

    @staticmethod
    def _open(path: Path) -> IO[str]:
        """Append-only, owner-only; a symlink or a file others can read is refused (never written)."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise AckError(f"cannot open the central's audit file {path}: {exc.strerror or exc}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) or mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.close(fd)
            raise AckError(f"the central's audit file {path} is not a private file (mode "
                               f"{stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
        return os.fdopen(fd, "a", encoding="utf-8")

    def close(self) -> None:
        self.model.results.remove(self._on_result)
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def _write(self, entry: dict[str, object]) -> None:
        line = json.dumps({"time": time.time(), **entry}, separators=(",", ":"), default=str)
        with self._lock:
            if self._file.closed:
                log.warning("central audit closed; not written: %s", line)
                return
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    # -- the operator's action -------------------------------------------------------------------------
    def acknowledge(self, key: str, alarm: BedsideAlarm) -> str:
        """Ask chair `key` ("site/chair") to acknowledge `alarm`; returns the request id.
        Raises AckError when the chair does not accept it or the broker is unreachable (logged)."""
        view = next((v for v in self.model.chairs() if v.key == key), None)
        site, _, chair = key.partition("/")
        why = ""
        if view is None or not view.accepts_ack:
            why = "this chair does not accept acknowledgements from the central (or is not heard)"
        elif alarm.raised_at is None:
            why = "the chair did not say when this alarm was raised"
        elif not self.model.connected:
            why = "the message broker is unreachable"
        if why:
            with self._lock:
                self._last[key] = Outcome("", alarm.alarm_id, alarm.message, "not sent", why, time.monotonic())
            self._write({"event": "not_sent", "key": key, "alarm_id": alarm.alarm_id, "reason": why,
                         "operator": self.operator, "station": self.station})
            raise AckError(why)
        assert alarm.raised_at is not None
        payload = command_payload(ChairTopic(site, chair), alarm.alarm_id, alarm.raised_at, self.operator,
                                  self.station)
        rid = str(payload["request_id"])
        with self._lock:
            self._pending[rid] = (key, alarm.alarm_id, alarm.message, time.monotonic())
            self._last[key] = Outcome(rid, alarm.alarm_id, alarm.message, "sent", at=time.monotonic())
        self._write({"event": "sent", "key": key, **payload})
        if not self.model.send_command(site, chair, payload):
            self._finish(rid, "refused", "not sent: the message broker is unreachable")
            raise AckError("the message broker is unreachable")
        log.warning("%s at central %s asked chair %s to acknowledge %s (%s)", self.operator, self.station, key,
                    alarm.alarm_id, rid)
        return rid

    def last(self, key: str) -> Outcome | None:
        with self._lock:
            return self._last.get(key)

    def tick(self) -> None:
        """Report requests the chair never answered (call a few times a second)."""
        now = time.monotonic()
        with self._lock:
            late = [rid for rid, (_k, _a, _m, sent) in self._pending.items()
                    if now - sent > ANSWER_S and rid not in self._late]
            for rid in [rid for rid, p in self._pending.items() if now - p[3] > FORGET_S]:
                del self._pending[rid]
                self._late.discard(rid)
        for rid in late:
            self._finish(rid, "no answer", f"no answer within {ANSWER_S:.0f} s", keep=True)

    # -- results (paho's thread) -------------------------------------------------------------------------
    def _on_result(self, key: str, result: dict[str, object]) -> None:
        rid = str(result.get("request_id"))
        with self._lock:
            known = rid in self._pending
        self._write({"event": "result", "key": key, "ours": known, **result})
        if known:
            outcome = str(result.get("outcome"))
            self._finish(rid, "accepted" if outcome == "accepted" else "refused", str(result.get("reason") or ""),
                         written=True)

    def _finish(self, rid: str, state: str, reason: str, written: bool = False, keep: bool = False) -> None:
        """The request's outcome on the tile and (unless `written` already) in the audit file; `keep`: still
        waiting for a late answer."""
        with self._lock:
            pending = self._pending.get(rid) if keep else self._pending.pop(rid, None)
            if keep:
                self._late.add(rid)
            else:
                self._late.discard(rid)
            if pending is None:
                return
            key, alarm_id, message, _sent = pending
            self._last[key] = Outcome(rid, alarm_id, message, state, reason, time.monotonic())
        if not written:
            self._write({"event": state.replace(" ", "_"), "key": key, "request_id": rid, "alarm_id": alarm_id,
                         "reason": reason})
