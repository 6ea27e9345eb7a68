"""Drivers registered by name and imported only when used, so a missing optional part of one
driver never breaks the others (and start-up stays quick)."""

from __future__ import annotations

import importlib

from kapmonitor.drivers.base import Decoder, Driver, DriverOptions
from kapmonitor.drivers.errors import DriverError, UnknownDriverError
from kapmonitor.model.clock import Clock

# name -> "module:Class"
_DRIVERS: dict[str, str] = {
    "simulated": "kapmonitor.drivers.simulator:SimulatedMonitor",
    "ge-s5": "kapmonitor.drivers.ge_s5.driver:GeS5Driver",
    "philips-intellivue": "kapmonitor.drivers.intellivue.driver:IntelliVueDriver",
    "hl7": "kapmonitor.drivers.hl7.driver:Hl7Driver",
    "masimo-ascii1": "kapmonitor.drivers.masimo.driver:MasimoAscii1Driver",
    "ivy-450c": "kapmonitor.drivers.ivy.driver:Ivy450cDriver",
}


# name -> "module:Class" of the protocol's pure decoder (used by `decode` and `replay`)
_DECODERS: dict[str, str] = {
    "ge-s5": "kapmonitor.drivers.ge_s5.decoder:GeS5Decoder",
    "philips-intellivue": "kapmonitor.drivers.intellivue.decoder:IntelliVueDecoder",
    "hl7": "kapmonitor.drivers.hl7.decoder:Hl7Decoder",
    "masimo-ascii1": "kapmonitor.drivers.masimo.decoder:MasimoDecoder",
    "ivy-450c": "kapmonitor.drivers.ivy.decoder:IvyDecoder",
}


def available_drivers() -> list[str]:
    """Names of all registered drivers, in a stable order."""
    return list(_DRIVERS)


def driver_class(name: str) -> type[Driver]:
    """The class registered under `name`. Raises UnknownDriverError."""
    try:
        target = _DRIVERS[name]
    except KeyError:
        known = ", ".join(_DRIVERS)
        raise UnknownDriverError(f"unknown driver {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DriverError(f"driver {name!r} is not available: {exc}") from exc
    cls: type[Driver] = getattr(module, class_name)
    return cls


def create_driver(name: str, options: DriverOptions, clock: Clock) -> Driver:
    """A new, not yet opened driver."""
    return driver_class(name)(options, clock)


def decodable_drivers() -> list[str]:
    """Names of drivers whose captures can be decoded offline."""
    return list(_DECODERS)


def create_decoder(name: str) -> Decoder:
    """A fresh decoder for the protocol of driver `name`. Raises UnknownDriverError."""
    try:
        target = _DECODERS[name]
    except KeyError:
        known = ", ".join(_DECODERS)
        raise UnknownDriverError(f"no decoder for driver {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    cls: type[Decoder] = getattr(importlib.import_module(module_name), class_name)
    return cls()
