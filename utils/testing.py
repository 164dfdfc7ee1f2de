"""The test loop: model -> CAS and attention -> proposals -> results JSON -> mAP."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from eval.classification import video_map
from eval.detection import DetectionResult, evaluate_detection
from eval.proposals import ProposalParams, localize_video
from eval.results import results_dict, write_json_atomic
from utils.training import video_correct


@dataclass
class TestReport:
    """What one evaluation produced.

    ``primary`` follows ``--gt_videos``; ``by_convention`` holds both conventions' results.
    """

    primary: DetectionResult
    by_convention: dict[str, DetectionResult]
    losses: dict[str, float] = field(default_factory=dict)
    accuracy: float = 0.0
    cls_map: float = 0.0
    num_videos: int = 0


@torch.no_grad()
def predict(model: nn.Module, loader, criterion, params: ProposalParams, device: torch.device,
            cls_threshold: float, desc: str = "test"
            ) -> tuple[dict[str, list[tuple[int, float, float, float]]], dict[str, float], float,
                       np.ndarray, np.ndarray]:
    """Localize actions in every video of ``loader`` (batch size 1).

    Returns the detections per video (class index, score, start s, end s), the mean ACM loss parts,
    the video accuracy (>= ``cls_threshold``), and the (N, C) video scores and labels.
    """
    model.eval()
    detections: dict[str, list[tuple[int, float, float, float]]] = {}
    sums: dict[str, torch.Tensor] = {}
    correct = 0
    scores, labels = [], []
    for batch in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True):
        x = batch["features"].to(device)
        y = batch["label"].to(device)
        out = model(x)
        _, parts = criterion.single(out, y)
        for key, value in parts.items():
            sums[key] = sums[key] + value if key in sums else value.clone()
        correct += int(video_correct(out.inst_cls, y, cls_threshold).sum())
        video_scores = out.inst_cls[0, :-1].cpu().numpy()
        cas = out.inst_cas[0, :, :-1].cpu().numpy()
        att = out.att[0, :, 0].cpu().numpy()
        video_id = batch["video_id"][0]
        detections[video_id] = localize_video(video_scores, cas, att, int(batch["length"][0]),
                                              float(batch["duration"][0]), params)
        scores.append(video_scores)
        labels.append(batch["label"][0].numpy())
    n = max(len(scores), 1)
    losses = {k: float(v) / n for k, v in sums.items()}
    return (detections, losses, correct / n, np.stack(scores) if scores else np.zeros((0, 0)),
            np.stack(labels) if labels else np.zeros((0, 0)))


def evaluate(model: nn.Module, loader, criterion, args: Any, device: torch.device,
             out_dir: Path, split_videos: list[str]) -> TestReport:
    """Run :func:`predict`, write ``<dataset>_results.json`` and ``metrics.json`` into ``out_dir``."""
    params = ProposalParams.from_args(args)
    detections, losses, acc, scores, labels = predict(model, loader, criterion, params, device,
                                                      args.cls_threshold)
    results = results_dict(detections, args.class_names)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / f"{args.dataset}_results.json", results)
    gt_path = Path(args.data_dir) / "gt.json"
    by_convention = {
        conv: evaluate_detection(gt_path, results, subset=args.eval_subset,
                                 tiou_thresholds=args.tiou_thresholds,
                                 class_names=args.class_names,
                                 split_videos=split_videos if conv == "split" else None)
        for conv in ("subset", "split")
    }
    primary = by_convention[args.gt_videos]
    write_json_atomic(out_dir / "metrics.json", primary.to_json())
    cls_map = video_map(scores, labels) if len(scores) else 0.0
    return TestReport(primary=primary, by_convention=by_convention, losses=losses, accuracy=acc,
                      cls_map=cls_map, num_videos=len(detections))
