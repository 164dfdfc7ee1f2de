"""One training step and one training epoch, the same for every method and stage.

A batch is a dict; its views are the single videos (``features``, ``label``) or the two sides of
pairs (``features_0``, ``label_0``, ``features_1``, ``label_1``). The model runs once per view, in
view order (so dropout masks are drawn as the original's two-input forward draws them), and the
criterion takes ``(outputs, batch)``. Stages differ by their dataset and their loss terms only.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

MAX_CONSECUTIVE_NONFINITE = 20

CorrectRule = Callable[[Any, torch.Tensor, float], torch.Tensor]
"""(one view's named output, labels (B, C), class threshold) -> (B,) bool: video classified right."""


class TrainingDiverged(RuntimeError):
    """Raised after ``MAX_CONSECUTIVE_NONFINITE`` skipped (non-finite) steps in a row."""


@dataclass
class EpochStats:
    """Means of the loss parts over the applied steps, the train accuracy and the skipped steps."""

    losses: dict[str, float] = field(default_factory=dict)
    accuracy: float = 0.0
    steps: int = 0
    skipped: int = 0


def progress(items: Iterable[Any], desc: str, leave: bool = False) -> Iterable[Any]:
    """A tqdm bar on a terminal; in a log file nothing (the caller prints one line per epoch)."""
    return tqdm(items, desc=desc, leave=leave, dynamic_ncols=True,
                disable=not sys.stderr.isatty())


def view_count(batch: dict[str, Any]) -> int:
    """1 for a batch of single videos, 2 for a batch of pairs."""
    return 1 if "features" in batch else 2


def view_features(batch: dict[str, Any]) -> list[torch.Tensor]:
    """The (B, T, D) features of each view."""
    if view_count(batch) == 1:
        return [batch["features"]]
    return [batch["features_0"], batch["features_1"]]


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with every tensor on ``device`` (non-blocking)."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


def forward_views(model: nn.Module, batch: dict[str, Any]) -> list[Any]:
    """The model's named output for each view, in view order."""
    return [model(x) for x in view_features(batch)]


def batch_correct(outputs: list[Any], batch: dict[str, Any], threshold: float,
                  correct: CorrectRule) -> torch.Tensor:
    """(B,) bool: every view of the row is classified right by the method's rule ``correct``
    (pairs: both videos, as the original)."""
    labels = [batch["label"]] if len(outputs) == 1 else [batch["label_0"], batch["label_1"]]
    ok = correct(outputs[0], labels[0], threshold)
    for out, label in zip(outputs[1:], labels[1:]):
        ok = ok & correct(out, label, threshold)
    return ok


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> bool:
    """Back-propagate ``loss`` and take the optimizer step, unless the loss or a gradient of the
    optimizer's parameters is not finite (checked with one host sync). Returns whether it stepped;
    a skipped step leaves the weights and the optimizer state untouched.

    Gradients are zeroed, not set to None, as the original's ``optimizer.zero_grad()`` (the
    default of its torch version): a parameter that got a gradient once and none in this step
    still moves under Adam's momentum and weight decay (FTCL's ``feature_trans`` in in-batch steps
    without a positive pair).
    """
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    checks = [torch.isfinite(loss)] + [torch.isfinite(p.grad).all()
                                       for group in optimizer.param_groups
                                       for p in group["params"] if p.grad is not None]
    if not bool(torch.stack(checks).all()):
        return False
    optimizer.step()
    return True


def train_one_epoch(model: nn.Module, loader, criterion, optimizer: torch.optim.Optimizer,
                    device: torch.device, *, cls_threshold: float, desc: str = "train",
                    correct: CorrectRule,
                    after_step: Callable[[], None] | None = None) -> EpochStats:
    """Run one epoch; skip (and count) steps whose loss is NaN or inf, as the original does, and
    also steps whose loss is finite but whose gradients are not (the original applies those and
    turns every weight into NaN, e.g. when a class probability underflows to 0 under a 1e-45
    epsilon; a skipped step leaves the weights and the optimizer state untouched).

    ``correct``: the method's video-accuracy rule. ``after_step``: called after every batch,
    applied or skipped (the step-based evaluation cadence); the model is put back in training
    mode after it.

    Raises :class:`TrainingDiverged` after ``MAX_CONSECUTIVE_NONFINITE`` skipped steps in a row.
    """
    model.train()
    sums: dict[str, torch.Tensor] = {}
    num_correct = torch.zeros((), device=device)
    seen = 0
    stats = EpochStats()
    consecutive = 0
    for batch in progress(loader, desc):
        batch = to_device(batch, device)
        outputs = forward_views(model, batch)
        loss, parts = criterion(outputs, batch)
        ok = batch_correct(outputs, batch, cls_threshold, correct)
        num_correct += ok.sum()
        seen += ok.numel()
        if not backward_and_step(loss, optimizer):
            stats.skipped += 1
            consecutive += 1
            if consecutive >= MAX_CONSECUTIVE_NONFINITE:
                raise TrainingDiverged(f"training stopped: {consecutive} consecutive steps with a "
                                       f"non-finite loss or gradient (last loss {loss.item()}); "
                                       "lower the learning rate or check the features for "
                                       "extreme values")
        else:
            consecutive = 0
            stats.steps += 1
            for key, value in parts.items():
                value = value.detach()
                sums[key] = sums[key] + value if key in sums else value.clone()
        if after_step is not None:
            after_step()
            model.train()
    stats.losses = {k: float(v) / max(stats.steps, 1) for k, v in sums.items()}
    stats.accuracy = float(num_correct) / max(seen, 1)
    return stats
