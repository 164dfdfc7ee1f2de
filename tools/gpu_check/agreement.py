"""CPU against another device, same weights and inputs, for each method and stage: model
outputs, every loss term, the gradients, a few training steps and a whole test pass on synthetic
data. Each case returns :class:`~tools.gpu_check.report.Check` lines.

The CPU is the reference. Float32 on both sides with TF32 off (``torch.backends.cuda.matmul``
and ``cudnn``), so the only differences are the order of float32 sums (cuBLAS / cuDNN against
MKL / oneDNN) and the transcendental functions' last bits. Dropout is set to 0 on both sides:
its masks come from each device's own generator, so with dropout on the two sides would compute
different functions; everything else (data, the criterion's in-batch pairs) is drawn on the CPU
from the same seeds. Tolerances and their reasons: docs/gpu-check.md.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from config import parse_config
from config.run_config import RunConfig
from dataset.synthetic import generate
from engine.build import build_optimizer, criterion_from_config, model_from_config, stage_of
from engine.data import Split, load_split, make_loader, test_dataset, training_dataset
from engine.evaluator import evaluate
from engine.setup import eval_setup
from engine.steps import backward_and_step, forward_views, to_device
from methods import method_entry
from tools.gpu_check.compare import (Tolerance, compare_detections, compare_maps,
                                     compare_tensors)
from tools.gpu_check.report import Check

CASES: dict[str, tuple[str, ...]] = {
    "acmnet": ("--without_lcs", "--without_fsd"),
    "ftcl_single": ("--inbatch_ftcl",),
    "ftcl_pair": ("--ftcl",),
    "aicl": ("--method", "aicl"),
    "co2net": ("--method", "co2net"),
    # the snippet contrast's mask is drawn by F.dropout, not a module: off, as every dropout
    # here; 2 exemplars (the synthetic set's smallest class), one bank per test pass
    "stcl": ("--method", "stcl", "--snip_mask_dropout", "0", "--exemplars_per_class", "2",
             "--bank_mode", "pass"),
}
"""Case name -> the flags of the method and stage it runs (ACM-Net alone, FTCL's first stage
with its in-batch terms, FTCL's pair stage, AICL, CO2-Net, STCL-Net)."""
WTALC_VIDEOS = 120
"""Videos of the synthetic W-TALC set of the CO2-Net and STCL-Net cases (every class with >= 2
training videos, as their class-pair sampler and STCL's bank need)."""

OUTPUT_TOL = Tolerance(rtol=1e-4, atol=1e-5, min_fraction=0.999)
LOSS_TOL = Tolerance(rtol=1e-4, atol=1e-6)
GRAD_TOL = Tolerance(rtol=1e-3, atol=1e-6, min_fraction=0.999)
STEP_LOSS_TOL = Tolerance(rtol=1e-3, atol=1e-6)
STEP_PARAM_SHARE = 0.999
"""Parameters after the steps: within ``0.01 * lr * steps`` (absolute) plus rtol 1e-4 on this
share of the elements (Adam moves a weight by about lr per step whatever the gradient's size, so
a gradient that is zero up to rounding may move its weight by +-lr on either side)."""
MAP_ATOL = 1e-3
DET_SCORE_TOL, DET_TIME_TOL = 1e-4, 1e-6


@dataclass(frozen=True)
class Sizes:
    """How big the comparison is: synthetic videos and feature width, batch size, training steps
    compared, flags added to every case and flags added to the cases of one method (its own
    settings; smaller models for a CPU-only run of the check)."""

    num_videos: int = 60
    feature_dim: int = 2048
    batch_size: int = 4
    steps: int = 3
    extra: tuple[str, ...] = ()
    method_extra: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=lambda: {
        # the W-TALC methods resample to 500 snippets and STCL-Net passes C x M of them through
        # the network at every step: 128 keeps the CPU side of the check within its minutes
        "co2net": ("--sample_segments_num", "128"),
        "stcl": ("--sample_segments_num", "128")})


def tensors_of(value: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor inside ``value`` (a tensor, a dataclass such as ``ACMOutput``, a dict, a list
    or tuple), by a dotted path; other leaves are skipped."""
    if isinstance(value, torch.Tensor):
        return {prefix or "value": value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: Iterator[tuple[str, Any]] = ((f.name, getattr(value, f.name))
                                            for f in dataclasses.fields(value))
    elif isinstance(value, dict):
        items = ((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {}
    out: dict[str, torch.Tensor] = {}
    for key, item in items:
        out.update(tensors_of(item, f"{prefix}.{key}" if prefix else key))
    return out


def no_dropout(model: nn.Module) -> nn.Module:
    """Set every ``nn.Dropout`` of ``model`` to p = 0 (in place); returns the model."""
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = 0.0
    return model


def case_config(case: str, data_dir: Path, sizes: Sizes) -> RunConfig:
    """The THUMOS'14 config of ``case`` on the synthetic data in ``data_dir`` (for a method on
    the W-TALC features, the set in the W-TALC layout)."""
    flags = [*CASES[case], "--data_dir", str(data_dir), "--feature_dim", str(sizes.feature_dim),
             "--batch_size", str(sizes.batch_size), "--without_wandb", "--num_workers", "0",
             *sizes.extra]
    flags += sizes.method_extra.get(case_method(case), ())
    return parse_config("THUMOS", flags)


def case_method(case: str) -> str:
    """The ``--method`` a case runs (FTCL's when it names none)."""
    flags = CASES[case]
    return flags[flags.index("--method") + 1] if "--method" in flags else "ftcl"


def _split(cfg: RunConfig, name: str) -> Split:
    """The split ``name`` of the case, in its method's order (its record's ``split_ids``)."""
    record = method_entry(cfg.run.method, cfg.dataset)
    return load_split(cfg.data, cfg.class_names, name,
                      record.split_ids(cfg, name) if record.split_ids else None)


def _with_context(model: nn.Module, cfg: RunConfig) -> nn.Module:
    """``model`` given its method's context on its own device (STCL-Net's exemplar bank, whose
    streams start at the seed: both sides draw the same banks); returns the model."""
    record = method_entry(cfg.run.method, cfg.dataset)
    if record.model_context is not None:
        record.model_context(model, _split(cfg, "train"), cfg, None)
    return model


def _batches(cfg: RunConfig, count: int) -> list[dict[str, Any]]:
    """The first ``count`` training batches of the case's stage (CPU tensors, fixed order; the
    method's own batches when its record has them)."""
    train = _split(cfg, "train")
    record = method_entry(cfg.run.method, cfg.dataset)
    if record.train_batches is not None:
        source = record.train_batches(train, cfg)
        return [batch for batch, _ in zip(source.epoch_batches(0), range(count))]
    data = training_dataset(stage_of(cfg), train, cfg.data, cfg.run.seed)
    loader = make_loader(data, cfg.data, torch.device("cpu"), batch_size=cfg.train.batch_size,
                         shuffle=False)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == count:
            break
    return batches


def _one_step(model: nn.Module, cfg: RunConfig, batch: dict[str, Any], device: torch.device
              ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Outputs, loss terms (with the total as "loss") and gradients of one batch on ``device``,
    the criterion freshly seeded so both sides draw the same in-batch pairs."""
    batch = to_device(batch, device)
    model.zero_grad(set_to_none=True)
    outputs = forward_views(model, batch)
    loss, parts = criterion_from_config(cfg)(outputs, batch)
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    terms = {"loss": loss.detach(), **{k: torch.as_tensor(v).detach() for k, v in parts.items()}}
    return tensors_of(outputs), terms, grads


def _train(model: nn.Module, cfg: RunConfig, batches: Sequence[dict[str, Any]],
           device: torch.device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of each of ``batches`` as trained on ``device`` (one criterion over the steps,
    as in training) and the parameters after them."""
    criterion = criterion_from_config(cfg)
    optimizer = build_optimizer(cfg.optimizer, model.parameters())
    losses = []
    for batch in batches:
        batch = to_device(batch, device)
        loss, _ = criterion(forward_views(model, batch), batch)
        losses.append(loss.detach().cpu())
        if not backward_and_step(loss, optimizer):
            raise RuntimeError(f"training step {len(losses)} on {device}: loss or gradient "
                               "not finite")
    return torch.stack(losses), {k: v.detach() for k, v in model.state_dict().items()}


def _test_pass(model: nn.Module, cfg: RunConfig, device: torch.device, out_dir: Path
               ) -> tuple[dict[str, list[tuple[int, float, float, float]]], Any]:
    """A whole test pass of ``model`` on ``device`` through the engine's evaluator: the
    detections per video (read back from the results JSON) and the primary mAP result."""
    test = _split(cfg, "test")
    loader = make_loader(test_dataset(test, cfg.data), cfg.data, device, batch_size=1,
                         shuffle=False)
    setup = eval_setup(cfg, test, with_extras=False)
    with warnings.catch_warnings():  # predictions of classes absent from the few test videos
        warnings.simplefilter("ignore", UserWarning)
        report = evaluate(model, loader, criterion_from_config(cfg), setup, device, out_dir,
                          cfg.postprocess.cls_threshold)
    results = json.loads((out_dir / f"{cfg.dataset}_results.json").read_text())["results"]
    index = {name: i for i, name in enumerate(cfg.class_names)}
    detections = {video: [(index[d["label"]], d["score"], *d["segment"]) for d in found]
                  for video, found in results.items()}
    return detections, report.primary


def run_case(case: str, device: torch.device, data_dir: Path, sizes: Sizes,
             perturb: float = 0.0) -> list[Check]:
    """The checks of one case: the CPU against ``device`` on the same weights and inputs.
    ``perturb`` adds that much to every weight of the other side (a check of the check: any
    visible value must FAIL)."""
    cfg = case_config(case, data_dir, sizes)
    torch.manual_seed(cfg.run.seed)
    reference = no_dropout(model_from_config(cfg)).train()
    other = copy.deepcopy(reference).to(device)
    if perturb:
        with torch.no_grad():
            for p in other.parameters():
                p.add_(perturb)
    start_ref, start_other = copy.deepcopy(reference), copy.deepcopy(other)
    batches = _batches(cfg, sizes.steps)
    label = f"{case} {device.type}"
    out_a, loss_a, grad_a = _one_step(_with_context(reference, cfg), cfg, batches[0],
                                      torch.device("cpu"))
    out_b, loss_b, grad_b = _one_step(_with_context(other, cfg), cfg, batches[0], device)
    checks = [compare_tensors(f"{label}: model outputs", out_a, out_b, OUTPUT_TOL),
              compare_tensors(f"{label}: loss terms", loss_a, loss_b, LOSS_TOL),
              compare_tensors(f"{label}: gradients", grad_a, grad_b, GRAD_TOL)]
    losses_a, params_a = _train(_with_context(copy.deepcopy(start_ref), cfg), cfg, batches,
                                torch.device("cpu"))
    losses_b, params_b = _train(_with_context(copy.deepcopy(start_other), cfg), cfg, batches,
                                device)
    steps = len(batches)
    checks.append(compare_tensors(f"{label}: {steps} training steps, losses",
                                  {"loss": losses_a}, {"loss": losses_b}, STEP_LOSS_TOL))
    param_tol = Tolerance(rtol=1e-4, atol=0.01 * cfg.optimizer.lr * steps,
                          min_fraction=STEP_PARAM_SHARE)
    checks.append(compare_tensors(f"{label}: {steps} training steps, weights", params_a,
                                  params_b, param_tol))
    with tempfile.TemporaryDirectory() as tmp:
        dets_a, map_a = _test_pass(_with_context(start_ref, cfg).eval(), cfg,
                                   torch.device("cpu"), Path(tmp) / "a")
        dets_b, map_b = _test_pass(_with_context(start_other, cfg).eval(), cfg, device,
                                   Path(tmp) / "b")
    checks.append(compare_detections(f"{label}: test pass, detections", dets_a, dets_b,
                                     DET_SCORE_TOL, DET_TIME_TOL))
    checks.append(compare_maps(f"{label}: test pass, mAP", map_a.tiou, map_a.mAP, map_b.mAP,
                               MAP_ATOL))
    return checks


def run_agreement(device: torch.device, sizes: Sizes = Sizes(),
                  cases: Sequence[str] = tuple(CASES), work_dir: Path | None = None,
                  perturb: float = 0.0) -> list[Check]:
    """Every case on one synthetic THUMOS'14-like dataset (written to ``work_dir`` or a
    temporary folder), TF32 off; a case that raises is one FAIL line naming the error."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with tempfile.TemporaryDirectory() as tmp:
        folders: dict[str, Path] = {}

        def data_for(case: str) -> Path:
            """The synthetic set of ``case`` (generated on first use): the W-TALC layout for a
            method whose record lists its own videos, else the npy one."""
            fmt = "wtalc" if method_entry(case_method(case), "THUMOS").split_ids else "npy"
            if fmt not in folders:
                folders[fmt] = generate(Path(work_dir or tmp) / f"synthetic_{fmt}",
                                        dataset="thumos", fmt=fmt, seed=0,
                                        num_videos=WTALC_VIDEOS if fmt == "wtalc"
                                        else sizes.num_videos, feature_dim=sizes.feature_dim)
            return folders[fmt]

        checks: list[Check] = []
        for case in cases:
            try:
                checks += run_case(case, device, data_for(case), sizes, perturb)
            except Exception as err:  # noqa: BLE001  (one report line per broken case)
                message = str(err).splitlines()[0] if str(err) else ""
                checks.append(Check(f"{case} {device.type}: ran", False,
                                    f"{type(err).__name__}: {message}"))
        return checks
