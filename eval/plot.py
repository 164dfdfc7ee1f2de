"""Figures of what a model sees and scores: per-video outputs, per-class AP and PR, run comparisons
and training curves. Headless (figures are built without pyplot, so no display is needed); each
``*_figure`` function returns a ``matplotlib.figure.Figure`` and saves nothing (the CLI saves;
:func:`figure_pixels` renders one for wandb).

CLI: ``python -m eval.plot {video,classes,runs,curves} ...`` (``--help`` on each); PNG files, and
PDF too with ``--pdf``, written atomically into ``--out`` (default ``plots/``).
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from eval.inputs import read_split
from eval.detection import evaluate_detection
from eval.inputs import database_labels, load_json, match_id, read_database, resolve_subset
from eval.outputs import ATT_CHANNELS, Outputs, VideoOutputs, check_videos, load_outputs
from eval.pr import PrecisionRecall, precision_recall
from eval.proposals import select_classes
from eval.report import NAMED_RANGES, parse_tiou
from eval.results import load_results
from utils.io import atomic_write

GtSegment = tuple[str, float, float]
"""One ground-truth instance: (class name, start s, end s)."""
PlotDetection = tuple[str, float, float, float]
"""One detection: (class name, score, start s, end s)."""

# Per-video AP: the checkpoint-selection range of each dataset (THUMOS'14 papers: 0.1:0.7;
# ActivityNet: 0.5:0.95); other datasets use the THUMOS one.
VIDEO_AP_RANGE = {"ActivityNet": "0.5:0.95"}
DEFAULT_VIDEO_AP_RANGE = "0.1:0.7"
MAX_DETECTIONS = 50
PR_CLASSES = 20
ATT_STYLE = {"instance": ("black", "-", 1.4), "context": ("#b8860b", "--", 1.0),
             "background": ("#7a7aa8", ":", 1.2)}


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------

def assign_lanes(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Greedy interval partitioning: (N,) lane index per interval such that intervals of one
    lane do not overlap (touching ends are allowed); as few lanes as the largest overlap."""
    starts, ends = np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)
    lanes = np.zeros(len(starts), dtype=np.int64)
    lane_end: list[float] = []
    for i in np.argsort(starts, kind="stable").tolist():
        free = [k for k, end in enumerate(lane_end) if end <= starts[i]]
        if free:
            lanes[i] = free[0]
            lane_end[free[0]] = ends[i]
        else:
            lanes[i] = len(lane_end)
            lane_end.append(ends[i])
    return lanes


def tiou_spec(spec: str) -> tuple[np.ndarray, str]:
    """"0.5" -> one threshold; "0.3,0.5,0.7", "first:last:step" or a named range ("0.1:0.7") ->
    its thresholds (``eval.report.parse_tiou``). Returns (thresholds, the text for titles)."""
    if spec in NAMED_RANGES:
        first, last, step = NAMED_RANGES[spec]
        return parse_tiou(f"{first}:{last}:{step}"), f"mean over tIoU {spec}"
    values = parse_tiou(spec)
    if len(values) == 1:
        return values, f"tIoU {values[0]:g}"
    if ":" in spec:
        return values, f"mean over tIoU {values[0]:g}:{values[-1]:g}"
    return values, "mean over tIoU " + ",".join(f"{v:g}" for v in values)


def _gt_entry(db: Mapping[str, Any], video_id: str) -> tuple[str, Mapping[str, Any]]:
    index = {v: i for i, v in enumerate(db)}
    i = match_id(video_id, index)
    if i < 0:
        raise KeyError(video_id)
    key = list(db)[i]
    return key, db[key]


def gt_segments(db: Mapping[str, Any], video_id: str) -> list[GtSegment]:
    """The ground-truth instances of one video of a gt "database" mapping, in file order."""
    _, entry = _gt_entry(db, video_id)
    return [(str(a["label"]), float(a["segment"][0]), float(a["segment"][1]))
            for a in entry.get("annotations", [])]


def video_detections(results: Mapping[str, Any], video_id: str) -> list[PlotDetection]:
    """The detections of one video of a results dict (none when the video is absent)."""
    entries = results["results"]
    index = {v: i for i, v in enumerate(entries)}
    i = match_id(video_id, index)
    if i < 0:
        return []
    return [(e["label"], float(e["score"]), float(e["segment"][0]), float(e["segment"][1]))
            for e in entries[list(entries)[i]]]


def video_ap(db: Mapping[str, Any], results: Mapping[str, Any], video_id: str, subset: str,
             tiou: Sequence[float], class_names: Sequence[str] | None = None) -> float:
    """AP of one video: ``evaluate_detection`` on that video alone (its ground truth and its
    detections), averaged over ``tiou``; the mean over the classes of the video's ground truth,
    so detections of other classes do not count. NaN when the video has no ground truth."""
    key, entry = _gt_entry(db, video_id)
    if not entry.get("annotations"):
        return math.nan
    mine = {"results": {key: [
        {"label": label, "score": score, "segment": [start, end]}
        for label, score, start, end in video_detections(results, video_id)]}}
    if class_names is None:  # every label of the gt file is known
        class_names = sorted(database_labels(db))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # detections of classes absent from this video
        result = evaluate_detection({"database": {key: entry}}, mine, subset, tiou, class_names)
    return float(np.mean(result.mAP))


def shortest_labels(paths: Sequence[str | Path]) -> list[str]:
    """Legend labels for files: their folders without the leading folders they all share
    (``runs/T/acm/epoch_010/metrics.json``, ``runs/T/ftcl/epoch_004/metrics.json`` ->
    ``acm/epoch_010``, ``ftcl/epoch_004``); one file gets its folder's name."""
    parts = [Path(p).resolve().parent.parts for p in paths]
    if len(parts) == 1:
        return [parts[0][-1] if parts[0] else str(paths[0])]
    common = 0
    while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    labels = ["/".join(p[common:]) for p in parts]
    return labels if len(set(labels)) == len(labels) and all(labels) else [str(p) for p in paths]


def read_metrics_json(path: str | Path) -> dict[str, Any]:
    """A ``metrics.json`` (schema of ``python -m eval.detection --json``); a folder means the
    ``metrics.json`` inside it. ValueError "<path>: ..." when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such metrics file")
    obj = load_json(path)
    ok = (isinstance(obj, dict) and isinstance(obj.get("tiou"), list)
          and isinstance(obj.get("mAP"), list) and len(obj["tiou"]) == len(obj["mAP"]) > 0
          and all(isinstance(x, (int, float)) for x in obj["tiou"] + obj["mAP"]))
    if not ok:
        raise ValueError(f"{path}: not a metrics.json (expected 'tiou' and 'mAP' lists of "
                         "equal length)")
    return obj


def read_metrics_csv(path: str | Path) -> dict[str, np.ndarray]:
    """A run's ``metrics.csv`` as columns of float64 (blank cells, e.g. untested epochs, are
    NaN). ValueError "<path>: ..." when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such metrics file")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames or []
    if "epoch" not in fields or not rows:
        raise ValueError(f"{path}: not a metrics.csv (expected an 'epoch' column and rows)")
    table = {}
    for name in fields:
        try:
            table[name] = np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan
                                    for r in rows])
        except ValueError:
            raise ValueError(f"{path}: column {name!r} holds a non-number") from None
    return table


def pick_average(averages: Iterable[str], wanted: str | None = None) -> str:
    """The average to report: ``wanted`` when present, else the first present of the datasets'
    selection ranges (0.1:0.7, 0.5:0.95), else the first one."""
    averages = list(averages)
    for name in ([wanted] if wanted else []) + [DEFAULT_VIDEO_AP_RANGE,
                                               *VIDEO_AP_RANGE.values()]:
        if name in averages:
            return name
    if wanted:
        raise ValueError(f"average {wanted!r} not available (have {averages})")
    return averages[0]


def class_color(c: int, num_classes: int) -> tuple[float, ...]:
    """A colour per class: 20 distinct colours (the dark tab20 shades without grey, then darker
    and lighter tab20b shades) for up to 20 classes; a continuous map beyond."""
    if num_classes <= 20:
        tab20, tab20b = colormaps["tab20"], colormaps["tab20b"]
        palette = ([tab20(i) for i in (0, 2, 4, 6, 8, 10, 12, 16, 18)]
                   + [tab20b(i) for i in (0, 4, 8, 12, 16, 2, 6, 10, 14, 18)]
                   + [tab20(13)])
        return palette[c]
    return colormaps["turbo"](c / max(1, num_classes - 1))


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def _label_width(labels: Iterable[str], fontsize: float) -> float:
    """Approximate width in inches of the longest label (0.6 em per character)."""
    return 0.6 * fontsize / 72 * max((len(s) for s in labels), default=0)


def video_figure(video: VideoOutputs, meta: Mapping[str, Any], gt: Sequence[GtSegment],
                 detections: Sequence[PlotDetection], ap: float | None = None,
                 ap_label: str = "", max_detections: int | None = MAX_DETECTIONS) -> Figure:
    """One video: attention, CAS of the saved classes, thresholds, ground truth and detections.

    Axes (shared x = time in seconds, 0..duration): the three attention channels with the
    attention thresholds; the instance CAS of each saved class with the CAS thresholds (legend:
    video score, whether the localizer selects it, whether it is a gt class); then one row of
    ground-truth bars and one of detection bars per class (overlapping bars staggered into
    lanes; detection shade = score, with a colour bar). Title: the video id and ``ap`` (a
    fraction, NaN: no ground truth, None: not shown) with ``ap_label`` saying how it was
    averaged. ``max_detections`` keeps the highest scores (None: all). Collections carry gids "att:<channel>", "cas:<class>", "gt:<class>",
    "det:<class>", "att_thresholds", "cas_thresholds".
    """
    names = list(meta["class_names"])
    num_classes = len(names)
    index = {n: c for c, n in enumerate(names)}
    fps, frames = int(meta["frames_per_sec"]), int(meta["segment_frames_num"])
    times = video.snippet_times(fps, frames)
    shown = sorted(detections, key=lambda d: -d[1])
    if max_detections is not None:
        shown = shown[:max_detections]
    row_classes = sorted({index[g[0]] for g in gt} | {index[d[0]] for d in shown})
    rows = [(c, kind) for c in row_classes for kind in ("gt", "det")]
    row_labels = [f"{names[c]} {kind}" for c, kind in rows]
    fontsize = 9
    seg_height = 0.6 + 0.32 * max(len(rows), 1)
    width = 14.0
    left = (_label_width(row_labels + ["instance CAS"], fontsize) + 0.55) / width
    height = 5.6 + seg_height
    fig = Figure(figsize=(width, height))
    grid = fig.add_gridspec(3, 1, height_ratios=[2.2, 2.2, seg_height], hspace=0.12,
                            left=left, right=0.76, top=1 - 0.8 / height, bottom=0.6 / height)
    ax_att = fig.add_subplot(grid[0])
    ax_cas = fig.add_subplot(grid[1], sharex=ax_att)
    ax_seg = fig.add_subplot(grid[2], sharex=ax_att)

    for k, channel in enumerate(ATT_CHANNELS):
        color, style, lw = ATT_STYLE[channel]
        ax_att.plot(times, video.att[:, k], color=color, ls=style, lw=lw,
                    label=f"{channel} attention", gid=f"att:{channel}")
    _threshold_lines(ax_att, meta["att_thresholds"], video.duration, "att_thresholds",
                     "instance-attention thresholds")
    ax_att.set_ylabel("attention")

    threshold = float(meta["cls_threshold"])
    selected = set(select_classes(video.video_scores, threshold).tolist())
    fallback = not np.any(video.video_scores > threshold)
    gt_set = set(video.gt_classes.tolist())
    for k, c in enumerate(video.classes.tolist()):
        notes = [f"video score {video.video_scores[c]:.2f}"]
        if c in selected:
            notes.append("selected (argmax: none above)" if fallback else "selected")
        notes += ["gt"] if c in gt_set else []
        ax_cas.plot(times, video.cas[:, k], color=class_color(c, num_classes), lw=1.2,
                    label=f"{names[c]} ({', '.join(notes)})", gid=f"cas:{names[c]}")
    _threshold_lines(ax_cas, meta["cas_thresholds"], video.duration, "cas_thresholds",
                     "CAS thresholds")
    ax_cas.set_ylabel("instance CAS")
    for ax, title in ((ax_att, "attention [instance, context, background]"),
                      (ax_cas, f"CAS of the selected (video score > {meta['cls_threshold']:g}) "
                               "and gt classes")):
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                  title=title, title_fontsize=8, alignment="left")
        ax.tick_params(labelbottom=False)
        ax.grid(alpha=0.25)

    scores = np.array([d[1] for d in shown])
    lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    norm = Normalize(lo, hi) if hi > lo else Normalize(lo - 0.5, lo + 0.5)
    cmap = colormaps["viridis_r"]
    for r, (c, kind) in enumerate(rows):
        if kind == "gt":
            bars = [(s, e, None) for n, s, e in gt if index[n] == c]
        else:
            bars = [(s, e, sc) for n, sc, s, e in shown if index[n] == c]
        if not bars:
            continue
        starts, ends = np.array([b[0] for b in bars]), np.array([b[1] for b in bars])
        lanes = assign_lanes(starts, ends)
        lane_h = 0.8 / (lanes.max() + 1)
        colors = ([class_color(c, num_classes)] * len(bars) if kind == "gt"
                  else [cmap(norm(b[2])) for b in bars])
        for lane in range(lanes.max() + 1):
            mine = np.flatnonzero(lanes == lane)
            ax_seg.broken_barh([(starts[i], ends[i] - starts[i]) for i in mine],
                               (r - 0.4 + lane * lane_h, lane_h * 0.92),
                               facecolors=[colors[i] for i in mine], edgecolor="none",
                               gid=f"{kind}:{names[c]}")
    for r in range(0, len(rows), 2):
        ax_seg.axhspan(r - 0.5, r + 1.5, color="0.94" if r % 4 == 0 else "white", zorder=-1)
    ax_seg.set_yticks(range(len(rows)), row_labels, fontsize=fontsize)
    ax_seg.set_ylim(max(len(rows), 1) - 0.5, -0.5)
    ax_seg.set_xlim(0, video.duration)
    ax_seg.set_xlabel("time (s)")
    ax_seg.grid(axis="x", alpha=0.25)
    cax = ax_seg.inset_axes([1.01, 0.0, 0.012, 1.0])
    fig.colorbar(ScalarMappable(norm, cmap), cax=cax, label="detection score")

    title = video.video_id
    if ap is not None:
        title += ": no ground truth" if math.isnan(ap) else f": AP {100 * ap:.1f}% ({ap_label})"
    fig.suptitle(title, fontsize=12, x=left, ha="left",
                 va="top", y=1 - 0.1 / height)
    run = ", ".join(s for s in (
        f"{meta.get('dataset')}",
        f"epoch {meta['epoch']}" if meta.get("epoch") is not None else "",
        f"checkpoint {meta['checkpoint']}" if meta.get("checkpoint") else "") if s)
    fig.text(left, 1 - 0.42 / height, f"{run}; {video.duration:.1f} s, {len(gt)} gt instances, "
             f"{len(shown)} of {len(detections)} detections shown (highest scores)",
             fontsize=9, ha="left", va="top", color="0.3")
    return fig


def _threshold_lines(ax: Any, thresholds: Sequence[float], duration: float, gid: str,
                     what: str) -> None:
    thresholds = list(thresholds)
    if not thresholds:
        return
    span = (f"{thresholds[0]:g}" if len(thresholds) == 1 else
            f"{len(thresholds)}: {min(thresholds):.2f}..{max(thresholds):.2f}")
    ax.hlines(thresholds, 0, duration, colors="0.45", linestyles=(0, (2, 3)), lw=0.6, alpha=0.6,
              label=f"{what} ({span})", gid=gid)


def class_ap_figure(pr: PrecisionRecall, tiou: float = 0.5, sort_by_ap: bool = False) -> Figure:
    """AP per class at one tIoU as horizontal bars (class names on the y axis, value at each
    bar's end), with the mAP as a dashed line (gid "mAP"). Bars carry gid "ap:<class>"."""
    k = _tiou_index(pr.tiou, tiou)
    ap = pr.ap()[k]
    order = np.argsort(-ap, kind="stable") if sort_by_ap else np.arange(len(ap))
    n = len(ap)
    fontsize = 9 if n <= 40 else 7
    row = 0.26 if n <= 40 else 0.15
    width = 9.0
    left = (_label_width(pr.class_names, fontsize) + 0.4) / width
    height = 1.4 + row * n
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((left, 0.9 / height, 0.93 - left - 0.06, 1 - 1.5 / height))
    for y, c in enumerate(order.tolist()):
        ax.barh(y, 100 * ap[c], color=class_color(c, n), height=0.75, gid=f"ap:{pr.class_names[c]}")
        ax.text(100 * ap[c] + 0.8, y, f"{100 * ap[c]:.1f}", va="center", fontsize=fontsize - 1)
    mean = 100 * float(np.mean(ap)) if n else 0.0
    ax.axvline(mean, color="0.3", ls="--", lw=1, gid="mAP")
    ax.set_yticks(range(n), [pr.class_names[c] for c in order], fontsize=fontsize)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 105)
    ax.set_xlabel(f"AP at tIoU {pr.tiou[k]:g} (%)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"AP per class at tIoU {pr.tiou[k]:g}: mAP {mean:.1f}% (dashed line); "
                 f"{pr.subset} subset, {int(pr.num_gt.sum())} gt instances", fontsize=10)
    return fig


def pr_figure(pr: PrecisionRecall, tious: Sequence[float] = (0.3, 0.5, 0.7),
              classes: Sequence[str] | None = None) -> Figure:
    """Precision against recall per class (precision after each detection in score order), one
    panel per tIoU. ``classes``: names to draw (default all up to 20 classes; beyond, the 10
    best and 10 worst by AP at the middle tIoU). Lines carry gid "pr:<class>@<tiou>"."""
    ks = [_tiou_index(pr.tiou, t) for t in tious]
    ap = pr.ap()
    names = pr.class_names
    if classes is None:
        if len(names) <= PR_CLASSES:
            chosen = list(range(len(names)))
            which = "all classes"
        else:
            by_ap = np.argsort(-ap[ks[len(ks) // 2]], kind="stable")
            chosen = sorted(set(by_ap[:PR_CLASSES // 2].tolist())
                            | set(by_ap[-PR_CLASSES // 2:].tolist()))
            which = (f"the {PR_CLASSES // 2} best and {PR_CLASSES // 2} worst classes by AP at "
                     f"tIoU {pr.tiou[ks[len(ks) // 2]]:g}")
    else:
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise ValueError(f"--classes: {unknown} are not classes of the ground truth "
                             f"(have {names[:5]}...)")
        chosen = [names.index(c) for c in classes]
        which = f"{len(chosen)} chosen classes"
    fig = Figure(figsize=(4.2 * len(ks) + 2.8, 4.8))
    axes = fig.subplots(1, len(ks), sharey=True, squeeze=False)[0]
    fig.subplots_adjust(left=0.06, right=1 - 2.7 / (4.2 * len(ks) + 2.8), bottom=0.12,
                        top=0.84, wspace=0.08)
    for ax, k in zip(axes, ks):
        for c in chosen:
            ax.plot(pr.recall[c][k], pr.precision[c][k], color=class_color(c, len(names)),
                    lw=1.1, label=f"{names[c]} ({100 * ap[k, c]:.1f})",
                    gid=f"pr:{names[c]}@{pr.tiou[k]:g}")
        ax.set_title(f"tIoU {pr.tiou[k]:g}: mAP {100 * ap[k].mean():.1f}%", fontsize=10)
        ax.set_xlabel("recall")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("precision")
    handles, labels = axes[len(axes) // 2].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1 - 2.6 / (4.2 * len(ks) + 2.8),
               0.48), fontsize=7.5, frameon=False, title=f"class (AP % at tIoU "
               f"{pr.tiou[ks[len(ks) // 2]]:g})", title_fontsize=8)
    fig.suptitle(f"Precision-recall per class ({which}; precision after each detection in score "
                 f"order)", fontsize=11)
    return fig


def _tiou_index(tious: np.ndarray, value: float) -> int:
    hits = np.flatnonzero(np.isclose(tious, value, atol=1e-6))
    if not hits.size:
        raise ValueError(f"tIoU {value:g} is not among the evaluated thresholds "
                         f"{[round(float(t), 4) for t in tious]}")
    return int(hits[0])


def runs_figure(metrics: Sequence[Mapping[str, Any]], labels: Sequence[str],
                average: str | None = None) -> Figure:
    """mAP (%) against tIoU, one line per run (``metrics.json`` dicts), legend = label and the
    run's average mAP (``average``, default 0.1:0.7 or 0.5:0.95, whichever the runs have); the
    figure widens to fit the legend. Lines carry gid "run:<label>"."""
    if len(metrics) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(metrics)} runs")
    chosen = [pick_average(m["average"], average) if m.get("average") else None
              for m in metrics]
    shared = chosen[0] if len(set(chosen)) == 1 else None
    texts = []
    for m, label, name in zip(metrics, labels, chosen):
        value = f"{100 * m['average'][name]:.2f}" if name else "n/a"
        texts.append(f"{label}: {value}" if shared or not name else f"{label}: {name} {value}")
    legend_in = _label_width(texts + [f"run: average mAP {shared} (%)"], 8) + 0.4
    width, axes_in = 6.2 + legend_in, 5.2
    fig = Figure(figsize=(width, 4.8))
    ax = fig.add_axes((0.8 / width, 0.12, axes_in / width, 0.78))
    for i, (m, label, text) in enumerate(zip(metrics, labels, texts)):
        ax.plot(m["tiou"], 100 * np.asarray(m["mAP"], dtype=float), marker="o", ms=4,
                color=colormaps["tab10"](i % 10), label=text, gid=f"run:{label}")
    ax.set_xlabel("tIoU threshold")
    ax.set_ylabel("mAP (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
              title=f"run: average mAP {shared} (%)" if shared else "run: average mAP (%)",
              title_fontsize=8, alignment="left")
    ax.set_title("Detection mAP against tIoU", fontsize=11)
    return fig


def curves_figure(tables: Sequence[Mapping[str, np.ndarray]], labels: Sequence[str],
                  average: str | None = None, conv: str = "subset",
                  columns: Sequence[str] = ()) -> Figure:
    """Training curves per epoch of one or several ``metrics.csv`` tables.

    Panels (shared epoch axis): total train / test loss; train / test accuracy (%); the test
    average mAP (%) ``test_avg_mAP_<average>_<conv>``; the train loss parts when one run is
    given; ``columns`` in one more panel. One run: a colour per column. Several runs (e.g. the
    seeds of a sweep): a colour per run, train columns solid, test columns dashed; test values
    have markers (tested epochs only). Lines carry gid "<label>:<column>".
    """
    if len(tables) != len(labels) or not tables:
        raise ValueError(f"{len(labels)} labels for {len(tables)} runs")
    present = set().union(*(t.keys() for t in tables))
    prefix, suffix = "test_avg_mAP_", f"_{conv}"
    averages = sorted({c[len(prefix):-len(suffix)] for c in present
                       if c.startswith(prefix) and c.endswith(suffix)})
    panels: list[tuple[str, list[str], float]] = [
        ("loss", [c for c in ("train_loss", "test_loss") if c in present], 1.0),
        ("accuracy (%)", [c for c in ("train_acc", "test_acc") if c in present], 100.0)]
    if averages:
        chosen = pick_average(averages, average)
        panels.append((f"test mAP {chosen}, {conv} convention (%)",
                       [f"{prefix}{chosen}{suffix}"], 100.0))
    if len(tables) == 1:
        parts = sorted(c for c in present if c.startswith("train_") and c.endswith("_loss")
                       and c != "train_loss")
        panels.append(("train loss parts", parts, 1.0))
    if columns:
        missing = [c for c in columns if c not in present]
        if missing:
            raise ValueError(f"--columns {missing}: not in the metrics.csv files (have "
                             f"{sorted(present)[:8]}...)")
        panels.append(("chosen columns", list(columns), 1.0))
    panels = [p for p in panels if p[1]]
    if not panels:
        raise ValueError("no known columns to plot in the metrics.csv files")
    several = len(tables) > 1
    ncols = 2 if len(panels) > 1 else 1
    nrows = math.ceil(len(panels) / ncols)
    # a panel of many single-run lines gets its legend outside on the right (into the empty
    # slot beside it, or into a right margin when it is in the last column)
    outside = [not several and len(cols) > 3 for _, cols, _ in panels]
    margin = 2.4 if several or any(o and k % ncols == ncols - 1
                                   for k, o in enumerate(outside)) else 0.2
    width, height = 6.5 * ncols + margin + 0.4, 3.4 * nrows + 0.7
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True).ravel()
    fig.subplots_adjust(left=0.6 / width, right=1 - margin / width,
                        hspace=0.3, wspace=0.18, top=1 - 0.75 / height, bottom=0.55 / height)
    tab10 = colormaps["tab10"]
    for ax, (title, cols, scale), out in zip(axes, panels, outside):
        for i, (table, label) in enumerate(zip(tables, labels)):
            for j, col in enumerate(cols):
                if col not in table:
                    continue
                y = scale * table[col]
                keep = np.isfinite(y)
                test = col.startswith("test_")
                ax.plot(table["epoch"][keep], y[keep], color=tab10((i if several else j) % 10),
                        ls="--" if several and test and len(cols) == 2 else "-",
                        marker="o" if test else None, ms=3, lw=1.2,
                        label=col, gid=f"{label}:{col}")
        if several and len(cols) == 2:
            title += f" (solid: {cols[0]}, dashed: {cols[1]})"
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        values = np.abs(np.concatenate([t[c] for t in tables for c in cols if c in t]))
        values = values[np.isfinite(values) & (values > 0)]
        if values.size and values.max() > 100 * max(1.0, float(np.median(values))):
            ax.set_yscale("symlog", linthresh=1.0)  # parts of very different sizes
        if out:
            ax.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        elif not several:
            ax.legend(fontsize=7.5, frameon=False, loc="best")
    for k, ax in enumerate(axes):
        ax.set_visible(k < len(panels))
        if k < len(panels) and (k + ncols >= len(panels)):
            ax.set_xlabel("epoch")
            ax.tick_params(labelbottom=True)
    if several:
        handles = [Line2D([], [], color=tab10(i % 10), lw=2) for i in range(len(labels))]
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1 - 2.3 / width,
                   1 - 0.75 / height), fontsize=8, frameon=False, title="run")
    fig.suptitle("Training curves" + (f" of {labels[0]}" if not several else
                                      f" of {len(labels)} runs"), fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------------
# From files
# ---------------------------------------------------------------------------------------------

def load_video_inputs(outputs_path: str | Path, results_path: str | Path, gt_path: str | Path,
                      subset: str = "auto"
                      ) -> tuple[Outputs, dict[str, Any], dict[str, Any], str]:
    """Load and cross-check the inputs of video figures: the outputs must hold exactly the
    results file's videos, all of them in the gt subset. Returns (outputs, results dict,
    gt database, subset)."""
    outputs = load_outputs(outputs_path)
    results = load_results(results_path)
    db, _ = read_database(gt_path)
    subset = resolve_subset(db, subset)
    check_videos(outputs, results["results"], str(results_path))
    check_videos(outputs, [v for v, e in db.items() if isinstance(e, Mapping)
                           and e.get("subset") == subset], f"{gt_path} (subset {subset!r})",
                 exact=False)
    labels = {g for v in outputs.video_ids for g, _, _ in gt_segments(db, v)}
    unknown = sorted(labels - set(outputs.class_names))
    if unknown:
        raise ValueError(f"{outputs_path}: the class names do not cover the labels of {gt_path} "
                         f"(e.g. {unknown[:3]})")
    return outputs, results, db, subset


def video_figures(outputs_path: str | Path, results_path: str | Path, gt_path: str | Path,
                  videos: Sequence[str] = (), best: int = 0, worst: int = 0,
                  subset: str = "auto", tiou: str | None = None,
                  max_detections: int | None = MAX_DETECTIONS) -> list[tuple[str, float, Figure]]:
    """Per-video figures from files: the ``videos`` given, then the ``best`` / ``worst`` N by
    per-video AP (``tiou``: a threshold or range; default the dataset's selection range).
    Returns (video id, AP, figure) in that order, each video once."""
    outputs, results, db, subset = load_video_inputs(outputs_path, results_path, gt_path, subset)
    spec = tiou or VIDEO_AP_RANGE.get(str(outputs.meta.get("dataset")), DEFAULT_VIDEO_AP_RANGE)
    thresholds, ap_label = tiou_spec(spec)
    unknown = [v for v in videos if match_id(v, {u: i for i, u in
                                                  enumerate(outputs.video_ids)}) < 0]
    if unknown:
        raise ValueError(f"{outputs_path}: no video {unknown[0]!r} (of {len(unknown)} asked)")
    names = outputs.class_names

    def ap_of(video_id: str) -> float:
        return video_ap(db, results, video_id, subset, thresholds, names)

    chosen = [outputs.video_ids[match_id(v, {u: i for i, u in enumerate(outputs.video_ids)})]
              for v in videos]
    aps = {v: ap_of(v) for v in chosen}
    if best or worst:
        ranked = [(ap_of(v), v) for v in outputs.video_ids]
        ranked = sorted((a, v) for a, v in ranked if not math.isnan(a))
        picks = [v for _, v in ranked[::-1][:best]] + [v for _, v in ranked[:worst]]
        aps.update({v: a for a, v in ranked})
        chosen += picks
    out = []
    for v in dict.fromkeys(chosen):
        fig = video_figure(outputs[v], outputs.meta, gt_segments(db, v),
                           video_detections(results, v), aps[v], ap_label, max_detections)
        out.append((v, aps[v], fig))
    return out


def save_figure(fig: Figure, path: Path, pdf: bool = False, dpi: int = 120) -> list[Path]:
    """Write ``path`` (.png) atomically, and the same figure as .pdf beside it with ``pdf``."""
    written = [atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))]
    if pdf:
        pdf_path = path.with_suffix(".pdf")
        written.append(atomic_write(pdf_path, lambda f: fig.savefig(f, format="pdf")))
    return written


def figure_pixels(fig: Figure, dpi: int = 100) -> np.ndarray:
    """``fig`` rendered by the Agg backend: (H, W, 3) uint8 RGB pixels (what ``wandb.Image``
    takes without needing pyplot)."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.array(canvas.buffer_rgba())[..., :3]


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval.plot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default="plots", help="output folder (default plots/)")
        p.add_argument("--pdf", action="store_true", help="also write PDF files")
        p.add_argument("--dpi", type=int, default=120, help="PNG resolution (default 120)")

    p = sub.add_parser("video", help="attention, CAS, ground truth and detections of videos")
    p.add_argument("--outputs", required=True, help="outputs.npz of the test run")
    p.add_argument("--results", required=True, help="the run's <dataset>_results.json")
    p.add_argument("--gt", required=True, help="gt.json")
    p.add_argument("--subset", default="auto", help="gt subset (default auto: test, else val)")
    p.add_argument("--videos", nargs="+", default=[], metavar="ID", help="video ids to draw")
    p.add_argument("--best", type=int, default=0, metavar="N", help="the N best videos by AP")
    p.add_argument("--worst", type=int, default=0, metavar="N", help="the N worst videos by AP")
    p.add_argument("--tiou", default=None,
                   help="per-video AP at one tIoU (0.5) or averaged over a range (0.1:0.7, "
                        "first:last:step); default the dataset's selection range (THUMOS "
                        "0.1:0.7, ActivityNet 0.5:0.95)")
    p.add_argument("--max_detections", type=int, default=MAX_DETECTIONS,
                   help=f"draw the N highest-scoring detections (default {MAX_DETECTIONS}; "
                        "0: all)")
    common(p)

    p = sub.add_parser("classes", help="AP per class and precision-recall curves")
    p.add_argument("--results", required=True, help="results JSON")
    p.add_argument("--gt", required=True, help="gt.json")
    p.add_argument("--subset", default="auto", help="gt subset (default auto)")
    p.add_argument("--split", default=None, help="evaluate only the videos of this split file")
    p.add_argument("--tiou", type=float, default=0.5, help="tIoU of the AP bars (default 0.5)")
    p.add_argument("--pr_tiou", type=float, nargs="+", default=[0.3, 0.5, 0.7],
                   help="tIoUs of the precision-recall panels (default 0.3 0.5 0.7)")
    p.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                   help="classes of the PR curves (default all up to 20, else 10 best + 10 worst)")
    p.add_argument("--sort_by_ap", action="store_true", help="order the bars by AP")
    common(p)

    p = sub.add_parser("runs", help="mAP against tIoU of several metrics.json files")
    p.add_argument("metrics", nargs="+", help="metrics.json files (or their folders)")
    p.add_argument("--labels", nargs="+", default=None, help="legend labels (default folders)")
    p.add_argument("--average", default=None, help="average shown in the legend (e.g. 0.1:0.7)")
    p.add_argument("--name", default="runs", help="file name without extension (default runs)")
    common(p)

    p = sub.add_parser("curves", help="training curves of one or several metrics.csv files")
    p.add_argument("csv", nargs="+", help="metrics.csv files (or their run folders)")
    p.add_argument("--labels", nargs="+", default=None, help="legend labels (default folders)")
    p.add_argument("--average", default=None, help="test average mAP to plot (e.g. 0.1:0.7)")
    p.add_argument("--conv", default="subset", choices=("subset", "split"),
                   help="ground-truth convention of the mAP panel (default subset)")
    p.add_argument("--columns", nargs="+", default=(), help="more metrics.csv columns to plot")
    p.add_argument("--name", default="curves", help="file name without extension (default curves)")
    common(p)
    return parser


def _labels(given: Sequence[str] | None, paths: Sequence[str]) -> list[str]:
    if given is None:
        return shortest_labels([p if not Path(p).is_dir() else Path(p) / "x" for p in paths])
    if len(given) != len(paths):
        raise ValueError(f"--labels: {len(given)} labels for {len(paths)} files")
    return list(given)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.plot``; returns the exit code (1 with a one-line error on bad input)."""
    args = _parser().parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        figures: list[tuple[str, Figure]] = []
        if args.command == "video":
            if not (args.videos or args.best or args.worst):
                raise ValueError("choose videos with --videos ID ..., --best N or --worst N")
            for video_id, ap, fig in video_figures(
                    args.outputs, args.results, args.gt, args.videos, args.best, args.worst,
                    args.subset, args.tiou, args.max_detections or None):
                print(f"{video_id}: AP {'n/a' if math.isnan(ap) else f'{100 * ap:.2f}%'}")
                figures.append((f"video_{_safe_name(video_id)}", fig))
        elif args.command == "classes":
            tious = sorted({round(t, 6) for t in [args.tiou, *args.pr_tiou]})
            db, _ = read_database(args.gt)
            names = sorted(database_labels(db))
            pr = precision_recall({"database": db}, args.results, args.subset, tious, names,
                                  read_split(args.split) if args.split else None)
            figures.append(("classes_ap", class_ap_figure(pr, args.tiou, args.sort_by_ap)))
            figures.append(("classes_pr", pr_figure(pr, args.pr_tiou, args.classes)))
        elif args.command == "runs":
            metrics = [read_metrics_json(p) for p in args.metrics]
            figures.append((args.name, runs_figure(metrics, _labels(args.labels, args.metrics),
                                                   args.average)))
        else:
            tables = [read_metrics_csv(p) for p in args.csv]
            figures.append((args.name, curves_figure(tables, _labels(args.labels, args.csv),
                                                     args.average, args.conv, args.columns)))
        for name, fig in figures:
            for path in save_figure(fig, out / f"{name}.png", args.pdf, args.dpi):
                print(f"wrote {path}")
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
