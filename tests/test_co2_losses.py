"""methods.co2net.loss: each CO2-Net term, the total and their gradients against the literal port
of the official criterion (tests/reference/original_co2_losses.py), the registered terms through
the project's criterion, and the named quirks (MIL epsilon, suppressed CAS minimum, undetached
guide, Q21 literal pairs, Q22 cosine without epsilon, ANT's literal mutual weight)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from losses.criterion import criterion_from_recipe
from losses.terms import TERMS
from methods.co2net.loss import (CONFIG_KEYS, PART_NAMES, co2_loss, coactivity_loss,
                                 guide_loss, loss_config, mil_topk_loss, mutual_loss,
                                 suppressed_cas, topk_count)
from methods.co2net.model import CO2, CO2Output
from methods.co2net.settings import CO2_ACTIVITYNET12, CO2_THUMOS
from tests.helpers import pair_labels
from tests.reference import original_co2_losses as ref
from tests.reference.original_co2_model import OriginalCO2

B, T, D, C = 10, 20, 16, 3
OPT = SimpleNamespace(k=7.0, alpha1=0.8, alpha2=0.8, alpha3=1.0, alpha4=1.0)
CFG = loss_config(CO2_THUMOS)


def leaf_outputs(seed: int = 0, batch: int = B, length: int = T) -> CO2Output:
    gen = torch.Generator().manual_seed(seed)

    def leaf(*shape, sigmoid=False):
        value = torch.randn(*shape, generator=gen, dtype=torch.float64)
        return (torch.sigmoid(value) if sigmoid else value).requires_grad_()

    return CO2Output(feat=leaf(batch, length, D), cas=leaf(batch, length, C + 1),
                     attn=leaf(batch, length, 1, sigmoid=True),
                     v_atn=leaf(batch, length, 1, sigmoid=True),
                     f_atn=leaf(batch, length, 1, sigmoid=True))


def grads(value: torch.Tensor, out: CO2Output) -> list:
    leaves = [t for t in out.as_tuple()]
    return torch.autograd.grad(value, leaves, allow_unused=True, retain_graph=True)


def assert_same_grads(mine, theirs):
    for a, b in zip(mine, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.equal(a, b)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_term_and_its_gradients_equal_the_port(seed):
    out = leaf_outputs(seed)
    labels = pair_labels(B, C)
    theirs = ref.criterion_terms(out.as_dict(), labels, OPT)
    supp = suppressed_cas(out.cas, out.attn)
    assert torch.equal(supp, theirs["supp"])
    mine = {
        "mil_orig": mil_topk_loss(out.cas, labels, True, 7.0, 1e-4),
        "mil_supp": mil_topk_loss(supp, labels, False, 7.0, 1e-4),
        "coactivity": coactivity_loss(out.feat, supp, labels),
        "mutual": mutual_loss(out.v_atn, out.f_atn),
    }
    for name, value in mine.items():
        assert value.shape == theirs[name].shape, name
        assert torch.equal(value, theirs[name]), name
        assert_same_grads(grads(value.sum(), out), grads(theirs[name].sum(), out))
    for atn, norm, guide in zip((out.attn, out.v_atn, out.f_atn), theirs["norms"],
                                theirs["guides"]):
        assert torch.equal(atn.mean(), norm)
        assert torch.equal(guide_loss(atn, out.cas), guide)
        assert_same_grads(grads(guide_loss(atn, out.cas), out), grads(guide, out))


@pytest.mark.parametrize("seed", [0, 3])
def test_total_and_its_gradients_equal_the_port(seed):
    out = leaf_outputs(seed)
    labels = pair_labels(B, C)
    total, parts = co2_loss(out, labels, CFG)
    want = ref.criterion(out.as_dict(), labels, OPT)
    assert torch.equal(total, want)
    assert torch.equal(parts["co2"], want) and not parts["co2"].requires_grad
    assert set(parts) == set(PART_NAMES) | {"co2"}
    assert_same_grads(grads(total, out), grads(want, out))


def test_total_through_the_model_gradients_equal_the_port():
    """Model and criterion together in training mode (same dropout draws): every parameter's
    gradient equals the port's."""
    torch.manual_seed(0)
    model = CO2(feature_dim=D, num_classes=C, ccm_hidden=4).double().train()
    torch.manual_seed(0)
    port = OriginalCO2(D, C, 4).double().train()
    x = torch.randn(B, T, D, dtype=torch.float64)
    labels = pair_labels(B, C)
    torch.manual_seed(9)
    total, _ = co2_loss(model(x), labels, CFG)
    torch.manual_seed(9)
    want = ref.criterion(port(x), labels, OPT)
    assert torch.equal(total, want)
    total.backward()
    want.backward()
    theirs = dict(port.named_parameters())
    for name, param in model.named_parameters():
        if param.grad is None:
            assert name.startswith("feat_encoder.") and theirs[name].grad is None
        else:
            assert torch.equal(param.grad, theirs[name].grad), name


def test_registered_terms_through_the_criterion_equal_the_port():
    settings = SimpleNamespace(**CFG)
    out = leaf_outputs(4)
    labels = pair_labels(B, C)
    batch = {"label": labels}
    criterion = criterion_from_recipe(lambda loss, stage: [("co2", 1.0)], "single", settings, 0)
    total, parts = criterion([out], batch)
    assert torch.equal(total, ref.criterion(out.as_dict(), labels, OPT))
    assert torch.equal(parts["loss"], total.detach()) and "mil_supp" in parts
    assert not TERMS.get("co2")(settings, "single").eval_too
    theirs = ref.criterion_terms(out.as_dict(), labels, OPT)
    want = {"mil_orig": theirs["mil_orig"].mean(), "mil_supp": theirs["mil_supp"].mean(),
            "coactivity": theirs["coactivity"], "mutual": theirs["mutual"],
            "norm": sum(theirs["norms"]) / 3, "guide": sum(theirs["guides"]) / 3}
    for part in PART_NAMES:
        term = TERMS.get(f"co2_{part}")(settings, "single")
        assert term.name == f"co2_{part}"
        ctx = SimpleNamespace(labels=[labels])
        value, _ = term([out], batch, ctx)
        torch.testing.assert_close(value, want[part], rtol=1e-15, atol=0, msg=part)
    # the six parts weighted by a recipe: the same total up to re-association
    weights = {"mil_orig": 1.0, "mil_supp": 1.0, "coactivity": 1.0, "mutual": 1.0,
               "norm": 0.8, "guide": 0.8}
    split = criterion_from_recipe(
        lambda loss, stage: [(f"co2_{p}", weights[p]) for p in PART_NAMES], "single",
        settings, 0)
    torch.testing.assert_close(split([out], batch)[0], total, rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="one view"):
        TERMS.get("co2")(settings, "pair")([out, out], batch, ctx)


def test_loss_config_reads_every_key():
    assert set(loss_config(CO2_THUMOS)) == set(CONFIG_KEYS)
    assert loss_config(SimpleNamespace(**CO2_THUMOS)) == loss_config(CO2_THUMOS)


def test_mil_top_k_count():
    assert topk_count(500, 7.0) == 71  # spec sec. 4.1
    assert topk_count(60, 5.0) == 12
    assert topk_count(6, 7.0) == 1 and topk_count(1, 7.0) == 1


def test_mil_label_epsilon_sits_in_the_denominator_only():
    """The target is [y, bg] / (sum + 1e-4): a single-label video with background has weights
    1 / 2.0001 each, summing to a little less than 1."""
    logits = torch.randn(2, 14, C + 1, dtype=torch.float64)
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 1]], dtype=torch.float64)
    video = torch.topk(logits, 2, dim=1).values.mean(1)
    log_p = torch.log_softmax(video, -1)
    expect = -(log_p[0, 0] + log_p[0, 3]) / 2.0001
    got = mil_topk_loss(logits, labels, True, 7.0, 1e-4)
    torch.testing.assert_close(got[0], expect, rtol=1e-15, atol=0)
    expect_supp = -(log_p[1, 1] + log_p[1, 2]) / 2.0001
    torch.testing.assert_close(mil_topk_loss(logits, labels, False, 7.0, 1e-4)[1], expect_supp,
                               rtol=1e-15, atol=0)
    assert not torch.equal(got, mil_topk_loss(logits, labels, True, 7.0, 0.0))


def test_suppressed_cas_uses_the_minimum_over_all_columns_without_detach():
    cas = torch.tensor([[[1.0, -2.0, 3.0, 0.5]]], dtype=torch.float64, requires_grad=True)
    attn = torch.tensor([[[0.25]]], dtype=torch.float64)
    supp = suppressed_cas(cas, attn)
    assert torch.equal(supp.detach(), torch.tensor([[[-1.25, -2.0, -0.75, -1.375]]],
                                                   dtype=torch.float64))
    (grad,) = torch.autograd.grad(supp.sum(), cas)
    # each column: attn; the minimum column also gets (1 - attn) from each of the 4 columns
    assert torch.equal(grad, torch.tensor([[[0.25, 0.25 + 4 * 0.75, 0.25, 0.25]]],
                                          dtype=torch.float64))


def test_guide_background_probability_is_not_detached():
    out = leaf_outputs(5)
    (grad,) = torch.autograd.grad(guide_loss(out.attn, out.cas), out.cas)
    assert grad.abs().sum() > 0


def test_mutual_loss_detaches_the_other_attention():
    v = torch.tensor([[[0.2], [0.6]]], dtype=torch.float64, requires_grad=True)
    f = torch.tensor([[[0.4], [0.1]]], dtype=torch.float64, requires_grad=True)
    value = mutual_loss(v, f)
    torch.testing.assert_close(value, ((0.2 - 0.4) ** 2 + 0.5 ** 2) / 2 * torch.ones(()).double(),
                               rtol=1e-15, atol=0)
    gv, gf = torch.autograd.grad(value, (v, f))
    assert torch.equal(gv, -gf)  # 0.5 * 2 (v - f) / 2 each way, no cross term
    torch.testing.assert_close(gv, (v - f).detach() / 2, rtol=1e-15, atol=0)


def test_q21_the_coactivity_loss_reads_the_first_three_pairs_only():
    out = leaf_outputs(6)
    labels = pair_labels(B, C)
    supp = suppressed_cas(out.cas, out.attn)
    base = coactivity_loss(out.feat, supp, labels)
    changed = labels.clone()
    changed[6:] = 1 - changed[6:]
    assert torch.equal(coactivity_loss(out.feat, supp, changed), base)
    feat = out.feat.detach().clone()
    feat[6:] = 0
    assert torch.equal(coactivity_loss(feat, supp, labels), base.detach())
    # with no pair sharing a label: 0 / 0
    apart = torch.zeros_like(labels)
    apart[0::2, 0] = 1
    apart[1::2, 1] = 1
    assert torch.isnan(coactivity_loss(out.feat, supp, apart))
    assert torch.isnan(ref.contrastive(out.feat, supp, apart))
    with pytest.raises(ValueError, match="at least 6 videos"):
        coactivity_loss(out.feat[:5], supp[:5], labels[:5])
    # a fourth pair only counts when asked for (not the original)
    labels[6, 0] = labels[7, 0] = 1
    assert torch.equal(coactivity_loss(out.feat, supp, labels), base)
    assert not torch.equal(coactivity_loss(out.feat, supp, labels, pairs=4), base)


def test_q22_the_coactivity_cosine_has_no_epsilon():
    out = leaf_outputs(7)
    labels = pair_labels(B, C)
    supp = suppressed_cas(out.cas, out.attn)
    feat = out.feat.detach().clone()
    feat[1] = 0  # a zero video: its H and L columns are zero vectors
    assert torch.isnan(coactivity_loss(feat, supp, labels))
    assert torch.isnan(ref.contrastive(feat, supp, labels))
    assert torch.isfinite(coactivity_loss(feat, supp, labels, cos_eps=1e-8))
    assert CO2_THUMOS["coactivity_cos_eps"] == 0.0


def test_ant_mutual_weight_is_a_literal_one():
    out = leaf_outputs(8)
    labels = pair_labels(B, C)
    opt = SimpleNamespace(**dict(vars(OPT), k=5.0, alpha4=3.0))  # --alpha4 is ignored by ANT_CO2
    want = ref.ant_criterion(out.as_dict(), labels, opt)
    total, _ = co2_loss(out, labels, loss_config(CO2_ACTIVITYNET12))
    assert torch.equal(total, want)
    assert CO2_ACTIVITYNET12["alpha_mutual"] == 1.0 and CO2_ACTIVITYNET12["mil_k_ratio"] == 5.0
