"""methods.stcl.bank and the model's use of it: a bank gathered on the device equals the host
gather of the same draw; training banks come from the training stream (the batch sampler's), test
banks per --bank_mode (stream: a fresh bank per video from a stream restarted every pass; pass:
one bank and one exemplar computation per pass; original: the training stream itself); the
record's defaults are the official recipe; the pseudo-KL keeps finite gradients where a
probability underflows to 0 (NaN in the original)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from config import parse_config
from methods import METHODS
from methods.stcl.bank import ExemplarBank, check_bank_classes
from methods.stcl.loss import pseudo_kl
from methods.stcl.model import STCL, bank_features, draw_bank

D, H, K, C, M, S = 16, 4, 4, 3, 2, 20
LENGTHS = [7, 20, 33, 12, 26, 20, 9, 41, 15, 30]
CLASSWISE = [[0, 1, 2, 9], [3, 4, 5], [6, 7, 8, 1]]
# torch's note on KLDivLoss(reduction='mean') (the original's call, Q4)
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")


def features(seed: int = 0) -> list[np.ndarray]:
    gen = np.random.default_rng(seed)
    return [gen.standard_normal((t, D)).astype(np.float32) for t in LENGTHS]


def bank(mode: str, seed: int = 5, train_seed: int = 9) -> ExemplarBank:
    return ExemplarBank(features(), CLASSWISE, S, M, "cpu", mode, seed,
                        np.random.RandomState(train_seed))


def model_with(source: ExemplarBank) -> STCL:
    torch.manual_seed(0)
    model = STCL(feature_dim=D, num_classes=C, ccm_hidden=H, key_dim=K, per_class=M)
    model.bank_source = source
    return model


def test_gather_on_the_device_equals_the_host_gather_of_the_same_draw():
    source = bank("stream")
    draw = source.draw(np.random.RandomState(3))
    assert torch.equal(source.gather(draw), bank_features(features(), draw))
    assert source.gather(draw).shape == (C, M, S, D)


def test_training_banks_come_from_the_training_stream_in_order():
    source = bank("stream")
    legacy = np.random.RandomState(9)
    for _ in range(3):
        want = bank_features(features(), draw_bank(CLASSWISE, LENGTHS, S, M, legacy))
        assert torch.equal(source.for_training(), want)
    assert np.array_equal(source.train_rng.random(3), legacy.random(3))


def test_stream_mode_restarts_every_pass_and_leaves_training_alone():
    source = bank("stream")
    passes = []
    for _ in range(2):
        source.start_pass()
        passes.append([source.for_evaluation() for _ in range(3)])
    legacy = np.random.RandomState(5)
    for k in range(3):   # fresh per video, the same videos' banks in every pass
        want = bank_features(features(), draw_bank(CLASSWISE, LENGTHS, S, M, legacy))
        assert torch.equal(passes[0][k], want) and torch.equal(passes[1][k], want)
    assert not torch.equal(passes[0][0], passes[0][1])
    assert np.array_equal(source.train_rng.random(3), np.random.RandomState(9).random(3))


def test_original_mode_draws_test_banks_from_the_training_stream():
    source = bank("original")
    source.start_pass()
    first = source.for_evaluation()
    legacy = np.random.RandomState(9)
    assert torch.equal(first, bank_features(features(), draw_bank(CLASSWISE, LENGTHS, S, M,
                                                                  legacy)))
    # the next training bank is shifted by the evaluation's draw, as in the original (Q3)
    assert torch.equal(source.for_training(),
                       bank_features(features(), draw_bank(CLASSWISE, LENGTHS, S, M, legacy)))


def test_pass_mode_one_bank_and_one_exemplar_computation_per_pass(monkeypatch):
    source = bank("pass")
    model = model_with(source).eval()
    calls = []
    original = STCL.exemplars
    monkeypatch.setattr(STCL, "exemplars", lambda self, b: calls.append(1) or original(self, b))
    x = [torch.randn(1, t, D) for t in (5, 9, 14)]
    with torch.no_grad():
        model.start_pass()
        outs = [model(v) for v in x]
        assert len(calls) == 1
        fixed = source.pass_bank
        for v, out in zip(x, outs):   # the same as passing the pass's bank explicitly
            assert torch.equal(model(v, fixed).inter_cas, out.inter_cas)
        model.start_pass()
        again = [model(v) for v in x]
    assert len(calls) == 2 + len(x)
    for a, b in zip(outs, again):
        assert torch.equal(a.cas, b.cas)
    model.train()
    assert model._pass_exemplars is None


def test_the_model_draws_its_training_bank_and_refuses_to_run_without_one():
    source = bank("stream")
    model = model_with(source).train()
    x = torch.randn(2, S, D)
    torch.manual_seed(1)
    drawn = model(x)
    legacy = np.random.RandomState(9)
    given = bank_features(features(), draw_bank(CLASSWISE, LENGTHS, S, M, legacy))
    torch.manual_seed(1)
    assert torch.equal(model(x, given).cas, drawn.cas)
    model.bank_source = None
    with pytest.raises(ValueError, match="exemplar bank"):
        model(x)


def test_bad_mode_and_short_classes_are_one_line_errors():
    with pytest.raises(ValueError, match="--bank_mode"):
        bank("global")
    with pytest.raises(ValueError, match=r"too few: b \(3\)"):
        check_bank_classes(CLASSWISE, ["a", "b", "c"], 4, "labels_all.npy")
    check_bank_classes(CLASSWISE, ["a", "b", "c"], 3, "labels_all.npy")


def test_defaults_are_the_official_recipe():
    flat = parse_config("THUMOS", ["--method", "stcl"]).flat()
    pinned = dict(lr=5e-5, weight_decay=1e-3, batch_size=10, seed=3552, epochs=50,
                  steps_per_epoch=200, eval_every_steps=200, sample_segments_num=500,
                  key_dim=512, ccm_hidden=512, exemplars_per_class=10, exemplar_topk_divisor=10,
                  fusion_weights=[0.55, 0.36, 0.09], kl_weight=1.0, kl_mode="original",
                  snip_easy_divisor=5, snip_hard_divisor=20, snip_mask_dropout=0.6,
                  snip_temperature=0.07, snip_double_sigmoid=True, mil_k_ratio=7.0,
                  bank_mode="stream", bank_seed=None, eval_protocol="wtalc",
                  select_metric="0.1:0.7", select_on="test", feature_format="wtalc")
    assert {k: flat[k] for k in pinned} == pinned
    assert flat["epochs"] * flat["steps_per_epoch"] == 10000    # S:train.sh:3 --max-iter
    record = METHODS.get("stcl")
    assert (record.eval_step_offset, record.select_protocol, record.bare_file("THUMOS"),
            record.bare_file("ActivityNet")) == (1, "wtalc", "best_re_rank_THU_STCL_best.pkl", None)
    assert record.recipe(SimpleNamespace(), "single") == [("stcl_criterion", 1.0),
                                                          ("stcl_snippet", 1.0)]
    assert "bank_mode" not in parse_config("THUMOS", ["--method", "co2net"]).flat()


def test_pseudo_kl_gradient_is_finite_where_a_probability_underflows():
    """CAS columns 200 apart: float32 softmax gives exact zeros, where kl_div's own gradient is
    NaN (0 / 0); here the gradient is finite and equals float64's, where nothing underflows."""
    gen = torch.Generator().manual_seed(0)
    logits = [torch.randn(2, 6, C + 1, generator=gen) * 80 for _ in range(3)]
    logits[0][..., 0] += 200.0
    assert (logits[0].softmax(-1) == 0).any()
    grads = {}
    for dtype in (torch.float32, torch.float64):
        leaves = [t.detach().to(dtype).requires_grad_() for t in logits]
        pseudo_kl(*leaves).backward()
        grads[dtype] = [t.grad for t in leaves]
    for g32, g64 in zip(grads[torch.float32], grads[torch.float64]):
        assert torch.isfinite(g32).all()
        torch.testing.assert_close(g32.double(), g64, rtol=1e-3, atol=1e-6)
    # kl_div itself: NaN there (the reason for the fix)
    leaf = logits[0].clone().requires_grad_()
    probs = leaf.softmax(-1).reshape(-1, C + 1)
    torch.nn.functional.kl_div(logits[1].softmax(-1).reshape(-1, C + 1), probs,
                               reduction="mean").backward()
    assert not torch.isfinite(leaf.grad).all()


def test_a_synthetic_wtalc_set_of_440_videos_has_the_official_ten_per_class(tmp_path):
    """``python -m dataset.synthetic --dataset thumos --format wtalc --num_videos 440``: 200
    training videos like the real arrays, each class with >= 10 (``labels_all.npy``), so the
    official 10 exemplars per class can be drawn (docs/methods/stcl.md)."""
    from dataset.class_pair_sampler import classwise_videos
    from dataset.synthetic import WTALC_ANNOTATIONS, generate
    from methods.co2net.data import labels_all

    root = generate(tmp_path / "w", dataset="thumos", num_videos=440, feature_dim=8,
                    fmt="wtalc", seed=0)
    folder = root / WTALC_ANNOTATIONS
    subset = [x.decode() for x in np.load(folder / "subset.npy")]
    names = [x.decode() for x in np.load(folder / "videoname.npy")]
    train = [n for n, s in zip(names, subset) if s == "validation"]
    classes = [x.decode() for x in np.load(folder / "classlist.npy")]
    classwise = classwise_videos(labels_all(folder, classes, train), range(len(train)))
    assert len(train) == 200 and min(len(m) for m in classwise) >= 10
    check_bank_classes(classwise, classes, 10, "labels_all.npy")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_the_bank_and_the_model_on_a_device_equal_the_cpu(device):
    """The bank's rows live on the model's device: the same draw gathers the same bank there,
    and an eval forward drawing its own bank (stream mode) equals the CPU's (float32 sums in
    another order: rtol 1e-4)."""
    cpu_model, other = model_with(bank("stream")), model_with(bank("stream")).to(device)
    other.bank_source = ExemplarBank(features(), CLASSWISE, S, M, device, "stream", 5,
                                     np.random.RandomState(9))
    draw = cpu_model.bank_source.draw(np.random.RandomState(1))
    assert torch.equal(other.bank_source.gather(draw).cpu(), cpu_model.bank_source.gather(draw))
    x = torch.randn(1, 17, D)
    with torch.no_grad():
        cpu_model.eval().start_pass()
        other.eval().start_pass()
        want, got = cpu_model(x), other(x.to(device))
    torch.testing.assert_close(got.cas.cpu(), want.cas, rtol=1e-4, atol=1e-5)
