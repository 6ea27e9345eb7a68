"""Music on the session timeline: track bands for the nurse's trend plot, from `music_events` rows.

Rows are the dicts `MusicController` writes (or rows read back from the session database with
the same column names). Pure functions; thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Band = tuple[float, float, str, str]  # (start, end, title, phase)

_CLOSE = {"pause", "stop", "stopped", "end_of_playlist", "device_lost"}
_REOPEN = {"resume", "device_restored"}


def track_bands(rows: Iterable[Mapping[str, object]], now: float | None = None) -> list[Band]:
    """(start, end, title, phase) for every stretch a track was sounding.

    A band starts at `track_started` (or `resume`), ends at the next track start, pause, stop,
    end of the playlist or lost device. A band still open ends at `now` (default: the last row).
    """
    bands: list[Band] = []
    open_band: tuple[float, str, str] | None = None
    last_track: tuple[str, str] | None = None
    last_t: float | None = None
    for row in sorted(rows, key=lambda r: float(r.get("t") or 0.0)):  # type: ignore[arg-type]
        t = float(row.get("t") or 0.0)  # type: ignore[arg-type]
        last_t = t
        action = str(row.get("action") or "")
        title = str(row.get("track") or "")
        phase = str(row.get("phase") or "")
        if action == "track_started":
            if open_band is not None and t > open_band[0]:
                bands.append((open_band[0], t, open_band[1], open_band[2]))
            open_band = (t, title, phase)
            last_track = (title, phase)
        elif action in _CLOSE:
            if open_band is not None and t > open_band[0]:
                bands.append((open_band[0], t, open_band[1], open_band[2]))
            open_band = None
        elif action in _REOPEN and open_band is None and last_track is not None:
            open_band = (t, last_track[0], last_track[1])
        elif action == "phase" and open_band is not None:
            # the phase is known from the started track's own row; keep the band's phase
            pass
    if open_band is not None:
        end = now if now is not None else last_t
        if end is not None and end > open_band[0]:
            bands.append((open_band[0], end, open_band[1], open_band[2]))
    return bands
