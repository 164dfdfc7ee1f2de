"""What several test modules share: the repository root, the command line of a short training run
on synthetic data, the literal pair loop of the original, and the stand-in training script of the
sweep tests, the W-TALC detection rows of an engine run and of the official test loop's port.
(The synthetic data sets themselves come from the ``synthetic_data`` fixture of
``tests/conftest.py``; the fake test-run files of the output and plot tests from
``tests/fake_outputs.py``.)

A helpers module, not a test module: test modules import from here (and from ``tests/reference``,
``tests/toy_method``, ``tests/wandb_log.py``), never from one another
(``tests/test_test_layout.py`` checks it).
"""
from __future__ import annotations

import random
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DIM = 16  # the feature dimension of the synthetic sets of the training-run tests


def run_args(data: Path, out: Path, *extra: str, segments: int, dim: int = DIM,
             batch_size: int | None = 4, method: str | None = None,
             embed_dim: int | None = None, wandb: bool = False) -> list[str]:
    """The command line of a short run on the synthetic set in ``data``, writing to ``out``:
    ``[--method M] --data_dir D --feature_dim DIM [--embed_dim E] --output_dir O
    [--without_wandb] [--batch_size B] --sample_segments_num S``, then ``extra``.

    Each module passes its own sizes (``segments`` has no default: it sets how much a step sees,
    so what a test measures); ``batch_size=None`` leaves the method's default, ``wandb=True``
    leaves out ``--without_wandb`` (the command then says ``--wandb`` or ``--without_wandb``
    itself, in ``extra``)."""
    args = ["--method", method] if method is not None else []
    args += ["--data_dir", str(data), "--feature_dim", str(dim)]
    if embed_dim is not None:
        args += ["--embed_dim", str(embed_dim)]
    args += ["--output_dir", str(out)]
    if not wandb:
        args.append("--without_wandb")
    if batch_size is not None:
        args += ["--batch_size", str(batch_size)]
    return [*args, "--sample_segments_num", str(segments), *extra]


def original_pairs(labels: np.ndarray, rng: random.Random) -> np.ndarray:
    """The original loop over i < j: equal rows -> positive, else no shared class -> negative;
    random.sample keeps len(positives) negatives (all of them when fewer), then the positives."""
    pos, neg = [], []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if (labels[i] == labels[j]).all():
                pos.append([i, j])
            elif np.sum(labels[i] * labels[j]) == 0:
                neg.append([i, j])
    pairs = rng.sample(neg, min(len(neg), len(pos)))
    pairs.extend(pos)
    return np.array(pairs, dtype=np.int64).reshape(-1, 2), len(pos), len(neg)


# A stand-in for main_thu.py (tests/test_sweep.py, tests/test_slurm_scripts.py): appends its
# arguments to calls.txt (and the thread count the sweep gave it to threads.txt), then, by the
# environment, fails (FAKE_FAIL), stops after writing its latest checkpoint (FAKE_INTERRUPT),
# exits 0 without a summary (FAKE_NO_SUMMARY), or writes summary.json as the engine does.
FAKE_SCRIPT = textwrap.dedent("""
    import argparse, os, sys
    from pathlib import Path
    import numpy as np
    from engine.selection import summarize_run, write_summary
    from eval.detection import range_averages

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "calls.txt", "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    (out / "threads.txt").write_text(os.environ.get("FTCL_SWEEP_THREADS", "unset"))
    print(f"training seed {args.seed}", flush=True)

    def chosen(name):
        return str(args.seed) in os.environ.get(name, "").split(",")

    if chosen("FAKE_FAIL"):
        print("boom: seed cannot train")
        sys.exit(3)
    (out / "THUMOS_latest.pth").write_bytes(b"checkpoint")
    if chosen("FAKE_INTERRUPT"):
        print("interrupted at epoch 1")
        sys.exit(130)
    if chosen("FAKE_NO_SUMMARY"):
        sys.exit(0)
    tiou = np.arange(0.1, 0.75, 0.1)
    history = []
    for epoch in range(args.epochs):
        m_ap = 0.5 + 0.01 * args.seed + 0.02 * epoch - 0.05 * tiou
        test = {"tiou": tiou.tolist(), "mAP": m_ap.tolist(), "average": range_averages(tiou, m_ap)}
        history.append({"epoch": epoch, "test": test, "heldout": None})
    summary = summarize_run(history, "0.1:0.7")
    write_summary(out, {"complete": True, "seed": args.seed, "config": {"lr": 1e-4}, **summary})
    print("done")
""")


def pair_labels(batch: int, classes: int) -> "torch.Tensor":
    """(batch, classes) float64 multi-hot labels for the class-pair losses (CO2-Net, STCL-Net):
    rows (0,1), (2,3), (4,5) share a class (one pair two), the rest random multi-hot."""
    import torch

    gen = torch.Generator().manual_seed(1)
    labels = (torch.rand(batch, classes, generator=gen) < 0.3).double()
    for i, cls in zip(range(0, 6, 2), (0, 2, 1)):
        labels[i, cls] = labels[i + 1, cls] = 1
    labels[4, 2] = labels[5, 2] = 1
    return labels


# ---- W-TALC detections of an engine run and of the official test loop's port (the CO2-Net and
# STCL-Net parity tests compare these)

WTALC_SNIPPET_SECONDS = 16 / 25
"""One W-TALC snippet in seconds: the port's proposal times are snippet indices."""


def wtalc_engine_rows(results: dict, classes: list[str]
                      ) -> dict[str, list[tuple[int, float, float, float]]]:
    """Per video, the engine's detections (``<dataset>_results.json``) as (class index, start s,
    end s, score), in file order."""
    index = {name: c for c, name in enumerate(classes)}
    return {video: [(index[d["label"]], d["segment"][0], d["segment"][1], d["score"])
                    for d in dets] for video, dets in results["results"].items()}


def wtalc_port_rows(frame: Any, videos: list[str]
                    ) -> dict[str, list[tuple[int, float, float, float]]]:
    """Per video, the rows of the port's proposal frame (video-id, t-start, t-end, label, score)
    as (class, start s, end s, score): the snippet indices times 16/25, frame order."""
    rows: dict[str, list] = {v: [] for v in videos}
    for video, start, end, label, score in zip(frame["video-id"], frame["t-start"],
                                               frame["t-end"], frame["label"], frame["score"]):
        assert float(label).is_integer() and float(start).is_integer() \
            and float(end).is_integer()
        rows[video].append((int(label), start * WTALC_SNIPPET_SECONDS,
                            end * WTALC_SNIPPET_SECONDS, float(score)))
    return rows


def wtalc_snippet(seconds: float, tol: float = 1e-6) -> int:
    """The snippet index of a detection time that must be one (within ``tol`` seconds)."""
    index = round(seconds / WTALC_SNIPPET_SECONDS)
    assert abs(seconds - index * WTALC_SNIPPET_SECONDS) <= tol, seconds
    return index


def within_rtol(a: float, b: float, rtol: float = 1e-6) -> bool:
    """|a - b| <= rtol * max(|a|, |b|): the parity tests' score agreement."""
    return abs(a - b) <= rtol * max(abs(a), abs(b))


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with one torch thread (the engine's ``--threads 1``), so that a port's float32
    convolutions accumulate as the engine's; the caller's count is restored."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
