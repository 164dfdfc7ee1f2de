"""Literal port of the original ``ANETDetection`` (ActivityNet toolkit as adapted by ACM-Net /
FTCL, spec section 7 item 10): pandas frames, one ``iterrows`` pass per class. Test oracle only.

Not literal: joblib's Parallel is a plain loop (same results) and ``np.float`` is ``float``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def segment_iou(target_segment, candidate_segments):
    tt1 = np.maximum(target_segment[0], candidate_segments[:, 0])
    tt2 = np.minimum(target_segment[1], candidate_segments[:, 1])
    inter = (tt2 - tt1).clip(0)
    union = (candidate_segments[:, 1] - candidate_segments[:, 0]) + \
        (target_segment[1] - target_segment[0]) - inter
    return inter.astype(float) / union


def interpolated_prec_rec(prec, rec):
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])


def compute_average_precision_detection(ground_truth, prediction, tiou_thresholds):
    ap = np.zeros(len(tiou_thresholds))
    if prediction.empty:
        return ap
    npos = float(len(ground_truth))
    lock_gt = np.ones((len(tiou_thresholds), len(ground_truth))) * -1
    sort_idx = prediction["score"].values.argsort()[::-1]
    prediction = prediction.loc[sort_idx].reset_index(drop=True)
    tp = np.zeros((len(tiou_thresholds), len(prediction)))
    fp = np.zeros((len(tiou_thresholds), len(prediction)))
    ground_truth_gbvn = ground_truth.groupby("video-id")
    for idx, this_pred in prediction.iterrows():
        try:
            ground_truth_videoid = ground_truth_gbvn.get_group(this_pred["video-id"])
        except KeyError:
            fp[:, idx] = 1
            continue
        this_gt = ground_truth_videoid.reset_index()
        tiou_arr = segment_iou(this_pred[["t-start", "t-end"]].values,
                               this_gt[["t-start", "t-end"]].values)
        tiou_sorted_idx = tiou_arr.argsort()[::-1]
        for tidx, tiou_thr in enumerate(tiou_thresholds):
            for jdx in tiou_sorted_idx:
                if tiou_arr[jdx] < tiou_thr:
                    fp[tidx, idx] = 1
                    break
                if lock_gt[tidx, this_gt.loc[jdx]["index"]] >= 0:
                    continue
                tp[tidx, idx] = 1
                lock_gt[tidx, this_gt.loc[jdx]["index"]] = idx
                break
            if fp[tidx, idx] == 0 and tp[tidx, idx] == 0:
                fp[tidx, idx] = 1
    tp_cumsum = np.cumsum(tp, axis=1).astype(float)
    fp_cumsum = np.cumsum(fp, axis=1).astype(float)
    recall_cumsum = tp_cumsum / npos
    precision_cumsum = tp_cumsum / (tp_cumsum + fp_cumsum)
    for tidx in range(len(tiou_thresholds)):
        ap[tidx] = interpolated_prec_rec(precision_cumsum[tidx, :], recall_cumsum[tidx, :])
    return ap


class ANETDetection:
    """``ANETDetection(database, results, tiou_thresholds, subset).evaluate()`` -> mean mAP;
    ``ap`` (K, C) and ``activity_index`` (name -> column, first appearance in the gt)."""

    def __init__(self, database: dict, results: dict, tiou_thresholds, subset: str):
        self.subset = subset
        self.tiou_thresholds = tiou_thresholds
        self.ground_truth, self.activity_index = self._import_ground_truth(database)
        self.prediction = self._import_prediction(results)

    def _import_ground_truth(self, database):
        activity_index, cidx = {}, 0
        video_lst, t_start_lst, t_end_lst, label_lst = [], [], [], []
        for video_id, v in database.items():
            if self.subset != v["subset"]:
                continue
            for ann in v["annotations"]:
                if ann["label"] not in activity_index:
                    activity_index[ann["label"]] = cidx
                    cidx += 1
                video_lst.append(video_id)
                t_start_lst.append(float(ann["segment"][0]))
                t_end_lst.append(float(ann["segment"][1]))
                label_lst.append(activity_index[ann["label"]])
        ground_truth = pd.DataFrame({"video-id": video_lst, "t-start": t_start_lst,
                                     "t-end": t_end_lst, "label": label_lst})
        return ground_truth, activity_index

    def _import_prediction(self, results):
        video_lst, t_start_lst, t_end_lst, label_lst, score_lst = [], [], [], [], []
        for video_id, v in results.items():
            for pred in v:
                label = self.activity_index[pred["label"]]
                video_lst.append(video_id)
                t_start_lst.append(float(pred["segment"][0]))
                t_end_lst.append(float(pred["segment"][1]))
                label_lst.append(label)
                score_lst.append(float(pred["score"]))
        return pd.DataFrame({"video-id": video_lst, "t-start": t_start_lst, "t-end": t_end_lst,
                             "label": label_lst, "score": score_lst})

    def _get_predictions_with_label(self, prediction_by_label, cidx):
        try:
            return prediction_by_label.get_group(cidx).reset_index(drop=True)
        except KeyError:
            return pd.DataFrame()

    def wrapper_compute_average_precision(self):
        ap = np.zeros((len(self.tiou_thresholds), len(self.activity_index)))
        ground_truth_by_label = self.ground_truth.groupby("label")
        prediction_by_label = self.prediction.groupby("label")
        for cidx in self.activity_index.values():
            ap[:, cidx] = compute_average_precision_detection(
                ground_truth_by_label.get_group(cidx).reset_index(drop=True),
                self._get_predictions_with_label(prediction_by_label, cidx),
                self.tiou_thresholds)
        return ap

    def evaluate(self) -> float:
        self.ap = self.wrapper_compute_average_precision()
        self.mAP = self.ap.mean(axis=1)
        self.average_mAP = self.mAP.mean()
        return self.average_mAP
