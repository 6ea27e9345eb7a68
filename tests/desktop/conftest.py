"""Fixtures of the real-desktop tests (see desktop_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from desktop_support import Desktop


@pytest.fixture(scope="module")
def desktop_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int, int], Desktop]]:
    made: list[Desktop] = []

    def make(width: int, height: int) -> Desktop:
        d = Desktop(width, height, tmp_path_factory.mktemp(f"desktop{width}x{height}"))
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()
