"""Subcommands of the `kapmonitor` command line, one module each (imported only when used)."""


class CommandError(Exception):
    """A user-facing one-line error; the CLI prints it and exits with code 2."""
