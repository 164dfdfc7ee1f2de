"""The ACM-Net loss as a registered loss term (``acm``): every view's loss, averaged over the
views (pair stage: (ACM(0) + ACM(1)) / 2), with the stage's class weights and epsilon."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from losses.terms import TERMS
from methods.acmnet.loss import acm_loss


def stage_cls_eps(loss: SimpleNamespace, stage: str) -> float:
    """The cls-loss epsilon of a stage: ``--cls_eps`` if given, else the stage's own."""
    if loss.cls_eps is not None:
        return float(loss.cls_eps)
    return float(loss.pair_stage_cls_eps if stage == "pair" else loss.acm_stage_cls_eps)


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
