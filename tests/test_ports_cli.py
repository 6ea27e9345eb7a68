"""`kapmonitor ports`: lists serial ports with description and USB ids, opens nothing."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from serial.tools import list_ports, list_ports_common

from kapmonitor.commands import ports


def _fake_port(device: str, description: str, vid: int | None, pid: int | None) -> list_ports_common.ListPortInfo:
    info = list_ports_common.ListPortInfo(device, skip_link_detection=True)
    info.description = description
    info.vid, info.pid = vid, pid
    info.manufacturer = "FTDI" if vid == 0x0403 else None
    info.serial_number = "A12345" if vid else None
    return info


def test_ports_command_runs_for_real() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kapmonitor", "ports"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "pseudo-terminals" in proc.stderr
    real = list_ports.comports()
    if real:
        assert proc.stdout.splitlines()[0].split() == ["PORT", "DESCRIPTION", "USB", "VID:PID"]
        for p in real:
            assert p.device in proc.stdout
    else:
        assert "no serial ports found" in proc.stderr


def test_listing_with_usb_ids(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fakes = [
        _fake_port("/dev/ttyUSB0", "FT232R USB UART", 0x0403, 0x6001),
        _fake_port("/dev/ttyS0", "n/a", None, None),
    ]
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: fakes)
    assert ports.run(argparse.Namespace(verbose=True)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("/dev/ttyS0") and out[1].rstrip().endswith("-")  # sorted by device
    assert "/dev/ttyUSB0" in out[2] and "FT232R USB UART" in out[2] and "0403:6001" in out[2]
    assert "serial A12345" in out[2]
    found = ports.list_serial_ports()
    assert found[1].label() == "/dev/ttyUSB0 - FT232R USB UART - USB 0403:6001 (FTDI)"
    assert found[0].label() == "/dev/ttyS0"


def test_no_ports_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: [])
    assert ports.run(argparse.Namespace(verbose=False)) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no serial ports found" in captured.err and "not listed" in captured.err


def test_pseudo_terminals_are_not_listed_and_not_touched() -> None:
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        before = os.stat(path).st_atime_ns
        assert path not in [p.device for p in ports.list_serial_ports()]
        assert os.stat(path).st_atime_ns == before  # nothing read it
    finally:
        os.close(master)
        os.close(slave)
