"""Helpers for tests that put an emulated monitor and a driver on the two ends of a real pty pair."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest


class PtyPair:
    """Two linked pseudo-terminals made by socat; `unplug()` removes both, `replug()` brings them back."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("socat") is None:
            pytest.fail("socat is not installed (scripts/dev.sh test installs it)")
        self.monitor_end = str(directory / "monitor")
        self.pc_end = str(directory / "pc")
        self._proc: subprocess.Popen[bytes] | None = None
        self.replug()

    def replug(self) -> None:
        self._proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,ignoreeof,link={self.monitor_end}",
             f"pty,raw,echo=0,ignoreeof,link={self.pc_end}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: Path(self.monitor_end).exists() and Path(self.pc_end).exists(), 5.0)

    def unplug(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(5)
            self._proc = None
        wait_for(lambda: not Path(self.pc_end).exists(), 5.0)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(5)
            self._proc = None


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


class EmulatorThread:
    """`run_emulator` in a thread, stoppable (a monitor switched off)."""

    def __init__(self, run: Callable[..., None], port: str, speed: float = 10.0, scenario: str = "normal",
                 seed: int = 1) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run, args=(port, scenario, speed, seed, self.stop), daemon=True)
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()
