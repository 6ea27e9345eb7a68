"""The central station's picture of every chair, fed by the MQTT broker (Qt-free).

One `ChairState` per `site/chair`: name (pseudonym or chair name), phase and infusion clock, what
is due, HR/SpO2/NIBP with their age, the chair's active alarms, its monitor link and whether it
is still heard. `chairs()` returns immutable views, most urgent first.

The central raises its own technical alarms in an `AlarmEngine` (so the alarm bar and sounder
can be reused): a chair whose heartbeat stops or whose Last Will says offline, a chair whose
monitor link is lost, and the broker being unreachable. By default the central cannot acknowledge
or silence a bedside alarm: `send_command` refuses unless the model was made with
`allow_commands=True` (`kapmonitor central --allow-ack`, see `central.commands`), and a chair acts
on a command only when its own clinic setting allows it (its status says `central_ack`).

Ages never compare the bedside's clock with ours: a vitals message carries the bedside time of
sending, so a value's age is (its age when sent) + (our monotonic time since it arrived).

Thread-safety: paho's network thread feeds messages, a supervisor thread checks heartbeats; one
lock guards the chairs. Listeners (`add_listener`) are called after a change, outside the lock,
in one of those threads: a GUI must hand over to its own thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import ActiveAlarm
from kapmonitor.alarms.profile import Priority, default_profile
from kapmonitor.model.clock import RealClock
from kapmonitor.model.events import Emitter
from kapmonitor.publish.broker import BrokerConfig, check_name
from kapmonitor.publish.payloads import ROOT, ChairTopic, encode, parse_topic

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT_S = 3.5  # >= 3 missed heartbeats of 1 s; with the 0.25 s check: alarm within 4 s
# A Last Will is confirmed for a second before it alarms: a broker that shuts down sends the wills of
# every chair just before it goes, and that is one "broker unreachable" alarm, not one per chair.
WILL_CONFIRM_S = 1.0
RECONNECT_GRACE_S = 6.0  # retained "offline" seen right after (re)connecting: chairs get this long to return
BROKER_GRACE_S = 2.0  # a broker still unreachable after this raises the central's alarm
BROKER_ALARM = "broker-unreachable"
LINK_LOST_STATES = frozenset({"disconnected", "no-data", "not-answering"})
QUIET_PHASES = frozenset({"no-session", "discharged"})  # a clean stop then is the end of a day, not an alarm
_PRIORITY = {p.label: p for p in Priority}


def offline_alarm_id(key: str) -> str:
    return f"chair-offline:{key}"


def link_alarm_id(key: str) -> str:
    return f"chair-monitor-link:{key}"


@dataclass(frozen=True)
class Reading:
    """A value shown on a tile and how old it is (seconds)."""

    value: float | None
    status: str
    age_s: float


@dataclass(frozen=True)
class BedsideAlarm:
    alarm_id: str
    priority: Priority
    message: str
    acknowledged: bool
    kind: str = "physiological"  # physiological / technical / system, as the bedside's engine says
    raised_at: float | None = None  # bedside time it was raised: names this occurrence in a command
    latched: bool = False  # a high alarm whose condition ended; it waits for an acknowledgement

    @property
    def rank(self) -> int:
        """Priority first; then unacknowledged before acknowledged; then the patient's own alarm before an
        equipment (technical) one of the same standing."""
        return int(self.priority) * 4 + (not self.acknowledged) * 2 + (self.kind == "physiological")


@dataclass(frozen=True)
class ChairView:
    """One tile's worth of facts, frozen at `chairs()` time."""

    key: str
    site: str
    chair: str
    name: str
    heard: str  # online / offline / no heartbeat / waiting (broker unreachable)
    offline_reason: str
    monitor_link: str
    phase: str
    clock: str
    due: tuple[str, ...]
    next_nibp_in_s: float | None
    hr: Reading | None
    spo2: Reading | None
    nibp: tuple[float | None, float | None, float] | None  # systolic, diastolic, age
    alarms: tuple[BedsideAlarm, ...]  # the bedside's active alarms, most urgent first
    central_alarms: tuple[tuple[str, Priority, str], ...]  # (id, priority, message) raised here
    urgency: int
    accepts_ack: bool = False  # the chair's status says its clinic lets the central acknowledge

    @property
    def top_alarm(self) -> BedsideAlarm | None:
        return self.alarms[0] if self.alarms else None


@dataclass
class ChairState:
    """What is known of one chair (guarded by the model's lock)."""

    site: str
    chair: str
    name: str = ""
    online: bool = False
    offline_reason: str = ""
    last_heard: float | None = None  # monotonic time of the last status message
    heartbeat_s: float = 1.0
    monitor_link: str = "unknown"
    phase: str = "no-session"
    clock: str = ""
    due: tuple[str, ...] = ()
    next_nibp: float | None = None  # bedside time
    session_t: float | None = None  # bedside time of the session message
    session_rx: float = 0.0  # our monotonic time it arrived
    readings: dict[str, tuple[float | None, str, float, str | None]] = field(default_factory=dict)  # v, s, rx_age0, m
    reading_rx: dict[str, float] = field(default_factory=dict)
    alarms: tuple[BedsideAlarm, ...] = ()
    timed_out: bool = False
    offline_due: float | None = None  # a Last Will alarms at this time unless the chair returns first
    accepts_ack: bool = False

    @property
    def key(self) -> str:
        return f"{self.site}/{self.chair}"


class CentralModel:
    """Subscribes to `kapmonitor/v1/#` (or one site) and keeps one state per chair."""

    def __init__(
        self, broker: BrokerConfig, site: str | None = None, *, alarms: AlarmEngine | None = None,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S, client_id: str = "kapmonitor-central",
        allow_commands: bool = False,
    ) -> None:
        self.broker = broker
        self.site = None if site is None else check_name("site", site)
        self.alarms = alarms if alarms is not None else AlarmEngine(default_profile(), RealClock())
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._lock = threading.Lock()
        self._chairs: dict[str, ChairState] = {}
        self._listeners: Emitter[[]] = Emitter("central")
        self.allow_commands = allow_commands
        self.results: Emitter[[str, dict[str, object]]] = Emitter("central results")  # (chair key, result)
        self._connected = threading.Event()
        self._down_since: float | None = time.monotonic()
        self._connected_at: float | None = None
        self._broker_alarm = False
        self._last_error = ""
        self.messages = 0
        self.bad_messages = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv311, clean_session=True)
        broker.apply(self._client)
        self._client.reconnect_delay_set(min_delay=1, max_delay=4)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message

    @property
    def topic_filter(self) -> str:
        return f"{ROOT}/{self.site}/#" if self.site else f"{ROOT}/#"

    # -- listeners and views -------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.add(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.remove(callback)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def broker_state(self) -> str:
        if self.connected:
            return f"connected to {self.broker.display_url}"
        why = f" ({self._last_error})" if self._last_error else ""
        return f"broker {self.broker.display_url} unreachable{why}"

    def chairs(self, now: float | None = None) -> list[ChairView]:
        """Every chair, most urgent first (then by name)."""
        t = time.monotonic() if now is None else now
        central = {a.alarm_id: a for a in self.alarms.active_alarms()}
        with self._lock:
            views = [self._view(c, t, central) for c in self._chairs.values()]
        views.sort(key=lambda v: (-v.urgency, v.name.lower(), v.key))
        return views

    def bedside_audio_state(self) -> Priority | None:
        """The most urgent unacknowledged bedside alarm of any chair: what the central should sound."""
        with self._lock:
            pending = [a.priority for c in self._chairs.values() for a in c.alarms if not a.acknowledged]
        return max(pending) if pending else None

    def _view(self, c: ChairState, t: float, central: dict[str, ActiveAlarm]) -> ChairView:
        own: list[tuple[str, Priority, str]] = []
        for alarm_id in (offline_alarm_id(c.key), link_alarm_id(c.key)):
            a = central.get(alarm_id)
            if a is not None:
                own.append((alarm_id, a.priority, a.message))
        # the central's own alarms (chair offline, monitor link lost) are technical and unacknowledged
        urgency = max([int(p) * 4 + 2 for _, p, _ in own] + [a.rank for a in c.alarms] + [0])
        heard = "online" if c.online and not c.timed_out else ("offline" if not c.online else "no heartbeat")
        if not self.connected:
            heard = "unknown (broker unreachable)"
        nibp = None
        sys_r, dia_r = self._reading(c, "nibp_sys", t), self._reading(c, "nibp_dia", t)
        if sys_r is not None or dia_r is not None:
            age = min(r.age_s for r in (sys_r, dia_r) if r is not None)
            nibp = (sys_r.value if sys_r else None, dia_r.value if dia_r else None, age)
        next_nibp = None
        if c.next_nibp is not None and c.session_t is not None:
            next_nibp = c.next_nibp - c.session_t - (t - c.session_rx)
        return ChairView(
            key=c.key, site=c.site, chair=c.chair, name=c.name or c.chair, heard=heard,
            offline_reason=c.offline_reason, monitor_link=c.monitor_link, phase=c.phase, clock=c.clock, due=c.due,
            next_nibp_in_s=next_nibp, hr=self._reading(c, "hr", t) or self._reading(c, "pulse_rate", t),
            spo2=self._reading(c, "spo2", t), nibp=nibp, alarms=c.alarms, central_alarms=tuple(own), urgency=urgency,
            accepts_ack=c.accepts_ack and c.online and not c.timed_out,
        )

    @staticmethod
    def _reading(c: ChairState, p: str, t: float) -> Reading | None:
        r = c.readings.get(p)
        if r is None:
            return None
        value, status, age_at_rx, _m = r
        return Reading(value, status, age_at_rx + (t - c.reading_rx[p]))

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        log.info("central listening to %s on %s", self.topic_filter, self.broker.display_url)
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=10)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._supervise, name="central-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(2.0)
        self._thread = None
        self._client.disconnect()
        closer = threading.Thread(target=self._client.loop_stop, name="central-close", daemon=True)
        closer.start()  # paho may be inside a connect attempt: wait a bounded time only
        closer.join(3.0)

    def _supervise(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.tick()
            except Exception:  # supervision must outlive any one bad state
                log.exception("central supervision failed; continuing")

    # -- supervision -------------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """Raise the alarms of silent chairs and of an unreachable broker (every 0.25 s)."""
        t = time.monotonic() if now is None else now
        changed = False
        raise_: list[tuple[str, str]] = []
        if not self.connected:
            since = self._down_since if self._down_since is not None else t
            if not self._broker_alarm and t - since >= BROKER_GRACE_S:
                self._broker_alarm = True
                self.alarms.report_technical(BROKER_ALARM, f"Central station: message broker "
                                             f"{self.broker.display_url} unreachable; chairs cannot be seen",
                                             Priority.HIGH)
                changed = True
            with self._lock:
                for c in self._chairs.values():
                    c.offline_due = None  # wills sent by a broker going down are not chairs going down
        else:
            with self._lock:
                for c in self._chairs.values():
                    if c.offline_due is not None and not c.online and t >= c.offline_due:
                        c.offline_due = None
                        raise_.append((c.key, f"{c.name or c.chair}: chair offline (connection lost)"))
                    timeout = max(self.heartbeat_timeout_s, 3 * c.heartbeat_s)
                    if c.online and not c.timed_out and c.last_heard is not None and t - c.last_heard > timeout:
                        c.timed_out = True
                        raise_.append((c.key, f"{c.name or c.chair}: no heartbeat for {t - c.last_heard:.0f} s "
                                              f"(chair {c.key} not heard)"))
            for key, message in raise_:
                log.warning("central: %s", message)
                self.alarms.report_technical(offline_alarm_id(key), message, Priority.HIGH)
                changed = True
        self.alarms.tick()
        if changed:
            self._listeners.emit()

    # -- paho callbacks (paho's network thread) ----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        if getattr(reason, "is_failure", False):
            self._last_error = f"refused: {reason}"
            log.warning("broker %s refused the central: %s", self.broker.display_url, reason)
            return
        client.subscribe(self.topic_filter, qos=1)
        now = time.monotonic()
        with self._lock:
            for c in self._chairs.values():  # a fresh grace period: retained statuses arrive again now
                c.last_heard = now
                quiet = c.offline_reason == "stopped" and c.phase in QUIET_PHASES
                if not c.online and not quiet:  # offline before: alarm unless it comes back soon
                    c.offline_due = now + RECONNECT_GRACE_S
        self._down_since = None
        self._connected_at = now
        self._last_error = ""
        self._connected.set()
        if self._broker_alarm:
            self._broker_alarm = False
            self.alarms.clear_technical(BROKER_ALARM)
        log.info("central connected to %s", self.broker.display_url)
        self._listeners.emit()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                       properties: object) -> None:
        if self._connected.is_set() and not self._stop.is_set():
            log.warning("central lost the broker %s (%s)", self.broker.display_url, reason)
            self._down_since = time.monotonic()
        elif self._last_error:
            return  # after a refusal paho also reports a disconnect; keep the refusal's reason
        self._connected.clear()
        self._last_error = str(reason)
        self._listeners.emit()

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._last_error = "cannot connect"
        if self._down_since is None:
            self._down_since = time.monotonic()

    def send_command(self, site: str, chair: str, payload: dict[str, object]) -> bool:
        """Publish a command to one chair (QoS 1, never retained); False when the broker is not reachable.
        Raises PermissionError unless the central was started with commands allowed. Any thread."""
        if not self.allow_commands:
            raise PermissionError("this central station was not started with --allow-ack")
        topic = ChairTopic(check_name("site", site), check_name("chair", chair)).topic("command")
        info = self._client.publish(topic, encode(payload), qos=1, retain=False)
        return bool(info.rc == mqtt.MQTT_ERR_SUCCESS and self.connected)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.handle(msg.topic, bytes(msg.payload), retained=bool(msg.retain))

    # -- messages -------------------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, now: float | None = None, retained: bool = False) -> bool:
        """Apply one message; a malformed one is logged and ignored (returns False)."""
        where = parse_topic(topic)
        if where is None:
            return False
        site, chair, kind = where
        if kind == "command":
            return False  # a central's own command, seen through the subscription: not a chair's news
        self.messages += 1
        if not payload:
            return self._forget(f"{site}/{chair}", kind)  # a cleared retained message
        try:
            data = json.loads(payload)
            if not isinstance(data, dict) or data.get("type") != kind:
                raise ValueError(f"type {data.get('type') if isinstance(data, dict) else None!r} on a {kind} topic")
            t = time.monotonic() if now is None else now
            if kind == "status":
                raise_, clear = self._on_status(site, chair, data, t, retained)
            elif kind == "result":
                if retained or not isinstance(data.get("request_id"), str):
                    raise ValueError("a result must carry a request id and never be retained")
                self.results.emit(f"{site}/{chair}", data)
                raise_, clear = [], []
            else:
                raise_, clear = getattr(self, f"_on_{kind}")(site, chair, data, t)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.bad_messages += 1
            log.warning("central: ignoring a bad %s message from %s/%s: %s", kind, site, chair, exc)
            return False
        for alarm_id, message in raise_:
            log.warning("central: %s", message)
            self.alarms.report_technical(alarm_id, message, Priority.HIGH)
        for alarm_id in clear:
            self.alarms.clear_technical(alarm_id)
        self._listeners.emit()
        return True

    def _forget(self, key: str, kind: str) -> bool:
        if kind == "status":
            with self._lock:
                self._chairs.pop(key, None)
            for alarm_id in (offline_alarm_id(key), link_alarm_id(key)):
                self.alarms.clear_technical(alarm_id)
            self._listeners.emit()
        return True

    def _chair(self, site: str, chair: str) -> ChairState:
        key = f"{site}/{chair}"
        c = self._chairs.get(key)
        if c is None:
            c = self._chairs[key] = ChairState(site, chair)
        return c

    Changes = tuple[list[tuple[str, str]], list[str]]

    def _on_status(self, site: str, chair: str, d: dict[str, object], t: float, retained: bool) -> Changes:
        state = str(d["state"])
        if state not in ("online", "offline"):
            raise ValueError(f"status state {state!r}")
        raise_: list[tuple[str, str]] = []
        clear: list[str] = []
        with self._lock:
            c = self._chair(site, chair)
            if d.get("name"):
                c.name = str(d["name"])
            c.heartbeat_s = float(d.get("heartbeat_s") or 1.0)  # type: ignore[arg-type]
            c.last_heard = t
            c.accepts_ack = d.get("central_ack") is True
            label = c.name or chair
            if state == "online":
                c.online, c.timed_out, c.offline_reason, c.offline_due = True, False, "", None
                clear.append(offline_alarm_id(c.key))
                link = str(d.get("link") or "unknown")
                c.monitor_link = link
                if link in LINK_LOST_STATES:
                    detail = str(d.get("link_detail") or link)
                    raise_.append((link_alarm_id(c.key), f"{label}: link to the monitor lost ({detail})"))
                else:
                    clear.append(link_alarm_id(c.key))
            else:
                c.online, c.timed_out = False, False
                c.offline_reason = str(d.get("reason") or "")
                c.monitor_link = "unknown"
                clear.append(link_alarm_id(c.key))
                if c.offline_reason == "stopped" and c.phase in QUIET_PHASES:
                    clear.append(offline_alarm_id(c.key))
                elif c.offline_reason == "stopped":
                    raise_.append((offline_alarm_id(c.key), f"{label}: chair stopped while a session is open"))
                else:  # the Last Will: alarm after a short confirmation (see WILL_CONFIRM_S), in tick()
                    delay = WILL_CONFIRM_S
                    if retained and self._connected_at is not None:
                        delay = max(delay, self._connected_at + RECONNECT_GRACE_S - t)
                    c.offline_due = t + delay
        return raise_, clear

    def _on_vitals(self, site: str, chair: str, d: dict[str, object], t: float) -> Changes:
        sent = float(d["t"])  # type: ignore[arg-type]
        samples = d["samples"]
        if not isinstance(samples, list):
            raise ValueError("samples is not a list")
        with self._lock:
            c = self._chair(site, chair)
            for s in samples:
                p = str(s["p"])
                v = s.get("v")
                value = None if v is None else float(v)
                st = float(s["t"])
                c.readings[p] = (value, str(s.get("s", "ok")), max(0.0, sent - st), s.get("m"))
                c.reading_rx[p] = t
        return [], []

    def _on_alarms(self, site: str, chair: str, d: dict[str, object], t: float) -> Changes:
        active = d.get("active")
        if active is None:
            return [], []  # a change in a burst; the set follows in the burst's last message
        if not isinstance(active, list):
            raise ValueError("active is not a list")
        alarms = [BedsideAlarm(str(a["id"]), _PRIORITY[str(a["priority"])], str(a["message"]),
                               bool(a["acknowledged"]), str(a.get("kind", "physiological")),
                               None if a.get("raised_at") is None else float(a["raised_at"]),
                               a.get("latched") is True) for a in active]
        alarms.sort(key=lambda a: -a.rank)
        with self._lock:
            self._chair(site, chair).alarms = tuple(alarms)
        return [], []

    def _on_session(self, site: str, chair: str, d: dict[str, object], t: float) -> Changes:
        due = d.get("due") or []
        nxt = d.get("next") or {}
        if not isinstance(due, list) or not isinstance(nxt, dict):
            raise ValueError("due/next malformed")
        with self._lock:
            c = self._chair(site, chair)
            if d.get("name"):
                c.name = str(d["name"])
            c.phase = str(d["phase"])
            c.clock = str(d.get("clock") or "")
            c.due = tuple(str(p["message"]) for p in due)
            n = nxt.get("nibp")
            c.next_nibp = None if n is None else float(n)
            c.session_t = None if d.get("t") is None else float(d["t"])  # type: ignore[arg-type]
            c.session_rx = t
            # a central started later gets the retained "stopped" status before the retained session:
            # a chair stopped with a session open is an alarm whichever of the two arrives first
            if not c.online and c.offline_reason == "stopped" and c.phase not in QUIET_PHASES:
                return [(offline_alarm_id(c.key), f"{c.name or chair}: chair stopped while a session is open")], []
        return [], []
