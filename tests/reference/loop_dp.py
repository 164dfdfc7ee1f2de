"""Literal per-cell loop versions of the FTCL recurrences, written from the spec (section 5).

One pair at a time, Python loops over i and j, every cell built from torch ops on 0-dim tensors,
Python ``if`` on the match gate and Python ``max`` (which keeps its first argument on a tie), as the
original code does. Slow by design: these are the oracles for losses/dp.py.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _smax(values: list[Tensor], gamma: float) -> Tensor:
    return gamma * torch.logsumexp(torch.stack(values) / gamma, dim=0)


def loop_fsd(match: Tensor, gap: Tensor, gamma: float = 0.1) -> Tensor:
    """(B, L1, L2) match and gap -> (B,) C[L1, L2] of the FSD recurrence.

    gamma == 0 takes Python ``max`` of [diagonal, up, left] (the first one on a tie).
    """
    out = []
    for m, g in zip(match, gap):
        l1, l2 = m.shape
        zero = m.new_zeros(())
        c = [[zero] * (l2 + 1) for _ in range(l1 + 1)]
        for i in range(1, l1 + 1):
            for j in range(1, l2 + 1):
                gij = g[i - 1, j - 1]
                options = [c[i - 1][j - 1], gij + c[i - 1][j], gij + c[i][j - 1]]
                c[i][j] = m[i - 1, j - 1] + (max(options) if gamma == 0 else _smax(options, gamma))
        out.append(c[l1][l2])
    return torch.stack(out)


def loop_lcs(sim: Tensor, threshold: float, gamma: float = 0.0) -> Tensor:
    """(B, L1, L2) similarities -> (B,) C[L1, L2] of the LCS recurrence.

    gamma == 0 is the original (Python ``max``, ties keep C[i-1, j]); gamma > 0 uses the smooth max.
    """
    out = []
    for s in sim:
        l1, l2 = s.shape
        zero = s.new_zeros(())
        c = [[zero] * (l2 + 1) for _ in range(l1 + 1)]
        for i in range(1, l1 + 1):
            for j in range(1, l2 + 1):
                if s[i - 1, j - 1] > threshold:
                    c[i][j] = c[i - 1][j - 1] + s[i - 1, j - 1]
                elif gamma == 0:
                    c[i][j] = max(c[i - 1][j], c[i][j - 1])
                else:
                    c[i][j] = _smax([c[i - 1][j], c[i][j - 1]], gamma)
        out.append(c[l1][l2])
    return torch.stack(out)
