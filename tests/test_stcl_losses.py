"""methods.stcl.loss: the STCL criterion's terms (three head MIL terms, the six-call pseudo-KL, CO2's
terms on the fused CAS), the total, the snippet contrast and their gradients against the literal
ports (tests/reference/original_stcl_losses.py), through the model too; the registered stcl_*
terms; the named quirks (Q4 the KL fed probabilities, Q5 the double sigmoid and the shared
dropout mask, the hard-mining bands)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import ndimage

from losses.criterion import criterion_from_recipe
from losses.terms import TERMS
from methods.co2net.loss import loss_config as co2_loss_config
from methods.stcl.loss import (CONFIG_KEYS, HEAD_PARTS, STCL_THUMOS_LOSS, loss_config,
                               numpy_median, pseudo_kl, snippet_bands, snippet_contrast_loss,
                               stcl_loss)
from methods.stcl.model import STCL, STCLOutput, bank_features, draw_bank
from tests.helpers import pair_labels
from tests.reference import original_stcl_losses as ref
from tests.reference.original_stcl_model import OriginalSTCL_THU

B, T, D, C, H, K, M = 10, 20, 16, 3, 4, 4, 2  # spec sec. 10's suggested test sizes
OUTPUTS = ("feat", "cas", "attn", "v_atn", "f_atn", "cas_origin", "intra_cas", "inter_cas")
# torch's note on KLDivLoss(reduction='mean') (the original's call, Q4), from the port and here
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
OPT = SimpleNamespace(k=7.0, alpha1=0.8, alpha2=0.8, alpha3=1.0, alpha4=1.0)
CFG = loss_config(STCL_THUMOS_LOSS)


def assert_same_grads(mine, theirs):
    for a, b in zip(mine, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.equal(a, b)


def pair(seed: int):
    """Our model and the port after the same torch seed, float64, on a 3-class fake dataset
    (3-4 training videos per class, lengths below, at and above S = T)."""
    gen = np.random.default_rng(seed)
    lengths = [7, 20, 33, 12, 26, 20, 9, 41, 15, 30]
    data = SimpleNamespace(features=[gen.standard_normal((t, D)) for t in lengths],
                           classwiseidx=[[0, 1, 2, 9], [3, 4, 5], [6, 7, 8, 1]],
                           num_segments=T, lengths=lengths)
    torch.manual_seed(seed)
    model = STCL(feature_dim=D, num_classes=C, ccm_hidden=H, key_dim=K, per_class=M)
    torch.manual_seed(seed)
    port = OriginalSTCL_THU(data, D, C, H, K, act_vid_num=M)
    return model.double(), port.double(), data


def leaf_outputs(seed: int = 0, batch: int = B, length: int = T) -> STCLOutput:
    gen = torch.Generator().manual_seed(seed)

    def leaf(*shape, sigmoid=False):
        value = torch.randn(*shape, generator=gen, dtype=torch.float64)
        return (torch.sigmoid(value) if sigmoid else value).requires_grad_()

    cas = [leaf(batch, length, C + 1) for _ in range(4)]
    return STCLOutput(feat=leaf(batch, length, D), cas=cas[0],
                      attn=leaf(batch, length, 1, sigmoid=True),
                      v_atn=leaf(batch, length, 1, sigmoid=True),
                      f_atn=leaf(batch, length, 1, sigmoid=True),
                      cas_origin=cas[1], intra_cas=cas[2], inter_cas=cas[3])


def grads(value: torch.Tensor, out: STCLOutput) -> tuple:
    return torch.autograd.grad(value, list(out.as_tuple()), allow_unused=True,
                               retain_graph=True)


def test_defaults_are_the_original_literals():
    assert set(CONFIG_KEYS) == set(STCL_THUMOS_LOSS)
    assert STCL_THUMOS_LOSS["kl_weight"] == 1.0 and STCL_THUMOS_LOSS["kl_mode"] == "original"
    assert (STCL_THUMOS_LOSS["snip_easy_divisor"], STCL_THUMOS_LOSS["snip_hard_divisor"]) == (5, 20)
    assert STCL_THUMOS_LOSS["snip_mask_dropout"] == 0.6
    assert STCL_THUMOS_LOSS["snip_temperature"] == 0.07
    assert STCL_THUMOS_LOSS["snip_double_sigmoid"] is True
    assert co2_loss_config(STCL_THUMOS_LOSS) == {k: CFG[k] for k in co2_loss_config(CFG)}
    assert STCL_THUMOS_LOSS["mil_k_ratio"] == 7.0 and STCL_THUMOS_LOSS["alpha_norm"] == 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_term_total_and_gradients_equal_the_port(seed):
    out = leaf_outputs(seed)
    labels = pair_labels(B, C)
    want, theirs = ref.criterion(out.as_dict(), labels, OPT)
    total, parts = stcl_loss(out, labels, CFG)
    assert torch.equal(total, want)
    assert_same_grads(grads(total, out), grads(want, out))
    assert torch.equal(parts["stcl"], want) and not parts["stcl"].requires_grad
    for name in ("mil_intra", "mil_origin", "mil_inter", "mil_orig", "mil_supp"):
        assert torch.equal(parts[name], theirs[name].mean()), name
    for name in ("kl", "coactivity", "mutual"):
        assert torch.equal(parts[name], theirs[name]), name
    kl = pseudo_kl(out.cas_origin, out.intra_cas, out.inter_cas)
    assert torch.equal(kl, theirs["kl"])
    assert_same_grads(grads(kl, out), grads(theirs["kl"], out))
    assert set(parts) == {"mil_orig", "mil_supp", "coactivity", "mutual", "norm", "guide",
                          *HEAD_PARTS, "stcl"}


def test_kl_weight_of_act_is_a_setting():
    out = leaf_outputs(4)
    labels = pair_labels(B, C)
    total, _ = stcl_loss(out, labels, dict(CFG, kl_weight=0.1))
    want, _ = ref.criterion(out.as_dict(), labels, OPT, kl_weight=0.1)
    assert torch.equal(total, want)


def test_q4_pseudo_kl_takes_probabilities_and_can_be_negative():
    """Each call is mean(Q (log Q - P)) over all B T (C+1) elements; the gradient is -Q / n for
    the first argument and (log Q + 1 - P) / n for the second (sec. 4.2)."""
    gen = torch.Generator().manual_seed(0)
    logits = [torch.randn(4, 9, C + 1, generator=gen, dtype=torch.float64) for _ in range(3)]
    p, q = (t.softmax(-1).reshape(-1, C + 1).requires_grad_() for t in logits[:2])
    value = torch.nn.functional.kl_div(p, q, reduction="mean")
    n = p.numel()
    torch.testing.assert_close(value, (q * (q.log() - p)).sum() / n, rtol=1e-14, atol=0)
    gp, gq = torch.autograd.grad(value, (p, q))
    torch.testing.assert_close(gp, -q.detach() / n, rtol=1e-14, atol=0)
    torch.testing.assert_close(gq, (q.detach().log() + 1 - p.detach()) / n, rtol=1e-12, atol=0)
    values = [pseudo_kl(*(torch.randn(4, 9, C + 1, generator=gen, dtype=torch.float64)
                          for _ in range(3))) for _ in range(5)]
    assert all(v < 0 for v in values)  # not a divergence
    true = pseudo_kl(*logits, mode="true_kl")
    assert true >= 0 and pseudo_kl(logits[0], logits[0], logits[0], "true_kl").abs() < 1e-15
    with pytest.raises(ValueError, match="kl_mode"):
        pseudo_kl(*logits, mode="symmetric")


@pytest.mark.parametrize("length,seed", [(20, 0), (40, 1), (23, 2), (60, 3)])
def test_snippet_contrast_and_its_gradients_equal_the_port(length, seed):
    """Same torch seed: the same Dropout(0.6) mask; the value bit for bit, the feat gradient to
    float64 rounding, no gradient to attn."""
    out = leaf_outputs(seed, batch=6, length=length)
    torch.manual_seed(seed + 10)
    mine = snippet_contrast_loss(out.feat, out.attn, CFG)
    torch.manual_seed(seed + 10)
    want, pairs = ref.cal_snip_cont_loss(out.as_dict(), length)
    assert torch.equal(mine, want)
    g_mine = torch.autograd.grad(mine, (out.feat, out.attn), allow_unused=True)
    g_want = torch.autograd.grad(want, (out.feat, out.attn), allow_unused=True)
    # vectorised differently (no permute, no in-place division): rounding only
    torch.testing.assert_close(g_mine[0], g_want[0], rtol=1e-12, atol=1e-15)
    assert g_mine[1] is None and g_want[1] is None  # rankings carry no gradient to attn
    assert pairs["EA"].shape == (6, length // 5, D) and pairs["HA"].shape == (6, length // 20, D)


def test_snippet_bands_equal_scipy_and_the_spec_windows():
    """inner = ero3 - ero6, outer = dil6 - dil3 against scipy's binary morphology on random
    masks; and the windows of sec. 4.3 on impulses (ero6 = all of t-3..t+2, dil6 = any of
    t-2..t+3)."""
    gen = np.random.default_rng(0)
    for _ in range(20):
        a = torch.as_tensor(gen.random((4, 31)))
        inner, outer = snippet_bands(a)
        binary = (a.numpy() > np.median(a.numpy(), 1, keepdims=True)).astype(float)
        ero3 = ndimage.binary_erosion(binary, np.ones((1, 3))).astype(float)
        ero6 = ndimage.binary_erosion(binary, np.ones((1, 6))).astype(float)
        dil3 = ndimage.binary_dilation(binary, np.ones((1, 3))).astype(float)
        dil6 = ndimage.binary_dilation(binary, np.ones((1, 6))).astype(float)
        assert np.array_equal(inner.numpy(), ero3 - ero6)
        assert np.array_equal(outer.numpy(), dil6 - dil3)
    # one impulse at t = 10 of 20: dil6 = 7..12, dil3 = 9..11, outer = {7, 8, 12} (bin = a > 0)
    a = torch.zeros(1, 20, dtype=torch.float64)
    a[0, 10] = 1.0
    _, outer = snippet_bands(a)
    assert torch.nonzero(outer[0]).flatten().tolist() == [7, 8, 12]
    # a run of 8 ones at 6..13: ero3 = 7..12, ero6 = 9..11, inner = {7, 8, 12}
    a = torch.zeros(1, 20, dtype=torch.float64)
    a[0, 6:14] = 1.0
    inner, _ = snippet_bands(a)
    assert torch.nonzero(inner[0]).flatten().tolist() == [7, 8, 12]


def test_q5_double_sigmoid_and_the_shared_mask():
    """The second sigmoid is monotone: it changes no ranking, hence (away from ties, which its
    compression makes likelier in float32) not the loss, which reads only the gathered rows."""
    out = leaf_outputs(5, batch=6, length=40)
    torch.manual_seed(1)
    single = snippet_contrast_loss(out.feat, out.attn, dict(CFG, snip_double_sigmoid=False))
    torch.manual_seed(1)
    double = snippet_contrast_loss(out.feat, out.attn, CFG)
    assert torch.equal(single, double)
    a = torch.sigmoid(out.attn.detach())
    assert (torch.sigmoid(a) > 0.5).all() and (torch.sigmoid(a) < 0.7311).all()
    torch.manual_seed(1)
    mask = torch.nn.functional.dropout(torch.ones(6, 40, dtype=torch.float64), 0.6, True)
    assert set(mask.unique().tolist()) == {0.0, 2.5}
    with pytest.raises(ValueError, match="T >= 20"):
        snippet_contrast_loss(out.feat[:, :19], out.attn[:, :19], CFG)


def test_criterion_and_snippet_contrast_through_the_model_equal_the_port():
    """The model and the port in training mode (same bank, same dropout draws), then the
    criterion plus the snippet contrast (the original's train() sum): every parameter's
    gradient equals the port's."""
    model, port, data = pair(seed=6)
    model.train()
    port.train()
    x = torch.randn(6, T, D, dtype=torch.float64)
    labels = pair_labels(6, C)
    bank = bank_features(data.features, draw_bank(data.classwiseidx, data.lengths, T, M,
                                                   np.random.RandomState(2)))
    torch.manual_seed(3)
    out = model(x, bank)
    total = stcl_loss(out, labels, CFG)[0] + snippet_contrast_loss(out.feat, out.attn, CFG)
    state = np.random.get_state()
    try:
        np.random.seed(2)
        torch.manual_seed(3)
        theirs = port(x)
    finally:
        np.random.set_state(state)
    want = ref.criterion(theirs, labels, OPT)[0] + ref.cal_snip_cont_loss(theirs, T)[0]
    for name in OUTPUTS:
        torch.testing.assert_close(getattr(out, name), theirs[name], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(total, want, rtol=1e-12, atol=0)
    total.backward()
    want.backward()
    port_params = dict(port.named_parameters())
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, port_params[name].grad, rtol=1e-9, atol=1e-12,
                                   msg=name)


def test_registered_terms_through_the_criterion():
    settings = SimpleNamespace(**CFG)
    out = leaf_outputs(7, batch=6)
    labels = pair_labels(6, C)
    batch = {"label": labels}
    recipe = lambda loss, stage: [("stcl_criterion", 1.0), ("stcl_snippet", 1.0)]  # noqa: E731
    criterion = criterion_from_recipe(recipe, "single", settings, 0)
    torch.manual_seed(0)
    total, parts = criterion([out], batch)
    torch.manual_seed(0)
    want = ref.criterion(out.as_dict(), labels, OPT)[0] + ref.cal_snip_cont_loss(out.as_dict(),
                                                                                 T)[0]
    assert torch.equal(total, want)
    assert "kl" in parts and "stcl_snippet" in parts and "stcl" in parts
    _, theirs = ref.criterion(out.as_dict(), labels, OPT)
    for part in HEAD_PARTS:
        term = TERMS.get(f"stcl_{part}")(settings, "single")
        assert term.name == f"stcl_{part}" and not term.eval_too
        value, _ = term([out], batch, SimpleNamespace(labels=[labels]))
        expect = theirs[part] if part == "kl" else theirs[part].mean()
        assert torch.equal(value, expect), part
    assert not TERMS.get("stcl_criterion")(settings, "single").eval_too
    with pytest.raises(ValueError, match="one view"):
        TERMS.get("stcl_kl")(settings, "pair")([out, out], batch,
                                               SimpleNamespace(labels=[labels, labels]))
    assert loss_config(STCL_THUMOS_LOSS) == CFG


@pytest.mark.parametrize("length", [1, 2, 7, 20, 500])
def test_the_device_median_is_numpy_s_to_the_bit(length):
    """Odd and even T, float32 and float64, ties included: np.median's value, on the device."""
    gen = np.random.default_rng(length)
    for dtype in (np.float32, np.float64):
        values = gen.random((4, length)).astype(dtype)
        values[1] = np.round(values[1] * 3) / 3       # ties
        values[2] = 1 / 3                             # all equal
        want = np.median(values, axis=1, keepdims=True)
        got = numpy_median(torch.from_numpy(values))
        assert got.dtype == torch.from_numpy(values).dtype
        assert np.array_equal(got.numpy(), want.astype(dtype))
