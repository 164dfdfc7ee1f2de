"""The test loop: model -> CAS and attention -> proposals -> results JSON -> mAP.

:func:`predict` runs the model over the test loader (batch size 1) and hands each video's output
to the method's localizer (:class:`methods.Localizer`, from the method's record), which also
holds the method's video-accuracy rule; :func:`evaluate` writes the results JSON and
``metrics.json`` and scores them
under both ground-truth conventions (and, on request, the official THUMOS'14 protocol and the
W-TALC convention of CO2-Net / STCL-Net).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from eval.classification import video_map
from eval.detection import DetectionResult, evaluate_both, evaluate_detection, format_table
from eval.inputs import GtSource
from eval.proposals import Detection
from eval.results import results_dict, write_json_atomic
from engine.steps import progress, to_device
from methods import Localizer


@dataclass
class EvalSetup:
    """Everything an evaluation needs besides the model, built once per run."""

    dataset: str
    class_names: list[str]
    gt_path: GtSource                       # gt.json, or the loaded W-TALC arrays' database
    subset: str
    split_ids: list[str]
    tiou_thresholds: list[float]
    gt_videos: str
    params: SimpleNamespace                 # post-processing settings (:func:`proposal_params`)
    localizer: Localizer
    protocol: str = "activitynet"
    official_gt: Any = None                 # eval.thumos14 ground truth (thumos14, both, all)
    wtalc_gt: Any = None                    # eval.wtalc ground truth (wtalc, all)
    outputs_meta: dict[str, Any] | None = None   # save outputs.npz when set
    # False: only the "split" convention (a held-out part is a few videos of a gt.json subset
    # that holds the whole training split: "every video of the subset" would count the rest)
    both_conventions: bool = True


@dataclass
class TestReport:
    """What one evaluation produced.

    ``primary`` follows ``--gt_videos``; ``by_convention`` holds both conventions' results
    (only "split" for a held-out part);
    ``official`` the official THUMOS'14 protocol's (``--eval_protocol thumos14|both|all``),
    ``wtalc`` the W-TALC convention's (``--eval_protocol wtalc|all``).
    """

    primary: DetectionResult
    by_convention: dict[str, DetectionResult]
    losses: dict[str, float] = field(default_factory=dict)
    accuracy: float = 0.0
    cls_map: float = 0.0
    num_videos: int = 0
    official: DetectionResult | None = None
    wtalc: DetectionResult | None = None

    def metrics_json(self) -> dict[str, Any]:
        """``metrics.json``: the primary result (``eval.detection --json`` schema), plus the
        official protocol's under ``"thumos14_official"`` and the W-TALC convention's under
        ``"wtalc"`` when computed."""
        out = self.primary.to_json()
        if self.official is not None:
            out["thumos14_official"] = self.official.to_json()
        if self.wtalc is not None:
            out["wtalc"] = self.wtalc.to_json()
        return out


@dataclass
class Prediction:
    """Per-video detections and the test-time numbers of :func:`predict`."""

    detections: dict[str, list[Detection]]
    losses: dict[str, float]
    accuracy: float
    scores: np.ndarray                       # (N, C) video scores
    labels: np.ndarray                       # (N, C) multi-hot


@torch.no_grad()
def predict(model: nn.Module, loader, criterion, setup: EvalSetup, device: torch.device,
            cls_threshold: float, writer: Any = None) -> Prediction:
    """Localize actions in every video of ``loader`` (batch size 1): loss parts (the criterion's
    evaluation terms), video accuracy (the localizer's rule at ``cls_threshold``), detections;
    each video's arrays go to ``writer`` (an ``eval.outputs.OutputsWriter``) when given."""
    model.eval()
    start_pass = getattr(model, "start_pass", None)   # a model with a drawn context (the record's
    if start_pass is not None:                        # model_context): a new pass begins
        start_pass()
    localizer = setup.localizer
    params = localizer.params(setup.params)
    detections: dict[str, list[Detection]] = {}
    sums: dict[str, torch.Tensor] = {}
    correct = 0
    scores, labels = [], []
    for batch in progress(loader, "test"):
        batch = to_device(batch, device)
        out = model(batch["features"])
        _, parts = criterion.evaluate([out], batch)
        for key, value in parts.items():
            sums[key] = sums[key] + value if key in sums else value.clone()
        correct += int(localizer.correct(out, batch["label"], cls_threshold, params).sum())
        video_id = batch["video_id"][0]
        found, arrays = localizer.localize(out, batch, params)
        detections[video_id] = found
        label = batch["label"][0].cpu().numpy()
        scores.append(arrays["video_scores"])
        labels.append(label)
        if writer is not None:
            selected = (None if localizer.saved is None
                        else localizer.saved.classes(arrays["video_scores"], params))
            writer.add(video_id, float(batch["duration"][0]), arrays["att"], arrays["cas"],
                       arrays["video_scores"], np.flatnonzero(label > 0),
                       num_snippets=int(batch["length"][0]), selected=selected)
    n = max(len(scores), 1)
    return Prediction(detections=detections, losses={k: float(v) / n for k, v in sums.items()},
                      accuracy=correct / n,
                      scores=np.stack(scores) if scores else np.zeros((0, 0)),
                      labels=np.stack(labels) if labels else np.zeros((0, 0)))


def evaluate(model: nn.Module, loader, criterion, setup: EvalSetup, device: torch.device,
             out_dir: Path, cls_threshold: float, epoch: int | None = None) -> TestReport:
    """Run :func:`predict`; write ``<dataset>_results.json``, ``metrics.json`` (and
    ``outputs.npz`` when the setup asks for it) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = None
    if setup.outputs_meta is not None:
        from eval.outputs import OutputsWriter

        writer = OutputsWriter(out_dir / "outputs.npz", {**setup.outputs_meta, "epoch": epoch})
    pred = predict(model, loader, criterion, setup, device, cls_threshold, writer)
    if writer is not None:
        writer.close()
    results = results_dict(pred.detections, setup.class_names)
    write_json_atomic(out_dir / f"{setup.dataset}_results.json", results)
    if setup.both_conventions:
        by_convention = evaluate_both(setup.gt_path, results, setup.split_ids,
                                      subset=setup.subset, tiou_thresholds=setup.tiou_thresholds,
                                      class_names=setup.class_names)
    else:
        by_convention = {"split": evaluate_detection(setup.gt_path, results, setup.subset,
                                                     setup.tiou_thresholds, setup.class_names,
                                                     setup.split_ids)}
    official = None
    if setup.official_gt is not None:
        from eval.thumos14 import evaluate_official

        official = evaluate_official(results, setup.official_gt, setup.tiou_thresholds,
                                     skip_empty_classes=True)
    wtalc = None
    if setup.wtalc_gt is not None:
        from eval.wtalc import evaluate_wtalc

        wtalc = evaluate_wtalc(results, setup.wtalc_gt, setup.tiou_thresholds)
    report = TestReport(primary=by_convention[setup.gt_videos], by_convention=by_convention,
                        losses=pred.losses, accuracy=pred.accuracy,
                        cls_map=video_map(pred.scores, pred.labels) if len(pred.scores) else 0.0,
                        num_videos=len(pred.detections), official=official, wtalc=wtalc)
    write_json_atomic(out_dir / "metrics.json", report.metrics_json())
    return report


def report_text(report: TestReport, title: str) -> str:
    """The printed report: header line, mAP table, averages of both conventions (and the
    official protocol's and the W-TALC convention's tables when computed)."""
    lines = [f"== {title}: {report.num_videos} videos, video accuracy {report.accuracy:.4f}, "
             f"classification mAP {report.cls_map:.4f}", format_table(report.primary)]
    for conv, result in report.by_convention.items():
        avg = "  ".join(f"{k} {v * 100:.2f}" for k, v in result.averages.items())
        lines.append(f"average mAP (%), gt_videos={conv}: {avg}")
    if report.official is not None:
        lines += ["official THUMOS'14 protocol:", format_table(report.official)]
    if report.wtalc is not None:
        from eval.wtalc import original_print

        lines += ["W-TALC convention (CO2-Net / STCL-Net: snippet units"
                  + (", Ambiguous filter):" if report.wtalc.has_ambiguous else "):"),
                  format_table(report.wtalc), original_print(report.wtalc)]
    return "\n".join(lines)


MAP_IMAGE = "figures/mAP_vs_tIoU"
"""The wandb key of the mAP-against-tIoU image logged at each evaluation."""


def map_figure(reports: Mapping[str, TestReport], when: str) -> Any:
    """mAP against tIoU of each evaluated split (one line per report, labelled "<split>,
    <when>"), a ``matplotlib.figure.Figure``; matplotlib is imported only here."""
    from eval.plot import runs_figure

    names = list(reports)
    return runs_figure([reports[n].primary.to_json() for n in names],
                       [f"{n}, {when}" for n in names])


def map_image(reports: Mapping[str, TestReport], when: str) -> np.ndarray:
    """:func:`map_figure` as (H, W, 3) uint8 pixels, the form the run logger hands to wandb."""
    from eval.plot import figure_pixels

    return figure_pixels(map_figure(reports, when))


def proposal_params(post: SimpleNamespace, data: SimpleNamespace,
                    wtalc_annotations: str | None = None) -> SimpleNamespace:
    """The post-processing settings: the postprocess section with the snippet geometry and the
    run's W-TALC annotation folder (None: none; a localizer that reads its Ambiguous file, as
    CO2-Net's, takes it from there). Each localizer builds its own parameter object from them,
    ``Localizer.params``."""
    return SimpleNamespace(**vars(post), frames_per_sec=data.frames_per_sec,
                           segment_frames_num=data.segment_frames_num,
                           wtalc_annotations=wtalc_annotations)


def log_values(report: TestReport, prefix: str = "test") -> dict[str, float]:
    """Flat scalars of a report for metrics.csv / wandb: losses, accuracy, mAP per tIoU and the
    averages of both conventions (and of the official protocol and the W-TALC convention)."""
    values = {f"{prefix}_{k}_loss" if k != "loss" else f"{prefix}_loss": v
              for k, v in report.losses.items()}
    values.update({f"{prefix}_acc": report.accuracy, f"{prefix}_cls_mAP": report.cls_map})
    for tiou, value in zip(report.primary.tiou, report.primary.mAP):
        values[f"{prefix}_mAP@{float(tiou):.2f}"] = float(value)
    for conv, result in report.by_convention.items():
        for key, value in result.averages.items():
            values[f"{prefix}_avg_mAP_{key}_{conv}"] = float(value)
    if report.official is not None:
        for key, value in report.official.averages.items():
            values[f"{prefix}_avg_mAP_{key}_thumos14"] = float(value)
    if report.wtalc is not None:
        for key, value in report.wtalc.averages.items():
            values[f"{prefix}_avg_mAP_{key}_wtalc"] = float(value)
    return values


__all__ = ["MAP_IMAGE", "EvalSetup", "Prediction", "TestReport", "evaluate", "log_values",
           "map_figure", "map_image", "predict", "proposal_params", "report_text"]
