"""losses/dp.py against the literal per-cell loops of tests/reference/loop_dp.py."""
from __future__ import annotations

import pytest
import torch

from losses.dp import fsd_score, lcs_score, smooth_max
from tests.reference.loop_dp import loop_fsd, loop_lcs

SHAPES = [(5, 5), (3, 7), (7, 3), (1, 6), (6, 1), (1, 1), (12, 9)]
B = 16


def _grads(out: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """d out.sum() / d inputs; zeros where ``out`` does not depend on them (no match at all)."""
    if not out.requires_grad:
        return [torch.zeros_like(x) for x in inputs]
    weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype, device=out.device)
    return [g if g is not None else torch.zeros_like(x) for g, x in
            zip(torch.autograd.grad((out * weights).sum(), inputs, allow_unused=True), inputs)]


def _quantised(gen: torch.Generator, l1: int, l2: int, dtype: torch.dtype) -> torch.Tensor:
    """(B, L1, L2) similarities on a 0.25 grid in [0, 1]: many exact ties and exact gate hits."""
    return ((torch.rand(B, l1, l2, generator=gen, dtype=dtype) * 4).round() / 4).requires_grad_()


def _assert_close(a: list[torch.Tensor], b: list[torch.Tensor], tol: float) -> None:
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=tol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gamma", [0.0, 0.01, 0.1, 1.0])
def test_fsd_matches_loop(shape: tuple[int, int], gamma: float) -> None:
    gen = torch.Generator().manual_seed(hash((shape, gamma)) % 2**31)
    if gamma == 0:
        match, gap = (_quantised(gen, *shape, torch.float64) - 0.5 for _ in range(2))
        match, gap = match.detach().requires_grad_(), gap.detach().requires_grad_()
    else:
        match, gap = (torch.randn(B, *shape, generator=gen, dtype=torch.float64).requires_grad_()
                      for _ in range(2))
    ours, ref = fsd_score(match, gap, gamma), loop_fsd(match, gap, gamma)
    assert ours.shape == (B,)
    _assert_close([ours], [ref], 1e-6)
    _assert_close(_grads(ours, [match, gap]), _grads(ref, [match, gap]), 1e-6)


LCS_CASES = [(shape, gamma, threshold) for shape in SHAPES for gamma in (0.0, 0.01, 0.1, 1.0)
             for threshold in (0.5, 1.0, -0.1)] + [((30, 30), 0.0, 0.5), ((30, 30), 0.1, 0.75)]


@pytest.mark.parametrize(("shape", "gamma", "threshold"), LCS_CASES)
def test_lcs_matches_loop(shape: tuple[int, int], gamma: float, threshold: float) -> None:
    """threshold 1.0: no cell matches; -0.1: every cell does; 0.5: mixed, with exact ties."""
    gen = torch.Generator().manual_seed(hash((shape, gamma, threshold)) % 2**31)
    sim = _quantised(gen, *shape, torch.float64)
    ours, ref = lcs_score(sim, threshold, gamma), loop_lcs(sim, threshold, gamma)
    _assert_close([ours], [ref], 1e-6)
    grads = _grads(ours, [sim])
    _assert_close(grads, _grads(ref, [sim]), 1e-6)
    if threshold >= 1.0:
        assert not grads[0].any() and (gamma > 0 or not ours.any())


def test_hard_lcs_tie_goes_up() -> None:
    sim = torch.tensor([[[0.9, 0.1], [0.1, 0.9]]], dtype=torch.float64, requires_grad=True)
    # C[1,1] = 0.9 and C[1,2] = C[2,1] = 0.9 tie at (2,2) only if it does not match; it does here.
    out = lcs_score(sim, 0.5)
    assert out.item() == pytest.approx(1.8)
    tie = torch.tensor([[[0.9, 0.1], [0.8, 0.1]]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(lcs_score(tie, 0.5).sum(), tie)
    # C[2,2] = max(up C[1,2] = 0.9, left C[2,1] = 0.9): the tie keeps "up", i.e. sim[0,0].
    assert grad.tolist() == [[[1.0, 0.0], [0.0, 0.0]]]


def test_float32_matches_loop() -> None:
    """float32 in, float32 out; the soft weights carry ~eps * |C| / gamma rounding, hence 5e-5."""
    gen = torch.Generator().manual_seed(3)
    match, gap = (torch.rand(B, 5, 5, generator=gen).requires_grad_() for _ in range(2))
    sim = torch.rand(B, 30, 30, generator=gen).requires_grad_()
    out = fsd_score(match, gap)
    assert out.dtype == torch.float32
    _assert_close([out], [loop_fsd(match, gap)], 1e-5)
    _assert_close(_grads(out, [match, gap]), _grads(loop_fsd(match, gap), [match, gap]), 5e-5)
    out = lcs_score(sim, 0.9)
    _assert_close([out], [loop_lcs(sim, 0.9)], 1e-5)
    _assert_close(_grads(out, [sim]), _grads(loop_lcs(sim, 0.9), [sim]), 1e-6)


@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_gradcheck(gamma: float) -> None:
    gen = torch.Generator().manual_seed(4)
    match, gap = (torch.randn(3, 4, 6, generator=gen, dtype=torch.float64).requires_grad_()
                  for _ in range(2))
    assert torch.autograd.gradcheck(lambda m, g: fsd_score(m, g, gamma), (match, gap))
    # Similarities kept 0.05 away from the threshold so the hard gate never flips.
    sim = torch.rand(3, 6, 4, generator=gen, dtype=torch.float64)
    sim = torch.where(sim > 0.5, sim + 0.05, sim - 0.05).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: lcs_score(s, 0.5, gamma), (sim,))


def test_batch_independent_and_empty_batch() -> None:
    gen = torch.Generator().manual_seed(5)
    sim = torch.rand(B, 8, 5, generator=gen)
    whole = lcs_score(sim, 0.6, 0.1)
    torch.testing.assert_close(torch.cat([lcs_score(sim[i:i + 1], 0.6, 0.1) for i in range(B)]), whole)
    assert lcs_score(sim[:0], 0.6).shape == (0,)
    assert fsd_score(sim[:0], sim[:0]).shape == (0,)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="lengths"):
        lcs_score(torch.rand(2, 0, 3), 0.5)
    with pytest.raises(ValueError, match="one shape"):
        fsd_score(torch.rand(2, 3, 3), torch.rand(2, 3, 4))
    with pytest.raises(ValueError, match="gamma"):
        lcs_score(torch.rand(2, 3, 3), 0.5, gamma=-1.0)


def test_smooth_max_properties() -> None:
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(4, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.equal(smooth_max(x, 0.0), x.amax(-1))
    gaps = [(smooth_max(x, g) - x.amax(-1)).abs().max().item() for g in (1.0, 0.1, 0.01, 0.001)]
    assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] <= 0.001 * torch.log(torch.tensor(7.0))
    assert (smooth_max(x, 0.1) >= x.amax(-1)).all()
    for gamma in (0.0, 0.1, 1.0):
        (grad,) = torch.autograd.grad(smooth_max(x, gamma).sum(), x)
        torch.testing.assert_close(grad.sum(-1), torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(smooth_max(x, 0.5, dim=0), 0.5 * torch.logsumexp(x / 0.5, 0))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_every_device_matches_the_loop(device: str) -> None:
    """float32 on each device present (CUDA when a GPU is) against the float64 loop on CPU."""
    gen = torch.Generator().manual_seed(7)
    match, gap = torch.randn(B, 5, 5, generator=gen), torch.randn(B, 5, 5, generator=gen)
    sim = _quantised(gen, 30, 30, torch.float32).detach()
    ref = [t.double().requires_grad_() for t in (match, gap, sim)]
    fsd_ref, lcs_ref = loop_fsd(ref[0], ref[1]), loop_lcs(ref[2], 0.5)
    want = [fsd_ref, lcs_ref, *_grads(fsd_ref, ref[:2]), *_grads(lcs_ref, ref[2:])]
    m, g, s = (t.to(device).requires_grad_() for t in (match, gap, sim))
    fsd, lcs = fsd_score(m, g), lcs_score(s, 0.5)
    got = [fsd, lcs, *_grads(fsd, [m, g]), *_grads(lcs, [s])]
    for x, y in zip(got, want):
        assert x.device.type == device and x.dtype == torch.float32
        torch.testing.assert_close(x.cpu().double(), y.detach(), rtol=1e-5, atol=5e-5)


def test_benchmark_runs_and_reports_every_figure(tmp_path) -> None:
    """benchmarks/bench_dp.py end to end with one repetition: every figure measured and saved."""
    import json
    import math

    from benchmarks.bench_dp import main
    threads = torch.get_num_threads()
    try:
        assert main(["--reps", "1", "--loop-reps", "1", "--json", str(tmp_path / "dp.json")]) == 0
    finally:
        torch.set_num_threads(threads)
    report = json.loads((tmp_path / "dp.json").read_text())
    assert len(report["cases"]) == 2
    for case in report["cases"].values():
        for label in ("fwd", "fwd+bwd"):
            row = case[label]
            for key in ("tables_dp", "tables_loop", "loop_over_dp", "dp", "loop", "floor",
                        "original", "dp_over_floor", "original_over_dp"):
                assert math.isfinite(row[key]) and row[key] > 0, (label, key)
        assert isinstance(case["fwd+bwd"]["speedup_pass"], bool)
        assert case["ops_fwd_bwd"]["kernels"] > 10 and case["ops_fwd_bwd"]["views"] >= 0
