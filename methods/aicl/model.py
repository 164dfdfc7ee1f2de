"""AICL (Li et al., AAAI 2023): a class-aware CAS head and two class-agnostic actionness heads.

The network of the official ``models/model.py`` plus the video-level scoring that the official
training and test loops both compute from it (``forward_pass`` / ``inference``). The mining of the
consistent / inconsistent snippet sets for the contrastive loss lives in :mod:`methods.aicl.loss`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class AICLOutput:
    """One AICL forward pass over B videos of T snippets; C classes (no background class), E the
    embedding width (512), K the video top-k (93 for S = 750).

    cas: (B, T, C) class-aware snippet logits.
    action_flow, action_rgb: (B, 1, T) class-agnostic actionness probabilities of each stream.
    actionness1: (B, T) sigmoid of the sum of the C logits (class-aware actionness).
    actionness2: (B, T) mean of the two class-agnostic actionness values.
    embedding, embedding_flow, embedding_rgb: (B, T, E) ReLU outputs of the three k3 convs.
    combined_cas: (B, T, C) (softmax(cas) + action_flow + action_rgb) / 3, detached (it only
        ranks snippets and feeds the post-processing).
    video_topk_idx: (B, K, C) snippets of the K largest combined_cas values of each class.
    video_logits: (B, C) mean of ``cas`` over those snippets (``cas_top`` of the official code).
    video_scores: (B, C) softmax of ``video_logits`` over classes.
    """

    cas: Tensor
    action_flow: Tensor
    action_rgb: Tensor
    actionness1: Tensor
    actionness2: Tensor
    embedding: Tensor
    embedding_flow: Tensor
    embedding_rgb: Tensor
    combined_cas: Tensor
    video_topk_idx: Tensor
    video_logits: Tensor
    video_scores: Tensor

    def as_tuple(self) -> tuple[Tensor, ...]:
        """The fields in declaration order."""
        return tuple(getattr(self, f.name) for f in fields(self))


def topk_indices(scores: Tensor, k: int, dim: int, stable: bool = False) -> Tensor:
    """Indices of the k largest ``scores`` along ``dim``, in descending score order.

    stable=False: ``torch.topk`` (ties in an unspecified order, as the official unstable sorts);
    stable=True: a stable descending sort, so tied scores keep their time order.
    """
    if stable:
        return torch.sort(scores, dim=dim, descending=True, stable=True).indices.narrow(dim, 0, k)
    return torch.topk(scores, k, dim=dim).indices


def combined_cas(cas: Tensor, action_flow: Tensor, action_rgb: Tensor) -> Tensor:
    """(softmax_C(cas) + (flow + rgb)) / 3 with the actionness broadcast over classes, detached.

    cas (B, T, C) logits; action_flow, action_rgb (B, 1, T). Returns (B, T, C), summed in the
    official order (the class scores plus the sum of the two actionness values).
    """
    agnostic = action_flow.detach().transpose(1, 2) + action_rgb.detach().transpose(1, 2)
    return (torch.softmax(cas.detach(), dim=-1) + agnostic) / 3


def _conv_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU())


class ActionnessModule(nn.Module):
    """The official ``BaseModel``: its submodules, in its creation order (so that a seeded
    construction draws the same initial weights) and with its parameter names."""

    def __init__(self, feature_dim: int, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        half = feature_dim // 2
        self.base_module = _conv_relu(feature_dim, embed_dim)
        self.cls = nn.Sequential(nn.Conv1d(embed_dim, num_classes, kernel_size=1))
        self.action_module_rgb = _conv_relu(half, embed_dim)
        self.cls_rgb = nn.Conv1d(embed_dim, 1, kernel_size=1)
        self.action_module_flow = _conv_relu(half, embed_dim)
        self.cls_flow = nn.Conv1d(embed_dim, 1, kernel_size=1)


class AICL(nn.Module):
    """AICL network. Parameter names equal the official state_dict keys
    (``actionness_module.base_module.0.weight`` ... ``actionness_module.cls_flow.bias``, 12
    tensors), so the official ``CAS_Only.pkl`` loads strictly.

    feature_dim: D; columns 0 .. D/2-1 are RGB, D/2 .. D-1 flow (official: 2048, fixed).
    num_classes: C (official: 20). embed_dim: E (official: 512).
    video_topk: K snippets pooled per class for the video logits (official: S // 8 = 93, from the
        configured S, not from T). stable_topk: tie order of that top-k (see :func:`topk_indices`).
    The model has no dropout and no normalisation: train and eval mode compute the same function.
    """

    def __init__(self, *, feature_dim: int, num_classes: int, embed_dim: int, video_topk: int,
                 stable_topk: bool = False) -> None:
        super().__init__()
        if feature_dim < 2 or feature_dim % 2:
            raise ValueError(f"AICL needs an even feature_dim (RGB | flow), got {feature_dim}")
        if min(num_classes, embed_dim, video_topk) < 1:
            raise ValueError("num_classes, embed_dim and video_topk must be >= 1, got "
                             f"{num_classes}, {embed_dim}, {video_topk}")
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.video_topk = video_topk
        self.stable_topk = stable_topk
        self.actionness_module = ActionnessModule(feature_dim, num_classes, embed_dim)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "AICL":
        """Build from an AICL config dict (``methods.aicl.settings.AICL_THUMOS`` or a variant of
        it)."""
        return cls(feature_dim=int(cfg["feature_dim"]), num_classes=len(cfg["class_names"]),
                   embed_dim=int(cfg["embed_dim"]),
                   video_topk=int(cfg["sample_segments_num"]) // int(cfg["video_topk_seg"]),
                   stable_topk=bool(cfg["stable_topk"]))

    def forward(self, x: Tensor) -> AICLOutput:
        """x: (B, T, D) snippet features, T >= video_topk -> :class:`AICLOutput`."""
        if x.dim() != 3 or x.shape[-1] != self.feature_dim or x.shape[1] < self.video_topk:
            raise ValueError(f"AICL expects (B, T>={self.video_topk}, {self.feature_dim}) "
                             f"features, got {tuple(x.shape)}")
        m = self.actionness_module
        half = self.feature_dim // 2
        channels = x.permute(0, 2, 1)                                           # (B, D, T)
        emb_flow = m.action_module_flow(channels[:, half:])                     # (B, E, T)
        emb_rgb = m.action_module_rgb(channels[:, :half])
        action_flow = torch.sigmoid(m.cls_flow(emb_flow))                       # (B, 1, T)
        action_rgb = torch.sigmoid(m.cls_rgb(emb_rgb))
        emb = m.base_module(channels)
        cas = m.cls(emb).permute(0, 2, 1)                                       # (B, T, C)

        combined = combined_cas(cas, action_flow, action_rgb)
        top = topk_indices(combined, self.video_topk, dim=1, stable=self.stable_topk)
        video_logits = torch.gather(cas, 1, top).mean(dim=1)                    # (B, C)
        return AICLOutput(
            cas=cas, action_flow=action_flow, action_rgb=action_rgb,
            actionness1=torch.sigmoid(cas.sum(dim=2)),
            actionness2=((action_flow + action_rgb) / 2).squeeze(1),
            embedding=emb.permute(0, 2, 1), embedding_flow=emb_flow.permute(0, 2, 1),
            embedding_rgb=emb_rgb.permute(0, 2, 1),
            combined_cas=combined, video_topk_idx=top, video_logits=video_logits,
            video_scores=torch.softmax(video_logits, dim=1))
