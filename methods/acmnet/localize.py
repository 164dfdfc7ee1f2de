"""ACM-Net / FTCL at test time: the instance-branch video scores, the instance CAS and the
instance attention -> multi-threshold proposals (:func:`eval.proposals.localize_video`), and the
original's video-accuracy rule."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from eval.outputs import VideoOutputs
from eval.proposals import Detection, ProposalParams, localize_video, select_classes
from methods.acmnet.outputs import ACMOutput
from methods.record import Localizer, SavedOutputs


def video_correct(video_scores: torch.Tensor, labels: torch.Tensor, threshold: float
                  ) -> torch.Tensor:
    """(B,) bool: every class predicted exactly right with score >= ``threshold`` (original rule).

    video_scores: (B, C+1) softmaxed instance-branch scores; labels: (B, C) multi-hot.
    """
    pred = video_scores[:, :-1] >= threshold
    return (pred == (labels > 0)).all(dim=1)


def acm_correct(out: ACMOutput, labels: torch.Tensor, threshold: float,
                params: ProposalParams | None = None) -> torch.Tensor:
    """ACM-Net / FTCL: :func:`video_correct` on the instance-branch video scores (B, C+1)."""
    return video_correct(out.inst_cls, labels, threshold)


def acm_localize(out: ACMOutput, batch: dict[str, Any], params: ProposalParams
                 ) -> tuple[list[Detection], dict[str, np.ndarray]]:
    """One video (batch of 1): instance-branch video scores (C,), instance CAS (T_in, C) without
    the background column, instance attention channel (T_in,) -> detections, and the arrays of
    ``outputs.npz`` (att (T_in, 3), cas, video_scores)."""
    video_scores = out.inst_cls[0, :-1].cpu().numpy()
    cas = out.inst_cas[0, :, :-1].cpu().numpy()
    att = out.att[0].cpu().numpy()
    detections = localize_video(video_scores, cas, att[:, 0], int(batch["length"][0]),
                                float(batch["duration"][0]), params)
    return detections, {"att": att, "cas": cas, "video_scores": video_scores}


def acm_classes(video_scores: np.ndarray, params: ProposalParams) -> np.ndarray:
    """The classes :func:`eval.proposals.localize_video` cuts proposals for: video score (C,)
    strictly above ``cls_threshold``, the argmax when none is."""
    return select_classes(video_scores, params.cls_threshold)


def acm_thresholds(params: ProposalParams) -> dict[str, Any]:
    """The thresholds ``outputs.npz`` names: the CAS and attention thresholds of the proposals."""
    return {"cls_threshold": params.cls_threshold, "cas_thresholds": list(params.cas_thresholds),
            "att_thresholds": list(params.att_thresholds), "class_rule": ">"}


def acm_relocalize(video: VideoOutputs, params: ProposalParams) -> list[Detection]:
    """A saved video's detections again: its kept CAS columns in a (T_in, C) table (the others
    are never read), the instance attention channel, the snippet count and the duration."""
    full = np.zeros((video.att.shape[0], len(video.video_scores)), dtype=np.float32)
    full[:, video.classes] = video.cas
    return localize_video(video.video_scores, full, video.att[:, 0], video.num_snippets,
                          video.duration, params)


ACM_LOCALIZER = Localizer(params=ProposalParams.from_args, localize=acm_localize,
                          correct=acm_correct,
                          saved=SavedOutputs(classes=acm_classes, thresholds=acm_thresholds,
                                             relocalize=acm_relocalize))
