"""Finding files in `resources/`: inside the installed package, or beside it in a source checkout."""

from __future__ import annotations

from importlib import resources as importlib_resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Path of a file under resources/ (raises FileNotFoundError naming it when absent)."""
    packaged = Path(str(importlib_resources.files("kapmonitor"))) / "resources"
    for base in (packaged, Path(__file__).resolve().parent.parent / "resources"):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"resource not found: {'/'.join(parts)}")
