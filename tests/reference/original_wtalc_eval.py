"""Literal port of the W-TALC evaluation of the official CO2-Net / STCL-Net code, written from the
behaviour spec (``co2-stcl-behaviour.md`` sections 1.2, 6.4 and 7): the Ambiguous filter of the
proposal function (``filter_segments``, ``C:proposal_methods.py:10-36``) and ``ANETdetection``
(``C:eval/eval_detection.py:101-411``) with its ``compute_average_precision_detection``. Pandas
frames, Python lists and sets, one ``iterrows`` pass per class, as there. Test oracle only.

Not literal:
- joblib's ``Parallel(n_jobs=3)`` is a plain loop (same results), ``np.float`` is ``float``;
- the annotation folder is passed whole (the original joins ``--path-dataset`` twice) and the
  Ambiguous file is passed by path (the original reads ``./Thumos14reduced-Annotations/...``
  relative to the working directory and silently filters nothing when it is missing);
- the AP columns are indexed through ``activity_index`` as the original, which is only safe when
  every class of the class list has ground truth (true for THUMOS'14; spec Q30).

Inputs in snippet units, as the original's proposals: ``filter_segments`` takes one video's rows
``[start, end, score, class]``; ``proposals_frame`` builds the frame the proposal function returns
for all videos, which ``ANETdetection.prediction`` is set to.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def filter_segments(segment_predict, vn, ambilist_path):
    """Drop the rows of one video whose snippet range shares an index with an Ambiguous one."""
    try:
        ambilist = list(open(ambilist_path, "r"))
        ambilist = [a.strip("\n").split(" ") for a in ambilist]
    except Exception:
        ambilist = []
    ind = np.zeros(np.shape(segment_predict)[0])
    for i in range(np.shape(segment_predict)[0]):
        for a in ambilist:
            if a[0] == vn:
                gt = range(int(round(float(a[2]) * 25 / 16)), int(round(float(a[3]) * 25 / 16)))
                pd_ = range(int(segment_predict[i][0]), int(segment_predict[i][1]))
                IoU = float(len(set(gt).intersection(set(pd_)))) / float(
                    len(set(gt).union(set(pd_))))
                if IoU > 0:
                    ind[i] = 1
    s = [segment_predict[i, :] for i in range(np.shape(segment_predict)[0]) if ind[i] == 0]
    return np.array(s)


def proposals_frame(per_video, ambilist_path=None):
    """The proposal function's output for every video: ``per_video`` = [(name, rows (n, 4)
    [start, end, score, class] in snippet units)] in test order; each video's rows go through
    ``filter_segments`` (when a path is given) and become a frame with the columns video-id,
    t-start, t-end, label, score (all float64 but the name); the frames are concatenated as
    test.py does."""
    frames = []
    for vn, rows in per_video:
        prediction = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        if ambilist_path is not None and len(prediction):
            prediction = filter_segments(prediction, vn, ambilist_path)
        prediction = np.asarray(prediction, dtype=np.float64).reshape(-1, 4)
        video_lst, t_start_lst, t_end_lst = [], [], []
        label_lst, score_lst = [], []
        for i in range(np.shape(prediction)[0]):
            video_lst.append(vn)
            t_start_lst.append(prediction[i, 0])
            t_end_lst.append(prediction[i, 1])
            score_lst.append(prediction[i, 2])
            label_lst.append(prediction[i, 3])
        frames.append(pd.DataFrame({"video-id": video_lst, "t-start": t_start_lst,
                                    "t-end": t_end_lst, "label": label_lst,
                                    "score": score_lst}))
    return pd.concat(frames).reset_index(drop=True)


def str2ind(categoryname, classlist):
    return [i for i in range(len(classlist)) if categoryname == classlist[i]][0]


def segment_iou(target_segment, candidate_segments):
    tt1 = np.maximum(target_segment[0], candidate_segments[:, 0])
    tt2 = np.minimum(target_segment[1], candidate_segments[:, 1])
    segments_intersection = (tt2 - tt1).clip(0)
    segments_union = (candidate_segments[:, 1] - candidate_segments[:, 0]) \
        + (target_segment[1] - target_segment[0]) - segments_intersection
    tIoU = segments_intersection.astype(float) / segments_union
    return tIoU


def interpolated_prec_rec(prec, rec):
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    ap = np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])
    return ap


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
        except Exception:
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


class ANETdetection:
    """``ANETdetection(annotation_folder, tiou_thresholds, subset)``; set ``prediction`` to the
    proposals frame, then ``evaluate()`` -> mAP (K,); ``ap`` (K, C)."""

    def __init__(self, annotation_path, tiou_thresholds=np.linspace(0.5, 0.95, 10),
                 subset="test", verbose=False):
        self.subset = subset
        self.tiou_thresholds = tiou_thresholds
        self.verbose = verbose
        self.ap = None
        self.annotation_path = annotation_path
        self.prediction = None
        self._import_ground_truth(self.annotation_path)

    def _import_ground_truth(self, annotation_file):
        gtsegments = np.load(annotation_file + "/segments.npy", allow_pickle=True)
        gtlabels = np.load(annotation_file + "/labels.npy", allow_pickle=True)
        videoname = np.load(annotation_file + "/videoname.npy", allow_pickle=True)
        videoname = np.array([i.decode("utf8") for i in videoname])
        subset = np.load(annotation_file + "/subset.npy", allow_pickle=True)
        subset = np.array([s.decode("utf-8") for s in subset])
        classlist = np.load(annotation_file + "/classlist.npy", allow_pickle=True)
        classlist = np.array([c.decode("utf-8") for c in classlist])
        ambilist = annotation_file + "/Ambiguous_test.txt"
        try:
            ambilist = list(open(ambilist, "r"))
            ambilist = [a.strip("\n").split(" ") for a in ambilist]
        except Exception:
            ambilist = []
        self.ambilist = ambilist          # loaded, never used
        self.classlist = classlist

        subset_ind = (subset == self.subset)
        gtsegments = gtsegments[subset_ind]
        gtlabels = gtlabels[subset_ind]
        videoname = videoname[subset_ind]

        self.idx_to_take = [i for i, s in enumerate(gtsegments) if len(s) > 0]
        gtsegments = gtsegments[self.idx_to_take]
        gtlabels = gtlabels[self.idx_to_take]
        videoname = videoname[self.idx_to_take]
        self.videoname = videoname

        templabelcategories = sorted(list(set([l for gtl in gtlabels for l in gtl])))
        templabelidx = []
        for t in templabelcategories:
            templabelidx.append(str2ind(t, classlist))
        self.templabelidx = templabelidx

        video_lst, t_start_lst, t_end_lst, label_lst = [], [], [], []
        for i in range(len(gtsegments)):
            for j in range(len(gtsegments[i])):
                video_lst.append(str(videoname[i]))
                t_start_lst.append(round(gtsegments[i][j][0] * 25 / 16))
                t_end_lst.append(round(gtsegments[i][j][1] * 25 / 16))
                label_lst.append(str2ind(gtlabels[i][j], self.classlist))
        ground_truth = pd.DataFrame({"video-id": video_lst, "t-start": t_start_lst,
                                     "t-end": t_end_lst, "label": label_lst})
        self.ground_truth = ground_truth
        self.activity_index = {i: templabelidx[i] for i in range(len(templabelidx))}

    def _get_predictions_with_label(self, prediction_by_label, label_name, cidx):
        try:
            res = prediction_by_label.get_group(cidx).reset_index(drop=True)
            return res
        except Exception:
            return pd.DataFrame()

    def wrapper_compute_average_precision(self):
        ap = np.zeros((len(self.tiou_thresholds), len(self.activity_index)))
        ground_truth_by_label = self.ground_truth.groupby("label")
        prediction_by_label = self.prediction.groupby("label")
        results = [compute_average_precision_detection(
            ground_truth=self._get_predictions_with_label(ground_truth_by_label, label_name, cidx),
            prediction=self._get_predictions_with_label(prediction_by_label, label_name, cidx),
            tiou_thresholds=self.tiou_thresholds,
        ) for label_name, cidx in self.activity_index.items()]
        for i, cidx in enumerate(self.activity_index.values()):
            ap[:, cidx] = results[i]
        return ap

    def evaluate(self):
        self.ap = self.wrapper_compute_average_precision()
        self.mAP = self.ap.mean(axis=1)
        self.average_mAP = self.mAP.mean()
        return self.mAP
