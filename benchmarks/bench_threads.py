"""Benchmark: the DP losses at the run's thread count against ``losses.dp.DP_THREADS``.

The cases of ``benchmarks/bench_dp.py`` (16 pairs: FSD L=5, LCS L=30), forward+backward, the DP
on given tables and end to end (cosine tables included), for each torch thread count of the run
(1 .. the usable cores) with the DP at that count ("run") and at ``DP_THREADS`` ("pinned").
Configurations run round-robin within each repetition, so a changing load hits them alike;
``--busy N`` starts N spinning processes for the duration (the load of a sweep's other jobs, or
of another user). Figures are medians over the repetitions, in ms.

    python -m benchmarks.bench_threads [--busy 1] [--reps 30] [--json OUT]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.threads import configure_thread_runtime  # noqa: E402

if "torch" not in sys.modules:
    configure_thread_runtime()      # as the entry scripts: fixed OpenMP / MKL teams
import torch  # noqa: E402

from benchmarks.bench_dp import cases, cpu_model, timed  # noqa: E402
from losses import dp  # noqa: E402

SPIN = "while True: pass"


def measure_all(reps: int, thread_counts: list[int]) -> dict[str, dict[str, float]]:
    """{"<case>, <where>": {"<run threads> run|pinned": median ms}} for fwd+bwd."""
    device = torch.device("cpu")
    setups = []
    for name, (variants, leaves, alone, tables) in cases(device, reps, 1).items():
        short = name.split(",")[0]
        setups.append((f"{short}, on given tables", alone["dp"][0], tables))
        setups.append((f"{short}, end to end", variants["dp"][0], leaves))
    configs = [(t, mode) for t in thread_counts for mode in ("run", "pinned")]
    samples: dict[tuple[str, int, str], list[float]] = {}
    pinned_to = dp.DP_THREADS
    try:
        for rep in range(reps + 2):             # the first two are warm-up
            for threads, mode in configs:
                torch.set_num_threads(threads)
                dp.DP_THREADS = None if mode == "run" else pinned_to
                for label, fn, leaves in setups:
                    ms = 1e3 * timed(fn, True, leaves, device)
                    if rep >= 2:
                        samples.setdefault((label, threads, mode), []).append(ms)
    finally:
        dp.DP_THREADS = pinned_to
    table: dict[str, dict[str, float]] = {}
    for (label, threads, mode), values in samples.items():
        table.setdefault(label, {})[f"{threads} {mode}"] = statistics.median(values)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0,
                        help="spinning processes to run alongside (default 0)")
    parser.add_argument("--reps", type=int, default=30, help="repetitions (default 30)")
    parser.add_argument("--json", type=Path, default=None, help="save the figures to this file")
    args = parser.parse_args(argv)
    if args.busy < 0 or args.reps < 1:
        parser.error("--busy must be >= 0 and --reps >= 1")
    cores = len(os.sched_getaffinity(0))
    counts = list(range(1, cores + 1))
    before, load = torch.get_num_threads(), os.getloadavg()[0]
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    try:
        table = measure_all(args.reps, counts)
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
        torch.set_num_threads(before)
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"machine: {cpu_model()}, {cores} usable cores; torch {torch.__version__}; {when}; "
          f"{args.busy} spinning process(es) alongside; load average before: {load:.2f}")
    print(f"DP fwd+bwd, median ms over {args.reps} reps; run = the DP at the run's threads, "
          f"pinned = at DP_THREADS={dp.DP_THREADS}")
    columns = [f"{t} {mode}" for t in counts for mode in ("run", "pinned")]
    print(f"  {'case':36s} " + " ".join(f"{c:>10s}" for c in columns))
    for label, row in table.items():
        print(f"  {label:36s} " + " ".join(f"{row[c]:10.2f}" for c in columns))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"date": when, "busy": args.busy, "cores": cores,
                                         "dp_threads": dp.DP_THREADS, "ms": table}, indent=2)
                             + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
