"""Losses: hand-computed values, reductions, pair building, equality with the original losses."""
from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest
import torch

from config import parse_args, parse_config
from losses import Criterion
from methods import build_criterion
from methods.acmnet.loss import acm_loss
from methods.acmnet.outputs import ACMOutput
from methods.acmnet.terms import ACMTerm
from methods.ftcl.contrast import cosine_table, inbatch_contrast, inbatch_pairs, lcs_pair_scores
from methods.ftcl.terms import ContrastTerm
from tests.reference.original_losses import OriginalACMLoss, OriginalFTCLLoss, generate_pairs

THUMOS_LAMBDAS = (2e-3, 5e-5, 2e-4)


def _criterion(stage: str, lambdas, cls_weights=(1.0, 1.0, 1.0), use_lcs=True, use_fsd=True,
               lcs_weight=0.1, seed=0) -> Criterion:
    """The FTCL criterion of ``stage`` built from config, with these loss settings."""
    loss = parse_config("THUMOS", []).loss
    loss.loss_lamb_1, loss.loss_lamb_2, loss.loss_lamb_3 = lambdas
    loss.cls_loss_weights = loss.pair_cls_loss_weights = list(cls_weights)
    loss.without_lcs, loss.without_fsd, loss.loss_lamb_lcs = not use_lcs, not use_fsd, lcs_weight
    return build_criterion("ftcl", stage, loss, seed)


def inbatch(lambdas, cls_weights=(1.0, 1.0, 1.0), **kw) -> Criterion:
    """FTCL's ACMLoss: the ACM-stage criterion with the in-batch terms."""
    return _criterion("single", lambdas, cls_weights, **kw)


def pair(lambdas, cls_weights=(1.0, 1.0, 1.0), **kw) -> Criterion:
    """FTCL's FTCLLoss: the pair-stage criterion."""
    return _criterion("pair", lambdas, cls_weights, **kw)


def one(labels):
    return {"label": labels}


def two(labels0, labels1):
    return {"label_0": labels0, "label_1": labels1}
ACM_PARTS = {"act_inst_cls", "act_cont_cls", "act_back_cls", "guide", "feat", "att", "acm"}


def _softmax(*shape: int, gen: torch.Generator) -> torch.Tensor:
    return torch.softmax(torch.randn(*shape, generator=gen) * 2, dim=-1)


def synthetic_output(labels: torch.Tensor, seed: int, length: int = 12, dim: int = 16,
                     lcs_len: int = 6, fsd_len: int = 3, fc_dim: int = 8) -> ACMOutput:
    """A plausible output for ``labels`` (B, C) whose tensors are leaves requiring grad.

    Candidate rows are noisy copies of four prototypes shared by every call, so that many cells pass
    both the scaled (cos > 0.984) and the raw (cos > 0.92) LCS thresholds.
    """
    protos = torch.randn(4, dim, generator=torch.Generator().manual_seed(1234))
    gen = torch.Generator().manual_seed(seed)
    b, c = labels.shape

    def candidates(n: int) -> torch.Tensor:
        pick = torch.randint(0, 4, (b, n), generator=gen)
        return (protos[pick] + 0.02 * torch.randn(b, n, dim, generator=gen)).abs()

    fields = dict(
        inst_cls=_softmax(b, c + 1, gen=gen), cont_cls=_softmax(b, c + 1, gen=gen),
        back_cls=_softmax(b, c + 1, gen=gen),
        inst_feat=torch.rand(b, dim, generator=gen) * 20,
        cont_feat=torch.rand(b, dim, generator=gen) * 8,
        back_feat=torch.rand(b, dim, generator=gen) * 4,
        att=_softmax(b, length, 3, gen=gen), inst_cas=_softmax(b, length, c + 1, gen=gen),
        cas=_softmax(b, length, c + 1, gen=gen), cont_cas=_softmax(b, length, c + 1, gen=gen),
        back_cas=_softmax(b, length, c + 1, gen=gen),
        lcs_cand=candidates(lcs_len),
        fsd_act=torch.randn(b, fsd_len, fc_dim, generator=gen) + 1,
        fsd_bak=torch.randn(b, fsd_len, fc_dim, generator=gen),
    )
    return ACMOutput(**{k: v.requires_grad_() for k, v in fields.items()})


def reference_args(**kw) -> SimpleNamespace:
    args = dict(loss_lamb_1=THUMOS_LAMBDAS[0], loss_lamb_2=THUMOS_LAMBDAS[1],
                loss_lamb_3=THUMOS_LAMBDAS[2], loss_lamb_lcs=0.1, loss_lamb_fsd=0.8, thres=0.92,
                lcs_len=6, fsd_len=3, test=False, without_lcs=False, without_fsd=False)
    args.update(kw)
    return SimpleNamespace(**args)


def original_side(out: ACMOutput, labels: torch.Tensor) -> tuple:
    """The original FTCLLoss argument order for one side."""
    return (out.inst_cls, out.cont_cls, out.back_cls, labels, out.att, out.inst_feat,
            out.cont_feat, out.back_feat, out.inst_cas, out.lcs_cand, out.fsd_act, out.fsd_bak)


def leaves(*outs: ACMOutput) -> list[torch.Tensor]:
    return [t for out in outs for t in out.as_tuple()]


def assert_same_grads(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> None:
    for a, b in zip(ours, theirs):
        if a.grad is None or b.grad is None:
            assert a.grad is None or not a.grad.any()
            assert b.grad is None or not b.grad.any()
        else:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)


def clone_output(out: ACMOutput) -> ACMOutput:
    return ACMOutput(*[t.detach().clone().requires_grad_() for t in out.as_tuple()])


# ACM part: values by hand.

def hand_output() -> ACMOutput:
    """B=2, C=2, T=4 with chosen scores, attention, CAS and feature norms."""
    inst_cls = torch.tensor([[0.5, 0.25, 0.25], [0.4, 0.4, 0.2]])
    cont_cls = torch.tensor([[0.25, 0.25, 0.5], [0.3, 0.3, 0.4]])
    back_cls = torch.tensor([[0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    att = torch.zeros(2, 4, 3)
    att[0] = torch.tensor([[0.5, 0.25, 0.25]] * 4)                       # inst sum 2, cont sum 1
    att[1] = torch.tensor([[0.7, 0.1, 0.2], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [0.2, 0.2, 0.6]])
    inst_cas = torch.full((2, 4, 3), 0.3)
    inst_cas[0, :, 2] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    inst_cas[1, :, 2] = torch.tensor([0.3, 0.9, 0.8, 0.8])
    feat = torch.zeros(2, 3, 4)
    feat[0, :, 0] = torch.tensor([60.0, 20.0, 5.0])                      # |f_i|, |f_c|, |f_b|
    feat[1, :, :2] = torch.tensor([[60.0, 80.0], [6.0, 8.0], [0.0, 0.0]])  # 100, 10, 0
    cas = torch.full((2, 4, 3), 1 / 3)
    return ACMOutput(inst_cls, cont_cls, back_cls, feat[:, 0], feat[:, 1], feat[:, 2], att,
                     inst_cas, cas, cas, cas, torch.zeros(2, 1, 4), torch.zeros(2, 1, 4),
                     torch.zeros(2, 1, 4))


def test_acm_parts_by_hand():
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    total, parts = acm_loss(hand_output(), labels, lambdas=(0.1, 0.01, 1.0))
    log = math.log
    inst = (-log(0.5) - (0.5 * log(0.4) + 0.5 * log(0.4))) / 2           # [1,0,0], [1/2,1/2,0]
    cont = (-(0.5 * log(0.25) + 0.5 * log(0.5)) - (log(0.3) * 2 + log(0.4)) / 3) / 2
    back = (-log(0.8) - log(0.6)) / 2                                     # [0,0,1]
    # guide: |1 - cas_bg - inst_att| summed over time
    guide = ((0.4 + 0.3 + 0.2 + 0.1) + (0.0 + 0.0 + 0.0 + 0.0)) / 2
    # video 0: relu(50-60+20)=10, relu(50-20+5)=35, 5 -> 50^2; video 1: 0, 40, 0 -> 40^2
    feat = (50.0 ** 2 + 40.0 ** 2) / 2
    # sparse: mean over batch and the two channels of the temporal sums (the 1/2 factor)
    sparse = ((2.0 + 1.0) + (1.2 + 0.6)) / 4
    expected = {"act_inst_cls": inst, "act_cont_cls": cont, "act_back_cls": back,
                "guide": guide, "feat": feat, "att": sparse}
    for key, value in expected.items():
        assert parts[key].item() == pytest.approx(value, rel=1e-6), key
    acm = inst + cont + back + 0.1 * guide + 0.01 * feat + 1.0 * sparse
    assert total.item() == pytest.approx(acm, rel=1e-6)
    assert parts["acm"].item() == pytest.approx(acm, rel=1e-6)
    weighted, _ = acm_loss(hand_output(), labels, lambdas=(0.1, 0.01, 1.0),
                           cls_weights=(5.0, 1.0, 1.0))
    assert weighted.item() == pytest.approx(acm + 4 * inst, rel=1e-6)


def test_cls_eps_guards_a_zero_probability():
    out = hand_output()
    out.back_cls = torch.tensor([[0.2, 0.8, 0.0], [0.2, 0.2, 0.6]])
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert math.isinf(acm_loss(out, labels, (0, 0, 0))[1]["act_back_cls"].item())
    guarded = acm_loss(out, labels, (0, 0, 0), eps=1e-10)[1]["act_back_cls"].item()
    assert guarded == pytest.approx((-math.log(1e-10) - math.log(0.6)) / 2, rel=1e-4)


def test_feature_margin_gradient_passes_only_active_hinges():
    out = hand_output()
    for name in ("inst_feat", "cont_feat", "back_feat"):
        getattr(out, name).requires_grad_()
    acm_loss(out, torch.tensor([[1.0, 0.0], [1.0, 1.0]]), (0.0, 1.0, 0.0))[0].backward()
    # video 1: the first hinge is inactive, so |f_i| gets no gradient
    assert out.inst_feat.grad[1].abs().sum() == 0
    # video 0: d/d|f_i| of (50 - |f_i| + ...)^2 / 2 = -50 along the unit direction
    torch.testing.assert_close(out.inst_feat.grad[0], torch.tensor([-50.0, 0, 0, 0]))


@pytest.mark.parametrize("dataset,weights", [("THUMOS14", (1.0, 1.0, 1.0)),
                                             ("ActivityNet", (5.0, 1.0, 1.0))])
def test_inbatch_criterion_equals_original_acmloss(dataset, weights):
    labels = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1],
                           [0, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=torch.float32)
    criterion = inbatch(THUMOS_LAMBDAS, weights, seed=7)
    original = OriginalACMLoss(reference_args(), dataset=dataset, rng=random.Random(7))
    for step in range(2):                         # the negative-sampling streams stay in step
        out = synthetic_output(labels, seed=step)
        ref = clone_output(out)
        total, parts = criterion([out], one(labels))
        want, want_parts = original(ref.inst_cls, ref.cont_cls, ref.back_cls, labels, ref.att,
                                    ref.inst_feat, ref.cont_feat, ref.back_feat, ref.inst_cas,
                                    ref.lcs_cand, ref.fsd_act, ref.fsd_bak, reference_args())
        assert set(parts) == ACM_PARTS | {"lcs", "fsd", "loss"}
        assert all(isinstance(v, torch.Tensor) and v.dim() == 0 for v in parts.values())
        torch.testing.assert_close(total, want, rtol=0, atol=1e-6)
        assert parts["lcs"].item() != 0 and parts["fsd"].item() != 0
        names = {"act_inst_cls": "act_inst_loss", "act_cont_cls": "act_cont_loss",
                 "act_back_cls": "act_back_loss", "guide": "guide_loss", "feat": "feat_loss",
                 "att": "sparse_loss", "acm": "acm_loss", "lcs": "lcs_loss", "fsd": "fsd_loss"}
        for ours, theirs in names.items():
            assert parts[ours].item() == pytest.approx(want_parts[theirs], rel=1e-6, abs=1e-6)
        total.backward()
        want.backward()
        assert out.lcs_cand.grad.abs().sum() > 0
        assert_same_grads(leaves(out), leaves(ref))


def _all_pairs(labels: torch.Tensor) -> tuple[list[list[int]], list[list[int]]]:
    """Every positive and every negative i < j pair by the original rule, in loop order."""
    n = labels.shape[0]
    pairs = [(i, j, (labels[i] * labels[j]).sum().item())
             for i in range(n) for j in range(i + 1, n)]
    pos = [[i, j] for i, j, s in pairs if s == 1 and torch.equal(labels[i], labels[j])]
    return pos, [[i, j] for i, j, s in pairs if s == 0]


def test_inbatch_pairs_match_the_original_generate_pairs():
    gen = torch.Generator().manual_seed(0)
    sampled = 0
    for trial in range(20):
        main = torch.multinomial(torch.tensor([0.7, 0.15, 0.15]), 10, replacement=True,
                                 generator=gen)
        labels = torch.nn.functional.one_hot(main, 3).float()
        labels[torch.rand(10, generator=gen) < 0.2, 2] = 1       # a few multi-label rows
        pos, neg = inbatch_pairs(labels, random.Random(trial))
        all_pos, all_neg = _all_pairs(labels)
        assert pos.tolist() == all_pos
        if len(all_neg) >= len(all_pos):
            sampled += 1
            assert neg.tolist() == generate_pairs(labels, random.Random(trial))[1]
        else:                                     # the original raises; we keep every negative
            assert sorted(neg.tolist()) == all_neg
    assert 0 < sampled < 20


def test_identical_multilabel_rows_are_not_positive():
    labels = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    pos, neg = inbatch_pairs(labels, random.Random(0))
    assert pos.shape == (0, 2) and neg.shape == (0, 2)      # no positive -> no negative kept


def test_no_positive_pair_gives_zero_contrast_without_error():
    labels = torch.eye(4)
    out = synthetic_output(labels, seed=0)
    total, parts = inbatch(THUMOS_LAMBDAS)([out], one(labels))
    assert parts["lcs"].item() == 0 and parts["fsd"].item() == 0
    assert parts["lcs"].device == out.inst_cls.device and parts["lcs"].dtype == torch.float32
    torch.testing.assert_close(total, acm_loss(out, labels, THUMOS_LAMBDAS, eps=1e-45)[0])
    total.backward()


def test_fewer_negatives_than_positives_keeps_all_negatives():
    labels = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]])    # 6 positives, 4 negatives
    pos, neg = inbatch_pairs(labels, random.Random(0))
    assert pos.shape == (6, 2) and sorted(neg.tolist()) == [[0, 4], [1, 4], [2, 4], [3, 4]]
    with pytest.raises(ValueError):                           # the original crashes here
        generate_pairs(labels, random.Random(0))


def test_positives_without_negatives_count_the_negative_mean_as_zero():
    labels = torch.tensor([[1.0, 0.0]] * 3)
    out = synthetic_output(labels, seed=3)
    pos, neg = inbatch_pairs(labels, random.Random(0))
    assert neg.shape == (0, 2)
    lcs, _ = inbatch_contrast(out, pos, neg, use_fsd=False)
    scores = lcs_pair_scores(out.lcs_cand[pos[:, 0]], out.lcs_cand[pos[:, 1]], 0.92, "scaled")
    torch.testing.assert_close(lcs, -scores.mean())
    assert lcs.item() < 0


def _two_row_candidates(identical: bool) -> torch.Tensor:
    first = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    other = first if identical else torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    return torch.stack([first, other])


def test_lcs_contrasts_by_hand():
    # identical candidate rows: the similarity table is the identity, so C[2,2] = C[1,1] + s = 2s;
    # orthogonal rows never match: 0.
    assert lcs_pair_scores(torch.eye(2)[None], torch.eye(2)[None], 0.92, "raw").item() == 2.0
    scaled = lcs_pair_scores(torch.eye(2)[None], torch.eye(2)[None], 0.92, "scaled").item()
    assert scaled == pytest.approx(2 * (1.0 - 0.8) * 5, rel=1e-6)
    assert lcs_pair_scores(torch.eye(4)[None, :2], torch.eye(4)[None, 2:], 0.0, "raw").item() == 0
    # pair mode: one positive pair (identical) and one negative (orthogonal):
    # 0 / (1 + 1e-10) - 2 / (1 + 1e-10) = -2; the FSD is off.
    labels0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    labels1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out0 = synthetic_output(labels0, seed=0, lcs_len=2, dim=4)
    out1 = synthetic_output(labels1, seed=1, lcs_len=2, dim=4)
    out0.lcs_cand = torch.stack([_two_row_candidates(True)[0]] * 2)
    out1.lcs_cand = torch.stack([_two_row_candidates(True)[1], _two_row_candidates(False)[1]])
    crit = pair(THUMOS_LAMBDAS, use_fsd=False, lcs_weight=0.5)
    total, parts = crit([out0, out1], two(labels0, labels1))
    assert parts["lcs"].item() == pytest.approx(0.5 * -2.0)
    assert "fsd" not in parts                     # a dropped term is not computed
    # only positives: the empty negative side contributes 0 / 1e-10 = 0
    _, parts = crit([out0, out0], two(labels0, labels0))
    assert parts["lcs"].item() == pytest.approx(0.5 * -2.0)
    # only negatives (the same candidates as the first call): (2 + 0) / (2 + 1e-10) - 0 / 1e-10 = 1
    _, parts = crit([out0, out1], two(labels0, torch.tensor([[0.0, 1.0]] * 2)))
    assert parts["lcs"].item() == pytest.approx(0.5 * 1.0)


def test_zero_vectors_give_zero_cosine_not_nan():
    a = torch.zeros(1, 2, 4)
    b = torch.rand(1, 3, 4)
    assert torch.equal(cosine_table(a, b), torch.zeros(1, 2, 3))


@pytest.mark.parametrize("labels1_rows", [
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],   # mixed
    [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 0]],   # all positive
    [[0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]],   # all negative
])
@pytest.mark.parametrize("dataset,weights", [("THUMOS14", (1.0, 1.0, 1.0)),
                                             ("ActivityNet", (5.0, 1.0, 1.0))])
def test_pair_criterion_equals_original_ftclloss(labels1_rows, dataset, weights):
    labels0 = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 0]],
                           dtype=torch.float32)
    labels1 = torch.tensor(labels1_rows, dtype=torch.float32)
    out0, out1 = synthetic_output(labels0, seed=11), synthetic_output(labels1, seed=12)
    ref0, ref1 = clone_output(out0), clone_output(out1)
    total, parts = pair(THUMOS_LAMBDAS, weights)([out0, out1], two(labels0, labels1))
    want, want_parts = OriginalFTCLLoss(reference_args(), dataset=dataset)(
        original_side(ref0, labels0), reference_args(), original_side(ref1, labels1))
    assert set(parts) == ACM_PARTS | {"lcs", "fsd", "loss"}
    torch.testing.assert_close(total, want, rtol=0, atol=1e-6)
    assert parts["lcs"].item() == pytest.approx(want_parts["lcs_loss"], abs=1e-6)
    assert parts["fsd"].item() == pytest.approx(want_parts["fsd_loss"], abs=1e-6)
    assert parts["acm"].item() == pytest.approx(want_parts["acm_loss"], rel=1e-6)
    assert parts["lcs"].item() != 0 and parts["fsd"].item() != 0
    total.backward()
    want.backward()
    assert_same_grads(leaves(out0, out1), leaves(ref0, ref1))


def test_pair_single_is_the_original_one_video_call():
    labels = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    out = synthetic_output(labels, seed=4)
    total, parts = pair(THUMOS_LAMBDAS).evaluate([out], one(labels))
    want, _ = OriginalFTCLLoss(reference_args())(original_side(clone_output(out), labels),
                                                 reference_args())
    torch.testing.assert_close(total, want)
    assert set(parts) == ACM_PARTS | {"loss"}


@pytest.mark.parametrize("without", ["lcs", "fsd", "both"])
def test_without_flags_match_the_original(without):
    labels = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], dtype=torch.float32)
    no_lcs, no_fsd = without in ("lcs", "both"), without in ("fsd", "both")
    out = synthetic_output(labels, seed=5)
    ref = clone_output(out)
    total, parts = inbatch(THUMOS_LAMBDAS, use_lcs=not no_lcs, use_fsd=not no_fsd,
                           seed=1)([out], one(labels))
    args = reference_args(without_lcs=no_lcs, without_fsd=no_fsd)
    want, want_parts = OriginalACMLoss(args, rng=random.Random(1))(
        *original_side(ref, labels)[:3], labels, ref.att, ref.inst_feat, ref.cont_feat,
        ref.back_feat, ref.inst_cas, ref.lcs_cand, ref.fsd_act, ref.fsd_bak, args)
    torch.testing.assert_close(total, want, rtol=0, atol=1e-6)
    assert ("lcs" not in parts) == no_lcs and ("fsd" not in parts) == no_fsd
    assert parts.get("lcs", torch.zeros(())).item() == pytest.approx(want_parts["lcs_loss"],
                                                                     abs=1e-6)


def test_evaluation_call_is_the_acm_part_only():
    labels = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    out = synthetic_output(labels, seed=2)
    crit = inbatch(THUMOS_LAMBDAS, seed=0)
    state = crit.state_dict()
    total, parts = crit.evaluate([out], one(labels))
    assert set(parts) == ACM_PARTS | {"loss"}
    ref, args = clone_output(out), reference_args(test=True)   # the original skips FTCL terms
    want, want_parts = OriginalACMLoss(args, rng=random.Random(0))(
        ref.inst_cls, ref.cont_cls, ref.back_cls, labels, ref.att, ref.inst_feat, ref.cont_feat,
        ref.back_feat, ref.inst_cas, ref.lcs_cand, ref.fsd_act, ref.fsd_bak, args)
    assert set(want_parts) == {"act_inst_loss", "act_cont_loss", "act_back_loss", "guide_loss",
                               "feat_loss", "sparse_loss", "acm_loss"}
    torch.testing.assert_close(total, want, rtol=0, atol=1e-6)
    assert parts["loss"].item() == pytest.approx(want_parts["acm_loss"], rel=1e-6)
    assert crit.state_dict() == state


def test_rng_state_round_trip_resumes_the_negative_sampling():
    labels = torch.tensor([[1.0, 0.0, 0.0]] * 3 + [[0.0, 1.0, 0.0]] * 3 + [[0.0, 0.0, 1.0]] * 3)
    out = synthetic_output(labels, seed=6)                    # 9 positives, 9 of 27 negatives
    crit = inbatch(THUMOS_LAMBDAS, seed=3)
    crit([out], one(labels))
    saved = crit.state_dict()["rng"]
    as_lists = [saved[0], list(saved[1]), saved[2]]           # what a round trip may produce
    first = [crit([out], one(labels))[0].item() for _ in range(3)]
    crit.load_state_dict({"rng": as_lists})
    again = [crit([out], one(labels))[0].item() for _ in range(3)]
    assert first == again and len(set(first)) == 3


def _terms(crit: Criterion) -> list[tuple[str, float]]:
    return [(term.name, weight) for term, weight in crit.terms]


def test_build_criterion_resolves_the_original_per_mode_defaults():
    cfg = parse_config("THUMOS", [])
    inbatch_crit = build_criterion("ftcl", "single", cfg.loss, cfg.run.seed)
    assert _terms(inbatch_crit) == [("acm", 1.0), ("lcs", 0.1), ("fsd", 0.8)]
    acm, lcs, fsd = (term for term, _ in inbatch_crit.terms)
    assert isinstance(acm, ACMTerm) and isinstance(lcs, ContrastTerm)
    assert (acm.cls_eps, acm.cls_weights, acm.lambdas) == (1e-45, (1.0, 1.0, 1.0), THUMOS_LAMBDAS)
    assert (lcs.similarity, lcs.thres, lcs.pair_mode, fsd.pair_mode) == ("scaled", 0.92, False,
                                                                         False)
    # ActivityNet's ACM stage is ACM-Net's: the ACM loss alone, no epsilon, 5/1/1.
    anet = parse_config("ActivityNet", [])
    pure = build_criterion("ftcl", "single", anet.loss, 0)
    assert _terms(pure) == [("acm", 1.0)]
    assert (pure.terms[0][0].cls_eps, pure.terms[0][0].cls_weights) == (0.0, (5.0, 1.0, 1.0))
    # Its pair stage is FTCLLoss: 1/1/1 and 1e-10, raw-cosine LCS.
    anet_pair = parse_config("ActivityNet", ["--ftcl", "--without_lcs"])
    pair_crit = build_criterion("ftcl", "pair", anet_pair.loss, 0)
    assert _terms(pair_crit) == [("acm", 1.0), ("fsd", 0.8)]
    acm = pair_crit.terms[0][0]
    assert (acm.cls_eps, acm.cls_weights, acm.lambdas) == (1e-10, (1.0, 1.0, 1.0),
                                                           (5e-3, 5e-5, 0.0))
    assert pair_crit.terms[1][0].pair_mode
    custom = parse_config("THUMOS", ["--lcs_similarity", "raw", "--cls_eps", "0", "--without_fsd",
                                     "--lcs_gamma", "0.05", "--seed", "4"])
    crit = build_criterion("ftcl", "single", custom.loss, custom.run.seed)
    assert _terms(crit) == [("acm", 1.0), ("lcs", 0.1)]
    assert (crit.terms[0][0].cls_eps, crit.terms[1][0].similarity, crit.terms[1][0].gamma) == (
        0.0, "raw", 0.05)
    assert crit.state_dict()["rng"] == random.Random(4).getstate()
    with_inbatch = parse_config("ActivityNet", ["--inbatch_ftcl"])
    assert _terms(build_criterion("ftcl", "single", with_inbatch.loss, 0))[1:] == [
        ("lcs", 0.1), ("fsd", 0.8)]


def test_smooth_lcs_option_reaches_the_dp():
    labels = torch.tensor([[1.0, 0.0]] * 2)
    out = synthetic_output(labels, seed=8)
    hard = lcs_pair_scores(out.lcs_cand[:1], out.lcs_cand[1:], 0.92, "raw", gamma=0.0)
    soft = lcs_pair_scores(out.lcs_cand[:1], out.lcs_cand[1:], 0.92, "raw", gamma=0.5)
    assert soft.item() > hard.item()


def test_cosine_table_gradient_matches_autograd_formula():
    """The analytic backward of cosine_table equals autograd through the plain formula."""
    torch.manual_seed(0)
    a = torch.randn(3, 5, 17, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, 17, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(cosine_table, (a, b))
    weights = torch.randn(3, 5, 4, dtype=torch.float64)
    (cosine_table(a, b) * weights).sum().backward()
    ga, gb = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    plain = torch.bmm(torch.nn.functional.normalize(a, dim=-1),
                      torch.nn.functional.normalize(b, dim=-1).transpose(1, 2))
    (plain * weights).sum().backward()
    assert torch.allclose(ga, a.grad, atol=1e-12) and torch.allclose(gb, b.grad, atol=1e-12)
    # Half-width views (the FSD match / gap split) work as inputs too.
    halves = cosine_table(a[..., :8], b[..., :8])
    assert torch.allclose(halves, torch.bmm(torch.nn.functional.normalize(a[..., :8], dim=-1),
                          torch.nn.functional.normalize(b[..., :8], dim=-1).transpose(1, 2)))
