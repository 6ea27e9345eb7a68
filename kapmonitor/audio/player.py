"""Players: the real one on a sound device (`AudioPlayer`) and an offline one for tests.

Both execute the same commands on a `Renderer` (see mixer.py) and report the same events to one
listener (the `MusicController`):

    started(token)  ended(token)  idle  paused  stopped  error(token, message, role)
    device_lost(message)  device_restored(message)

`AudioPlayer` threads:
- the decoder thread owns the renderer: it applies queued commands, opens and decodes files,
  renders blocks into a preallocated ring of `queue_blocks` blocks, dispatches events, and
  watches the output stream (reopening it when the device comes back);
- the PortAudio callback only copies the next ready block into the output buffer (or silence,
  counting an underrun). It never blocks, takes no lock, allocates no buffers, never logs.

Music has its own `OutputStream` on its own device; alarm sounds use a different stream, so
nothing here can silence or redirect them.

Thread-safety: all command methods and the read-only properties may be called from any thread.
The listener is called from the decoder thread (AudioPlayer) or the caller's thread (Offline).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from kapmonitor.audio.mixer import Opener, Renderer
from kapmonitor.audio.sources import TrackSpec, open_file_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayerEvent:
    """`delay`: seconds from now until the listener hears what the event reports (output latency)."""

    kind: str
    token: int | None = None
    message: str = ""
    role: str = ""
    delay: float = 0.0


Listener = Callable[[PlayerEvent], None]


class PlayerBackend(Protocol):
    """What `MusicController` needs from a player (a fake in tests implements the same)."""

    def set_listener(self, listener: Listener | None) -> None: ...
    def start(self, spec: TrackSpec, fade_in: float) -> None: ...
    def crossfade_to(self, spec: TrackSpec, seconds: float) -> None: ...
    def set_next(self, spec: TrackSpec | None) -> None: ...
    def pause(self, fade: float) -> None: ...
    def resume(self, fade: float) -> None: ...
    def stop(self, fade: float) -> None: ...
    def set_volume(self, db: float, ramp: float) -> None: ...
    def set_ceiling(self, db: float) -> None: ...
    def set_duck(self, ducked: bool, depth_db: float, seconds: float) -> None: ...
    def set_device(self, device: str | int | None) -> None:
        """Choose the output device (players without devices ignore it)."""
        ...

    def position(self) -> tuple[int, float] | None:
        """(token, seconds heard of that track), or None when nothing plays."""
        ...

    @property
    def underruns(self) -> int: ...

    @property
    def device_ok(self) -> bool: ...


def _to_event(raw: tuple[object, ...], delay: float = 0.0) -> PlayerEvent:
    kind = str(raw[0])
    token = raw[1] if len(raw) > 1 and isinstance(raw[1], int) else None
    message = str(raw[2]) if len(raw) > 2 else ""
    role = str(raw[3]) if len(raw) > 3 else ""
    return PlayerEvent(kind, token, message, role, delay)


class _CommandQueue:
    """Commands for the renderer, queued from any thread, applied by its owner."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[tuple[str, tuple[Any, ...]]] = queue.SimpleQueue()
        self.listener: Listener | None = None

    def put(self, name: str, *args: Any) -> None:
        self._q.put((name, args))

    def apply(self, renderer: Renderer) -> int:
        count = 0
        while True:
            try:
                name, args = self._q.get_nowait()
            except queue.Empty:
                return count
            getattr(renderer, name)(*args)
            count += 1

    def dispatch(self, events: list[PlayerEvent]) -> None:
        listener = self.listener
        for event in events:
            if listener is None:
                continue
            try:
                listener(event)
            except Exception:  # a listener bug must not kill the audio
                log.exception("music listener failed on %s", event)


class _CommandsMixin:
    """The PlayerBackend command methods, shared by both players."""

    _cmd: _CommandQueue

    def _wake(self) -> None:
        pass

    def _put(self, name: str, *args: Any) -> None:
        self._cmd.put(name, *args)
        self._wake()

    def set_listener(self, listener: Listener | None) -> None:
        self._cmd.listener = listener

    def start(self, spec: TrackSpec, fade_in: float) -> None:
        self._put("start", spec, fade_in)

    def crossfade_to(self, spec: TrackSpec, seconds: float) -> None:
        self._put("crossfade_to", spec, seconds)

    def set_next(self, spec: TrackSpec | None) -> None:
        self._put("set_next", spec)

    def pause(self, fade: float) -> None:
        self._put("pause", fade)

    def resume(self, fade: float) -> None:
        self._put("resume", fade)

    def stop(self, fade: float) -> None:
        self._put("stop", fade)

    def set_volume(self, db: float, ramp: float) -> None:
        self._put("set_volume", db, ramp)

    def set_ceiling(self, db: float) -> None:
        self._put("set_ceiling", db)

    def set_duck(self, ducked: bool, depth_db: float, seconds: float) -> None:
        self._put("set_duck", ducked, depth_db, seconds)


class OfflinePlayer(_CommandsMixin):
    """Renders on demand in the caller's thread: deterministic, for tests and file rendering."""

    device: str | int | None = None

    def set_device(self, device: str | int | None) -> None:
        self.device = device

    def __init__(self, rate: int = 48000, blocksize: int = 1024, channels: int = 2,
                 opener: Opener = open_file_source) -> None:
        self._cmd = _CommandQueue()
        self.renderer = Renderer(rate, channels, blocksize, opener)
        self.rate = rate

    def render_blocks(self, count: int) -> npt.NDArray[np.float32]:
        blocks = []
        for _ in range(count):
            self._cmd.apply(self.renderer)
            blocks.append(self.renderer.render())
            events = [_to_event(e) for e in self.renderer.events]
            self.renderer.events.clear()
            self._cmd.dispatch(events)
        self._cmd.apply(self.renderer)
        if not blocks:
            return np.zeros((0, self.renderer.channels), np.float32)
        return np.concatenate(blocks)

    def render_seconds(self, seconds: float) -> npt.NDArray[np.float32]:
        return self.render_blocks(int(np.ceil(seconds * self.rate / self.renderer.blocksize)))

    def position(self) -> tuple[int, float] | None:
        token = self.renderer.current_token
        return None if token is None else (token, self.renderer.position)

    @property
    def underruns(self) -> int:
        return 0

    @property
    def device_ok(self) -> bool:
        return True


class StreamLike(Protocol):
    @property
    def active(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


# (callback, rate, channels, blocksize, device) -> an unstarted stream
StreamFactory = Callable[[Callable[..., None], int, int, int, "str | int | None"], StreamLike]


def sounddevice_stream(callback: Callable[..., None], rate: int, channels: int, blocksize: int,
                       device: str | int | None, latency: str | float = 0.3) -> StreamLike:
    import sounddevice

    stream: StreamLike = sounddevice.OutputStream(
        samplerate=rate, channels=channels, dtype="float32", blocksize=blocksize,
        device=device, latency=latency, callback=callback)
    return stream


def output_devices() -> list[str]:
    """Names of the output devices PortAudio knows now (for the device chooser)."""
    try:
        import sounddevice

        return [str(d["name"]) for d in sounddevice.query_devices() if int(d["max_output_channels"]) > 0]
    except Exception as exc:  # noqa: BLE001 - no PortAudio, no devices
        log.warning("cannot list audio devices: %s", exc)
        return []


def device_rate(device: str | int | None, fallback: int = 48000) -> int:
    try:
        import sounddevice

        info = sounddevice.query_devices(device, "output")
        rate = int(info["default_samplerate"])
        return rate if 8000 <= rate <= 384000 else fallback
    except Exception as exc:  # noqa: BLE001 - unknown device: let opening the stream report it
        log.info("no default rate for device %r: %s", device, exc)
        return fallback


class AudioPlayer(_CommandsMixin):
    """Plays on a sound device. `open()` starts the decoder thread; `close()` ends it.

    `latency` is PortAudio's own buffer (0.3 s: music is not latency-critical, and a large buffer
    rides out the GUI holding the GIL on a loaded 2-core machine); the ring adds `queue_blocks`
    blocks (16 × 1024 frames ≈ 0.35 s) against slow decoding. A command is heard after both
    (≈ 0.6 s); every change is a fade of its own anyway. Measured: zero underruns over 30 s with
    the GUI redrawing and two CPU hogs running (tests/test_music_playback.py).
    `device` is a PortAudio device name or index (None: the system default), chosen in the music
    settings; alarm sounds never use this stream.
    """

    def __init__(
        self,
        device: str | int | None = None,
        rate: int | None = None,
        blocksize: int = 1024,
        queue_blocks: int = 16,
        channels: int = 2,
        latency: float = 0.3,
        stream_factory: StreamFactory | None = None,
        opener: Opener = open_file_source,
        reconnect_interval: float = 2.0,
        stall_timeout: float = 1.5,
    ) -> None:
        self._cmd = _CommandQueue()
        self.device = device
        # the device's own rate is asked at open(): building a player never touches the sound system
        self._rate_from_device = rate is None and stream_factory is None
        self.rate = rate or 48000
        self.blocksize = blocksize
        self.channels = channels
        self._factory: StreamFactory = stream_factory or functools.partial(sounddevice_stream, latency=latency)
        self._opener = opener
        self.renderer = Renderer(self.rate, channels, blocksize, opener)
        self._n = max(2, queue_blocks)
        self._ring = np.zeros((self._n, blocksize, channels), dtype=np.float32)
        self._meta_token = np.full(self._n, -1, dtype=np.int64)
        self._meta_pos = np.zeros(self._n, dtype=np.float64)
        self._w = 0  # blocks written (decoder thread only)
        self._r = 0  # blocks played (callback only)
        self._callbacks = 0
        self._starved = 0
        self._xruns = 0
        self._stream: StreamLike | None = None
        self._wake_event = threading.Event()
        self._quit = False
        self._thread: threading.Thread | None = None
        self._reconnect_interval = reconnect_interval
        self._stall_timeout = stall_timeout
        self._device_ok = False
        self.device_message = "not started"
        self._loss_reported = False
        self._requested_device: tuple[str | int | None] | None = None
        self._generation = 0
        self._probing = False  # a new stream counts as working only once it has called back a few times
        self._probe_mark = 0
        self._ignored_underruns = 0
        self._switching = False

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> AudioPlayer:
        if self._rate_from_device:
            self._rate_from_device = False
            rate = device_rate(self.device)
            if rate != self.rate:  # nothing was rendered yet: queued commands still apply
                self.rate = rate
                self.renderer = Renderer(rate, self.channels, self.blocksize, self._opener)
        if self._thread is None:
            self._quit = False
            self._thread = threading.Thread(target=self._run, name="music-decoder", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 3.0) -> None:
        self._quit = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> AudioPlayer:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wake(self) -> None:
        self._wake_event.set()

    def set_device(self, device: str | int | None) -> None:
        """Move the music to another output device (the player resumes there with a fade-in)."""
        self._requested_device = (device,)
        self._wake()

    def _switch_device(self) -> bool:
        request, self._requested_device = self._requested_device, None
        if request is None or request[0] == self.device:
            return False
        self.device = request[0]
        if self._stream is not None:
            stream, self._stream = self._stream, None
            self._close_stream_async(stream)
            self.renderer.hold()
            self._r = self._w = 0
            self._switching = True
        return True

    # -- status (any thread) -----------------------------------------------------------------
    @property
    def underruns(self) -> int:
        """Blocks the device asked for that were not ready, plus underflows PortAudio reported."""
        return self._starved + self._xruns - self._ignored_underruns

    @property
    def device_ok(self) -> bool:
        return self._device_ok

    def position(self) -> tuple[int, float] | None:
        r = self._r
        if r == 0:
            return None
        slot = (r - 1) % self._n
        token = int(self._meta_token[slot])
        return None if token < 0 else (token, float(self._meta_pos[slot]))

    # -- real-time callback ------------------------------------------------------------------
    def _callback(self, outdata: npt.NDArray[np.float32], frames: int, time_info: object, status: Any) -> None:
        self._callbacks += 1
        if status.output_underflow:
            self._xruns += 1
        r = self._r
        if r < self._w and frames == self.blocksize:
            outdata[:] = self._ring[r % self._n]
            self._r = r + 1
        else:
            outdata.fill(0.0)
            self._starved += 1

    # -- decoder thread ----------------------------------------------------------------------
    def _fill(self) -> None:
        renderer = self.renderer
        while self._w - self._r < self._n:
            block = renderer.render()
            slot = self._w % self._n
            self._ring[slot] = block
            token = renderer.current_token
            self._meta_token[slot] = -1 if token is None else token
            self._meta_pos[slot] = renderer.position
            self._w += 1
            if renderer.events:
                self._dispatch()

    def _dispatch(self) -> None:
        # what was just rendered is heard after the queued blocks and PortAudio's own buffer
        delay = (self._w - self._r) * self.blocksize / self.rate + self._stream_latency()
        events = [_to_event(e, delay) for e in self.renderer.events]
        self.renderer.events.clear()
        self._cmd.dispatch(events)

    def _stream_latency(self) -> float:
        latency = getattr(self._stream, "latency", 0.0)
        return float(latency) if isinstance(latency, int | float) else 0.0

    def _callback_for(self, generation: int) -> Callable[..., None]:
        """The callback of one stream: a late call from a stream being closed touches nothing."""
        real = self._callback

        def callback(outdata: npt.NDArray[np.float32], frames: int, time_info: object, status: Any) -> None:
            if generation == self._generation:
                real(outdata, frames, time_info, status)
            else:
                outdata.fill(0.0)

        return callback

    def _open_stream(self) -> bool:
        self._generation += 1
        try:
            stream = self._factory(self._callback_for(self._generation), self.rate, self.channels,
                                   self.blocksize, self.device)
        except Exception as exc:  # noqa: BLE001 - PortAudioError, ValueError for unknown names, ...
            self.device_message = f"music output device unavailable: {exc}"
            return False
        self._r = self._w = 0
        self._callbacks = 0
        self._fill()
        try:
            stream.start()
        except Exception as exc:  # noqa: BLE001
            self.device_message = f"music output device cannot start: {exc}"
            self._close_stream_async(stream)
            return False
        self._stream = stream
        return True

    def _close_stream_async(self, stream: StreamLike) -> None:
        def close() -> None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # noqa: BLE001 - the device is already gone
                log.debug("closing lost stream: %s", exc)

        threading.Thread(target=close, name="music-stream-close", daemon=True).start()

    PROBE_CALLBACKS = 8

    def _confirm_stream(self) -> None:
        # dropouts while a stream comes up are silence of the device starting, not lost music
        self._ignored_underruns += self._starved + self._xruns - self._probe_mark
        self._probing = False
        self._device_ok = True
        self.device_message = "music output running"
        kind = ("device_changed" if self._switching
                else "device_restored" if self._loss_reported else "device_opened")
        self._loss_reported = self._switching = False
        log.info("music output on %r at %d Hz", self.device, self.rate)
        self._cmd.dispatch([PlayerEvent(kind, message=self.device_message)])

    def _drop_probe(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._close_stream_async(stream)
        self._ignored_underruns += self._starved + self._xruns - self._probe_mark
        self._probing = False
        self._r = self._w = 0

    def _report_loss(self, why: str) -> None:
        self._loss_reported = True
        self._switching = False
        self._device_ok = False
        self.device_message = why
        log.warning("%s", why)
        self._cmd.dispatch([PlayerEvent("device_lost", message=why)])

    def _lose_device(self, why: str) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._close_stream_async(stream)
        self.renderer.hold()
        self._r = self._w = 0
        self._device_ok = False
        self.device_message = why
        self._loss_reported = True
        log.warning("music output lost: %s", why)
        self._cmd.dispatch([PlayerEvent("device_lost", message=why)])

    def _run(self) -> None:
        block_time = self.blocksize / self.rate
        next_attempt = 0.0
        last_callbacks, last_progress = -1, time.monotonic()
        while not self._quit:
            if self._requested_device is not None and self._switch_device():
                next_attempt = 0.0
            self._cmd.apply(self.renderer)
            if self.renderer.events:
                self._dispatch()
            now = time.monotonic()
            if self._stream is None:
                if now >= next_attempt:
                    next_attempt = now + self._reconnect_interval
                    if self._open_stream():
                        last_callbacks, last_progress = self._callbacks, now
                        self._probing = True
                        self._probe_mark = self._starved + self._xruns
                    elif not self._loss_reported:
                        self._report_loss(self.device_message)
                self._wake_event.wait(0.1)
                self._wake_event.clear()
                continue
            if self._callbacks != last_callbacks:
                last_callbacks, last_progress = self._callbacks, now
            stream_active = True
            try:
                stream_active = bool(self._stream.active)
            except Exception:  # noqa: BLE001 - a dead stream may raise here
                stream_active = False
            if not stream_active or now - last_progress > self._stall_timeout:
                if self._probing:  # the new stream never really ran: drop it quietly, try again later
                    self._drop_probe()
                    if not self._loss_reported:
                        self._report_loss("the music output device does not play")
                else:
                    self._lose_device("the music output device stopped (unplugged or switched off?)")
                next_attempt = now + self._reconnect_interval
                continue
            if self._probing and self._callbacks >= self.PROBE_CALLBACKS:
                self._confirm_stream()
            self._fill()
            self._wake_event.wait(block_time / 2)
            self._wake_event.clear()
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("closing stream: %s", exc)
        self.renderer.release()
