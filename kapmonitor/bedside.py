"""The bedside without a screen: one object that owns and runs everything a session needs.

`Bedside` owns the monitoring pipeline (monitor, record, trends, alarm engine), the alarm
supervisor and sounder, the alarm profile and its record, the alarm sound setting, the nurse's
session with its alarm link, the session music, and the chair's publishing to the central station
and HL7 out (`configure_publishing`, changed live). It never imports Qt: the nurse's window
(kapmonitor/ui/app.py, main_window.py) binds to it, and a headless bedside can run it alone.
Model: napari's `ViewerModel` (the Qt-free model) and `Viewer` (the window bound to it).

Order matters for safety: the alarm profile is loaded first (never run without limits), then the
session record is opened (fail before showing vitals that would not be recorded), then the
monitor is read. Monitoring and alarms run from the first second of `start()`.

Thread-safety: create and call from one thread (the GUI thread when there is a window). The
pipeline, engine, supervisor and sounder run their own threads and are thread-safe as documented
on them; `on_monitor_switched` callbacks run in the calling thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile import AlarmProfile, load_clinic_profile
from kapmonitor.alarms.profile_record import ProfileRecord
from kapmonitor.alarms.session_link import SessionAlarmLink, prestart_hook
from kapmonitor.alarms.sound_config import (
    AlarmSoundConfig,
    load_alarm_sound_config,
    restart_sounder,
    same_output,
    save_alarm_sound_config,
)
from kapmonitor.alarms.sounder import AlarmSounder
from kapmonitor.alarms.supervisor import AlarmSupervisor
from kapmonitor.audio.session_music import SessionMusic, create_session_music
from kapmonitor.audio.timeline import track_bands
from kapmonitor.config import MonitorChoice, new_session_path, save_monitor_choice
from kapmonitor.drivers.base import Driver, DriverOptions
from kapmonitor.drivers.errors import DriverError
from kapmonitor.drivers.registry import create_driver, driver_class
from kapmonitor.drivers.replay import ReplayDriver
from kapmonitor.drivers.simulator import SimulatedMonitor
from kapmonitor.model.clock import Clock
from kapmonitor.model.samples import Source
from kapmonitor.model.trends import TrendStore
from kapmonitor.pipeline import MonitoringPipeline
from kapmonitor.recording.reader import read_history
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session.entries import RecordSink, SessionError
from kapmonitor.session.infusion import Phase
from kapmonitor.session.keeper import SessionKeeper, is_nurse_session
from kapmonitor.session.model import SessionSetup
from kapmonitor.session.session import NurseSession

if TYPE_CHECKING:
    from kapmonitor.publish.hl7_out import Hl7Outbox
    from kapmonitor.publish.live import PublishingControl
    from kapmonitor.publish.publisher import MqttPublisher
    from kapmonitor.publish.settings import PublishSettings

log = logging.getLogger(__name__)

MusicBand = tuple[float, float, str]  # (start, end, title) of one track heard, for the trend


@dataclass(frozen=True)
class MonitorSwitch:
    """What `Bedside.switch_monitor` did: the window and the nurse's session follow it."""

    driver: Driver
    new_record: Path | None  # a new session record was started (simulated <-> real), else None
    message: str  # for the nurse


class BedsideView(Protocol):
    """What the nurse's main window reads of the bedside (a `Bedside`, or a test's fixed facts)."""

    @property
    def trends(self) -> TrendStore: ...

    @property
    def alarms(self) -> AlarmEngine | None: ...

    @property
    def profile(self) -> AlarmProfile: ...

    @property
    def profile_warning(self) -> str | None: ...

    @property
    def session_start(self) -> float: ...

    @property
    def simulated(self) -> bool: ...

    @property
    def replay_of(self) -> str | None: ...

    @property
    def speed(self) -> float: ...

    def now(self) -> float: ...

    def device_text(self) -> str: ...

    def recording_text(self) -> tuple[str, bool] | None: ...

    def infusion_window(self, now: float) -> tuple[float, float] | None: ...

    def who(self) -> str | None: ...

    def music_bands(self, now: float) -> list[MusicBand]: ...


@dataclass
class WindowFacts:
    """Fixed facts for a window that shows a store without a running bedside (benchmarks, layout
    screenshots, tests): a `BedsideView` built from values and callables."""

    store: TrendStore
    alarm_profile: AlarmProfile
    session_start: float
    now_fn: Callable[[], float]
    simulated: bool
    device: str
    engine: AlarmEngine | None = None
    profile_warning: str | None = None
    speed: float = 1.0
    replay_of: str | None = None
    recording_text_fn: Callable[[], tuple[str, bool]] | None = None
    infusion_window_fn: Callable[[float], tuple[float, float] | None] | None = None
    who_fn: Callable[[], str | None] | None = None
    bands_fn: Callable[[float], list[MusicBand]] | None = None

    @property
    def trends(self) -> TrendStore:
        return self.store

    @property
    def alarms(self) -> AlarmEngine | None:
        return self.engine

    @property
    def profile(self) -> AlarmProfile:
        return self.alarm_profile

    def now(self) -> float:
        return self.now_fn()

    def device_text(self) -> str:
        return self.device

    def recording_text(self) -> tuple[str, bool] | None:
        return None if self.recording_text_fn is None else self.recording_text_fn()

    def infusion_window(self, now: float) -> tuple[float, float] | None:
        return None if self.infusion_window_fn is None else self.infusion_window_fn(now)

    def who(self) -> str | None:
        return None if self.who_fn is None else self.who_fn()

    def music_bands(self, now: float) -> list[MusicBand]:
        return [] if self.bands_fn is None else self.bands_fn(now)


class Bedside:
    """One running bedside: see the module docstring. Implements `BedsideView`."""

    def __init__(self, driver: Driver, clock: Clock, session_path: Path | None = None,
                 profile_path: Path | None = None, *, music: bool = True) -> None:
        """`session_path` None: a new record in the sessions folder; an existing record is resumed
        (its vitals are shown again). `music` False: no session music (a bedside without a therapist)."""
        self.driver = driver
        self.clock = clock
        # --profile, else the clinic's signed-off profile, else the built-in default (never no limits)
        self._profile, self.profile_warning = load_clinic_profile(profile_path)
        path = session_path or new_session_path(driver.is_simulated, clock.now())
        # a record that already exists is being resumed: its vitals are shown again (read before writing)
        self._history, self._history_start = read_history(path)
        self.pipeline = MonitoringPipeline(driver, path, alarm_profile=self._profile)
        # the profile in force (name, version, hash; signed off or why not) and every PIN use into the record
        self.profile_record = ProfileRecord(lambda: self.pipeline.recorder, clock.now)
        self.profile_record.started(self._profile, self.profile_warning)
        engine = self.pipeline.alarms
        assert engine is not None  # the pipeline always has an engine when given a profile
        self._alarms = engine
        self.supervisor = AlarmSupervisor(engine)
        self.sound_config, self.sound_config_problem = load_alarm_sound_config()
        self.sounder = AlarmSounder(engine, device=self.sound_config.device, volume=self.sound_config.volume)
        self._sound_on = False
        self.session_start = clock.now()
        self.alarm_link: SessionAlarmLink | None = None
        self._course_joined: set[int] = set()  # sessions already handed to their course (by id)
        # the nurse's session and the next one (each in its own record); its changes keep the alarm link in step
        self.sessions = SessionKeeper(
            self.pipeline.recorder, clock, submit_items=self.pipeline.submit,  # manual vitals: alarms, plot, record
            add_listener=self.pipeline.dispatcher.add_listener,
            remove_listener=self.pipeline.dispatcher.remove_listener,
            # the engine's profile at the moment of the start (limits may change during the session)
            prestart_factory=lambda session: lambda: self.prestart_check(session),
            on_infusion_started=self.set_infusion_start,  # the simulated patient follows the nurse
            simulated=driver.is_simulated, new_record=self.new_record)
        self.sessions.changed.add(self._session_changed)
        self._sessions_begun = False  # begin_session() called: a window (or a test) keeps a nurse's session
        self.music: SessionMusic | None = None
        if music and not self.is_replay:  # every music action goes into the record's music_events
            self.music = create_session_music(recorder=self.pipeline.recorder, clock=clock.now, demo=False,
                                              open_device=False)
        self.on_monitor_switched: list[Callable[[MonitorSwitch], None]] = []
        # the chair on the central station and HL7 out (`configure_publishing`): follow the session, stop with it
        self._publishing: PublishingControl | None = None
        # run on every publisher the bedside starts (the command line adds the central's commands)
        self.publisher_hooks: list[Callable[[MqttPublisher], None]] = []
        self._running = False

    # -- publishing (central station, HL7 out) ----------------------------------------------------------
    @property
    def publishing(self) -> PublishingControl:
        """The publisher and HL7 outbox in use and their settings (created on first use: lazy paho)."""
        if self._publishing is None:
            from kapmonitor.publish.live import PublishingControl

            self._publishing = PublishingControl(self.pipeline, self._alarms, self.clock, lambda: self.session,
                                                 self.publisher_hooks)
        return self._publishing

    @property
    def publisher(self) -> MqttPublisher | None:
        return None if self._publishing is None else self._publishing.publisher

    @publisher.setter
    def publisher(self, publisher: MqttPublisher | None) -> None:
        self.publishing.publisher = publisher  # attached and started by the caller; stops with the bedside

    @property
    def hl7_outbox(self) -> Hl7Outbox | None:
        return None if self._publishing is None else self._publishing.outbox

    def publish_settings(self) -> PublishSettings | None:
        """The publishing settings in force (None: not published, or started without settings)."""
        return None if self._publishing is None else self._publishing.settings

    def configure_publishing(self, settings: PublishSettings | None) -> None:
        """Start, stop or change publishing to the central station and HL7 out, live: monitoring,
        alarms and recording go on; connecting and the old link's goodbye happen on a worker thread.
        Raises BrokerConfigError or ValueError for unusable settings, changing nothing."""
        if (settings is None or not settings.active) and self._publishing is None:
            return  # nothing to stop: the MQTT client is not even loaded
        self.publishing.configure(settings)

    # -- facts -------------------------------------------------------------------------------------
    @property
    def alarms(self) -> AlarmEngine:
        return self._alarms

    @property
    def trends(self) -> TrendStore:
        return self.pipeline.trends

    @property
    def profile(self) -> AlarmProfile:
        """The alarm profile in force now (limits may change during the session)."""
        return self._alarms.profile

    @property
    def simulated(self) -> bool:
        return self.driver.is_simulated

    @property
    def is_replay(self) -> bool:
        return isinstance(self.driver, ReplayDriver)

    @property
    def replay_of(self) -> str | None:
        """The capture file's name when replaying one, else None."""
        return self.driver.capture_path.name if isinstance(self.driver, ReplayDriver) else None

    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def simulated_infusion_start(self) -> float | None:
        """When the simulated patient's infusion starts (the demo session follows it), else None."""
        if isinstance(self.driver, SimulatedMonitor) and self.driver.patient is not None:
            return self.driver.patient.infusion_start
        return None

    def set_infusion_start(self, t: float) -> None:
        """The nurse started the infusion at `t`: the simulated patient's drug effect follows it."""
        if isinstance(self.driver, SimulatedMonitor):
            self.driver.set_infusion_start(t)

    def now(self) -> float:
        return self.clock.now()

    def device_text(self) -> str:
        """The status bar's name of the monitor read now."""
        if isinstance(self.driver, ReplayDriver):
            return f"Replay of {self.driver.capture_path.name} ({self.driver.decoder_name})"
        if self.driver.is_simulated:
            return f"Simulated monitor \u2014 scenario {self.driver.options.scenario}"
        return f"{self.driver.description} on {self.driver.options.port}"

    def recording_text(self) -> tuple[str, bool]:
        """Recording, recording into a recovery file, or not recording (and why): the recorder knows."""
        return self.pipeline.recorder.status()

    def infusion_window(self, now: float) -> tuple[float, float] | None:
        """The nurse's infusion as recorded (a pause extends it); None before it starts."""
        return None if self.session is None else self.session.infusion_window(now)

    def who(self) -> str | None:
        """Who acts at the bedside: the nurse on duty (signed in, also before the first session), else
        "not signed in", once the bedside keeps a nurse's session; None on one without (headless)."""
        if self._sessions_begun:
            return self.sessions.who()
        return None if self.session is None else self.session.on_duty

    def music_bands(self, now: float) -> list[MusicBand]:
        """The tracks heard so far, as bands along the bottom of the trend."""
        if self.music is None:
            return []
        return [(start, end, title) for start, end, title, _phase in
                track_bands(self.music.controller.timeline_rows(), now=now)]

    def close_reason(self) -> str | None:
        """Why closing now needs confirmation: an infusion running or a patient under observation."""
        session = self.session
        if session is None or session.closed:
            return None
        phase = session.phase()
        if phase is Phase.INFUSION:
            return "The infusion is running."
        if phase in (Phase.OBSERVATION, Phase.READY_FOR_DISCHARGE):
            return "The patient is under observation and has not been discharged."
        return None

    def output_notices(self) -> list[str]:
        """What the alarm area must say about the alarm output: an alarm switched off for this session
        (first: the line is cut with "…" when too long), a sound setting problem, and music playing on
        the alarms' own output (alarms could reach the patient's headphones, music could cover them)."""
        notices = list(self._alarms.profile.alarms_off())
        if self.sound_config_problem:
            notices.append(self.sound_config_problem)
        if self.music is not None and self.music.controller.state.value == "playing":
            music_device = self.music.player.device
            if same_output(music_device, self.sound_config.device):
                name = music_device if music_device is not None else "the system default"
                notices.append(
                    f"Music and alarm sound share one output ({name}): choose the patient's headphones under "
                    "Music output, or set the alarm output in alarm_sound.toml"
                )
        return notices

    # -- running -----------------------------------------------------------------------------------
    def start(self, sound: bool = True, wait_for_record: bool = True) -> None:
        """Open the record and the monitor; alarms run from now. `sound` False (screenshots) leaves
        the alarm sound off; nothing else changes. Raises SessionDatabaseError when the record
        cannot be opened. `wait_for_record` False: the record opens in its writer thread while the
        caller goes on (the window is built); call `wait_for_record()` before the record is read."""
        if self._history:  # resumed: the recorded vitals first, so the trend stays in time order
            self.pipeline.trends.on_items(self._history)
            self._history = []
        self.pipeline.start(wait_for_record)
        self._running = True
        self.supervisor.start()
        if sound:
            self.start_sound()
        self.session_start = self.clock.now()
        if self._history_start is not None:  # the session clock spans the whole record
            self.session_start = min(self.session_start, self._history_start)

    def wait_for_record(self) -> None:
        """After `start(wait_for_record=False)`: block until the record is open; when it cannot be,
        everything stops and SessionDatabaseError is raised (as `start` would have)."""
        try:
            self.pipeline.wait_for_record()
        except BaseException:
            self.stop()
            raise

    def start_sound(self) -> None:
        """Open the alarm sound (after `start(sound=False)`: the window opens it right after its first
        paint, as starting PortAudio takes ~0.1 s; the sounder then plays whatever the engine says)."""
        if self._running and not self._sound_on:  # not after stop(): a late call opens nothing
            self.sounder.start()  # a sound device that cannot play is raised as a technical alarm
            self._sound_on = True

    def stop(self) -> None:
        """Silence the music, stop the alarms and the monitor, flush and close the record."""
        if self.alarm_link is not None:
            self.alarm_link.close()
            self.alarm_link = None
        if self.music is not None:
            self.music.close()
        if self._publishing is not None:
            self._publishing.stop()  # "offline (stopped)" and HL7 out stopped while the record is still open
        self.sounder.stop()
        self.supervisor.stop()
        self.pipeline.stop()
        self._running = False

    def set_alarm_sound(self, config: AlarmSoundConfig) -> None:
        """Save the alarm output chosen by the nurse and move the alarm sound there at once."""
        self.sound_config = config
        self.sound_config_problem = None
        try:
            save_alarm_sound_config(config)
        except OSError as exc:
            self.sound_config_problem = f"alarm sound setting not saved ({exc}); it applies until kapmonitor closes"
        if self._sound_on:
            self.sounder = restart_sounder(self.sounder, self._alarms, config)

    # -- the nurse's session -----------------------------------------------------------------------
    @property
    def session(self) -> NurseSession | None:
        """The nurse's session now (None before the first one, or after the monitor changed)."""
        return self.sessions.session

    def begin_session(self) -> NurseSession | None:
        """The nurse's session at start-up (a window; never a replay): the record's own session is
        resumed (--session, the resume offer), the simulator gets its demo session, else none until
        `create_session`. Raises SessionDatabaseError, ValidationError or OSError when the record's
        session cannot be resumed (then no session is started in that record)."""
        self._sessions_begun = True
        path = self.pipeline.recorder.path
        if is_nurse_session(path):
            return self.sessions.resume_session(path)
        if self.simulated:
            return self.sessions.start_demo_session(self.simulated_infusion_start)
        return None

    def create_session(self, setup: SessionSetup, on_duty: str | None = None) -> NurseSession:
        """A new session from the set-up form; after a discharged (or simulated) one it goes into a
        new record. Raises NewRecordError or ValidationError, the session before kept."""
        self._sessions_begun = True
        return self.sessions.create_session(setup, on_duty)

    def resume_unfinished(self, path: Path) -> NurseSession:
        """Continue the unfinished session in `path` while monitoring: the record switches to it (the
        vitals since the start are copied in), its vitals are shown, its session resumes. Raises
        SessionError when a session runs here already; SessionDatabaseError, OSError, ValueError or
        ValidationError when the record cannot be used."""
        if self.sessions.session is not None:
            raise SessionError("a session was started in this window meanwhile; finish it first")
        self.resume_record(path)
        self.sessions.recorder = self.pipeline.recorder
        return self.sessions.resume_session(path)

    def _session_changed(self, session: NurseSession | None) -> None:
        """Keeps the alarm engine in step with the nurse's session (rise baseline, NIBP-overdue cycle;
        the supervisor times the infusion-overrun alarm) and the central station's chair too."""
        if self.alarm_link is not None:
            self.alarm_link.close()
        self.alarm_link = None if session is None else SessionAlarmLink(self._alarms, session, self.supervisor)
        if self.publisher is not None:
            self.publisher.set_session(session)
        if session is not None and not session.simulated:
            session.add_listener(lambda: self._join_course_when_discharged(session))

    def _join_course_when_discharged(self, session: NurseSession) -> None:
        """A patient's session, once discharged, joins its patient's course (if the clinic keeps one for
        the pseudonym), on a worker thread: the course database is another file and may be slow or locked.
        Called in the thread that changed the session."""
        if not session.closed or id(session) in self._course_joined:
            return
        self._course_joined.add(id(session))
        recorder = self.pipeline.recorder.current  # the record this session was discharged in
        threading.Thread(target=self._join_course, args=(recorder,), name="course-join", daemon=True).start()

    @staticmethod
    def _join_course(recorder: SessionRecorder) -> None:
        # lazy: the course package is needed only at a discharge, never at start-up
        from kapmonitor.course.sessions import join_course
        from kapmonitor.course.store import CourseStoreError

        path = recorder.path
        recorder.flush()  # the discharge is in the file before the course reads it
        try:
            if join_course(path):
                log.info("session %s joined its patient's course", path.name)
        except (CourseStoreError, OSError, sqlite3.Error) as exc:
            log.warning("session %s not linked to its patient's course: %s", path.name, exc)

    def prestart_check(self, session: NurseSession) -> object:
        """The pre-start check with the engine's profile at the moment of the start."""
        return prestart_hook(self._alarms.profile, session)()

    def new_record(self) -> RecordSink:
        """A new session database for the next session; the pipeline records into it from now on."""
        self.pipeline.start_new_record(new_session_path(self.driver.is_simulated, self.clock.now()))
        self.profile_record.started(self._alarms.profile, self.profile_warning)  # the new record names its profile
        return self.pipeline.recorder

    def resume_record(self, path: Path) -> None:
        """Record into the unfinished session in `path` (the vitals since the start are copied in) and
        show its earlier vitals; the session clock spans it. Monitoring and alarms never stop.
        Raises SessionDatabaseError, OSError or ValueError, changing nothing."""
        self.pipeline.switch_record(path)
        self.pipeline.recorder.flush()
        history, start = read_history(path)
        self.pipeline.show_history(history)
        if start is not None:
            self.session_start = min(self.session_start, start)

    # -- Monitor > Monitor connection... -----------------------------------------------------------
    def current_monitor(self) -> MonitorChoice:
        return MonitorChoice(self.driver.name, self.driver.options.port, self.driver.options.baudrate)

    def can_switch_monitor(self) -> str | None:
        """Why the monitor cannot be changed here (a replay), or None."""
        if self.is_replay:
            return "a replay shows a recorded capture; start kapmonitor without --replay to read a monitor"
        return None

    def switch_warning(self, choice: MonitorChoice) -> str | None:
        """What the nurse must confirm before `choice` replaces a real monitor mid-session, or None."""
        reason = self.close_reason()
        leaves_patient = not self.driver.is_simulated and driver_class(choice.driver).source is Source.SIMULATED
        if reason and leaves_patient:
            return (f"{reason}\n\nThe simulated monitor starts a new record: this patient's vitals are no longer "
                    "shown or alarmed here, and her session is set aside (unfinished; it is offered again at the "
                    "next start).")
        return None

    def switch_monitor(self, choice: MonitorChoice) -> str:
        """Read the chosen monitor from now on, without a restart, and remember it for the next start.

        A real monitor after a real one continues the record and the session. Between the simulator
        and a real monitor a new record starts (never simulated and patient data in one record); the
        `on_monitor_switched` callbacks then set the session in the old record aside. Returns what
        happened, for the nurse. Raises DriverError, ValueError or OSError, changing nothing.
        """
        why_not = self.can_switch_monitor()
        if why_not:
            raise DriverError(why_not)
        if driver_class(choice.driver).source is not Source.SIMULATED and self.clock.speed != 1.0:
            raise DriverError("a real monitor runs in real time: start kapmonitor without --speed to read one")
        old = self.driver
        options = DriverOptions(port=choice.port, baudrate=choice.baudrate, scenario=old.options.scenario,
                                seed=old.options.seed, waves=old.options.waves)
        new = create_driver(choice.driver, options, self.clock)
        started = self.pipeline.replace_driver(new)
        self.driver = new
        if started is not None:
            self.profile_record.started(self._alarms.profile, self.profile_warning)  # the new record names its profile
            self.session_start = self.clock.now()
        try:
            save_monitor_choice(choice)
            saved = "; it is used at the next start"
        except OSError as exc:
            saved = f"; the choice could not be saved ({exc})"
        where = f" on {choice.port}" if choice.port else ""
        if started is not None:
            message = f"Now reading {new.description}{where}, into a new session record ({started.name}){saved}."
        else:
            message = f"Now reading {new.description}{where}; the session record continues{saved}."
        if started is not None and (self._sessions_begun or self.sessions.session is not None):
            # never simulated and patient data in one record: the old record's session is set aside
            self.sessions.set_aside_session(new.is_simulated, self.pipeline.recorder)
            if new.is_simulated:
                self.sessions.start_demo_session(self.simulated_infusion_start)
        switch = MonitorSwitch(new, started, message)
        for callback in list(self.on_monitor_switched):
            callback(switch)
        return message
