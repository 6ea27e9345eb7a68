"""The playlist in order and its phases in time: what follows a track, what precedes it, how long
the current phase has left, and the phase plan the therapist's timeline draws.

Pure functions of a `Playlist` snapshot (the music controller calls them under its lock); they
change when the rules of the order change (skipping, "hold phase", projection), not when the
state machine does. Thread-safe as far as the playlist passed in is not changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from kapmonitor.audio.playlist import Playlist, Track

PhasePlan = list[tuple[str, float, float, bool]]  # (phase name, start, end, is current)


def following(playlist: Playlist, track_id: int | None, phase_index: int, hold: bool) -> Track | None:
    """The playable track after `track_id`: the next in the playlist, or with `hold` the next in its
    own phase (round to its start). With the track gone (or none yet): the first playable one from
    `phase_index` on."""
    flat = playlist.flat()
    idx = next((i for i, (_, t) in enumerate(flat) if t.id == track_id), None)
    if idx is None:
        return next((t for p, t in flat if p >= phase_index and t.playable), None)
    if hold:
        phase = flat[idx][0]
        in_phase = [t for p, t in flat if p == phase]
        pos = next(i for i, t in enumerate(in_phase) if t.id == track_id)
        order = in_phase[pos + 1:] + in_phase[:pos + 1]
        return next((t for t in order if t.playable), None)
    return next((t for _, t in flat[idx + 1:] if t.playable), None)


def preceding(playlist: Playlist, track_id: int | None) -> Track | None:
    """The playable track before `track_id` (the last playable one when it is gone)."""
    flat = playlist.flat()
    idx = next((i for i, (_, t) in enumerate(flat) if t.id == track_id), len(flat))
    return next((t for _, t in reversed(flat[:idx]) if t.playable), None)


def phase_left(playlist: Playlist, track: Track | None, track_left: float | None) -> float | None:
    """Seconds left in `track`'s phase: the rest of the track and the playable tracks after it."""
    if track is None or track_left is None:
        return None
    flat = playlist.flat()
    idx = next((i for i, (_, t) in enumerate(flat) if t.id == track.id), None)
    if idx is None:
        return None
    phase = flat[idx][0]
    return track_left + sum((t.duration or 0.0) for p, t in flat[idx + 1:] if p == phase and t.playable)


def phase_plan(playlist: Playlist, starts: Sequence[tuple[float, int]], phase_index: int, active: bool,
               left: float | None, last_event_t: float, now: float) -> PhasePlan:
    """Past phases as they happened (`starts`: when each began), the current and later ones projected
    from the remaining (playable) track durations. `active`: music playing, paused or stopping;
    `left`: the current phase's time left; `last_event_t`: the end of a phase that ended the music."""
    names = playlist.phase_names()
    plan: PhasePlan = []
    for i, (t, idx) in enumerate(starts):
        if idx >= len(names):
            continue
        is_last = i == len(starts) - 1
        if is_last and active:
            plan.append((names[idx], t, max(now + (left or 0.0), t), True))
        else:
            plan.append((names[idx], t, starts[i + 1][0] if not is_last else last_event_t, False))
    cursor = plan[-1][2] if plan and active else now
    first_future = phase_index + 1 if active else phase_index
    for idx in range(first_future, len(names)):
        length = playlist.total_duration(idx)
        if length <= 0:
            continue
        plan.append((names[idx], cursor, cursor + length, not active and idx == phase_index))
        cursor += length
    return plan
