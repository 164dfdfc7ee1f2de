"""Similarity tables between candidate sequences (the inputs of the FTCL DP).

The cosine is a batched product divided by the two norms, with an analytic backward: the autograd
version of the same formula (or normalising the 2048-d rows first) builds several (P, L, D)
temporaries in the backward pass and costs 2-3 times more on CPU.
"""
from __future__ import annotations

import torch
from torch import Tensor

COS_EPS = 1e-12


class _CosineTable(torch.autograd.Function):
    """cos[p, i, j] = <a[p, i], b[p, j]> / (max(|a[p, i]|, eps) * max(|b[p, j]|, eps))."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:
        norm_a = torch.linalg.vector_norm(a, dim=-1).clamp_min(COS_EPS)
        norm_b = torch.linalg.vector_norm(b, dim=-1).clamp_min(COS_EPS)
        cos = torch.bmm(a, b.transpose(1, 2)).div_(norm_a[:, :, None] * norm_b[:, None, :])
        ctx.save_for_backward(a, b, norm_a, norm_b, cos)
        return cos

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b, norm_a, norm_b, cos = ctx.saved_tensors
        scaled = grad / (norm_a[:, :, None] * norm_b[:, None, :])
        weighted = grad * cos
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            radial = -(weighted.sum(2) / norm_a.square())
            grad_a = torch.baddbmm(a * radial[:, :, None], scaled, b)
        if ctx.needs_input_grad[1]:
            radial = -(weighted.sum(1) / norm_b.square())
            grad_b = torch.baddbmm(b * radial[:, :, None], scaled.transpose(1, 2), a)
        return grad_a, grad_b


def cosine_table(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarity of every row pair: (P, L1, E) x (P, L2, E) -> (P, L1, L2).

    Norms are clamped at 1e-12 (as ``F.normalize``): for non-zero rows this is the original's
    division by the bare norm (to rounding), and an all-zero row gives 0, not NaN.
    """
    return _CosineTable.apply(a, b)


def scaled_similarity(cos: Tensor) -> Tensor:
    """In-batch LCS rescaling max(0, cos - 0.8) * 5 (threshold 0.92 then means cos > 0.984)."""
    return torch.clamp_min(cos - 0.8, 0.0) * 5
