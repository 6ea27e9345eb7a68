"""Shared fixtures. Tests run offscreen; Qt is only imported by tests that need it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
