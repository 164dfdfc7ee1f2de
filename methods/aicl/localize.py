"""AICL at test time: the video scores and the combined CAS -> AICL's proposals
(:func:`methods.aicl.inference.aicl_localize`), and its video-accuracy rule."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from methods.aicl.inference import AICLInferenceParams, aicl_class_prediction, aicl_localize
from eval.outputs import VideoOutputs
from eval.proposals import Detection
from methods.aicl.model import AICLOutput
from methods.record import Localizer, SavedOutputs


def aicl_video_correct(video_scores: torch.Tensor, labels: torch.Tensor, threshold: float,
                       alias_quirk: bool = False) -> torch.Tensor:
    """(B,) bool: AICL's rule (``methods.aicl.inference.aicl_class_prediction``): the classes
    scoring >= ``threshold``, or the argmax alone when none does, are exactly the labelled ones.

    video_scores: (B, C) softmax over the C classes (no background); labels: (B, C) multi-hot.
    alias_quirk: the fallback is class 0 (the unmodified code on a CPU tensor).
    """
    pred = video_scores >= threshold
    fallback = (torch.zeros(len(pred), dtype=torch.long, device=pred.device) if alias_quirk
                else video_scores.argmax(dim=1))
    none = ~pred.any(dim=1)
    pred[none, fallback[none]] = True
    return (pred == (labels > 0)).all(dim=1)


def _correct(out: AICLOutput, labels: torch.Tensor, threshold: float,
             params: AICLInferenceParams) -> torch.Tensor:
    return aicl_video_correct(out.video_scores, labels, threshold, params.cpu_alias_quirk)


def _params(settings: SimpleNamespace) -> AICLInferenceParams:
    return AICLInferenceParams.from_config(vars(settings))


def localize(out: AICLOutput, batch: dict[str, Any], params: AICLInferenceParams
             ) -> tuple[list[Detection], dict[str, np.ndarray]]:
    """One video (batch of 1): the video scores (softmax of the top-k video logits) and the
    combined CAS (softmax CAS + both actionness, / 3) -> AICL's proposals, with the video's
    snippet count before sampling.

    AICL has no attention branch: the saved ``att`` channels are the class-agnostic actionness
    (mean of the two streams), the RGB and the flow actionness; ``cas`` is the combined CAS
    (what the proposals are cut from); rows are the T_in = S sampled snippets.
    """
    video_scores = out.video_scores[0].cpu().numpy()
    combined = out.combined_cas[0].cpu().numpy()
    detections = aicl_localize(video_scores, combined, int(batch["length"][0]), params)
    att = torch.stack([out.actionness2[0], out.action_rgb[0, 0], out.action_flow[0, 0]], dim=-1)
    return detections, {"att": att.cpu().numpy(), "cas": combined, "video_scores": video_scores}


def aicl_classes(video_scores: np.ndarray, params: AICLInferenceParams) -> np.ndarray:
    """The classes AICL cuts proposals for (:func:`aicl_class_prediction`): video score (C,) at
    or above ``cls_threshold``, the argmax when none is (class 0 with ``cpu_alias_quirk``)."""
    return aicl_class_prediction(video_scores, params.cls_threshold, params.cpu_alias_quirk)[1]


def aicl_thresholds(params: AICLInferenceParams) -> dict[str, Any]:
    """The thresholds ``outputs.npz`` names: AICL's proposal thresholds on the combined CAS (the
    saved ``cas``) and none on the actionness (the saved ``att``)."""
    return {"cls_threshold": params.cls_threshold, "cas_thresholds": list(params.act_thresholds),
            "att_thresholds": [], "class_rule": ">="}


def aicl_relocalize(video: VideoOutputs, params: AICLInferenceParams) -> list[Detection]:
    """A saved video's detections again: its kept combined-CAS columns in a (T_in, C) table (the
    others are never read), the video scores and the snippet count."""
    full = np.zeros((video.att.shape[0], len(video.video_scores)), dtype=np.float32)
    full[:, video.classes] = video.cas
    return aicl_localize(video.video_scores, full, video.num_snippets, params)


AICL_LOCALIZER = Localizer(params=_params, localize=localize, correct=_correct,
                           saved=SavedOutputs(classes=aicl_classes, thresholds=aicl_thresholds,
                                              relocalize=aicl_relocalize))
