"""The toy network: snippet logits from one linear layer, video scores from their top-k mean."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ToyOutput:
    """cas: (B, T, C) snippet class probabilities; video_scores: (B, C) softmax of the top-k mean
    of the snippet logits; video_logits: (B, C) that mean."""

    cas: Tensor
    video_scores: Tensor
    video_logits: Tensor


class ToyNet(nn.Module):
    """(B, T, D) features -> :class:`ToyOutput` (C classes, no background)."""

    def __init__(self, feature_dim: int, num_classes: int, topk_seg: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(feature_dim, num_classes)
        self.topk_seg = topk_seg

    def forward(self, x: Tensor) -> ToyOutput:
        logits = self.classifier(x)
        k = max(x.shape[1] // self.topk_seg, 1)
        video_logits = torch.topk(logits, k, dim=1).values.mean(dim=1)
        return ToyOutput(cas=torch.softmax(logits, dim=-1),
                         video_scores=torch.softmax(video_logits, dim=-1),
                         video_logits=video_logits)
