"""The figures draw what the data says (eval/plot.py, eval/pr.py), stay readable, and bad files
are one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection

from eval.detection import evaluate_detection, read_split
from eval.outputs import load_outputs
from eval.plot import (assign_lanes, class_ap_figure, curves_figure, gt_segments, main,
                       pr_figure, read_metrics_csv, read_metrics_json, runs_figure,
                       shortest_labels, tiou_spec, video_ap, video_detections, video_figure,
                       video_figures)
from eval.pr import PrecisionRecall, precision_recall
from eval.results import write_json_atomic
from tests.fake_outputs import NAMES, VIDEOS, make_run
from tests.helpers import REPO_ROOT
from utils.run_log import RunLogger

MANY = "video_test_0000716"  # 218 ground-truth instances


@pytest.fixture(scope="module")
def run(tmp_path_factory, real_thumos) -> dict[str, Any]:
    return make_run(tmp_path_factory.mktemp("plot_run"), real_thumos / "gt.json")


@pytest.fixture(scope="module")
def db(real_thumos) -> dict[str, Any]:
    return json.loads((real_thumos / "gt.json").read_text())["database"]


def _by_gid(fig, prefix: str, kind=PolyCollection) -> dict[str, list]:
    out: dict[str, list] = {}
    for ax in fig.axes:
        for artist in ax.get_children():
            gid = artist.get_gid()
            if isinstance(artist, kind) and gid and gid.startswith(prefix):
                out.setdefault(gid[len(prefix):], []).append(artist)
    return out


def _lines(fig, prefix: str) -> dict[str, Any]:
    return {line.get_gid()[len(prefix):]: line for ax in fig.axes for line in ax.get_lines()
            if (line.get_gid() or "").startswith(prefix)}


def _bars(collections: list) -> list[tuple[float, float]]:
    """(start, end) of every rectangle of broken_barh collections."""
    out = []
    for coll in collections:
        for path in coll.get_paths():
            xs = path.vertices[:, 0]
            out.append((float(xs.min()), float(xs.max())))
    return sorted(out)


def _video_fig(run, db, video, max_detections=50):
    outputs = load_outputs(run["outputs"])
    results = json.loads(Path(run["results"]).read_text())
    return video_figure(outputs[video], outputs.meta, gt_segments(db, video),
                        video_detections(results, video), 0.5, "test", max_detections)


@pytest.mark.parametrize("video", [VIDEOS[0], VIDEOS[2], MANY])
def test_video_figure_draws_the_data(run, db, video):
    outputs = load_outputs(run["outputs"])
    saved = outputs[video]
    dets = run["detections"][video]
    fig = _video_fig(run, db, video, max_detections=None)

    gt = gt_segments(db, video)
    gt_bars = _by_gid(fig, "gt:")
    assert sum(len(_bars(c)) for c in gt_bars.values()) == len(gt) > 0
    for name, colls in gt_bars.items():
        want = sorted((s, e) for n, s, e in gt if n == name)
        assert np.allclose(_bars(colls), want)
    det_bars = _by_gid(fig, "det:")
    assert sum(len(_bars(c)) for c in det_bars.values()) == len(dets)
    for name, colls in det_bars.items():
        want = sorted((s, e) for c, _, s, e in dets if NAMES[c] == name)
        assert np.allclose(_bars(colls), want)

    for ax in fig.axes[:3]:
        assert ax.get_xlim() == (0.0, saved.duration)
    times = saved.snippet_times(25, 16)
    att = _lines(fig, "att:")
    for k, channel in enumerate(("instance", "context", "background")):
        assert np.array_equal(att[channel].get_ydata(), saved.att[:, k])
        assert np.array_equal(att[channel].get_xdata(), times)
    cas = _lines(fig, "cas:")
    assert sorted(cas) == sorted(NAMES[c] for c in saved.classes)
    for k, c in enumerate(saved.classes):
        assert np.array_equal(cas[NAMES[c]].get_ydata(), saved.cas[:, k])
    thresholds = {gid: sorted(seg[0][1] for seg in coll[0].get_segments())
                  for gid, coll in _by_gid(fig, "", LineCollection).items()}
    assert np.allclose(thresholds["att_thresholds"], run["meta"]["att_thresholds"])
    assert np.allclose(thresholds["cas_thresholds"], run["meta"]["cas_thresholds"])
    assert fig._suptitle.get_text() == f"{video}: AP 50.0% (test)"


def test_detection_shade_is_the_score_and_the_cap_keeps_the_best(run, db):
    dets = run["detections"][MANY]
    assert len(dets) > 50
    fig = _video_fig(run, db, MANY, max_detections=50)
    colls = _by_gid(fig, "det:")["BasketballDunk"]
    assert sum(len(c.get_paths()) for c in colls) == 50
    top = sorted(dets, key=lambda d: -d[1])[:50]
    shade = {}
    for coll in colls:
        for path, color in zip(coll.get_paths(), coll.get_facecolors()):
            shade[round(float(path.vertices[:, 0].min()), 9)] = color
    cmap = colormaps["viridis_r"]
    lo, hi = top[-1][1], top[0][1]
    for _, score, start, _ in top:
        assert np.allclose(shade[round(start, 9)], cmap((score - lo) / (hi - lo)))


def test_lanes_separate_overlaps_with_the_fewest_lanes():
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 100, 300)
    ends = starts + rng.uniform(0.5, 15, 300)
    lanes = assign_lanes(starts, ends)
    for lane in np.unique(lanes):
        idx = np.flatnonzero(lanes == lane)
        order = idx[np.argsort(starts[idx])]
        assert np.all(starts[order[1:]] >= ends[order[:-1]])
    depth = max(int(np.sum((starts <= t) & (ends > t))) for t in starts)
    assert lanes.max() + 1 == depth
    assert assign_lanes([0, 1, 2], [1, 2, 3]).tolist() == [0, 0, 0]


def test_video_ap(db, run):
    results = json.loads(Path(run["results"]).read_text())
    video = VIDEOS[2]
    perfect = {"results": {video: [{"label": n, "score": 1.0, "segment": [s, e]}
                                   for n, s, e in gt_segments(db, video)]}}
    assert video_ap(db, perfect, video, "test", [0.5, 0.9]) == 1.0
    assert video_ap(db, {"results": {}}, video, "test", [0.5]) == 0.0
    thresholds, _ = tiou_spec("0.1:0.7")
    one = {"database": {video: db[video]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = evaluate_detection(one, {"results": {video: results["results"][video]}}, "test",
                                  thresholds, NAMES).mAP.mean()
    assert video_ap(db, results, video, "test", thresholds) == want



def test_tiou_spec_takes_one_threshold_a_list_a_range_or_a_named_range():
    assert tiou_spec("0.5")[0].tolist() == [0.5] and tiou_spec("0.5")[1] == "tIoU 0.5"
    values, label = tiou_spec("0.3,0.5,0.7")
    assert values.tolist() == [0.3, 0.5, 0.7] and label == "mean over tIoU 0.3,0.5,0.7"
    assert len(tiou_spec("0.1:0.9:0.1")[0]) == 9 and len(tiou_spec("0.1:0.7")[0]) == 7
    with pytest.raises(ValueError, match="--tiou 'x': expected a threshold"):
        tiou_spec("x")

def test_best_and_worst_by_video_ap(run, db):
    figs = video_figures(run["outputs"], run["results"], run["gt"], best=2, worst=1)
    aps = {v: video_ap(db, json.loads(Path(run["results"]).read_text()), v, "test",
                       tiou_spec("0.1:0.7")[0]) for v in VIDEOS}
    ranked = sorted(VIDEOS, key=lambda v: (aps[v], v))
    assert [v for v, _, _ in figs] == [ranked[-1], ranked[-2], ranked[0]]
    assert all(ap == aps[v] for v, ap, _ in figs)
    assert figs[0][2]._suptitle.get_text().endswith("(mean over tIoU 0.1:0.7)")
    single = video_figures(run["outputs"], run["results"], run["gt"], [VIDEOS[1]], tiou="0.5")
    assert single[0][2]._suptitle.get_text().endswith("(tIoU 0.5)")


def test_pr_curves_give_the_evaluator_ap_to_the_bit(reference_dir):
    ref = reference_dir / "autoloc_thumos14"
    gt, pred = ref / "gt.json", ref / "results.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = evaluate_detection(gt, pred)
    pr = precision_recall(gt, pred)
    assert np.array_equal(pr.ap(), want.ap)
    assert pr.class_names == want.class_names
    for c in range(len(pr.class_names)):
        assert np.all(np.diff(pr.recall[c], axis=1) >= 0)
        assert np.all(np.diff(pr.scores[c]) <= 0)


def test_class_figures_draw_the_aps_and_curves(run):
    split = read_split(run["split"])
    pr = precision_recall(run["gt"], run["results"], tiou_thresholds=[0.3, 0.5, 0.7],
                          split_videos=split)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = evaluate_detection(run["gt"], run["results"], tiou_thresholds=[0.3, 0.5, 0.7],
                                  split_videos=split)
    fig = class_ap_figure(pr, 0.5)
    ax = fig.axes[0]
    bars = {p.get_gid()[3:]: p for p in ax.patches if (p.get_gid() or "").startswith("ap:")}
    assert list(bars) == want.class_names
    for c, name in enumerate(want.class_names):
        assert bars[name].get_width() == 100 * want.ap[1, c]
    assert [t.get_text() for t in ax.get_yticklabels()] == want.class_names
    mean_line = [line for line in ax.get_lines() if line.get_gid() == "mAP"][0]
    assert mean_line.get_xdata()[0] == 100 * float(np.mean(want.ap[1]))

    fig = pr_figure(pr, (0.3, 0.7))
    lines = _lines(fig, "pr:")
    assert len(lines) == 2 * len(pr.class_names)
    for c, name in enumerate(pr.class_names):
        for k, t in ((0, 0.3), (2, 0.7)):
            line = lines[f"{name}@{t:g}"]
            assert np.array_equal(line.get_xdata(), pr.recall[c][k])
            assert np.array_equal(line.get_ydata(), pr.precision[c][k])
    with pytest.raises(ValueError, match="tIoU 0.9 is not among"):
        pr_figure(pr, (0.9,))


def _text_boxes(fig, texts):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_text()]


def _disjoint(boxes) -> bool:
    return not any(a.overlaps(b) for a, b in combinations(boxes, 2))


def test_no_overlapping_text(reference_dir, run, db):
    ref = reference_dir / "autoloc_thumos14"
    pr = precision_recall(ref / "gt.json", ref / "results.json", tiou_thresholds=[0.3, 0.5, 0.7])
    assert len(pr.class_names) == 20
    fig = class_ap_figure(pr, 0.5)
    ax = fig.axes[0]
    assert _disjoint(_text_boxes(fig, ax.get_yticklabels()))
    assert _disjoint(_text_boxes(fig, [t for t in ax.texts]))
    fig = pr_figure(pr)
    legend = fig.legends[0]
    boxes = _text_boxes(fig, legend.get_texts())
    assert len(boxes) == 20 and _disjoint(boxes)
    panel_titles = _text_boxes(fig, [a.title for a in fig.axes] + [fig._suptitle])
    assert _disjoint(panel_titles)

    fig = _video_fig(run, db, MANY)
    seg_ax = fig.axes[2]
    assert _disjoint(_text_boxes(fig, seg_ax.get_yticklabels()))
    heads = _text_boxes(fig, list(dict.fromkeys([fig._suptitle, *fig.texts])))
    assert len(heads) == 2 and _disjoint(heads)
    assert min(box.y0 for box in heads) > fig.axes[0].get_window_extent().y1
    legends = [a.get_legend() for a in fig.axes[:2]]
    legend_boxes = _text_boxes(fig, [t for lg in legends for t in lg.get_texts()])
    assert _disjoint(legend_boxes)
    width = fig.get_figwidth() * fig.dpi
    inside = [*heads, *legend_boxes, *_text_boxes(fig, seg_ax.get_yticklabels())]
    assert all(0 <= box.x0 and box.x1 <= width for box in inside)


def _metrics(tmp_path, run, name, drop=0) -> Path:
    results = json.loads(Path(run["results"]).read_text())
    for video in list(results["results"])[:drop]:
        results["results"][video] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate_detection(run["gt"], results, split_videos=read_split(run["split"]))
    folder = tmp_path / name / "epoch_010"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "metrics.json", res.to_json())
    return folder / "metrics.json"


def test_runs_figure(tmp_path, run):
    paths = [_metrics(tmp_path, run, "acm"), _metrics(tmp_path, run, "ftcl", drop=2)]
    labels = shortest_labels(paths)
    assert labels == ["acm/epoch_010", "ftcl/epoch_010"]
    metrics = [read_metrics_json(p) for p in paths]
    fig = runs_figure(metrics, labels)
    lines = _lines(fig, "run:")
    assert list(lines) == labels
    for m, label in zip(metrics, labels):
        assert np.array_equal(lines[label].get_xdata(), m["tiou"])
        assert np.array_equal(lines[label].get_ydata(), 100 * np.array(m["mAP"]))
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[0] == f"acm/epoch_010: {100 * metrics[0]['average']['0.1:0.7']:.2f}"
    assert legend.get_title().get_text() == "run: average mAP 0.1:0.7 (%)"
    long = ["a much longer label for the first run of this comparison", "b"]
    fig = runs_figure(metrics, long, "0.1:0.5")
    legend = fig.axes[0].get_legend()
    boxes = _text_boxes(fig, [*legend.get_texts(), legend.get_title()])
    assert all(box.x1 <= fig.get_figwidth() * fig.dpi for box in boxes)
    assert legend.get_texts()[1].get_text() == f"b: {100 * metrics[1]['average']['0.1:0.5']:.2f}"


def _csv(folder: Path, epochs: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    logger = RunLogger(folder, use_wandb=False, project="p", name="n", group="g", config={})
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        row = {"epoch": epoch, "train_loss": 3 - 0.1 * epoch, "train_cls_loss": 2 - 0.1 * epoch,
               "train_guide_loss": float(rng.random()), "train_acc": 0.1 * epoch}
        if epoch >= epochs - 3:
            row.update(test_loss=2.5, test_acc=0.5, **{"test_mAP@0.50": 0.3,
                       "test_avg_mAP_0.1:0.7_subset": 0.2 + 0.01 * epoch,
                       "test_avg_mAP_0.1:0.7_split": 0.21 + 0.01 * epoch})
        logger.append_csv(row)
    return folder / "metrics.csv"


def test_curves_figure(tmp_path):
    paths = [_csv(tmp_path / f"seed{s}", 8, s) for s in range(3)]
    tables = [read_metrics_csv(p) for p in paths]
    assert np.isnan(tables[0]["test_loss"][:5]).all()
    labels = shortest_labels(paths)
    assert labels == ["seed0", "seed1", "seed2"]
    fig = curves_figure(tables, labels)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["loss (solid: train_loss, dashed: test_loss)",
                      "accuracy (%) (solid: train_acc, dashed: test_acc)",
                      "test mAP 0.1:0.7, subset convention (%)"]
    for label, table in zip(labels, tables):
        mine = {line.get_gid().split(":", 1)[1]: line for ax in fig.axes
                for line in ax.get_lines() if line.get_gid().startswith(label + ":")}
        assert np.array_equal(mine["train_loss"].get_ydata(), table["train_loss"])
        assert np.array_equal(mine["test_acc"].get_ydata(), 100 * table["test_acc"][5:])
        assert np.array_equal(mine["test_acc"].get_xdata(), table["epoch"][5:])
        assert np.array_equal(mine["test_avg_mAP_0.1:0.7_subset"].get_ydata(),
                              100 * table["test_avg_mAP_0.1:0.7_subset"][5:])
    one = curves_figure(tables[:1], labels[:1], conv="split", columns=["test_mAP@0.50"])
    titles = [ax.get_title() for ax in one.axes if ax.get_visible()]
    assert titles[-2:] == ["train loss parts", "chosen columns"]
    assert [ax.get_yscale() for ax in one.axes if ax.get_visible()][0] == "linear"


def test_cli_writes_png_and_pdf(tmp_path, run):
    out = tmp_path / "out"
    assert main(["video", "--outputs", str(run["outputs"]), "--results", str(run["results"]),
                 "--gt", str(run["gt"]), "--videos", VIDEOS[0], "--best", "1", "--out",
                 str(out), "--pdf"]) == 0
    assert main(["classes", "--results", str(run["results"]), "--gt", str(run["gt"]),
                 "--split", str(run["split"]), "--out", str(out)]) == 0
    metrics = [_metrics(tmp_path, run, "a"), _metrics(tmp_path, run, "b", drop=1)]
    assert main(["runs", *map(str, metrics), "--labels", "A", "B", "--out", str(out)]) == 0
    assert main(["curves", str(_csv(tmp_path / "c", 6, 0)), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert f"video_{VIDEOS[0]}.png" in names and f"video_{VIDEOS[0]}.pdf" in names
    assert {"classes_ap.png", "classes_pr.png", "runs.png", "curves.png"} <= set(names)
    assert all(not n.startswith(".") for n in names)
    assert (out / "runs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / f"video_{VIDEOS[0]}.pdf").read_bytes()[:5] == b"%PDF-"


def _error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_cli_bad_inputs_are_one_line_errors(tmp_path, run, capsys):
    video = ["--results", str(run["results"]), "--gt", str(run["gt"]), "--videos", VIDEOS[0],
             "--out", str(tmp_path)]
    missing = tmp_path / "none.npz"
    assert str(missing) in _error(capsys, ["video", "--outputs", str(missing), *video])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    assert str(bad) in _error(capsys, ["video", "--outputs", str(bad), *video])

    other = make_run(tmp_path / "other", run["gt"], VIDEOS[:3], seed=1)
    err = _error(capsys, ["video", "--outputs", str(other["outputs"]), *video])
    assert str(other["outputs"]) in err and "videos do not match" in err
    assert "no video 'nope'" in _error(capsys, ["video", "--outputs", str(run["outputs"]),
                                                *video[:-4], "--videos", "nope"])
    assert "--best N" in _error(capsys, ["video", "--outputs", str(run["outputs"]),
                                         *video[:4]])
    not_metrics = tmp_path / "m.json"
    not_metrics.write_text("{}")
    assert f"{not_metrics}: not a metrics.json" in _error(capsys, ["runs", str(not_metrics)])
    not_csv = tmp_path / "m.csv"
    not_csv.write_text("a,b\n1,2\n")
    assert f"{not_csv}: not a metrics.csv" in _error(capsys, ["curves", str(not_csv)])
    assert "['Nope'] are not classes" in _error(
        capsys, ["classes", "--results", str(run["results"]), "--gt", str(run["gt"]),
                 "--classes", "Nope", "--out", str(tmp_path)])


def test_video_against_a_gt_without_its_videos(tmp_path, run, real_anet, capsys):
    err = _error(capsys, ["video", "--outputs", str(run["outputs"]), "--results",
                          str(run["results"]), "--gt", str(real_anet / "gt.json"), "--videos",
                          VIDEOS[0], "--out", str(tmp_path)])
    assert f"{run['outputs']}: videos do not match" in err


def test_outputs_module_does_not_import_matplotlib():
    code = "import sys, eval.outputs; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_200_activitynet_classes_stay_readable(real_anet):
    """AP bars of ActivityNet's 200 classes (long names): labels disjoint and inside the figure;
    the PR panels pick 20 classes."""
    db = json.loads((real_anet / "gt.json").read_text())["database"]
    names = sorted({a["label"] for v in db.values() for a in v["annotations"]})
    rng = np.random.default_rng(0)
    tp = [rng.random((3, 30)) < 0.5 for _ in names]
    pr = PrecisionRecall(tiou=np.array([0.5, 0.75, 0.95]), class_names=names,
                         precision=[np.cumsum(t, 1) / np.arange(1, 31) for t in tp],
                         recall=[np.cumsum(t, 1) / 20 for t in tp],
                         scores=[np.sort(rng.random(30))[::-1] for _ in names],
                         num_gt=np.full(len(names), 20), subset="validation")
    fig = class_ap_figure(pr, 0.5, sort_by_ap=True)
    boxes = _text_boxes(fig, fig.axes[0].get_yticklabels())
    assert len(boxes) == 200 and _disjoint(boxes)
    assert all(box.x0 >= 0 for box in boxes)
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert widths == sorted(widths, reverse=True)
    fig = pr_figure(pr, (0.5, 0.75))
    assert len(_lines(fig, "pr:")) == 2 * 20
    assert _disjoint(_text_boxes(fig, fig.legends[0].get_texts()))


def test_cas_legend_says_which_classes_the_localizer_selects(run, db):
    outputs = load_outputs(run["outputs"])
    saved = outputs[VIDEOS[0]]
    fig = video_figure(saved, outputs.meta, [], [])
    labels = {line.get_gid()[4:]: line.get_label() for line in fig.axes[1].get_lines()
              if (line.get_gid() or "").startswith("cas:")}
    for c in saved.classes:
        score = saved.video_scores[c]
        text = labels[NAMES[c]]
        assert text.startswith(f"{NAMES[c]} (video score {score:.2f}")
        assert ("selected" in text) == bool(score > outputs.meta["cls_threshold"])
        assert ("gt" in text.split("(")[1]) == (c in saved.gt_classes)
    low = saved.__class__(**{**saved.__dict__, "video_scores": saved.video_scores * 0 + 0.01})
    low.video_scores[saved.classes[-1]] = 0.02
    fig = video_figure(low, outputs.meta, [], [])
    texts = [line.get_label() for line in fig.axes[1].get_lines()
             if (line.get_gid() or "").startswith("cas:")]
    assert sum("selected (argmax: none above)" in t for t in texts) == 1
    assert fig._suptitle.get_text() == VIDEOS[0]
