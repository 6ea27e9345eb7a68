"""kapmonitor: bedside vital-sign monitoring, infusion record and session music for ketamine-assisted psychotherapy.

This package root imports nothing beyond the standard library so that `kapmonitor --version`
and the set-up scripts work before the heavy dependencies are loaded.
"""

import os

__version__ = "0.1.0"

# No large linear algebra anywhere in kapmonitor: numpy's OpenBLAS needs no worker threads, whose
# start-up spins a second core for ~0.1 s (before the first paint, beside the monitor's own threads).
# Set before numpy is loaded (every entry point imports this package first); a value set outside stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
