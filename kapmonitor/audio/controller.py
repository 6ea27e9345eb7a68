"""The music state machine: what plays, what comes next, and every action on the session timeline.

States: STOPPED → (play) → PLAYING ⇄ (pause/play) PAUSED; stop → STOPPING (fading out) → STOPPED.
While PLAYING, next / previous / jump / advance-phase crossfade; while paused or stopped they
only select the track that `play` will start (with a fade-in). Automatic advance is gapless and
skips tracks flagged "avoid" and files that are missing or unreadable; "hold phase" repeats the
current phase instead of moving on. The therapist steers; the drug's course is theirs to judge.

The controller drives a `PlayerBackend` (a real `AudioPlayer`, an `OfflinePlayer`, or a fake in
tests) and reacts to its events. Every action and every track start/end goes to the session
timeline: `recorder.insert("music_events", row)` and/or `timeline_sink(row)`.

This module has no access to the alarm engine, by design: nothing a therapist does here can
silence or redirect a clinical alarm.

Thread-safety: all public methods may be called from any thread (one re-entrant lock). Player
events arrive on the player's thread. Listeners are called outside the lock, from whichever
thread caused the change; a GUI must hop to its own thread (the Qt bridge does).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from kapmonitor.audio import phases
from kapmonitor.audio.player import PlayerBackend, PlayerEvent
from kapmonitor.audio.playlist import Playlist, Track
from kapmonitor.audio.sources import TrackSpec
from kapmonitor.model.events import Emitter

log = logging.getLogger(__name__)

MIN_CROSSFADE = 3.0
MAX_CROSSFADE = 10.0
MIN_STOP_FADE = 5.0


class State(Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPING = "stopping"


@dataclass
class MusicSettings:
    """Fade lengths (s) and levels (dB full scale). The ceiling is the clinic's hearing-safety cap."""

    crossfade: float = 6.0
    fade_in: float = 4.0
    pause_fade: float = 3.0
    stop_fade: float = 8.0
    volume_db: float = -12.0
    ceiling_db: float = -6.0
    min_volume_db: float = -50.0
    duck_depth_db: float = -15.0
    duck_down: float = 0.8
    duck_up: float = 2.5
    volume_ramp: float = 0.4
    max_track_gain_db: float = 6.0

    def __post_init__(self) -> None:
        self.crossfade = min(MAX_CROSSFADE, max(MIN_CROSSFADE, self.crossfade))
        self.stop_fade = max(MIN_STOP_FADE, self.stop_fade)
        self.ceiling_db = min(0.0, self.ceiling_db)
        self.volume_db = min(self.volume_db, self.ceiling_db)


class Recorder(Protocol):
    def insert(self, table: str, row: dict[str, object]) -> None: ...


TimelineSink = Callable[[dict[str, object]], None]
Listener = Callable[[str, str], None]  # (kind, message)


@dataclass(frozen=True)
class MusicStatus:
    """A snapshot for the therapist's view."""

    state: State
    track: Track | None
    phase_index: int
    phase_name: str
    position: float
    track_left: float | None
    phase_left: float | None
    volume_db: float
    ceiling_db: float
    ducked: bool
    hold_phase: bool
    device_ok: bool
    underruns: int
    next_track: Track | None
    phase_starts: tuple[tuple[float, int], ...] = field(default_factory=tuple)


class MusicController:
    """See module docstring."""

    def __init__(
        self,
        playlist: Playlist,
        player: PlayerBackend,
        settings: MusicSettings | None = None,
        recorder: Recorder | None = None,
        timeline_sink: TimelineSink | None = None,
        clock: Callable[[], float] = time.time,
        gain_for: Callable[[Track], float | None] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.playlist = playlist
        self.player = player
        self.settings = settings or MusicSettings()
        self.recorder = recorder
        self.timeline_sink = timeline_sink
        self._clock = clock
        self._gain_for = gain_for
        self._listeners: Emitter[[str, str]] = Emitter("music")
        self._pending_notes: list[tuple[str, str]] = []
        self._tokens = itertools.count(1)
        self._token_track: dict[int, int] = {}
        self.state = State.STOPPED
        self._current_id: int | None = None
        self._current_copy: Track | None = None  # still shown if removed from the playlist while playing
        self._current_token: int | None = None
        self._phase_index = 0
        self._next_id: int | None = None
        self._chosen_id: int | None = None
        self._seen_revision = -1
        self.volume_db = self.settings.volume_db
        self.ducked = False
        self.hold_phase = False
        self.messages: deque[tuple[float, str]] = deque(maxlen=200)
        self.events: deque[dict[str, object]] = deque(maxlen=20000)
        self.phase_starts: list[tuple[float, int]] = []
        self.device_ok = True
        self._underruns_seen = 0
        player.set_listener(self._on_player_event)
        player.set_ceiling(self.settings.ceiling_db)
        player.set_volume(self.volume_db, 0.0)

    # -- listeners ---------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _note(self, kind: str, message: str = "") -> None:
        self._pending_notes.append((kind, message))
        if kind == "message":
            self.messages.append((self._clock(), message))
            log.info("music: %s", message)

    def _flush_notes(self) -> None:
        with self._lock:
            notes, self._pending_notes = self._pending_notes, []
        for kind, message in notes:
            self._listeners.emit(kind, message)  # a view's bug is logged and never stops the music

    # -- timeline ----------------------------------------------------------------------------
    def _record(self, action: str, track: Track | None = None, detail: str = "",
                position: float | None = None, delay: float = 0.0) -> None:
        names = self.playlist.phase_names()
        row: dict[str, object] = {
            "t": self._clock() + delay,
            "action": action,
            "phase": names[self._phase_index] if 0 <= self._phase_index < len(names) else None,
            "track": track.title if track else None,
            "artist": (track.artist or None) if track else None,
            "path": str(track.path) if track else None,
            "position": position,
            "volume_db": round(self.volume_db, 2),
            "detail": detail or None,
        }
        self.events.append(row)
        if self.recorder is not None:
            try:
                self.recorder.insert("music_events", row)
            except Exception:  # the record must never stop the music
                log.exception("cannot record music event")
        if self.timeline_sink is not None:
            try:
                self.timeline_sink(row)
            except Exception:
                log.exception("music timeline sink failed")

    # -- playlist navigation -----------------------------------------------------------------
    def _track(self, track_id: int | None) -> Track | None:
        if track_id is None:
            return None
        found = self.playlist.find(track_id)
        return found[2] if found else None

    def _following(self, track_id: int | None, hold: bool) -> Track | None:
        return phases.following(self.playlist, track_id, self._phase_index, hold)

    def _spec(self, track: Track) -> TrackSpec:
        token = next(self._tokens)
        self._token_track[token] = track.id
        gain: float | None = None
        if self._gain_for is not None:
            try:
                gain = self._gain_for(track)
            except Exception:
                log.exception("loudness lookup failed for %s", track.path)
        if gain is None:
            gain = track.replaygain_db if track.replaygain_db is not None else 0.0
        gain = max(-30.0, min(self.settings.max_track_gain_db, gain))
        return TrackSpec(token, track.path, gain, track.title)

    def _refresh_next(self) -> None:
        """Tell the player what follows the current track (for the gapless advance)."""
        if self.state is not State.PLAYING or self._current_id is None:
            return
        self._seen_revision = self.playlist.revision
        following = self._following(self._current_id, self.hold_phase)
        new_id = following.id if following else None
        self._next_id = new_id
        self.player.set_next(self._spec(following) if following else None)

    def _set_phase_of(self, track: Track, delay: float = 0.0) -> None:
        found = self.playlist.find(track.id)
        if found is not None and found[0] != self._phase_index:
            old = self._phase_index
            self._phase_index = found[0]
            names = self.playlist.phase_names()
            self._record("phase", track, detail=f"{names[old] if old < len(names) else old} → {names[found[0]]}",
                         delay=delay)
            self._note("phase")
        if found is not None and (not self.phase_starts or self.phase_starts[-1][1] != found[0]):
            self.phase_starts.append((self._clock() + delay, found[0]))

    # -- commands ----------------------------------------------------------------------------
    def play(self) -> None:
        """Start (fade in), resume after pause, or cancel a stop that is still fading."""
        with self._lock:
            if self.state is State.PLAYING:
                return
            if self.state in (State.PAUSED, State.STOPPING) and self._current_token is not None:
                self.player.resume(self.settings.fade_in)
                self.state = State.PLAYING
                self._record("resume", self._track(self._current_id))
                self._note("state")
            else:
                track = self._track(self._current_id)
                chosen = track is not None and track.id == self._chosen_id and track.error is None
                if track is None or not (track.playable or chosen):
                    track = self._following(self._current_id, False) if track else None
                    track = track or self._following(None, False) or self._first_playable()
                if track is None:
                    self._note("message", "Nothing to play: the playlist has no playable track.")
                else:
                    self._start(track, "play")
        self._flush_notes()

    def _first_playable(self) -> Track | None:
        return next((t for _, t in self.playlist.flat() if t.playable), None)

    def _start(self, track: Track, action: str) -> None:
        spec = self._spec(track)
        self._current_id, self._current_copy = track.id, track
        self._current_token = spec.token
        self.state = State.PLAYING
        self.player.start(spec, self.settings.fade_in)
        self._record(action, track, position=0.0)
        self._note("state")

    def pause(self) -> None:
        with self._lock:
            if self.state is State.PLAYING:
                self.player.pause(self.settings.pause_fade)
                self.state = State.PAUSED
                self._record("pause", self._track(self._current_id), position=self._position())
                self._note("state")
        self._flush_notes()

    def toggle_play_pause(self) -> None:
        if self.state is State.PLAYING:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        """Fade out (settings.stop_fade, at least 5 s) and stop; the next play restarts the track."""
        with self._lock:
            if self.state in (State.PLAYING, State.PAUSED):
                was_paused = self.state is State.PAUSED
                self.player.stop(0.0 if was_paused else self.settings.stop_fade)
                self.state = State.STOPPED if was_paused else State.STOPPING
                self._record("stop", self._track(self._current_id), position=self._position())
                self._note("state")
        self._flush_notes()

    def next(self) -> None:
        with self._lock:
            self._change_to(self._following(self._current_id, False), "next")
        self._flush_notes()

    def previous(self) -> None:
        with self._lock:
            self._change_to(phases.preceding(self.playlist, self._current_id), "previous")
        self._flush_notes()

    def jump(self, track_id: int) -> None:
        """Go to a chosen track (allowed even when flagged "avoid": the therapist decided)."""
        with self._lock:
            track = self._track(track_id)
            if track is None:
                self._note("message", "That track is no longer in the playlist.")
            elif track.error is not None:
                self._note("message", f"Cannot play “{track.title}”: {track.error}.")
            else:
                self._change_to(track, "jump", detail="flagged avoid" if track.avoid else "")
        self._flush_notes()

    def advance_phase(self) -> None:
        """Crossfade to the first playable track of the next phase."""
        with self._lock:
            flat = self.playlist.flat()
            target = next((t for p, t in flat if p > self._phase_index and t.playable), None)
            if target is None:
                self._note("message", "There is no later phase with a playable track.")
            else:
                self._change_to(target, "advance_phase")
        self._flush_notes()

    def _change_to(self, track: Track | None, action: str, detail: str = "") -> None:
        if track is None:
            self._note("message", "No further playable track in that direction.")
            return
        if self.state is State.PLAYING:
            spec = self._spec(track)
            self._current_token = spec.token
            self._current_id, self._current_copy = track.id, track
            self.player.crossfade_to(spec, self.settings.crossfade)
            self._record(action, track, detail=detail or f"crossfade {self.settings.crossfade:g} s")
        else:
            if self.state is State.PAUSED:
                self.player.stop(0.0)  # silent already: drop the paused track
                self.state = State.STOPPED
            self._current_id, self._current_copy = track.id, track
            self._current_token = None
            self._chosen_id = track.id  # an explicit choice plays even when flagged "avoid"
            found = self.playlist.find(track.id)
            if found is not None:
                self._phase_index = found[0]
            self._record(action, track, detail=detail or "selected")
        self._note("state")

    def set_hold_phase(self, hold: bool) -> None:
        with self._lock:
            if hold != self.hold_phase:
                self.hold_phase = hold
                self._record("hold_phase", self._track(self._current_id), detail="on" if hold else "off")
                self._refresh_next()
                self._note("state")
        self._flush_notes()

    def set_volume(self, db: float, record: bool = True) -> None:
        """Set the volume (dB); clamped to the clinic's ceiling. `record=False` while a slider moves."""
        with self._lock:
            db = max(self.settings.min_volume_db, min(self.settings.ceiling_db, float(db)))
            changed = abs(db - self.volume_db) > 1e-6
            self.volume_db = db
            if changed:
                self.player.set_volume(db, self.settings.volume_ramp)
            if record:
                self._record("volume", self._track(self._current_id))
            self._note("volume")
        self._flush_notes()

    def set_ceiling(self, db: float) -> None:
        """The clinic's level cap (configuration, not a therapist control)."""
        with self._lock:
            self.settings.ceiling_db = min(0.0, float(db))
            self.player.set_ceiling(self.settings.ceiling_db)
            if self.volume_db > self.settings.ceiling_db:
                self.volume_db = self.settings.ceiling_db
                self.player.set_volume(self.volume_db, self.settings.volume_ramp)
            self._record("ceiling", detail=f"{self.settings.ceiling_db:g} dB")
            self._note("volume")
        self._flush_notes()

    def duck(self, on: bool | None = None) -> None:
        """Lower the music by about 15 dB to speak to the patient (None toggles); fades back."""
        with self._lock:
            target = (not self.ducked) if on is None else on
            if target != self.ducked:
                self.ducked = target
                s = self.settings
                self.player.set_duck(target, s.duck_depth_db, s.duck_down if target else s.duck_up)
                self._record("duck" if target else "unduck", self._track(self._current_id),
                             detail=f"{s.duck_depth_db:g} dB")
                self._note("volume")
        self._flush_notes()

    def set_crossfade(self, seconds: float) -> None:
        with self._lock:
            self.settings.crossfade = min(MAX_CROSSFADE, max(MIN_CROSSFADE, float(seconds)))
            self._record("crossfade_setting", detail=f"{self.settings.crossfade:g} s")
        self._flush_notes()

    def set_output_device(self, device: str | int | None) -> None:
        """Send the music to another output (the patient's headphones); never the alarm output."""
        with self._lock:
            self.player.set_device(device)
            self._record("output_device", detail=str(device) if device is not None else "system default")
            self._note("device")
        self._flush_notes()

    def playlist_changed(self) -> None:
        """Call after editing the playlist: re-picks the gapless successor."""
        with self._lock:
            self._refresh_next()
            self._note("playlist")
        self._flush_notes()

    # -- player events (player thread) -------------------------------------------------------
    def _on_player_event(self, event: PlayerEvent) -> None:
        with self._lock:
            self._handle(event)
        self._flush_notes()

    def _handle(self, event: PlayerEvent) -> None:
        kind = event.kind
        if kind == "started" and event.token is not None:
            track = self._track(self._token_track.get(event.token))
            if track is None:
                return
            self._current_token = event.token
            self._current_id, self._current_copy = track.id, track
            self._set_phase_of(track, event.delay)
            self._record("track_started", track, position=0.0, delay=event.delay)
            self._refresh_next()
            self._note("track")
        elif kind == "ended" and event.token is not None:
            self._record("track_ended", self._track(self._token_track.get(event.token)), delay=event.delay)
        elif kind == "idle":
            if self.state is State.PLAYING:
                self.state = State.STOPPED
                self._current_token = None
                self._record("end_of_playlist", delay=event.delay)
                self._note("message", "The playlist has ended.")
                self._note("state")
        elif kind == "stopped":
            if self.state is State.STOPPING:
                self.state = State.STOPPED
                self._current_token = None
                self._record("stopped", self._track(self._current_id))
                self._note("state")
        elif kind == "error":
            self._on_error(event)
        elif kind == "device_lost":
            self.device_ok = False
            self._record("device_lost", detail=event.message)
            self._note("message", f"Music output lost: {event.message}. Playback resumes when it returns.")
            self._note("device")
        elif kind in ("device_restored", "device_opened", "device_changed"):
            self.device_ok = True
            if kind != "device_opened":
                self._record(kind, detail=event.message)
                self._note("message", "Music output is back." if kind == "device_restored"
                           else "Music moved to the chosen output.")
                if self.state is State.PLAYING:
                    self.player.resume(self.settings.fade_in)
                elif self.state is State.STOPPING:
                    self.player.stop(0.0)  # it was fading out when the device went: finish silently
            self._note("device")

    def _on_error(self, event: PlayerEvent) -> None:
        track_id = self._token_track.get(event.token) if event.token is not None else None
        track = self._track(track_id)
        if track is None:
            return
        self.playlist.update_track(track.id, error=event.message or "unreadable")
        self._record("error", track, detail=event.message)
        self._note("message", f"Skipped “{track.title}”: {event.message}")
        self._note("playlist")
        if event.role == "next":
            self._refresh_next()
        elif event.role in ("start", "crossfade") and self.state is State.PLAYING:
            replacement = self._following(track.id, self.hold_phase)
            if replacement is None:
                if event.role == "start":
                    self.state = State.STOPPED
                    self._current_token = None
                    self._note("state")
                return
            if event.role == "start":
                self._start(replacement, "skip_unreadable")
            else:
                self._change_to(replacement, "skip_unreadable")

    # -- status ------------------------------------------------------------------------------
    def timeline_rows(self) -> list[dict[str, object]]:
        """A copy of the music events of this run (same rows as written to music_events)."""
        with self._lock:
            return list(self.events)

    def phase_plan(self, now: float) -> phases.PhasePlan:
        """(phase name, start, end, is current) for the timeline: past phases as they happened,
        the current and later ones projected from the remaining (playable) track durations."""
        status = self.status()
        with self._lock:
            last = self.events[-1]["t"] if self.events else now
            return phases.phase_plan(
                self.playlist, list(self.phase_starts), self._phase_index,
                status.state in (State.PLAYING, State.PAUSED, State.STOPPING), status.phase_left,
                float(last) if isinstance(last, int | float) else now, now)

    def _position(self) -> float | None:
        pos = self.player.position()
        if pos is None or pos[0] != self._current_token:
            return None
        return pos[1]

    def status(self) -> MusicStatus:
        """A snapshot for the view (cheap; poll a few times a second)."""
        with self._lock:
            if self.state is State.PLAYING and self.playlist.revision != self._seen_revision:
                self._refresh_next()
            underruns = self.player.underruns
            if underruns > self._underruns_seen:
                self._record("underrun", detail=f"{underruns - self._underruns_seen} new, {underruns} in total")
                self._note("message", f"Music output dropped out briefly ({underruns} underruns so far).")
                self._underruns_seen = underruns
            track = self._track(self._current_id)
            if track is None and self.state is not State.STOPPED and self._current_copy is not None:
                track = self._current_copy if self._current_copy.id == self._current_id else None
            position = self._position() or 0.0
            track_left = None
            if track is not None and track.duration is not None:
                track_left = max(0.0, track.duration - position)
            phase_left = phases.phase_left(self.playlist, track, track_left)
            names = self.playlist.phase_names()
            status = MusicStatus(
                state=self.state,
                track=track,
                phase_index=self._phase_index,
                phase_name=names[self._phase_index] if self._phase_index < len(names) else "",
                position=position,
                track_left=track_left,
                phase_left=phase_left,
                volume_db=self.volume_db,
                ceiling_db=self.settings.ceiling_db,
                ducked=self.ducked,
                hold_phase=self.hold_phase,
                device_ok=self.player.device_ok,
                underruns=underruns,
                next_track=self._track(self._next_id) if self.state is State.PLAYING else None,
                phase_starts=tuple(self.phase_starts),
            )
        self._flush_notes()
        return status
