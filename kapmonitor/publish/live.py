"""Starting, stopping and changing a running bedside's publishing (MQTT to the central station, HL7
out) without stopping monitoring, alarms or recording (`Bedside.configure_publishing`).

A new publisher is built and listens at once (its queues are bounded), so nothing said meanwhile is
missed; the old one is detached at once too. What can take seconds runs on one worker thread at a
time, in order: the old publisher says goodbye and disconnects, then the new one connects. Its goodbye
depends on what follows: "offline (stopped)" when publishing stops; its retained messages cleared when
the chair goes on under another name or on another broker (the central forgets the old place); nothing
when only the log-in changes. A chair that goes on is never shown "stopped" at the central, which
raises an alarm for a chair stopped during a session. A change of what the central shows (pseudonym
or chair name) keeps the connection. An HL7 outbox is only replaced when its target or chair changes: the old sender
stops, the record is flushed, and the new outbox starts with what the record still holds
unacknowledged (durable, so nothing is lost; at worst re-sent once with the same control id).

Thread-safety: `PublishingControl.configure` and `stop` from the thread that owns the bedside (the
GUI thread); the worker only touches the publishers it was handed and the outbox (`outbox` may be read
from any thread: it is replaced whole).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from kapmonitor.model.samples import LinkEvent
from kapmonitor.publish.broker import BrokerConfigError
from kapmonitor.publish.hl7_out import Hl7Outbox, parse_target
from kapmonitor.publish.publisher import MqttPublisher
from kapmonitor.publish.settings import PublishSettings

if TYPE_CHECKING:
    from kapmonitor.alarms.engine import AlarmEngine
    from kapmonitor.model.clock import Clock
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.session.session import NurseSession

log = logging.getLogger(__name__)

PublisherHook = Callable[[MqttPublisher], None]


class PublishingControl:
    """The bedside's current publisher and HL7 outbox, and the settings they run with."""

    def __init__(self, pipeline: MonitoringPipeline, alarms: AlarmEngine, clock: Clock,
                 session: Callable[[], NurseSession | None], hooks: list[PublisherHook] | None = None) -> None:
        self._pipeline = pipeline
        self._alarms = alarms
        self._clock = clock
        self._session = session
        self.publisher: MqttPublisher | None = None
        self.outbox: Hl7Outbox | None = None  # set by the worker only
        self.settings: PublishSettings | None = None
        # run on every publisher built here before it starts (e.g. the central's commands)
        self.publisher_hooks: list[PublisherHook] = [] if hooks is None else hooks
        self._worker: threading.Thread | None = None

    def configure(self, settings: PublishSettings | None) -> None:
        """Publish with `settings` from now on (None or nothing enabled: stop publishing).
        Raises BrokerConfigError or ValueError for unusable settings, changing nothing."""
        if settings is not None and not settings.active:
            settings = None
        old = self.settings
        if settings is None and old is None and self.publisher is None and self._worker is None:
            return  # nothing runs and nothing is asked for
        keep_mqtt = (settings is not None and settings.enabled and old is not None and old.enabled
                     and settings.same_broker(old) and self.publisher is not None)
        # the outbox itself is the worker's: decided on the settings, replaced in order after earlier changes
        keep_hl7 = (settings is not None and bool(settings.hl7_out) and old is not None
                    and (old.hl7_out, old.chair) == (settings.hl7_out, settings.chair))
        new_publisher = None
        if settings is not None and settings.enabled and not keep_mqtt:
            new_publisher = self._build_publisher(settings)  # raises before anything changed
        if settings is not None and settings.hl7_out and not keep_hl7:
            parse_target(settings.hl7_out)  # raises before anything changed
        old_publisher = None if keep_mqtt else self.publisher
        if old_publisher is not None:
            old_publisher.detach(self._pipeline.dispatcher)  # quick; its stop() below is not
        if not keep_mqtt:
            self.publisher = new_publisher
        elif self.publisher is not None and settings is not None and self.publisher.identity != settings.show_as:
            self.publisher.identity = settings.show_as  # the name shown changes on the next messages
            self.publisher.set_session(self._session())  # the session (with the name) goes out again
        hl7 = None if settings is None or not settings.hl7_out else (settings.hl7_out, settings.chair)
        self.settings = settings
        previous = self._worker

        def work() -> None:
            if previous is not None:
                previous.join()  # the outbox is now the one the earlier change left
            if old_publisher is not None:
                # the chair goes on: under the same name on the same broker (another log-in) nothing is said;
                # under another name or on another broker its old place is cleared. Never "offline (stopped)"
                # for a chair that goes on: the central would raise "chair stopped while a session is open".
                def place(p: MqttPublisher) -> tuple[object, ...]:
                    return p.where, p.broker.host, p.broker.port, p.broker.tls

                last = "offline" if new_publisher is None else (
                    "none" if place(new_publisher) == place(old_publisher) else "forget")
                old_publisher.stop(last=last)
            if new_publisher is not None:
                new_publisher.start()
            if not keep_hl7 and (self.outbox is not None or hl7 is not None):
                self._replace_outbox(self.outbox, hl7)

        self._worker = threading.Thread(target=work, name="publish-configure", daemon=True)
        self._worker.start()
        where = "off" if settings is None else (
            f"{settings.site}/{settings.chair}" + (f" to {settings.broker_url}" if settings.enabled else "")
            + (f", HL7 out {settings.hl7_out}" if settings.hl7_out else ""))
        log.info("publishing configured: %s", where)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the last change has been carried out (tests, shutdown). True when done."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop publishing and HL7 out (after any change still being carried out)."""
        self.wait(timeout)
        if self.outbox is not None:
            self._pipeline.dispatcher.remove_listener(self.outbox)
            self.outbox.stop()  # what is not acknowledged stays in the record for the next start
        if self.publisher is not None:
            self.publisher.stop()  # "offline (stopped)" while the record is still open

    def _build_publisher(self, settings: PublishSettings) -> MqttPublisher:
        broker = settings.broker_config()
        try:
            publisher = MqttPublisher(broker, settings.chair, self._clock, site=settings.site,
                                      identity=settings.show_as)
        except (ssl.SSLError, OSError) as exc:  # TLS files are read here: one that is no certificate or key
            raise BrokerConfigError(f"the CA file, client certificate or key cannot be used ({exc}); choose the "
                                    "PEM files the clinic's IT gave for this chair") from None
        for hook in self.publisher_hooks:
            hook(publisher)
        publisher.attach(self._pipeline.dispatcher, self._alarms)
        publisher.set_session(self._session())
        # the link state reported before the publisher listened
        publisher.on_items([LinkEvent(self._clock.now(), self._pipeline.reader.link_state, "")])
        return publisher

    def _replace_outbox(self, old: Hl7Outbox | None, target: tuple[str, str] | None) -> None:
        """Worker thread: the old sender stops, the new one starts with what the record still holds."""
        from kapmonitor.recording.reader import read_hl7_pending

        dispatcher = self._pipeline.dispatcher
        if old is not None:
            old.stop()  # still listening: what arrives meanwhile goes into the record
        if target is None:
            if old is not None:
                dispatcher.remove_listener(old)
            self.outbox = None
            return
        recorder = self._pipeline.recorder
        recorder.flush()
        pending = read_hl7_pending(recorder.path)
        box = Hl7Outbox(target[0], target[1], self._clock, lambda: self._pipeline.recorder, pending=pending)
        dispatcher.add_listener(box)
        if old is not None:
            dispatcher.remove_listener(old)
        self.outbox = box
        box.start()
