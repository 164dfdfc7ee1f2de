"""Loss terms by name: each term maps ``(outputs, batch, ctx)`` to ``(value, parts)``.

``outputs`` is the list of the model's named outputs, one per view of the batch (one view for a
batch of single videos, two for a batch of pairs); ``batch`` the batch dict, whose labels per view
are ``ctx.labels[v]``; ``ctx`` (:class:`TermContext`) carries the criterion's RNG and a per-call
cache that terms computed from the same draw share (the in-batch LCS and FSD terms use the same
pairs, as the original does). A term is registered with :data:`TERMS` and built from the loss
section of the config; a criterion (``losses.criterion``) is the weighted sum of a list of terms.

The FTCL terms:
- ``acm``: the ACM-Net loss, averaged over the views (pair stage: (ACM(0) + ACM(1)) / 2).
- ``inbatch_lcs`` / ``inbatch_fsd``: FTCL's ``ACMLoss`` contrasts on in-batch pairs of one view.
- ``pair_lcs`` / ``pair_fsd``: FTCL's ``FTCLLoss`` contrasts between the two views of pairs.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Protocol, Sequence

from torch import Tensor

from losses.acm import acm_loss
from losses.ftcl import inbatch_contrast, inbatch_pairs, pair_contrast
from utils.registry import Registry


@dataclass
class TermContext:
    """What the terms of one criterion call share: labels per view, the RNG, a cache."""

    labels: list[Tensor]
    rng: random.Random
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per call; later terms asking for ``key`` get the same value."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class Term(Protocol):
    """A loss term: ``term(outputs, batch, ctx) -> (scalar value with graph, detached parts)``."""

    name: str
    eval_too: bool                   # also computed on test batches (the logged test loss)

    def __call__(self, outputs: Sequence[Any], batch: dict[str, Any], ctx: TermContext
                 ) -> tuple[Tensor, dict[str, Tensor]]: ...


TermBuilder = Callable[[SimpleNamespace, str], Term]
"""Builds a term from the loss section and the stage ("single" or "pair")."""
TERMS: Registry[TermBuilder] = Registry("loss term")


def stage_cls_eps(loss: SimpleNamespace, stage: str) -> float:
    """The cls-loss epsilon of a stage: ``--cls_eps`` if given, else the stage's own."""
    if loss.cls_eps is not None:
        return float(loss.cls_eps)
    return float(loss.pair_stage_cls_eps if stage == "pair" else loss.acm_stage_cls_eps)


def lcs_similarity(loss: SimpleNamespace, stage: str) -> str:
    """"auto" -> the original's choice: raw cosine in the pair stage, scaled in-batch."""
    if loss.lcs_similarity != "auto":
        return loss.lcs_similarity
    return "raw" if stage == "pair" else "scaled"


@dataclass
class ACMTerm:
    """ACM-Net loss of every view, averaged: parts act_inst_cls, act_cont_cls, act_back_cls,
    guide, feat, att (sparse), acm (each the views' mean)."""

    lambdas: tuple[float, float, float]
    cls_weights: tuple[float, float, float]
    cls_eps: float
    name: str = "acm"
    eval_too: bool = True

    def __call__(self, outputs, batch, ctx):
        results = [acm_loss(out, labels, self.lambdas, self.cls_weights, self.cls_eps)
                   for out, labels in zip(outputs, ctx.labels)]
        if len(results) == 1:
            return results[0]
        (total0, parts0), (total1, parts1) = results
        parts = {k: (parts0[k] + parts1[k]) / 2.0 for k in parts0}
        return (total0 + total1) / 2.0, parts


@TERMS.register("acm")
def _acm(loss: SimpleNamespace, stage: str) -> ACMTerm:
    weights = loss.pair_cls_loss_weights if stage == "pair" else loss.cls_loss_weights
    return ACMTerm(lambdas=(loss.loss_lamb_1, loss.loss_lamb_2, loss.loss_lamb_3),
                   cls_weights=tuple(weights), cls_eps=stage_cls_eps(loss, stage))


@dataclass
class ContrastTerm:
    """One FTCL contrast ("lcs" or "fsd") in-batch (one view) or between the two views of pairs.

    In-batch, the pairs are drawn once per call with the criterion's RNG and shared by both
    contrasts; each contrast is computed on its own (a disabled one costs nothing).
    """

    which: str                       # "lcs" or "fsd"
    pair_mode: bool
    thres: float
    similarity: str
    gamma: float
    name: str = ""
    eval_too: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or self.which

    def __call__(self, outputs, batch, ctx):
        flags = dict(use_lcs=self.which == "lcs", use_fsd=self.which == "fsd", thres=self.thres,
                     lcs_similarity=self.similarity, lcs_gamma=self.gamma)
        if self.pair_mode:
            lcs, fsd = pair_contrast(outputs[0], outputs[1], ctx.labels[0], ctx.labels[1],
                                     **flags)
        else:
            pos, neg = ctx.cached("inbatch_pairs", lambda: inbatch_pairs(ctx.labels[0], ctx.rng))
            lcs, fsd = inbatch_contrast(outputs[0], pos, neg, **flags)
        return (lcs if self.which == "lcs" else fsd), {}


def _contrast(which: str, pair_mode: bool) -> TermBuilder:
    def build(loss: SimpleNamespace, stage: str) -> ContrastTerm:
        return ContrastTerm(which=which, pair_mode=pair_mode, thres=loss.thres,
                            similarity=lcs_similarity(loss, stage), gamma=loss.lcs_gamma)
    return build


for _which in ("lcs", "fsd"):
    TERMS.register(f"inbatch_{_which}")(_contrast(_which, pair_mode=False))
    TERMS.register(f"pair_{_which}")(_contrast(_which, pair_mode=True))
