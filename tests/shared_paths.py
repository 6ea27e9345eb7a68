"""Where the shared protocol fixtures are: `shared/` beside the repository (as in CI), or KAPMONITOR_SHARED."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("KAPMONITOR_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
PROTOCOLS = SHARED / "monitor-protocols"
CAPTURES = PROTOCOLS / "captures"
SPECS = PROTOCOLS / "specs"
