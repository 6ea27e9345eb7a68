"""The chair's publishing settings, kept in `publish.toml` beside `monitor.toml`: the central
station's broker (mqtt:// or mqtts://), chair and site names, what the central shows (pseudonym or
chair name), TLS files, broker user and password, and HL7 out.

Set from the nurse's window (Monitor ▸ Central station publishing…) and used at every start of
`kapmonitor run`; command-line options override the file for that run (`fill_args`).

The file holds a password: it is written with mode 0600 (atomically, never readable by others even
for a moment), and a file others can read has its password ignored with a message that says how to
fix it. The password never appears in a repr, a log line or a problem message.
Pure functions and an immutable dataclass: thread-safe.
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor.config import config_dir
from kapmonitor.publish.broker import PASSWORD_ENV, BrokerConfig, BrokerConfigError, check_name, parse_broker_url

log = logging.getLogger(__name__)

SHOW_AS = ("pseudonym", "chair")
FILE_MODE = 0o600


@dataclass(frozen=True)
class PublishSettings:
    """What a chair publishes and where. `enabled` False keeps the broker settings but sends
    nothing over MQTT; an empty `hl7_out` means no HL7 out."""

    enabled: bool = False
    broker_url: str = ""
    chair: str = ""
    site: str = "clinic"
    show_as: str = "pseudonym"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    hl7_out: str = ""  # tcp:HOST:PORT

    @property
    def active(self) -> bool:
        """Anything to run: MQTT publishing or HL7 out."""
        return self.enabled or bool(self.hl7_out)

    def problems(self) -> dict[str, str]:
        """What is wrong, by field ("url", "chair", "site", "username", "ca", "cert", "key", "hl7"):
        each message says what to change. Empty when the settings can be used. Reads only whether
        the named files exist (no network)."""
        found: dict[str, str] = {}
        if self.enabled or self.hl7_out:
            if not self.chair.strip():
                found["chair"] = ("Enter this chair's name as the central station shows it "
                                  "(letters, digits, - _ . ; e.g. chair-3).")
            else:
                _check(found, "chair", lambda: check_name("chair", self.chair))
        if self.hl7_out:
            from kapmonitor.publish.hl7_out import parse_target

            try:
                parse_target(self.hl7_out)
            except ValueError:
                found["hl7"] = (f"HL7 out {self.hl7_out!r}: write HOST:PORT of the interface engine, "
                                "e.g. interface-engine:2575.")
        if not self.enabled:
            return found
        _check(found, "site", lambda: check_name("site", self.site))
        if self.show_as not in SHOW_AS:
            found["show_as"] = f"show as: one of {', '.join(SHOW_AS)}"
        url = self.broker_url.strip()
        if not url:
            found["url"] = "Enter the broker's address, e.g. mqtt://broker.local:1883 or mqtts://broker.local:8883."
            return found
        try:
            parse_broker_url(url, username=self.username or None, environ={})
        except BrokerConfigError as exc:
            found["url"] = f"{exc}."
            if "password" in str(exc) and "@" in url:  # in the window the password has its own field
                found["url"] = ("Take the password out of the address: it goes in the Password field "
                                "(an address shows in logs).")
            return found
        tls = url.lower().startswith("mqtts://")
        files = {"ca": ("CA file", self.ca_file), "cert": ("client certificate", self.cert_file),
                 "key": ("client key", self.key_file)}
        for key, (what, path) in files.items():
            if path is None:
                continue
            if not tls:
                found[key] = f"A {what} needs an mqtts:// address (TLS); remove it or use mqtts://."
            elif not path.is_file():
                found[key] = f"{what[0].upper()}{what[1:]} {path} does not exist or is not a file."
        if tls and (self.cert_file is None) != (self.key_file is None):
            missing = "key" if self.key_file is None else "cert"
            found.setdefault(missing, "A client certificate and its key go together: choose both or neither.")
        if self.password and not self.username:
            found["username"] = "A password needs a user name."
        return found

    def broker_config(self) -> BrokerConfig:
        """The broker and credentials to connect with. Without a password here, the
        KAPMONITOR_MQTT_PASSWORD environment variable is used (as on the command line).
        Raises BrokerConfigError (the message never holds the password)."""
        environ = {PASSWORD_ENV: self.password} if self.password else None
        return parse_broker_url(self.broker_url.strip(), username=self.username or None, ca_file=self.ca_file,
                                cert_file=self.cert_file, key_file=self.key_file, environ=environ)

    def same_broker(self, other: PublishSettings) -> bool:
        """Same broker, log-in and chair: one connection serves both (what the central shows may differ)."""
        keys = ("enabled", "broker_url", "chair", "site", "username", "password", "ca_file", "cert_file", "key_file")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def _check(found: dict[str, str], key: str, check: object) -> None:
    try:
        check()  # type: ignore[operator]
    except BrokerConfigError as exc:
        found[key] = f"{exc}."


def normalise_hl7_target(text: str) -> str:
    """`HOST:PORT` or `tcp:HOST:PORT` -> `tcp:HOST:PORT` (empty stays empty)."""
    text = text.strip()
    if text and not text.lower().startswith("tcp:"):
        return f"tcp:{text}"
    return text


def publish_config_path() -> Path:
    return config_dir() / "publish.toml"


def load_publish_settings(path: Path | None = None) -> tuple[PublishSettings | None, str | None]:
    """The saved settings (None: no file) and a problem to tell when (part of) the file could not be
    used. A file that others may read keeps its settings but its password is not used."""
    path = path or publish_config_path()
    try:
        st = path.stat()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, f"publishing setting {path} ignored ({exc})"
    mqtt = data.get("mqtt", {})
    hl7 = data.get("hl7", {})
    if not isinstance(mqtt, dict) or not isinstance(hl7, dict):
        return None, f"publishing setting {path} ignored: [mqtt] and [hl7] must be tables"

    def text(table: dict[str, object], key: str, default: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise ValueError(f"{key} must be text")
        return value

    def a_path(key: str) -> Path | None:
        value = text(mqtt, key)
        return Path(value).expanduser() if value else None

    try:
        enabled = mqtt.get("enabled", False)
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        settings = PublishSettings(
            enabled=enabled, broker_url=text(mqtt, "broker"), chair=text(mqtt, "chair"),
            site=text(mqtt, "site", "clinic") or "clinic", show_as=text(mqtt, "show_as", "pseudonym"),
            username=text(mqtt, "username"), password=text(mqtt, "password"), ca_file=a_path("ca_file"),
            cert_file=a_path("cert_file"), key_file=a_path("key_file"), hl7_out=text(hl7, "out"),
        )
    except ValueError as exc:
        return None, f"publishing setting {path} ignored: {exc}"
    problem = None
    if settings.password and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problem = (f"publishing setting {path} may be read by others (mode {stat.S_IMODE(st.st_mode):04o}): "
                   f"its broker password is not used; run: chmod 600 {path}, or save the settings again "
                   "under Monitor > Central station publishing...")
        settings = _without_password(settings)
    return settings, problem


def _without_password(s: PublishSettings) -> PublishSettings:
    from dataclasses import replace

    return replace(s, password="")


def save_publish_settings(settings: PublishSettings, path: Path | None = None) -> Path:
    """Write the settings atomically, mode 0600 from the first byte. Raises OSError."""
    import tomli_w

    path = path or publish_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    mqtt: dict[str, object] = {
        "enabled": settings.enabled, "broker": settings.broker_url.strip(), "chair": settings.chair.strip(),
        "site": settings.site.strip() or "clinic", "show_as": settings.show_as, "username": settings.username,
        "password": settings.password, "ca_file": str(settings.ca_file or ""),
        "cert_file": str(settings.cert_file or ""), "key_file": str(settings.key_file or ""),
    }
    body = ("# the central station and HL7 out (Monitor > Central station publishing...); holds the broker\n"
            "# password: keep this file readable only by its owner (mode 0600)\n"
            + tomli_w.dumps({"mqtt": mqtt, "hl7": {"out": settings.hl7_out.strip()}}))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a leftover .tmp may have had another mode
        os.write(fd, body.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("publishing settings saved to %s", path)
    return path


def fill_args(args: argparse.Namespace, saved: PublishSettings | None) -> None:
    """`kapmonitor run`: what the command line leaves open comes from the saved settings. The broker
    comes from the file when it is enabled and no --publish is given; its user, password and TLS
    files only go with that same broker address. Chair, site, identity and HL7 out fill in alone."""
    if saved is None:
        return
    if args.publish is None and saved.enabled and saved.broker_url:
        args.publish = saved.broker_url
    if args.publish is not None and args.publish == saved.broker_url:
        if args.mqtt_user is None and saved.username:
            args.mqtt_user = saved.username
        if args.mqtt_password_file is None and saved.password and args.mqtt_user == saved.username:
            args.mqtt_password = saved.password
        args.mqtt_ca = args.mqtt_ca or saved.ca_file
        args.mqtt_cert = args.mqtt_cert or saved.cert_file
        args.mqtt_key = args.mqtt_key or saved.key_file
    if args.chair is None and saved.chair and (args.publish is not None or saved.hl7_out or args.hl7_out):
        args.chair = saved.chair
    if args.site is None and saved.site:
        args.site = saved.site
    if args.show_as is None:
        args.show_as = saved.show_as
    if args.hl7_out is None and saved.hl7_out:
        args.hl7_out = saved.hl7_out


def settings_from_args(args: argparse.Namespace) -> PublishSettings:
    """The settings of a run's (checked) options: what the bedside starts with and the dialog shows.
    A --mqtt-password-file is read here (its password then travels in memory only)."""
    from kapmonitor.publish.broker import read_password_file

    password = getattr(args, "mqtt_password", None) or ""
    if args.mqtt_password_file is not None:
        password = read_password_file(Path(args.mqtt_password_file))
    return PublishSettings(
        enabled=args.publish is not None, broker_url=args.publish or "", chair=args.chair or "",
        site=args.site or "clinic", show_as=args.show_as or "pseudonym", username=args.mqtt_user or "",
        password=password, ca_file=args.mqtt_ca, cert_file=args.mqtt_cert, key_file=args.mqtt_key,
        hl7_out=args.hl7_out or "",
    )


def try_broker(config: BrokerConfig, timeout: float = 5.0) -> tuple[bool, str]:
    """Connect once to the broker with these credentials and say what happened (for "Test
    connection"; blocks up to about `timeout` seconds: call it on a worker thread). The live
    publisher is not disturbed (another client id). The text never holds the password."""
    import ssl
    import threading
    import time
    import uuid

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    where = config.display_url
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311,
                         client_id=f"kapmonitor-test-{uuid.uuid4().hex[:12]}")
    client.connect_timeout = timeout
    answer: dict[str, object] = {}
    done = threading.Event()

    def on_connect(c: object, userdata: object, flags: object, reason: object, properties: object) -> None:
        answer["reason"] = reason
        done.set()

    def on_disconnect(c: object, userdata: object, flags: object, reason: object, properties: object) -> None:
        answer.setdefault("closed", reason)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    started = time.monotonic()
    try:
        config.apply(client)
        client.connect(config.host, config.port, keepalive=10)
    except ssl.SSLCertVerificationError as exc:
        return False, f"{where}: the broker's certificate is not trusted ({exc.verify_message}); check the CA file"
    except ssl.SSLError as exc:
        return False, f"{where}: TLS failed ({exc.reason or exc}); check the address (mqtts://) and the certificates"
    except (TimeoutError, OSError) as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        return False, f"cannot reach {where}: {why}; check the address and that the broker runs"
    except ValueError as exc:
        return False, f"{where}: {exc}"
    client.loop_start()
    try:
        if not done.wait(max(0.5, timeout - (time.monotonic() - started))):
            return False, f"{where} accepted the connection but did not answer as an MQTT broker"
        if "reason" not in answer:  # hung up before its answer: TLS 1.3 refuses a client certificate only now
            what = ("it may want a client certificate and key, or not accept these" if config.tls
                    else "check the address and the user name")
            return False, f"{where} closed the connection without accepting this chair: {what}"
        reason = answer["reason"]
        if getattr(reason, "is_failure", False):
            return False, f"{where} refused this chair: {reason}; check the user name and password"
        user = f" as {config.username}" if config.username else ""
        tls = ", TLS certificate verified" if config.tls else ""
        return True, f"Connected to {where}{user}{tls}."
    finally:
        client.disconnect()
        client.loop_stop()
