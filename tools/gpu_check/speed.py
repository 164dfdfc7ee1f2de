"""The benchmarks on CUDA, as report lines: the DP forward/backward against its cosine floor
(``benchmarks.bench_dp``), a training step of each stage (``benchmarks.bench_train``, AICL
included), STCL-Net's exemplar bank at the official sizes (``benchmarks.bench_stcl``) and a
THUMOS'14-sized test pass (the real test videos' lengths, random features)."""
from __future__ import annotations

import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks import bench_dp, bench_stcl, bench_train
from config import parse_config
from dataset.annotations import load_videos
from dataset.features import FeatureStore
from engine.build import criterion_from_config, model_from_config
from engine.data import Split, make_loader, test_dataset
from engine.evaluator import evaluate
from engine.setup import eval_setup
from tools.gpu_check.report import Check

REPO = Path(__file__).resolve().parents[2]
TEST_PASS_TARGET_S = 60.0
"""A THUMOS'14 test pass (212 videos) on one GPU: well inside the check's 5 minutes."""


class RandomStore(FeatureStore):
    """Features of given lengths drawn on the fly (seeded by the video's position), for timing a
    test pass at the real sizes without the real features."""

    def __init__(self, lengths: dict[str, int], feature_dim: int) -> None:
        super().__init__(feature_dim)
        self.lengths = dict(lengths)
        self.order = {v: i for i, v in enumerate(self.lengths)}

    def get(self, video_id: str) -> np.ndarray:
        """(T, D) float32 ReLU-like features of ``video_id``."""
        rng = np.random.default_rng(self.order[video_id])
        x = rng.standard_normal((self.lengths[video_id], self.feature_dim), dtype=np.float32)
        return np.maximum(x, 0, out=x)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.lengths


def dp_checks(device: torch.device, reps: int = 20, loop_reps: int = 3) -> list[Check]:
    """``benchmarks.bench_dp`` on ``device``: per case, fwd+bwd end to end against the floor
    (target <= 3x) and on given tables against the loop reference (target >= 50x)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dp.json"
        bench_dp.main(["--device", str(device), "--reps", str(reps), "--loop-reps",
                       str(loop_reps), "--json", str(out)])
        report = json.loads(out.read_text())
    checks = []
    for case, rows in report["cases"].items():
        row = rows["fwd+bwd"]
        checks.append(Check(f"bench DP {case}: fwd+bwd / cosine floor", row["floor_pass"],
                            f"{row['dp']:.3f} ms, floor {row['floor']:.3f} ms: "
                            f"{row['dp_over_floor']:.2f}x (target <= {bench_dp.FLOOR_TARGET:g}x)",
                            row))
        checks.append(Check(f"bench DP {case}: loop / dp on given tables", row["speedup_pass"],
                            f"{row['loop_over_dp']:.1f}x (target >= "
                            f"{bench_dp.SPEEDUP_TARGET:g}x)", row))
    return checks


def train_checks(device: torch.device, reps: int = 3) -> list[Check]:
    """``benchmarks.bench_train`` on ``device`` with AICL: seconds per step of each stage at
    THUMOS'14 shapes, and the pair stage within 2.2x the ACM step."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "train.json"
        bench_train.main(["--device", str(device), "--reps", str(reps), "--aicl", "--json",
                          str(out)])
        report = json.loads(out.read_text())
    figures = report["figures"]
    steps = ", ".join(f"{mode} {f['median_s'] * 1e3:.0f} ms" for mode, f in figures.items())
    ratio = report["ratio"]
    return [Check("bench training step per stage (batch 16, T 750, D 2048)",
                  ratio <= bench_train.TARGET_RATIO,
                  f"{steps}; ftcl_pair / acm = {ratio:.2f} (target <= "
                  f"{bench_train.TARGET_RATIO:g})", report)]


def stcl_checks(device: torch.device, reps: int = 3) -> list[Check]:
    """``benchmarks.bench_stcl --official`` on ``device``: a training step and a test pass per
    bank mode against the forward pass alone (figures only: no target yet, none has been
    measured on a GPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stcl.json"
        bench_stcl.main(["--official", "--device", str(device), "--reps", str(reps), "--json",
                         str(out)])
        report = json.loads(out.read_text())
    seconds = report["seconds"]
    line = ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in seconds.items())
    return [Check("bench STCL-Net bank (official sizes)", True, line, report)]


def test_pass_seconds(method: str, device: torch.device, out_dir: Path,
                      data_dir: Path = REPO / "data" / "THUMOS14") -> tuple[float, int]:
    """Seconds of one whole test pass (model, localizer, results JSON, mAP) of a fresh
    ``method`` model over the real THUMOS'14 test videos, at their real lengths with random
    2048-d features; returns (seconds, videos)."""
    cfg = parse_config("THUMOS", ["--method", method, "--data_dir", str(data_dir),
                                  "--without_wandb", "--num_workers", "0"])
    videos = load_videos(data_dir / "gt.json", data_dir / "split_test.txt", cfg.class_names)
    lengths = {v.video_id: max(1, round(v.duration * cfg.data.frames_per_sec
                                        / cfg.data.segment_frames_num)) for v in videos}
    split = Split(videos, RandomStore(lengths, cfg.data.feature_dim),
                  [v.video_id for v in videos])
    torch.manual_seed(0)
    model = model_from_config(cfg).to(device).eval()
    loader = make_loader(test_dataset(split, cfg.data), cfg.data, device, batch_size=1,
                         shuffle=False)
    setup = eval_setup(cfg, split, with_extras=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        evaluate(model, loader, criterion_from_config(cfg), setup, device, out_dir,
                 cfg.postprocess.cls_threshold)
    return time.perf_counter() - start, len(videos)


def test_pass_checks(device: torch.device, methods: tuple[str, ...] = ("ftcl", "aicl"),
                     repeats: int = 2) -> list[Check]:
    """A THUMOS'14-sized test pass of each method on ``device`` (median of ``repeats``, after
    one untimed pass), within :data:`TEST_PASS_TARGET_S`."""
    checks = []
    for method in methods:
        with tempfile.TemporaryDirectory() as tmp:
            _, videos = test_pass_seconds(method, device, Path(tmp))
            times = [test_pass_seconds(method, device, Path(tmp))[0] for _ in range(repeats)]
        median = statistics.median(times)
        figures: dict[str, Any] = {"seconds": times, "videos": videos}
        checks.append(Check(f"bench THUMOS'14 test pass, {method}", median <= TEST_PASS_TARGET_S,
                            f"{videos} videos, D 2048, random features at the real lengths: "
                            f"{median:.1f} s (median of {repeats}; target <= "
                            f"{TEST_PASS_TARGET_S:g} s)", figures))
    return checks
