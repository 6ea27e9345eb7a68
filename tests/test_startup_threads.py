"""Start-up: numpy's OpenBLAS starts no worker threads in kapmonitor (they spin a core for ~0.1 s
while the window is built, and kapmonitor does no large linear algebra); a value set by the
administrator is kept. Fresh interpreters, the real numpy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COUNT = (
    "import os, kapmonitor, numpy\n"
    "before = len(os.listdir('/proc/self/task'))\n"
    "numpy.ones((64, 64)) @ numpy.ones((64, 64))\n"  # BLAS works, on the calling thread
    "print(os.environ['OPENBLAS_NUM_THREADS'], before, len(os.listdir('/proc/self/task')))\n"
)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="threads counted in /proc (Linux)")
def test_numpy_loaded_by_kapmonitor_starts_no_blas_threads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", COUNT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]  # the main thread alone, before and after a matrix product


def test_an_administrators_setting_is_kept() -> None:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", COUNT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "2"
