"""Literal port of the official AICL test loop body for one video (``inference_thumos.py``) and its
functions (``utils/misc_utils.py``), written from the behaviour spec (section 5). Test oracle only.

Differences that cannot be literal: the model call is replaced by its outputs (the video scores
as a (1, C) CPU tensor and the combined CAS as a numpy array); the configuration is a dict;
``gamma * final_score[c]`` is taken in float64, as NumPy 1.23 (the pinned version) computed a
Python float times a float32 scalar. With ``gpu_copy`` (the published GPU runs) the class vector
is binarised in a copy; without it the CPU aliasing of ``.cpu().numpy()`` is left in place.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.interpolate import interp1d

CONFIG = {"class_thresh": 0.25, "scale": 24, "act_thresh": np.arange(0.1, 1.0, 0.1),
          "gamma": 0.2, "soft_nms": True, "nms_alpha": 0.35, "nms_thresh": 0.4,
          "feature_fps": 25, "num_segments": 750}


def upgrade_resolution(arr, scale):
    x = np.arange(0, arr.shape[0])
    f = interp1d(x, arr, kind='linear', axis=0, fill_value='extrapolate')
    scale_x = np.arange(0, arr.shape[0], 1 / scale)
    return f(scale_x)


def grouping(arr):
    return np.split(arr, np.where(np.diff(arr) != 1)[0] + 1)


def get_proposal_oic(tList, wtcam, final_score, c_pred, scale, v_len, sampling_frames,
                     num_segments, lambda_=0.25, gamma=0.2):
    t_factor = (16 * v_len) / (scale * num_segments * sampling_frames)
    temp = []
    for i in range(len(tList)):
        c_temp = []
        temp_list = np.array(tList[i])[0]
        if temp_list.any():
            grouped_temp_list = grouping(temp_list)
            for j in range(len(grouped_temp_list)):
                inner_score = np.mean(wtcam[grouped_temp_list[j], i, 0])
                len_proposal = len(grouped_temp_list[j])
                outer_s = max(0, int(grouped_temp_list[j][0] - lambda_ * len_proposal))
                outer_e = min(int(wtcam.shape[0] - 1),
                              int(grouped_temp_list[j][-1] + lambda_ * len_proposal))
                outer_temp_list = (list(range(outer_s, int(grouped_temp_list[j][0])))
                                   + list(range(int(grouped_temp_list[j][-1] + 1), outer_e + 1)))
                if len(outer_temp_list) == 0:
                    outer_score = 0
                else:
                    outer_score = np.mean(wtcam[outer_temp_list, i, 0])
                c_score = inner_score - outer_score + gamma * float(final_score[c_pred[i]])
                t_start = grouped_temp_list[j][0] * t_factor
                t_end = (grouped_temp_list[j][-1] + 1) * t_factor
                c_temp.append([c_pred[i], c_score, t_start, t_end])
        temp.append(c_temp)
    return temp


def basnet_nms(proposals, thresh, soft_nms=False, nms_alpha=0):
    proposals = np.array(proposals)
    x1 = proposals[:, 2]
    x2 = proposals[:, 3]
    scores = proposals[:, 1]
    areas = x2 - x1 + 1
    order = scores.argsort()[::-1]
    keep = []
    not_keep = []
    while order.size > 0:
        i = order[0]
        keep.append(proposals[i].tolist())
        xx1 = np.maximum(x1[i], x1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + 1)
        iou = inter / (areas[i] + areas[order[1:]] - inter)
        if soft_nms:
            inv_inds = np.where(iou >= thresh)[0]
            props_mod = proposals[order[inv_inds + 1]]
            for k in range(props_mod.shape[0]):
                props_mod[k, 1] = props_mod[k, 1] * np.exp(-np.square(iou[inv_inds][k])
                                                           / nms_alpha)
            not_keep.extend(props_mod.tolist())
        inds = np.where(iou < thresh)[0]
        order = order[inds + 1]
    if soft_nms:
        keep.extend(not_keep)
    return keep


def original_aicl_video(score_supp: torch.Tensor, combined_cas: np.ndarray, vid_num_seg: int,
                        config: dict = CONFIG, gpu_copy: bool = True):
    """score_supp (1, C) float32 CPU tensor, combined_cas (num_segments, C) float32.
    Returns (binarised class vector, proposals [[class, score, start, end], ...] in the order of
    the result JSON, or None when no class is predicted)."""
    score_np = score_supp[0, :].cpu().numpy()
    if gpu_copy:
        score_np = score_np.copy()
    score_np[np.where(score_np < config["class_thresh"])] = 0
    score_np[np.where(score_np >= config["class_thresh"])] = 1
    if np.all(score_np == 0):
        arg = np.argmax(score_supp[0, :].cpu().data.numpy())
        score_np[arg] = 1
    pred = np.where(score_np > config["class_thresh"])[0]
    if len(pred) == 0:
        return score_np, None

    cas_pred = combined_cas[:, pred]
    cas_pred = np.reshape(cas_pred, (config["num_segments"], -1, 1))
    cas_pred = upgrade_resolution(cas_pred, config["scale"])
    proposal_dict = {}
    for t in range(len(config["act_thresh"])):
        cas_temp = cas_pred.copy()
        zero_location = np.where(cas_temp[:, :, 0] < config["act_thresh"][t])
        cas_temp[zero_location] = 0
        seg_list = []
        for c in range(len(pred)):
            pos = np.where(cas_temp[:, c, 0] > 0)
            seg_list.append(pos)
        proposals = get_proposal_oic(seg_list, cas_pred.copy(),
                                     score_supp[0, :].cpu().data.numpy(), pred, config["scale"],
                                     vid_num_seg, config["feature_fps"], config["num_segments"],
                                     config["gamma"])
        for j in range(len(proposals)):
            if not proposals[j]:
                continue
            class_id = proposals[j][0][0]
            if class_id not in proposal_dict.keys():
                proposal_dict[class_id] = []
            proposal_dict[class_id] += proposals[j]
    final_proposals = []
    for class_id in proposal_dict.keys():
        final_proposals.append(basnet_nms(proposal_dict[class_id], config["nms_thresh"],
                                          config["soft_nms"], config["nms_alpha"]))
    return score_np, [p for per_class in final_proposals for p in per_class]
