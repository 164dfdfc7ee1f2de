"""methods.aicl.loss: the median bins and sets, each term by hand, and the total cost with its gradients
against the literal port of the official cost (tests/reference/original_aicl_losses.py)."""
from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from methods.aicl.settings import AICL_THUMOS
from methods.aicl.loss import (SET_NAMES, aicl_loss, consistency_mse, gather_sets, generalized_ce,
                         info_nce, median_bins, mine_sets, pseudo_target, set_contrast_loss,
                         video_cls_loss)
from methods.aicl.model import AICL
from tests.reference.original_aicl_losses import (GeneralizedCE, calculate_pesudo_target,
                                                  original_cost)
from tests.reference.original_aicl_model import OriginalAICL

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
D, E, C = 16, 8, 20


def small_cfg(length: int, **kw) -> dict:
    return dict(AICL_THUMOS, feature_dim=D, embed_dim=E, sample_segments_num=length, **kw)


def model_pair(length: int, seed: int, device: str = "cpu", dtype=torch.float64):
    torch.manual_seed(seed)
    model = AICL.from_config(small_cfg(length)).to(device, dtype)
    ref = OriginalAICL(len_feature=D, num_classes=C, width=E).to(device, dtype)
    ref.load_state_dict(model.state_dict(), strict=True)
    return model, ref


def batch(length: int, size: int, seed: int, device: str = "cpu", dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(size, length, D, generator=gen, dtype=dtype)
    labels = torch.zeros(size, C, dtype=dtype)
    for b in range(size):
        labels[b, torch.randperm(C, generator=gen)[:1 + b % 3]] = 1
    return x.to(device), labels.to(device)


# ----------------------------------------------------------------------------- bins and sets

@pytest.mark.parametrize("length", [750, 749, 60, 7])
def test_median_bins_equal_numpy_median(length):
    rng = np.random.default_rng(length)
    a = rng.random((4, length)).astype(np.float32)
    a[1] = np.repeat(a[1, :length // 30 + 1], 30)[:length]  # ties, as stretched videos
    want = np.where(a > np.median(a, 1, keepdims=True), 1.0, 0.0)
    got = median_bins(torch.from_numpy(a))
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), want)


def test_median_of_neighbouring_floats_rounds_up_as_numpy():
    """The two middle values are neighbouring float32 numbers whose float32 average rounds to the
    upper one: numpy's median is then the upper value and only 374 of 750 bins are set."""
    low = np.float32(0.5) + np.float32(2.0 ** -24)       # odd last mantissa bit
    high = np.nextafter(low, np.float32(1.0))
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0.1, 0.45, 374), [low, high],
                             rng.uniform(0.6, 0.9, 374)]).astype(np.float32)
    values = rng.permutation(values)[None]
    assert np.median(values) == high
    got = median_bins(torch.from_numpy(values))
    assert int(got.sum()) == 374
    np.testing.assert_array_equal(got.numpy(), np.where(values > np.median(values), 1.0, 0.0))
    assert torch.median(torch.from_numpy(values)).item() == low  # why torch.median would not do


def test_set_sizes_follow_the_two_top_halves():
    gen = torch.Generator().manual_seed(0)
    a1, a2 = torch.rand(3, 750, generator=gen), torch.rand(3, 750, generator=gen)
    sets = mine_sets(a1, a2, 37, 37)
    assert sets.bin1.sum(1).tolist() == [375.0] * 3 == sets.bin2.sum(1).tolist()
    n_c = sets.mask["CA"].sum(1)
    assert torch.equal(n_c, sets.mask["CB"].sum(1))
    assert torch.equal(sets.mask["IA"].sum(1), 750 - 2 * n_c)
    assert torch.equal(sets.mask["IA"], sets.mask["IB"])
    for name in SET_NAMES:
        assert sets.index[name].shape == (3, 37) and bool(sets.member[name].all())
    # ranking: CA and IA by highest actionness1, CB and IB by lowest
    ca = a1.gather(1, sets.index["CA"])
    assert bool((ca[:, :-1] >= ca[:, 1:]).all())
    cb_max = a1.gather(1, sets.index["CB"]).max(1).values
    others = torch.where(sets.mask["CB"], a1, torch.inf)
    assert torch.equal(cb_max, others.sort(1).values[:, 36])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("length", [60, 100])
def test_sets_equal_the_original_contrast_pairs(device, length):
    model, ref = model_pair(length, seed=length, device=device)
    x, _ = batch(length, 3, seed=1, device=device)
    out = model(x)
    want = ref(x)
    k = length // 20
    sets = mine_sets(out.actionness1, out.actionness2, k, k)
    np.testing.assert_array_equal(sets.bin1.cpu().numpy(), want[8])
    np.testing.assert_array_equal(sets.bin2.cpu().numpy(), want[9])
    for emb, pairs in zip((out.embedding, out.embedding_rgb, out.embedding_flow), want[3:6]):
        got = gather_sets(emb, sets.index)
        for name in SET_NAMES:
            torch.testing.assert_close(got[name], pairs[name], rtol=0, atol=0, msg=name)


def test_small_sets_are_filled_and_marked():
    """A perfectly consistent video has no inconsistent snippet: IA / IB are all fill; with a
    stable top-k the fill is the earliest snippets."""
    a = torch.rand(1, 40, generator=torch.Generator().manual_seed(2))
    sets = mine_sets(a, a.clone(), 2, 4, stable_topk=True)
    assert not sets.mask["IA"].any()
    assert not sets.member["IA"].any() and not sets.member["IB"].any()
    assert sets.index["IA"].tolist() == [[0, 1, 2, 3]]
    assert sets.member["CA"].all() and sets.member["CB"].all()


# ----------------------------------------------------------------------------- terms by hand

def test_video_cls_loss_by_hand_with_its_epsilon():
    logits = torch.tensor([[0.0, math.log(3.0)], [1.0, 1.0]])
    labels = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    got = video_cls_loss(logits, labels, 1e-10)
    log_p0 = [math.log(0.25), math.log(0.75)]
    first = -(1e-10 * log_p0[0] + (1 + 1e-10) * log_p0[1])
    second = -2 * (0.5 + 1e-10) * math.log(0.5)
    assert got.item() == pytest.approx((first + second) / 2, rel=1e-6)
    assert torch.isnan(video_cls_loss(logits, torch.zeros(2, 2), 1e-10))


def test_generalized_ce_by_hand():
    prob = torch.tensor([[0.81, 0.25, 0.5, 0.04]], dtype=torch.float64)
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    q, eps = 0.5, 0.0
    pos = ((1 - 0.9) / q + (1 - 0.5) / q) / 2
    neg = ((1 - 0.5 ** 0.5) / q + (1 - 0.96 ** 0.5) / q) / 2
    assert generalized_ce(prob, target, q, eps).item() == pytest.approx(pos + neg, rel=1e-12)
    # the epsilons of the official code, against the port
    p = torch.rand(3, 30, dtype=torch.float64)
    y = (torch.rand(3, 30) > 0.7).to(torch.float64)
    assert generalized_ce(p, y, 0.7, 1e-7).item() == GeneralizedCE(0.7)(p, y).item()


def test_consistency_mse_is_the_official_half_sum_exactly():
    a = torch.rand(4, 1, 50, requires_grad=True)
    b = torch.rand(4, 1, 50, requires_grad=True)
    ours = consistency_mse(a, b)
    ours.backward()
    grads = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    theirs = 0.5 * F.mse_loss(a, b) + 0.5 * F.mse_loss(b, a)
    theirs.backward()
    assert ours.item() == theirs.item()
    assert torch.equal(grads[0], a.grad) and torch.equal(grads[1], b.grad)


def test_info_nce_by_hand():
    q = torch.tensor([[2.0, 0.0]])
    k = torch.tensor([[1.0, 1.0]])
    neg = torch.tensor([[[0.0, 3.0], [-1.0, 0.0]]])
    logits = torch.tensor([math.sqrt(0.5), 0.0, -1.0]) / 0.1
    want = -torch.log_softmax(logits, 0)[0]
    assert info_nce(q, k, neg, 0.1).item() == pytest.approx(want.item(), rel=1e-6)
    # a negative left out of the softmax
    member = torch.tensor([[True, False]])
    want = -torch.log_softmax(logits[:2], 0)[0]
    assert info_nce(q, k, neg, 0.1, member).item() == pytest.approx(want.item(), rel=1e-6)


def test_exclude_set_fill_uses_members_only():
    """With the fix, padded sets give the loss of the sets truncated to their members."""
    gen = torch.Generator().manual_seed(5)
    k = 5
    padded = {n: torch.randn(1, k, E, generator=gen, dtype=torch.float64) for n in SET_NAMES}
    counts = {"CA": 5, "CB": 3, "IA": 1, "IB": 2}
    member = {n: (torch.arange(k) < counts[n])[None] for n in SET_NAMES}
    truncated = {n: padded[n][:, :counts[n]] for n in SET_NAMES}
    got = set_contrast_loss(padded, 0.1, member)
    want = set_contrast_loss(truncated, 0.1)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    assert not torch.isclose(set_contrast_loss(padded, 0.1), want)
    empty = {n: torch.zeros_like(m) for n, m in member.items()}  # no member anywhere: finite
    assert torch.isfinite(set_contrast_loss(padded, 0.1, empty))


def test_pseudo_target_equals_the_loop():
    gen = torch.Generator().manual_seed(3)
    idx = torch.stack([torch.randperm(50, generator=gen)[:6] for _ in range(4 * C)])
    idx = idx.reshape(4, C, 6).permute(0, 2, 1)                        # (B, K, C)
    labels = torch.zeros(4, C)
    labels[0, [1, 4]] = 1
    labels[1, 7] = 1
    labels[3, [0, 2, 19]] = 1                                          # video 2: no label
    got = pseudo_target(idx, labels, 50)
    want = calculate_pesudo_target(4, labels, idx, 50).squeeze(1)
    assert torch.equal(got, want)
    assert got[2].sum() == 0 and got[3].sum() <= 18


# ----------------------------------------------------------------------------- total cost

@pytest.mark.parametrize("device", DEVICES)
def test_total_cost_and_gradients_equal_the_original(device):
    length = 80
    model, ref = model_pair(length, seed=11, device=device)
    x, labels = batch(length, 4, seed=2, device=device)
    sync_check = (torch.cuda.set_sync_debug_mode if device == "cuda" else None)
    with contextlib.ExitStack() as stack:
        if sync_check:
            sync_check("error")
            stack.callback(sync_check, "default")
        total, parts = aicl_loss(model(x), labels, small_cfg(length))
    want = original_cost(ref(x), labels, num_segments=length)
    exact = 0 if device == "cpu" else 1e-12  # the same ops in the same order on the CPU
    torch.testing.assert_close(total, want, rtol=exact, atol=0)
    total.backward()
    want.backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=1e-9, atol=1e-13,
                                   msg=name)
    weighted = (parts["cls"] + parts["gce_flow"] + parts["gce_rgb"] + 5 * parts["modality"]
                + 0.01 * parts["contrast"] + 0.1 * parts["action"])
    torch.testing.assert_close(weighted, parts["aicl"], rtol=1e-12, atol=0)
    torch.testing.assert_close(parts["contrast"], parts["contrast_base"] + parts["contrast_rgb"]
                               + parts["contrast_flow"], rtol=1e-12, atol=0)
    assert all(not v.requires_grad and v.dim() == 0 for v in parts.values())
    assert parts["aicl"].item() == total.item()


def test_cost_in_float32_equals_the_original():
    length = 100
    model, ref = model_pair(length, seed=4, dtype=torch.float32)
    x, labels = batch(length, 3, seed=9, dtype=torch.float32)
    total, _ = aicl_loss(model(x), labels, small_cfg(length))
    want = original_cost(ref(x), labels, num_segments=length)
    assert total.item() == want.item()
    total.backward()
    want.backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        scale = theirs[name].grad.abs().max()
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=0, atol=1e-6 * scale,
                                   msg=name)


def test_weights_and_switches_come_from_the_config():
    length = 60
    model, _ = model_pair(length, seed=6)
    x, labels = batch(length, 2, seed=3)
    out = model(x)
    _, parts = aicl_loss(out, labels, small_cfg(length))
    cfg = small_cfg(length, loss_weight_cls=2.0, loss_weight_gce=0.0, loss_weight_modality=1.0,
                    loss_weight_contrast=1.0, loss_weight_action=0.0)
    total, _ = aicl_loss(out, labels, cfg)
    want = 2 * parts["cls"] + parts["modality"] + parts["contrast"]
    torch.testing.assert_close(total.detach(), want, rtol=1e-12, atol=0)
    # every set holds >= k members here, so the fill fix changes nothing
    fixed, _ = aicl_loss(out, labels, small_cfg(length, exclude_set_fill=True))
    torch.testing.assert_close(fixed.detach(), parts["aicl"], rtol=1e-12, atol=0)
