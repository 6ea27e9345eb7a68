"""A real Mosquitto broker on a free loopback port for the MQTT tests, and a chair process.

`MosquittoBroker` writes its own config (never a public address), starts `mosquitto -c`, waits
until the port answers, and can be stopped and started again on the same port. A missing
Mosquitto FAILS the test with the command that installs it (it is never skipped).

Run as a script, this file is one bedside chair: the simulator pipeline publishing to a broker
(`python tests/mqtt_support.py mqtt://127.0.0.1:PORT CHAIR RECORD.db [SCENARIO]`); it prints
"ready" once publishing, so a test can `kill -9` it.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
INSTALL_HINT = "install it with: sudo apt-get install mosquitto mosquitto-clients (or scripts/dev.sh test)"


def mosquitto_binary() -> str:
    path = shutil.which("mosquitto") or (MOSQUITTO if os.path.exists(MOSQUITTO) else None)
    if path is None:
        pytest.fail(f"Mosquitto is not installed; the MQTT tests need a real broker: {INSTALL_HINT}")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class MosquittoBroker:
    """One broker process with its own config file on 127.0.0.1."""

    def __init__(self, workdir: Path, *, password_file: Path | None = None, acl_file: Path | None = None,
                 tls: tuple[Path, Path, Path] | None = None, require_certificate: bool = False) -> None:
        self.binary = mosquitto_binary()
        self.workdir = workdir
        self.port = free_port()
        self.log_file = workdir / "mosquitto.log"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"log_dest file {self.log_file}",
                 "log_type all", "max_keepalive 60",
                 f"user {getpass.getuser()}"]  # as root, keep the right to read our own 0600 files
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        if acl_file is not None:
            lines.append(f"acl_file {acl_file}")
        if tls is not None:
            ca, cert, key = tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}", "tls_version tlsv1.2"]
            if require_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        self.config = workdir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        if not wait_for(self._answers, timeout=10):
            err = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            self.stop()
            pytest.fail(f"mosquitto did not start on 127.0.0.1:{self.port}: {err.decode(errors='replace')} {log}")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            return True  # exited: start() reports it
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An anonymous broker on a free loopback port."""
    broker = MosquittoBroker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def make_password_file(path: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file (hashed by mosquitto_passwd)."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail(f"mosquitto_passwd is missing: {INSTALL_HINT}")
    for i, (user, password) in enumerate(users.items()):
        args = [tool, "-b"] + (["-c"] if i == 0 else []) + [str(path), user, password]
        subprocess.run(args, check=True, capture_output=True)
    path.chmod(0o600)
    return path


def make_test_ca(workdir: Path, server_cn: str = "127.0.0.1", clients: tuple[str, ...] = ()) -> dict[str, Path]:
    """A throw-away CA, a server certificate for 127.0.0.1 and client certificates (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing: sudo apt-get install openssl")
    out: dict[str, Path] = {}

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=workdir)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kapmonitor test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    out["ca"] = workdir / "ca.crt"
    ext = workdir / "server.ext"
    ext.write_text(f"subjectAltName=IP:{server_cn}\n")
    for name, cn, extfile in [("server", server_cn, str(ext))] + [(c, c, "") for c in clients]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out",
            f"{name}.csr")
        sign = ["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.crt"]
        run(*(sign + (["-extfile", extfile] if extfile else [])))
        out[name] = workdir / f"{name}.crt"
        out[f"{name}_key"] = workdir / f"{name}.key"
    return out


def start_chair(broker_url: str, chair: str, record: Path, scenario: str = "normal",
                env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A bedside process (simulator + recording + alarms + publisher); returns once it publishes."""
    repo = Path(__file__).resolve().parent.parent
    errors = record.with_suffix(".stderr")  # a file, so a chatty chair never blocks on a full pipe
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), broker_url, chair, str(record), scenario],
            stdout=subprocess.PIPE, stderr=err, text=True, cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo), **(env or {})},
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        proc.wait(5)
        pytest.fail(f"chair process did not start: {line} {errors.read_text(errors='replace')}")
    return proc


def _chair_main(argv: list[str]) -> int:
    """The bedside: simulated monitor → pipeline (record, alarms) → publisher, until SIGTERM."""
    from kapmonitor.alarms.profile import default_profile
    from kapmonitor.drivers.base import DriverOptions
    from kapmonitor.drivers.simulator import SimulatedMonitor
    from kapmonitor.model.clock import RealClock
    from kapmonitor.pipeline import MonitoringPipeline
    from kapmonitor.publish import MqttPublisher, parse_broker_url

    url, chair, record = argv[0], argv[1], Path(argv[2])
    scenario = argv[3] if len(argv) > 3 else "normal"
    clock = RealClock()
    pipeline = MonitoringPipeline(SimulatedMonitor(DriverOptions(scenario=scenario, seed=3, waves=False), clock),
                                  record, alarm_profile=default_profile())
    publisher = MqttPublisher(parse_broker_url(url), chair, clock, identity="chair")
    publisher.attach(pipeline.dispatcher, pipeline.alarms)
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    pipeline.start()
    publisher.start()
    if not wait_for(lambda: publisher.connected, timeout=10):
        print("not connected", flush=True)
        return 1
    print("ready", flush=True)
    while not stop:
        time.sleep(0.1)
        if pipeline.alarms is not None:
            pipeline.alarms.tick()
    publisher.stop()
    pipeline.stop()
    print(json.dumps({"dropped": publisher.dropped_vitals}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_chair_main(sys.argv[1:]))
