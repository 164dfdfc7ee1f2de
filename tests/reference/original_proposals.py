"""Literal port of the original proposal chain (ACM-Net ``main_*.py`` test loop and
``utils/net_evaluation.py``), loops and all, as described in the spec (section 7). Test oracle only.

Differences that cannot be literal: ``np.int`` is ``int``; ``gamma * video_score`` is taken in
float64 as numpy 1.x (the original's) did for a Python float times a float32 scalar.
"""
from __future__ import annotations

import numpy as np
from scipy import interpolate


def upgrade_resolution(arr: np.ndarray, scale: int) -> np.ndarray:
    x = np.arange(0, arr.shape[0])
    f = interpolate.interp1d(x, arr, kind="linear", axis=0, fill_value="extrapolate")
    scale_x = np.arange(0, arr.shape[0], 1 / scale)
    return f(scale_x)


def grouping(arr: np.ndarray) -> list[np.ndarray]:
    return np.split(arr, np.where(np.diff(arr) != 1)[0] + 1)


def get_proposal_oic(tList, wtcam, c_pred, c_score, t_factor, lamb, gamma):
    temp = []
    for i in range(len(tList)):
        c_temp = []
        temp_list = np.array(tList[i])[0]
        if temp_list.any():
            grouped = grouping(temp_list)
            for j in range(len(grouped)):
                if len(grouped[j]) < 2:
                    continue
                inner_score = np.mean(wtcam[grouped[j], i])
                len_proposal = len(grouped[j])
                outer_s = max(0, int(grouped[j][0] - lamb * len_proposal))
                outer_e = min(int(wtcam.shape[0] - 1), int(grouped[j][-1] + lamb * len_proposal))
                outer_list = list(range(outer_s, int(grouped[j][0]))) + \
                    list(range(int(grouped[j][-1] + 1), outer_e + 1))
                if len(outer_list) == 0:
                    outer_score = 0
                else:
                    outer_score = np.mean(wtcam[outer_list, i])
                score = inner_score - outer_score + gamma * float(c_score[c_pred[i]])
                t_start = (grouped[j][0] + 0) * t_factor
                t_end = (grouped[j][-1] + 1) * t_factor
                c_temp.append([c_pred[i], score, t_start, t_end])
            temp.append(c_temp)
    return temp


def nms(proposals, thresh, plus_one=True):
    one = 1 if plus_one else 0
    proposals = np.array(proposals)
    x1 = proposals[:, 2]
    x2 = proposals[:, 3]
    scores = proposals[:, 1]
    areas = x2 - x1 + one
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(proposals[i].tolist())
        xx1 = np.maximum(x1[i], x1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + one)
        iou = inter / (areas[i] + areas[order[1:]] - inter)
        inds = np.where(iou < thresh)[0]
        order = order[inds + 1]
    return keep


# The two datasets' test-loop settings: thresholds, OIC lambda, gammas and mixing literals.
SETTINGS = {
    "THUMOS": dict(cls_threshold=0.25, cas_thresh=np.arange(0.15, 0.25, 0.05),
                   att_thresh=np.arange(0.15, 1.00, 0.05), lamb=0.2, gamma_cas=0.0,
                   gamma_att=0.0, w_cas=1.0, w_att=0.0, nms_thresh=0.55),
    "ActivityNet": dict(cls_threshold=0.10, cas_thresh=[0.005, 0.01, 0.015, 0.02],
                        att_thresh=[0.005, 0.01, 0.015, 0.02], lamb=0.150, gamma_cas=0.0,
                        gamma_att=0.250, w_cas=0.70, w_att=0.30, nms_thresh=0.90),
}


def original_localize(dataset: str, score_np: np.ndarray, cas: np.ndarray, att: np.ndarray,
                      vid_len: int, plus_one: bool = True) -> list[list[float]]:
    """The test loop for one video: score_np (C,), cas (T_in, C) instance CAS, att (T_in,).
    Returns the proposals [class, score, start, end] in the original's result order."""
    cfg = SETTINGS[dataset]
    num_segments, num_cls = cas.shape
    t_factor = (16 * np.int64(vid_len)) / (25 * 20 * num_segments)
    temp_cls_score_np = np.reshape(cas, (num_segments, num_cls, 1))
    temp_att_np = np.reshape(np.repeat(att[:, None], num_cls, axis=1), (num_segments, num_cls, 1))
    if score_np.max() > cfg["cls_threshold"]:
        cls_prediction = np.array(np.where(score_np > cfg["cls_threshold"])[0])
    else:
        cls_prediction = np.array([np.argmax(score_np)], dtype=int)
    temp_cls_score_np = temp_cls_score_np[:, cls_prediction]
    temp_att_np = temp_att_np[:, cls_prediction]
    int_cas = upgrade_resolution(temp_cls_score_np, 20)
    int_att = upgrade_resolution(temp_att_np, 20)

    proposal_dict: dict = {}
    for act_thresh in cfg["cas_thresh"]:
        tmp_int_cas = int_cas.copy()
        tmp_int_cas[np.where(tmp_int_cas < act_thresh)] = 0
        seg_list = [np.where(tmp_int_cas[:, c] >= act_thresh) for c in range(len(cls_prediction))]
        props = get_proposal_oic(seg_list, cfg["w_cas"] * tmp_int_cas + cfg["w_att"] * int_att,
                                 cls_prediction, score_np, t_factor, cfg["lamb"], cfg["gamma_cas"])
        for p in props:
            if len(p) == 0:
                continue
            proposal_dict.setdefault(p[0][0], []).extend(p)
    for att_thresh in cfg["att_thresh"]:
        tmp_int_att = int_att.copy()
        tmp_int_att[np.where(tmp_int_att < att_thresh)] = 0
        seg_list = [np.where(tmp_int_att[:, c] >= att_thresh) for c in range(len(cls_prediction))]
        props = get_proposal_oic(seg_list, cfg["w_cas"] * int_cas + cfg["w_att"] * tmp_int_att,
                                 cls_prediction, score_np, t_factor, cfg["lamb"], cfg["gamma_att"])
        for p in props:
            if len(p) == 0:
                continue
            proposal_dict.setdefault(p[0][0], []).extend(p)
    final = [nms(proposal_dict[c], cfg["nms_thresh"], plus_one) for c in proposal_dict]
    return [prop for per_class in final for prop in per_class]
