"""Literal port of the official CO2-Net test-time post-processing for one video, written from the
behaviour spec (``co2-stcl-behaviour.md`` sec. 6.1-6.4, 7.5; "C:" = harlanhong/MM2021-CO2-Net at
e879687): ``multiple_threshold_hamnet`` (``C:proposal_methods.py:92-189``) with its helpers
``get_cls_score`` (``:49-57``), ``filter_segments`` (``:10-36``), ``get_proposal_oic_2``,
``grouping`` and ``soft_nms`` (``C:utils/wsad_utils.py:104-141,224-274``), and the test loop's
classification score (``C:test.py:63``). Test oracle only: step by step as the original, the same
torch / numpy calls in the same order, no vectorisation.

Differences that cannot be literal:
- the Ambiguous file is a parameter (``ambiguous_path``) instead of the working-directory-relative
  ``./Thumos14reduced-Annotations/Ambiguous_test.txt``; a missing file still gives an empty list
  (the original's bare ``try/except``);
- ``--gamma-oic`` (0.2) and the hard-wired defaults are keyword arguments;
- the original ran numpy 1.18. This port runs under the installed numpy (2.x) and, with
  ``numpy1=True`` (the default), inserts the two casts where NEP 50 changed the result (spec
  sec. 6.3): the attention is compared with float32(theta), and the proposal score is
  float64(float32(inner - outer)) + 0.2 * float64(p). With ``numpy1=False`` it is the unmodified
  code run under numpy 2.x (theta in float64, the whole score in float32);
- the proposal dict's keys are numpy integers, as in the original; the DataFrame is returned.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


def filter_segments(segment_predict, vn, ambiguous_path):
    try:
        ambilist = list(open(ambiguous_path, "r"))
        ambilist = [a.strip("\n").split(" ") for a in ambilist]
    except Exception:
        ambilist = []
    ind = np.zeros(np.shape(segment_predict)[0])
    for i in range(np.shape(segment_predict)[0]):
        for a in ambilist:
            if a[0] == vn:
                # "video  start end": two spaces, so a[1] == "" and the times are a[2], a[3];
                # the lines end in "\r", which float() ignores
                gt = range(int(round(float(a[2]) * 25 / 16)), int(round(float(a[3]) * 25 / 16)))
                pd_ = range(int(segment_predict[i][0]), int(segment_predict[i][1]))
                iou = (float(len(set(gt).intersection(set(pd_))))
                       / float(len(set(gt).union(set(pd_)))))
                if iou > 0:
                    ind[i] = 1
    s = [segment_predict[i, :] for i in range(np.shape(segment_predict)[0]) if ind[i] == 0]
    return np.array(s)


def get_cls_score(element_cls, dim=-2, rat=20, ind=None):
    topk_val, _ = torch.topk(element_cls, k=max(1, int(element_cls.shape[-2] // rat)), dim=-2)
    instance_logits = torch.mean(topk_val, dim=-2)
    pred_vid_score = torch.softmax(instance_logits, dim=-1)[..., :-1].squeeze().data.cpu().numpy()
    return pred_vid_score


def grouping(arr):
    return np.split(arr, np.where(np.diff(arr) != 1)[0] + 1)


def get_proposal_oic_2(tList, wtcam, final_score, c_pred, scale, v_len, sampling_frames,
                       num_segments, lambda_=0.25, gamma=0.2, loss_type="oic", numpy1=True,
                       any_quirk=True):
    t_factor = (16 * v_len) / (scale * num_segments * sampling_frames)  # noqa: F841 (unused)
    temp = []
    for i in range(len(tList)):
        c_temp = []
        temp_list = np.array(tList[i])[0]
        if (temp_list.any() if any_quirk else temp_list.size > 0):
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
                if loss_type == "oic":
                    if numpy1:
                        # numpy 1.x: float32 scalar - float32 scalar stays float32 (minus a
                        # Python 0 gives float64, the same value); Python float * float32
                        # scalar is float64; the sum is float64
                        c_score = (np.float64(inner_score - outer_score)
                                   + gamma * np.float64(final_score[c_pred[i]]))
                    else:
                        c_score = inner_score - outer_score + gamma * final_score[c_pred[i]]
                else:
                    c_score = inner_score
                t_start = grouped_temp_list[j][0]
                t_end = (grouped_temp_list[j][-1] + 1)
                c_temp.append([c_pred[i], c_score, t_start, t_end])
            temp.append(c_temp)
    return temp


def soft_nms(dets, iou_thr=0.7, method="gaussian", sigma=0.3):
    dets = np.array(dets)
    x1 = dets[:, 2]
    x2 = dets[:, 3]
    scores = dets[:, 1]  # noqa: F841 (unused, as in the original)
    areas = x2 - x1 + 1
    dets = np.concatenate((dets, areas[:, None]), axis=1)
    retained_box = []
    while dets.size > 0:
        max_idx = np.argmax(dets[:, 1], axis=0)
        dets[[0, max_idx], :] = dets[[max_idx, 0], :]
        retained_box.append(dets[0, :-1].tolist())
        xx1 = np.maximum(dets[0, 2], dets[1:, 2])
        xx2 = np.minimum(dets[0, 3], dets[1:, 3])
        inter = np.maximum(xx2 - xx1 + 1, 0.0)
        iou = inter / (dets[0, -1] + dets[1:, -1] - inter)
        if method == "linear":
            weight = np.ones_like(iou)
            weight[iou > iou_thr] -= iou[iou > iou_thr]
        elif method == "gaussian":
            weight = np.exp(-(iou * iou) / sigma)
        else:
            weight = np.ones_like(iou)
            weight[iou > iou_thr] = 0
        dets[1:, 1] *= weight
        dets = dets[1:, :]
    return retained_box


@torch.no_grad()
def multiple_threshold_hamnet(vid_name, data_dict, ambiguous_path, gamma_oic=0.2, scale=1,
                              feature_fps=25, numpy1=True, any_quirk=True):
    """vid_name: bytes (the original decodes it); data_dict: {'cas': (1, T, C+1), 'attn':
    (1, T, 1)} float32 tensors. Returns the original's DataFrame (video-id, t-start, t-end,
    label, score) in snippet units, after the Ambiguous filter."""
    elem = data_dict['cas']
    element_atn = data_dict['attn']
    act_thresh_cas = np.arange(0.1, 0.9, 10)  # noqa: F841 (unused)
    element_logits = elem * element_atn
    pred_vid_score = get_cls_score(element_logits, rat=10)
    score_np = pred_vid_score.copy()  # noqa: F841 (unused)
    cas_supp = element_logits[..., :-1]
    cas_supp_atn = element_atn

    pred = np.where(pred_vid_score >= 0.2)[0]
    act_thresh = np.linspace(0.1, 0.9, 10)
    if len(pred) == 0:
        pred = np.array([np.argmax(pred_vid_score)])
    cas_pred = cas_supp[0].cpu().numpy()[:, pred]
    num_segments = cas_pred.shape[0]
    cas_pred = np.reshape(cas_pred, (num_segments, -1, 1))
    cas_pred_atn = cas_supp_atn[0].cpu().numpy()[:, [0]]
    cas_pred_atn = np.reshape(cas_pred_atn, (num_segments, -1, 1))

    proposal_dict = {}
    for i in range(len(act_thresh)):
        cas_temp = cas_pred.copy()
        cas_temp_atn = cas_pred_atn.copy()
        seg_list = []
        for c in range(len(pred)):
            # numpy 1.x compares a float32 array with a float64 scalar in float32
            thr = np.float32(act_thresh[i]) if numpy1 else act_thresh[i]
            pos = np.where(cas_temp_atn[:, 0, 0] > thr)
            seg_list.append(pos)
        proposals = get_proposal_oic_2(seg_list, cas_temp, pred_vid_score, pred, scale,
                                       num_segments, feature_fps, num_segments, gamma=gamma_oic,
                                       numpy1=numpy1, any_quirk=any_quirk)
        for j in range(len(proposals)):
            try:
                class_id = proposals[j][0][0]
                if class_id not in proposal_dict.keys():
                    proposal_dict[class_id] = []
                proposal_dict[class_id] += proposals[j]
            except IndexError:
                pass  # the original logs "Index error"; never reached (no empty class list)
    final_proposals = []
    for class_id in proposal_dict.keys():
        final_proposals.append(soft_nms(proposal_dict[class_id], 0.7, sigma=0.3))

    segment_predict = []
    for i in range(len(final_proposals)):
        for j in range(len(final_proposals[i])):
            [c_pred, c_score, t_start, t_end] = final_proposals[i][j]
            segment_predict.append([t_start, t_end, c_score, c_pred])
    segment_predict = np.array(segment_predict)
    segment_predict = filter_segments(segment_predict, vid_name.decode(), ambiguous_path)

    video_lst, t_start_lst, t_end_lst = [], [], []
    label_lst, score_lst = [], []
    for i in range(np.shape(segment_predict)[0]):
        video_lst.append(vid_name.decode())
        t_start_lst.append(segment_predict[i, 0])
        t_end_lst.append(segment_predict[i, 1])
        score_lst.append(segment_predict[i, 2])
        label_lst.append(segment_predict[i, 3])
    prediction = pd.DataFrame({"video-id": video_lst, "t-start": t_start_lst,
                               "t-end": t_end_lst, "label": label_lst, "score": score_lst})
    return prediction


@torch.no_grad()
def classification_score(cas, features_len=1):
    """The test loop's per-video classification score (``C:test.py:63``): ``logits`` is the
    (T, C+1) raw CAS; ``features_len`` is ``len(features)`` of the (1, T, D) input, i.e. 1 (the
    quirk: k = ceil(1/8) = 1). Returns (C+1,) float32; the classification mAP reads the first C
    columns."""
    logits = cas.squeeze(0)
    return F.softmax(torch.mean(torch.topk(logits, k=int(np.ceil(features_len / 8)), dim=0)[0],
                                dim=0), dim=0).cpu().data.numpy()
