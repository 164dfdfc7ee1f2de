"""methods.co2net.model: the official state-dict keys and sizes, seeded initialisation, forward
outputs, dropout draws and gradients against the literal port of the official network
(tests/reference/original_co2_model.py), and the named quirks (Q6 dropout before the attention
Sigmoid, Q18 the dead feature encoder)."""
from __future__ import annotations

import pytest
import torch

from methods.co2net.model import ANT_CO2, CO2, CCM, CO2Output, ant_pool_kernel
from methods.co2net.settings import CO2_ACTIVITYNET12, CO2_THUMOS
from models import load_state_dict_checked
from tests.reference.original_co2_model import OriginalANT_CO2, OriginalCO2

D, H, C = 16, 4, 3  # spec sec. 10: D = 8 + 8, CCM hidden 4, 3 classes
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

OFFICIAL_SHAPES = {  # spec sec. 3.2, state-dict order
    "vAttn.bit_wise_attn.0.weight": (1024, 1024, 3), "vAttn.bit_wise_attn.0.bias": (1024,),
    "vAttn.channel_conv.0.weight": (1024, 1024, 3), "vAttn.channel_conv.0.bias": (1024,),
    "vAttn.attention.0.weight": (512, 1024, 3), "vAttn.attention.0.bias": (512,),
    "vAttn.attention.3.weight": (512, 512, 3), "vAttn.attention.3.bias": (512,),
    "vAttn.attention.5.weight": (1, 512, 1), "vAttn.attention.5.bias": (1,),
    "fAttn.bit_wise_attn.0.weight": (1024, 1024, 3), "fAttn.bit_wise_attn.0.bias": (1024,),
    "fAttn.channel_conv.0.weight": (1024, 1024, 3), "fAttn.channel_conv.0.bias": (1024,),
    "fAttn.attention.0.weight": (512, 1024, 3), "fAttn.attention.0.bias": (512,),
    "fAttn.attention.3.weight": (512, 512, 3), "fAttn.attention.3.bias": (512,),
    "fAttn.attention.5.weight": (1, 512, 1), "fAttn.attention.5.bias": (1,),
    "feat_encoder.0.weight": (2048, 2048, 3), "feat_encoder.0.bias": (2048,),
    "fusion.0.weight": (2048, 2048, 1), "fusion.0.bias": (2048,),
    "classifier.1.weight": (2048, 2048, 3), "classifier.1.bias": (2048,),
    "classifier.4.weight": (21, 2048, 1), "classifier.4.bias": (21,),
}


@pytest.fixture(scope="module")
def official_size():
    torch.manual_seed(0)
    return CO2.from_config(CO2_THUMOS)


def small_pair(seed: int = 0, dtype=torch.float64, ant: bool = False):
    """Our model and the port, each built after the same torch seed (same initial weights)."""
    torch.manual_seed(seed)
    if ant:
        model = ANT_CO2(feature_dim=D, num_classes=C, ccm_hidden=H, pool_kernel=5)
    else:
        model = CO2(feature_dim=D, num_classes=C, ccm_hidden=H)
    torch.manual_seed(seed)
    ref = (OriginalANT_CO2(D, C, H, max_seqlen=20, t=4) if ant
           else OriginalCO2(D, C, H))
    return model.to(dtype), ref.to(dtype)


def test_official_state_dict_keys_shapes_order_and_size(official_size):
    state = official_size.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == OFFICIAL_SHAPES
    assert list(state) == list(OFFICIAL_SHAPES)
    assert sum(p.numel() for p in official_size.parameters()) == 46_717_975
    assert official_size.feat_encoder[0].weight.numel() + 2048 == 12_584_960
    ref = OriginalCO2()
    assert {k: tuple(v.shape) for k, v in ref.state_dict().items()} == OFFICIAL_SHAPES


def test_initialisation_is_kaiming_uniform_with_zero_biases(official_size):
    for name, value in official_size.state_dict().items():
        if name.endswith(".bias"):
            assert torch.count_nonzero(value) == 0, name
            continue
        fan_in = value.shape[1] * value.shape[2]
        bound = (6 / fan_in) ** 0.5  # kaiming_uniform_ defaults: gain sqrt(2), fan_in
        assert value.abs().max() <= bound, name
        if value.numel() > 1000:
            assert value.abs().max() > 0.99 * bound, name


def test_official_size_forward_equals_the_port_loaded_strictly(official_size):
    """At the official sizes (2048 = 1024 + 1024, 20 classes, hidden 512) the port takes our
    state dict strictly and computes the same outputs (float32, a short input)."""
    ref = OriginalCO2()
    ref.load_state_dict(official_size.state_dict(), strict=True)
    x = torch.randn(2, 6, 2048)
    out = official_size.eval()(x)
    want = ref.eval()(x)
    assert out.cas.shape == (2, 6, 21)
    for name, value in want.items():
        assert torch.equal(getattr(out, name), value), name


@pytest.mark.parametrize("ant", [False, True])
def test_seeded_construction_draws_the_port_s_weights(ant):
    model, ref = small_pair(seed=5, dtype=torch.float32, ant=ant)
    ours, theirs = model.state_dict(), ref.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def test_a_bare_official_state_dict_loads_strictly(tmp_path):
    torch.manual_seed(3)
    official = OriginalCO2(D, C, H)
    path = tmp_path / "best_CO2_3552.pkl"
    torch.save(official.state_dict(), path)  # what the official main.py saves: a bare state dict
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = CO2(feature_dim=D, num_classes=C, ccm_hidden=H)
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert load_state_dict_checked(model, state, source=str(path)) == []
    ant = ANT_CO2(feature_dim=D, num_classes=C, ccm_hidden=H, pool_kernel=3)
    ant.load_state_dict(state, strict=True)  # the pool has no parameters: CO2's keys
    state.pop("feat_encoder.0.weight")  # Q18: the dead encoder is required
    with pytest.raises(ValueError, match="missing keys: feat_encoder.0.weight"):
        load_state_dict_checked(model, state, source=str(path))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ant", [False, True])
@pytest.mark.parametrize("length", [20, 7, 1])
def test_eval_forward_equals_the_port(ant, length, device):
    model, ref = small_pair(seed=1, ant=ant)
    model, ref = model.to(device), ref.to(device)
    x = torch.randn(3, length, D, dtype=torch.float64).to(device)
    out = model.eval()(x)
    want = ref.eval()(x)
    assert isinstance(out, CO2Output)
    assert list(out.as_dict()) == list(want)
    for name, value in want.items():
        assert getattr(out, name).shape == value.shape, name
        assert torch.equal(getattr(out, name), value), name


def test_output_shapes_and_time_major_layout():
    model, _ = small_pair(dtype=torch.float32)
    out = model(torch.rand(2, 9, D))
    assert out.feat.shape == (2, 9, D)
    assert out.cas.shape == (2, 9, C + 1)
    assert out.attn.shape == out.v_atn.shape == out.f_atn.shape == (2, 9, 1)
    assert len(out.as_tuple()) == 5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ant", [False, True])
def test_train_mode_dropout_draws_and_gradients_equal_the_port(ant, device):
    """Same torch seed before each forward: the same dropout masks in the same draw order
    (channel, bit-wise, the two of each attention head, fusion, the classifier's two), so the
    training outputs are equal; the gradients of every output through the network too."""
    model, ref = small_pair(seed=2, ant=ant)
    model, ref = model.to(device), ref.to(device)
    x = torch.randn(6, 20, D, dtype=torch.float64).to(device)
    torch.manual_seed(11)
    out = model.train()(x)
    torch.manual_seed(11)
    want = ref.train()(x)
    for name, value in want.items():
        assert torch.equal(getattr(out, name), value), name
    eval_out = model.eval()(x)
    assert not torch.equal(out.cas, eval_out.cas)  # train and eval differ by dropout only
    weights = torch.Generator().manual_seed(0)
    w = {n: torch.rand(v.shape, generator=weights, dtype=torch.float64).to(device)
         for n, v in want.items()}
    sum((getattr(out, n) * w[n]).sum() for n in want).backward()
    sum((want[n] * w[n]).sum() for n in want).backward()
    theirs = dict(ref.named_parameters())
    for name, param in model.named_parameters():
        if name.startswith("feat_encoder."):
            assert param.grad is None and theirs[name].grad is None, name
            continue
        assert torch.equal(param.grad, theirs[name].grad), name


def test_q18_the_dead_encoder_never_gets_a_gradient_nor_changes():
    model, ref = small_pair(seed=4, dtype=torch.float32)
    before = {k: v.clone() for k, v in model.feat_encoder.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(2):
        optimizer.zero_grad()
        model.train()(torch.randn(6, 12, D)).cas.pow(2).mean().backward()
        optimizer.step()
    assert all(p.grad is None for p in model.feat_encoder.parameters())
    for key, value in model.feat_encoder.state_dict().items():
        assert torch.equal(value, before[key]), key  # Adam skips parameters without gradient
    assert not torch.equal(model.fusion[0].weight, ref.fusion[0].weight)  # the rest trained


def test_q6_dropout_sits_before_the_attention_sigmoid():
    """A dropped attention logit becomes 0: the training attention is exactly 0.5 there, and a
    kept one is sigmoid(2 * logit); in eval mode no position is exactly 0.5."""
    torch.manual_seed(0)
    ccm = CCM(width=8, hidden=4).double()
    main, aux = torch.randn(4, 8, 30, dtype=torch.float64), torch.randn(4, 8, 30,
                                                                        dtype=torch.float64)
    assert not (ccm.eval()(main, aux)[0] == 0.5).any()
    torch.manual_seed(1)
    att, _ = ccm.train()(main, aux)
    halves = (att == 0.5).double().mean().item()
    assert 0.3 < halves < 0.7
    assert list(ccm.attention)[-2:][0].p == 0.5 and isinstance(list(ccm.attention)[-1],
                                                                  torch.nn.Sigmoid)


def test_ccm_global_mean_spans_the_input_length():
    """The channel attention averages the main modality over the whole input (500 resampled rows
    in training, the native T at test, Q24): appending rows changes the earlier outputs."""
    model, _ = small_pair(seed=3)
    model.eval()
    x = torch.randn(1, 10, D, dtype=torch.float64)
    longer = torch.cat([x, torch.randn(1, 5, D, dtype=torch.float64)], dim=1)
    assert not torch.allclose(model(x).attn, model(longer).attn[:, :10])


def test_ant_pool_kernel_and_damped_borders():
    assert ant_pool_kernel(60, 5) == 13
    assert ant_pool_kernel(320, 5) == 65
    cfg_model = ANT_CO2.from_config(dict(CO2_ACTIVITYNET12, feature_dim=D, ccm_hidden=H))
    assert cfg_model.pool_kernel == 13 and cfg_model.classifier[4].out_channels == 101
    model, _ = small_pair(seed=6, ant=True)
    model.eval()
    x = torch.randn(1, 12, D, dtype=torch.float64)
    plain = CO2.forward(model, x)   # the trunk without the pool
    pooled = model(x)
    assert torch.equal(pooled.feat, plain.feat)  # feat is not pooled
    # zero padding counts: position 0 averages 3 real values and 2 zeros over 5
    torch.testing.assert_close(pooled.attn[0, 0, 0], plain.attn[0, :3, 0].sum() / 5,
                               rtol=0, atol=1e-15)
    torch.testing.assert_close(pooled.cas[0, 5], plain.cas[0, 3:8].mean(0), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(2, 10), (2, 10, D + 2), (2, 0, D)])
def test_bad_input_shapes_raise(shape):
    model, _ = small_pair(dtype=torch.float32)
    with pytest.raises(ValueError, match="CO2 expects"):
        model(torch.rand(*shape))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="even feature_dim"):
        CO2(feature_dim=15)
    with pytest.raises(ValueError, match="odd pool_kernel"):
        ANT_CO2(feature_dim=D, pool_kernel=4)
