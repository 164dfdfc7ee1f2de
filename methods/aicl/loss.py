"""The AICL loss: video classification, GCE on the actionness heads, two consistency MSEs and the
actionness-inconsistency contrast (12 InfoNCE terms over the median-binarised snippet sets).

Everything runs on the outputs' device without a host round trip (the official code takes the
medians and builds the set masks in numpy, and builds the pseudo target in a Python loop).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from losses.terms import TERMS
from methods.aicl.model import AICLOutput, topk_indices

CONFIG_KEYS = ("set_ratio_consistent", "set_ratio_inconsistent", "stable_topk", "exclude_set_fill",
               "nce_tau", "ce_label_eps", "q_val", "gce_eps", "loss_weight_cls",
               "loss_weight_gce", "loss_weight_modality", "loss_weight_contrast",
               "loss_weight_action")
"""The settings :func:`aicl_loss` reads (model and loss sections of the run config)."""
SET_NAMES = ("CA", "CB", "IA", "IB")
"""Consistent action, consistent background, inconsistent action, inconsistent background."""


@dataclass
class MinedSets:
    """The snippet sets of B videos of T snippets.

    bin1, bin2: (B, T) 1.0 where actionness1 / actionness2 is strictly above its median over
        time, else 0.0 (dtype of the actionness).
    mask: name -> (B, T) bool membership (IA and IB share the inconsistent mask).
    index: name -> (B, k) long, the k snippets of highest ranking score, in descending order
        (k = k_C for CA / CB, k_I for IA / IB).
    member: name -> (B, k) bool, whether each picked snippet belongs to the set (False only where
        a set has fewer than k members and the top-k is filled with snippets scored 0).
    """

    bin1: Tensor
    bin2: Tensor
    mask: dict[str, Tensor]
    index: dict[str, Tensor]
    member: dict[str, Tensor]


def median_bins(actionness: Tensor) -> Tensor:
    """(B, T) -> (B, T): 1.0 where strictly above the row's median, else 0.0; detached.

    The median is numpy's: the middle value, or for even T the float average of the two middle
    values ((a + b) / 2 in the input's dtype; ``torch.median`` would take the lower one).
    """
    values = actionness.detach()
    ordered = torch.sort(values, dim=1).values
    length = values.shape[1]
    median = (ordered[:, (length - 1) // 2] + ordered[:, length // 2]) / 2
    return (values > median[:, None]).to(values.dtype)


def set_masks(bin1: Tensor, bin2: Tensor) -> dict[str, Tensor]:
    """Membership (B, T) bool of each set from the two bins (B, T): CA both above the median,
    CB both at or below, IA = IB exactly one above."""
    total = bin1 + bin2
    inconsistent = total == 1
    return {"CA": total == 2, "CB": total == 0, "IA": inconsistent, "IB": inconsistent}


def ranking_scores(actionness1: Tensor, masks: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Scores (B, T) that rank each set: actionness1 for the action sets, (max over time -
    actionness1) for the background sets, times the set's mask (0 outside the set); detached."""
    action = actionness1.detach()
    reverse = action.max(dim=1, keepdim=True).values - action
    source = {"CA": action, "CB": reverse, "IA": action, "IB": reverse}
    return {name: source[name] * masks[name].to(action.dtype) for name in SET_NAMES}


def mine_sets(actionness1: Tensor, actionness2: Tensor, k_consistent: int, k_inconsistent: int,
              stable_topk: bool = False) -> MinedSets:
    """The CA / CB (k_consistent snippets each) and IA / IB (k_inconsistent) sets of B videos.

    actionness1 (class-aware) and actionness2 (class-agnostic): (B, T). Both are binarised at
    their median; the ranking always uses actionness1. A set with fewer than k members is topped
    up with outside snippets (score 0): in an unspecified order by default (the official unstable
    sort), in time order with ``stable_topk``; ``MinedSets.member`` marks them.
    """
    bin1, bin2 = median_bins(actionness1), median_bins(actionness2)
    masks = set_masks(bin1, bin2)
    scores = ranking_scores(actionness1, masks)
    sizes = {"CA": k_consistent, "CB": k_consistent, "IA": k_inconsistent, "IB": k_inconsistent}
    index = {name: topk_indices(scores[name], sizes[name], dim=1, stable=stable_topk)
             for name in SET_NAMES}
    member = {name: torch.gather(masks[name], 1, index[name]) for name in SET_NAMES}
    return MinedSets(bin1=bin1, bin2=bin2, mask=masks, index=index, member=member)


def gather_sets(embedding: Tensor, index: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rows of ``embedding`` (B, T, E) at each set's indices (B, k) -> name -> (B, k, E)."""
    width = embedding.shape[-1]
    return {name: torch.gather(embedding, 1, index[name].unsqueeze(-1).expand(-1, -1, width))
            for name in SET_NAMES}


def pseudo_target(video_topk_idx: Tensor, labels: Tensor, length: int) -> Tensor:
    """Class-agnostic pseudo target (B, T): 1 at the video top-k snippets of every labelled class.

    video_topk_idx (B, K, C); labels (B, C), a class counts where its label is non-zero. No
    gradient; an unlabelled video gets all zeros.
    """
    batch = labels.shape[0]
    hits = (labels != 0).to(labels.dtype)[:, None, :].expand_as(video_topk_idx)
    return labels.new_zeros(batch, length).scatter_reduce(
        1, video_topk_idx.reshape(batch, -1), hits.reshape(batch, -1), reduce="amax")


def video_cls_loss(video_logits: Tensor, labels: Tensor, eps: float) -> Tensor:
    """-mean_b sum_c y'_bc log_softmax(video_logits)_bc with y' = y / sum_c y + eps.

    video_logits, labels (B, C). The official epsilon is added after the division, to every
    class; an all-zero label row gives NaN, as in the official code.
    """
    target = labels / torch.sum(labels, dim=1, keepdim=True) + eps
    return -torch.mean(torch.sum(target * F.log_softmax(video_logits, dim=1), dim=1), dim=0)


def generalized_ce(prob: Tensor, target: Tensor, q: float, eps: float) -> Tensor:
    """Generalized cross-entropy of probabilities ``prob`` (B, T) against a 0/1 ``target`` (B, T).

    Positive and negative snippets are averaged apart per video (counts + eps), then over the
    batch: mean_b sum_t y (1 - (p + eps)^q) / q / (sum_t y + eps) + the same for 1 - y, 1 - p.
    """
    pos = torch.sum(target, dim=1) + eps
    neg = torch.sum(1 - target, dim=1) + eps
    first = torch.mean(torch.sum(((1 - (prob + eps) ** q) / q) * target, dim=1) / pos)
    second = torch.mean(torch.sum(((1 - (1 - prob + eps) ** q) / q) * (1 - target), dim=1) / neg)
    return first + second


def consistency_mse(a: Tensor, b: Tensor) -> Tensor:
    """Mean squared difference of two equally shaped tensors, gradient to both.

    The official 0.5 * mse(a, b) + 0.5 * mse(b, a) is this value exactly (IEEE arithmetic).
    """
    return F.mse_loss(a, b)


def info_nce(query: Tensor, positive: Tensor, negatives: Tensor, tau: float,
             negative_member: Tensor | None = None) -> Tensor:
    """InfoNCE with one positive: -mean_b log softmax([q.k, q.n_1 .. q.n_K] / tau)_0 on
    L2-normalised vectors. query, positive (B, E); negatives (B, K, E).

    negative_member (B, K) bool, optional: negatives marked False are left out of the softmax.
    """
    q = F.normalize(query, dim=1)
    k = F.normalize(positive, dim=1)
    n = F.normalize(negatives, dim=2)
    l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
    l_neg = torch.einsum("nc,nkc->nk", q, n)
    if negative_member is not None:
        l_neg = l_neg.masked_fill(~negative_member, float("-inf"))
    logits = torch.cat([l_pos, l_neg], dim=1) / tau
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def _set_mean(rows: Tensor, member: Tensor | None) -> Tensor:
    """Mean over the k picked rows (B, k, E) -> (B, E); with ``member`` (B, k), over members only
    (a set without members gives a zero vector)."""
    if member is None:
        return torch.mean(rows, dim=1)
    weight = member.to(rows.dtype).unsqueeze(-1)
    return torch.sum(rows * weight, dim=1) / torch.sum(weight, dim=1).clamp_min(1)


def set_contrast_loss(sets: Mapping[str, Tensor], tau: float,
                      member: Mapping[str, Tensor] | None = None) -> Tensor:
    """The four InfoNCE terms of one embedding's sets (name -> (B, k, E)), summed:
    IA -> CA against CB, IB -> CB against CA, CA -> IA against CB, CB -> IB against CA (query ->
    positive, with the set means as query and positive).

    member (name -> (B, k) bool), optional: the ``exclude_set_fill`` fix; padding snippets enter
    neither the means nor the negatives. Default (None): the official padded sets.
    """
    pick = (lambda name: None) if member is None else member.__getitem__
    mean = {name: _set_mean(sets[name], pick(name)) for name in SET_NAMES}
    return (info_nce(mean["IA"], mean["CA"], sets["CB"], tau, pick("CB"))
            + info_nce(mean["IB"], mean["CB"], sets["CA"], tau, pick("CA"))
            + info_nce(mean["CA"], mean["IA"], sets["CB"], tau, pick("CB"))
            + info_nce(mean["CB"], mean["IB"], sets["CA"], tau, pick("CA")))


def aicl_loss(out: AICLOutput, labels: Tensor, cfg: Mapping[str, Any]
              ) -> tuple[Tensor, dict[str, Tensor]]:
    """The official cost: cls + (GCE_flow + GCE_rgb) + 5 MSE(flow, rgb) + 0.01 L_con
    + 0.1 MSE(actionness1, actionness2), weights and constants from ``cfg`` (see
    ``methods/aicl/settings.py``: loss_weight_*, q_val, ce_label_eps, gce_eps, nce_tau,
    set_ratio_consistent / _inconsistent, stable_topk, exclude_set_fill).

    out: the model output for B videos of T snippets; labels (B, C) multi-hot. L_con sums the four
    set contrasts of the class-aware, the RGB and the flow embedding, all three ranked by the same
    actionness1 sets. Returns the scalar total (with its graph) and detached scalar parts: cls,
    gce_flow, gce_rgb, modality, action, contrast_base / _rgb / _flow, contrast, consistent_size
    and inconsistent_size (mean |CA| and |IA| per video), aicl (the total).
    """
    length = out.cas.shape[1]
    sets = mine_sets(out.actionness1, out.actionness2,
                     length // int(cfg["set_ratio_consistent"]),
                     length // int(cfg["set_ratio_inconsistent"]),
                     stable_topk=bool(cfg["stable_topk"]))
    member = sets.member if cfg["exclude_set_fill"] else None
    tau = float(cfg["nce_tau"])
    base, rgb, flow = (set_contrast_loss(gather_sets(emb, sets.index), tau, member)
                       for emb in (out.embedding, out.embedding_rgb, out.embedding_flow))
    contrast = base + rgb + flow

    cls = video_cls_loss(out.video_logits, labels, float(cfg["ce_label_eps"]))
    target = pseudo_target(out.video_topk_idx, labels, length)
    q, gce_eps = float(cfg["q_val"]), float(cfg["gce_eps"])
    gce_flow = generalized_ce(out.action_flow.squeeze(1), target, q, gce_eps)
    gce_rgb = generalized_ce(out.action_rgb.squeeze(1), target, q, gce_eps)
    modality = consistency_mse(out.action_flow, out.action_rgb)
    action = consistency_mse(out.actionness1, out.actionness2)

    total = (cfg["loss_weight_cls"] * cls + cfg["loss_weight_gce"] * (gce_flow + gce_rgb)
             + cfg["loss_weight_modality"] * modality + cfg["loss_weight_contrast"] * contrast
             + cfg["loss_weight_action"] * action)
    parts = {"cls": cls, "gce_flow": gce_flow, "gce_rgb": gce_rgb, "modality": modality,
             "action": action, "contrast_base": base, "contrast_rgb": rgb,
             "contrast_flow": flow, "contrast": contrast,
             "consistent_size": sets.mask["CA"].sum(dim=1).to(cls.dtype).mean(),
             "inconsistent_size": sets.mask["IA"].sum(dim=1).to(cls.dtype).mean(),
             "aicl": total}
    return total, {k: v.detach() for k, v in parts.items()}


@dataclass
class AICLTerm:
    """The whole AICL cost as one loss term of the engine (``losses.terms``): the total is
    :func:`aicl_loss`'s own sum, bit for bit (a split into weighted terms would re-associate it).
    One view only (AICL has no pair stage); also the test loss."""

    cfg: dict[str, Any]
    name: str = "aicl"
    eval_too: bool = True

    def __call__(self, outputs, batch, ctx) -> tuple[Tensor, dict[str, Tensor]]:
        if len(outputs) != 1:
            raise ValueError(f"the AICL loss takes one view, got {len(outputs)}")
        return aicl_loss(outputs[0], ctx.labels[0], self.cfg)


@TERMS.register("aicl")
def _aicl_term(settings: SimpleNamespace, stage: str) -> AICLTerm:
    return AICLTerm(cfg={key: getattr(settings, key) for key in CONFIG_KEYS})
