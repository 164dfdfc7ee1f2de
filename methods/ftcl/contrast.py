"""FTCL contrasts: cosine tables from candidates, batched FSD / LCS scores, and the two reductions.

In-batch form (the original ``ACMLoss``): pairs of videos inside one batch of single videos.
Pair form (the original ``FTCLLoss``): row i of side 0 against row i of side 1 of a pair batch.
The DP itself lives in :mod:`losses.dp`; every pair of a batch goes through one DP call.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor

from losses.dp import fsd_score, lcs_score
from losses.similarity import cosine_table, scaled_similarity
from methods.acmnet.outputs import ACMOutput
from methods.ftcl.settings import CONFIG as FTCL

FSD_GAMMA = 0.1
LCS_SIMILARITIES = ("scaled", "raw")
_PAIR_EPS = 1e-10


def lcs_pair_scores(cand0: Tensor, cand1: Tensor, thres: float, similarity: str = "raw",
                    gamma: float = 0.0) -> Tensor:
    """LCS score of each pair: candidates (P, L1, D) and (P, L2, D) -> (P,).

    similarity: "raw" cosine (original pair mode) or "scaled" (original in-batch mode); a cell
    matches when its similarity is > ``thres`` and then adds that similarity.
    """
    if similarity not in LCS_SIMILARITIES:
        raise ValueError(f"lcs similarity must be one of {LCS_SIMILARITIES}, got {similarity!r}")
    sim = cosine_table(cand0, cand1)
    if similarity == "scaled":
        sim = scaled_similarity(sim)
    return lcs_score(sim, thres, gamma)


def fsd_pair_scores(cand0: Tensor, cand1: Tensor, gamma: float = FSD_GAMMA) -> Tensor:
    """FSD score of each pair: candidates (P, L1, E) and (P, L2, E) -> (P,).

    The first E//2 dimensions give the match table, the rest the gap table (cosines).
    """
    half = cand0.shape[-1] // 2
    match = cosine_table(cand0[..., :half], cand1[..., :half])
    gap = cosine_table(cand0[..., half:], cand1[..., half:])
    return fsd_score(match, gap, gamma)


def inbatch_pairs(labels: Tensor, rng: random.Random) -> tuple[Tensor, Tensor]:
    """The original ``generate_pairs`` on a (B, C) multi-hot batch -> positive, negative (P|N, 2).

    i < j is positive when the two rows share exactly one class and are equal, negative when they
    share none; pairs are listed in (i, j) loop order and ``rng.sample`` keeps min(N, P) negatives
    (the original samples P and raises ValueError when N < P). The masks are computed on the labels'
    device; copying them to the host for ``rng.sample`` is the one device-to-host sync per batch.
    Returned index tensors live on the labels' device.
    """
    batch = labels.shape[0]
    shared = (labels[:, None, :] * labels[None, :, :]).sum(dim=-1)                   # (B, B)
    equal = (labels[:, None, :] == labels[None, :, :]).all(dim=-1)
    upper = torch.ones(batch, batch, dtype=torch.bool, device=labels.device).triu(1)
    masks = torch.stack([upper & (shared == 1) & equal, upper & (shared == 0)]).cpu().numpy()
    pos = np.argwhere(masks[0])
    neg = np.argwhere(masks[1])
    keep = rng.sample(range(len(neg)), min(len(neg), len(pos)))
    neg = neg[np.asarray(keep, dtype=np.int64)].reshape(-1, 2)
    return (torch.as_tensor(pos, dtype=torch.long, device=labels.device),
            torch.as_tensor(neg, dtype=torch.long, device=labels.device))


def _mean_or_zero(x: Tensor) -> Tensor:
    return x.mean() if x.numel() else x.new_zeros(())


def inbatch_contrast(out: ACMOutput, pos: Tensor, neg: Tensor, *, use_lcs: bool = True,
                     use_fsd: bool = True, thres: float = FTCL["thres"], lcs_similarity: str = "scaled",
                     lcs_gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Unweighted in-batch (LCS, FSD) contrasts: mean over negatives - mean over positives.

    out: the output of B single videos; pos (P, 2), neg (N, 2) from :func:`inbatch_pairs`.
    FSD positives compare fsd_act[i] with fsd_act[j], negatives fsd_act[i] with fsd_bak[j].
    No positive pair (P = 0) or a disabled term gives a zero scalar on the output's device; with
    positives but no negatives the negative mean counts as 0. Returns two scalars.
    """
    zero = out.inst_cls.new_zeros(())
    num_pos = pos.shape[0]
    if num_pos == 0:
        return zero, zero
    pairs = torch.cat([pos, neg])
    first, second = pairs[:, 0], pairs[:, 1]

    def reduce(scores: Tensor) -> Tensor:
        return _mean_or_zero(scores[num_pos:]) - scores[:num_pos].mean()

    lcs = zero
    if use_lcs:
        lcs = reduce(lcs_pair_scores(out.lcs_cand[first], out.lcs_cand[second], thres,
                                     lcs_similarity, lcs_gamma))
    fsd = zero
    if use_fsd:
        other = torch.cat([out.fsd_act[pos[:, 1]], out.fsd_bak[neg[:, 1]]])
        fsd = reduce(fsd_pair_scores(out.fsd_act[first], other))
    return lcs, fsd


def pair_contrast(out0: ACMOutput, out1: ACMOutput, labels0: Tensor, labels1: Tensor, *,
                  use_lcs: bool = True, use_fsd: bool = True, thres: float = FTCL["thres"],
                  lcs_similarity: str = "raw", lcs_gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Unweighted pair-mode (LCS, FSD) contrasts over a batch of B pairs; labels (B, C).

    A pair is positive when its labels share any class. FSD positives compare side 0's fsd_act
    with side 1's fsd_act, negatives side 0's fsd_act with side 1's fsd_bak. Each contrast is
    sum(neg) / (n_neg + 1e-10) - sum(pos) / (n_pos + 1e-10), never skipped (an empty side gives 0).
    A disabled term is a zero scalar. No host sync. Returns two scalars.
    """
    zero = out0.inst_cls.new_zeros(())
    positive = (labels0 * labels1).sum(dim=1) > 0                                      # (B,)
    weight = positive.to(out0.inst_cls.dtype)
    num_pos = weight.sum()
    num_neg = weight.shape[0] - num_pos

    def reduce(scores: Tensor) -> Tensor:
        return (torch.sum(scores * (1 - weight)) / (num_neg + _PAIR_EPS)
                - torch.sum(scores * weight) / (num_pos + _PAIR_EPS))

    lcs = zero
    if use_lcs:
        lcs = reduce(lcs_pair_scores(out0.lcs_cand, out1.lcs_cand, thres, lcs_similarity,
                                     lcs_gamma))
    fsd = zero
    if use_fsd:
        other = torch.where(positive[:, None, None], out1.fsd_act, out1.fsd_bak)
        fsd = reduce(fsd_pair_scores(out0.fsd_act, other))
    return lcs, fsd
