"""Errors of the exporters."""

from __future__ import annotations


class ExportError(Exception):
    """An export cannot be done; the message says why in one line (missing file, corrupt db, ...)."""


class ExportCancelled(ExportError):  # noqa: N818 - a cancel is not an error to the user
    """The user cancelled the export; nothing was written."""
