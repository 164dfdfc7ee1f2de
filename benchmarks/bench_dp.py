"""Benchmark of the batched DP losses (losses/dp.py) against the literal loop and the floor.

For 16 pairs: FSD (L=5, 1024-d candidates split in halves: match = cosine of the first halves,
gap = cosine of the second halves, gamma=0.1) and hard LCS (L=30, 2048-d, raw cosine, threshold
0.92). Two measurements per case and pass ("fwd+bwd" adds .backward()):

- DP on given tables: ``losses.dp`` against the literal per-cell loop reference, both on the same
  similarity tables given as leaves (requires_grad). Target: loop / dp >= 50.
- End to end: from leaf candidates (requires_grad) to cosine tables to the DP to a scalar, for the
  DP, the loop and the literal port of the original; the floor is the cosine tables alone.
  Target: dp / floor <= 3 (fwd+bwd).

Variants run round-robin within one process; each figure is the median over the repetitions.
A last line per case counts the ops one end-to-end fwd+bwd dispatches to kernels: on a GPU, in
eager mode, each is a launch (the figure to weigh against a CUDA graph).

    python -m benchmarks.bench_dp [--device cuda] [--reps 50] [--loop-reps 9] [--threads 1]
                                  [--json OUT]
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losses.dp import fsd_score, lcs_score  # noqa: E402
from losses.similarity import cosine_table  # noqa: E402
from tests.reference.loop_dp import loop_fsd, loop_lcs  # noqa: E402
from tests.reference.original_losses import cosine, fsd_dp, lcs_dp  # noqa: E402

BATCH = 16
SPEEDUP_TARGET = 50.0
FLOOR_TARGET = 3.0


def correlated(gen: torch.Generator, length: int, dim: int, device: torch.device) -> Tensor:
    """(B, length, dim) leaf: per pair a shared base vector + noise of varying scale (0.15-0.65)."""
    base = torch.randn(BATCH, 1, dim, generator=gen)
    scale = 0.15 + 0.5 * torch.rand(BATCH, length, 1, generator=gen)
    return (base + scale * torch.randn(BATCH, length, dim, generator=gen)).to(device)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn: Callable[[], Tensor], backward: bool, leaves: list[Tensor], device: torch.device) -> float:
    """Seconds for one call of ``fn`` (and its backward), synchronised on CUDA."""
    for leaf in leaves:
        leaf.grad = None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if backward:
        out.backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def measure(variants: dict[str, tuple[Callable[[], Tensor], int]], leaves: list[Tensor],
            device: torch.device, backward: bool) -> dict[str, float]:
    """Median milliseconds per variant; variants run round-robin, each up to its own rep count."""
    for fn, _ in variants.values():
        for _ in range(2):
            timed(fn, backward, leaves, device)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(max(reps for _, reps in variants.values())):
        for name, (fn, reps) in variants.items():
            if rep < reps:
                samples[name].append(timed(fn, backward, leaves, device))
    return {name: 1e3 * statistics.median(s) for name, s in samples.items()}


class _OpCounter(TorchDispatchMode):
    """Counts the ops that reach the kernels (below autograd): views, and the rest, each of which
    is one kernel launch on a GPU."""

    def __init__(self) -> None:
        super().__init__()
        self.views = self.kernels = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.is_view:
            self.views += 1
        else:
            self.kernels += 1
        return func(*args, **(kwargs or {}))


def count_ops(fn: Callable[[], Tensor], leaves: list[Tensor]) -> tuple[int, int]:
    """(kernel ops, view ops) dispatched by one call of ``fn`` and its backward."""
    for leaf in leaves:
        leaf.grad = None
    with _OpCounter() as counter:
        fn().backward()
    return counter.kernels, counter.views


def cases(device: torch.device, reps: int, loop_reps: int) -> dict[str, tuple]:
    """name -> (variants, leaves) for the FSD and LCS benchmarks."""
    gen = torch.Generator().manual_seed(0)
    f0, f1 = (correlated(gen, 5, 1024, device).requires_grad_() for _ in range(2))
    base = correlated(gen, 30, 2048, device)
    l0 = base.clone().requires_grad_()
    l1 = (base[:, :1] + (0.15 + 0.5 * torch.rand(BATCH, 30, 1, generator=gen)).to(device)
          * torch.randn(BATCH, 30, 2048, generator=gen).to(device)).requires_grad_()

    def fsd_tables() -> tuple[Tensor, Tensor]:
        return (cosine_table(f0[..., :512], f1[..., :512]),
                cosine_table(f0[..., 512:], f1[..., 512:]))

    fsd = {
        "dp": (lambda: fsd_score(*fsd_tables(), gamma=0.1).sum(), reps),
        "loop": (lambda: loop_fsd(*fsd_tables(), gamma=0.1).sum(), loop_reps),
        "floor": (lambda: sum(t.sum() for t in fsd_tables()), reps),
        "original": (lambda: sum(fsd_dp(a, b, 5) for a, b in zip(f0, f1)), loop_reps),
    }
    lcs = {
        "dp": (lambda: lcs_score(cosine_table(l0, l1), 0.92).sum(), reps),
        "loop": (lambda: loop_lcs(cosine_table(l0, l1), 0.92).sum(), loop_reps),
        "floor": (lambda: cosine_table(l0, l1).sum(), reps),
        "original": (lambda: sum(lcs_dp(cosine(a, b), 30, 0.92) for a, b in zip(l0, l1)),
                     loop_reps),
    }
    with torch.no_grad():
        match, gap = (t.clone().requires_grad_() for t in fsd_tables())
        sim = cosine_table(l0, l1).requires_grad_()
    fsd_alone = {"dp": (lambda: fsd_score(match, gap, gamma=0.1).sum(), reps),
                 "loop": (lambda: loop_fsd(match, gap, gamma=0.1).sum(), loop_reps)}
    lcs_alone = {"dp": (lambda: lcs_score(sim, 0.92).sum(), reps),
                 "loop": (lambda: loop_lcs(sim, 0.92).sum(), loop_reps)}
    return {"FSD 16 pairs, L=5, gamma=0.1": (fsd, [f0, f1], fsd_alone, [match, gap]),
            "LCS 16 pairs, L=30, threshold 0.92": (lcs, [l0, l1], lcs_alone, [sim])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda only if available)")
    parser.add_argument("--reps", type=int, default=50, help="repetitions of the DP and the floor")
    parser.add_argument("--loop-reps", type=int, default=9, help="repetitions of the loop reference")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 as in the spec's measurements; 0 = torch default)")
    parser.add_argument("--json", type=Path, default=None, help="save the figures to this file")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    device = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{cpu_model()}, torch threads: {torch.get_num_threads()}")
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"machine: {machine}; torch {torch.__version__}; {when}")
    print("dp = losses.dp; loop = tests/reference/loop_dp.py (plain per-cell loops); floor = the "
          "cosine tables alone; original = literal port of the original loops (per-cell table "
          "rebuild, in-place writes, Python max on tensors)")
    print(f"median ms over {args.reps} reps (loop, original: {args.loop_reps}); targets: "
          f"loop/dp >= {SPEEDUP_TARGET:g} on given tables, dp/floor <= {FLOOR_TARGET:g} end to end "
          "(fwd+bwd)")
    report: dict = {"machine": machine, "torch": torch.__version__, "date": when,
                    "device": str(device), "cases": {}}
    for name, (variants, leaves, alone, tables) in cases(device, args.reps,
                                                         args.loop_reps).items():
        print(f"\n{name}")
        print(f"  {'':8s} {'on given tables':^29s} | {'end to end (from candidate features)':^62s}")
        print(f"  {'pass':8s} " + " ".join(f"{h:>9s}" for h in ("dp", "loop", "loop/dp")) + " | " +
              " ".join(f"{h:>9s}" for h in ("dp", "loop", "floor", "original", "dp/floor",
                                             "orig/dp")))
        report["cases"][name] = {}
        for backward in (False, True):
            on_tables = measure(alone, tables, device, backward)
            ms = measure(variants, leaves, device, backward)
            row = {"tables_dp": on_tables["dp"], "tables_loop": on_tables["loop"],
                   "loop_over_dp": on_tables["loop"] / on_tables["dp"], **ms,
                   "dp_over_floor": ms["dp"] / ms["floor"],
                   "original_over_dp": ms["original"] / ms["dp"]}
            label = "fwd+bwd" if backward else "fwd"
            print(f"  {label:8s} {row['tables_dp']:9.3f} {row['tables_loop']:9.3f} "
                  f"{row['loop_over_dp']:8.1f}x | {ms['dp']:9.3f} {ms['loop']:9.3f} "
                  f"{ms['floor']:9.3f} {ms['original']:9.3f} {row['dp_over_floor']:8.2f}x "
                  f"{row['original_over_dp']:8.1f}x")
            report["cases"][name][label] = row
        kernels, views = count_ops(variants["dp"][0], leaves)
        print(f"  ops per fwd+bwd end to end: {kernels} kernel launches (+{views} views), the "
              "launch count a GPU pays in eager mode")
        report["cases"][name]["ops_fwd_bwd"] = {"kernels": kernels, "views": views}
        final = report["cases"][name]["fwd+bwd"]
        fast, near = final["loop_over_dp"] >= SPEEDUP_TARGET, final["dp_over_floor"] <= FLOOR_TARGET
        print(f"  {'PASS' if fast else 'FAIL'}: fwd+bwd on given tables, {final['loop_over_dp']:.1f}x "
              f"faster than the loop reference (target >= {SPEEDUP_TARGET:g}x)")
        print(f"  {'PASS' if near else 'FAIL'}: fwd+bwd end to end, {final['dp_over_floor']:.2f}x "
              f"the floor (target <= {FLOOR_TARGET:g}x)")
        final.update(speedup_pass=fast, floor_pass=near)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
