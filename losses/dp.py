"""Batched differentiable dynamic programming for FTCL: FSD and LCS scores.

Both recurrences fill a (L1+1, L2+1) table C whose first row and column are zero and return
C[L1, L2]. All pairs of a batch are processed at once, one anti-diagonal per step
(L1 + L2 - 1 sequential steps), without host-device synchronisation.

Each score is a custom autograd.Function. The forward pass runs the wavefront without autograd on
a preallocated diagonal-major buffer (diagonal s = i + j, position i, pair b), a handful of torch
ops per step. The backward pass computes the weight of every branch in bulk from the saved table
and then the expected-alignment table E = dC[L1, L2] / dC[i, j] (soft-DTW style) by pushing E
backwards over the same anti-diagonals: three fused multiply-adds per step.

On the CPU both passes run with ``DP_THREADS`` torch threads, whatever the run's count.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, Callable

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


DP_THREADS: int | None = 1
"""Torch CPU threads of the DP's forward and backward passes (None: the caller's count).

The wavefront's steps are a few elementwise ops and gathers on (L1+1, B) tensors: latency-bound,
too small to gain from a second thread, and their results are the same bits at any thread count
(tests/test_threads.py checks it). But a parallel region waits for every thread of the team, and
on a loaded machine one of them is often descheduled: on the loaded 2-core VM the FSD DP of 16
pairs took 12 to 23 ms forward+backward at 2 threads and 1 ms at 1 (benchmarks/bench_threads.py,
docs/benchmarks.md). So the DP runs at 1 thread; the run's count applies everywhere else."""


def _dp_threads(step: Callable[..., Any]) -> Callable[..., Any]:
    """Run a pass of an autograd Function (``step(ctx, tensor, ...)``) with ``DP_THREADS`` torch
    threads when ``tensor`` is on the CPU, restoring the caller's count afterwards."""
    @wraps(step)
    def with_threads(ctx: Any, tensor: Tensor, *args: Any) -> Any:
        before = torch.get_num_threads()
        if DP_THREADS is None or tensor.device.type != "cpu" or before == DP_THREADS:
            return step(ctx, tensor, *args)
        torch.set_num_threads(DP_THREADS)
        try:
            return step(ctx, tensor, *args)
        finally:
            torch.set_num_threads(before)
    return with_threads


def smooth_max(x: Tensor, gamma: float, dim: int = -1) -> Tensor:
    """gamma * logsumexp(x / gamma) over ``dim``; gamma == 0 is the hard max (values)."""
    if gamma < 0:
        raise ValueError(f"smooth_max: gamma must be >= 0, got {gamma}")
    if gamma == 0:
        return x.amax(dim)
    return gamma * torch.logsumexp(x / gamma, dim)


@dataclass(frozen=True)
class _Grid:
    """Index bookkeeping of the diagonal-major layout (n_s = L1+L2+1 diagonals, L1+1 positions).

    Every step computes positions i = 1..L1 of diagonal s = 2..L1+L2 at once; slots outside the
    table hold finite junk that no real cell reads, except j <= 0 (i >= s), which must stay 0.
    to_diag: (n_s, L1+1) rows of a (L1*L2 + 1, B) cell-major table (last row = 0) per slot.
    inside: (n_s, L1+1) bool, the slot holds a real cell; below: (n_s, L1+1) bool, 1 <= i, j <= 0.
    to_table: (L1+1, L2+1) slot of cell (i, j) in the flattened (n_s*(L1+1), B) buffer.
    cells: (L1, L2) slot of the interior cell (i, j), 1-based, in the same flattening.
    """

    l1: int
    l2: int
    to_diag: Tensor
    inside: Tensor
    below: Tensor
    to_table: Tensor
    cells: Tensor


@lru_cache(maxsize=64)
def _grid(l1: int, l2: int, device: torch.device) -> _Grid:
    s = torch.arange(l1 + l2 + 1, device=device)[:, None]
    i = torch.arange(l1 + 1, device=device)[None, :]
    j = s - i
    inside = (i >= 1) & (j >= 1) & (j <= l2)
    to_diag = torch.where(inside, (i - 1) * l2 + (j - 1), l1 * l2)
    ti = torch.arange(l1 + 1, device=device)[:, None]
    tj = torch.arange(l2 + 1, device=device)[None, :]
    to_table = (ti + tj) * (l1 + 1) + ti
    return _Grid(l1, l2, to_diag, inside, (i >= 1) & (j <= 0), to_table, to_table[1:, 1:])


def _shifted(diag: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """(..., n_s, L1+1, B) -> per diagonal, the views of positions 0..L1-1 and 1..L1."""
    return diag[..., :-1, :].unbind(-3), diag[..., 1:, :].unbind(-3)


def _to_diag(tables: Tensor, grid: _Grid) -> Tensor:
    """(K, B, L1, L2) -> (K, n_s, L1+1, B) diagonal-major, 0 outside the table."""
    k, b = tables.shape[:2]
    flat = tables.reshape(k, b, grid.l1 * grid.l2).transpose(1, 2)
    flat = torch.cat([flat, flat.new_zeros(k, 1, b)], dim=1)
    return flat[:, grid.to_diag]


def _to_table(diag: Tensor, grid: _Grid) -> Tensor:
    """(n_s, L1+1, B) diagonal-major -> (L1+1, L2+1, B) table."""
    return diag.flatten(0, 1)[grid.to_table]


def _expected_alignment(weights: Tensor, grad: Tensor, grid: _Grid) -> Tensor:
    """E = grad * dC[L1, L2] / dC[i, j] for the interior cells -> (L1, L2, B).

    weights: (3, L1, L2, B) local derivatives of C[i, j] w.r.t. C[i-1, j-1], C[i-1, j], C[i, j-1].
    """
    l1, l2 = grid.l1, grid.l2
    (w_d, w_u, w_l) = (_shifted(w)[1] for w in _to_diag(weights.permute(0, 3, 1, 2), grid))
    e = weights.new_zeros(l1 + l2 + 1, l1 + 1, weights.shape[-1])
    e[l1 + l2, l1] = grad
    e_lo, e_hi = _shifted(e)
    for s in range(l1 + l2, 1, -1):
        e_lo[s - 2].addcmul_(e_hi[s], w_d[s])
        e_lo[s - 1].addcmul_(e_hi[s], w_u[s])
        e_hi[s - 1].addcmul_(e_hi[s], w_l[s])
    return e.flatten(0, 1)[grid.cells]


def _neighbours(table: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(L1+1, L2+1, B) -> C[i-1, j-1], C[i-1, j], C[i, j-1], C[i, j] for the interior, (L1, L2, B)."""
    return table[:-1, :-1], table[:-1, 1:], table[1:, :-1], table[1:, 1:]


def _check_tables(name: str, *tables: Tensor) -> _Grid:
    shape = tables[0].shape
    for t in tables:
        if t.dim() != 3 or t.shape != shape:
            raise ValueError(f"{name}: expected (B, L1, L2) tables of one shape, got "
                             f"{[tuple(u.shape) for u in tables]}")
        if not t.is_floating_point() or t.dtype != tables[0].dtype or t.device != tables[0].device:
            raise ValueError(f"{name}: tables must be floating point of one dtype and device")
    if shape[1] == 0 or shape[2] == 0:
        raise ValueError(f"{name}: sequence lengths must be >= 1, got L1={shape[1]}, L2={shape[2]}")
    return _grid(shape[1], shape[2], tables[0].device)


class _FSD(torch.autograd.Function):
    """C[i,j] = m + smax_gamma(C[i-1,j-1], g + C[i-1,j], g + C[i,j-1]); works on C / gamma."""

    @staticmethod
    @_dp_threads
    def forward(ctx, match: Tensor, gap: Tensor, gamma: float, grid: _Grid) -> Tensor:
        scale = 1.0 / gamma if gamma > 0 else 1.0
        m, g = _to_diag(torch.stack([match, gap]) * scale, grid)
        h = torch.zeros_like(m)
        best = torch.zeros_like(m)
        (h_lo, h_hi), (_, m_hi), (_, g_hi), (_, best_hi), (_, inside) = (
            _shifted(x) for x in (h, m, g, best, grid.inside[..., None].to(m.dtype)))
        pick = torch.logaddexp if gamma > 0 else torch.maximum
        for s in range(2, grid.l1 + grid.l2 + 1):
            side = pick(h_lo[s - 1], h_hi[s - 1])
            side += g_hi[s]
            pick(h_lo[s - 2], side, out=best_hi[s])
            torch.addcmul(m_hi[s], best_hi[s], inside[s], out=h_hi[s])
        ctx.save_for_backward(h, best, gap)
        ctx.gamma, ctx.grid = gamma, grid
        return h[-1, -1] / scale

    @staticmethod
    @once_differentiable
    @_dp_threads
    def backward(ctx, grad: Tensor):
        h, best, gap = ctx.saved_tensors
        gamma, grid = ctx.gamma, ctx.grid
        c_d, c_u, c_l, _ = _neighbours(_to_table(h, grid))
        best = _to_table(best, grid)[1:, 1:]
        g = gap.permute(1, 2, 0) * (1.0 / gamma if gamma > 0 else 1.0)
        z = torch.stack([c_d, g + c_u, g + c_l])
        if gamma > 0:
            w = torch.exp(z - best)
        else:
            first = z[0] >= z[1:].amax(0)
            second = ~first & (z[1] >= z[2])
            w = torch.stack([first, second, ~first & ~second]).to(z.dtype)
        e = _expected_alignment(w, grad, grid)
        return e.permute(2, 0, 1), (e * (w[1] + w[2])).permute(2, 0, 1), None, None


class _LCS(torch.autograd.Function):
    """C[i,j] = C[i-1,j-1] + s if s > threshold else max(C[i-1,j], C[i,j-1]) (smooth if gamma > 0)."""

    @staticmethod
    @_dp_threads
    def forward(ctx, sim: Tensor, threshold: float, gamma: float, grid: _Grid) -> Tensor:
        scale = 1.0 / gamma if gamma > 0 else 1.0
        (s_diag,) = _to_diag(sim[None] * scale, grid)
        (gate,) = _to_diag(sim[None] > threshold, grid)
        gate |= grid.below[..., None]
        h = torch.zeros_like(s_diag)
        (h_lo, h_hi), (_, s_hi), (_, gate_hi) = (_shifted(x) for x in (h, s_diag, gate))
        pick = torch.logaddexp if gamma > 0 else torch.maximum
        for s in range(2, grid.l1 + grid.l2 + 1):
            side = pick(h_lo[s - 1], h_hi[s - 1])
            torch.where(gate_hi[s], h_lo[s - 2] + s_hi[s], side, out=h_hi[s])
        ctx.save_for_backward(h, sim)
        ctx.threshold, ctx.gamma, ctx.grid = threshold, gamma, grid
        return h[-1, -1] / scale

    @staticmethod
    @once_differentiable
    @_dp_threads
    def backward(ctx, grad: Tensor):
        h, sim = ctx.saved_tensors
        gamma, grid = ctx.gamma, ctx.grid
        _, c_u, c_l, c = _neighbours(_to_table(h, grid))
        gate = sim.permute(1, 2, 0) > ctx.threshold
        if gamma > 0:
            w_u, w_l = torch.exp(c_u - c), torch.exp(c_l - c)
        else:
            w_l = (c_l > c_u).to(c.dtype)
            w_u = 1.0 - w_l
        keep = gate.to(c.dtype)
        w = torch.stack([keep, w_u * (1.0 - keep), w_l * (1.0 - keep)])
        e = _expected_alignment(w, grad, grid)
        return (e * keep).permute(2, 0, 1), None, None, None


def fsd_score(match: Tensor, gap: Tensor, gamma: float = 0.1) -> Tensor:
    """FSD of (B, L1, L2) match and gap tables -> (B,).

    C[i,j] = match[i-1,j-1] + smax(C[i-1,j-1], gap[i-1,j-1] + C[i-1,j], gap[i-1,j-1] + C[i,j-1]);
    gamma == 0 is the hard max (a tie takes the first of diagonal, up, left).
    """
    grid = _check_tables("fsd_score", match, gap)
    if gamma < 0:
        raise ValueError(f"fsd_score: gamma must be >= 0, got {gamma}")
    return _FSD.apply(match, gap, float(gamma), grid)


def lcs_score(sim: Tensor, threshold: float, gamma: float = 0.0) -> Tensor:
    """LCS score of a (B, L1, L2) similarity table -> (B,).

    C[i,j] = C[i-1,j-1] + sim[i-1,j-1] if sim[i-1,j-1] > threshold else max(C[i-1,j], C[i,j-1]);
    gamma == 0: hard max, a tie keeps C[i-1,j]; gamma > 0: the max becomes smooth_max. The match
    gate stays the hard threshold.
    """
    grid = _check_tables("lcs_score", sim)
    if gamma < 0:
        raise ValueError(f"lcs_score: gamma must be >= 0, got {gamma}")
    return _LCS.apply(sim, float(threshold), float(gamma), grid)
