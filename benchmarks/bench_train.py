"""Seconds per training step at the real THUMOS'14 shapes (batch 16, T=750, D=2048).

Three steps are timed, each forward + loss + backward + Adam step on random features:
- ``acm``: ACM-Net alone (``--without_lcs --without_fsd``), one forward pass of B videos;
- ``acm+inbatch``: the original "baseline" stage (ACM-Net + in-batch LCS/FSD terms);
- ``ftcl_pair``: the FTCL pair stage, two forward passes of B videos each + the pair losses;
- ``aicl``: AICL's step (``--method aicl``: its model and its one loss term), with ``--aicl``.
Target: ftcl_pair <= 2.2 x acm (two forward passes; the DP must add almost nothing).
Deterministic algorithms are on as in training (always on the CPU, ``--deterministic`` on CUDA);
``--deterministic off`` times the non-deterministic kernels, to see what the guarantee costs.

    python -m benchmarks.bench_train [--device cuda] [--reps 3] [--deterministic auto|on|off]
                                     [--aicl] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import parse_config  # noqa: E402
from engine.build import build_optimizer, criterion_from_config, model_from_config  # noqa: E402
from engine.steps import backward_and_step, forward_views  # noqa: E402
from utils.device import resolve_device  # noqa: E402
from utils.seeding import seed_everything  # noqa: E402

TARGET_RATIO = 2.2
MODES = ("acm", "acm+inbatch", "ftcl_pair")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_step(mode: str, cli: argparse.Namespace, device: torch.device) -> list[float]:
    """Per-step wall times (s) of ``cli.reps`` steps after ``cli.warmup`` untimed ones."""
    flags = ["--feature_dim", str(cli.dim)]
    if mode == "acm":
        flags += ["--without_lcs", "--without_fsd"]
    if mode == "acm+inbatch":
        flags += ["--inbatch_ftcl"]              # on by default for THUMOS, off for ActivityNet
    if mode == "ftcl_pair":
        flags += ["--ftcl"]
    if mode == "aicl":
        flags += ["--method", "aicl", "--sample_segments_num", str(cli.length)]
    args = parse_config(cli.dataset, flags)
    torch.manual_seed(0)
    model = model_from_config(args).to(device).train()
    criterion = criterion_from_config(args)
    optimizer = build_optimizer(args.optimizer, model.parameters())
    gen = torch.Generator().manual_seed(0)
    num_classes = len(args.class_names)
    shape = (cli.batch_size, cli.length, cli.dim)
    x0 = torch.randn(shape, generator=gen).to(device)
    x1 = torch.randn(shape, generator=gen).to(device)
    # Label pattern with both positive and negative pairs (identical and disjoint label sets).
    cls0 = torch.arange(cli.batch_size) % num_classes
    cls1 = torch.where(torch.arange(cli.batch_size) % 2 == 0, cls0, (cls0 + 1) % num_classes)
    y0 = torch.nn.functional.one_hot(cls0, num_classes).float().to(device)
    y1 = torch.nn.functional.one_hot(cls1, num_classes).float().to(device)

    def step() -> None:
        batch = ({"features_0": x0, "features_1": x1, "label_0": y0, "label_1": y1}
                 if mode == "ftcl_pair" else {"features": x0, "label": y0})
        loss, _ = criterion(forward_views(model, batch), batch)
        backward_and_step(loss, optimizer)  # as training does, with its finiteness check

    times = []
    for i in range(cli.warmup + cli.reps):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        if i >= cli.warmup:
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--dataset", default="THUMOS", choices=["THUMOS", "ActivityNet"])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--length", type=int, default=750, help="snippets per video (T)")
    parser.add_argument("--dim", type=int, default=2048, help="feature width (D)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--deterministic", default="auto", choices=["auto", "on", "off"],
                        help="deterministic algorithms; auto = as training (on for the CPU)")
    parser.add_argument("--aicl", action="store_true", help="also time AICL's training step")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    cli = parser.parse_args(argv)
    device = resolve_device(cli.device)
    deterministic = (cli.deterministic == "on"
                     or (cli.deterministic == "auto" and device.type == "cpu"))
    seed_everything(0, deterministic)           # as engine.run does before training
    torch.use_deterministic_algorithms(deterministic)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(f"bench_train  {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}  device "
          f"{device} ({name or platform.machine()}), {torch.get_num_threads()} CPU threads, "
          f"deterministic algorithms {'on' if deterministic else 'off'}")
    print(f"shapes: batch {cli.batch_size}, T {cli.length}, D {cli.dim}, {cli.dataset}; "
          f"median of {cli.reps} steps after {cli.warmup} warm-up")
    figures = {}
    for mode in MODES + (("aicl",) if cli.aicl else ()):
        times = time_step(mode, cli, device)
        figures[mode] = {"median_s": statistics.median(times), "min_s": min(times)}
        print(f"  {mode:12s} {figures[mode]['median_s']:8.3f} s/step (min {min(times):.3f})")
    ratio = figures["ftcl_pair"]["median_s"] / figures["acm"]["median_s"]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ftcl_pair / acm = {ratio:.2f}  (target <= {TARGET_RATIO}: {verdict})")
    print(f"acm+inbatch / acm = "
          f"{figures['acm+inbatch']['median_s'] / figures['acm']['median_s']:.2f}")
    if cli.json:
        Path(cli.json).write_text(json.dumps({"device": str(device), "name": name,
                                              "deterministic": deterministic,
                                              "shapes": vars(cli), "figures": figures,
                                              "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
