"""Settings of the OpenMP / MKL thread runtime that must be in place before torch is imported.

The OpenMP runtime (libgomp in the CPU wheels) reads ``OMP_DYNAMIC`` once, when torch loads it;
MKL reads ``MKL_DYNAMIC`` at its first call. With dynamic adjustment on, a parallel region may run
with fewer threads than asked (libgomp: fewer when the load average is high), and torch's CPU
reductions then split their sums differently, so the bits of a result would depend on the load.
An ``OMP_DYNAMIC=TRUE`` inherited from the environment also stalls torch 2.13's CPU build: two
training steps of the THUMOS model took over 200 s instead of 11 s on a 2-core machine.
This module imports nothing heavy, so the entry scripts can call it first.
"""
from __future__ import annotations

import os
import sys

# Fixed thread teams: the count torch asks for is the count that runs.
RUNTIME_ENV = {"OMP_DYNAMIC": "FALSE", "MKL_DYNAMIC": "FALSE"}


def configure_thread_runtime() -> None:
    """Turn dynamic thread adjustment off in the OpenMP and MKL runtimes (``RUNTIME_ENV``,
    overriding the environment). Call before the first ``import torch`` (RuntimeError after it);
    the thread count itself is set afterwards by ``utils.seeding.fix_threads``."""
    if "torch" in sys.modules:
        raise RuntimeError("configure_thread_runtime() must run before torch is imported (the "
                           "OpenMP runtime reads OMP_DYNAMIC when torch loads it)")
    os.environ.update(RUNTIME_ENV)
