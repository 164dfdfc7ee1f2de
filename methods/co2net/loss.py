"""The CO2-Net loss (official ``CO2.criterion``, spec sec. 4.1): two MIL top-k cross-entropies
(on the raw CAS with the background as a positive, and on the attention-suppressed CAS without
it), the co-activity contrast of the three class pairs, the mutual attention MSE, and the norm
and guide terms of the three attentions:

    total = mean(L_orig) + mean(L_supp) + alpha3 * L_ca + alpha4 * mutual
            + alpha1 * (norm_attn + norm_v + norm_f) / 3
            + alpha2 * (guide_attn + guide_v + guide_f) / 3

alpha1 = alpha2 = 0.8, alpha3 = alpha4 = 1 on THUMOS'14 (``ANT_CO2``: the mutual weight is a
literal 1, i.e. 1.0 here). Every mean is a plain arithmetic mean over every element.

Quirks kept by default (spec sec. 4.1 and 9), each named:
- ``mil_label_eps`` (1e-4) sits in the denominator of the label normalisation only, so the MIL
  target sums to a little less than 1;
- the suppressed CAS subtracts the per-snippet minimum over all C + 1 columns, without detach;
- the guide's background probability is not detached (gradient reaches the classifier);
- Q21: the co-activity loss takes the literal pairs (0, 1), (2, 3), (4, 5) (``coactivity_pairs``
  = 3), whatever the sampler's ``num_similar``; it is NaN when no pair shares a label;
- Q22: its cosine has no epsilon (``coactivity_cos_eps`` = 0.0; a zero vector gives NaN); a
  positive value adds it to the norm product (a fix, not the original).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from losses.terms import TERMS
from methods.co2net.model import CO2Output

CONFIG_KEYS = ("mil_k_ratio", "mil_label_eps", "coactivity_pairs", "coactivity_margin",
               "coactivity_cos_eps", "alpha_norm", "alpha_guide", "alpha_coactivity",
               "alpha_mutual")
"""The settings :func:`co2_loss` reads (loss section of the run config)."""
PART_NAMES = ("mil_orig", "mil_supp", "coactivity", "mutual", "norm", "guide")
"""The six terms, each registered as ``co2_<name>`` (unweighted; the whole weighted sum is the
term ``co2``)."""


def topk_count(length: int, k_ratio: float) -> int:
    """The MIL top-k: max(1, int(T // k_ratio)) (``--k`` is a float: 7.0 -> 71 for T = 500)."""
    return max(1, int(length // k_ratio))


def mil_topk_loss(logits: Tensor, labels: Tensor, background: bool, k_ratio: float,
                  label_eps: float) -> Tensor:
    """MIL top-k cross-entropy per video (official ``topkloss``), not reduced.

    logits (B, T, C + 1); labels (B, C) multi-hot. The video logit of each column is the mean of
    its top-k values over time (k = :func:`topk_count`); the target is [y, 1 if background else
    0] / (sum + label_eps). Returns (B,): -sum_c target_c log_softmax(video logits)_c.
    """
    extra = torch.ones_like(labels[:, [0]]) if background else torch.zeros_like(labels[:, [0]])
    target = torch.cat((labels, extra), dim=-1)
    k = topk_count(logits.shape[-2], k_ratio)
    video = torch.mean(torch.topk(logits, k=k, dim=-2).values, dim=-2)
    target = target / (torch.sum(target, dim=1, keepdim=True) + label_eps)
    return -(target * F.log_softmax(video, dim=-1)).sum(dim=-1)


def suppressed_cas(cas: Tensor, attn: Tensor) -> Tensor:
    """attn * (cas - m) + m with m the per-snippet minimum over the C + 1 columns (no detach).
    cas (B, T, C + 1), attn (B, T, 1) -> (B, T, C + 1)."""
    low = cas.min(dim=-1, keepdim=True).values
    return attn * (cas - low) + low


def _cosine_distance(a: Tensor, b: Tensor, eps: float) -> Tensor:
    """1 - cos per column of two (D, K) matrices -> (K,); eps 0 adds nothing (Q22)."""
    dot = torch.sum(a * b, dim=0)  # before the norms: the original's autograd order
    norms = torch.norm(a, 2, dim=0) * torch.norm(b, 2, dim=0)
    if eps:
        norms = norms + eps
    return 1 - dot / norms


def coactivity_loss(feat: Tensor, supp: Tensor, labels: Tensor, pairs: int = 3,
                    margin: float = 0.5, cos_eps: float = 0.0) -> Tensor:
    """The co-activity contrast (official ``Contrastive``) over the pairs (0, 1) .. (2p-2, 2p-1).

    feat (B, T, D), supp (B, T, C + 1) (:func:`suppressed_cas`), labels (B, C), B >= 2 * pairs.
    For each video i of a pair: alpha = softmax over time of supp_i, H_i = feat_i^T alpha and
    L_i = feat_i^T (1 - alpha) / max(T - 1, 1), both (D, C + 1). Each column adds
    0.5 relu(d(H1, H2) - d(H1, L2) + margin) + 0.5 relu(d(H1, H2) - d(H2, L1) + margin) weighted
    by y1 y2 (background column 0), d = 1 - cos; the sum over pairs is divided by
    sum y1 y2 (0 when no pair shares a label: NaN, as the original).
    """
    if feat.shape[0] < 2 * pairs:
        raise ValueError(f"the co-activity loss takes {pairs} pairs: a batch of at least "
                         f"{2 * pairs} videos, got {feat.shape[0]}")
    labels = torch.cat((labels, torch.zeros_like(labels[:, [0]])), dim=-1)
    length = supp.shape[1]
    denom = feat.new_tensor([max(length - 1, 1)])
    zero = feat.new_tensor([0.0])
    total: Tensor | float = 0.0
    shared: Tensor | float = 0.0
    for i in range(0, 2 * pairs, 2):
        atn1 = F.softmax(supp[i], dim=0)
        atn2 = F.softmax(supp[i + 1], dim=0)
        high1 = torch.mm(feat[i].transpose(1, 0), atn1)                  # (D, C + 1)
        high2 = torch.mm(feat[i + 1].transpose(1, 0), atn2)
        low1 = torch.mm(feat[i].transpose(1, 0), (1 - atn1) / denom)
        low2 = torch.mm(feat[i + 1].transpose(1, 0), (1 - atn2) / denom)
        d_hh = _cosine_distance(high1, high2, cos_eps)
        d_hl = _cosine_distance(high1, low2, cos_eps)
        d_lh = _cosine_distance(high2, low1, cos_eps)
        both = labels[i, :] * labels[i + 1, :]
        total = total + 0.5 * torch.sum(torch.max(d_hh - d_hl + margin, zero) * both)
        total = total + 0.5 * torch.sum(torch.max(d_hh - d_lh + margin, zero) * both)
        shared = shared + torch.sum(both)
    return total / shared


def mutual_loss(v_atn: Tensor, f_atn: Tensor) -> Tensor:
    """0.5 MSE(v, f.detach()) + 0.5 MSE(f, v.detach()), each a mean over B * T."""
    return 0.5 * F.mse_loss(v_atn, f_atn.detach()) + 0.5 * F.mse_loss(f_atn, v_atn.detach())


def guide_loss(atn: Tensor, cas: Tensor) -> Tensor:
    """mean |1 - atn - p_bg| with p_bg the background column of softmax(cas) (not detached).
    atn (B, T, 1), cas (B, T, C + 1)."""
    return (1 - atn - cas.softmax(-1)[..., [-1]]).abs().mean()


def co2_loss(out: CO2Output, labels: Tensor, cfg: Mapping[str, Any]
             ) -> tuple[Tensor, dict[str, Tensor]]:
    """The official total, summed in the official order (so that it equals it bit for bit):
    mean(L_orig) + mean(L_supp) + alpha3 L_ca + alpha4 mutual + alpha1 (three norms) / 3
    + alpha2 (three guides) / 3, weights from ``cfg`` (alpha_norm = alpha1, alpha_guide =
    alpha2, alpha_coactivity = alpha3, alpha_mutual = alpha4).

    out: the model output of a class-pair batch (positions 0 .. 2 * pairs - 1 hold the pairs);
    labels (B, C). Returns the scalar total (with its graph) and detached scalar parts: the six
    unweighted terms and ``co2`` (the total).
    """
    supp = suppressed_cas(out.cas, out.attn)
    ratio, eps = float(cfg["mil_k_ratio"]), float(cfg["mil_label_eps"])
    mil_orig = mil_topk_loss(out.cas, labels, True, ratio, eps)
    mil_supp = mil_topk_loss(supp, labels, False, ratio, eps)
    contrast = coactivity_loss(out.feat, supp, labels, int(cfg["coactivity_pairs"]),
                               float(cfg["coactivity_margin"]), float(cfg["coactivity_cos_eps"]))
    mutual = mutual_loss(out.v_atn, out.f_atn)
    norm_a, norm_v, norm_f = out.attn.mean(), out.v_atn.mean(), out.f_atn.mean()
    guide_a = guide_loss(out.attn, out.cas)
    guide_v = guide_loss(out.v_atn, out.cas)
    guide_f = guide_loss(out.f_atn, out.cas)
    total = (mil_orig.mean() + mil_supp.mean()
             + cfg["alpha_coactivity"] * contrast
             + cfg["alpha_mutual"] * mutual
             + cfg["alpha_norm"] * (norm_a + norm_v + norm_f) / 3
             + cfg["alpha_guide"] * (guide_a + guide_v + guide_f) / 3)
    parts = {"mil_orig": mil_orig.mean(), "mil_supp": mil_supp.mean(), "coactivity": contrast,
             "mutual": mutual, "norm": (norm_a + norm_v + norm_f) / 3,
             "guide": (guide_a + guide_v + guide_f) / 3, "co2": total}
    return total, {k: v.detach() for k, v in parts.items()}


def _one_view(outputs, name: str) -> CO2Output:
    if len(outputs) != 1:
        raise ValueError(f"the {name} loss takes one view, got {len(outputs)}")
    return outputs[0]


@dataclass
class CO2Term:
    """The whole CO2-Net cost as one loss term (``co2``): :func:`co2_loss`'s own sum, bit for bit
    (a split into weighted terms would re-associate it). Training only: the co-activity term
    needs a class-pair batch, and the official code computes no test loss."""

    cfg: dict[str, Any]
    name: str = "co2"
    eval_too: bool = False

    def __call__(self, outputs, batch, ctx) -> tuple[Tensor, dict[str, Tensor]]:
        return co2_loss(_one_view(outputs, self.name), ctx.labels[0], self.cfg)


@dataclass
class CO2PartTerm:
    """One unweighted CO2-Net term (``co2_<part>``), for recipes that weight the terms apart or
    for ``--extra_loss_terms``; computed on its own (the others cost nothing)."""

    cfg: dict[str, Any]
    part: str
    name: str = ""
    eval_too: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or f"co2_{self.part}"

    def __call__(self, outputs, batch, ctx) -> tuple[Tensor, dict[str, Tensor]]:
        out = _one_view(outputs, self.name)
        return _PART_FUNCTIONS[self.part](out, ctx.labels[0], self.cfg), {}


def _part_mil(background: bool) -> Callable[[CO2Output, Tensor, Mapping[str, Any]], Tensor]:
    def compute(out: CO2Output, labels: Tensor, cfg: Mapping[str, Any]) -> Tensor:
        logits = out.cas if background else suppressed_cas(out.cas, out.attn)
        return mil_topk_loss(logits, labels, background, float(cfg["mil_k_ratio"]),
                             float(cfg["mil_label_eps"])).mean()
    return compute


_PART_FUNCTIONS: dict[str, Callable[[CO2Output, Tensor, Mapping[str, Any]], Tensor]] = {
    "mil_orig": _part_mil(True),
    "mil_supp": _part_mil(False),
    "coactivity": lambda out, labels, cfg: coactivity_loss(
        out.feat, suppressed_cas(out.cas, out.attn), labels, int(cfg["coactivity_pairs"]),
        float(cfg["coactivity_margin"]), float(cfg["coactivity_cos_eps"])),
    "mutual": lambda out, labels, cfg: mutual_loss(out.v_atn, out.f_atn),
    "norm": lambda out, labels, cfg: (out.attn.mean() + out.v_atn.mean() + out.f_atn.mean()) / 3,
    "guide": lambda out, labels, cfg: (guide_loss(out.attn, out.cas)
                                       + guide_loss(out.v_atn, out.cas)
                                       + guide_loss(out.f_atn, out.cas)) / 3,
}


def loss_config(settings: SimpleNamespace | Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`CONFIG_KEYS` of a settings namespace or dict."""
    get = settings.__getitem__ if isinstance(settings, Mapping) else settings.__getattribute__
    return {key: get(key) for key in CONFIG_KEYS}


@TERMS.register("co2")
def _co2_term(settings: SimpleNamespace, stage: str) -> CO2Term:
    return CO2Term(cfg=loss_config(settings))


def _register_part(part: str) -> None:
    @TERMS.register(f"co2_{part}")
    def build(settings: SimpleNamespace, stage: str) -> CO2PartTerm:
        return CO2PartTerm(cfg=loss_config(settings), part=part)


for _part in PART_NAMES:
    _register_part(_part)
