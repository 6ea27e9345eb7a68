"""Alarm profiles: limits, priorities, delays, pre-start checks and behaviour timings, from TOML.

A profile is immutable once loaded; changing a limit makes a new profile (so the engine and the
GUI can share one safely across threads). `load_profile` validates everything and raises
`ProfileError` with a message naming the offending entry; `load_profile_or_default` never
leaves the program without limits.

Every profile's limits pass the checks of kapmonitor.alarms.limits_rules (limits with sense): a
limit beyond its plausible band switches its alarm off in effect and is refused (`AlarmOffError`)
unless the caller explicitly allows it (the per-session change with the administrator PIN and a
reason); `AlarmProfile.alarms_off()` then names it for a permanent notice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from kapmonitor.alarms.limits_rules import RISE_RANGES, check_limits, off_text, switches_off
from kapmonitor.alarms.limits_rules import AlarmOffError as AlarmOffError  # raised by parse_profile
from kapmonitor.alarms.limits_rules import ProfileError as ProfileError  # raised by every loader here
from kapmonitor.model.parameters import Parameter
from kapmonitor.resources import resource_path

log = logging.getLogger(__name__)

DEFAULT_PROFILE_NAME = "alarm_profile.toml"

_COMPARISONS = ("above_or_equal", "above", "below", "below_or_equal")


class Priority(IntEnum):
    """Alarm priority; a larger value is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def marker(self) -> str:
        return "*" * int(self)

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Priority:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown priority {text!r} (low, medium, high)") from None


@dataclass(frozen=True)
class Threshold:
    """One side of a limit: `value` compared with `comparison`."""

    comparison: str  # one of _COMPARISONS
    value: float

    @property
    def is_upper(self) -> bool:
        return self.comparison.startswith("above")

    def violated_by(self, x: float) -> bool:
        c = self.comparison
        if c == "above_or_equal":
            return x >= self.value
        if c == "above":
            return x > self.value
        if c == "below":
            return x < self.value
        return x <= self.value

    @property
    def symbol(self) -> str:
        return {"above_or_equal": "\u2265", "above": ">", "below": "<", "below_or_equal": "\u2264"}[self.comparison]


@dataclass(frozen=True)
class LimitRule:
    """A limit on one parameter at one priority, with its condition delay."""

    parameter: Parameter
    priority: Priority
    thresholds: tuple[Threshold, ...]
    delay_s: float = 0.0
    message_above: str = ""
    message_below: str = ""

    def violation(self, x: float) -> Threshold | None:
        for th in self.thresholds:
            if th.violated_by(x):
                return th
        return None

    def message_for(self, th: Threshold) -> str:
        text = self.message_above if th.is_upper else self.message_below
        return text or f"{self.parameter.value} {th.symbol} {th.value:g}"


@dataclass(frozen=True)
class RiseRule:
    priority: Priority = Priority.MEDIUM
    systolic: float = 40.0
    diastolic: float = 25.0


@dataclass(frozen=True)
class PrestartRule:
    parameter: Parameter
    action: str  # "confirm" or "block"
    thresholds: tuple[Threshold, ...]


@dataclass(frozen=True)
class TechnicalSettings:
    link_lost_s: float = 10.0
    nibp_overdue_grace_s: float = 120.0
    nibp_overdue_priority: Priority = Priority.MEDIUM


@dataclass(frozen=True)
class BehaviourSettings:
    audio_pause_s: float = 120.0
    audio_pause_max_s: float = 900.0
    reminder_s: float = 180.0
    escalation_s: float = 120.0


@dataclass(frozen=True)
class AlarmProfile:
    """A complete, validated alarm profile."""

    name: str
    limits: tuple[LimitRule, ...]
    rise: RiseRule = field(default_factory=RiseRule)
    prestart: tuple[PrestartRule, ...] = ()
    technical: TechnicalSettings = field(default_factory=TechnicalSettings)
    behaviour: BehaviourSettings = field(default_factory=BehaviourSettings)
    version: int = 1
    signed_off_by: str = ""
    signed_off_on: str = ""
    source: str = "built-in"

    def rules_for(self, parameter: Parameter) -> list[LimitRule]:
        """Rules of `parameter`, most urgent first."""
        return sorted((r for r in self.limits if r.parameter is parameter), key=lambda r: -r.priority)

    def classify(self, parameter: Parameter, value: float) -> tuple[LimitRule, Threshold] | None:
        """The most urgent rule `value` violates (ignoring delays), or None when within limits."""
        for rule in self.rules_for(parameter):
            th = rule.violation(value)
            if th is not None:
                return rule, th
        return None

    def limit_lines(self, parameter: Parameter) -> list[tuple[float, Priority]]:
        """(threshold value, priority) of every limit of `parameter`, for plotting."""
        return [(th.value, rule.priority) for rule in self.rules_for(parameter) for th in rule.thresholds]

    def with_rule(self, index: int, rule: LimitRule) -> AlarmProfile:
        limits = list(self.limits)
        limits[index] = rule
        return replace(self, limits=tuple(limits))

    def alarms_off(self) -> list[str]:
        """One text per limit that lies beyond its plausible band (its alarm is off in effect)."""
        return [off_text(rule, th) for rule in self.limits for th in rule.thresholds
                if switches_off(rule.parameter, th)]

    @property
    def digest(self) -> str:
        """SHA-256 of the profile's canonical settings (comments and layout of the file do not count)."""
        return profile_hash(self)


# -- parsing ----------------------------------------------------------------------------------

def _thresholds(entry: dict[str, Any], where: str) -> tuple[Threshold, ...]:
    out = []
    for key in _COMPARISONS:
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ProfileError(f"{where}: {key} must be a number, not {value!r}")
            out.append(Threshold(key, float(value)))
    if not out:
        raise ProfileError(f"{where}: needs at least one of {', '.join(_COMPARISONS)}")
    uppers = [t.value for t in out if t.is_upper]
    lowers = [t.value for t in out if not t.is_upper]
    if len(uppers) > 1 or len(lowers) > 1:
        raise ProfileError(f"{where}: at most one upper (above...) and one lower (below...) limit per entry")
    if uppers and lowers and min(uppers) <= max(lowers):
        raise ProfileError(f"{where}: the upper limit {min(uppers):g} must be above the lower limit {max(lowers):g}")
    return tuple(out)


def _parameter(entry: dict[str, Any], where: str) -> Parameter:
    try:
        return Parameter(str(entry.get("parameter", "")))
    except ValueError:
        raise ProfileError(f"{where}: unknown parameter {entry.get('parameter')!r}") from None


def _priority(value: object, where: str) -> Priority:
    if not isinstance(value, str):
        raise ProfileError(f"{where}: priority must be low, medium or high, not {value!r}")
    try:
        return Priority.parse(value)
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None


def _number(section: dict[str, Any], key: str, default: float, where: str, minimum: float = 0.0,
            maximum: float = float("inf")) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ProfileError(f"{where}: {key} must be a number, not {value!r}")
    if value < minimum:
        raise ProfileError(f"{where}: {key} must be at least {minimum:g}, not {value!r}")
    if value > maximum:
        raise ProfileError(f"{where}: {key} must be at most {maximum:g}, not {value!r}")
    return float(value)


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"[{key}] must be a table, not {value!r}")
    return value


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ProfileError(f"[[{key}]] must be a list of tables")
    return value


def _text(section: dict[str, Any], key: str, default: str, where: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ProfileError(f"{where}: {key} must be text, not {value!r}")
    return value


def parse_profile(data: dict[str, Any], source: str = "built-in", allow_alarm_off: bool = False) -> AlarmProfile:
    """Validate a profile's TOML data. Raises ProfileError (AlarmOffError for a limit that switches
    an alarm off, unless `allow_alarm_off`)."""
    if not isinstance(data, dict):
        raise ProfileError("a profile must be a TOML table")
    head = _table(data, "profile")
    limits = []
    for i, entry in enumerate(_tables(data, "limits")):
        where = f"limits[{i}]"
        parameter = _parameter(entry, where)
        limits.append(
            LimitRule(
                parameter=parameter,
                priority=_priority(entry.get("priority", ""), where),
                thresholds=_thresholds(entry, where),
                delay_s=_number(entry, "delay_s", 0.0, where),
                message_above=_text(entry, "message_above", "", where),
                message_below=_text(entry, "message_below", "", where),
            )
        )
    if not limits:
        raise ProfileError("the profile has no [[limits]]: kapmonitor never runs without limits")
    for parameter in {r.parameter for r in limits}:
        rules = [r for r in limits if r.parameter is parameter]
        if len({r.priority for r in rules}) != len(rules):
            raise ProfileError(f"limits of {parameter.value}: more than one rule with the same priority")
    check_limits(tuple(limits), allow_alarm_off)
    rise_d = _table(data, "rise")
    rise = RiseRule(
        priority=_priority(rise_d.get("priority", "medium"), "rise"),
        systolic=_number(rise_d, "systolic", 40.0, "rise", RISE_RANGES["systolic"].low, RISE_RANGES["systolic"].high),
        diastolic=_number(rise_d, "diastolic", 25.0, "rise", RISE_RANGES["diastolic"].low,
                          RISE_RANGES["diastolic"].high),
    )
    prestart = []
    for i, entry in enumerate(_tables(data, "prestart")):
        where = f"prestart[{i}]"
        action = entry.get("action", "")
        if action not in ("confirm", "block"):
            raise ProfileError(f"{where}: action must be 'confirm' or 'block', not {action!r}")
        prestart.append(PrestartRule(_parameter(entry, where), action, _thresholds(entry, where)))
    tech_d = _table(data, "technical")
    technical = TechnicalSettings(
        link_lost_s=_number(tech_d, "link_lost_s", 10.0, "technical", 1.0, 60.0),
        nibp_overdue_grace_s=_number(tech_d, "nibp_overdue_grace_s", 120.0, "technical", 0.0, 900.0),
        nibp_overdue_priority=_priority(tech_d.get("nibp_overdue_priority", "medium"), "technical"),
    )
    beh_d = _table(data, "behaviour")
    behaviour = BehaviourSettings(
        audio_pause_s=_number(beh_d, "audio_pause_s", 120.0, "behaviour", 10.0),
        audio_pause_max_s=_number(beh_d, "audio_pause_max_s", 900.0, "behaviour", 10.0),
        reminder_s=_number(beh_d, "reminder_s", 180.0, "behaviour", 10.0, 900.0),
        escalation_s=_number(beh_d, "escalation_s", 120.0, "behaviour", 10.0, 900.0),
    )
    if behaviour.audio_pause_s > behaviour.audio_pause_max_s or behaviour.audio_pause_max_s > 900:
        raise ProfileError("behaviour: audio_pause_s must not exceed audio_pause_max_s, which is capped at 900 s")
    version = head.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProfileError(f"profile: version must be a whole number of at least 1, not {version!r}")
    return AlarmProfile(
        name=_text(head, "name", "unnamed", "profile"),
        version=version,
        signed_off_by=_text(head, "signed_off_by", "", "profile"),
        signed_off_on=str(head.get("signed_off_on", "")),  # TOML may hold a date here
        limits=tuple(limits),
        rise=rise,
        prestart=tuple(prestart),
        technical=technical,
        behaviour=behaviour,
        source=source,
    )


def load_profile(path: Path) -> AlarmProfile:
    """Read and validate a profile file. Raises ProfileError with a one-line reason.

    Every way a file can be wrong ends here as ProfileError: unreadable, not UTF-8 (e.g. a Latin-1
    "Dr. Müller"), not TOML, wrong types, implausible limits.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProfileError(f"cannot read alarm profile {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProfileError(
            f"alarm profile {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            "save it as UTF-8") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"alarm profile {path} is not valid TOML: {exc}") from exc
    try:
        return parse_profile(data, source=str(path))
    except ProfileError as exc:
        raise ProfileError(f"alarm profile {path}: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape the checks above missed
        raise ProfileError(f"alarm profile {path} has an entry of the wrong type: {exc}") from exc


BUILTIN_SOURCE = "built-in"


def default_profile() -> AlarmProfile:
    """The built-in default profile shipped in resources/ (always valid; tested)."""
    return replace(load_profile(resource_path(DEFAULT_PROFILE_NAME)), source=BUILTIN_SOURCE)


def is_builtin(profile: AlarmProfile) -> bool:
    """True for the shipped default profile, unchanged (it needs no clinic sign-off)."""
    return profile.source == BUILTIN_SOURCE and profile.digest == default_profile().digest


def clinic_profile_path() -> Path:
    """Where the clinic's own signed-off profile lives (the profile editor saves here)."""
    from kapmonitor.config import config_dir

    return config_dir() / DEFAULT_PROFILE_NAME


def load_clinic_profile(path: Path | None = None) -> tuple[AlarmProfile, str | None]:
    """`path` if given, else the clinic's profile if there is one, else the built-in default.

    Never without limits: a broken file gives the built-in default and a message to show. A
    profile that is not the clinic's signed-off one (hash) is used, and named in the message and
    the log.
    """
    if path is None:
        clinic = clinic_profile_path()
        if not clinic.exists():
            return default_profile(), None
        path = clinic
    profile, warning = load_profile_or_default(path)
    if warning is None:
        from kapmonitor.alarms.signoff import signoff_problem

        warning = signoff_problem(profile)
        if warning is not None:
            log.warning("%s", warning)
    return profile, warning


def load_profile_or_default(path: Path | None) -> tuple[AlarmProfile, str | None]:
    """The profile at `path`, or the built-in default with a message saying why it was not used."""
    if path is None:
        return default_profile(), None
    try:
        return load_profile(path), None
    except ProfileError as exc:
        log.error("%s; using the built-in default profile", exc)
        return default_profile(), f"{exc} \u2014 running on the built-in default limits"
    except Exception as exc:  # never without limits, whatever the file holds
        log.exception("alarm profile %s", path)
        return default_profile(), (
            f"alarm profile {path} cannot be used ({exc}) \u2014 running on the built-in default limits")


# -- writing and comparing --------------------------------------------------------------------

def profile_to_dict(profile: AlarmProfile) -> dict[str, Any]:
    """The TOML data of `profile` (inverse of `parse_profile`)."""
    limits: list[dict[str, Any]] = []
    for rule in profile.limits:
        entry: dict[str, Any] = {"parameter": rule.parameter.value, "priority": rule.priority.label}
        for th in rule.thresholds:
            entry[th.comparison] = th.value
        if rule.delay_s:
            entry["delay_s"] = rule.delay_s
        if rule.message_above:
            entry["message_above"] = rule.message_above
        if rule.message_below:
            entry["message_below"] = rule.message_below
        limits.append(entry)
    prestart: list[dict[str, Any]] = []
    for pre in profile.prestart:
        p_entry: dict[str, Any] = {"parameter": pre.parameter.value, "action": pre.action}
        for th in pre.thresholds:
            p_entry[th.comparison] = th.value
        prestart.append(p_entry)
    return {
        "profile": {
            "name": profile.name,
            "version": profile.version,
            "signed_off_by": profile.signed_off_by,
            "signed_off_on": profile.signed_off_on,
        },
        "limits": limits,
        "rise": {
            "priority": profile.rise.priority.label,
            "systolic": profile.rise.systolic,
            "diastolic": profile.rise.diastolic,
        },
        "prestart": prestart,
        "technical": {
            "link_lost_s": profile.technical.link_lost_s,
            "nibp_overdue_grace_s": profile.technical.nibp_overdue_grace_s,
            "nibp_overdue_priority": profile.technical.nibp_overdue_priority.label,
        },
        "behaviour": {
            "audio_pause_s": profile.behaviour.audio_pause_s,
            "audio_pause_max_s": profile.behaviour.audio_pause_max_s,
            "reminder_s": profile.behaviour.reminder_s,
            "escalation_s": profile.behaviour.escalation_s,
        },
    }


def save_profile(profile: AlarmProfile, path: Path) -> None:
    """Write `profile` as TOML atomically (a temporary file renamed over the target)."""
    import tomli_w

    path = Path(path)
    text = tomli_w.dumps(profile_to_dict(profile))
    parse_profile(tomllib.loads(text))  # never write a file that would not load
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def profile_hash(profile: AlarmProfile) -> str:
    """SHA-256 (hex) of the canonical settings of `profile`: the same limits give the same hash,
    whatever the file's comments, order or layout. Stored in the session record and at sign-off."""
    canonical = json.dumps(profile_to_dict(profile), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def profile_settings(profile: AlarmProfile) -> dict[tuple[str, str], str]:
    """Every setting of `profile` as (parameter-or-section, field) -> text, for diffs and the log."""
    out: dict[tuple[str, str], str] = {}
    for rule in profile.limits:
        for th in rule.thresholds:
            out[(rule.parameter.value, f"{rule.priority.label}.{th.comparison}")] = f"{th.value:g}"
        out[(rule.parameter.value, f"{rule.priority.label}.delay_s")] = f"{rule.delay_s:g}"
    out[("rise", "priority")] = profile.rise.priority.label
    out[("rise", "systolic")] = f"{profile.rise.systolic:g}"
    out[("rise", "diastolic")] = f"{profile.rise.diastolic:g}"
    for pre in profile.prestart:
        for th in pre.thresholds:
            out[(pre.parameter.value, f"prestart.{pre.action}.{th.comparison}")] = f"{th.value:g}"
    out[("technical", "link_lost_s")] = f"{profile.technical.link_lost_s:g}"
    out[("technical", "nibp_overdue_grace_s")] = f"{profile.technical.nibp_overdue_grace_s:g}"
    out[("technical", "nibp_overdue_priority")] = profile.technical.nibp_overdue_priority.label
    out[("behaviour", "audio_pause_s")] = f"{profile.behaviour.audio_pause_s:g}"
    out[("behaviour", "audio_pause_max_s")] = f"{profile.behaviour.audio_pause_max_s:g}"
    out[("behaviour", "reminder_s")] = f"{profile.behaviour.reminder_s:g}"
    out[("behaviour", "escalation_s")] = f"{profile.behaviour.escalation_s:g}"
    return out


def diff_profiles(old: AlarmProfile, new: AlarmProfile) -> list[tuple[str, str, str | None, str | None]]:
    """(parameter-or-section, field, old text, new text) of every setting that differs."""
    a, b = profile_settings(old), profile_settings(new)
    return [(k[0], k[1], a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
