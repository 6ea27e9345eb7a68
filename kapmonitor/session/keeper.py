"""The bedside's nurse session from one to the next, without a screen: `SessionKeeper`.

It creates the session (from the set-up form, or the simulator's demo session), resumes an
unfinished record, starts the next session after a discharge in a new record (never in the
record of the session before), sets a session aside when the monitor changes between the
simulator and a patient's monitor, and knows who is on duty before the first session. `Bedside`
owns one (kapmonitor/bedside.py) and the session dock (ui/session_integration.py) only binds its
widgets to it; a headless bedside runs it alone.

Every change of session is told through `changed` (the new session, or None: set aside, or a
record that could not be resumed, `resume_error`): the bedside keeps its alarm link and publisher
in step, the dock shows the new panel.

Thread-safety: create and call from one thread (the GUI thread when there is a window); `changed`
listeners run in that thread. The NurseSession itself is thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from kapmonitor.model.clock import Clock
from kapmonitor.model.events import Emitter
from kapmonitor.model.samples import Item
from kapmonitor.recording.database import SessionDatabaseError
from kapmonitor.session.catalogues import NOT_SIGNED_IN
from kapmonitor.session.entries import PrestartCheck, RecordSink, SessionError
from kapmonitor.session.infusion import Phase
from kapmonitor.session.model import SessionSetup, ValidationError, check_initials, demo_setup
from kapmonitor.session.session import NurseSession
from kapmonitor.session.settings import SessionSettings, load_session_settings
from kapmonitor.session.storage import suggest_course, summarize

log = logging.getLogger(__name__)

SessionListener = Callable[[NurseSession], object]


class NewRecordError(SessionError):
    """The next session was not started: it needs a new record that cannot be opened here."""


def is_nurse_session(path: Path) -> bool:
    """True when `path` already holds a nurse's session (then resume it rather than start anew)."""
    try:
        summarize(path)
    except SessionDatabaseError:
        return False
    return True


class SessionKeeper:
    """The bedside's current NurseSession and how the next one begins. See the module docstring."""

    def __init__(
        self, recorder: RecordSink, clock: Clock, *,
        submit_items: Callable[[Sequence[Item]], None] | None = None,
        add_listener: SessionListener | None = None,
        remove_listener: SessionListener | None = None,
        prestart_factory: Callable[[NurseSession], PrestartCheck] | None = None,
        on_infusion_started: Callable[[float], None] | None = None,
        folder: Path | None = None,
        simulated: bool = False,
        settings: SessionSettings | None = None,
        new_record: Callable[[], RecordSink] | None = None,
    ) -> None:
        """`add_listener`/`remove_listener` attach a session to the monitor's readings (the dispatcher);
        `prestart_factory` gives its pre-start check; `on_infusion_started(t)` lets the simulated patient
        follow the nurse; `new_record()` opens a new session database and returns the sink writing
        into it (without it a second session cannot be started)."""
        if settings is None:
            settings, warning = load_session_settings()
            if warning:
                log.warning("%s", warning)
        self.settings = settings
        self.recorder = recorder
        self.clock = clock
        self.submit_items = submit_items
        self.add_listener = add_listener
        self.remove_listener = remove_listener
        self.prestart_factory = prestart_factory
        self.on_infusion_started = on_infusion_started
        self.folder = folder
        self.simulated = simulated
        self.new_record = new_record
        self.session: NurseSession | None = None
        self.resume_error: str | None = None  # a record that could not be resumed: no session in it
        self.changed: Emitter[[NurseSession | None]] = Emitter("session keeper")
        self._on_duty: str | None = None  # before the first session; then the session keeps it
        self._autostart_at: float | None = None
        self._started_notified = False

    # -- the nurse on duty ---------------------------------------------------------------------------
    def on_duty(self) -> str | None:
        """Initials of the nurse on duty, None when nobody is signed in."""
        return self.session.on_duty if self.session is not None else self._on_duty

    def who(self) -> str:
        """Whom an action at the bedside is credited to (alarm acknowledgement, audio pause ...)."""
        return self.on_duty() or NOT_SIGNED_IN

    def sign_in(self, initials: str) -> str:
        """Sign in (or take over as) the nurse on duty. Raises ValidationError for bad initials."""
        if self.session is not None:
            done = self.session.sign_in(initials)  # audited in the session's record
        else:
            done = check_initials(initials)
            log.info("nurse on duty: %s (no session yet)", done)
        self._on_duty = done
        return done

    # -- facts ---------------------------------------------------------------------------------------
    def can_start_new_session(self) -> bool:
        """No session yet, or the last one discharged, or a simulated one (each in its own record)."""
        if self.resume_error is not None:
            return False
        session = self.session
        if session is None:
            return True
        return (session.closed or session.simulated) and self.new_record is not None

    def infusion_window(self, now: float) -> tuple[float, float] | None:
        """The session's infusion as recorded (a pause extends it); None before it starts or without one."""
        return None if self.session is None else self.session.infusion_window(now)

    # -- beginning a session -------------------------------------------------------------------------
    def create_session(self, setup: SessionSetup, on_duty: str | None = None) -> NurseSession:
        """A new NurseSession, signed in by `on_duty`, else the nurse on duty, else the set-up nurse
        (she typed her initials into the set-up form). A session after another one is recorded in a
        new record. Raises NewRecordError when that cannot be opened (the session before stays),
        ValidationError for a bad set-up."""
        if self.session is not None:
            if self.new_record is None:
                raise NewRecordError("A new session needs a new record: restart kapmonitor.")
            setup.validate()  # before a new record is opened for it
            try:
                self.recorder = self.new_record()
            except (SessionDatabaseError, OSError, ValueError) as exc:
                log.error("cannot open a new session record: %s", exc)
                raise NewRecordError(f"The new session was not started: its record cannot be opened ({exc}).") \
                    from exc
        who = on_duty or self.on_duty() or setup.nurse_initials
        return self._attach(self._new(setup, who))

    def start_demo_session(self, autostart_at: float | None = None) -> NurseSession:
        """The simulated monitor's session (marked simulated); its infusion starts by itself at
        `autostart_at` (`tick`), with the failed pre-start check recorded, never stalling the demo."""
        found = suggest_course("DEMO-001", self.folder)
        setup = demo_setup(course_number=found[0] if found else 1)
        # the demo's made-up set-up nurse is never signed in: the real nurse signs in herself
        session = self._attach(self._new(setup, self.on_duty()))
        self._autostart_at = autostart_at
        return session

    def resume_session(self, path: Path) -> NurseSession:
        """Resume the session recorded in `path` (the keeper's recorder writes to it). A record that
        cannot be resumed raises SessionDatabaseError, ValidationError or OSError and blocks a new
        session in this record (`resume_error`): two sessions never mix in one file."""
        try:
            session = NurseSession.resume(path, self.clock, recorder=self.recorder, submit_items=self.submit_items,
                                          nibp_schedule=self.settings.nibp,
                                          discharge_items=self.settings.discharge_items)
        except (SessionDatabaseError, ValidationError, OSError) as exc:
            log.error("cannot resume %s: %s", path, exc)
            self.resume_error = str(exc)
            self.changed.emit(None)  # the dock says why and offers no new session on this record
            raise
        return self._attach(session)

    def set_aside_session(self, simulated: bool, recorder: RecordSink | None = None) -> None:
        """The monitor changed between the simulator and a real one and a new record is written
        (`recorder`, when given): the session of the old record stays there, unfinished or closed,
        and is never written into the new one; the next session is started anew."""
        session = self.session
        if session is not None and self.remove_listener is not None:
            self.remove_listener(session)
        if recorder is not None:
            self.recorder = recorder
        self.session = None
        self.simulated = simulated
        self._autostart_at = None
        self._started_notified = False
        self.changed.emit(None)

    def _new(self, setup: SessionSetup, on_duty: str | None) -> NurseSession:
        return NurseSession(self.recorder, setup, self.clock, on_duty=on_duty, submit_items=self.submit_items,
                            nibp_schedule=self.settings.nibp, discharge_items=self.settings.discharge_items)

    def _attach(self, session: NurseSession) -> NurseSession:
        if self.prestart_factory is not None:
            session.prestart_check = self.prestart_factory(session)
        if self.add_listener is not None:
            self.add_listener(session)
        self.session = session
        self._on_duty = session.on_duty
        self._autostart_at = None
        started_at = session.infusion.started_at
        self._started_notified = started_at is not None
        if started_at is not None and self.on_infusion_started is not None:
            self.on_infusion_started(started_at)
        self.changed.emit(session)
        return session

    # -- periodic ------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Once a second: the demo's automatic infusion start, and the simulated patient told when
        the nurse started the infusion."""
        session = self.session
        if session is None:
            return
        now = self.clock.now()
        autostart = self._autostart_at
        if autostart is not None and now >= autostart and session.phase(now) is Phase.BASELINE and not session.closed:
            try:
                # the demo never stalls on the pre-start check; a failed check is still recorded
                session.start_infusion(t=autostart, who="SIM", override_reason="simulated demo: automatic start")
            except SessionError as exc:
                log.warning("demo session could not start the infusion: %s", exc)
            self._autostart_at = None
        started = session.infusion.started_at
        if started is not None and not self._started_notified:
            self._started_notified = True
            if self.on_infusion_started is not None:
                self.on_infusion_started(started)
