"""Specific exceptions of the driver layer, so callers can react to each one."""


class DriverError(Exception):
    """Base of all driver errors."""


class UnknownDriverError(DriverError):
    """No driver is registered under the name asked for."""


class PortOpenError(DriverError):
    """The serial port (or URL) could not be opened; the message names it and says why."""


class LinkLostError(DriverError):
    """The open port went away (adapter unplugged, far end closed). The reader reconnects."""
