"""A real process running a NurseSession on a SessionRecorder, to be killed with SIGKILL by
tests/test_session_recovery.py. Not a test module.

Usage: python tests/session_crash_worker.py <db path>
Prints one line per completed action: "<action> <time>" (flushed), then keeps adding a note
every 50 ms and feeding SpO2/HR samples until it is killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import VitalSample
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.session import NurseSession, demo_setup


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    path = Path(sys.argv[1])
    clock = RealClock()
    recorder = SessionRecorder(path, {"simulated": 0}).start()
    session = NurseSession(
        recorder, demo_setup().with_changes(pseudonym="CRASH-1", simulated=False), clock, submit_items=recorder.on_items
    )
    session.submit_manual_vitals(
        {Parameter.NIBP_SYS: 124.0, Parameter.NIBP_DIA: 78.0, Parameter.HR: 70.0, Parameter.SPO2: 98.0}
    )
    session.start_infusion()
    say(f"start {session.infusion.started_at!r}")
    time.sleep(0.3)
    session.pause_infusion("nausea")
    session.add_side_effect("nausea", "moderate")
    session.add_intervention("Ondansetron", "4 mg", "IV")
    say(f"pause {session.infusion.pauses[-1][0]!r}")
    time.sleep(0.3)
    session.resume_infusion()
    say(f"resume {session.infusion.pauses[-1][1]!r}")
    session.record_scale("moaas", 4)
    i = 0
    while True:
        i += 1
        e = session.add_note(f"tick {i}")
        recorder.on_items(
            [VitalSample(clock.now(), Parameter.SPO2, 97.0), VitalSample(clock.now(), Parameter.HR, 72.0)]
        )
        say(f"note {e.t!r} {i}")
        time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main())
