"""methods.aicl.model: official state_dict keys, seeded initialisation, forward and gradients against the
literal port of the official model (tests/reference/original_aicl_model.py)."""
from __future__ import annotations

import pytest
import torch

from methods.aicl.settings import AICL_THUMOS
from models import load_state_dict_checked
from methods.aicl.model import AICL, AICLOutput, topk_indices
from tests.reference.original_aicl_losses import forward_pass
from tests.reference.original_aicl_model import OriginalAICL

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
D, E, C = 16, 8, 20

OFFICIAL_KEYS = {
    "actionness_module.base_module.0.weight": (512, 2048, 3),
    "actionness_module.base_module.0.bias": (512,),
    "actionness_module.cls.0.weight": (20, 512, 1),
    "actionness_module.cls.0.bias": (20,),
    "actionness_module.action_module_rgb.0.weight": (512, 1024, 3),
    "actionness_module.action_module_rgb.0.bias": (512,),
    "actionness_module.cls_rgb.weight": (1, 512, 1),
    "actionness_module.cls_rgb.bias": (1,),
    "actionness_module.action_module_flow.0.weight": (512, 1024, 3),
    "actionness_module.action_module_flow.0.bias": (512,),
    "actionness_module.cls_flow.weight": (1, 512, 1),
    "actionness_module.cls_flow.bias": (1,),
}


def small_cfg(length: int) -> dict:
    return dict(AICL_THUMOS, feature_dim=D, embed_dim=E, sample_segments_num=length)


def small_pair(length: int, seed: int = 0, dtype=torch.float64, device: str = "cpu"):
    """Our model and the port with the same weights."""
    torch.manual_seed(seed)
    model = AICL.from_config(small_cfg(length)).to(device, dtype)
    ref = OriginalAICL(len_feature=D, num_classes=C, width=E).to(device, dtype)
    ref.load_state_dict(model.state_dict(), strict=True)
    return model, ref


def test_official_state_dict_keys_shapes_and_size():
    model = AICL.from_config(AICL_THUMOS)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == OFFICIAL_KEYS
    assert list(model.state_dict()) == list(OFFICIAL_KEYS)  # registration order too
    assert sum(p.numel() for p in model.parameters()) == 6_304_278
    assert model.video_topk == 93


def test_seeded_construction_initialises_like_the_original():
    torch.manual_seed(1)
    ours = AICL.from_config(AICL_THUMOS).state_dict()
    torch.manual_seed(1)
    theirs = OriginalAICL().state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    bound = 1 / 6144 ** 0.5  # default Conv1d init: U(+-1/sqrt(fan_in)), fan_in = 2048 * 3
    weight = ours["actionness_module.base_module.0.weight"]
    assert weight.abs().max() <= bound and weight.abs().max() > 0.99 * bound


def test_a_bare_official_checkpoint_loads_strictly(tmp_path):
    torch.manual_seed(3)
    official = OriginalAICL()
    path = tmp_path / "CAS_Only.pkl"
    torch.save(official.state_dict(), path)  # what the official training saves
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = AICL.from_config(AICL_THUMOS)
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert load_state_dict_checked(AICL.from_config(AICL_THUMOS), state, source=str(path)) == []
    state.pop("actionness_module.cls_flow.bias")
    with pytest.raises(ValueError, match="CAS_Only.pkl: .*missing keys: .*cls_flow.bias"):
        load_state_dict_checked(model, state, source=str(path))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("length", [60, 47])
def test_forward_equals_the_original(device, length):
    model, ref = small_pair(length, device=device)
    x = torch.rand(3, length, D, dtype=torch.float64, device=device)
    out = model.eval()(x)
    want = ref.eval()(x)
    assert isinstance(out, AICLOutput)
    pairs = [("cas", 0), ("action_flow", 1), ("action_rgb", 2), ("actionness1", 6),
             ("actionness2", 7)]
    for name, i in pairs:
        got = getattr(out, name)
        assert got.shape == want[i].shape, name
        torch.testing.assert_close(got, want[i], rtol=0, atol=0, msg=name)
    emb = ref.actionness_module(x)
    for name, i in [("embedding", 5), ("embedding_flow", 6), ("embedding_rgb", 7)]:
        torch.testing.assert_close(getattr(out, name), emb[i], rtol=0, atol=0, msg=name)
    cas_top, topk, combined = forward_pass(want, num_segments=length)
    torch.testing.assert_close(out.combined_cas, combined, rtol=0, atol=0)
    torch.testing.assert_close(out.video_logits, cas_top, rtol=0, atol=0)
    assert torch.equal(out.video_topk_idx.sort(dim=1).values, topk.sort(dim=1).values)
    torch.testing.assert_close(out.video_scores, torch.softmax(cas_top, 1), rtol=0, atol=0)


def test_output_shapes():
    model, _ = small_pair(40, dtype=torch.float32)
    out = model(torch.rand(2, 40, D))
    assert out.cas.shape == out.combined_cas.shape == (2, 40, C)
    assert out.action_flow.shape == out.action_rgb.shape == (2, 1, 40)
    assert out.actionness1.shape == out.actionness2.shape == (2, 40)
    for name in ("embedding", "embedding_flow", "embedding_rgb"):
        assert getattr(out, name).shape == (2, 40, E)
    assert out.video_topk_idx.shape == (2, 5, C)   # 40 // 8
    assert out.video_logits.shape == out.video_scores.shape == (2, C)
    assert len(out.as_tuple()) == 12
    assert not out.combined_cas.requires_grad and out.video_logits.requires_grad


def test_train_mode_equals_eval_mode_and_gradients_equal_the_original():
    """No dropout, no normalisation: training mode computes the same function; the gradients of
    every output through the network equal the port's."""
    model, ref = small_pair(50, seed=1)
    x = torch.rand(2, 50, D, dtype=torch.float64)
    torch.manual_seed(7)
    train_out = model.train()(x)
    eval_out = model.eval()(x)
    for a, b in zip(train_out.as_tuple(), eval_out.as_tuple()):
        assert torch.equal(a, b)
    want = ref.train()(x)
    weights = torch.Generator().manual_seed(0)
    names = [("cas", 0), ("action_flow", 1), ("action_rgb", 2), ("actionness1", 6),
             ("actionness2", 7)]
    w = {n: torch.rand(want[i].shape, generator=weights, dtype=torch.float64) for n, i in names}
    sum((getattr(train_out, n) * w[n]).sum() for n, _ in names).backward()
    sum((want[i] * w[n]).sum() for n, i in names).backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, theirs[name].grad, rtol=1e-12, atol=1e-14,
                                   msg=name)


def test_stable_topk_breaks_ties_by_time():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.5, 0.1]])
    assert topk_indices(scores, 3, dim=1, stable=True).tolist() == [[1, 0, 2]]
    assert topk_indices(scores, 3, dim=1)[0, 0].item() == 1


@pytest.mark.parametrize("shape", [(2, 40), (2, 40, D + 2), (1, 4, D)])
def test_bad_input_shapes_raise(shape):
    model, _ = small_pair(40, dtype=torch.float32)
    with pytest.raises(ValueError, match="AICL expects"):
        model(torch.rand(*shape))


def test_odd_feature_dim_is_refused():
    with pytest.raises(ValueError, match="even feature_dim"):
        AICL.from_config(dict(AICL_THUMOS, feature_dim=15))
