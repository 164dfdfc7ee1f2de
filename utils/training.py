"""One training epoch, for single videos (ACM-Net stage) or video pairs (FTCL stage)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

MAX_CONSECUTIVE_NONFINITE = 20


class TrainingDiverged(RuntimeError):
    """Raised after ``MAX_CONSECUTIVE_NONFINITE`` skipped (non-finite) steps in a row."""


@dataclass
class EpochStats:
    """Means of the loss parts over the applied steps, the train accuracy and the skipped steps."""

    losses: dict[str, float] = field(default_factory=dict)
    accuracy: float = 0.0
    steps: int = 0
    skipped: int = 0


def video_correct(video_scores: torch.Tensor, labels: torch.Tensor, threshold: float) -> torch.Tensor:
    """(B,) bool: every class predicted exactly right with score >= ``threshold`` (original rule).

    video_scores: (B, C+1) softmaxed instance-branch scores; labels: (B, C) multi-hot.
    """
    pred = video_scores[:, :-1] >= threshold
    return (pred == (labels > 0)).all(dim=1)


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> bool:
    """Back-propagate ``loss`` and take the optimizer step, unless the loss or a gradient of the
    optimizer's parameters is not finite (checked with one host sync). Returns whether it stepped;
    a skipped step leaves the weights and the optimizer state untouched."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    checks = [torch.isfinite(loss)] + [torch.isfinite(p.grad).all()
                                       for group in optimizer.param_groups
                                       for p in group["params"] if p.grad is not None]
    if not bool(torch.stack(checks).all()):
        return False
    optimizer.step()
    return True


def train_one_epoch(model: nn.Module, loader, criterion, optimizer: torch.optim.Optimizer,
                    device: torch.device, *, pair_mode: bool, cls_threshold: float,
                    desc: str = "train") -> EpochStats:
    """Run one epoch; skip (and count) steps whose loss is NaN or inf, as the original does, and
    also steps whose loss is finite but whose gradients are not (the original applies those and
    turns every weight into NaN, e.g. when a class probability underflows to 0 under a 1e-45
    epsilon; a skipped step leaves the weights and the optimizer state untouched).

    Raises :class:`TrainingDiverged` after ``MAX_CONSECUTIVE_NONFINITE`` skipped steps in a row.
    """
    model.train()
    sums: dict[str, torch.Tensor] = {}
    correct = torch.zeros((), device=device)
    seen = 0
    stats = EpochStats()
    consecutive = 0
    for batch in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True):
        if pair_mode:
            x0 = batch["features_0"].to(device, non_blocking=True)
            x1 = batch["features_1"].to(device, non_blocking=True)
            y0 = batch["label_0"].to(device, non_blocking=True)
            y1 = batch["label_1"].to(device, non_blocking=True)
            out0, out1 = model(x0, x1)
            loss, parts = criterion(out0, out1, y0, y1)
            ok = (video_correct(out0.inst_cls, y0, cls_threshold)
                  & video_correct(out1.inst_cls, y1, cls_threshold))
        else:
            x = batch["features"].to(device, non_blocking=True)
            y = batch["label"].to(device, non_blocking=True)
            out = model(x)
            loss, parts = criterion(out, y)
            ok = video_correct(out.inst_cls, y, cls_threshold)
        correct += ok.sum()
        seen += ok.numel()
        if not backward_and_step(loss, optimizer):
            stats.skipped += 1
            consecutive += 1
            if consecutive >= MAX_CONSECUTIVE_NONFINITE:
                raise TrainingDiverged(f"training stopped: {consecutive} consecutive steps with a "
                                       f"non-finite loss or gradient (last loss {loss.item()}); "
                                       "lower the learning rate or check the features for "
                                       "extreme values")
            continue
        consecutive = 0
        stats.steps += 1
        for key, value in parts.items():
            value = value.detach()
            sums[key] = sums[key] + value if key in sums else value.clone()
    stats.losses = {k: float(v) / max(stats.steps, 1) for k, v in sums.items()}
    stats.accuracy = float(correct) / max(seen, 1)
    return stats
