"""STCL-Net's exemplar bank: what a training step and a test pass cost against the forward pass
alone.

The bank is C x M training videos of S snippets through the trunk and classifier at every
forward (spec sec. 3.4: 20 x 10 x 500 rows at the official sizes, about 2.8 TMAC). Timed, each
the median of ``--reps`` after ``--warmup`` untimed repetitions:

- ``draw+gather``: one bank drawn on the host (the original's legacy calls) and gathered on the
  device from the training rows kept there (``methods.stcl.bank.ExemplarBank``);
- ``host gather``: the same bank gathered on the host and copied over (what a per-step copy of
  the features would cost instead);
- ``forward, given bank``: the forward of a training batch (B videos of S snippets, train mode)
  with the bank already on the device (its C x M videos through the trunk and classifier);
- ``forward, no bank``: the same forward with the exemplar sets given (what the batch alone
  costs: the bank's share is the difference);
- ``training step``: bank draw + forward + STCL loss + snippet contrast + backward + Adam step;
- ``test pass stream`` / ``test pass pass``: ``--videos`` test videos of ``--test_length``
  snippets in eval mode, a fresh bank per video (``--bank_mode stream``, the original's
  semantics) or one bank and one exemplar computation per pass (``pass``).

Sizes default to a small CPU set; ``--official`` takes the official ones (D 2048, C 20, M 10,
S 500, B 10, CCM hidden and keys 512; a GPU with about 20 GB for the training step).

    python -m benchmarks.bench_stcl [--official] [--device cuda] [--reps 3] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losses.criterion import criterion_from_recipe  # noqa: E402
from methods import METHODS  # noqa: E402
from methods.stcl.bank import ExemplarBank  # noqa: E402
from methods.stcl.loss import STCL_THUMOS_LOSS  # noqa: E402
from methods.stcl.model import STCL, bank_features  # noqa: E402
from utils.device import resolve_device  # noqa: E402

SMALL = dict(dim=256, classes=20, per_class=4, segments=128, batch=10, hidden=64, key=64,
             train_videos=100, train_length=200, videos=20, test_length=300)
OFFICIAL = dict(dim=2048, classes=20, per_class=10, segments=500, batch=10, hidden=512, key=512,
                train_videos=200, train_length=400, videos=20, test_length=700)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, reps: int, warmup: int) -> float:
    """Median wall seconds of ``fn`` over ``reps`` runs after ``warmup`` untimed ones."""
    times = []
    for k in range(warmup + reps):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        if k >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(cli: argparse.Namespace) -> dict[str, object]:
    size = dict(OFFICIAL if cli.official else SMALL)
    device = resolve_device(cli.device)
    gen = np.random.default_rng(0)
    c, m = size["classes"], size["per_class"]
    train = [gen.random((size["train_length"] + 37 * (i % 5), size["dim"]), dtype=np.float32)
             for i in range(size["train_videos"])]
    classwise = [list(range(k, size["train_videos"], c)) for k in range(c)]
    source = ExemplarBank(train, classwise, size["segments"], m, device, "stream", 0,
                          np.random.RandomState(0))
    torch.manual_seed(0)
    model = STCL(feature_dim=size["dim"], num_classes=c, ccm_hidden=size["hidden"],
                 key_dim=size["key"], per_class=m).to(device)
    model.bank_source = source
    recipe = METHODS.get("stcl").recipe
    criterion = criterion_from_recipe(recipe, "single", argparse.Namespace(**STCL_THUMOS_LOSS), 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5, weight_decay=1e-3)
    x = torch.from_numpy(gen.random((size["batch"], size["segments"], size["dim"]),
                                    dtype=np.float32)).to(device)
    labels = torch.zeros(size["batch"], c, device=device)
    labels[torch.arange(size["batch"]), torch.tensor([0, 0, 1, 1, 2, 2, 3, 4, 5, 6])
           [:size["batch"]] % c] = 1
    batch = {"features": x, "label": labels}
    tests = [torch.from_numpy(gen.random((1, size["test_length"], size["dim"]),
                                         dtype=np.float32)).to(device)
             for _ in range(size["videos"])]
    given = source.for_training()

    with torch.no_grad():
        sets = model.eval().exemplars(given)

    def forward_without_bank() -> None:
        model.train()
        with torch.no_grad():
            attn, v_atn, f_atn, nfeat = model._trunk(x.transpose(1, 2))
            model.temporal(nfeat), model.semantic(nfeat, sets), model.classifier(nfeat)

    def host_gather() -> torch.Tensor:
        return bank_features(train, source.draw(source.train_rng)).to(device)

    def forward_given() -> None:
        model.train()
        with torch.no_grad():
            model(x, given)

    def train_step() -> None:
        model.train()
        loss, _ = criterion([model(x)], batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def test_pass(mode: str) -> Callable[[], None]:
        def run_pass() -> None:
            source.mode = mode
            model.eval()
            with torch.no_grad():
                model.start_pass()
                for video in tests:
                    model(video)
        return run_pass

    reps, warm = cli.reps, cli.warmup
    seconds = {
        "draw+gather": timed(source.for_training, device, reps, warm),
        "host gather": timed(host_gather, device, reps, warm),
        "forward, given bank": timed(forward_given, device, reps, warm),
        "forward, no bank": timed(forward_without_bank, device, reps, warm),
        "training step": timed(train_step, device, reps, warm),
        "test pass stream": timed(test_pass("stream"), device, reps, warm),
        "test pass pass": timed(test_pass("pass"), device, reps, warm),
    }
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return {"benchmark": "bench_stcl", "date": time.strftime("%Y-%m-%d %H:%M"),
            "torch": torch.__version__, "device": f"{device.type} ({name or platform.machine()})",
            "threads": torch.get_num_threads(), "sizes": size, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", action="store_true", help="the official sizes")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when there "
                                                       "is one)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    cli = parser.parse_args(argv)
    result = run(cli)
    sizes = ", ".join(f"{k} {v}" for k, v in result["sizes"].items())
    print(f"bench_stcl  {result['date']}  torch {result['torch']}  device {result['device']}, "
          f"{result['threads']} threads\nsizes: {sizes}")
    seconds = result["seconds"]
    forward = seconds["forward, given bank"]
    for key, value in seconds.items():
        print(f"  {key:22s} {value * 1000:10.1f} ms   {value / forward:6.2f} x forward")
    per_video = {k: seconds[f"test pass {k}"] / result["sizes"]["videos"] for k in ("stream",
                                                                                   "pass")}
    print(f"  per test video: stream {per_video['stream'] * 1000:.1f} ms, pass "
          f"{per_video['pass'] * 1000:.1f} ms")
    if cli.json:
        Path(cli.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
