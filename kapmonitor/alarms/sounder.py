"""Plays the alarm sounds on the clinician's output device, in a stream of its own.

The alarm stream is never the music stream and never the patient's headphones: the caller
passes the clinician's device (None: the system default output). A control thread polls the
engine every 50 ms and tells the PortAudio callback which prepared pattern to play; the
callback only copies samples from that buffer (no locks, no I/O, no logging, no new buffers).
The volume has a floor above zero; an escalated alarm plays at full volume. An acknowledged
alarm's reminder plays one low pulse.

If the stream cannot be opened or stops by itself, the sounder raises the high-priority
technical alarm `alarm-audio-failure` on the engine (so it is shown on screen) and retries
every few seconds; when the sound works again it clears the condition (the alarm, being high,
stays latched until acknowledged).

Thread-safety: `start`, `stop` and `set_volume` may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kapmonitor.alarms.engine import AUDIO_FAILURE, AlarmEngine
from kapmonitor.alarms.model import AlarmEvent, AlarmEventType
from kapmonitor.alarms.profile import Priority
from kapmonitor.alarms.tones import SAMPLE_RATE, Buffer, loops, pattern

log = logging.getLogger(__name__)

MIN_VOLUME = 0.2  # the alarm can never be silenced by the volume control
DEFAULT_VOLUME = 0.7


@dataclass(frozen=True)
class _Request:
    buffer: Buffer
    loop: bool


StreamFactory = Callable[..., Any]


def _default_stream_factory(**kwargs: Any) -> Any:
    import sounddevice as sd

    return sd.OutputStream(**kwargs)


class AlarmSounder:
    """Follows `engine.audio_state()` and plays the matching pattern."""

    def __init__(
        self,
        engine: AlarmEngine,
        device: int | str | None = None,
        volume: float = DEFAULT_VOLUME,
        samplerate: int = SAMPLE_RATE,
        poll_s: float = 0.05,
        retry_s: float = 5.0,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self._engine = engine
        self.device = device
        self._samplerate = samplerate
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._factory = stream_factory or _default_stream_factory
        self._patterns = {p: pattern(p, samplerate) for p in Priority}
        self._reminder = pattern(Priority.LOW, samplerate)
        self._volume = DEFAULT_VOLUME
        self.set_volume(volume)
        self._gain = np.float32(self._volume)
        # shared with the callback: replaced whole, never mutated
        self._request: _Request | None = None
        self._current: _Request | None = None
        self._pos = 0
        self._stream: Any = None
        self._stream_died = False
        self._playing: Priority | None = None
        self._reminder_due = False
        self._restart_due = False
        self._failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.callbacks = 0
        self.underflows = 0
        self.failure: str | None = None

    # -- control ---------------------------------------------------------------------------------
    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, volume: float) -> None:
        """Set the alarm volume (0..1), never below MIN_VOLUME."""
        self._volume = float(min(1.0, max(MIN_VOLUME, volume)))

    @property
    def playing(self) -> Priority | None:
        return self._playing

    def start(self) -> AlarmSounder:
        if self._thread is None:
            self._stop.clear()
            self._engine.add_listener(self._on_event)
            self._open()
            self._thread = threading.Thread(target=self._run, name="alarm-sounder", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the control thread and close the stream. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self._engine.remove_listener(self._on_event)
        self._close()

    def __enter__(self) -> AlarmSounder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- stream ----------------------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            stream = self._factory(
                samplerate=self._samplerate,
                device=self.device,
                channels=1,
                dtype="float32",
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream_died = False
            stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudio raises several types; any means no alarm sound
            self._report(f"Alarm sound cannot be played ({self.device or 'default output'}): {exc}")
            return False
        self._stream = stream
        if self._failed:
            self._failed = False
            self.failure = None
            self._engine.clear_technical(AUDIO_FAILURE)
            log.info("alarm sound works again")
        return True

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a broken stream may fail too; nothing else to do
                log.debug("closing the alarm stream", exc_info=True)

    def _finished(self) -> None:
        if not self._stop.is_set():
            self._stream_died = True

    def _report(self, message: str) -> None:
        if not self._failed:
            log.error("%s", message)
        self._failed = True
        self.failure = message
        self._engine.report_technical(AUDIO_FAILURE, message, Priority.HIGH)

    def _on_event(self, ev: AlarmEvent) -> None:
        if ev.event is AlarmEventType.REMINDED:
            self._reminder_due = True
        elif ev.event in (AlarmEventType.RAISED, AlarmEventType.ESCALATED):
            self._restart_due = True  # a new alarm sounds from the start of its burst, even at the same priority

    def _run(self) -> None:
        last_try = 0.0
        waited = 0.0
        while not self._stop.wait(self._poll_s):
            waited += self._poll_s
            try:
                self._follow()
                if self._stream is not None and (self._stream_died or not self._stream.active):
                    self._close()
                    self._report("Alarm sound output stopped unexpectedly")
                if self._stream is None and waited - last_try >= self._retry_s:
                    last_try = waited
                    self._open()
            except Exception:  # keep following the engine whatever happens
                log.exception("alarm sounder")

    def _follow(self) -> None:
        want = self._engine.audio_state()
        self._gain = np.float32(1.0 if self._engine.escalated() else self._volume)
        restart, self._restart_due = self._restart_due, False
        if want != self._playing or (restart and want is not None):
            self._playing = want
            self._request = None if want is None else _Request(self._patterns[want], loops(want))
        elif want is None and self._reminder_due and self._engine.audio_paused_until is None:
            self._request = _Request(self._reminder, False)  # a reminder stays silent during an audio pause
        self._reminder_due = False

    # -- PortAudio callback (real time) -------------------------------------------------------------
    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.underflows += 1
        req = self._request
        if req is not self._current:
            self._current = req
            self._pos = 0
        self.callbacks += 1
        if req is None:
            outdata.fill(0)
            return
        buf = req.buffer
        length = len(buf)
        pos = self._pos
        done = 0
        gain = self._gain
        while done < frames:
            if pos >= length:
                if not req.loop:
                    outdata[done:].fill(0)
                    break
                pos = 0
            k = min(frames - done, length - pos)
            np.multiply(buf[pos:pos + k], gain, out=outdata[done:done + k, 0])
            pos += k
            done += k
        self._pos = pos
