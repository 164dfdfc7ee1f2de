"""methods.stcl.model: STCL_THU's key names, sizes and seeded initialisation, the exemplar bank's
draw (a RandomState reproduces the original's global numpy stream), forward outputs in eval and
train mode (same dropout draws) and every parameter's gradient against the literal port
(tests/reference/original_stcl_model.py), and CO2 checkpoints loading with strict=False."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from methods.co2net.model import CO2
from methods.stcl.model import (STCL, BankDraw, STCLActivityNet, STCLOutput, bank_features,
                                cosine_attention, draw_bank)
from tests.reference.original_co2_model import OriginalCO2
from tests.reference.original_stcl_model import OriginalSTCL_ACT, OriginalSTCL_THU

D, H, K, C, M, S = 16, 4, 4, 3, 2, 20  # spec sec. 10's suggested test sizes
OUTPUTS = ("feat", "cas", "attn", "v_atn", "f_atn", "cas_origin", "intra_cas", "inter_cas")
TRUNK_OUTPUTS = ("feat", "attn", "v_atn", "f_atn", "cas_origin")


def fake_dataset(seed: int = 0, num_segments: int = S):
    """3 classes, 3-4 training videos each (lengths below, at and above S), float64 features."""
    gen = np.random.default_rng(seed)
    lengths = [7, 20, 33, 12, 26, 20, 9, 41, 15, 30]
    features = [gen.standard_normal((t, D)) for t in lengths]
    classwise = [[0, 1, 2, 9], [3, 4, 5], [6, 7, 8, 1]]
    return SimpleNamespace(features=features, classwiseidx=classwise, num_segments=num_segments,
                           lengths=lengths)


def pair(seed: int = 0, dtype=torch.float64, data=None):
    data = data or fake_dataset()
    torch.manual_seed(seed)
    model = STCL(feature_dim=D, num_classes=C, ccm_hidden=H, key_dim=K, per_class=M)
    torch.manual_seed(seed)
    ref = OriginalSTCL_THU(data, D, C, H, K, act_vid_num=M)
    return model.to(dtype), ref.to(dtype), data


def run_both(model, ref, data, x, np_seed: int, torch_seed: int | None = None):
    """Ours with RandomState(np_seed) for the bank; the port on the global stream after
    np.random.seed(np_seed) (restored afterwards). Same torch seed before each forward."""
    draw = draw_bank(data.classwiseidx, data.lengths, data.num_segments, M,
                     np.random.RandomState(np_seed))
    bank = bank_features(data.features, draw)
    if torch_seed is not None:
        torch.manual_seed(torch_seed)
    out = model(x, bank)
    state = np.random.get_state()
    try:
        np.random.seed(np_seed)
        if torch_seed is not None:
            torch.manual_seed(torch_seed)
        want = ref(x)
    finally:
        np.random.set_state(state)
    return out, want, draw


@pytest.fixture(scope="module")
def official_size():
    torch.manual_seed(0)
    return STCL()


def test_official_sizes_keys_order_and_parameter_count(official_size):
    """Spec sec. 3.4: 52 tensors, 103 441 474 parameters, no feat_encoder; the port agrees."""
    model = official_size
    state = model.state_dict()
    assert len(state) == 52 and "feat_encoder.0.weight" not in state
    assert sum(p.numel() for p in model.parameters()) == 103_441_474
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes["intra_temp_conv1_k.weight"] == (512, 2048, 1)
    assert shapes["intra_temp_conv2_v.weight"] == (2048, 2048, 3)
    assert shapes["inter_temp_classifier.1.weight"] == (2048, 4096, 3)
    assert shapes["clswise_atn_conv.weight"] == (1, 2048, 1)
    assert shapes["classifier.4.weight"] == (21, 2048, 1)
    ref = OriginalSTCL_THU(SimpleNamespace(num_segments=500))
    assert list(ref.state_dict()) == list(state)
    assert {k: tuple(v.shape) for k, v in ref.state_dict().items()} == shapes


def test_official_size_forward_equals_the_port_loaded_strictly(official_size):
    """At the official sizes (2048 = 1024 + 1024, 20 classes, hidden and key 512, M = 10) the
    port takes our state dict strictly; on a bank of 10-row videos (top-k 1) drawn from the same
    legacy stream, float32 outputs agree: the trunk bit for bit, the heads to 1e-5."""
    gen = np.random.default_rng(0)
    lengths = [int(t) for t in gen.integers(5, 16, 200)]
    features = [gen.standard_normal((t, 2048)).astype(np.float32) for t in lengths]
    data = SimpleNamespace(features=features, num_segments=10, lengths=lengths,
                           classwiseidx=[list(range(10 * c, 10 * c + 10)) for c in range(20)])
    ref = OriginalSTCL_THU(data)
    ref.load_state_dict(official_size.state_dict(), strict=True)
    x = torch.randn(2, 12, 2048)
    draw = draw_bank(data.classwiseidx, lengths, 10, 10, np.random.RandomState(1))
    state = np.random.get_state()
    with torch.no_grad():
        out = official_size.eval()(x, bank_features(features, draw))
        try:
            np.random.seed(1)
            want = ref.eval()(x)
        finally:
            np.random.set_state(state)
    assert out.cas.shape == (2, 12, 21)
    for name in OUTPUTS:
        if name in TRUNK_OUTPUTS:
            assert torch.equal(getattr(out, name), want[name]), name
        else:
            torch.testing.assert_close(getattr(out, name), want[name], rtol=0, atol=1e-5,
                                       msg=name)


def test_seeded_construction_draws_the_port_s_weights():
    model, ref, _ = pair(seed=5, dtype=torch.float32)
    ours, theirs = model.state_dict(), ref.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    for name, value in ours.items():
        if name.endswith(".bias"):
            assert torch.count_nonzero(value) == 0, name
        else:
            assert value.abs().max() <= (6 / (value.shape[1] * value.shape[2])) ** 0.5, name


def test_bank_draw_with_a_random_state_equals_the_original_global_stream():
    """RandomState(s) draws the port's get_act_feat after np.random.seed(s) (the global stream):
    the same videos in the same order, the same rows, and the stream left at the same position;
    a Generator draws valid, reproducible banks of the same shape; a given list gives the same
    bank."""
    data = fake_dataset()
    draw = draw_bank(data.classwiseidx, data.lengths, S, M, np.random.RandomState(7))
    state = np.random.get_state()
    try:
        np.random.seed(7)
        want = OriginalSTCL_THU(data, D, C, H, K, act_vid_num=M).get_act_feat(M)
        after = np.random.random(4)  # the stream position after the original's bank
    finally:
        np.random.set_state(state)
    assert torch.equal(bank_features(data.features, draw), want)
    legacy = np.random.RandomState(7)
    draw_bank(data.classwiseidx, data.lengths, S, M, legacy)
    assert np.array_equal(legacy.random(4), after)  # the same draws consumed (Q3)
    assert draw.videos.shape == (C, M) and draw.rows.shape == (C, M, S)
    for c in range(C):
        assert set(draw.videos[c]) <= set(data.classwiseidx[c])
        assert len(set(draw.videos[c])) == M
    gen_draw = draw_bank(data.classwiseidx, data.lengths, S, M, np.random.default_rng(7))
    again = draw_bank(data.classwiseidx, data.lengths, S, M, np.random.default_rng(7))
    assert np.array_equal(gen_draw.videos, again.videos)
    assert np.array_equal(gen_draw.rows, again.rows)
    for c in range(C):
        for m in range(M):
            rows = gen_draw.rows[c, m]
            assert (np.diff(rows) >= 0).all() and rows.max() < data.lengths[gen_draw.videos[c, m]]
    given = BankDraw.from_lists(draw.videos.tolist(), draw.rows.tolist())
    assert torch.equal(bank_features(data.features, given), want)
    with pytest.raises(ValueError, match="class 1 has 3"):
        draw_bank(data.classwiseidx, data.lengths, S, 4, np.random.default_rng(0))


@pytest.mark.parametrize("length", [20, 9, 1])
def test_eval_forward_equals_the_port(length):
    model, ref, data = pair(seed=1)
    x = torch.randn(3, length, D, dtype=torch.float64)
    out, want, _ = run_both(model.eval(), ref.eval(), data, x, np_seed=3)
    assert isinstance(out, STCLOutput)
    assert list(out.as_dict()) == list(want) == list(OUTPUTS)
    for name in OUTPUTS:
        assert getattr(out, name).shape == want[name].shape, name
        if name in TRUNK_OUTPUTS:  # the same ops: bit for bit
            assert torch.equal(getattr(out, name), want[name]), name
        else:  # batched where the port loops (videos, slots): float64 rounding only
            torch.testing.assert_close(getattr(out, name), want[name], rtol=1e-12,
                                       atol=1e-13, msg=name)
    assert out.cas.shape == (3, length, C + 1)
    fused = 0.55 * out.cas_origin + 0.36 * out.intra_cas + 0.09 * out.inter_cas
    assert torch.equal(out.cas, fused)


def test_train_forward_dropout_draws_and_every_gradient_equal_the_port():
    """Same torch seed: the same dropout masks in the original's order (batch trunk, TCL head,
    bank trunk and classifier, SCL head, batch classifier), so equal training outputs; the
    gradients of every parameter through all outputs too (the bank passes gradient into the
    trunk, the bank's classifier only ranks)."""
    model, ref, data = pair(seed=2)
    x = torch.randn(6, S, D, dtype=torch.float64)
    out, want, _ = run_both(model.train(), ref.train(), data, x, np_seed=4, torch_seed=11)
    for name in OUTPUTS:
        if name in TRUNK_OUTPUTS:
            assert torch.equal(getattr(out, name), want[name]), name
        else:
            torch.testing.assert_close(getattr(out, name), want[name], rtol=1e-12,
                                       atol=1e-13, msg=name)
    weights = torch.Generator().manual_seed(0)
    w = {n: torch.rand(want[n].shape, generator=weights, dtype=torch.float64) for n in OUTPUTS}
    sum((getattr(out, n) * w[n]).sum() for n in OUTPUTS).backward()
    sum((want[n] * w[n]).sum() for n in OUTPUTS).backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        assert param.grad is not None and theirs[name].grad is not None, name
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=1e-10, atol=1e-12,
                                   msg=name)


def test_a_generator_bank_makes_the_test_forward_reproducible():
    """The model has no random stream: with the bank drawn from a seeded Generator, two eval
    forwards are equal; another draw changes inter_cas (and the fused cas) only."""
    model, _, data = pair(seed=4)
    model.eval()
    x = torch.randn(1, 13, D, dtype=torch.float64)

    def forward(seed):
        draw = draw_bank(data.classwiseidx, data.lengths, S, M, np.random.default_rng(seed))
        return model(x, bank_features(data.features, draw))

    first, again, other = forward(0), forward(0), forward(1)
    for name in OUTPUTS:
        assert torch.equal(getattr(first, name), getattr(again, name)), name
    for name in ("feat", "attn", "cas_origin", "intra_cas"):
        assert torch.equal(getattr(first, name), getattr(other, name)), name
    assert not torch.equal(first.inter_cas, other.inter_cas)


def test_bank_gradient_reaches_the_trunk_not_the_classifier():
    """Only inter_cas through the bank: fusion and the CCMs' filters get gradient; the classifier
    and the attention heads none (the bank's suppressed CAS only ranks snippets)."""
    model, _, data = pair(seed=3)
    model.eval()
    bank = bank_features(data.features, draw_bank(data.classwiseidx, data.lengths, S, M,
                                                   np.random.default_rng(0)), torch.float64)
    nfeat = torch.randn(2, D, 8, dtype=torch.float64)
    model.semantic(nfeat, model.exemplars(bank)).sum().backward()
    assert model.fusion[0].weight.grad.abs().sum() > 0
    assert model.vAttn.bit_wise_attn[0].weight.grad.abs().sum() > 0
    assert model.fAttn.channel_conv[0].weight.grad.abs().sum() > 0
    # the attention heads and the classifier only rank the bank's snippets
    assert all(p.grad is None for p in model.classifier.parameters())
    assert all(p.grad is None for p in model.vAttn.attention.parameters())


def test_cosine_attention_weights_sum_to_one_over_sources():
    key = torch.randn(2, 4, 6, dtype=torch.float64)
    value = torch.eye(6, dtype=torch.float64).expand(2, 6, 6)
    out = cosine_attention(key, value) - value   # identity values expose W itself
    torch.testing.assert_close(out.sum(1), torch.ones(2, 6, dtype=torch.float64))


def test_a_co2_state_dict_loads_with_strict_false_and_not_the_reverse():
    """Spec sec. 0: the trunk and classifier keys match, feat_encoder is unexpected, TCL/SCL keep
    their initial values; CO2 refuses an STCL state dict strictly (feat_encoder missing)."""
    torch.manual_seed(8)
    co2 = OriginalCO2(D, C, H)
    ours_co2 = CO2(feature_dim=D, num_classes=C, ccm_hidden=H)
    ours_co2.load_state_dict(co2.state_dict())
    model, _, _ = pair(seed=9, dtype=torch.float32)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    result = model.load_state_dict(co2.state_dict(), strict=False)
    assert result.unexpected_keys == ["feat_encoder.0.weight", "feat_encoder.0.bias"]
    trunk = [k for k in fresh if k.split(".")[0] in ("vAttn", "fAttn", "fusion", "classifier")]
    assert sorted(result.missing_keys) == sorted(set(fresh) - set(trunk))
    for key, value in model.state_dict().items():
        if key in trunk:
            assert torch.equal(value, co2.state_dict()[key]), key
        else:
            assert torch.equal(value, fresh[key]), key
    with pytest.raises(RuntimeError, match="feat_encoder"):
        model.load_state_dict(co2.state_dict(), strict=True)
    with pytest.raises(RuntimeError, match="Missing key.*feat_encoder"):
        ours_co2.load_state_dict(model.state_dict(), strict=True)
    # the trunk computes CO2's outputs on the loaded weights
    x = torch.randn(2, 9, D)
    attn, v_atn, f_atn, nfeat = model.eval()._trunk(x.transpose(1, 2))
    want = co2.eval()(x)
    assert torch.equal(attn.transpose(1, 2), want["attn"])
    assert torch.equal(nfeat.transpose(1, 2), want["feat"])
    assert torch.equal(model.classifier(nfeat).transpose(1, 2), want["cas"])


def test_bad_inputs_raise():
    model, _, data = pair(dtype=torch.float32)
    bank = torch.zeros(C, M, S, D)
    with pytest.raises(ValueError, match="STCL expects"):
        model(torch.rand(2, 5), bank)
    with pytest.raises(ValueError, match="exemplar bank is"):
        model(torch.rand(2, 5, D), torch.zeros(C, M + 1, S, D))
    with pytest.raises(ValueError, match="top-k"):
        model(torch.rand(2, 5, D), torch.zeros(C, M, 9, D))
    with pytest.raises(ValueError, match="even feature_dim"):
        STCL(feature_dim=15)


# ----------------------------------------------------------------------------- STCL_ACT

def act_pair(seed: int = 0, pool_kernel: int = 5):
    data = fake_dataset()
    torch.manual_seed(seed)
    model = STCLActivityNet(feature_dim=D, num_classes=C, ccm_hidden=H, key_dim=K, per_class=M,
                            pool_kernel=pool_kernel)
    torch.manual_seed(seed)
    ref = OriginalSTCL_ACT(data, D, C, H, K, act_vid_num=M, pool_kernel=pool_kernel)
    return model.double(), ref.double(), data


@pytest.mark.parametrize("length", [20, 9, 1])
def test_activitynet_eval_forward_equals_the_port(length):
    """STCL_ACT (spec sec. 3.5): pooled heads and attentions, the TCL head on layer 1, the
    same weights and state-dict keys as STCL_THU's."""
    model, ref, data = act_pair(seed=5)
    assert list(model.state_dict()) == list(ref.state_dict()) == list(STCL(
        feature_dim=D, num_classes=C, ccm_hidden=H, key_dim=K, per_class=M).state_dict())
    for name, value in ref.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    x = torch.randn(2, length, D, dtype=torch.float64)
    out, want, _ = run_both(model.eval(), ref.eval(), data, x, np_seed=6)
    for name in OUTPUTS:
        if name in ("feat", "attn", "v_atn", "f_atn", "cas_origin"):
            assert torch.equal(getattr(out, name), want[name]), name
        else:
            torch.testing.assert_close(getattr(out, name), want[name], rtol=1e-12,
                                       atol=1e-13, msg=name)
    unpooled = STCL.forward(model, x, bank_features(data.features, draw_bank(
        data.classwiseidx, data.lengths, S, M, np.random.RandomState(6))))
    assert not torch.equal(unpooled.attn, out.attn)          # the pool is applied


def test_activitynet_train_dropout_order_and_gradients_equal_the_port():
    """Same torch seed: the classifier's masks drawn right after fusion, as STCL_ACT; every
    gradient equal; layer 2 of TCL gets none (its output is unused in the original)."""
    model, ref, data = act_pair(seed=7)
    x = torch.randn(6, S, D, dtype=torch.float64)
    out, want, _ = run_both(model.train(), ref.train(), data, x, np_seed=8, torch_seed=12)
    for name in OUTPUTS:
        torch.testing.assert_close(getattr(out, name), want[name], rtol=1e-12, atol=1e-13,
                                   msg=name)
    weights = torch.Generator().manual_seed(1)
    w = {n: torch.rand(want[n].shape, generator=weights, dtype=torch.float64) for n in OUTPUTS}
    sum((getattr(out, n) * w[n]).sum() for n in OUTPUTS).backward()
    sum((want[n] * w[n]).sum() for n in OUTPUTS).backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        if name.startswith("intra_temp_conv2"):
            assert param.grad is None and theirs[name].grad is None, name
            continue
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=1e-10, atol=1e-12,
                                   msg=name)
    with pytest.raises(ValueError, match="odd pool_kernel"):
        STCLActivityNet(feature_dim=D, num_classes=C, pool_kernel=4)
