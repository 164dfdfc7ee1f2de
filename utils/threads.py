"""Settings of the OpenMP / MKL thread runtime that must be in place before torch is imported.

The OpenMP runtime (libgomp in the CPU wheels) reads ``OMP_DYNAMIC`` once, when torch loads it;
MKL reads ``MKL_DYNAMIC`` at its first call. With dynamic adjustment on, a parallel region may run
with fewer threads than asked (libgomp: fewer when the load average is high), and torch's CPU
reductions then split their sums differently, so the bits of a result would depend on the load.
An ``OMP_DYNAMIC=TRUE`` inherited from the environment also stalls torch 2.13's CPU build: two
training steps of the THUMOS model took over 200 s instead of 11 s on a 2-core machine.
This module imports nothing heavy, so the entry scripts (and ``tools.sweep``) can use it first.

It also decides how many threads a run uses (:func:`choose_threads`), in this order:

1. ``--threads N``;
2. the share a sweep gives each of its runs (``tools.sweep`` sets ``FTCL_SWEEP_THREADS`` to its
   cores divided by ``--jobs``, its cores being ``SLURM_CPUS_PER_TASK`` when set);
3. ``SLURM_CPUS_PER_TASK``, the CPUs Slurm allocated to the task (Slurm sets it with
   ``--cpus-per-task``, but not ``OMP_NUM_THREADS``, and where tasks are not pinned to cores each
   would otherwise run as many threads as the node has cores);
4. torch's default (``OMP_NUM_THREADS`` when set, else the physical cores torch finds).

A sweep's share comes before Slurm's count because it is computed from it: a ``--jobs 2`` sweep in
one 4-CPU task gives each run 2 threads, not 4.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping

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


SWEEP_THREADS_ENV = "FTCL_SWEEP_THREADS"
"""Set by ``tools.sweep`` for each run it starts: that run's share of the sweep's cores."""
SLURM_CPUS_ENV = "SLURM_CPUS_PER_TASK"


@dataclass(frozen=True)
class ThreadChoice:
    """A run's CPU thread count (None: torch's default) and where it comes from, in words."""

    count: int | None
    source: str


def _env_count(environ: Mapping[str, str], name: str) -> int | None:
    """The whole number >= 1 in ``environ[name]`` (None when unset or empty); ValueError with one
    line naming the variable otherwise."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"environment variable {name}={value!r}: expected a whole number of "
                         "CPU threads >= 1")
    return int(value)


def choose_threads(flag: int | None, environ: Mapping[str, str] | None = None) -> ThreadChoice:
    """The thread count of a run, by the order of the module docstring: ``flag`` (``--threads``),
    then ``FTCL_SWEEP_THREADS``, then ``SLURM_CPUS_PER_TASK``, then torch's default (count
    None). ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    if flag is not None:
        return ThreadChoice(flag, "--threads")
    for name, what in ((SWEEP_THREADS_ENV, "the sweep's share of its cores"),
                       (SLURM_CPUS_ENV, "the CPUs Slurm allocated to the task")):
        count = _env_count(env, name)
        if count is not None:
            return ThreadChoice(count, f"{name}={count}, {what}")
    return ThreadChoice(None, "torch's default: OMP_NUM_THREADS if set, else the physical cores")


def usable_cores(environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """The CPUs this process may use and where that number comes from: ``SLURM_CPUS_PER_TASK``
    when set, else the CPUs of its affinity mask (all of the machine's unless pinned)."""
    env = os.environ if environ is None else environ
    slurm = _env_count(env, SLURM_CPUS_ENV)
    if slurm is not None:
        return slurm, SLURM_CPUS_ENV
    try:
        return len(os.sched_getaffinity(0)), "CPU affinity"
    except AttributeError:      # no sched_getaffinity (macOS)
        return os.cpu_count() or 1, "os.cpu_count()"


def sweep_share(jobs: int, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """Threads for each of ``jobs`` runs side by side: the usable cores divided by ``jobs``
    (rounded down, at least 1), with the reckoning in words."""
    cores, source = usable_cores(environ)
    share = max(1, cores // jobs)
    return share, (f"{cores} core{'s' if cores > 1 else ''} ({source}) / {jobs} "
                   f"job{'s' if jobs > 1 else ''}")
