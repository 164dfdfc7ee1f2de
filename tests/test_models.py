"""Models: shapes, parameter names, top-k sizes, candidate selection, equality with the original."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from config import parse_config
from engine.build import model_from_config
from engine.steps import forward_views
from methods.ftcl import ACMNet, ACMOutput, load_state_dict_checked
from tests.reference.original_model import OriginalACMNet

D = 64
FC = 32

THUMOS_KEYS = {
    "feature_embedding.0.weight": (2048, 2048, 3),
    "feature_embedding.0.bias": (2048,),
    "att_branch.weight": (3, 2048, 1),
    "att_branch.bias": (3,),
    "snippet_cls.weight": (21, 2048),
    "snippet_cls.bias": (21,),
    "feature_trans.weight": (1024, 2048),
    "feature_trans.bias": (1024,),
}
ACTIVITYNET_KEYS = {
    "feature_embedding.1.weight": (2048, 2048, 3),
    "feature_embedding.1.bias": (2048,),
    "att_branch.weight": (3, 2048, 1),
    "att_branch.bias": (3,),
    "snippet_cls.weight": (201, 2048),
    "snippet_cls.bias": (201,),
    "feature_trans.weight": (1024, 2048),
    "feature_trans.bias": (1024,),
}

SMALL = {
    "THUMOS": dict(num_classes=20, topk_seg=(8, 3, 3), embed_dropout=False),
    "ActivityNet": dict(num_classes=200, topk_seg=(2, 10, 10), embed_dropout=True),
}


def small_model(dataset: str = "THUMOS", cls=ACMNet, **kw) -> ACMNet:
    args = dict(feature_dim=D, fc_dim=FC, **SMALL[dataset])
    args.update(kw)
    return cls(**args)


def reference_for(model: ACMNet, dataset: str) -> OriginalACMNet:
    ins, con, bak = model.topk_seg
    args = SimpleNamespace(dataset=dataset, feature_dim=model.feature_dim,
                           action_cls_num=model.num_classes, dropout=model.dropout.p,
                           ins_topk_seg=ins, con_topk_seg=con, bak_topk_seg=bak,
                           lcs_len=model.lcs_len, fsd_len=model.fsd_len,
                           fc_dim=model.feature_trans.out_features)
    ref = OriginalACMNet(args)
    ref.load_state_dict(model.state_dict(), strict=True)
    return ref.to(next(model.parameters()).dtype)


@pytest.mark.parametrize("dataset,keys", [("THUMOS", THUMOS_KEYS),
                                          ("ActivityNet", ACTIVITYNET_KEYS)])
@pytest.mark.parametrize("ftcl", [False, True])
def test_real_size_state_dict_keys_and_shapes(dataset, keys, ftcl):
    argv = ["--ftcl"] if ftcl else []
    model = model_from_config(parse_config(dataset, argv))
    assert type(model) is ACMNet                      # the original FTCLNet is ACMNet's body
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == keys


def test_same_seed_initialises_like_the_original():
    torch.manual_seed(5)
    ours = small_model("ActivityNet")
    torch.manual_seed(5)
    ref = OriginalACMNet(SimpleNamespace(dataset="ActivityNet", feature_dim=D, action_cls_num=200,
                                         dropout=0.7, ins_topk_seg=2, con_topk_seg=10,
                                         bak_topk_seg=10, lcs_len=30, fsd_len=5, fc_dim=FC))
    theirs = ref.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, theirs[key]), key


def test_topk_counts_of_both_datasets():
    assert small_model("THUMOS").topk_counts(750) == (93, 250, 250)
    assert small_model("ActivityNet").topk_counts(75) == (37, 7, 7)
    assert small_model("THUMOS").topk_counts(5) == (1, 1, 1)


@pytest.mark.parametrize("dataset,length", [("THUMOS", 750), ("ActivityNet", 75), ("THUMOS", 31)])
def test_eval_forward_equals_original(dataset, length):
    torch.manual_seed(0)
    model = small_model(dataset).double().eval()
    ref = reference_for(model, dataset).eval()
    x = torch.rand(2, length, D, dtype=torch.float64)
    out = model(x)
    expected = ref(x)
    assert len(out.as_tuple()) == 14
    for name, got, want in zip([f for f in out.__dataclass_fields__], out.as_tuple(), expected):
        assert got.shape == want.shape, name
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("dataset", ["THUMOS", "ActivityNet"])
def test_train_forward_and_gradients_equal_original_with_same_seed(dataset):
    torch.manual_seed(1)
    model = small_model(dataset, lcs_len=8, fsd_len=3).train()
    ref = reference_for(model, dataset).train()
    x = torch.rand(3, 40, D)
    torch.manual_seed(123)
    out = model(x).as_tuple()
    torch.manual_seed(123)
    expected = ref(x)
    for got, want in zip(out, expected):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    weights = [torch.rand_like(t) for t in out]
    sum(((t * w).sum() for t, w in zip(out, weights))).backward()
    sum(((t * w).sum() for t, w in zip(expected, weights))).backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=1e-5, atol=1e-6, msg=name)


def test_dropout_is_active_in_training_only():
    torch.manual_seed(0)
    model = small_model("ActivityNet")
    x = torch.rand(2, 20, D)
    model.train()
    a, b = model(x).cas, model(x).cas
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(model(x).cas, model(x).cas, rtol=0, atol=0)


def test_output_shapes():
    model = small_model("THUMOS", lcs_len=7, fsd_len=3).eval()
    out = model(torch.rand(2, 24, D))
    assert isinstance(out, ACMOutput)
    for name in ("inst_cls", "cont_cls", "back_cls"):
        assert getattr(out, name).shape == (2, 21)
    for name in ("inst_feat", "cont_feat", "back_feat"):
        assert getattr(out, name).shape == (2, D)
    assert out.att.shape == (2, 24, 3)
    for name in ("inst_cas", "cas", "cont_cas", "back_cas"):
        assert getattr(out, name).shape == (2, 24, 21)
        torch.testing.assert_close(getattr(out, name).sum(-1), torch.ones(2, 24))
    assert out.lcs_cand.shape == (2, 7, D)
    assert out.fsd_act.shape == out.fsd_bak.shape == (2, 3, FC)


def _transparent_model(bak_source: str, lcs_len: int = 5, fsd_len: int = 3) -> ACMNet:
    """Embedding = identity (positive inputs pass the ReLU), feature_trans = identity, instance
    logit = 10 * channel 0, context and background logits 0: instance attention ranks follow
    channel 0, background attention ranks follow it in reverse."""
    model = ACMNet(feature_dim=8, num_classes=2, fc_dim=8, lcs_len=lcs_len, fsd_len=fsd_len,
                   bak_source=bak_source).eval()
    with torch.no_grad():
        conv = model.feature_embedding[0]
        conv.weight.zero_()
        conv.weight[:, :, 1] = torch.eye(8)
        conv.bias.zero_()
        model.att_branch.weight.zero_()
        model.att_branch.weight[0, 0, 0] = 10.0
        model.att_branch.bias.zero_()
        model.feature_trans.weight.copy_(torch.eye(8))
        model.feature_trans.bias.zero_()
    return model


def _video(scores: list[float]) -> torch.Tensor:
    """(1, T, 8): channel 0 = score, channel 1 = time index + 1, the rest 1."""
    t = len(scores)
    x = torch.ones(1, t, 8)
    x[0, :, 0] = torch.tensor(scores)
    x[0, :, 1] = torch.arange(1, t + 1, dtype=torch.float32)
    return x


SCORES = [0.5, 0.9, 0.1, 0.7, 0.3, 0.95, 0.2, 0.6, 0.8, 0.05, 0.4, 0.65]


def _times(cand: torch.Tensor) -> list[int]:
    return (cand[0, :, 1] - 1).round().long().tolist()


def test_candidates_are_the_right_ranks_in_time_order():
    # instance ranks: 5, 1, 8, 3, 11 | 7, 0, 10, 4, 6, 2, 9
    out = _transparent_model("inst_rank")(_video(SCORES))
    assert _times(out.lcs_cand) == [1, 3, 5, 8, 11]
    assert _times(out.fsd_act) == [1, 5, 8]
    assert _times(out.fsd_bak) == [3, 7, 11]          # instance ranks 4..6 (original)
    torch.testing.assert_close(out.lcs_cand[0, 0], _video(SCORES)[0, 1])


def test_bak_source_back_att_takes_the_top_background_snippets():
    out = _transparent_model("back_att")(_video(SCORES))
    assert _times(out.fsd_act) == [1, 5, 8]
    assert _times(out.fsd_bak) == [2, 6, 9]           # lowest channel 0 = highest background att


def test_short_videos_clamp_the_candidate_counts():
    out = _transparent_model("inst_rank", lcs_len=30, fsd_len=5)(_video(SCORES[:7]))
    # ranks: 5, 1, 3, 0, 4, 6, 2
    assert _times(out.lcs_cand) == list(range(7))
    assert _times(out.fsd_act) == [0, 1, 3, 4, 5]
    assert _times(out.fsd_bak) == [0, 2, 3, 4, 6]      # the lowest 5 ranks: 3, 0, 4, 6, 2
    out = _transparent_model("inst_rank", lcs_len=30, fsd_len=5)(_video(SCORES[:3]))
    assert _times(out.fsd_act) == _times(out.fsd_bak) == [0, 1, 2]
    out = _transparent_model("back_att", lcs_len=30, fsd_len=5)(_video(SCORES[:1]))
    assert out.lcs_cand.shape == (1, 1, 8) and out.fsd_bak.shape == (1, 1, 8)


def test_pair_batches_run_two_independent_passes():
    """The original FTCLNet(x1, x2) is two ACMNet passes in order; the engine runs the model once
    per view, in view order."""
    torch.manual_seed(0)
    model = small_model("THUMOS")
    x = torch.rand(2, 16, D)
    model.eval()
    single = model(x)
    assert isinstance(single, ACMOutput)
    first, second = forward_views(model, {"features_0": x, "features_1": x})
    torch.testing.assert_close(first.cas, single.cas)
    torch.testing.assert_close(second.cas, single.cas)
    model.train()
    torch.manual_seed(1)
    first, second = forward_views(model, {"features_0": x, "features_1": x})
    assert not torch.allclose(first.cas, second.cas)
    torch.manual_seed(1)                             # same masks as two calls in a row
    torch.testing.assert_close(model(x).cas, first.cas)
    torch.testing.assert_close(model(x).cas, second.cas)


def test_bad_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="expects"):
        small_model()(torch.rand(2, 10, D + 1))
    with pytest.raises(ValueError, match="bak_source"):
        small_model(bak_source="background")


def test_build_model_passes_the_flags():
    cfg = parse_config("THUMOS", ["--bak_source", "back_att", "--lcs_len", "12", "--fsd_len", "4",
                                  "--fc_dim", "256"])
    model = model_from_config(cfg)
    assert (model.bak_source, model.lcs_len, model.fsd_len) == ("back_att", 12, 4)
    assert model.feature_trans.out_features == 256 and model.topk_seg == (8, 3, 3)


# Checkpoint loading.

def test_original_checkpoint_format_loads_strictly():
    torch.manual_seed(0)
    source, target = small_model("ActivityNet"), small_model("ActivityNet")
    missing = load_state_dict_checked(target, {"epoch": 3, "model_state_dict": source.state_dict()},
                                      source="ckpt.pth")
    assert missing == []
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)


def test_feature_trans_may_be_missing():
    torch.manual_seed(0)
    source, target = small_model(), small_model()
    before = target.feature_trans.weight.detach().clone()
    acm_only = {k: v for k, v in source.state_dict().items() if not k.startswith("feature_trans.")}
    assert load_state_dict_checked(target, acm_only) == ["feature_trans.weight",
                                                         "feature_trans.bias"]
    assert torch.equal(target.feature_trans.weight, before)
    assert torch.equal(target.att_branch.weight, source.att_branch.weight)
    with pytest.raises(ValueError, match="missing keys: feature_trans.weight"):
        load_state_dict_checked(target, acm_only, allow_missing=(), source="acm.pth")


def test_missing_key_is_an_error_naming_the_file():
    sd = small_model().state_dict()
    del sd["att_branch.bias"]
    with pytest.raises(ValueError) as err:
        load_state_dict_checked(small_model(), sd, source="runs/x/THUMOS_best.pth")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("runs/x/THUMOS_best.pth:")
    assert "missing keys: att_branch.bias" in message


def test_shape_mismatch_is_an_error():
    sd = small_model("THUMOS").state_dict()
    sd["snippet_cls.weight"] = torch.zeros(201, D)
    expected = r"ck.pth: .*shape mismatch: snippet_cls.weight \(201, 64\) vs model \(21, 64\)"
    with pytest.raises(ValueError, match=expected):
        load_state_dict_checked(small_model("THUMOS"), sd, source="ck.pth")


def test_unexpected_key_is_an_error():
    # an ActivityNet checkpoint (feature_embedding.1.*) does not fit the THUMOS model
    with pytest.raises(ValueError, match="unexpected keys: feature_embedding.1.weight"):
        load_state_dict_checked(small_model("THUMOS"), small_model("ActivityNet", num_classes=20)
                                .state_dict(), source="act.pth")
