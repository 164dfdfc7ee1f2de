"""Engine details no end-to-end test sees: the optimizer the config builds, the gradients a resume
hands back to Adam, and the train accuracy of pairs."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from config import parse_config
from engine import checkpoints
from engine.build import build_optimizer, criterion_from_config
from engine.steps import backward_and_step, batch_correct
from methods.acmnet.localize import acm_correct


def test_the_config_builds_the_original_adam():
    cfg = parse_config("THUMOS", [])
    optimizer = build_optimizer(cfg.optimizer, nn.Linear(3, 2).parameters())
    assert type(optimizer) is torch.optim.Adam
    defaults = optimizer.defaults
    assert defaults["betas"] == (0.9, 0.999)
    assert (defaults["lr"], defaults["weight_decay"]) == (cfg.optimizer.lr,
                                                          cfg.optimizer.weight_decay)
    # L2 in the gradient (torch.optim.Adam), not AdamW's decoupled decay.
    assert not defaults.get("decoupled_weight_decay", False)


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4))


def _step(net: nn.Sequential, optimizer: torch.optim.Optimizer, layer: int) -> None:
    """One step whose loss reaches only ``net[layer]`` (the others get no new gradient)."""
    x = torch.arange(4.0)[None]
    assert backward_and_step((net[layer](x) ** 2).sum(), optimizer)


def test_resume_hands_adam_the_gradients_of_the_uninterrupted_run(tmp_path: Path):
    """Layer 0 learns in step 1 only, layer 1 in step 2 only, layer 2 never. Straight on, step 2
    still moves layer 0 (a zero gradient with momentum and weight decay) and leaves layer 2 as
    initialised; resuming between the steps must do the same."""
    cfg = parse_config("THUMOS", [])
    assert cfg.optimizer.weight_decay > 0
    straight = _net()
    opt = build_optimizer(cfg.optimizer, straight.parameters())
    _step(straight, opt, 0)
    path = tmp_path / "latest.pth"
    checkpoints.save(path, checkpoints.payload(0, straight, opt, criterion_from_config(cfg),
                                               checkpoints.TrainState(), cfg))
    _step(straight, opt, 1)

    resumed = _net()
    opt2 = build_optimizer(cfg.optimizer, resumed.parameters())
    state = checkpoints.resume(path, resumed, opt2, criterion_from_config(cfg), cfg)
    assert state.start_epoch == 1
    _step(resumed, opt2, 1)
    initial = _net()
    for (name, a), b, c in zip(straight.named_parameters(), resumed.parameters(),
                               initial.parameters()):
        assert torch.equal(a, b), name
        assert torch.equal(a, c) == name.startswith("2."), name


def test_a_pair_is_right_only_when_both_videos_are():
    """Train accuracy of the pair stage: a row counts when both of its videos are classified
    right (the original's rule); one video right is not enough."""
    scores = lambda *s: SimpleNamespace(inst_cls=torch.tensor([[*s, 0.0]]))  # noqa: E731
    right, wrong = scores(0.9, 0.1), scores(0.1, 0.9)
    batch = {"label_0": torch.tensor([[1.0, 0.0]]), "label_1": torch.tensor([[1.0, 0.0]])}
    assert batch_correct([right, right], batch, 0.5, acm_correct).tolist() == [True]
    assert batch_correct([right, wrong], batch, 0.5, acm_correct).tolist() == [False]
    assert batch_correct([wrong, right], batch, 0.5, acm_correct).tolist() == [False]
