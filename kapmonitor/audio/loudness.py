"""Even loudness between tracks: ReplayGain tags when present, otherwise a measured gain, cached.

The measurement is a gated loudness in the spirit of ITU-R BS.1770 (400 ms blocks, absolute
gate at -70 dB, relative gate 10 dB below the ungated mean) without the K-weighting filter, so
it is an approximation; it is compared with ReplayGain 2's reference level of -18 LUFS.

Measuring decodes the whole file, so it runs on a background thread (`LoudnessCache.prefetch`)
and results are kept in a JSON file keyed by path, size and modification time.

Thread-safety: `LoudnessCache` methods may be called from any thread.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
from pathlib import Path

import numpy as np

from kapmonitor.audio.playlist import Track

log = logging.getLogger(__name__)

REFERENCE_LUFS = -18.0


def measure_loudness(path: Path, max_seconds: float = 1200.0) -> float | None:
    """Gated loudness of a file in dB (≈ LUFS without K-weighting); None if silent/unreadable."""
    from kapmonitor.audio.audiofile import open_audio

    try:
        with open_audio(path) as f:
            rate = f.samplerate
            block = max(1, int(0.4 * rate))
            powers: list[float] = []
            limit = int(max_seconds * rate)
            read = 0
            for chunk in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                if len(chunk) < block // 4:
                    break
                powers.append(float(np.mean(np.sum(chunk.astype(np.float64) ** 2, axis=1))))
                read += len(chunk)
                if read >= limit:
                    break
    except Exception as exc:  # noqa: BLE001 - unreadable: no gain, the track plays as is
        log.info("cannot measure loudness of %s: %s", path, exc)
        return None
    p = np.asarray(powers)
    p = p[p > 10 ** (-70 / 10)]
    if not len(p):
        return None
    relative_gate = np.mean(p) * 10 ** (-10 / 10)
    gated = p[p > relative_gate]
    if not len(gated):
        return None
    return float(-0.691 + 10 * math.log10(float(np.mean(gated))))


def _key(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"


class LoudnessCache:
    """Track gains: the tag first, then the cache, else queue a background measurement."""

    def __init__(self, cache_file: Path | None = None) -> None:
        if cache_file is None:
            from kapmonitor.config import cache_dir

            cache_file = cache_dir() / "loudness.json"
        self.cache_file = Path(cache_file)
        self._lock = threading.Lock()
        self._gains: dict[str, float] = {}
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._queued: set[str] = set()
        self._thread: threading.Thread | None = None
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self._gains = {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}
        except (OSError, ValueError):
            pass

    def gain_for(self, track: Track) -> float | None:
        """Gain (dB) for `track`, or None when not known yet (a measurement is then queued)."""
        if track.replaygain_db is not None:
            return track.replaygain_db
        key = _key(track.path)
        if key is None:
            return None
        with self._lock:
            gain = self._gains.get(key)
        if gain is None:
            self.prefetch([track])
        return gain

    def prefetch(self, tracks: list[Track]) -> None:
        """Measure, in the background, every track without a tag or cached gain."""
        for track in tracks:
            if track.replaygain_db is not None or track.error is not None:
                continue
            key = _key(track.path)
            if key is None:
                continue
            with self._lock:
                if key in self._gains or key in self._queued:
                    continue
                self._queued.add(key)
            self._queue.put(track.path)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="music-loudness", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until queued measurements are done (tests, shutdown)."""
        done = threading.Event()
        self._queue.put(None)
        self._idle_event = done
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            try:
                path = self._queue.get(timeout=5.0)
            except queue.Empty:
                return
            if path is None:
                event = getattr(self, "_idle_event", None)
                if event is not None:
                    event.set()
                continue
            key = _key(path)
            loudness = measure_loudness(path)
            with self._lock:
                if key is not None:
                    self._queued.discard(key)
                    if loudness is not None:
                        self._gains[key] = round(REFERENCE_LUFS - loudness, 2)
                        self._save_locked()

    def _save_locked(self) -> None:
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_name(self.cache_file.name + ".tmp")
            tmp.write_text(json.dumps(self._gains, indent=0), encoding="utf-8")
            os.replace(tmp, self.cache_file)
        except OSError as exc:
            log.warning("cannot write loudness cache %s: %s", self.cache_file, exc)
