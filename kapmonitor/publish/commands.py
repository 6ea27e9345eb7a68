"""Acknowledgement from the central station: the command and result payloads, and the bedside's checks.

The central sends `kapmonitor/v1/<site>/<chair>/command` (QoS 1, never retained) naming one alarm
(its id and the bedside time it was raised), the operator, the station, a request id and the
central's wall-clock time of sending (schema: resources/mqtt_command.schema.json). The bedside
answers on `.../result` (QoS 1, not retained): accepted, or refused with the reason.

`RemoteAcknowledger` is the bedside's side. It acts only when the clinic enabled it (see
`ack_policy`), only for its own topic, only for an alarm that is still there, is the same
occurrence (raised at the same time) and unacknowledged, and only for a command sent less than
`MAX_AGE_S` ago. It acknowledges through the alarm engine's normal path, credited to
"<operator> at central <station>" (so the alarm log and the nurse's screen say who), and writes
every command, accepted or refused, to the session record's audit table through the recorder.
A request id seen before is answered again without acting twice (QoS 1 may deliver twice).

Thread-safety: `handle` runs in paho's network thread; it uses the thread-safe engine and
recorder queue, and a lock around its own memory of recent requests. The nurse's window learns of
an acknowledgement through the engine's own event (credited to the central), like any other.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import central_credit
from kapmonitor.model.clock import Clock
from kapmonitor.publish.payloads import SCHEMA, ChairTopic
from kapmonitor.session.entries import RecordSink

log = logging.getLogger(__name__)

ACTIONS = ("acknowledge",)
MAX_AGE_S = 30.0  # an older command is refused: the picture the operator acted on is out of date
MAX_FUTURE_S = 30.0  # a command "from the future" means the clocks differ: refused too
MAX_TEXT = 64
REMEMBERED = 256  # request ids kept to answer a duplicate delivery without acting twice
DISABLED = "acknowledgement from the central station is not enabled at this chair"


credit = central_credit  # "<operator> at central <station>"


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"no {what}")
    text = value.strip()
    if len(text) > MAX_TEXT or any(ord(ch) < 32 for ch in text):
        raise ValueError(f"{what} is too long or has control characters")
    return text


def check_operator(name: str) -> str:
    """A central operator's or station's name: 1-64 printable characters (never anonymous)."""
    return _text(name, "operator name")


def command_payload(where: ChairTopic, alarm_id: str, raised_at: float, operator: str, station: str,
                    *, t: float | None = None, request_id: str | None = None) -> dict[str, object]:
    """The central's acknowledge command for one alarm occurrence of one chair."""
    return {"type": "command", "schema": SCHEMA, "site": where.site, "chair": where.chair,
            "t": time.time() if t is None else t, "request_id": request_id or uuid.uuid4().hex,
            "action": "acknowledge", "alarm_id": alarm_id, "raised_at": raised_at,
            "operator": check_operator(operator), "station": _text(station, "station name")}


def result_payload(where: ChairTopic, request_id: str, alarm_id: str, outcome: str, reason: str, who: str,
                   t: float) -> dict[str, object]:
    return {"type": "result", "schema": SCHEMA, "site": where.site, "chair": where.chair, "t": t,
            "request_id": request_id, "action": "acknowledge", "alarm_id": alarm_id, "outcome": outcome,
            "reason": reason, "who": who}


class RemoteAcknowledger:
    """The bedside's handler of central commands; see the module docstring."""

    def __init__(self, alarms: AlarmEngine, sink: Callable[[], RecordSink | None], clock: Clock,
                 where: ChairTopic, *, enabled: bool, wall: Callable[[], float] = time.time) -> None:
        self.alarms = alarms
        self.where = where
        self.enabled = enabled
        self._sink = sink
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, dict[str, object]] = OrderedDict()
        self.accepted = 0
        self.refused = 0

    def handle(self, topic: str, payload: bytes) -> dict[str, object] | None:
        """Check and apply one command; returns the result to publish (None when unanswerable)."""
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._audit(None, "?", "?", False, "not a JSON command")
            return None
        rid = str(data.get("request_id") or "")[:MAX_TEXT]
        with self._lock:
            again = self._seen.get(rid) if rid else None
        if again is not None:
            log.info("central command %s delivered again; answered without acting twice", rid)
            return again
        alarm_id = str(data.get("alarm_id") or "")[:MAX_TEXT]
        who = "?"
        try:
            operator, station = _text(data.get("operator"), "operator name"), _text(data.get("station"), "station")
            who = credit(operator, station)
            reason = self._refusal(topic, data, rid, alarm_id)
            if reason is None:
                count = self.alarms.acknowledge(who=who, alarm_id=alarm_id, remote=True)
                reason = "" if count == 1 else "the alarm was acknowledged or cleared meanwhile"
        except ValueError as exc:
            reason = str(exc)
        accepted = reason == ""
        self._audit(data, who, alarm_id, accepted, reason)
        if accepted:
            self.accepted += 1
            log.warning("alarm %s acknowledged by %s (request %s)", alarm_id, who, rid)
        else:
            self.refused += 1
            log.warning("central command %s for alarm %s from %s refused: %s", rid, alarm_id, who, reason)
        result = result_payload(self.where, rid, alarm_id, "accepted" if accepted else "refused", reason, who,
                                self._wall())
        if rid:
            with self._lock:
                self._seen[rid] = result
                while len(self._seen) > REMEMBERED:
                    self._seen.popitem(last=False)
        return result if rid else None

    def _refusal(self, topic: str, d: dict[str, object], rid: str, alarm_id: str) -> str | None:
        """Why the command is refused (None: it may act)."""
        if not self.enabled:
            return DISABLED
        if topic != self.where.topic("command") or d.get("site") != self.where.site \
                or d.get("chair") != self.where.chair:
            return "the command names another chair"
        if d.get("type") != "command" or d.get("schema") != SCHEMA:
            return "not a kapmonitor command of this version"
        if d.get("action") not in ACTIONS:
            return f"unknown action {str(d.get('action'))[:MAX_TEXT]!r}"
        if not rid or not alarm_id:
            return "no request id or alarm id"
        sent, raised = d.get("t"), d.get("raised_at")
        if not isinstance(sent, int | float) or not isinstance(raised, int | float):
            return "no time of sending or of the alarm"
        age = self._wall() - float(sent)
        if age > MAX_AGE_S:
            return f"stale: sent {age:.0f} s ago (limit {MAX_AGE_S:.0f} s)"
        if age < -MAX_FUTURE_S:
            return f"sent {-age:.0f} s in the future: the central's and the chair's clocks differ"
        alarm = next((a for a in self.alarms.active_alarms() if a.alarm_id == alarm_id), None)
        if alarm is None:
            return "no such alarm at the chair (cleared already?)"
        if abs(alarm.raised_at - float(raised)) > 1e-3:
            return "a different occurrence of this alarm is active now (look again)"
        if alarm.acknowledged:
            return "already acknowledged"
        return None

    def _audit(self, d: dict[str, object] | None, who: str, alarm_id: str, accepted: bool, reason: str) -> None:
        """Every command into the record's audit table (the recorder is the single writer)."""
        sink = self._sink()
        if sink is None:
            log.warning("central command for alarm %s not recorded: no session record", alarm_id)
            return
        keep = {k: d.get(k) for k in ("request_id", "t", "operator", "station", "action", "alarm_id", "raised_at",
                                      "site", "chair")} if d is not None else {}
        sink.insert("audit", {
            "t": self._clock.now(), "who": who, "table_name": "alarm_log", "row_id": None,
            "action": "central_acknowledge" if accepted else "central_acknowledge_refused",
            "before": json.dumps(keep, default=str), "after": "accepted" if accepted else "refused",
            "reason": reason or None,
        })
