"""The named output of one ACM-Net / FTCL forward pass."""
from __future__ import annotations

from dataclasses import dataclass, fields

from torch import Tensor


@dataclass
class ACMOutput:
    """Everything one forward pass produces, for a batch of B videos of T snippets.

    C is the number of action classes (index C is the background class), D the embedding size,
    L the LCS candidate count and F the FSD candidate count (``lcs_len`` / ``fsd_len``, clamped
    to T).
    The fields are declared in the order of the original 14-tuple.

    inst_cls, cont_cls, back_cls: (B, C+1) video scores of the instance / context / background
        branch (top-k mean of the branch CAS over time, softmaxed over classes).
    inst_feat, cont_feat, back_feat: (B, D) mean pre-dropout embedding over each branch's top-k
        snippets by its attention.
    att: (B, T, 3) attention softmaxed over [instance, context, background].
    inst_cas, cas, cont_cas, back_cas: (B, T, C+1) snippet CAS softmaxed over classes (``cas`` is
        the raw classifier output; the others are it times one attention channel).
    lcs_cand: (B, L, D) pre-dropout embedding of the top-L instance-attention snippets, time order.
    fsd_act: (B, F, fc_dim) top-F instance-attention snippets, time order, through feature_trans.
    fsd_bak: (B, F, fc_dim) the FSD "background" candidates (see ``ACMNet``), time order, through
        feature_trans.
    """

    inst_cls: Tensor
    cont_cls: Tensor
    back_cls: Tensor
    inst_feat: Tensor
    cont_feat: Tensor
    back_feat: Tensor
    att: Tensor
    inst_cas: Tensor
    cas: Tensor
    cont_cas: Tensor
    back_cas: Tensor
    lcs_cand: Tensor
    fsd_act: Tensor
    fsd_bak: Tensor

    def as_tuple(self) -> tuple[Tensor, ...]:
        """The 14 tensors in the order the original model returns them."""
        return tuple(getattr(self, f.name) for f in fields(self))
