"""What a checkpoint holds and how a run gets back from one.

A checkpoint of this project: ``epoch``, ``model_state_dict``, ``optimizer_state_dict``,
``criterion`` (its RNG), ``rng`` (the global RNG states), ``best_metric`` / ``best_epoch`` (by the
run's selection rule), ``history`` (the evaluated epochs' metrics) and ``config`` (the run's
resolved config, so ``--test`` rebuilds the model and post-processing from it). Original
checkpoints (``{"epoch", "model_state_dict"}``, or a bare state dict) load too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from config.run_config import RunConfig
from methods import method_entry
from models import load_state_dict_checked
from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.seeding import capture_rng_states, restore_rng_states

# Settings that fix every model's shape (each method's record adds its own): a command-line value
# that contradicts the checkpoint's is an error rather than a silent rebuild.
SHAPE_KEYS = ("feature_dim",)
# What --test takes from a checkpoint's config (command-line flags still win).
TEST_SECTIONS = ("model", "postprocess")
# Data settings --test also takes from it: the feature width, and the snippets per test video
# (both test samplers read it: ACM-Net's caps long videos at it, AICL's always samples it), so
# that --test scores a checkpoint as its run's own evaluations did.
TEST_DATA_KEYS = ("feature_dim", "sample_segments_num")
# What must agree between a run and the checkpoint it resumes.
RESUME_KEYS = ("ftcl", "method", "feature_dim")


@dataclass
class TrainState:
    """The loop's state beyond the weights: next epoch, selection, evaluated history."""

    start_epoch: int = 0
    best_metric: float = float("-inf")
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)


def payload(epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer, criterion: Any,
            state: TrainState, cfg: RunConfig) -> dict[str, Any]:
    """Everything needed to resume after ``epoch`` bit-exactly (checkpoint-safe types only)."""
    return {"epoch": epoch, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "criterion": criterion.state_dict(),
            "rng": capture_rng_states(), "best_metric": state.best_metric,
            "best_epoch": state.best_epoch, "select_metric": cfg.eval.select_metric,
            "select_on": cfg.eval.select_on, "history": state.history, "config": cfg.to_dict()}


def save(path: Path, content: dict[str, Any]) -> None:
    """Atomic write (a crash keeps the previous file)."""
    save_checkpoint(path, content)


def load_weights(model: nn.Module, path: str | Path, cfg: RunConfig) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` (strict, except the key prefixes the run's
    method tolerates missing, e.g. FTCL's ``feature_trans`` in an ACM-Net checkpoint); returns
    the checkpoint."""
    ckpt = load_checkpoint(path)
    prefixes, note = method_entry(cfg.run.method, cfg.dataset).tolerated_missing
    if load_state_dict_checked(model, ckpt["model_state_dict"], allow_missing=prefixes,
                               source=str(path)):
        print(f"{path}: {note}")
    return ckpt


def resume(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, criterion: Any,
           cfg: RunConfig) -> TrainState:
    """Restore model, optimizer, criterion RNG, global RNGs and the loop state from ``path``."""
    ckpt = load_checkpoint(path, required=("optimizer_state_dict", "epoch", "best_metric",
                                           "best_epoch", "rng", "criterion"))
    saved = RunConfig.from_dict(ckpt["config"]).flat() if "config" in ckpt else {}
    mine = cfg.flat()
    for key in RESUME_KEYS:
        if key in saved and saved[key] != mine[key]:
            raise ValueError(f"{path}: saved with {key}={saved[key]!r}, this run has "
                             f"{key}={mine[key]!r}")
    if saved.get("threads") is not None and saved["threads"] != mine["threads"]:
        print(f"note: {path} was trained with {saved['threads']} CPU threads, this run uses "
              f"{mine['threads']}: on the CPU it continues, but not to the bit (--threads "
              f"{saved['threads']} resumes exactly)")
    load_state_dict_checked(model, ckpt["model_state_dict"], allow_missing=(), source=str(path))
    optimizer.load_state_dict(ckpt["optimizer_state_dict"])
    _restore_zero_grads(optimizer)
    criterion.load_state_dict(ckpt["criterion"])
    restore_rng_states(ckpt["rng"])
    state = TrainState(start_epoch=ckpt["epoch"] + 1, best_metric=ckpt["best_metric"],
                       best_epoch=ckpt["best_epoch"], history=list(ckpt.get("history", [])))
    print(f"resumed from {path}: epoch {ckpt['epoch']} done, best {state.best_metric:.4f} "
          f"(epoch {state.best_epoch})")
    return state


def _restore_zero_grads(optimizer: torch.optim.Optimizer) -> None:
    """Give every parameter that had a gradient before the checkpoint (it has optimizer state) a
    zero gradient, as the uninterrupted run holds after ``zero_grad()``: Adam then keeps moving it
    in steps where it gets no new gradient, exactly as without the interruption."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            if optimizer.state.get(param) and param.grad is None:
                param.grad = torch.zeros_like(param)


def config_for_test(cfg: RunConfig, checkpoint: str | Path) -> RunConfig:
    """``cfg`` with the model and post-processing sections of the checkpoint's saved config
    (flags given on the command line win; one contradicting the model's shape is an error).
    Original checkpoints carry no config: the dataset defaults stay."""
    ckpt = load_checkpoint(checkpoint)
    if "config" not in ckpt:
        return cfg
    saved = RunConfig.from_dict(ckpt["config"])
    if saved.dataset != cfg.dataset:
        raise ValueError(f"{checkpoint}: a {saved.dataset} checkpoint, this is the "
                         f"{cfg.dataset} script")
    theirs, mine = saved.flat(), cfg.flat()
    if theirs.get("method", mine["method"]) != mine["method"]:
        raise ValueError(f"{checkpoint}: a --method {theirs['method']} checkpoint, this run is "
                         f"--method {mine['method']}: add --method {theirs['method']}")
    for key in SHAPE_KEYS + method_entry(cfg.run.method, cfg.dataset).shape_keys:
        if key in cfg.given and theirs.get(key, mine[key]) != mine[key]:
            raise ValueError(f"--{key} {mine[key]} contradicts {checkpoint} (saved with "
                             f"{key}={theirs[key]!r}): the model's shape is fixed by the "
                             "checkpoint")
    changed = cfg.override_from(ckpt["config"], TEST_SECTIONS)
    for key in TEST_DATA_KEYS:
        if key not in cfg.given and key in theirs and theirs[key] != mine[key]:
            setattr(cfg.data, key, theirs[key])
            changed.append(key)
    if changed:
        print(f"{checkpoint}: model and post-processing settings from its config "
              f"({', '.join(sorted(changed))})")
    return cfg
