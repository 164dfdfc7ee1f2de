"""The ACM-Net loss: three classification terms, guide, feature-norm margin, sparse attention."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from methods.acmnet.outputs import ACMOutput

FEAT_MARGIN = 50.0


def branch_targets(labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(B, C) multi-hot labels -> instance [y, 0], context [y, 1], background [0..0, 1] targets.

    Each target is (B, C+1) and divided by its own sum (an all-zero label row gives NaN in the
    instance target, as in the original).
    """
    zeros = labels.new_zeros(labels.shape[0], 1)
    ones = labels.new_ones(labels.shape[0], 1)
    targets = (torch.cat([labels, zeros], dim=1), torch.cat([labels, ones], dim=1),
               torch.cat([torch.zeros_like(labels), ones], dim=1))
    return tuple(t / t.sum(dim=1, keepdim=True) for t in targets)


def soft_cross_entropy(probs: Tensor, target: Tensor, eps: float) -> Tensor:
    """-sum(target * log(probs + eps)) per video, averaged over the batch: (B, K) x2 -> scalar."""
    return -torch.mean(torch.sum(torch.log(probs + eps) * target, dim=1))


def guide_loss(inst_cas: Tensor, att: Tensor) -> Tensor:
    """Sum over time of |1 - inst_cas[..., bg] - inst_att.detach()|, batch mean.

    inst_cas: (B, T, C+1) softmaxed instance CAS; att: (B, T, 3). Returns a scalar.
    """
    return torch.sum(torch.abs(1 - inst_cas[:, :, -1] - att[:, :, 0].detach()), dim=1).mean()


def feature_margin_loss(inst_feat: Tensor, cont_feat: Tensor, back_feat: Tensor,
                        margin: float = FEAT_MARGIN) -> Tensor:
    """(relu(m - |f_i| + |f_c|) + relu(m - |f_c| + |f_b|) + |f_b|)^2, batch mean; features (B, D).

    The original relu is an in-place ``x[x < 0] = 0``: the gradient passes at exactly 0, as
    ``clamp_min`` does.
    """
    n_inst, n_cont, n_back = (torch.linalg.vector_norm(f, ord=2, dim=1)
                              for f in (inst_feat, cont_feat, back_feat))
    first = (margin - n_inst + n_cont).clamp_min(0)
    second = (margin - n_cont + n_back).clamp_min(0)
    return torch.mean((first + second + n_back) ** 2)


def sparse_attention_loss(att: Tensor) -> Tensor:
    """Mean over batch and over the instance/context channels of their temporal sums (factor 1/2).

    att: (B, T, 3) -> scalar.
    """
    return torch.sum(att[:, :, :2], dim=1).mean()


def acm_loss(out: ACMOutput, labels: Tensor, lambdas: Sequence[float],
             cls_weights: Sequence[float] = (1.0, 1.0, 1.0), eps: float = 0.0
             ) -> tuple[Tensor, dict[str, Tensor]]:
    """ACM total = cls + l1*guide + l2*feat + l3*sparse; cls = w_i*inst + w_c*cont + w_b*back.

    out: the model output for B videos; labels: (B, C) multi-hot. ``eps`` is added inside the log
    of the classification terms (ACM-Net 0, FTCL in-batch 1e-45, FTCL pair 1e-10).
    Returns the scalar total (with its graph) and detached scalar parts: act_inst_cls, act_cont_cls,
    act_back_cls, guide, feat, att (the sparse term), acm (the total).
    """
    inst_t, cont_t, back_t = branch_targets(labels)
    inst = soft_cross_entropy(out.inst_cls, inst_t, eps)
    cont = soft_cross_entropy(out.cont_cls, cont_t, eps)
    back = soft_cross_entropy(out.back_cls, back_t, eps)
    guide = guide_loss(out.inst_cas, out.att)
    feat = feature_margin_loss(out.inst_feat, out.cont_feat, out.back_feat)
    sparse = sparse_attention_loss(out.att)

    w_inst, w_cont, w_back = cls_weights
    l1, l2, l3 = lambdas
    cls = w_inst * inst + w_cont * cont + w_back * back
    total = cls + (l1 * guide + l2 * feat + l3 * sparse)
    parts = {"act_inst_cls": inst, "act_cont_cls": cont, "act_back_cls": back, "guide": guide,
             "feat": feat, "att": sparse, "acm": total}
    return total, {k: v.detach() for k, v in parts.items()}
