"""Publishing one chair to an MQTT broker: status (heartbeat, Last Will), vitals, alarms, session.

The bedside never waits for the broker. `on_items` (dispatcher, reader thread) and `on_alarm`
(alarm engine, under its lock) only append to bounded queues and wake the publisher's own thread;
that thread talks to paho, whose network loop runs in a thread of its own and reconnects by
itself. When the queues are full the oldest vitals go first (counted in `dropped_vitals`); alarm
changes are kept longer, and whatever is lost the retained current alarm set and session state
are sent again after every reconnect, so the central never keeps a stale picture.

Thread-safety: `on_items`, `on_alarm`, `set_session`, the counters and `state` may be used from
any thread; `start`/`stop` from the thread that owns the publisher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kapmonitor.acquisition.dispatcher import Dispatcher
from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.model import AlarmEvent
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Item, LinkEvent, VitalSample
from kapmonitor.publish import payloads
from kapmonitor.publish.broker import BrokerConfig, check_name
from kapmonitor.publish.commands import RemoteAcknowledger
from kapmonitor.publish.payloads import ChairTopic, encode
from kapmonitor.session.session import NurseSession

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0  # the central calls a chair offline after a few missed heartbeats
KEEPALIVE_S = 4  # a hung bedside is dropped by the broker after 1.5 x this (its Last Will goes out)
VITALS_PER_MESSAGE = 200
IDENTITIES = ("pseudonym", "chair")


class MqttPublisher:
    """A dispatcher listener and alarm listener that mirrors one chair to the broker."""

    def __init__(
        self, broker: BrokerConfig, chair: str, clock: Clock, *, site: str = "clinic",
        alarms: AlarmEngine | None = None, identity: str = "pseudonym", heartbeat_s: float = HEARTBEAT_S,
        max_vitals: int = 5000, max_alarm_events: int = 1000, keepalive_s: int = KEEPALIVE_S,
    ) -> None:
        if identity not in IDENTITIES:
            raise ValueError(f"identity must be one of {', '.join(IDENTITIES)}")
        self.broker = broker
        self.where = ChairTopic(check_name("site", site), check_name("chair", chair))
        self.identity = identity
        self.heartbeat_s = float(heartbeat_s)
        self._clock = clock
        self._alarms = alarms
        self._lock = threading.Lock()  # guards the queues, counters and session
        self._vitals: deque[VitalSample] = deque()
        self._max_vitals = max_vitals
        self._events: deque[AlarmEvent] = deque()
        self._max_events = max_alarm_events
        self._session: NurseSession | None = None
        self._session_dirty = True
        self._link = "unknown"
        self._link_detail = ""
        self._link_dirty = False
        self.dropped_vitals = 0
        self.dropped_alarm_events = 0
        self.published = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._resend = False  # set on every (re)connect: status, alarms and session go out again
        self._last_error = ""
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._alarm_seq = 0
        self._last_session: dict[str, object] | None = None
        # the central's acknowledgements (`set_commands`): the command topic is read, every command answered
        self.commands: RemoteAcknowledger | None = None
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"kapmonitor-{site}-{chair}",
            protocol=mqtt.MQTTv311, clean_session=True,
        )
        broker.apply(self._client)
        self._client.reconnect_delay_set(min_delay=1, max_delay=4)
        self._client.max_queued_messages_set(max_alarm_events)
        self._keepalive = keepalive_s
        will = payloads.status_payload(self.where, "offline", None, name=chair, link="unknown",
                                       heartbeat_s=self.heartbeat_s, seq=0, reason="connection lost")
        self._client.will_set(self.where.topic("status"), encode(will), qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message

    # -- inputs (any thread, never blocking) --------------------------------------------------------
    def on_items(self, items: Sequence[Item]) -> None:
        """Dispatcher listener: queue vital samples, note link changes."""
        with self._lock:
            for item in items:
                if isinstance(item, VitalSample):
                    if len(self._vitals) >= self._max_vitals:
                        self._vitals.popleft()
                        self.dropped_vitals += 1
                    self._vitals.append(item)
                elif isinstance(item, LinkEvent):
                    self._link, self._link_detail, self._link_dirty = item.state.value, item.detail, True
        self._wake.set()

    def on_alarm(self, event: AlarmEvent) -> None:
        """Alarm engine listener (called under the engine's lock: only queue)."""
        with self._lock:
            if len(self._events) >= self._max_events:
                self._events.popleft()
                self.dropped_alarm_events += 1
            self._events.append(event)
        self._wake.set()

    def attach(self, dispatcher: Dispatcher, alarms: AlarmEngine | None) -> None:
        """Listen to a pipeline's items and alarm changes (before `start`): the one wiring to use."""
        self._alarms = alarms
        dispatcher.add_listener(self)
        if alarms is not None:
            alarms.add_listener(self.on_alarm)

    def detach(self, dispatcher: Dispatcher) -> None:
        dispatcher.remove_listener(self)
        if self._alarms is not None:
            self._alarms.remove_listener(self.on_alarm)

    def set_session(self, session: NurseSession | None) -> None:
        """The nurse session whose phase and due items are published (None: no session)."""
        with self._lock:
            old, self._session, self._session_dirty = self._session, session, True
        if old is not None:
            old.remove_listener(self._session_changed)
        if session is not None:
            session.add_listener(self._session_changed)
        self._wake.set()

    def set_commands(self, commands: RemoteAcknowledger) -> None:
        """Answer the central's commands on this chair's command topic (before `start`); the status then
        says whether this chair accepts them."""
        self.commands = commands

    def _session_changed(self) -> None:
        with self._lock:
            self._session_dirty = True
        self._wake.set()

    # -- state ----------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def state(self) -> str:
        """One line for a status bar: where, and whether it is reachable."""
        if self.connected:
            return f"publishing to {self.broker.display_url}"
        why = f" ({self._last_error})" if self._last_error else ""
        return f"broker {self.broker.display_url} unreachable{why}; monitoring continues"

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        log.info("publishing chair %s/%s to %s", self.where.site, self.where.chair, self.broker.display_url)
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=self._keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0, last: str = "offline") -> None:
        """Say offline (retained), disconnect, and stop both threads. Idempotent. `last` "forget": clear
        this chair's retained messages instead (it goes on under another name: the central forgets it);
        "none": say nothing (another connection of this same chair takes over at once)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None
        if self.connected and last != "none":
            if last == "forget":  # status last: the central drops the chair once the rest is gone
                infos = [self._client.publish(self.where.topic(kind), b"", qos=1, retain=True)
                         for kind in ("alarms", "session", "status")]
            else:
                infos = [self._client.publish(self.where.topic("status"),
                                              encode(self._status("offline", "stopped")), qos=1, retain=True)]
            try:
                for info in infos:
                    info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("last status not confirmed by the broker: %s", exc)
        elif last == "forget":
            log.warning("broker unreachable: chair %s/%s stays on the central as offline until cleared",
                        self.where.site, self.where.chair)
        self._client.disconnect()
        # paho may be inside a connect attempt to an unreachable host: wait a bounded time only
        closer = threading.Thread(target=self._client.loop_stop, name="mqtt-close", daemon=True)
        closer.start()
        closer.join(timeout)
        log.info("stopped publishing chair %s/%s", self.where.site, self.where.chair)

    # -- paho callbacks (paho's network thread) ---------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        if getattr(reason, "is_failure", False):
            self._last_error = f"refused: {reason}"
            log.warning("broker %s refused the connection: %s", self.broker.display_url, reason)
            return
        log.info("connected to broker %s", self.broker.display_url)
        self._last_error = ""
        if self.commands is not None:  # subscribed again after every reconnect (clean session)
            client.subscribe(self.where.topic("command"), qos=1)
        with self._lock:
            self._resend = True
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                       properties: object) -> None:
        if self._connected.is_set() and not self._stop.is_set():
            log.warning("lost the broker %s (%s); reconnecting", self.broker.display_url, reason)
        elif self._last_error:
            return  # after a refusal paho also reports a disconnect; keep the refusal's reason
        self._connected.clear()
        self._last_error = str(reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        commands = self.commands
        if commands is None:
            return  # a retained leftover command is refused as stale (and logged) by the checks
        try:
            result = commands.handle(msg.topic, bytes(msg.payload))
        except Exception:  # a bad command must never end the network thread (and with it publishing)
            log.exception("central command could not be handled")
            return
        if result is not None:
            self._publish("result", result, 1, False)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._last_error = "cannot connect"
        log.debug("cannot connect to broker %s", self.broker.display_url)

    # -- the publisher thread ------------------------------------------------------------------------------
    def _name(self) -> str:
        session = self._session
        if self.identity == "pseudonym" and session is not None and session.setup.pseudonym:
            return session.setup.pseudonym
        return self.where.chair

    def _status(self, state: str, reason: str = "") -> dict[str, object]:
        self._seq += 1
        return payloads.status_payload(
            self.where, state, self._clock.now(), name=self._name(), link=self._link, link_detail=self._link_detail,
            heartbeat_s=self.heartbeat_s, seq=self._seq, dropped=self.dropped_vitals + self.dropped_alarm_events,
            reason=reason, central_ack=self.commands is not None and self.commands.enabled,
        )

    def _publish(self, kind: str, payload: dict[str, object], qos: int, retain: bool) -> bool:
        info = self._client.publish(self.where.topic(kind), encode(payload), qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.debug("publish %s not accepted: %s", kind, mqtt.error_string(info.rc))
            return False
        self.published += 1
        return True

    def _run(self) -> None:
        next_beat = 0.0
        while not self._stop.is_set():
            wait = min(0.25, next_beat - time.monotonic()) if self.connected else 0.25  # never spin
            self._wake.wait(max(0.0, wait))
            self._wake.clear()
            if not self.connected:
                continue  # the queues stay bounded; everything current is sent again on reconnect
            try:
                now = time.monotonic()
                with self._lock:
                    resend, self._resend = self._resend, False
                    beat = resend or self._link_dirty or now >= next_beat
                    self._link_dirty = False
                if beat:
                    self._publish("status", self._status("online"), 1, True)
                    next_beat = now + self.heartbeat_s
                self._send_alarms(resend)
                self._send_session(beat, force=resend)
                self._send_vitals()
            except Exception:  # a bad payload must not end publishing for the rest of the session
                log.exception("publishing failed; continuing")

    def _send_alarms(self, resend: bool) -> None:
        with self._lock:
            events = list(self._events)
            self._events.clear()
        if not events and not resend:
            return
        if self._alarms is None:
            return
        t = self._clock.now()
        for i, ev in enumerate(events):
            self._alarm_seq += 1
            # every change goes out; the current set rides on the last one of the batch (retained)
            active = self._alarms.active_alarms() if i == len(events) - 1 else None
            if not self._publish("alarms", payloads.alarms_payload(self.where, t, active, ev, self._alarm_seq),
                                 1, i == len(events) - 1):
                self._requeue(events[i:])
                return
        if resend and not events:
            self._alarm_seq += 1
            self._publish("alarms", payloads.alarms_payload(self.where, t, self._alarms.active_alarms(), None,
                                                            self._alarm_seq), 1, True)

    def _requeue(self, events: list[AlarmEvent]) -> None:
        with self._lock:
            self._events.extendleft(reversed(events))
            while len(self._events) > self._max_events:
                self._events.pop()
                self.dropped_alarm_events += 1
            self._resend = True

    def _send_session(self, due: bool, force: bool) -> None:
        with self._lock:
            dirty, self._session_dirty = self._session_dirty or force, False
            session = self._session
        if not (due or dirty):
            return
        payload = payloads.session_payload(self.where, self._clock.now(), session, name=self._name())
        same = self._last_session is not None and {**payload, "t": 0} == {**self._last_session, "t": 0}
        if (dirty or not same) and self._publish("session", payload, 1, True):
            self._last_session = payload

    def _send_vitals(self) -> None:
        with self._lock:
            batch = list(self._vitals)
            self._vitals.clear()
        for i in range(0, len(batch), VITALS_PER_MESSAGE):
            chunk = batch[i:i + VITALS_PER_MESSAGE]
            if not self._publish("vitals", payloads.vitals_payload(self.where, self._clock.now(), chunk), 0, False):
                with self._lock:
                    self.dropped_vitals += len(batch) - i
                return
