"""The administrator PIN: set only by the administrator step, a salted slow hash with a keyed
integrity check, a floor on the key derivation, lockout with backoff, every use in the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import stat
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from kapmonitor.alarms.pin import PinError, PinLockedError, PinStore
from kapmonitor.cli import main
from kapmonitor.ui.alarms.profile_editor import PinDialog

PIN = "246810"


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


def _admin(monkeypatch, config: Path, *args: str, stdin: str) -> int:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(config))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["admin", "set-pin", "--pin-stdin", *args])


def test_the_profile_editor_never_lets_the_first_person_set_the_pin(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = PinStore(tmp_path / "clinic_pin.json")
    dlg = PinDialog(store)
    qtbot.addWidget(dlg)
    assert not dlg.available and not dlg.ok_button.isEnabled() and not dlg.pin_edit.isEnabled()
    assert "kapmonitor admin set-pin" in dlg.error.text()
    dlg.who_edit.setText("Eve")
    dlg.pin_edit.setText(PIN)
    dlg._accept()
    assert dlg.result() != QDialog.DialogCode.Accepted and not store.is_set()
    assert not (tmp_path / "clinic_pin.json").exists()


def test_the_administrator_step_sets_a_salted_slow_hash(monkeypatch, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin="12\n") == 2  # too short
    assert "at least 6 digits" in capsys.readouterr().err
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin=f"{PIN}\n") == 0
    pin_file, key_file = tmp_path / "clinic_pin.json", tmp_path / "clinic.key"
    data = json.loads(pin_file.read_text())
    assert data["kdf"] == "scrypt" and data["n"] * data["r"] * data["p"] >= 2**14 * 8 * 5
    assert PIN not in pin_file.read_text() and len(bytes.fromhex(data["salt"])) == 16
    for f in (pin_file, key_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    store = PinStore(pin_file)
    assert store.verify(PIN, "Dr X") and not store.verify("135790", "Dr X")
    # changing it needs the current PIN
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin=f"000000\n{PIN}\n") == 2
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin=f"{PIN}\n135790\n") == 0
    assert store.verify("135790") and not store.verify(PIN)
    events = [json.loads(line)["event"] for line in (tmp_path / "admin_audit.log").read_text().splitlines()]
    assert events.count("pin_set") == 2 and "pin_failed" in events


def _rewrite(path: Path, key: bytes | None, **fields: object) -> None:
    data = json.loads(path.read_text())
    data.update(fields)
    if key is not None:  # someone who also has the key: the floor still refuses a cheap file
        body = json.dumps({k: v for k, v in data.items() if k != "mac"}, sort_keys=True).encode()
        data["mac"] = hmac.new(key, body, hashlib.sha256).hexdigest()
    path.write_text(json.dumps(data))


def test_a_rewritten_pin_file_is_refused(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "clinic_pin.json")
    store.set_pin(PIN, "Admin")
    key = bytes.fromhex((tmp_path / "clinic.key").read_text())
    original = store.path.read_text()

    # a hash of a PIN the attacker knows, written without the key
    salt = b"s" * 16
    mine = hashlib.scrypt(b"111111", salt=salt, n=2**14, r=8, p=5, maxmem=2**28, dklen=32)
    _rewrite(store.path, None, salt=salt.hex(), hash=mine.hex())
    with pytest.raises(PinError, match="integrity check fails"):
        store.verify("111111")

    # the key derivation below the floor (the "1 iteration" file), even with a valid tag
    store.path.write_text(original)
    _rewrite(store.path, key, n=2, r=1, p=1)
    with pytest.raises(PinError, match="below the floor"):
        store.verify(PIN)

    # the old format: PBKDF2 with 1 iteration
    old_salt = b"x" * 16
    store.path.write_text(json.dumps({"salt": old_salt.hex(), "iterations": 1,
                                      "hash": hashlib.pbkdf2_hmac("sha256", b"1111", old_salt, 1).hex()}))
    with pytest.raises(PinError, match="refused"):
        store.verify("1111")
    assert "refused" in store.status()


def test_deleting_the_pin_file_needs_the_logged_administrator_reset(monkeypatch, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.alarms.signoff import read_signoff, sign_off

    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin=f"{PIN}\n") == 0
    store = PinStore(tmp_path / "clinic_pin.json")
    sign_off(default_profile(), store, "Dr X")
    store.path.unlink()
    assert "missing" in store.status() and "--reset" in store.status()
    with pytest.raises(PinError):
        store.verify(PIN)
    assert _admin(monkeypatch, tmp_path, "--who", "Eve", stdin="111111\n") == 2  # no silent new PIN
    assert "missing" in capsys.readouterr().err and not store.path.exists()
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", "--reset", stdin="111111\n") == 0
    assert store.verify("111111")
    log = [json.loads(line) for line in (tmp_path / "admin_audit.log").read_text().splitlines()]
    assert [e["event"] for e in log if e["who"] == "Eve"] == ["pin_set_refused"]
    assert any(e["event"] == "pin_reset" and "missing" in e["detail"] for e in log)
    with pytest.raises(PinError, match="integrity"):  # a new key: the old sign-off must be renewed
        read_signoff(store)


def test_wrong_pins_lock_with_backoff_and_every_try_is_audited(tmp_path: Path) -> None:
    clock = Clock()
    trail: list[tuple[str, str, str]] = []
    store = PinStore(tmp_path / "clinic_pin.json", audit=lambda *e: trail.append(e), clock=clock)
    store.set_pin(PIN, "Admin")
    for _ in range(3):
        assert not store.verify("000000", "Eve", "edit")
    with pytest.raises(PinLockedError) as info:
        store.verify(PIN, "Eve", "edit")  # even the right PIN waits
    assert info.value.seconds == pytest.approx(30)
    clock.t += 31
    assert not store.verify("000001", "Eve", "edit")
    with pytest.raises(PinLockedError) as info:
        store.verify(PIN, "Eve", "edit")
    assert info.value.seconds == pytest.approx(60)  # doubled
    # the counter survives a restart, and an edited counter locks rather than unlocks
    assert PinStore(store.path, clock=clock).locked_for() == pytest.approx(60)
    store.attempts_path.write_text(json.dumps({"failures": 0, "last": 0.0, "mac": "0"}))
    assert store.locked_for() > 0
    clock.t += 3600
    assert store.verify(PIN, "Dr X", "edit") and store.locked_for() == 0
    events = [e[0] for e in trail]
    assert events == ["pin_set", "pin_failed", "pin_failed", "pin_failed", "pin_locked", "pin_failed",
                      "pin_locked", "pin_ok"]


def test_the_pin_dialog_checks_off_the_gui_thread_and_records_who(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = PinStore(tmp_path / "clinic_pin.json")
    store.set_pin(PIN, "Admin")
    dlg = PinDialog(store)
    qtbot.addWidget(dlg)
    dlg.pin_edit.setText(PIN)
    dlg._accept()
    assert dlg.error.text() == "enter your name"
    dlg.who_edit.setText("Dr X")
    dlg.pin_edit.setText("000000")
    dlg._accept()
    assert dlg.busy  # the slow hash runs in a worker; the window keeps drawing alarms
    qtbot.waitUntil(lambda: not dlg.busy, timeout=10000)
    assert dlg.error.text() == "wrong PIN" and dlg.result() != QDialog.DialogCode.Accepted
    dlg.pin_edit.setText(PIN)
    dlg._accept()
    qtbot.waitUntil(lambda: not dlg.busy, timeout=10000)
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.who == "Dr X"


def test_admin_status_says_whether_a_pin_is_set(monkeypatch, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path))
    assert main(["admin", "status"]) == 0
    out = capsys.readouterr().out
    assert "no administrator PIN is set" in out and "built-in" in out
    assert _admin(monkeypatch, tmp_path, "--who", "Admin", stdin=f"{PIN}\n") == 0
    capsys.readouterr()
    assert main(["admin", "status"]) == 0
    assert "clinic PIN: set" in capsys.readouterr().out
