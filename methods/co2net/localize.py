"""CO2-Net at test time: from a video's CAS and attention to detections, the official
``multiple_threshold_hamnet`` number for number (``C:proposal_methods.py:92-189`` with
``C:utils/wsad_utils.py:104-141,224-274``; spec ``co2-stcl-behaviour.md`` sec. 6), the test loop's
classification score (``C:test.py:63``, sec. 7.5) and the localizer record ``CO2_LOCALIZER``.

The chain, in the native snippet units of the test video (T rows, no resampling, no up-sampling):

1. E = cas * attn, (T, C + 1), the raw logits times the attention;
2. video score p (C,) float32 = softmax over the C + 1 columns of the mean of the top-k rows of E,
   k = max(1, T // 10), background dropped; computed with the original's torch calls
   (``topk``, ``mean``, ``softmax``) so that it is the original's to the bit (on the CPU);
3. classes: p >= 0.2 (compared in float32, as both numpy 1.x and 2.x do), in increasing order,
   else the argmax alone; the background can never be chosen;
4. thresholds linspace(0.1, 0.9, 10) on the attention (channel 0), strict ``>``, one mask for
   every class;
5. each run of consecutive indices (single points included) is a proposal [s, e + 1) of every
   selected class, scored inner - outer + 0.2 * p_c on E's class column (outer: the 0.25 * L
   margins, ``int`` truncation, mean 0 when empty), pooled per class over the thresholds;
6. Gaussian soft-NMS per class (sigma 0.3, lengths and overlaps with "+1", first max after the
   swap with row 0, every proposal kept, only re-scored);
7. rows [start, end, score, class], then the Ambiguous filter (a row sharing one snippet index
   with an Ambiguous segment of the same video is dropped), then seconds = snippet * 16 / 25.

Quirks kept and named (spec sec. 9; each a parameter, its default the original's):

- Q7 ``cls_score_topk_quirk``: the classification score is the softmax of the per-column maximum
  over time of the raw CAS (k = ceil(len(x) / 8) with len(x) = 1, the batch dimension); False
  uses the intended k = ceil(T / 8);
- Q8 ``idx_any_quirk``: ``idx.any()`` tests index values, so a threshold whose only position is
  snippet 0 gives no proposal; False keeps it;
- Q9 ``ambiguous_filter``: the filter is post-processing, before any matching, for every class,
  would-be true positives included. The segments come from ``eval.wtalc.read_ambiguous`` (the
  same file the original reads from its working directory); a missing file is an error here,
  not a silently disabled filter;
- Q19 ``numpy1_arithmetic``: the authors ran numpy 1.18 (sec. 6.3). True (default): the attention
  is compared with float32(theta) and the score is float64(float32(inner - outer)) +
  0.2 * float64(p). False: the unmodified code under numpy >= 2 (theta in float64, the whole score
  in float32). Differences are ~1e-8 relative and a few boundary snippets;
- ``iou_thr`` 0.7 of the soft-NMS call is unused in Gaussian mode, as in the original.

Everything is a pure function of numpy arrays; the window means are float32 ``np.mean`` to the
bit (``np.add.reduceat`` behind a -0.0, see :func:`window_means_f32`). The literal port, the test
oracle, is ``tests/reference/original_co2_proposals.py``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eval.proposals import Detection, find_runs
from eval.wtalc import (AMBIGUOUS_FILE, ANNOTATIONS_FOLDER, ambiguous_ranges, read_ambiguous,
                        touches_ambiguous)
from methods.co2net.model import CO2Output
from methods.record import Localizer

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AMBIGUOUS = REPO_ROOT / "data" / "THUMOS14" / ANNOTATIONS_FOLDER / AMBIGUOUS_FILE
"""The Ambiguous file shipped with the repository: the W-TALC ``Ambiguous_test.txt`` that both
official repositories commit at their root and read from the working directory."""

ROW_COLUMNS = ("start", "end", "score", "class")
"""The columns of :func:`co2_rows`' table, the original's ``segment_predict`` (snippet units)."""


@dataclass(frozen=True)
class CO2InferenceParams:
    """Post-processing settings (the values of ``methods.co2net.settings.CO2_THUMOS``).

    cls_threshold: classes with p >= it (float32 comparison), else the argmax;
    video_topk_divisor: k = max(1, T // it) rows of E for the video score;
    att_thresholds: the attention thresholds (Python floats: linspace(0.1, 0.9, 10)'s float64
        values), in order;
    oic_lambda / oic_gamma: outer margin ratio (0.25) and weight of p_c (``--gamma-oic`` 0.2);
    soft_nms_sigma: the Gaussian decay exp(-IoU^2 / sigma) (0.3);
    cls_score_topk_quirk, idx_any_quirk, numpy1_arithmetic, ambiguous_filter: see the module
        docstring (Q7, Q8, Q19, Q9);
    ambiguous_videos / ambiguous_ranges: the Ambiguous segments as the filter reads them (video
        names and snippet ranges [round(a*25/16), round(b*25/16)), half to even), used when
        ``ambiguous_filter`` is on;
    frames_per_sec / segment_frames_num: seconds = snippet * segment_frames_num / frames_per_sec.
    """

    cls_threshold: float = 0.2
    video_topk_divisor: int = 10
    att_thresholds: tuple[float, ...] = tuple(np.linspace(0.1, 0.9, 10).tolist())
    oic_lambda: float = 0.25
    oic_gamma: float = 0.2
    soft_nms_sigma: float = 0.3
    cls_score_topk_quirk: bool = True
    idx_any_quirk: bool = True
    numpy1_arithmetic: bool = True
    ambiguous_filter: bool = True
    ambiguous_videos: tuple[str, ...] = ()
    ambiguous_ranges: tuple[tuple[int, int], ...] = ()
    frames_per_sec: int = 25
    segment_frames_num: int = 16

    def __post_init__(self) -> None:
        if not self.soft_nms_sigma > 0:
            raise ValueError(f"soft_nms_sigma must be > 0, got {self.soft_nms_sigma}")
        if not self.video_topk_divisor > 0:
            raise ValueError(f"video_topk_divisor must be > 0, got {self.video_topk_divisor}")
        if len(self.ambiguous_videos) != len(self.ambiguous_ranges):
            raise ValueError("ambiguous_videos and ambiguous_ranges differ in length")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "CO2InferenceParams":
        """Build from a CO2 config dict (``CO2_THUMOS`` or a run's post-processing settings).

        The Ambiguous file (read only when ``ambiguous_filter`` is on): ``cfg["ambiguous_file"]``
        when set, else ``<cfg["wtalc_annotations"]>/Ambiguous_test.txt`` when that key is set,
        else the repository's copy (:data:`DEFAULT_AMBIGUOUS`); a missing file is a
        FileNotFoundError. Keys the settings do not hold yet take the original's values
        (``numpy1_arithmetic`` True, ``frames_per_sec`` 25, ``segment_frames_num`` 16).
        """
        flt = bool(cfg.get("ambiguous_filter", True))
        videos: tuple[str, ...] = ()
        ranges: tuple[tuple[int, int], ...] = ()
        if flt:
            videos, ranges = load_ambiguous(ambiguous_path(cfg), int(cfg.get("frames_per_sec", 25)),
                                            int(cfg.get("segment_frames_num", 16)))
        return cls(cls_threshold=float(cfg["cls_threshold"]),
                   video_topk_divisor=int(cfg["video_topk_divisor"]),
                   att_thresholds=tuple(float(t) for t in cfg["att_thresholds"]),
                   oic_lambda=float(cfg["oic_lambda"]), oic_gamma=float(cfg["oic_gamma"]),
                   soft_nms_sigma=float(cfg["soft_nms_sigma"]),
                   cls_score_topk_quirk=bool(cfg["cls_score_topk_quirk"]),
                   idx_any_quirk=bool(cfg["idx_any_quirk"]),
                   numpy1_arithmetic=bool(cfg.get("numpy1_arithmetic", True)),
                   ambiguous_filter=flt, ambiguous_videos=videos, ambiguous_ranges=ranges,
                   frames_per_sec=int(cfg.get("frames_per_sec", 25)),
                   segment_frames_num=int(cfg.get("segment_frames_num", 16)))


def ambiguous_path(cfg: Mapping[str, Any]) -> Path:
    """The Ambiguous file a config names (see :meth:`CO2InferenceParams.from_config`)."""
    if cfg.get("ambiguous_file"):
        return Path(cfg["ambiguous_file"])
    if cfg.get("wtalc_annotations"):
        return Path(cfg["wtalc_annotations"]) / AMBIGUOUS_FILE
    return DEFAULT_AMBIGUOUS


def load_ambiguous(path: str | os.PathLike, fps: int = 25, snippet_frames: int = 16
                   ) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """The Ambiguous segments of ``path`` (``eval.wtalc.read_ambiguous``) as the filter reads them:
    video names and snippet index ranges [round(a * 25/16), round(b * 25/16)), half to even."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Ambiguous file not found (the CO2-Net post-processing "
                                "filter reads it; set ambiguous_file, or ambiguous_filter off)")
    videos, seconds = read_ambiguous(path)
    ranges = ambiguous_ranges(seconds, fps, snippet_frames)
    return tuple(videos), tuple((int(a), int(b)) for a, b in ranges)


# ---------------------------------------------------------------------------------------------
# Scores of the whole video
# ---------------------------------------------------------------------------------------------

def attended_cas(cas: np.ndarray, attn: np.ndarray) -> np.ndarray:
    """E = cas * attn: cas (T, C + 1) raw logits, attn (T,) or (T, 1) -> (T, C + 1) float32."""
    cas = np.asarray(cas, dtype=np.float32)
    return cas * np.asarray(attn, dtype=np.float32).reshape(-1, 1)


@torch.no_grad()
def co2_video_scores(element: np.ndarray, divisor: int = 10) -> np.ndarray:
    """The proposal function's video score (``get_cls_score(E, rat=10)``): softmax over the C + 1
    columns of the mean of the top max(1, T // divisor) values of each column of E (T, C + 1),
    background dropped -> (C,) float32. The original's torch calls (topk, mean, softmax) on the
    CPU."""
    x = torch.from_numpy(np.ascontiguousarray(element, dtype=np.float32))
    k = max(1, int(x.shape[0] // divisor))
    top = torch.topk(x, k=k, dim=0)[0]
    return torch.softmax(torch.mean(top, dim=0), dim=-1)[:-1].numpy()


@torch.no_grad()
def co2_classification_scores(cas: np.ndarray, topk_quirk: bool = True) -> np.ndarray:
    """The test loop's classification score of one video (``C:test.py:63``, spec 7.5): softmax
    over the C + 1 columns of the mean of the top-k raw CAS values (no attention) over time,
    cas (T, C + 1) -> (C + 1,) float32; the classification mAP reads the first C columns.

    topk_quirk (Q7, the original): k = ceil(len(features) / 8) with features (1, T, D), so k = 1:
    the per-column maximum. False: the intended k = ceil(T / 8).
    """
    x = torch.from_numpy(np.ascontiguousarray(cas, dtype=np.float32))
    k = 1 if topk_quirk else int(math.ceil(x.shape[0] / 8))
    return torch.softmax(torch.mean(torch.topk(x, k=k, dim=0)[0], dim=0), dim=0).numpy()


def co2_select_classes(video_scores: np.ndarray, threshold: float) -> np.ndarray:
    """The classes localized: p >= threshold compared in float32 (numpy 1.x and 2.x both do), in
    increasing order; the argmax alone when none passes. video_scores (C,) -> int64 indices."""
    p = np.asarray(video_scores, dtype=np.float32)
    chosen = np.flatnonzero(p >= np.float32(threshold))
    return chosen if chosen.size else np.array([int(np.argmax(p))], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Proposals
# ---------------------------------------------------------------------------------------------

def attention_masks(attn: np.ndarray, thresholds: tuple[float, ...], numpy1: bool = True
                    ) -> np.ndarray:
    """(len(thresholds), T) bool: attn > theta, strict. numpy1: compared in float32 with
    float32(theta) (numpy 1.x's value-based casting); else in float64 (numpy >= 2)."""
    a = np.asarray(attn, dtype=np.float32).reshape(-1)
    dtype = np.float32 if numpy1 else np.float64
    thr = np.asarray(thresholds, dtype=np.float64).astype(dtype)[:, None]
    return a.astype(dtype)[None, :] > thr


def window_means_f32(seq: np.ndarray, row: np.ndarray, start_a: np.ndarray, len_a: np.ndarray,
                     start_b: np.ndarray, len_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``np.mean`` of windows, to the bit, and whether each window is empty.

    seq (R, N) float32; window m = seq[row, start_a : start_a + len_a] followed by
    seq[row, start_b : start_b + len_b]. ``np.mean`` of a float32 vector x of length n is
    float32(x[0] + pairwise(x[1:]) / n); ``np.add.reduceat`` of -0.0 followed by x gives -0.0 +
    pairwise(x), the same sum (the float32 pairwise sum, checked in the tests against np.mean).
    Returns (M,) float32 means (0 for an empty window) and (M,) bool empty.
    """
    seq = np.ascontiguousarray(seq, dtype=np.float32)
    total = len_a + len_b
    empty = total == 0
    means = np.zeros(len(row), dtype=np.float32)
    if not len(row):
        return means, empty
    width = seq.shape[1]
    flat = np.concatenate([seq.reshape(-1), np.array([-0.0], dtype=np.float32)])
    base = np.stack([np.full(len(row), flat.size - 1), row * width + start_a,
                     row * width + start_b], axis=1).ravel()
    size = np.stack([np.ones_like(len_a), len_a, len_b], axis=1).ravel()
    end = np.cumsum(size)
    begin = end - size
    index = np.repeat(base - begin, size) + np.arange(end[-1])
    sums = np.add.reduceat(flat[index], begin[0::3])
    # float32 / int: numpy computes in float64 and rounds to float32, which equals the float32
    # quotient (double rounding is innocuous for a division, 53 >= 2 * 24 + 2)
    np.divide(sums, np.maximum(total, 1), out=means, where=~empty, casting="unsafe")
    return means, empty


def co2_proposals(element_fg: np.ndarray, attn: np.ndarray, classes: np.ndarray,
                  video_scores: np.ndarray, params: CO2InferenceParams
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every proposal of one video, pooled per class in the original's order: class (in
    ``classes`` order), then threshold, then run.

    element_fg (T, C) = E without its background column; attn (T,); classes (P,) selected class
    indices; video_scores p (C,) float32. One class-agnostic mask per threshold; a threshold whose
    mask is empty, or (``idx_any_quirk``) is exactly {0}, gives nothing. Each run s..e of length
    L is scored on E[:, c]: inner = mean over s..e, outer = mean over
    [max(0, int(s - lam L)), s) + (e, min(T - 1, int(e + lam L))] (0 when empty), score with the
    numpy 1.x or 2.x arithmetic (``numpy1_arithmetic``). Returns class (M,) int64, score (M,)
    float64, start (M,) int64 (= s), end (M,) int64 (= e + 1, exclusive).
    """
    element_fg = np.asarray(element_fg, dtype=np.float32)
    num = element_fg.shape[0]
    masks = attention_masks(attn, params.att_thresholds, params.numpy1_arithmetic)
    count = masks.sum(axis=1)
    dead = count == 0
    if params.idx_any_quirk:
        dead |= (count == 1) & masks[:, 0]
    masks = masks & ~dead[:, None]
    _, first, last = find_runs(masks)                       # threshold order, then run order
    runs, nclass = len(first), len(classes)
    length = last - first + 1
    outer_s = np.maximum(0, (first - params.oic_lambda * length).astype(np.int64))
    outer_e = np.minimum(num - 1, (last + params.oic_lambda * length).astype(np.int64))
    seq = np.ascontiguousarray(element_fg[:, classes].T)     # (P, T)
    row = np.repeat(np.arange(nclass), runs)                 # class-major: the pooling order
    tile = lambda x: np.tile(x, nclass)                      # noqa: E731
    zeros = np.zeros(runs * nclass, dtype=np.int64)
    inner, _ = window_means_f32(seq, row, tile(first), tile(length), zeros, zeros)
    outer, _ = window_means_f32(seq, row, tile(outer_s), tile(first - outer_s), tile(last + 1),
                                tile(np.maximum(0, outer_e - last)))
    p = np.asarray(video_scores, dtype=np.float32)[classes][row]
    diff = inner - outer                                     # float32, as the original's scalars
    if params.numpy1_arithmetic:
        score = diff.astype(np.float64) + params.oic_gamma * p.astype(np.float64)
    else:
        score = (diff + np.float32(params.oic_gamma) * p).astype(np.float64)
    return (np.asarray(classes, dtype=np.int64)[row], score, tile(first), tile(last + 1))


def gaussian_soft_nms(start: np.ndarray, end: np.ndarray, score: np.ndarray, sigma: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The original's Gaussian soft-NMS on one class (``soft_nms(dets, 0.7, sigma=0.3)``).

    Lengths end - start + 1 and overlaps max(min(end) - max(start) + 1, 0) in float64. Each round
    picks the first maximum of the current scores among the remaining proposals, swaps it with
    the first remaining one (this swap sets later first-on-tie choices), outputs it, multiplies
    every other remaining score by exp(-IoU^2 / sigma) and drops it. Nothing is dropped by score.
    Returns (index (N,) int64 in output order, score (N,) float64 at output).
    """
    x1 = np.asarray(start, dtype=np.float64)
    x2 = np.asarray(end, dtype=np.float64)
    area = x2 - x1 + 1
    perm = np.arange(len(x1))
    cur = np.asarray(score, dtype=np.float64).copy()
    out_score = np.empty(len(x1))
    for k in range(len(x1)):
        m = k + int(np.argmax(cur[k:]))
        perm[[k, m]] = perm[[m, k]]
        cur[[k, m]] = cur[[m, k]]
        out_score[k] = cur[k]
        head, rest = perm[k], perm[k + 1:]
        if not rest.size:
            break
        inter = np.maximum(np.minimum(x2[head], x2[rest]) - np.maximum(x1[head], x1[rest]) + 1,
                           0.0)
        iou = inter / (area[head] + area[rest] - inter)
        cur[k + 1:] *= np.exp(-(iou * iou) / sigma)
    return perm, out_score


def co2_rows(cas: np.ndarray, attn: np.ndarray, video_id: str, params: CO2InferenceParams,
             video_scores: np.ndarray | None = None) -> np.ndarray:
    """The original's ``segment_predict`` of one video: (N, 4) float64 rows [start, end, score,
    class] in snippet units (end exclusive), classes in selection order, each class in soft-NMS
    output order, after the Ambiguous filter when ``params.ambiguous_filter``.

    cas (T, C + 1) raw logits (``CO2Output.cas[0]``), attn (T,) or (T, 1) (``CO2Output.attn[0]``);
    video_id: the name the Ambiguous file uses; video_scores: p when already computed.
    """
    element = attended_cas(cas, attn)
    p = co2_video_scores(element, params.video_topk_divisor) if video_scores is None \
        else np.asarray(video_scores, dtype=np.float32)
    classes = co2_select_classes(p, params.cls_threshold)
    cls, score, first, stop = co2_proposals(element[:, :-1], attn, classes, p, params)
    parts = []
    for c in classes:
        idx = np.flatnonzero(cls == c)
        if not idx.size:
            continue
        order, kept = gaussian_soft_nms(first[idx], stop[idx], score[idx], params.soft_nms_sigma)
        pick = idx[order]
        parts.append(np.stack([first[pick], stop[pick], kept, cls[pick]], axis=1)
                     .astype(np.float64))
    rows = np.concatenate(parts) if parts else np.zeros((0, 4))
    if params.ambiguous_filter and params.ambiguous_videos and len(rows):
        drop = touches_ambiguous([video_id] * len(rows), rows[:, :2],
                                 params.ambiguous_videos,
                                 np.asarray(params.ambiguous_ranges, dtype=np.int64).reshape(-1, 2))
        rows = rows[~drop]
    return rows


def rows_to_detections(rows: np.ndarray, params: CO2InferenceParams) -> list[Detection]:
    """Rows [start, end, score, class] in snippets -> detections (class, score, start s, end s),
    seconds = snippet * segment_frames_num / frames_per_sec (16 / 25: 0.64 s per snippet), the
    W-TALC convention's snippet (``eval.wtalc.detections_to_snippets`` gives the index back)."""
    factor_n, factor_d = params.segment_frames_num, params.frames_per_sec
    return [(int(c), float(s), float(a * factor_n / factor_d), float(b * factor_n / factor_d))
            for a, b, s, c in rows.tolist()]


def co2_localize(cas: np.ndarray, attn: np.ndarray, video_id: str,
                 params: CO2InferenceParams) -> list[Detection]:
    """Detections of one video in the original's order (see :func:`co2_rows`), times in seconds."""
    return rows_to_detections(co2_rows(cas, attn, video_id, params), params)


# ---------------------------------------------------------------------------------------------
# The localizer record
# ---------------------------------------------------------------------------------------------

def co2_video_correct(cas: torch.Tensor, attn: torch.Tensor, labels: torch.Tensor,
                      threshold: float, divisor: int = 10) -> torch.Tensor:
    """(B,) bool: the classes the proposal function localizes (p >= ``threshold``, else the
    argmax; p from E = cas * attn, top max(1, T // divisor) mean, softmax, background dropped)
    are exactly the labelled ones.

    The original prints no video accuracy (its test loop prints the classification mAP only), so
    this is the project's rule, built on the original's class selection (``multiple_threshold_
    hamnet``, spec 6.2 steps 2-3). cas (B, T, C + 1), attn (B, T, 1), labels (B, C) multi-hot.
    """
    element = cas * attn
    k = max(1, int(element.shape[1] // divisor))
    p = torch.softmax(torch.mean(torch.topk(element, k=k, dim=1)[0], dim=1), dim=-1)[:, :-1]
    pred = p >= threshold
    none = ~pred.any(dim=1)
    pred[none, p.argmax(dim=1)[none]] = True
    return (pred == (labels > 0)).all(dim=1)


def _correct(out: CO2Output, labels: torch.Tensor, threshold: float,
             params: CO2InferenceParams) -> torch.Tensor:
    return co2_video_correct(out.cas, out.attn, labels, threshold, params.video_topk_divisor)


def _params(settings: Any) -> CO2InferenceParams:
    return CO2InferenceParams.from_config(vars(settings))


def localize(out: CO2Output, batch: Mapping[str, Any], params: CO2InferenceParams
             ) -> tuple[list[Detection], dict[str, np.ndarray]]:
    """One test video (batch of 1, every snippet of the video, no resampling) -> (detections,
    arrays of ``outputs.npz``).

    Arrays: ``att`` (T, 3) = [attn, v_atn, f_atn]; ``cas`` (T, C) = E = cas * attn without the
    background, the sequence the proposals are scored on; ``video_scores`` (C,) = the test loop's
    classification score (Q7), the first C of its C + 1 softmax columns, which the classification
    mAP reads (the proposal function's own video score p is recomputed from E).
    A batch whose ``length`` differs from T (a resampled test video) is an error: the original
    works in the native snippet units.
    """
    cas = out.cas[0].detach().cpu().numpy()
    attn = out.attn[0, :, 0].detach().cpu().numpy()
    if "length" in batch and int(batch["length"][0]) != cas.shape[0]:
        raise ValueError(f"CO2-Net localizes at the video's native length: got {cas.shape[0]} "
                         f"rows for {int(batch['length'][0])} snippets (use the full-length "
                         "test sampler)")
    video_id = str(batch["video_id"][0])
    detections = co2_localize(cas, attn, video_id, params)
    element = attended_cas(cas, attn)
    att = torch.stack([out.attn[0, :, 0], out.v_atn[0, :, 0], out.f_atn[0, :, 0]], dim=-1)
    cls_scores = co2_classification_scores(cas, params.cls_score_topk_quirk)
    return detections, {"att": att.detach().cpu().numpy(), "cas": element[:, :-1],
                        "video_scores": cls_scores[:-1]}


CO2_LOCALIZER = Localizer(params=_params, localize=localize, correct=_correct)
"""CO2-Net's post-processing, the localizer of the ``co2net`` and ``stcl`` records. No ``saved``
entry: the proposal classes come from p, which needs every column of E, while
``outputs.npz`` keeps only some CAS columns, so a saved file cannot be re-localized."""

__all__ = ["CO2InferenceParams", "CO2_LOCALIZER", "DEFAULT_AMBIGUOUS", "ROW_COLUMNS",
           "ambiguous_path", "attended_cas", "attention_masks", "co2_classification_scores",
           "co2_localize", "co2_proposals", "co2_rows", "co2_select_classes",
           "co2_video_correct", "co2_video_scores", "gaussian_soft_nms", "load_ambiguous",
           "localize", "rows_to_detections", "window_means_f32"]
