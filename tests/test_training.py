"""engine.steps: non-finite steps (loss or gradient) are skipped, counted and never applied;
20 in a row stop the run; gradients are zeroed as the original does."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from engine.steps import (MAX_CONSECUTIVE_NONFINITE, TrainingDiverged, backward_and_step,
                          train_one_epoch)
from methods.acmnet.localize import acm_correct


class TinyModel(nn.Module):
    """(B, T, 2) features -> an output with (B, 3) ``inst_cls`` (2 classes + background)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(inst_cls=torch.softmax(self.fc(x.mean(dim=1)), dim=1))


class ScriptedCriterion:
    """Loss = sum of the scores, turned NaN (``"loss"``) or given a NaN gradient (``"grad"``) on
    the scripted steps."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)

    def __call__(self, outputs: list[SimpleNamespace], batch: dict):
        out = outputs[0]
        kind = self.script.pop(0)
        loss = out.inst_cls.sum()
        if kind == "loss":
            loss = loss * float("nan")
        elif kind == "grad":
            # value + 0, but d sqrt(x)/dx = inf at x = 0
            loss = loss + torch.sqrt(out.inst_cls - out.inst_cls.detach()).sum()
        return loss, {"loss": loss.detach()}


def batches(count: int) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [{"features": torch.randn(2, 4, 2, generator=gen),
             "label": torch.tensor([[1.0, 0.0], [0.0, 1.0]])} for _ in range(count)]


def run(script: list[str]):
    torch.manual_seed(0)
    model = TinyModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    snapshots = []
    criterion = ScriptedCriterion(script)
    original_step = optimizer.step

    def step(*args, **kwargs):
        result = original_step(*args, **kwargs)
        snapshots.append([p.detach().clone() for p in model.parameters()])
        return result

    optimizer.step = step
    stats = train_one_epoch(model, batches(len(script)), criterion, optimizer, torch.device("cpu"),
                            cls_threshold=0.5, correct=acm_correct)
    return model, optimizer, stats, snapshots


def test_nonfinite_loss_and_gradient_steps_are_skipped_and_counted() -> None:
    model, optimizer, stats, snapshots = run(["ok", "loss", "grad", "ok"])
    assert stats.steps == 2 and stats.skipped == 2
    assert len(snapshots) == 2
    for p in model.parameters():
        assert torch.isfinite(p).all()
    state = optimizer.state[next(model.parameters())]
    assert int(state["step"]) == 2                     # Adam never saw the skipped steps
    assert torch.isfinite(state["exp_avg"]).all()


def test_same_weights_as_a_run_without_the_bad_steps() -> None:
    with_bad, _, _, _ = run(["ok", "grad", "loss", "ok"])
    # The bad steps consume their batches: compare with a run whose steps 1 and 2 do nothing
    # at all, i.e. the same two applied steps on batches 0 and 3.
    torch.manual_seed(0)
    model = TinyModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    data = batches(4)
    train_one_epoch(model, [data[0], data[3]], ScriptedCriterion(["ok", "ok"]), optimizer,
                    torch.device("cpu"), cls_threshold=0.5, correct=acm_correct)
    for a, b in zip(with_bad.parameters(), model.parameters()):
        assert torch.equal(a, b)


def test_consecutive_nonfinite_steps_stop_the_run() -> None:
    script = ["ok"] + ["grad", "loss"] * (MAX_CONSECUTIVE_NONFINITE // 2)
    with pytest.raises(TrainingDiverged, match="20 consecutive steps with a non-finite loss or "
                                                "gradient"):
        run(script)
    run(["ok"] + ["loss"] * (MAX_CONSECUTIVE_NONFINITE - 1) + ["ok"])   # 19 in a row is fine


def test_a_parameter_without_gradient_still_moves_under_adam_weight_decay() -> None:
    """The original zeroes gradients (``zero_grad()`` of its torch version) instead of setting
    them to None: a parameter that got a gradient once and none in this step still moves under
    Adam's momentum and weight decay (FTCL's ``feature_trans`` in in-batch steps without a
    positive pair)."""
    used, unused = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))

    def second_step(set_to_none: bool) -> torch.Tensor:
        a, b = nn.Parameter(used.detach().clone()), nn.Parameter(unused.detach().clone())
        opt = torch.optim.Adam([a, b], lr=0.1, weight_decay=5e-5)
        assert backward_and_step((a * b).sum(), opt)           # both get a gradient
        before = b.detach().clone()
        if set_to_none:                                        # what set_to_none=True would do
            opt.zero_grad(set_to_none=True)
            (a ** 2).sum().backward()
            opt.step()
        else:
            assert backward_and_step((a ** 2).sum(), opt)      # b gets no gradient this step
        return b.detach() - before

    assert (second_step(set_to_none=False).abs() > 0).all()    # the original's behaviour
    assert torch.equal(second_step(set_to_none=True), torch.zeros(2))
