"""Finding files in `resources/`: inside the installed package, or beside it in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent  # what importlib.resources.files("kapmonitor") gives, without
# importing importlib.resources' machinery (~10 ms of start-up, for the alarm profile)


def resource_path(*parts: str) -> Path:
    """Path of a file under resources/ (raises FileNotFoundError naming it when absent)."""
    for base in (_PACKAGE / "resources", _PACKAGE.parent / "resources"):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"resource not found: {'/'.join(parts)}")
