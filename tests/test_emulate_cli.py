"""`kapmonitor emulate`: the command plays a monitor on a pty until Ctrl-C; bad arguments exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ge_s5_support import PtyPair

from kapmonitor.cli import main
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.ge_s5.driver import GeS5Driver
from kapmonitor.model.clock import RealClock
from kapmonitor.model.samples import Item, VitalSample


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path)
    yield pair
    pair.close()


def test_emulate_ge_s5_command_until_ctrl_c(pty: PtyPair) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kapmonitor.cli", "emulate", "ge-s5", "--port", pty.monitor_end, "--speed", "10",
         "--scenario", "hypertensive", "--seed", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)  # interpreter start-up and port open
        driver = GeS5Driver(DriverOptions(port=pty.pc_end), RealClock())
        driver.open()
        items: list[Item] = []
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            items.extend(driver.read(0.05))
        driver.close()
        assert sum(1 for i in items if isinstance(i, VitalSample) and i.valid) > 20
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"emulating ge-s5" in err and b"Traceback" not in err


def test_emulate_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "no-such-monitor", "--port", "loop://"]) == 2
    assert main(["emulate", "ge-s5", "--port", "loop://", "--scenario", "nope"]) == 2
    assert main(["emulate", "ge-s5", "--port", str(tmp_path / "ttyNONE")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("kapmonitor: error:") for line in err)
    with pytest.raises(SystemExit) as exc:
        main(["emulate", "ge-s5", "--port", "loop://", "--speed", "-1"])
    assert exc.value.code == 2
