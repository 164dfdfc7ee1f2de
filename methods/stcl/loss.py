"""The STCL-Net loss (official ``STCL_THU.criterion``, ``S:model.py:271-329``, and the snippet
contrast ``cal_snip_cont_loss`` of ``S:train.py:13-93``), spec ``co2-stcl-behaviour.md`` sec. 4.2,
4.3 and 9.

**Criterion** (:func:`stcl_loss`, sec. 4.2). Three more MIL top-k terms with the background as a
positive, on the three heads (L_intra on intra_cas, L_origin on cas_origin, L_inter on
inter_cas), the six-term pseudo-KL between the heads (:func:`pseudo_kl`), and every CO2 term of
sec. 4.1 (:mod:`methods.co2net.loss`) on the **fused** CAS, summed in the original's order:

    mean(L_orig) + mean(L_supp) + mean(L_intra) + mean(L_origin) + kl_weight * KL
    + mean(L_inter) + alpha3 * L_ca + alpha4 * mutual + alpha1 * norms / 3 + alpha2 * guides / 3

with kl_weight 1 (THUMOS; ``STCL_ACT``: 0.1) and CO2's alphas.

**Snippet contrast** (:func:`snippet_contrast_loss`, sec. 4.3, CoLA-style), added by the
original's ``train()`` with weight 1 on the training batch: easy snippets (top T // 5 of the
actionness, and of its reverse, both under one shared Dropout(0.6) mask of ones) and hard
snippets (top T // 20 of the actionness inside the inner band ero3 - ero6 and the outer band
dil6 - dil3 of the above-median mask), and two InfoNCE terms at temperature 0.07.

Quirks kept by default and named (sec. 9):
- Q4 ``kl_mode`` = "original": ``KLDivLoss(reduction='mean')(P, Q)`` is fed **probabilities** as
  its first argument (taken as log-probabilities): each directed call is the mean over B T (C+1)
  of Q (log Q - P), six calls summed, both arguments with gradient (not a divergence, can be
  negative). "true_kl" (not the original) passes log-probabilities instead, so each call is
  KL(Q || P) / (C + 1) averaged over snippets.
- Q5 ``snip_double_sigmoid`` = True: the actionness is sigmoid(attn) although attn is already a
  Sigmoid output; the easy mask is ``Dropout(0.6)`` of ones (entries 0 or 2.5) drawn from torch's
  default generator of the device (the original's CUDA stream); HB is ranked by a, not 1 - a;
  when a band has fewer than k members, zero-scored snippets fill the top-k in ``torch.sort``'s
  order (Q20: the same call as the original).
- the per-video median is numpy's (the mean of the two middle values for even T).
- CO2's quirks on the fused CAS (MIL epsilon, undetached minimum and guide, Q21 literal pairs,
  Q22 cosine without epsilon), see :mod:`methods.co2net.loss`.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from losses.terms import TERMS
from methods.co2net.loss import CONFIG_KEYS as CO2_CONFIG_KEYS
from methods.co2net.loss import (coactivity_loss, guide_loss, mil_topk_loss, mutual_loss,
                                 suppressed_cas)
from methods.co2net.settings import CO2_THUMOS
from methods.stcl.model import STCLOutput

CONFIG_KEYS = CO2_CONFIG_KEYS + (
    "kl_weight", "kl_mode", "snip_easy_divisor", "snip_hard_divisor", "snip_mask_dropout",
    "snip_temperature", "snip_double_sigmoid")
"""The settings the STCL terms read (CO2's and these)."""

STCL_THUMOS_LOSS: dict[str, Any] = {
    **{key: CO2_THUMOS[key] for key in CO2_CONFIG_KEYS},  # CO2's terms, the same literals
    "kl_weight": 1.0,          # THU's weight of the pseudo-KL (S:model.py:323; ACT 0.1, :669)
    "kl_mode": "original",     # Q4: probabilities fed as log-probabilities (S:model.py:283-294)
    "snip_easy_divisor": 5,    # k_easy = T // 5 (S:train.py:67)
    "snip_hard_divisor": 20,   # k_hard = T // 20 (S:train.py:68)
    "snip_mask_dropout": 0.6,  # the easy-mining mask, Dropout(0.6) of ones (S:train.py:22)
    "snip_temperature": 0.07,  # InfoNCE temperature (S:train.py:51)
    "snip_double_sigmoid": True,  # Q5: a = sigmoid(attn) of a Sigmoid output (S:train.py:70-71)
}
"""The THUMOS'14 values of :data:`CONFIG_KEYS` (spec sec. 11)."""

KL_MODES = ("original", "true_kl")
HEAD_PARTS = ("mil_intra", "mil_origin", "mil_inter", "kl")
"""The criterion's additions to CO2's terms, each registered unweighted as ``stcl_<part>``."""


# ---------------------------------------------------------------- criterion (sec. 4.2)
def head_mil_losses(out: STCLOutput, labels: Tensor, cfg: Mapping[str, Any]
                    ) -> dict[str, Tensor]:
    """L_intra, L_origin, L_inter: MIL top-k with the background positive on intra_cas,
    cas_origin and inter_cas; each (B,), not reduced."""
    ratio, eps = float(cfg["mil_k_ratio"]), float(cfg["mil_label_eps"])
    return {"mil_intra": mil_topk_loss(out.intra_cas, labels, True, ratio, eps),
            "mil_origin": mil_topk_loss(out.cas_origin, labels, True, ratio, eps),
            "mil_inter": mil_topk_loss(out.inter_cas, labels, True, ratio, eps)}


def _finite_at_zero(prob: Tensor, grad: Tensor) -> Tensor:
    """The gradient reaching a softmax output, with 0 where the probability is exactly 0.

    ``kl_div``'s target gradient is log Q + 1 - P, and its autograd gives 0 / 0 = NaN where Q
    underflows to 0 (CAS columns more than ~104 apart: seen at initialisation on the synthetic
    quickstart), which would end training. The softmax backward multiplies that entry by Q = 0,
    so any finite value there gives the limit; every other entry, and so every gradient where
    the original's is finite, is unchanged to the bit."""
    return torch.where(prob == 0, torch.zeros_like(grad), grad)


def pseudo_kl(cas_origin: Tensor, intra_cas: Tensor, inter_cas: Tensor,
              mode: str = "original") -> Tensor:
    """The six-call "KL" between the heads (Q4): with O, I, N the per-snippet softmax over the
    C + 1 columns of cas_origin, intra_cas, inter_cas (each (B T, C + 1)),
    kl(O,I) + kl(I,O) + kl(O,N) + kl(N,O) + kl(N,I) + kl(I,N), kl(P, Q) = ``kl_div(P, Q,
    'mean')`` = mean of Q (log Q - P) over all B T (C + 1) elements, gradient through both.
    mode "true_kl" (not the original): the first argument is log-softmax instead."""
    if mode not in KL_MODES:
        raise ValueError(f"kl_mode must be one of {KL_MODES}, got {mode!r}")
    width = cas_origin.shape[-1]
    probs = [t.softmax(-1).reshape(-1, width) for t in (cas_origin, intra_cas, inter_cas)]
    firsts = (probs if mode == "original"
              else [t.log_softmax(-1).reshape(-1, width)
                    for t in (cas_origin, intra_cas, inter_cas)])
    o, i, n = 0, 1, 2

    for prob in probs:
        if prob.requires_grad:
            prob.register_hook(partial(_finite_at_zero, prob.detach()))

    def kl(p: int, q: int) -> Tensor:
        with warnings.catch_warnings():  # torch's note that 'mean' is not 'batchmean': known
            warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
            return F.kl_div(firsts[p], probs[q], reduction="mean")

    return kl(o, i) + kl(i, o) + kl(o, n) + kl(n, o) + kl(n, i) + kl(i, n)


def stcl_loss(out: STCLOutput, labels: Tensor, cfg: Mapping[str, Any]
              ) -> tuple[Tensor, dict[str, Tensor]]:
    """The official ``STCL_THU.criterion`` total in its order of summation (see the module
    docstring); CO2's terms on the fused ``out.cas``. Returns the scalar total and detached
    parts: CO2's six, ``mil_intra``, ``mil_origin``, ``mil_inter`` (batch means), ``kl``
    (unweighted) and ``stcl`` (the total)."""
    ratio, eps = float(cfg["mil_k_ratio"]), float(cfg["mil_label_eps"])
    supp = suppressed_cas(out.cas, out.attn)
    mil_orig = mil_topk_loss(out.cas, labels, True, ratio, eps)
    mil_supp = mil_topk_loss(supp, labels, False, ratio, eps)
    heads = head_mil_losses(out, labels, cfg)
    kl = pseudo_kl(out.cas_origin, out.intra_cas, out.inter_cas, str(cfg["kl_mode"]))
    contrast = coactivity_loss(out.feat, supp, labels, int(cfg["coactivity_pairs"]),
                               float(cfg["coactivity_margin"]), float(cfg["coactivity_cos_eps"]))
    mutual = mutual_loss(out.v_atn, out.f_atn)
    norms = out.attn.mean() + out.v_atn.mean() + out.f_atn.mean()
    guides = (guide_loss(out.attn, out.cas) + guide_loss(out.v_atn, out.cas)
              + guide_loss(out.f_atn, out.cas))
    total = (mil_orig.mean() + mil_supp.mean() + heads["mil_intra"].mean()
             + heads["mil_origin"].mean() + cfg["kl_weight"] * kl + heads["mil_inter"].mean()
             + cfg["alpha_coactivity"] * contrast + cfg["alpha_mutual"] * mutual
             + cfg["alpha_norm"] * norms / 3 + cfg["alpha_guide"] * guides / 3)
    parts = {"mil_orig": mil_orig.mean(), "mil_supp": mil_supp.mean(), "coactivity": contrast,
             "mutual": mutual, "norm": norms / 3, "guide": guides / 3,
             **{k: v.mean() for k, v in heads.items()}, "kl": kl, "stcl": total}
    return total, {k: v.detach() for k, v in parts.items()}


# ---------------------------------------------------------------- snippet contrast (sec. 4.3)
def _sorted_gather(scores: Tensor, embeddings: Tensor, k: int) -> Tensor:
    """The rows of ``embeddings`` (B, T, D) at the first k indices of a full descending
    ``torch.sort`` of ``scores`` (B, T) -> (B, k, D)."""
    index = torch.sort(scores, dim=1, descending=True).indices[:, :k]
    return torch.gather(embeddings, 1, index.unsqueeze(-1).expand(-1, -1, embeddings.shape[-1]))


def _window(mask: Tensor, before: int, after: int, reduce: str) -> Tensor:
    """all (reduce "min") or any ("max") of mask[t - before .. t + after], out of range = 0."""
    padded = F.pad(mask, (before, after))
    windows = padded.unfold(1, before + after + 1, 1)
    return windows.amin(-1) if reduce == "min" else windows.amax(-1)


def numpy_median(values: Tensor) -> Tensor:
    """``np.median(values, axis=1, keepdims=True)`` of (B, T) on the device, to the bit: the
    middle value, or for even T the two middle values' float sum halved, as numpy's mean of them
    (``torch.median`` takes the lower one). (B, 1), no host sync."""
    ordered = torch.sort(values, dim=1).values
    t = values.shape[1]
    if t % 2:
        return ordered[:, t // 2:t // 2 + 1]
    return (ordered[:, t // 2 - 1:t // 2] + ordered[:, t // 2:t // 2 + 1]) / 2


def snippet_bands(actionness: Tensor) -> tuple[Tensor, Tensor]:
    """The hard-mining bands of (B, T) actionness: bin = a > the per-video numpy median
    (strict, :func:`numpy_median`); inner = ero3 - ero6, outer = dil6 - dil3 (ero3 = all of
    bin[t-1 .. t+1], ero6 = all of bin[t-3 .. t+2], dil3 = any of bin[t-1 .. t+1], dil6 = any
    of bin[t-2 .. t+3];
    scipy's flat erosion / dilation with out-of-range 0). Float masks (B, T), no gradient."""
    values = actionness.detach()
    binary = (values > numpy_median(values)).to(values.dtype)
    inner = _window(binary, 1, 1, "min") - _window(binary, 3, 2, "min")
    outer = _window(binary, 2, 3, "max") - _window(binary, 1, 1, "max")
    return inner, outer


def info_nce(query: Tensor, key: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """InfoNCE with target 0, averaged over B: query, key (B, D), negatives (B, N, D), each
    L2-normalised; logits [q.k, q.n_1, ...] / temperature."""
    q, k = F.normalize(query, dim=1), F.normalize(key, dim=1)
    n = F.normalize(negatives, dim=2)
    logits = torch.cat((torch.einsum("bd,bd->b", q, k).unsqueeze(-1),
                        torch.einsum("bd,bnd->bn", q, n)), 1)
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits / temperature, target)


def snippet_contrast_loss(feat: Tensor, attn: Tensor, cfg: Mapping[str, Any]) -> Tensor:
    """L_snip = NCE(mean HA, mean EA, EB) + NCE(mean HB, mean EB, EA) (sec. 4.3).

    feat (B, T, D) the fused features (``out.feat``), attn (B, T, 1) the mean attention. a =
    sigmoid(attn) (Q5, ``snip_double_sigmoid``) or attn; k_easy = T // 5, k_hard = T // 20 (T >= 20,
    else k_hard = 0 is refused). The easy mask is one ``Dropout(snip_mask_dropout)`` of ones
    drawn from torch's default generator; gradient reaches feat at the gathered rows only.
    """
    length = feat.shape[1]
    k_easy = length // int(cfg["snip_easy_divisor"])
    k_hard = length // int(cfg["snip_hard_divisor"])
    if min(k_easy, k_hard) < 1:
        raise ValueError(f"the snippet contrast needs T >= {cfg['snip_hard_divisor']} snippets "
                         f"(k_hard = T // {cfg['snip_hard_divisor']} >= 1), got T = {length}")
    score = attn.squeeze(-1)
    a = torch.sigmoid(score) if cfg["snip_double_sigmoid"] else score
    mask = F.dropout(torch.ones_like(a), p=float(cfg["snip_mask_dropout"]), training=True)
    easy_act = _sorted_gather(a * mask, feat, k_easy)
    easy_bkg = _sorted_gather((a.max(dim=1, keepdim=True).values - a) * mask, feat, k_easy)
    inner, outer = snippet_bands(a)
    hard_act = _sorted_gather(a * inner, feat, k_hard)
    hard_bkg = _sorted_gather(a * outer, feat, k_hard)
    tau = float(cfg["snip_temperature"])
    return (info_nce(hard_act.mean(1), easy_act.mean(1), easy_bkg, tau)
            + info_nce(hard_bkg.mean(1), easy_bkg.mean(1), easy_act, tau))


# ---------------------------------------------------------------- registered terms
def _one_view(outputs, name: str) -> STCLOutput:
    if len(outputs) != 1:
        raise ValueError(f"the {name} loss takes one view, got {len(outputs)}")
    return outputs[0]


def loss_config(settings: SimpleNamespace | Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`CONFIG_KEYS` of a settings namespace or dict."""
    get = settings.__getitem__ if isinstance(settings, Mapping) else settings.__getattribute__
    return {key: get(key) for key in CONFIG_KEYS}


@dataclass
class STCLTerm:
    """The whole criterion of sec. 4.2 as one term (``stcl_criterion``): :func:`stcl_loss`'s own
    sum, bit for bit. Training only (the co-activity term needs a class-pair batch)."""

    cfg: dict[str, Any]
    name: str = "stcl_criterion"
    eval_too: bool = False

    def __call__(self, outputs, batch, ctx) -> tuple[Tensor, dict[str, Tensor]]:
        return stcl_loss(_one_view(outputs, self.name), ctx.labels[0], self.cfg)


@dataclass
class STCLPartTerm:
    """One unweighted addition of the criterion (``stcl_mil_intra``, ``stcl_mil_origin``,
    ``stcl_mil_inter``: batch means; ``stcl_kl``) or the snippet contrast (``stcl_snippet``)."""

    cfg: dict[str, Any]
    part: str
    name: str = ""
    eval_too: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or f"stcl_{self.part}"

    def __call__(self, outputs, batch, ctx) -> tuple[Tensor, dict[str, Tensor]]:
        out = _one_view(outputs, self.name)
        return _PARTS[self.part](out, ctx.labels[0], self.cfg), {}


def _mil(field: str) -> Callable[[STCLOutput, Tensor, Mapping[str, Any]], Tensor]:
    def compute(out: STCLOutput, labels: Tensor, cfg: Mapping[str, Any]) -> Tensor:
        return mil_topk_loss(getattr(out, field), labels, True, float(cfg["mil_k_ratio"]),
                             float(cfg["mil_label_eps"])).mean()
    return compute


_PARTS: dict[str, Callable[[STCLOutput, Tensor, Mapping[str, Any]], Tensor]] = {
    "mil_intra": _mil("intra_cas"),
    "mil_origin": _mil("cas_origin"),
    "mil_inter": _mil("inter_cas"),
    "kl": lambda out, labels, cfg: pseudo_kl(out.cas_origin, out.intra_cas, out.inter_cas,
                                             str(cfg["kl_mode"])),
    "snippet": lambda out, labels, cfg: snippet_contrast_loss(out.feat, out.attn, cfg),
}


@TERMS.register("stcl_criterion")
def _stcl_term(settings: SimpleNamespace, stage: str) -> STCLTerm:
    return STCLTerm(cfg=loss_config(settings))


def _register_part(part: str) -> None:
    @TERMS.register(f"stcl_{part}")
    def build(settings: SimpleNamespace, stage: str) -> STCLPartTerm:
        return STCLPartTerm(cfg=loss_config(settings), part=part)


for _part in _PARTS:
    _register_part(_part)
