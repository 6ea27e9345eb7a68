"""Who is on duty at the bedside during one session: sign-in, change of nurse, sign-out, and whom
an action is credited to. Every change is kept in the record and audited (journal.py).

Never the set-up nurse by default: a nurse who took over must be credited, not her colleague.

Thread-safety: guarded by the session's re-entrant lock, given at construction, so a session
action and a change of nurse are never interleaved.
"""

from __future__ import annotations

import logging
import threading

from kapmonitor.session.catalogues import NOT_SIGNED_IN
from kapmonitor.session.journal import SessionJournal
from kapmonitor.session.model import check_initials

log = logging.getLogger(__name__)


class OnDuty:
    """The nurse on duty in one session (None: nobody signed in)."""

    def __init__(self, journal: SessionJournal, lock: threading.RLock) -> None:
        self._journal = journal
        self._lock = lock
        self._initials: str | None = None

    @property
    def initials(self) -> str | None:
        with self._lock:
            return self._initials

    def restore(self, initials: str | None) -> None:
        """The nurse on duty as the record left it (a resumed session); not audited again."""
        with self._lock:
            self._initials = initials

    def acting(self, who: str | None = None) -> str:
        """Who an action is credited to: `who` if given, else the nurse on duty, else NOT_SIGNED_IN."""
        if who is not None and who.strip():
            return who.strip()
        with self._lock:
            return self._initials or NOT_SIGNED_IN

    def sign_in(self, initials: str, t: float) -> tuple[str, bool]:
        """`initials` on duty from `t` (audited when it changes): (checked initials, whether it changed).
        Raises ValidationError for bad initials."""
        initials = check_initials(initials)
        with self._lock:
            previous = self._initials
            if previous == initials:
                return initials, False
            self._initials = initials
            self._journal.on_duty(t, initials, previous, initials)
        log.info("nurse on duty: %s (was %s)", initials, previous or "nobody")
        return initials, True

    def sign_out(self, t: float) -> bool:
        """Nobody on duty from `t` (audited); False when nobody was."""
        with self._lock:
            previous = self._initials
            if previous is None:
                return False
            self._initials = None
            self._journal.on_duty(t, previous, previous, None)
        return True
