"""The toy's one loss term, ``toy_mil``: cross-entropy of the video logits against the
normalised multi-hot label (multiple-instance learning on the top-k mean)."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from losses.terms import TERMS


@dataclass
class ToyMIL:
    name: str = "toy_mil"
    eval_too: bool = True

    def __call__(self, outputs, batch, ctx):
        labels = ctx.labels[0]
        target = labels / labels.sum(dim=1, keepdim=True).clamp_min(1.0)
        value = -(target * torch.log_softmax(outputs[0].video_logits, dim=1)).sum(dim=1).mean()
        return value, {"toy_mil": value.detach()}


@TERMS.register("toy_mil")
def _toy_mil(loss: SimpleNamespace, stage: str) -> ToyMIL:
    return ToyMIL()
