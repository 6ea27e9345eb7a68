"""Where the MQTT broker is and how to log in: `mqtt://HOST:PORT` or `mqtts://HOST:PORT`.

The password never comes from the command line in clear: a URL with a password is refused, and
the password is read from an environment variable or from a file only its owner can read (0600).
`BrokerConfig` never shows the password (repr, `display_url`), so it cannot reach a log or an
export by accident. Immutable: safe to share between threads.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

PASSWORD_ENV = "KAPMONITOR_MQTT_PASSWORD"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
# a topic level: no wildcards, separators or control characters; short enough for a tile
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class BrokerConfigError(ValueError):
    """The broker address, a name or a credential is unusable; the message says what to change."""


def check_name(what: str, name: str) -> str:
    """A site or chair name used as an MQTT topic level (letters, digits, '-', '_', '.')."""
    if not _NAME_RE.match(name):
        raise BrokerConfigError(
            f"{what} name {name!r}: use 1 to 32 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class BrokerConfig:
    """One broker and the credentials to use with it."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def display_url(self) -> str:
        """The address for logs and the status bar (user name, never the password)."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"

    def apply(self, client: Any) -> None:
        """Set credentials and TLS on a paho client (before connecting)."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(
                ca_certs=str(self.ca_file) if self.ca_file else None,
                certfile=str(self.cert_file) if self.cert_file else None,
                keyfile=str(self.key_file) if self.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )


def read_password_file(path: Path) -> str:
    """The first line of a file that only its owner may read (mode 0600 or stricter)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BrokerConfigError(f"MQTT password file {path}: {exc.strerror or exc}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BrokerConfigError(
            f"MQTT password file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokerConfigError(f"MQTT password file {path}: cannot read it ({exc})") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise BrokerConfigError(f"MQTT password file {path} is empty (the password goes on its first line)")
    return lines[0]


def _existing(what: str, path: Path | str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise BrokerConfigError(f"{what} {p} does not exist or is not a file")
    return p


def parse_broker_url(
    url: str, *, username: str | None = None, password_file: Path | str | None = None,
    ca_file: Path | str | None = None, cert_file: Path | str | None = None, key_file: Path | str | None = None,
    environ: dict[str, str] | None = None,
) -> BrokerConfig:
    """`mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`, optionally `mqtt://USER@HOST:PORT`.

    The password comes from `password_file` (0600) or else the `KAPMONITOR_MQTT_PASSWORD`
    environment variable, and only when a user name is given. A password in the URL is refused.
    """
    env = os.environ if environ is None else environ
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BrokerConfigError(f"broker address {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BrokerConfigError(f"broker address must start with mqtt:// or mqtts:// (got {url.split('://')[0]!r})")
    if parts.password is not None:
        raise BrokerConfigError(
            "do not put the MQTT password in the address (it would show in the process list and logs); "
            f"set {PASSWORD_ENV} or use a password file readable only by you"
        )
    if not parts.hostname:
        raise BrokerConfigError(f"broker address {url!r} has no host; example: mqtt://broker.local:1883")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerConfigError(f"broker address {url!r}: only mqtt(s)://HOST:PORT is understood")
    user = username if username is not None else (unquote(parts.username) if parts.username else None)
    password: str | None = None
    if password_file is not None:
        password = read_password_file(Path(password_file))
    elif env.get(PASSWORD_ENV):
        password = env[PASSWORD_ENV]
    if password is not None and not user:
        raise BrokerConfigError("an MQTT password was given but no user name (mqtt://USER@HOST:PORT)")
    tls = scheme == "mqtts"
    if not tls and (ca_file or cert_file or key_file):
        raise BrokerConfigError("a CA or client certificate needs an mqtts:// address")
    if (cert_file is None) != (key_file is None) and key_file is not None:
        raise BrokerConfigError("a client key needs its client certificate")
    return BrokerConfig(
        host=parts.hostname, port=port or DEFAULT_PORTS[scheme], tls=tls, username=user, password=password,
        ca_file=_existing("CA file", ca_file), cert_file=_existing("client certificate", cert_file),
        key_file=_existing("client key", key_file),
    )
