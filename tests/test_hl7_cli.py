"""`kapmonitor emulate hl7` and `kapmonitor run --driver hl7` on the command line: the emulator
process feeds a listening driver over TCP until Ctrl-C; bad ports and dialects exit 2 with one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from kapmonitor.cli import main
from kapmonitor.drivers.base import DriverOptions
from kapmonitor.drivers.hl7.driver import Hl7Driver
from kapmonitor.model.clock import RealClock
from kapmonitor.model.parameters import Parameter
from kapmonitor.model.samples import Item, VitalSample


def test_emulate_hl7_command_sends_to_a_listening_driver_until_ctrl_c() -> None:
    driver = Hl7Driver(DriverOptions(port="listen:127.0.0.1:0"), RealClock())
    driver.open()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kapmonitor.cli", "emulate", "hl7", "--port", f"tcp:127.0.0.1:{driver.bound_port}",
         "--speed", "5", "--dialect", "nihon-kohden"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        items: list[Item] = []
        end = time.monotonic() + 20
        while time.monotonic() < end and sum(isinstance(i, VitalSample) for i in items) < 15:
            items.extend(driver.read(0.05))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        driver.close()
    assert proc.returncode == 0
    assert "emulating hl7 on tcp:127.0.0.1" in err.decode()
    assert {Parameter.HR, Parameter.SPO2} <= {i.parameter for i in items if isinstance(i, VitalSample) and i.valid}


@pytest.mark.parametrize(("args", "message"), [
    (["emulate", "hl7", "--port", "/dev/ttyUSB0"], "use tcp:HOST:PORT"),
    (["emulate", "hl7", "--port", "tcp:127.0.0.1:2575", "--dialect", "acme"], "unknown dialect 'acme'"),
    (["emulate", "ge-s5", "--port", "/dev/null", "--dialect", "mindray"], "--dialect is only for hl7"),
    (["--driver", "hl7", "--port", "/dev/ttyUSB0", "--screenshot", "x.png"], "bad hl7 port"),
])
def test_bad_hl7_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                                message: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1

